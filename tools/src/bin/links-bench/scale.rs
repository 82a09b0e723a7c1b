//! Lists at scale: pages deep into 101,000 links, the worst case of a busy hour, whole walks and
//! a filtered page, each against the list algorithm this project had before (`old_list`).

use crate::bench::Bench;
use crate::pk_of;
use crate::report::{count, iso, mib, ms, units};
use shared::chrono::{DateTime, Duration as Span, Utc};
use shared::domain::principal::Principal;
use std::time::{Duration, Instant};

/// The tables' rows and sentences.
pub(crate) struct Scale {
    pub(crate) depth_rows: Vec<String>,
    pub(crate) anchored: String,
    pub(crate) walk_rows: [String; 2],
    pub(crate) read_once: f64,
    pub(crate) filtered_rows: [String; 3],
}

/// The accounts it fills: `mid` (10,000 links), `large` (101,000) and `dense` (20,000 in one
/// hour), each a key and its owner; all empty before.
pub(crate) struct Accounts<'a> {
    pub(crate) mid: (&'a str, Principal),
    pub(crate) large: (&'a str, Principal),
    pub(crate) dense: (&'a str, Principal),
}

pub(crate) async fn lists_at_scale(
    bench: &Bench,
    accounts: Accounts<'_>,
    now: DateTime<Utc>,
) -> Scale {
    let (mid, mid_owner) = (accounts.mid.0, &accounts.mid.1);
    let (large, large_owner) = (accounts.large.0, &accounts.large.1);
    let (dense_key, dense_owner) = (accounts.dense.0, &accounts.dense.1);
    // 101,000 links over 101 days (1,000 a day), and 10,000 over 10 days.
    eprintln!("importing 101,000 links");
    let started = Instant::now();
    let links = bench
        .import(
            large_owner,
            101_000,
            now - Span::days(102),
            Span::milliseconds(86_400),
        )
        .await;
    eprintln!("imported in {:?}", started.elapsed());
    bench
        .import(
            mid_owner,
            10_000,
            now - Span::days(12),
            Span::milliseconds(86_400),
        )
        .await;
    let large_pk = pk_of(large_owner);
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
            dense_owner,
            20_000,
            hour_start + Span::seconds(1),
            Span::milliseconds(175),
        )
        .await;
    for offset in [2_000usize, 10_000] {
        let uri = format!("/links?limit=100&offset={offset}");
        let (page, after) = bench.call(dense_key, "GET", &uri, None, &[]).await;
        assert_eq!(page["data"][0]["id"], dense[offset].id.as_str(), "{uri}");
        let ((_, read), before) = bench
            .cost(bench.old_page(&pk_of(dense_owner), everything, offset, 100, false))
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
    let mid_pk = pk_of(mid_owner);
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

    Scale {
        depth_rows,
        anchored,
        walk_rows,
        read_once,
        filtered_rows,
    }
}
