//! `GET /pay/{token}`: the payment page a link's `payment_uri` opens, in Thai or English.
//!
//! Opening it changes nothing: two reads (the token's item, then the link with its account's
//! settings, which say whether the card form is tokenized by Omise.js), no write, no timer, no
//! per-view state. Mail scanners and chat apps that fetch every link they see therefore never
//! use, expire or otherwise touch a link. (Its forms' attempt keys are signed, not stored.)

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::http::request::path_id;
use shared::page::{
    Form, Lang, Page, State, Tokenized, answer_page, is_payment_token, qr, unknown_link,
};
use shared::{ApiError, AppContext};

pub async fn payment_page(ctx: &AppContext, req: Request) -> Response<Body> {
    let lang = Lang::choose(
        req.query_string_parameters_ref()
            .and_then(|q| q.first("lang")),
        req.headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok()),
    );
    answer_page(lang, handle(ctx, &req, lang)).await
}

async fn handle(ctx: &AppContext, req: &Request, lang: Lang) -> Result<Response<Body>, ApiError> {
    let token = path_id(req);
    if !is_payment_token(token) {
        return Ok(unknown_link(lang));
    }
    let Some(target) = ctx.store.payment_target(token).await? else {
        return Ok(unknown_link(lang));
    };
    let reads = ctx.store.payment_reads(&target, None, Vec::new()).await?;
    let Some(link) = reads.link else {
        return Ok(unknown_link(lang));
    };
    let tokenized = Tokenized::of(&reads.settings, &ctx.omise_browser);
    let payment_uri = link.payment_uri(&ctx.payment_base(req)?);
    let now = ctx.now();
    let keys = ctx.attempt_keys().await?;
    let (status, state) = if link.deleted_at.is_some() {
        (
            StatusCode::GONE,
            State::Gone {
                nothing_charged: false,
            },
        )
    } else if !link.payable() {
        (StatusCode::OK, State::Paid)
    } else if link.expired(now) {
        (StatusCode::GONE, State::LinkExpired)
    } else if let Some(until) = link.held_until(now) {
        (StatusCode::OK, State::Held(until))
    } else if link.places_full() {
        (StatusCode::OK, State::Full)
    } else if link.livemode && tokenized.is_none() {
        (StatusCode::OK, State::LiveDisabled)
    } else {
        (StatusCode::OK, State::Payable(Form::default()))
    };
    let qr = qr::svg(&payment_uri, lang.t().qr_caption);
    let page = Page {
        lang,
        link: &link,
        payment_uri: &payment_uri,
        qr: qr.as_deref(),
        keys: Some(&keys),
        now,
        query: "",
        tokenized,
        zone: &reads.settings.time_zone,
    };
    Ok(page.render(status, &state))
}
