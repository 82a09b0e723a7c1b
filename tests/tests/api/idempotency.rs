//! `Idempotency-Key` on `POST /links`: a retried or duplicated create makes one link, exactly.

use links_tests::{TestApp, join_all, spawn_app};
use serde_json::json;

fn thai_link() -> serde_json::Value {
    json!({"amount": 50_000, "currency": "thb", "title": "ค่าอาหาร", "description": "Lunch", "multiple": false})
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_answers_the_first_link_and_creates_nothing() {
    // Arrange
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let create = || {
        app.call("POST", "/links")
            .key(key)
            .header("idempotency-key", "order-1234")
            .json(&thai_link())
    };

    // Act
    let first = create().send().await;
    let retry = create().send().await;
    // The same parameters in a form, as another client library would send them.
    let as_form = app
        .call("POST", "/links")
        .key(key)
        .header("idempotency-key", "order-1234")
        .form("title=%E0%B8%84%E0%B9%88%E0%B8%B2%E0%B8%AD%E0%B8%B2%E0%B8%AB%E0%B8%B2%E0%B8%A3&currency=THB&description=Lunch&amount=50000")
        .send()
        .await;

    // Assert
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    for replay in [&retry, &as_form] {
        assert_eq!(replay.status, 200, "{:?}", replay.body);
        assert_eq!(replay.body, first.body, "the first response, byte for byte");
        assert_eq!(replay.headers["idempotent-replayed"], "true");
    }
    let list = app.call("GET", "/links").key(key).send().await;
    assert_eq!(list.body["total"], 1);
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn the_same_key_with_other_parameters_is_refused_with_422() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let create = |body: serde_json::Value| {
        app.call("POST", "/links")
            .key(key)
            .header("idempotency-key", "order-1")
            .json(&body)
            .send()
    };
    assert_eq!(create(thai_link()).await.status, 200);
    let mut other = thai_link();
    other["amount"] = json!(50_001);
    let refused = create(other).await;
    assert!(
        refused
            .assert_error(422, "idempotency_key_reused")
            .contains("other parameters")
    );
    let list = app.call("GET", "/links").key(key).send().await;
    assert_eq!(list.body["total"], 1, "nothing written");
}

#[tokio::test]
async fn concurrent_duplicates_create_one_link() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let responses = join_all((0..20).map(|_| {
        app.call("POST", "/links")
            .key(key)
            .header("idempotency-key", "3f2b8a1c-6d1e-4c2a-9f3e-2b7c1d0e9a88")
            .json(&thai_link())
            .send()
    }))
    .await;
    let ids: std::collections::HashSet<_> = responses
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{:?}", r.body);
            r.body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every duplicate answers the same link");
    let replayed = responses
        .iter()
        .filter(|r| r.headers.contains_key("idempotent-replayed"))
        .count();
    assert_eq!(replayed, 19);
    assert_eq!(app.assert_counters_agree(&app.alice.test()).await, 1);
}

#[tokio::test]
async fn keys_belong_to_one_account_and_mode_and_refused_creates_do_not_use_them() {
    let app = spawn_app().await;
    let with_key = |key: &str, body: serde_json::Value| {
        app.call("POST", "/links")
            .key(key)
            .header("idempotency-key", "shared-key")
            .json(&body)
            .send()
    };
    // A refused create stores nothing under its key, so the corrected retry goes through.
    let mut invalid = thai_link();
    invalid["amount"] = json!(1);
    with_key(&app.alice.test_key, invalid)
        .await
        .assert_error(400, "invalid_amount");
    let alice_test = with_key(&app.alice.test_key, thai_link()).await;
    let alice_live = with_key(&app.alice.live_key, thai_link()).await;
    let bob_test = with_key(&app.bob.test_key, thai_link()).await;
    for r in [&alice_test, &alice_live, &bob_test] {
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert!(!r.headers.contains_key("idempotent-replayed"));
    }
    assert_ne!(alice_test.body["id"], alice_live.body["id"]);
    assert_ne!(alice_test.body["id"], bob_test.body["id"]);
}

#[tokio::test]
async fn malformed_keys_are_refused_before_anything_is_written() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    for bad in ["", "   ", &"k".repeat(256)] {
        let response = app
            .call("POST", "/links")
            .key(key)
            .header("idempotency-key", bad)
            .json(&TestApp::link_params("x"))
            .send()
            .await;
        assert!(
            response
                .assert_error(400, "bad_request")
                .contains("Idempotency-Key")
        );
    }
    let list = app.call("GET", "/links").key(key).send().await;
    assert_eq!(list.body["total"], 0);
}

#[tokio::test]
async fn a_retry_after_its_links_expiry_answers_the_first_link_and_a_new_create_is_refused() {
    // Arrange: a link expiring in a minute, created with a key; then the minute passes before
    // the client retries (its first answer lost, say).
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let expires = (app.ctx.now() + shared::chrono::Duration::seconds(60))
        .to_rfc3339_opts(shared::chrono::SecondsFormat::Secs, true);
    let mut body = thai_link();
    body["expires_at"] = json!(expires);
    let create = |idempotency_key: &'static str, body: &serde_json::Value| {
        app.call("POST", "/links")
            .key(key)
            .header("idempotency-key", idempotency_key)
            .json(body)
            .send()
    };
    let first = create("order-77", &body).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    app.ctx.clock.advance(shared::chrono::Duration::seconds(61));

    // Act
    let retry = create("order-77", &body).await;
    let mut other = body.clone();
    other["amount"] = json!(50_001);
    let other_parameters = create("order-77", &other).await;
    let new_key = create("order-78", &body).await;
    let no_key = app.call("POST", "/links").key(key).json(&body).send().await;

    // Assert: the retry is the first answer, byte for byte, as any retry within the key's day;
    // the key with other parameters is refused as ever; a create that is not a retry of one is
    // refused for its past expiry; one link in all.
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    other_parameters.assert_error(422, "idempotency_key_reused");
    for refused in [&new_key, &no_key] {
        refused.assert_error(400, "bad_request");
        assert_eq!(refused.body["message"], "expires_at must be in the future");
    }
    let list = app.call("GET", "/links").key(key).send().await;
    assert_eq!(list.body["total"], 1);
}
