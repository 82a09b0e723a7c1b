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

mod bench;
mod lifecycle;
mod measure;
mod old_list;
mod payments;
mod report;

use aws_sdk_dynamodb::types::AttributeValue;
use bench::Bench;
use lifecycle::lifecycle;
use measure::{Cost, Flights, RecordFlights, item_size, transaction_write_units};
use payments::payments;
use report::{count, iso, median, mib, ms, percentile, units};
use shared::AppContext;
use shared::chrono::{Duration as Span, Utc};
use shared::domain::principal::Principal;
use shared::store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The payment page's base URL in the bench's links.
const PAYMENT_BASE_URL: &str = "https://pay.example.com/pay";

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
    // The fields beyond Omise, each alone and all together: the same one round trip, since
    // each is an attribute of the items a create writes anyway. (Units for their sizes are in
    // the Creates table below.)
    let expires = (now + shared::chrono::Duration::days(30))
        .to_rfc3339_opts(shared::chrono::SecondsFormat::Secs, true);
    let beyond = [
        ("expires_at", format!(r#""expires_at":"{expires}""#)),
        (
            "after_payment_uri",
            r#""after_payment_uri":"https://shop.example/thanks""#.to_owned(),
        ),
        (
            "usage_limit",
            r#""multiple":true,"usage_limit":100"#.to_owned(),
        ),
        (
            "metadata",
            r#""metadata":{"order_id":"A-1001","customer":"สมชาย ใจดี"}"#.to_owned(),
        ),
    ];
    for (field, json) in &beyond {
        let with = format!("{},{json}}}", body.trim_end_matches('}'));
        let (_, c) = bench.call(small, "POST", "/links", Some(&with), &[]).await;
        row(&format!("create with `{field}`"), "POST /links", c);
    }
    let all: Vec<&str> = beyond.iter().map(|(_, json)| json.as_str()).collect();
    let every = format!("{},{}}}", body.trim_end_matches('}'), all.join(","));
    let (every_link, c) = bench.call(small, "POST", "/links", Some(&every), &[]).await;
    row("create with all four", "POST /links", c);
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
    // A create with every field beyond Omise, and with metadata at its largest (4,096 bytes as
    // JSON): the link item and the event (the link as its data) carry them.
    let extra_units = |extra: usize| {
        let mut sized = items;
        sized[0] += extra;
        sized[4] += extra;
        transaction_write_units(&sized)
    };
    let every_extra = serde_json::to_string(&every_link)
        .unwrap()
        .len()
        .saturating_sub(body_len);
    let every_units = extra_units(every_extra);
    let largest_units = extra_units(every_extra + shared::validate::MAX_METADATA_BYTES);
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
        format!(
            "| with `expires_at`, `after_payment_uri`, `usage_limit` and a small `metadata` (+{every_extra} bytes) | — | — | {every_units:.0} |"
        ),
        format!(
            "| the same with `metadata` at its largest (+4,096 bytes) | — | — | {largest_units:.0} |"
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
