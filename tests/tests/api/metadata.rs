//! `metadata`, beyond Omise's link: the merchant's own data, stored and returned on the link
//! and copied onto every charge of it, so its events (and the webhooks that carry them) say
//! which order a payment is for.

use links_tests::buyer::{GOOD_CARD, card_form, page_path, post, promptpay_form};
use links_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

fn order() -> Value {
    json!({"order_id": "A-1001", "ลูกค้า": "สมชาย ใจดี", "items": [{"sku": "ข้าวมันไก่", "qty": 2}], "paid_online": true})
}

#[tokio::test]
async fn metadata_is_kept_exactly_and_answered_on_the_link_only_when_set() {
    let app = spawn_app().await;
    let mut params = TestApp::link_params("ค่าอาหาร");
    params["metadata"] = order();
    let link = app.create_link(&app.alice.test_key, params).await;
    assert_eq!(link["metadata"], order());
    let id = link["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/links/{id}")).await["metadata"], order());
    assert_eq!(app.get("/links").await["data"][0]["metadata"], order());

    // A form nests it by brackets, as Omise's clients send a charge's metadata.
    let form = app
        .call("POST", "/links")
        .key(&app.alice.test_key)
        .form(
            "amount=10000&currency=thb&title=t&description=d\
             &metadata[order_id]=A-1002&metadata[shipping][city]=%E0%B8%A5%E0%B8%B3%E0%B8%9B%E0%B8%B2%E0%B8%87",
        )
        .send()
        .await;
    assert_eq!(form.status, 200, "{:?}", form.body);
    assert_eq!(
        form.body["metadata"],
        json!({"order_id": "A-1002", "shipping": {"city": "ลำปาง"}})
    );

    // None, or an empty object, is no metadata: Omise's link object exactly.
    let mut empty = TestApp::link_params("ว่าง");
    empty["metadata"] = json!({});
    for link in [
        app.create_link(&app.alice.test_key, empty).await,
        app.create_link(&app.alice.test_key, TestApp::link_params("ปกติ"))
            .await,
    ] {
        assert!(
            !link.as_object().unwrap().contains_key("metadata"),
            "{link}"
        );
    }
}

#[tokio::test]
async fn every_charge_of_the_link_and_its_events_carry_the_metadata() {
    let app = spawn_app().await;
    let mut params = TestApp::link_params("ค่าอาหาร");
    params["metadata"] = order();
    params["multiple"] = true.into();
    let link = app.create_link(&app.alice.test_key, params).await;
    let path = page_path(&link);

    let paid = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    post(&app, &path, &promptpay_form(&path)).await;

    let charges = app.get("/charges").await;
    let data = charges["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for charge in data {
        assert_eq!(charge["metadata"], order(), "{charge}");
        let id = charge["id"].as_str().unwrap();
        assert_eq!(
            app.get(&format!("/charges/{id}")).await["metadata"],
            order()
        );
    }
    // Events hold the charge as it was: what a webhook sends is the event.
    let created = app.events_of("charge.create").await;
    assert_eq!(created.len(), 2);
    for event in &created {
        assert_eq!(event["data"]["metadata"], order(), "{event}");
    }
    // The merchant's keys never displace the service's own on the charge.
    assert_eq!(data[0]["object"], "charge");

    // A charge of a link without metadata is as before: no key.
    let plain = app
        .create_link(&app.alice.test_key, TestApp::link_params("ปกติ"))
        .await;
    let plain_path = page_path(&plain);
    post(&app, &plain_path, &card_form(&plain_path, GOOD_CARD)).await;
    let plain_charge = &app
        .get(&format!("/links/{}/charges", plain["id"].as_str().unwrap()))
        .await["data"][0];
    assert!(
        !plain_charge.as_object().unwrap().contains_key("metadata"),
        "{plain_charge}"
    );
}

#[tokio::test]
async fn metadata_beyond_its_bounds_is_refused_and_nothing_is_made() {
    let app = spawn_app().await;
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
    for (metadata, says) in [
        (json!("A-1001"), "metadata must be an object"),
        (json!(["A-1001"]), "metadata must be an object"),
        (Value::Object(many), "metadata must have at most 50 keys"),
        (
            json!({"k".repeat(41): 1}),
            "metadata keys must be 1 to 40 characters",
        ),
        (
            json!({"a": {"b": {"c": {"d": 1}}}}),
            "metadata must be at most 3 levels deep",
        ),
        (
            json!({"a": "ก".repeat(501)}),
            "metadata values must be at most 500 characters",
        ),
        (
            Value::Object(
                (0..9)
                    .map(|i| (format!("k{i}"), json!("x".repeat(500))))
                    .collect(),
            ),
            "metadata must be at most 4096 bytes",
        ),
    ] {
        let mut params = TestApp::link_params("x");
        params["metadata"] = metadata;
        app.refused_create(&params, says).await;
    }
    // Brackets that do not make a key, in a form.
    let form = app
        .call("POST", "/links")
        .key(&app.alice.test_key)
        .form("amount=10000&currency=thb&title=t&description=d&metadata[a]b=1")
        .send()
        .await;
    let message = form.assert_error(400, "bad_request");
    assert!(message.contains("is not a field name"), "{message}");
}
