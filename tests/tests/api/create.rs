use links_tests::{PAYMENT_BASE, TestApp, join_all, spawn_app};
use serde_json::{Value, json};

fn assert_link_shape(link: &Value) {
    let id = link["id"].as_str().expect("an id");
    assert!(
        id.starts_with("link_test_")
            && id[10..]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
        "{id}"
    );
    assert_eq!(link["object"], "link");
    assert_eq!(link["location"], format!("/links/{id}"));
    assert_eq!(link["livemode"], false);
    assert_eq!(link["used"], false);
    assert_eq!(link["deleted"], false);
    assert_eq!(link["deleted_at"], Value::Null);
    assert_eq!(link["used_at"], Value::Null);
    let created = link["created"].as_str().expect("created");
    assert!(
        shared::chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%dT%H:%M:%SZ").is_ok(),
        "{created}"
    );
    let charges = &link["charges"];
    assert_eq!(charges["object"], "list");
    assert_eq!(charges["data"], json!([]));
    assert_eq!(charges["total"], 0);
    assert_eq!(charges["location"], format!("/links/{id}/charges"));
    let uri = link["payment_uri"].as_str().expect("payment_uri");
    let token = uri
        .strip_prefix(&format!("{PAYMENT_BASE}/"))
        .expect("payment_uri under the configured base");
    assert!(token.len() >= 16, "{uri}");
    let keys: Vec<&String> = link.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 16, "unexpected fields: {keys:?}");
}

#[tokio::test]
async fn create_with_json_returns_the_link_in_omise_shape() {
    // Arrange
    let app = spawn_app().await;
    // Act
    let link = app
        .create_link(&app.alice.test_key, json!({"amount": 10000, "currency": "THB", "title": "Lunch", "description": "Pay me back"}))
        .await;
    // Assert
    assert_link_shape(&link);
    assert_eq!(link["amount"], 10000);
    assert_eq!(link["currency"], "thb");
    assert_eq!(link["title"], "Lunch");
    assert_eq!(link["description"], "Pay me back");
    assert_eq!(link["multiple"], false);
}

#[tokio::test]
async fn create_with_a_form_body_parses_strings_and_booleans() {
    let app = spawn_app().await;
    let response = app
        .call("POST", "/links")
        .key(&app.alice.test_key)
        .form("amount=2000&currency=thb&title=%E0%B8%84%E0%B9%88%E0%B8%B2%E0%B8%AD%E0%B8%B2%E0%B8%AB%E0%B8%B2%E0%B8%A3&description=two+words&multiple=true")
        .send()
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_link_shape(&response.body);
    assert_eq!(response.body["amount"], 2000);
    assert_eq!(response.body["title"], "ค่าอาหาร");
    assert_eq!(response.body["description"], "two words");
    assert_eq!(response.body["multiple"], true);
    assert_eq!(
        response.headers["content-type"],
        "application/json; charset=utf-8"
    );
}

