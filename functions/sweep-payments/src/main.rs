use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::Value;
use shared::AppContext;
use std::time::{Duration, Instant};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::http::serve::init_logging();
    let ctx: &'static AppContext =
        Box::leak(Box::new(AppContext::from_env()?.with_gateways_from_env()?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let left = event
            .context
            .deadline()
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO);
        sweep_payments::sweep(ctx, Instant::now() + left)
            .await
            .map_err(|e| lambda_runtime::Error::from(format!("{e:?}")))
    }))
    .await
}
