//! The API on a local port, with every operation served in-process through the same routing as
//! template.yaml, each request turned into the API Gateway event the deployed function would get.
//! Run by `scripts/dev`, which starts DynamoDB Local and creates a dev account first. It also runs
//! the payments sweep every few seconds, as the deployed schedule runs it every minute.
//!
//! Environment: `TABLE_NAME`, `PAYMENT_BASE_URL`, `LINKS_LOCAL_ADDR` (default `127.0.0.1:3000`),
//! and the AWS variables that point the SDK at DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`, …).

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
