//! The payment page and card payments: what each call costs, the page's weight, and latency.

use crate::bench::Bench;
use crate::measure::{Cost, item_size, transaction_write_units};
use crate::report::{median, ms, percentile};
use aws_sdk_dynamodb::types::AttributeValue;
use shared::chrono::Utc;
use shared::domain::attempt::AttemptKeys;
use shared::domain::principal::Principal;

/// A card form as the payment page at `path` posts it, with a fresh attempt key signed by `keys`.
pub(crate) fn card_form(keys: &AttemptKeys, path: &str, number: &str) -> String {
    format!(
        "attempt={}&lang=th&name=Somchai&number={number}&expiration_month=12\
         &expiration_year=2031&security_code=123",
        keys.issue(path.trim_start_matches("/pay/"), Utc::now())
    )
}

/// What the payment page and payments cost: DynamoDB requests, round trips and capacity per call,
/// page weight, and latency (in-process, against DynamoDB Local). Prints Markdown tables.
pub(crate) async fn payments(bench: &Bench, key: &str, owner: &Principal) {
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
