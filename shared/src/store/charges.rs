//! Charges: the payment transaction (exactly once per link and per attempt), finding a link from
//! its payment page, retrieving and listing charges.
//!
//! # The payment transaction
//!
//! One `TransactWriteItems` records a charge and everything it changes, or nothing:
//!
//! - the link: `charge_count` + 1 and, for a successful charge, `used` (and `used_at`, kept from
//!   the first), conditioned on the link existing, not destroyed, and multiple-use or unused;
//! - the charge, in the account's partition (`GET /charges/{id}`, `GET /charges`);
//! - its copy in the link's charge partition (`GET /links/{id}/charges`);
//! - the counters of both collections (see [`super::collection`]), four updates;
//! - the `charge.create` event, whose `data` is the charge as the API serves it, and its two
//!   counters (see [`super::events`]);
//! - last, the attempt record: the page's form carries a random attempt key, and the record keeps,
//!   for a day, which charge that attempt made. It is conditioned on no live record holding the
//!   key, so a form submitted twice (a double click, a refresh, a retry after a lost answer)
//!   commits once and the second submission is answered with the first's charge.
//!
//! So a single-use link takes at most one successful charge, ever, however many buyers race for
//! it: the link's condition lets exactly one transaction through and cancels the others whole.
//! A failed charge is recorded under the same condition but leaves `used` alone, so the link
//! stays payable after a decline.

use super::collection::{COUNTER_SHARDS, Collection};
use super::events::record_event;
use super::item::{
    EXPIRES_AT, Item, account_partition, get_bool, get_s, key, link_charges_partition, link_sk, n,
    payment_token_key, s, time,
};
use super::{Cancellation, Store, cancellation, random_below, sdk_error};
use crate::domain::charge::Charge;
use crate::domain::error::ApiError;
use crate::domain::event::{Event, EventKey};
use crate::domain::link::Link;
use crate::domain::list::{DEFAULT_LIMIT, ListQuery};
use crate::domain::principal::{Principal, hex};
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Attempts at a payment transaction that DynamoDB cancelled for a conflict with a concurrent
/// one (buyers paying one multiple-use link at the same moment all update it) or for throttling.
/// A cancelled transaction wrote nothing, so trying again is safe; the pauses between attempts
/// grow (20, 40, 80, 160, 320, 640, 640 ms at most, jittered: under 2.5 s in all), well inside
/// the request deadline.
pub const PAY_ATTEMPTS: u32 = 8;
/// The link's update is the transaction's first item.
const LINK_INDEX: usize = 0;
/// How long an attempt key is remembered.
pub const ATTEMPT_TTL: Duration = Duration::from_secs(24 * 3600);

/// What recording a payment came to.
#[derive(Debug)]
pub enum PayOutcome {
    /// The charge, successful or failed, is recorded and the link updated.
    Recorded(Charge),
    /// This attempt was recorded before: the charge it made then.
    Replayed(Charge),
    /// The link can no longer be paid (paid meanwhile, or destroyed): nothing was written. The
    /// link as it is now.
    NotPayable(Link),
}

/// One page of charges and the size of the whole list.
#[derive(Debug)]
pub struct ChargePage {
    pub charges: Vec<Charge>,
    pub total: u64,
}

/// The sort key of an attempt's record: a digest of the page token and the form's attempt key,
/// so that keys from one link's page never meet another's.
fn attempt_sk(payment_token: &str, attempt: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(payment_token.as_bytes());
    digest.update([0]);
    digest.update(attempt.as_bytes());
    format!("ATTEMPT#{}", hex(&digest.finalize()))
}

fn charge_sk(id: &str) -> String {
    format!("CHRG#{id}")
}

fn charge_item(pk: String, charge: &Charge) -> Result<Item, ApiError> {
    let mut item = key(pk, charge_sk(&charge.id));
    item.insert(
        "doc".into(),
        s(serde_json::to_string(charge).map_err(ApiError::internal)?),
    );
    item.insert("link".into(), s(&charge.link));
    Ok(item)
}

impl TryFrom<&Item> for Charge {
    type Error = ApiError;

    fn try_from(item: &Item) -> Result<Self, ApiError> {
        serde_json::from_str(get_s(item, "doc")?)
            .map_err(|e| super::item::corrupt(format!("charge item has a bad document: {e}")))
    }
}

