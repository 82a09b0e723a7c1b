//! Refunds: reserved on their charge before the processor is asked, recorded once it answered.
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | a refund being made | `ACCT#<account>#<mode>` | `REFUND#<refund id>` | `charge`, `amount` N, `state` (`started`, `done`, `abandoned`), `deadline` N (ms), `created`, `expires_at` N |
//! | on the charge (account copy) | | | `reserved` N, `reserved_count` N: what refunds begun have set aside |
//! | on both copies of the charge | | | `refunded` N, `refunds` L (each a refund's JSON) |
//!
//! 1. [`Store::begin_refund`]: the amount is set aside on the charge, conditioned on the charge
//!    being successful, the amount fitting in what no other refund has set aside, and the charge
//!    having fewer than `MAX_REFUNDS_PER_CHARGE` refunds begun; with the refund's record, its
//!    deadline in the overdue index, and its idempotency record when the call carries a key. So
//!    concurrent refunds can never together pass the charge's amount: DynamoDB takes them one
//!    at a time on the charge's item, and each checks what the ones before it set aside.
//! 2. [`Store::record_refund`], once the processor refunded: the refund added to both copies of
//!    the charge (`refunds`, `refunded`), its `refund.create` event, the record `done`.
//! 3. [`Store::abandon_refund`], when the processor refused it, or never heard of it by its
//!    deadline: what it set aside is released.

use super::attempts::{DueKind, charge_event_of, delete_due, due_key, put_new, update_item};
use super::charges::charge_keys;
use super::item::{
    EXPIRES_AT, Item, account_partition, corrupt, get_n, get_s, key, n, parse_time, s, time,
};
use super::{PAY_ATTEMPTS, Store};
use crate::domain::attempt::{ATTEMPT_TTL, AttemptState};
use crate::domain::charge::{Charge, Status};
use crate::domain::error::ApiError;
use crate::domain::event::EventKey;
use crate::domain::principal::Principal;
use crate::domain::refund::{MAX_REFUNDS_PER_CHARGE, Refund};
use crate::validate::IdempotencyKey;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

/// A refund being made, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundAttempt {
    /// The refund's id (`rfnd_test_…`), also the key the processor knows it by.
    pub id: String,
    pub owner: Principal,
    pub charge: String,
    pub amount: i64,
    /// `Started`, `Done` or `Abandoned`.
    pub state: AttemptState,
    pub deadline: DateTime<Utc>,
    pub created: DateTime<Utc>,
}

/// Why a refund could not begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRefusal {
    /// The charge is not successful.
    NotSuccessful,
    /// The amount is more than no other refund has set aside: what remains.
    TooMuch { remaining: i64 },
    /// The charge has had its most refunds.
    TooMany,
}

/// What beginning a refund came to.
#[derive(Debug)]
pub enum RefundBegin {
    Begun,
    Refused(RefundRefusal),
    /// The idempotency key was used for this refund before: as it is now.
    Replay(RefundAttempt),
}

fn refund_sk(id: &str) -> String {
    format!("REFUND#{id}")
}

fn record_item(refund: &RefundAttempt) -> Item {
    let mut item = key(account_partition(&refund.owner), refund_sk(&refund.id));
    item.extend([
        ("charge".into(), s(&refund.charge)),
        ("amount".into(), n(refund.amount)),
        ("state".into(), s(refund.state.as_str())),
        ("deadline".into(), n(refund.deadline.timestamp_millis())),
        ("created".into(), time(refund.created)),
        (
            EXPIRES_AT.into(),
            n(refund.created.timestamp() + ATTEMPT_TTL.as_secs() as i64),
        ),
    ]);
    item
}

fn refund_from_item(owner: &Principal, item: &Item) -> Result<RefundAttempt, ApiError> {
    let sk = get_s(item, super::item::SK)?;
    let id = sk
        .strip_prefix("REFUND#")
        .ok_or_else(|| corrupt(format!("refund record has a bad sk {sk:?}")))?;
    let state = get_s(item, "state")?;
    let deadline: i64 =
        get_n(item, "deadline")?.ok_or_else(|| corrupt("refund record lacks a deadline".into()))?;
    Ok(RefundAttempt {
        id: id.to_owned(),
        owner: owner.clone(),
        charge: get_s(item, "charge")?.clone(),
        amount: get_n(item, "amount")?
            .ok_or_else(|| corrupt("refund record lacks an amount".into()))?,
        state: AttemptState::parse(state)
            .ok_or_else(|| corrupt(format!("refund record has a bad state {state:?}")))?,
        deadline: DateTime::from_timestamp_millis(deadline)
            .ok_or_else(|| corrupt("refund deadline out of range".into()))?,
        created: parse_time(get_s(item, "created")?)?,
    })
}

