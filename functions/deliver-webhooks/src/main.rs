use deliver_webhooks::Deliverer;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::Value;
use std::time::{Duration, Instant};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::http::serve::init_logging();
    // Clients (DynamoDB, TLS roots) once per cold start.
    let deliverer: &'static Deliverer = Box::leak(Box::new(Deliverer::from_env()?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let left = event
            .context
            .deadline()
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let answer = deliverer
            .handle(&event.payload, Instant::now() + left)
            .await;
        answer.map_err(|e| lambda_runtime::Error::from(e.to_string()))
    }))
    .await
}
