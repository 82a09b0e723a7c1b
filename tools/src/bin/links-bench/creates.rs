//! Creates timed, with and without an Idempotency-Key, and their write units on DynamoDB from
//! item sizes; a warm retrieve against one raw GetItem of the same item.

use crate::bench::Bench;
use crate::measure::{item_size, transaction_write_units};
use crate::operations::{BODY, Operations};
use crate::pk_of;
use crate::report::{median, ms, percentile};
use aws_sdk_dynamodb::types::AttributeValue;
use shared::chrono::{DateTime, Utc};
use shared::domain::principal::Principal;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The Creates table's rows, by `key`, reusing what `every_operation` made.
pub(crate) async fn creates(
    bench: &Bench,
    key: &str,
    operations: &Operations,
    now: DateTime<Utc>,
) -> [String; 4] {
    let body = BODY;
    let (thousand, every_link) = (&operations.thousand, &operations.every_link);
    let mut plain = Vec::new();
    let mut keyed = Vec::new();
    for i in 0..200 {
        let (_, c) = bench.call(key, "POST", "/links", Some(body), &[]).await;
        plain.push(c.time);
        let k = format!("bench-create-{i}");
        let (_, c) = bench
            .call(
                key,
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
    [
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
    ]
}

/// The handler's median time for a warm retrieve by `key` (of `owner`) and a raw GetItem's, 300
/// of each interleaved.
pub(crate) async fn retrieve(
    bench: &Bench,
    key: &str,
    owner: &Principal,
    operations: &Operations,
) -> (Duration, Duration) {
    let thousand = &operations.thousand;
    // Retrieve: the handler against one raw GetItem of the same item, interleaved.
    let mut handler = Vec::new();
    let mut raw = Vec::new();
    let target = &thousand[10];
    let item_key = HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk_of(owner))),
        (
            "sk".to_owned(),
            AttributeValue::S(format!("LINK#{}", target.id)),
        ),
    ]);
    for _ in 0..300 {
        let (_, c) = bench
            .call(key, "GET", &format!("/links/{}", target.id), None, &[])
            .await;
        handler.push(c.time);
        let start = Instant::now();
        bench
            .store()
            .client()
            .get_item()
            .table_name(bench.store().table())
            .set_key(Some(item_key.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        raw.push(start.elapsed());
    }
    (median(handler), median(raw))
}
