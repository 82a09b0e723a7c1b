//! What every function builds once per cold start and lends to each request.

use crate::auth::{Authenticator, Principal};
use crate::error::ApiError;
use crate::store::Store;
use lambda_http::{Body, Error, Request, Response, service_fn};
use std::convert::Infallible;
use std::future::Future;

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

    /// Builds the context from the environment: `TABLE_NAME`, `PAYMENT_BASE_URL`, and the usual
    /// AWS variables (region, credentials, and `AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB Local).
    pub async fn from_env() -> Result<Self, Error> {
        let table =
            std::env::var(TABLE_NAME_ENV).map_err(|_| format!("{TABLE_NAME_ENV} is not set"))?;
        let base = std::env::var(PAYMENT_BASE_URL_ENV)
            .map_err(|_| format!("{PAYMENT_BASE_URL_ENV} is not set"))?;
        let client = dynamodb_client().await;
        Ok(Self::new(Store::new(client, table), &base))
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

/// A DynamoDB client configured from the environment.
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
    lambda_http::tracing::init_default_subscriber();
    // The context lives as long as the process; leaking it lets every request borrow it freely.
    let context: &'static AppContext = Box::leak(Box::new(AppContext::from_env().await?));
    run_logged(operation, |req| handler(context, req)).await
}

/// [`serve`] for a function that needs no context (no DynamoDB client to build at all).
pub async fn serve_without_context<F, Fut>(operation: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    lambda_http::tracing::init_default_subscriber();
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
        let span = tracing::info_span!("request", operation);
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
            Ok::<_, Infallible>(response)
        }
        .instrument(span)
    }))
    .await
}
