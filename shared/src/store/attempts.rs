//! Attempts and the charges they make: every write of a payment's life, each one transaction.
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | an attempt | `ACCT#<account>#<mode>` | `ATTEMPT#<attempt id>` | `link`, `payment_token`, `method`, `state`, `gateway_key`, `processor_charge`?, `charge`?, `deadline` N (ms), `created`, `ip`?, `fingerprint`?, `return_uri`, `holds_link` BOOL, `expires_at` N |
//! | an unsettled attempt's (or refund's) deadline | `PAYDUE#<shard>` (0–3) | `<deadline ms, 13 digits>#<A or R>#<account>#<mode>#<id>` | |
//! | a single-use link's hold | the link's item | | `held_by` S (the attempt), `held_until` N (ms) |
//! | a limited link's places | the link's item | | `usage_limit` N, `places_taken` N, `usage_count` N |
//!
//! The writes, in the order a payment makes them (see `payments` for who makes which):
//!
//! 1. [`Store::begin_attempt`], before any processor is asked: the attempt (`started`),
//!    conditioned on its id being new, so a form submitted twice begins once; its deadline in the
//!    overdue index; and, for a single-use link, the link's hold, conditioned on the link being
//!    payable and held by no one. So no two buyers are ever paying a single-use link at once.
//!    For a link with a `usage_limit`, a place instead: `places_taken` one more, conditioned on
//!    it being below the limit (and the link not destroyed or expired). So a limited link never
//!    has more payments in flight and made than its limit.
//! 2. [`Store::record_charge`], once the processor answered: the charge (pending or final) and
//!    its copy, their counters, `charge.create`, the link (`charge_count`, and `used` when
//!    successful; the hold released when final), the attempt (`pending` or `done`), and, for a
//!    failure, the failed-payment counters. Conditioned on the attempt still being `started`, and
//!    on the link not being destroyed (and, for a single-use link, still held by this attempt).
//!    A limited link's place is kept by a successful charge (`usage_count` one more), given back
//!    by a failed one, and kept while pending.
//! 3. [`Store::complete_charge`], when a pending charge ends: the charge and its copy rewritten,
//!    `charge.complete`, the link (`used`, the hold released, a place kept or given back), the
//!    attempt `done`. Conditioned on
//!    the charge still being `pending`: a late, repeated or out-of-order notice changes nothing.
//! 4. [`Store::abandon_attempt`], when the processor never heard of an overdue attempt: the
//!    attempt `abandoned` and the link's hold released (or its place given back). Nothing was
//!    charged.
//!
//! A place is given back exactly once because each of these writes is conditioned on the
//! attempt's own state, which moves only forward.
//!
//! Each of 2–4 also removes the deadline from the overdue index once the attempt is settled, so
//! the index holds exactly the attempts a sweep may have to settle.

use super::charges::{charge_doc, charge_item, charge_keys};
use super::collection::{COUNTER_SHARDS, Collection};
use super::events::record_event;
use super::item::{
    EXPIRES_AT, Item, account_partition, corrupt, get_bool, get_n, get_s, key,
    link_charges_partition, link_sk, n, parse_time, s, time,
};
use super::limits::FailureSubjects;
use super::{Store, random_below, sdk_error};
use crate::domain::attempt::{ATTEMPT_TTL, Attempt, AttemptState, Method};
use crate::domain::charge::{Charge, Status};
use crate::domain::error::ApiError;
use crate::domain::event::{Event, EventKey};
use crate::domain::link::Link;
use crate::domain::principal::Principal;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

/// Tries at a transaction DynamoDB cancelled for a conflict with a concurrent one (buyers paying
/// one multiple-use link at the same moment all update it) or for throttling. A cancelled
/// transaction wrote nothing, so trying again is safe; the pauses between tries grow (20, 40,
/// 80, 160, 320, 640, 640 ms at most, jittered: under 2.5 s in all), well inside the request
/// deadline.
pub const PAY_ATTEMPTS: u32 = 8;
/// Partitions of the overdue index: writes of many payments at once spread over them.
pub const DUE_SHARDS: u32 = 4;

