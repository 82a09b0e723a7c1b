//! Each account's gateway, chosen by its settings, with its Omise secret key sealed under KMS
//! (moto's emulator) and opened only to charge.

use aws_sdk_dynamodb::types::AttributeValue;
use links_tests::omise::StandIn;
use links_tests::{spawn_app, test_sealer};
use serde_json::json;
use shared::chrono::{Duration as Span, Utc};
use shared::domain::charge::Status;
use shared::domain::principal::Principal;
use shared::processor::{ChargeRequest, Gateways, Payment, Processor, ProcessorError};
use shared::sealed::{Context, Secret};
use shared::store::settings::{
    Gateway, OMISE_SECRET_KEY_PURPOSE, OMISE_WEBHOOK_SECRET_PURPOSE, OmiseKeys, Settings,
    sealed_context,
};

fn context(account: &str) -> Context {
    Context {
        purpose: OMISE_SECRET_KEY_PURPOSE,
        account: account.into(),
        mode: "live",
    }
}

#[tokio::test]
async fn a_sealed_secret_opens_only_for_its_own_context_and_unaltered() {
    let sealer = test_sealer();
    let secret = Secret::new("skey_5xyzsecretvalue0000000000");
    let sealed = sealer.seal(&secret, &context("acct_a")).await.unwrap();
    assert!(
        !sealed.windows(10).any(|w| w == b"skey_5xyzs"),
        "the secret is not in the sealed bytes"
    );
    assert_eq!(
        sealer.open(&sealed, &context("acct_a")).await.unwrap(),
        secret
    );
    // Each seal is fresh: the same value sealed twice differs.
    assert_ne!(
        sealer.seal(&secret, &context("acct_a")).await.unwrap(),
        sealed
    );
    // Another account's, mode's or purpose's context does not open it.
    let mut others = vec![context("acct_b")];
    others.push(Context {
        mode: "test",
        ..context("acct_a")
    });
    others.push(Context {
        purpose: "omise-webhook-secret",
        ..context("acct_a")
    });
    for other in others {
        let refused = sealer.open(&sealed, &other).await;
        assert!(refused.is_err(), "{other:?}");
        assert!(!format!("{refused:?}").contains("skey_"));
    }
    // One byte changed anywhere: refused.
    for at in [0, 5, sealed.len() - 20, sealed.len() - 1] {
        let mut altered = sealed.clone();
        altered[at] ^= 1;
        assert!(
            sealer.open(&altered, &context("acct_a")).await.is_err(),
            "byte {at}"
        );
    }
}

async fn request_charge<'a>(
    gateways: &'a Gateways,
    owner: &'a Principal,
    payment: Payment<'a>,
    key: &'a str,
) -> Result<shared::processor::ProcessorCharge, ProcessorError> {
    let now = Utc::now();
    gateways
        .charge(ChargeRequest {
            owner,
            key,
            amount: 150_000,
            currency: "thb",
            payment,
            three_d_secure: false,
            return_uri: "https://pay.example/pay/T/complete?attempt=a1",
            payment_uri: "https://pay.example/pay/T",
            expires_at: now + Span::minutes(15),
            description: "Lunch",
            ip: None,
            link: "link_1",
            attempt: "att_1",
            now,
        })
        .await
}

#[tokio::test]
async fn each_account_and_mode_pays_through_its_own_gateway() {
    let app = spawn_app().await;
    let standin = StandIn::start();
    let gateways = Gateways::new(app.ctx.store.clone(), Some(test_sealer()), &standin.url());
    let test = Principal {
        account_id: app.alice.id.clone(),
        livemode: false,
    };
    let live = Principal {
        account_id: app.alice.id.clone(),
        livemode: true,
    };

    // Nothing set: test mode is the built-in processor (it knows no token), live takes nothing.
    let builtin = request_charge(&gateways, &test, Payment::Token("tokn_test_x"), "k0").await;
    assert!(
        matches!(&builtin, Err(ProcessorError::Refused(why)) if why.contains("built-in")),
        "{builtin:?}"
    );
    let refused = request_charge(&gateways, &live, Payment::PromptPay, "k1").await;
    assert!(
        matches!(&refused, Err(ProcessorError::Refused(why)) if why.contains("not enabled")),
        "{refused:?}"
    );

    // Omise's live keys for live mode, sealed as links-admin seals them.
    let omise = standin.account(json!({"livemode": true}));
    let sealed = test_sealer()
        .seal(
            &Secret::new(&omise.secret_key),
            &sealed_context(&live, OMISE_SECRET_KEY_PURPOSE),
        )
        .await
        .unwrap();
    let keys = OmiseKeys {
        public_key: omise.public_key.clone(),
        secret_key: sealed,
        webhook_secret: None,
    };
    app.ctx
        .store
        .set_gateway(&live, &Gateway::Omise(keys.clone()))
        .await
        .unwrap();
    let stored = app.ctx.store.settings(&live).await.unwrap();
    assert_eq!(stored.gateway, Gateway::Omise(keys));
    // The gateway chosen before is kept for CHOICE_TTL: a fresh function sees the change.
    let gateways = Gateways::new(app.ctx.store.clone(), Some(test_sealer()), &standin.url());
    let token = standin.token(&omise.public_key, "4242424242424242");
    let charge = request_charge(&gateways, &live, Payment::Token(&token), "k2")
        .await
        .unwrap();
    assert_eq!(charge.status, Status::Successful);
    assert!(
        !charge.id.contains("_test_"),
        "a live charge: {}",
        charge.id
    );
    assert_eq!(standin.charges(&omise.secret_key).len(), 1);
    // Test mode is untouched: still the built-in processor.
    let builtin = request_charge(&gateways, &test, Payment::Token(&token), "k3").await;
    assert!(matches!(builtin, Err(ProcessorError::Refused(_))));

    // Without a KMS key, a function cannot open the key: unavailable, never a guess.
    let blind = Gateways::new(app.ctx.store.clone(), None, &standin.url());
    assert!(matches!(
        request_charge(&blind, &live, Payment::PromptPay, "k4").await,
        Err(ProcessorError::Unavailable(_))
    ));
    // A sealed key moved to another account's settings does not open there.
    let bob_live = Principal {
        account_id: app.bob.id.clone(),
        livemode: true,
    };
    let Gateway::Omise(alice_keys) = app.ctx.store.settings(&live).await.unwrap().gateway else {
        panic!("alice's keys");
    };
    app.ctx
        .store
        .set_gateway(&bob_live, &Gateway::Omise(alice_keys))
        .await
        .unwrap();
    assert!(matches!(
        request_charge(&gateways, &bob_live, Payment::PromptPay, "k5").await,
        Err(ProcessorError::Unavailable(_))
    ));
    assert_eq!(standin.charges(&omise.secret_key).len(), 1);
}

