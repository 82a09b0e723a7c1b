//! The integration test harness: a real DynamoDB Local, a fresh table and two fresh accounts per
//! test, and requests served in-process through the same routing as the local server.
//!
//! DynamoDB Local is the one `scripts/test` started (`DYNAMODB_ENDPOINT`), or, when the tests run
//! on their own (`cargo test`), one started here on a free port for the life of the test process.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use lambda_http::Body;
use lambda_http::http::{self, HeaderMap};
use serde_json::Value;
use shared::AppContext;
use shared::store::Store;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The payment page base URL every test app uses.
pub const PAYMENT_BASE: &str = "https://pay.test.example/pay";

/// The endpoint of the DynamoDB Local the tests use, started on first use if none is given.
pub fn dynamodb_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("DYNAMODB_ENDPOINT") {
        Ok(endpoint) => endpoint,
        Err(_) => start_dynamodb_local(),
    })
}

// The watcher shell is never waited for: it must outlive this call, and it ends by itself.
#[allow(clippy::zombie_processes)]
fn start_dynamodb_local() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // The shell outlives neither this process nor DynamoDB Local: it stops the server once the
    // test process is gone, so no JVM is left behind.
    let watcher = format!(
        "{root}/scripts/dynamodb-local {port} >/dev/null 2>&1 & server=$!; \
         while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $server",
        parent = std::process::id()
    );
    std::process::Command::new("bash")
        .arg("-c")
        .arg(watcher)
        .spawn()
        .expect("bash to start DynamoDB Local");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "DynamoDB Local did not start (run scripts/setup?)"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// A DynamoDB client for DynamoDB Local.
pub fn local_client() -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(dynamodb_endpoint())
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .http_client(shared::context::http_client())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A secret key pair of one account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub test_key: String,
    pub live_key: String,
}

/// The API over a table of its own, with two accounts.
pub struct TestApp {
    pub ctx: AppContext,
    pub alice: Account,
    pub bob: Account,
}

/// A fresh table name: tests in one process, and processes sharing one DynamoDB Local, never meet.
fn table_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "links-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn spawn_app() -> TestApp {
    let store = Store::new(local_client(), table_name());
    store.create_table().await.expect("create the test table");
    let account = |a: shared::store::NewAccount| Account {
        id: a.account_id,
        test_key: a.test_key,
        live_key: a.live_key,
    };
    let now = shared::chrono::Utc::now();
    let alice = account(store.create_account(now).await.expect("create account"));
    let bob = account(store.create_account(now).await.expect("create account"));
    TestApp {
        ctx: AppContext::new(store, PAYMENT_BASE),
        alice,
        bob,
    }
}

/// The `Authorization` value Omise clients send: the key as Basic username, empty password.
pub fn basic_auth(key: &str) -> String {
    use base64::Engine;
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    format!("Basic {credentials}")
}

/// A request being built.
pub struct Call<'a> {
    app: &'a TestApp,
    builder: http::request::Builder,
    body: Vec<u8>,
}

/// A response, with its body parsed as JSON (`Value::Null` if it is not JSON).
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub fn call(&self, method: &str, path_and_query: &str) -> Call<'_> {
        Call {
            app: self,
            builder: http::Request::builder().method(method).uri(path_and_query),
            body: Vec::new(),
        }
    }

    /// Creates a link with `key` and returns the created link, asserting success.
    pub async fn create_link(&self, key: &str, params: Value) -> Value {
        let response = self
            .call("POST", "/links")
            .key(key)
            .json(&params)
            .send()
            .await;
        assert_eq!(
            response.status, 200,
            "creating {params}: {:?}",
            response.body
        );
        response.body
    }

    /// A valid create body with the given title.
    pub fn link_params(title: &str) -> Value {
        serde_json::json!({"amount": 10_000, "currency": "thb", "title": title, "description": "a test link"})
    }
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Authenticates as Omise clients do (see [`basic_auth`]).
    pub fn key(self, key: &str) -> Self {
        self.header("authorization", &basic_auth(key))
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.body = serde_json::to_vec(body).expect("serialise JSON");
        self.header("content-type", "application/json")
    }

    /// A form body, already encoded (`a=1&b=%E0%B8%81`).
    pub fn form(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    /// A raw body with no Content-Type of its own.
    pub fn raw(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    pub async fn send(self) -> TestResponse {
        let request = self.builder.body(()).expect("a valid request");
        let (parts, ()) = request.into_parts();
        let response = match tools::lambda_request(parts, self.body) {
            Ok(request) => tools::dispatch(&self.app.ctx, request).await,
            Err(error) => error.into_response(),
        };
        let (parts, body) = response.into_parts();
        let bytes: &[u8] = match &body {
            Body::Empty => &[],
            other => other.as_ref(),
        };
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: serde_json::from_slice(bytes).unwrap_or(Value::Null),
        }
    }
}

impl TestResponse {
    /// Asserts an Omise error object with this status and code; returns its message.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(self.body["object"], "error", "{:?}", self.body);
        assert_eq!(self.body["code"], code, "{:?}", self.body);
        let location = self.body["location"].as_str().unwrap_or_default();
        assert!(
            location.starts_with("https://docs.omise.co/api/errors#"),
            "{location}"
        );
        let message = self.body["message"]
            .as_str()
            .expect("an error message")
            .to_owned();
        assert!(!message.is_empty());
        message
    }
}

pub use tools::join_all;
