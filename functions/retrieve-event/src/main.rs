#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve("retrieve-event", retrieve_event::retrieve_event).await
}
