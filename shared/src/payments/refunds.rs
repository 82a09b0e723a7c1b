//! Refunds through time: set aside, asked of the processor, recorded (see `store::refunds`).
//!
//! As with payments, the record comes first and the processor decides: a refund whose answer
//! was lost is found again at the processor by its id (the key it was made under) and recorded,
//! or, when the processor never heard of it by its deadline, abandoned and what it set aside
//! released. A call that gave up on its answer (`503`) is therefore settled by the sweep; a
//! retry with the same `Idempotency-Key` answers the same refund.

use super::Payments;
use crate::domain::attempt::AttemptState;
use crate::domain::charge::{Charge, Status};
use crate::domain::error::ApiError;
use crate::domain::ids;
use crate::domain::principal::Principal;
use crate::domain::refund::{MAX_REFUNDS_PER_CHARGE, Refund, refund_window_days};
use crate::processor::{ProcessorError, ProcessorRefund};
use crate::store::refunds::{RefundAttempt, RefundBegin, RefundRefusal};
use crate::validate::IdempotencyKey;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How long a refund may wait for its processor's answer before the sweep settles it.
pub const REFUND_DEADLINE: Duration = Duration::from_secs(2 * 60);

/// Refunds, over the same store and processor as payments.
#[derive(Clone, Copy)]
pub struct Refunds<'a> {
    payments: Payments<'a>,
}

/// The error a refused refund answers: Omise's `failed_refund`.
fn failed(message: impl Into<String>) -> ApiError {
    ApiError::Refused {
        code: "failed_refund",
        message: message.into(),
    }
}

impl<'a> Refunds<'a> {
    pub fn new(payments: Payments<'a>) -> Self {
        Self { payments }
    }

