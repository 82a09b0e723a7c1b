use links_tests::{TestApp, spawn_app, without_serving_times};

#[tokio::test]
async fn retrieve_returns_the_stored_link() {
    let app = spawn_app().await;
    let created = app
        .create_link(&app.alice.test_key, TestApp::link_params("retrieve me"))
        .await;
    let id = created["id"].as_str().unwrap();
    let fetched = app
        .call("GET", &format!("/links/{id}"))
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(fetched.status, 200);
    // Everything but the embedded charges list's `to` (the request time) is identical.
    assert_eq!(
        without_serving_times(&created),
        without_serving_times(&fetched.body)
    );
}

#[tokio::test]
async fn retrieve_returns_404_naming_an_unknown_id() {
    let app = spawn_app().await;
    for id in [
        "link_test_0000000000000000000000000",
        "link_test_nope",
        "chrg_test_123",
        "%20",
    ] {
        let response = app
            .call("GET", &format!("/links/{id}"))
            .key(&app.alice.test_key)
            .send()
            .await;
        let message = response.assert_error(404, "not_found");
        assert!(
            message.contains(id) && message.ends_with("was not found"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn links_are_invisible_to_other_accounts_and_modes() {
    let app = spawn_app().await;
    let test_link = app
        .create_link(&app.alice.test_key, TestApp::link_params("alice test"))
        .await;
    let live_link = app
        .create_link(&app.alice.live_key, TestApp::link_params("alice live"))
        .await;
    let test_id = test_link["id"].as_str().unwrap();
    let live_id = live_link["id"].as_str().unwrap();
    for (key, id) in [
        (&app.bob.test_key, test_id),
        (&app.bob.live_key, live_id),
        (&app.alice.live_key, test_id),
        (&app.alice.test_key, live_id),
    ] {
        for (method, path) in [
            ("GET", format!("/links/{id}")),
            ("DELETE", format!("/links/{id}")),
            ("GET", format!("/links/{id}/charges")),
        ] {
            let response = app.call(method, &path).key(key).send().await;
            response.assert_error(404, "not_found");
        }
    }
    for key in [&app.bob.test_key, &app.bob.live_key] {
        let list = app.call("GET", "/links").key(key).send().await;
        assert_eq!(
            (
                list.body["total"].as_u64(),
                list.body["data"].as_array().map(Vec::len)
            ),
            (Some(0), Some(0))
        );
    }
    let own = app
        .call("GET", &format!("/links/{test_id}"))
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(
        own.body["deleted"], false,
        "the foreign DELETEs above must not have touched it"
    );
}
