//! Test mode's processor: Omise's test cards, 3-D Secure and PromptPay simulated, nothing moved.
//!
//! It keeps its charges and refunds in its own partition of the table (`store::ledger`), as a
//! gateway keeps its own records, so that everything the service may ask of a real gateway
//! (find an attempt's charge again, expire it, refund it) is asked of it the same way.
//!
//! - A card without 3-D Secure is decided at once, by its number (the table in docs/paying.md).
//! - With 3-D Secure on, a card whose enrolment fails is declined at once (`payment_rejected`);
//!   any other card waits, `pending`, for the buyer to answer the stand-in bank page at its
//!   `authorize_uri` (`<payment_uri>/authorize?payment=<id>`), then ends as the card would have
//!   (or `payment_rejected`, when the buyer fails it or the card's validation fails).
//! - PromptPay waits, `pending`, with a QR code that says it is a test (no banking app would pay
//!   it), until `mark_as_paid` or `mark_as_failed`, or its expiry.

use super::test_cards::{Refusal, ThreeDSecure, test_card};
use super::{
    Answer, ChargeRequest, Payment, Processor, ProcessorCharge, ProcessorError, ProcessorRefund,
};
use crate::domain::card::Card;
use crate::domain::charge::{FailureCode, Source, Status};
use crate::domain::ids;
use crate::domain::principal::Principal;
use crate::store::Store;
use chrono::{DateTime, Utc};

/// Test mode's processor, over the table it keeps its records in.
#[derive(Clone, Debug)]
pub struct TestProcessor {
    store: Store,
}

/// What a buyer's authentication of a card ends in when it passes: the card's own outcome.
const SUCCESSFUL: &str = "successful";

impl TestProcessor {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The text a test PromptPay QR code holds: it says what it is, and has none of the
    /// structure of a PromptPay payload (which starts `000201`), so no banking app takes it.
    pub fn test_qr_payload(amount: &str, id: &str) -> String {
        format!("TEST MODE - NOT A PROMPTPAY PAYMENT - {amount} - {id}")
    }

    async fn charge_now(
        &self,
        request: ChargeRequest<'_>,
    ) -> Result<ProcessorCharge, ProcessorError> {
        let livemode = request.owner.livemode;
        let id = ids::new_plain_id("pchg", livemode);
        let mut charge = ProcessorCharge {
            id: id.clone(),
            key: request.key.to_owned(),
            amount: request.amount,
            currency: request.currency.to_owned(),
            link: request.link.to_owned(),
            attempt: request.attempt.to_owned(),
            status: Status::Pending,
            failure: None,
            transaction: None,
            card: None,
            source: None,
            authorize_uri: None,
            return_uri: request.return_uri.to_owned(),
            expires_at: request.expires_at,
            created: request.now,
        };
        let mut on_authentication = None;
        match request.payment {
            Payment::Card(card) => {
                let test = test_card(card).map_err(|refusal| {
                    ProcessorError::Refused(match refusal {
                        Refusal::NotATestCard => "not a test card".into(),
                        Refusal::LiveNotEnabled => "live mode".into(),
                    })
                })?;
                charge.card = Some(Card {
                    id: ids::new_plain_id("card", livemode),
                    brand: card.brand.name().to_owned(),
                    last_digits: card.last_digits().to_owned(),
                    expiration_month: card.expiration_month,
                    expiration_year: card.expiration_year,
                    name: card.name.clone(),
                    fingerprint: test.fingerprint.clone(),
                    security_code_check: test.security_code_check,
                });
                match (request.three_d_secure, test.three_d_secure) {
                    (true, ThreeDSecure::EnrolmentFails) => {
                        end(&mut charge, Some(FailureCode::PaymentRejected), livemode)
                    }
                    (true, authentication) => {
                        charge.authorize_uri =
                            Some(format!("{}/authorize?payment={id}", request.payment_uri));
                        on_authentication = Some(match (authentication, test.declined) {
                            (ThreeDSecure::ValidationFails, _) => {
                                FailureCode::PaymentRejected.code().to_owned()
                            }
                            (_, Some(code)) => code.code().to_owned(),
                            (_, None) => SUCCESSFUL.to_owned(),
                        });
                    }
                    (false, _) => end(&mut charge, test.declined, livemode),
                }
            }
            Payment::Token(_) => {
                return Err(ProcessorError::Refused(
                    "the built-in test processor has no card vault: a token is the gateway's"
                        .into(),
                ));
            }
            Payment::PromptPay => {
                charge.source = Some(Source {
                    id: ids::new_plain_id("src", livemode),
                    kind: "promptpay".into(),
                    amount: request.amount,
                    currency: request.currency.to_owned(),
                    document: ids::new_plain_id("docu", livemode),
                    download_uri: format!("{}/qr.svg?payment={id}", request.payment_uri),
                    payload: Self::test_qr_payload(
                        &format!("{} {}", request.amount, request.currency.to_uppercase()),
                        &id,
                    ),
                    created: request.now,
                });
            }
        }
        Ok(self
            .store
            .ledger_create(request.owner, &charge, on_authentication.as_deref())
            .await?)
    }

