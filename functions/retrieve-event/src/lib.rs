//! `GET /events/{id}`: one of the caller's events, as `omise.Event.retrieve(id)` reads it.
//!
//! The event lives in the caller's own account partition, so another account's event, or a test
//! event asked for with a live key, is simply not there: 404, as Omise answers.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::http::request::event_id;
use shared::http::response::{answer, json_response};
use shared::{ApiError, AppContext};

pub async fn retrieve_event(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let id = event_id(&req, &owner)?;
    let event = ctx
        .store
        .get_event(&owner, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("event {id}")))?;
    Ok(json_response(StatusCode::OK, &event))
}
