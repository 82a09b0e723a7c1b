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

pub mod buyer;
pub mod faults;
mod iam;
pub mod omise;
pub mod processor;
pub mod qr;
pub mod receiver;
/// The table's stream as Lambda's event source mapping reads it: shared with the local webhook
/// delivery that `scripts/dev` runs.
pub use tools::streams;

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

/// The attempt key secret every test app (and every function under the Lambda emulator) signs
/// with, as Secrets Manager would hold it, so that a test can post a form without fetching the
/// page first.
pub const TEST_ATTEMPT_SECRET: &str =
    r#"{"current": "links-tests-attempt-secret-0123456789abcdef"}"#;

/// The attempt keys of [`TEST_ATTEMPT_SECRET`].
pub fn test_attempt_keys() -> &'static shared::domain::attempt::AttemptKeys {
    static KEYS: OnceLock<shared::domain::attempt::AttemptKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        shared::domain::attempt::AttemptKeys::from_secret(TEST_ATTEMPT_SECRET)
            .expect("the test secret")
    })
}

/// The endpoint of the Secrets Manager emulator (moto) the tests use: the one `scripts/test`
/// started (`SECRETS_MANAGER_ENDPOINT`), or one started here for the life of the test process.
pub fn secrets_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("SECRETS_MANAGER_ENDPOINT") {
        Ok(endpoint) => endpoint,
        Err(_) => faults::start_watched_secrets_manager(),
    })
}

/// The name of a secret holding [`TEST_ATTEMPT_SECRET`] in [`secrets_endpoint`], created once per
/// test process: what `ATTEMPT_KEY_SECRET` names for a function under the Lambda emulator.
pub fn test_secret_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let name = format!("links-tests-attempt-{}", table_name());
        create_secret(&name, TEST_ATTEMPT_SECRET);
        name
    })
}

/// A KMS client of the emulator at [`secrets_endpoint`] (moto serves KMS there too).
pub fn test_kms_client() -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .endpoint_url(secrets_endpoint())
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .http_client(shared::store::http_client(
            shared::store::TrustRoots::Amazon,
        ))
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

/// A symmetric KMS key in the emulator, made once per test process: what the template's
/// `SecretsKmsKey` is deployed. Blocking, as [`create_secret`] is.
pub fn test_kms_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(async {
                    test_kms_client()
                        .create_key()
                        .description("links tests")
                        .send()
                        .await
                        .expect("create a KMS key in the emulator")
                        .key_metadata()
                        .expect("the key's metadata")
                        .key_id()
                        .to_owned()
                })
        })
        .join()
        .expect("the key's creation")
    })
}

/// A sealer under [`test_kms_key`], as the functions build theirs.
pub fn test_sealer() -> shared::sealed::Sealer {
    shared::sealed::Sealer::new(test_kms_client(), test_kms_key())
}

/// Creates the secret `name` holding `value` in the Secrets Manager emulator. Blocking: it runs
/// outside any test's runtime, on a thread and a runtime of its own.
pub fn create_secret(name: &str, value: &str) {
    let (name, value, endpoint) = (
        name.to_owned(),
        value.to_owned(),
        secrets_endpoint().to_owned(),
    );
    let create = async move {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "local", "local", None, None, "tests",
            ))
            .http_client(shared::store::http_client(
                shared::store::TrustRoots::Amazon,
            ))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("create a secret in the emulator");
    };
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(create)
    })
    .join()
    .expect("the secret's creation");
}

/// `ctx`, signing attempt keys with [`TEST_ATTEMPT_SECRET`].
pub fn test_context(mut ctx: AppContext) -> AppContext {
    // As the payment functions serve: each account's gateway (the built-in test processor
    // unless a test sets Omise), never reading a KMS key it was not given.
    ctx.processor = std::sync::Arc::new(shared::processor::Gateways::new(
        ctx.store.clone(),
        None,
        shared::processor::omise::DEFAULT_API_URL,
    ));
    ctx.attempt_secret = shared::secrets::AttemptSecret::given(
        shared::domain::attempt::AttemptKeys::from_secret(TEST_ATTEMPT_SECRET)
            .expect("the test secret"),
    );
    ctx
}

