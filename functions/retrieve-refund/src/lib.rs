//! `GET /charges/{id}/refunds/{refund_id}`: one refund of one of the caller's charges, as a
//! refund's `reload()` reads it from its `location`. One read: the charge holds its refunds.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::domain::ids;
use shared::http::request::charge_id;
use shared::http::response::{answer, json_response};
use shared::{ApiError, AppContext};

pub async fn retrieve_refund(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let id = charge_id(&req, &owner)?;
    let refund_id = req
        .path_parameters_ref()
        .and_then(|p| p.first("refund_id"))
        .unwrap_or("");
    let missing = || {
        let shown: String = refund_id.chars().take(64).collect();
        ApiError::NotFound(format!("refund {shown}"))
    };
    if !ids::is_plain_id(refund_id, "rfnd", owner.livemode) {
        return Err(missing());
    }
    let charge = ctx
        .store
        .get_charge(&owner, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("charge {id}")))?;
    let refund = charge
        .refunds
        .iter()
        .find(|r| r.id == refund_id)
        .ok_or_else(missing)?;
    Ok(json_response(StatusCode::OK, &refund.view()))
}
