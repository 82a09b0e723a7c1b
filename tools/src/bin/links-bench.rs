//! Measures what each API call costs in DynamoDB, and what lists cost at scale: requests, round
//! trips of latency, read and write capacity as DynamoDB reports it (`ReturnConsumedCapacity`),
//! the peak heap a request allocates, and time. Prints the Markdown tables docs/performance.md quotes.
//!
//! Run through `scripts/bench`, which starts DynamoDB Local and points the SDK at it. Everything
//! runs in-process through the real handlers (an API Gateway event decoded by lambda_http, then
//! the route's handler), against one DynamoDB Local.
//!
//! "Before" rows replay the list algorithm this project had until the layered rewrite (commit
//! b65ef52): a page read its whole offset with `Limit = offset + limit` and kept every item, and a
//! filtered `total` was a COUNT over the whole range. They run the same SDK calls that code made,
//! against the same table, so both sides are measured alike.
//!
//! - Requests are counted by an SDK interceptor as each is sent, so retries would count; round
//!   trips merge requests whose flights overlap in time.
//! - Peak heap is the most the process had allocated during the request, above what it held
//!   before, counted by this binary's global allocator.
//! - Capacity is what DynamoDB Local reports. It charges a transactional write like a plain one;
//!   real DynamoDB charges twice, which docs/performance.md takes into account.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, Select};
use lambda_http::{Body, Response};
use shared::AppContext;
use shared::chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use shared::domain::attempt::AttemptKeys;
use shared::domain::currency::Currency;
use shared::domain::link::{Link, NewLink};
use shared::domain::principal::Principal;
use shared::store::Store;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The payment page's base URL in the bench's links.
const PAYMENT_BASE_URL: &str = "https://pay.example.com/pay";

/// Counts the bytes allocated now and the most allocated since the last [`Heap::reset`].
struct Heap;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Heap = Heap;

impl Heap {
    /// Starts a measurement: returns the bytes held now.
    fn reset() -> usize {
        let now = CURRENT.load(Ordering::Relaxed);
        PEAK.store(now, Ordering::Relaxed);
        now
    }

    /// The most allocated since [`Heap::reset`] returned `base`, above `base`.
    fn peak_above(base: usize) -> usize {
        PEAK.load(Ordering::Relaxed).saturating_sub(base)
    }
}

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

/// What one measured piece of work cost.
#[derive(Debug, Default, Clone, Copy)]
struct Cost {
    requests: usize,
    trips: usize,
    read: f64,
    write: f64,
    heap: usize,
    time: Duration,
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, other: Self) {
        self.requests += other.requests;
        self.trips += other.trips;
        self.read += other.read;
        self.write += other.write;
        self.heap = self.heap.max(other.heap);
        self.time += other.time;
    }
}

fn mib(bytes: usize) -> String {
    if bytes < 1024 * 1024 {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1e3)
    } else {
        format!("{ms:.1} ms")
    }
}

fn units(u: f64) -> String {
    if u >= 1000.0 {
        count(u.round() as u64)
    } else {
        format!("{u:.1}")
    }
}

/// `1234567` as `1,234,567`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// An item's size as DynamoDB bills it: each attribute's name and value, in bytes.
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => n.len().div_ceil(2) + 1,
                    AttributeValue::Bool(_) => 1,
                    _ => 0,
                }
        })
        .sum()
}

/// Write units of writing items of these sizes in one transaction on DynamoDB: two per KB (or
/// part of one) per item. DynamoDB Local reports 2.0 for any transaction, so creates are costed
/// this way instead.
fn transaction_write_units(sizes: &[usize]) -> f64 {
    sizes
        .iter()
        .map(|s| 2.0 * s.div_ceil(1024).max(1) as f64)
        .sum()
}

struct Bench {
    ctx: AppContext,
    flights: Arc<Flights>,
}

impl Bench {
    fn store(&self) -> &Store {
        &self.ctx.store
    }

    /// Runs `work`, measuring what it costs.
    async fn cost<T>(&self, work: impl std::future::Future<Output = T>) -> (T, Cost) {
        self.flights.take();
        let (read, write) = (
            self.store().usage().read_units(),
            self.store().usage().write_units(),
        );
        let base = Heap::reset();
        let started = Instant::now();
        let out = work.await;
        let time = started.elapsed();
        let heap = Heap::peak_above(base);
        let (requests, trips) = self.flights.take();
        let cost = Cost {
            requests,
            trips,
            read: self.store().usage().read_units() - read,
            write: self.store().usage().write_units() - write,
            heap,
            time,
        };
        (out, cost)
    }

    /// One API call through the handlers, with its cost; asserts success.
    async fn call(
        &self,
        key: &str,
        method: &str,
        uri: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (serde_json::Value, Cost) {
        let mut event = tools::Event::routed(method, uri).key(key);
        for (name, value) in headers {
            event = event.header(name, value);
        }
        if let Some(json) = body {
            event = event
                .header("content-type", "application/json")
                .body(json.as_bytes().to_vec());
        }
        let request = event.into_request();
        let (response, cost): (Response<Body>, Cost) =
            self.cost(tools::dispatch(&self.ctx, request)).await;
        assert!(
            response.status().is_success(),
            "{method} {uri}: {} {:?}",
            response.status(),
            response.body()
        );
        let json = serde_json::from_slice(response.body().as_ref()).unwrap_or_default();
        (json, cost)
    }

    /// One public call (the payment page: no key), with its cost: the status and the body.
    async fn public(&self, method: &str, uri: &str, form: Option<&str>) -> (u16, String, Cost) {
        let (status, text, _, cost) = self.public_with_location(method, uri, form).await;
        (status, text, cost)
    }

    /// [`Bench::public`], with where a redirect sends the browser (a path of this service).
    async fn public_with_location(
        &self,
        method: &str,
        uri: &str,
        form: Option<&str>,
    ) -> (u16, String, Option<String>, Cost) {
        let mut event = tools::Event::routed(method, uri).header("accept-language", "th");
        if let Some(form) = form {
            event = event
                .header("origin", "https://pay.example.com")
                .header("sec-fetch-site", "same-origin")
                .form(form);
        }
        let request = event.into_request();
        let (response, cost): (Response<Body>, Cost) =
            self.cost(tools::dispatch(&self.ctx, request)).await;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.strip_prefix(PAYMENT_BASE_URL))
            .map(|rest| format!("/pay{rest}"));
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        (status, text, location, cost)
    }

