//! Payments through time: an attempt is recorded, the processor is asked, and what it answers
//! is recorded, by whoever gets there first. This is the one place that decides what a charge
//! is; every page, API call and sweep that moves one comes through here.
//!
//! # The rules
//!
//! - **Recorded before asked.** An attempt is written (`started`, with a deadline) before the
//!   processor hears of it ([`Store::begin_attempt`]). A function that dies at any step leaves
//!   that record; whoever finds it past its deadline asks the processor what became of it, by
//!   the key it was made under, and records that ([`Payments::standing`]), or abandons it when
//!   the processor never heard of it: then, and only then, nothing was charged.
//! - **The processor decides.** Nothing is recorded but the processor's answer, checked against
//!   the attempt (amount, currency, link, attempt, key). A buyer coming back from their bank, a
//!   page reloaded, a `mark_as_paid`, are all only reasons to ask it again.
//! - **Forward only.** A charge is created once per attempt (conditioned on the attempt being
//!   `started`) and moves out of `pending` once (conditioned on its status), each move in one
//!   transaction with its event. A late, repeated or out-of-order answer finds it final, and
//!   changes nothing.
//! - **One buyer at a time on a single-use link.** An attempt on a single-use link holds the
//!   link from before the processor is asked until its charge is final, so no one else is
//!   charged meanwhile; they are told the link is being paid, and until when. When the hold's
//!   deadline passes (an abandoned 3-D Secure page, a QR code never paid), the next buyer, the
//!   sweep, or its own buyer returning, settles it first: a pending charge is expired at the
//!   processor (which answers its final state, if it was paid a moment before) and recorded so.
//!   Hence at most one successful charge on a single-use link, ever.
//! - **Undone when it cannot be taken.** A charge that the link can no longer take (destroyed
//!   meanwhile, or, against the hold, paid by someone else) is undone at the processor
//!   (reversed, or expired) and its attempt abandoned: its buyer is told nothing was charged.

pub mod refunds;

use crate::domain::attempt::{
    AUTHENTICATION_WINDOW, Attempt, AttemptState, CARD_WINDOW, Method, PROMPTPAY_WINDOW,
};
use crate::domain::charge::{Charge, Status};
use crate::domain::error::ApiError;
use crate::domain::link::Link;
use crate::domain::principal::Principal;
use crate::processor::{ChargeRequest, Payment, Processor, ProcessorCharge, ProcessorError};
use crate::store::{Begin, DueKind, Settled, Store};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, Ordering};

/// The store and the processor a payment goes through.
#[derive(Clone, Copy)]
pub struct Payments<'a> {
    pub store: &'a Store,
    pub processor: &'a dyn Processor,
}

/// A buyer's attempt to pay a link, as their form asks it.
pub struct PayRequest<'a> {
    pub link: &'a Link,
    /// The attempt's id and the key the processor will know it by (see `domain::attempt`).
    pub attempt_id: String,
    pub gateway_key: String,
    pub payment: Payment<'a>,
    /// The card's fingerprint (for the failed-payment bounds).
    pub fingerprint: Option<String>,
    /// Whether the account's card payments go through 3-D Secure.
    pub three_d_secure: bool,
    pub ip: Option<String>,
    pub payment_uri: &'a str,
    pub now: DateTime<Utc>,
}

/// Why nothing was charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nothing {
    /// The processor never heard of the attempt.
    Abandoned,
    /// The link was destroyed while the processor was being asked: what it made was undone.
    LinkWithdrawn,
    /// Someone else paid the single-use link first: what the processor made was undone.
    LinkTaken,
}

/// Where a buyer's attempt stands: what their page shows.
#[derive(Debug)]
pub enum Standing {
    /// Its charge: successful, failed, pending, expired or reversed.
    Charged(Box<Charge>),
    /// Nothing was charged, and nothing will be.
    Nothing(Nothing),
    /// Not known yet: the processor's answer is not recorded and the attempt's time is not up.
    /// Asked again (a reload), it is known.
    Unconfirmed,
    /// Another buyer is paying the single-use link, until this time at the latest.
    Held(DateTime<Utc>),
    /// Every place of the limited link is taken, some by other buyers' payments still in
    /// flight: one may come free if such a payment ends unpaid.
    Full,
    /// The link cannot be paid (destroyed, or paid): as it is now.
    NotPayable(Box<Link>),
}