#[tokio::test]
async fn settings_read_with_the_link_spare_a_second_read() {
    // A store with no table: any read of the settings fails.
    let store = shared::store::Store::new(links_tests::local_client(), "no-such-table");
    let gateways = Gateways::new(store, None, "http://127.0.0.1:9");
    let live = Principal {
        account_id: "acct_a".into(),
        livemode: true,
    };
    let unread = request_charge(&gateways, &live, Payment::PromptPay, "k").await;
    assert!(
        matches!(unread, Err(ProcessorError::Unavailable(_))),
        "{unread:?}"
    );
    // Primed with the settings the payment read with its link: no second read is made.
    gateways.settings_read(&live, &Settings::default());
    let refused = request_charge(&gateways, &live, Payment::PromptPay, "k").await;
    assert!(
        matches!(&refused, Err(ProcessorError::Refused(why)) if why.contains("not enabled")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_omise_key_read_with_the_link_is_opened_without_reading_the_settings_again() {
    let standin = StandIn::start();
    let omise = standin.account(json!({"livemode": true}));
    let live = Principal {
        account_id: "acct_a".into(),
        livemode: true,
    };
    let sealed = test_sealer()
        .seal(
            &Secret::new(&omise.secret_key),
            &sealed_context(&live, OMISE_SECRET_KEY_PURPOSE),
        )
        .await
        .unwrap();
    // A store with no table: the settings could not be read again even if asked.
    let store = shared::store::Store::new(links_tests::local_client(), "no-such-table");
    let gateways = Gateways::new(store, Some(test_sealer()), &standin.url());
    let settings = Settings {
        three_d_secure: false,
        gateway: Gateway::Omise(OmiseKeys {
            public_key: omise.public_key.clone(),
            secret_key: sealed,
            webhook_secret: None,
        }),
        ..Settings::default()
    };
    gateways.settings_read(&live, &settings);
    let token = standin.token(&omise.public_key, "4242424242424242");
    let charge = request_charge(&gateways, &live, Payment::Token(&token), "k")
        .await
        .unwrap();
    assert_eq!(charge.status, Status::Successful);
}

#[tokio::test]
async fn a_full_settings_item_stays_within_one_read_unit() {
    // Arrange: every setting an account can have, at its largest: Omise's keys with a webhook
    // secret, both sealed; 3-D Secure; and a zone with summer time, its offsets stored.
    let app = spawn_app().await;
    let live = app.alice.live();
    let seal = |value: &str, purpose| {
        let context = sealed_context(&live, purpose);
        let value = Secret::new(value);
        async move { test_sealer().seal(&value, &context).await.unwrap() }
    };
    let keys = OmiseKeys {
        public_key: format!("pkey_{}", "5".repeat(60)),
        secret_key: seal(
            &format!("skey_{}", "5".repeat(60)),
            OMISE_SECRET_KEY_PURPOSE,
        )
        .await,
        webhook_secret: Some(seal(&"w".repeat(64), OMISE_WEBHOOK_SECRET_PURPOSE).await),
    };
    let store = &app.ctx.store;
    store
        .set_gateway(&live, &Gateway::Omise(keys))
        .await
        .unwrap();
    store.set_three_d_secure(&live, true).await.unwrap();
    let zone = tools::time_zones::time_zone("America/New_York", Utc::now()).unwrap();
    store.set_time_zone(&live, &zone).await.unwrap();

    // Act: the item as DynamoDB holds it, and as the page reads it.
    let item = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(
            "pk",
            AttributeValue::S(format!("ACCT#{}#live", live.account_id)),
        )
        .key("sk", AttributeValue::S("SETTINGS".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let settings = store.settings(&live).await.unwrap();

    // Assert: DynamoDB's item size (names and values; numbers at most 21 bytes) is under the
    // 4 KB an eventually consistent read unit covers, with room to spare; and the zone reads
    // back whole.
    let size: usize = item
        .iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::B(b) => b.as_ref().len(),
                    AttributeValue::N(_) => 21,
                    AttributeValue::Bool(_) => 1,
                    other => panic!("an attribute of an unexpected type: {other:?}"),
                }
        })
        .sum();
    assert!(size < 3 * 1024, "{size} bytes: {item:?}");
    assert_eq!(settings.time_zone, zone);
    assert!(settings.three_d_secure);
}
