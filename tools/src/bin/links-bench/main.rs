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
mod creates;
mod lifecycle;
mod measure;
mod old_list;
mod operations;
mod payments;
mod report;
mod scale;

use bench::Bench;
use lifecycle::lifecycle;
use measure::{Flights, RecordFlights};
use payments::payments;
use shared::AppContext;
use shared::chrono::Utc;
use shared::domain::principal::Principal;
use shared::store::Store;
use std::sync::Arc;

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
    let key = |i: usize| accounts[i].test_key.as_str();

    // `links-bench payments`: the payment page, payments and their lifecycle only (seconds,
    // not minutes).
    if std::env::args().nth(1).as_deref() == Some("payments") {
        payments(&bench, key(3), &owner(3)).await;
        println!();
        lifecycle(&bench, key(3), &owner(3)).await;
        return;
    }

    let operations = operations::every_operation(&bench, key(0), &owner(0), now).await;
    let scale = scale::lists_at_scale(
        &bench,
        scale::Accounts {
            mid: (key(1), owner(1)),
            large: (key(2), owner(2)),
            dense: (key(3), owner(3)),
        },
        now,
    )
    .await;
    let create_rows = creates::creates(&bench, key(0), &operations, now).await;
    let retrieve = creates::retrieve(&bench, key(0), &owner(0), &operations).await;
    report::print(&operations.rows, &scale, &create_rows, retrieve);

    bench
        .store()
        .client()
        .delete_table()
        .table_name(bench.store().table())
        .send()
        .await
        .ok();
}
