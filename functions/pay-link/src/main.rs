#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve_payments("pay-link", pay_link::pay_link).await
}