#[tokio::test]
async fn thai_and_emoji_text_round_trips_byte_for_byte() {
    let app = spawn_app().await;
    // Decomposed and precomposed forms, zero-width joiners and surrogate pairs must all survive.
    let title = "ชำระค่าอาหาร 🍜 กะเพราไก่ + ไข่ดาว";
    let description = "บรรทัดแรก\nบรรทัดที่สอง\t👨‍👩‍👧 e\u{301} é";
    // As the Python client sends it: every non-ASCII character as a \uXXXX escape.
    let escaped = serde_json::to_string(
        &json!({"amount": 50000, "currency": "thb", "title": title, "description": description}),
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
    .collect::<String>();
    assert!(
        escaped.contains("\\ud83c\\udf5c"),
        "the emoji goes as a surrogate pair"
    );
    let created = app
        .call("POST", "/links")
        .key(&app.alice.test_key)
        .header("content-type", "application/json")
        .raw(escaped.as_bytes())
        .send()
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let fetched = app
        .call("GET", &format!("/links/{id}"))
        .key(&app.alice.test_key)
        .send()
        .await;
    for link in [&created.body, &fetched.body] {
        assert_eq!(link["title"].as_str().unwrap().as_bytes(), title.as_bytes());
        assert_eq!(
            link["description"].as_str().unwrap().as_bytes(),
            description.as_bytes()
        );
    }
}

#[tokio::test]
async fn every_validation_rule_answers_a_clear_400() {
    let app = spawn_app().await;
    let valid = || TestApp::link_params("t");
    let with = |key: &str, value: Value| {
        let mut v = valid();
        v[key] = value;
        v
    };
    let without = |key: &str| {
        let mut v = valid();
        v.as_object_mut().unwrap().remove(key);
        v
    };
    let cases = [
        (without("amount"), "bad_request", "amount"),
        (with("amount", json!("12.5")), "invalid_amount", "integer"),
        (
            with("amount", json!(1999)),
            "invalid_amount",
            "at least 2000",
        ),
        (
            with("amount", json!(100_000_001)),
            "invalid_amount",
            "at most 100000000",
        ),
        (
            with("currency", json!("btc")),
            "bad_request",
            "currency btc is not supported",
        ),
        (without("currency"), "bad_request", "currency is required"),
        (without("title"), "bad_request", "title is required"),
        (
            with("title", json!("   ")),
            "bad_request",
            "title must not be blank",
        ),
        (
            with("title", json!("x".repeat(256))),
            "bad_request",
            "title must be at most 255",
        ),
        (
            without("description"),
            "bad_request",
            "description is required",
        ),
        (
            with("description", json!("")),
            "bad_request",
            "description must not be blank",
        ),
        (
            with("description", json!("ก".repeat(1025))),
            "bad_request",
            "description must be at most 1024",
        ),
        (
            with("multiple", json!("maybe")),
            "bad_request",
            "multiple must be a boolean",
        ),
    ];
    for (body, code, message) in cases {
        let response = app
            .call("POST", "/links")
            .key(&app.alice.test_key)
            .json(&body)
            .send()
            .await;
        let got = response.assert_error(400, code);
        assert!(got.contains(message), "{body}: {got}");
    }
    let jpy = app
        .call("POST", "/links")
        .key(&app.alice.test_key)
        .json(&json!({"amount": 99, "currency": "jpy", "title": "t", "description": "d"}))
        .send()
        .await;
    assert!(
        jpy.assert_error(400, "invalid_amount")
            .contains("at least 100 (100 jpy)")
    );
    let list = app
        .call("GET", "/links")
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(list.body["total"], 0, "refused creates must write nothing");
}

#[tokio::test]
async fn malformed_bodies_are_refused_without_writing() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let not_json = app
        .call("POST", "/links")
        .key(key)
        .header("content-type", "application/json")
        .raw(b"{\"amount\":")
        .send()
        .await;
    not_json.assert_error(400, "bad_request");
    let array = app
        .call("POST", "/links")
        .key(key)
        .json(&json!([1, 2]))
        .send()
        .await;
    array.assert_error(400, "bad_request");
    let bad_utf8 = app
        .call("POST", "/links")
        .key(key)
        .header("content-type", "application/json")
        .raw(b"{\"title\":\"\xe0\xb8\"}")
        .send()
        .await;
    bad_utf8.assert_error(400, "bad_request");
    let lone_surrogate = app
        .call("POST", "/links")
        .key(key)
        .header("content-type", "application/json")
        .raw(br#"{"title":"\ud83c"}"#)
        .send()
        .await;
    lone_surrogate.assert_error(400, "bad_request");
    let bad_form = app
        .call("POST", "/links")
        .key(key)
        .form("title=%E0%B8&amount=2000")
        .send()
        .await;
    bad_form.assert_error(400, "bad_request");
    let xml = app
        .call("POST", "/links")
        .key(key)
        .header("content-type", "application/xml")
        .raw(b"<link/>")
        .send()
        .await;
    xml.assert_error(415, "unsupported_media_type");
    let empty = app
        .call("POST", "/links")
        .key(key)
        .header("content-type", "application/json")
        .send()
        .await;
    assert!(
        empty
            .assert_error(400, "bad_request")
            .contains("is required")
    );
    let list = app.call("GET", "/links").key(key).send().await;
    assert_eq!(list.body["total"], 0);
}

#[tokio::test]
async fn live_keys_create_live_links() {
    let app = spawn_app().await;
    let link = app
        .create_link(&app.alice.live_key, TestApp::link_params("live"))
        .await;
    let id = link["id"].as_str().unwrap();
    assert!(
        id.starts_with("link_") && !id.starts_with("link_test_"),
        "{id}"
    );
    assert_eq!(link["livemode"], true);
}

#[tokio::test]
async fn concurrent_creates_in_one_account_all_succeed_and_are_counted() {
    let app = spawn_app().await;
    let creates = (0..40).map(|i| {
        app.create_link(
            &app.alice.test_key,
            TestApp::link_params(&format!("link {i}")),
        )
    });
    let links = join_all(creates).await;
    let ids: std::collections::HashSet<_> = links
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 40);
    let list = app
        .call("GET", "/links?limit=100")
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(list.body["total"], 40);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 40);
}
