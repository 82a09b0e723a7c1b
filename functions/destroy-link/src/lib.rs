//! `DELETE /links/{id}`: disables a link for good.
//!
//! The link is kept, with its charges: it can still be retrieved and still appears in lists, now
//! with `deleted: true` and `deleted_at`, and its `payment_uri` no longer accepts payments.
//! Destroying an already destroyed link succeeds and changes nothing: the answer is the same link
//! with its original `deleted_at`, so a client that retries after a lost response sees success.
//! The first destroy records a `link.destroy` event in the same transaction; later ones record
//! nothing.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::Utc;
use shared::domain::charge::Charge;
use shared::domain::link::Link;
use shared::http::request::link_id;
use shared::http::response::{answer, json_response};
use shared::{ApiError, AppContext};

/// Any body (clients send `{}` or nothing) is ignored: the path says everything.
pub async fn destroy_link(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let id = link_id(&req, &owner)?;
    let now = Utc::now();
    let base = ctx.payment_base(&req)?;
    let view = |link: &Link, charges: &[Charge]| {
        serde_json::value::to_raw_value(&link.view_with_charges(&base, charges, now))
            .map_err(ApiError::internal)
    };
    let link = ctx
        .store
        .destroy_link(&owner, id, now, view)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("link {id}")))?;
    tracing::info!(link = id, "link destroyed");
    Ok(json_response(StatusCode::OK, &link))
}