    /// Stores `n` links for `owner`, created one every `every` from `start`, with the minute
    /// within each hour varying so that hours hold different numbers of links.
    async fn import(
        &self,
        owner: &Principal,
        n: usize,
        start: DateTime<Utc>,
        every: Span,
    ) -> Vec<Link> {
        let thb = Currency::find("thb").unwrap();
        let mut links = Vec::with_capacity(n);
        for i in 0..n {
            let wobble =
                Span::milliseconds(((i as i64 * 7_919) % 1_000) * every.num_milliseconds() / 2_000);
            let new = NewLink {
                amount: 10_000 + (i as i64 % 900) * 100,
                currency: thb,
                title: format!("ค่าสินค้า #{i}"),
                description: "สั่งซื้อทางไลน์ ส่งฟรี".into(),
                multiple: i % 10 == 0,
                expires_at: None,
                after_payment_uri: None,
            };
            links.push(Link::new(owner, &new, start + every * i as i32 + wobble));
        }
        for chunk in links.chunks(5_000) {
            self.store()
                .import_links(chunk)
                .await
                .expect("import links");
        }
        links.sort_by(|a, b| a.id.cmp(&b.id));
        links
    }

    fn query(
        &self,
        pk: &str,
        low: &str,
        high: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.store()
            .client()
            .query()
            .table_name(self.store().table())
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
            .expression_attribute_values(":low", AttributeValue::S(low.into()))
            .expression_attribute_values(":high", AttributeValue::S(high.into()))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// The list page the previous algorithm served: it read `offset + limit` items, kept them all,
    /// skipped `offset`, and counted a filtered range item by item. Returns the page's size and
    /// the read units consumed.
    async fn old_page(
        &self,
        pk: &str,
        range: (&str, &str),
        offset: usize,
        limit: usize,
        filtered: bool,
    ) -> (usize, f64) {
        let mut read = 0.0;
        let wanted = offset + limit;
        let mut items: Vec<HashMap<String, AttributeValue>> = Vec::with_capacity(wanted.min(200));
        let mut start = None;
        loop {
            let out = self
                .query(pk, range.0, range.1)
                .limit(i32::try_from(wanted - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("query");
            read += out
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0);
            start = out.last_evaluated_key;
            items.extend(out.items.unwrap_or_default());
            if items.len() >= wanted || start.is_none() {
                break;
            }
        }
        let page: Vec<Link> = items
            .iter()
            .skip(offset)
            .map(|i| Link::try_from(i).expect("a link"))
            .collect();
        read += if filtered {
            self.old_count(pk, range).await
        } else {
            self.read_count_shards(pk).await
        };
        (page.len(), read)
    }

    async fn old_count(&self, pk: &str, range: (&str, &str)) -> f64 {
        let mut read = 0.0;
        let mut start = None;
        loop {
            let out = self
                .query(pk, range.0, range.1)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("count");
            read += out
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0);
            start = out.last_evaluated_key;
            if start.is_none() {
                return read;
            }
        }
    }

    async fn read_count_shards(&self, pk: &str) -> f64 {
        let out = self
            .query(pk, "COUNT#LINK#", "COUNT#LINK#~")
            .send()
            .await
            .expect("count shards");
        out.consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0)
    }

