#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve("destroy-link", destroy_link::destroy_link).await
}
