//! Reading a request: its key, its caller's address, its path id, and its parameters.
//!
//! Omise clients send parameters in three ways and all must work: a JSON body (Python, Node), a
//! form body (Ruby, PHP, curl `-d`; every value a string), and for `GET /links` the query string or
//! a JSON body on the GET itself (the Python client). All become one [`Params`]; typed parsing is
//! the validation layer's.

use crate::domain::error::ApiError;
use crate::domain::ids;
use crate::domain::principal::Principal;
use crate::validate::{IdempotencyKey, Params};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;

/// The largest body accepted, in bytes. The longest valid create, with every character of a
/// 255-character title and a 1,024-character description sent as a `\uXXXX\uXXXX` surrogate pair
/// (or as four %-escaped bytes in a form), is under 16 KiB; twice that leaves room and still
/// refuses, before any parsing, the megabytes Lambda would otherwise take (up to 6 MB).
pub const MAX_BODY_BYTES: usize = 32 * 1024;

/// The username of an `Authorization: Basic` header: the secret key, as Omise clients send it.
/// The password is ignored, as Omise does.
pub fn basic_username(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(credentials.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let username = text.split_once(':').map_or(text.as_str(), |(user, _)| user);
    Some(username.to_owned())
}

/// The caller's address as API Gateway saw it (`requestContext.http.sourceIp`).
pub fn source_ip(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The buyer's address when the API sits behind CloudFront (the WAF's distribution): the
/// `X-Forwarded-For` entry CloudFront appended, which is the last one once any entries API Gateway
/// added for the connection it saw (CloudFront's own address, `sourceIp`) are left out. Entries
/// before it are the client's own claims and are never trusted.
pub fn edge_client_ip(req: &Request) -> Option<String> {
    let connection = source_ip(req);
    let forwarded = req.headers().get("x-forwarded-for")?.to_str().ok()?;
    forwarded
        .split(',')
        .map(str::trim)
        .rev()
        .find(|entry| !entry.is_empty() && Some(*entry) != connection.as_deref())
        .filter(|entry| entry.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_owned)
}

/// The API's domain name as API Gateway serves it (`requestContext.domainName`: set by the
/// gateway from the API's own domain, not by the client).
pub fn domain_name(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.domain_name.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// API Gateway's own request id, which its access log records.
pub fn api_request_id(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.request_id.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The `Idempotency-Key` header, validated.
pub fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, ApiError> {
    IdempotencyKey::parse(req.headers().get("idempotency-key").map(|v| v.as_bytes()))
}

/// The `{id}` path parameter, as it came (empty when missing).
pub fn path_id(req: &Request) -> &str {
    req.path_parameters_ref()
        .and_then(|p| p.first("id"))
        .unwrap_or("")
}

/// The `{id}` path parameter as one of the caller's charge ids; anything else is `not_found` at
/// once, without a database read.
pub fn charge_id<'r>(req: &'r Request, owner: &Principal) -> Result<&'r str, ApiError> {
    let id = path_id(req);
    if ids::is_charge_id(id, owner.livemode) {
        Ok(id)
    } else {
        let shown: String = id.chars().take(64).collect();
        Err(ApiError::NotFound(format!("charge {shown}")))
    }
}

/// The `{id}` path parameter as one of the caller's event ids; anything else (another mode's id
/// included) is `not_found` at once, without a database read, as for charges.
pub fn event_id<'r>(req: &'r Request, owner: &Principal) -> Result<&'r str, ApiError> {
    let id = path_id(req);
    if ids::is_event_id(id, owner.livemode) {
        Ok(id)
    } else {
        let shown: String = id.chars().take(64).collect();
        Err(ApiError::NotFound(format!("event {shown}")))
    }
}

