//! Receipts show their time in the account's time zone (`Asia/Bangkok` unless set), labelled;
//! the API keeps UTC.

use links_tests::buyer::{GOOD_CARD, card_form, page_path, post};
use links_tests::{TestApp, spawn_app};
use shared::chrono::{DateTime, Utc};

/// Pays a new link of Alice's with a good card: the receipt's text and the charge's `created`.
async fn receipt(app: &TestApp) -> (String, DateTime<Utc>) {
    let link = app
        .create_link(&app.alice.test_key, TestApp::link_params("ค่าอาหาร"))
        .await;
    let path = page_path(&link);
    let paid = post(app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let charge = &app
        .get(&format!("/links/{}/charges", link["id"].as_str().unwrap()))
        .await["data"][0];
    let created = charge["created"].as_str().unwrap();
    assert!(created.ends_with('Z'), "the API keeps UTC: {created}");
    (paid.text, created.parse().unwrap())
}

#[tokio::test]
async fn a_receipt_shows_bangkok_time_unless_the_account_set_another_zone() {
    let app = spawn_app().await;

    let (page, created) = receipt(&app).await;
    let bangkok = created + shared::chrono::Duration::hours(7);
    let shown = format!(
        "{} (Asia/Bangkok, UTC+07:00)",
        bangkok.format("%Y-%m-%d %H:%M")
    );
    assert!(page.contains(&shown), "{shown} in {page}");
    assert!(!page.contains(" UTC<"), "no bare UTC time");

    // Set to London as links-admin sets it: the zone's offsets, looked up in the tz database by
    // the tool, are stored with its name, and the page (which carries no database) reads them.
    let london = tools::time_zones::time_zone("Europe/London", Utc::now()).unwrap();
    app.ctx
        .store
        .set_time_zone(&app.alice.test(), &london)
        .await
        .unwrap();
    let (page, created) = receipt(&app).await;
    let shown = london.date_time(created);
    assert!(shown.contains("(Europe/London, UTC"), "{shown}");
    assert!(page.contains(&shown), "{shown} in {page}");
    assert!(!page.contains("Asia/Bangkok"));
}
