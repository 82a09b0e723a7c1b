//! `GET /pay/{token}/qr.svg`: the QR code of a link's `payment_uri`, as an SVG image, for a
//! merchant to print or show. Known tokens only (one read of the token's item and the link);
//! like the page, it writes nothing.
//!
//! `GET /pay/{token}/qr.svg?payment=<id>`: the PromptPay QR code of a payment of that link, the
//! `download_uri` of its charge's `scannable_code` (the test processor's: in test mode it says it
//! is a test, and no banking app would pay it). Two reads: the token's item, the processor's
//! charge.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use shared::http::request::path_id;
use shared::page::{Lang, answer_page, is_payment_token, qr, unknown_link};
use shared::{ApiError, AppContext};

pub async fn payment_qr(ctx: &AppContext, req: Request) -> Response<Body> {
    answer_page(Lang::En, handle(ctx, &req)).await
}

async fn handle(ctx: &AppContext, req: &Request) -> Result<Response<Body>, ApiError> {
    let token = path_id(req);
    if !is_payment_token(token) {
        return Ok(unknown_link(Lang::En));
    }
    let payment = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("payment"))
        .map(str::to_owned);
    let svg = match payment {
        Some(payment) => {
            let Some(svg) = promptpay_qr(ctx, token, &payment).await? else {
                return Ok(unknown_link(Lang::En));
            };
            svg
        }
        None => {
            let Some(link) = ctx.store.link_by_payment_token(token).await? else {
                return Ok(unknown_link(Lang::En));
            };
            let payment_uri = link.payment_uri(&ctx.payment_base(req)?);
            qr::svg(&payment_uri, &link.title)
                .ok_or_else(|| ApiError::internal("payment_uri too long for a QR code"))?
        }
    };
    let mut response = Response::new(Body::Text(svg));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "image/svg+xml"),
        // A code never changes: a link's leads to its page, and a payment's names that payment,
        // whose page says when it is over. (A stale copy of a destroyed link's code only leads to
        // the page, which says so.)
        (header::CACHE_CONTROL, "public, max-age=86400"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // An SVG opened directly is a document: nothing in it may run or load.
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    Ok(response)
}

/// The PromptPay QR code of `payment`, a payment of the link of `token`, if it is one.
async fn promptpay_qr(
    ctx: &AppContext,
    token: &str,
    payment: &str,
) -> Result<Option<String>, ApiError> {
    if payment.is_empty() || payment.len() > 64 {
        return Ok(None);
    }
    let Some(target) = ctx.store.payment_target(token).await? else {
        return Ok(None);
    };
    if target.owner.livemode {
        return Ok(None);
    }
    let charge = ctx
        .processor
        .retrieve(&target.owner, payment)
        .await
        .map_err(|e| ApiError::ServiceUnavailable(format!("{e:?}").into()))?;
    let Some(source) = charge
        .filter(|c| c.link == target.link_id)
        .and_then(|c| c.source)
    else {
        return Ok(None);
    };
    Ok(qr::svg(&source.payload, Lang::En.t().promptpay_qr_label))
}
