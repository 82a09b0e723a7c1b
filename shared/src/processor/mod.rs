//! The processor: the one boundary between this service and whoever moves the money.
//!
//! [`Processor`] is what the service asks of a gateway: charge a card or start a PromptPay
//! charge for an attempt, find an attempt's charge by the key it was made under, read a charge
//! again, expire, reverse or (test mode) resolve a pending one, and refund. Everything the
//! service records about a charge comes from one of these answers, checked against the attempt
//! first ([`ProcessorCharge::check`]); a buyer's browser coming back from their bank is only a
//! hint to ask again.
//!
//! Each account chooses its gateway per mode ([`Gateways`], over `store::settings`): the
//! built-in [`TestProcessor`] (test mode's default), which answers as Omise's test mode does for
//! its documented test cards, simulates 3-D Secure and PromptPay, moves no money, and keeps its
//! own records (in its own partition of the table, as a real gateway keeps its own), so that an
//! attempt whose answer was lost can be found again; or Omise ([`OmiseProcessor`]), with the
//! merchant's own keys, in test or live mode. Live mode with no gateway set takes no payment:
//! the payment page says that payments are not enabled, writing nothing. There is never a fake
//! success.
//!
//! What any processor must offer for the lifecycle to hold:
//! - a charge made under a key is found again by that key ([`Processor::find`]), so that an
//!   attempt whose answer was lost is never charged a second time;
//! - a pending charge can be expired ([`Processor::expire`]), and answers its final status if
//!   it had already ended, so that a race between a buyer paying and a deadline has one winner,
//!   decided by the processor;
//! - its card fingerprint is the gateway's (or an HMAC under a secret key): a plain hash of a
//!   card number is reversible by trying every number.

mod gateways;
pub mod omise;
pub mod test_cards;
mod test_processor;

pub use gateways::{CHOICE_TTL, Gateways};
pub use omise::{OmiseApi, OmiseBrowser, OmiseProcessor};
pub use test_processor::TestProcessor;

use crate::domain::card::{Card, CardDetails};
use crate::domain::charge::{ChargeFacts, FailureCode, Source, Status};
use crate::domain::error::Cause;
use crate::domain::principal::Principal;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What is being paid with.
pub enum Payment<'a> {
    /// A card as the buyer typed it (test mode's built-in processor only: a live card is
    /// tokenised in the buyer's browser and never reaches the service).
    Card(&'a CardDetails),
    /// A one-use token for a card in the gateway's vault (`tokn_…`), made by the gateway's script
    /// in the buyer's browser.
    Token(&'a str),
    /// A PromptPay QR code the buyer pays from their banking app.
    PromptPay,
}

/// One attempt's charge, as asked of the processor.
pub struct ChargeRequest<'a> {
    pub owner: &'a Principal,
    /// The attempt's gateway key (see `domain::attempt`): the processor keeps it, and finds the
    /// charge by it again.
    pub key: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub payment: Payment<'a>,
    /// Whether the card must pass 3-D Secure (the account's setting).
    pub three_d_secure: bool,
    /// Where the buyer comes back to from their bank.
    pub return_uri: &'a str,
    /// The link's payment page, under which the test processor serves its stand-in bank page and
    /// its QR codes.
    pub payment_uri: &'a str,
    /// When a pending charge ends if nothing else ends it.
    pub expires_at: DateTime<Utc>,
    /// What the charge is for, as the merchant's gateway dashboard shows it.
    pub description: &'a str,
    /// The buyer's address, for the gateway's fraud checks.
    pub ip: Option<&'a str>,
    /// The charge's metadata: the link and the attempt it pays, checked on every answer.
    pub link: &'a str,
    pub attempt: &'a str,
    pub now: DateTime<Utc>,
}

/// A charge as the processor keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessorCharge {
    /// The processor's own id.
    pub id: String,
    /// The key it was made under.
    pub key: String,
    pub amount: i64,
    pub currency: String,
    /// Metadata: the link and the attempt.
    pub link: String,
    pub attempt: String,
    pub status: Status,
    pub failure: Option<String>,
    pub transaction: Option<String>,
    pub card: Option<Card>,
    pub source: Option<Source>,
    pub authorize_uri: Option<String>,
    pub return_uri: String,
    pub expires_at: DateTime<Utc>,
    pub created: DateTime<Utc>,
}

impl ProcessorCharge {
    /// What it says about the charge.
    pub fn facts(&self) -> ChargeFacts {
        ChargeFacts {
            status: self.status,
            failure: self.failure.as_deref().and_then(FailureCode::from_code),
            transaction: self.transaction.clone(),
            card: self.card.clone(),
            source: self.source.clone(),
            authorize_uri: self.authorize_uri.clone(),
            expires_at: Some(self.expires_at),
        }
    }

