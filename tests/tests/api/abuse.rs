//! Card testing and abuse on the public routes: failed payments bounded per card, per client
//! address and per link over a sliding hour; past a bound, a 429 page that says when to try again,
//! and nothing written.

use links_tests::buyer::{GOOD_CARD, card_form, page_path, post_from};
use links_tests::{TestApp, TestResponse, spawn_app};
use serde_json::json;
use shared::processor::test_cards::FAILING_TEST_CARDS;
use shared::store::limits::{PER_ADDRESS, PER_CARD, PER_LINK};

async fn multiple_use(app: &TestApp, title: &str) -> String {
    let link = app
        .create_link(
            &app.alice.test_key,
            json!({"amount": 5000, "currency": "thb", "title": title, "description": "x", "multiple": true}),
        )
        .await;
    page_path(&link)
}

fn assert_paused(response: &TestResponse) {
    assert_eq!(response.status, 429, "{}", response.text);
    assert!(
        response.text.contains("Too many failed payments"),
        "{}",
        response.text
    );
    assert!(
        response.text.contains("Try again in about"),
        "{}",
        response.text
    );
    let wait: u64 = response.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=7200).contains(&wait), "{wait}");
}

/// The table, for comparing before and after a refusal.
async fn snapshot(app: &TestApp) -> usize {
    app.table_items().await.len()
}

#[tokio::test]
async fn one_card_is_paused_after_five_failures_whatever_link_or_address() {
    let app = spawn_app().await;
    let card = FAILING_TEST_CARDS[0].0;
    for i in 0..PER_CARD {
        let path = multiple_use(&app, &format!("shop {i}")).await;
        let declined = post_from(
            &app,
            &format!("203.0.113.{i}"),
            &path,
            &card_form(&path, card),
        )
        .await;
        assert_eq!(declined.status, 402, "{}", declined.text);
    }
    let path = multiple_use(&app, "one more shop").await;
    let before = snapshot(&app).await;
    let paused = post_from(&app, "198.51.100.77", &path, &card_form(&path, card)).await;
    assert_paused(&paused);
    assert_eq!(snapshot(&app).await, before, "nothing written");
    // Another card from the same address is not this card.
    let other = post_from(&app, "198.51.100.77", &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(other.status, 200, "{}", other.text);
}

#[tokio::test]
async fn one_address_is_paused_after_ten_failures_whatever_card_or_link() {
    let app = spawn_app().await;
    let ip = "203.0.113.50";
    for (i, (card, _)) in FAILING_TEST_CARDS
        .iter()
        .take(PER_ADDRESS as usize)
        .enumerate()
    {
        let path = multiple_use(&app, &format!("address {i}")).await;
        assert_eq!(
            post_from(&app, ip, &path, &card_form(&path, card))
                .await
                .status,
            402
        );
    }
    let path = multiple_use(&app, "address, again").await;
    let before = snapshot(&app).await;
    // Even a good card: the address is what is paused.
    assert_paused(&post_from(&app, ip, &path, &card_form(&path, GOOD_CARD)).await);
    assert_eq!(snapshot(&app).await, before);
    let elsewhere = post_from(&app, "203.0.113.51", &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(elsewhere.status, 200);
}

#[tokio::test]
async fn one_link_is_paused_after_twenty_failures_whatever_card_or_address() {
    let app = spawn_app().await;
    let path = multiple_use(&app, "targeted link").await;
    for (i, (card, _)) in FAILING_TEST_CARDS
        .iter()
        .take(PER_LINK as usize)
        .enumerate()
    {
        let declined = post_from(
            &app,
            &format!("192.0.2.{i}"),
            &path,
            &card_form(&path, card),
        )
        .await;
        assert_eq!(declined.status, 402, "{i}: {}", declined.text);
    }
    let before = snapshot(&app).await;
    assert_paused(&post_from(&app, "192.0.2.200", &path, &card_form(&path, GOOD_CARD)).await);
    assert_eq!(snapshot(&app).await, before);
    // Other links of the same account are not paused.
    let other = multiple_use(&app, "untouched link").await;
    assert_eq!(
        post_from(&app, "192.0.2.201", &other, &card_form(&other, GOOD_CARD))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn successful_payments_are_not_counted() {
    let app = spawn_app().await;
    let path = multiple_use(&app, "popular").await;
    for _ in 0..(PER_ADDRESS + 2) {
        let paid = post_from(&app, "203.0.113.9", &path, &card_form(&path, GOOD_CARD)).await;
        assert_eq!(paid.status, 200);
    }
    assert!(app.items_where("pk", "LIMIT#").await.is_empty());
}
