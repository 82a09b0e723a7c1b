//! `GET /links/{id}`: returns one of the caller's links, destroyed ones included, with its first
//! charges (one more read, only when it has any).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::Utc;
use shared::http::request::link_id;
use shared::http::response::{answer, json_response};
use shared::{ApiError, AppContext};

pub async fn retrieve_link(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let id = link_id(&req, &owner)?;
    let link = ctx
        .store
        .get_link(&owner, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("link {id}")))?;
    let charges = ctx.store.embedded_charges(&link).await?;
    let base = ctx.payment_base(&req)?;
    Ok(json_response(
        StatusCode::OK,
        &link.view_with_charges(&base, &charges, Utc::now()),
    ))
}
