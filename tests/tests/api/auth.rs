use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use links_tests::{TestApp, spawn_app};

#[tokio::test]
async fn every_route_refuses_missing_or_wrong_keys_with_401() {
    let app = spawn_app().await;
    let id = app
        .create_link(&app.alice.test_key, TestApp::link_params("x"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown_key = format!("skey_test_{}", "0".repeat(25));
    let routes = [
        ("POST", "/links".to_owned()),
        ("GET", "/links".to_owned()),
        ("GET", format!("/links/{id}")),
        ("DELETE", format!("/links/{id}")),
        ("GET", format!("/links/{id}/charges")),
    ];
    let headers = [
        None,
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{unknown_key}:"))
        )),
        Some(format!("Basic {}", STANDARD.encode("pkey_test_123:"))),
        Some(format!("Bearer {}", app.alice.test_key)),
        Some("Basic not-base64!".to_owned()),
        Some(format!("Basic {}", STANDARD.encode(":"))),
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{}x:", app.alice.test_key))
        )),
    ];
    for (method, path) in &routes {
        for header in &headers {
            let mut call = app.call(method, path);
            if let Some(value) = header {
                call = call.header("authorization", value);
            }
            let response = call.send().await;
            let message = response.assert_error(401, "authentication_failure");
            assert_eq!(message, "authentication failed");
            assert!(response.headers.contains_key("www-authenticate"));
            assert!(
                !response.body.to_string().contains("skey_"),
                "never echo a key: {:?}",
                response.body
            );
        }
    }
    let still_there = app
        .call("GET", &format!("/links/{id}"))
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(
        still_there.body["deleted"], false,
        "an unauthenticated DELETE must change nothing"
    );
}

#[tokio::test]
async fn the_password_part_is_ignored_as_omise_does() {
    let app = spawn_app().await;
    let header = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:anything", app.alice.test_key))
    );
    let response = app
        .call("GET", "/links")
        .header("authorization", &header)
        .send()
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
}

#[tokio::test]
async fn keys_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    let items = app
        .ctx
        .store
        .client()
        .scan()
        .table_name(app.ctx.store.table())
        .send()
        .await
        .unwrap();
    let dump = format!("{:?}", items.items());
    assert!(dump.contains("KEY#"), "key items exist");
    for key in [&app.alice.test_key, &app.alice.live_key, &app.bob.test_key] {
        assert!(!dump.contains(key.as_str()), "secret key stored in clear");
        assert!(
            !dump.contains(&key[10..]),
            "secret key body stored in clear"
        );
    }
}