/// What the overdue index holds a deadline for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueKind {
    Attempt,
    Refund,
}

impl DueKind {
    fn letter(self) -> char {
        match self {
            Self::Attempt => 'A',
            Self::Refund => 'R',
        }
    }
}

/// An entry of the overdue index: what to settle, and whose.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub kind: DueKind,
    pub owner: Principal,
    pub id: String,
    pub deadline: DateTime<Utc>,
}

/// The overdue index's item for `id` (of `kind`, owned by `owner`) due at `deadline`.
pub(crate) fn due_key(kind: DueKind, owner: &Principal, id: &str, deadline: DateTime<Utc>) -> Item {
    let shard = id.bytes().map(u32::from).sum::<u32>() % DUE_SHARDS;
    let mode = if owner.livemode { "live" } else { "test" };
    key(
        format!("PAYDUE#{shard}"),
        format!(
            "{:013}#{}#{}#{mode}#{id}",
            deadline.timestamp_millis().max(0),
            kind.letter(),
            owner.account_id
        ),
    )
}

fn parse_due(item: &Item) -> Result<Due, ApiError> {
    let sk = get_s(item, super::item::SK)?;
    let bad = || corrupt(format!("a bad overdue entry {sk:?}"));
    let mut parts = sk.splitn(5, '#');
    let (Some(ms), Some(kind), Some(account), Some(mode), Some(id)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad());
    };
    Ok(Due {
        kind: match kind {
            "A" => DueKind::Attempt,
            "R" => DueKind::Refund,
            _ => return Err(bad()),
        },
        owner: Principal {
            account_id: account.to_owned(),
            livemode: match mode {
                "live" => true,
                "test" => false,
                _ => return Err(bad()),
            },
        },
        id: id.to_owned(),
        deadline: ms
            .parse()
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(bad)?,
    })
}

fn attempt_sk(id: &str) -> String {
    format!("ATTEMPT#{id}")
}

pub(crate) fn attempt_key(owner: &Principal, id: &str) -> Item {
    key(account_partition(owner), attempt_sk(id))
}

fn attempt_item(attempt: &Attempt) -> Item {
    let mut item = attempt_key(&attempt.owner, &attempt.id);
    item.extend([
        ("link".into(), s(&attempt.link)),
        ("payment_token".into(), s(&attempt.payment_token)),
        ("method".into(), s(attempt.method.as_str())),
        ("state".into(), s(attempt.state.as_str())),
        ("gateway_key".into(), s(&attempt.gateway_key)),
        ("deadline".into(), n(attempt.deadline.timestamp_millis())),
        ("created".into(), time(attempt.created)),
        ("return_uri".into(), s(&attempt.return_uri)),
        (
            "holds_link".into(),
            AttributeValue::Bool(attempt.holds_link),
        ),
        (
            "holds_place".into(),
            AttributeValue::Bool(attempt.holds_place),
        ),
        (
            EXPIRES_AT.into(),
            n(attempt.created.timestamp() + ATTEMPT_TTL.as_secs() as i64),
        ),
    ]);
    for (name, value) in [
        ("processor_charge", &attempt.processor_charge),
        ("charge", &attempt.charge),
        ("ip", &attempt.ip),
        ("fingerprint", &attempt.fingerprint),
    ] {
        if let Some(value) = value {
            item.insert(name.into(), s(value));
        }
    }
    item
}

impl TryFrom<&Item> for Attempt {
    type Error = ApiError;

