//! `usage_limit`, beyond Omise's link: a multiple-use link that takes at most that many
//! successful charges, ever. A payment takes a place as it begins (pending ones keep it, as a
//! single-use link's hold does) and gives it back if it ends unpaid.

use links_tests::buyer::{
    DECLINED_CARD, GOOD_CARD, card_form, location, open, page_path, post, promptpay_form,
};
use links_tests::processor::Fault;
use links_tests::{TestApp, join_all, spawn_app};
use serde_json::{Value, json};
use shared::chrono::Duration;

/// A multiple-use THB link of Alice's taking at most `limit` payments.
async fn limited_link(app: &TestApp, limit: u64) -> (Value, String) {
    let mut params = TestApp::link_params("บัตรคอนเสิร์ต");
    params["multiple"] = true.into();
    params["usage_limit"] = limit.into();
    let link = app.create_link(&app.alice.test_key, params).await;
    let path = page_path(&link);
    (link, path)
}

async fn link_now(app: &TestApp, link: &Value) -> Value {
    app.get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await
}

/// The link's `usage_count` and `charges.total`, as the API answers them now.
async fn uses_and_charges(app: &TestApp, link: &Value) -> (Value, Value) {
    let now = link_now(app, link).await;
    (now["usage_count"].clone(), now["charges"]["total"].clone())
}

