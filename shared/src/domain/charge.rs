//! Charges: one buyer's attempt to pay a link, in Omise's 2015-11-17 charge shape.
//!
//! Every attempt that reaches the processor is a charge, successful or failed. A charge is a fact:
//! written once, in the same transaction that marks its link used, and never changed (refunds,
//! disputes and asynchronous completion are not offered yet: `refunded` is always 0 and `refunds`
//! empty).

use super::card::Card;
use super::ids;
use super::link::Link;
use super::list::{ListObject, Time};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a charge failed, with the `failure_code` Omise uses for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCode {
    InsufficientFund,
    StolenOrLostCard,
    FailedProcessing,
    PaymentRejected,
    FailedFraudCheck,
    InvalidAccountNumber,
    InvalidSecurityCode,
}

impl FailureCode {
    pub const ALL: [Self; 7] = [
        Self::InsufficientFund,
        Self::StolenOrLostCard,
        Self::FailedProcessing,
        Self::PaymentRejected,
        Self::FailedFraudCheck,
        Self::InvalidAccountNumber,
        Self::InvalidSecurityCode,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::InsufficientFund => "insufficient_fund",
            Self::StolenOrLostCard => "stolen_or_lost_card",
            Self::FailedProcessing => "failed_processing",
            Self::PaymentRejected => "payment_rejected",
            Self::FailedFraudCheck => "failed_fraud_check",
            Self::InvalidAccountNumber => "invalid_account_number",
            Self::InvalidSecurityCode => "invalid_security_code",
        }
    }

    /// The `failure_message` of the API (English, lowercase, as Omise writes them).
    pub fn message(self) -> &'static str {
        match self {
            Self::InsufficientFund => {
                "insufficient funds in the account or the card has reached the credit limit"
            }
            Self::StolenOrLostCard => "card was reported stolen or lost",
            Self::FailedProcessing => "the payment could not be processed",
            Self::PaymentRejected => "the payment was rejected by the issuer",
            Self::FailedFraudCheck => "the card was refused by the fraud check",
            Self::InvalidAccountNumber => "the card number does not belong to a valid account",
            Self::InvalidSecurityCode => "the security code is invalid",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// What the processor answered for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Successful,
    Failed(FailureCode),
}

/// A charge as stored (as one JSON document: it never changes once written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub livemode: bool,
    /// The link it pays.
    pub link: String,
    pub amount: i64,
    /// Lowercase ISO 4217 code.
    pub currency: String,
    pub description: String,
    /// `None` on success.
    pub failure_code: Option<String>,
    /// The processor's transaction, for successful charges.
    pub transaction: Option<String>,
    pub card: Card,
    /// The buyer's address, as API Gateway saw it.
    pub ip: Option<String>,
    pub return_uri: String,
    pub created: DateTime<Utc>,
}

impl Charge {
    /// A new charge paying `link` with `card`, ended by the processor with `outcome`.
    pub fn new(
        link: &Link,
        card: Card,
        outcome: Outcome,
        ip: Option<String>,
        payment_uri: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let (failure_code, transaction) = match outcome {
            Outcome::Successful => (None, Some(ids::new_plain_id("trxn", link.livemode))),
            Outcome::Failed(code) => (Some(code.code().to_owned()), None),
        };
        Self {
            id: ids::new_charge_id(link.livemode, now),
            livemode: link.livemode,
            link: link.id.clone(),
            amount: link.amount,
            currency: link.currency.code.to_owned(),
            // As Omise describes a link's charge: the title, a blank line, the description.
            description: if link.description.is_empty() {
                link.title.clone()
            } else {
                format!("{}\n\n{}", link.title, link.description)
            },
            failure_code,
            transaction,
            card,
            ip,
            return_uri: format!("{payment_uri}/complete"),
            created: now,
        }
    }

    pub fn successful(&self) -> bool {
        self.failure_code.is_none()
    }

    pub fn failure(&self) -> Option<FailureCode> {
        self.failure_code
            .as_deref()
            .and_then(FailureCode::from_code)
    }

    /// The Omise JSON view.
    pub fn view(&self, now: DateTime<Utc>) -> ChargeView<'_> {
        let paid = self.successful();
        ChargeView {
            object: "charge",
            id: &self.id,
            livemode: self.livemode,
            location: format!("/charges/{}", self.id),
            amount: self.amount,
            currency: &self.currency,
            description: &self.description,
            status: if paid { "successful" } else { "failed" },
            capture: true,
            authorized: paid,
            reversed: false,
            paid,
            transaction: self.transaction.as_deref(),
            refunded: 0,
            refunds: ListObject::empty(format!("/charges/{}/refunds", self.id), now),
            return_uri: &self.return_uri,
            reference: None,
            authorize_uri: None,
            failure_code: self.failure_code.as_deref(),
            failure_message: self.failure().map(FailureCode::message),
            card: CardView {
                object: "card",
                id: &self.card.id,
                livemode: self.livemode,
                country: "",
                city: None,
                postal_code: None,
                financing: "",
                bank: "",
                last_digits: &self.card.last_digits,
                brand: &self.card.brand,
                expiration_month: self.card.expiration_month,
                expiration_year: self.card.expiration_year,
                fingerprint: &self.card.fingerprint,
                name: &self.card.name,
                security_code_check: self.card.security_code_check,
                created: Time(self.created),
            },
            customer: None,
            ip: self.ip.as_deref(),
            dispute: None,
            created: Time(self.created),
        }
    }
}

