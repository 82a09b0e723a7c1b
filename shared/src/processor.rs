//! The card processor: the one boundary between this service and whoever moves the money.
//!
//! Test mode is served here by [`TestProcessor`], which answers as Omise's test mode does for its
//! documented test cards (the README has the table) and moves nothing. Live mode has no processor
//! yet: [`for_mode`] refuses it with [`Refusal::LiveNotEnabled`], and the payment page says that
//! payments are not enabled, writing nothing. There is never a fake success.
//!
//! # What a live processor must do
//!
//! A later issue fills this boundary with a real gateway. The pay function calls it between
//! reading the link and the DynamoDB transaction that records the charge and uses the link. So
//! that a card is never charged for a link that was paid or destroyed meanwhile, a live processor
//! must *authorize* here and *capture* only after that transaction commits (voiding the
//! authorization when the transaction is refused), and pass the attempt's key to the gateway as
//! its idempotency key, so that a retried attempt is one charge there too. Its card fingerprint
//! must be the gateway's (or an HMAC under a secret key): a plain hash of a card number is
//! reversible by trying every number.

use crate::domain::card::CardDetails;
use crate::domain::charge::{FailureCode, Outcome};
use base64::Engine;
use sha2::{Digest, Sha256};

/// What the processor answered for a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub outcome: Outcome,
    /// Stable per card number (see the module's notes on live fingerprints).
    pub fingerprint: String,
    /// Whether the security code matched.
    pub security_code_check: bool,
}

/// Why an attempt never reached a processor. Nothing is written for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Live mode has no processor yet.
    LiveNotEnabled,
    /// Test mode takes only the documented test cards: a real card number must never be sent to
    /// a test-mode page, and is not even fingerprinted.
    NotATestCard,
}

/// The processor for a mode.
pub fn for_mode(livemode: bool) -> Result<TestProcessor, Refusal> {
    if livemode {
        Err(Refusal::LiveNotEnabled)
    } else {
        Ok(TestProcessor)
    }
}

/// Omise's test mode: outcomes by card number, whatever the (future) expiry and security code.
#[derive(Debug, Clone, Copy)]
pub struct TestProcessor;

/// Omise's test cards that succeed.
pub const SUCCESSFUL_TEST_CARDS: &[&str] = &[
    "4242424242424242",
    "4111111111111111",
    "5555555555554444",
    "5454545454545454",
    "3530111333300000",
    "3566111111111113",
    "378282246310005",
    "6250947000000006",
];

/// Omise's test cards that fail, and how: Visa, MasterCard and JCB for each failure code, then
/// the 3-D Secure failures (enrolment, then validation), which end as `payment_rejected`.
pub const FAILING_TEST_CARDS: &[(&str, FailureCode)] = &[
    ("4111111111140011", FailureCode::InsufficientFund),
    ("5555551111110011", FailureCode::InsufficientFund),
    ("3530111111190011", FailureCode::InsufficientFund),
    ("4111111111130012", FailureCode::StolenOrLostCard),
    ("5555551111100012", FailureCode::StolenOrLostCard),
    ("3530111111180012", FailureCode::StolenOrLostCard),
    ("4111111111120013", FailureCode::FailedProcessing),
    ("5555551111190013", FailureCode::FailedProcessing),
    ("3530111111170013", FailureCode::FailedProcessing),
    ("4111111111110014", FailureCode::PaymentRejected),
    ("5555551111180014", FailureCode::PaymentRejected),
    ("4111111111190016", FailureCode::FailedFraudCheck),
    ("5555551111160016", FailureCode::FailedFraudCheck),
    ("3530111111140016", FailureCode::FailedFraudCheck),
    ("4111111111180017", FailureCode::InvalidAccountNumber),
    ("5555551111150017", FailureCode::InvalidAccountNumber),
    ("3530111111130017", FailureCode::InvalidAccountNumber),
    ("4111111111160001", FailureCode::InvalidSecurityCode),
    ("5555551111130001", FailureCode::InvalidSecurityCode),
    ("3530111111110001", FailureCode::InvalidSecurityCode),
    ("4111111111150002", FailureCode::PaymentRejected),
    ("5555551111120002", FailureCode::PaymentRejected),
    ("3530111111100002", FailureCode::PaymentRejected),
    ("4111111111140003", FailureCode::PaymentRejected),
    ("5555551111110003", FailureCode::PaymentRejected),
    ("3530111111190003", FailureCode::PaymentRejected),
];

impl TestProcessor {
    /// The test outcome for `card`, or [`Refusal::NotATestCard`].
    pub fn authorize(&self, card: &CardDetails) -> Result<Authorization, Refusal> {
        let number = card.number.as_str();
        let outcome = if SUCCESSFUL_TEST_CARDS.contains(&number) {
            Outcome::Successful
        } else {
            FAILING_TEST_CARDS
                .iter()
                .find(|(n, _)| *n == number)
                .map(|(_, code)| Outcome::Failed(*code))
                .ok_or(Refusal::NotATestCard)?
        };
        Ok(Authorization {
            outcome,
            // Only published test numbers get here, so a plain hash gives nothing away.
            fingerprint: base64::engine::general_purpose::STANDARD
                .encode(Sha256::digest(format!("test-card:{number}"))),
            security_code_check: outcome != Outcome::Failed(FailureCode::InvalidSecurityCode),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::card::{Brand, luhn};

    fn card(number: &str) -> CardDetails {
        CardDetails {
            name: "T".into(),
            number: number.into(),
            brand: Brand::of(number).unwrap(),
            expiration_month: 12,
            expiration_year: 2030,
            security_code: "123".into(),
        }
    }

    #[test]
    fn every_test_card_is_a_valid_number_of_a_known_brand() {
        let all = SUCCESSFUL_TEST_CARDS
            .iter()
            .chain(FAILING_TEST_CARDS.iter().map(|(n, _)| n));
        for number in all {
            assert!(luhn(number), "{number}");
            assert!(Brand::of(number).is_some(), "{number}");
        }
    }

    #[test]
    fn test_cards_answer_as_omise_documents() {
        let p = for_mode(false).unwrap();
        let ok = p.authorize(&card("4242424242424242")).unwrap();
        assert_eq!(ok.outcome, Outcome::Successful);
        assert!(ok.security_code_check);
        assert_eq!(
            ok,
            p.authorize(&card("4242424242424242")).unwrap(),
            "stable"
        );
        assert_ne!(
            ok.fingerprint,
            p.authorize(&card("4111111111111111")).unwrap().fingerprint
        );
        let declined = p.authorize(&card("4111111111140011")).unwrap();
        assert_eq!(
            declined.outcome,
            Outcome::Failed(FailureCode::InsufficientFund)
        );
        let bad_code = p.authorize(&card("5555551111130001")).unwrap();
        assert_eq!(
            (bad_code.outcome, bad_code.security_code_check),
            (Outcome::Failed(FailureCode::InvalidSecurityCode), false)
        );
        assert_eq!(
            p.authorize(&card("3530111111100002")).unwrap().outcome,
            Outcome::Failed(FailureCode::PaymentRejected)
        );
    }

    #[test]
    fn real_cards_and_live_mode_never_reach_a_processor() {
        // Luhn-valid, but not a published test card.
        assert_eq!(
            TestProcessor.authorize(&card("4012888888881881")),
            Err(Refusal::NotATestCard)
        );
        assert!(matches!(for_mode(true), Err(Refusal::LiveNotEnabled)));
    }
}
