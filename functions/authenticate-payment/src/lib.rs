//! `POST /pay/{token}/authorize`: the buyer's answer on the test processor's stand-in 3-D
//! Secure page (`action=authenticate` or `action=fail`, for `payment=<id>`), test mode only.
//!
//! The test processor ends its charge as the answer and the card say (a card whose validation
//! fails fails whatever the answer; a charge past its deadline can only expire), and the service
//! records what the processor then says, as it would on hearing from a real gateway. The buyer is
//! then sent back to the charge's `return_uri`, whose page shows how it ended. Posted twice (a
//! double click, two tabs), the second finds the charge already ended and changes nothing.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::http::request::{MAX_BODY_BYTES, parse_urlencoded, path_id};
use shared::page::{
    LANG_FIELD, Lang, answer_page, is_payment_token, plain_page, redirect, refuse_cross_site,
    unknown_link,
};
use shared::{ApiError, AppContext};

pub async fn authenticate_payment(ctx: &AppContext, req: Request) -> Response<Body> {
    let fields = form_fields(&req);
    let lang = Lang::choose(
        value(&fields, LANG_FIELD),
        req.headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok()),
    );
    answer_page(lang, handle(ctx, &req, lang, &fields)).await
}

fn form_fields(req: &Request) -> Vec<(String, String)> {
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Vec::new();
    }
    parse_urlencoded(body).unwrap_or_default()
}

fn value<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    let mut values = fields.iter().filter(|(k, _)| k == name);
    match (values.next(), values.next()) {
        (Some((_, v)), None) => Some(v),
        _ => None,
    }
}

async fn handle(
    ctx: &AppContext,
    req: &Request,
    lang: Lang,
    fields: &[(String, String)],
) -> Result<Response<Body>, ApiError> {
    let t = lang.t();
    let token = path_id(req);
    if !is_payment_token(token) {
        return Ok(unknown_link(lang));
    }
    let base = ctx.payment_base(req)?;
    if let Some(refused) = refuse_cross_site(req, &base, lang, "authentication") {
        return Ok(refused);
    }
    let passed = match value(fields, "action") {
        Some("authenticate") => true,
        Some("fail") => false,
        _ => {
            return Ok(plain_page(
                StatusCode::BAD_REQUEST,
                lang,
                t.page_title,
                t.cross_site,
            ));
        }
    };
    let Some(payment) = value(fields, "payment").filter(|p| !p.is_empty() && p.len() <= 64) else {
        return Ok(unknown_link(lang));
    };
    let Some(target) = ctx.store.payment_target(token).await? else {
        return Ok(unknown_link(lang));
    };
    if target.owner.livemode {
        return Ok(unknown_link(lang));
    }
    // Only this link's payments are answered on its page.
    let charge = ctx
        .processor
        .retrieve(&target.owner, payment)
        .await
        .map_err(|e| ApiError::ServiceUnavailable(format!("{e:?}").into()))?;
    let Some(charge) = charge.filter(|c| c.link == target.link_id) else {
        return Ok(unknown_link(lang));
    };
    let (attempt, _) = ctx
        .payments()
        .authenticate(&target.owner, &charge.id, passed, ctx.now())
        .await?;
    tracing::info!(attempt = %attempt.id, passed, "3-D Secure answered");
    Ok(redirect(&format!(
        "{}&lang={}",
        attempt.return_uri,
        lang.code()
    )))
}
