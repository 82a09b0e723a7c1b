//! An endpoint's queue: the events waiting for it, oldest first, and the count the endpoint
//! item keeps of them.

use super::endpoints::{WebhookEndpoint, endpoint_from};
use super::{ENDPOINT_SK, due_key, endpoint_key, endpoint_partition, ms, queue_sk};
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use crate::store::item::{get_s, key, n, parse_time, s, time};
use crate::store::{Store, sdk_error};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

/// An event waiting for its endpoint.
#[derive(Clone, Debug)]
pub struct Waiting {
    pub event_id: String,
    /// The event's JSON as the stream first carried it: what is sent.
    pub doc: String,
    pub queued: DateTime<Utc>,
}

impl Store {
    /// Deletes the waiting event `event_id` of an endpoint that is gone: a removal's own work,
    /// or what a sweep does with the leftovers of a removal that was interrupted.
    pub async fn drop_waiting(&self, owner: &Principal, event_id: &str) -> Result<(), ApiError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(endpoint_partition(owner), queue_sk(event_id))))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Puts `event_id` in `owner`'s queue, to be tried at `due` unless a try is already due
    /// sooner, with `failed` true when it was just tried and failed (the endpoint's first
    /// failure in a row). One transaction: the waiting event (only if not already there, so a
    /// stream record handled twice queues once), the endpoint's count, and its next try.
    /// Returns false when nothing was queued: no endpoint any more, or already queued.
    pub async fn queue_event(
        &self,
        owner: &Principal,
        event_id: &str,
        doc: &str,
        due: DateTime<Utc>,
        failed: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let mut waiting = key(endpoint_partition(owner), queue_sk(event_id));
        waiting.extend([("doc".into(), s(doc)), ("queued".into(), time(now))]);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(waiting))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .update_expression("ADD pending :one, failures :failed")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":failed", n(u32::from(failed)))
            .build()
            .map_err(ApiError::internal)?;
        let next = Update::builder()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)))
            .update_expression("SET due = if_not_exists(due, :due)")
            .expression_attribute_values(":due", ms(due))
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(count).build(),
            TransactWriteItem::builder().update(next).build(),
        ];
        Ok(self
            .transact("webhook queue", items, &[0, 1])
            .await?
            .is_none())
    }

    /// `owner`'s endpoint and its oldest `limit` waiting events, oldest first: one Query (the
    /// endpoint's sort key, `HOOK`, sorts before `QUEUE#`).
    pub async fn webhook_queue(
        &self,
        owner: &Principal,
        limit: usize,
    ) -> Result<(Option<WebhookEndpoint>, Vec<Waiting>), ApiError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(endpoint_partition(owner)))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.read(out.consumed_capacity());
        let mut endpoint = None;
        let mut waiting = Vec::new();
        for item in out.items() {
            let sk = get_s(item, crate::store::item::SK)?;
            if sk == ENDPOINT_SK {
                endpoint = Some(endpoint_from(owner, item)?);
            } else if let Some(event_id) = sk.strip_prefix("QUEUE#") {
                waiting.push(Waiting {
                    event_id: event_id.to_owned(),
                    doc: get_s(item, "doc")?.clone(),
                    queued: parse_time(get_s(item, "queued")?)?,
                });
            }
        }
        waiting.truncate(limit);
        Ok((endpoint, waiting))
    }

    /// Takes `event_id` out of `owner`'s queue (delivered, or given up) and clears the
    /// endpoint's failures: one transaction, so the count always matches the queue.
    pub async fn dequeue_event(&self, owner: &Principal, event_id: &str) -> Result<(), ApiError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(endpoint_partition(owner), queue_sk(event_id))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .update_expression("ADD pending :minus_one SET failures = :zero")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        // A failed condition: already taken out (by a sweep whose lease ran out), or the
        // endpoint removed. Either way it is out of the queue.
        self.transact("webhook dequeue", items, &[0, 1]).await?;
        Ok(())
    }
}
