//! Figures as the Markdown tables print them, and the median and percentiles of timings.

use shared::chrono::{DateTime, SecondsFormat, Utc};
use std::time::Duration;

pub(crate) fn mib(bytes: usize) -> String {
    if bytes < 1024 * 1024 {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

pub(crate) fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1e3)
    } else {
        format!("{ms:.1} ms")
    }
}

pub(crate) fn units(u: f64) -> String {
    if u >= 1000.0 {
        count(u.round() as u64)
    } else {
        format!("{u:.1}")
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn count(n: u64) -> String {
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

pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub(crate) fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

/// Prints every table docs/performance.md quotes, in its order.
pub(crate) fn print(
    per_operation: &[String],
    scale: &crate::scale::Scale,
    create_rows: &[String],
    (handler, raw): (Duration, Duration),
) {
    let crate::scale::Scale {
        depth_rows,
        anchored,
        walk_rows,
        read_once,
        filtered_rows,
    } = scale;
    let read_once = *read_once;
    println!(
        "| operation | route | DynamoDB requests | round trips | read units | write units (a transaction: see Creates) |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for row in per_operation.iter() {
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
    for row in depth_rows.iter() {
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
    for row in walk_rows.iter() {
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
    for row in filtered_rows.iter() {
        println!("{row}");
    }
    println!();
    println!("**Creates** (200 of each, interleaved; time is the handler's, in-process):");
    println!();
    println!("| create | median | 90th percentile | write units on DynamoDB (from item sizes) |");
    println!("|---|---:|---:|---:|");
    for row in create_rows.iter() {
        println!("{row}");
    }
    println!();
    println!(
        "Retrieve, warm, in-process against DynamoDB Local (median of 300): handler {}, raw GetItem {}, ratio {:.2}×.",
        ms(handler),
        ms(raw),
        handler.as_secs_f64() / raw.as_secs_f64()
    );
}