/// How far a payment got, for a caller that must tell its buyer what happened when the payment
/// is cut short (a deadline, a failure): before the processor was asked, nothing was charged;
/// after, it is not known until the attempt is settled.
#[derive(Debug, Default)]
pub struct Progress(AtomicBool);

impl Progress {
    /// Whether the processor may have been asked.
    pub fn processor_asked(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn asking(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Overdue attempts and refunds looked at.
    pub found: usize,
    /// Of those, settled by this sweep (recorded, expired or abandoned).
    pub settled: usize,
    /// Still unsettled: the processor could not be asked, or something failed (logged).
    pub left: usize,
}

/// How long a form posted again waits for its first post's outcome (see [`Payments::replay`]).
pub const REPLAY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// How many overdue entries one sweep takes from each shard of the index.
pub const SWEEP_BATCH: i32 = 50;

impl<'a> Payments<'a> {
    pub fn new(store: &'a Store, processor: &'a dyn Processor) -> Self {
        Self { store, processor }
    }

    /// The deadline of an attempt begun at `now` with `method`.
    pub fn deadline(method: Method, three_d_secure: bool, now: DateTime<Utc>) -> DateTime<Utc> {
        let window = match (method, three_d_secure) {
            (Method::PromptPay, _) => PROMPTPAY_WINDOW,
            (Method::Card, true) => AUTHENTICATION_WINDOW,
            (Method::Card, false) => CARD_WINDOW,
        };
        now + chrono::Duration::from_std(window).expect("windows are small")
    }

    /// A buyer pays: the attempt is recorded, the processor asked, its answer recorded. A form
    /// submitted again is answered with its attempt as it stands, and asks nothing again.
    /// `progress` says, if this is cut short, whether the processor may have been asked.
    pub async fn pay(
        &self,
        request: PayRequest<'_>,
        progress: &Progress,
    ) -> Result<Standing, ApiError> {
        let link = request.link;
        let owner = Principal {
            account_id: link.account_id.clone(),
            livemode: link.livemode,
        };
        let method = match request.payment {
            Payment::Card(_) | Payment::Token(_) => Method::Card,
            Payment::PromptPay => Method::PromptPay,
        };
        let now = request.now;
        let deadline = Self::deadline(method, request.three_d_secure, now);
        let return_uri = format!(
            "{}/complete?attempt={}",
            request.payment_uri, request.attempt_id
        );
        let attempt = Attempt {
            id: request.attempt_id.clone(),
            owner: owner.clone(),
            link: link.id.clone(),
            payment_token: link.payment_token.clone(),
            method,
            state: AttemptState::Started,
            gateway_key: request.gateway_key.clone(),
            processor_charge: None,
            charge: None,
            deadline,
            created: now,
            ip: request.ip.clone(),
            fingerprint: request.fingerprint.clone(),
            return_uri: return_uri.clone(),
            holds_link: !link.multiple,
            holds_place: link.multiple && link.usage_limit.is_some(),
        };
        // A hold past its deadline is settled first; twice is enough, as a settled hold is gone.
        let mut current = link.clone();
        for _ in 0..3 {
            match self.store.begin_attempt(&attempt, &current, now).await? {
                Begin::Begun => {
                    progress.asking();
                    let answer = self
                        .processor
                        .charge(ChargeRequest {
                            owner: &owner,
                            key: &attempt.gateway_key,
                            amount: link.amount,
                            currency: link.currency.code,
                            payment: request.payment,
                            three_d_secure: request.three_d_secure,
                            return_uri: &return_uri,
                            payment_uri: request.payment_uri,
                            expires_at: deadline,
                            description: &link.charge_description(),
                            ip: request.ip.as_deref(),
                            link: &link.id,
                            attempt: &attempt.id,
                            now,
                        })
                        .await;
                    return match answer {
                        // Boxed, as are the other long paths below: a payment's future stays small
                        // enough for a 2 MiB thread stack even unoptimised (five posts of one form
                        // polled together overflowed it).
                        Ok(charge) => {
                            Box::pin(self.settle(&attempt, Some(&current), charge, now)).await
                        }
                        // It said no: nothing was done, and nothing will be.
                        Err(ProcessorError::Refused(why)) => {
                            tracing::warn!(attempt = %attempt.id, why, "the processor refused a charge");
                            self.abandon(&attempt, now).await
                        }
                        Err(ProcessorError::Unavailable(cause)) => {
                            tracing::warn!(attempt = %attempt.id, %cause, "no answer from the processor; the attempt is settled later");
                            Ok(Standing::Unconfirmed)
                        }
                    };
                }
                Begin::Exists(earlier) => return Box::pin(self.replay(earlier, now)).await,
                Begin::NotPayable(now_link) => return Ok(Standing::NotPayable(Box::new(now_link))),
                Begin::Full(_) => return Ok(Standing::Full),
                Begin::Held(held) => {
                    let Some(hold) = held.hold.clone() else {
                        return Ok(Standing::NotPayable(Box::new(held)));
                    };
                    if hold.until >= now {
                        return Ok(Standing::Held(hold.until));
                    }
                    // Past its deadline: settle the attempt that holds it, then try again.
                    match self.store.get_attempt(&owner, &hold.attempt).await? {
                        Some(holder) => {
                            Box::pin(self.standing(&holder, now)).await?;
                        }
                        None => {
                            // Its record is gone (kept a day): nothing can still be settling.
                            self.store.release_hold(&held, &hold.attempt).await?;
                        }
                    }
                    current = self
                        .store
                        .get_link(&owner, &link.id)
                        .await?
                        .ok_or_else(|| ApiError::NotFound(format!("link {}", link.id)))?;
                    if !current.payable() {
                        return Ok(Standing::NotPayable(Box::new(current)));
                    }
                }
            }
        }
        Err(ApiError::ServiceUnavailable(
            "the link's hold kept changing hands".into(),
        ))
    }

    /// Where `attempt` stands, settling it when that can be done now: an attempt whose charge
    /// was not recorded is asked of the processor (and abandoned, past its deadline, when the
    /// processor never heard of it); a pending charge is read again from the processor, and
    /// expired there past its deadline.
    pub async fn standing(
        &self,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> Result<Standing, ApiError> {
        match attempt.state {
            AttemptState::Abandoned => Ok(Standing::Nothing(Nothing::Abandoned)),
            AttemptState::Done => self
                .recorded(attempt)
                .await
                .map(|c| Standing::Charged(Box::new(c))),
            AttemptState::Started => {
                match self
                    .processor
                    .find(&attempt.owner, &attempt.gateway_key)
                    .await
                {
                    Ok(Some(charge)) => self.settle(attempt, None, charge, now).await,
                    Ok(None) if attempt.overdue(now) => self.abandon(attempt, now).await,
                    Ok(None) => Ok(Standing::Unconfirmed),
                    Err(error) => {
                        tracing::warn!(attempt = %attempt.id, ?error, "could not ask the processor about an attempt");
                        Ok(Standing::Unconfirmed)
                    }
                }
            }
            AttemptState::Pending => {
                let recorded = self.recorded(attempt).await?;
                let Some(id) = recorded.processor_charge.clone() else {
                    return Err(ApiError::internal(
                        "a pending charge without its processor's",
                    ));
                };
                match self.processor.retrieve(&attempt.owner, &id).await {
                    // Still waiting, and in time: as recorded, with nothing to write (a PromptPay
                    // page refreshing every few seconds costs its reads only).
                    Ok(Some(charge)) if !charge.status.is_final() && !attempt.overdue(now) => {
                        charge
                            .check(
                                &attempt.gateway_key,
                                &recorded.link,
                                &attempt.id,
                                recorded.amount,
                                &recorded.currency,
                            )
                            .map_err(ApiError::internal)?;
                        Ok(Standing::Charged(Box::new(recorded)))
                    }
                    Ok(Some(charge)) => {
                        self.settle_recorded(attempt, None, Some(recorded), charge, now)
                            .await
                    }
                    Ok(None) => Err(ApiError::internal(format!(
                        "the processor has no charge {id}"
                    ))),
                    Err(error) => {
                        tracing::warn!(attempt = %attempt.id, ?error, "could not ask the processor about a pending charge");
                        Ok(Standing::Charged(Box::new(recorded)))
                    }
                }
            }
        }
    }

    /// Where an attempt begun before stands, for its form posted again (a double click, a
    /// reload). While its first post may still be asking the processor, this waits for it a
    /// little (up to [`REPLAY_WAIT`]), so that the second post is answered with the first's
    /// outcome rather than "not known yet".
    pub async fn replay(
        &self,
        mut attempt: Attempt,
        now: DateTime<Utc>,
    ) -> Result<Standing, ApiError> {
        let started = std::time::Instant::now();
        loop {
            let standing = self.standing(&attempt, now).await?;
            if !matches!(standing, Standing::Unconfirmed) || started.elapsed() >= REPLAY_WAIT {
                return Ok(standing);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            attempt = self
                .store
                .get_attempt(&attempt.owner, &attempt.id)
                .await?
                .ok_or_else(|| ApiError::internal("a begun attempt is gone"))?;
        }
    }

    /// The charge recorded for `attempt`.
    async fn recorded(&self, attempt: &Attempt) -> Result<Charge, ApiError> {
        let id = attempt
            .charge
            .as_deref()
            .ok_or_else(|| ApiError::internal("a settled attempt without its charge"))?;
        self.store
            .get_charge(&attempt.owner, id)
            .await?
            .ok_or_else(|| ApiError::internal(format!("attempt names a missing charge {id}")))
    }

    /// Records what the processor says of `attempt`'s charge (`charge`), expiring it at the
    /// processor first when it is pending past the attempt's deadline. `link` is the link as
    /// last read, if at hand.
    pub async fn settle(
        &self,
        attempt: &Attempt,
        link: Option<&Link>,
        charge: ProcessorCharge,
        now: DateTime<Utc>,
    ) -> Result<Standing, ApiError> {
        self.settle_recorded(attempt, link, None, charge, now).await
    }

    /// [`Payments::settle`], given the attempt's charge as recorded when the caller has just
    /// read it (a pending attempt's), so that it is not read twice.
    async fn settle_recorded(
        &self,
        attempt: &Attempt,
        link: Option<&Link>,
        recorded: Option<Charge>,
        mut charge: ProcessorCharge,
        now: DateTime<Utc>,
    ) -> Result<Standing, ApiError> {
        let owner = &attempt.owner;
        let link = match link {
            Some(link) => link.clone(),
            None => self
                .store
                .get_link(owner, &attempt.link)
                .await?
                .ok_or_else(|| {
                    ApiError::internal(format!("attempt {} lost its link", attempt.id))
                })?,
        };
        charge
            .check(
                &attempt.gateway_key,
                &link.id,
                &attempt.id,
                link.amount,
                link.currency.code,
            )
            .map_err(ApiError::internal)?;
        if charge.status == Status::Pending && attempt.overdue(now) {
            charge = self
                .ask(self.processor.expire(owner, &charge.id, now))
                .await?;
        }
        match attempt.state {
            AttemptState::Started => {
                let (settled, recorded) = self
                    .store
                    .record_charge(attempt, &link, |at| {
                        link.charge(
                            charge.facts(),
                            &charge.id,
                            &attempt.id,
                            attempt.ip.clone(),
                            &attempt.return_uri,
                            at,
                        )
                    })
                    .await?;
                match settled {
                    Settled::Written => {
                        tracing::info!(charge = %recorded.id, link = %link.id, status = recorded.status.as_str(), "charge recorded");
                        Ok(Standing::Charged(Box::new(recorded)))
                    }
                    Settled::Overtaken(now_attempt) => {
                        Box::pin(self.standing(&now_attempt, now)).await
                    }
                    Settled::LinkRefused(now_link) => {
                        let why = if now_link.deleted_at.is_some() {
                            Nothing::LinkWithdrawn
                        } else {
                            Nothing::LinkTaken
                        };
                        tracing::warn!(attempt = %attempt.id, link = %link.id, ?why, "the link cannot take this charge: undoing it");
                        self.undo(owner, charge, now).await?;
                        match self.store.abandon_attempt(attempt).await? {
                            None => Ok(Standing::Nothing(why)),
                            Some(now_attempt) => Box::pin(self.standing(&now_attempt, now)).await,
                        }
                    }
                }
            }
            AttemptState::Pending => {
                let before = match recorded {
                    Some(charge) => charge,
                    None => self.recorded(attempt).await?,
                };
                if before.status.is_final() || !charge.status.is_final() {
                    return Ok(Standing::Charged(Box::new(before)));
                }
                let mut after = before.clone();
                after.apply(charge.facts());
                match self
                    .store
                    .complete_charge(attempt, &before, &after, now, true)
                    .await?
                {
                    Settled::Written => {
                        tracing::info!(charge = %after.id, status = after.status.as_str(), "pending charge completed");
                        Ok(Standing::Charged(Box::new(after)))
                    }
                    Settled::Overtaken(now_attempt) => {
                        Box::pin(self.standing(&now_attempt, now)).await
                    }
                    Settled::LinkRefused(_) => {
                        // Against the hold, the single-use link was paid by another attempt:
                        // this charge must not stand beside that one.
                        tracing::error!(attempt = %attempt.id, "a pending charge's link was taken against its hold: undoing it");
                        let undone = self.undo(owner, charge, now).await?;
                        let mut after = before.clone();
                        after.apply(undone.facts());
                        match self
                            .store
                            .complete_charge(attempt, &before, &after, now, false)
                            .await?
                        {
                            Settled::Written => Ok(Standing::Charged(Box::new(after))),
                            Settled::Overtaken(now_attempt) => {
                                Box::pin(self.standing(&now_attempt, now)).await
                            }
                            Settled::LinkRefused(_) => Err(ApiError::internal(
                                "a completion that leaves the link alone was refused by it",
                            )),
                        }
                    }
                }
            }
            AttemptState::Done | AttemptState::Abandoned => {
                Box::pin(self.standing(attempt, now)).await
            }
        }
    }

    /// Undoes a charge at the processor: a pending one expired, a successful one reversed (a
    /// pending one paid a moment before it was expired is then reversed too). Answers it as it
    /// ends.
    async fn undo(
        &self,
        owner: &Principal,
        mut charge: ProcessorCharge,
        now: DateTime<Utc>,
    ) -> Result<ProcessorCharge, ApiError> {
        if charge.status == Status::Pending {
            charge = self
                .ask(self.processor.expire(owner, &charge.id, now))
                .await?;
        }
        if charge.status == Status::Successful {
            charge = self.ask(self.processor.reverse(owner, &charge.id)).await?;
        }
        Ok(charge)
    }

    /// Abandons `attempt`: the processor never heard of it.
    async fn abandon(&self, attempt: &Attempt, now: DateTime<Utc>) -> Result<Standing, ApiError> {
        match self.store.abandon_attempt(attempt).await? {
            None => {
                tracing::info!(attempt = %attempt.id, "attempt abandoned: nothing was charged");
                Ok(Standing::Nothing(Nothing::Abandoned))
            }
            Some(now_attempt) => Box::pin(self.standing(&now_attempt, now)).await,
        }
    }

    /// A processor call whose failure leaves the caller's attempt to be settled later: a 503.
    async fn ask<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, ProcessorError>>,
    ) -> Result<T, ApiError> {
        call.await.map_err(|e| match e {
            ProcessorError::Unavailable(cause) => ApiError::ServiceUnavailable(cause),
            ProcessorError::Refused(why) => {
                ApiError::internal(format!("the processor refused: {why}"))
            }
        })
    }

    /// The buyer's answer on the test processor's stand-in 3-D Secure page for its charge
    /// `processor_charge` of `owner`, recorded: where the attempt stands after it.
    pub async fn authenticate(
        &self,
        owner: &Principal,
        processor_charge: &str,
        passed: bool,
        now: DateTime<Utc>,
    ) -> Result<(Attempt, Standing), ApiError> {
        let charge = match self
            .processor
            .authenticate(owner, processor_charge, passed, now)
            .await
        {
            Ok(charge) => charge,
            // Too late, or not waiting for this: whatever it is now is what is recorded.
            Err(ProcessorError::Refused(why)) => {
                tracing::info!(processor_charge, why, "authentication refused");
                self.ask(self.processor.retrieve(owner, processor_charge))
                    .await?
                    .ok_or_else(|| ApiError::NotFound(format!("payment {processor_charge}")))?
            }
            Err(ProcessorError::Unavailable(cause)) => {
                return Err(ApiError::ServiceUnavailable(cause));
            }
        };
        let attempt = self
            .store
            .get_attempt(owner, &charge.attempt)
            .await?
            .ok_or_else(|| ApiError::internal(format!("no attempt {}", charge.attempt)))?;
        let standing = self.settle(&attempt, None, charge, now).await?;
        Ok((attempt, standing))
    }

    /// Test mode: `owner`'s pending PromptPay charge `charge_id` paid (`paid`) or failed, as
    /// Omise's `mark_as_paid` and `mark_as_failed`: the processor's charge is moved, and what it
    /// then says is recorded. Marking a charge that is no longer pending, or that is not a
    /// PromptPay charge, is refused (`invalid_charge`); one whose QR code expired is recorded as
    /// expired and refused (`expired_charge`). Concurrent calls record one outcome, and each
    /// answers it.
    pub async fn mark(
        &self,
        owner: &Principal,
        charge_id: &str,
        paid: bool,
        now: DateTime<Utc>,
    ) -> Result<Charge, ApiError> {
        let refused = |code, message: String| ApiError::Refused { code, message };
        let charge = self
            .store
            .get_charge(owner, charge_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("charge {charge_id}")))?;
        if charge.source.is_none() {
            return Err(refused(
                "invalid_charge",
                "only a PromptPay charge can be marked paid or failed".into(),
            ));
        }
        if charge.status != Status::Pending {
            return Err(refused(
                "invalid_charge",
                format!("charge is not pending: it is {}", charge.status.as_str()),
            ));
        }
        let (Some(attempt_id), Some(processor_charge)) =
            (&charge.attempt, &charge.processor_charge)
        else {
            return Err(ApiError::internal("a pending charge without its attempt"));
        };
        let attempt = self
            .store
            .get_attempt(owner, attempt_id)
            .await?
            .ok_or_else(|| ApiError::internal(format!("no attempt {attempt_id}")))?;
        let answer = match self
            .processor
            .mark(owner, processor_charge, paid, now)
            .await
        {
            Ok(answer) => answer,
            Err(ProcessorError::Refused(why)) => {
                tracing::info!(charge = charge_id, why, "mark refused by the processor");
                // Too late: it expires now, and the caller hears so.
                if let Standing::Charged(ended) = self.standing(&attempt, now).await? {
                    if ended.status == Status::Expired {
                        return Err(refused("expired_charge", "charge expired".into()));
                    }
                    return Ok(*ended);
                }
                return Err(refused("invalid_charge", why));
            }
            Err(ProcessorError::Unavailable(cause)) => {
                return Err(ApiError::ServiceUnavailable(cause));
            }
        };
        match self
            .settle_recorded(&attempt, None, Some(charge), answer, now)
            .await?
        {
            Standing::Charged(recorded) => Ok(*recorded),
            other => Err(ApiError::internal(format!(
                "a marked charge stands as {other:?}"
            ))),
        }
    }

    /// Ends the pending charge of `attempt` now, at its buyer's request ("pay another way"):
    /// expired, unless it had been paid meanwhile.
    pub async fn cancel(
        &self,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> Result<Standing, ApiError> {
        if attempt.state != AttemptState::Pending {
            return self.standing(attempt, now).await;
        }
        let recorded = self.recorded(attempt).await?;
        let Some(id) = recorded.processor_charge.as_deref() else {
            return Err(ApiError::internal(
                "a pending charge without its processor's",
            ));
        };
        let charge = self
            .ask(self.processor.expire(&attempt.owner, id, now))
            .await?;
        self.settle(attempt, None, charge, now).await
    }

    /// Settles what is overdue at `now`: attempts and refunds whose deadline passed unsettled
    /// (a function that died, a processor that did not answer, a pending charge never
    /// completed). See the rules above. Each entry is settled on its own: one failing is logged
    /// and left for the next sweep.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<Swept, ApiError> {
        let due = self.store.overdue(now, SWEEP_BATCH).await?;
        let mut swept = Swept {
            found: due.len(),
            ..Swept::default()
        };
        for entry in due {
            let result = match entry.kind {
                DueKind::Attempt => match self.store.get_attempt(&entry.owner, &entry.id).await {
                    Ok(Some(attempt)) => self.standing(&attempt, now).await.map(|s| {
                        !matches!(s, Standing::Unconfirmed)
                            && !matches!(&s, Standing::Charged(c) if c.status == Status::Pending)
                    }),
                    Ok(None) => {
                        // Its record is gone (a day old): nothing is left to settle.
                        self.store.forget_overdue(&entry).await.map(|()| true)
                    }
                    Err(e) => Err(e),
                },
                DueKind::Refund => {
                    refunds::Refunds::new(*self)
                        .settle_overdue(&entry.owner, &entry.id, now)
                        .await
                }
            };
            match result {
                Ok(true) => swept.settled += 1,
                Ok(false) => swept.left += 1,
                Err(error) => {
                    swept.left += 1;
                    tracing::error!(id = %entry.id, ?error, "sweep could not settle an overdue entry");
                }
            }
        }
        if swept.found > 0 {
            tracing::info!(
                found = swept.found,
                settled = swept.settled,
                left = swept.left,
                "payments swept"
            );
        }
        Ok(swept)
    }
}