/// A charge as the API returns it, fields in the order Omise writes them.
#[derive(Debug, Serialize)]
pub struct ChargeView<'a> {
    pub object: &'static str,
    pub id: &'a str,
    pub livemode: bool,
    pub location: String,
    pub amount: i64,
    pub currency: &'a str,
    pub description: &'a str,
    pub status: &'static str,
    pub capture: bool,
    pub authorized: bool,
    pub reversed: bool,
    pub paid: bool,
    pub transaction: Option<&'a str>,
    pub refunded: i64,
    pub refunds: ListObject<()>,
    pub return_uri: &'a str,
    pub reference: Option<&'a str>,
    pub authorize_uri: Option<&'a str>,
    pub failure_code: Option<&'a str>,
    pub failure_message: Option<&'static str>,
    pub card: CardView<'a>,
    pub customer: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub dispute: Option<&'a str>,
    pub created: Time,
}

/// Omise's card object. No issuing bank or billing address is asked for, so those are empty.
#[derive(Debug, Serialize)]
pub struct CardView<'a> {
    pub object: &'static str,
    pub id: &'a str,
    pub livemode: bool,
    pub country: &'static str,
    pub city: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub financing: &'static str,
    pub bank: &'static str,
    pub last_digits: &'a str,
    pub brand: &'a str,
    pub expiration_month: u32,
    pub expiration_year: i32,
    pub fingerprint: &'a str,
    pub name: &'a str,
    pub security_code_check: bool,
    pub created: Time,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::currency::Currency;
    use crate::domain::link::NewLink;
    use crate::domain::principal::Principal;
    use serde_json::json;

    fn card() -> Card {
        Card {
            id: "card_test_1".into(),
            brand: "Visa".into(),
            last_digits: "4242".into(),
            expiration_month: 7,
            expiration_year: 2031,
            name: "สมชาย ใจดี".into(),
            fingerprint: "fp".into(),
            security_code_check: true,
        }
    }

    fn link(description: &str) -> Link {
        let owner = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        let new = NewLink {
            amount: 10000,
            currency: Currency::find("thb").unwrap(),
            title: "Lunch".into(),
            description: description.into(),
            multiple: false,
        };
        Link::new(&owner, &new, Utc::now())
    }

    #[test]
    fn a_successful_charge_has_the_omise_shape() {
        let now: DateTime<Utc> = "2026-11-26T06:56:51.5Z".parse().unwrap();
        let link = link("Pay me back for lunch");
        let uri = "https://pay.example.com/pay/AC6BD2FD";
        let charge = Charge::new(
            &link,
            card(),
            Outcome::Successful,
            Some("203.0.113.9".into()),
            uri,
            now,
        );
        let json = serde_json::to_value(charge.view(now)).unwrap();
        let id = charge.id.as_str();
        assert!(id.starts_with("chrg_test_"), "{id}");
        let trxn = charge.transaction.as_deref().unwrap();
        assert!(trxn.starts_with("trxn_test_"), "{trxn}");
        assert_eq!(
            json,
            json!({
                "object": "charge", "id": id, "livemode": false,
                "location": format!("/charges/{id}"), "amount": 10000, "currency": "thb",
                "description": "Lunch\n\nPay me back for lunch", "status": "successful",
                "capture": true, "authorized": true, "reversed": false, "paid": true,
                "transaction": trxn, "refunded": 0,
                "refunds": {"object": "list", "data": [], "limit": 20, "offset": 0, "total": 0,
                    "location": format!("/charges/{id}/refunds"), "order": "chronological",
                    "from": "1970-01-01T00:00:00Z", "to": "2026-11-26T06:56:51Z"},
                "return_uri": format!("{uri}/complete"), "reference": null, "authorize_uri": null,
                "failure_code": null, "failure_message": null,
                "card": {"object": "card", "id": "card_test_1", "livemode": false, "country": "",
                    "city": null, "postal_code": null, "financing": "", "bank": "",
                    "last_digits": "4242", "brand": "Visa", "expiration_month": 7,
                    "expiration_year": 2031, "fingerprint": "fp", "name": "สมชาย ใจดี",
                    "security_code_check": true, "created": "2026-11-26T06:56:51Z"},
                "customer": null, "ip": "203.0.113.9", "dispute": null,
                "created": "2026-11-26T06:56:51Z",
            })
        );
    }

    #[test]
    fn a_failed_charge_names_its_reason_and_pays_nothing() {
        let now = Utc::now();
        let charge = Charge::new(
            &link(""),
            card(),
            Outcome::Failed(FailureCode::InsufficientFund),
            None,
            "https://x/pay/T",
            now,
        );
        assert!(!charge.successful());
        assert_eq!(charge.failure(), Some(FailureCode::InsufficientFund));
        let json = serde_json::to_value(charge.view(now)).unwrap();
        assert_eq!(
            (
                &json["status"],
                &json["paid"],
                &json["authorized"],
                &json["transaction"]
            ),
            (&json!("failed"), &json!(false), &json!(false), &json!(null))
        );
        assert_eq!(json["failure_code"], "insufficient_fund");
        assert_eq!(
            json["failure_message"],
            "insufficient funds in the account or the card has reached the credit limit"
        );
        assert_eq!(
            json["description"], "Lunch",
            "no blank line without a description"
        );
    }

    #[test]
    fn failure_codes_read_back_from_their_names() {
        for code in FailureCode::ALL {
            assert_eq!(FailureCode::from_code(code.code()), Some(code));
            assert!(!code.message().is_empty());
        }
        assert_eq!(FailureCode::from_code("nonsense"), None);
    }

    #[test]
    fn a_stored_charge_reads_back_whole() {
        let charge = Charge::new(
            &link("d"),
            card(),
            Outcome::Successful,
            None,
            "https://x/pay/T",
            Utc::now(),
        );
        let text = serde_json::to_string(&charge).unwrap();
        assert_eq!(serde_json::from_str::<Charge>(&text).unwrap(), charge);
    }
}
