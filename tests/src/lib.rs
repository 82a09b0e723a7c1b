//! The integration test harness: a real DynamoDB Local, a fresh table and two fresh accounts per
//! test, and requests served in-process exactly as the local server serves them (an API Gateway
//! event decoded by `lambda_http`, then the route's handler).
//!
//! DynamoDB Local is the one `scripts/test` started (`DYNAMODB_ENDPOINT`), or, when the tests run
//! on their own (`cargo test`), one started here on a free port for the life of the test process.
//! [`faults`] puts a fault-injecting proxy, or a DynamoDB Local of a test's own, in between.
//!
//! Every DynamoDB request a handler makes is recorded (function, IAM action, partition key) into
//! `IAM_OBSERVED`, which `scripts/check-iam` compares with the template's policies.

pub mod faults;
mod iam;
pub mod receiver;
pub mod streams;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use futures_util::future::LocalBoxFuture;
use lambda_http::Body;
use lambda_http::http::HeaderMap;
use serde_json::Value;
use shared::AppContext;
use shared::auth::{AuthLimits, Authenticator};
use shared::domain::link::{Link, NewLink};
use shared::domain::principal::Principal;
use shared::store::Store;
use std::sync::OnceLock;

pub use iam::as_function;
pub use tools::{Event, join_all};

/// The payment page base URL every test app uses.
pub const PAYMENT_BASE: &str = "https://pay.test.example/pay";

/// The endpoint of the DynamoDB Local the tests use, started on first use if none is given.
pub fn dynamodb_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("DYNAMODB_ENDPOINT") {
        Ok(endpoint) => endpoint,
        Err(_) => faults::start_watched_dynamodb_local(),
    })
}

/// A DynamoDB client for `endpoint`, configured as the functions' (timeouts and retries), that
/// records what each handler asks of DynamoDB.
pub fn client_for(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = shared::store::resilience(aws_sdk_dynamodb::Config::builder())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .http_client(shared::store::http_client(
            shared::store::TrustRoots::Amazon,
        ))
        .interceptor(iam::RecordAccess)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A DynamoDB client for the shared DynamoDB Local.
pub fn local_client() -> aws_sdk_dynamodb::Client {
    client_for(dynamodb_endpoint())
}

/// A secret key pair of one account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub test_key: String,
    pub live_key: String,
}

impl Account {
    /// The account in test mode.
    pub fn test(&self) -> Principal {
        Principal {
            account_id: self.id.clone(),
            livemode: false,
        }
    }
}

/// The API over a table of its own, with two accounts.
pub struct TestApp {
    pub ctx: AppContext,
    pub alice: Account,
    pub bob: Account,
}

/// A fresh table name: tests never meet, whether in one process, in processes sharing one
/// DynamoDB Local, or across the hundreds of runs of a mutation run against one DynamoDB Local,
/// where process ids come round again (so a pid and a counter are not enough).
pub fn table_name() -> String {
    // 80 random bits, as account ids have.
    let unique = shared::domain::ids::new_account_id();
    format!("links-test-{}", unique.trim_start_matches("acct_"))
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(local_client(), Authenticator::default()).await
}

/// An app whose key cache has these limits (tests of expiry and revocation).
pub async fn spawn_app_with_auth(limits: AuthLimits) -> TestApp {
    spawn_app_with(local_client(), Authenticator::with_limits(limits)).await
}

/// An app on its own client (pointed at a fault proxy, say) and authenticator.
pub async fn spawn_app_with(client: aws_sdk_dynamodb::Client, auth: Authenticator) -> TestApp {
    let store = Store::new(client, table_name());
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
        ctx: AppContext::with_auth(store, PAYMENT_BASE, auth),
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

/// `value` with the `to` of every list nested inside it blanked. An embedded list (a link's
/// charges, a charge's refunds) is served with `to` set to the time of serving, so two answers
/// about the same object taken a second apart differ there and only there.
pub fn without_serving_times(value: &serde_json::Value) -> serde_json::Value {
    fn blank(value: &mut serde_json::Value, nested: bool) {
        match value {
            serde_json::Value::Object(map) => {
                if nested && map.get("object").and_then(|o| o.as_str()) == Some("list") {
                    map.insert("to".into(), serde_json::Value::Null);
                }
                map.values_mut().for_each(|v| blank(v, true));
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| blank(v, true)),
            _ => {}
        }
    }
    let mut value = value.clone();
    blank(&mut value, false);
    value
}

/// A request being built: an API Gateway event for the route its method and path take.
pub struct Call<'a> {
    app: &'a TestApp,
    event: Event,
}

/// A response, with its body parsed as JSON (`Value::Null` if it is not JSON).
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when it is not JSON: a payment page, say).
    pub body: Value,
    /// The body as text.
    pub text: String,
}

impl TestApp {
    pub fn call(&self, method: &str, path_and_query: &str) -> Call<'_> {
        Call {
            app: self,
            event: Event::routed(method, path_and_query),
        }
    }

    /// Creates a link with `key` and returns the created link, asserting success.
    pub fn create_link<'s>(&'s self, key: &'s str, params: Value) -> LocalBoxFuture<'s, Value> {
        Box::pin(self.created_link(key, params))
    }

    async fn created_link(&self, key: &str, params: Value) -> Value {
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

    /// Stores links for `owner` created at the given times (in the past, say), as an import
    /// would: counted exactly as creates count them.
    pub async fn import_links(
        &self,
        owner: &Principal,
        times: &[shared::chrono::DateTime<shared::chrono::Utc>],
    ) -> Vec<Link> {
        let new = NewLink {
            amount: 10_000,
            currency: shared::domain::currency::Currency::find("thb").unwrap(),
            title: "imported".into(),
            description: "a test link".into(),
            multiple: false,
        };
        let links: Vec<Link> = times.iter().map(|t| Link::new(owner, &new, *t)).collect();
        self.ctx
            .store
            .import_links(&links)
            .await
            .expect("import links");
        links
    }
}

