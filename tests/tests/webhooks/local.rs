//! `scripts/dev`'s webhook delivery (`tools::local_webhooks`, which `links-local` runs): the
//! table's real DynamoDB Local stream, read as `links-local` reads it and handed to the delivery
//! function's own code, to a developer's plain-HTTP receiver on 127.0.0.1, which checks the
//! signature with Python's `hmac`.

use super::*;
use links_tests::faults::{Answer, FaultProxy};
use serde_json::json;
use tools::local_webhooks::{self, Mapping};

/// Runs `work` while `links-local`'s delivery loop runs beside it (as the delivery function, for
/// `scripts/check-iam`), reading the stream every 100 ms and sweeping every second.
async fn with_local_delivery<F: std::future::Future>(app: &TestApp, work: F) -> F::Output {
    let deliverer =
        local_webhooks::deliverer(app.ctx.store.clone(), Some(links_tests::test_sealer()))
            .expect("the local deliverer");
    let mapping = Mapping::open(dynamodb_endpoint(), app.ctx.store.table())
        .await
        .expect("the table's stream");
    let delivering = as_delivery_function(local_webhooks::run(
        &deliverer,
        mapping,
        Duration::from_millis(100),
        Duration::from_secs(1),
    ));
    tokio::select! {
        () = delivering => unreachable!("the delivery loop runs until dropped"),
        output = work => output,
    }
}