    /// Refunds `amount` of `owner`'s charge `charge_id`, at `now`. `idempotency`: the call's
    /// `Idempotency-Key` and a fingerprint of what it asks.
    pub async fn create(
        &self,
        owner: &Principal,
        charge_id: &str,
        amount: i64,
        idempotency: Option<(&IdempotencyKey, &str)>,
        now: DateTime<Utc>,
    ) -> Result<Refund, ApiError> {
        let store = self.payments.store;
        let charge = store
            .get_charge(owner, charge_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("charge {charge_id}")))?;
        // A retry is answered as its refund stands, whatever the charge says now.
        if let Some((key, fingerprint)) = idempotency {
            if let Some(earlier) = store.refund_for_key(owner, key, fingerprint, now).await? {
                return self.answer(&earlier, now).await;
            }
        }
        check(&charge, amount, now)?;
        let attempt = RefundAttempt {
            id: ids::new_plain_id("rfnd", owner.livemode),
            owner: owner.clone(),
            charge: charge.id.clone(),
            amount,
            state: AttemptState::Started,
            deadline: now + chrono::Duration::from_std(REFUND_DEADLINE).expect("small"),
            created: now,
        };
        match store
            .begin_refund(&attempt, &charge, idempotency, now)
            .await?
        {
            RefundBegin::Begun => {}
            RefundBegin::Replay(earlier) => return self.answer(&earlier, now).await,
            // Another refund took what this one checked for, in the meantime.
            RefundBegin::Refused(refusal) => {
                return Err(match refusal {
                    RefundRefusal::NotSuccessful => {
                        failed("charge can't be refunded: it is not successful")
                    }
                    RefundRefusal::TooMany => failed(format!(
                        "charge can't be refunded: it has had the most refunds a charge takes ({MAX_REFUNDS_PER_CHARGE})"
                    )),
                    RefundRefusal::TooMuch { remaining } => ApiError::InvalidAmount(format!(
                        "amount is more than remains to be refunded of the charge ({remaining})"
                    )),
                });
            }
        }
        let Some(processor_charge) = charge.processor_charge.as_deref() else {
            store.abandon_refund(&attempt).await?;
            return Err(failed("charge can't be refunded: it predates refunds"));
        };
        match self
            .payments
            .processor
            .refund(owner, processor_charge, &attempt.id, amount, now)
            .await
        {
            Ok(made) => self.record(&attempt, &charge, made, now).await,
            Err(ProcessorError::Refused(why)) => {
                tracing::warn!(refund = %attempt.id, why, "the processor refused a refund");
                store.abandon_refund(&attempt).await?;
                Err(failed("charge can't be refunded"))
            }
            Err(ProcessorError::Unavailable(cause)) => Err(ApiError::ServiceUnavailable(cause)),
        }
    }

    /// Records the processor's `made` refund for `attempt`: the refund as the API serves it.
    async fn record(
        &self,
        attempt: &RefundAttempt,
        charge: &Charge,
        made: ProcessorRefund,
        now: DateTime<Utc>,
    ) -> Result<Refund, ApiError> {
        if made.key != attempt.id || made.amount != attempt.amount {
            return Err(ApiError::internal(format!(
                "the processor's refund {} does not match refund {}",
                made.id, attempt.id
            )));
        }
        let refund = Refund {
            id: attempt.id.clone(),
            charge: charge.id.clone(),
            amount: attempt.amount,
            currency: charge.currency.clone(),
            transaction: Some(made.transaction),
            created: attempt.created,
        };
        if self
            .payments
            .store
            .record_refund(attempt, charge, &refund, now)
            .await?
        {
            tracing::info!(refund = %refund.id, charge = %charge.id, amount = refund.amount, "refund recorded");
            Ok(refund)
        } else {
            let now_attempt = self
                .payments
                .store
                .get_refund_attempt(&attempt.owner, &attempt.id)
                .await?
                .ok_or_else(|| ApiError::internal("a refund record is gone"))?;
            Box::pin(self.answer_now(&now_attempt, now)).await
        }
    }

    /// The answer for a refund already begun: as recorded, or settled now if it can be. A
    /// retry that meets its first call still asking the processor waits for it a little (up to
    /// `payments::REPLAY_WAIT`), as a resubmitted payment form does.
    async fn answer(
        &self,
        attempt: &RefundAttempt,
        now: DateTime<Utc>,
    ) -> Result<Refund, ApiError> {
        let started = std::time::Instant::now();
        let mut attempt = attempt.clone();
        loop {
            match Box::pin(self.answer_now(&attempt, now)).await {
                Err(ApiError::ServiceUnavailable(_))
                    if started.elapsed() < super::REPLAY_WAIT
                        && attempt.state == AttemptState::Started =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    attempt = self
                        .payments
                        .store
                        .get_refund_attempt(&attempt.owner, &attempt.id)
                        .await?
                        .ok_or_else(|| ApiError::internal("a refund record is gone"))?;
                }
                answer => return answer,
            }
        }
    }

    async fn answer_now(
        &self,
        attempt: &RefundAttempt,
        now: DateTime<Utc>,
    ) -> Result<Refund, ApiError> {
        match attempt.state {
            AttemptState::Done => {
                let charge = self.charge_of(attempt).await?;
                charge
                    .refunds
                    .into_iter()
                    .find(|r| r.id == attempt.id)
                    .ok_or_else(|| {
                        ApiError::internal(format!("refund {} is not on its charge", attempt.id))
                    })
            }
            AttemptState::Abandoned => Err(failed("charge can't be refunded")),
            _ => match self.settle(attempt, now).await? {
                Some(refund) => Ok(refund),
                None if attempt.state == AttemptState::Started && !overdue(attempt, now) => Err(
                    ApiError::ServiceUnavailable("the refund's outcome is not known yet".into()),
                ),
                None => Err(failed("charge can't be refunded")),
            },
        }
    }

    async fn charge_of(&self, attempt: &RefundAttempt) -> Result<Charge, ApiError> {
        self.payments
            .store
            .get_charge(&attempt.owner, &attempt.charge)
            .await?
            .ok_or_else(|| ApiError::internal(format!("refund {} lost its charge", attempt.id)))
    }

    /// Settles a started refund from the processor's record: recorded if it was made, abandoned
    /// if it was not and its deadline passed. The refund, when there is one.
    async fn settle(
        &self,
        attempt: &RefundAttempt,
        now: DateTime<Utc>,
    ) -> Result<Option<Refund>, ApiError> {
        let charge = self.charge_of(attempt).await?;
        let processor_charge = charge.processor_charge.clone().unwrap_or_default();
        let found = self
            .payments
            .processor
            .find_refund(&attempt.owner, &processor_charge, &attempt.id)
            .await
            .map_err(|e| match e {
                ProcessorError::Unavailable(cause) => ApiError::ServiceUnavailable(cause),
                ProcessorError::Refused(why) => ApiError::internal(why),
            })?;
        match found {
            Some(made) => self.record(attempt, &charge, made, now).await.map(Some),
            None if overdue(attempt, now) => {
                self.payments.store.abandon_refund(attempt).await?;
                tracing::info!(refund = %attempt.id, "refund abandoned: the processor never made it");
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// The sweep's part: settles the refund `id` of `owner` if it is still unsettled. Whether it
    /// is settled now.
    pub async fn settle_overdue(
        &self,
        owner: &Principal,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let Some(attempt) = self.payments.store.get_refund_attempt(owner, id).await? else {
            return Ok(true);
        };
        if attempt.state != AttemptState::Started {
            return Ok(true);
        }
        self.settle(&attempt, now).await?;
        Ok(overdue(&attempt, now))
    }
}

fn overdue(attempt: &RefundAttempt, now: DateTime<Utc>) -> bool {
    now > attempt.deadline
}

/// Omise's rules for a refund of `charge`, as it was read: the error to answer when broken.
fn check(charge: &Charge, amount: i64, now: DateTime<Utc>) -> Result<(), ApiError> {
    if charge.status != Status::Successful {
        return Err(failed(format!(
            "charge can't be refunded: it is {}",
            charge.status.as_str()
        )));
    }
    let days = refund_window_days(charge.card.as_ref().map(|c| c.brand.as_str()));
    if now - charge.created > chrono::Duration::days(days) {
        return Err(failed(format!(
            "charge can't be refunded: it is more than {days} days old"
        )));
    }
    if amount > charge.refundable() {
        return Err(ApiError::InvalidAmount(format!(
            "amount is more than remains to be refunded of the charge ({})",
            charge.refundable()
        )));
    }
    if charge.refunds.len() as u32 >= MAX_REFUNDS_PER_CHARGE {
        return Err(failed(format!(
            "charge can't be refunded: it has had the most refunds a charge takes ({MAX_REFUNDS_PER_CHARGE})"
        )));
    }
    Ok(())
}
