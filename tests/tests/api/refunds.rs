//! Refunds: Omise's refund object and rules, the charge's `refunded` and `refunds`, exactly-once
//! under concurrency, and `refund.create` events.

use links_tests::buyer::{DECLINED_CARD, GOOD_CARD, card_form, page_path, post};
use links_tests::{TestApp, TestResponse, join_all, spawn_app};
use serde_json::{Value, json};

/// A paid charge of alice's for `amount`, and its id.
async fn paid_charge(app: &TestApp, amount: i64, card: &str) -> String {
    let link = app
        .create_link(
            &app.alice.test_key,
            json!({"amount": amount, "currency": "thb", "title": "refundable", "description": "d"}),
        )
        .await;
    let path = page_path(&link);
    post(app, &path, &card_form(&path, card)).await;
    let charges = app
        .get(&format!("/links/{}/charges", link["id"].as_str().unwrap()))
        .await;
    charges["data"][0]["id"].as_str().unwrap().to_owned()
}

async fn refund(app: &TestApp, charge: &str, body: Value) -> TestResponse {
    app.call("POST", &format!("/charges/{charge}/refunds"))
        .key(&app.alice.test_key)
        .json(&body)
        .send()
        .await
}

#[tokio::test]
async fn a_partial_refund_shows_on_its_charge_and_is_announced() {
    let app = spawn_app().await;
    let charge = paid_charge(&app, 100_000, GOOD_CARD).await;
    let made = refund(&app, &charge, json!({"amount": 10_000})).await;
    assert_eq!(made.status, 200, "{}", made.text);
    let id = made.body["id"].as_str().unwrap();
    assert!(id.starts_with("rfnd_test_"), "{id}");
    assert_eq!(
        made.body,
        json!({"object": "refund", "id": id,
               "location": format!("/charges/{charge}/refunds/{id}"), "amount": 10_000,
               "currency": "thb", "charge": charge, "transaction": made.body["transaction"],
               "created": made.body["created"]})
    );
    assert!(
        made.body["transaction"]
            .as_str()
            .unwrap()
            .starts_with("trxn_test_")
    );

    let after = app.get(&format!("/charges/{charge}")).await;
    assert_eq!(after["refunded"], 10_000);
    assert_eq!(
        after["status"], "successful",
        "a refund leaves the status alone"
    );
    assert_eq!(after["refunds"]["total"], 1);
    assert_eq!(after["refunds"]["data"][0], made.body);
    let listed = app.get(&format!("/charges/{charge}/refunds")).await;
    assert_eq!(
        (&listed["object"], &listed["total"]),
        (&json!("list"), &json!(1))
    );
    assert_eq!(listed["location"], format!("/charges/{charge}/refunds"));
    assert_eq!(listed["data"][0], made.body);
    assert_eq!(
        app.get(&format!("/charges/{charge}/refunds/{id}")).await,
        made.body
    );
    // The charge as its link embeds it, and in the list of charges, says the same.
    assert_eq!(app.get("/charges").await["data"][0]["refunded"], 10_000);
    let events = app.events_of("refund.create").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"], made.body);

    // What remains can be refunded, and no more.
    refund(&app, &charge, json!({"amount": 90_001}))
        .await
        .assert_error(400, "invalid_amount");
    assert_eq!(
        refund(&app, &charge, json!({"amount": "90000"}))
            .await
            .status,
        200
    );
    let whole = app.get(&format!("/charges/{charge}")).await;
    assert_eq!(
        (&whole["refunded"], &whole["refunds"]["total"]),
        (&json!(100_000), &json!(2))
    );
    refund(&app, &charge, json!({"amount": 1}))
        .await
        .assert_error(400, "invalid_amount");
}