    /// Moves a pending charge to the end `finish` gives it, unless it has moved already: then it
    /// is answered as it is. `check` refuses the move (the charge is of the wrong kind, or its
    /// time ran out).
    async fn move_pending(
        &self,
        owner: &Principal,
        id: &str,
        check: impl Fn(&ProcessorCharge) -> Result<(), String>,
        finish: impl Fn(&mut ProcessorCharge, Option<&str>),
    ) -> Result<ProcessorCharge, ProcessorError> {
        let Some(found) = self.store.ledger_charge(owner, id).await? else {
            return Err(ProcessorError::Refused(format!("no charge {id}")));
        };
        let mut charge = found.charge;
        if charge.status != Status::Pending {
            return Ok(charge);
        }
        check(&charge).map_err(ProcessorError::Refused)?;
        finish(&mut charge, found.on_authentication.as_deref());
        if self
            .store
            .ledger_move(owner, &charge, Status::Pending)
            .await?
        {
            Ok(charge)
        } else {
            // Moved meanwhile by someone else: that move stands.
            self.store
                .ledger_charge(owner, id)
                .await?
                .map(|l| l.charge)
                .ok_or_else(|| ProcessorError::Refused(format!("no charge {id}")))
        }
    }
}

/// Ends `charge`: successful with a transaction, or failed with `failure`.
fn end(charge: &mut ProcessorCharge, failure: Option<FailureCode>, livemode: bool) {
    match failure {
        None => {
            charge.status = Status::Successful;
            charge.transaction = Some(ids::new_plain_id("trxn", livemode));
        }
        Some(code) => {
            charge.status = Status::Failed;
            charge.failure = Some(code.code().to_owned());
        }
    }
}

/// Refuses a move after the charge's expiry: it can only expire now.
fn in_time(now: DateTime<Utc>) -> impl Fn(&ProcessorCharge) -> Result<(), String> {
    move |charge| {
        if now > charge.expires_at {
            Err("expired".into())
        } else {
            Ok(())
        }
    }
}

impl Processor for TestProcessor {
    fn charge<'a>(&'a self, request: ChargeRequest<'a>) -> Answer<'a, ProcessorCharge> {
        Box::pin(self.charge_now(request))
    }

    fn find<'a>(
        &'a self,
        owner: &'a Principal,
        key: &'a str,
    ) -> Answer<'a, Option<ProcessorCharge>> {
        Box::pin(async move { Ok(self.store.ledger_find(owner, key).await?) })
    }

    fn retrieve<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
    ) -> Answer<'a, Option<ProcessorCharge>> {
        Box::pin(async move { Ok(self.store.ledger_charge(owner, id).await?.map(|l| l.charge)) })
    }

    fn expire<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        _now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        Box::pin(self.move_pending(
            owner,
            id,
            |_| Ok(()),
            |charge, _| charge.status = Status::Expired,
        ))
    }

    fn reverse<'a>(&'a self, owner: &'a Principal, id: &'a str) -> Answer<'a, ProcessorCharge> {
        Box::pin(async move {
            let Some(found) = self.store.ledger_charge(owner, id).await? else {
                return Err(ProcessorError::Refused(format!("no charge {id}")));
            };
            let mut charge = found.charge;
            match charge.status {
                Status::Reversed => Ok(charge),
                Status::Successful => {
                    charge.status = Status::Reversed;
                    if self
                        .store
                        .ledger_move(owner, &charge, Status::Successful)
                        .await?
                    {
                        Ok(charge)
                    } else {
                        Err(ProcessorError::Refused(
                            "the charge changed meanwhile".into(),
                        ))
                    }
                }
                other => Err(ProcessorError::Refused(format!(
                    "a {} charge cannot be reversed",
                    other.as_str()
                ))),
            }
        })
    }

    fn mark<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        paid: bool,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        let in_time = in_time(now);
        Box::pin(self.move_pending(
            owner,
            id,
            move |charge| {
                if charge.source.is_none() {
                    return Err("only a PromptPay charge is marked paid or failed".into());
                }
                in_time(charge)
            },
            move |charge, _| {
                end(
                    charge,
                    (!paid).then_some(FailureCode::PaymentRejected),
                    owner.livemode,
                )
            },
        ))
    }

    fn authenticate<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        passed: bool,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        let in_time = in_time(now);
        Box::pin(self.move_pending(
            owner,
            id,
            move |charge| {
                if charge.authorize_uri.is_none() {
                    return Err("the charge awaits no authentication".into());
                }
                in_time(charge)
            },
            move |charge, outcome| {
                let failure = match (passed, outcome) {
                    (true, Some(SUCCESSFUL)) => None,
                    (true, Some(code)) => {
                        Some(FailureCode::from_code(code).unwrap_or(FailureCode::PaymentRejected))
                    }
                    _ => Some(FailureCode::PaymentRejected),
                };
                end(charge, failure, owner.livemode)
            },
        ))
    }

    fn refund<'a>(
        &'a self,
        owner: &'a Principal,
        charge: &'a str,
        key: &'a str,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorRefund> {
        Box::pin(async move {
            let Some(found) = self.store.ledger_charge(owner, charge).await? else {
                return Err(ProcessorError::Refused(format!("no charge {charge}")));
            };
            let refund = ProcessorRefund {
                id: ids::new_plain_id("prfn", owner.livemode),
                key: key.to_owned(),
                charge: charge.to_owned(),
                amount,
                transaction: ids::new_plain_id("trxn", owner.livemode),
                created: now,
            };
            self.store
                .ledger_refund(owner, &refund, found.charge.amount)
                .await?
                .map_err(ProcessorError::Refused)
        })
    }

    fn find_refund<'a>(
        &'a self,
        owner: &'a Principal,
        charge: &'a str,
        key: &'a str,
    ) -> Answer<'a, Option<ProcessorRefund>> {
        Box::pin(async move { Ok(self.store.ledger_find_refund(owner, charge, key).await?) })
    }
}
