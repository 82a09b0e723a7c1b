//! Every function as a real Lambda: its release `bootstrap` (from `cargo lambda build --release`,
//! found under `LAMBDA_BOOTSTRAP_DIR`) runs under Amazon's Runtime Interface Emulator, is invoked
//! with API Gateway HTTP API events, and talks to the harness's DynamoDB Local. This covers what
//! the in-process tests cannot: the Lambda runtime loop, event decoding (base64 bodies included),
//! the response payload, the environment-driven configuration and the JSON logs.
//!
//! Only payload format 2.0 is tested: template.yaml puts the functions behind an HTTP API alone,
//! and `lambda_http` is built with just its `apigw_http` feature, so a REST API (v1) event can
//! never reach them (and would not even decode).

mod lifecycle;
mod rie;
mod webhooks;

use links_tests::Event;
use links_tests::{PAYMENT_BASE, TestApp, spawn_app, without_serving_times};
use rie::{LambdaResponse, Rie};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A fake card number: it must never reach the logs, whatever parameter carries it.
const CARD: &str = "4242424242424242";

/// An emulated function plus what its logs must and must not show for the invocations so far.
struct Session {
    rie: Rie,
    operation: &'static str,
    /// Lambda request id and status of every invocation.
    invocations: Vec<(String, u16)>,
    /// Strings that would be a leak if they appeared in the output.
    secrets: Vec<String>,
}

impl Session {
    fn start(operation: &'static str, table: &str) -> Self {
        Self::against(operation, table, links_tests::dynamodb_endpoint())
    }

    fn against(operation: &'static str, table: &str, endpoint: &str) -> Self {
        Self::with_env(operation, table, endpoint, &[])
    }

    fn with_env(
        operation: &'static str,
        table: &str,
        endpoint: &str,
        env: &[(&str, &str)],
    ) -> Self {
        Self {
            rie: Rie::start_with(operation, table, endpoint, env),
            operation,
            invocations: Vec::new(),
            secrets: vec![CARD.to_owned()],
        }
    }

    /// Keeps `secret` out of the logs, checked by [`Session::assert_logs`].
    fn forbid(&mut self, secret: &str) {
        self.secrets.push(secret.to_owned());
    }

    async fn invoke(&mut self, event: Event) -> LambdaResponse {
        // The Authorization value and an encoded body are as secret as what they encode.
        let payload = event.to_json();
        if let Some(auth) = payload["headers"]["authorization"].as_str() {
            self.forbid(auth);
            self.forbid(auth.trim_start_matches("Basic "));
        }
        if payload["isBase64Encoded"] == true {
            self.forbid(payload["body"].as_str().expect("a body"));
        }
        let response = self.rie.invoke(&event).await;
        self.invocations
            .push((event.lambda_request_id.clone(), response.status));
        response
    }

