//! Running a function: what it builds once per cold start ([`AppContext`]), the Lambda loop, and
//! its logs.

use super::request::{api_request_id, basic_username, domain_name, edge_client_ip, source_ip};
use crate::auth::Authenticator;
use crate::domain::attempt::{AttemptKeys, KeyProblem};
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use crate::payments::Payments;
use crate::processor::{Gateways, Processor, TestProcessor};
use crate::secrets::{
    ATTEMPT_SECRET_ENV, AttemptSecret, ORIGIN_HEADER, ORIGIN_SECRET_ENV, OriginGuard,
    secrets_client,
};
use crate::store::Store;
use lambda_http::tracing::subscriber::filter::LevelFilter;
use lambda_http::{Body, Error, IntoResponse, Request, Response, service_fn};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Shared state of a running function: the store, the key cache, the processor and
/// configuration.
pub struct AppContext {
    pub store: Store,
    pub auth: Authenticator,
    /// Base URL of the payment page, without a trailing slash; a link's `payment_uri` is this
    /// followed by `/<token>`. Empty: derived from each request (see [`AppContext::payment_base`]).
    pub payment_base_url: String,
    /// Each account's gateway ([`Gateways`] over the same table), unless a test puts another
    /// processor in its place.
    pub processor: Arc<dyn Processor>,
    /// The secret attempt keys are signed with.
    pub attempt_secret: AttemptSecret,
    /// What the payment functions take the time to be: the system's clock, which tests move
    /// forward to reach a deadline without waiting for it.
    pub clock: Clock,
    /// Set when CloudFront (with the WAF) fronts the API: requests that did not come through it
    /// are refused, and the buyer's address is the one CloudFront forwarded.
    pub origin_guard: Option<OriginGuard>,
    /// Where a buyer's browser finds Omise, for the tokenized card form.
    pub omise_browser: crate::processor::OmiseBrowser,
    /// Opens what is sealed under the stack's KMS key (`SECRETS_KMS_KEY`), when it is set.
    pub sealer: Option<crate::sealed::Sealer>,
}

/// The system's clock, plus an offset that only tests set.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl Clock {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
            + chrono::Duration::milliseconds(
                self.offset_ms.load(std::sync::atomic::Ordering::Relaxed),
            )
    }

    /// Moves this clock forward by `by` (tests).
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), std::sync::atomic::Ordering::Relaxed);
    }
}

/// Name of the environment variable holding the table name.
pub const TABLE_NAME_ENV: &str = "TABLE_NAME";
/// Name of the environment variable holding the payment page's base URL.
pub const PAYMENT_BASE_URL_ENV: &str = "PAYMENT_BASE_URL";

impl AppContext {
    /// A context over `store`, signing attempt keys with a random secret of its own (tests,
    /// benches; functions use [`AppContext::from_env`]).
    pub fn new(store: Store, payment_base_url: &str) -> Self {
        Self::with_auth(store, payment_base_url, Authenticator::default())
    }

    /// A context whose authenticator has other limits (tests of the key cache).
    pub fn with_auth(store: Store, payment_base_url: &str, auth: Authenticator) -> Self {
        Self {
            processor: Arc::new(TestProcessor::new(store.clone())),
            store,
            auth,
            payment_base_url: payment_base_url.trim_end_matches('/').to_owned(),
            attempt_secret: AttemptSecret::random(),
            clock: Clock::default(),
            origin_guard: None,
            omise_browser: crate::processor::OmiseBrowser::default(),
            sealer: None,
        }
    }