    fn try_from(item: &Item) -> Result<Self, ApiError> {
        let pk = get_s(item, super::item::PK)?;
        let owner = match pk
            .strip_prefix("ACCT#")
            .and_then(|rest| rest.rsplit_once('#'))
        {
            Some((account, "test")) => Principal {
                account_id: account.to_owned(),
                livemode: false,
            },
            Some((account, "live")) => Principal {
                account_id: account.to_owned(),
                livemode: true,
            },
            _ => return Err(corrupt(format!("attempt item has a bad pk {pk:?}"))),
        };
        let sk = get_s(item, super::item::SK)?;
        let id = sk
            .strip_prefix("ATTEMPT#")
            .ok_or_else(|| corrupt(format!("attempt item has a bad sk {sk:?}")))?;
        let optional = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let method = get_s(item, "method")?;
        let state = get_s(item, "state")?;
        let deadline: i64 =
            get_n(item, "deadline")?.ok_or_else(|| corrupt("attempt lacks a deadline".into()))?;
        Ok(Attempt {
            id: id.to_owned(),
            owner,
            link: get_s(item, "link")?.clone(),
            payment_token: get_s(item, "payment_token")?.clone(),
            method: Method::parse(method)
                .ok_or_else(|| corrupt(format!("attempt has a bad method {method:?}")))?,
            state: AttemptState::parse(state)
                .ok_or_else(|| corrupt(format!("attempt has a bad state {state:?}")))?,
            gateway_key: get_s(item, "gateway_key")?.clone(),
            processor_charge: optional("processor_charge"),
            charge: optional("charge"),
            deadline: DateTime::from_timestamp_millis(deadline)
                .ok_or_else(|| corrupt("attempt deadline out of range".into()))?,
            created: parse_time(get_s(item, "created")?)?,
            ip: optional("ip"),
            fingerprint: optional("fingerprint"),
            return_uri: get_s(item, "return_uri")?.clone(),
            holds_link: get_bool(item, "holds_link")?,
            // Attempts begun before limits existed hold none.
            holds_place: item.contains_key("holds_place") && get_bool(item, "holds_place")?,
        })
    }
}

/// What beginning an attempt came to.
#[derive(Debug)]
pub enum Begin {
    /// Recorded: the processor may be asked now.
    Begun,
    /// This attempt was begun before (the form was submitted again): as it is now.
    Exists(Attempt),
    /// Another attempt holds the single-use link: the link as it is now.
    Held(Link),
    /// Every place of the limited link is taken, some by payments in flight: as it is now.
    Full(Link),
    /// The link was paid or destroyed meanwhile: as it is now.
    NotPayable(Link),
}

/// What a settling write came to.
#[derive(Debug)]
pub enum Settled {
    /// Written.
    Written,
    /// The attempt (or charge) had already moved on: as the attempt is now.
    Overtaken(Attempt),
    /// The link cannot take the charge (destroyed, or its hold is not this attempt's): nothing
    /// was written. The processor's charge must be undone.
    LinkRefused(Link),
}

/// `Update` of the attempt to `state` (and its charge ids), if it is still in `from`.
fn move_attempt(
    table: &str,
    attempt: &Attempt,
    from: AttemptState,
    to: AttemptState,
    charge: Option<(&str, &str)>,
) -> Result<TransactWriteItem, ApiError> {
    let mut set = vec!["#state = :to"];
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(attempt_key(&attempt.owner, &attempt.id)))
        .condition_expression("#state = :from")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":from", s(from.as_str()))
        .expression_attribute_values(":to", s(to.as_str()));
    if let Some((charge, processor_charge)) = charge {
        set.push("charge = :charge");
        set.push("processor_charge = :pcharge");
        update = update
            .expression_attribute_values(":charge", s(charge))
            .expression_attribute_values(":pcharge", s(processor_charge));
    }
    let update = update
        .update_expression(format!("SET {}", set.join(", ")))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

pub(crate) fn delete_due(
    table: &str,
    kind: DueKind,
    owner: &Principal,
    id: &str,
    deadline: DateTime<Utc>,
) -> Result<TransactWriteItem, ApiError> {
    Delete::builder()
        .table_name(table)
        .set_key(Some(due_key(kind, owner, id, deadline)))
        .build()
        .map(|d| TransactWriteItem::builder().delete(d).build())
        .map_err(ApiError::internal)
}

pub(crate) fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, ApiError> {
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map(|p| TransactWriteItem::builder().put(p).build())
        .map_err(ApiError::internal)
}

pub(crate) fn update_item(update: Update) -> TransactWriteItem {
    TransactWriteItem::builder().update(update).build()
}

