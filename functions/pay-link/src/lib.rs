//! `POST /pay/{token}`: a buyer's form posted from a link's payment page. One of:
//!
//! - the card form (`number`, …): pay by card, on the built-in test processor;
//! - the tokenized card form (`omise_token`): pay by card through Omise, the card having gone
//!   from the buyer's browser to Omise's vault (Omise.js) and only its one-use token here;
//! - the PromptPay form (`source_type=promptpay`): start a PromptPay charge, then show its QR;
//! - the "check again" form (`check=1`) of a payment whose outcome was not known: show it now;
//! - the "pay another way" form (`cancel=<attempt>`) of a pending payment: end it.
//!
//! Each form but the last carries an attempt key the page issued (see `domain::attempt`); the
//! same key posted again is the same attempt, answered as it stands and never charged twice.
//!
//! In order, and writing nothing until the attempt begins: the post must come from the page
//! itself (`Origin` / `Sec-Fetch-Site`); the attempt key must be this service's, for this page,
//! and young enough; one read finds the link, its account's settings, this attempt if it exists,
//! and the failed-payment counters; the link must be payable, the counters under their bounds,
//! the card valid (and, in test mode, a test card). Then `payments::Payments::pay` records the
//! attempt, asks the processor and records its answer.
//!
//! The card number and security code go no further than this request and the test processor it
//! is handed to: the charge keeps brand, last four digits, expiry, name and the processor's
//! fingerprint, and nothing here logs the card. A live link takes no card number at all, nor
//! does a test link whose account pays through Omise: a post carrying `number` or
//! `security_code` there is refused (400) as soon as the link's mode (or, in test mode, its
//! gateway) is known, goes nowhere, and neither value is logged.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::chrono::{DateTime, Utc};
use shared::domain::attempt::{KeyProblem, attempt_id, is_attempt_id};
use shared::http::request::{MAX_BODY_BYTES, parse_urlencoded, path_id};
use shared::page::{
    ATTEMPT_FIELD, CANCEL_FIELD, CHECK_FIELD, Form, LANG_FIELD, Lang, Notice, OMISE_TOKEN_FIELD,
    Page, SOURCE_FIELD, State, Tokenized, answer_payment, is_payment_token, plain_page, redirect,
    refuse_cross_site, unknown_link,
};
use shared::payments::{PayRequest, Progress};
use shared::processor::Payment;
use shared::processor::test_cards::{Refusal, test_card};
use shared::store::limits::FailureSubjects;
use shared::store::settings::Gateway;
use shared::validate::{CardForm, parse_card};
use shared::{ApiError, AppContext};

pub async fn pay_link(ctx: &AppContext, req: Request) -> Response<Body> {
    let accept = req
        .headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok());
    let fields = form_fields(&req);
    let value = |name| {
        fields
            .as_ref()
            .ok()
            .and_then(|f| field(f, name).ok().flatten())
    };
    let lang = Lang::choose(value(LANG_FIELD), accept);
    let attempt_key = value(ATTEMPT_FIELD).map(str::to_owned);
    let progress = Progress::default();
    answer_payment(
        lang,
        &progress,
        attempt_key.as_deref(),
        handle(ctx, &req, lang, fields, &progress),
    )
    .await
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

