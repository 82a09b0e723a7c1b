//! `GET /links/{id}/charges`: the charges made through one of the caller's links, paged and
//! filtered exactly as `GET /links`. The link must exist and belong to the caller (one read), so
//! that another account's link is a 404 rather than an empty list.

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
    let (link, page) = tokio::try_join!(
        ctx.store.get_link(&owner, id),
        ctx.store.list_link_charges(&owner, id, &query, now),
    )?;
    link.ok_or_else(|| ApiError::NotFound(format!("link {id}")))?;
    let data = page.charges.iter().map(|c| c.view(now)).collect();
    Ok(json_response(
        StatusCode::OK,
        &ListObject::page(
            format!("/links/{id}/charges"),
            &query,
            now,
            data,
            page.total,
        ),
    ))
}
