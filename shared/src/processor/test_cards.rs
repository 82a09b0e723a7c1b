//! Omise's test cards, and what test mode does with each (docs/paying.md has the table).

use crate::domain::card::CardDetails;
use crate::domain::charge::FailureCode;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Why an attempt never reaches a processor. Nothing is written for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Live mode has no processor yet.
    LiveNotEnabled,
    /// Test mode takes only the documented test cards: a real card number must never be sent to
    /// a test-mode page, and is not even fingerprinted.
    NotATestCard,
}

/// Whether a link of this mode can be paid at all: live mode has no processor yet.
pub fn for_mode(livemode: bool) -> Result<(), Refusal> {
    if livemode {
        Err(Refusal::LiveNotEnabled)
    } else {
        Ok(())
    }
}

/// What 3-D Secure does with a test card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreeDSecure {
    /// The card enrols and authenticates as the buyer answers.
    Enrols,
    /// Enrolment fails: the charge fails at once with `payment_rejected`.
    EnrolmentFails,
    /// Validation fails: the charge waits for the buyer, then fails with `payment_rejected`.
    ValidationFails,
}

/// What test mode knows of a test card, before anything is charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCard {
    /// `None` for a card that succeeds; its failure code for one that is declined.
    pub declined: Option<FailureCode>,
    pub three_d_secure: ThreeDSecure,
    /// Stable per card number (see the processor's notes on live fingerprints).
    pub fingerprint: String,
    /// Whether the security code matched.
    pub security_code_check: bool,
}

/// The test card `card` is, or [`Refusal::NotATestCard`].
pub fn test_card(card: &CardDetails) -> Result<TestCard, Refusal> {
    let number = card.number.as_str();
    let three_d_secure = if ENROLMENT_FAILS.contains(&number) {
        ThreeDSecure::EnrolmentFails
    } else if VALIDATION_FAILS.contains(&number) {
        ThreeDSecure::ValidationFails
    } else {
        ThreeDSecure::Enrols
    };
    let declined = if SUCCESSFUL_TEST_CARDS.contains(&number) {
        None
    } else if three_d_secure != ThreeDSecure::Enrols {
        // Without 3-D Secure these are declined as the issuer would decline them after it.
        Some(FailureCode::PaymentRejected)
    } else {
        Some(
            FAILING_TEST_CARDS
                .iter()
                .find(|(n, _)| *n == number)
                .map(|(_, code)| *code)
                .ok_or(Refusal::NotATestCard)?,
        )
    };
    Ok(TestCard {
        declined,
        three_d_secure,
        // Only published test numbers get here, so a plain hash gives nothing away.
        fingerprint: base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(format!("test-card:{number}"))),
        security_code_check: declined != Some(FailureCode::InvalidSecurityCode),
    })
}

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

/// Omise's test cards that fail, and how: Visa, MasterCard and JCB for each failure code. The
/// 3-D Secure failures below end as `payment_rejected` too.
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
];

/// Omise's test cards whose 3-D Secure enrolment fails: refused before any authentication.
pub const ENROLMENT_FAILS: &[&str] = &["4111111111150002", "5555551111120002", "3530111111100002"];
/// Omise's test cards whose 3-D Secure validation fails: the buyer is sent to authenticate, and
/// the authentication fails whatever they answer.
pub const VALIDATION_FAILS: &[&str] = &["4111111111140003", "5555551111110003", "3530111111190003"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::card::{Brand, luhn};

    pub(crate) fn card(number: &str) -> CardDetails {
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
            .chain(FAILING_TEST_CARDS.iter().map(|(n, _)| n))
            .chain(ENROLMENT_FAILS)
            .chain(VALIDATION_FAILS);
        for number in all {
            assert!(luhn(number), "{number}");
            assert!(Brand::of(number).is_some(), "{number}");
            assert!(test_card(&card(number)).is_ok(), "{number}");
        }
    }

    #[test]
    fn test_cards_answer_as_omise_documents() {
        let ok = test_card(&card("4242424242424242")).unwrap();
        assert_eq!(ok.declined, None);
        assert!(ok.security_code_check);
        assert_eq!(ok.three_d_secure, ThreeDSecure::Enrols);
        assert_eq!(ok, test_card(&card("4242424242424242")).unwrap(), "stable");
        assert_ne!(
            ok.fingerprint,
            test_card(&card("4111111111111111")).unwrap().fingerprint
        );
        let declined = test_card(&card("4111111111140011")).unwrap();
        assert_eq!(declined.declined, Some(FailureCode::InsufficientFund));
        let bad_code = test_card(&card("5555551111130001")).unwrap();
        assert_eq!(
            (bad_code.declined, bad_code.security_code_check),
            (Some(FailureCode::InvalidSecurityCode), false)
        );
        let enrolment = test_card(&card("3530111111100002")).unwrap();
        assert_eq!(
            (enrolment.declined, enrolment.three_d_secure),
            (
                Some(FailureCode::PaymentRejected),
                ThreeDSecure::EnrolmentFails
            )
        );
        let validation = test_card(&card("4111111111140003")).unwrap();
        assert_eq!(
            (validation.declined, validation.three_d_secure),
            (
                Some(FailureCode::PaymentRejected),
                ThreeDSecure::ValidationFails
            )
        );
    }

    #[test]
    fn real_cards_and_live_mode_never_reach_a_processor() {
        // Luhn-valid, but not a published test card.
        assert_eq!(
            test_card(&card("4012888888881881")),
            Err(Refusal::NotATestCard)
        );
        assert_eq!(for_mode(true), Err(Refusal::LiveNotEnabled));
        assert_eq!(for_mode(false), Ok(()));
    }
}
