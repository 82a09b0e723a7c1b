//! The Omise adapter against the stand-in: what each answer becomes, and what each fault leaves
//! (exactly one charge at Omise, or none, and an answer that says which or that it is unknown).

use links_tests::omise::{OmiseAccount, StandIn};
use serde_json::json;
use shared::chrono::{Duration as Span, Utc};
use shared::domain::charge::Status;
use shared::domain::principal::Principal;
use shared::processor::{
    ChargeRequest, OmiseApi, OmiseProcessor, Payment, Processor, ProcessorCharge, ProcessorError,
    ScannableCode,
};
use std::time::Duration;

fn owner(livemode: bool) -> Principal {
    Principal {
        account_id: "acct_omise".into(),
        livemode,
    }
}

struct Setup {
    standin: StandIn,
    api: OmiseApi,
    account: OmiseAccount,
}

fn setup(spec: serde_json::Value) -> Setup {
    let standin = StandIn::start();
    let account = standin.account(spec);
    // Short, so that a hang is a timeout within the test's patience.
    let api = OmiseApi::new(&standin.url(), Duration::from_secs(2)).unwrap();
    Setup {
        standin,
        api,
        account,
    }
}

impl Setup {
    fn omise(&self) -> OmiseProcessor<'_> {
        OmiseProcessor::new(&self.api, &self.account.secret_key)
    }

    async fn charge(
        &self,
        payment: Payment<'_>,
        key: &str,
    ) -> Result<ProcessorCharge, ProcessorError> {
        let owner = owner(false);
        let now = Utc::now();
        self.omise()
            .charge(ChargeRequest {
                owner: &owner,
                key,
                amount: 150_000,
                currency: "thb",
                payment,
                three_d_secure: false,
                return_uri: "https://pay.example/pay/T/complete?attempt=a1",
                payment_uri: "https://pay.example/pay/T",
                expires_at: now + Span::minutes(15),
                description: "ข้าวมันไก่\n\nLunch",
                ip: Some("203.0.113.9"),
                link: "link_test_1",
                attempt: "att_1",
                now,
            })
            .await
    }

    fn at_omise(&self) -> Vec<serde_json::Value> {
        self.standin.charges(&self.account.secret_key)
    }
}

fn unavailable<T: std::fmt::Debug>(answer: &Result<T, ProcessorError>) -> bool {
    matches!(answer, Err(ProcessorError::Unavailable(_)))
}

