use links_tests::{TestApp, TestResponse, spawn_app};
use serde_json::json;

async fn create_many(app: &TestApp, key: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            app.create_link(key, TestApp::link_params(&format!("link {i}")))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids
}

fn ids(list: &TestResponse) -> Vec<String> {
    list.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn list_pages_in_creation_order_with_the_full_total() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let created = create_many(&app, key, 25).await;

    let first = app.call("GET", "/links").key(key).send().await;
    let second = app.call("GET", "/links?offset=20").key(key).send().await;
    let reversed = app
        .call("GET", "/links?order=reverse_chronological&limit=3&offset=1")
        .key(key)
        .send()
        .await;

    assert_eq!(first.status, 200, "{:?}", first.body);
    let list = &first.body;
    assert_eq!(list["object"], "list");
    assert_eq!(list["location"], "/links");
    assert_eq!(
        (
            list["limit"].as_u64(),
            list["offset"].as_u64(),
            list["total"].as_u64()
        ),
        (Some(20), Some(0), Some(25))
    );
    assert_eq!(
        list["order"], "chronological",
        "the default order is named, as Omise answers"
    );
    assert_eq!(list["from"], "1970-01-01T00:00:00Z");
    assert!(
        list["to"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20)
    );
    assert_eq!(ids(&first), created[..20]);
    assert_eq!(ids(&second), created[20..]);
    assert_eq!(second.body["total"], 25);
    assert_eq!(
        ids(&reversed),
        vec![
            created[23].clone(),
            created[22].clone(),
            created[21].clone()
        ]
    );
    assert_eq!(reversed.body["order"], "reverse_chronological");
}

#[tokio::test]
async fn limit_100_is_honoured_exactly_and_larger_limits_give_100() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    create_many(&app, key, 105).await;
    let hundred = app.call("GET", "/links?limit=100").key(key).send().await;
    assert_eq!(
        (ids(&hundred).len(), hundred.body["limit"].as_u64()),
        (100, Some(100))
    );
    let capped = app.call("GET", "/links?limit=1000").key(key).send().await;
    assert_eq!(
        (ids(&capped).len(), capped.body["limit"].as_u64()),
        (100, Some(100))
    );
    let rest = app
        .call("GET", "/links?limit=100&offset=100")
        .key(key)
        .send()
        .await;
    assert_eq!(
        (ids(&rest).len(), rest.body["total"].as_u64()),
        (5, Some(105))
    );
    let none = app.call("GET", "/links?limit=0").key(key).send().await;
    assert_eq!(
        (ids(&none).len(), none.body["total"].as_u64()),
        (0, Some(105))
    );
}

#[tokio::test]
async fn list_params_in_a_json_get_body_work_as_the_python_client_sends_them() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let created = create_many(&app, key, 3).await;
    let python = json!({"from": null, "limit": 100, "offset": 0, "order": null, "to": null});
    let response = app
        .call("GET", "/links")
        .key(key)
        .json(&python)
        .send()
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(ids(&response), created);
    assert_eq!(response.body["limit"], 100);
    let paged = app
        .call("GET", "/links")
        .key(key)
        .json(&json!({"limit": 1, "offset": 1}))
        .send()
        .await;
    assert_eq!(ids(&paged), vec![created[1].clone()]);
    // Where both carry one, the query string wins.
    let both = app
        .call("GET", "/links?limit=2")
        .key(key)
        .json(&json!({"limit": 1}))
        .send()
        .await;
    assert_eq!(ids(&both).len(), 2);
}

#[tokio::test]
async fn from_and_to_filter_by_creation_time_and_count_the_range() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let early = create_many(&app, key, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let late = create_many(&app, key, 2).await;
    let first_late = app
        .call("GET", &format!("/links/{}", late[0]))
        .key(key)
        .send()
        .await
        .body["created"]
        .as_str()
        .unwrap()
        .to_owned();
    let last_early = app
        .call("GET", &format!("/links/{}", early[2]))
        .key(key)
        .send()
        .await
        .body["created"]
        .as_str()
        .unwrap()
        .to_owned();

    let since = app
        .call("GET", &format!("/links?from={first_late}"))
        .key(key)
        .send()
        .await;
    let until = app
        .call("GET", &format!("/links?to={last_early}&limit=2"))
        .key(key)
        .send()
        .await;
    let future = app
        .call("GET", "/links?from=2999-01-01")
        .key(key)
        .send()
        .await;

    assert_eq!(
        (ids(&since), since.body["total"].as_u64()),
        (late.clone(), Some(2))
    );
    assert_eq!(since.body["from"], first_late);
    assert_eq!(
        (ids(&until), until.body["total"].as_u64()),
        (early[..2].to_vec(), Some(3))
    );
    assert_eq!(until.body["to"], last_early);
    future.assert_error(400, "invalid_filters");
    let empty = app
        .call("GET", "/links?from=2999-01-01&to=2999-12-31")
        .key(key)
        .send()
        .await;
    assert_eq!(
        (ids(&empty).len(), empty.body["total"].as_u64()),
        (0, Some(0))
    );
}

#[tokio::test]
async fn invalid_list_params_answer_400() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let cases = [
        ("limit=-1", "invalid_page", "limit"),
        ("limit=ten", "invalid_page", "limit"),
        ("offset=-5", "invalid_page", "offset"),
        ("offset=1.5", "invalid_page", "offset"),
        ("from=yesterday", "invalid_filters", "from"),
        ("to=2026-02-30", "invalid_filters", "to"),
        (
            "from=2026-02-01&to=2026-01-01",
            "invalid_filters",
            "from must not be after to",
        ),
        ("order=newest", "invalid_filters", "order"),
    ];
    for (query, code, message) in cases {
        let response = app
            .call("GET", &format!("/links?{query}"))
            .key(key)
            .send()
            .await;
        assert!(
            response.assert_error(400, code).contains(message),
            "{query}"
        );
    }
    let body = app
        .call("GET", "/links")
        .key(key)
        .json(&json!({"limit": "lots"}))
        .send()
        .await;
    body.assert_error(400, "invalid_page");
    // As deployed: lambda_http decodes the raw query string loosely, so `%ZZ` arrives as itself.
    let bad_query = app.call("GET", "/links?limit=%ZZ").key(key).send().await;
    assert!(
        bad_query
            .assert_error(400, "invalid_page")
            .contains("limit must be a non-negative integer")
    );
}
