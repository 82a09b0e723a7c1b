//! docs/openapi.yaml kept true by the code: served as it is, naming exactly the routes the
//! service has, and every answer of a tour through the API (links with every field, charges by
//! card and PromptPay, a refund, events, lists, errors) one the document gives for that route
//! and status, with a body its closed schema allows. Every field a closed schema documents is
//! served by some answer of the tour, so a field dropped from the code fails here too.
//!
//! This is the fast, in-process half; scripts/test also fuzzes the running service against the
//! document with Schemathesis (scripts/schemathesis).

use links_tests::buyer::{DECLINED_CARD, GOOD_CARD, card_form, page_path, post, promptpay_form};
use links_tests::{TestApp, TestResponse, spawn_app};
use serde_json::{Map, Value, json};
use shared::http::routes::{Operation, ROUTES, Resolution, resolve};
use std::collections::{BTreeMap, BTreeSet};

/// The document as JSON.
fn document() -> Value {
    let docs = yaml_rust2::YamlLoader::load_from_str(api_document::DOCUMENT).expect("valid YAML");
    assert_eq!(docs.len(), 1, "one document");
    to_json(&docs[0])
}

fn to_json(yaml: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match yaml {
        Yaml::Real(text) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => panic!("a key that is not text: {other:?}"),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Null => Value::Null,
        other => panic!("YAML the document should not hold: {other:?}"),
    }
}

/// The document's operations: (METHOD, path).
fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn the_document_names_exactly_the_merchant_routes_and_itself() {
    let doc = document();
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..4]), Some("3.1."));
    // The buyer's HTML pages and the processor's callback are not the merchant's API.
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .filter(|r| {
            !matches!(
                r.operation,
                Operation::PaymentPage
                    | Operation::PayLink
                    | Operation::PaymentQr
                    | Operation::PaymentComplete
                    | Operation::AuthenticationPage
                    | Operation::AuthenticatePayment
                    | Operation::OmiseWebhook
            )
        })
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(documented_routes(&doc), served);
}

#[tokio::test]
async fn the_api_serves_the_document_public_and_cached() {
    let app = spawn_app().await;
    let served = app.call("GET", "/openapi.yaml").send().await;
    assert_eq!(served.status, 200);
    assert_eq!(served.text, api_document::DOCUMENT);
    assert_eq!(served.headers["content-type"], "application/yaml");
    assert_eq!(served.headers["cache-control"], "public, max-age=300");
    let etag = served.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");

    let again = app
        .call("GET", "/openapi.yaml")
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!((again.status, again.text.as_str()), (304, ""));
    let other = app
        .call("GET", "/openapi.yaml")
        .header("if-none-match", "\"0000\"")
        .send()
        .await;
    assert_eq!(other.status, 200);
}

/// Checks answers against the document, and remembers which fields of each closed schema
/// the answers held.
struct Checker {
    doc: Value,
    seen: BTreeMap<String, BTreeSet<String>>,
    failures: Vec<String>,
}

impl Checker {
    fn new() -> Self {
        Self {
            doc: document(),
            seen: BTreeMap::new(),
            failures: Vec::new(),
        }
    }