    /// Read units of reading the first k links in order, for every k: what the previous
    /// algorithm paid to skip k links. Measured by one sequential read in 1 MB pages; within a
    /// page, units are shared out in proportion to the links read.
    async fn prefix_read_units(&self, pk: &str, range: (&str, &str)) -> Vec<f64> {
        let mut prefix = vec![0.0];
        let mut start = None;
        loop {
            let out = self
                .query(pk, range.0, range.1)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("query");
            let read = out
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0);
            let n = out.count.max(1) as f64;
            let base = *prefix.last().unwrap();
            prefix.extend((1..=out.count).map(|i| base + read * i as f64 / n));
            start = out.last_evaluated_key;
            if start.is_none() {
                return prefix;
            }
        }
    }

    /// Walks every page of `uri_base` with limit 100 as the Omise clients iterate, returning the
    /// links seen and the walk's total cost.
    async fn walk(&self, key: &str, uri_base: &str) -> (usize, Cost) {
        let mut total = Cost::default();
        let mut seen = 0;
        loop {
            let (page, cost) = self
                .call(
                    key,
                    "GET",
                    &format!("{uri_base}limit=100&offset={seen}"),
                    None,
                    &[],
                )
                .await;
            total += cost;
            let n = page["data"].as_array().map_or(0, Vec::len);
            if n == 0 {
                return (seen, total);
            }
            seen += n;
        }
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn pk_of(owner: &Principal) -> String {
    format!("ACCT#{}#test", owner.account_id)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let flights = Arc::new(Flights::default());
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(shared::store::http_client(
            shared::store::TrustRoots::Amazon,
        ))
        .load()
        .await;
    let config = shared::store::resilience(aws_sdk_dynamodb::config::Builder::from(&sdk))
        .interceptor(RecordFlights(flights.clone()))
        .build();
    let store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        format!("links-bench-{}", std::process::id()),
    )
    .tracking_usage();
    store.create_table().await.expect("create table");
    let now = Utc::now();
    let mut accounts = Vec::new();
    for _ in 0..4 {
        accounts.push(store.create_account(now).await.expect("create account"));
    }
    let owner = |i: usize| Principal {
        account_id: accounts[i].account_id.clone(),
        livemode: false,
    };
    let bench = Bench {
        ctx: AppContext::new(store, PAYMENT_BASE_URL),
        flights,
    };
    let (small, mid, large) = (
        &accounts[0].test_key,
        &accounts[1].test_key,
        &accounts[2].test_key,
    );
    let body = r#"{"amount":50000,"currency":"thb","title":"ค่าอาหาร","description":"Lunch"}"#;

    // `links-bench payments`: the payment page, payments and their lifecycle only (seconds,
    // not minutes).
    if std::env::args().nth(1).as_deref() == Some("payments") {
        payments(&bench, &accounts[3].test_key, &owner(3)).await;
        println!();
        lifecycle(&bench, &accounts[3].test_key, &owner(3)).await;
        return;
    }

    // 1. Every operation, once, on a 1,000-link account.
    let mut rows = Vec::new();
    let mut row = |label: &str, route: &str, c: Cost| {
        rows.push(format!(
            "| {label} | `{route}` | {} | {} | {:.1} | {:.1} |",
            c.requests, c.trips, c.read, c.write
        ));
    };
    let (link, c) = bench.call(small, "POST", "/links", Some(body), &[]).await;
    row("create, first call of a key (cold)", "POST /links", c);
    let id = link["id"].as_str().unwrap().to_owned();
    let (_, c) = bench.call(small, "POST", "/links", Some(body), &[]).await;
    row("create", "POST /links", c);
    let (_, c) = bench
        .call(
            small,
            "POST",
            "/links",
            Some(body),
            &[("idempotency-key", "bench-1")],
        )
        .await;
    row("create with an `Idempotency-Key`", "POST /links", c);
    let (_, c) = bench
        .call(
            small,
            "POST",
            "/links",
            Some(body),
            &[("idempotency-key", "bench-1")],
        )
        .await;
    row(
        "create retried with the same key (replayed)",
        "POST /links",
        c,
    );
    let (_, c) = bench
        .call(small, "GET", &format!("/links/{id}"), None, &[])
        .await;
    row("retrieve", "GET /links/{id}", c);
    let (_, c) = bench
        .call(small, "GET", &format!("/links/{id}/charges"), None, &[])
        .await;
    row("list charges of a link", "GET /links/{id}/charges", c);
    let (_, c) = bench
        .call(small, "DELETE", &format!("/links/{id}"), None, &[])
        .await;
    row("destroy", "DELETE /links/{id}", c);
    let (_, c) = bench
        .call(small, "DELETE", &format!("/links/{id}"), None, &[])
        .await;
    row("destroy again (idempotent)", "DELETE /links/{id}", c);
    let thousand = bench
        .import(&owner(0), 996, now - Span::days(10), Span::minutes(14))
        .await;
    let (_, c) = bench.call(small, "GET", "/links", None, &[]).await;
    row("list, default page (20)", "GET /links", c);
    let (_, c) = bench
        .call(small, "GET", "/links?limit=100", None, &[])
        .await;
    row("list, limit 100", "GET /links", c);
    let (_, c) = bench
        .call(
            small,
            "GET",
            "/links",
            Some(r#"{"from":null,"limit":100,"offset":0,"order":null,"to":null}"#),
            &[],
        )
        .await;
    row("list, limit 100, Python client GET body", "GET /links", c);
    let (_, c) = bench
        .call(small, "GET", "/links?limit=100&offset=100", None, &[])
        .await;
    row(
        "list, second page of a walk (limit 100, offset 100)",
        "GET /links",
        c,
    );
    let (_, c) = bench
        .call(small, "GET", "/links?limit=100&offset=200", None, &[])
        .await;
    row(
        "list, third page (starts at the anchor the second left)",
        "GET /links",
        c,
    );
    let (_, c) = bench
        .call(small, "GET", "/links?limit=100&offset=900", None, &[])
        .await;
    row("list, offset 900 with no anchor near", "GET /links", c);
    let to = iso(thousand[499].created);
    let (page, c) = bench
        .call(small, "GET", &format!("/links?to={to}"), None, &[])
        .await;
    assert_eq!(page["total"], 500);
    row("list, `to` filter matching 500 of 1,000", "GET /links", c);
    let per_operation = rows;

    // 2. Scale: 101,000 links over 101 days (1,000 a day), and 10,000 over 10 days.
    eprintln!("importing 101,000 links");
    let started = Instant::now();
    let links = bench
        .import(
            &owner(2),
            101_000,
            now - Span::days(102),
            Span::milliseconds(86_400),
        )
        .await;
    eprintln!("imported in {:?}", started.elapsed());
    bench
        .import(
            &owner(1),
            10_000,
            now - Span::days(12),
            Span::milliseconds(86_400),
        )
        .await;
    let large_pk = pk_of(&owner(2));
    let everything = ("LINK#link_test_", "LINK#link_test_~");

    let mut depth_rows = Vec::new();
    for offset in [0usize, 10_000, 50_000, 100_000] {
        let uri = format!("/links?limit=100&offset={offset}");
        let (page, after) = bench.call(large, "GET", &uri, None, &[]).await;
        assert_eq!(page["data"].as_array().map(Vec::len), Some(100), "{uri}");
        assert_eq!(page["data"][0]["id"], links[offset].id.as_str(), "{uri}");
        let ((n, read), before) = bench
            .cost(bench.old_page(&large_pk, everything, offset, 100, false))
            .await;
        assert_eq!(n, 100);
        depth_rows.push(format!(
            "| {} | {} | {} | {} | {} | {} / {} | {} | {} | {} |",
            count(offset as u64),
            units(read),
            mib(before.heap),
            ms(before.time),
            units(after.read),
            after.requests,
            after.trips,
            mib(after.heap),
            ms(after.time),
            units(after.write)
        ));
    }
    // The worst case for a page with no anchor near: its start in the middle of a very busy hour
    // (20,000 links in one hour), counted from the nearer end of the hour.
    let hour_ago = now - Span::days(3);
    let hour_start = hour_ago - Span::milliseconds(hour_ago.timestamp_millis() % 3_600_000);
    let dense = bench
        .import(
            &owner(3),
            20_000,
            hour_start + Span::seconds(1),
            Span::milliseconds(175),
        )
        .await;
    let dense_key = &accounts[3].test_key;
    for offset in [2_000usize, 10_000] {
        let uri = format!("/links?limit=100&offset={offset}");
        let (page, after) = bench.call(dense_key, "GET", &uri, None, &[]).await;
        assert_eq!(page["data"][0]["id"], dense[offset].id.as_str(), "{uri}");
        let ((_, read), before) = bench
            .cost(bench.old_page(&pk_of(&owner(3)), everything, offset, 100, false))
            .await;
        depth_rows.push(format!(
            "| {} in one hour of 20,000 | {} | {} | {} | {} | {} / {} | {} | {} | {} |",
            count(offset as u64),
            units(read),
            mib(before.heap),
            ms(before.time),
            units(after.read),
            after.requests,
            after.trips,
            mib(after.heap),
            ms(after.time),
            units(after.write)
        ));
    }

    // The page after one already served: it starts at the anchor that page left.
    let (_, next) = bench
        .call(large, "GET", "/links?limit=100&offset=50100", None, &[])
        .await;
    let anchored = format!(
        "The next page of a walk at that depth (offset 50,100, after 50,000 was served) starts at the anchor the previous page left: {} read units, {} requests in {} round trips, {} write units, {} heap, {}.",
        units(next.read),
        next.requests,
        next.trips,
        units(next.write),
        mib(next.heap),
        ms(next.time)
    );

    // Walks: every page with limit 100, as the Omise clients iterate.
    let mid_pk = pk_of(&owner(1));
    let mid_prefix = bench.prefix_read_units(&mid_pk, everything).await;
    let large_prefix = bench.prefix_read_units(&large_pk, everything).await;
    let old_walk = |prefix: &[f64]| {
        let n = prefix.len() - 1;
        // Each page reads everything before it and itself, plus the count shards (1 unit).
        (0..=n)
            .step_by(100)
            .map(|o| prefix[(o + 100).min(n)] + 1.0)
            .sum::<f64>()
    };
    let mut measured_old_mid = 0.0;
    let mut old_mid_time = Duration::ZERO;
    for offset in (0..=10_000).step_by(100) {
        let started = Instant::now();
        let (_, read) = bench
            .old_page(&mid_pk, everything, offset, 100, false)
            .await;
        old_mid_time += started.elapsed();
        measured_old_mid += read;
    }
    let (seen_mid, walk_mid) = bench.walk(mid, "/links?").await;
    assert_eq!(seen_mid, 10_000);
    let (seen_large, walk_large) = bench.walk(large, "/links?").await;
    assert_eq!(seen_large, 101_000);
    let walk_rows = [
        format!(
            "| 10,000 | {} (computed: {}) | {} | {} | {} | {} | {} |",
            units(measured_old_mid),
            units(old_walk(&mid_prefix)),
            ms(old_mid_time),
            units(walk_mid.read),
            units(walk_mid.write),
            walk_mid.requests,
            ms(walk_mid.time)
        ),
        format!(
            "| 101,000 | {} (computed; not run) | — | {} | {} | {} | {} |",
            units(old_walk(&large_prefix)),
            units(walk_large.read),
            units(walk_large.write),
            count(walk_large.requests as u64),
            ms(walk_large.time)
        ),
    ];
    let read_once = large_prefix.last().copied().unwrap_or_default();

    // A filtered page: from and to inside hours, covering 90% of the 101,000.
    let (from, to) = (links[5_050].created, links[95_949].created);
    let uri = format!("/links?limit=100&from={}&to={}", iso(from), iso(to));
    let (page, filtered) = bench.call(large, "GET", &uri, None, &[]).await;
    let in_window = page["total"].as_u64().unwrap();
    assert_eq!(in_window, 90_900);
    let (_, filtered_next) = bench
        .call(large, "GET", &format!("{uri}&offset=100"), None, &[])
        .await;
    let window = (
        format!(
            "LINK#link_test_{}",
            shared::domain::ids::time_prefix(from.timestamp_millis())
        ),
        format!(
            "LINK#link_test_{}~",
            shared::domain::ids::time_prefix(to.timestamp() * 1000 + 999)
        ),
    );
    let ((_, old_read), old_filtered) = bench
        .cost(bench.old_page(&large_pk, (&window.0, &window.1), 0, 100, true))
        .await;
    let filtered_rows = [
        format!(
            "| before | {} | {} | {} |",
            units(old_read),
            mib(old_filtered.heap),
            ms(old_filtered.time)
        ),
        format!(
            "| after, first page | {} | {} | {} |",
            units(filtered.read),
            mib(filtered.heap),
            ms(filtered.time)
        ),
        format!(
            "| after, second page | {} | {} | {} |",
            units(filtered_next.read),
            mib(filtered_next.heap),
            ms(filtered_next.time)
        ),
    ];

    // Creates, with and without an Idempotency-Key.
    let mut plain = Vec::new();
    let mut keyed = Vec::new();
    for i in 0..200 {
        let (_, c) = bench.call(small, "POST", "/links", Some(body), &[]).await;
        plain.push(c.time);
        let k = format!("bench-create-{i}");
        let (_, c) = bench
            .call(
                small,
                "POST",
                "/links",
                Some(body),
                &[("idempotency-key", &k)],
            )
            .await;
        keyed.push(c.time);
    }
    // What a create writes, item by item: the link, its payment token's item, its count shard
    // and its hour counter, its event and the event's two counters, and with a key the
    // idempotency record holding the response.
    let sample = &thousand[0];
    let link_item = shared::store::item::Item::from(sample);
    let counter = 2 * "ACCT#acct_0000000000000000#test".len() + 40;
    let body_len = serde_json::to_string(&sample.view("https://pay.example.com/pay", now))
        .unwrap()
        .len();
    let record = "ACCT#acct_0000000000000000#test".len()
        + 2
        + 5
        + 64
        + 11
        + 64
        + 4
        + 35
        + 4
        + body_len
        + 7
        + 24
        + 10
        + 6;
    // The payment token's item, and the `link.create` event (the response as its data, in the
    // event's envelope) with its two counters.
    let token_item = item_size(&shared::store::item::payment_token_item(sample));
    let event = 2 * "ACCT#acct_0000000000000000#test".len() + 140 + body_len;
    let items = [
        item_size(&link_item),
        token_item,
        counter,
        counter,
        event,
        counter,
        counter,
    ];
    let plain_units = transaction_write_units(&items);
    let keyed_units = transaction_write_units(&[&items[..], &[record]].concat());
    let create_rows = [
        format!(
            "| without a key | {} | {} | {plain_units:.0} |",
            ms(median(plain.clone())),
            ms(percentile(plain, 0.9))
        ),
        format!(
            "| with an `Idempotency-Key` | {} | {} | {keyed_units:.0} |",
            ms(median(keyed.clone())),
            ms(percentile(keyed, 0.9))
        ),
    ];

    // Retrieve: the handler against one raw GetItem of the same item, interleaved.
    let mut handler = Vec::new();
    let mut raw = Vec::new();
    let target = &thousand[10];
    let key = HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk_of(&owner(0)))),
        (
            "sk".to_owned(),
            AttributeValue::S(format!("LINK#{}", target.id)),
        ),
    ]);
    for _ in 0..300 {
        let (_, c) = bench
            .call(small, "GET", &format!("/links/{}", target.id), None, &[])
            .await;
        handler.push(c.time);
        let start = Instant::now();
        bench
            .store()
            .client()
            .get_item()
            .table_name(bench.store().table())
            .set_key(Some(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        raw.push(start.elapsed());
    }
    let (handler, raw) = (median(handler), median(raw));

    println!(
        "| operation | route | DynamoDB requests | round trips | read units | write units (a transaction: see Creates) |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for row in &per_operation {
        println!("{row}");
    }
    println!();
    println!(
        "**`GET /links?limit=100&offset=…` over 101,000 links (1,000 a day), cold (no anchor near); then the worst case, an offset in the middle of an hour holding 20,000 links:**"
    );
    println!();
    println!(
        "| offset | before: read units | before: peak heap | before: time | after: read units | after: requests / round trips | after: peak heap | after: time | after: write units (anchors) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &depth_rows {
        println!("{row}");
    }
    println!();
    println!("{anchored}");
    println!();
    println!(
        "**Walking every link with limit 100** (offset 0, 100, 200, … as the Omise clients page):"
    );
    println!();
    println!(
        "| links | before: read units | before: time | after: read units | after: write units | after: requests | after: time |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for row in &walk_rows {
        println!("{row}");
    }
    println!();
    println!(
        "Reading all 101,000 links once, in order, costs {} read units: the walk's floor.",
        units(read_once)
    );
    println!();
    println!(
        "**A filtered page** (`from` and `to` inside hours, 90,900 of the 101,000 links, limit 100):"
    );
    println!();
    println!("| | read units | peak heap | time |");
    println!("|---|---:|---:|---:|");
    for row in &filtered_rows {
        println!("{row}");
    }
    println!();
    println!("**Creates** (200 of each, interleaved; time is the handler's, in-process):");
    println!();
    println!("| create | median | 90th percentile | write units on DynamoDB (from item sizes) |");
    println!("|---|---:|---:|---:|");
    for row in &create_rows {
        println!("{row}");
    }
    println!();
    println!(
        "Retrieve, warm, in-process against DynamoDB Local (median of 300): handler {}, raw GetItem {}, ratio {:.2}×.",
        ms(handler),
        ms(raw),
        handler.as_secs_f64() / raw.as_secs_f64()
    );
    bench
        .store()
        .client()
        .delete_table()
        .table_name(bench.store().table())
        .send()
        .await
        .ok();
}

/// A card form as the payment page at `path` posts it, with a fresh attempt key signed by `keys`.
fn card_form(keys: &AttemptKeys, path: &str, number: &str) -> String {
    format!(
        "attempt={}&lang=th&name=Somchai&number={number}&expiration_month=12\
         &expiration_year=2031&security_code=123",
        keys.issue(path.trim_start_matches("/pay/"), Utc::now())
    )
}

/// What the payment page and payments cost: DynamoDB requests, round trips and capacity per call,
/// page weight, and latency (in-process, against DynamoDB Local). Prints Markdown tables.
async fn payments(bench: &Bench, key: &str, owner: &Principal) {
    let link = |multiple: bool| {
        format!(
            r#"{{"amount":123400,"currency":"thb","title":"ข้าวมันไก่ 2 กล่อง","description":"ส่งฟรีในซอย","multiple":{multiple}}}"#
        )
    };
    let token = |link: &serde_json::Value| {
        let uri = link["payment_uri"].as_str().unwrap();
        format!("/pay/{}", uri.rsplit('/').next().unwrap())
    };
    let keys = bench.ctx.attempt_keys().await.expect("attempt keys");
    let mut rows = Vec::new();
    let mut row = |label: &str, route: &str, status: u16, c: Cost| {
        rows.push(format!(
            "| {label} | `{route}` | {status} | {} | {} | {:.1} | {:.1} |",
            c.requests, c.trips, c.read, c.write
        ));
    };
    let (single, _) = bench
        .call(key, "POST", "/links", Some(&link(false)), &[])
        .await;
    let page_path = token(&single);
    let (status, page, c) = bench.public("GET", &page_path, None).await;
    row("payment page view", "GET /pay/{id}", status, c);
    let page_bytes = page.len();
    let (status, svg, c) = bench
        .public("GET", &format!("{page_path}/qr.svg"), None)
        .await;
    row("QR code", "GET /pay/{id}/qr.svg", status, c);
    let svg_bytes = svg.len();
    let (status, _, c) = bench
        .public(
            "POST",
            &page_path,
            Some(&card_form(&keys, &page_path, "4242424242424241")),
        )
        .await;
    row(
        "payment with an invalid number (refused, nothing written)",
        "POST /pay/{id}",
        status,
        c,
    );
    let declined = card_form(&keys, &page_path, "4111111111140011");
    let (status, _, c) = bench.public("POST", &page_path, Some(&declined)).await;
    row(
        "payment, declined card (a failed charge)",
        "POST /pay/{id}",
        status,
        c,
    );
    let paid = card_form(&keys, &page_path, "4242424242424242");
    let (status, receipt, c) = bench.public("POST", &page_path, Some(&paid)).await;
    row("payment, successful card", "POST /pay/{id}", status, c);
    let receipt_bytes = receipt.len();
    let (status, _, c) = bench.public("POST", &page_path, Some(&paid)).await;
    row(
        "the same form submitted again (replayed)",
        "POST /pay/{id}",
        status,
        c,
    );
    let (status, _, c) = bench
        .public(
            "POST",
            &page_path,
            Some(&card_form(&keys, &page_path, "4242424242424242")),
        )
        .await;
    row(
        "another payment of the paid link (refused)",
        "POST /pay/{id}",
        status,
        c,
    );
    let (status, _, c) = bench.public("GET", &page_path, None).await;
    row("page view of the paid link", "GET /pay/{id}", status, c);
    let id = single["id"].as_str().unwrap();
    let (charges, c) = bench
        .call(key, "GET", &format!("/links/{id}/charges"), None, &[])
        .await;
    row("list the link's charges", "GET /links/{id}/charges", 200, c);
    let charge = charges["data"][1]["id"].as_str().unwrap().to_owned();
    // What the payment transaction's items weigh, as DynamoDB bills them.
    let size = |sk: String| {
        let client = bench.store().client().clone();
        let (table, pk) = (
            bench.store().table().to_owned(),
            format!("ACCT#{}#test", owner.account_id),
        );
        async move {
            let out = client
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S(pk))
                .key("sk", AttributeValue::S(sk))
                .send()
                .await
                .expect("get an item");
            item_size(out.item().expect("the item"))
        }
    };
    let charge_bytes = size(format!("CHRG#{charge}")).await;
    let link_bytes = size(format!("LINK#{id}")).await;
    // The payment's event: the newest, since the replayed and refused payments wrote none.
    let (events, _) = bench
        .call(
            key,
            "GET",
            "/events?limit=1&order=reverse_chronological",
            None,
            &[],
        )
        .await;
    assert_eq!(events["data"][0]["key"], "charge.create");
    let event_id = events["data"][0]["id"].as_str().unwrap().to_owned();
    let event_bytes = size(format!("EVNT#{event_id}")).await;
    // An attempt record (the newest is as large as any), as the payment's two transactions
    // write it.
    let attempt_bytes = {
        let out = bench
            .store()
            .client()
            .query()
            .table_name(bench.store().table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :a)")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("ACCT#{}#test", owner.account_id)),
            )
            .expression_attribute_values(":a", AttributeValue::S("ATTEMPT#".into()))
            .limit(1)
            .send()
            .await
            .expect("query an attempt");
        item_size(&out.items()[0])
    };
    // Before the processor: the attempt and its deadline entry (and, on a single-use link, the
    // link's hold). After: the link, the charge and its copy, four counters, the event and its
    // two counters, the attempt again, and the deadline entry deleted.
    let begin_units = transaction_write_units(&[attempt_bytes, 128]);
    let record_units = transaction_write_units(&[
        link_bytes,
        charge_bytes,
        charge_bytes,
        64,
        64,
        64,
        64,
        event_bytes,
        64,
        64,
        attempt_bytes,
        128,
    ]);
    let payment_units = begin_units + record_units;
    let event_units = transaction_write_units(&[event_bytes, 64, 64]);
    let (_, c) = bench
        .call(key, "GET", &format!("/charges/{charge}"), None, &[])
        .await;
    row("retrieve a charge", "GET /charges/{id}", 200, c);
    let (_, c) = bench.call(key, "GET", "/charges", None, &[]).await;
    row("list charges", "GET /charges", 200, c);
    let (_, c) = bench
        .call(key, "GET", &format!("/links/{id}"), None, &[])
        .await;
    row(
        "retrieve a link with charges (embeds them)",
        "GET /links/{id}",
        200,
        c,
    );

    // Latency: 200 page views and 200 successful payments of one multiple-use link, one at a time.
    let (multiple, _) = bench
        .call(key, "POST", "/links", Some(&link(true)), &[])
        .await;
    let path = token(&multiple);
    let (mut views, mut pays) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let (status, _, c) = bench.public("GET", &path, None).await;
        assert_eq!(status, 200);
        views.push(c.time);
        let (status, _, c) = bench
            .public(
                "POST",
                &path,
                Some(&card_form(&keys, &path, "4242424242424242")),
            )
            .await;
        assert_eq!(status, 200);
        pays.push(c.time);
    }
    println!(
        "| call | route | status | DynamoDB requests | round trips | read units | write units (DynamoDB Local) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!("{row}");
    }
    println!();
    println!(
        "Page weight (uncompressed, the whole page: no other request): payable page {page_bytes} bytes, receipt {receipt_bytes} bytes, QR code SVG {svg_bytes} bytes."
    );
    println!();
    println!(
        "A card payment is two transactions of the service's (and the test processor's own write between them, which a live processor makes at its end instead): before the processor, the attempt record ({attempt_bytes} bytes) and its deadline entry, {begin_units:.0} write units on DynamoDB; after, 12 items: the link ({link_bytes} bytes), the charge and its copy ({charge_bytes} bytes each), four counters, its one event (`charge.create`, {event_bytes} bytes) and the event's two counters, the attempt again, and the deadline entry deleted, {record_units:.0} write units. {payment_units:.0} in all (2 per item per KB in a transaction; DynamoDB Local's own figure for a transaction is not what DynamoDB bills), {event_units:.0} of them for the event."
    );
    println!();
    println!("| in-process against DynamoDB Local, 200 each | median | 90th percentile |");
    println!("|---|---:|---:|");
    println!(
        "| payment page view | {} | {} |",
        ms(median(views.clone())),
        ms(percentile(views, 0.9))
    );
    println!(
        "| successful payment | {} | {} |",
        ms(median(pays.clone())),
        ms(percentile(pays, 0.9))
    );
}

