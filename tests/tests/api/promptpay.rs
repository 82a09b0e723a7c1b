//! PromptPay in test mode: a pending charge with its QR code, a page that waits for it (and
//! refreshes itself), resolved by `mark_as_paid` / `mark_as_failed` or by its expiry.

use links_tests::buyer::{
    GOOD_CARD, card_form, follow, location, open, page_path, post, promptpay_form, query_param,
};
use links_tests::{TestApp, join_all, spawn_app};
use serde_json::{Value, json};
use shared::chrono::Duration;

async fn thb_link(app: &TestApp, title: &str) -> (Value, String) {
    let link = app
        .create_link(&app.alice.test_key, TestApp::link_params(title))
        .await;
    let path = page_path(&link);
    (link, path)
}

async fn mark(app: &TestApp, charge: &str, verb: &str) -> links_tests::TestResponse {
    app.call("POST", &format!("/charges/{charge}/{verb}"))
        .key(&app.alice.test_key)
        .send()
        .await
}

#[tokio::test]
async fn a_promptpay_payment_waits_on_its_qr_code_until_it_is_marked_paid() {
    let app = spawn_app().await;
    let (link, path) = thb_link(&app, "พร้อมเพย์").await;
    let form_page = open(&app, &path).await;
    assert!(
        form_page.text.contains("Pay with PromptPay"),
        "{}",
        form_page.text
    );
    assert!(
        form_page
            .text
            .contains("name=\"source_type\" value=\"promptpay\"")
    );

    let started = post(&app, &path, &promptpay_form(&path)).await;
    let waiting_at = location(&started);
    assert!(
        waiting_at.starts_with(&format!("{path}/complete?attempt=")),
        "{waiting_at}"
    );
    let waiting = follow(&app, &started).await;
    assert_eq!(waiting.status, 200);
    let html = &waiting.text;
    assert!(html.contains("Scan to pay with PromptPay"), "{html}");
    assert_eq!(waiting.headers["refresh"], "5", "it refreshes itself");
    assert!(html.contains("every 5 seconds") && html.contains("&amp;refresh=off\">Stop checking"));
    // Turned off (a screen reader's user, say): no refresh, and the switch of language keeps it.
    let still = open(&app, &format!("{waiting_at}&refresh=off")).await;
    assert!(!still.headers.contains_key("refresh"));
    assert!(
        still.text.contains("Automatic checking is off"),
        "{}",
        still.text
    );
    assert!(
        still.text.contains("&amp;refresh=off&amp;lang=th"),
        "{}",
        still.text
    );
    assert!(
        html.contains("฿100.00") && html.contains("Pay by "),
        "{html}"
    );
    assert!(html.contains("Check payment") && html.contains("Cancel and pay another way"));
    assert!(!html.contains("<script"), "no script");
    let csp = waiting.headers["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("script-src") && csp.contains("img-src data:"));
    assert!(html.len() < 30 * 1024, "{} bytes", html.len());

    // The charge, as the API serves it: pending, with Omise's source and its QR image.
    let charges = app.get("/charges").await;
    let charge = &charges["data"][0];
    assert_eq!(
        (&charge["status"], &charge["card"]),
        (&json!("pending"), &json!(null))
    );
    let source = &charge["source"];
    assert_eq!(
        (&source["type"], &source["flow"]),
        (&json!("promptpay"), &json!("offline"))
    );
    assert!(charge["expires_at"].is_string());
    let download = source["scannable_code"]["image"]["download_uri"]
        .as_str()
        .unwrap();
    let download_path = download
        .strip_prefix(links_tests::PAYMENT_BASE)
        .map(|r| format!("/pay{r}"))
        .unwrap();
    let image = open(&app, &download_path).await;
    assert_eq!(image.status, 200);
    assert_eq!(image.headers["content-type"], "image/svg+xml");
    // What it says: a test, not a payable PromptPay payload (which starts with 000201).
    let payload = links_tests::qr::decode(&image.text);
    assert!(
        payload.starts_with("TEST MODE - NOT A PROMPTPAY PAYMENT"),
        "{payload}"
    );
    let inline = html[html.find("<svg").unwrap()..]
        .split("</svg>")
        .next()
        .unwrap();
    assert!(links_tests::qr::decode(inline).starts_with("TEST MODE"));
    assert_eq!(
        app.events_of("charge.create").await[0]["data"]["status"],
        "pending"
    );

    // Paid, as the bank would tell Omise: the API answers the charge, the page shows the receipt.
    let id = charge["id"].as_str().unwrap();
    let paid = mark(&app, id, "mark_as_paid").await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert_eq!(
        (&paid.body["status"], &paid.body["paid"]),
        (&json!("successful"), &json!(true))
    );
    let receipt = open(&app, &waiting_at).await;
    assert!(
        receipt.text.contains("Payment successful"),
        "{}",
        receipt.text
    );
    assert!(receipt.text.contains("PromptPay"));
    assert!(
        !receipt.headers.contains_key("refresh"),
        "nothing left to wait for"
    );
    assert_eq!(app.events_of("charge.complete").await.len(), 1);
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(link["used"], true);

    // Marked again: refused, and nothing changes.
    mark(&app, id, "mark_as_paid")
        .await
        .assert_error(400, "invalid_charge");
    mark(&app, id, "mark_as_failed")
        .await
        .assert_error(400, "invalid_charge");
    assert_eq!(app.events_of("charge.complete").await.len(), 1);
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn a_promptpay_payment_marked_failed_leaves_the_link_payable() {
    let app = spawn_app().await;
    let (link, path) = thb_link(&app, "failed promptpay").await;
    let waiting_at = location(&post(&app, &path, &promptpay_form(&path)).await);
    let id = app.get("/charges").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = mark(&app, &id, "mark_as_failed").await;
    assert_eq!(failed.status, 200);
    assert_eq!(failed.body["status"], "failed");
    let page = open(&app, &waiting_at).await;
    assert!(page.text.contains("Payment failed"), "{}", page.text);
    assert!(page.text.contains("name=\"number\""), "the forms again");
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(link["used"], false);
}

#[tokio::test]
async fn an_unpaid_qr_code_expires_and_marking_it_later_is_refused() {
    let app = spawn_app().await;
    let (_, path) = thb_link(&app, "expiring").await;
    let waiting_at = location(&post(&app, &path, &promptpay_form(&path)).await);
    let id = app.get("/charges").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let swept = app.sweep_after(Duration::minutes(16)).await;
    assert_eq!(swept.settled, 1, "{swept:?}");
    let charge = app.get(&format!("/charges/{id}")).await;
    assert_eq!(
        (&charge["status"], &charge["paid"]),
        (&json!("expired"), &json!(false))
    );
    mark(&app, &id, "mark_as_paid")
        .await
        .assert_error(400, "invalid_charge");
    let page = open(&app, &waiting_at).await;
    assert!(
        page.text.contains("This payment expired") && page.text.contains("Nothing was charged")
    );
    let link_page = open(&app, &path).await;
    assert!(
        link_page.text.contains("Pay with PromptPay"),
        "payable again"
    );
    // Marked paid just as it expires (the buyer's bank a moment late): the processor has already
    // expired it, and says so.
    let (_, path) = thb_link(&app, "late mark").await;
    post(&app, &path, &promptpay_form(&path)).await;
    let id = app.get("/charges?order=reverse_chronological").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let late = app
        .ctx
        .payments()
        .mark(
            &app.alice.test(),
            &id,
            true,
            app.ctx.now() + Duration::minutes(16),
        )
        .await
        .unwrap_err();
    assert_eq!(late.code(), "expired_charge");
    assert_eq!(
        app.get(&format!("/charges/{id}")).await["status"],
        "expired"
    );
}

#[tokio::test]
async fn a_buyer_watching_an_unpaid_qr_code_sees_it_expire() {
    let app = spawn_app().await;
    let (link, path) = thb_link(&app, "watched expiry").await;
    let waiting_at = location(&post(&app, &path, &promptpay_form(&path)).await);
    // No sweep has run: the page itself, refreshed past the deadline, expires it at the processor
    // and records it.
    app.ctx.clock.advance(Duration::minutes(16));
    let expired = open(&app, &waiting_at).await;
    assert_eq!(expired.status, 200);
    assert!(
        expired.text.contains("This payment expired"),
        "{}",
        expired.text
    );
    assert!(!expired.headers.contains_key("refresh"));
    assert!(
        expired.text.contains("Pay with PromptPay"),
        "the forms again"
    );
    let charge = &app.get("/charges").await["data"][0];
    assert_eq!(charge["status"], "expired");
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(link["used"], false);
    assert!(app.items_where("pk", "PAYDUE#").await.is_empty());
    assert_eq!(app.events_of("charge.complete").await.len(), 1);
}

#[tokio::test]
async fn a_buyer_can_give_up_on_a_qr_code_and_pay_by_card() {
    let app = spawn_app().await;
    let (link, path) = thb_link(&app, "changed my mind").await;
    let waiting_at = location(&post(&app, &path, &promptpay_form(&path)).await);
    let attempt = query_param(&waiting_at, "attempt").unwrap();
    // Held meanwhile: a card payment by the same buyer would be told to wait.
    assert_eq!(
        post(&app, &path, &card_form(&path, GOOD_CARD)).await.status,
        409
    );
    let cancelled = post(&app, &path, &format!("cancel={attempt}&lang=en")).await;
    let page = follow(&app, &cancelled).await;
    assert!(page.text.contains("This payment expired"), "{}", page.text);
    let paid = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (&link["used"], &link["charges"]["total"]),
        (&json!(true), &json!(2))
    );
    // Cancelling someone else's attempt, or a made-up one, does nothing.
    let refused = post(
        &app,
        &path,
        "cancel=0123456789abcdef0123456789abcdef&lang=en",
    )
    .await;
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn twenty_buyers_racing_to_pay_by_promptpay_pay_a_single_use_link_once() {
    let app = spawn_app().await;
    let (link, path) = thb_link(&app, "promptpay race").await;
    let forms: Vec<String> = (0..20).map(|_| promptpay_form(&path)).collect();
    let started = join_all(forms.iter().map(|form| post(&app, &path, form))).await;
    let waiting = started.iter().filter(|r| r.status == 303).count();
    let held = started.iter().filter(|r| r.status == 409).count();
    assert_eq!((waiting, held), (1, 19));
    let id = app.get("/charges").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The bank reports the one payment twenty times at once.
    let marks = join_all((0..20).map(|_| mark(&app, &id, "mark_as_paid"))).await;
    for m in &marks {
        assert!(
            m.status == 200 && m.body["status"] == "successful"
                || m.status == 400 && m.body["code"] == "invalid_charge",
            "{}",
            m.text
        );
    }
    let charges = app.get("/charges").await;
    assert_eq!(charges["total"], 1);
    assert_eq!(charges["data"][0]["status"], "successful");
    assert_eq!(app.events_of("charge.complete").await.len(), 1);
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (&link["used"], &link["charges"]["total"]),
        (&json!(true), &json!(1))
    );
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn marking_is_for_test_mode_promptpay_charges_only() {
    let app = spawn_app().await;
    let (_, path) = thb_link(&app, "card").await;
    post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    let id = app.get("/charges").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    mark(&app, &id, "mark_as_paid")
        .await
        .assert_error(400, "invalid_charge");
    let live = app
        .call(
            "POST",
            &format!("/charges/{}/mark_as_paid", id.replace("_test_", "_")),
        )
        .key(&app.alice.live_key)
        .send()
        .await;
    live.assert_error(400, "bad_request");
    let unknown = mark(&app, "chrg_test_0000000000000000000000000", "mark_as_paid").await;
    unknown.assert_error(404, "not_found");
    let anonymous = app
        .call("POST", &format!("/charges/{id}/mark_as_paid"))
        .send()
        .await;
    anonymous.assert_error(401, "authentication_failure");
    // A key of its own each: a failed lookup is remembered, and each function looks up.
    for (i, verb) in ["mark_as_paid", "mark_as_failed"].iter().enumerate() {
        let wrong_key = app
            .call("POST", &format!("/charges/{id}/{verb}"))
            .key(&format!("skey_test_000000000000000000000001{i}"))
            .send()
            .await;
        wrong_key.assert_error(401, "authentication_failure");
    }
}

#[tokio::test]
async fn promptpay_is_offered_on_thb_links_and_not_yet_on_live_ones() {
    let app = spawn_app().await;
    let yen = app
        .create_link(
            &app.alice.test_key,
            json!({"amount": 1000, "currency": "jpy", "title": "yen", "description": "d"}),
        )
        .await;
    let path = page_path(&yen);
    assert!(!open(&app, &path).await.text.contains("PromptPay"));
    assert_eq!(post(&app, &path, &promptpay_form(&path)).await.status, 400);
    let live = app
        .create_link(&app.alice.live_key, TestApp::link_params("live"))
        .await;
    let page = open(&app, &page_path(&live)).await;
    assert!(!page.text.contains("source_type"), "{}", page.text);
    assert!(
        page.text
            .contains("PromptPay is not enabled for live payments yet")
    );
}
