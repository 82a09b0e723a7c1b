#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve_payments("create-refund", create_refund::create_refund).await
}
