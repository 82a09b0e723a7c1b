//! API Gateway HTTP API (payload format 2.0) events, shaped as the gateway sends them (compare
//! `sam local generate-event apigateway http-api-proxy`), and turned into the handlers' `Request`
//! by `lambda_http` itself.
//!
//! The local server, the in-process tests and the Lambda emulator tests all build their requests
//! here, so what a handler sees locally is what it sees deployed: `lambda_http` decodes the path,
//! the raw query string (loosely, as the WHATWG URL standard says: `%zz` stays `%zz`), the
//! headers, the base64 body and the request context through the same code either way.

use base64::Engine;
use lambda_http::Request;
use serde_json::{Map, Value, json};
use shared::http::routes::{ROUTES, Resolution, resolve};
use std::sync::atomic::{AtomicU32, Ordering};

/// One request as API Gateway would hand it to a route's function.
#[derive(Debug, Clone)]
pub struct Event {
    route_key: String,
    method: String,
    path: String,
    raw_query: String,
    headers: Map<String, Value>,
    path_params: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    base64: bool,
    source_ip: String,
    /// The gateway's request id (`requestContext.requestId`).
    pub api_request_id: String,
    /// The Lambda invocation's request id: the emulator takes it from `X-Amzn-RequestId`, and the
    /// runtime puts it in every log line of the invocation as `requestId`.
    pub lambda_request_id: String,
}

/// The address requests come from unless one is given (a documentation address, RFC 5737).
pub const DEFAULT_SOURCE_IP: &str = "198.51.100.7";

impl Event {
    /// A request reaching the route `route_key` ("GET /links/{id}", or "$default") with this
    /// method and path; `path_and_query` is what the client sent (`/links?limit=1`).
    pub fn new(route_key: &str, method: &str, path_and_query: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let (path, raw_query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        // The headers the gateway adds to every request, lowercased as payload 2.0 has them.
        let headers = [
            ("host", "abc123.execute-api.us-east-1.amazonaws.com"),
            (
                "x-amzn-trace-id",
                "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
            ),
            ("x-forwarded-for", DEFAULT_SOURCE_IP),
            ("x-forwarded-port", "443"),
            ("x-forwarded-proto", "https"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::from(v)))
        .collect();
        Self {
            route_key: route_key.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            raw_query: raw_query.to_owned(),
            headers,
            path_params: Vec::new(),
            body: None,
            base64: false,
            source_ip: DEFAULT_SOURCE_IP.to_owned(),
            api_request_id: format!("Gw{pid:x}x{n:04}Aw="),
            lambda_request_id: format!("5e1f0000-0000-4000-8000-{pid:06x}{n:06x}"),
        }
    }

    /// A request routed as the template's HTTP API routes it: to its route, with the `{id}` it
    /// captured, or to `$default`.
    pub fn routed(method: &str, path_and_query: &str) -> Self {
        let path = path_and_query.split('?').next().unwrap_or_default();
        match resolve(method, path) {
            Resolution::Found { operation, params } => {
                let route = ROUTES
                    .iter()
                    .find(|r| r.operation == operation)
                    .expect("every operation has a route");
                let event = Self::new(
                    &format!("{} {}", route.method, route.path),
                    method,
                    path_and_query,
                );
                params
                    .into_iter()
                    .fold(event, |event, (name, value)| event.param(&name, &value))
            }
            Resolution::MethodNotAllowed(_) | Resolution::NotFound => {
                Self::new("$default", method, path_and_query)
            }
        }
    }

    /// The route the gateway matched: `"GET /links/{id}"`, or `"$default"`.
    pub fn route_key(&self) -> &str {
        &self.route_key
    }

    /// Adds a header as the gateway passes it on: lowercased, repeated values joined by commas.
    /// The gateway sets `host` and `x-forwarded-*` itself, whatever the client sent.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        if name == "host" || name.starts_with("x-forwarded-") {
            return self;
        }
        match self.headers.get_mut(&name) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(value);
            }
            _ => {
                self.headers.insert(name, Value::from(value));
            }
        }
        self
    }

    /// Authenticates as Omise clients do: the key as Basic username, an empty password.
    pub fn key(self, key: &str) -> Self {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        self.header("authorization", &format!("Basic {credentials}"))
    }

    /// The `{id}` path parameter the route captured.
    pub fn id(self, id: &str) -> Self {
        self.param("id", id)
    }

    /// A path parameter the route captured.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.path_params.retain(|(n, _)| n != name);
        self.path_params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The caller's address (`requestContext.http.sourceIp`).
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.to_owned();
        self.headers
            .insert("x-forwarded-for".into(), Value::from(ip));
        self
    }

    /// A raw body. The gateway passes JSON and text bodies that are valid UTF-8 as they are, and
    /// base64-encodes everything else (form posts included).
    pub fn body(mut self, body: Vec<u8>) -> Self {
        let content_type = self
            .headers
            .get("content-type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let textual =
            content_type.starts_with("application/json") || content_type.starts_with("text/");
        self.base64 = !(textual && std::str::from_utf8(&body).is_ok());
        self.body = Some(body);
        self
    }

    /// A JSON body; `base64` as the gateway does for bodies it does not treat as text.
    pub fn json(self, body: &Value, base64: bool) -> Self {
        let mut event = self
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).expect("serialise JSON"));
        event.base64 = base64;
        event
    }

    /// A form body, already encoded.
    pub fn form(self, body: &str) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body.as_bytes().to_vec())
    }

    /// The event as JSON, as the gateway sends it to the function.
    pub fn to_json(&self) -> Value {
        let now = shared::chrono::Utc::now();
        let mut headers = self.headers.clone();
        if let Some(body) = &self.body {
            headers.insert("content-length".into(), body.len().to_string().into());
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": self.route_key,
            "rawPath": self.path,
            "rawQueryString": self.raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip,
                    "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::from("")),
                },
                "requestId": self.api_request_id,
                "routeKey": self.route_key,
                "stage": "$default",
                "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
                "timeEpoch": now.timestamp_millis(),
            },
            "isBase64Encoded": self.base64,
        });
        // The gateway leaves out what a request does not have rather than sending it empty.
        if let Some(query) = query_parameters(&self.raw_query) {
            event["queryStringParameters"] = query;
        }
        if !self.path_params.is_empty() {
            event["pathParameters"] = self
                .path_params
                .iter()
                .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
                .collect::<Map<String, Value>>()
                .into();
        }
        if let Some(body) = &self.body {
            event["body"] = if self.base64 {
                base64::engine::general_purpose::STANDARD
                    .encode(body)
                    .into()
            } else {
                String::from_utf8_lossy(body).into_owned().into()
            };
        }
        event
    }

    /// The request a handler sees for this event, decoded by `lambda_http` exactly as the
    /// deployed function decodes it.
    pub fn into_request(self) -> Request {
        lambda_http::request::from_str(&self.to_json().to_string())
            .expect("lambda_http decodes every event this builds")
    }
}

/// `queryStringParameters` as the gateway builds it: decoded loosely, repeated keys joined by
/// commas. (`lambda_http` reads `rawQueryString` instead; this only keeps the event realistic.)
fn query_parameters(raw: &str) -> Option<Value> {
    let mut map = Map::new();
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        match map.get_mut(key.as_ref()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                map.insert(key.into_owned(), value.into_owned().into());
            }
        }
    }
    (!map.is_empty()).then_some(Value::Object(map))
}
