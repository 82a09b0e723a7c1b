#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve("retrieve-charge", retrieve_charge::retrieve_charge).await
}
