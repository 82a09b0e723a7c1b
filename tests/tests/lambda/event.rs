//! API Gateway HTTP API (payload format 2.0) events, shaped as the gateway sends them (compare
//! `sam local generate-event apigateway http-api-proxy`).

use base64::Engine;
use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

/// One request as API Gateway would hand it to a route's function.
pub struct Event {
    route_key: String,
    method: String,
    path: String,
    raw_query: String,
    headers: Map<String, Value>,
    path_id: Option<String>,
    body: Option<Vec<u8>>,
    base64: bool,
    /// The gateway's request id (`requestContext.requestId`).
    pub api_request_id: String,
    /// The Lambda invocation's request id: the emulator takes it from `X-Amzn-RequestId`, and the
    /// runtime puts it in every log line of the invocation as `requestId`.
    pub lambda_request_id: String,
}

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
            ("accept", "*/*"),
            ("host", "abc123.execute-api.us-east-1.amazonaws.com"),
            ("user-agent", "links-tests"),
            (
                "x-amzn-trace-id",
                "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
            ),
            ("x-forwarded-for", "198.51.100.7"),
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
            path_id: None,
            body: None,
            base64: false,
            api_request_id: format!("Rie{pid:x}x{n:04}Aw="),
            lambda_request_id: format!("5e1f0000-0000-4000-8000-{pid:06x}{n:06x}"),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .insert(name.to_ascii_lowercase(), Value::from(value));
        self
    }

    /// Authenticates as Omise clients do.
    pub fn key(self, key: &str) -> Self {
        self.header("authorization", &links_tests::basic_auth(key))
    }

    /// The `{id}` path parameter the route captured.
    pub fn id(mut self, id: &str) -> Self {
        self.path_id = Some(id.to_owned());
        self
    }

    /// A JSON body; `base64` as the gateway does for bodies it does not treat as text.
    pub fn json(mut self, body: &Value, base64: bool) -> Self {
        self.body = Some(serde_json::to_vec(body).expect("serialise JSON"));
        self.base64 = base64;
        self.header("content-type", "application/json")
    }

    /// A form body, already encoded; base64 as the gateway delivers form posts.
    pub fn form(mut self, body: &str) -> Self {
        self.body = Some(body.as_bytes().to_vec());
        self.base64 = true;
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    /// The event as JSON.
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
                    "sourceIp": "198.51.100.7",
                    "userAgent": "links-tests",
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
        if let Some(id) = &self.path_id {
            event["pathParameters"] = json!({ "id": id });
        }
        if let Some(body) = &self.body {
            event["body"] = if self.base64 {
                base64::engine::general_purpose::STANDARD
                    .encode(body)
                    .into()
            } else {
                String::from_utf8(body.clone()).expect("a text body").into()
            };
        }
        event
    }
}

/// `queryStringParameters` as the gateway builds it: decoded, repeated keys joined by commas.
fn query_parameters(raw: &str) -> Option<Value> {
    let pairs = shared::http::parse_urlencoded(raw.as_bytes()).expect("a valid query string");
    let mut map = Map::new();
    for (key, value) in pairs {
        match map.get_mut(&key) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                map.insert(key, value.into());
            }
        }
    }
    (!map.is_empty()).then_some(Value::Object(map))
}
