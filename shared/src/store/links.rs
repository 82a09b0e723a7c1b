//! Links: create (exactly once per idempotency key), retrieve, destroy, list. Create and destroy
//! record their events in their own transactions.

use super::collection::{COUNTER_SHARDS, Collection};
use super::events::record_event;
use super::idempotency;
use super::item::{Item, account_partition, key, link_sk, n, payment_token_item, time};
use super::{Cancellation, Store, cancellation, random_below, sdk_error};
use crate::domain::charge::Charge;
use crate::domain::error::ApiError;
use crate::domain::event::{Event, EventKey};
use crate::domain::link::{Link, NewLink};
use crate::domain::list::ListQuery;
use crate::domain::principal::Principal;
use crate::validate::IdempotencyKey;
use aws_sdk_dynamodb::types::{
    Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

/// Attempts at a create whose transaction DynamoDB cancelled for a conflict with a concurrent
/// write or for throttling. A cancelled transaction wrote nothing, so trying again is safe.
pub const CREATE_ATTEMPTS: u32 = 4;
/// Rounds a destroy takes when payments keep committing between its read and its write.
const DESTROY_OVERTAKEN: u32 = 10;

/// What a create answered.
#[derive(Debug)]
pub enum CreateOutcome {
    /// A new link, and the response body stored with its idempotency record (if any).
    Created { link: Box<Link>, body: String },
    /// An earlier create with the same idempotency key and parameters: its response body.
    Replayed { body: String },
}

/// One page of links and the size of the whole list.
#[derive(Debug)]
pub struct LinkPage {
    pub links: Vec<Link>,
    pub total: u64,
}

impl Store {
    /// Creates a link for `owner`, counting it, in one `TransactWriteItems`: the link, the item
    /// that finds it from its payment page's token, its count shard, its hour counter, its
    /// `link.create` event (with the event's counters) and, with an idempotency key, the key's
    /// record (holding `render`'s response body, which is also the event's `data`). Each attempt takes a fresh id and `created` from the clock just before it
    /// is sent (see `collection::SETTLE` for why).
    ///
    /// With a key already used within its lifetime, nothing is written: the same parameters
    /// replay the first body, other parameters answer `422 idempotency_key_reused`.
    pub async fn create_link(
        &self,
        owner: &Principal,
        new: &NewLink,
        idempotency_key: Option<&IdempotencyKey>,
        render: impl Fn(&Link) -> Result<String, ApiError>,
    ) -> Result<CreateOutcome, ApiError> {
        let links = Collection::links(owner);
        let fingerprint = new.fingerprint();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = Utc::now();
            let link = Link::new(owner, new, now);
            let body = render(&link)?;
            let put_link = Put::builder()
                .table_name(&self.table)
                .set_item(Some(Item::from(&link)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(ApiError::internal)?;
            let put_token = Put::builder()
                .table_name(&self.table)
                .set_item(Some(payment_token_item(&link)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(ApiError::internal)?;
            let mut items = vec![
                TransactWriteItem::builder().put(put_link).build(),
                TransactWriteItem::builder().put(put_token).build(),
            ];
            let counters = links.count_new_member(
                &self.table,
                now.timestamp_millis(),
                random_below(COUNTER_SHARDS),
            )?;
            items.extend(
                counters
                    .into_iter()
                    .map(|update| TransactWriteItem::builder().update(update).build()),
            );
            // The event carries the link exactly as this create answers it, byte for byte.
            let data = RawValue::from_string(body.clone()).map_err(ApiError::internal)?;
            let event = Event::new(EventKey::LinkCreate, owner.livemode, data, now);
            items.extend(record_event(&self.table, owner, &event)?);
            let record_index = match idempotency_key {
                Some(k) => {
                    let put = idempotency::put_record(
                        &self.table,
                        owner,
                        k,
                        &fingerprint,
                        &link.id,
                        &body,
                        now,
                    )?;
                    items.push(TransactWriteItem::builder().put(put).build());
                    Some(items.len() - 1)
                }
                None => None,
            };
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
                    return Ok(CreateOutcome::Created {
                        link: Box::new(link),
                        body,
                    });
                }
                Err(err) => err,
            };
            match cancellation(&err, record_index.as_slice()) {
                Cancellation::ConditionFailed { item: record, .. } => {
                    // DynamoDB returns the record that failed the condition (ALL_OLD); it is
                    // there, since the condition only fails on a live record.
                    let record = record.ok_or_else(|| {
                        ApiError::internal("a cancelled create did not return the key's record")
                    })?;
                    return idempotency::replay(&record, &fingerprint)
                        .map(|body| CreateOutcome::Replayed { body });
                }
                Cancellation::Transient if attempt < CREATE_ATTEMPTS => {
                    self.pause_before_retry("link create", attempt, 20).await;
                }
                Cancellation::Transient => {
                    return Err(ApiError::ServiceUnavailable(Box::new(err)));
                }
                // The link's own condition failing would mean a duplicate id.
                Cancellation::Other => return Err(sdk_error(err)),
            }
        }
    }

    /// The first answer to a create with `idempotency_key`, if a live record of it holds one
    /// for these parameters (`422 idempotency_key_reused` if it holds other parameters). One
    /// strongly consistent GetItem. Only for a retry that `create_link` cannot take (its
    /// `expires_at` has passed since the first create): every other retry is answered by the
    /// create's own transaction, with no read.
    pub async fn replay_link_create(
        &self,
        owner: &Principal,
        idempotency_key: &IdempotencyKey,
        new: &NewLink,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, ApiError> {
        let Some(record) = self
            .get(idempotency::record_key(owner, idempotency_key))
            .await?
        else {
            return Ok(None);
        };
        // A record past its lifetime waits for DynamoDB's TTL to delete it; it no longer counts.
        if idempotency::expired(&record, now)? {
            return Ok(None);
        }
        idempotency::replay(&record, &new.fingerprint()).map(Some)
    }

    /// The caller's link `id`, or `None`: one strongly consistent GetItem.
    pub async fn get_link(&self, owner: &Principal, id: &str) -> Result<Option<Link>, ApiError> {
        self.get(key(account_partition(owner), link_sk(id)))
            .await?
            .as_ref()
            .map(Link::try_from)
            .transpose()
    }

    /// Destroys the caller's link `id` at `now` and answers it as `view` renders it (with its
    /// embedded charges), or `None` if there is no such link. The first destroy marks the link
    /// and records its `link.destroy` event (whose `data` is that same answer) in one
    /// transaction, conditioned on the link not being destroyed yet; destroying a destroyed link
    /// writes nothing and answers it with its original `deleted_at`.
    ///
    /// Three round trips: the link is read first, since the event must hold it and a
    /// transaction returns nothing on success; then its first charges (only if it has any);
    /// then the transaction.
    pub async fn destroy_link(
        &self,
        owner: &Principal,
        id: &str,
        now: DateTime<Utc>,
        view: impl Fn(&Link, &[Charge]) -> Result<Box<RawValue>, ApiError>,
    ) -> Result<Option<Box<RawValue>>, ApiError> {
        let Some(mut link) = self.get_link(owner, id).await? else {
            return Ok(None);
        };
        let mut charges = self.embedded_charges(&link).await?;
        if link.deleted_at.is_some() {
            return view(&link, &charges).map(Some);
        }
        // Tries cancelled for a conflict or throttling, and rounds lost to a payment.
        let (mut attempt, mut overtaken) = (1, 0);
        loop {
            let destroyed = Link {
                deleted_at: Some(now),
                ..link.clone()
            };
            let answer = view(&destroyed, &charges)?;
            let event = Event::new(EventKey::LinkDestroy, owner.livemode, answer.clone(), now);
            // The answer and the event carry the charges read above, so the write holds only if
            // no payment has committed since: `charge_count` moves with every charge, and with
            // `used`. A payment that slips in sends us round again with what is there now.
            let unchanged = if link.charge_count == 0 {
                "attribute_not_exists(charge_count)"
            } else {
                "charge_count = :seen"
            };
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(account_partition(owner), link_sk(id))))
                .condition_expression(format!(
                    "attribute_exists(pk) AND attribute_not_exists(deleted_at) AND {unchanged}"
                ))
                .update_expression("SET deleted_at = :now")
                .expression_attribute_values(":now", time(now));
            if link.charge_count > 0 {
                update = update.expression_attribute_values(":seen", n(link.charge_count));
            }
            let update = update
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(ApiError::internal)?;
            let mut items = vec![TransactWriteItem::builder().update(update).build()];
            items.extend(record_event(&self.table, owner, &event)?);
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
                    return Ok(Some(answer));
                }
                Err(err) => err,
            };
            match cancellation(&err, &[0]) {
                Cancellation::ConditionFailed {
                    item: Some(item), ..
                } => {
                    let current = Link::try_from(&item)?;
                    if current.charge_count != link.charge_count {
                        charges = self.embedded_charges(&current).await?;
                    }
                    // Destroyed by a concurrent call meanwhile: answered as that call left it.
                    if current.deleted_at.is_some() {
                        return view(&current, &charges).map(Some);
                    }
                    // Paid meanwhile: again, with the link as it is now. A link paid faster than
                    // it can be read, round after round, is answered 503 (try again) rather
                    // than destroyed with stale charges.
                    overtaken += 1;
                    if overtaken >= DESTROY_OVERTAKEN {
                        return Err(ApiError::ServiceUnavailable(Box::new(err)));
                    }
                    link = current;
                }
                Cancellation::ConditionFailed { item: None, .. } => return Ok(None),
                Cancellation::Transient if attempt < CREATE_ATTEMPTS => {
                    self.pause_before_retry("link destroy", attempt, 20).await;
                    attempt += 1;
                }
                Cancellation::Transient => {
                    return Err(ApiError::ServiceUnavailable(Box::new(err)));
                }
                Cancellation::Other => return Err(sdk_error(err)),
            }
        }
    }

    /// A page of the caller's links for `query` asked at `now`, and the list's total (see
    /// [`super::collection`] for what it costs).
    pub async fn list_links(
        &self,
        owner: &Principal,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> Result<LinkPage, ApiError> {
        // Boxed: the page's state (several DynamoDB calls side by side) is large enough that
        // moving it around inline overflowed a test thread's stack in debug builds.
        let page = Box::pin(self.page(&Collection::links(owner), query, now)).await?;
        Ok(LinkPage {
            links: page
                .items
                .iter()
                .map(Link::try_from)
                .collect::<Result<_, _>>()?,
            total: page.total,
        })
    }
}