/// What the form asks.
enum Action<'f> {
    Card(CardForm<'f>),
    /// A card in the gateway's vault: its one-use token.
    Token(&'f str),
    PromptPay,
    Check,
}

async fn handle(
    ctx: &AppContext,
    req: &Request,
    lang: Lang,
    fields: Result<Vec<(String, String)>, ()>,
    progress: &Progress,
) -> Result<Response<Body>, ApiError> {
    let t = lang.t();
    let token = path_id(req);
    if !is_payment_token(token) {
        return Ok(unknown_link(lang));
    }
    let base = ctx.payment_base(req)?;
    if let Some(refused) = refuse_cross_site(req, &base, lang, "payment") {
        return Ok(refused);
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
    let (Ok(name), Ok(number), Ok(month), Ok(year), Ok(code)) = (
        get("name"),
        get("number"),
        get("expiration_month"),
        get("expiration_year"),
        get("security_code"),
    ) else {
        return malformed();
    };
    let (Ok(attempt_key), Ok(source), Ok(check), Ok(cancel), Ok(omise_token)) = (
        get(ATTEMPT_FIELD),
        get(SOURCE_FIELD),
        get(CHECK_FIELD),
        get(CANCEL_FIELD),
        get(OMISE_TOKEN_FIELD),
    ) else {
        return malformed();
    };
    // A card number is taken by test mode's built-in processor only; a live page never sends
    // one (its inputs have no names), so a post carrying one did not come from it.
    let card_data = number.is_some() || code.is_some();
    let refuse_card_data = || {
        tracing::warn!("payment refused: card data posted where only a token is taken");
        Ok(plain_page(
            StatusCode::BAD_REQUEST,
            lang,
            t.page_title,
            t.cross_site,
        ))
    };
    if card_data && omise_token.is_some() {
        return refuse_card_data();
    }
    let now = ctx.now();
    let Some(target) = ctx.store.payment_target(token).await? else {
        return Ok(unknown_link(lang));
    };
    if card_data && target.owner.livemode {
        return refuse_card_data();
    }
    if let Some(cancel) = cancel {
        return cancel_attempt(ctx, lang, &base, &target, cancel, now).await;
    }
    let action = match (source, check) {
        (Some("promptpay"), None) => Action::PromptPay,
        (None, Some("1")) => Action::Check,
        (None, None) if omise_token.is_some() => match omise_token.filter(|t| is_card_token(t)) {
            Some(card_token) => Action::Token(card_token),
            None => return malformed(),
        },
        (None, None) => Action::Card(CardForm {
            name,
            number,
            expiration_month: month,
            expiration_year: year,
            security_code: code,
        }),
        _ => return malformed(),
    };
    let Some(attempt_key) = attempt_key else {
        return malformed();
    };
    let keys = ctx.attempt_keys().await?;
    let form_expired = match ctx.check_attempt_key(token, attempt_key, now).await? {
        Ok(()) => false,
        Err(KeyProblem::Expired) => true,
        Err(problem) => {
            tracing::warn!(
                ?problem,
                "payment refused: an attempt key this page did not issue"
            );
            return malformed();
        }
    };
    let attempt = attempt_id(token, attempt_key);

    // The card is checked before anything is read, so that its fingerprint's counter is read
    // with the rest; a number that is not a test card in test mode goes no further.
    let card = match &action {
        Action::Card(form) => Some(parse_card(form, now).map(|card| {
            let test = (!target.owner.livemode).then(|| test_card(&card));
            (card, test)
        })),
        _ => None,
    };
    let fingerprint = match &card {
        Some(Ok((_, Some(Ok(test))))) => Some(test.fingerprint.clone()),
        _ => None,
    };
    let ip = ctx.client_ip(req);
    let subjects = FailureSubjects {
        link: &target.link_id,
        livemode: target.owner.livemode,
        fingerprint: fingerprint.as_deref(),
        ip: ip.as_deref(),
    };
    let reads = ctx
        .store
        .payment_reads(&target, Some(&attempt), subjects.keys(now))
        .await?;
    let Some(link) = reads.link else {
        return Ok(unknown_link(lang));
    };
    ctx.processor.settings_read(&target.owner, &reads.settings);
    let tokenized = matches!(reads.settings.gateway, Gateway::Omise(_));
    let payment_uri = link.payment_uri(&base);
    let page = Page {
        lang,
        link: &link,
        payment_uri: &payment_uri,
        qr: None,
        keys: Some(&keys),
        now,
        query: "",
        tokenized: Tokenized::of(&reads.settings, &ctx.omise_browser),
        zone: &reads.settings.time_zone,
    };
    // This very form, posted before: answered as its attempt stands, and nothing asked again.
    // (The batch's reads are not one snapshot: a link held or used by an attempt begun between
    // them is read again for that attempt.)
    let earlier = match reads.attempt {
        Some(earlier) => Some(earlier),
        None if !link.payable() || link.hold.is_some() => {
            ctx.store.get_attempt(&target.owner, &attempt).await?
        }
        None => None,
    };
    if let Some(earlier) = earlier {
        let id = earlier.id.clone();
        let standing = Box::pin(ctx.payments().replay(earlier, now)).await?;
        return Ok(page.standing(&standing, &id, Some(attempt_key), None));
    }
    // Asked how an attempt ended that never began: nothing was charged.
    if let Action::Check = action {
        return Ok(page.render(
            StatusCode::OK,
            &State::Payable(Form {
                notice: Some(Notice::NotCharged),
                ..Form::default()
            }),
        ));
    }
    if form_expired {
        return Ok(page.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &State::Payable(Form {
                notice: Some(Notice::FormExpired),
                ..Form::default()
            }),
        ));
    }
    if link.deleted_at.is_some() {
        return Ok(page.render(
            StatusCode::GONE,
            &State::Gone {
                nothing_charged: false,
            },
        ));
    }
    if !link.payable() {
        return Ok(page.render(StatusCode::CONFLICT, &State::Paid));
    }
    // Past the merchant's `expires_at`: refused before anything is written.
    if link.expired(now) {
        return Ok(page.render(StatusCode::GONE, &State::LinkExpired));
    }
    if let Some(until) = link.held_until(now) {
        return Ok(page.render(StatusCode::CONFLICT, &State::Held(until)));
    }
    // As read: the place is taken (or not) by the attempt's first write all the same.
    if link.places_full() {
        return Ok(page.render(StatusCode::CONFLICT, &State::Full));
    }
    if link.livemode && !tokenized {
        return Ok(page.render(StatusCode::FORBIDDEN, &State::LiveDisabled));
    }
    // The form must be one this account's page shows: a token for Omise, a card for the
    // built-in processor, PromptPay for either.
    match (&action, tokenized) {
        (Action::Card(_), true) if card_data => return refuse_card_data(),
        (Action::Card(_), true) | (Action::Token(_), false) => {
            return malformed();
        }
        _ => {}
    }
    if let Some(wait) = subjects.retry_after(&reads.counters, now)? {
        tracing::warn!(link = %link.id, wait, "payment refused: too many failed payments");
        return Ok(page.render(StatusCode::TOO_MANY_REQUESTS, &State::TooMany(wait)));
    }
    // What the form shows again on any problem: never the number or the security code.
    let again = |problems, notice| Form {
        problems,
        notice,
        declined: None,
        name: name.unwrap_or_default().into(),
        expiration_month: month.unwrap_or_default().into(),
        expiration_year: year.unwrap_or_default().into(),
    };
    let payment = match (&card, &action) {
        (None, Action::Token(card_token)) => Payment::Token(card_token),
        (None, _) => Payment::PromptPay,
        (Some(Err(problems)), _) => {
            return Ok(page.render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &State::Payable(again(problems, None)),
            ));
        }
        (Some(Ok((_, Some(Err(Refusal::NotATestCard | Refusal::LiveNotEnabled))))), _) => {
            return Ok(page.render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &State::Payable(again(&[], Some(Notice::NotATestCard))),
            ));
        }
        (Some(Ok((card, _))), _) => Payment::Card(card),
    };
    if matches!(payment, Payment::PromptPay) && link.currency.code != "thb" {
        return malformed();
    }
    // Boxed: the payment's future is large, and a debug build's stack holds the handler's.
    let standing = Box::pin(ctx.payments().pay(
        PayRequest {
            link: &link,
            attempt_id: attempt.clone(),
            gateway_key: keys.gateway_key(&link.id, &attempt),
            payment,
            fingerprint,
            // At Omise, the merchant's Omise account decides whether a card goes through
            // 3-D Secure: the attempt is given the time a buyer may take at their bank.
            three_d_secure: reads.settings.three_d_secure || tokenized,
            ip,
            payment_uri: &payment_uri,
            now,
        },
        progress,
    ))
    .await?;
    // The full number and security code end here.
    drop(card);
    let response = page.standing(&standing, &attempt, Some(attempt_key), None);
    tracing::info!(link = %link.id, status = response.status().as_u16(), "payment answered");
    Ok(response)
}

