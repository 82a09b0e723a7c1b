//! `POST /charges/{id}/mark_as_failed`: test mode's stand-in for a PromptPay payment failing, as
//! Omise's test mode offers it (its sibling is `mark_as_paid`). The charge must be a pending
//! PromptPay charge of the caller's; the test processor moves it, and what the processor then
//! says is recorded with its `charge.complete` event, exactly as a real payment's notice would
//! be. The answer is the charge. Live keys are refused: no one marks a live payment.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::http::request::charge_id;
use shared::http::response::{answer, json_response};
use shared::{ApiError, AppContext};

pub async fn mark_charge_failed(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    if owner.livemode {
        return Err(ApiError::BadRequest(
            "mark_as_failed is available in test mode only".into(),
        ));
    }
    let id = charge_id(&req, &owner)?;
    let now = ctx.now();
    let charge = ctx.payments().mark(&owner, id, false, now).await?;
    Ok(json_response(StatusCode::OK, &charge.view(now)))
}
