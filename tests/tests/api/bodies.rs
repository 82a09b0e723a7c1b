//! What a request body may be: its size, its encoding, and keys given once.

use links_tests::{TestApp, spawn_app};
use serde_json::json;
use shared::http::request::MAX_BODY_BYTES;

#[tokio::test]
async fn a_body_over_the_limit_answers_413_and_writes_nothing() {
    // Arrange: a valid create padded with an unknown parameter past the limit.
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let mut padded = TestApp::link_params("big");
    padded["padding"] = json!("x".repeat(MAX_BODY_BYTES));

    // Act
    let response = app
        .call("POST", "/links")
        .key(key)
        .json(&padded)
        .send()
        .await;

    // Assert
    assert!(
        response
            .assert_error(413, "payload_too_large")
            .contains(&MAX_BODY_BYTES.to_string())
    );
    let list = app.call("GET", "/links").key(key).send().await;
    assert_eq!(list.body["total"], 0);
}

#[tokio::test]
async fn the_longest_valid_create_fits_even_fully_escaped() {
    // Every character of a maximal title and description sent as a \u surrogate pair escape,
    // the largest a client library could make a valid create.
    let app = spawn_app().await;
    let title = "😀".repeat(255);
    let description = "😀".repeat(1024);
    let escaped: String = serde_json::to_string(
        &json!({"amount": 2000, "currency": "thb", "title": title, "description": description}),
    )
    .unwrap()
    .chars()
    .flat_map(|c| {
        if c.is_ascii() {
            vec![c.to_string()]
        } else {
            c.encode_utf16(&mut [0; 2])
                .iter()
                .map(|u| format!("\\u{u:04x}"))
                .collect()
        }
    })
    .collect();
    assert!(escaped.len() > 15_000 && escaped.len() <= MAX_BODY_BYTES);
    let response = app
        .call("POST", "/links")
        .key(&app.alice.test_key)
        .header("content-type", "application/json")
        .raw(escaped.as_bytes())
        .send()
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body["title"], title);
}

#[tokio::test]
async fn compressed_or_unknown_encodings_answer_415() {
    let app = spawn_app().await;
    for encoding in ["gzip", "br", "something-else"] {
        let response = app
            .call("POST", "/links")
            .key(&app.alice.test_key)
            .header("content-encoding", encoding)
            .json(&TestApp::link_params("not really compressed"))
            .send()
            .await;
        assert!(
            response
                .assert_error(415, "unsupported_media_type")
                .contains(encoding)
        );
    }
    let list = app
        .call("GET", "/links")
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(list.body["total"], 0);
}

#[tokio::test]
async fn duplicate_keys_and_repeated_parameters_answer_400_naming_them() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let json = app
        .call("POST", "/links")
        .key(key)
        .header("content-type", "application/json")
        .raw(br#"{"amount":2000,"currency":"thb","title":"t","description":"d","amount":50000}"#)
        .send()
        .await;
    assert!(
        json.assert_error(400, "bad_request")
            .contains("amount is given more than once")
    );
    let form = app
        .call("POST", "/links")
        .key(key)
        .form("amount=2000&currency=thb&title=t&description=d&title=u")
        .send()
        .await;
    assert_eq!(
        form.assert_error(400, "bad_request"),
        "title is given more than once"
    );
    let query = app
        .call("GET", "/links?limit=1&limit=100")
        .key(key)
        .send()
        .await;
    assert_eq!(
        query.assert_error(400, "bad_request"),
        "limit is given more than once"
    );
    let list = app.call("GET", "/links").key(key).send().await;
    assert_eq!(list.body["total"], 0);
}

#[tokio::test]
async fn a_title_of_invisible_characters_is_blank() {
    let app = spawn_app().await;
    for title in [
        "\u{200B}",
        "\u{200B}\u{200D}\u{FEFF}",
        " \u{2060} ",
        "\u{3164}",
    ] {
        let response = app
            .call("POST", "/links")
            .key(&app.alice.test_key)
            .json(&TestApp::link_params(title))
            .send()
            .await;
        assert!(
            response
                .assert_error(400, "bad_request")
                .contains("title must not be blank"),
            "{title:?}"
        );
    }
}
