//! `GET /charges`: the caller's charges, paged and filtered exactly as `GET /links`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::Utc;
use shared::domain::list::ListObject;
use shared::http::request::query_and_body_params;
use shared::http::response::{answer, json_response};
use shared::validate::parse_list_query;
use shared::{ApiError, AppContext};

pub async fn list_charges(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let now = Utc::now();
    let query = parse_list_query(&query_and_body_params(&req)?, now)?;
    let page = ctx.store.list_charges(&owner, &query, now).await?;
    let data = page.charges.iter().map(|c| c.view(now)).collect();
    Ok(json_response(
        StatusCode::OK,
        &ListObject::page("/charges".into(), &query, now, data, page.total),
    ))
}
