//! Buyers paying links through the payment page: the page's states, test-mode charges, the
//! merchant's view of them, and exactly-once use under concurrency.

use links_tests::{PAYMENT_BASE, TestApp, TestResponse, join_all, spawn_app};
use serde_json::{Value, json};

/// The page's own origin, which browsers send with its form posts.
const ORIGIN: &str = "https://pay.test.example";
const GOOD_CARD: &str = "4242424242424242";
const DECLINED_CARD: &str = "4111111111140011";

/// A link of alice's, in test mode, and the path of its payment page.
async fn new_link(app: &TestApp, params: Value) -> (Value, String) {
    let link = app.create_link(&app.alice.test_key, params).await;
    let uri = link["payment_uri"].as_str().unwrap();
    let token = uri.strip_prefix(&format!("{PAYMENT_BASE}/")).unwrap();
    (link.clone(), format!("/pay/{token}"))
}

fn id(link: &Value) -> String {
    link["id"].as_str().unwrap().to_owned()
}

/// A card form as the page at `path` posts it: `number` with a valid name, expiry and security
/// code, in English, under a fresh attempt key. `set` changes one field.
struct CardForm(Vec<(&'static str, String)>);

impl CardForm {
    fn new(path: &str, number: &str) -> Self {
        Self(vec![
            ("attempt", links_tests::attempt_key(path)),
            ("lang", "en".into()),
            ("name", "Somchai Jaidee".into()),
            ("number", number.into()),
            ("expiration_month", "12".into()),
            ("expiration_year", "2031".into()),
            ("security_code", "123".into()),
        ])
    }

    fn set(mut self, field: &str, value: &str) -> Self {
        let slot = self
            .0
            .iter_mut()
            .find(|(f, _)| *f == field)
            .expect("a card field");
        slot.1 = value.into();
        self
    }

    /// The form, url-encoded (the values need no escaping beyond spaces).
    fn encoded(&self) -> String {
        let pairs: Vec<String> = self
            .0
            .iter()
            .map(|(f, v)| format!("{f}={}", v.replace(' ', "+")))
            .collect();
        pairs.join("&")
    }
}

/// The form paying with `number` on the page at `path`, as [`CardForm::new`] makes it.
fn card_form(path: &str, number: &str) -> String {
    CardForm::new(path, number).encoded()
}

/// A multiple-use link's parameters.
fn multiple_use(title: &str) -> Value {
    json!({"amount": 5000, "currency": "thb", "title": title, "description": "x", "multiple": true})
}

async fn pay(app: &TestApp, path: &str, form: &str) -> TestResponse {
    app.call("POST", path)
        .header("origin", ORIGIN)
        .header("sec-fetch-site", "same-origin")
        .form(form)
        .send()
        .await
}

/// Every item in the table, printed, in key order: to compare before and after.
async fn table_dump(app: &TestApp) -> Vec<String> {
    let mut items: Vec<String> = app
        .table_items()
        .await
        .iter()
        .map(|item| {
            let mut pairs: Vec<_> = item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            pairs.sort();
            pairs.join(" ")
        })
        .collect();
    items.sort();
    items
}

async fn get(app: &TestApp, path: &str) -> Value {
    let response = app.call("GET", path).key(&app.alice.test_key).send().await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    response.body
}

#[tokio::test]
async fn the_page_shows_the_link_escaped_in_the_buyers_language() {
    let app = spawn_app().await;
    let (_, path) = new_link(
        &app,
        json!({"amount": 123400, "currency": "thb", "title": "<script>alert(1)</script> ค่าอาหาร",
               "description": "\"quoted\" & <b>bold</b>\nline two"}),
    )
    .await;
    let thai = app
        .call("GET", &path)
        .header("accept-language", "th-TH,th;q=0.9,en;q=0.5")
        .send()
        .await;
    assert_eq!(thai.status, 200);
    let html = &thai.text;
    assert!(
        html.starts_with("<!doctype html><html lang=\"th\">"),
        "{html}"
    );
    assert!(
        !html.contains("<script>") && !html.contains("<b>"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; ค่าอาหาร"));
    assert!(html.contains(
        "<p class=\"desc\">&quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;\nline two</p>"
    ));
    assert!(
        html.contains("ใช้บัตรทดสอบ เช่น 4242 4242 4242 4242"),
        "a test link's page says which cards to use"
    );
    assert!(
        !html.contains("กรุณาแก้ไขข้อมูลด้านล่าง"),
        "nothing to correct on a fresh form"
    );
    assert!(html.contains("฿1,234.00"));
    assert!(html.contains("ชำระเงิน ฿1,234.00"), "the Thai pay button");
    for tag in [
        "og:title",
        "og:description",
        "twitter:card",
        "twitter:title",
    ] {
        assert!(html.contains(tag), "{tag}");
    }
    assert!(html.contains(
        "<meta property=\"og:description\" content=\"฿1,234.00 · &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;\nline two\">"
    ));
    assert!(
        html.contains("<svg") && html.contains("aria-label"),
        "the inline QR code"
    );
    for field in [
        "name",
        "number",
        "expiration_month",
        "expiration_year",
        "security_code",
    ] {
        assert!(html.contains(&format!("name=\"{field}\"")), "{field}");
    }
    let headers = &thai.headers;
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        html.len() < 30 * 1024,
        "the whole page is {} bytes",
        html.len()
    );

    let english = app
        .call("GET", &format!("{path}?lang=en"))
        .header("accept-language", "th")
        .send()
        .await;
    assert!(english.text.contains("<html lang=\"en\">"));
    assert!(english.text.contains("Pay ฿1,234.00"));
    assert!(
        english
            .text
            .contains("<fieldset><legend>Expiry date</legend>"),
        "month and year are named as one answer"
    );
    assert!(
        english.text.contains("href=\"?lang=th\""),
        "a switch back to Thai"
    );
}

#[tokio::test]
async fn viewing_the_page_writes_nothing() {
    let app = spawn_app().await;
    let (_, path) = new_link(&app, TestApp::link_params("scanned")).await;
    let before = table_dump(&app).await;
    let views = (0..50).map(|i| {
        let lang = if i % 2 == 0 { "th" } else { "en" };
        app.call("GET", &path)
            .header("accept-language", lang)
            .send()
    });
    for view in join_all(views).await {
        assert_eq!(view.status, 200);
    }
    let qr = app.call("GET", &format!("{path}/qr.svg")).send().await;
    assert_eq!(qr.status, 200);
    assert_eq!(
        table_dump(&app).await,
        before,
        "50 page views changed the table"
    );
}

#[tokio::test]
async fn a_successful_payment_uses_the_link_and_the_merchant_sees_the_charge() {
    let app = spawn_app().await;
    let (created, path) = new_link(&app, TestApp::link_params("Lunch")).await;
    let link_id = id(&created);
    let paid = pay(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert!(paid.text.contains("Payment successful"), "{}", paid.text);
    assert!(paid.text.contains("Visa •••• 4242"));
    let charge_id = paid
        .text
        .split("chrg_test_")
        .nth(1)
        .map(|rest| format!("chrg_test_{}", &rest[..25]))
        .expect("the receipt names the charge");

    let charge = get(&app, &format!("/charges/{charge_id}")).await;
    assert_eq!(charge["object"], "charge");
    assert_eq!(charge["status"], "successful");
    assert_eq!(charge["paid"], true);
    assert_eq!(charge["amount"], created["amount"]);
    assert_eq!(charge["description"], "Lunch\n\na test link");
    let return_uri = charge["return_uri"].as_str().unwrap();
    assert!(
        return_uri.starts_with(&format!(
            "{}/complete?attempt=",
            created["payment_uri"].as_str().unwrap()
        )),
        "{return_uri}"
    );
    assert!(
        charge["transaction"]
            .as_str()
            .unwrap()
            .starts_with("trxn_test_")
    );
    assert_eq!(charge["card"]["last_digits"], "4242");
    assert_eq!(charge["card"]["brand"], "Visa");
    assert_eq!(charge["card"]["name"], "Somchai Jaidee");
    assert_eq!(charge["ip"], tools::gateway::DEFAULT_SOURCE_IP);

    // The same charge wherever it appears (its empty refunds list is dated "now", so set aside).
    let same = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("refunds");
        v
    };
    let link = get(&app, &format!("/links/{link_id}")).await;
    assert_eq!(link["used"], true);
    assert!(link["used_at"].is_string());
    assert_eq!(link["charges"]["total"], 1);
    assert_eq!(same(&link["charges"]["data"][0]), same(&charge));
    let of_link = get(&app, &format!("/links/{link_id}/charges")).await;
    assert_eq!(of_link["total"], 1);
    assert_eq!(same(&of_link["data"][0]), same(&charge));
    let all = get(&app, "/charges").await;
    assert_eq!(all["total"], 1);
    assert_eq!(same(&all["data"][0]), same(&charge));
    assert_eq!(all["location"], "/charges");
    let listed = get(&app, "/links").await;
    assert_eq!(
        same(&listed["data"][0]["charges"]["data"][0]),
        same(&charge)
    );

    // Paid: the page says so, and another payment is refused without a charge.
    let page = app
        .call("GET", &path)
        .header("accept-language", "en")
        .send()
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("This link has been paid"));
    assert!(
        !page.text.contains("name=\"number\""),
        "no form on a paid link"
    );
    let again = pay(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(again.status, 409);
    assert_eq!(get(&app, "/charges").await["total"], 1);
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn a_declined_card_is_a_failed_charge_and_the_link_stays_payable() {
    let app = spawn_app().await;
    let (created, path) = new_link(&app, TestApp::link_params("declined")).await;
    let declined = pay(&app, &path, &card_form(&path, DECLINED_CARD)).await;
    assert_eq!(declined.status, 402, "{}", declined.text);
    assert!(declined.text.contains("Payment failed"));
    assert!(
        declined.text.contains("not enough funds"),
        "{}",
        declined.text
    );
    assert!(
        declined.text.contains("name=\"number\""),
        "the form, to try again"
    );
    assert!(
        declined.text.contains("value=\"Somchai Jaidee\""),
        "the name is kept"
    );
    assert!(!declined.text.contains(DECLINED_CARD) && !declined.text.contains("value=\"123\""));

    let thai = pay(
        &app,
        &path,
        &CardForm::new(&path, DECLINED_CARD)
            .set("lang", "th")
            .encoded(),
    )
    .await;
    assert!(thai.text.contains("ยอดเงินในบัญชีไม่พอ"), "{}", thai.text);

    let link = get(&app, &format!("/links/{}", id(&created))).await;
    assert_eq!(
        (link["used"].as_bool(), link["charges"]["total"].as_u64()),
        (Some(false), Some(2))
    );
    let failed = &link["charges"]["data"][0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_code"], "insufficient_fund");
    assert_eq!(
        failed["failure_message"],
        "insufficient funds in the account or the card has reached the credit limit"
    );
    assert_eq!(failed["paid"], false);
    assert_eq!(failed["transaction"], Value::Null);

    let paid = pay(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let link = get(&app, &format!("/links/{}", id(&created))).await;
    let destroyed = app
        .call("DELETE", &format!("/links/{}", id(&created)))
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(destroyed.status, 200);
    assert_eq!(
        destroyed.body["charges"]["data"][2]["id"],
        link["charges"]["data"][2]["id"]
    );
    assert_eq!(
        (link["used"].as_bool(), link["charges"]["total"].as_u64()),
        (Some(true), Some(3))
    );
}

#[tokio::test]
async fn a_form_submitted_twice_makes_one_charge() {
    let app = spawn_app().await;
    let (created, path) = new_link(&app, TestApp::link_params("double click")).await;
    let form = card_form(&path, GOOD_CARD);
    let first = pay(&app, &path, &form).await;
    let second = pay(&app, &path, &form).await;
    assert_eq!((first.status, second.status), (200, 200), "{}", second.text);
    assert!(
        second.text.contains("Payment successful"),
        "the same receipt again"
    );
    let link = get(&app, &format!("/links/{}", id(&created))).await;
    assert_eq!(link["charges"]["total"], 1);
    let charge = link["charges"]["data"][0]["id"].as_str().unwrap();
    assert!(first.text.contains(charge) && second.text.contains(charge));

    // A declined submission replays as declined, and does not count twice either.
    let (created, path) = new_link(&app, TestApp::link_params("double decline")).await;
    let form = card_form(&path, DECLINED_CARD);
    let answers = join_all((0..5).map(|_| pay(&app, &path, &form))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    let odd = answers
        .iter()
        .find(|a| a.status != 402)
        .map(|a| a.text.as_str())
        .unwrap_or("");
    let odd = odd.split("<main>").nth(1).unwrap_or(odd);
    assert!(statuses.iter().all(|s| *s == 402), "{statuses:?}: {odd}");
    let link = get(&app, &format!("/links/{}", id(&created))).await;
    assert_eq!(link["charges"]["total"], 1);
}

#[tokio::test]
async fn every_state_has_its_page() {
    let app = spawn_app().await;
    let unknown = app
        .call("GET", "/pay/0000000000000000000")
        .header("accept-language", "en")
        .send()
        .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.text.contains("Payment link not found"));
    assert!(
        unknown.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let malformed = app.call("GET", "/pay/..%2F..%2Fetc").send().await;
    assert_eq!(malformed.status, 404);
    let unknown_qr = app
        .call("GET", "/pay/0000000000000000000/qr.svg")
        .send()
        .await;
    assert_eq!(unknown_qr.status, 404);

    let (created, path) = new_link(&app, TestApp::link_params("withdrawn")).await;
    let destroyed = app
        .call("DELETE", &format!("/links/{}", id(&created)))
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(destroyed.status, 200);
    let gone = app
        .call("GET", &path)
        .header("accept-language", "en")
        .send()
        .await;
    assert_eq!(gone.status, 410);
    assert!(gone.text.contains("no longer available"));
    let refused = pay(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(refused.status, 410);
    assert_eq!(get(&app, "/charges").await["total"], 0);

    // A multiple-use link stays payable after it is paid.
    let (_, path) = new_link(&app, multiple_use("donation")).await;
    for _ in 0..3 {
        assert_eq!(
            pay(&app, &path, &card_form(&path, GOOD_CARD)).await.status,
            200
        );
    }
    let page = app.call("GET", &path).send().await;
    assert!(page.text.contains("name=\"number\""), "still payable");
}

#[tokio::test]
async fn bad_cards_and_cross_site_posts_write_nothing() {
    let app = spawn_app().await;
    let (_, path) = new_link(&app, TestApp::link_params("guarded")).await;
    let before = table_dump(&app).await;

    let invalid = pay(
        &app,
        &path,
        &CardForm::new(&path, "4242424242424241")
            .set("name", "")
            .set("expiration_month", "13")
            .set("security_code", "12")
            .encoded(),
    )
    .await;
    assert_eq!(invalid.status, 422);
    assert!(invalid.text.contains("Please correct the details below."));
    for message in [
        "Enter the name on the card.",
        "This card number is not valid.",
        "This expiry date is not valid.",
        "The security code is not valid",
    ] {
        assert!(invalid.text.contains(message), "{message}");
    }
    let expired = pay(
        &app,
        &path,
        &CardForm::new(&path, GOOD_CARD)
            .set("expiration_year", "2020")
            .encoded(),
    )
    .await;
    assert_eq!(expired.status, 422);
    assert!(expired.text.contains("This card has expired."));
    // A real card number in test mode is refused before anything happens to it.
    let real = pay(&app, &path, &card_form(&path, "4012888888881881")).await;
    assert_eq!(real.status, 422);
    assert!(real.text.contains("only test cards"), "{}", real.text);

    let form = card_form(&path, GOOD_CARD);
    let cross_site = app
        .call("POST", &path)
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await;
    assert_eq!(cross_site.status, 403);
    let fetch_cross = app
        .call("POST", &path)
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await;
    assert_eq!(fetch_cross.status, 403);
    let no_evidence = app.call("POST", &path).form(&form).send().await;
    assert_eq!(no_evidence.status, 403);
    let json_body = app
        .call("POST", &path)
        .header("origin", ORIGIN)
        .json(&json!({"number": GOOD_CARD}))
        .send()
        .await;
    assert_eq!(json_body.status, 400);
    let no_attempt = pay(&app, &path, &form.replace("attempt=", "x=")).await;
    assert_eq!(no_attempt.status, 400);
    let twice = pay(&app, &path, &format!("{form}&number={GOOD_CARD}")).await;
    assert_eq!(twice.status, 400);

    assert_eq!(
        table_dump(&app).await,
        before,
        "a refused post wrote something"
    );
}

#[tokio::test]
async fn live_links_take_no_payment_without_a_gateway_and_never_a_card_number() {
    let app = spawn_app().await;
    let live = app
        .create_link(&app.alice.live_key, TestApp::link_params("live"))
        .await;
    let uri = live["payment_uri"].as_str().unwrap();
    let path = format!("/pay/{}", uri.rsplit('/').next().unwrap());
    let page = app
        .call("GET", &path)
        .header("accept-language", "en")
        .send()
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("not enabled yet"));
    assert!(!page.text.contains("name=\"number\"") && !page.text.contains("Test mode"));
    let before = table_dump(&app).await;
    // A card number is never taken for a live link: refused as a post this page never sends.
    let refused = pay(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(refused.status, 400);
    assert!(!refused.text.contains(GOOD_CARD));
    // PromptPay, with no gateway set for live mode: not enabled.
    let refused = pay(&app, &path, &links_tests::buyer::promptpay_form(&path)).await;
    assert_eq!(refused.status, 403);
    assert!(refused.text.contains("not enabled yet"));
    assert_eq!(table_dump(&app).await, before);
}

#[tokio::test]
async fn charges_are_the_owners_alone() {
    let app = spawn_app().await;
    let (_, path) = new_link(&app, TestApp::link_params("tenancy")).await;
    let paid = pay(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(paid.status, 200);
    let charge = get(&app, "/charges").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Bob's first call lists, alice's live key's first retrieves: each function looks its key up.
    let list = app
        .call("GET", "/charges")
        .key(&app.bob.test_key)
        .send()
        .await;
    assert_eq!((list.status, &list.body["total"]), (200, &json!(0)));
    for key in [&app.alice.live_key, &app.bob.test_key] {
        let response = app
            .call("GET", &format!("/charges/{charge}"))
            .key(key)
            .send()
            .await;
        response.assert_error(404, "not_found");
        let list = app.call("GET", "/charges").key(key).send().await;
        assert_eq!(list.body["total"], 0);
    }
    let bad = app
        .call("GET", "/charges/chrg_test_../../x")
        .key(&app.alice.test_key)
        .send()
        .await;
    bad.assert_error(404, "not_found");
    let anonymous = app.call("GET", &format!("/charges/{charge}")).send().await;
    anonymous.assert_error(401, "authentication_failure");
}

#[tokio::test]
async fn card_numbers_and_security_codes_are_never_kept() {
    let app = spawn_app().await;
    let (_, path) = new_link(&app, TestApp::link_params("secrets")).await;
    let logs = LogCapture::default();
    let guard = tracing::subscriber::set_default(logs.subscriber());
    let good = CardForm::new(&path, GOOD_CARD)
        .set("security_code", "987")
        .encoded();
    assert_eq!(pay(&app, &path, &good).await.status, 200);
    let (_, other) = new_link(&app, TestApp::link_params("secrets 2")).await;
    let declined = CardForm::new(&other, DECLINED_CARD)
        .set("security_code", "654")
        .encoded();
    assert_eq!(pay(&app, &other, &declined).await.status, 402);
    drop(guard);
    let table = table_dump(&app).await.join("\n");
    let logged = logs.text();
    assert!(
        logged.contains("charge recorded"),
        "the logs were captured: {logged}"
    );
    for secret in [
        GOOD_CARD,
        DECLINED_CARD,
        "424242424242",
        "411111111114",
        "987",
        "654",
    ] {
        assert!(!has_number(&table, secret), "{secret} is in the table");
        assert!(
            !has_number(&logged, secret),
            "{secret} is in the logs: {logged}"
        );
    }
    assert!(
        table.contains("\\\"last_digits\\\":\\\"4242\\\""),
        "what may be kept is"
    );
}

#[tokio::test]
async fn a_single_use_link_takes_exactly_one_of_100_concurrent_payments() {
    let app = spawn_app().await;
    let (created, path) = new_link(&app, TestApp::link_params("race")).await;
    let forms: Vec<String> = (0..100).map(|_| card_form(&path, GOOD_CARD)).collect();
    let answers = join_all(forms.iter().map(|form| pay(&app, &path, form))).await;
    let paid = answers.iter().filter(|a| a.status == 200).count();
    let refused: Vec<_> = answers.iter().filter(|a| a.status == 409).collect();
    assert_eq!(
        (paid, refused.len()),
        (1, 99),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    // Each loser is told either that someone is paying the link right now (while the winner's
    // attempt held it) or that it has been paid (after), and was charged nothing.
    for answer in &refused {
        assert!(
            answer.text.contains("This link has been paid")
                || answer
                    .text
                    .contains("Someone is paying this link right now"),
            "{}",
            answer.text
        );
    }
    let link = get(&app, &format!("/links/{}", id(&created))).await;
    assert_eq!(
        (link["used"].as_bool(), link["charges"]["total"].as_u64()),
        (Some(true), Some(1))
    );
    // Only the winner's attempt reached the test processor.
    assert_eq!(app.processor_charges_asked().await, 1);
    let charges = get(&app, &format!("/links/{}/charges", id(&created))).await;
    assert_eq!(charges["total"], 1);
    assert_eq!(get(&app, "/charges").await["total"], 1);
    app.assert_counters_agree(&app.alice.test()).await;
}

#[tokio::test]
async fn a_multiple_use_link_takes_all_100_concurrent_payments() {
    let app = spawn_app().await;
    let (created, path) = new_link(&app, multiple_use("tickets")).await;
    let forms: Vec<String> = (0..100).map(|_| card_form(&path, GOOD_CARD)).collect();
    let answers = join_all(forms.iter().map(|form| pay(&app, &path, form))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let link = get(&app, &format!("/links/{}", id(&created))).await;
    assert_eq!(link["charges"]["total"], 100);
    assert_eq!(link["charges"]["data"].as_array().unwrap().len(), 20);
    let charges = get(&app, &format!("/links/{}/charges?limit=100", id(&created))).await;
    assert_eq!(charges["total"], 100);
    let ids: std::collections::HashSet<_> = charges["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 100);
    assert_eq!(get(&app, "/charges").await["total"], 100);
}

#[tokio::test]
async fn the_qr_code_decodes_to_the_payment_uri() {
    let app = spawn_app().await;
    let (created, path) = new_link(&app, TestApp::link_params("qr")).await;
    let svg = app.call("GET", &format!("{path}/qr.svg")).send().await;
    assert_eq!(svg.status, 200);
    assert_eq!(svg.headers["content-type"], "image/svg+xml");
    assert_eq!(
        links_tests::qr::decode(&svg.text),
        created["payment_uri"].as_str().unwrap()
    );
    // The page's inline code is the same drawing.
    let page = app.call("GET", &path).send().await;
    let inline = &page.text[page.text.find("<svg").unwrap()..];
    assert_eq!(
        links_tests::qr::decode(inline),
        created["payment_uri"].as_str().unwrap()
    );
}

/// Whether `text` holds `digits` as a number of its own: not inside a longer number or a
/// base-36 id, nor as the fraction of a decimal (ids, times and the SDK's timings are full of
/// digits).
fn has_number(text: &str, digits: &str) -> bool {
    text.match_indices(digits).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + digits.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// Everything logged while it is the default subscriber, as the functions format it.
#[derive(Clone, Default)]
struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let writer = self.clone();
        lambda_http::tracing::subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            // The most the functions ever log at (see `shared::http::serve`).
            .with_max_level(tracing::Level::DEBUG)
            .finish()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn charge_lists_page_at_any_depth_like_links() {
    let app = spawn_app().await;
    let (created, _) = new_link(&app, multiple_use("paged")).await;
    let link_id = id(&created);
    let owner = app.alice.test();
    let link = app
        .ctx
        .store
        .get_link(&owner, &link_id)
        .await
        .unwrap()
        .unwrap();
    // Charges from an hour ago, recorded by the payment transaction itself: settled members, so
    // that deep pages write and use list anchors as link lists do.
    let start = shared::chrono::Utc::now() - shared::chrono::Duration::hours(1);
    for i in 0..30 {
        let at = start + shared::chrono::Duration::seconds(i);
        app.record_charge_at(&link, at).await;
    }
    for list in [format!("/links/{link_id}/charges"), "/charges".to_owned()] {
        let all = get(&app, &format!("{list}?limit=100")).await;
        assert_eq!(all["total"], 30, "{list}");
        let ids: Vec<&str> = all["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "{list}: oldest first");
        for offset in [10, 20, 10] {
            let page = get(&app, &format!("{list}?limit=10&offset={offset}")).await;
            let page_ids: Vec<&str> = page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap())
                .collect();
            assert_eq!(page_ids, ids[offset..offset + 10], "{list} at {offset}");
        }
        let reverse = get(
            &app,
            &format!("{list}?limit=5&offset=5&order=reverse_chronological"),
        )
        .await;
        assert_eq!(reverse["data"][0]["id"], ids[24], "{list} in reverse");
    }
    app.assert_counters_agree(&owner).await;

    // The deep pages left anchors behind, each kept for a week.
    let now = shared::chrono::Utc::now().timestamp();
    let anchors: Vec<i64> = app
        .items_where("pk", "ANCHOR#")
        .await
        .iter()
        .map(|item| item["expires_at"].as_n().unwrap().parse().unwrap())
        .collect();
    assert!(anchors.len() >= 4, "{anchors:?}");
    let week = 7 * 24 * 3600;
    assert!(
        anchors.iter().all(|at| (at - now - week).abs() < 120),
        "{anchors:?} vs {now}"
    );
}

#[tokio::test]
async fn with_no_payment_base_url_links_lead_to_the_apis_own_page() {
    let configured = spawn_app().await;
    let app = TestApp {
        ctx: links_tests::test_context(shared::AppContext::new(
            shared::store::Store::new(links_tests::local_client(), configured.ctx.store.table()),
            "",
        )),
        alice: configured.alice.clone(),
        bob: configured.bob.clone(),
    };
    // The gateway's domain, as API Gateway names it in every event (see tools::gateway).
    let own = "https://abc123.execute-api.us-east-1.amazonaws.com";
    let link = app
        .create_link(&app.alice.test_key, TestApp::link_params("derived"))
        .await;
    let uri = link["payment_uri"].as_str().unwrap();
    assert!(uri.starts_with(&format!("{own}/pay/")), "{uri}");
    let path = &uri[own.len()..];
    let page = app.call("GET", path).send().await;
    assert!(page.text.contains(&format!("content=\"{uri}\"")), "og:url");
    let elsewhere = app
        .call("POST", path)
        .header("origin", ORIGIN)
        .form(&card_form(path, GOOD_CARD))
        .send()
        .await;
    assert_eq!(elsewhere.status, 403, "another origin than the API's own");
    let paid = app
        .call("POST", path)
        .header("origin", own)
        .form(&card_form(path, GOOD_CARD))
        .send()
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let charge = get(&app, "/charges").await;
    let return_uri = charge["data"][0]["return_uri"].as_str().unwrap();
    assert!(
        return_uri.starts_with(&format!("{uri}/complete?attempt=")),
        "{return_uri}"
    );
}

#[tokio::test]
async fn recounting_links_leaves_the_charges_counters_alone() {
    let app = spawn_app().await;
    let (_, path) = new_link(&app, TestApp::link_params("recount")).await;
    assert_eq!(
        pay(&app, &path, &card_form(&path, GOOD_CARD)).await.status,
        200
    );
    let owner = app.alice.test();
    assert_eq!(app.ctx.store.recount_links(&owner).await.unwrap(), 1);
    assert_eq!(get(&app, "/charges").await["total"], 1);
    assert_eq!(get(&app, "/links").await["total"], 1);
    app.assert_counters_agree(&owner).await;
}

#[tokio::test]
async fn idempotency_and_attempt_records_are_kept_for_a_day() {
    let app = spawn_app().await;
    let created = app
        .call("POST", "/links")
        .key(&app.alice.test_key)
        .header("idempotency-key", "order-1")
        .json(&TestApp::link_params("kept a day"))
        .send()
        .await;
    assert_eq!(created.status, 200);
    let (_, path) = new_link(&app, TestApp::link_params("attempted")).await;
    assert_eq!(
        pay(&app, &path, &card_form(&path, GOOD_CARD)).await.status,
        200
    );
    let now = shared::chrono::Utc::now().timestamp();
    let records: Vec<(String, i64)> = app
        .table_items()
        .await
        .iter()
        .filter_map(|item| {
            let sk = item["sk"].as_s().unwrap();
            (sk.starts_with("IDEM#") || sk.starts_with("ATTEMPT#")).then(|| {
                let expires = item["expires_at"].as_n().unwrap().parse().unwrap();
                (sk[..4].to_owned(), expires)
            })
        })
        .collect();
    assert_eq!(records.len(), 2, "{records:?}");
    let day = 24 * 3600;
    assert!(
        records.iter().all(|(_, at)| (at - now - day).abs() < 120),
        "{records:?} vs {now}"
    );
}

#[tokio::test]
async fn a_destroy_racing_payments_answers_and_records_every_charge_made_before_it() {
    let app = spawn_app().await;
    // A payment committing between the destroy's read and its write would leave the answer, and
    // the `link.destroy` event, without that charge. Several rounds, so the window is hit.
    for round in 0..4 {
        let (created, path) = new_link(&app, multiple_use(&format!("closing {round}"))).await;
        let forms: Vec<String> = (0..30).map(|_| card_form(&path, GOOD_CARD)).collect();
        let destroy = async {
            tokio::time::sleep(std::time::Duration::from_millis(5 * round)).await;
            app.call("DELETE", &format!("/links/{}", id(&created)))
                .key(&app.alice.test_key)
                .send()
                .await
        };
        let (answers, destroyed) = tokio::join!(
            join_all(forms.iter().map(|form| pay(&app, &path, form))),
            destroy
        );

        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert!(
            statuses.iter().all(|s| [200, 410].contains(s)),
            "{statuses:?}"
        );
        let paid = statuses.iter().filter(|s| **s == 200).count() as u64;
        assert_eq!(destroyed.status, 200, "{}", destroyed.text);
        // Every payment that was taken came before the destroy: it is in the destroy's answer.
        assert_eq!(destroyed.body["charges"]["total"], paid, "round {round}");
        let link = get(&app, &format!("/links/{}", id(&created))).await;
        assert_eq!(link["charges"]["total"], paid);
        let events = get(&app, "/events?limit=100&order=reverse_chronological").await;
        let event = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == "link.destroy" && e["data"]["id"] == created["id"])
            .expect("a link.destroy event")
            .clone();
        assert_eq!(event["data"], destroyed.body);
    }
    app.assert_counters_agree(&app.alice.test()).await;
}
