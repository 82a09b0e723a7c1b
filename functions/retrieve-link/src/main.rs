#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve("retrieve-link", retrieve_link::retrieve_link).await
}
