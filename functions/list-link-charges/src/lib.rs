//! `GET /links/{id}/charges`: the charges made through a link, as an Omise list object.
//!
//! Payments do not exist yet, so the list is always empty; the link must still exist and belong
//! to the caller, and the paging parameters are validated exactly as for `GET /links`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::Utc;
use shared::domain::list::ListObject;
use shared::http::request::{link_id, query_and_body_params};
use shared::http::response::{answer, json_response};
use shared::validate::parse_list_query;
use shared::{ApiError, AppContext};

pub async fn list_link_charges(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let id = link_id(&req, &owner)?;
    let now = Utc::now();
    let query = parse_list_query(&query_and_body_params(&req)?, now)?;
    ctx.store
        .get_link(&owner, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("link {id}")))?;
    let charges: Vec<()> = Vec::new();
    Ok(json_response(
        StatusCode::OK,
        &ListObject::page(format!("/links/{id}/charges"), &query, now, charges, 0),
    ))
}
