#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve_payments("omise-webhook", omise_webhook::omise_webhook).await
}