/// The link's stored `places_taken` (not in the API).
async fn places_taken(app: &TestApp, link: &Value) -> u64 {
    let sk = format!("LINK#{}", link["id"].as_str().unwrap());
    let items = app.items_where("sk", &sk).await;
    items[0]["places_taken"].as_n().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_usage_limit_is_answered_with_its_count_and_only_on_multiple_use_links() {
    let app = spawn_app().await;
    let (link, _) = limited_link(&app, 3).await;
    assert_eq!(
        (&link["usage_limit"], &link["usage_count"]),
        (&json!(3), &json!(0))
    );
    // A form carries it as a string.
    let form = app
        .call("POST", "/links")
        .key(&app.alice.test_key)
        .form("amount=10000&currency=thb&title=t&description=d&multiple=true&usage_limit=25")
        .send()
        .await;
    assert_eq!(form.status, 200, "{:?}", form.body);
    assert_eq!(form.body["usage_limit"], 25);
    // A link without one is Omise's object exactly.
    let plain = app
        .create_link(&app.alice.test_key, TestApp::link_params("ปกติ"))
        .await;
    for key in ["usage_limit", "usage_count"] {
        assert!(!plain.as_object().unwrap().contains_key(key), "{plain}");
    }
    for (params, says) in [
        (
            json!({"usage_limit": 5}),
            "usage_limit is for multiple-use links only",
        ),
        (
            json!({"usage_limit": 5, "multiple": false}),
            "usage_limit is for multiple-use links only",
        ),
        (
            json!({"usage_limit": 0, "multiple": true}),
            "usage_limit must be an integer from 1",
        ),
        (
            json!({"usage_limit": "many", "multiple": true}),
            "usage_limit must be an integer from 1",
        ),
        (
            json!({"usage_limit": 1_000_001, "multiple": true}),
            "usage_limit must be an integer from 1",
        ),
    ] {
        let mut body = TestApp::link_params("x");
        body.as_object_mut()
            .unwrap()
            .extend(params.as_object().unwrap().clone());
        app.refused_create(&body, says).await;
    }
}

#[tokio::test]
async fn a_link_limited_to_10_takes_exactly_10_of_100_concurrent_payments() {
    let app = spawn_app().await;
    let (link, path) = limited_link(&app, 10).await;
    let forms: Vec<String> = (0..100).map(|_| card_form(&path, GOOD_CARD)).collect();

    let answers = join_all(forms.iter().map(|form| post(&app, &path, form))).await;

    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    let paid = statuses.iter().filter(|s| **s == 200).count();
    let refused: Vec<_> = answers.iter().filter(|a| a.status == 409).collect();
    assert_eq!((paid, refused.len()), (10, 90), "{statuses:?}");
    // Each of the 90 was told plainly: the places left were being paid, or all are taken.
    for answer in &refused {
        assert!(
            answer
                .text
                .contains("Every place left on this link is being paid for right now")
                || answer.text.contains("This link has taken all its payments"),
            "{}",
            answer.text
        );
        assert!(!answer.text.contains("Payment successful"));
    }
    assert_eq!(uses_and_charges(&app, &link).await, (json!(10), json!(10)));
    assert_eq!(places_taken(&app, &link).await, 10);
    let charges = app
        .get(&format!(
            "/links/{}/charges?limit=100",
            link["id"].as_str().unwrap()
        ))
        .await;
    let successful = charges["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "successful")
        .count();
    assert_eq!((charges["total"].as_u64(), successful), (Some(10), 10));
    // Only the ten reached the processor.
    assert_eq!(app.processor_charges_asked().await, 10);
    app.assert_counters_agree(&app.alice.test()).await;

    // Afterwards the page says so, and one more buyer is refused with nothing written.
    let page = open(&app, &path).await;
    assert!(
        page.text.contains("This link has taken all its payments"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("limit for this link, 10, has been reached"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("name=\"number\""), "no form");
    let items = app.table_items().await.len();
    let late = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(late.status, 409, "{}", late.text);
    assert_eq!(app.table_items().await.len(), items);
}

#[tokio::test]
async fn a_declined_payment_gives_its_place_back() {
    let app = spawn_app().await;
    let (link, path) = limited_link(&app, 1).await;

    let declined = post(&app, &path, &card_form(&path, DECLINED_CARD)).await;
    assert_eq!(declined.status, 402, "{}", declined.text);
    assert_eq!(places_taken(&app, &link).await, 0);
    let paid = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(paid.status, 200, "{}", paid.text);

    assert_eq!(
        uses_and_charges(&app, &link).await,
        (json!(1), json!(2)),
        "the declined charge is a charge, not a use"
    );
    assert_eq!(places_taken(&app, &link).await, 1);
    let after = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(after.status, 409);
    assert!(after.text.contains("This link has taken all its payments"));
}

#[tokio::test]
async fn a_pending_promptpay_payment_keeps_its_place_until_it_ends() {
    let app = spawn_app().await;
    let (link, path) = limited_link(&app, 1).await;
    let waiting_at = location(&post(&app, &path, &promptpay_form(&path)).await);
    assert!(waiting_at.contains("/complete?attempt="), "{waiting_at}");

    // While it waits, its place is taken: the page and a payment both say so.
    let page = open(&app, &path).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("Every place left on this link is being paid for right now"),
        "{}",
        page.text
    );
    let other = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert_eq!(link_now(&app, &link).await["charges"]["total"], 1);

    // Marked failed: the place comes free, and the next buyer pays.
    let charge = app.get("/charges").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = app
        .call("POST", &format!("/charges/{charge}/mark_as_failed"))
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(failed.status, 200, "{:?}", failed.body);
    assert_eq!(places_taken(&app, &link).await, 0);
    let paid = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert_eq!(uses_and_charges(&app, &link).await, (json!(1), json!(2)));
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn a_payment_the_processor_never_heard_of_gives_its_place_back_when_swept() {
    let mut app = spawn_app().await;
    let processor = app.faulty_processor();
    let (link, path) = limited_link(&app, 1).await;
    processor.arm(Fault::HangBeforeCharge);
    let cut_short = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        post(&app, &path, &card_form(&path, GOOD_CARD)),
    )
    .await;
    assert!(cut_short.is_err(), "the function died mid-payment");
    processor.arm(Fault::None);
    assert_eq!(places_taken(&app, &link).await, 1, "its place is taken");

    let swept = app.sweep_after(Duration::minutes(3)).await;

    assert_eq!((swept.found, swept.settled), (1, 1));
    assert_eq!(places_taken(&app, &link).await, 0);
    let paid = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert_eq!(link_now(&app, &link).await["usage_count"], 1);
}
