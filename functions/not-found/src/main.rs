use lambda_http::{Error, service_fn};
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    lambda_http::run(service_fn(|req| async {
        Ok::<_, Infallible>(not_found::not_found(req).await)
    }))
    .await
}
