//! Paying a link through Omise (the stand-in), in-process through the payment page's
//! functions: the tokenized page, the token posted, 3-D Secure at Omise's page, lost answers.

use links_tests::buyer::{
    GOOD_CARD, card_form, follow, location, open, page_path, post, promptpay_form,
};
use links_tests::omise::{OmiseAccount, StandIn};
use links_tests::{TestApp, attempt_key, spawn_app, test_sealer};
use serde_json::{Value, json};
use shared::domain::principal::Principal;
use shared::processor::{Gateways, OmiseBrowser};
use shared::sealed::Secret;
use shared::store::settings::{Gateway, OMISE_SECRET_KEY_PURPOSE, OmiseKeys, sealed_context};
use std::sync::Arc;

pub struct Shop {
    pub app: TestApp,
    pub standin: StandIn,
    pub omise: OmiseAccount,
    pub livemode: bool,
}

/// Alice's account, in `livemode`, paying through an Omise account at the stand-in made with
/// `spec`.
pub async fn shop(livemode: bool, spec: Value) -> Shop {
    shop_with_webhook_secret(livemode, spec, None).await
}

/// The same, with Omise's webhook secret (base64) set for the account, as links-admin sets it.
pub async fn shop_with_webhook_secret(livemode: bool, spec: Value, webhook: Option<&str>) -> Shop {
    let mut app = spawn_app().await;
    let standin = StandIn::start();
    let mut spec = spec;
    spec["livemode"] = livemode.into();
    let omise = standin.account(spec);
    let owner = Principal {
        account_id: app.alice.id.clone(),
        livemode,
    };
    let sealed = test_sealer()
        .seal(
            &Secret::new(&omise.secret_key),
            &sealed_context(&owner, OMISE_SECRET_KEY_PURPOSE),
        )
        .await
        .unwrap();
    let webhook_secret = match webhook {
        Some(secret) => Some(
            test_sealer()
                .seal(
                    &Secret::new(secret),
                    &sealed_context(
                        &owner,
                        shared::store::settings::OMISE_WEBHOOK_SECRET_PURPOSE,
                    ),
                )
                .await
                .unwrap(),
        ),
        None => None,
    };
    let keys = OmiseKeys {
        public_key: omise.public_key.clone(),
        secret_key: sealed,
        webhook_secret,
    };
    app.ctx
        .store
        .set_gateway(&owner, &Gateway::Omise(keys))
        .await
        .unwrap();
    let url = standin.url();
    app.ctx.processor = Arc::new(Gateways::new(
        app.ctx.store.clone(),
        Some(test_sealer()),
        &url,
    ));
    app.ctx.omise_browser = OmiseBrowser::new(&format!("{url}/omise.js"), &url, &url);
    app.ctx.sealer = Some(test_sealer());
    Shop {
        app,
        standin,
        omise,
        livemode,
    }
}

impl Shop {
    pub async fn link(&self, title: &str) -> String {
        let key = if self.livemode {
            &self.app.alice.live_key
        } else {
            &self.app.alice.test_key
        };
        let link = self.app.create_link(key, TestApp::link_params(title)).await;
        page_path(&link)
    }

    pub fn token(&self, number: &str) -> String {
        self.standin.token(&self.omise.public_key, number)
    }

    pub fn token_form(&self, path: &str, token: &str) -> String {
        format!("attempt={}&lang=en&omise_token={token}", attempt_key(path))
    }

    /// The calls the service made to Omise's API (not the vault, not the test controls), as
    /// `METHOD /path`, charge ids blanked.
    pub fn omise_calls(&self) -> Vec<String> {
        self.standin
            .received()
            .iter()
            .filter(|r| {
                let path = r["path"].as_str().unwrap();
                path != "/tokens"
                    && !path.starts_with("/__standin")
                    && !path.starts_with("/authorize")
            })
            .map(|r| {
                let path = r["path"].as_str().unwrap();
                let path: Vec<&str> = path
                    .split('/')
                    .map(|part| {
                        if part.starts_with("chrg_") {
                            "{id}"
                        } else {
                            part
                        }
                    })
                    .collect();
                format!("{} {}", r["method"].as_str().unwrap(), path.join("/"))
            })
            .collect()
    }

