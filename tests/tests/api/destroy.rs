use links_tests::{TestApp, spawn_app};
use serde_json::json;

#[tokio::test]
async fn destroy_keeps_the_link_marked_deleted() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let link = app
        .create_link(key, TestApp::link_params("to destroy"))
        .await;
    let id = link["id"].as_str().unwrap();

    let destroyed = app
        .call("DELETE", &format!("/links/{id}"))
        .key(key)
        .json(&json!({}))
        .send()
        .await;

    assert_eq!(destroyed.status, 200, "{:?}", destroyed.body);
    assert_eq!(destroyed.body["object"], "link");
    assert_eq!(destroyed.body["id"], id);
    assert_eq!(destroyed.body["deleted"], true);
    assert!(
        destroyed.body["deleted_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(destroyed.body["amount"], link["amount"]);
    let fetched = app
        .call("GET", &format!("/links/{id}"))
        .key(key)
        .send()
        .await;
    assert_eq!(fetched.body["deleted"], true);
    assert_eq!(fetched.body["deleted_at"], destroyed.body["deleted_at"]);
    let list = app.call("GET", "/links").key(key).send().await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["data"][0]["deleted"], true);
}

#[tokio::test]
async fn a_second_destroy_succeeds_and_keeps_the_first_deleted_at() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let id = app.create_link(key, TestApp::link_params("twice")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = app
        .call("DELETE", &format!("/links/{id}"))
        .key(key)
        .send()
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // No body at all, but a JSON Content-Type, as some clients send.
    let second = app
        .call("DELETE", &format!("/links/{id}"))
        .key(key)
        .header("content-type", "application/json")
        .send()
        .await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(second.body["deleted"], true);
    assert_eq!(second.body["deleted_at"], first.body["deleted_at"]);
}

#[tokio::test]
async fn destroy_of_an_unknown_link_is_404_and_creates_nothing() {
    let app = spawn_app().await;
    let id = "link_test_0000000000000000000000000";
    let response = app
        .call("DELETE", &format!("/links/{id}"))
        .key(&app.alice.test_key)
        .send()
        .await;
    assert!(response.assert_error(404, "not_found").contains(id));
    let list = app
        .call("GET", "/links")
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(list.body["total"], 0);
    let again = app
        .call("GET", &format!("/links/{id}"))
        .key(&app.alice.test_key)
        .send()
        .await;
    again.assert_error(404, "not_found");
}
