//! DynamoDB failing on purpose: a DynamoDB Local of a test's own that can be killed and
//! restarted with its data, and a proxy in front of DynamoDB Local that answers chosen requests
//! with DynamoDB's own error responses (throttling, cancelled transactions, 500s), or stalls, or
//! refuses connections. DynamoDB Local never throttles or conflicts by itself; the proxy is how a
//! test makes the real SDK meet those answers, while every other request reaches the real thing.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start (run scripts/setup?)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts a DynamoDB Local that stops when this test process ends, for tests run without
/// `scripts/test`; returns its endpoint.
// The watcher shell is never waited for: it must outlive this call, and it ends by itself.
#[allow(clippy::zombie_processes)]
pub fn start_watched_dynamodb_local() -> String {
    let port = free_port();
    // The shell outlives neither this process nor DynamoDB Local: it stops the server once the
    // test process is gone, so no JVM is left behind.
    let watcher = format!(
        "{root}/scripts/dynamodb-local {port} >/dev/null 2>&1 & server=$!; \
         while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $server",
        root = root().display(),
        parent = std::process::id()
    );
    Command::new("bash")
        .arg("-c")
        .arg(watcher)
        .spawn()
        .expect("bash to start DynamoDB Local");
    wait_for_port(port, "DynamoDB Local");
    format!("http://127.0.0.1:{port}")
}

/// Starts moto's Secrets Manager emulator that stops when this test process ends, for tests run
/// without `scripts/test`; returns its endpoint.
#[allow(clippy::zombie_processes)]
pub fn start_watched_secrets_manager() -> String {
    let port = free_port();
    let watcher = format!(
        "{root}/scripts/secrets-manager {port} >/dev/null 2>&1 & server=$!; \
         while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $server",
        root = root().display(),
        parent = std::process::id()
    );
    Command::new("bash")
        .arg("-c")
        .arg(watcher)
        .spawn()
        .expect("bash to start the Secrets Manager emulator");
    wait_for_port(port, "the Secrets Manager emulator");
    format!("http://127.0.0.1:{port}")
}

/// A DynamoDB Local of one test's own, keeping its data in a folder so that it survives being
/// killed and started again. Dropping it kills it and removes the folder.
pub struct OwnDynamoDbLocal {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl OwnDynamoDbLocal {
    pub fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("dynamodb-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).expect("a data folder");
        let mut own = Self {
            port: free_port(),
            dir,
            child: None,
        };
        own.run();
        own
    }

    fn run(&mut self) {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(root().join("scripts/dynamodb-local"));
        command
            .arg(self.port.to_string())
            .arg(&self.dir)
            // A small heap: the test writes little, and several of these may run at once.
            .env("JAVA_TOOL_OPTIONS", "-Xmx384m")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // The script execs the JVM: have the kernel kill it if this test dies without dropping it
        // (a timeout or a fail-fast kill), so that no JVM outlives its test.
        // SAFETY: prctl is async-signal-safe and touches nothing of the parent's.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("start DynamoDB Local");
        self.child = Some(child);
        wait_for_port(self.port, "DynamoDB Local");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills it outright (SIGKILL): in-flight requests get no answer, new ones are refused.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with the data it had.
    pub fn restart(&mut self) {
        self.kill();
        self.run();
    }
}

impl Drop for OwnDynamoDbLocal {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How the proxy treats a request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// DynamoDB's own error response: this status and JSON body.
    Error { status: u16, body: String },
    /// Hold the request and never answer.
    Stall,
}

impl Answer {
    /// `ThrottlingException`, as DynamoDB sends it.
    pub fn throttling() -> Self {
        Self::error(
            400,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        )
    }

    /// `ProvisionedThroughputExceededException`.
    pub fn throughput_exceeded() -> Self {
        Self::error(
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        )
    }

    /// A 500 `InternalServerError`.
    pub fn internal_server_error() -> Self {
        Self::error(500, "InternalServerError", "Internal server error")
    }

