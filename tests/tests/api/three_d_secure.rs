//! 3-D Secure in test mode: a card payment waits for its buyer's bank (the test processor's
//! stand-in page), then ends as the buyer answers; abandoned, it expires; raced, one wins.

use links_tests::buyer::{
    GOOD_CARD, card_form, follow, location, open, page_path, post, query_param,
};
use links_tests::{TestApp, join_all, spawn_app};
use serde_json::{Value, json};
use shared::chrono::{Duration, Utc};

/// A single-use test link of alice's, 3-D Secure on, and its page.
async fn secured_link(app: &TestApp, title: &str) -> (Value, String) {
    app.three_d_secure().await;
    let link = app
        .create_link(&app.alice.test_key, TestApp::link_params(title))
        .await;
    let path = page_path(&link);
    (link, path)
}

/// Starts a card payment on `path` and answers where it redirects (the stand-in bank page).
async fn start(app: &TestApp, path: &str, card: &str) -> String {
    let started = post(app, path, &card_form(path, card)).await;
    assert_eq!(started.status, 303, "{}", started.text);
    location(&started)
}

/// The bank page's answer, posted as its own buttons post it.
async fn answer(app: &TestApp, bank: &str, action: &str) -> links_tests::TestResponse {
    let payment = query_param(bank, "payment").expect("a payment");
    let form_path = bank.split('?').next().unwrap();
    post(
        app,
        &format!("{form_path}?payment={payment}"),
        &format!("payment={payment}&action={action}&lang=en"),
    )
    .await
}