/// The `{id}` path parameter. A value that cannot be one of the caller's link ids is answered
/// `not_found` at once, without a database read.
pub fn link_id<'r>(req: &'r Request, owner: &Principal) -> Result<&'r str, ApiError> {
    let id = path_id(req);
    if ids::is_link_id(id, owner.livemode) {
        Ok(id)
    } else {
        let shown: String = id.chars().take(64).collect();
        Err(ApiError::NotFound(format!("link {shown}")))
    }
}

/// The body's parameters, from JSON or a form. An empty body has none, whatever its headers say
/// (clients send `Content-Type: application/json` on bodiless requests).
pub fn body_params(req: &Request) -> Result<Params, ApiError> {
    let body: &[u8] = req.body().as_ref();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Params::default());
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "the body is {} bytes; the most accepted is {MAX_BODY_BYTES}",
            body.len()
        )));
    }
    let header_text = |name| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("(not text)").trim())
    };
    // Compressed bodies are refused rather than read as if plain: no Omise client compresses what
    // it sends, and bodies this small gain nothing from it.
    if let Some(encoding) = header_text(header::CONTENT_ENCODING) {
        if !encoding.eq_ignore_ascii_case("identity") {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding {encoding} is not supported; send the body uncompressed"
            )));
        }
    }
    let mime = header_text(header::CONTENT_TYPE)
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" => json_params(body),
        "application/x-www-form-urlencoded" => form_params(body),
        "" => Err(ApiError::UnsupportedMediaType(
            "the request has a body but no Content-Type; send application/json or application/x-www-form-urlencoded".into(),
        )),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {other} is not supported; send application/json or application/x-www-form-urlencoded"
        ))),
    }
}

/// The body's parameters overlaid with the query string's: the query string wins. A parameter
/// repeated within the query string is refused, as in a form.
pub fn query_and_body_params(req: &Request) -> Result<Params, ApiError> {
    let mut params = body_params(req)?;
    if let Some(query) = req.query_string_parameters_ref() {
        let mut seen = HashSet::new();
        for (key, value) in query.iter() {
            if !seen.insert(key) {
                return Err(given_twice(key));
            }
            params.set(key.to_owned(), Value::String(value.to_owned()));
        }
    }
    Ok(params)
}

fn given_twice(key: &str) -> ApiError {
    let shown: String = key.chars().take(64).collect();
    ApiError::BadRequest(format!("{shown} is given more than once"))
}

fn json_params(body: &[u8]) -> Result<Params, ApiError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let value = Strict::deserialize(&mut json)
        .and_then(|v| json.end().map(|()| v.0))
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(Params::new(map)),
        _ => Err(ApiError::BadRequest(
            "the JSON body must be an object".into(),
        )),
    }
}

fn form_params(body: &[u8]) -> Result<Params, ApiError> {
    let mut map = Map::new();
    for (key, value) in parse_urlencoded(body)? {
        if map.contains_key(&key) {
            return Err(given_twice(&key));
        }
        map.insert(key, Value::String(value));
    }
    Ok(Params::new(map))
}