    /// `TransactionCanceledException` with one reason code per item of the transaction
    /// (`"None"` for items that were fine).
    pub fn transaction_canceled(reasons: &[&str]) -> Self {
        let reasons: Vec<_> = reasons
            .iter()
            .map(|code| serde_json::json!({"Code": code, "Message": format!("{code} (injected)")}))
            .collect();
        let body = serde_json::json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
            "CancellationReasons": reasons,
        });
        Self::Error {
            status: 400,
            body: body.to_string(),
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        let body = serde_json::json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
            "message": message,
        });
        Self::Error {
            status,
            body: body.to_string(),
        }
    }
}

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward to DynamoDB Local, except requests a [`FaultProxy::inject`] rule takes.
    Forward,
    /// Accept connections and never answer on them.
    Stall,
    /// Close every connection at once, unanswered.
    Refuse,
}

struct Rule {
    operation: String,
    answer: Answer,
    /// Requests of the operation let through before the rule takes any.
    skip: usize,
    remaining: usize,
}

struct State {
    upstream: String,
    mode: Mode,
    rules: Vec<Rule>,
    injected: usize,
    forwarded: Vec<String>,
}

/// A proxy in front of a DynamoDB endpoint, on a port of its own, serving until dropped.
pub struct FaultProxy {
    port: u16,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy to `upstream` (`http://127.0.0.1:8000`), forwarding everything for now.
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("an address").port();
        let state = Arc::new(Mutex::new(State {
            upstream: upstream.trim_start_matches("http://").to_owned(),
            mode: Mode::Forward,
            rules: Vec::new(),
            injected: 0,
            forwarded: Vec::new(),
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let mode = shared.lock().unwrap().mode;
                match mode {
                    Mode::Refuse => drop(stream),
                    Mode::Stall => held.push(stream),
                    Mode::Forward => {
                        let state = shared.clone();
                        tokio::spawn(async move {
                            let service =
                                hyper::service::service_fn(move |req| handle(state.clone(), req));
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                }
            }
        });
        Self { port, state, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Answers the next `times` requests of `operation` (`"TransactWriteItems"`) with `answer`.
    pub fn inject(&self, operation: &str, answer: Answer, times: usize) {
        self.inject_after(operation, 0, answer, times);
    }

    /// The same, once `skip` requests of `operation` have been forwarded.
    pub fn inject_after(&self, operation: &str, skip: usize, answer: Answer, times: usize) {
        self.state.lock().unwrap().rules.push(Rule {
            operation: operation.to_owned(),
            answer,
            skip,
            remaining: times,
        });
    }

    /// Forgets the rules not used up yet.
    pub fn clear(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// How many requests an injected rule has answered so far.
    pub fn injected(&self) -> usize {
        self.state.lock().unwrap().injected
    }

    /// The operations forwarded to DynamoDB so far, in order.
    pub fn forwarded(&self) -> Vec<String> {
        self.state.lock().unwrap().forwarded.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    // Connections opened before a change of mode follow it too (the SDK keeps them alive).
    let mode = state.lock().unwrap().mode;
    match mode {
        Mode::Forward => {}
        Mode::Stall => std::future::pending::<()>().await,
        Mode::Refuse => return Err("refused".into()),
    }
    let operation = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("")
        .to_owned();
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = {
        let mut state = state.lock().unwrap();
        let rule = state
            .rules
            .iter_mut()
            .find(|r| r.remaining > 0 && r.operation == operation);
        let answer = rule.and_then(|r| {
            if r.skip > 0 {
                r.skip -= 1;
                return None;
            }
            r.remaining -= 1;
            Some(r.answer.clone())
        });
        if answer.is_some() {
            state.injected += 1;
        } else {
            state.forwarded.push(operation.clone());
        }
        answer
    };
    match answer {
        Some(Answer::Error { status, body }) => Ok(Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-requestid", "INJECTED")
            .body(Full::new(Bytes::from(body)))
            .expect("a response")),
        Some(Answer::Stall) => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        None => {
            let upstream = state.lock().unwrap().upstream.clone();
            Ok(
                forward(&upstream, Request::from_parts(parts, Full::new(body)))
                    .await
                    .unwrap_or_else(|_| {
                        Response::builder()
                            .status(502)
                            .body(Full::new(Bytes::new()))
                            .expect("a response")
                    }),
            )
        }
    }
}

async fn forward(
    upstream: &str,
    req: Request<Full<Bytes>>,
) -> Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(upstream).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(req).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}
