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
    let dump = format!("{:?}", app.table_items().await);
    assert!(dump.contains("KEY#"), "key items exist");
    for key in [&app.alice.test_key, &app.alice.live_key, &app.bob.test_key] {
        assert!(!dump.contains(key.as_str()), "secret key stored in clear");
        assert!(
            !dump.contains(&key[10..]),
            "secret key body stored in clear"
        );
    }
}

mod keys {
    use links_tests::faults::FaultProxy;
    use links_tests::{
        TestApp, client_for, dynamodb_endpoint, spawn_app, spawn_app_with, spawn_app_with_auth,
    };
    use shared::auth::{AuthLimits, Authenticator, FAILURE_BURST};
    use shared::chrono::Utc;
    use std::time::Duration;

    const SHORT: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn a_revoked_key_stops_working_once_the_cache_forgets_it() {
        // Arrange: a key cache of 300 ms instead of 60 s, and a second key for the account.
        let app = spawn_app_with_auth(AuthLimits {
            known_ttl: SHORT,
            ..AuthLimits::default()
        })
        .await;
        let store = &app.ctx.store;
        let new = store
            .create_key(&app.alice.id, false, Utc::now())
            .await
            .unwrap();
        let list = |key: &str| app.call("GET", "/links").key(key).send();
        assert_eq!(
            list(&new.secret).await.status,
            200,
            "a new key works at once"
        );

        // Act
        let revoked = store
            .revoke_key(&app.alice.id, &new.id, Utc::now())
            .await
            .unwrap();

        // Assert: still accepted by this warm instance within the window, refused after it.
        assert!(revoked.revoked_at.is_some());
        assert_eq!(list(&new.secret).await.status, 200);
        tokio::time::sleep(SHORT + Duration::from_millis(50)).await;
        list(&new.secret)
            .await
            .assert_error(401, "authentication_failure");
        assert_eq!(
            list(&app.alice.test_key).await.status,
            200,
            "other keys unaffected"
        );
        // Revoking again changes nothing.
        let again = store
            .revoke_key(&app.alice.id, &new.id, Utc::now())
            .await
            .unwrap();
        assert_eq!(again.revoked_at, revoked.revoked_at);
    }

    #[tokio::test]
    async fn keys_are_listed_by_prefix_and_time_never_by_secret() {
        let app = spawn_app().await;
        let store = &app.ctx.store;
        let extra = store
            .create_key(&app.alice.id, true, Utc::now())
            .await
            .unwrap();
        store
            .revoke_key(&app.alice.id, &extra.id, Utc::now())
            .await
            .unwrap();
        let keys = store.list_keys(&app.alice.id).await.unwrap();
        assert_eq!(keys.len(), 3);
        let shown = format!("{keys:?}");
        for secret in [&app.alice.test_key, &app.alice.live_key, &extra.secret] {
            assert!(!shown.contains(secret.as_str()), "{shown}");
            assert!(
                keys.iter()
                    .any(|k| secret.starts_with(&k.prefix) && k.prefix.len() == 14)
            );
        }
        let revoked: Vec<_> = keys.iter().filter(|k| k.revoked_at.is_some()).collect();
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].id, extra.id);
        assert!(revoked[0].livemode);
        assert!(
            store
                .list_keys(&app.bob.id)
                .await
                .unwrap()
                .iter()
                .all(|k| k.revoked_at.is_none())
        );
        let unknown = store
            .create_key("acct_nobody", false, Utc::now())
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), "not_found");
        let unknown = store
            .revoke_key(&app.bob.id, &extra.id, Utc::now())
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), "not_found", "another account's key");
    }

    #[tokio::test]
    async fn an_unknown_key_costs_one_lookup_per_window() {
        let proxy = FaultProxy::start(dynamodb_endpoint()).await;
        let app = spawn_app_with(
            client_for(&proxy.endpoint()),
            Authenticator::with_limits(AuthLimits {
                unknown_ttl: SHORT,
                ..AuthLimits::default()
            }),
        )
        .await;
        let made_up = format!("skey_test_{}", "0".repeat(25));
        let lookups = || {
            proxy
                .forwarded()
                .iter()
                .filter(|op| *op == "GetItem")
                .count()
        };
        let before = lookups();
        for _ in 0..5 {
            app.call("GET", "/links")
                .key(&made_up)
                .send()
                .await
                .assert_error(401, "authentication_failure");
        }
        assert_eq!(lookups() - before, 1, "one lookup for five attempts");
        tokio::time::sleep(SHORT + Duration::from_millis(50)).await;
        app.call("GET", "/links").key(&made_up).send().await;
        assert_eq!(lookups() - before, 2, "looked up again after the window");
    }

    #[tokio::test]
    async fn a_flood_of_made_up_keys_is_refused_at_its_source_only() {
        let proxy = FaultProxy::start(dynamodb_endpoint()).await;
        let app = spawn_app_with(client_for(&proxy.endpoint()), Authenticator::default()).await;
        let attacker = "203.0.113.66";
        let list = |key: String, ip: &'static str| {
            let app: &TestApp = &app;
            async move { app.call("GET", "/links").key(&key).from_ip(ip).send().await }
        };
        // A merchant behind the same address, already verified.
        assert_eq!(list(app.alice.test_key.clone(), attacker).await.status, 200);
        let lookups = || {
            proxy
                .forwarded()
                .iter()
                .filter(|op| *op == "GetItem")
                .count()
        };
        let before = lookups();
        for i in 0..FAILURE_BURST {
            list(format!("skey_test_{i:025}"), attacker)
                .await
                .assert_error(401, "authentication_failure");
        }
        let refused = list("skey_test_one_more_made_up_key_xx".into(), attacker).await;
        refused.assert_error(429, "too_many_requests");
        assert!(refused.headers.contains_key("retry-after"));
        assert_eq!(
            lookups() - before,
            FAILURE_BURST as usize,
            "no lookup once refused"
        );
        // The verified key still works from there; other sources are unaffected.
        assert_eq!(list(app.alice.test_key.clone(), attacker).await.status, 200);
        list("skey_test_from_elsewhere_xxxxxxxxxx".into(), "192.0.2.1")
            .await
            .assert_error(401, "authentication_failure");
        assert_eq!(
            list(app.bob.test_key.clone(), "192.0.2.1").await.status,
            200
        );
    }
}
