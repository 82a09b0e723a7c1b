//! Omise's notices to `POST /webhooks/omise/{account}`: a hint only, each charge read again
//! from Omise with the account's key; duplicates, reorders, stale and forged notices change
//! nothing a fresh read would not; other accounts' charges are never touched.

use crate::payments::{Shop, shop, shop_with_webhook_secret};
use links_tests::TestResponse;
use links_tests::buyer::{GOOD_CARD, post};
use serde_json::{Value, json};
use shared::domain::webhook::SigningSecret;

const SECRET: &str = "c2VjcmV0LXdlYmhvb2sta2V5LWZvci10ZXN0cy0wMTIz";

/// A 3-D Secure payment left pending at Omise: its charge as Omise has it now.
async fn pending_payment(shop: &Shop) -> Value {
    let path = shop.link("notified").await;
    let sent = post(
        &shop.app,
        &path,
        &shop.token_form(&path, &shop.token(GOOD_CARD)),
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.text);
    assert_eq!(shop.charges().await["data"][0]["status"], "pending");
    omise_charge(shop, &shop.standin.charges(&shop.omise.secret_key)[0]["id"])
}

fn omise_charge(shop: &Shop, id: &Value) -> Value {
    let (_, body) = shop.standin.request(
        "GET",
        &format!("/charges/{}", id.as_str().unwrap()),
        Some(&shop.omise.secret_key),
        "",
        "",
    );
    serde_json::from_str(&body).unwrap()
}

