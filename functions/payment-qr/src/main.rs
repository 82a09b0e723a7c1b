#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve("payment-qr", payment_qr::payment_qr).await
}
