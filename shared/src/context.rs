//! What every function builds once per cold start and lends to each request.

use crate::auth::{Authenticator, Principal};
use crate::error::ApiError;
use crate::store::Store;
use lambda_http::tracing::subscriber::filter::LevelFilter;
use lambda_http::{Body, Error, IntoResponse, Request, RequestExt, Response, service_fn};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

/// Shared state of a running function: the store, the key cache and configuration.
pub struct AppContext {
    pub store: Store,
    pub auth: Authenticator,
    /// Base URL of the payment page, without a trailing slash; a link's `payment_uri` is this
    /// followed by `/<token>`.
    pub payment_base_url: String,
}

/// Name of the environment variable holding the table name.
pub const TABLE_NAME_ENV: &str = "TABLE_NAME";
/// Name of the environment variable holding the payment page's base URL.
pub const PAYMENT_BASE_URL_ENV: &str = "PAYMENT_BASE_URL";

impl AppContext {
    pub fn new(store: Store, payment_base_url: &str) -> Self {
        Self {
            store,
            auth: Authenticator::default(),
            payment_base_url: payment_base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Builds the context from the environment: `TABLE_NAME`, `PAYMENT_BASE_URL`, and the AWS
    /// variables Lambda sets (see [`lambda_dynamodb_client`]).
    pub fn from_env() -> Result<Self, Error> {
        let table = env(TABLE_NAME_ENV)?;
        let base = env(PAYMENT_BASE_URL_ENV)?;
        Ok(Self::new(
            Store::new(lambda_dynamodb_client()?, table),
            &base,
        ))
    }

    /// The caller, or `authentication_failure`.
    pub async fn authenticate(&self, req: &Request) -> Result<Principal, ApiError> {
        self.auth.authenticate(&self.store, req).await
    }
}

/// The SDK's HTTP client, with rustls on ring for TLS (it also speaks plain HTTP, for DynamoDB
/// Local).
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

/// The functions' DynamoDB client, from exactly the variables Lambda sets: `AWS_REGION` and the
/// execution role's `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, plus
/// `AWS_ENDPOINT_URL_DYNAMODB` when pointed at DynamoDB Local (ignored when empty).
///
/// Why not `aws_config::load_from_env`: its default chain (profiles, SSO, web identity through
/// STS, instance metadata) is code a Lambda never runs, yet it made up over half of every
/// binary (7.4 MiB stripped with it; see the README's figures) and is linked whenever the loader
/// is called. Nothing here does I/O, so this is synchronous and cheap at cold start.
pub fn lambda_dynamodb_client() -> Result<aws_sdk_dynamodb::Client, Error> {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(env("AWS_REGION")?))
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .http_client(http_client());
    if let Some(endpoint) = endpoint_override(std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok()) {
        config = config.endpoint_url(endpoint);
    }
    Ok(aws_sdk_dynamodb::Client::from_conf(config.build()))
}

/// The DynamoDB endpoint to use instead of the region's. The template declares the variable empty,
/// because `sam local` only lets `--env-vars` set variables a function declares; empty means none.
fn endpoint_override(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A DynamoDB client from the full default configuration chain (profiles included), for the
/// admin command run from an operator's machine.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

/// The body of every function's `main`: logging, the context once, then the Lambda runtime loop
/// calling `handler` for each request. `operation` names the function in every log line.
pub async fn serve<F, Fut>(operation: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(&'static AppContext, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    init_logging();
    // The context lives as long as the process; leaking it lets every request borrow it freely.
    let context: &'static AppContext = Box::leak(Box::new(AppContext::from_env()?));
    run_logged(operation, |req| handler(context, req)).await
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
        // API Gateway's own request id ties these logs to the gateway's access logs.
        let api_request_id = match req.request_context_ref() {
            Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => {
                context.request_id.clone()
            }
            _ => None,
        };
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
fn init_logging() {
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
    use super::{LevelFilter, endpoint_override, log_level};

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

    #[test]
    fn an_empty_endpoint_means_the_regions_own() {
        assert_eq!(endpoint_override(None), None);
        assert_eq!(endpoint_override(Some(String::new())), None);
        assert_eq!(endpoint_override(Some("  ".into())), None);
        assert_eq!(
            endpoint_override(Some("http://127.0.0.1:8000".into())).as_deref(),
            Some("http://127.0.0.1:8000")
        );
    }
}