#[tokio::test]
async fn refunds_are_refused_as_omise_refuses_them() {
    let app = spawn_app().await;
    let failed = paid_charge(&app, 10_000, DECLINED_CARD).await;
    let message = refund(&app, &failed, json!({"amount": 100}))
        .await
        .assert_error(400, "failed_refund");
    assert!(message.contains("failed"), "{message}");
    let charge = paid_charge(&app, 10_000, GOOD_CARD).await;
    for (body, code) in [
        (json!({}), "bad_request"),
        (json!({"amount": 0}), "invalid_amount"),
        (json!({"amount": -5}), "invalid_amount"),
        (json!({"amount": 1.5}), "invalid_amount"),
        (json!({"amount": "ten"}), "invalid_amount"),
    ] {
        refund(&app, &charge, body.clone())
            .await
            .assert_error(400, code);
    }
    refund(
        &app,
        "chrg_test_0000000000000000000000000",
        json!({"amount": 1}),
    )
    .await
    .assert_error(404, "not_found");
    let anonymous = app
        .call("POST", &format!("/charges/{charge}/refunds"))
        .json(&json!({"amount": 1}))
        .send()
        .await;
    anonymous.assert_error(401, "authentication_failure");
    let bob = app
        .call("POST", &format!("/charges/{charge}/refunds"))
        .key(&app.bob.test_key)
        .json(&json!({"amount": 1}))
        .send()
        .await;
    bob.assert_error(404, "not_found");
    let unknown = app
        .call(
            "GET",
            &format!("/charges/{charge}/refunds/rfnd_test_0000000000000000"),
        )
        .key(&app.alice.test_key)
        .send()
        .await;
    unknown.assert_error(404, "not_found");
    for (i, path) in [
        format!("/charges/{charge}/refunds"),
        format!("/charges/{charge}/refunds/rfnd_test_0000000000000000"),
    ]
    .iter()
    .enumerate()
    {
        // A key of its own each: a failed lookup is remembered, and each function looks up.
        let wrong_key = app
            .call("GET", path)
            .key(&format!("skey_test_000000000000000000000000{i}"))
            .send()
            .await;
        wrong_key.assert_error(401, "authentication_failure");
    }
    // At most twenty refunds a charge.
    for _ in 0..20 {
        assert_eq!(
            refund(&app, &charge, json!({"amount": 1})).await.status,
            200
        );
    }
    let message = refund(&app, &charge, json!({"amount": 1}))
        .await
        .assert_error(400, "failed_refund");
    assert!(message.contains("20"), "{message}");
    assert!(
        app.items_where("pk", "PAYDUE#").await.is_empty(),
        "every refund settled"
    );
}

#[tokio::test]
async fn thirty_concurrent_refunds_of_a_twentieth_refund_exactly_the_charge() {
    let app = spawn_app().await;
    let charge = paid_charge(&app, 200_000, GOOD_CARD).await;
    let answers = join_all((0..30).map(|_| refund(&app, &charge, json!({"amount": 10_000})))).await;
    let made = answers.iter().filter(|a| a.status == 200).count();
    let refused: Vec<_> = answers.iter().filter(|a| a.status != 200).collect();
    assert_eq!(
        made,
        20,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for answer in &refused {
        answer.assert_error(400, "invalid_amount");
    }
    let after = app.get(&format!("/charges/{charge}")).await;
    assert_eq!(
        (&after["refunded"], &after["refunds"]["total"]),
        (&json!(200_000), &json!(20))
    );
    let sum: i64 = after["refunds"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 200_000);
    assert_eq!(app.events_of("refund.create").await.len(), 20);
    // The processor refunded exactly as much.
    let processor_refunds = app.items_where("pk", "TESTPSP#").await;
    assert_eq!(
        processor_refunds
            .iter()
            .filter(|i| i["sk"].as_s().unwrap().starts_with("RFND#"))
            .count(),
        20
    );
    // Three halves at once: two.
    let charge = paid_charge(&app, 10_000, GOOD_CARD).await;
    let halves = join_all((0..3).map(|_| refund(&app, &charge, json!({"amount": 5_000})))).await;
    assert_eq!(halves.iter().filter(|a| a.status == 200).count(), 2);
}

#[tokio::test]
async fn a_refund_retried_with_its_idempotency_key_is_made_once() {
    let app = spawn_app().await;
    let charge = paid_charge(&app, 10_000, GOOD_CARD).await;
    let send = |amount: i64| {
        app.call("POST", &format!("/charges/{charge}/refunds"))
            .key(&app.alice.test_key)
            .header("idempotency-key", "refund-order-1042")
            .json(&json!({"amount": amount}))
            .send()
    };
    let answers = join_all((0..5).map(|_| send(4_000))).await;
    assert!(
        answers.iter().all(|a| a.status == 200),
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    assert!(answers.iter().all(|a| a.body == answers[0].body));
    assert_eq!(
        app.get(&format!("/charges/{charge}")).await["refunded"],
        4_000
    );
    send(3_000)
        .await
        .assert_error(422, "idempotency_key_reused");
}
