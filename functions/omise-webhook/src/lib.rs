//! `POST /webhooks/omise/{id}`: Omise's notices about an account's charges (the URL a merchant
//! registers at Omise, `{id}` their account id here). Public: Omise signs, it has no key of ours.
//!
//! A notice is a hint, never the truth: the charge it names is read again from Omise with that
//! account's own secret key, through the same settling as the buyer's return page
//! (`payments::Payments::standing`), and only Omise's answer, checked against the attempt it
//! was made for, is recorded. So:
//! - a duplicate, a reordered or a stale notice changes nothing a fresh read would not;
//! - a notice for a charge this service did not make, or for an attempt of another account, is
//!   ignored (`200`): the attempt is looked up under the account in the URL, and read with its key;
//! - when the account set Omise's webhook secret, a notice must carry a valid
//!   `Omise-Signature` over `timestamp.body` within 5 minutes (`401` otherwise); without one,
//!   the read-again is the only check, which is why it is never skipped.
//!
//! Answers: `200` once the charge is as Omise says (or there is nothing to do), `503` when Omise
//! or the table could not be asked (Omise sends the notice again later; the sweep settles it
//! meanwhile), `404` for an account with no Omise gateway in that mode, `400` for a body that is
//! not an Omise event.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::domain::principal::Principal;
use shared::domain::webhook::{SIGNATURE_HEADER, SigningSecret, TIMESTAMP_HEADER, verify};
use shared::http::request::path_id;
use shared::http::response::{answer, json_response};
use shared::payments::Standing;
use shared::store::settings::{Gateway, OMISE_WEBHOOK_SECRET_PURPOSE, sealed_context};
use shared::{ApiError, AppContext};

/// The largest notice read: an event with its charge is a few KiB.
const MAX_NOTICE: usize = 64 * 1024;

pub async fn omise_webhook(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, &req)).await
}

fn ignored(why: &str) -> Result<Response<Body>, ApiError> {
    tracing::info!(why, "Omise notice ignored");
    Ok(json_response(StatusCode::OK, &json!({"received": true})))
}

async fn handle(ctx: &AppContext, req: &Request) -> Result<Response<Body>, ApiError> {
    let account = path_id(req);
    if !is_account_id(account) {
        return Err(ApiError::NotFound(format!("account {account}")));
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_NOTICE {
        return Err(ApiError::PayloadTooLarge(format!(
            "a notice is at most {MAX_NOTICE} bytes"
        )));
    }
    let event: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::BadRequest("the body is not an Omise event".into()))?;
    let data = &event["data"];
    let (Some("event"), Some(livemode)) = (event["object"].as_str(), data["livemode"].as_bool())
    else {
        return Err(ApiError::BadRequest(
            "the body is not an Omise event".into(),
        ));
    };
    let owner = Principal {
        account_id: account.to_owned(),
        livemode,
    };
    let settings = ctx.store.settings(&owner).await?;
    let Gateway::Omise(keys) = &settings.gateway else {
        return Err(ApiError::NotFound(format!(
            "an Omise gateway for account {account}"
        )));
    };
    if let Some(sealed) = &keys.webhook_secret {
        let sealer = ctx.sealer.as_ref().ok_or_else(|| {
            ApiError::internal("a webhook secret is set, and this function cannot open it")
        })?;
        let secret = sealer
            .open(
                sealed,
                &sealed_context(&owner, OMISE_WEBHOOK_SECRET_PURPOSE),
            )
            .await?;
        let secret = SigningSecret::from_base64(secret.expose())
            .ok_or_else(|| ApiError::internal("the stored webhook secret is not base64"))?;
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let now = ctx.now().timestamp();
        if let Err(refusal) = verify(
            &secret,
            header(SIGNATURE_HEADER),
            header(TIMESTAMP_HEADER),
            body,
            now,
        ) {
            tracing::warn!(
                ?refusal,
                "Omise notice refused: its signature does not verify"
            );
            return Err(ApiError::AuthenticationFailure);
        }
    }
    if data["object"].as_str() != Some("charge") {
        return ignored("not about a charge");
    }
    // The notice says which attempt: only a hint, to find the record Omise is then asked about.
    let Some(attempt_id) = data["metadata"]["attempt"]
        .as_str()
        .filter(|a| shared::domain::attempt::is_attempt_id(a))
    else {
        return ignored("not a charge of this service");
    };
    let Some(attempt) = ctx.store.get_attempt(&owner, attempt_id).await? else {
        return ignored("no such attempt in this account");
    };
    ctx.processor.settings_read(&owner, &settings);
    match ctx.payments().standing(&attempt, ctx.now()).await? {
        Standing::Unconfirmed => Err(ApiError::ServiceUnavailable(
            "Omise could not be asked about the charge yet".into(),
        )),
        _ => Ok(json_response(StatusCode::OK, &json!({"received": true}))),
    }
}

/// `acct_` and 16 lowercase base-36 digits, as accounts are made.
fn is_account_id(id: &str) -> bool {
    id.strip_prefix("acct_").is_some_and(|rest| {
        rest.len() == 16
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}