/// What an attempt's charge ending in `status` adds to the failed-payment counters.
fn failure_counts(
    table: &str,
    attempt: &Attempt,
    status: Status,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    if !matches!(status, Status::Failed | Status::Expired) {
        return Ok(Vec::new());
    }
    let subjects = FailureSubjects {
        link: &attempt.link,
        livemode: attempt.owner.livemode,
        fingerprint: attempt.fingerprint.as_deref(),
        ip: attempt.ip.as_deref(),
    };
    Ok(subjects
        .count_failure(table, now)?
        .into_iter()
        .map(update_item)
        .collect())
}

/// The event `key` about `charge` as served at `now`, and its counters.
pub(crate) fn charge_event(
    table: &str,
    owner: &Principal,
    key: EventKey,
    charge: &Charge,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    charge_event_of(table, owner, key, &charge.view(now), now)
}

/// The event `key` about `data` (an object as the API serves it) at `now`, and its counters.
pub(crate) fn charge_event_of(
    table: &str,
    owner: &Principal,
    key: EventKey,
    data: &impl serde::Serialize,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    let event = Event::new(
        key,
        owner.livemode,
        serde_json::value::to_raw_value(data).map_err(ApiError::internal)?,
        now,
    );
    record_event(table, owner, &event)
}

impl Store {
    /// The attempt `id` of `owner`, or `None`: one strongly consistent GetItem.
    pub async fn get_attempt(
        &self,
        owner: &Principal,
        id: &str,
    ) -> Result<Option<Attempt>, ApiError> {
        self.get(attempt_key(owner, id))
            .await?
            .as_ref()
            .map(Attempt::try_from)
            .transpose()
    }