    /// Whether it is the charge the attempt `attempt` (made under `key`) asked for: `amount` in
    /// `currency` for `link`. Nothing is recorded from an answer that is not.
    pub fn check(
        &self,
        key: &str,
        link: &str,
        attempt: &str,
        amount: i64,
        currency: &str,
    ) -> Result<(), String> {
        let mismatches: Vec<&str> = [
            ("key", self.key == key),
            ("link", self.link == link),
            ("attempt", self.attempt == attempt),
            ("amount", self.amount == amount),
            ("currency", self.currency.eq_ignore_ascii_case(currency)),
        ]
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(what, _)| what)
        .collect();
        if mismatches.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the processor's charge {} does not match its attempt: {}",
                self.id,
                mismatches.join(", ")
            ))
        }
    }
}

/// A refund as the processor keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessorRefund {
    pub id: String,
    /// The key it was made under (the refund's own id here).
    pub key: String,
    /// The processor's charge it refunds.
    pub charge: String,
    pub amount: i64,
    pub transaction: String,
    pub created: DateTime<Utc>,
}

/// Why a processor call gave no usable answer.
pub enum ProcessorError {
    /// No answer, or one that could not be read: whether it acted is not known. The attempt is
    /// settled later by asking again ([`Processor::find`]).
    Unavailable(Cause),
    /// It answered, and refused: nothing was done. The message is the processor's, for logs.
    Refused(String),
}

impl fmt::Debug for ProcessorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(cause) => write!(f, "processor unavailable: {cause}"),
            Self::Refused(why) => write!(f, "processor refused: {why}"),
        }
    }
}

impl From<crate::ApiError> for ProcessorError {
    /// The test processor's own storage failing is the processor being unavailable.
    fn from(error: crate::ApiError) -> Self {
        Self::Unavailable(format!("{error:?}").into())
    }
}

/// A PromptPay charge's QR code as a gateway gives it, to be drawn or made safe by the page
/// (`page::qr::scannable`) before it is shown.
#[derive(Clone, PartialEq, Eq)]
pub enum ScannableCode {
    /// What the code says: the page draws it (the test processor's).
    Payload(String),
    /// The gateway's image, as downloaded: untrusted bytes (Omise's SVG, or a PNG).
    Image(Vec<u8>),
}

impl std::fmt::Debug for ScannableCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Payload(p) => write!(f, "Payload({} bytes)", p.len()),
            Self::Image(i) => write!(f, "Image({} bytes)", i.len()),
        }
    }
}

/// A processor's answer, to come.
pub type Answer<'a, T> = BoxFuture<'a, Result<T, ProcessorError>>;

/// What the service asks of a gateway. See the module's notes.
pub trait Processor: Send + Sync {
    /// Charges for an attempt: final at once, or pending (3-D Secure, PromptPay). Made under
    /// `request.key`: asked again with the same key, it answers the same charge.
    fn charge<'a>(&'a self, request: ChargeRequest<'a>) -> Answer<'a, ProcessorCharge>;

    /// The charge made under `key`, if any.
    fn find<'a>(
        &'a self,
        owner: &'a Principal,
        key: &'a str,
    ) -> Answer<'a, Option<ProcessorCharge>>;

    /// The charge `id` as it is now.
    fn retrieve<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
    ) -> Answer<'a, Option<ProcessorCharge>>;

    /// Ends a pending charge as `expired`; a charge that had already ended is answered as it
    /// ended (so a buyer who paid a moment before the deadline keeps their payment).
    fn expire<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge>;

    /// Releases a successful charge's authorization: `reversed`, nothing taken.
    fn reverse<'a>(&'a self, owner: &'a Principal, id: &'a str) -> Answer<'a, ProcessorCharge>;

    /// Test mode: a pending PromptPay charge paid (`paid`) or failed, as Omise's
    /// `mark_as_paid` and `mark_as_failed` do.
    fn mark<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        paid: bool,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge>;

    /// Test mode: the buyer's answer on the stand-in 3-D Secure page.
    fn authenticate<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        passed: bool,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge>;

    /// Refunds `amount` of the successful charge `charge`, under `key`: asked again with the
    /// same key, it answers the same refund.
    fn refund<'a>(
        &'a self,
        owner: &'a Principal,
        charge: &'a str,
        key: &'a str,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorRefund>;

    /// The refund made under `key` of `charge`, if any.
    fn find_refund<'a>(
        &'a self,
        owner: &'a Principal,
        charge: &'a str,
        key: &'a str,
    ) -> Answer<'a, Option<ProcessorRefund>>;

    /// The QR code of `owner`'s pending PromptPay charge whose source is `source`, if it has
    /// one. By default, what the source says (the test processor keeps its payload).
    fn scannable_code<'a>(
        &'a self,
        _owner: &'a Principal,
        source: &'a Source,
    ) -> Answer<'a, Option<ScannableCode>> {
        let payload = source.payload.clone();
        Box::pin(
            async move { Ok((!payload.is_empty()).then_some(ScannableCode::Payload(payload))) },
        )
    }

    /// `settings`, just read for `owner` with the link being paid: a processor that chooses a
    /// gateway by them ([`Gateways`]) need not read them again.
    fn settings_read(&self, _owner: &Principal, _settings: &crate::store::settings::Settings) {}
}