/// "Pay another way": the pending payment of attempt `id` on this link ended, then the forms.
async fn cancel_attempt(
    ctx: &AppContext,
    lang: Lang,
    base: &str,
    target: &shared::store::PageTarget,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let t = lang.t();
    let refused = || {
        Ok(plain_page(
            StatusCode::BAD_REQUEST,
            lang,
            t.page_title,
            t.cross_site,
        ))
    };
    if !is_attempt_id(id) {
        return refused();
    }
    let Some(attempt) = ctx.store.get_attempt(&target.owner, id).await? else {
        return refused();
    };
    if attempt.link != target.link_id {
        return refused();
    }
    ctx.payments().cancel(&attempt, now).await?;
    let Some(link) = ctx.store.get_link(&target.owner, &target.link_id).await? else {
        return Ok(unknown_link(lang));
    };
    // The page that shows how it ended (expired, or paid a moment before).
    Ok(redirect(&format!(
        "{}/complete?attempt={id}&lang={}",
        link.payment_uri(base),
        lang.code()
    )))
}

/// Whether `value` looks like a gateway's card token (`tokn_…`, `tokn_test_…`): letters, digits
/// and `_` only, so that it can be put in a form to the gateway as it is.
fn is_card_token(value: &str) -> bool {
    value.starts_with("tokn_")
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
