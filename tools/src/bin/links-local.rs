//! The API on a local port, with every operation served in-process through the same routing as
//! template.yaml, each request turned into the API Gateway event the deployed function would get.
//! Run by `scripts/dev`, which starts DynamoDB Local and creates a dev account first. It also runs
//! the payments sweep every few seconds, as the deployed schedule runs it every minute.
//!
//! With `LINKS_LOCAL_WEBHOOKS=1` (`scripts/dev` sets it) it also delivers webhooks as deployed:
//! it turns the table's stream on, reads it, and hands each batch to the delivery function's own
//! code, with the sweep of due retries (see `tools::local_webhooks`). In this process rather than
//! a process of its own, as the payments sweep is: one thing for `scripts/dev` to start and stop,
//! and one log where a request and the webhook it caused are read side by side.
//!
//! Environment: `TABLE_NAME`, `PAYMENT_BASE_URL`, `LINKS_LOCAL_ADDR` (default `127.0.0.1:3000`),
//! the AWS variables that point the SDK at DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`, …), and
//! for webhooks `LINKS_LOCAL_WEBHOOKS`, `SECRETS_KMS_KEY` and `AWS_ENDPOINT_URL_KMS`.

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use shared::AppContext;
use tokio::net::TcpListener;

/// How often the local server sweeps payments left unsettled past their deadline.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    lambda_http::tracing::init_default_subscriber();
    let addr = std::env::var("LINKS_LOCAL_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let ctx: &'static AppContext =
        Box::leak(Box::new(AppContext::from_env()?.with_gateways_from_env()?));
    let listener = TcpListener::bind(&addr).await?;
    if tools::local_webhooks::enabled() {
        start_webhooks(ctx).await?;
    }
    // The payments sweep, as the deployed schedule runs it (every minute there; more often here,
    // so that an abandoned test payment ends soon after its deadline).
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(error) = ctx.payments().sweep(shared::chrono::Utc::now()).await {
                tracing::warn!(?error, "payments sweep failed; the next one tries again");
            }
        }
    });
    println!(
        "Links API listening on http://{addr} (table {})",
        ctx.store.table()
    );
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        tokio::spawn(async move {
            let service = service_fn(|req| tools::serve_http(ctx, peer, req));
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}

/// Starts delivering webhooks in the background, once the stream is on: before the first request
/// is served, so that no event is written before the stream carries it.
async fn start_webhooks(ctx: &AppContext) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use tools::local_webhooks::{self, Mapping, POLL_EVERY, SWEEP_EVERY};
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .map_err(|_| "webhooks read DynamoDB Local's stream: set AWS_ENDPOINT_URL_DYNAMODB")?;
    local_webhooks::ensure_stream(&ctx.store).await?;
    let sealer = shared::sealed::Sealer::from_env()?;
    if sealer.is_none() {
        tracing::warn!("SECRETS_KMS_KEY is not set: sealed signing secrets cannot be opened");
    }
    let deliverer: &'static deliver_webhooks::Deliverer = Box::leak(Box::new(
        local_webhooks::deliverer(ctx.store.clone(), sealer)?,
    ));
    let mapping = Mapping::open(&endpoint, ctx.store.table()).await?;
    tokio::spawn(local_webhooks::run(
        deliverer,
        mapping,
        POLL_EVERY,
        SWEEP_EVERY,
    ));
    println!("Delivering webhooks from the table's stream (to endpoints on this machine too)");
    Ok(())
}
