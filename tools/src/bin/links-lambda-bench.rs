//! Measures the deployed Lambda bootstraps themselves, as Lambda runs them: package size, init
//! time, warm latency of retrieve against a raw `GetItem`, and peak memory over many invocations.
//! Prints a Markdown table for docs/performance.md.
//!
//! Run through `scripts/bench-lambda`, which builds the bootstraps, strips and zips copies of them,
//! starts DynamoDB Local and points the SDK at it.
//!
//! Each bootstrap runs as its own process against a minimal fake of the Lambda Runtime API served
//! here on loopback, so what is timed is the real binary: its process start, its SDK client built
//! during init, its event decoding and its response encoding, with only loopback HTTP added.
//! The functions log as the template deploys them (JSON, INFO); the bench reads those logs, and
//! the `duration_ms` of each "request handled" line is the handler's own time for the request.
//!
//! Environment: `LAMBDA_BOOTSTRAP_DIR` (default `target/lambda-host`), holding `<function>/bootstrap`
//! to run; `LAMBDA_PACKAGE_DIR`, holding the stripped `<function>/bootstrap` and `<function>.zip`
//! whose sizes are reported; the AWS variables and `AWS_ENDPOINT_URL_DYNAMODB` of DynamoDB Local.
//! Optionally `LAMBDA_ANCHOR_BOOTSTRAP`: another project's Lambda bootstrap (docs/performance.md names the
//! one measured), spawned in the same init rotation as the functions so that the ratio of their
//! init times to its is taken under the same conditions; `LAMBDA_ANCHOR_NAME` labels it.

use aws_sdk_dynamodb::types::AttributeValue;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use shared::chrono::Utc;
use shared::domain::currency::Currency;
use shared::domain::link::NewLink;
use shared::domain::principal::Principal;
use shared::store::{CreateOutcome, Store, TrustRoots, http_client, resilience};
use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

/// The functions, in the order docs/performance.md lists them; `not-found` builds no SDK client and is the init baseline.
const FUNCTIONS: [&str; 13] = [
    "create-link",
    "list-links",
    "retrieve-link",
    "destroy-link",
    "list-link-charges",
    "list-charges",
    "retrieve-charge",
    "list-events",
    "retrieve-event",
    "payment-page",
    "payment-qr",
    "pay-link",
    "not-found",
];
/// Spawns per function for the init time (odd, so the median is one sample).
const INIT_RUNS: usize = 21;
/// Warm-up and measured invocations for the retrieve latency.
const LATENCY_WARMUPS: usize = 20;
const LATENCY_RUNS: usize = 500;
/// Invocations after which peak RSS is read: once warm, after the 1,000 the target names, and
/// after as many again, where a leak would show as growth.
const RSS_CHECKPOINTS: [usize; 3] = [10, 1_000, 2_000];
/// How long anything from a bootstrap may take before the bench gives up on it.
const PATIENCE: Duration = Duration::from_secs(10);
const PAYMENT_BASE_URL: &str = "https://pay.example.com/pay";
const RUNTIME_PREFIX: &str = "/2018-06-01/runtime/";

/// An event handed to the bootstrap by the fake Runtime API's `/next`.
struct Invocation {
    request_id: String,
    event: Bytes,
}

/// What the bootstrap posted back for one invocation.
struct Completion {
    request_id: String,
    /// `/response` (true) or `/error` (false).
    ok: bool,
    body: Bytes,
    /// From the `/next` response being handed to hyper to the posted body fully read.
    latency: Duration,
}

/// State shared by the fake Runtime API's connections.
struct ApiState {
    /// One instant per `GET /next` as it arrives: the first marks the end of init, the later ones
    /// that the bootstrap is idle again.
    polls: mpsc::UnboundedSender<Instant>,
    /// Events waiting for a `/next`; the lock serialises pollers, as Lambda has one per sandbox.
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    /// When each request id's event was handed out.
    delivered: Mutex<HashMap<String, Instant>>,
    completions: mpsc::UnboundedSender<Completion>,
}

