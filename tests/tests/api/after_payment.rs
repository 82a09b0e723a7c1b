//! `after_payment_uri`, beyond Omise's link: an `https` address of the merchant's that the
//! receipt offers, as a link the buyer sees and follows, with the charge's id; never a redirect.

use links_tests::buyer::{GOOD_CARD, card_form, page_path, post};
use links_tests::{TestApp, spawn_app};
use serde_json::json;

#[tokio::test]
async fn the_receipt_offers_the_way_back_with_the_charge_id_and_no_redirect() {
    // Arrange: the merchant's address has a query and a fragment already, and characters that
    // must be escaped in the page.
    let app = spawn_app().await;
    let mut params = TestApp::link_params("ร้านกาแฟ");
    params["after_payment_uri"] = "https://shop.example/orders/1042?from=link&x=\"a\"#done".into();
    let link = app.create_link(&app.alice.test_key, params).await;
    assert_eq!(
        link["after_payment_uri"],
        "https://shop.example/orders/1042?from=link&x=\"a\"#done"
    );
    let path = page_path(&link);

    // Act
    let paid = post(&app, &path, &card_form(&path, GOOD_CARD)).await;

    // Assert: the receipt itself (200, no Location), with the link back.
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert!(!paid.headers.contains_key("location"));
    let charge = app
        .call("GET", "/charges?limit=1")
        .key(&app.alice.test_key)
        .send()
        .await
        .body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let expected = format!(
        "<a class=\"button\" href=\"https://shop.example/orders/1042?from=link&amp;x=&quot;a&quot;\
         &amp;charge={charge}#done\">Back to the shop (shop.example)</a>"
    );
    assert!(paid.text.contains(&expected), "{}", paid.text);
    // The page before paying offers nothing of it.
    let page = app.call("GET", &path).send().await;
    assert!(!page.text.contains("shop.example"), "{}", page.text);
}

#[tokio::test]
async fn only_an_https_address_of_a_public_host_is_taken() {
    let app = spawn_app().await;
    for (value, says) in [
        (
            json!("http://shop.example/thanks"),
            "must start with https://",
        ),
        (json!("javascript:alert(1)"), "must start with https://"),
        (
            json!("https://user:pw@shop.example/"),
            "user name or password",
        ),
        (json!("https://127.0.0.1/thanks"), "non-public address"),
        (json!("https://shop.example/a b"), "spaces"),
        (
            json!(format!("https://shop.example/{}", "a".repeat(2100))),
            "2048",
        ),
        (json!(42), "must be a string"),
    ] {
        let mut params = TestApp::link_params("x");
        params["after_payment_uri"] = value.clone();
        let response = app
            .call("POST", "/links")
            .key(&app.alice.test_key)
            .json(&params)
            .send()
            .await;
        assert_eq!(response.status, 400, "{value}");
        let message = response.body["message"].as_str().unwrap();
        assert!(
            message.starts_with("after_payment_uri ") && message.contains(says),
            "{value}: {message}"
        );
    }
    let plain = app
        .create_link(&app.alice.test_key, TestApp::link_params("y"))
        .await;
    assert!(!plain.as_object().unwrap().contains_key("after_payment_uri"));
    // A link without it: the receipt has no way back.
    let path = page_path(&plain);
    let paid = post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    assert_eq!(paid.status, 200);
    assert!(!paid.text.contains("Back to the shop"));
}
