//! First deliveries: what is sent, how it is signed, what is recorded, and where it may not go.

use super::*;
use links_tests::without_serving_times;
use serde_json::json;

/// Pays `link` through its page with a good card, and returns the charge as served.
async fn pay(app: &TestApp, link: &Value) -> Value {
    let response = pay_with_good_card(app, link).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let charges = app
        .call("GET", "/charges?order=reverse_chronological&limit=1")
        .key(&app.alice.test_key)
        .send()
        .await;
    charges.body["data"][0].clone()
}

#[tokio::test]
async fn a_links_events_reach_the_merchant_signed_in_order_and_each_try_is_recorded() {
    // Arrange
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let owner = app.alice.test();
    let key = app.alice.test_key.clone();
    let receiver = endpoint_with_receiver(&app, &owner, &[]).await;
    let deliverer = deliverer(&app, &receiver.cert_pem, true, Duration::from_secs(5));

    // Act: a link is created, paid and destroyed; the mapping hands the stream over.
    let created = app
        .call("POST", "/links")
        .key(&key)
        .json(&json!({"amount": 50_000, "currency": "thb",
            "title": "ค่าอาหาร", "description": "ข้าวมันไก่ 2 จาน",
            "metadata": {"order_id": "A-1042", "โต๊ะ": 7}}))
        .send()
        .await;
    assert_eq!(created.status, 200);
    let link = created.body.clone();
    let charge = pay(&app, &link).await;
    let destroyed = app
        .call(
            "DELETE",
            &format!("/links/{}", link["id"].as_str().unwrap()),
        )
        .key(&key)
        .send()
        .await;
    assert_eq!(destroyed.status, 200);
    let failed = pump.run(&deliverer).await;

    // Assert: three deliveries, in the order the events happened, each verified by Python.
    assert!(failed.is_empty(), "{failed:?}");
    let received = receiver.wait_accepted(3, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 3, "{received:?}");
    assert!(
        received.iter().all(|r| r["verified"] == true),
        "{received:?}"
    );
    let keys: Vec<&str> = received
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["link.create", "charge.create", "link.destroy"]);
    assert_eq!(ids(&received), event_ids(&app, &key).await);
    // The payload is the event: its data is the object as the API answered it, Thai intact.
    let bodies: Vec<Value> = received
        .iter()
        .map(|r| serde_json::from_str(r["body"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(bodies[0]["data"], link);
    // The merchant's order comes with the payment: the charge's webhook alone says which it is.
    assert_eq!(
        bodies[1]["data"]["metadata"],
        json!({"order_id": "A-1042", "โต๊ะ": 7})
    );
    assert_eq!(bodies[1]["data"]["id"], charge["id"]);
    // Byte for byte: the create's answer is the event's data, and GET /events/{id} serves the
    // event as the webhook carried it.
    let sent = received[0]["body"].as_str().unwrap();
    assert!(
        sent.contains(&format!(r#""data":{}}}"#, created.text)),
        "{sent}\n{}",
        created.text
    );
    let served = app
        .call(
            "GET",
            &format!("/events/{}", bodies[0]["id"].as_str().unwrap()),
        )
        .key(&key)
        .send()
        .await;
    let (start, end) = (
        served.text.find(r#""webhook_deliveries":["#).unwrap(),
        served.text.find(r#"],"key":"#).unwrap(),
    );
    let without_deliveries = format!(
        r#"{}"webhook_deliveries":[{}"#,
        &served.text[..start],
        &served.text[end..]
    );
    assert_eq!(
        without_deliveries, sent,
        "the served event is the sent one, plus its deliveries"
    );
    assert_eq!(bodies[0]["data"]["title"], "ค่าอาหาร");
    // The charge as served then and now: only its refunds list's `to` (the time of serving)
    // may differ.
    assert_eq!(
        without_serving_times(&bodies[1]["data"]),
        without_serving_times(&charge)
    );
    assert_eq!(bodies[2]["data"], destroyed.body);
    // Every try is on its event.
    for id in ids(&received) {
        let event = event(&app, &key, &id).await;
        let deliveries = event["webhook_deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len(), 1, "{event}");
        assert_eq!(deliveries[0]["object"], "webhook_delivery");
        assert_eq!(deliveries[0]["status"], 200);
        assert_eq!(deliveries[0]["uri"], receiver.url("/hooks"));
        assert_eq!(deliveries[0]["key"], event["key"]);
        assert_eq!(deliveries[0]["error"], Value::Null);
    }
    // Nothing waits.
    let endpoint = app.ctx.store.get_webhook(&owner).await.unwrap().unwrap();
    assert_eq!((endpoint.pending, endpoint.failures), (0, 0));
}

#[tokio::test]
async fn a_signature_under_another_secret_is_refused_and_the_try_recorded_as_failed() {
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let owner = app.alice.test();
    let receiver = Receiver::start(&some_secret(), &[]);
    set_endpoint(&app, &owner, &receiver.url("/hooks")).await;
    let deliverer = deliverer(&app, &receiver.cert_pem, true, Duration::from_secs(5));

    app.create_link(&app.alice.test_key, TestApp::link_params("x"))
        .await;
    assert!(pump.run(&deliverer).await.is_empty());

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["verified"], false);
    assert_eq!(received[0]["status"], 401);
    let id = received[0]["event_id"].as_str().unwrap();
    let event = event(&app, &app.alice.test_key, id).await;
    assert_eq!(event["webhook_deliveries"][0]["status"], 401);
    assert!(!event["webhook_deliveries"][0]["error"].is_null());
    // It waits for the endpoint's next try.
    let endpoint = app.ctx.store.get_webhook(&owner).await.unwrap().unwrap();
    assert_eq!((endpoint.pending, endpoint.failures), (1, 1));
}

#[tokio::test]
async fn during_a_rotation_both_secrets_sign_and_a_receiver_on_either_accepts() {
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let owner = app.alice.test();
    let old = set_endpoint(&app, &owner, "https://127.0.0.1:9/not-yet").await;
    let new = app
        .ctx
        .store
        .rotate_webhook_secret(
            &owner,
            shared::chrono::Utc::now(),
            &links_tests::test_sealer(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_ne!(old, new);
    // A receiver still on the old secret, and one already on the new.
    let on_old = Receiver::start(&old, &[]);
    let on_new = Receiver::start(&new, &[]);
    for receiver in [&on_old, &on_new] {
        repoint(&app, &owner, &receiver.url("/hooks")).await;
        let deliverer = deliverer(&app, &receiver.cert_pem, true, Duration::from_secs(5));
        app.create_link(&app.alice.test_key, TestApp::link_params("x"))
            .await;
        assert!(pump.run(&deliverer).await.is_empty());
        let received = receiver.wait_accepted(1, Duration::from_secs(5)).await;
        assert_eq!(received.len(), 1, "{:?}", receiver.received());
        assert_eq!(received[0]["signatures"], 2, "{received:?}");
    }
}

#[tokio::test]
async fn endpoints_that_resolve_to_non_public_addresses_are_refused_at_delivery() {
    // The endpoint was accepted when set (here: a test-only loopback), but the deployed
    // function, which allows no loopback, refuses it when it comes to send: without connecting.
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let owner = app.alice.test();
    let receiver = Receiver::start(&some_secret(), &[]);
    set_endpoint(&app, &owner, &receiver.url("/hooks")).await;
    let deployed = deliverer(&app, &receiver.cert_pem, false, Duration::from_secs(5));

    app.create_link(&app.alice.test_key, TestApp::link_params("x"))
        .await;
    assert!(pump.run(&deployed).await.is_empty());

    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
    let ids = event_ids(&app, &app.alice.test_key).await;
    let event = event(&app, &app.alice.test_key, &ids[0]).await;
    let delivery = &event["webhook_deliveries"][0];
    assert_eq!(delivery["status"], Value::Null, "{event}");
    let error = delivery["error"].as_str().unwrap();
    assert!(error.contains("refused"), "{error}");
    assert!(!error.contains(&receiver.port.to_string()) || error.contains("127.0.0.1"));
}

#[tokio::test]
async fn events_without_an_endpoint_are_kept_and_sent_nowhere() {
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let receiver = Receiver::start(&some_secret(), &[]);
    // Bob has an endpoint; alice has none.
    set_endpoint(&app, &app.bob.test(), &receiver.url("/bob")).await;
    let deliverer = deliverer(&app, &receiver.cert_pem, true, Duration::from_secs(5));

    app.create_link(&app.alice.test_key, TestApp::link_params("alice"))
        .await;
    // A live event of bob's goes to his live endpoint, which he has not set.
    app.create_link(&app.bob.live_key, TestApp::link_params("bob live"))
        .await;
    assert!(pump.run(&deliverer).await.is_empty());

    assert!(receiver.received().is_empty());
    let ids = event_ids(&app, &app.alice.test_key).await;
    assert_eq!(ids.len(), 1);
    let event = event(&app, &app.alice.test_key, &ids[0]).await;
    assert_eq!(event["webhook_deliveries"], json!([]));
}

#[tokio::test]
async fn an_endpoint_pointed_elsewhere_during_a_burst_takes_the_next_event() {
    // Arrange: three new events in one batch, for an endpoint at a server that holds its first
    // request.
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let owner = app.alice.test();
    let receiver = endpoint_with_receiver(&app, &owner, &[]).await;
    let (gate, mut requests) = tokio::sync::mpsc::unbounded_channel();
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let (port, other_cert) = canned_server(ok, false, Some(gate)).await;
    let trusted = [receiver.cert_pem.clone(), other_cert].concat();
    let deliverer = deliverer(&app, &trusted, true, Duration::from_secs(5));
    repoint(&app, &owner, &format!("https://127.0.0.1:{port}/hooks")).await;
    for title in ["one", "two", "three"] {
        app.create_link(&app.alice.test_key, TestApp::link_params(title))
            .await;
    }
    let created = event_ids(&app, &app.alice.test_key).await;
    let records = pump.reader.read().await.expect("read the stream");

    // Act: the batch; while the server holds the first event, the merchant points the endpoint
    // back at the receiver.
    let merchant = async {
        let held = requests.recv().await.expect("the batch's first try");
        repoint(&app, &owner, &receiver.url("/hooks")).await;
        held.send(()).unwrap();
    };
    let (failed, ()) = tokio::join!(pump.hand_over(&deliverer, &records), merchant);

    // Assert: the first went where it was sent; the next two to the receiver, straight out.
    assert!(failed.is_empty(), "{failed:?}");
    assert!(
        requests.try_recv().is_err(),
        "one request reached the server"
    );
    assert_eq!(ids(&receiver.accepted()), created[1..]);
    assert!(
        app.ctx
            .store
            .webhook_queue(&owner, 10)
            .await
            .unwrap()
            .1
            .is_empty()
    );
}

#[tokio::test]
async fn one_merchants_silent_endpoint_holds_up_no_other() {
    // Bob's endpoint accepts connections and never answers; alice's answers. One stream batch
    // carries bob's event first.
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    set_endpoint(
        &app,
        &app.bob.test(),
        &format!("https://127.0.0.1:{silent_port}/"),
    )
    .await;
    let receiver = endpoint_with_receiver(&app, &app.alice.test(), &[]).await;
    let timeout = Duration::from_secs(6);
    let deliverer = deliverer(&app, &receiver.cert_pem, true, timeout);

    app.create_link(&app.bob.test_key, TestApp::link_params("bob"))
        .await;
    app.create_link(&app.alice.test_key, TestApp::link_params("alice"))
        .await;
    let started = Instant::now();
    let records = pump.reader.read().await.expect("read the stream");
    let batch = pump.hand_over(&deliverer, &records);
    let watch = receiver.wait_accepted(1, timeout);
    let (failed, accepted) = tokio::join!(batch, watch);

    // Alice's event arrived while bob's try was still waiting for its answer.
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(accepted.len(), 1, "{:?}", receiver.received());
    let ids = event_ids(&app, &app.bob.test_key).await;
    let bobs = event(&app, &app.bob.test_key, &ids[0]).await;
    let error = bobs["webhook_deliveries"][0]["error"].as_str().unwrap();
    assert!(error.contains("timed out"), "{error}");
    assert!(started.elapsed() >= timeout);
    let bob = app
        .ctx
        .store
        .get_webhook(&app.bob.test())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        bob.pending, 1,
        "bob's event waits for his endpoint's next try"
    );
}