#[tokio::test]
async fn a_card_waits_for_its_bank_then_pays_the_link() {
    let app = spawn_app().await;
    let (link, path) = secured_link(&app, "3DS").await;

    let bank = start(&app, &path, GOOD_CARD).await;
    assert!(
        bank.starts_with(&format!("{path}/authorize?payment=pchg_test_")),
        "{bank}"
    );
    // Meanwhile: a pending charge with its authorize_uri, announced, and the link held.
    let charges = app.get("/charges").await;
    let pending = &charges["data"][0];
    assert_eq!(
        (&pending["status"], &pending["paid"], &pending["authorized"]),
        (&json!("pending"), &json!(false), &json!(false))
    );
    // The redirect is the charge's authorize_uri, in the buyer's language.
    let authorize_uri = pending["authorize_uri"].as_str().unwrap();
    assert!(
        authorize_uri.ends_with(bank[path.len()..].trim_end_matches("&lang=en")),
        "{authorize_uri} vs {bank}"
    );
    assert_eq!(
        app.events_of("charge.create").await[0]["data"]["status"],
        "pending"
    );
    let other_buyer = open(&app, &path).await;
    assert!(
        other_buyer
            .text
            .contains("Someone is paying this link right now"),
        "{}",
        other_buyer.text
    );
    assert!(!other_buyer.text.contains("name=\"number\""));

    // The stand-in bank: Thai and English, the page's headers, two buttons.
    let page = open(&app, &bank).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Test 3-D Secure") && page.text.contains("Visa •••• 4242"));
    assert!(page.text.contains(">Authenticate</button>") && page.text.contains(">Fail</button>"));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"));
    assert!(page.headers.contains_key("strict-transport-security"));
    let thai = app
        .call("GET", &bank.replace("lang=en", "lang=th"))
        .send()
        .await;
    assert!(thai.text.contains("ยืนยันตัวตน"), "{}", thai.text);

    // An answer posted from another site is refused, and changes nothing.
    let payment = query_param(&bank, "payment").unwrap();
    let forged = app
        .call("POST", &format!("{path}/authorize?payment={payment}"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&format!("payment={payment}&action=authenticate&lang=en"))
        .send()
        .await;
    assert_eq!(forged.status, 403, "{}", forged.text);
    assert_eq!(app.get("/charges").await["data"][0]["status"], "pending");

    // Authenticated: back to the return page, which shows the receipt.
    let answered = answer(&app, &bank, "authenticate").await;
    let back = location(&answered);
    assert!(
        back.starts_with(&format!("{path}/complete?attempt=")),
        "{back}"
    );
    let receipt = follow(&app, &answered).await;
    assert_eq!(receipt.status, 200);
    assert!(
        receipt.text.contains("Payment successful"),
        "{}",
        receipt.text
    );

    let charge = app
        .get(&format!("/charges/{}", pending["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (&charge["status"], &charge["paid"], &charge["authorized"]),
        (&json!("successful"), &json!(true), &json!(true))
    );
    assert_eq!(charge["return_uri"], pending["return_uri"]);
    let completed = app.events_of("charge.complete").await;
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["data"]["status"], "successful");
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (&link["used"], &link["charges"]["total"]),
        (&json!(true), &json!(1))
    );

    // Answering again, or coming back again, changes nothing.
    let again = answer(&app, &bank, "fail").await;
    assert_eq!(again.status, 303);
    assert!(
        follow(&app, &again)
            .await
            .text
            .contains("Payment successful")
    );
    assert_eq!(app.events_of("charge.complete").await.len(), 1);
    let bank_again = open(&app, &bank).await;
    assert_eq!(
        bank_again.status, 303,
        "a bank page that is over sends the buyer back"
    );
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn a_failed_authentication_is_a_decline_and_the_buyer_pays_again() {
    let app = spawn_app().await;
    let (link, path) = secured_link(&app, "3DS fail").await;
    let bank = start(&app, &path, GOOD_CARD).await;
    let declined = follow(&app, &answer(&app, &bank, "fail").await).await;
    assert_eq!(declined.status, 200);
    assert!(
        declined.text.contains("Payment failed"),
        "{}",
        declined.text
    );
    assert!(
        declined.text.contains("rejected this payment"),
        "{}",
        declined.text
    );
    assert!(
        declined.text.contains("name=\"number\""),
        "the form, to pay again"
    );
    let failed = app.get("/charges").await;
    assert_eq!(failed["data"][0]["failure_code"], "payment_rejected");

    // The link is free again: pay again, authenticate, paid.
    let bank = start(&app, &path, GOOD_CARD).await;
    let receipt = follow(&app, &answer(&app, &bank, "authenticate").await).await;
    assert!(
        receipt.text.contains("Payment successful"),
        "{}",
        receipt.text
    );
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (&link["used"], &link["charges"]["total"]),
        (&json!(true), &json!(2))
    );
}

#[tokio::test]
async fn the_3d_secure_failure_cards_fail_at_their_documented_step() {
    let app = spawn_app().await;
    let (_, path) = secured_link(&app, "enrolment").await;
    // Enrolment fails: declined at once, no bank page.
    let enrolment = post(&app, &path, &card_form(&path, "4111111111150002")).await;
    assert_eq!(enrolment.status, 402, "{}", enrolment.text);
    assert!(enrolment.text.contains("rejected this payment"));
    // Validation fails: sent to the bank, and failed whatever the buyer answers.
    let bank = start(&app, &path, "5555551111110003").await;
    let validated = follow(&app, &answer(&app, &bank, "authenticate").await).await;
    assert!(
        validated.text.contains("Payment failed"),
        "{}",
        validated.text
    );
    let charges = app.get("/charges").await;
    let codes: Vec<&Value> = charges["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["failure_code"])
        .collect();
    assert_eq!(
        codes,
        [&json!("payment_rejected"), &json!("payment_rejected")]
    );
}

#[tokio::test]
async fn an_abandoned_authentication_expires_and_frees_the_link() {
    let app = spawn_app().await;
    let (link, path) = secured_link(&app, "abandoned").await;
    let bank = start(&app, &path, GOOD_CARD).await;
    let attempt = app.items_where("sk", "ATTEMPT#").await;
    assert_eq!(attempt.len(), 1);

    // Nothing ends it before its deadline; the sweep ends it after.
    let swept = app.sweep_after(Duration::zero()).await;
    assert_eq!(swept.found, 0);
    let swept = app.sweep_after(Duration::minutes(11)).await;
    assert_eq!((swept.found, swept.settled), (1, 1), "{swept:?}");
    let charge = &app.get("/charges").await["data"][0];
    assert_eq!(
        (&charge["status"], &charge["paid"], &charge["failure_code"]),
        (&json!("expired"), &json!(false), &json!(null))
    );
    let completed = app.events_of("charge.complete").await;
    assert_eq!(completed[0]["data"]["status"], "expired");
    assert!(
        app.items_where("pk", "PAYDUE#").await.is_empty(),
        "nothing left to sweep"
    );

    // The buyer, coming back late, is told it expired; their bank page is over; the link is
    // payable by anyone again.
    let back = open(&app, &bank).await;
    assert_eq!(back.status, 303);
    let told = follow(&app, &back).await;
    assert!(told.text.contains("This payment expired"), "{}", told.text);
    assert!(told.text.contains("Nothing was charged"));
    let page = open(&app, &path).await;
    assert!(page.text.contains("name=\"number\""), "{}", page.text);
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(link["used"], false);

    // An answer from the bank after the deadline cannot pay it.
    let payment = query_param(&bank, "payment").unwrap();
    let (_, standing) = app
        .ctx
        .payments()
        .authenticate(&app.alice.test(), &payment, true, app.ctx.now())
        .await
        .unwrap();
    assert!(
        matches!(&standing, shared::payments::Standing::Charged(c) if c.status == shared::domain::charge::Status::Expired),
        "{standing:?}"
    );
}

#[tokio::test]
async fn a_late_buyer_settles_an_overdue_hold_before_paying() {
    let app = spawn_app().await;
    let (link, path) = secured_link(&app, "late").await;
    start(&app, &path, GOOD_CARD).await;
    // Past the first attempt's deadline, with no sweep run: the next buyer's payment expires it
    // first, then takes the link.
    let owner = app.alice.test();
    let stored = app
        .ctx
        .store
        .get_link(&owner, link["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let token = stored.payment_token.clone();
    let now = Utc::now() + Duration::minutes(11);
    let card = shared::domain::card::CardDetails {
        name: "Late".into(),
        number: GOOD_CARD.into(),
        brand: shared::domain::card::Brand::Visa,
        expiration_month: 12,
        expiration_year: 2031,
        security_code: "123".into(),
    };
    let attempt = shared::domain::attempt::attempt_id(&token, "late buyer");
    let keys = app.ctx.attempt_keys().await.unwrap();
    let standing = app
        .ctx
        .payments()
        .pay(
            shared::payments::PayRequest {
                link: &stored,
                gateway_key: keys.gateway_key(&stored.id, &attempt),
                attempt_id: attempt,
                payment: shared::processor::Payment::Card(&card),
                fingerprint: None,
                three_d_secure: false,
                ip: None,
                payment_uri: &stored.payment_uri(links_tests::PAYMENT_BASE),
                now,
            },
            &Default::default(),
        )
        .await
        .unwrap();
    assert!(
        matches!(&standing, shared::payments::Standing::Charged(c) if c.successful()),
        "{standing:?}"
    );
    let charges = app.get("/charges?order=chronological").await;
    let statuses: Vec<&Value> = charges["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["status"])
        .collect();
    assert_eq!(statuses, [&json!("expired"), &json!("successful")]);
    app.assert_counters_agree(&owner).await;
}

#[tokio::test]
async fn twenty_buyers_racing_through_3d_secure_pay_a_single_use_link_once() {
    let app = spawn_app().await;
    let (link, path) = secured_link(&app, "3DS race").await;
    let forms: Vec<String> = (0..20).map(|_| card_form(&path, GOOD_CARD)).collect();
    let started = join_all(forms.iter().map(|form| post(&app, &path, form))).await;
    let to_bank: Vec<String> = started
        .iter()
        .filter(|r| r.status == 303)
        .map(location)
        .collect();
    let held: Vec<_> = started.iter().filter(|r| r.status == 409).collect();
    assert_eq!(
        (to_bank.len(), held.len()),
        (1, 19),
        "{:?}",
        started.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for page in &held {
        assert!(
            page.text.contains("Someone is paying this link right now"),
            "{}",
            page.text
        );
        assert!(page.headers.contains_key("retry-after"));
    }
    // Only one reached the processor, so no one else was ever charged.
    assert_eq!(
        app.items_where("pk", "TESTPSP#").await.len(),
        2,
        "one charge and its key"
    );

    // All twenty authenticate at once (the one bank page, answered from twenty tabs).
    let bank = &to_bank[0];
    let answers = join_all((0..20).map(|_| answer(&app, bank, "authenticate"))).await;
    assert!(
        answers.iter().all(|a| a.status == 303),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let charges = app.get("/charges").await;
    let successful: Vec<_> = charges["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "successful" && c["reversed"] == false)
        .collect();
    assert_eq!((charges["total"].as_u64(), successful.len()), (Some(1), 1));
    assert_eq!(app.events_of("charge.complete").await.len(), 1);
    let link = app
        .get(&format!("/links/{}", link["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (&link["used"], &link["charges"]["total"]),
        (&json!(true), &json!(1))
    );
    // The nineteen who waited now find it paid.
    let late = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(late.status, 409);
    assert!(
        late.text.contains("This link has been paid"),
        "{}",
        late.text
    );
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn a_multiple_use_link_takes_every_authenticated_buyer() {
    let app = spawn_app().await;
    app.three_d_secure().await;
    let link = app
        .create_link(
            &app.alice.test_key,
            json!({"amount": 5000, "currency": "thb", "title": "tickets", "description": "x", "multiple": true}),
        )
        .await;
    let path = page_path(&link);
    let forms: Vec<String> = (0..20).map(|_| card_form(&path, GOOD_CARD)).collect();
    let started = join_all(forms.iter().map(|form| post(&app, &path, form))).await;
    assert!(started.iter().all(|r| r.status == 303));
    let banks: Vec<String> = started.iter().map(location).collect();
    let answers = join_all(banks.iter().map(|bank| answer(&app, bank, "authenticate"))).await;
    assert!(answers.iter().all(|a| a.status == 303));
    let charges = app.get("/charges?limit=100").await;
    assert_eq!(charges["total"], 20);
    assert!(
        charges["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "successful")
    );
    assert_eq!(app.events_of("charge.complete").await.len(), 20);
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn a_charge_begun_before_its_link_was_destroyed_completes_and_the_destroy_lists_it() {
    // As with Omise: destroying a link stops new payments, not one its buyer already began. The
    // merchant hears of it in the destroy's answer (and its event) and may refund it.
    let app = spawn_app().await;
    let (link, path) = secured_link(&app, "destroyed at the bank").await;
    let id = link["id"].as_str().unwrap();
    let bank = start(&app, &path, GOOD_CARD).await;

    let destroyed = app
        .call("DELETE", &format!("/links/{id}"))
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(destroyed.status, 200);
    assert_eq!(destroyed.body["charges"]["total"], 1);
    assert_eq!(destroyed.body["charges"]["data"][0]["status"], "pending");
    let announced = app.events_of("link.destroy").await;
    assert_eq!(
        announced[0]["data"]["charges"]["data"][0]["status"],
        "pending"
    );
    // No one else can begin paying it.
    assert_eq!(open(&app, &path).await.status, 410);

    let answered = answer(&app, &bank, "authenticate").await;
    let receipt = follow(&app, &answered).await;
    assert_eq!(receipt.status, 200, "{}", receipt.text);
    assert!(
        receipt.text.contains("Payment successful"),
        "{}",
        receipt.text
    );
    let charge = &app.get("/charges").await["data"][0];
    assert_eq!(
        (&charge["status"], &charge["paid"]),
        (&json!("successful"), &json!(true))
    );
    assert_eq!(app.events_of("charge.complete").await.len(), 1);
    let link = app.get(&format!("/links/{id}")).await;
    assert_eq!(
        (&link["deleted"], &link["charges"]["total"]),
        (&json!(true), &json!(1))
    );
    // Refundable as any other successful charge.
    let refund = app
        .call(
            "POST",
            &format!("/charges/{}/refunds", charge["id"].as_str().unwrap()),
        )
        .key(&app.alice.test_key)
        .form("amount=10000")
        .send()
        .await;
    assert_eq!(refund.status, 200, "{:?}", refund.body);
    app.assert_counters_agree(&app.alice.test()).await;
}