    /// Records `attempt` (`started`) before its processor is asked anything: see the module's
    /// notes. `link` is the link as read just before.
    pub async fn begin_attempt(
        &self,
        attempt: &Attempt,
        link: &Link,
        now: DateTime<Utc>,
    ) -> Result<Begin, ApiError> {
        let build = || {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(attempt_item(attempt)))
                .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                .expression_attribute_values(":now", n(now.timestamp()))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(ApiError::internal)?;
            let mut items = vec![
                TransactWriteItem::builder().put(put).build(),
                put_new(
                    &self.table,
                    due_key(
                        DueKind::Attempt,
                        &attempt.owner,
                        &attempt.id,
                        attempt.deadline,
                    ),
                )?,
            ];
            if attempt.holds_link {
                let hold = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(
                        account_partition(&attempt.owner),
                        link_sk(&link.id),
                    )))
                    .update_expression("SET held_by = :attempt, held_until = :until")
                    // Not expired as the attempt begins, checked here too so that a link read
                    // a moment before its `expires_at` cannot be taken after it.
                    .condition_expression(
                        "attribute_exists(pk) AND attribute_not_exists(deleted_at) \
                         AND used = :false AND attribute_not_exists(held_by) \
                         AND (attribute_not_exists(link_expires_at) OR link_expires_at > :now_text)",
                    )
                    .expression_attribute_values(":now_text", time(now))
                    .expression_attribute_values(":attempt", s(&attempt.id))
                    .expression_attribute_values(":until", n(attempt.deadline.timestamp_millis()))
                    .expression_attribute_values(":false", AttributeValue::Bool(false))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(ApiError::internal)?;
                items.push(update_item(hold));
            } else if attempt.holds_place {
                // Expiry checked here as for a hold: this write is made anyway.
                let place = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(
                        account_partition(&attempt.owner),
                        link_sk(&link.id),
                    )))
                    .update_expression("ADD places_taken :one")
                    .condition_expression(
                        "attribute_exists(pk) AND attribute_not_exists(deleted_at) \
                         AND places_taken < usage_limit \
                         AND (attribute_not_exists(link_expires_at) OR link_expires_at > :now_text)",
                    )
                    .expression_attribute_values(":now_text", time(now))
                    .expression_attribute_values(":one", n(1))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(ApiError::internal)?;
                items.push(update_item(place));
            }
            Ok(items)
        };
        match self
            .transact_with("payment attempt", PAY_ATTEMPTS, &[0, 2], build)
            .await?
        {
            None => Ok(Begin::Begun),
            Some((0, Some(existing))) => Ok(Begin::Exists(Attempt::try_from(&existing)?)),
            Some((_, Some(link))) => {
                let link = Link::try_from(&link)?;
                Ok(if link.payable() && link.hold.is_some() {
                    Begin::Held(link)
                } else if link.payable() && link.places_full() && !link.expired(now) {
                    Begin::Full(link)
                } else {
                    Begin::NotPayable(link)
                })
            }
            Some((_, None)) => Err(ApiError::NotFound(format!("link {}", link.id))),
        }
    }

    /// Records the charge the processor made for `attempt` (which must be `started`), as `make`
    /// builds it at the moment of each try (every try takes a fresh id and time, as creates do:
    /// see `collection::SETTLE`). See the module's notes. The charge is answered as written.
    pub async fn record_charge(
        &self,
        attempt: &Attempt,
        link: &Link,
        make: impl Fn(DateTime<Utc>) -> Charge,
    ) -> Result<(Settled, Charge), ApiError> {
        let owner = &attempt.owner;
        let mut made = None;
        let build = || {
            let now = Utc::now();
            let charge = make(now);
            let status = charge.status;
            let next = if status.is_final() {
                AttemptState::Done
            } else {
                AttemptState::Pending
            };
            let processor_charge = charge.processor_charge.clone().unwrap_or_default();
            let mut items = vec![move_attempt(
                &self.table,
                attempt,
                AttemptState::Started,
                next,
                Some((&charge.id, &processor_charge)),
            )?];
            // The link: one more charge; used when paid; its hold released once final; its
            // place kept when paid, given back when failed.
            let mut expression = String::from("ADD charge_count :one");
            if attempt.holds_place {
                match status {
                    Status::Successful => expression.push_str(", usage_count :one"),
                    _ if status.is_final() => expression.push_str(", places_taken :minus_one"),
                    _ => {}
                }
            }
            if status == Status::Successful {
                expression.push_str(" SET used = :true, used_at = if_not_exists(used_at, :now)");
            }
            if attempt.holds_link && status.is_final() {
                expression.push_str(" REMOVE held_by, held_until");
            }
            let mut update_link = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(account_partition(owner), link_sk(&link.id))))
                .update_expression(expression)
                .expression_attribute_values(":one", n(1))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            update_link = if attempt.holds_link {
                update_link
                    .condition_expression("attribute_not_exists(deleted_at) AND held_by = :attempt")
                    .expression_attribute_values(":attempt", s(&attempt.id))
            } else {
                update_link.condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
                )
            };
            if status == Status::Successful {
                update_link = update_link
                    .expression_attribute_values(":true", AttributeValue::Bool(true))
                    .expression_attribute_values(":now", time(now));
            } else if attempt.holds_place && status.is_final() {
                update_link = update_link.expression_attribute_values(":minus_one", n(-1));
            }
            items.push(update_item(
                update_link.build().map_err(ApiError::internal)?,
            ));
            items.push(put_new(
                &self.table,
                charge_item(account_partition(owner), &charge)?,
            )?);
            items.push(put_new(
                &self.table,
                charge_item(link_charges_partition(owner, &link.id), &charge)?,
            )?);
            let shard = random_below(COUNTER_SHARDS);
            for collection in [
                Collection::charges(owner),
                Collection::link_charges(owner, &link.id),
            ] {
                let counters = collection.count_new_member(
                    &self.table,
                    charge.created.timestamp_millis(),
                    shard,
                )?;
                items.extend(counters.into_iter().map(update_item));
            }
            items.extend(charge_event(
                &self.table,
                owner,
                EventKey::ChargeCreate,
                &charge,
                now,
            )?);
            if status.is_final() {
                items.push(delete_due(
                    &self.table,
                    DueKind::Attempt,
                    owner,
                    &attempt.id,
                    attempt.deadline,
                )?);
            }
            items.extend(failure_counts(&self.table, attempt, status, now)?);
            made = Some(charge);
            Ok(items)
        };
        let failed = self
            .transact_with("payment", PAY_ATTEMPTS, &[0, 1], build)
            .await?;
        let charge = made.expect("built at least once");
        let settled = match failed {
            None => Settled::Written,
            Some((0, Some(now_attempt))) => Settled::Overtaken(Attempt::try_from(&now_attempt)?),
            Some((_, Some(link))) => Settled::LinkRefused(Link::try_from(&link)?),
            Some((_, None)) => {
                return Err(ApiError::internal(format!(
                    "attempt {} or its link is gone",
                    attempt.id
                )));
            }
        };
        Ok((settled, charge))
    }

    /// Ends `attempt`'s pending charge `before` as `after` (final), at `now`. See the module's
    /// notes. `touch_link`: whether the link is updated (`used`, the hold released); false only
    /// to record an undone charge whose hold was lost, leaving whoever holds the link alone.
    pub async fn complete_charge(
        &self,
        attempt: &Attempt,
        before: &Charge,
        after: &Charge,
        now: DateTime<Utc>,
        touch_link: bool,
    ) -> Result<Settled, ApiError> {
        let owner = &attempt.owner;
        let status = after.status;
        let doc = charge_doc(after)?;
        let build = || {
            let mut items = vec![move_attempt(
                &self.table,
                attempt,
                AttemptState::Pending,
                AttemptState::Done,
                None,
            )?];
            for (i, key) in charge_keys(owner, before).into_iter().enumerate() {
                let mut update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key))
                    .update_expression("SET doc = :doc, #state = :final")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":doc", s(&doc))
                    .expression_attribute_values(":final", s(status.as_str()));
                if i == 0 {
                    update = update
                        .condition_expression("#state = :pending")
                        .expression_attribute_values(":pending", s(Status::Pending.as_str()));
                }
                items.push(update_item(update.build().map_err(ApiError::internal)?));
            }
            if touch_link
                && (status == Status::Successful || attempt.holds_link || attempt.holds_place)
            {
                let mut clauses = Vec::new();
                if status == Status::Successful {
                    clauses.push("SET used = :true, used_at = if_not_exists(used_at, :now)");
                }
                if attempt.holds_link {
                    clauses.push("REMOVE held_by, held_until");
                }
                // A place kept when paid, given back otherwise.
                if attempt.holds_place {
                    clauses.push(if status == Status::Successful {
                        "ADD usage_count :one"
                    } else {
                        "ADD places_taken :minus_one"
                    });
                }
                let mut update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(account_partition(owner), link_sk(&before.link))))
                    .update_expression(clauses.join(" "))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    );
                update = if attempt.holds_link {
                    update
                        .condition_expression("held_by = :attempt")
                        .expression_attribute_values(":attempt", s(&attempt.id))
                } else {
                    update.condition_expression("attribute_exists(pk)")
                };
                if status == Status::Successful {
                    update = update
                        .expression_attribute_values(":true", AttributeValue::Bool(true))
                        .expression_attribute_values(":now", time(now));
                }
                if attempt.holds_place {
                    update = if status == Status::Successful {
                        update.expression_attribute_values(":one", n(1))
                    } else {
                        update.expression_attribute_values(":minus_one", n(-1))
                    };
                }
                items.push(update_item(update.build().map_err(ApiError::internal)?));
            }
            items.extend(charge_event(
                &self.table,
                owner,
                EventKey::ChargeComplete,
                after,
                now,
            )?);
            items.push(delete_due(
                &self.table,
                DueKind::Attempt,
                owner,
                &attempt.id,
                attempt.deadline,
            )?);
            items.extend(failure_counts(&self.table, attempt, status, now)?);
            Ok(items)
        };
        // The link is the fourth item when it is there (the event's put never fails).
        match self
            .transact_with("payment completion", PAY_ATTEMPTS, &[0, 1, 3], build)
            .await?
        {
            None => Ok(Settled::Written),
            Some((0 | 1, _)) => {
                let now_attempt = self
                    .get_attempt(owner, &attempt.id)
                    .await?
                    .ok_or_else(|| ApiError::internal("a settled attempt is gone"))?;
                Ok(Settled::Overtaken(now_attempt))
            }
            Some((_, Some(link))) => Ok(Settled::LinkRefused(Link::try_from(&link)?)),
            Some((_, None)) => Err(ApiError::internal(format!(
                "the link of attempt {} is gone",
                attempt.id
            ))),
        }
    }

    /// Ends `attempt` (which must be `started`) as `abandoned`: the processor never heard of it,
    /// or what it made was undone. Its link's hold is released. `None` when this call abandoned
    /// it; the attempt as it is now when it had moved on.
    pub async fn abandon_attempt(&self, attempt: &Attempt) -> Result<Option<Attempt>, ApiError> {
        let owner = &attempt.owner;
        // The hold is released only while it is this attempt's: an attempt whose hold was lost
        // (see `payments`) is abandoned without touching whoever holds the link now.
        let mut release = attempt.holds_link || attempt.holds_place;
        loop {
            let build = || {
                let mut items = vec![
                    move_attempt(
                        &self.table,
                        attempt,
                        AttemptState::Started,
                        AttemptState::Abandoned,
                        None,
                    )?,
                    delete_due(
                        &self.table,
                        DueKind::Attempt,
                        owner,
                        &attempt.id,
                        attempt.deadline,
                    )?,
                ];
                if release {
                    let update = Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(account_partition(owner), link_sk(&attempt.link))));
                    let update = if attempt.holds_link {
                        update
                            .update_expression("REMOVE held_by, held_until")
                            .condition_expression("held_by = :attempt")
                            .expression_attribute_values(":attempt", s(&attempt.id))
                    } else {
                        // Given back once: the attempt's own move above is conditioned.
                        update
                            .update_expression("ADD places_taken :minus_one")
                            .condition_expression("attribute_exists(pk)")
                            .expression_attribute_values(":minus_one", n(-1))
                    };
                    items.push(update_item(update.build().map_err(ApiError::internal)?));
                }
                Ok(items)
            };
            match self
                .transact_with("attempt abandonment", PAY_ATTEMPTS, &[0, 2], build)
                .await?
            {
                None => return Ok(None),
                Some((0, Some(now_attempt))) => return Ok(Some(Attempt::try_from(&now_attempt)?)),
                Some((2, _)) => release = false,
                Some(_) => {
                    return Err(ApiError::internal(format!(
                        "attempt {} is gone",
                        attempt.id
                    )));
                }
            }
        }
    }

    /// Releases `link`'s hold, if `attempt` still holds it (an attempt whose record is gone).
    pub async fn release_hold(&self, link: &Link, attempt: &str) -> Result<(), ApiError> {
        let owner = Principal {
            account_id: link.account_id.clone(),
            livemode: link.livemode,
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(account_partition(&owner), link_sk(&link.id))))
            .update_expression("REMOVE held_by, held_until")
            .condition_expression("held_by = :attempt")
            .expression_attribute_values(":attempt", s(attempt))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(sdk_error(err)),
        }
    }

    /// Drops an entry of the overdue index whose attempt or refund is gone.
    pub async fn forget_overdue(&self, due: &Due) -> Result<(), ApiError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(due_key(due.kind, &due.owner, &due.id, due.deadline)))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Entries of the overdue index due before `now`, oldest first in each shard, at most
    /// `per_shard` from each: one Query per shard, side by side.
    pub async fn overdue(&self, now: DateTime<Utc>, per_shard: i32) -> Result<Vec<Due>, ApiError> {
        let bound = format!("{:013}$", now.timestamp_millis().max(0));
        let queries = (0..DUE_SHARDS).map(|shard| {
            let bound = bound.clone();
            async move {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk AND sk < :bound")
                    .expression_attribute_values(":pk", s(format!("PAYDUE#{shard}")))
                    .expression_attribute_values(":bound", s(bound))
                    .limit(per_shard)
                    .consistent_read(true)
                    .return_consumed_capacity(self.capacity_report())
                    .send()
                    .await
                    .map_err(sdk_error)?;
                self.usage.read(out.consumed_capacity());
                out.items()
                    .iter()
                    .map(parse_due)
                    .collect::<Result<Vec<_>, _>>()
            }
        });
        let pages = futures_util::future::try_join_all(queries).await?;
        Ok(pages.into_iter().flatten().collect())
    }
}
