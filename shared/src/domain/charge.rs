//! Charges: one buyer's attempt to pay a link, in Omise's 2015-11-17 charge shape, and where
//! it is in its life.
//!
//! A charge is made when the processor answers an attempt (see `payments`): at once final
//! (`successful`, `failed`) or `pending` (a card waiting for its 3-D Secure authentication, a
//! PromptPay QR code waiting to be paid). It then moves only forward, once:
//!
//! ```text
//! pending ──> successful | failed | expired | reversed
//! ```
//!
//! `reversed` is an authorization released. Each move is one conditional write (on the stored
//! status still being `pending`) together with its `charge.complete` event; a late, repeated or
//! out-of-order notice finds the charge already final and changes nothing. Refunds add to a
//! successful charge (`refunded`, `refunds`) without changing its status.

use super::card::Card;
use super::list::{ListObject, ListQuery, Time};
use super::metadata::Metadata;
use super::refund::{Refund, RefundView};
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

/// Where a charge is in its life (Omise's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting: for the buyer's 3-D Secure authentication, or for a PromptPay QR code to be paid.
    Pending,
    /// Paid. Charges written before charges had a status were all final, so a stored document
    /// without one is read as this (or as `failed`, by its failure code: see the store).
    #[default]
    Successful,
    Failed,
    /// A pending charge whose time ran out: nothing was taken.
    Expired,
    /// An authorization released: nothing was taken.
    Reversed,
}

impl Status {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Successful,
        Self::Failed,
        Self::Expired,
        Self::Reversed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Successful => "successful",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Reversed => "reversed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Every status but `pending` is final: nothing moves a charge out of it.
    pub fn is_final(self) -> bool {
        self != Self::Pending
    }
}

/// A PromptPay source: the QR code a buyer scans with their banking app, as Omise's `source`
/// object describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// `src_test_…` or `src_…`.
    pub id: String,
    /// `promptpay`.
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    /// The QR code image's document id (`docu_test_…`).
    pub document: String,
    /// Where the QR code's SVG is served (the payment page's own `qr.svg` for this charge).
    pub download_uri: String,
    /// What the QR code says. In test mode, a text that says it is a test and is no PromptPay
    /// payload at all, so that no banking app would pay it. Never served in JSON: Omise only
    /// serves the image.
    pub payload: String,
    pub created: DateTime<Utc>,
}

/// What a processor's answer says about a charge: everything of it that is not the link's.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargeFacts {
    pub status: Status,
    /// Set when `status` is `failed`.
    pub failure: Option<FailureCode>,
    /// The processor's transaction, for money that moved.
    pub transaction: Option<String>,
    pub card: Option<Card>,
    pub source: Option<Source>,
    /// Where a pending 3-D Secure charge sends its buyer to authenticate.
    pub authorize_uri: Option<String>,
    /// When a pending charge ends if nothing else ends it first.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A charge as stored: one JSON document, rewritten on its one move out of `pending`. Its refunds
/// are kept beside the document (see the store), so that concurrent refunds never rewrite it.
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
    /// The link's metadata as the charge was made, so that a merchant can match the payment to
    /// their order from the charge (or its event, or its webhook) alone. Beyond Omise's 2015
    /// charge object (later versions carry it); only when the link had some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub status: Status,
    /// Set when `status` is `failed`.
    pub failure_code: Option<String>,
    /// The processor's transaction, for successful charges.
    pub transaction: Option<String>,
    /// The card, for a card charge (every charge written before PromptPay has one).
    #[serde(default)]
    pub card: Option<Card>,
    /// The PromptPay source, for a PromptPay charge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The buyer's address, as API Gateway saw it.
    pub ip: Option<String>,
    pub return_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_uri: Option<String>,
    /// When a pending charge expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The processor's own id of the charge, to ask it about the charge later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor_charge: Option<String>,
    /// The attempt that made it (see `domain::attempt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<String>,
    pub created: DateTime<Utc>,
    /// Refunded so far (the sum of `refunds`). Kept beside the document.
    #[serde(skip)]
    pub refunded: i64,
    /// Its refunds, oldest first. Kept beside the document.
    #[serde(skip)]
    pub refunds: Vec<Refund>,
}

