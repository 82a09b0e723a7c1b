//! `GET /links`: a page of the caller's links as an Omise list object.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::Utc;
use shared::domain::list::ListObject;
use shared::http::request::query_and_body_params;
use shared::http::response::{answer, json_response};
use shared::validate::parse_list_query;
use shared::{ApiError, AppContext};

/// Paging and filters come from the query string or, as the official Python client sends them, a
/// JSON body on the GET; the query string wins where both give one. A page costs reads in
/// proportion to its `limit` at any offset (see `shared::store::collection`).
pub async fn list_links(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let now = Utc::now();
    let query = parse_list_query(&query_and_body_params(&req)?, now)?;
    let base = ctx.payment_base(&req)?;
    let page = ctx.store.list_links(&owner, &query, now).await?;
    // One more read for each link on the page that has charges, all side by side.
    let charges = ctx.store.embedded_charges_of(&page.links).await?;
    let data = page
        .links
        .iter()
        .zip(&charges)
        .map(|(link, charges)| link.view_with_charges(&base, charges, now))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &ListObject::page("/links".into(), &query, now, data, page.total),
    ))
}