    pub async fn charges(&self) -> Value {
        let key = if self.livemode {
            &self.app.alice.live_key
        } else {
            &self.app.alice.test_key
        };
        self.app.call("GET", "/charges").key(key).send().await.body
    }
}

#[tokio::test]
async fn the_page_tokenizes_the_card_with_omise_js_and_names_no_card_input() {
    for livemode in [false, true] {
        let shop = shop(livemode, json!({})).await;
        let path = shop.link("tokenized").await;
        let page = open(&shop.app, &path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let html = &page.text;
        assert!(html.contains(&format!("data-omise-key=\"{}\"", shop.omise.public_key)));
        assert!(html.contains(&format!(
            "<script src=\"{}/omise.js\"></script>",
            shop.standin.url()
        )));
        assert!(html.contains("name=\"omise_token\""));
        for input in [
            "name",
            "number",
            "expiration_month",
            "expiration_year",
            "security_code",
        ] {
            assert!(html.contains(&format!("id=\"{input}\"")), "{input}");
            assert!(
                !html.contains(&format!("name=\"{input}\"")),
                "{input} would be posted"
            );
        }
        assert!(!html.contains("4242"), "no test card hint on an Omise page");
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        let origin = shop.standin.url();
        assert!(csp.contains(&format!("connect-src {origin};")), "{csp}");
        assert!(
            csp.contains(&format!("form-action 'self' {origin};")),
            "{csp}"
        );
        assert!(!csp.contains("unsafe") && !csp.contains('*'), "{csp}");
        // PromptPay through Omise is offered on a THB link, as a form with no card field.
        assert!(
            html.contains("name=\"source_type\" value=\"promptpay\""),
            "{html}"
        );
    }
}

#[tokio::test]
async fn a_card_number_posted_to_an_omise_page_is_refused_and_goes_nowhere() {
    let shop = shop(true, json!({})).await;
    let path = shop.link("no numbers").await;
    let before = shop.app.table_items().await.len();
    let refused = post(&shop.app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(refused.status, 400);
    // With a token beside it: refused too.
    let both = format!(
        "{}&omise_token={}",
        card_form(&path, GOOD_CARD),
        shop.token(GOOD_CARD)
    );
    assert_eq!(post(&shop.app, &path, &both).await.status, 400);
    assert_eq!(shop.app.table_items().await.len(), before);
    assert!(shop.standin.charges(&shop.omise.secret_key).is_empty());
    assert!(
        shop.standin
            .received()
            .iter()
            .all(|r| !r["body"].as_str().unwrap().contains(GOOD_CARD) || r["path"] == "/tokens")
    );
}

#[tokio::test]
async fn a_live_card_is_paid_through_omise_once_however_often_the_form_is_posted() {
    let shop = shop(true, json!({})).await;
    let path = shop.link("live lunch").await;
    let form = shop.token_form(&path, &shop.token(GOOD_CARD));
    let paid = post(&shop.app, &path, &form).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert!(paid.text.contains("Payment successful"), "{}", paid.text);
    // Posted again (a double click, a reload): the same payment, nothing asked of Omise again.
    let again = post(&shop.app, &path, &form).await;
    assert!(again.text.contains("Payment successful"));
    let at_omise = shop.standin.charges(&shop.omise.secret_key);
    assert_eq!(at_omise.len(), 1);
    // One call to Omise for the payment, none for the form posted again.
    assert_eq!(shop.omise_calls(), ["POST /charges"]);
    let charges = shop.charges().await;
    assert_eq!(charges["total"], 1);
    let charge = &charges["data"][0];
    assert_eq!(
        (charge["status"].as_str(), charge["livemode"].as_bool()),
        (Some("successful"), Some(true))
    );
    assert_eq!(charge["card"]["last_digits"], "4242");
    assert_eq!(charge["transaction"], at_omise[0]["transaction"]);
    // Omise holds the link and attempt, to find it by.
    let link = &shop
        .app
        .call("GET", "/links")
        .key(&shop.app.alice.live_key)
        .send()
        .await
        .body["data"][0]["id"];
    assert_eq!(&at_omise[0]["metadata"]["link"], link);
    // A single-use link paid: the page says so.
    assert!(
        open(&shop.app, &path)
            .await
            .text
            .contains("This link has been paid")
    );
}

#[tokio::test]
async fn a_declined_card_at_omise_is_told_and_the_link_stays_payable() {
    let shop = shop(false, json!({})).await;
    let path = shop.link("declined").await;
    let declined = post(
        &shop.app,
        &path,
        &shop.token_form(&path, &shop.token("4111111111140011")),
    )
    .await;
    assert!(
        declined.text.contains("declined") || declined.text.contains("Declined"),
        "{}",
        declined.text
    );
    let paid = post(
        &shop.app,
        &path,
        &shop.token_form(&path, &shop.token(GOOD_CARD)),
    )
    .await;
    assert!(paid.text.contains("Payment successful"), "{}", paid.text);
    let statuses: Vec<Value> = shop.charges().await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(statuses.contains(&json!("failed")) && statuses.contains(&json!("successful")));
}

#[tokio::test]
async fn three_d_secure_at_omise_is_read_back_from_omise_on_return() {
    let shop = shop(true, json!({"three_d_secure": true})).await;
    let path = shop.link("secure").await;
    let sent = post(
        &shop.app,
        &path,
        &shop.token_form(&path, &shop.token(GOOD_CARD)),
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.text);
    let bank = sent.headers["location"].to_str().unwrap().to_owned();
    assert!(
        bank.starts_with(&shop.standin.url()),
        "sent to Omise's page: {bank}"
    );
    // Returning before authenticating, or with a forged query: the charge is read from Omise,
    // still pending.
    let charge_id = shop.standin.charges(&shop.omise.secret_key)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, charge) = shop.standin.request(
        "GET",
        &format!("/charges/{charge_id}"),
        Some(&shop.omise.secret_key),
        "",
        "",
    );
    let return_uri = serde_json::from_str::<Value>(&charge).unwrap()["return_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = return_uri
        .strip_prefix(links_tests::PAYMENT_BASE)
        .map(|r| format!("/pay{r}"))
        .unwrap();
    let early = open(&shop.app, &format!("{back}&status=successful")).await;
    assert!(!early.text.contains("Payment successful"), "{}", early.text);
    // The buyer passes at the bank, and comes back.
    let path_at_bank = bank.trim_start_matches(&shop.standin.url()).to_owned();
    let (status, body) = shop.standin.request(
        "POST",
        &path_at_bank,
        None,
        "application/x-www-form-urlencoded",
        "result=pass",
    );
    assert_eq!(status, 303, "{bank} {path_at_bank}: {body}");
    let before = shop.omise_calls().len();
    let receipt = open(&shop.app, &back).await;
    // The return reads the charge from Omise once.
    assert_eq!(shop.omise_calls()[before..], ["GET /charges/{id}"]);
    assert!(
        receipt.text.contains("Payment successful"),
        "{}",
        receipt.text
    );
    assert_eq!(shop.charges().await["data"][0]["status"], "successful");
}

#[tokio::test]
async fn a_lost_answer_from_omise_is_found_never_charged_twice_and_told_truthfully() {
    let shop = shop(true, json!({})).await;
    let path = shop.link("lost").await;
    // Omise makes the charge, then its answer never comes (longer than the 5 s the service waits).
    shop.standin.arm("POST /charges", "lost_timeout", 7.0);
    let form = shop.token_form(&path, &shop.token(GOOD_CARD));
    let unknown = post(&shop.app, &path, &form).await;
    assert!(
        !unknown.text.contains("Payment successful"),
        "{}",
        unknown.text
    );
    assert!(!unknown.text.contains("declined"), "{}", unknown.text);
    assert_eq!(shop.standin.charges(&shop.omise.secret_key).len(), 1);
    // The buyer posts the form again: the attempt is found at Omise by its key, not charged again.
    let found = post(&shop.app, &path, &form).await;
    let settled = if found.status == 303 {
        follow(&shop.app, &found).await
    } else {
        found
    };
    let charges = shop.charges().await;
    assert_eq!(shop.standin.charges(&shop.omise.secret_key).len(), 1);
    if settled.text.contains("Payment successful") {
        assert_eq!(charges["data"][0]["status"], "successful");
    } else {
        // Not settled on this post (the attempt's time is not up): the sweep settles it later.
        assert!(charges["total"].as_i64().unwrap() <= 1, "{charges}");
    }
    let _ = location;
}

#[tokio::test]
async fn live_promptpay_shows_omises_qr_redrawn_on_the_page_and_is_read_back_when_paid() {
    // Arrange
    let shop = shop(true, json!({})).await;
    let path = shop.link("พร้อมเพย์").await;
    let page = open(&shop.app, &path).await;
    assert!(
        page.text.contains("id=\"promptpay\""),
        "PromptPay is offered: {}",
        page.text
    );

    // Act: the buyer chooses PromptPay, and lands on the page that waits for it.
    let sent = post(&shop.app, &path, &promptpay_form(&path)).await;
    assert_eq!(sent.status, 303, "{}", sent.text);
    let waiting = follow(&shop.app, &sent).await;
    let again = follow(&shop.app, &sent).await;

    // Assert: Omise's image, redrawn inline: its shapes, none of its script or text, and
    // nothing for the browser to load from Omise.
    assert_eq!(waiting.status, 200, "{}", waiting.text);
    let main = &waiting.text[waiting.text.find("<main").unwrap()..];
    assert!(
        main.contains(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 33 33\" role=\"img\""
        ),
        "{main}"
    );
    let inline = &main[main.find("<svg").unwrap()..];
    assert_eq!(
        links_tests::qr::decode(inline),
        "STAND-IN PROMPTPAY: NOT A PAYMENT"
    );
    assert!(
        !waiting.text.contains("STAND-IN") && !waiting.text.contains("alert("),
        "{main}"
    );
    assert!(
        !waiting.text.contains(&shop.standin.url()),
        "nothing of Omise's is loaded"
    );
    assert!(!waiting.text.contains("cannot be shown"), "{main}");
    assert_eq!(again.status, 200);
    // One charge made; each view reads it from Omise; the image is fetched once and kept.
    let calls = shop.omise_calls();
    let downloads = calls.iter().filter(|c| c.contains("/documents/")).count();
    assert_eq!(downloads, 1, "{calls:?}");
    assert_eq!(calls[0], "POST /charges", "{calls:?}");
    let charges = shop.standin.charges(&shop.omise.secret_key);
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["source"]["type"], "promptpay");

    // The buyer's bank pays it; the page, read again, shows the receipt from Omise's answer.
    shop.standin.scan(charges[0]["id"].as_str().unwrap(), true);
    let paid = follow(&shop.app, &sent).await;
    assert!(paid.text.contains("Payment successful"), "{}", paid.text);
    let served = shop.charges().await;
    assert_eq!(served["data"][0]["status"], "successful");
    assert_eq!(served["data"][0]["source"]["type"], "promptpay");
}

#[tokio::test]
async fn a_qr_image_omise_cannot_give_leaves_the_payment_waiting_and_says_so() {
    let shop = shop(true, json!({})).await;
    let path = shop.link("qr").await;
    let sent = post(&shop.app, &path, &promptpay_form(&path)).await;
    assert_eq!(sent.status, 303, "{}", sent.text);
    // Omise fails the image's download this time (it is not tried twice: the page refreshes).
    shop.standin
        .arm("GET /charges/*/documents", "error_500", 0.0);

    let waiting = follow(&shop.app, &sent).await;

    assert_eq!(waiting.status, 200, "{}", waiting.text);
    assert!(
        waiting
            .text
            .contains("The QR code cannot be shown just now"),
        "{}",
        waiting.text
    );
    assert!(
        waiting.headers.contains_key("refresh"),
        "it asks again by itself"
    );
    let shown = follow(&shop.app, &sent).await;
    assert!(
        shown
            .text
            .contains("role=\"img\" aria-label=\"PromptPay QR code\""),
        "shown at the next refresh: {}",
        shown.text
    );
}