impl Store {
    /// The link whose payment page token is `token`, or `None`: a strongly consistent GetItem of
    /// the token's item, then of the link (whose state, used or destroyed, the page shows).
    pub async fn link_by_payment_token(&self, token: &str) -> Result<Option<Link>, ApiError> {
        let Some(item) = self.get(payment_token_key(token)).await? else {
            return Ok(None);
        };
        let owner = Principal {
            account_id: get_s(&item, "account_id")?.clone(),
            livemode: get_bool(&item, "livemode")?,
        };
        self.get_link(&owner, get_s(&item, "link_id")?).await
    }

    /// Records the charge `make` builds (given the moment of each attempt, so that every attempt
    /// has a fresh id and time, as creates do: see `collection::SETTLE`) for a payment of `link`
    /// through its page, under the form's `attempt` key. See the module's notes.
    pub async fn record_charge(
        &self,
        link: &Link,
        attempt: &str,
        make: impl Fn(DateTime<Utc>) -> Charge,
    ) -> Result<PayOutcome, ApiError> {
        let owner = Principal {
            account_id: link.account_id.clone(),
            livemode: link.livemode,
        };
        let account = Collection::charges(&owner);
        let per_link = Collection::link_charges(&owner, &link.id);
        let record_sk = attempt_sk(&link.payment_token, attempt);
        let mut round = 0;
        loop {
            round += 1;
            let now = Utc::now();
            let charge = make(now);
            let used = if charge.successful() {
                "SET used = :true, used_at = if_not_exists(used_at, :now) "
            } else {
                ""
            };
            let update_link = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(account_partition(&owner), link_sk(&link.id))))
                .update_expression(format!("{used}ADD charge_count :one"))
                .condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(deleted_at) \
                     AND (multiple = :true OR used = :false)",
                )
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":one", n(1));
            let update_link = if charge.successful() {
                update_link.expression_attribute_values(":now", time(now))
            } else {
                update_link
            };
            let update_link = update_link
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(ApiError::internal)?;
            let put = |item: Item| {
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(ApiError::internal)
            };
            let mut items = vec![
                TransactWriteItem::builder().update(update_link).build(),
                TransactWriteItem::builder()
                    .put(put(charge_item(account_partition(&owner), &charge)?)?)
                    .build(),
                TransactWriteItem::builder()
                    .put(put(charge_item(
                        link_charges_partition(&owner, &link.id),
                        &charge,
                    )?)?)
                    .build(),
            ];
            let shard = random_below(COUNTER_SHARDS);
            for collection in [&account, &per_link] {
                let counters = collection.count_new_member(
                    &self.table,
                    charge.created.timestamp_millis(),
                    shard,
                )?;
                items.extend(
                    counters
                        .into_iter()
                        .map(|u| TransactWriteItem::builder().update(u).build()),
                );
            }
            let event = Event::new(
                EventKey::ChargeCreate,
                owner.livemode,
                serde_json::value::to_raw_value(&charge.view(now)).map_err(ApiError::internal)?,
                now,
            );
            items.extend(record_event(&self.table, &owner, &event)?);
            let mut record = key(account_partition(&owner), record_sk.clone());
            record.extend([
                ("charge".into(), s(&charge.id)),
                ("created".into(), time(now)),
                (
                    EXPIRES_AT.into(),
                    n(now.timestamp() + ATTEMPT_TTL.as_secs() as i64),
                ),
            ]);
            let put_record = Put::builder()
                .table_name(&self.table)
                .set_item(Some(record))
                .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                .expression_attribute_values(":now", n(now.timestamp()))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(ApiError::internal)?;
            // Watched before the link's: a replayed attempt may also find its link used (by
            // itself).
            let record_index = items.len();
            items.push(TransactWriteItem::builder().put(put_record).build());

            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .return_consumed_capacity(self.capacity_report())
                .send()
                .await;
            let err = match result {
                Ok(out) => {
                    self.usage.write_all(out.consumed_capacity());
                    return Ok(PayOutcome::Recorded(charge));
                }
                Err(err) => err,
            };
            match cancellation(&err, &[record_index, LINK_INDEX]) {
                Cancellation::ConditionFailed {
                    index,
                    item: record,
                } if index == record_index => {
                    let record = record.ok_or_else(|| {
                        ApiError::internal("a cancelled payment did not return its attempt record")
                    })?;
                    let id = get_s(&record, "charge")?;
                    let charge = self.get_charge(&owner, id).await?.ok_or_else(|| {
                        ApiError::internal(format!("attempt record names a missing charge {id}"))
                    })?;
                    return Ok(PayOutcome::Replayed(charge));
                }
                Cancellation::ConditionFailed {
                    item: Some(item), ..
                } => {
                    return Ok(PayOutcome::NotPayable(Link::try_from(&item)?));
                }
                // The link is gone altogether (nothing deletes links, so only by an operator).
                Cancellation::ConditionFailed { item: None, .. } => {
                    return Err(ApiError::NotFound(format!("link {}", link.id)));
                }
                Cancellation::Transient if round < PAY_ATTEMPTS => {
                    self.pause_before_retry("payment", round, 20).await;
                    // Buyers racing for a single-use link conflict with the one that pays it:
                    // once it is paid they are answered at once, not after every retry.
                    if !link.multiple {
                        if let Some(now) = self.get_link(&owner, &link.id).await? {
                            if !now.payable() {
                                if let Some(charge) = self.attempt_charge(link, attempt).await? {
                                    return Ok(PayOutcome::Replayed(charge));
                                }
                                return Ok(PayOutcome::NotPayable(now));
                            }
                        }
                    }
                }
                Cancellation::Transient => return Err(ApiError::ServiceUnavailable(Box::new(err))),
                Cancellation::Other => return Err(sdk_error(err)),
            }
        }
    }

    /// The charge an earlier submission of the form attempt `attempt` made on `link`, if any (two
    /// reads: the attempt's record, then its charge). For a link that is no longer payable, so
    /// that the submission that used it is answered with its receipt, not "already paid".
    pub async fn attempt_charge(
        &self,
        link: &Link,
        attempt: &str,
    ) -> Result<Option<Charge>, ApiError> {
        let owner = Principal {
            account_id: link.account_id.clone(),
            livemode: link.livemode,
        };
        let record = key(
            account_partition(&owner),
            attempt_sk(&link.payment_token, attempt),
        );
        match self.get(record).await? {
            Some(record) => self.get_charge(&owner, get_s(&record, "charge")?).await,
            None => Ok(None),
        }
    }

    /// The caller's charge `id`, or `None`: one strongly consistent GetItem.
    pub async fn get_charge(
        &self,
        owner: &Principal,
        id: &str,
    ) -> Result<Option<Charge>, ApiError> {
        self.get(key(account_partition(owner), charge_sk(id)))
            .await?
            .as_ref()
            .map(Charge::try_from)
            .transpose()
    }

    /// A page of the caller's charges (`GET /charges`).
    pub async fn list_charges(
        &self,
        owner: &Principal,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> Result<ChargePage, ApiError> {
        self.charge_page(&Collection::charges(owner), query, now)
            .await
    }

    /// A page of the charges made through the caller's link `link_id`.
    pub async fn list_link_charges(
        &self,
        owner: &Principal,
        link_id: &str,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> Result<ChargePage, ApiError> {
        self.charge_page(&Collection::link_charges(owner, link_id), query, now)
            .await
    }

    async fn charge_page(
        &self,
        c: &Collection,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> Result<ChargePage, ApiError> {
        let page = Box::pin(self.page(c, query, now)).await?;
        Ok(ChargePage {
            charges: page
                .items
                .iter()
                .map(Charge::try_from)
                .collect::<Result<_, _>>()?,
            total: page.total,
        })
    }

    /// [`Store::embedded_charges`] of each of `links`, side by side.
    pub async fn embedded_charges_of(&self, links: &[Link]) -> Result<Vec<Vec<Charge>>, ApiError> {
        futures_util::future::try_join_all(links.iter().map(|link| self.embedded_charges(link)))
            .await
    }

    /// The charges a link embeds: its first (oldest) 20, in one Query, and no read at all for a
    /// link that has none. Their total is the link's own `charge_count`, written in the same
    /// transactions.
    pub async fn embedded_charges(&self, link: &Link) -> Result<Vec<Charge>, ApiError> {
        if link.charge_count == 0 {
            return Ok(Vec::new());
        }
        let owner = Principal {
            account_id: link.account_id.clone(),
            livemode: link.livemode,
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(link_charges_partition(&owner, &link.id)))
            .expression_attribute_values(":prefix", s("CHRG#"))
            .limit(DEFAULT_LIMIT as i32)
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.read(out.consumed_capacity());
        out.items().iter().map(Charge::try_from).collect()
    }
}
