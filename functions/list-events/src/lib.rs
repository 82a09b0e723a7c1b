//! `GET /events`: the caller's events, paged and filtered exactly as `GET /links`, so that
//! `omise.Event.retrieve()` and `omise.Event.list()` page them as they page Omise's.
//!
//! Events are served as the store holds them (the object as the API answered it when the event
//! happened, with the deliveries recorded since): nothing here re-renders `data`, which must stay
//! what the change answered.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::Utc;
use shared::domain::list::ListObject;
use shared::http::request::query_and_body_params;
use shared::http::response::{answer, json_response};
use shared::validate::parse_list_query;
use shared::{ApiError, AppContext};

pub async fn list_events(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let now = Utc::now();
    let query = parse_list_query(&query_and_body_params(&req)?, now)?;
    let page = ctx.store.list_events(&owner, &query, now).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListObject::page("/events".into(), &query, now, page.events, page.total),
    ))
}
