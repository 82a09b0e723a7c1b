#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve("retrieve-refund", retrieve_refund::retrieve_refund).await
}