impl Charge {
    /// The charge as the processor now says it is: its status, failure and transaction, and
    /// whatever else the answer carries.
    pub fn apply(&mut self, facts: ChargeFacts) {
        self.status = facts.status;
        self.failure_code = facts.failure.map(|f| f.code().to_owned());
        self.transaction = facts.transaction;
        if facts.card.is_some() {
            self.card = facts.card;
        }
        if facts.source.is_some() {
            self.source = facts.source;
        }
        if facts.authorize_uri.is_some() {
            self.authorize_uri = facts.authorize_uri;
        }
        if facts.expires_at.is_some() {
            self.expires_at = facts.expires_at;
        }
    }

    pub fn successful(&self) -> bool {
        self.status == Status::Successful
    }

    pub fn failure(&self) -> Option<FailureCode> {
        self.failure_code
            .as_deref()
            .and_then(FailureCode::from_code)
    }

    /// What may still be refunded.
    pub fn refundable(&self) -> i64 {
        if self.successful() {
            self.amount - self.refunded
        } else {
            0
        }
    }

    /// The Omise JSON view.
    pub fn view(&self, now: DateTime<Utc>) -> ChargeView<'_> {
        let status = self.status;
        let location = format!("/charges/{}", self.id);
        ChargeView {
            object: "charge",
            id: &self.id,
            livemode: self.livemode,
            amount: self.amount,
            currency: &self.currency,
            description: &self.description,
            metadata: self.metadata.as_ref(),
            status: status.as_str(),
            capture: true,
            // An authorization happened for a paid charge and for one released since.
            authorized: matches!(status, Status::Successful | Status::Reversed),
            reversed: status == Status::Reversed,
            paid: status == Status::Successful,
            transaction: self.transaction.as_deref(),
            refunded: self.refunded,
            refunds: ListObject::page(
                format!("{location}/refunds"),
                &ListQuery::default(),
                now,
                self.refunds.iter().map(|r| r.view()).collect(),
                self.refunds.len() as u64,
            ),
            return_uri: &self.return_uri,
            reference: None,
            authorize_uri: self.authorize_uri.as_deref(),
            failure_code: self.failure_code.as_deref(),
            failure_message: self.failure().map(FailureCode::message),
            card: self.card.as_ref().map(|card| CardView {
                object: "card",
                id: &card.id,
                livemode: self.livemode,
                country: "",
                city: None,
                postal_code: None,
                financing: "",
                bank: "",
                last_digits: &card.last_digits,
                brand: &card.brand,
                expiration_month: card.expiration_month,
                expiration_year: card.expiration_year,
                fingerprint: &card.fingerprint,
                name: &card.name,
                security_code_check: card.security_code_check,
                created: Time(self.created),
            }),
            source: self.source.as_ref().map(|source| SourceView {
                object: "source",
                id: &source.id,
                livemode: self.livemode,
                amount: source.amount,
                currency: &source.currency,
                flow: "offline",
                kind: &source.kind,
                scannable_code: ScannableCodeView {
                    object: "barcode",
                    kind: "qr",
                    image: DocumentView {
                        object: "document",
                        livemode: self.livemode,
                        id: &source.document,
                        deleted: false,
                        filename: "qrcode.svg",
                        location: format!("{location}/documents/{}", source.document),
                        download_uri: &source.download_uri,
                        created: Time(source.created),
                    },
                },
                created: Time(source.created),
            }),
            customer: None,
            ip: self.ip.as_deref(),
            dispute: None,
            created: Time(self.created),
            // Omise's 2015-11-17 card charge has no `expires_at`; a PromptPay charge shows when
            // its QR code stops being payable.
            expires_at: self.source.as_ref().and(self.expires_at).map(Time),
            location,
        }
    }
}