    /// Follows `$ref`s to what they name, with the name of the last component named.
    fn resolve<'a>(&'a self, mut node: &'a Value, mut name: String) -> (&'a Value, String) {
        while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let pointer = reference.strip_prefix('#').expect("local references only");
            name = pointer.rsplit('/').next().unwrap().to_owned();
            node = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} names nothing"));
        }
        (node, name)
    }

    /// Checks one answer of `method` on `path` (as requested).
    fn check(&mut self, method: &str, path: &str, response: &TestResponse) {
        let path = path.split('?').next().unwrap();
        let route = match resolve(method, path) {
            Resolution::Found { .. } => {
                ROUTES
                    .iter()
                    .find(|r| r.method == method && shape_matches(r.path, path))
                    .unwrap()
                    .path
            }
            _ => panic!("{method} {path} is not a route"),
        };
        let at = format!("{method} {path} → {}", response.status);
        let operation = &self.doc["paths"][route][method.to_lowercase()];
        let Some(answer) = operation["responses"].get(response.status.to_string()) else {
            self.failures
                .push(format!("{at}: the status is not documented for {route}"));
            return;
        };
        let (answer, _) = self.resolve(answer, String::new());
        let content_type = response
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap().trim().to_owned())
            .unwrap_or_default();
        let Some(media) = answer["content"].get(&content_type) else {
            self.failures.push(format!(
                "{at}: Content-Type {content_type:?} is not documented"
            ));
            return;
        };
        let schema = media["schema"].clone();
        let body = response.body.clone();
        self.validate(&schema, &body, &at, "response");
    }

    /// Whether `value` fits `schema`, recording every mismatch under `at`.
    fn validate(&mut self, schema: &Value, value: &Value, at: &str, name: &str) {
        let mut errors = Vec::new();
        if !self.fits(schema, value, name.to_owned(), "$", &mut errors, true) {
            self.failures.push(format!("{at}: {}", errors.join("; ")));
        }
    }

    /// The structural check: types, consts and enums, bounds of numbers, closed objects' keys,
    /// required keys, items, `allOf` (every branch), and `anyOf`/`oneOf` (the first branch that
    /// fits, which records what it saw). Patterns and formats are left to Schemathesis.
    fn fits(
        &mut self,
        schema: &Value,
        value: &Value,
        name: String,
        at: &str,
        errors: &mut Vec<String>,
        record: bool,
    ) -> bool {
        let (schema, name) = self.resolve(schema, name);
        let schema = schema.clone();
        if let Some(expected) = schema.get("const") {
            if expected != value {
                errors.push(format!("{at} is {value}, not {expected}"));
                return false;
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                errors.push(format!("{at} is {value}, none of {options:?}"));
                return false;
            }
        }
        if let Some(types) = schema.get("type") {
            let types: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let actual = match value {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            let ok = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
            if !ok {
                errors.push(format!("{at} is {actual}, not {types:?} ({name})"));
                return false;
            }
        }
        if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
            for branch in branches {
                if !self.fits(branch, value, name.clone(), at, errors, record) {
                    return false;
                }
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = schema.get(key).and_then(Value::as_array) {
                // Try quietly first, then record along the branch that fits.
                let fitting = branches.iter().position(|branch| {
                    let mut ignored = Vec::new();
                    self.fits(branch, value, name.clone(), at, &mut ignored, false)
                });
                match fitting {
                    Some(i) => {
                        self.fits(&branches[i], value, name.clone(), at, errors, record);
                    }
                    None => {
                        errors.push(format!("{at} fits no branch of {key} ({name})"));
                        return false;
                    }
                }
            }
        }
        if let (Some(min), Some(n)) = (
            schema.get("minimum").and_then(Value::as_f64),
            value.as_f64(),
        ) {
            if n < min {
                errors.push(format!("{at} is {n}, below {min}"));
                return false;
            }
        }
        if let (Some(max), Some(n)) = (
            schema.get("maximum").and_then(Value::as_f64),
            value.as_f64(),
        ) {
            if n > max {
                errors.push(format!("{at} is {n}, above {max}"));
                return false;
            }
        }
        if let Value::Object(object) = value {
            let ok = self.fits_object(&schema, object, &name, at, errors, record);
            if !ok {
                return false;
            }
        }
        if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
            for (i, item) in items.iter().enumerate() {
                let item_at = format!("{at}[{i}]");
                if !self.fits(item_schema, item, name.clone(), &item_at, errors, record) {
                    return false;
                }
            }
        }
        true
    }

    fn fits_object(
        &mut self,
        schema: &Value,
        object: &Map<String, Value>,
        name: &str,
        at: &str,
        errors: &mut Vec<String>,
        record: bool,
    ) -> bool {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                errors.push(format!("{at} lacks required {required} ({name})"));
                return false;
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        for (key, field) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(field_schema) => {
                    if record && closed {
                        self.seen
                            .entry(name.to_owned())
                            .or_default()
                            .insert(key.clone());
                    }
                    let field_at = format!("{at}.{key}");
                    if !self.fits(
                        field_schema,
                        field,
                        name.to_owned(),
                        &field_at,
                        errors,
                        record,
                    ) {
                        return false;
                    }
                }
                None if closed => {
                    errors.push(format!("{at}.{key} is not in {name}"));
                    return false;
                }
                None => {}
            }
        }
        true
    }

    /// Every field of these closed schemas was served by some answer.
    fn assert_all_served(&self, schemas: &[&str]) {
        let mut unseen = Vec::new();
        for name in schemas {
            let schema = &self.doc["components"]["schemas"][name];
            let seen = self.seen.get(*name).cloned().unwrap_or_default();
            for field in schema["properties"].as_object().unwrap().keys() {
                if !seen.contains(field) {
                    unseen.push(format!("{name}.{field}"));
                }
            }
        }
        assert!(unseen.is_empty(), "documented, never served: {unseen:?}");
    }
}

/// Whether a concrete `path` has the shape of route `pattern`.
fn shape_matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| a.starts_with('{') || a == b)
}

