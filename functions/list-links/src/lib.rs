//! `GET /links`: a page of the caller's links as an Omise list object.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::Utc;
use shared::http::{Params, json_response, respond};
use shared::model::ListObject;
use shared::validate::ListParams;
use shared::{ApiError, AppContext};

/// Paging and filters come from the query string or, as the official Python client sends them, a
/// JSON body on the GET; the query string wins where both give one.
pub async fn list_links(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(handle(ctx, req).await)
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let now = Utc::now();
    let params = ListParams::parse(&Params::from_query_and_body(&req)?, now)?;
    let page = ctx
        .store
        .list_links(&owner, &params, params.is_filtered(now))
        .await?;
    let data = page
        .links
        .iter()
        .map(|link| link.view(&ctx.payment_base_url, now))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &ListObject::page("/links".into(), &params, data, page.total),
    ))
}
