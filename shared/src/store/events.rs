//! Events: written inside the transaction of the change they report, read back one by one or as
//! a list, and their webhook deliveries appended as they happen.
//!
//! An event is an item `EVNT#<event id>` in its owner's account partition, beside the links and
//! charges it reports on: `doc` holds the event as first written (its `webhook_deliveries`
//! empty), `deliveries` the attempts, one JSON document each, appended by the delivery function.
//! The event item is also what the table's stream carries to the delivery function (an `INSERT`
//! whose new image holds `doc`), so a webhook needs no read of its own to know what to send.
//!
//! Events are a [`Collection`] like links and charges: each write adds one to the event
//! counters in the same transaction, so `GET /events` pages and totals exactly as `GET /links`.

use super::collection::{COUNTER_SHARDS, Collection};
use super::item::{Item, account_partition, corrupt, get_s, key, s};
use super::{Store, random_below, sdk_error};
use crate::domain::error::ApiError;
use crate::domain::event::{Event, WebhookDelivery};
use crate::domain::list::ListQuery;
use crate::domain::principal::Principal;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The sort key of an event: `EVNT#<id>`.
pub fn event_sk(id: &str) -> String {
    format!("EVNT#{id}")
}

/// The most delivery attempts kept on one event. The retry schedule makes at most about 80 in
/// its three days (see the delivery function); this bounds the item's size whatever happens.
pub const MAX_RECORDED_DELIVERIES: usize = 200;

/// One page of events and the size of the whole list.
#[derive(Debug)]
pub struct EventPage {
    /// Each event as the API serves it (`webhook_deliveries` filled in).
    pub events: Vec<StoredEvent>,
    pub total: u64,
}

/// An event as stored and served: its fields in Omise's order, `data` and each delivery exactly
/// the JSON written (a `Value` would sort their keys). So `GET /events/{id}` answers what the
/// webhook carried, plus the deliveries made since.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredEvent {
    pub object: String,
    pub id: String,
    pub livemode: bool,
    pub location: String,
    pub webhook_deliveries: Vec<Box<RawValue>>,
    pub key: String,
    pub created: String,
    pub data: Box<RawValue>,
}

/// The event's item: its document, with no deliveries yet.
pub fn event_item(owner: &Principal, event: &Event) -> Result<Item, ApiError> {
    let mut item = key(account_partition(owner), event_sk(&event.id));
    item.insert(
        "doc".into(),
        s(serde_json::to_string(event).map_err(ApiError::internal)?),
    );
    Ok(item)
}

