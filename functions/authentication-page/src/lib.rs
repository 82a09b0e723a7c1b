//! `GET /pay/{token}/authorize?payment=<id>`: the test processor's stand-in for a card's bank,
//! where a pending 3-D Secure charge's `authorize_uri` sends its buyer (test mode only; a live
//! link's is a 404). Two buttons end the authentication (see `authenticate-payment`). A payment
//! that is no longer waiting sends its buyer to the page that shows how it ended.
//!
//! Like the payment page it writes nothing: three reads (the token's item, the link, and the
//! test processor's charge).

use lambda_http::{Body, Request, RequestExt, Response};
use shared::domain::charge::Status;
use shared::http::request::path_id;
use shared::page::{Lang, Page, answer_page, is_payment_token, redirect, unknown_link};
use shared::{ApiError, AppContext};

pub async fn authentication_page(ctx: &AppContext, req: Request) -> Response<Body> {
    let query = req.query_string_parameters_ref();
    let lang = Lang::choose(
        query.and_then(|q| q.first("lang")),
        req.headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok()),
    );
    answer_page(lang, handle(ctx, &req, lang)).await
}

async fn handle(ctx: &AppContext, req: &Request, lang: Lang) -> Result<Response<Body>, ApiError> {
    let token = path_id(req);
    let payment = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("payment"))
        .unwrap_or_default();
    if !is_payment_token(token) || payment.is_empty() || payment.len() > 64 {
        return Ok(unknown_link(lang));
    }
    let Some(target) = ctx.store.payment_target(token).await? else {
        return Ok(unknown_link(lang));
    };
    // The stand-in bank is the test processor's: live mode has no such page.
    if target.owner.livemode {
        return Ok(unknown_link(lang));
    }
    let (link, charge) =
        tokio::try_join!(ctx.store.get_link(&target.owner, &target.link_id), async {
            ctx.processor
                .retrieve(&target.owner, payment)
                .await
                .map_err(|e| ApiError::ServiceUnavailable(format!("{e:?}").into()))
        })?;
    let (Some(link), Some(charge)) = (link, charge) else {
        return Ok(unknown_link(lang));
    };
    if charge.link != link.id || charge.authorize_uri.is_none() {
        return Ok(unknown_link(lang));
    }
    let now = ctx.now();
    if charge.status != Status::Pending || now > charge.expires_at {
        return Ok(redirect(&format!(
            "{}&lang={}",
            charge.return_uri,
            lang.code()
        )));
    }
    let card = charge
        .card
        .as_ref()
        .map(|c| format!("{} •••• {}", c.brand, c.last_digits))
        .unwrap_or_default();
    let payment_uri = link.payment_uri(&ctx.payment_base(req)?);
    let page = Page {
        lang,
        link: &link,
        payment_uri: &payment_uri,
        qr: None,
        keys: None,
        now,
        query: &format!("payment={}", charge.id),
        tokenized: None,
        // The stand-in bank's page shows no time.
        zone: &shared::domain::time_zone::DEFAULT_TIME_ZONE,
    };
    Ok(page.authentication(&card, &charge.id))
}
