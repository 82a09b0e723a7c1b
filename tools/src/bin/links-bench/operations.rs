//! Every operation once, on a 1,000-link account: what each costs in requests, round trips and
//! capacity units (the first table docs/performance.md quotes).

use crate::bench::Bench;
use crate::measure::Cost;
use crate::report::iso;
use shared::chrono::{DateTime, Duration as Span, Utc};
use shared::domain::link::Link;
use shared::domain::principal::Principal;

/// The create every measurement starts from.
pub(crate) const BODY: &str =
    r#"{"amount":50000,"currency":"thb","title":"ค่าอาหาร","description":"Lunch"}"#;

/// The table's rows, and what the later measurements reuse: the 1,000 links imported (996 of
/// them) and a link created with every field beyond Omise.
pub(crate) struct Operations {
    pub(crate) rows: Vec<String>,
    pub(crate) thousand: Vec<Link>,
    pub(crate) every_link: serde_json::Value,
}

/// Each operation once, by `key` (of `owner`, whose account is empty), at `now`.
pub(crate) async fn every_operation(
    bench: &Bench,
    key: &str,
    owner: &Principal,
    now: DateTime<Utc>,
) -> Operations {
    let body = BODY;
    let mut rows = Vec::new();
    let mut row = |label: &str, route: &str, c: Cost| {
        rows.push(format!(
            "| {label} | `{route}` | {} | {} | {:.1} | {:.1} |",
            c.requests, c.trips, c.read, c.write
        ));
    };
    let (link, c) = bench.call(key, "POST", "/links", Some(body), &[]).await;
    row("create, first call of a key (cold)", "POST /links", c);
    let id = link["id"].as_str().unwrap().to_owned();
    let (_, c) = bench.call(key, "POST", "/links", Some(body), &[]).await;
    row("create", "POST /links", c);
    let (_, c) = bench
        .call(
            key,
            "POST",
            "/links",
            Some(body),
            &[("idempotency-key", "bench-1")],
        )
        .await;
    row("create with an `Idempotency-Key`", "POST /links", c);
    let (_, c) = bench
        .call(
            key,
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
    // Retried after the link's expires_at passed: no transaction can take it, so one GetItem
    // of the key's record answers it (the bench's clock moves on a minute).
    let soon = (bench.ctx.now() + Span::seconds(60))
        .to_rfc3339_opts(shared::chrono::SecondsFormat::Secs, true);
    let expiring = format!(r#"{},"expires_at":"{soon}"}}"#, body.trim_end_matches('}'));
    let expiring_key = [("idempotency-key", "bench-expiring")];
    bench
        .call(key, "POST", "/links", Some(&expiring), &expiring_key)
        .await;
    bench.ctx.clock.advance(Span::seconds(61));
    let (_, c) = bench
        .call(key, "POST", "/links", Some(&expiring), &expiring_key)
        .await;
    row(
        "create retried with the same key after its `expires_at` passed (replayed)",
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
        let (_, c) = bench.call(key, "POST", "/links", Some(&with), &[]).await;
        row(&format!("create with `{field}`"), "POST /links", c);
    }
    let all: Vec<&str> = beyond.iter().map(|(_, json)| json.as_str()).collect();
    let every = format!("{},{}}}", body.trim_end_matches('}'), all.join(","));
    let (every_link, c) = bench.call(key, "POST", "/links", Some(&every), &[]).await;
    row("create with all four", "POST /links", c);
    let (_, c) = bench
        .call(key, "GET", &format!("/links/{id}"), None, &[])
        .await;
    row("retrieve", "GET /links/{id}", c);
    let (_, c) = bench
        .call(key, "GET", &format!("/links/{id}/charges"), None, &[])
        .await;
    row("list charges of a link", "GET /links/{id}/charges", c);
    let (_, c) = bench
        .call(key, "DELETE", &format!("/links/{id}"), None, &[])
        .await;
    row("destroy", "DELETE /links/{id}", c);
    let (_, c) = bench
        .call(key, "DELETE", &format!("/links/{id}"), None, &[])
        .await;
    row("destroy again (idempotent)", "DELETE /links/{id}", c);
    let thousand = bench
        .import(owner, 996, now - Span::days(10), Span::minutes(14))
        .await;
    let (_, c) = bench.call(key, "GET", "/links", None, &[]).await;
    row("list, default page (20)", "GET /links", c);
    let (_, c) = bench.call(key, "GET", "/links?limit=100", None, &[]).await;
    row("list, limit 100", "GET /links", c);
    let (_, c) = bench
        .call(
            key,
            "GET",
            "/links",
            Some(r#"{"from":null,"limit":100,"offset":0,"order":null,"to":null}"#),
            &[],
        )
        .await;
    row("list, limit 100, Python client GET body", "GET /links", c);
    let (_, c) = bench
        .call(key, "GET", "/links?limit=100&offset=100", None, &[])
        .await;
    row(
        "list, second page of a walk (limit 100, offset 100)",
        "GET /links",
        c,
    );
    let (_, c) = bench
        .call(key, "GET", "/links?limit=100&offset=200", None, &[])
        .await;
    row(
        "list, third page (starts at the anchor the second left)",
        "GET /links",
        c,
    );
    let (_, c) = bench
        .call(key, "GET", "/links?limit=100&offset=900", None, &[])
        .await;
    row("list, offset 900 with no anchor near", "GET /links", c);
    let to = iso(thousand[499].created);
    let (page, c) = bench
        .call(key, "GET", &format!("/links?to={to}"), None, &[])
        .await;
    assert_eq!(page["total"], 500);
    row("list, `to` filter matching 500 of 1,000", "GET /links", c);

    Operations {
        rows,
        thousand,
        every_link,
    }
}
