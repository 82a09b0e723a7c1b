//! Endpoints that fail: the queue, the schedule, at least once and in order, and sweeps that
//! race.

use super::*;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// Alice's endpoint at a new receiver (started with `options`, and down if `down`), the stream's
/// pump, and the delivery function's handler over the app's table.
async fn scene(
    options: &[&str],
    down: bool,
) -> (
    TestApp,
    Pump,
    Principal,
    Receiver,
    deliver_webhooks::Deliverer,
) {
    let app = app().await;
    let pump = Pump::open(&app).await;
    let owner = app.alice.test();
    let receiver = endpoint_with_receiver(&app, &owner, options).await;
    if down {
        std::fs::write(receiver.outage_file(), b"").unwrap();
    }
    let deliverer = deliverer(&app, &receiver.cert_pem, true, Duration::from_secs(5));
    (app, pump, owner, receiver, deliverer)
}

/// Creates `n` links of alice's (in test mode) and returns their events' ids, oldest first.
async fn some_events(app: &TestApp, n: usize) -> Vec<String> {
    for i in 0..n {
        app.create_link(
            &app.alice.test_key,
            TestApp::link_params(&format!("link {i}")),
        )
        .await;
    }
    let ids = event_ids(app, &app.alice.test_key).await;
    assert_eq!(ids.len(), n);
    ids
}