    /// Builds the context from the environment: `TABLE_NAME`, `PAYMENT_BASE_URL`, the AWS
    /// variables Lambda sets (see [`crate::store::lambda_client`]), and `ATTEMPT_KEY_SECRET`
    /// (see [`crate::secrets`]) for the functions that sign or check attempt keys.
    pub fn from_env() -> Result<Self, Error> {
        let table = env(TABLE_NAME_ENV)?;
        let base = env(PAYMENT_BASE_URL_ENV)?;
        let mut ctx = Self::new(Store::new(crate::store::lambda_client()?, table), &base);
        ctx.omise_browser = crate::processor::OmiseBrowser::from_env();
        ctx.attempt_secret = match std::env::var(ATTEMPT_SECRET_ENV)
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(secret) => AttemptSecret::secrets_manager(secrets_client()?, secret),
            None => AttemptSecret::missing(),
        };
        ctx.origin_guard = match std::env::var(ORIGIN_SECRET_ENV)
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(secret) => Some(OriginGuard::new(secrets_client()?, secret)),
            None => None,
        };
        Ok(ctx)
    }

    /// This context with each account's gateway ([`Gateways`]: the built-in test processor, or
    /// Omise with the account's sealed key) as its processor, and the KMS key to open sealed
    /// values with (`SECRETS_KMS_KEY`). Only the functions that charge, settle or refund call
    /// it (through [`serve_payments`]): the others never link the Omise client or the KMS SDK.
    pub fn with_gateways_from_env(mut self) -> Result<Self, Error> {
        self.sealer = crate::sealed::Sealer::from_env()?;
        self.processor = Arc::new(Gateways::from_env(self.store.clone(), self.sealer.clone()));
        Ok(self)
    }

    /// Now, by this context's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Payments through this context's store and processor.
    pub fn payments(&self) -> Payments<'_> {
        Payments::new(&self.store, self.processor.as_ref())
    }

    /// The keys attempt keys are signed with.
    pub async fn attempt_keys(&self) -> Result<Arc<AttemptKeys>, ApiError> {
        self.attempt_secret.keys().await
    }

    /// Whether `key` is an attempt key this service issued for the page of `token`, young
    /// enough at `now`. A key signed by a secret these keys do not hold has the secret read
    /// again (it may have been rotated since this function started).
    pub async fn check_attempt_key(
        &self,
        token: &str,
        key: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Result<(), KeyProblem>, ApiError> {
        let checked = self.attempt_keys().await?.check(token, key, now);
        if checked == Err(KeyProblem::UnknownSecret) {
            if let Some(keys) = self.attempt_secret.reread().await? {
                return Ok(keys.check(token, key, now));
            }
        }
        Ok(checked)
    }

    /// The payment page's base URL for links answered to `req`: `PAYMENT_BASE_URL` when set,
    /// else the API's own domain as API Gateway names it, `https://<domain>/pay`, so that a fresh
    /// deploy's links lead to its own payment page with no configuration. (Set `PAYMENT_BASE_URL`
    /// when the page is served elsewhere, through a custom domain's base path say.)
    pub fn payment_base(&self, req: &Request) -> Result<String, ApiError> {
        if !self.payment_base_url.is_empty() {
            return Ok(self.payment_base_url.clone());
        }
        domain_name(req)
            .filter(|d| !d.is_empty() && !d.contains(['/', '?', '#', '@']))
            .map(|domain| format!("https://{domain}/pay"))
            .ok_or_else(|| {
                ApiError::internal("PAYMENT_BASE_URL is empty and the request names no domain")
            })
    }

    /// The address of the client that sent `req`: the one API Gateway saw, or, behind CloudFront,
    /// the one CloudFront forwarded (see [`edge_client_ip`]).
    pub fn client_ip(&self, req: &Request) -> Option<String> {
        if self.origin_guard.is_some() {
            edge_client_ip(req)
        } else {
            source_ip(req)
        }
    }

    /// The caller of `req`: its secret key checked against the store, with its source address
    /// for the failed-lookup budget.
    pub async fn authenticate(&self, req: &Request) -> Result<Principal, ApiError> {
        let key = basic_username(req);
        let source = self.client_ip(req);
        self.auth
            .authenticate(&self.store, key.as_deref(), source.as_deref())
            .await
    }
}

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

