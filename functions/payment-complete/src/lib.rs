//! `GET /pay/{token}/complete?attempt=<id>`: where a buyer comes back to from their bank, and the
//! page a PromptPay payment waits on. It shows where the attempt stands as the service's own
//! record says, after asking the processor when the record is not final: the receipt, the
//! decline (with the forms again), the QR code still waiting (refreshing itself), "still
//! processing", or that nothing was charged. Coming back is only a hint: nothing the browser says
//! decides anything.
//!
//! A return with no attempt, or one this link never had, is sent to the payment page itself.

use lambda_http::{Body, Request, RequestExt, Response};
use shared::domain::attempt::is_attempt_id;
use shared::domain::charge::Status;
use shared::http::request::path_id;
use shared::page::{Lang, Page, answer_page, is_payment_token, redirect, unknown_link};
use shared::payments::Standing;
use shared::{ApiError, AppContext};

pub async fn payment_complete(ctx: &AppContext, req: Request) -> Response<Body> {
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
    if !is_payment_token(token) {
        return Ok(unknown_link(lang));
    }
    let Some(target) = ctx.store.payment_target(token).await? else {
        return Ok(unknown_link(lang));
    };
    let base = ctx.payment_base(req)?;
    let page_uri = format!("{base}/{token}");
    let attempt = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("attempt"))
        .filter(|a| is_attempt_id(a));
    let Some(attempt) = attempt else {
        return Ok(redirect(&page_uri));
    };
    let reads = ctx
        .store
        .payment_reads(&target, Some(attempt), Vec::new())
        .await?;
    let Some(link) = reads.link else {
        return Ok(unknown_link(lang));
    };
    ctx.processor.settings_read(&target.owner, &reads.settings);
    let Some(attempt) = reads.attempt.filter(|a| a.link == link.id) else {
        return Ok(redirect(&page_uri));
    };
    let now = ctx.now();
    let standing = ctx.payments().standing(&attempt, now).await?;
    // Settling it just now moved the link (paid, its hold released): show it as it is now.
    let settled_now = !attempt.state.is_settled()
        && match &standing {
            Standing::Charged(charge) => charge.status.is_final(),
            Standing::Nothing(_) => true,
            _ => false,
        };
    let link = if settled_now {
        ctx.store
            .get_link(&target.owner, &link.id)
            .await?
            .unwrap_or(link)
    } else {
        link
    };
    let keys = ctx.attempt_keys().await?;
    let payment_uri = link.payment_uri(&base);
    // What the page's own links keep of its address: the attempt, and a refresh turned off.
    let refresh_off = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("refresh"))
        == Some("off");
    let keep = if refresh_off {
        format!("attempt={}&refresh=off", attempt.id)
    } else {
        format!("attempt={}", attempt.id)
    };
    let page = Page {
        lang,
        link: &link,
        payment_uri: &payment_uri,
        qr: None,
        keys: Some(&keys),
        now,
        query: &keep,
        tokenized: shared::page::Tokenized::of(&reads.settings, &ctx.omise_browser),
        zone: &reads.settings.time_zone,
    };
    // A PromptPay charge still waiting shows its QR code, fetched from the gateway by the
    // service (kept per instance: the page refreshes every few seconds). Without it, the page
    // says so and asks again at its next refresh: the payment itself is not in question.
    let code = match &standing {
        Standing::Charged(charge) if charge.status == Status::Pending => match &charge.source {
            Some(source) => ctx
                .processor
                .scannable_code(&target.owner, source)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(
                        charge = charge.id,
                        ?error,
                        "no QR code for a waiting payment"
                    );
                    None
                }),
            None => None,
        },
        _ => None,
    };
    Ok(page.standing(&standing, &attempt.id, None, code.as_ref()))
}