#[tokio::test]
async fn a_receiver_failing_its_first_tries_still_gets_every_event_once_in_order() {
    // Arrange: the receiver answers 503 to its first three requests.
    let (app, mut pump, owner, receiver, deliverer) = scene(&["--fail-first", "3"], false).await;
    let created = some_events(&app, 5).await;

    // Act: the stream's batch (the first try fails, so all five wait), then the schedule.
    assert!(pump.run(&deliverer).await.is_empty());
    let waiting = app.ctx.store.get_webhook(&owner).await.unwrap().unwrap();
    assert_eq!((waiting.pending, waiting.failures), (5, 1));
    let accepted = sweep_until(&deliverer, &receiver, 5, Duration::from_secs(30)).await;

    // Assert: each event once, in the order they happened; the oldest carries every try.
    assert_eq!(ids(&accepted), created);
    assert!(accepted.iter().all(|r| r["verified"] == true));
    let first = event(&app, &app.alice.test_key, &created[0]).await;
    let statuses: Vec<&Value> = first["webhook_deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["status"])
        .collect();
    assert_eq!(statuses, [503, 503, 503, 200]);
    for id in &created[1..] {
        let later = event(&app, &app.alice.test_key, id).await;
        assert_eq!(later["webhook_deliveries"].as_array().unwrap().len(), 1);
    }
    // The tries kept to the schedule: never sooner than 1, 2 then 4 scaled minutes apart, less
    // the slack that lets the tick a delay later take them (later is allowed: a sweep comes when
    // it comes).
    let received = receiver.received();
    let at: Vec<f64> = received[..4]
        .iter()
        .map(|r| r["received_at"].as_f64().unwrap())
        .collect();
    for (gap, minutes) in at.windows(2).map(|w| w[1] - w[0]).zip([1.0, 2.0, 4.0]) {
        let scheduled = minutes * 60.0 * SCALE;
        let slack = 60.0 * SCALE / 12.0;
        assert!(
            gap >= scheduled - slack,
            "{gap} s apart, scheduled {scheduled} s less {slack} s"
        );
    }
    // Nothing waits, and the endpoint's next try is gone.
    let done = app.ctx.store.get_webhook(&owner).await.unwrap().unwrap();
    assert_eq!((done.pending, done.failures), (0, 0));
    assert!(app.items_where("pk", "HOOKDUE#").await.is_empty());
    let queue = app.ctx.store.webhook_queue(&owner, 10).await.unwrap().1;
    assert!(queue.is_empty());
}

#[tokio::test]
async fn new_events_wait_behind_older_ones_until_the_receiver_is_back() {
    let (app, mut pump, _, receiver, deliverer) = scene(&[], true).await;

    // Down: the first event fails and waits; the next ones queue behind it, untried.
    some_events(&app, 2).await;
    assert!(pump.run(&deliverer).await.is_empty());
    app.create_link(&app.alice.test_key, TestApp::link_params("during"))
        .await;
    assert!(pump.run(&deliverer).await.is_empty());
    let created = event_ids(&app, &app.alice.test_key).await;
    assert_eq!(receiver.received().len(), 1, "only the oldest was tried");

    // Back: the next sweep that is due sends all three, oldest first.
    std::fs::remove_file(receiver.outage_file()).unwrap();
    let accepted = sweep_until(&deliverer, &receiver, 3, Duration::from_secs(20)).await;
    assert_eq!(ids(&accepted), created);
}

#[tokio::test]
async fn racing_sweeps_send_each_waiting_event_exactly_once() {
    // Arrange: 20 events wait behind a failed first try.
    let (app, mut pump, _, receiver, deliverer) = scene(&["--fail-first", "1"], false).await;
    let created = some_events(&app, 20).await;
    assert!(pump.run(&deliverer).await.is_empty());
    assert_eq!(receiver.received().len(), 1);

    // Act: once the next try is due, 16 sweeps start at once, and again, until all arrive.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = Instant::now();
    while receiver.accepted().len() < 20 && started.elapsed() < Duration::from_secs(30) {
        let sweeps = (0..16).map(|_| sweep(&deliverer));
        let swept = futures_util::future::join_all(sweeps).await;
        let working: u64 = swept.iter().map(|s| s["endpoints"].as_u64().unwrap()).sum();
        assert!(
            working <= 1,
            "one sweep at a time holds an endpoint: {swept:?}"
        );
    }

    // Assert: each exactly once, in order.
    let accepted = receiver.accepted();
    assert_eq!(ids(&accepted), created);
    let mut times: HashMap<String, usize> = HashMap::new();
    for id in ids(&receiver.received()) {
        *times.entry(id).or_default() += 1;
    }
    assert_eq!(
        times[&created[0]], 2,
        "the first: one failed try, one success"
    );
    assert!(created[1..].iter().all(|id| times[id] == 1), "{times:?}");
}

#[tokio::test]
async fn a_sweep_that_outlived_its_lease_leaves_the_endpoint_to_the_sweep_that_holds_it() {
    // Arrange: one event waits; sweep A's lease runs out and sweep B takes the endpoint.
    let (app, mut pump, owner, _receiver, deliverer) = scene(&[], true).await;
    some_events(&app, 1).await;
    assert!(pump.run(&deliverer).await.is_empty());
    let store = &app.ctx.store;
    let t0 = chrono::Utc::now() + chrono::Duration::hours(1);
    let seconds = chrono::Duration::seconds;
    let a = store
        .lease_webhook(&owner, t0, t0 + seconds(1))
        .await
        .unwrap();
    let a = a.expect("A leases the due endpoint");
    let b_until = t0 + seconds(60);
    let b = store.lease_webhook(&owner, t0 + seconds(2), b_until).await;
    let b = b.unwrap().expect("B leases it once A's lease has run out");
    let next_try = || async {
        let due = app.items_where("pk", "HOOKDUE#").await;
        assert_eq!(due.len(), 1);
        let n = |name: &str| due[0].get(name).map(|v| v.as_n().unwrap().clone());
        (n("due"), n("lease"))
    };
    let held = next_try().await;
    assert_eq!(held.1, Some(b_until.timestamp_millis().to_string()));

    // Act: A, late, reports a failure, releases, and finishes.
    let far = t0 + chrono::Duration::days(1);
    store.delay_webhook(&owner, a, 9, far).await.unwrap();
    store.release_webhook(&owner, a, far).await.unwrap();
    let pending = store.get_webhook(&owner).await.unwrap().unwrap().pending;
    store
        .finish_webhook(&owner, a, Some(pending), far)
        .await
        .unwrap();

    // Assert: nothing of A's landed; B's lease, due time and count stand, and B can write.
    assert_eq!(next_try().await, held);
    let endpoint = store.get_webhook(&owner).await.unwrap().unwrap();
    assert_eq!((endpoint.pending, endpoint.failures), (1, 1));
    store.delay_webhook(&owner, b, 2, far).await.unwrap();
    let endpoint = store.get_webhook(&owner).await.unwrap().unwrap();
    assert_eq!(endpoint.failures, 2);
    assert_eq!(
        next_try().await,
        (Some(far.timestamp_millis().to_string()), None)
    );
}

#[tokio::test]
async fn an_endpoint_pointed_elsewhere_mid_sweep_takes_the_very_next_try() {
    // Arrange: three events wait for an endpoint whose receiver was down; the merchant points
    // it at another server, which holds its first request.
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let owner = app.alice.test();
    let receiver = endpoint_with_receiver(&app, &owner, &[]).await;
    std::fs::write(receiver.outage_file(), b"").unwrap();
    let (gate, mut requests) = tokio::sync::mpsc::unbounded_channel();
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let (port, other_cert) = canned_server(ok, false, Some(gate)).await;
    let trusted = [receiver.cert_pem.clone(), other_cert].concat();
    // A schedule so fast that the next try is due at once.
    let deliverer = deliverer_at(&app, &trusted, true, Duration::from_secs(5), 1e-4);
    let created = some_events(&app, 3).await;
    assert!(pump.run(&deliverer).await.is_empty());
    std::fs::remove_file(receiver.outage_file()).unwrap();
    repoint(&app, &owner, &format!("https://127.0.0.1:{port}/hooks")).await;
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Act: a sweep; while the other server holds the oldest event, the merchant points the
    // endpoint back at the receiver.
    let merchant = async {
        let held = requests.recv().await.expect("the sweep's first try");
        repoint(&app, &owner, &receiver.url("/hooks")).await;
        held.send(()).unwrap();
    };
    let (swept, ()) = tokio::join!(sweep(&deliverer), merchant);

    // Assert: the oldest went to the server it was sent to; the other two to the receiver.
    assert_eq!(swept["delivered"], 3, "{swept}");
    assert!(
        requests.try_recv().is_err(),
        "one request reached the other server"
    );
    assert_eq!(ids(&receiver.accepted()), created[1..]);
}

#[tokio::test]
async fn a_stream_batch_handed_over_twice_queues_each_event_once() {
    // The mapping retries a batch when the function fails part-way, so records come again.
    let (app, mut pump, owner, receiver, deliverer) = scene(&[], true).await;
    let created = some_events(&app, 3).await;

    let records = pump.reader.read().await.expect("read the stream");
    assert!(pump.hand_over(&deliverer, &records).await.is_empty());
    assert!(pump.hand_over(&deliverer, &records).await.is_empty());

    let endpoint = app.ctx.store.get_webhook(&owner).await.unwrap().unwrap();
    assert_eq!(endpoint.pending, 3);
    let queue = app.ctx.store.webhook_queue(&owner, 10).await.unwrap().1;
    let queued: Vec<String> = queue.iter().map(|w| w.event_id.clone()).collect();
    assert_eq!(queued, created);

    std::fs::remove_file(receiver.outage_file()).unwrap();
    let accepted = sweep_until(&deliverer, &receiver, 3, Duration::from_secs(20)).await;
    assert_eq!(ids(&accepted), created);
}

#[tokio::test]
async fn removing_an_endpoint_drops_what_waits_for_it_and_keeps_the_events() {
    let (app, mut pump, owner, receiver, deliverer) = scene(&[], true).await;
    let created = some_events(&app, 2).await;
    assert!(pump.run(&deliverer).await.is_empty());

    assert!(app.ctx.store.remove_webhook(&owner).await.unwrap());

    assert!(app.items_where("pk", "HOOK").await.is_empty());
    assert_eq!(event_ids(&app, &app.alice.test_key).await, created);
    std::fs::remove_file(receiver.outage_file()).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(sweep(&deliverer).await["endpoints"], 0);
    assert_eq!(receiver.received().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn a_removal_interrupted_after_the_endpoint_went_is_finished_by_the_next_sweep() {
    let (app, mut pump, owner, receiver, deliverer) = scene(&[], true).await;
    some_events(&app, 3).await;
    assert!(pump.run(&deliverer).await.is_empty());
    assert_eq!(
        app.ctx
            .store
            .webhook_queue(&owner, 10)
            .await
            .unwrap()
            .1
            .len(),
        3
    );

    // The removal's first step only: the endpoint item is gone, its queue and next try are not.
    let endpoint_key = format!("HOOK#{}#test", owner.account_id);
    app.ctx
        .store
        .client()
        .delete_item()
        .table_name(app.ctx.store.table())
        .key("pk", AttributeValue::S(endpoint_key))
        .key("sk", AttributeValue::S("HOOK".into()))
        .send()
        .await
        .unwrap();
    std::fs::remove_file(receiver.outage_file()).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let swept = sweep(&deliverer).await;

    assert_eq!(swept["endpoints"], 1, "{swept}");
    assert!(app.items_where("pk", "HOOK").await.is_empty());
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing sent to a removed endpoint"
    );
}

/// Sets `owner`'s endpoint's count of waiting events to `pending`, as a drift would.
async fn set_pending(app: &TestApp, owner: &Principal, pending: i64) {
    set_endpoint_attribute(
        app,
        owner,
        "pending",
        AttributeValue::N(pending.to_string()),
    )
    .await;
}

#[tokio::test]
async fn a_count_that_drifted_from_its_queue_neither_blocks_nor_breaks_the_endpoint() {
    let (app, mut pump, owner, receiver, deliverer) = scene(&[], true).await;
    let created = some_events(&app, 2).await;
    assert!(pump.run(&deliverer).await.is_empty());

    // Counted higher than the queue (a removal interrupted half-way, say): the sweep that
    // empties the queue sets it back to 0 and the endpoint's next try goes.
    set_pending(&app, &owner, 7).await;
    std::fs::remove_file(receiver.outage_file()).unwrap();
    let accepted = sweep_until(&deliverer, &receiver, 2, Duration::from_secs(20)).await;
    assert_eq!(ids(&accepted), created);
    tokio::time::sleep(Duration::from_millis(200)).await;
    sweep(&deliverer).await;
    let endpoint = app.ctx.store.get_webhook(&owner).await.unwrap().unwrap();
    assert_eq!(endpoint.pending, 0);
    assert!(app.items_where("pk", "HOOKDUE#").await.is_empty());

    // Counted below zero: the endpoint still reads, and a new event goes straight out.
    set_pending(&app, &owner, -1).await;
    app.create_link(&app.alice.test_key, TestApp::link_params("after"))
        .await;
    assert!(pump.run(&deliverer).await.is_empty());
    assert_eq!(receiver.accepted().len(), 3);
}