#[tokio::test]
async fn a_tokenized_card_is_charged_with_the_attempts_metadata_and_checked() {
    let s = setup(json!({}));
    let token = s.standin.token(&s.account.public_key, "4242424242424242");
    let charge = s.charge(Payment::Token(&token), "key_1").await.unwrap();
    assert_eq!(charge.status, Status::Successful);
    charge
        .check("key_1", "link_test_1", "att_1", 150_000, "thb")
        .unwrap();
    assert!(
        charge
            .check("key_1", "link_test_2", "att_1", 150_000, "thb")
            .is_err()
    );
    let card = charge.card.as_ref().unwrap();
    assert_eq!(
        (card.brand.as_str(), card.last_digits.as_str()),
        ("Visa", "4242")
    );
    assert!(charge.transaction.is_some());
    // What Omise got: the description in Thai, exactly, the buyer's address, captured at once.
    let stored = &s.at_omise()[0];
    assert_eq!(stored["description"], "ข้าวมันไก่\n\nLunch");
    assert_eq!(
        (stored["ip"].clone(), stored["capture"].clone()),
        (json!("203.0.113.9"), json!(true))
    );
    assert_eq!(
        stored["metadata"],
        json!({"link": "link_test_1", "attempt": "att_1", "attempt_key": "key_1"})
    );
    // Found again by its key, and read again by its id.
    let found = s
        .omise()
        .find(&owner(false), "key_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, charge);
    let read = s
        .omise()
        .retrieve(&owner(false), &charge.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, charge);
    assert!(
        s.omise()
            .find(&owner(false), "key_2")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.omise()
            .retrieve(&owner(false), "chrg_test_none")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_declined_card_is_failed_with_omises_code() {
    let s = setup(json!({}));
    let token = s.standin.token(&s.account.public_key, "4111111111140011");
    let charge = s.charge(Payment::Token(&token), "key_1").await.unwrap();
    assert_eq!(
        (charge.status, charge.failure.as_deref()),
        (Status::Failed, Some("insufficient_fund"))
    );
    // A token is used once: Omise refuses it again, and nothing more is charged.
    let again = s.charge(Payment::Token(&token), "key_2").await;
    assert!(
        matches!(&again, Err(ProcessorError::Refused(why)) if why.starts_with("used_token")),
        "{again:?}"
    );
    assert_eq!(s.at_omise().len(), 1);
}

#[tokio::test]
async fn a_card_number_is_never_sent_and_a_key_of_the_other_mode_is_never_used() {
    let s = setup(json!({}));
    let card = shared::domain::card::CardDetails {
        name: "x".into(),
        number: "4242424242424242".into(),
        brand: shared::domain::card::Brand::Visa,
        expiration_month: 12,
        expiration_year: 2031,
        security_code: "123".into(),
    };
    assert!(matches!(
        s.charge(Payment::Card(&card), "key_1").await,
        Err(ProcessorError::Refused(_))
    ));
    // A test key for a live link: refused before Omise is asked.
    let live = s.omise().find(&owner(true), "key_1").await;
    assert!(matches!(live, Err(ProcessorError::Refused(_))));
    assert!(
        s.standin
            .received()
            .iter()
            .all(|r| !r["body"].as_str().unwrap().contains("4242424242424242"))
    );
    assert!(s.at_omise().is_empty());
}

#[tokio::test]
async fn three_d_secure_is_pending_at_the_bank_then_read_again() {
    let s = setup(json!({"three_d_secure": true}));
    let token = s.standin.token(&s.account.public_key, "4242424242424242");
    let charge = s.charge(Payment::Token(&token), "key_1").await.unwrap();
    assert_eq!(charge.status, Status::Pending);
    let bank = charge.authorize_uri.clone().unwrap();
    assert!(bank.starts_with(&s.standin.url()), "{bank}");
    // The buyer passes at the bank; the stand-in sends them back to the return URI.
    let path = bank.trim_start_matches(&s.standin.url()).to_owned();
    let (status, _) = s.standin.request(
        "POST",
        &path,
        None,
        "application/x-www-form-urlencoded",
        "result=pass",
    );
    assert_eq!(status, 303);
    let read = s
        .omise()
        .retrieve(&owner(false), &charge.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.status, Status::Successful);
    // Expiring it now answers it as it ended.
    let expired = s
        .omise()
        .expire(&owner(false), &charge.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(expired.status, Status::Successful);
}

#[tokio::test]
async fn promptpay_waits_then_is_paid_or_expired() {
    let s = setup(json!({}));
    let charge = s.charge(Payment::PromptPay, "key_1").await.unwrap();
    assert_eq!(charge.status, Status::Pending);
    let source = charge.source.clone().unwrap();
    assert_eq!(source.kind, "promptpay");
    assert!(source.download_uri.starts_with(&s.standin.url()));
    let paid = s
        .omise()
        .mark(&owner(false), &charge.id, true, Utc::now())
        .await
        .unwrap();
    assert_eq!(paid.status, Status::Successful);
    let other = s.charge(Payment::PromptPay, "key_2").await.unwrap();
    let expired = s
        .omise()
        .expire(&owner(false), &other.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(expired.status, Status::Expired);
}

#[tokio::test]
async fn a_promptpay_qr_image_is_fetched_with_the_key_from_the_charges_documents_only() {
    let s = setup(json!({}));
    let charge = s.charge(Payment::PromptPay, "key_1").await.unwrap();
    let source = charge.source.clone().unwrap();

    // Fetched with the account's key, and redrawn: the stand-in's script and text are gone.
    let code = s.omise().scannable_code(&owner(false), &source).await;
    let Ok(Some(ScannableCode::Image(image))) = code else {
        panic!("{code:?}");
    };
    let image = String::from_utf8(image).unwrap();
    assert!(
        image.contains("<script>") && image.contains("STAND-IN"),
        "{image}"
    );
    let shown = shared::page::qr::scannable(&ScannableCode::Image(image.into()), "QR").unwrap();
    assert_eq!(
        links_tests::qr::decode(&shown),
        "STAND-IN PROMPTPAY: NOT A PAYMENT",
        "the redrawn code reads as Omise's: {shown}"
    );
    assert!(
        !shown.contains("script") && !shown.contains("STAND-IN"),
        "{shown}"
    );

    // Anywhere but the charge's documents at this API, the key is not sent at all.
    let api_calls = || {
        s.standin
            .received()
            .iter()
            .filter(|r| !r["path"].as_str().unwrap().starts_with("/__standin"))
            .count()
    };
    let asked = api_calls();
    for elsewhere in [
        "https://elsewhere.example/charges/chrg_1/documents/docu_1/downloads/AB".to_owned(),
        format!("{}/charges/{}/refunds", s.standin.url(), charge.id),
        format!(
            "{}/charges/{}/documents/../../x/downloads/AB",
            s.standin.url(),
            charge.id
        ),
    ] {
        let mut other = source.clone();
        other.download_uri = elsewhere.clone();
        let answer = s.omise().scannable_code(&owner(false), &other).await;
        assert!(
            matches!(answer, Err(ProcessorError::Refused(_))),
            "{elsewhere}: {answer:?}"
        );
    }
    assert_eq!(api_calls(), asked, "nothing was asked of the stand-in");

    // Another Omise account's key does not fetch it.
    let stranger = s.standin.account(json!({}));
    let theirs = OmiseProcessor::new(&s.api, &stranger.secret_key)
        .scannable_code(&owner(false), &source)
        .await;
    assert!(theirs.is_err(), "{theirs:?}");
}

#[tokio::test]
async fn refunds_are_made_once_under_their_key_and_found_by_it() {
    let s = setup(json!({}));
    let token = s.standin.token(&s.account.public_key, "4242424242424242");
    let charge = s.charge(Payment::Token(&token), "key_1").await.unwrap();
    let o = owner(false);
    let refund = s
        .omise()
        .refund(&o, &charge.id, "rfnd_key_1", 50_000, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        (refund.amount, refund.key.as_str(), refund.charge.as_str()),
        (50_000, "rfnd_key_1", charge.id.as_str())
    );
    assert_eq!(
        s.omise()
            .find_refund(&o, &charge.id, "rfnd_key_1")
            .await
            .unwrap(),
        Some(refund)
    );
    assert!(
        s.omise()
            .find_refund(&o, &charge.id, "rfnd_key_2")
            .await
            .unwrap()
            .is_none()
    );
    // More than is left: Omise refuses, nothing is refunded.
    let over = s
        .omise()
        .refund(&o, &charge.id, "rfnd_key_2", 100_001, Utc::now())
        .await;
    assert!(matches!(over, Err(ProcessorError::Refused(_))), "{over:?}");
    // A captured charge undone: the rest refunded in full, once, however often asked.
    let undone = s.omise().reverse(&o, &charge.id).await.unwrap();
    assert_eq!(undone.status, Status::Reversed);
    let again = s.omise().reverse(&o, &charge.id).await.unwrap();
    assert_eq!(again.status, Status::Reversed);
    let stored = &s.at_omise()[0];
    assert_eq!(
        (
            stored["refunded_amount"].clone(),
            stored["refunds"]["total"].clone()
        ),
        (json!(150_000), json!(2))
    );
}

#[tokio::test]
async fn a_charge_whose_answer_was_lost_is_found_and_never_made_twice() {
    for fault in ["lost_timeout", "lost_500", "lost_reset"] {
        let s = setup(json!({}));
        let token = s.standin.token(&s.account.public_key, "4242424242424242");
        s.standin.arm("POST /charges", fault, 5.0);
        let lost = s.charge(Payment::Token(&token), "key_1").await;
        assert!(unavailable(&lost), "{fault}: {lost:?}");
        // Made once at Omise, and found by the attempt's key.
        assert_eq!(s.at_omise().len(), 1, "{fault}");
        let found = s
            .omise()
            .find(&owner(false), "key_1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.status, Status::Successful, "{fault}");
        found
            .check("key_1", "link_test_1", "att_1", 150_000, "thb")
            .unwrap();
    }
}

#[tokio::test]
async fn a_charge_omise_never_made_is_not_found() {
    for fault in ["timeout", "error_500"] {
        let s = setup(json!({}));
        let token = s.standin.token(&s.account.public_key, "4242424242424242");
        s.standin.arm("POST /charges", fault, 5.0);
        let answer = s.charge(Payment::Token(&token), "key_1").await;
        assert!(unavailable(&answer), "{fault}: {answer:?}");
        assert!(s.at_omise().is_empty(), "{fault}");
        assert!(
            s.omise()
                .find(&owner(false), "key_1")
                .await
                .unwrap()
                .is_none(),
            "{fault}"
        );
    }
}

#[tokio::test]
async fn a_read_is_tried_twice_and_a_write_once() {
    let s = setup(json!({}));
    let token = s.standin.token(&s.account.public_key, "4242424242424242");
    let charge = s.charge(Payment::Token(&token), "key_1").await.unwrap();
    // One 5xx on a read: asked again, answered.
    s.standin.arm("GET /charges/*", "error_500", 0.0);
    let read = s.omise().retrieve(&owner(false), &charge.id).await.unwrap();
    assert_eq!(read.map(|c| c.status), Some(Status::Successful));
    // Two: unavailable, never "not found".
    s.standin.arm("GET /charges/*", "error_500", 0.0);
    s.standin.arm("GET /charges/*", "error_500", 0.0);
    assert!(unavailable(
        &s.omise().retrieve(&owner(false), &charge.id).await
    ));
    // A refund that failed with a 5xx is not sent again by the adapter.
    s.standin.arm("POST /charges/*/refunds", "error_500", 0.0);
    let refund = s
        .omise()
        .refund(&owner(false), &charge.id, "rk", 1_000, Utc::now())
        .await;
    assert!(unavailable(&refund));
    let posts = s
        .standin
        .received()
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().unwrap().ends_with("/refunds"))
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn errors_never_carry_the_secret_key() {
    let s = setup(json!({}));
    let wrong = format!("{}x", s.account.secret_key);
    let omise = OmiseProcessor::new(&s.api, &wrong);
    let answer = omise.retrieve(&owner(false), "chrg_test_1").await;
    let text = format!("{answer:?} {omise:?}");
    assert!(matches!(answer, Err(ProcessorError::Refused(_))), "{text}");
    assert!(!text.contains(&s.account.secret_key), "{text}");
}
