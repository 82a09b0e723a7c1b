//! `POST /links`: creates a payment link.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::Utc;
use shared::http::{Params, json_response, respond};
use shared::model::Link;
use shared::validate::NewLink;
use shared::{ApiError, AppContext};

/// Authenticates, validates the body (JSON or form), then writes the link in one DynamoDB round
/// trip. Answers `200` with the new link, as Omise does.
pub async fn create_link(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(handle(ctx, req).await)
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let new = NewLink::parse(&Params::from_body(&req)?)?;
    let now = Utc::now();
    let link = Link::new(&owner, new, now);
    ctx.store.insert_link(&link).await?;
    tracing::info!(link = %link.id, "link created");
    Ok(json_response(
        StatusCode::OK,
        &link.view(&ctx.payment_base_url, now),
    ))
}
