//! Webhook figures for docs/events-and-webhooks.md, run by `scripts/bench-webhooks` (ignored in the test suite:
//! they measure, they do not assert speed). Each prints a Markdown table.

use super::*;

fn seconds_since_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn percentile(mut samples: Vec<f64>, p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

/// Payment to receiver: each payment's page answer, then the stream read every 20 ms (the
/// mapping's part), the function, the HTTPS delivery and Python's check. 50 payments of a
/// multiple-use link, one at a time.
#[tokio::test]
#[ignore = "a bench: scripts/bench-webhooks runs it"]
async fn bench_delivery_latency_from_payment_to_receiver() {
    let app = app().await;
    let owner = app.alice.test();
    let receiver = endpoint_with_receiver(&app, &owner, &[]).await;
    let deliverer = deliverer(&app, &receiver.cert_pem, true, Duration::from_secs(10));
    let link = app
        .create_link(
            &app.alice.test_key,
            serde_json::json!({"amount": 12_000, "currency": "thb", "title": "ค่าส่ง",
                "description": "x", "multiple": true}),
        )
        .await;
    let mut pump = Pump::open(&app).await;
    pump.run(&deliverer).await;
    let before = receiver.accepted().len();

    let mut latencies = Vec::new();
    let mut stream_lag = Vec::new();
    for i in 0..50 {
        let paid = pay_with_good_card(&app, &link).await;
        assert_eq!(paid.status, 200);
        let answered = seconds_since_epoch();
        // The mapping's part: poll until the charge's event is on the stream.
        let records = pump
            .reader
            .read_at_least(1, Duration::from_secs(5))
            .await
            .expect("read the stream");
        stream_lag.push(seconds_since_epoch() - answered);
        pump.hand_over(&deliverer, &records).await;
        let got = receiver
            .wait_accepted(before + i + 1, Duration::from_secs(10))
            .await;
        let received_at = got.last().unwrap()["received_at"].as_f64().unwrap();
        latencies.push(received_at - answered);
    }
    let ms = |s: f64| format!("{:.0} ms", s * 1e3);
    println!("| from the payment's answer to | median | p90 | max |");
    println!("|---|---|---|---|");
    println!(
        "| the event read from the stream | {} | {} | {} |",
        ms(percentile(stream_lag.clone(), 0.5)),
        ms(percentile(stream_lag.clone(), 0.9)),
        ms(percentile(stream_lag, 1.0))
    );
    println!(
        "| the receiver's verified delivery | {} | {} | {} |",
        ms(percentile(latencies.clone(), 0.5)),
        ms(percentile(latencies.clone(), 0.9)),
        ms(percentile(latencies, 1.0))
    );
}

/// The outage bench's clock: a minute takes 6 s. Faster, and the function's own work (some
/// 100 ms a sweep against DynamoDB Local) would count as whole scaled seconds and skew the
/// figures.
const BENCH_SCALE: f64 = 1.0 / 10.0;

/// A receiver down for five (scaled) minutes while events keep coming: how many tries, and how
/// long until it has everything, with the schedule's tick every (scaled) minute.
#[tokio::test]
#[ignore = "a bench: scripts/bench-webhooks runs it"]
async fn bench_catch_up_after_a_five_minute_outage() {
    let app = app().await;
    let owner = app.alice.test();
    let receiver = endpoint_with_receiver(&app, &owner, &[]).await;
    let deliverer = deliverer_at(
        &app,
        &receiver.cert_pem,
        true,
        Duration::from_secs(10),
        BENCH_SCALE,
    );
    let mut pump = Pump::open(&app).await;
    let minute = Duration::from_secs_f64(60.0 * BENCH_SCALE);

    // Down for five minutes; an event every half minute meanwhile (ten), the stream and the
    // schedule running as deployed.
    std::fs::write(receiver.outage_file(), b"").unwrap();
    let down = Instant::now();
    let mut next_tick = down;
    let mut created = 0;
    while down.elapsed() < minute * 5 {
        if created < 10 && down.elapsed() >= minute / 2 * created {
            app.create_link(&app.alice.test_key, TestApp::link_params("during"))
                .await;
            created += 1;
        }
        pump.run(&deliverer).await;
        if Instant::now() >= next_tick {
            sweep(&deliverer).await;
            next_tick += minute;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::fs::remove_file(receiver.outage_file()).unwrap();
    let up = Instant::now();
    while receiver.accepted().len() < 10 && up.elapsed() < minute * 30 {
        pump.run(&deliverer).await;
        if Instant::now() >= next_tick {
            sweep(&deliverer).await;
            next_tick += minute;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let caught_up = up.elapsed();
    let received = receiver.received();
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 10, "{received:?}");
    let failed = received.len() - accepted.len();
    let scaled = |d: Duration| d.as_secs_f64() / BENCH_SCALE / 60.0;
    let start = seconds_since_epoch() - down.elapsed().as_secs_f64();
    let tries: Vec<String> = received
        .iter()
        .map(|r| {
            let at = (r["received_at"].as_f64().unwrap() - start) / BENCH_SCALE / 60.0;
            format!("{at:.1} min: {}", r["status"])
        })
        .collect();
    println!("<!-- tries: {} -->", tries.join(", "));
    println!(
        "| receiver down for | events meanwhile | tries that failed | tries in all | back to everything delivered | outage start to everything delivered |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| 5 min | 10 | {failed} | {} | {:.1} min | {:.1} min |",
        received.len(),
        scaled(caught_up),
        scaled(down.elapsed()),
    );
    assert_eq!(ids(&accepted), event_ids(&app, &app.alice.test_key).await);
}