/// A minimal fake of the Lambda Runtime API on 127.0.0.1, enough for `lambda_runtime`: `GET next`
/// with the headers it reads, `POST <id>/response`, `POST <id>/error` and `POST init/error`.
struct FakeRuntimeApi {
    address: String,
    events: mpsc::UnboundedSender<Invocation>,
    polls: mpsc::UnboundedReceiver<Instant>,
    completions: mpsc::UnboundedReceiver<Completion>,
    server: JoinHandle<()>,
}

impl FakeRuntimeApi {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address").to_string();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (polls_tx, polls_rx) = mpsc::unbounded_channel();
        let (completions_tx, completions_rx) = mpsc::unbounded_channel();
        let state = Arc::new(ApiState {
            polls: polls_tx,
            events: tokio::sync::Mutex::new(events_rx),
            delivered: Mutex::default(),
            completions: completions_tx,
        });
        let server = tokio::spawn(async move {
            // Owned here so that aborting the accept loop also ends every open connection.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                stream.set_nodelay(true).ok();
                let state = state.clone();
                let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
                connections.spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                );
            }
        });
        Self {
            address,
            events: events_tx,
            polls: polls_rx,
            completions: completions_rx,
            server,
        }
    }
}

impl Drop for FakeRuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn reply(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::default());
    *response.status_mut() = status;
    response
}

async fn handle(
    state: Arc<ApiState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let Some(endpoint) = path.strip_prefix(RUNTIME_PREFIX) else {
        return Ok(reply(StatusCode::NOT_FOUND));
    };
    if req.method() == Method::GET && endpoint == "invocation/next" {
        state.polls.send(Instant::now()).ok();
        let Some(invocation) = state.events.lock().await.recv().await else {
            return Ok(reply(StatusCode::INTERNAL_SERVER_ERROR));
        };
        let deadline = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            + PATIENCE;
        let response = Response::builder()
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", &invocation.request_id)
            .header(
                "lambda-runtime-deadline-ms",
                deadline.as_millis().to_string(),
            )
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
            )
            .body(Full::new(invocation.event))
            .expect("a valid response");
        // Stamped last, so the latency leaves out the fake's own queueing.
        state
            .delivered
            .lock()
            .unwrap()
            .insert(invocation.request_id, Instant::now());
        return Ok(response);
    }
    if req.method() == Method::POST {
        if endpoint == "init/error" {
            // The bootstrap exits next; `next_poll` notices and fails the bench.
            let body = req.into_body().collect().await.map(|b| b.to_bytes());
            eprintln!("init error: {body:?}");
            return Ok(reply(StatusCode::ACCEPTED));
        }
        let outcome = endpoint
            .strip_prefix("invocation/")
            .and_then(|rest| rest.rsplit_once('/'));
        if let Some((request_id, kind @ ("response" | "error"))) = outcome {
            let request_id = request_id.to_owned();
            let ok = kind == "response";
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let received = Instant::now();
            let delivered = state.delivered.lock().unwrap().remove(&request_id);
            state
                .completions
                .send(Completion {
                    request_id,
                    ok,
                    body,
                    latency: delivered.map_or(Duration::ZERO, |at| received - at),
                })
                .ok();
            return Ok(reply(StatusCode::ACCEPTED));
        }
    }
    Ok(reply(StatusCode::NOT_FOUND))
}

/// One running bootstrap and its fake Runtime API. Killed when dropped.
struct Instance {
    name: &'static str,
    child: Child,
    api: FakeRuntimeApi,
    spawned: Instant,
    invocations: u64,
    /// `duration_ms` of every "request handled" line the function has logged so far.
    handled: Arc<Mutex<Vec<f64>>>,
}