/// What each step of a charge's life costs: 3-D Secure, PromptPay, refunds and the sweep, each
/// through the real handlers (the sweep as its function runs it), with its DynamoDB requests,
/// round trips and capacity; the PromptPay page's weight; and latency medians.
async fn lifecycle(bench: &Bench, key: &str, owner: &Principal) {
    let keys = bench.ctx.attempt_keys().await.expect("attempt keys");
    let new_link = |title: &str| {
        format!(
            r#"{{"amount":35000,"currency":"thb","title":"{title}","description":"ชาไทย","multiple":true}}"#
        )
    };
    let page_of = |link: &serde_json::Value| {
        let uri = link["payment_uri"].as_str().unwrap();
        format!("/pay/{}", uri.rsplit('/').next().unwrap())
    };
    let promptpay = |path: &str| {
        format!(
            "attempt={}&lang=th&source_type=promptpay",
            keys.issue(path.trim_start_matches("/pay/"), Utc::now())
        )
    };
    let payment_of = |to: &str| {
        to.split("payment=")
            .nth(1)
            .and_then(|p| p.split('&').next())
            .unwrap()
            .to_owned()
    };
    let mut rows = Vec::new();
    let mut row = |label: &str, route: &str, status: u16, c: &Cost| {
        rows.push(format!(
            "| {label} | `{route}` | {status} | {} | {} | {:.1} | {:.1} |",
            c.requests, c.trips, c.read, c.write
        ));
    };

    // 3-D Secure: started (attempt, processor, pending charge), the stand-in bank page, the
    // answer (processor, completion), and the return page.
    bench
        .store()
        .set_three_d_secure(owner, true)
        .await
        .expect("3-D Secure on");
    let (link, _) = bench
        .call(key, "POST", "/links", Some(&new_link("3-D Secure")), &[])
        .await;
    let path = page_of(&link);
    let (status, _, bank, c) = bench
        .public_with_location(
            "POST",
            &path,
            Some(&card_form(&keys, &path, "4242424242424242")),
        )
        .await;
    row(
        "3-D Secure started: attempt, processor, pending charge",
        "POST /pay/{id}",
        status,
        &c,
    );
    let bank = bank.expect("a redirect to the bank");
    let (status, _, c) = bench.public("GET", &bank, None).await;
    row(
        "the stand-in bank page",
        "GET /pay/{id}/authorize",
        status,
        &c,
    );
    let payment = payment_of(&bank);
    let answer = format!("payment={payment}&action=authenticate&lang=th");
    let (status, _, back, c) = bench
        .public_with_location("POST", &bank, Some(&answer))
        .await;
    row(
        "authenticated: processor, charge completed",
        "POST /pay/{id}/authorize",
        status,
        &c,
    );
    let (status, _, c) = bench.public("GET", &back.expect("a return"), None).await;
    row(
        "the return page (the receipt)",
        "GET /pay/{id}/complete",
        status,
        &c,
    );

    // PromptPay: started, its page waiting (one refresh), its QR image, marked paid, the page.
    bench
        .store()
        .set_three_d_secure(owner, false)
        .await
        .expect("3-D Secure off");
    let (link, _) = bench
        .call(key, "POST", "/links", Some(&new_link("PromptPay")), &[])
        .await;
    let path = page_of(&link);
    let (status, _, waiting, c) = bench
        .public_with_location("POST", &path, Some(&promptpay(&path)))
        .await;
    row(
        "PromptPay started: attempt, processor, pending charge",
        "POST /pay/{id}",
        status,
        &c,
    );
    let waiting = waiting.expect("a redirect to the QR page");
    let (status, page, c) = bench.public("GET", &waiting, None).await;
    row(
        "the QR page, waiting (each refresh)",
        "GET /pay/{id}/complete",
        status,
        &c,
    );
    let qr_page_bytes = page.len();
    let (charges, _) = bench
        .call(
            key,
            "GET",
            &format!("/links/{}/charges", link["id"].as_str().unwrap()),
            None,
            &[],
        )
        .await;
    let charge = charges["data"][0]["id"].as_str().unwrap().to_owned();
    let download = charges["data"][0]["source"]["scannable_code"]["image"]["download_uri"]
        .as_str()
        .unwrap();
    let qr_path = format!(
        "/pay{}",
        download
            .strip_prefix(PAYMENT_BASE_URL)
            .expect("under the base")
    );
    let (status, svg, c) = bench.public("GET", &qr_path, None).await;
    row("its QR image", "GET /pay/{id}/qr.svg?payment=…", status, &c);
    let qr_bytes = svg.len();
    let (_, c) = bench
        .call(
            key,
            "POST",
            &format!("/charges/{charge}/mark_as_paid"),
            None,
            &[],
        )
        .await;
    row(
        "marked paid (test mode): processor, charge completed",
        "POST /charges/{id}/mark_as_paid",
        200,
        &c,
    );
    let (status, receipt, c) = bench.public("GET", &waiting, None).await;
    row(
        "the QR page after payment (the receipt)",
        "GET /pay/{id}/complete",
        status,
        &c,
    );
    let receipt_bytes = receipt.len();

    // A refund of a tenth, and the charge's refunds.
    let (_, c) = bench
        .call(
            key,
            "POST",
            &format!("/charges/{charge}/refunds"),
            Some(r#"{"amount":3500}"#),
            &[],
        )
        .await;
    row(
        "refund: set aside, processor, recorded",
        "POST /charges/{id}/refunds",
        200,
        &c,
    );
    let (_, c) = bench
        .call(key, "GET", &format!("/charges/{charge}/refunds"), None, &[])
        .await;
    row(
        "list a charge's refunds",
        "GET /charges/{id}/refunds",
        200,
        &c,
    );

    // The sweep: with nothing due, and expiring one abandoned QR code.
    let (_, c) = bench.cost(bench.ctx.payments().sweep(Utc::now())).await;
    row("sweep, nothing overdue", "(schedule)", 200, &c);
    bench.public("POST", &path, Some(&promptpay(&path))).await;
    bench.ctx.clock.advance(Span::minutes(16));
    let (swept, c) = bench
        .cost(bench.ctx.payments().sweep(bench.ctx.now()))
        .await;
    assert_eq!(swept.expect("a sweep").settled, 1);
    row(
        "sweep expiring one abandoned QR code",
        "(schedule)",
        200,
        &c,
    );

    // Latency: 50 of each, one at a time, on a multiple-use link.
    let (link, _) = bench
        .call(key, "POST", "/links", Some(&new_link("latency")), &[])
        .await;
    let path = page_of(&link);
    let (mut starts, mut refreshes, mut marks) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..50 {
        let (status, _, waiting, c) = bench
            .public_with_location("POST", &path, Some(&promptpay(&path)))
            .await;
        assert_eq!(status, 303);
        starts.push(c.time);
        let waiting = waiting.unwrap();
        let (status, _, c) = bench.public("GET", &waiting, None).await;
        assert_eq!(status, 200);
        refreshes.push(c.time);
        let (charges, _) = bench
            .call(
                key,
                "GET",
                "/charges?limit=1&order=reverse_chronological",
                None,
                &[],
            )
            .await;
        let charge = charges["data"][0]["id"].as_str().unwrap().to_owned();
        let (_, c) = bench
            .call(
                key,
                "POST",
                &format!("/charges/{charge}/mark_as_paid"),
                None,
                &[],
            )
            .await;
        marks.push(c.time);
    }
    println!(
        "| step | route | status | DynamoDB requests | round trips | read units | write units (DynamoDB Local) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!("{row}");
    }
    println!();
    println!(
        "PromptPay page weight (uncompressed, the whole page with its QR code inline): waiting {qr_page_bytes} bytes, receipt {receipt_bytes} bytes; the QR image alone {qr_bytes} bytes."
    );
    println!();
    println!("| in-process against DynamoDB Local, 50 each | median | 90th percentile |");
    println!("|---|---:|---:|");
    for (label, samples) in [
        (
            "PromptPay started (attempt, processor, pending charge)",
            starts,
        ),
        ("its page, waiting (one refresh)", refreshes),
        ("marked paid (completion)", marks),
    ] {
        println!(
            "| {label} | {} | {} |",
            ms(median(samples.clone())),
            ms(percentile(samples, 0.9))
        );
    }
}