    /// Every invocation ended with one JSON "request handled" line carrying its request id, the
    /// operation and the status; no secret appears anywhere in the output.
    async fn assert_logs(&self) {
        // The emulator copies the function's output asynchronously, so the last lines may land
        // just after the response.
        let deadline = Instant::now() + Duration::from_secs(5);
        let output = loop {
            let output = self.rie.output();
            let missing: Vec<_> = self
                .invocations
                .iter()
                .filter(|(id, status)| !logged(&output, id, self.operation, *status))
                .collect();
            if missing.is_empty() {
                break output;
            }
            assert!(
                Instant::now() < deadline,
                "no \"request handled\" line for {missing:?} ({}):\n{output}",
                self.rie.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // Even at DEBUG nothing in the function or the SDK mentions the header, so any mention
        // means request headers are being logged.
        assert!(
            !output.to_ascii_lowercase().contains("authorization"),
            "request headers leaked into the logs ({})",
            self.rie.log.display()
        );
        for secret in &self.secrets {
            assert!(
                !output.contains(secret.as_str()),
                "{secret} leaked into the logs ({})",
                self.rie.log.display()
            );
        }
    }
}

/// Whether `output` has the JSON "request handled" line of invocation `id`.
fn logged(output: &str, id: &str, operation: &str, status: u16) -> bool {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .any(|line| {
            let spans = line["spans"].as_array().cloned().unwrap_or_default();
            line["fields"]["message"] == "request handled"
                && line["fields"]["status"] == status
                && spans.iter().any(|s| s["requestId"] == id)
                && spans.iter().any(|s| s["operation"] == operation)
        })
}

fn assert_json(response: &LambdaResponse, status: u16) {
    assert_eq!(response.status, status, "{:?}", response.body);
    assert_eq!(
        response.headers["content-type"], "application/json; charset=utf-8",
        "{response:?}"
    );
}

fn assert_error(response: &LambdaResponse, status: u16, code: &str) {
    assert_json(response, status);
    assert_eq!(response.body["object"], "error", "{:?}", response.body);
    assert_eq!(response.body["code"], code, "{:?}", response.body);
}

fn assert_link(link: &Value) {
    let id = link["id"].as_str().expect("an id");
    assert!(id.starts_with("link_test_"), "{id}");
    assert_eq!(link["object"], "link");
    assert_eq!(link["location"], format!("/links/{id}"));
    let uri = link["payment_uri"].as_str().expect("a payment_uri");
    assert!(uri.starts_with(&format!("{PAYMENT_BASE}/")), "{uri}");
}

/// A well-formed link id that no link has, so the lookup really reaches DynamoDB.
const UNKNOWN_ID: &str = "link_test_0000000000000000000000000";

#[tokio::test]
async fn create_link_as_a_lambda_takes_json_and_form_bodies_and_refuses_bad_keys_and_amounts() {
    // Arrange
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let mut lambda = Session::start("create-link", app.ctx.store.table());
    lambda.forbid(&key);
    let wrong_key = "skey_test_5zzzzzzzzzzzzzzzzzzzz";
    lambda.forbid(wrong_key);
    let create = || Event::new("POST /links", "POST", "/links");

    // Act
    let from_json = lambda
        .invoke(create().key(&key).json(
            &json!({"amount": 10000, "currency": "thb", "title": "Lunch", "description": "Pay me back"}),
            true,
        ))
        .await;
    // ค่าอาหาร ("food cost"), percent-encoded as form clients send it.
    let from_form = lambda
        .invoke(create().key(&key).form(
            "amount=2000&currency=thb&title=%E0%B8%84%E0%B9%88%E0%B8%B2%E0%B8%AD%E0%B8%B2%E0%B8%AB%E0%B8%B2%E0%B8%A3&description=two+words&multiple=true",
        ))
        .await;
    // An unknown parameter is ignored, as Omise does; its value must still not be logged.
    let with_card = lambda
        .invoke(create().key(&key).form(&format!(
            "amount=2000&currency=thb&title=Card&description=card+{CARD}&card%5Bnumber%5D={CARD}"
        )))
        .await;
    let wrong = lambda
        .invoke(
            create()
                .key(wrong_key)
                .json(&TestApp::link_params("x"), false),
        )
        .await;
    let too_small = lambda
        .invoke(create().key(&key).json(
            &json!({"amount": 1, "currency": "thb", "title": "t", "description": "d"}),
            false,
        ))
        .await;

    // Assert
    assert_json(&from_json, 200);
    assert_link(&from_json.body);
    assert_eq!(from_json.body["amount"], 10000);
    assert_eq!(from_json.body["title"], "Lunch");
    assert_json(&from_form, 200);
    assert_link(&from_form.body);
    assert_eq!(from_form.body["amount"], 2000);
    assert_eq!(from_form.body["title"], "ค่าอาหาร");
    assert_eq!(from_form.body["description"], "two words");
    assert_eq!(from_form.body["multiple"], true);
    assert_json(&with_card, 200);
    assert_eq!(with_card.body["description"], format!("card {CARD}"));
    assert_error(&wrong, 401, "authentication_failure");
    assert_error(&too_small, 400, "invalid_amount");
    lambda.assert_logs().await;
}

#[tokio::test]
async fn retrieve_link_as_a_lambda_finds_the_link_and_refuses_unknown_ids_and_anonymous_callers() {
    // Arrange
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let created = app
        .create_link(&key, TestApp::link_params("retrieve me"))
        .await;
    let id = created["id"].as_str().unwrap();
    let mut lambda = Session::start("retrieve-link", app.ctx.store.table());
    lambda.forbid(&key);
    let retrieve = |id: &str| Event::new("GET /links/{id}", "GET", &format!("/links/{id}")).id(id);

    // Act
    let found = lambda.invoke(retrieve(id).key(&key)).await;
    let unknown = lambda.invoke(retrieve(UNKNOWN_ID).key(&key)).await;
    let anonymous = lambda.invoke(retrieve(id)).await;

    // Assert
    assert_json(&found, 200);
    assert_link(&found.body);
    assert_eq!(found.body["id"], id);
    assert_eq!(found.body["title"], "retrieve me");
    assert_error(&unknown, 404, "not_found");
    assert_error(&anonymous, 401, "authentication_failure");
    lambda.assert_logs().await;
}

#[tokio::test]
async fn behind_cloudfront_a_lambda_refuses_every_request_that_did_not_come_through_it() {
    // Arrange: the secret CloudFront adds as X-Origin-Verify, as the template generates it.
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let created = app.create_link(&key, TestApp::link_params("edge")).await;
    let id = created["id"].as_str().unwrap();
    let value = "0riginVerifyValue0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJK";
    let secret = format!("links-tests-origin-{}", links_tests::table_name());
    links_tests::create_secret(&secret, &format!(r#"{{"value": "{value}"}}"#));
    let mut lambda = Session::with_env(
        "retrieve-link",
        app.ctx.store.table(),
        links_tests::dynamodb_endpoint(),
        &[("ORIGIN_VERIFY_SECRET", &secret)],
    );
    lambda.forbid(&key);
    lambda.forbid(value);
    let retrieve = || {
        Event::new("GET /links/{id}", "GET", &format!("/links/{id}"))
            .id(id)
            .key(&key)
    };

    // Act
    let direct = lambda.invoke(retrieve()).await;
    let guessed = lambda
        .invoke(retrieve().header("x-origin-verify", &value[..value.len() - 1]))
        .await;
    let through_cloudfront = lambda
        .invoke(retrieve().header("x-origin-verify", value))
        .await;

    // Assert: refused before anything else (even the key) is looked at, and never the value.
    assert_error(&direct, 403, "forbidden");
    assert_error(&guessed, 403, "forbidden");
    assert!(!direct.text.contains(value) && !guessed.text.contains(value));
    assert_json(&through_cloudfront, 200);
    assert_eq!(through_cloudfront.body["id"], id);
    lambda.assert_logs().await;
}

#[tokio::test]
async fn list_links_as_a_lambda_pages_by_query_string_and_by_a_json_body_on_the_get() {
    // Arrange
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    for title in ["first", "second"] {
        app.create_link(&key, TestApp::link_params(title)).await;
    }
    let mut lambda = Session::start("list-links", app.ctx.store.table());
    lambda.forbid(&key);
    let list = |path: &str| Event::new("GET /links", "GET", path).key(&key);
    // What the official Python client sends on a GET.
    let python = json!({"from": null, "limit": 100, "offset": 0, "order": null, "to": null});

    // Act
    let all = lambda.invoke(list("/links")).await;
    let one = lambda.invoke(list("/links?limit=1")).await;
    let negative = lambda.invoke(list("/links?limit=-1")).await;
    let with_body = lambda.invoke(list("/links").json(&python, false)).await;

    // Assert
    assert_json(&all, 200);
    assert_eq!(all.body["object"], "list");
    assert_eq!(all.body["total"], 2);
    assert_eq!(all.body["data"].as_array().map(Vec::len), Some(2));
    assert_link(&all.body["data"][0]);
    assert_json(&one, 200);
    assert_eq!(one.body["total"], 2);
    assert_eq!(one.body["limit"], 1);
    assert_eq!(one.body["data"].as_array().map(Vec::len), Some(1));
    assert_error(&negative, 400, "invalid_page");
    assert_json(&with_body, 200);
    assert_eq!(with_body.body["limit"], 100);
    assert_eq!(with_body.body["total"], 2);
    lambda.assert_logs().await;
}

#[tokio::test]
async fn destroy_link_as_a_lambda_marks_the_link_deleted_and_refuses_unknown_ids() {
    // Arrange
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let created = app
        .create_link(&key, TestApp::link_params("destroy me"))
        .await;
    let id = created["id"].as_str().unwrap();
    let mut lambda = Session::start("destroy-link", app.ctx.store.table());
    lambda.forbid(&key);
    let destroy =
        |id: &str| Event::new("DELETE /links/{id}", "DELETE", &format!("/links/{id}")).id(id);

    // Act
    let destroyed = lambda.invoke(destroy(id).key(&key)).await;
    let unknown = lambda.invoke(destroy(UNKNOWN_ID).key(&key)).await;

    // Assert
    assert_json(&destroyed, 200);
    assert_eq!(destroyed.body["id"], id);
    assert_eq!(destroyed.body["deleted"], true);
    assert_error(&unknown, 404, "not_found");
    lambda.assert_logs().await;
}

#[tokio::test]
async fn list_link_charges_as_a_lambda_lists_no_charges_and_refuses_unknown_ids() {
    // Arrange
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let created = app
        .create_link(&key, TestApp::link_params("no charges"))
        .await;
    let id = created["id"].as_str().unwrap();
    let mut lambda = Session::start("list-link-charges", app.ctx.store.table());
    lambda.forbid(&key);
    let charges = |id: &str| {
        Event::new(
            "GET /links/{id}/charges",
            "GET",
            &format!("/links/{id}/charges"),
        )
        .id(id)
    };

    // Act
    let listed = lambda.invoke(charges(id).key(&key)).await;
    let unknown = lambda.invoke(charges(UNKNOWN_ID).key(&key)).await;

    // Assert
    assert_json(&listed, 200);
    assert_eq!(listed.body["object"], "list");
    assert_eq!(listed.body["total"], 0);
    assert_eq!(listed.body["data"], json!([]));
    assert_error(&unknown, 404, "not_found");
    lambda.assert_logs().await;
}

#[tokio::test]
async fn the_event_lambdas_list_and_retrieve_what_a_create_recorded() {
    // Arrange
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let created = app.create_link(&key, TestApp::link_params("ค่าอาหาร")).await;
    let table = app.ctx.store.table();
    let mut list = Session::start("list-events", table);
    let mut retrieve = Session::start("retrieve-event", table);
    for session in [&mut list, &mut retrieve] {
        session.forbid(&key);
    }
    let event_path = |id: &str| {
        Event::new("GET /events/{id}", "GET", &format!("/events/{id}"))
            .id(id)
            .key(&key)
    };

    // Act
    let listed = list
        .invoke(Event::new("GET /events", "GET", "/events?limit=5").key(&key))
        .await;
    let negative = list
        .invoke(Event::new("GET /events", "GET", "/events?limit=-1").key(&key))
        .await;
    let event_id = listed.body["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let found = retrieve.invoke(event_path(&event_id)).await;
    let unknown = retrieve
        .invoke(event_path("evnt_test_0000000000000000000000000"))
        .await;
    let malformed = retrieve.invoke(event_path("link_test_x")).await;

    // Assert
    assert_json(&listed, 200);
    assert_eq!(
        (
            &listed.body["object"],
            &listed.body["total"],
            &listed.body["limit"]
        ),
        (&json!("list"), &json!(1), &json!(5))
    );
    assert_eq!(listed.body["location"], "/events");
    assert_error(&negative, 400, "invalid_page");
    assert_json(&found, 200);
    assert_eq!(found.body, listed.body["data"][0]);
    assert_eq!(found.body["object"], "event");
    assert_eq!(found.body["key"], "link.create");
    assert_eq!(found.body["data"], created);
    assert!(found.text.contains("ค่าอาหาร"), "{}", found.text);
    assert_error(&unknown, 404, "not_found");
    assert_error(&malformed, 404, "not_found");
    list.assert_logs().await;
    retrieve.assert_logs().await;
}

#[tokio::test]
async fn not_found_as_a_lambda_answers_the_default_route_with_omise_errors() {
    // Arrange: the $default route needs no table; the key only proves it is not logged.
    let mut lambda = Session::start("not-found", "links-not-found-uses-no-table");
    let key = "skey_test_5notfoundnotfoundnotfou";
    lambda.forbid(key);

    // Act
    let wrong_method = lambda
        .invoke(
            Event::new("$default", "PUT", "/links")
                .key(key)
                .json(&TestApp::link_params("x"), true),
        )
        .await;
    let unknown_path = lambda
        .invoke(Event::new("$default", "GET", "/nope?limit=1").key(key))
        .await;

    // Assert
    assert_error(&wrong_method, 405, "method_not_allowed");
    assert_eq!(wrong_method.headers["allow"], "GET, POST");
    assert_error(&unknown_path, 404, "not_found");
    lambda.assert_logs().await;
}

#[tokio::test]
async fn list_links_as_a_lambda_decodes_query_strings_as_the_local_server_does() {
    // Arrange
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    for title in ["first", "second"] {
        app.create_link(&key, TestApp::link_params(title)).await;
    }
    let mut lambda = Session::start("list-links", app.ctx.store.table());
    lambda.forbid(&key);
    for query in [
        "limit=%zz",
        "limit=%31",
        "limit=+1",
        "limit=1&limit=2",
        "offset=%2B1",
        "order=reverse%5Fchronological&limit=1",
        "from=%E0%B8",
    ] {
        let path = format!("/links?{query}");

        // Act: the deployed binary, and the in-process path the local server takes.
        let deployed = lambda
            .invoke(Event::new("GET /links", "GET", &path).key(&key))
            .await;
        let local = app.call("GET", &path).key(&key).send().await;

        // Assert
        assert_eq!(
            deployed.status, local.status,
            "{query}: {:?}",
            deployed.body
        );
        assert_eq!(deployed.body["code"], local.body["code"], "{query}");
        assert_eq!(deployed.body["limit"], local.body["limit"], "{query}");
        // Taken apart in time, the two may straddle a second: the embedded lists' `to` differs.
        assert_eq!(
            without_serving_times(&deployed.body["data"]),
            without_serving_times(&local.body["data"]),
            "{query}"
        );
    }
    lambda.assert_logs().await;
}

#[tokio::test]
async fn create_link_as_a_lambda_replays_an_idempotent_retry_and_refuses_a_huge_body() {
    // Arrange
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let mut lambda = Session::start("create-link", app.ctx.store.table());
    lambda.forbid(&key);
    let create = || Event::new("POST /links", "POST", "/links").key(&key);
    let body = json!({"amount": 2000, "currency": "thb", "title": "ค่าส่ง", "description": "d"});
    let huge =
        json!({"amount": 2000, "currency": "thb", "title": "t", "description": "x".repeat(40_000)});

    // Act
    let first = lambda
        .invoke(create().header("idempotency-key", "k-1").json(&body, true))
        .await;
    let retry = lambda
        .invoke(create().header("idempotency-key", "k-1").json(&body, false))
        .await;
    let too_big = lambda.invoke(create().json(&huge, true)).await;

    // Assert
    assert_json(&first, 200);
    assert_json(&retry, 200);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_error(&too_big, 413, "payload_too_large");
    let list = app.call("GET", "/links").key(&key).send().await;
    assert_eq!(list.body["total"], 1);
    lambda.assert_logs().await;
}

#[tokio::test]
async fn retrieve_link_as_a_lambda_answers_503_when_dynamodb_cannot_be_reached() {
    // Arrange: nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut lambda = Session::against(
        "retrieve-link",
        "links-unreachable",
        &format!("http://127.0.0.1:{closed}"),
    );
    let key = "skey_test_5unreachableunreachableun";
    lambda.forbid(key);

    // Act
    let started = Instant::now();
    let response = lambda
        .invoke(
            Event::new("GET /links/{id}", "GET", &format!("/links/{UNKNOWN_ID}"))
                .id(UNKNOWN_ID)
                .key(key),
        )
        .await;

    // Assert: an Omise error inviting a retry, not a Lambda timeout.
    assert_error(&response, 503, "service_unavailable");
    assert_eq!(response.headers["retry-after"], "1");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    lambda.assert_logs().await;
}

#[tokio::test]
async fn a_buyer_pays_through_the_page_lambdas_and_the_merchant_reads_the_charge_lambdas() {
    // Arrange
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let created = app.create_link(&key, TestApp::link_params("ข้าวมันไก่")).await;
    let uri = created["payment_uri"].as_str().unwrap();
    let token = uri.rsplit('/').next().unwrap();
    let path = format!("/pay/{token}");
    let table = app.ctx.store.table();
    let mut page = Session::start("payment-page", table);
    let mut qr = Session::start("payment-qr", table);
    let mut pay = Session::start("pay-link", table);
    let mut retrieve = Session::start("retrieve-charge", table);
    let mut list = Session::start("list-charges", table);
    for session in [&mut retrieve, &mut list] {
        session.forbid(&key);
    }
    pay.forbid("security_code=321");
    let origin = PAYMENT_BASE.trim_end_matches("/pay");
    let form = format!(
        "attempt={}&lang=th&name=Somchai&number={CARD}&expiration_month=12&expiration_year=2031&security_code=321",
        links_tests::attempt_key(token)
    );

    // Act
    let shown = page
        .invoke(
            Event::new("GET /pay/{id}", "GET", &path)
                .id(token)
                .header("accept-language", "th"),
        )
        .await;
    let code = qr
        .invoke(Event::new("GET /pay/{id}/qr.svg", "GET", &format!("{path}/qr.svg")).id(token))
        .await;
    let paid = pay
        .invoke(
            Event::new("POST /pay/{id}", "POST", &path)
                .id(token)
                .header("origin", origin)
                .form(&form),
        )
        .await;
    let cross_site = pay
        .invoke(
            Event::new("POST /pay/{id}", "POST", &path)
                .id(token)
                .header("origin", "https://evil.example")
                .form(&form),
        )
        .await;
    let listed = list
        .invoke(Event::new("GET /charges", "GET", "/charges").key(&key))
        .await;
    let charge_id = listed.body["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let retrieved = retrieve
        .invoke(
            Event::new("GET /charges/{id}", "GET", &format!("/charges/{charge_id}"))
                .id(&charge_id)
                .key(&key),
        )
        .await;
    let unknown_page = page
        .invoke(
            Event::new("GET /pay/{id}", "GET", "/pay/0000000000000000000")
                .id("0000000000000000000"),
        )
        .await;

    // Assert
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(
        shown.headers["content-type"]
            .as_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(shown.text.contains("ข้าวมันไก่") && shown.text.contains("<html lang=\"th\">"));
    assert!(
        shown.headers["content-security-policy"]
            .as_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(
        (code.status, code.headers["content-type"].as_str()),
        (200, Some("image/svg+xml"))
    );
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert!(paid.text.contains("ชำระเงินสำเร็จ"), "the Thai receipt");
    assert_eq!(cross_site.status, 403);
    assert_json(&listed, 200);
    assert_eq!(listed.body["total"], 1);
    assert_json(&retrieved, 200);
    assert_eq!(retrieved.body["status"], "successful");
    assert_eq!(retrieved.body["card"]["last_digits"], "4242");
    assert_eq!(unknown_page.status, 404);
    for session in [&page, &qr, &pay, &retrieve, &list] {
        session.assert_logs().await;
    }
}