/// Why a refund's reservation failed, from the charge as it was.
fn refusal(charge: &Item, amount: i64) -> Result<RefundRefusal, ApiError> {
    let state = charge.get("state").and_then(|v| v.as_s().ok());
    if state.map(String::as_str) != Some(Status::Successful.as_str()) {
        return Ok(RefundRefusal::NotSuccessful);
    }
    let reserved: i64 = get_n(charge, "reserved")?.unwrap_or(0);
    let count: u32 = get_n(charge, "reserved_count")?.unwrap_or(0);
    let whole = serde_json::from_str::<Charge>(get_s(charge, "doc")?)
        .map_err(|e| corrupt(format!("charge item has a bad document: {e}")))?
        .amount;
    if reserved + amount > whole {
        Ok(RefundRefusal::TooMuch {
            remaining: whole - reserved,
        })
    } else {
        debug_assert!(count >= MAX_REFUNDS_PER_CHARGE);
        Ok(RefundRefusal::TooMany)
    }
}

impl Store {
    /// The refund record `id` of `owner`, if any: one read.
    pub async fn get_refund_attempt(
        &self,
        owner: &Principal,
        id: &str,
    ) -> Result<Option<RefundAttempt>, ApiError> {
        self.get(key(account_partition(owner), refund_sk(id)))
            .await?
            .map(|item| refund_from_item(owner, &item))
            .transpose()
    }