/// The buyer passes 3-D Secure at Omise's page (and does not come back).
fn authenticate(shop: &Shop, charge: &Value) {
    let path = charge["authorize_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches(&shop.standin.url())
        .to_owned();
    let (status, _) = shop.standin.request(
        "POST",
        &path,
        None,
        "application/x-www-form-urlencoded",
        "result=pass",
    );
    assert_eq!(status, 303);
}

fn event(charge: &Value) -> Value {
    json!({"object": "event", "id": "evnt_test_1", "livemode": charge["livemode"], "key": "charge.complete",
           "created_at": "2026-12-04T00:00:00Z", "data": charge})
}

async fn notify(
    shop: &Shop,
    account: &str,
    body: &Value,
    signed: Option<(&str, i64)>,
) -> TestResponse {
    let raw = serde_json::to_vec(body).unwrap();
    let mut call = shop
        .app
        .call("POST", &format!("/webhooks/omise/{account}"))
        .header("content-type", "application/json");
    if let Some((secret, at)) = signed {
        let signature = SigningSecret::from_base64(secret).unwrap().sign(at, &raw);
        call = call
            .header("omise-signature", &signature)
            .header("omise-signature-timestamp", &at.to_string());
    }
    call.raw(&raw).send().await
}

/// How many events alice's live mode has.
async fn live_events(shop: &Shop) -> usize {
    let events = shop
        .app
        .call("GET", "/events?limit=100")
        .key(&shop.app.alice.live_key)
        .send()
        .await;
    assert_eq!(events.status, 200);
    events.body["data"].as_array().unwrap().len()
}

fn now() -> i64 {
    shared::chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_signed_notice_settles_the_charge_as_omise_says_once() {
    let shop = shop_with_webhook_secret(true, json!({"three_d_secure": true}), Some(SECRET)).await;
    let before = pending_payment(&shop).await;
    let account = shop.app.alice.id.clone();
    // A notice sent while the charge was still pending (out of order, or early): nothing to do.
    let early = notify(&shop, &account, &event(&before), Some((SECRET, now()))).await;
    assert_eq!(early.status, 200, "{}", early.text);
    assert_eq!(shop.charges().await["data"][0]["status"], "pending");
    // The buyer authenticates and never comes back; Omise's notice settles it.
    authenticate(&shop, &before);
    let after = omise_charge(&shop, &before["id"]);
    let events_before = live_events(&shop).await;
    let calls = shop.omise_calls().len();
    let done = notify(&shop, &account, &event(&after), Some((SECRET, now()))).await;
    assert_eq!(done.status, 200, "{}", done.text);
    // The notice costs one read of the charge at Omise.
    assert_eq!(shop.omise_calls()[calls..], ["GET /charges/{id}"]);
    assert_eq!(shop.charges().await["data"][0]["status"], "successful");
    let events_after = live_events(&shop).await;
    assert!(events_after > events_before);
    // The same notice again, and the stale one after it: nothing changes.
    for again in [&after, &before] {
        let response = notify(&shop, &account, &event(again), Some((SECRET, now()))).await;
        assert_eq!(response.status, 200);
    }
    assert_eq!(shop.charges().await["data"][0]["status"], "successful");
    assert_eq!(live_events(&shop).await, events_after);
}

#[tokio::test]
async fn a_notice_without_a_valid_signature_is_refused_when_the_secret_is_set() {
    let shop = shop_with_webhook_secret(true, json!({"three_d_secure": true}), Some(SECRET)).await;
    let charge = pending_payment(&shop).await;
    authenticate(&shop, &charge);
    let after = omise_charge(&shop, &charge["id"]);
    let account = shop.app.alice.id.clone();
    let other = "b3RoZXItc2VjcmV0LW5vdC10aGUtbWVyY2hhbnRzLTAxMjM=";
    for signed in [None, Some((other, now())), Some((SECRET, now() - 3600))] {
        let refused = notify(&shop, &account, &event(&after), signed).await;
        assert_eq!(refused.status, 401, "{signed:?}: {}", refused.text);
        assert_eq!(refused.body["object"], "error");
    }
    assert_eq!(shop.charges().await["data"][0]["status"], "pending");
}

#[tokio::test]
async fn a_forged_notice_changes_nothing_omise_does_not_say() {
    // No webhook secret set: the read-again is the only check, and it is enough.
    let shop = shop(true, json!({"three_d_secure": true})).await;
    let charge = pending_payment(&shop).await;
    let mut forged = charge.clone();
    forged["status"] = "successful".into();
    forged["paid"] = true.into();
    let answered = notify(&shop, &shop.app.alice.id.clone(), &event(&forged), None).await;
    assert_eq!(answered.status, 200);
    assert_eq!(
        shop.charges().await["data"][0]["status"],
        "pending",
        "Omise says pending"
    );
    // A charge this service never made, and a body that is no event.
    let mut unknown = charge.clone();
    unknown["metadata"] = json!({"attempt": "att_0000000000000000000000000000000000000000000"});
    assert_eq!(
        notify(&shop, &shop.app.alice.id.clone(), &event(&unknown), None)
            .await
            .status,
        200
    );
    let not_an_event = notify(
        &shop,
        &shop.app.alice.id.clone(),
        &json!({"hello": 1}),
        None,
    )
    .await;
    assert_eq!(not_an_event.status, 400);
}

#[tokio::test]
async fn a_notice_for_one_account_never_touches_anothers_charge() {
    let shop = shop(true, json!({"three_d_secure": true})).await;
    let charge = pending_payment(&shop).await;
    authenticate(&shop, &charge);
    let after = omise_charge(&shop, &charge["id"]);
    // Bob has no Omise gateway: 404. Nor does an account that does not exist.
    let bob = shop.app.bob.id.clone();
    assert_eq!(notify(&shop, &bob, &event(&after), None).await.status, 404);
    assert_eq!(
        notify(&shop, "acct_0000000000000000", &event(&after), None)
            .await
            .status,
        404
    );
    assert_eq!(
        notify(&shop, "not-an-account", &event(&after), None)
            .await
            .status,
        404
    );
    assert_eq!(shop.charges().await["data"][0]["status"], "pending");
    // Through alice's own URL, it settles.
    assert_eq!(
        notify(&shop, &shop.app.alice.id.clone(), &event(&after), None)
            .await
            .status,
        200
    );
    assert_eq!(shop.charges().await["data"][0]["status"], "successful");
}

#[tokio::test]
async fn a_notice_records_a_charge_whose_answer_was_lost_and_a_failed_authentication() {
    let shop = shop(true, json!({})).await;
    let account = shop.app.alice.id.clone();
    // Omise made the charge; its answer never reached the service.
    let path = shop.link("lost then notified").await;
    shop.standin.arm("POST /charges", "lost_timeout", 7.0);
    let lost = post(
        &shop.app,
        &path,
        &shop.token_form(&path, &shop.token(GOOD_CARD)),
    )
    .await;
    assert!(!lost.text.contains("Payment successful"), "{}", lost.text);
    assert_eq!(shop.charges().await["total"], 0);
    let made = omise_charge(
        &shop,
        &shop.standin.charges(&shop.omise.secret_key)[0]["id"],
    );
    let recorded = notify(&shop, &account, &event(&made), None).await;
    assert_eq!(recorded.status, 200, "{}", recorded.text);
    let charges = shop.charges().await;
    assert_eq!(
        (
            charges["total"].clone(),
            charges["data"][0]["status"].clone()
        ),
        (json!(1), json!("successful"))
    );
}

#[tokio::test]
async fn a_notice_of_a_failed_authentication_records_the_decline() {
    let shop = shop(true, json!({"three_d_secure": true})).await;
    let charge = pending_payment(&shop).await;
    let path = charge["authorize_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches(&shop.standin.url())
        .to_owned();
    let (status, _) = shop.standin.request(
        "POST",
        &path,
        None,
        "application/x-www-form-urlencoded",
        "result=fail",
    );
    assert_eq!(status, 303);
    let failed = omise_charge(&shop, &charge["id"]);
    assert_eq!(
        notify(&shop, &shop.app.alice.id.clone(), &event(&failed), None)
            .await
            .status,
        200
    );
    let recorded = &shop.charges().await["data"][0];
    assert_eq!(
        (
            recorded["status"].as_str(),
            recorded["failure_code"].as_str()
        ),
        (Some("failed"), Some("payment_rejected"))
    );
}
