#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve_payments(
        "authenticate-payment",
        authenticate_payment::authenticate_payment,
    )
    .await
}
