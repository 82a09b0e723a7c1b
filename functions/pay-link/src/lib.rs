//! `POST /pay/{token}`: a buyer pays a link with the payment page's card form.
//!
//! In order, and writing nothing until the last step: the post must come from the page itself
//! (`Origin` / `Sec-Fetch-Site`); the link must exist and be payable; the card must be valid;
//! the processor (test mode's test cards) decides; then one transaction records the charge and
//! uses the link, exactly once per link and per form submission (see `shared::store` charges).
//!
//! The card number and security code go no further than this request: the charge keeps brand,
//! last four digits, expiry, name and the processor's fingerprint, and nothing here logs the card.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::Utc;
use shared::domain::card::Card;
use shared::domain::charge::Charge;
use shared::domain::ids;
use shared::http::request::{MAX_BODY_BYTES, parse_urlencoded, path_id, source_ip};
use shared::page::{
    ATTEMPT_FIELD, Form, LANG_FIELD, Lang, Notice, Page, State, answer_page, is_payment_token,
    origin_of, plain_page, same_origin, unknown_link,
};
use shared::processor::{self, Refusal};
use shared::store::PayOutcome;
use shared::validate::{CardForm, parse_card};
use shared::{ApiError, AppContext};

pub async fn pay_link(ctx: &AppContext, req: Request) -> Response<Body> {
    let accept = req
        .headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok());
    let fields = form_fields(&req);
    let chosen = fields
        .as_ref()
        .ok()
        .and_then(|f| field(f, LANG_FIELD).ok().flatten());
    let lang = Lang::choose(chosen, accept);
    answer_page(lang, handle(ctx, &req, lang, fields)).await
}

/// The form's fields, when the body is a form this page could have sent.
fn form_fields(req: &Request) -> Result<Vec<(String, String)>, ()> {
    let form = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let body: &[u8] = req.body().as_ref();
    if !form || body.len() > MAX_BODY_BYTES {
        return Err(());
    }
    parse_urlencoded(body).map_err(|_| ())
}

/// The one value of `name`; a field sent twice is not from this page's form.
fn field<'f>(fields: &'f [(String, String)], name: &str) -> Result<Option<&'f str>, ()> {
    let mut values = fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        Err(())
    } else {
        Ok(first)
    }
}

async fn handle(
    ctx: &AppContext,
    req: &Request,
    lang: Lang,
    fields: Result<Vec<(String, String)>, ()>,
) -> Result<Response<Body>, ApiError> {
    let t = lang.t();
    let token = path_id(req);
    if !is_payment_token(token) {
        return Ok(unknown_link(lang));
    }
    let base = ctx.payment_base(req)?;
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if !same_origin(header("sec-fetch-site"), header("origin"), origin_of(&base)) {
        tracing::warn!("payment refused: not posted from the payment page");
        return Ok(plain_page(
            StatusCode::FORBIDDEN,
            lang,
            t.page_title,
            t.cross_site,
        ));
    }
    let malformed = || {
        Ok(plain_page(
            StatusCode::BAD_REQUEST,
            lang,
            t.page_title,
            t.cross_site,
        ))
    };
    let Ok(fields) = fields else {
        return malformed();
    };
    let get = |name| field(&fields, name);
    let (Ok(attempt), Ok(name), Ok(number), Ok(month), Ok(year), Ok(code)) = (
        get(ATTEMPT_FIELD),
        get("name"),
        get("number"),
        get("expiration_month"),
        get("expiration_year"),
        get("security_code"),
    ) else {
        return malformed();
    };
    let Some(attempt) = attempt
        .filter(|a| (16..=64).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_alphanumeric()))
    else {
        return malformed();
    };

    let Some(link) = ctx.store.link_by_payment_token(token).await? else {
        return Ok(unknown_link(lang));
    };
    let payment_uri = link.payment_uri(&base);
    let page = Page {
        lang,
        link: &link,
        payment_uri: &payment_uri,
        qr: None,
    };
    if !link.payable() {
        // Perhaps by this very form, submitted again: then its receipt, not "already paid".
        if let Some(charge) = ctx.store.attempt_charge(&link, attempt).await? {
            return Ok(answer_charge(&page, &charge, name, month, year));
        }
        return Ok(if link.deleted_at.is_some() {
            page.render(StatusCode::GONE, &State::Gone)
        } else {
            page.render(StatusCode::CONFLICT, &State::Paid)
        });
    }
    let processor = match processor::for_mode(link.livemode) {
        Ok(p) => p,
        Err(_) => return Ok(page.render(StatusCode::FORBIDDEN, &State::LiveDisabled)),
    };

    let now = Utc::now();
    let form = CardForm {
        name,
        number,
        expiration_month: month,
        expiration_year: year,
        security_code: code,
    };
    // What the form shows again on any problem: never the number or the security code.
    let again = |problems, notice| Form {
        problems,
        notice,
        declined: None,
        name: name.unwrap_or_default(),
        expiration_month: month.unwrap_or_default(),
        expiration_year: year.unwrap_or_default(),
    };
    let card = match parse_card(&form, now) {
        Ok(card) => card,
        Err(problems) => {
            return Ok(page.render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &State::Payable(again(&problems, None)),
            ));
        }
    };
    let authorization = match processor.authorize(&card) {
        Ok(a) => a,
        Err(Refusal::NotATestCard | Refusal::LiveNotEnabled) => {
            return Ok(page.render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &State::Payable(again(&[], Some(Notice::NotATestCard))),
            ));
        }
    };
    let kept = Card {
        id: ids::new_plain_id("card", link.livemode),
        brand: card.brand.name().to_owned(),
        last_digits: card.last_digits().to_owned(),
        expiration_month: card.expiration_month,
        expiration_year: card.expiration_year,
        name: card.name.clone(),
        fingerprint: authorization.fingerprint.clone(),
        security_code_check: authorization.security_code_check,
    };
    // The full number and security code end here.
    drop(card);
    let ip = source_ip(req);
    let outcome = ctx
        .store
        .record_charge(&link, attempt, |at| {
            Charge::new(
                &link,
                kept.clone(),
                authorization.outcome,
                ip.clone(),
                &payment_uri,
                at,
            )
        })
        .await?;
    let (charge, replayed) = match outcome {
        PayOutcome::Recorded(charge) => (charge, false),
        PayOutcome::Replayed(charge) => (charge, true),
        PayOutcome::NotPayable(now_link) => {
            let page = Page {
                link: &now_link,
                ..page
            };
            return Ok(if now_link.deleted_at.is_some() {
                page.render(StatusCode::GONE, &State::Gone)
            } else {
                page.render(StatusCode::CONFLICT, &State::Paid)
            });
        }
    };
    tracing::info!(
        charge = %charge.id,
        link = %link.id,
        successful = charge.successful(),
        replayed,
        "payment recorded"
    );
    Ok(answer_charge(&page, &charge, name, month, year))
}

/// The page for a recorded charge: its receipt, or the form again with the reason it failed.
fn answer_charge(
    page: &Page<'_>,
    charge: &Charge,
    name: Option<&str>,
    month: Option<&str>,
    year: Option<&str>,
) -> Response<Body> {
    if charge.successful() {
        page.render(StatusCode::OK, &State::Receipt(charge))
    } else {
        let form = Form {
            problems: &[],
            notice: None,
            declined: Some(charge),
            name: name.unwrap_or_default(),
            expiration_month: month.unwrap_or_default(),
            expiration_year: year.unwrap_or_default(),
        };
        page.render(StatusCode::PAYMENT_REQUIRED, &State::Payable(form))
    }
}
