#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve("list-refunds", list_refunds::list_refunds).await
}
