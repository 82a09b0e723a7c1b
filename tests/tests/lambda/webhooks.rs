//! The delivery function's release bootstrap under the emulator: invoked with the stream records
//! DynamoDB Local's real Streams API gives (as the event source mapping hands them over) and with
//! the schedule's event, sending to a real HTTPS receiver on loopback that checks signatures
//! with Python's `hmac`.

use crate::rie::Rie;
use links_tests::TestApp;
use links_tests::receiver::{Receiver, endpoint_with_receiver};
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
    let mut stream = StreamReader::open(links_tests::dynamodb_endpoint(), app.ctx.store.table())
        .await
        .expect("the table's stream");
    let now = shared::chrono::Utc::now();
    let secret = app
        .ctx
        .store
        .set_webhook(
            &owner,
            "https://127.0.0.1:9/not-yet",
            now,
            &links_tests::test_sealer(),
        )
        .await
        .unwrap()
        .new_secret
        .unwrap();
    let receiver = Receiver::start(&secret, &["--fail-first", "2"]);
    app.ctx
        .store
        .set_webhook(
            &owner,
            &receiver.url("/hooks"),
            now,
            &links_tests::test_sealer(),
        )
        .await
        .unwrap();
    let rie = delivery_function(&app, &receiver);
    for title in ["ข้าวผัด", "ต้มยำ", "ส้มตำ"] {
        app.create_link(&app.alice.test_key, TestApp::link_params(title))
            .await;
    }

    // Act: the stream's records as one batch, then the schedule's ticks.
    let records = stream.read().await.expect("read the stream");
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

#[tokio::test]
async fn a_live_event_goes_out_to_the_live_endpoint_under_the_live_secret() {
    // Arrange: only alice's live mode has an endpoint; her test mode has none.
    let app = links_tests::spawn_app().await;
    app.ctx.store.enable_stream().await.unwrap();
    let live = shared::domain::principal::Principal {
        account_id: app.alice.id.clone(),
        livemode: true,
    };
    let mut stream = StreamReader::open(links_tests::dynamodb_endpoint(), app.ctx.store.table())
        .await
        .expect("the table's stream");
    let receiver = endpoint_with_receiver(&app, &live, &[]).await;
    let rie = delivery_function(&app, &receiver);
    app.create_link(&app.alice.test_key, TestApp::link_params("ทดสอบ"))
        .await;
    let link = app
        .create_link(&app.alice.live_key, TestApp::link_params("ของจริง"))
        .await;

    // Act
    let answer = rie
        .invoke_raw(&lambda_event(
            &stream.read().await.expect("read the stream"),
        ))
        .await;

    // Assert: the live link's event, and only it, arrived signed with the live secret.
    assert_eq!(
        answer["batchItemFailures"],
        Value::Array(vec![]),
        "{answer}"
    );
    let accepted = receiver.wait_accepted(1, Duration::from_secs(10)).await;
    let events = app
        .call("GET", "/events")
        .key(&app.alice.live_key)
        .send()
        .await;
    let [event] = events.body["data"].as_array().unwrap().as_slice() else {
        panic!("one live event: {}", events.text);
    };
    assert_eq!(accepted.len(), 1, "{accepted:?}\n{}", rie.output());
    assert_eq!(accepted[0]["event_id"], event["id"]);
    assert_eq!(accepted[0]["verified"], true);
    let body: Value = serde_json::from_str(accepted[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&body["key"], &body["livemode"], &body["data"]["id"]),
        (&Value::from("link.create"), &Value::from(true), &link["id"])
    );
    assert_eq!(receiver.received().len(), 1, "the test event went nowhere");
}

#[tokio::test]
async fn the_bootstrap_refuses_a_loopback_endpoint_unless_its_test_setting_is_1() {
    // The deployed function has no WEBHOOK_TEST_ALLOW_LOOPBACK: an endpoint that resolves to
    // loopback (or any other non-public address) is refused when it comes to send, without
    // connecting. Any value but `1` is the same as none.
    for setting in [None, Some("0"), Some("true")] {
        let app = links_tests::spawn_app().await;
        app.ctx.store.enable_stream().await.unwrap();
        let owner = app.alice.test();
        let mut stream =
            StreamReader::open(links_tests::dynamodb_endpoint(), app.ctx.store.table())
                .await
                .expect("the table's stream");
        let receiver = endpoint_with_receiver(&app, &owner, &[]).await;
        let cert = receiver.cert_path();
        let mut env = vec![
            ("AWS_LAMBDA_FUNCTION_TIMEOUT", "60"),
            ("WEBHOOK_TIMEOUT_SECONDS", "5"),
            ("WEBHOOK_TEST_TRUST_PEM", cert.to_str().unwrap()),
        ];
        if let Some(value) = setting {
            env.push(("WEBHOOK_TEST_ALLOW_LOOPBACK", value));
        }
        let rie = Rie::start_with(
            "deliver-webhooks",
            app.ctx.store.table(),
            links_tests::dynamodb_endpoint(),
            &env,
        );
        app.create_link(&app.alice.test_key, TestApp::link_params("x"))
            .await;

        let answer = rie
            .invoke_raw(&lambda_event(
                &stream.read().await.expect("read the stream"),
            ))
            .await;

        assert_eq!(
            answer["batchItemFailures"],
            Value::Array(vec![]),
            "{setting:?}: {answer}"
        );
        assert!(
            receiver.received().is_empty(),
            "{setting:?}: {:?}",
            receiver.received()
        );
        let events = app
            .call("GET", "/events")
            .key(&app.alice.test_key)
            .send()
            .await;
        let delivery = &events.body["data"][0]["webhook_deliveries"][0];
        assert_eq!(
            delivery["status"],
            Value::Null,
            "{setting:?}: {}",
            events.text
        );
        let error = delivery["error"].as_str().unwrap_or_default();
        assert!(error.contains("refused"), "{setting:?}: {}", events.text);
    }
}
