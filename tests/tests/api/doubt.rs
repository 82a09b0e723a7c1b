//! No payment left in doubt: a payment, a 3-D Secure return and a refund each cut short between
//! every two of their steps (the function killed: its future dropped), or kept waiting by a
//! stalled DynamoDB or a silent processor. The buyer is told only what is known; the next look,
//! or the sweep, settles it as the processor says; nothing is ever charged twice.

use links_tests::buyer::{
    GOOD_CARD, card_form, card_form_with_key, location, open, page_path, post, query_param,
};
use links_tests::faults::{Answer, FaultProxy};
use links_tests::processor::Fault;
use links_tests::{TestApp, attempt_key, dynamodb_endpoint, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use shared::chrono::{Duration, Utc};
use std::time::Duration as StdDuration;

/// Runs `future` as a function that dies after `after`: whatever it wrote stays.
async fn killed<F: std::future::Future>(after: StdDuration, future: F) {
    assert!(
        tokio::time::timeout(after, future).await.is_err(),
        "it was to be cut short"
    );
}

async fn link_of(app: &TestApp, title: &str) -> (Value, String) {
    let link = app
        .create_link(&app.alice.test_key, TestApp::link_params(title))
        .await;
    let path = page_path(&link);
    (link, path)
}

async fn charges(app: &TestApp) -> Vec<Value> {
    app.get("/charges?limit=100").await["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_payment_killed_before_the_processor_heard_of_it_is_abandoned_by_the_sweep() {
    let mut app = spawn_app().await;
    let processor = app.faulty_processor();
    let (link, path) = link_of(&app, "killed before").await;
    processor.arm(Fault::HangBeforeCharge);
    let key = attempt_key(&path);
    let form = card_form_with_key(&key, GOOD_CARD);
    killed(StdDuration::from_millis(500), post(&app, &path, &form)).await;
    processor.arm(Fault::None);

    // The attempt holds the link; the buyer's reload (the same form) cannot know yet.
    assert_eq!(app.items_where("sk", "ATTEMPT#").await.len(), 1);
    let reload = post(&app, &path, &form).await;
    assert_eq!(reload.status, 503, "{}", reload.text);
    assert!(
        reload
            .text
            .contains("We could not confirm your payment yet"),
        "{}",
        reload.text
    );
    assert!(!reload.text.contains("Nothing was charged"));
    assert_eq!(
        links_tests::buyer::hidden(&reload.text, "attempt").as_deref(),
        Some(key.as_str())
    );
    assert!(
        open(&app, &path)
            .await
            .text
            .contains("Someone is paying this link right now")
    );

    // Past its deadline the sweep asks the processor, which never heard of it: abandoned.
    let swept = app.sweep_after(Duration::minutes(3)).await;
    assert_eq!((swept.found, swept.settled), (1, 1));
    let told = post(&app, &path, &form).await;
    assert!(told.text.contains("Nothing was charged"), "{}", told.text);
    assert!(charges(&app).await.is_empty());
    assert!(
        open(&app, &path).await.text.contains("name=\"number\""),
        "payable again"
    );
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(link["used"], false);
}

#[tokio::test]
async fn a_payment_whose_answer_was_lost_is_recorded_once_from_the_processor() {
    let mut app = spawn_app().await;
    let processor = app.faulty_processor();
    let (link, path) = link_of(&app, "answer lost").await;
    processor.arm(Fault::HangAfterCharge);
    let form = card_form(&path, GOOD_CARD);
    killed(StdDuration::from_millis(500), post(&app, &path, &form)).await;
    processor.arm(Fault::None);
    assert!(
        charges(&app).await.is_empty(),
        "charged at the processor, not recorded yet"
    );

    // The buyer's reload finds it at the processor and records it: the receipt, one charge.
    let reload = post(&app, &path, &form).await;
    assert_eq!(reload.status, 200, "{}", reload.text);
    assert!(reload.text.contains("Payment successful"));
    assert_eq!(charges(&app).await.len(), 1);
    // Posted again, and swept later: still one.
    post(&app, &path, &form).await;
    app.sweep_after(Duration::minutes(3)).await;
    assert_eq!(charges(&app).await.len(), 1);
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (&link["used"], &link["charges"]["total"]),
        (&json!(true), &json!(1))
    );

    // Coming back to the return page (a 3-D Secure buyer would) records it as well.
    let (_, path) = link_of(&app, "answer lost, return page").await;
    processor.arm(Fault::HangAfterCharge);
    let key = attempt_key(&path);
    killed(
        StdDuration::from_millis(500),
        post(&app, &path, &card_form_with_key(&key, GOOD_CARD)),
    )
    .await;
    processor.arm(Fault::None);
    let token = path.trim_start_matches("/pay/");
    let attempt = shared::domain::attempt::attempt_id(token, &key);
    let back = open(&app, &format!("{path}/complete?attempt={attempt}")).await;
    assert!(back.text.contains("Payment successful"), "{}", back.text);
    assert_eq!(charges(&app).await.len(), 2);

    // With no one coming back, the sweep records it, as the processor says.
    let (_, path) = link_of(&app, "answer lost, buyer gone").await;
    processor.arm(Fault::HangAfterCharge);
    killed(
        StdDuration::from_millis(500),
        post(&app, &path, &card_form(&path, GOOD_CARD)),
    )
    .await;
    processor.arm(Fault::None);
    let swept = app.sweep_after(Duration::minutes(3)).await;
    assert_eq!(swept.settled, 1);
    assert_eq!(charges(&app).await.len(), 3);
    assert!(
        charges(&app)
            .await
            .iter()
            .all(|c| c["status"] == "successful")
    );
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn a_link_destroyed_after_the_processor_charged_but_before_it_was_recorded_is_undone() {
    let mut app = spawn_app().await;
    let processor = app.faulty_processor();
    let (link, path) = link_of(&app, "destroyed mid-payment").await;
    let id = link["id"].as_str().unwrap();
    processor.arm(Fault::HangAfterCharge);
    let form = card_form(&path, GOOD_CARD);
    killed(StdDuration::from_millis(500), post(&app, &path, &form)).await;
    processor.arm(Fault::None);

    // The merchant destroys the link meanwhile: nothing is recorded against it yet.
    let destroyed = app
        .call("DELETE", &format!("/links/{id}"))
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(destroyed.status, 200);
    assert_eq!(destroyed.body["charges"]["total"], 0);

    // The buyer's reload finds the processor's charge, which the link can no longer take: it is
    // released at the processor, and the buyer is told so.
    let reload = post(&app, &path, &form).await;
    assert_eq!(reload.status, 410, "{}", reload.text);
    assert!(
        reload.text.contains("Nothing was charged"),
        "{}",
        reload.text
    );
    assert!(charges(&app).await.is_empty());
    let ledger = app.items_where("pk", "TESTPSP#").await;
    let processor_charges: Vec<_> = ledger
        .iter()
        .filter(|item| {
            item.get("sk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.starts_with("CHRG#"))
        })
        .collect();
    assert_eq!(processor_charges.len(), 1, "{ledger:?}");
    let status = processor_charges[0]
        .get("state")
        .and_then(|v| v.as_s().ok())
        .cloned();
    assert!(
        matches!(status.as_deref(), Some("reversed" | "expired")),
        "{status:?}"
    );
    // Swept later, and posted again: still nothing.
    app.sweep_after(Duration::minutes(3)).await;
    assert!(
        post(&app, &path, &form)
            .await
            .text
            .contains("Nothing was charged")
    );
    assert!(charges(&app).await.is_empty());
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn a_processor_that_does_not_answer_leaves_the_buyer_told_the_truth_later() {
    let mut app = spawn_app().await;
    let processor = app.faulty_processor();
    let (_, path) = link_of(&app, "unreachable").await;
    processor.arm(Fault::Unavailable);
    let form = card_form(&path, GOOD_CARD);
    let first = post(&app, &path, &form).await;
    assert_eq!(first.status, 503);
    assert!(
        first.text.contains("We could not confirm your payment yet"),
        "{}",
        first.text
    );
    assert_eq!(first.headers["retry-after"], "5");
    processor.arm(Fault::None);
    app.sweep_after(Duration::minutes(3)).await;
    let check = post(
        &app,
        &path,
        &format!(
            "attempt={}&lang=en&check=1",
            links_tests::buyer::hidden(&first.text, "attempt").unwrap()
        ),
    )
    .await;
    assert!(check.text.contains("Nothing was charged"), "{}", check.text);
}

#[tokio::test]
async fn a_stalled_dynamodb_mid_payment_says_could_not_confirm_then_the_truth() {
    let proxy = FaultProxy::start(dynamodb_endpoint()).await;
    let app = spawn_app_with(
        links_tests::client_for(&proxy.endpoint()),
        shared::auth::Authenticator::default(),
    )
    .await;
    let (_, path) = link_of(&app, "stalled").await;
    let form = card_form(&path, GOOD_CARD);
    // Every transaction stalls past the SDK's timeouts: the attempt begins (its first transaction
    // is let through), the processor charges, and recording its answer stalls until the request
    // deadline.
    proxy.inject_after("TransactWriteItems", 2, Answer::Stall, 100);
    let stalled = post(&app, &path, &form).await;
    proxy.clear();
    assert_eq!(stalled.status, 503, "{}", stalled.text);
    assert!(
        stalled
            .text
            .contains("We could not confirm your payment yet"),
        "{}",
        stalled.text
    );
    assert!(!stalled.text.contains("Nothing was charged"));
    let truth = post(&app, &path, &form).await;
    assert_eq!(truth.status, 200, "{}", truth.text);
    assert!(truth.text.contains("Payment successful"));
    assert_eq!(charges(&app).await.len(), 1);
}

#[tokio::test]
async fn a_3d_secure_return_killed_after_the_bank_answered_is_recorded_on_the_next_look() {
    let mut app = spawn_app().await;
    let processor = app.faulty_processor();
    app.three_d_secure().await;
    let (_, path) = link_of(&app, "3DS killed").await;
    let started = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    let bank = location(&started);
    let payment = query_param(&bank, "payment").unwrap();
    processor.arm(Fault::HangAfterAuthenticate);
    killed(
        StdDuration::from_millis(500),
        post(
            &app,
            &format!("{path}/authorize?payment={payment}"),
            &format!("payment={payment}&action=authenticate&lang=en"),
        ),
    )
    .await;
    processor.arm(Fault::None);
    assert_eq!(
        charges(&app).await[0]["status"],
        "pending",
        "the bank answered; not recorded"
    );
    // The buyer opens their return page: the processor's answer is recorded.
    let attempt = app.items_where("sk", "ATTEMPT#").await;
    let id = attempt[0]["sk"]
        .as_s()
        .unwrap()
        .trim_start_matches("ATTEMPT#")
        .to_owned();
    let back = open(&app, &format!("{path}/complete?attempt={id}")).await;
    assert!(back.text.contains("Payment successful"), "{}", back.text);
    assert_eq!(charges(&app).await[0]["status"], "successful");
    assert_eq!(app.events_of("charge.complete").await.len(), 1);
}

#[tokio::test]
async fn a_refund_killed_midway_is_finished_or_undone_by_the_sweep() {
    let mut app = spawn_app().await;
    let processor = app.faulty_processor();
    let (_, path) = link_of(&app, "refund killed").await;
    post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    let charge = charges(&app).await[0]["id"].as_str().unwrap().to_owned();
    let refund = |amount: i64| {
        app.call("POST", &format!("/charges/{charge}/refunds"))
            .key(&app.alice.test_key)
            .json(&json!({"amount": amount}))
            .send()
    };

    // Killed after the processor refunded: the sweep records the refund.
    processor.arm(Fault::HangAfterRefund);
    killed(StdDuration::from_millis(500), refund(1_000)).await;
    // Killed before the processor heard: the sweep releases what it set aside.
    processor.arm(Fault::HangBeforeRefund);
    killed(StdDuration::from_millis(500), refund(2_000)).await;
    processor.arm(Fault::None);
    assert_eq!(app.get(&format!("/charges/{charge}")).await["refunded"], 0);
    let swept = app.sweep_after(Duration::minutes(3)).await;
    assert_eq!((swept.found, swept.settled), (2, 2), "{swept:?}");
    let after = app.get(&format!("/charges/{charge}")).await;
    assert_eq!(
        (&after["refunded"], &after["refunds"]["total"]),
        (&json!(1_000), &json!(1))
    );
    assert_eq!(app.events_of("refund.create").await.len(), 1);
    // What the undone refund set aside is free again: the rest can be refunded.
    assert_eq!(refund(9_000).await.status, 200);
    refund(1).await.assert_error(400, "invalid_amount");

    // Refused by the processor: released at once, and the merchant told.
    let (_, path) = link_of(&app, "refund refused").await;
    post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    let charge = charges(&app).await[1]["id"].as_str().unwrap().to_owned();
    processor.arm(Fault::RefuseRefund);
    let refused = app
        .call("POST", &format!("/charges/{charge}/refunds"))
        .key(&app.alice.test_key)
        .json(&json!({"amount": 10_000}))
        .send()
        .await;
    refused.assert_error(400, "failed_refund");
    processor.arm(Fault::None);
    let whole = app
        .call("POST", &format!("/charges/{charge}/refunds"))
        .key(&app.alice.test_key)
        .json(&json!({"amount": 10_000}))
        .send()
        .await;
    assert_eq!(whole.status, 200, "{}", whole.text);
}

#[tokio::test]
async fn forms_this_page_did_not_issue_or_too_old_are_refused() {
    let app = spawn_app().await;
    let (_, path) = link_of(&app, "keys").await;
    let (_, other) = link_of(&app, "another").await;
    let before = app.table_items().await.len();
    // Another link's key, a made-up key, no key at all.
    for key in [attempt_key(&other), "0".repeat(72), "x".into()] {
        let refused = post(&app, &path, &card_form_with_key(&key, GOOD_CARD)).await;
        assert_eq!(refused.status, 400, "{key}: {}", refused.text);
    }
    // Issued more than a day ago: the form has expired, nothing was charged.
    let token = path.trim_start_matches("/pay/");
    let old = links_tests::test_attempt_keys().issue(token, Utc::now() - Duration::hours(25));
    let expired = post(&app, &path, &card_form_with_key(&old, GOOD_CARD)).await;
    assert_eq!(expired.status, 422, "{}", expired.text);
    assert!(
        expired.text.contains("This payment form has expired"),
        "{}",
        expired.text
    );
    assert_eq!(app.table_items().await.len(), before, "nothing written");
    let page = open(&app, &path).await;
    assert!(page.headers.contains_key("strict-transport-security"));
}