/// A charge as the API returns it, fields in the order Omise writes them. `source` and
/// `expires_at` appear only on a PromptPay charge, as later API versions carry them.
#[derive(Debug, Serialize)]
pub struct ChargeView<'a> {
    pub object: &'static str,
    pub id: &'a str,
    pub livemode: bool,
    pub location: String,
    pub amount: i64,
    pub currency: &'a str,
    pub description: &'a str,
    /// Only on a charge of a link with metadata, where Omise's later versions write it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a Metadata>,
    pub status: &'static str,
    pub capture: bool,
    pub authorized: bool,
    pub reversed: bool,
    pub paid: bool,
    pub transaction: Option<&'a str>,
    pub refunded: i64,
    pub refunds: ListObject<RefundView<'a>>,
    pub return_uri: &'a str,
    pub reference: Option<&'a str>,
    pub authorize_uri: Option<&'a str>,
    pub failure_code: Option<&'a str>,
    pub failure_message: Option<&'static str>,
    pub card: Option<CardView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceView<'a>>,
    pub customer: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub dispute: Option<&'a str>,
    pub created: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
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

/// Omise's source object for a PromptPay charge (its fields as recorded in Omise's fixtures).
#[derive(Debug, Serialize)]
pub struct SourceView<'a> {
    pub object: &'static str,
    pub id: &'a str,
    pub livemode: bool,
    pub amount: i64,
    pub currency: &'a str,
    pub flow: &'static str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub scannable_code: ScannableCodeView<'a>,
    #[serde(rename = "created_at")]
    pub created: Time,
}

#[derive(Debug, Serialize)]
pub struct ScannableCodeView<'a> {
    pub object: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub image: DocumentView<'a>,
}

