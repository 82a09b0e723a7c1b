//! `POST /charges/{id}/refunds` (`amount`): refunds part or all of one of the caller's successful
//! charges, as `charge.refund(amount=…)` in the official clients asks it. The answer is the
//! refund; the charge's `refunded` and `refunds` show it at once, and a `refund.create` event
//! (and webhook) reports it.
//!
//! Omise's rules, with this service's bound on the count (see `domain::refund`): a successful
//! charge only; never more than remains of it (concurrent refunds included); at most 20 per
//! charge; within 365 days (160 for JCB and American Express). An `Idempotency-Key` makes a
//! retry after a lost answer return the same refund rather than make a second.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::http::request::{body_params, charge_id, idempotency_key};
use shared::http::response::{answer, json_response};
use shared::validate::parse_refund_amount;
use shared::{ApiError, AppContext};

pub async fn create_refund(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let id = charge_id(&req, &owner)?;
    let idempotency = idempotency_key(&req)?;
    let amount = parse_refund_amount(&body_params(&req)?)?;
    // What a retry with the same key must ask for again.
    let fingerprint = format!("refund:{id}:{amount}");
    let refund = shared::payments::refunds::Refunds::new(ctx.payments())
        .create(
            &owner,
            id,
            amount,
            idempotency.as_ref().map(|key| (key, fingerprint.as_str())),
            ctx.now(),
        )
        .await?;
    Ok(json_response(StatusCode::OK, &refund.view()))
}
