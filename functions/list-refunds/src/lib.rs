//! `GET /charges/{id}/refunds`: one of the caller's charges' refunds, paged and filtered as every
//! list is (`offset`, `limit`, `from`, `to`, `order`), as `charge.list_refunds()` reads them. A
//! charge holds at most 20 refunds, kept in its own item: one read serves any page.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::domain::list::{ListObject, Order};
use shared::http::request::{charge_id, query_and_body_params};
use shared::http::response::{answer, json_response};
use shared::validate::parse_list_query;
use shared::{ApiError, AppContext};

pub async fn list_refunds(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let id = charge_id(&req, &owner)?;
    let now = ctx.now();
    let query = parse_list_query(&query_and_body_params(&req)?, now)?;
    let charge = ctx
        .store
        .get_charge(&owner, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("charge {id}")))?;
    let window = query.window(now);
    let mut inside: Vec<_> = charge
        .refunds
        .iter()
        .filter(|r| {
            let ms = r.created.timestamp_millis();
            ms >= window.from_ms && window.to_ms.is_none_or(|to| ms <= to)
        })
        .collect();
    if query.order == Order::ReverseChronological {
        inside.reverse();
    }
    let total = inside.len() as u64;
    let data = inside
        .into_iter()
        .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
        .take(query.limit as usize)
        .map(|r| r.view())
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &ListObject::page(format!("/charges/{id}/refunds"), &query, now, data, total),
    ))
}
