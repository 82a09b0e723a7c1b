#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve_payments("payment-complete", payment_complete::payment_complete).await
}
