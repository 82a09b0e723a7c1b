//! `GET /charges/{id}`: one of the caller's charges, as `omise.Charge.retrieve` reads it.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::Utc;
use shared::http::request::charge_id;
use shared::http::response::{answer, json_response};
use shared::{ApiError, AppContext};

pub async fn retrieve_charge(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let id = charge_id(&req, &owner)?;
    let charge = ctx
        .store
        .get_charge(&owner, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("charge {id}")))?;
    Ok(json_response(StatusCode::OK, &charge.view(Utc::now())))
}
