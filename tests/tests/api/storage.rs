use links_tests::{TestApp, spawn_app};

#[tokio::test]
async fn a_storage_failure_is_an_opaque_500() {
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let id = app.create_link(&key, TestApp::link_params("before")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Sabotage: the table disappears under a warm instance (the key is cached, so the failure
    // comes from the operation itself).
    app.ctx
        .store
        .client()
        .delete_table()
        .table_name(app.ctx.store.table())
        .send()
        .await
        .unwrap();

    for (method, path) in [
        ("POST", "/links".to_owned()),
        ("GET", "/links".to_owned()),
        ("GET", format!("/links/{id}")),
        ("DELETE", format!("/links/{id}")),
    ] {
        let response = app
            .call(method, &path)
            .key(&key)
            .json(&TestApp::link_params("after"))
            .send()
            .await;
        response.assert_error(500, "internal_error");
        let text = response.body.to_string();
        for secret in [app.ctx.store.table(), "ResourceNotFound", "dynamodb", &key] {
            assert!(
                !text.contains(secret),
                "{method} {path} leaked {secret}: {text}"
            );
        }
    }
}
