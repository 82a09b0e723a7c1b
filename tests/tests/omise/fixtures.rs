//! The stand-in answers as Omise does: each answer has the fields of the official clients'
//! recorded answer for the same call (tests/fixtures/omise, see SOURCES.md), each of the same
//! JSON type (a field null in one of the two may be anything in the other), nested objects
//! alike, and no field Omise's answer lacks.

use links_tests::omise::StandIn;
use serde_json::{Value, json};
use std::path::Path;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/omise")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every difference of shape between `ours` and `omise`, by path. With `exact`, a field Omise's
/// answer lacks is one; without, only Omise's fields are compared (an older recording).
fn differences(path: &str, ours: &Value, omise: &Value, exact: bool) -> Vec<String> {
    match (ours, omise) {
        (Value::Null, _) | (_, Value::Null) => Vec::new(),
        // The merchant's own keys: any object.
        (Value::Object(_), Value::Object(_)) if path.ends_with(".metadata") => Vec::new(),
        (Value::Object(a), Value::Object(b)) => {
            let mut found = Vec::new();
            for (key, value) in b {
                match a.get(key) {
                    None => found.push(format!("{path}.{key}: missing")),
                    Some(mine) => {
                        found.extend(differences(&format!("{path}.{key}"), mine, value, exact))
                    }
                }
            }
            if exact {
                for key in a.keys().filter(|k| !b.contains_key(*k)) {
                    found.push(format!("{path}.{key}: not in Omise's answer"));
                }
            }
            found
        }
        (Value::Array(a), Value::Array(b)) => match (a.first(), b.first()) {
            (Some(mine), Some(theirs)) => differences(&format!("{path}[0]"), mine, theirs, exact),
            _ => Vec::new(),
        },
        (a, b) if kind(a) == kind(b) => Vec::new(),
        (a, b) => vec![format!("{path}: {} where Omise has {}", kind(a), kind(b))],
    }
}

fn assert_shaped_as(ours: &Value, name: &str, exact: bool) {
    let found = differences("", ours, &fixture(name), exact);
    assert!(
        found.is_empty(),
        "the stand-in's answer differs from {name}: {found:#?}\n{ours:#}"
    );
}

fn post(standin: &StandIn, path: &str, key: &str, form: &str) -> Value {
    let (status, body) = standin.request(
        "POST",
        path,
        Some(key),
        "application/x-www-form-urlencoded",
        form,
    );
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn get(standin: &StandIn, path: &str, key: &str) -> Value {
    let (status, body) = standin.request("GET", path, Some(key), "", "");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn a_token_card_charge_refund_and_search_are_shaped_as_omise_records_them() {
    let standin = StandIn::start();
    let account = standin.account(json!({}));
    let (status, token) = standin.create_token(&account.public_key, "4242424242424242");
    assert_eq!(status, 200);
    let token: Value = serde_json::from_str(&token).unwrap();
    assert_shaped_as(&token, "tokens-post.json", true);
    assert_eq!(
        (token["used"].clone(), token["card"]["last_digits"].clone()),
        (json!(false), json!("4242"))
    );

    let form = format!(
        "amount=100000&currency=thb&card={}&description=Order-123&metadata%5Border%5D=123",
        token["id"].as_str().unwrap()
    );
    let charge = post(&standin, "/charges", &account.secret_key, &form);
    assert_shaped_as(&charge, "charges-post.json", true);
    assert_eq!(charge["status"], "successful");
    assert_eq!(charge["metadata"], json!({"order": "123"}));

    let id = charge["id"].as_str().unwrap();
    let refund = post(
        &standin,
        &format!("/charges/{id}/refunds"),
        &account.secret_key,
        "amount=10000",
    );
    assert_shaped_as(&refund, "refunds-post.json", true);
    assert_eq!(
        get(&standin, &format!("/charges/{id}"), &account.secret_key)["refunded_amount"],
        10000
    );

    let search = get(
        &standin,
        "/search?scope=charge&query=123&filters%5Bcaptured%5D=true",
        &account.secret_key,
    );
    assert_shaped_as(&search, "search-charge-get.json", true);
    assert_eq!(search["data"][0]["id"], id);
}

#[test]
fn an_authorization_reversed_is_shaped_as_omise_records_it() {
    let standin = StandIn::start();
    let account = standin.account(json!({}));
    let token = standin.token(&account.public_key, "4242424242424242");
    let form = format!("amount=100000&currency=thb&card={token}&capture=false");
    let charge = post(&standin, "/charges", &account.secret_key, &form);
    assert_eq!(
        (charge["status"].clone(), charge["authorized"].clone()),
        (json!("pending"), json!(true))
    );
    let reversed = post(
        &standin,
        &format!("/charges/{}/reverse", charge["id"].as_str().unwrap()),
        &account.secret_key,
        "",
    );
    assert_shaped_as(&reversed, "reverse-post.json", true);
    assert_eq!(reversed["status"], "reversed");
}

#[test]
fn a_promptpay_charge_is_shaped_as_omise_records_one() {
    let standin = StandIn::start();
    let account = standin.account(json!({}));
    let charge = post(
        &standin,
        "/charges",
        &account.secret_key,
        "amount=2000&currency=thb&source%5Btype%5D=promptpay",
    );
    // Recorded by an older client: Omise's fields are all there; newer ones may be added.
    assert_shaped_as(&charge, "charge-promptpay-get.json", false);
    let recorded = fixture("charge-promptpay-get.json");
    assert!(differences("", &charge["source"], &recorded["source"], true).is_empty());
    assert_eq!(charge["status"], "pending");
}

#[test]
fn refusals_are_omise_error_objects() {
    let standin = StandIn::start();
    let account = standin.account(json!({}));
    for (number, code) in [("4242424242424241", "invalid_card"), ("12", "invalid_card")] {
        let (status, body) = standin.create_token(&account.public_key, number);
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (status, error["object"].as_str(), error["code"].as_str()),
            (400, Some("error"), Some(code))
        );
    }
    // The vault takes the public key only; the API, the secret key only.
    let (status, _) = standin.create_token(&account.secret_key, "4242424242424242");
    assert_eq!(status, 401);
    let (status, body) = standin.request(
        "GET",
        "/charges/chrg_test_nothing",
        Some(&account.public_key),
        "",
        "",
    );
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["code"].clone()
        ),
        (401, json!("authentication_failure"))
    );
    let token = standin.token(&account.public_key, "4242424242424242");
    let form = format!("amount=100000&currency=thb&card={token}");
    post(&standin, "/charges", &account.secret_key, &form);
    let (status, body) = standin.request(
        "POST",
        "/charges",
        Some(&account.secret_key),
        "application/x-www-form-urlencoded",
        &form,
    );
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["code"].clone()
        ),
        (400, json!("used_token"))
    );
    // Another account's charge is not found.
    let other = standin.account(json!({}));
    let id = standin.charges(&account.secret_key)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = standin.request(
        "GET",
        &format!("/charges/{id}"),
        Some(&other.secret_key),
        "",
        "",
    );
    assert_eq!(status, 404);
}