    /// The refund an earlier call with idempotency key `key` began, if any (a record that has
    /// not expired): `422` when that call asked for something else (its `fingerprint` differs).
    pub async fn refund_for_key(
        &self,
        owner: &Principal,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<RefundAttempt>, ApiError> {
        let Some(record) = self
            .get(super::idempotency::record_key(owner, key))
            .await?
            .filter(|r| {
                get_n::<i64>(r, EXPIRES_AT)
                    .ok()
                    .flatten()
                    .is_some_and(|e| e >= now.timestamp())
            })
        else {
            return Ok(None);
        };
        self.replay_refund(owner, &record, fingerprint)
            .await
            .map(Some)
    }

    async fn replay_refund(
        &self,
        owner: &Principal,
        record: &Item,
        fingerprint: &str,
    ) -> Result<RefundAttempt, ApiError> {
        let reused = || {
            ApiError::IdempotencyKeyReused(
                "this Idempotency-Key was already used, within the last 24 hours, for a request \
                 with other parameters; use a new key for a new request"
                    .into(),
            )
        };
        if get_s(record, "fingerprint")? != fingerprint {
            return Err(reused());
        }
        let id = record
            .get("refund")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(reused)?;
        self.get_refund_attempt(owner, id)
            .await?
            .ok_or_else(|| ApiError::internal(format!("no refund record {id}")))
    }

    /// Sets `refund`'s amount aside on `charge` and records it (see the module's notes). With
    /// an idempotency key (and the request's fingerprint), a key already used replays its refund
    /// or, for other parameters, is refused.
    pub async fn begin_refund(
        &self,
        refund: &RefundAttempt,
        charge: &Charge,
        idempotency: Option<(&IdempotencyKey, &str)>,
        now: DateTime<Utc>,
    ) -> Result<RefundBegin, ApiError> {
        let owner = &refund.owner;
        let build = || {
            let [account_copy, _] = charge_keys(owner, charge);
            let reserve = Update::builder()
                .table_name(&self.table)
                .set_key(Some(account_copy))
                .update_expression("ADD reserved :amount, reserved_count :one")
                .condition_expression(
                    "#state = :successful \
                     AND (attribute_not_exists(reserved) OR reserved <= :cap) \
                     AND (attribute_not_exists(reserved_count) OR reserved_count < :most)",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":successful", s(Status::Successful.as_str()))
                .expression_attribute_values(":amount", n(refund.amount))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":cap", n(charge.amount - refund.amount))
                .expression_attribute_values(":most", n(MAX_REFUNDS_PER_CHARGE))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(ApiError::internal)?;
            let mut items = vec![
                update_item(reserve),
                put_new(&self.table, record_item(refund))?,
                put_new(
                    &self.table,
                    due_key(DueKind::Refund, owner, &refund.id, refund.deadline),
                )?,
            ];
            if let Some((idempotency_key, fingerprint)) = idempotency {
                let mut item = super::idempotency::record_key(owner, idempotency_key);
                item.extend([
                    ("fingerprint".into(), s(fingerprint)),
                    ("refund".into(), s(&refund.id)),
                    ("created".into(), time(now)),
                    (
                        EXPIRES_AT.into(),
                        n(now.timestamp() + super::idempotency::IDEMPOTENCY_TTL.as_secs() as i64),
                    ),
                ]);
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                    .expression_attribute_values(":now", n(now.timestamp()))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(ApiError::internal)?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            Ok(items)
        };
        // The idempotency record first: a retry may also find the charge refunded (by itself).
        match self
            .transact_with("refund", PAY_ATTEMPTS, &[3, 0], build)
            .await?
        {
            None => Ok(RefundBegin::Begun),
            Some((3, Some(record))) => {
                let (_, fingerprint) = idempotency.expect("watched only with a key");
                Ok(RefundBegin::Replay(
                    self.replay_refund(owner, &record, fingerprint).await?,
                ))
            }
            Some((0, Some(now_charge))) => {
                Ok(RefundBegin::Refused(refusal(&now_charge, refund.amount)?))
            }
            Some(_) => Err(ApiError::NotFound(format!("charge {}", charge.id))),
        }
    }

    /// Adds `refund` (made by the processor for `attempt`) to both copies of `charge`, with its
    /// `refund.create` event. `false` when the record had already moved on.
    pub async fn record_refund(
        &self,
        attempt: &RefundAttempt,
        charge: &Charge,
        refund: &Refund,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let owner = &attempt.owner;
        let doc = serde_json::to_string(refund).map_err(ApiError::internal)?;
        let build = || {
            let mut items = vec![self.move_refund(attempt, AttemptState::Done)?];
            for copy in charge_keys(owner, charge) {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(copy))
                    .update_expression(
                        "SET refunds = list_append(if_not_exists(refunds, :none), :one) \
                         ADD refunded :amount",
                    )
                    .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
                    .expression_attribute_values(":one", AttributeValue::L(vec![s(&doc)]))
                    .expression_attribute_values(":amount", n(refund.amount))
                    .build()
                    .map_err(ApiError::internal)?;
                items.push(update_item(update));
            }
            items.extend(charge_event_of(
                &self.table,
                owner,
                EventKey::RefundCreate,
                &refund.view(),
                now,
            )?);
            items.push(delete_due(
                &self.table,
                DueKind::Refund,
                owner,
                &attempt.id,
                attempt.deadline,
            )?);
            Ok(items)
        };
        let failed = self
            .transact_with("refund record", PAY_ATTEMPTS, &[0], build)
            .await?;
        Ok(failed.is_none())
    }

    /// Ends `attempt` (`started`) as abandoned and releases what it set aside on its charge.
    /// `false` when the record had already moved on.
    pub async fn abandon_refund(&self, attempt: &RefundAttempt) -> Result<bool, ApiError> {
        let owner = &attempt.owner;
        let build = || {
            let release = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    account_partition(owner),
                    super::charges::charge_sk(&attempt.charge),
                )))
                .update_expression("ADD reserved :amount, reserved_count :one")
                .expression_attribute_values(":amount", n(-attempt.amount))
                .expression_attribute_values(":one", n(-1))
                .build()
                .map_err(ApiError::internal)?;
            Ok(vec![
                self.move_refund(attempt, AttemptState::Abandoned)?,
                update_item(release),
                delete_due(
                    &self.table,
                    DueKind::Refund,
                    owner,
                    &attempt.id,
                    attempt.deadline,
                )?,
            ])
        };
        let failed = self
            .transact_with("refund abandonment", PAY_ATTEMPTS, &[0], build)
            .await?;
        Ok(failed.is_none())
    }

    fn move_refund(
        &self,
        attempt: &RefundAttempt,
        to: AttemptState,
    ) -> Result<TransactWriteItem, ApiError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                account_partition(&attempt.owner),
                refund_sk(&attempt.id),
            )))
            .update_expression("SET #state = :to")
            .condition_expression("#state = :started")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":started", s(AttemptState::Started.as_str()))
            .expression_attribute_values(":to", s(to.as_str()))
            .build()
            .map_err(ApiError::internal)?;
        Ok(update_item(update))
    }
}