/// The event an item holds, as the API serves it: its document with the deliveries recorded
/// since.
pub fn event_from_item(item: &Item) -> Result<StoredEvent, ApiError> {
    let mut event: StoredEvent = serde_json::from_str(get_s(item, "doc")?)
        .map_err(|e| corrupt(format!("event item has a bad document: {e}")))?;
    event.webhook_deliveries = match item.get("deliveries") {
        None => Vec::new(),
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|d| {
                d.as_s()
                    .ok()
                    .and_then(|text| RawValue::from_string(text.clone()).ok())
                    .ok_or_else(|| corrupt("event item has a bad delivery".into()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(corrupt("event item's deliveries are not a list".into())),
    };
    Ok(event)
}

/// What recording `event` adds to the transaction of the change it reports: the event's item
/// (conditioned on a fresh id, as every member is) and one to each of its collection's counters.
pub(crate) fn record_event(
    table: &str,
    owner: &Principal,
    event: &Event,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(event_item(owner, event)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(ApiError::internal)?;
    let counters = Collection::events(owner).count_new_member(
        table,
        event.created.0.timestamp_millis(),
        random_below(COUNTER_SHARDS),
    )?;
    Ok(
        std::iter::once(TransactWriteItem::builder().put(put).build())
            .chain(
                counters
                    .into_iter()
                    .map(|u| TransactWriteItem::builder().update(u).build()),
            )
            .collect(),
    )
}

impl Store {
    /// The caller's event `id` as the API serves it, or `None`: one strongly consistent GetItem.
    pub async fn get_event(
        &self,
        owner: &Principal,
        id: &str,
    ) -> Result<Option<StoredEvent>, ApiError> {
        self.get(key(account_partition(owner), event_sk(id)))
            .await?
            .as_ref()
            .map(event_from_item)
            .transpose()
    }

    /// A page of the caller's events (`GET /events`), paged and filtered as links are.
    pub async fn list_events(
        &self,
        owner: &Principal,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> Result<EventPage, ApiError> {
        let page = Box::pin(self.page(&Collection::events(owner), query, now)).await?;
        Ok(EventPage {
            events: page
                .items
                .iter()
                .map(event_from_item)
                .collect::<Result<_, _>>()?,
            total: page.total,
        })
    }

    /// Appends one delivery attempt to the event `event_id` of `owner`: one UpdateItem. An event
    /// that already holds [`MAX_RECORDED_DELIVERIES`] keeps them and this one is only logged.
    pub async fn record_delivery(
        &self,
        owner: &Principal,
        event_id: &str,
        delivery: &WebhookDelivery,
    ) -> Result<(), ApiError> {
        let doc = serde_json::to_string(delivery).map_err(ApiError::internal)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(account_partition(owner), event_sk(event_id))))
            .update_expression("SET deliveries = list_append(if_not_exists(deliveries, :none), :one)")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(deliveries) OR size(deliveries) < :max)",
            )
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":one", AttributeValue::L(vec![s(doc)]))
            .expression_attribute_values(":max", super::item::n(MAX_RECORDED_DELIVERIES))
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage.write(out.consumed_capacity());
                Ok(())
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                tracing::warn!(
                    event = event_id,
                    status = delivery.status,
                    "delivery not recorded: the event is gone or holds the most deliveries kept"
                );
                Ok(())
            }
            Err(err) => Err(sdk_error(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::EventKey;
    use serde_json::json;

    fn owner() -> Principal {
        Principal {
            account_id: "acct_1".into(),
            livemode: false,
        }
    }

    #[test]
    fn an_event_item_reads_back_with_its_deliveries() {
        let event = Event::new(
            EventKey::LinkCreate,
            false,
            RawValue::from_string(r#"{"object":"link","title":"ค่าอาหาร"}"#.into()).unwrap(),
            Utc::now(),
        );
        let mut item = event_item(&owner(), &event).unwrap();
        assert_eq!(item["pk"], s("ACCT#acct_1#test"));
        assert_eq!(item["sk"], s(format!("EVNT#{}", event.id)));
        let served = serde_json::to_string(&event_from_item(&item).unwrap()).unwrap();
        assert_eq!(
            served,
            serde_json::to_string(&event).unwrap(),
            "byte for byte"
        );

        let delivery = WebhookDelivery::new(
            &event,
            "https://shop.example/h",
            Some(200),
            None,
            Utc::now(),
        );
        item.insert(
            "deliveries".into(),
            AttributeValue::L(vec![s(serde_json::to_string(&delivery).unwrap())]),
        );
        let served = serde_json::to_value(event_from_item(&item).unwrap()).unwrap();
        assert_eq!(
            served["webhook_deliveries"],
            json!([serde_json::to_value(&delivery).unwrap()])
        );
        assert_eq!(served["data"]["title"], "ค่าอาหาร");
    }

    #[test]
    fn a_damaged_event_item_is_an_error_not_a_panic() {
        let event = Event::new(
            EventKey::ChargeCreate,
            false,
            RawValue::from_string("{}".into()).unwrap(),
            Utc::now(),
        );
        let good = event_item(&owner(), &event).unwrap();
        let damaged: Vec<(&str, Option<AttributeValue>)> = vec![
            ("doc", None),
            ("doc", Some(s("{not json"))),
            ("doc", Some(s("[1, 2]"))),
            ("doc", Some(s(r#"{"object": "event"}"#))),
            ("deliveries", Some(s("[]"))),
            ("deliveries", Some(AttributeValue::L(vec![s("{")]))),
            (
                "deliveries",
                Some(AttributeValue::L(vec![AttributeValue::Bool(true)])),
            ),
        ];
        for (name, value) in damaged {
            let mut item = good.clone();
            match value.clone() {
                Some(v) => item.insert(name.into(), v),
                None => item.remove(name),
            };
            assert!(event_from_item(&item).is_err(), "{name} = {value:?}");
        }
    }
}