impl Store {
    /// Stores links whose ids and times are already set (created in the past, say), counts them
    /// exactly as creates do, and forgets the accounts' list anchors, whose positions the new
    /// links may have moved. For benches, tests and migrations run by an operator: it writes in
    /// batches (`BatchWriteItem`, then one counter update per shard and day), not in one
    /// transaction, so nothing else may write the same accounts' links meanwhile. The functions
    /// never call it, and their IAM roles do not allow it.
    pub async fn import_links(&self, links: &[Link]) -> Result<(), ApiError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        use std::collections::{BTreeMap, BTreeSet};
        let puts = links
            .iter()
            .flat_map(|link| [Item::from(link), payment_token_item(link)])
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(ApiError::internal)
            })
            .collect::<Result<_, _>>()?;
        self.batch_write(puts).await?;
        // The same counter items creates update, with the links spread over the shards.
        let mut counts: BTreeMap<(String, String), BTreeMap<String, u64>> = BTreeMap::new();
        let mut owners = BTreeSet::new();
        for (i, link) in links.iter().enumerate() {
            let owner = Principal {
                account_id: link.account_id.clone(),
                livemode: link.livemode,
            };
            let shard = i as u32 % COUNTER_SHARDS;
            for (sk, attribute) in
                Collection::links(&owner).counters_of(link.created.timestamp_millis(), shard)
            {
                *counts
                    .entry((account_partition(&owner), sk))
                    .or_default()
                    .entry(attribute)
                    .or_default() += 1;
            }
            owners.insert((owner.account_id, owner.livemode));
        }
        for ((pk, sk), attributes) in counts {
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(pk, sk)));
            let mut adds = Vec::new();
            for (i, (attribute, count)) in attributes.into_iter().enumerate() {
                adds.push(format!("#a{i} :n{i}"));
                update = update
                    .expression_attribute_names(format!("#a{i}"), attribute)
                    .expression_attribute_values(format!(":n{i}"), super::item::n(count));
            }
            update
                .update_expression(format!("ADD {}", adds.join(", ")))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        for (account_id, livemode) in owners {
            self.forget_anchors(&Principal {
                account_id,
                livemode,
            })
            .await?;
        }
        Ok(())
    }
}
