//! `expires_at`, beyond Omise's link: set by the merchant when creating, returned only on links
//! that have it, and after it the page says the link has expired and no payment is taken, with
//! nothing written. Viewing the page starts or moves nothing.

use links_tests::buyer::{GOOD_CARD, card_form, open, page_path, post};
use links_tests::{TestApp, spawn_app};
use serde_json::{Value, json};
use shared::chrono::{DateTime, Duration, SecondsFormat, Utc};

fn at(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A link of Alice's expiring `after` from the app's now.
async fn expiring_link(app: &TestApp, after: Duration, multiple: bool) -> (Value, DateTime<Utc>) {
    let expires = (app.ctx.now() + after)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
        .parse::<DateTime<Utc>>()
        .unwrap();
    let mut params = TestApp::link_params("ลดราคาถึงเที่ยงคืน");
    params["expires_at"] = at(expires).into();
    params["multiple"] = multiple.into();
    (app.create_link(&app.alice.test_key, params).await, expires)
}

#[tokio::test]
async fn expires_at_is_kept_as_given_and_absent_from_links_without_it() {
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let mut params = TestApp::link_params("โปรโมชั่น");
    // Given in Bangkok's time, answered in UTC, to the second.
    params["expires_at"] = "2027-01-31T23:59:59+07:00".into();

    let created = app.create_link(&key, params).await;
    let plain = app.create_link(&key, TestApp::link_params("ปกติ")).await;

    assert_eq!(created["expires_at"], "2027-01-31T16:59:59Z");
    let id = created["id"].as_str().unwrap();
    let retrieved = app
        .call("GET", &format!("/links/{id}"))
        .key(&key)
        .send()
        .await;
    assert_eq!(retrieved.body["expires_at"], "2027-01-31T16:59:59Z");
    let listed = app
        .call("GET", "/links?order=chronological")
        .key(&key)
        .send()
        .await;
    assert_eq!(listed.body["data"][0]["expires_at"], "2027-01-31T16:59:59Z");
    // A link without one is Omise's object exactly: no `expires_at` key at all.
    assert!(
        !plain.as_object().unwrap().contains_key("expires_at"),
        "{plain}"
    );
    assert!(
        !listed.body["data"][1]
            .as_object()
            .unwrap()
            .contains_key("expires_at")
    );
}

#[tokio::test]
async fn a_past_or_too_distant_or_malformed_expiry_is_refused_and_nothing_is_made() {
    let app = spawn_app().await;
    let now = app.ctx.now();
    for value in [
        json!(at(now - Duration::seconds(1))),
        json!(at(now + Duration::days(366))),
        json!("2027-01-31"),
        json!(1_800_000_000),
    ] {
        let mut params = TestApp::link_params("x");
        params["expires_at"] = value.clone();
        let response = app
            .call("POST", "/links")
            .key(&app.alice.test_key)
            .json(&params)
            .send()
            .await;
        assert_eq!(response.status, 400, "{value}: {:?}", response.body);
        assert_eq!(response.body["object"], "error");
        assert_eq!(response.body["code"], "bad_request");
        assert!(
            response.body["message"]
                .as_str()
                .unwrap()
                .starts_with("expires_at must"),
            "{:?}",
            response.body
        );
    }
    // The form encoding carries it too, and is held to the same rules.
    let form = app
        .call("POST", "/links")
        .key(&app.alice.test_key)
        .form("amount=10000&currency=thb&title=t&description=d&expires_at=yesterday")
        .send()
        .await;
    assert_eq!(form.status, 400);
    let list = app
        .call("GET", "/links")
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(list.body["total"], 0);
}

#[tokio::test]
async fn at_its_expiry_the_page_says_so_and_a_payment_is_refused_writing_nothing() {
    // Arrange: a link expiring in a minute; its page viewed and its form taken meanwhile.
    let app = spawn_app().await;
    let (link, _) = expiring_link(&app, Duration::seconds(60), true).await;
    let path = page_path(&link);
    let form = card_form(&path, GOOD_CARD);
    let before = open(&app, &path).await;
    assert_eq!(before.status, 200);
    assert!(
        before.text.contains("id=\"card\""),
        "payable before: {}",
        before.text
    );

    // One second before: still payable (viewing it moved nothing).
    app.ctx.clock.advance(Duration::seconds(59));
    let last_second = open(&app, &path).await;
    assert_eq!(last_second.status, 200);
    assert!(last_second.text.contains("id=\"card\""));

    // Act: at the very second it expires.
    app.ctx.clock.advance(Duration::seconds(1));
    let items = app.table_items().await.len();
    let page = open(&app, &path).await;
    let paid = post(&app, &path, &form).await;

    // Assert
    assert_eq!(page.status, 410, "{}", page.text);
    assert!(page.text.contains("This link has expired"), "{}", page.text);
    assert!(
        !page.text.contains("id=\"card\""),
        "no form on an expired link"
    );
    assert_eq!(paid.status, 410, "{}", paid.text);
    assert!(paid.text.contains("This link has expired"));
    assert_eq!(app.table_items().await.len(), items, "nothing was written");
    let charges = app
        .call("GET", "/charges")
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(charges.body["total"], 0);
    let thai = app
        .call("GET", &path)
        .header("accept-language", "th")
        .send()
        .await;
    assert!(thai.text.contains("ลิงก์นี้หมดอายุแล้ว"), "{}", thai.text);
}

#[tokio::test]
async fn a_single_use_link_read_before_its_expiry_cannot_be_begun_after_it() {
    // The begin transaction checks the expiry itself: a link read a moment before it expires
    // (a slow request) is not held, charged or written for after it.
    use shared::payments::{PayRequest, Progress, Standing};
    use shared::processor::Payment;
    let app = spawn_app().await;
    let (created, expires) = expiring_link(&app, Duration::seconds(30), false).await;
    let owner = app.alice.test();
    let link = app
        .ctx
        .store
        .get_link(&owner, created["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let items = app.table_items().await.len();

    let standing = app
        .ctx
        .payments()
        .pay(
            PayRequest {
                link: &link,
                attempt_id: "att_expiry_race".into(),
                gateway_key: "key_expiry_race".into(),
                payment: Payment::PromptPay,
                fingerprint: None,
                three_d_secure: false,
                ip: None,
                payment_uri: created["payment_uri"].as_str().unwrap(),
                now: expires,
            },
            &Progress::default(),
        )
        .await
        .unwrap();

    assert!(matches!(standing, Standing::NotPayable(_)), "{standing:?}");
    assert_eq!(app.table_items().await.len(), items, "nothing was written");
}
