#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve_payments("mark-charge-paid", mark_charge_paid::mark_charge_paid).await
}
