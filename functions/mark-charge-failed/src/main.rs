#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve_payments("mark-charge-failed", mark_charge_failed::mark_charge_failed).await
}