/// One item of the table, as DynamoDB returns it.
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

impl TestApp {
    /// Asserts that `owner`'s counters agree with their links: the count shards add up to the
    /// links, and each hour's counters to the links created in that hour. Returns the count.
    pub async fn assert_counters_agree(&self, owner: &Principal) -> u64 {
        assert_counters_agree(&self.ctx.store, owner).await
    }

    /// Every item in the app's table: a strongly consistent scan, page after page, so that a
    /// test can look at what was stored (or that nothing was) whatever the table holds.
    pub async fn table_items(&self) -> Vec<Item> {
        let store = &self.ctx.store;
        let (mut items, mut start) = (Vec::new(), None);
        loop {
            let out = store
                .client()
                .scan()
                .table_name(store.table())
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan the table");
            items.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return items;
            }
        }
    }

    /// The table's items whose `key` attribute (`pk` or `sk`) begins with `prefix`.
    pub async fn items_where(&self, key: &str, prefix: &str) -> Vec<Item> {
        let mut items = self.table_items().await;
        items.retain(|item| {
            item.get(key)
                .and_then(|v| v.as_s().ok())
                .is_some_and(|v| v.starts_with(prefix))
        });
        items
    }
}

/// See [`TestApp::assert_counters_agree`].
pub async fn assert_counters_agree(store: &Store, owner: &Principal) -> u64 {
    use std::collections::BTreeMap;
    let pk = format!(
        "ACCT#{}#{}",
        owner.account_id,
        if owner.livemode { "live" } else { "test" }
    );
    let mut links_per_hour: BTreeMap<i64, u64> = BTreeMap::new();
    let mut counted_per_hour: BTreeMap<i64, u64> = BTreeMap::new();
    let (mut links, mut counted) = (0u64, 0u64);
    let number = |v: &aws_sdk_dynamodb::types::AttributeValue| -> u64 {
        v.as_n().expect("a number").parse().expect("a count")
    };
    let mut start = None;
    loop {
        let out = store
            .client()
            .query()
            .table_name(store.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()),
            )
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("read the partition");
        for item in out.items() {
            let sk = item["sk"].as_s().unwrap();
            if sk.starts_with("LINK#") {
                let link = Link::try_from(item).expect("a link");
                let ms = link.created.timestamp_millis();
                *links_per_hour.entry(ms - ms % 3_600_000).or_default() += 1;
                links += 1;
            } else if sk.starts_with("COUNT#LINK#") {
                counted += number(&item["count"]);
            } else if let Some(rest) = sk.strip_prefix("DAY#LINK#") {
                let day = shared::chrono::NaiveDate::parse_from_str(&rest[..10], "%Y-%m-%d")
                    .expect("a day")
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp_millis();
                for (name, value) in item {
                    if let Some(hour) = name.strip_prefix('h') {
                        let hour: i64 = hour.parse().expect("an hour");
                        *counted_per_hour.entry(day + hour * 3_600_000).or_default() +=
                            number(value);
                    }
                }
            }
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    assert_eq!(counted, links, "the count shards disagree with the links");
    assert_eq!(
        counted_per_hour, links_per_hour,
        "the hour counters disagree with the links"
    );
    links
}

impl<'a> Call<'a> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.event = self.event.header(name, value);
        self
    }

    /// Authenticates as Omise clients do (see [`basic_auth`]).
    pub fn key(self, key: &str) -> Self {
        self.header("authorization", &basic_auth(key))
    }

    /// The caller's address, as API Gateway reports it.
    pub fn from_ip(mut self, ip: &str) -> Self {
        self.event = self.event.source_ip(ip);
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .raw(&serde_json::to_vec(body).expect("serialise JSON"))
    }

    /// A form body, already encoded (`a=1&b=%E0%B8%81`).
    pub fn form(self, body: &str) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .raw(body.as_bytes())
    }

    /// A raw body, with whatever Content-Type was set before (or none).
    pub fn raw(mut self, body: &[u8]) -> Self {
        self.event = self.event.body(body.to_vec());
        self
    }

    /// Sends the request. The future is boxed so that a test awaiting many of them keeps a small
    /// stack frame: unboxed, each await point holds a whole handler's state inline, and a debug
    /// build's frame for a test with a few dozen requests overflows a test thread's 2 MiB.
    pub fn send(self) -> LocalBoxFuture<'a, TestResponse> {
        Box::pin(self.sent())
    }

    async fn sent(self) -> TestResponse {
        let function = iam::function_of(&self.event);
        let request = self.event.into_request();
        let response = iam::as_function(function, tools::dispatch(&self.app.ctx, request)).await;
        let (parts, body) = response.into_parts();
        let bytes: &[u8] = match &body {
            Body::Empty => &[],
            other => other.as_ref(),
        };
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: serde_json::from_slice(bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(bytes).into_owned(),
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

    /// The ids of a list's data.
    pub fn ids(&self) -> Vec<String> {
        self.body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("not a list: {:?}", self.body))
            .iter()
            .map(|l| l["id"].as_str().expect("an id").to_owned())
            .collect()
    }
}
