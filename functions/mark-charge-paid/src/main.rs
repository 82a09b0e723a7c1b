#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve("mark-charge-paid", mark_charge_paid::mark_charge_paid).await
}
