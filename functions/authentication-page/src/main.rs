#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve(
        "authentication-page",
        authentication_page::authentication_page,
    )
    .await
}