#[tokio::test]
async fn every_answer_of_a_tour_of_the_api_is_one_the_document_gives() {
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let mut checker = Checker::new();
    // Each call made and checked against the document.
    let mut calls: Vec<(String, String, TestResponse)> = Vec::new();
    macro_rules! call {
        ($method:expr, $path:expr $(, $build:ident ( $($arg:expr),* ))*) => {{
            let response = app.call($method, &$path).key(&key)$(.$build($($arg),*))*.send().await;
            calls.push(($method.to_owned(), $path.to_string(), response.clone()));
            response
        }};
    }

    // Links: one with every field beyond Omise, a plain single-use one.
    let mut full = TestApp::link_params("บัตรคอนเสิร์ต");
    full["multiple"] = true.into();
    full["usage_limit"] = 5.into();
    full["expires_at"] = (app.ctx.now() + shared::chrono::Duration::days(30))
        .to_rfc3339_opts(shared::chrono::SecondsFormat::Secs, true)
        .into();
    full["after_payment_uri"] = "https://shop.example/thanks".into();
    full["metadata"] = json!({"order_id": "A-1001", "items": [1, 2], "nested": {"a": true}});
    let link = call!("POST", "/links", json(&full)).body;
    let plain = call!(
        "POST",
        "/links",
        form("amount=2000&currency=thb&title=t&description=d")
    )
    .body;
    let link_id = link["id"].as_str().unwrap().to_owned();
    let plain_id = plain["id"].as_str().unwrap().to_owned();

    // Charges: paid and declined by card, PromptPay waiting, one marked paid.
    let path = page_path(&link);
    post(&app, &path, &card_form(&path, GOOD_CARD)).await;
    post(&app, &path, &card_form(&path, DECLINED_CARD)).await;
    let plain_path = page_path(&plain);
    post(&app, &plain_path, &promptpay_form(&plain_path)).await;
    let charges = call!("GET", "/charges?limit=100").body;
    let by_status = |status: &str| -> String {
        charges["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == status)
            .unwrap_or_else(|| panic!("a {status} charge"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let paid = by_status("successful");
    let declined = by_status("failed");
    let pending = by_status("pending");
    call!("POST", format!("/charges/{pending}/mark_as_paid"));
    let refund = call!(
        "POST",
        format!("/charges/{paid}/refunds"),
        json(&json!({"amount": 1000}))
    )
    .body;
    let refund_id = refund["id"].as_str().unwrap().to_owned();

    // Reads of everything.
    call!("GET", format!("/links/{link_id}"));
    call!("GET", "/links");
    call!("GET", format!("/links/{link_id}/charges"));
    call!("GET", format!("/charges/{paid}"));
    call!("GET", format!("/charges/{declined}"));
    call!("GET", format!("/charges/{pending}"));
    call!("GET", format!("/charges/{paid}/refunds"));
    call!("GET", format!("/charges/{paid}/refunds/{refund_id}"));
    let events = call!("GET", "/events?limit=100").body;
    let event_id = events["data"][0]["id"].as_str().unwrap().to_owned();
    call!("GET", format!("/events/{event_id}"));
    call!("DELETE", format!("/links/{plain_id}"));
    call!("GET", format!("/links/{plain_id}"));

    // Errors: each documented where it is answered.
    call!("POST", "/links", json(&json!({"amount": 1})));
    call!("POST", "/links", raw(b"amount=1"));
    call!("GET", "/links?limit=ten");
    call!("GET", "/links/link_test_0000000000000000000000000");
    call!("POST", format!("/charges/{paid}/mark_as_failed"));
    call!(
        "POST",
        format!("/charges/{paid}/refunds"),
        json(&json!({"amount": 999_999_999}))
    );
    call!("GET", "/events/evnt_test_0000000000000000000000000");
    let unauthorised = app
        .call("GET", "/links")
        .key("skey_test_wrong")
        .send()
        .await;
    calls.push(("GET".into(), "/links".into(), unauthorised));
    let idempotent = |params: Value| {
        app.call("POST", "/links")
            .key(&key)
            .header("idempotency-key", "tour-1")
            .json(&params)
            .send()
    };
    idempotent(TestApp::link_params("a")).await;
    let reused = idempotent(TestApp::link_params("b")).await;
    calls.push(("POST".into(), "/links".into(), reused));
    let document = app.call("GET", "/openapi.yaml").send().await;
    assert_eq!(document.status, 200);

    for (method, path, response) in &calls {
        checker.check(method, path, response);
    }
    assert!(
        checker.failures.is_empty(),
        "answers the document does not give:\n{}",
        checker.failures.join("\n")
    );
    let statuses: BTreeSet<u16> = calls.iter().map(|c| c.2.status).collect();
    assert_eq!(
        statuses,
        BTreeSet::from([200, 400, 401, 404, 415, 422]),
        "the tour reached each of these"
    );
    // Webhook deliveries appear on an event once an endpoint is set: tests/tests/webhooks.
    checker.assert_all_served(&[
        "Link",
        "Charge",
        "Card",
        "Source",
        "Refund",
        "Error",
        "LinkList",
        "ChargeList",
        "RefundList",
        "EventList",
    ]);
}