/// A fresh attempt key for the payment page at `path` (`/pay/<token>`, or the token itself), as
/// the page would issue it now.
pub fn attempt_key(path: &str) -> String {
    let token = path.trim_start_matches("/pay/");
    let token = token.split(['/', '?']).next().unwrap_or(token);
    test_attempt_keys().issue(token, shared::chrono::Utc::now())
}

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

    /// The account in live mode.
    pub fn live(&self) -> Principal {
        Principal {
            livemode: true,
            ..self.test()
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
    let ctx = test_context(AppContext::with_auth(store, PAYMENT_BASE, auth));
    TestApp { ctx, alice, bob }
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
#[derive(Debug, Clone)]
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

    /// Creates a link of Alice's (test mode) with `params`, expecting it refused: a `400
    /// bad_request` Omise error whose message starts with `says`, and no link made.
    pub async fn refused_create(&self, params: &Value, says: &str) {
        let before = self.link_total().await;
        let response = self
            .call("POST", "/links")
            .key(&self.alice.test_key)
            .json(params)
            .send()
            .await;
        let message = response.assert_error(400, "bad_request");
        assert!(message.starts_with(says), "{params}: {message}");
        assert_eq!(self.link_total().await, before, "{params}: nothing made");
    }

    async fn link_total(&self) -> Option<u64> {
        let listed = self.call("GET", "/links").key(&self.alice.test_key).send();
        listed.await.body["total"].as_u64()
    }

    /// How many charges the built-in test processor was asked to make (its idempotency keys).
    pub async fn processor_charges_asked(&self) -> usize {
        self.items_where("pk", "TESTPSP#")
            .await
            .iter()
            .filter(|i| i["sk"].as_s().is_ok_and(|sk| sk.starts_with("KEY#")))
            .count()
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
            expires_at: None,
            after_payment_uri: None,
            usage_limit: None,
            metadata: None,
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

impl TestApp {
    /// Puts a [`processor::FaultyProcessor`] in front of the test processor, and hands it back
    /// to arm its faults.
    pub fn faulty_processor(&mut self) -> std::sync::Arc<processor::FaultyProcessor> {
        let faulty = std::sync::Arc::new(processor::FaultyProcessor::new(
            shared::processor::TestProcessor::new(self.ctx.store.clone()),
        ));
        self.ctx.processor = faulty.clone();
        faulty
    }

    /// Moves the app's clock forward by `by`, then runs the payments sweep as the scheduled
    /// function runs it (its DynamoDB requests recorded as that function's): what it did.
    pub async fn sweep_after(&self, by: shared::chrono::Duration) -> shared::payments::Swept {
        self.ctx.clock.advance(by);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
        let swept = as_function(
            "SweepPaymentsFunction",
            sweep_payments::sweep(&self.ctx, deadline),
        )
        .await
        .expect("a sweep");
        shared::payments::Swept {
            found: swept["found"].as_u64().unwrap() as usize,
            settled: swept["settled"].as_u64().unwrap() as usize,
            left: swept["left"].as_u64().unwrap() as usize,
        }
    }

    /// Turns 3-D Secure on for alice's test-mode card payments.
    pub async fn three_d_secure(&self) {
        self.ctx
            .store
            .set_three_d_secure(&self.alice.test(), true)
            .await
            .expect("set 3-D Secure");
    }

    /// The events of alice in test mode with this key, oldest first.
    pub async fn events_of(&self, key: &str) -> Vec<Value> {
        let response = self
            .call("GET", "/events?limit=100")
            .key(&self.alice.test_key)
            .send()
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["key"] == key)
            .cloned()
            .collect()
    }

    /// A GET of the merchant API as alice in test mode, asserting 200.
    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .call("GET", path)
            .key(&self.alice.test_key)
            .send()
            .await;
        assert_eq!(response.status, 200, "{path}: {}", response.text);
        response.body
    }

    /// Records a successful charge of `link` dated `at` (in the past, say) through the same
    /// writes a payment makes: its attempt begun, then its charge recorded.
    pub async fn record_charge_at(
        &self,
        link: &Link,
        at: shared::chrono::DateTime<shared::chrono::Utc>,
    ) -> shared::domain::charge::Charge {
        use shared::domain::attempt::{Attempt, AttemptState, Method};
        use shared::domain::charge::{ChargeFacts, Status};
        let owner = Principal {
            account_id: link.account_id.clone(),
            livemode: link.livemode,
        };
        let id = shared::domain::attempt::attempt_id(
            &link.payment_token,
            &attempt_key(&link.payment_token),
        );
        let attempt = Attempt {
            id: id.clone(),
            owner,
            link: link.id.clone(),
            payment_token: link.payment_token.clone(),
            method: Method::Card,
            state: AttemptState::Started,
            gateway_key: id.clone(),
            processor_charge: None,
            charge: None,
            deadline: shared::chrono::Utc::now() + shared::chrono::Duration::minutes(2),
            created: shared::chrono::Utc::now(),
            ip: None,
            fingerprint: None,
            return_uri: format!("{}/complete?attempt={id}", link.payment_uri(PAYMENT_BASE)),
            holds_link: !link.multiple,
            holds_place: link.multiple && link.usage_limit.is_some(),
        };
        let store = &self.ctx.store;
        assert!(matches!(
            store
                .begin_attempt(&attempt, link, shared::chrono::Utc::now())
                .await,
            Ok(shared::store::Begin::Begun)
        ));
        let facts = ChargeFacts {
            status: Status::Successful,
            failure: None,
            transaction: Some(shared::domain::ids::new_plain_id("trxn", link.livemode)),
            card: Some(shared::domain::card::Card {
                id: shared::domain::ids::new_plain_id("card", link.livemode),
                brand: "Visa".into(),
                last_digits: "4242".into(),
                expiration_month: 12,
                expiration_year: 2031,
                name: "T".into(),
                fingerprint: "f".into(),
                security_code_check: true,
            }),
            source: None,
            authorize_uri: None,
            expires_at: None,
        };
        let (settled, charge) = store
            .record_charge(&attempt, link, |_| {
                link.charge(
                    facts.clone(),
                    "pchg_test_x",
                    &id,
                    None,
                    &attempt.return_uri,
                    at,
                )
            })
            .await
            .expect("record a charge");
        assert!(
            matches!(settled, shared::store::Settled::Written),
            "{settled:?}"
        );
        charge
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

/// See [`TestApp::assert_counters_agree`]: every collection of `owner` (its links, charges and
/// events, and each link's charges) against its counters. Returns the number of links.
pub async fn assert_counters_agree(store: &Store, owner: &Principal) -> u64 {
    let mode = if owner.livemode { "live" } else { "test" };
    let account = format!("ACCT#{}#{mode}", owner.account_id);
    let items = partition_items(store, &account).await;
    let links = collection_agrees(&items, "LINK", &account);
    collection_agrees(&items, "CHRG", &account);
    collection_agrees(&items, "EVNT", &account);
    for item in &items {
        let sk = item["sk"].as_s().unwrap();
        if let Some(link) = sk.strip_prefix("LINK#") {
            let pk = format!("LINKCHRG#{}#{mode}#{link}", owner.account_id);
            let of_link = partition_items(store, &pk).await;
            collection_agrees(&of_link, "CHRG", &pk);
        }
    }
    links
}

/// Every item of partition `pk`, strongly consistent.
async fn partition_items(store: &Store, pk: &str) -> Vec<Item> {
    let (mut items, mut start) = (Vec::new(), None);
    loop {
        let out = store
            .client()
            .query()
            .table_name(store.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(pk.to_owned()),
            )
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("read the partition");
        items.extend(out.items().iter().cloned());
        start = out.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// Asserts that the members of collection `kind` among `items` (one partition's) agree with its
/// count shards and hour counters; returns their number.
fn collection_agrees(items: &[Item], kind: &str, pk: &str) -> u64 {
    use std::collections::BTreeMap;
    let mut members_per_hour: BTreeMap<i64, u64> = BTreeMap::new();
    let mut counted_per_hour: BTreeMap<i64, u64> = BTreeMap::new();
    let (mut members, mut counted) = (0u64, 0u64);
    let number = |v: &aws_sdk_dynamodb::types::AttributeValue| -> u64 {
        v.as_n().expect("a number").parse().expect("a count")
    };
    for item in items {
        let sk = item["sk"].as_s().unwrap();
        if let Some(id) = sk.strip_prefix(&format!("{kind}#")) {
            let time = id
                .find('_')
                .and_then(|_| {
                    let prefix_len = id.len() - shared::domain::ids::TIME_WIDTH - 16;
                    shared::domain::ids::time_of(id, &id[..prefix_len])
                })
                .expect("a time-prefixed id");
            *members_per_hour.entry(time - time % 3_600_000).or_default() += 1;
            members += 1;
        } else if sk.starts_with(&format!("COUNT#{kind}#")) {
            counted += number(&item["count"]);
        } else if let Some(rest) = sk.strip_prefix(&format!("DAY#{kind}#")) {
            let day = shared::chrono::NaiveDate::parse_from_str(&rest[..10], "%Y-%m-%d")
                .expect("a day")
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis();
            for (name, value) in item {
                if let Some(hour) = name.strip_prefix('h') {
                    let hour: i64 = hour.parse().expect("an hour");
                    *counted_per_hour.entry(day + hour * 3_600_000).or_default() += number(value);
                }
            }
        }
    }
    counted_per_hour.retain(|_, n| *n > 0);
    assert_eq!(
        counted, members,
        "{pk}: the {kind} count shards disagree with the members"
    );
    assert_eq!(
        counted_per_hour, members_per_hour,
        "{pk}: the {kind} hour counters disagree with the members"
    );
    members
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