impl Instance {
    /// Spawns `bootstrap` with the environment Lambda gives a `provided.al2023` function with
    /// this repository's template (JSON logs at WARN), and nothing else from the bench's own.
    async fn spawn(name: &'static str, bootstrap: &Path, table: &str) -> Self {
        let api = FakeRuntimeApi::start().await;
        let inherited = ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
            .map(|var| (var, std::env::var(var).unwrap_or_else(|_| "local".into())));
        let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
            .expect("AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local) is not set");
        let mut command = Command::new(bootstrap);
        command
            .env_clear()
            .envs(inherited)
            .env(
                "AWS_DEFAULT_REGION",
                std::env::var("AWS_REGION").unwrap_or_default(),
            )
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
            .env("TABLE_NAME", table)
            .env("PAYMENT_BASE_URL", PAYMENT_BASE_URL)
            // The attempt key secret in the Secrets Manager emulator (scripts/bench-lambda), as
            // the template gives it to the page functions: read on their first form.
            .env("ATTEMPT_KEY_SECRET", attempt_secret_name())
            .env(
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").unwrap_or_default(),
            )
            // Every function gets the KMS key as the template's Globals give it; the payment
            // functions build their KMS client at init with it, as deployed.
            .env(
                "SECRETS_KMS_KEY",
                std::env::var("SECRETS_KMS_KEY").unwrap_or_default(),
            )
            .env(
                "AWS_ENDPOINT_URL_KMS",
                std::env::var("AWS_ENDPOINT_URL_KMS").unwrap_or_default(),
            )
            .env("TZ", ":UTC")
            .env("_HANDLER", "bootstrap")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let spawned = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bootstrap.display()));
        let handled = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let durations = handled.clone();
        // Read on a thread of its own so that a full pipe never stalls the function. Warnings,
        // errors and anything that is not a JSON log line go to the bench's stderr.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let log: Value = serde_json::from_str(&line).unwrap_or_default();
                let fields = &log["fields"];
                if fields["message"] == "request handled" {
                    if let Some(ms) = fields["duration_ms"].as_f64() {
                        durations.lock().unwrap().push(ms);
                    }
                } else if !matches!(log["level"].as_str(), Some("INFO" | "DEBUG" | "TRACE")) {
                    writeln!(std::io::stderr(), "{line}").ok();
                }
            }
        });
        Self {
            name,
            child,
            api,
            spawned,
            invocations: 0,
            handled,
        }
    }

    /// The handler's own durations, from the function's logs, once all `count` have been read.
    async fn handler_durations(&self, count: usize) -> Vec<f64> {
        let give_up = Instant::now() + PATIENCE;
        loop {
            let logged = {
                let handled = self.handled.lock().unwrap();
                if handled.len() >= count {
                    return handled.clone();
                }
                handled.len()
            };
            assert!(
                Instant::now() < give_up,
                "{} logged {logged} of {count} \"request handled\" lines",
                self.name,
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for a `GET /next`; the first one ends init. Fails if the bootstrap exits instead.
    async fn next_poll(&mut self) -> Instant {
        let give_up = Instant::now() + PATIENCE;
        loop {
            let wait = tokio::time::timeout(Duration::from_millis(100), self.api.polls.recv());
            if let Ok(Some(at)) = wait.await {
                return at;
            }
            let exited = self.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > give_up {
                panic!(
                    "{} did not poll for an event (exited: {exited:?})",
                    self.name
                );
            }
        }
    }

    /// Process start to first `GET /next`.
    async fn init_time(&mut self) -> Duration {
        self.next_poll().await - self.spawned
    }

    /// Runs one invocation and waits until the bootstrap polls again, so nothing it does after
    /// responding overlaps what is measured next. Returns the latency and the HTTP status.
    async fn invoke(&mut self, event: &Bytes) -> (Duration, u16) {
        self.invocations += 1;
        let request_id = format!("bench-{}-{}", std::process::id(), self.invocations);
        self.api
            .events
            .send(Invocation {
                request_id: request_id.clone(),
                event: event.clone(),
            })
            .expect("the fake Runtime API is running");
        let completion = match tokio::time::timeout(PATIENCE, self.api.completions.recv()).await {
            Ok(Some(completion)) => completion,
            _ => panic!(
                "{} did not complete invocation {request_id} (exit status {:?})",
                self.name,
                self.child.try_wait()
            ),
        };
        assert_eq!(completion.request_id, request_id);
        let body = String::from_utf8_lossy(&completion.body);
        assert!(completion.ok, "{} failed: {body}", self.name);
        let response: Value = serde_json::from_slice(&completion.body).unwrap_or_default();
        let status = response["statusCode"].as_u64().unwrap_or(0) as u16;
        self.next_poll().await;
        (completion.latency, status)
    }

    /// `invoke`, insisting on `expected` status.
    async fn invoke_expecting(&mut self, event: &Bytes, expected: u16) -> Duration {
        let (latency, status) = self.invoke(event).await;
        assert_eq!(status, expected, "{}: unexpected status", self.name);
        latency
    }

    /// The process's peak resident set (`VmHWM`), in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the bootstrap's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// An API Gateway HTTP API (payload 2.0) event, as the HTTP API sends it to a route's function.
fn http_event(route_key: &str, method: &str, path: &str, key: &str, body: Option<&str>) -> Bytes {
    use base64::Engine;
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    let mut headers = json!({
        "accept": "*/*",
        "authorization": format!("Basic {credentials}"),
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "links-lambda-bench",
        "x-amzn-trace-id": "Root=1-00000000-000000000000000000000000",
        "x-forwarded-for": "192.0.2.1",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    });
    if let Some(body) = body {
        // JSON for the API, the card form for the payment page (posted from the page itself).
        if body.starts_with('{') {
            headers["content-type"] = json!("application/json");
        } else {
            headers["content-type"] = json!("application/x-www-form-urlencoded");
            headers["origin"] = json!(PAYMENT_BASE_URL.trim_end_matches("/pay"));
        }
        headers["content-length"] = json!(body.len().to_string());
    }
    // `{id}` routes carry the id (the second path segment) as API Gateway extracts it.
    let id = path.split('/').nth(2);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "links-lambda-bench",
            },
            "requestId": "bench-request",
            "routeKey": route_key,
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": Utc::now().timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    if let (Some(id), true) = (id, route_key.contains("{id}")) {
        event["pathParameters"] = json!({ "id": id });
    }
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    Bytes::from(serde_json::to_vec(&event).expect("an event serialises"))
}

/// The objects the workloads address.
struct Ids {
    link: String,
    doomed: String,
    charge: String,
    /// The `link.create` event of `link`.
    event: String,
    token: String,
    /// A card form, as the payment page posts it.
    form: String,
}

/// The event and expected status each function is driven with.
fn workload(name: &str, key: &str, ids: &Ids) -> (Bytes, u16) {
    let (link_id, doomed_id) = (ids.link.as_str(), ids.doomed.as_str());
    let link = format!("/links/{link_id}");
    let page = format!("/pay/{}", ids.token);
    match name {
        "create-link" => (
            http_event(
                "POST /links",
                "POST",
                "/links",
                key,
                Some(
                    r#"{"amount":50000,"currency":"thb","title":"ค่าอาหาร","description":"Lunch"}"#,
                ),
            ),
            200,
        ),
        "list-links" => (http_event("GET /links", "GET", "/links", key, None), 200),
        "retrieve-link" => (http_event("GET /links/{id}", "GET", &link, key, None), 200),
        // Destroying is idempotent, so the same (separate) link is destroyed every time.
        "destroy-link" => (
            http_event(
                "DELETE /links/{id}",
                "DELETE",
                &format!("/links/{doomed_id}"),
                key,
                None,
            ),
            200,
        ),
        "list-link-charges" => (
            http_event(
                "GET /links/{id}/charges",
                "GET",
                &format!("{link}/charges"),
                key,
                None,
            ),
            200,
        ),
        "list-charges" => (
            http_event("GET /charges", "GET", "/charges", key, None),
            200,
        ),
        "retrieve-charge" => (
            http_event(
                "GET /charges/{id}",
                "GET",
                &format!("/charges/{}", ids.charge),
                key,
                None,
            ),
            200,
        ),
        "list-events" => (http_event("GET /events", "GET", "/events", key, None), 200),
        "retrieve-event" => (
            http_event(
                "GET /events/{id}",
                "GET",
                &format!("/events/{}", ids.event),
                key,
                None,
            ),
            200,
        ),
        "payment-page" => (http_event("GET /pay/{id}", "GET", &page, key, None), 200),
        "payment-qr" => (
            http_event(
                "GET /pay/{id}/qr.svg",
                "GET",
                &format!("{page}/qr.svg"),
                key,
                None,
            ),
            200,
        ),
        // The same form every time: the first invocation pays, the rest are replayed (4 reads).
        "pay-link" => (
            http_event("POST /pay/{id}", "POST", &page, key, Some(&ids.form)),
            200,
        ),
        "not-found" => (http_event("$default", "GET", "/nowhere", key, None), 404),
        other => panic!("no workload for {other}"),
    }
}

/// The attempt key secret's name, which scripts/bench-lambda created in the emulator.
fn attempt_secret_name() -> String {
    std::env::var("ATTEMPT_KEY_SECRET")
        .expect("ATTEMPT_KEY_SECRET is not set: run the bench through scripts/bench-lambda")
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// `d` in milliseconds with `places` decimals.
fn ms(d: Duration, places: usize) -> String {
    format!("{:.*} ms", places, d.as_secs_f64() * 1e3)
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// The anchor's row and each function's init as a fraction of the anchor's, from the same
/// rotation of spawns.
fn print_anchor(rows: &mut HashMap<&str, Row>, label: &str) {
    let row = rows.get_mut("anchor").expect("the anchor was measured");
    let anchor = median(&mut row.init);
    let (min, max) = (
        row.init.iter().min().unwrap().as_secs_f64() * 1e3,
        row.init.iter().max().unwrap().as_secs_f64() * 1e3,
    );
    let na = || "n/a".to_owned();
    println!("| anchor | stripped bootstrap | zipped | init, median (min–max) |");
    println!("|---|---:|---:|---:|");
    println!(
        "| {label} | {} | {} | {} ({min:.1}–{max:.1}) |",
        row.stripped.map_or_else(na, mib),
        row.zipped.map_or_else(na, mib),
        ms(anchor, 1),
    );
    println!();
    let mut ratios: Vec<(f64, &str)> = FUNCTIONS
        .iter()
        .filter(|name| **name != "not-found")
        .map(|name| {
            let mut init = rows[name].init.clone();
            (
                median(&mut init).as_secs_f64() / anchor.as_secs_f64(),
                *name,
            )
        })
        .collect();
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (low, high) = (ratios[0], ratios[ratios.len() - 1]);
    println!(
        "Init against the anchor, same run and rotation: {:.2}× ({}) to {:.2}× ({}) of its median.",
        low.0, low.1, high.0, high.1
    );
    println!();
}

/// One row of the table.
#[derive(Default)]
struct Row {
    stripped: Option<u64>,
    zipped: Option<u64>,
    init: Vec<Duration>,
    /// Peak RSS at each of [`RSS_CHECKPOINTS`].
    rss_kib: Vec<u64>,
    /// Median latency of the peak RSS run's invocations.
    warm: Option<Duration>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let bootstraps = PathBuf::from(
        std::env::var("LAMBDA_BOOTSTRAP_DIR").unwrap_or_else(|_| "target/lambda-host".into()),
    );
    let packages = std::env::var("LAMBDA_PACKAGE_DIR").map(PathBuf::from).ok();
    let bootstrap = |name: &str| bootstraps.join(name).join("bootstrap");
    let mut rows: HashMap<&str, Row> = FUNCTIONS.iter().map(|f| (*f, Row::default())).collect();
    // The anchor takes its turn in the init rotation below, under the name "anchor".
    let anchor = std::env::var("LAMBDA_ANCHOR_BOOTSTRAP")
        .ok()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    let anchor_name = std::env::var("LAMBDA_ANCHOR_NAME").unwrap_or_else(|_| "anchor".to_owned());
    let mut rotation: Vec<(&'static str, PathBuf)> =
        FUNCTIONS.iter().map(|f| (*f, bootstrap(f))).collect();
    if let Some(path) = &anchor {
        rows.insert("anchor", Row::default());
        rotation.push(("anchor", path.clone()));
    }

    // Sizes of the deployment package: the stripped bootstrap, and it zipped alone.
    for (name, _) in &rotation {
        let row = rows.get_mut(name).unwrap();
        row.stripped = packages
            .as_ref()
            .and_then(|p| file_size(&p.join(name).join("bootstrap")));
        row.zipped = packages
            .as_ref()
            .and_then(|p| file_size(&p.join(format!("{name}.zip"))));
    }

    // The data the functions serve: a table, an account, a link to read and one to destroy.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client(TrustRoots::Amazon))
        .load()
        .await;
    let table = format!("links-lambda-bench-{}", std::process::id());
    let client = aws_sdk_dynamodb::Client::from_conf(
        resilience(aws_sdk_dynamodb::config::Builder::from(&sdk)).build(),
    );
    let store = Store::new(client, table.clone());
    store.create_table().await.expect("create table");
    let account = store
        .create_account(Utc::now())
        .await
        .expect("create account");
    let owner = Principal {
        account_id: account.account_id.clone(),
        livemode: false,
    };
    let new_link = |title: &str| NewLink {
        amount: 10_000,
        currency: Currency::find("thb").unwrap(),
        title: title.into(),
        description: "bench".into(),
        multiple: false,
        expires_at: None,
        after_payment_uri: None,
        usage_limit: None,
        metadata: None,
    };
    // Rendered as the create function renders it: the store keeps the answer as the event's data.
    let render = |link: &shared::domain::link::Link| {
        serde_json::to_string(&link.view(PAYMENT_BASE_URL, link.created))
            .map_err(shared::ApiError::internal)
    };
    let create = |title: &'static str| {
        let (store, owner) = (&store, &owner);
        async move {
            match store
                .create_link(owner, &new_link(title), None, render)
                .await
                .expect("create a link")
            {
                CreateOutcome::Created { link, .. } => *link,
                CreateOutcome::Replayed { .. } => unreachable!("no idempotency key was given"),
            }
        }
    };
    let link = create("read").await;
    let doomed = create("destroyed").await;
    let key = account.test_key;
    // A multiple-use link paid once through the store, for the charge functions, and a card form
    // for pay-link.
    let mut paid = new_link("paid");
    paid.multiple = true;
    let paid = match store
        .create_link(&owner, &paid, None, render)
        .await
        .expect("create a link")
    {
        CreateOutcome::Created { link, .. } => *link,
        CreateOutcome::Replayed { .. } => unreachable!("no idempotency key was given"),
    };
    let mut ctx = shared::AppContext::new(store.clone(), PAYMENT_BASE_URL);
    // The functions' own secret, so that the form signed here is one pay-link takes.
    ctx.attempt_secret = shared::secrets::AttemptSecret::secrets_manager(
        shared::secrets::secrets_client().expect("a Secrets Manager client"),
        attempt_secret_name(),
    );
    let uri = paid.payment_uri(PAYMENT_BASE_URL);
    let card = shared::domain::card::CardDetails {
        name: "Bench".into(),
        number: "4242424242424242".into(),
        brand: shared::domain::card::Brand::Visa,
        expiration_month: 12,
        expiration_year: 2031,
        security_code: "123".into(),
    };
    let keys = ctx.attempt_keys().await.expect("attempt keys");
    let attempt = shared::domain::attempt::attempt_id(&paid.payment_token, "bench");
    let standing = ctx
        .payments()
        .pay(
            shared::payments::PayRequest {
                link: &paid,
                gateway_key: keys.gateway_key(&paid.id, &attempt),
                attempt_id: attempt,
                payment: shared::processor::Payment::Card(&card),
                fingerprint: None,
                three_d_secure: false,
                ip: None,
                payment_uri: &uri,
                now: Utc::now(),
            },
            &Default::default(),
        )
        .await
        .expect("pay a link");
    let charge = match standing {
        shared::payments::Standing::Charged(charge) => charge,
        other => panic!("{other:?}"),
    };
    // Events are listed oldest first: the first is the read link's creation.
    let events = store
        .list_events(&owner, &Default::default(), Utc::now())
        .await
        .expect("list events");
    let event = events.events[0].id.clone();
    assert!(events.events[0].data.get().contains(link.id.as_str()));
    let ids = Ids {
        link: link.id.clone(),
        doomed: doomed.id.clone(),
        charge: charge.id,
        event,
        token: paid.payment_token.clone(),
        form: format!(
            "attempt={}&lang=th&name=Bench&number=4242424242424242&expiration_month=12\
             &expiration_year=2031&security_code=123",
            keys.issue(&paid.payment_token, Utc::now())
        ),
    };

    // Init: spawn to first `/next`. One unmeasured spawn each first brings the binaries into the
    // page cache; then the functions take turns so that any drift in the machine's load is shared.
    for (name, path) in &rotation {
        Instance::spawn(name, path, &table).await.init_time().await;
    }
    for _ in 0..INIT_RUNS {
        for (name, path) in &rotation {
            let mut instance = Instance::spawn(name, path, &table).await;
            let init = instance.init_time().await;
            rows.get_mut(name).unwrap().init.push(init);
        }
    }

    // Warm retrieve through the bootstrap against a raw consistent GetItem of the same item by
    // the bench's own client, interleaved so both see the same conditions.
    let (retrieve, _) = workload("retrieve-link", &key, &ids);
    let mut instance = Instance::spawn("retrieve-link", &bootstrap("retrieve-link"), &table).await;
    instance.init_time().await;
    for _ in 0..LATENCY_WARMUPS {
        instance.invoke_expecting(&retrieve, 200).await;
    }
    let item_key = HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(format!("ACCT#{}#test", owner.account_id)),
        ),
        (
            "sk".to_owned(),
            AttributeValue::S(format!("LINK#{}", link.id)),
        ),
    ]);
    let get_item = || {
        store
            .client()
            .get_item()
            .table_name(&table)
            .set_key(Some(item_key.clone()))
            .consistent_read(true)
            .send()
    };
    get_item().await.expect("GetItem");
    let mut invocation = Vec::with_capacity(LATENCY_RUNS);
    let mut raw = Vec::with_capacity(LATENCY_RUNS);
    for _ in 0..LATENCY_RUNS {
        invocation.push(instance.invoke_expecting(&retrieve, 200).await);
        let start = Instant::now();
        let item = get_item().await.expect("GetItem");
        raw.push(start.elapsed());
        assert!(item.item().is_some());
    }
    let mut inside: Vec<Duration> = instance
        .handler_durations(LATENCY_WARMUPS + LATENCY_RUNS)
        .await
        .split_off(LATENCY_WARMUPS)
        .into_iter()
        .map(|ms| Duration::from_secs_f64(ms / 1e3))
        .collect();
    drop(instance);
    let inside = median(&mut inside);
    let (invocation, raw) = (median(&mut invocation), median(&mut raw));

    // Peak RSS once warm and after many more invocations: equal figures mean no growth.
    for name in FUNCTIONS {
        let (event, status) = workload(name, &key, &ids);
        let mut instance = Instance::spawn(name, &bootstrap(name), &table).await;
        instance.init_time().await;
        let last = RSS_CHECKPOINTS[RSS_CHECKPOINTS.len() - 1];
        let mut latencies = Vec::with_capacity(last);
        let mut rss = Vec::with_capacity(RSS_CHECKPOINTS.len());
        for i in 1..=last {
            latencies.push(instance.invoke_expecting(&event, status).await);
            if RSS_CHECKPOINTS.contains(&i) {
                rss.push(instance.peak_rss_kib());
            }
        }
        let row = rows.get_mut(name).unwrap();
        row.rss_kib = rss;
        row.warm = Some(median(&mut latencies));
    }
    // The floor any handler pays here: loopback Runtime API round trip, event decoding and
    // response encoding, with no DynamoDB request at all.
    let floor = rows["not-found"].warm.expect("not-found was run");

    let na = || "n/a".to_owned();
    let checkpoints = RSS_CHECKPOINTS.map(|n| n.to_string()).join(" / ");
    println!(
        "| function | stripped bootstrap | zipped | init, median (min–max) | peak RSS after {checkpoints} invocations |"
    );
    println!("|---|---:|---:|---:|---:|");
    for name in FUNCTIONS {
        let row = rows.get_mut(name).unwrap();
        let (min, max) = (
            *row.init.iter().min().unwrap(),
            *row.init.iter().max().unwrap(),
        );
        let init = median(&mut row.init);
        let rss = if row.rss_kib.is_empty() {
            na()
        } else {
            let mib: Vec<String> = row
                .rss_kib
                .iter()
                .map(|kib| format!("{:.1}", *kib as f64 / 1024.0))
                .collect();
            format!("{} MiB", mib.join(" / "))
        };
        let baseline = if name == "not-found" {
            " (no SDK client: baseline)"
        } else {
            ""
        };
        println!(
            "| {name}{baseline} | {} | {} | {} ({:.1}–{:.1}) | {rss} |",
            row.stripped.map_or_else(na, mib),
            row.zipped.map_or_else(na, mib),
            ms(init, 1),
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
        );
    }
    println!();
    if anchor.is_some() {
        print_anchor(&mut rows, &anchor_name);
    }
    let ratio = |d: Duration| d.as_secs_f64() / raw.as_secs_f64();
    println!(
        "Init is process start to the first `GET /runtime/invocation/next`, median of {INIT_RUNS} \
         spawns per function. Peak RSS is `VmHWM`. The functions log JSON at INFO, as deployed."
    );
    println!();
    println!(
        "Warm `GET /links/{{id}}` (medians of {LATENCY_RUNS} after {LATENCY_WARMUPS} warm-ups, \
         interleaved with one raw consistent `GetItem` of the same item by the same SDK on the \
         same DynamoDB Local):"
    );
    println!();
    println!("| measured | median | ratio to raw GetItem |");
    println!("|---|---:|---:|");
    println!("| raw `GetItem` | {} | 1.00× |", ms(raw, 2));
    println!(
        "| retrieve handler (its own `duration_ms`: authentication, `GetItem`, JSON) | {} | {:.2}× |",
        ms(inside, 2),
        ratio(inside)
    );
    println!(
        "| whole invocation (event handed out by the Runtime API to response posted back) | {} | {:.2}× |",
        ms(invocation, 2),
        ratio(invocation)
    );
    println!(
        "| not-found, whole invocation (no DynamoDB request: the Runtime API floor) | {} | — |",
        ms(floor, 2)
    );

    store
        .client()
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .ok();
}
