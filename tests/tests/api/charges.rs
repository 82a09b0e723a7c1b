use links_tests::{TestApp, spawn_app};

#[tokio::test]
async fn a_links_charges_are_an_empty_list_object() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let id = app.create_link(key, TestApp::link_params("charges")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .call(
            "GET",
            &format!("/links/{id}/charges?limit=5&order=reverse_chronological"),
        )
        .key(key)
        .send()
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    let list = &response.body;
    assert_eq!(list["object"], "list");
    assert_eq!(list["data"], serde_json::json!([]));
    assert_eq!(
        (
            list["limit"].as_u64(),
            list["offset"].as_u64(),
            list["total"].as_u64()
        ),
        (Some(5), Some(0), Some(0))
    );
    assert_eq!(list["location"], format!("/links/{id}/charges"));
    assert_eq!(list["order"], "reverse_chronological");
    assert_eq!(list["from"], "1970-01-01T00:00:00Z");
}

#[tokio::test]
async fn charges_of_an_unknown_link_are_404_and_bad_paging_400() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let missing = app
        .call("GET", "/links/link_test_0000000000000000000000000/charges")
        .key(key)
        .send()
        .await;
    missing.assert_error(404, "not_found");
    let id = app.create_link(key, TestApp::link_params("charges")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad = app
        .call("GET", &format!("/links/{id}/charges?limit=-1"))
        .key(key)
        .send()
        .await;
    bad.assert_error(400, "invalid_page");
}
