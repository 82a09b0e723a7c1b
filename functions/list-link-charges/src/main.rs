#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve("list-link-charges", list_link_charges::list_link_charges).await
}