#[derive(Debug, Serialize)]
pub struct DocumentView<'a> {
    pub object: &'static str,
    pub livemode: bool,
    pub id: &'a str,
    pub deleted: bool,
    pub filename: &'static str,
    pub location: String,
    pub download_uri: &'a str,
    #[serde(rename = "created_at")]
    pub created: Time,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::currency::Currency;
    // Only the tests make charges from links (`Link::charge`): the code of charges needs none.
    use crate::domain::link::{Link, NewLink};
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
            expires_at: None,
            after_payment_uri: None,
            usage_limit: None,
            metadata: None,
        };
        Link::new(&owner, &new, Utc::now())
    }

    fn facts(status: Status, failure: Option<FailureCode>) -> ChargeFacts {
        ChargeFacts {
            status,
            failure,
            transaction: (status == Status::Successful).then(|| "trxn_test_1".to_owned()),
            card: Some(card()),
            source: None,
            authorize_uri: None,
            expires_at: None,
        }
    }

    fn charge(link: &Link, facts: ChargeFacts, now: DateTime<Utc>) -> Charge {
        link.charge(
            facts,
            "pchg_test_1",
            "0123",
            Some("203.0.113.9".into()),
            "https://pay.example.com/pay/AC6BD2FD/complete?attempt=0123",
            now,
        )
    }

    #[test]
    fn a_successful_charge_has_the_omise_shape() {
        let now: DateTime<Utc> = "2026-11-26T06:56:51.5Z".parse().unwrap();
        let link = link("Pay me back for lunch");
        let charge = charge(&link, facts(Status::Successful, None), now);
        let json = serde_json::to_value(charge.view(now)).unwrap();
        let id = charge.id.as_str();
        assert!(id.starts_with("chrg_test_"), "{id}");
        assert_eq!(
            json,
            json!({
                "object": "charge", "id": id, "livemode": false,
                "location": format!("/charges/{id}"), "amount": 10000, "currency": "thb",
                "description": "Lunch\n\nPay me back for lunch", "status": "successful",
                "capture": true, "authorized": true, "reversed": false, "paid": true,
                "transaction": "trxn_test_1", "refunded": 0,
                "refunds": {"object": "list", "data": [], "limit": 20, "offset": 0, "total": 0,
                    "location": format!("/charges/{id}/refunds"), "order": "chronological",
                    "from": "1970-01-01T00:00:00Z", "to": "2026-11-26T06:56:51Z"},
                "return_uri": "https://pay.example.com/pay/AC6BD2FD/complete?attempt=0123",
                "reference": null, "authorize_uri": null,
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
        let mut link = link("");
        link.description.clear();
        let charge = charge(
            &link,
            facts(Status::Failed, Some(FailureCode::InsufficientFund)),
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
    fn each_status_says_what_happened_to_the_money() {
        let now = Utc::now();
        let link = link("d");
        let flags = |status: Status| {
            let json =
                serde_json::to_value(charge(&link, facts(status, None), now).view(now)).unwrap();
            (
                json["status"].as_str().unwrap().to_owned(),
                json["authorized"].as_bool().unwrap(),
                json["paid"].as_bool().unwrap(),
                json["reversed"].as_bool().unwrap(),
            )
        };
        assert_eq!(
            flags(Status::Pending),
            ("pending".into(), false, false, false)
        );
        assert_eq!(
            flags(Status::Successful),
            ("successful".into(), true, true, false)
        );
        assert_eq!(
            flags(Status::Expired),
            ("expired".into(), false, false, false)
        );
        assert_eq!(
            flags(Status::Reversed),
            ("reversed".into(), true, false, true)
        );
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
            assert_eq!(status.is_final(), status != Status::Pending);
        }
        assert_eq!(Status::parse("paid"), None);
    }

    #[test]
    fn a_pending_charge_moves_to_what_the_processor_says() {
        let now = Utc::now();
        let link = link("d");
        let mut pending = facts(Status::Pending, None);
        pending.authorize_uri = Some("https://pay.example.com/pay/T/authorize?payment=p".into());
        let mut c = charge(&link, pending, now);
        assert_eq!(
            serde_json::to_value(c.view(now)).unwrap()["authorize_uri"],
            "https://pay.example.com/pay/T/authorize?payment=p"
        );
        let mut done = facts(Status::Successful, None);
        done.card = None;
        c.apply(done);
        assert_eq!(c.status, Status::Successful);
        assert_eq!(c.transaction.as_deref(), Some("trxn_test_1"));
        assert!(c.card.is_some(), "an answer without the card keeps it");
        assert!(c.authorize_uri.is_some(), "and its authorize_uri");
        assert_eq!(c.refundable(), 10000);
        c.refunded = 2500;
        assert_eq!(c.refundable(), 7500);
    }

    #[test]
    fn a_promptpay_charge_carries_its_source_and_expiry() {
        let now: DateTime<Utc> = "2026-12-04T08:00:00Z".parse().unwrap();
        let link = link("d");
        let facts = ChargeFacts {
            status: Status::Pending,
            failure: None,
            transaction: None,
            card: None,
            source: Some(Source {
                id: "src_test_1".into(),
                kind: "promptpay".into(),
                amount: 10000,
                currency: "thb".into(),
                document: "docu_test_1".into(),
                download_uri: "https://pay.example.com/pay/T/qr.svg?payment=p".into(),
                payload: "TEST".into(),
                created: now,
            }),
            authorize_uri: None,
            expires_at: Some(now + chrono::Duration::minutes(15)),
        };
        let c = charge(&link, facts, now);
        let json = serde_json::to_value(c.view(now)).unwrap();
        assert_eq!(json["card"], json!(null));
        assert_eq!(json["expires_at"], "2026-12-04T08:15:00Z");
        let source = &json["source"];
        assert_eq!(
            (&source["object"], &source["type"]),
            (&json!("source"), &json!("promptpay"))
        );
        assert_eq!(source["flow"], "offline");
        let image = &source["scannable_code"]["image"];
        assert_eq!(
            image["download_uri"],
            "https://pay.example.com/pay/T/qr.svg?payment=p"
        );
        assert_eq!(
            image["location"],
            format!("/charges/{}/documents/docu_test_1", c.id)
        );
        assert!(
            !json.to_string().contains("TEST"),
            "the payload is never served"
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
        let c = charge(&link("d"), facts(Status::Successful, None), Utc::now());
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Charge>(&text).unwrap(), c);
    }
}