/// A JSON value in which no object names a key twice. serde_json keeps the last of duplicate
/// keys without a word, so `{"amount":1,"amount":50000}` would silently be 50000; refused here.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            values.push(v);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            let Strict(value) = entries.next_value()?;
            if map.contains_key(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(de::Error::custom(format!(
                    "{shown} is given more than once"
                )));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// Decodes `application/x-www-form-urlencoded` text strictly: unlike lossy decoders, a value that
/// is not valid UTF-8, or a malformed %-escape, is refused rather than silently altered, so Thai
/// text is stored exactly.
pub fn parse_urlencoded(input: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let key = percent_decode(parts.next().unwrap_or_default())?;
            let value = percent_decode(parts.next().unwrap_or_default())?;
            Ok((key, value))
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> Result<String, ApiError> {
    let mut out = Vec::with_capacity(input.len());
    // Consumes an iterator rather than stepping an index: it cannot run past or loop over the input.
    let mut bytes = input.iter();
    while let Some(&b) = bytes.next() {
        out.push(match b {
            b'+' => b' ',
            b'%' => {
                // Two hex digits exactly: from_str_radix alone would also take `+9`.
                let byte = bytes
                    .as_slice()
                    .get(..2)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::BadRequest("the form body has a malformed %-escape".into())
                    })?;
                bytes.nth(1);
                byte
            }
            b => b,
        });
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::BadRequest("the form body is not valid UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::{Body, http};
    use serde_json::json;

    fn request(headers: &[(&str, &str)], body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/links");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn the_gateway_context_gives_the_callers_address_and_its_request_id() {
        let event = json!({
            "version": "2.0", "routeKey": "GET /links", "rawPath": "/links", "rawQueryString": "",
            "headers": {}, "isBase64Encoded": false,
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "example.test",
                "domainPrefix": "example", "requestId": "Gw1x0001Aw=", "routeKey": "GET /links",
                "stage": "$default", "time": "26/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
                "http": {
                    "method": "GET", "path": "/links", "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.7", "userAgent": "test"
                }
            }
        });
        let req = lambda_http::request::from_str(&event.to_string()).expect("a v2 event");
        assert_eq!(source_ip(&req).as_deref(), Some("203.0.113.7"));
        assert_eq!(api_request_id(&req).as_deref(), Some("Gw1x0001Aw="));
        // A request made without API Gateway has neither.
        assert_eq!(source_ip(&request(&[], "")), None);
        assert_eq!(api_request_id(&request(&[], "")), None);
    }

    #[test]
    fn behind_cloudfront_the_buyer_is_the_entry_cloudfront_appended() {
        // The chain API Gateway hands on: what the client claimed, then the buyer's address as
        // CloudFront saw it, then CloudFront's own (the gateway's `sourceIp`).
        let via_edge = |forwarded: &str| {
            let event = json!({
                "version": "2.0", "routeKey": "GET /pay/{id}", "rawPath": "/pay/x",
                "rawQueryString": "", "headers": {"x-forwarded-for": forwarded},
                "isBase64Encoded": false,
                "requestContext": {
                    "accountId": "1", "apiId": "api", "domainName": "example.test",
                    "domainPrefix": "example", "requestId": "r", "routeKey": "GET /pay/{id}",
                    "stage": "$default", "time": "26/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
                    "http": {
                        "method": "GET", "path": "/pay/x", "protocol": "HTTP/1.1",
                        "sourceIp": "130.176.0.9", "userAgent": "test"
                    }
                }
            });
            edge_client_ip(&lambda_http::request::from_str(&event.to_string()).unwrap())
        };
        assert_eq!(
            via_edge("203.0.113.7, 130.176.0.9").as_deref(),
            Some("203.0.113.7")
        );
        // A claim the client made itself is never the answer.
        assert_eq!(
            via_edge("10.9.9.9, 198.51.100.4, 130.176.0.9").as_deref(),
            Some("198.51.100.4")
        );
        // Without the gateway's own entry, the last entry is still CloudFront's.
        assert_eq!(
            via_edge("10.9.9.9, 2001:db8::1").as_deref(),
            Some("2001:db8::1")
        );
        // Not an address: no address (the failure budget then counts no address).
        assert_eq!(via_edge("not-an-ip, 130.176.0.9"), None);
        assert_eq!(edge_client_ip(&request(&[], "")), None);
    }

    fn json_request(body: &str) -> Request {
        request(&[("content-type", "application/json")], body)
    }

    fn refusal(req: Request) -> (u16, String) {
        let err = body_params(&req).unwrap_err();
        (err.status(), err.message())
    }

    #[test]
    fn username_is_read_from_basic_auth_with_or_without_password() {
        let with_auth = |value: &str| request(&[("authorization", value)], "");
        let key = "skey_test_abc";
        let colon = STANDARD.encode(format!("{key}:"));
        let bare = STANDARD.encode(key);
        let with_password = STANDARD.encode(format!("{key}:secret:more"));
        assert_eq!(
            basic_username(&with_auth(&format!("Basic {colon}"))).as_deref(),
            Some(key)
        );
        assert_eq!(
            basic_username(&with_auth(&format!("basic {bare}"))).as_deref(),
            Some(key)
        );
        assert_eq!(
            basic_username(&with_auth(&format!("  BASIC   {with_password} "))).as_deref(),
            Some(key)
        );
        assert_eq!(basic_username(&with_auth(&format!("Bearer {colon}"))), None);
        assert_eq!(basic_username(&with_auth("Basic !!!")), None);
        assert_eq!(basic_username(&with_auth("Basic")), None);
        assert_eq!(
            basic_username(&with_auth(&format!(
                "Basic {}",
                STANDARD.encode([0xff, b':'])
            ))),
            None
        );
        assert_eq!(basic_username(&request(&[], "")), None);
    }

    #[test]
    fn form_values_decode_to_exact_utf8() {
        let pairs = parse_urlencoded(
            "title=%E0%B8%AA%E0%B8%A7%E0%B8%B1%E0%B8%AA%E0%B8%94%E0%B8%B5&a+b=c+d&e=&&f".as_bytes(),
        )
        .unwrap();
        assert_eq!(pairs[0], ("title".into(), "สวัสดี".into()));
        assert_eq!(pairs[1], ("a b".into(), "c d".into()));
        assert_eq!(pairs[2], ("e".into(), "".into()));
        assert_eq!(pairs[3], ("f".into(), "".into()));
        assert_eq!(pairs.len(), 4);
    }

    #[test]
    fn form_rejects_bad_escapes_and_invalid_utf8() {
        assert!(parse_urlencoded(b"a=%E0%B8").is_err());
        assert!(parse_urlencoded(b"a=%zz").is_err());
        assert!(parse_urlencoded(b"a=%4").is_err());
        assert!(parse_urlencoded(b"a=%").is_err());
        assert!(parse_urlencoded(b"%E0=1").is_err());
        assert!(
            parse_urlencoded(b"a=%+9").is_err(),
            "a sign is not a hex digit"
        );
        assert!(parse_urlencoded(b"a=%-0").is_err());
        assert_eq!(parse_urlencoded(b"a=%4a%4A").unwrap()[0].1, "JJ");
    }

    #[test]
    fn json_with_surrogate_pairs_decodes() {
        let p = body_params(&request(
            &[("content-type", "application/json; charset=utf-8")],
            r#"{"t":"\u0e2a\ud83d\ude00","n":[1,-2,3.5,true,null,{"x":"y"}]}"#,
        ))
        .unwrap();
        assert_eq!(p.get("t").unwrap(), "ส😀");
        assert_eq!(
            p.get("n").unwrap(),
            &json!([1, -2, 3.5, true, null, {"x": "y"}])
        );
    }

    #[test]
    fn duplicate_keys_are_refused_by_name_at_any_depth() {
        for (body, key) in [
            (r#"{"amount":1,"amount":50000}"#, "amount"),
            (r#"{"a":{"title":1,"title":2}}"#, "title"),
            (r#"{"a":[{"b":1,"b":1}]}"#, "b"),
        ] {
            let (status, message) = refusal(json_request(body));
            assert_eq!(status, 400, "{body}");
            assert!(
                message.contains(&format!("{key} is given more than once")),
                "{message}"
            );
        }
        let (status, message) = refusal(request(
            &[("content-type", "application/x-www-form-urlencoded")],
            "a=1&b=2&a=3",
        ));
        assert_eq!(
            (status, message.as_str()),
            (400, "a is given more than once")
        );
        // The same name in different objects is fine.
        assert!(body_params(&json_request(r#"{"a":{"x":1},"b":{"x":2}}"#)).is_ok());
    }

    #[test]
    fn empty_body_is_no_params_whatever_the_headers() {
        for headers in [
            &[("content-type", "application/json")][..],
            &[],
            &[("content-encoding", "gzip")],
        ] {
            assert_eq!(
                body_params(&request(headers, "")).unwrap(),
                Params::default()
            );
            assert_eq!(
                body_params(&request(headers, " \n")).unwrap(),
                Params::default()
            );
        }
    }

    #[test]
    fn bodies_up_to_the_limit_are_read_and_larger_ones_refused_with_413() {
        let fits = format!(r#"{{"t":"{}"}}"#, "x".repeat(MAX_BODY_BYTES - 8));
        assert_eq!(fits.len(), MAX_BODY_BYTES);
        assert!(body_params(&json_request(&fits)).is_ok());
        let over = format!(r#"{{"t":"{}"}}"#, "x".repeat(MAX_BODY_BYTES - 7));
        let (status, message) = refusal(json_request(&over));
        assert_eq!(status, 413);
        assert!(message.contains(&MAX_BODY_BYTES.to_string()), "{message}");
    }

    #[test]
    fn encoded_bodies_are_refused_unless_identity() {
        for encoding in ["gzip", "deflate", "br", "x-made-up", "identity, gzip"] {
            let req = request(
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", encoding),
                ],
                "{}",
            );
            let (status, message) = refusal(req);
            assert_eq!(status, 415, "{encoding}");
            assert!(message.contains(encoding), "{message}");
        }
        let identity = request(
            &[
                ("content-type", "application/json"),
                ("content-encoding", "Identity"),
            ],
            r#"{"a":1}"#,
        );
        assert!(body_params(&identity).is_ok());
    }

    #[test]
    fn unsupported_bodies_are_refused() {
        assert_eq!(
            refusal(request(&[("content-type", "text/plain")], "x")).0,
            415
        );
        assert_eq!(refusal(request(&[], "x=1")).0, 415);
        assert_eq!(refusal(json_request("[1]")).0, 400);
        assert_eq!(refusal(json_request("{")).0, 400);
        assert_eq!(refusal(json_request("{} {}")).0, 400);
        assert!(
            body_params(&request(
                &[("content-type", "Application/JSON ; charset=utf-8")],
                "{}"
            ))
            .is_ok()
        );
    }

    #[test]
    fn event_ids_are_the_callers_modes_or_not_found_without_a_read() {
        let with_id = |id: &str| {
            request(&[], "").with_path_parameters(std::collections::HashMap::from([(
                "id".to_owned(),
                id.to_owned(),
            )]))
        };
        let at = chrono::Utc::now();
        let test_owner = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        let live_owner = Principal {
            livemode: true,
            ..test_owner.clone()
        };
        let test_id = ids::new_event_id(false, at);
        let live_id = ids::new_event_id(true, at);
        assert_eq!(event_id(&with_id(&test_id), &test_owner).unwrap(), test_id);
        assert_eq!(event_id(&with_id(&live_id), &live_owner).unwrap(), live_id);
        let long = format!("evnt_test_{}", "x".repeat(100));
        let charge = ids::new_charge_id(false, at);
        for (id, owner) in [
            (test_id.as_str(), &live_owner),
            (live_id.as_str(), &test_owner),
            (charge.as_str(), &test_owner),
            ("evnt_test_../../x", &test_owner),
            ("", &test_owner),
            (long.as_str(), &test_owner),
        ] {
            let err = event_id(&with_id(id), owner).unwrap_err();
            assert_eq!(err.status(), 404, "{id}");
            let shown: String = id.chars().take(64).collect();
            assert_eq!(
                err.message(),
                format!("event {shown} was not found"),
                "{id}"
            );
        }
    }

    #[test]
    fn idempotency_keys_come_from_their_header() {
        assert_eq!(idempotency_key(&request(&[], "")).unwrap(), None);
        let key = idempotency_key(&request(&[("idempotency-key", "abc")], "")).unwrap();
        assert_eq!(key, IdempotencyKey::parse(Some(b"abc")).unwrap());
        assert!(idempotency_key(&request(&[("idempotency-key", "")], "")).is_err());
    }
}
