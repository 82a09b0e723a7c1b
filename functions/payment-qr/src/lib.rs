//! `GET /pay/{token}/qr.svg`: the QR code of a link's `payment_uri`, as an SVG image, for a
//! merchant to print or show. Known tokens only (one read of the token's item and the link);
//! like the page, it writes nothing.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
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
    let Some(link) = ctx.store.link_by_payment_token(token).await? else {
        return Ok(unknown_link(Lang::En));
    };
    let payment_uri = link.payment_uri(&ctx.payment_base(req)?);
    let svg = qr::svg(&payment_uri, &link.title)
        .ok_or_else(|| ApiError::internal("payment_uri too long for a QR code"))?;
    let mut response = Response::new(Body::Text(svg));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "image/svg+xml"),
        // The code never changes for a link; a stale copy of a destroyed link's code only leads
        // to the page, which says so.
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