/// The body of every function's `main`: logging, the context once, then the Lambda runtime loop
/// calling `handler` for each request. `operation` names the function in every log line.
pub async fn serve<F, Fut>(operation: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(&'static AppContext, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    init_logging();
    serve_with(operation, AppContext::from_env()?, handler).await
}

/// [`serve`] for a function that charges, settles or refunds: its context pays through each
/// account's gateway ([`AppContext::with_gateways_from_env`]).
pub async fn serve_payments<F, Fut>(operation: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(&'static AppContext, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    init_logging();
    serve_with(
        operation,
        AppContext::from_env()?.with_gateways_from_env()?,
        handler,
    )
    .await
}

async fn serve_with<F, Fut>(
    operation: &'static str,
    context: AppContext,
    handler: F,
) -> Result<(), Error>
where
    F: Fn(&'static AppContext, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    // The context lives as long as the process; leaking it lets every request borrow it freely.
    let context: &'static AppContext = Box::leak(Box::new(context));
    run_logged(operation, |req| {
        let guarded = context.origin_guard.as_ref().map(|guard| {
            let header = req
                .headers()
                .get(ORIGIN_HEADER)
                .map(|v| v.as_bytes().to_vec());
            (guard, header)
        });
        let answer = handler(context, req);
        async move {
            if let Some((guard, header)) = guarded {
                match guard.allows(header.as_deref()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!("refused: not through the CloudFront distribution");
                        return crate::http::response::error_response(ApiError::Forbidden(
                            "requests reach this API through its CloudFront distribution".into(),
                        ));
                    }
                    Err(error) => return crate::http::response::error_response(error),
                }
            }
            answer.await
        }
    })
    .await
}

/// [`serve`] for a function that needs no context (no DynamoDB client to build at all).
pub async fn serve_without_context<F, Fut>(operation: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    init_logging();
    run_logged(operation, handler).await
}

/// Runs the Lambda loop, each request inside a span carrying `operation` (the runtime's own span
/// adds the request id) and ending with one log line of its method, status and duration. Nothing
/// of the request's headers or body is logged: they carry secret keys and, later, card data.
async fn run_logged<F, Fut>(operation: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    use tracing::Instrument;
    lambda_http::run(service_fn(|req: Request| {
        let method = req.method().clone();
        // API Gateway's own request id ties these logs to the gateway's access log.
        let api_request_id = api_request_id(&req);
        let span = tracing::info_span!("request", operation, api_request_id);
        let response = handler(req);
        async move {
            let started = std::time::Instant::now();
            let response = response.await;
            tracing::info!(
                %method,
                status = response.status().as_u16(),
                duration_ms = started.elapsed().as_secs_f64() * 1e3,
                "request handled"
            );
            Ok::<_, Infallible>(Finished(response))
        }
        .instrument(span)
    }))
    .await
}

/// A handler's response, handed to the runtime as it is.
///
/// `lambda_http`'s own `IntoResponse` for `Response<B>` collects every body again and decodes text
/// bodies a second time, through `encoding_rs`, by the charset of their `Content-Type`. Every
/// body here is already UTF-8 JSON in a `Body::Text`, so that work, and `encoding_rs`'s tables in
/// every binary, are skipped.
struct Finished(Response<Body>);

impl IntoResponse for Finished {
    fn into_response(self) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}

/// Logging as Lambda's advanced logging controls ask: JSON when `AWS_LAMBDA_LOG_FORMAT` is `JSON`,
/// at the level `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`) names (see [`log_level`]).
///
/// The runtime's own `init_default_subscriber` does the same through an `EnvFilter`, whose regex
/// engine is a sizeable share of every binary; a function only ever needs one global level, so a
/// plain level filter serves (per-module `RUST_LOG` directives are not supported).
///
/// Public for the functions that are not served over HTTP (the webhook delivery function).
pub fn init_logging() {
    let setting = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let level = log_level(setting.ok().as_deref());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = lambda_http::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level);
    if json {
        logs.json().init()
    } else {
        logs.init()
    }
}

