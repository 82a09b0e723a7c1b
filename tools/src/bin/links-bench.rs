//! Measures what each API call costs in DynamoDB: requests, round trips of latency, and consumed
//! capacity as DynamoDB reports it (`ReturnConsumedCapacity`), with lists measured at 1,000 and
//! 10,000 links in the account. Prints a Markdown table for the README.
//!
//! Run through `scripts/bench`, which starts DynamoDB Local and points the SDK at it.
//!
//! Requests are counted by an SDK interceptor at the moment each HTTP request is sent, so retries
//! would count too. Round trips of latency merge requests whose flights overlap in time: the list
//! operation's two parallel requests are one round trip.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use lambda_http::{Body, Request, Response};
use shared::AppContext;
use shared::chrono::{SecondsFormat, Utc};
use shared::domain::currency::Currency;
use shared::domain::link::NewLink;
use shared::domain::principal::Principal;
use shared::store::Store;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Start and end of every DynamoDB request sent.
#[derive(Debug, Default)]
struct Flights(Mutex<Vec<(Instant, Option<Instant>)>>);

#[derive(Debug)]
struct RecordFlights(Arc<Flights>);

impl Intercept for RecordFlights {
    fn name(&self) -> &'static str {
        "RecordFlights"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.0.lock().unwrap().push((Instant::now(), None));
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut flights = self.0.0.lock().unwrap();
        if let Some(open) = flights.iter_mut().rev().find(|f| f.1.is_none()) {
            open.1 = Some(Instant::now());
        }
        Ok(())
    }
}

impl Flights {
    /// Requests sent and round trips of latency (overlapping flights merged) since the last call.
    fn take(&self) -> (usize, usize) {
        let mut flights = std::mem::take(&mut *self.0.lock().unwrap());
        flights.sort_by_key(|f| f.0);
        let mut trips = 0;
        let mut busy_until: Option<Instant> = None;
        for (start, end) in &flights {
            let end = end.unwrap_or(*start);
            match busy_until {
                Some(until) if *start <= until => busy_until = Some(until.max(end)),
                _ => {
                    trips += 1;
                    busy_until = Some(end);
                }
            }
        }
        (flights.len(), trips)
    }
}

struct Bench {
    ctx: AppContext,
    flights: Arc<Flights>,
    key: String,
    rows: Vec<String>,
}

impl Bench {
    fn request(&self, method: &str, uri: &str, body: Option<&str>) -> Request {
        let event = tools::Event::routed(method, uri).key(&self.key);
        match body {
            Some(json) => event
                .header("content-type", "application/json")
                .body(json.as_bytes().to_vec()),
            None => event,
        }
        .into_request()
    }

    async fn call(&self, method: &str, uri: &str, body: Option<&str>) -> Response<Body> {
        tools::dispatch(&self.ctx, self.request(method, uri, body)).await
    }

    /// Runs one call and records its cost as a table row.
    async fn measure(
        &mut self,
        label: &str,
        route: &str,
        uri: &str,
        body: Option<&str>,
    ) -> serde_json::Value {
        let method = route.split(' ').next().unwrap_or("GET");
        self.flights.take();
        let before = self.ctx.store.usage().capacity_units();
        let response = self.call(method, uri, body).await;
        let capacity = self.ctx.store.usage().capacity_units() - before;
        let (requests, trips) = self.flights.take();
        assert!(
            response.status().is_success(),
            "{label}: {}",
            response.status()
        );
        self.rows.push(format!(
            "| {label} | `{route}` | {requests} | {trips} | {capacity:.1} |"
        ));
        serde_json::from_slice(response.body().as_ref()).unwrap_or_default()
    }

    /// Writes `n` more links straight through the store, 32 at a time.
    async fn populate(&self, owner: &Principal, n: usize) {
        let thb = Currency::find("thb").unwrap();
        for chunk_start in (0..n).step_by(32) {
            let batch = (chunk_start..(chunk_start + 32).min(n)).map(|i| {
                let new = NewLink {
                    amount: 10_000,
                    currency: thb,
                    title: format!("ค่าสินค้า #{i}"),
                    description: "bench".into(),
                    multiple: false,
                };
                async move {
                    self.ctx
                        .store
                        .create_link(owner, &new, None, |_| Ok(String::new()))
                        .await
                        .expect("insert")
                }
            });
            tools::join_all(batch).await;
        }
        self.flights.take();
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let flights = Arc::new(Flights::default());
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(shared::store::http_client())
        .load()
        .await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(RecordFlights(flights.clone()))
        .build();
    let store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        format!("links-bench-{}", std::process::id()),
    )
    .tracking_usage();
    store.create_table().await.expect("create table");
    let account = store
        .create_account(Utc::now())
        .await
        .expect("create account");
    let owner = Principal {
        account_id: account.account_id.clone(),
        livemode: false,
    };
    let mut bench = Bench {
        ctx: AppContext::new(store, "https://pay.example.com/pay"),
        flights,
        key: account.test_key,
        rows: Vec::new(),
    };
    let create_body =
        r#"{"amount":50000,"currency":"thb","title":"ค่าอาหาร","description":"Lunch"}"#;

