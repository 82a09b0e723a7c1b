//! Signing secrets at rest: sealed under the KMS key in the table and its stream, opened once per
//! instance by the delivery function, bound to their owner, and endpoints set before sealing
//! kept working and sealed in place.

use super::*;
use aws_sdk_dynamodb::types::AttributeValue;

/// The raw endpoint item of `owner`.
async fn endpoint_item(app: &TestApp, owner: &Principal) -> links_tests::Item {
    let mode = if owner.livemode { "live" } else { "test" };
    let pk = format!("HOOK#{}#{mode}", owner.account_id);
    app.items_where("pk", &pk)
        .await
        .into_iter()
        .find(|item| item["sk"] == AttributeValue::S("HOOK".into()))
        .expect("the endpoint item")
}

#[tokio::test]
async fn secrets_are_sealed_in_the_table_and_its_stream_and_opened_once_to_sign() {
    // Arrange: an endpoint, set as the admin tool sets it, with a receiver on its secret.
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let owner = app.alice.live();
    let secret = set_endpoint(&app, &owner, "https://127.0.0.1:9/not-yet").await;
    let receiver = Receiver::start(&secret, &[]);
    repoint(&app, &owner, &receiver.url("/hooks")).await;

    // Assert: what the table and its stream hold is sealed, and the secret is in neither.
    let item = endpoint_item(&app, &owner).await;
    assert!(matches!(item["secret"], AttributeValue::B(_)), "{item:?}");
    assert!(!format!("{:?}", app.table_items().await).contains(&secret));
    let records = pump.reader.read().await.expect("read the stream");
    let written: Vec<&Value> = records
        .iter()
        .filter(|r| r["dynamodb"]["Keys"]["sk"]["S"] == "HOOK")
        .collect();
    assert_eq!(written.len(), 2, "set, then repointed");
    for record in &written {
        assert!(
            record["dynamodb"]["NewImage"]["secret"]["B"].is_string(),
            "{record}"
        );
    }
    assert!(!serde_json::to_string(&records).unwrap().contains(&secret));
    assert!(
        app.ctx
            .store
            .get_webhook(&owner)
            .await
            .unwrap()
            .unwrap()
            .sealed(),
        "the endpoint says it is sealed"
    );

    // Act: three live events, delivered by one instance.
    let deliverer = deliverer(&app, &receiver.cert_pem, true, Duration::from_secs(5));
    for title in ["หนึ่ง", "สอง", "สาม"] {
        app.create_link(&app.alice.live_key, TestApp::link_params(title))
            .await;
    }
    assert!(pump.run(&deliverer).await.is_empty());

    // Assert: each verified by the receiver under the secret the operator was shown, and the
    // secret opened once for the three.
    let received = receiver.wait_accepted(3, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 3, "{:?}", receiver.received());
    assert!(
        received.iter().all(|r| r["verified"] == true),
        "{received:?}"
    );
    assert_eq!(deliverer.signing_keys.opened(), 1);
}

#[tokio::test]
async fn an_endpoint_set_before_sealing_still_signs_and_seal_keeps_its_secret() {
    // Arrange: an endpoint whose secret is a string, as stored before sealing.
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let owner = app.alice.test();
    let secret = some_secret();
    let receiver = Receiver::start(&secret, &[]);
    set_endpoint(&app, &owner, &receiver.url("/hooks")).await;
    set_endpoint_attribute(&app, &owner, "secret", AttributeValue::S(secret.clone())).await;
    let deliverer = deliverer(&app, &receiver.cert_pem, true, Duration::from_secs(5));
    assert!(
        !app.ctx
            .store
            .get_webhook(&owner)
            .await
            .unwrap()
            .unwrap()
            .sealed()
    );
    app.create_link(&app.alice.test_key, TestApp::link_params("ก่อน"))
        .await;
    assert!(pump.run(&deliverer).await.is_empty());

    // Act: the operator seals it (twice: the second finds nothing to do).
    let sealer = links_tests::test_sealer();
    let now = shared::chrono::Utc::now();
    let first = app
        .ctx
        .store
        .seal_webhook_secrets(&owner, now, &sealer)
        .await;
    let again = app
        .ctx
        .store
        .seal_webhook_secrets(&owner, now, &sealer)
        .await;
    app.create_link(&app.alice.test_key, TestApp::link_params("หลัง"))
        .await;
    assert!(pump.run(&deliverer).await.is_empty());

    // Assert: sealed, out of the table in clear, and the same secret signs before and after.
    assert_eq!((first.unwrap(), again.unwrap()), (Some(true), Some(false)));
    assert!(matches!(
        endpoint_item(&app, &owner).await["secret"],
        AttributeValue::B(_)
    ));
    assert!(!format!("{:?}", app.table_items().await).contains(&secret));
    let received = receiver.wait_accepted(2, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 2, "{:?}", receiver.received());
    assert!(
        received.iter().all(|r| r["verified"] == true),
        "{received:?}"
    );
}

#[tokio::test]
async fn a_sealed_secret_copied_onto_another_accounts_endpoint_does_not_open() {
    // Arrange: Bob's endpoint given Alice's sealed secret, by someone who can write the table
    // but not decrypt.
    let app = app().await;
    let mut pump = Pump::open(&app).await;
    let (alice, bob) = (app.alice.test(), app.bob.test());
    let alices = set_endpoint(&app, &alice, "https://127.0.0.1:9/alice").await;
    let receiver = Receiver::start(&alices, &[]);
    set_endpoint(&app, &bob, &receiver.url("/hooks")).await;
    let sealed = endpoint_item(&app, &alice).await["secret"].clone();
    set_endpoint_attribute(&app, &bob, "secret", sealed).await;
    let deliverer = deliverer(&app, &receiver.cert_pem, true, Duration::from_secs(5));
    pump.reader.read().await.expect("read the stream");

    // Act
    app.create_link(&app.bob.test_key, TestApp::link_params("x"))
        .await;
    let failed = pump.run(&deliverer).await;

    // Assert: nothing is signed with it; the event is handed back to the stream to retry (it
    // is not lost) and nothing reached the receiver.
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
    assert_eq!(deliverer.signing_keys.opened(), 0);
}