/// The level to log at: the one `setting` names, INFO when it names none, and never more than
/// DEBUG. At TRACE, `lambda_runtime` logs every raw event (its `Authorization` header carries the
/// secret key, its body a buyer's details) and the SDK logs whole signed requests (the execution
/// role's session token included). Lambda's FATAL is tracing's ERROR.
fn log_level(setting: Option<&str>) -> LevelFilter {
    let level = match setting.map(str::trim) {
        Some(l) if l.eq_ignore_ascii_case("fatal") => LevelFilter::ERROR,
        Some(l) => l.parse().unwrap_or(LevelFilter::INFO),
        None => LevelFilter::INFO,
    };
    level.min(LevelFilter::DEBUG)
}

#[cfg(test)]
mod tests {
    use super::{LevelFilter, env, log_level};

    /// A request as API Gateway hands it over, naming `domain` as the API's (or no domain). The
    /// Host header is the gateway's own (lambda_http builds the URI from it first).
    fn request_on(domain: Option<&str>) -> lambda_http::Request {
        let mut context = serde_json::json!({
            "accountId": "123456789012", "apiId": "abc123", "requestId": "r",
            "routeKey": "$default", "stage": "$default", "time": "26/Nov/2026:10:00:00 +0000",
            "timeEpoch": 0,
            "http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1",
                     "sourceIp": "198.51.100.7", "userAgent": ""},
        });
        if let Some(domain) = domain {
            context["domainName"] = domain.into();
        }
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
            "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com"},
            "requestContext": context, "isBase64Encoded": false,
        });
        lambda_http::request::from_str(&event.to_string()).expect("an HTTP API event")
    }

    #[test]
    fn with_no_base_url_links_lead_to_the_gateways_own_domain_and_nowhere_else() {
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .build(),
        );
        let store = crate::store::Store::new(client, "t");
        let configured = super::AppContext::new(store.clone(), "https://pay.example.com/p/");
        let derived = super::AppContext::new(store, "");
        let own = request_on(Some("abc123.execute-api.us-east-1.amazonaws.com"));
        assert_eq!(
            configured.payment_base(&own).unwrap(),
            "https://pay.example.com/p"
        );
        assert_eq!(
            derived.payment_base(&own).unwrap(),
            "https://abc123.execute-api.us-east-1.amazonaws.com/pay"
        );
        // Whatever names the domain, a link must not lead to another host or path.
        for domain in [
            None,
            Some(""),
            Some("evil.example/x"),
            Some("a@evil.example"),
        ] {
            assert!(
                derived.payment_base(&request_on(domain)).is_err(),
                "{domain:?}"
            );
        }
    }

    #[test]
    fn a_missing_setting_is_an_error_that_names_it() {
        // PATH is set in every environment tests run in; this name in none.
        assert_eq!(env("PATH").ok(), std::env::var("PATH").ok());
        let missing = env("LINKS_TEST_NEVER_SET_VARIABLE").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "LINKS_TEST_NEVER_SET_VARIABLE is not set"
        );
    }

    #[test]
    fn trace_is_capped_at_debug_and_fatal_means_error() {
        assert_eq!(log_level(Some("TRACE")), LevelFilter::DEBUG);
        assert_eq!(log_level(Some("trace")), LevelFilter::DEBUG);
        assert_eq!(log_level(Some("DEBUG")), LevelFilter::DEBUG);
        assert_eq!(log_level(Some("WARN")), LevelFilter::WARN);
        assert_eq!(log_level(Some("FATAL")), LevelFilter::ERROR);
        assert_eq!(log_level(Some("off")), LevelFilter::OFF);
        assert_eq!(log_level(Some("nonsense")), LevelFilter::INFO);
        assert_eq!(log_level(None), LevelFilter::INFO);
    }
}
