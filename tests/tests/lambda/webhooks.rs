//! The delivery function's release bootstrap under the emulator: invoked with the stream records
//! DynamoDB Local's real Streams API gives (as the event source mapping hands them over) and with
//! the schedule's event, sending to a real HTTPS receiver on loopback that checks signatures
//! with Python's `hmac`.

use crate::rie::Rie;
use links_tests::TestApp;
use links_tests::receiver::Receiver;
use links_tests::streams::{StreamReader, lambda_event, scheduled_event};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The bootstrap as the template runs it (60 s), with the test-only settings a loopback
/// receiver with its own certificate needs, and the retry schedule 60 times faster.
fn delivery_function(app: &TestApp, receiver: &Receiver) -> Rie {
    let cert = receiver.cert_path();
    Rie::start_with(
        "deliver-webhooks",
        app.ctx.store.table(),
        links_tests::dynamodb_endpoint(),
        &[
            ("AWS_LAMBDA_FUNCTION_TIMEOUT", "60"),
            ("WEBHOOK_TIMEOUT_SECONDS", "5"),
            ("WEBHOOK_TEST_ALLOW_LOOPBACK", "1"),
            ("WEBHOOK_TEST_TRUST_PEM", cert.to_str().unwrap()),
            ("WEBHOOK_TEST_RETRY_SCALE", "0.0166667"),
        ],
    )
}

#[tokio::test]
async fn the_delivery_bootstrap_sends_stream_events_and_retries_on_schedule() {
    // Arrange: alice's endpoint fails its first two tries.
    let app = links_tests::spawn_app().await;
    app.ctx.store.enable_stream().await.unwrap();
    let owner = app.alice.test();
    let mut stream =
        StreamReader::open(links_tests::dynamodb_endpoint(), app.ctx.store.table()).await;
    let now = shared::chrono::Utc::now();
    let secret = app
        .ctx
        .store
        .set_webhook(&owner, "https://127.0.0.1:9/not-yet", now)
        .await
        .unwrap()
        .new_secret
        .unwrap();
    let receiver = Receiver::start(&secret, &["--fail-first", "2"]);
    app.ctx
        .store
        .set_webhook(&owner, &receiver.url("/hooks"), now)
        .await
        .unwrap();
    let rie = delivery_function(&app, &receiver);
    for title in ["ข้าวผัด", "ต้มยำ", "ส้มตำ"] {
        app.create_link(&app.alice.test_key, TestApp::link_params(title))
            .await;
    }

    // Act: the stream's records as one batch, then the schedule's ticks.
    let records = stream.read().await;
    assert!(
        records.len() > 3,
        "links, counters and events: {}",
        records.len()
    );
    let answer = rie.invoke_raw(&lambda_event(&records)).await;
    assert_eq!(
        answer["batchItemFailures"],
        Value::Array(vec![]),
        "{answer}"
    );
    let started = Instant::now();
    while receiver.accepted().len() < 3 && started.elapsed() < Duration::from_secs(30) {
        let swept = rie.invoke_raw(&scheduled_event()).await;
        assert!(swept["endpoints"].is_u64(), "{swept}\n{}", rie.output());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Assert: all three, verified, in the order they were created, the titles intact.
    let accepted = receiver.accepted();
    let list = app
        .call("GET", "/events?order=chronological")
        .key(&app.alice.test_key)
        .send()
        .await;
    let created: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let got: Vec<&str> = accepted
        .iter()
        .map(|r| r["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(got, created, "{}", rie.output());
    assert!(accepted.iter().all(|r| r["verified"] == true));
    let first = &list.body["data"][0];
    let statuses: Vec<&Value> = first["webhook_deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["status"])
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    // Its logs: one line per try, and never the secret.
    let output = rie.output();
    assert!(output.contains("webhook try"), "{output}");
    assert!(!output.contains(&secret), "the signing secret was logged");
    assert!(output.contains("test-only webhook settings are on"));
}