    let link = bench
        .measure(
            "create, first call of a key (cold)",
            "POST /links",
            "/links",
            Some(create_body),
        )
        .await;
    let id = link["id"].as_str().unwrap().to_owned();
    bench
        .measure("create", "POST /links", "/links", Some(create_body))
        .await;
    bench
        .measure("retrieve", "GET /links/{id}", &format!("/links/{id}"), None)
        .await;
    bench
        .measure(
            "list charges of a link",
            "GET /links/{id}/charges",
            &format!("/links/{id}/charges"),
            None,
        )
        .await;
    bench
        .measure(
            "destroy",
            "DELETE /links/{id}",
            &format!("/links/{id}"),
            None,
        )
        .await;
    bench
        .measure(
            "destroy again (idempotent)",
            "DELETE /links/{id}",
            &format!("/links/{id}"),
            None,
        )
        .await;

    bench.populate(&owner, 1_000 - 2).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let first_thousand = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for size in [1_000_u64, 10_000] {
        let n = if size == 1_000 { "1,000" } else { "10,000" };
        if size > 1_000 {
            bench.populate(&owner, (size - 1_000) as usize).await;
        }
        let page = bench
            .measure(
                &format!("list, {n} links, default page (20)"),
                "GET /links",
                "/links",
                None,
            )
            .await;
        assert_eq!(page["total"], size);
        bench
            .measure(
                &format!("list, {n} links, limit 100"),
                "GET /links",
                "/links?limit=100",
                None,
            )
            .await;
        bench
            .measure(
                &format!("list, {n} links, limit 100, Python client GET body"),
                "GET /links",
                "/links",
                Some(r#"{"from":null,"limit":100,"offset":0,"order":null,"to":null}"#),
            )
            .await;
        bench
            .measure(
                &format!("list, {n} links, offset 900, limit 100"),
                "GET /links",
                "/links?offset=900&limit=100",
                None,
            )
            .await;
        let filtered = bench
            .measure(
                &format!("list, {n} links, `to` filter matching 1,000"),
                "GET /links",
                &format!("/links?to={first_thousand}"),
                None,
            )
            .await;
        assert_eq!(filtered["total"], 1_000);
        if size > 1_000 {
            bench
                .measure(
                    &format!("list, {n} links, `from` filter matching 9,000"),
                    "GET /links",
                    &format!("/links?from={first_thousand}"),
                    None,
                )
                .await;
        }
    }

    // Latency in-process against DynamoDB Local: the handler versus one raw GetItem of the same
    // item, interleaved so both see the same conditions.
    let mut handler = Vec::new();
    let mut raw = Vec::new();
    let key = std::collections::HashMap::from([
        (
            "pk".to_owned(),
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ACCT#{}#test", owner.account_id)),
        ),
        (
            "sk".to_owned(),
            aws_sdk_dynamodb::types::AttributeValue::S(format!("LINK#{id}")),
        ),
    ]);
    for _ in 0..300 {
        let start = Instant::now();
        let response = bench.call("GET", &format!("/links/{id}"), None).await;
        handler.push(start.elapsed());
        assert!(response.status().is_success());
        let start = Instant::now();
        bench
            .ctx
            .store
            .client()
            .get_item()
            .table_name(bench.ctx.store.table())
            .set_key(Some(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        raw.push(start.elapsed());
    }
    let (handler, raw) = (median(handler), median(raw));

    println!(
        "| operation | route | DynamoDB requests | round trips of latency | consumed capacity units |"
    );
    println!("|---|---|---:|---:|---:|");
    for row in &bench.rows {
        println!("{row}");
    }
    println!();
    println!(
        "Retrieve, warm, in-process against DynamoDB Local (median of 300): handler {:.2} ms, raw GetItem {:.2} ms, ratio {:.2}×.",
        handler.as_secs_f64() * 1e3,
        raw.as_secs_f64() * 1e3,
        handler.as_secs_f64() / raw.as_secs_f64()
    );
    bench
        .ctx
        .store
        .client()
        .delete_table()
        .table_name(bench.ctx.store.table())
        .send()
        .await
        .ok();
}