#[tokio::test]
async fn links_local_delivers_a_new_links_event_signed_to_a_receiver_on_this_machine() {
    // Arrange: a table as `links-admin create-table` leaves it (no stream), which links-local
    // streams before serving; an endpoint on this machine over plain HTTP, which only the local
    // policy takes, set as `links-admin webhook set` sets it (its secret sealed under KMS).
    let app = links_tests::spawn_app().await;
    local_webhooks::ensure_stream(&app.ctx.store)
        .await
        .expect("the stream turned on");
    local_webhooks::ensure_stream(&app.ctx.store)
        .await
        .expect("an enabled stream is left as it is");
    let owner = app.alice.test();
    let placeholder = "http://127.0.0.1:9/not-yet";
    assert!(
        shared::validate::parse_endpoint(placeholder, DestinationPolicy::DEPLOYED).is_err(),
        "never deployed"
    );
    shared::validate::parse_endpoint(placeholder, DestinationPolicy::local_development())
        .expect("plain HTTP to loopback, locally");
    let secret = app
        .ctx
        .store
        .set_webhook(
            &owner,
            placeholder,
            shared::chrono::Utc::now(),
            &links_tests::test_sealer(),
        )
        .await
        .expect("set the endpoint")
        .new_secret
        .expect("a new endpoint's secret");
    let receiver = Receiver::start_plain(&secret, &[]);
    repoint(&app, &owner, &receiver.url("/hook")).await;
    let endpoint = app.ctx.store.get_webhook(&owner).await.unwrap().unwrap();
    assert!(endpoint.sealed(), "the secret is stored sealed");

    // Act: a link is created through the API while the local delivery runs.
    let (created, received) = with_local_delivery(&app, async {
        let created = app
            .call("POST", "/links")
            .key(&app.alice.test_key)
            .json(
                &json!({"amount": 50_000, "currency": "thb", "title": "ค่าอาหาร",
                "description": "Lunch for two"}),
            )
            .send()
            .await;
        let received = receiver.wait_accepted(1, Duration::from_secs(10)).await;
        // The try is recorded after the receiver has answered: the loop runs until it is.
        let started = Instant::now();
        while event(&app, &app.alice.test_key, &ids(&received)[0]).await["webhook_deliveries"]
            .as_array()
            .is_none_or(|tries| tries.is_empty())
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no try recorded"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (created, received)
    })
    .await;

    // Assert: the receiver verified the link.create event's signature with the endpoint's
    // secret, and the payload is the event as the API serves it.
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(received.len(), 1, "{:?}", receiver.received());
    let delivery = &received[0];
    assert_eq!(delivery["verified"], true, "{delivery}");
    assert_eq!(delivery["key"], "link.create");
    assert_eq!(delivery["path"], "/hook");
    assert_eq!(
        delivery["user_agent"],
        deliver_webhooks::send::USER_AGENT_VALUE
    );
    let body: Value = serde_json::from_str(delivery["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["data"], created.body);
    assert_eq!(
        ids(&received),
        event_ids(&app, &app.alice.test_key).await,
        "the one event there is"
    );
    // The try is recorded on the event, as deployed.
    let event = event(&app, &app.alice.test_key, &ids(&received)[0]).await;
    let tries = event["webhook_deliveries"].as_array().unwrap();
    assert_eq!(tries.len(), 1, "{event}");
    assert_eq!(tries[0]["status"], 200);
    assert_eq!(tries[0]["uri"], receiver.url("/hook"));
}

#[tokio::test]
async fn plain_http_is_refused_outside_the_local_setup_even_to_loopback() {
    let receiver = Receiver::start_plain(&some_secret(), &[]);
    let secret = shared::domain::webhook::SigningSecret::from_base64(&some_secret()).unwrap();
    for policy in [
        DestinationPolicy::DEPLOYED,
        DestinationPolicy {
            allow_loopback_for_tests: true,
            ..DestinationPolicy::DEPLOYED
        },
    ] {
        let sender = Sender::new(policy, None, Duration::from_secs(5)).unwrap();
        let attempt = sender
            .deliver(&receiver.url("/hook"), &[&secret], 1_700_000_000, "{}")
            .await;
        assert_eq!(attempt.status, None, "{policy:?}");
        assert!(
            attempt.error.as_deref().unwrap().contains("https://"),
            "{attempt:?}"
        );
    }
    assert!(receiver.received().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn records_handed_back_wait_out_a_backoff_then_go_first_in_order() {
    // Arrange: a receiver on this machine, and a delivery function whose DynamoDB fails every
    // request for now (a fault proxy in front of DynamoDB Local), as in a brief outage.
    let app = links_tests::spawn_app().await;
    local_webhooks::ensure_stream(&app.ctx.store)
        .await
        .expect("the stream turned on");
    let owner = app.alice.test();
    let secret = set_endpoint(&app, &owner, "https://127.0.0.1:9/not-yet").await;
    let receiver = Receiver::start_plain(&secret, &[]);
    repoint(&app, &owner, &receiver.url("/hook")).await;
    let proxy = FaultProxy::start(dynamodb_endpoint()).await;
    let store = shared::store::Store::new(
        links_tests::client_for(&proxy.endpoint()),
        app.ctx.store.table(),
    );
    let deliverer = local_webhooks::deliverer(store, Some(links_tests::test_sealer()))
        .expect("the local deliverer");
    let mut mapping = Mapping::open(dynamodb_endpoint(), app.ctx.store.table())
        .await
        .expect("the table's stream");
    // Act and assert: the first link's event is handed back while DynamoDB fails.
    let first = link_id(&app, "first").await;
    proxy.inject("GetItem", Answer::internal_server_error(), 1000);
    let handed = as_delivery_function(wait_for_records(&mut mapping, &deliverer)).await;
    assert!(handed > 0, "the first link's records were handed over");
    assert!(proxy.injected() > 0, "and their handling failed");
    proxy.clear();
    let failed_at = Instant::now();

    // DynamoDB is back, but the mapping backs off before handing the records over again; a
    // later event waits behind them rather than overtaking them.
    let second = link_id(&app, "second").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = as_delivery_function(mapping.turn(&deliverer))
        .await
        .unwrap();
    assert_eq!(during, 0, "nothing handed over while backing off");
    assert!(receiver.received().is_empty(), "nothing sent yet");

    // After the first backoff (a second), both go, the handed-back one first.
    let again = as_delivery_function(wait_for_records(&mut mapping, &deliverer)).await;
    assert!(
        failed_at.elapsed() >= Duration::from_secs(1),
        "handed over again before the backoff ended"
    );
    assert!(again > handed, "the handed-back records and the later ones");
    let received = receiver.wait_accepted(2, Duration::from_secs(10)).await;
    let links: Vec<String> = received
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            assert_eq!(r["verified"], true, "{r}");
            assert_eq!(body["key"], "link.create");
            body["data"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(links, [first, second], "in order, each once");
}

/// Creates a link of Alice's titled `title` through the API; returns its id.
async fn link_id(app: &TestApp, title: &str) -> String {
    let created = app
        .create_link(&app.alice.test_key, TestApp::link_params(title))
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// Turns the mapping until it has handed over some records (the stream can take a moment to
/// show a new record); returns how many.
async fn wait_for_records(mapping: &mut Mapping, deliverer: &deliver_webhooks::Deliverer) -> usize {
    let started = Instant::now();
    loop {
        let handed = mapping.turn(deliverer).await.expect("a turn");
        if handed > 0 {
            return handed;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no record on the stream"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
