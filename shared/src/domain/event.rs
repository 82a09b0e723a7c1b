//! Events: what happened to a merchant's objects, in Omise's event shape (API 2015-11-17), as
//! `GET /events` will list them and webhooks will deliver them.
//!
//! An event names what happened with a `key` (`link.create`, `charge.create`...) and carries the
//! object as the API served it at that moment in `data`. Omise has no event for destroying a link;
//! this service names it `link.destroy`, as Omise names its other deletions (`customer.destroy`,
//! `card.destroy`). `webhook_deliveries` records each attempt to deliver the event.

use super::list::Time;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

/// What an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKey {
    /// A link was created; `data` is the link.
    LinkCreate,
    /// A link was destroyed; `data` is the link, `deleted` true.
    LinkDestroy,
    /// A charge was made; `data` is the charge: final, or pending (3-D Secure, PromptPay).
    ChargeCreate,
    /// A pending charge (3-D Secure, PromptPay) reached its final status; `data` is the charge.
    ChargeComplete,
    /// A charge was refunded; `data` is the refund.
    RefundCreate,
}

impl EventKey {
    pub const ALL: [EventKey; 5] = [
        Self::LinkCreate,
        Self::LinkDestroy,
        Self::ChargeCreate,
        Self::ChargeComplete,
        Self::RefundCreate,
    ];

    /// The key as Omise writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LinkCreate => "link.create",
            Self::LinkDestroy => "link.destroy",
            Self::ChargeCreate => "charge.create",
            Self::ChargeComplete => "charge.complete",
            Self::RefundCreate => "refund.create",
        }
    }

    /// The key from its text, for reading stored events back.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|key| key.as_str() == text)
    }
}

impl Serialize for EventKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One attempt to deliver an event to a webhook endpoint. The payload is the event itself, so it
/// is not repeated here.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WebhookDelivery {
    pub object: &'static str,
    /// `whdl_test_…` or `whdl_…`.
    pub id: String,
    /// The endpoint the attempt went to.
    pub uri: String,
    /// The endpoint's HTTP status, or null when no answer came (refused, timed out, TLS failed).
    pub status: Option<u16>,
    pub key: EventKey,
    /// Why the attempt failed, when it did: never anything secret (no signature, no secret).
    pub error: Option<String>,
    pub created: Time,
}

/// An event as the API serves it.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub object: &'static str,
    /// `evnt_test_…` or `evnt_`, time-ordered like link ids.
    pub id: String,
    pub livemode: bool,
    /// `/events/{id}`.
    pub location: String,
    pub webhook_deliveries: Vec<WebhookDelivery>,
    pub key: EventKey,
    pub created: Time,
    /// The object the event reports, exactly as the API served it when the event happened: the
    /// same bytes, its fields in the same order.
    pub data: Box<RawValue>,
}

impl Event {
    /// A new event about `data`, with no deliveries yet.
    pub fn new(key: EventKey, livemode: bool, data: Box<RawValue>, at: DateTime<Utc>) -> Self {
        let id = super::ids::new_event_id(livemode, at);
        Self {
            object: "event",
            location: format!("/events/{id}"),
            id,
            livemode,
            webhook_deliveries: Vec::new(),
            key,
            created: Time(at),
            data,
        }
    }
}

impl WebhookDelivery {
    /// The record of one attempt at `at`: the endpoint's status, or why there was none.
    pub fn new(
        event: &Event,
        uri: &str,
        status: Option<u16>,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self::of(event.livemode, event.key, uri, status, error, at)
    }

    /// The same, for an event known only by its mode and key (as the delivery function knows
    /// the events the stream hands it).
    pub fn of(
        livemode: bool,
        key: EventKey,
        uri: &str,
        status: Option<u16>,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            object: "webhook_delivery",
            id: super::ids::new_plain_id("whdl", livemode),
            uri: uri.to_owned(),
            status,
            key,
            error,
            created: Time(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{event_prefix, is_event_id, time_of};
    use chrono::TimeZone;
    use serde_json::{Value, json};

    fn raw(value: Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&value).unwrap()
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 9, 2, 29).unwrap()
    }

    #[test]
    fn keys_are_omises_and_read_back() {
        let names: Vec<&str> = EventKey::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "link.create",
                "link.destroy",
                "charge.create",
                "charge.complete",
                "refund.create"
            ]
        );
        for key in EventKey::ALL {
            assert_eq!(EventKey::parse(key.as_str()), Some(key));
        }
        assert_eq!(EventKey::parse("link.created"), None);
    }

    /// The 2015-11-17 event's fields (Omise's recorded `GET /events/{id}`: object, id, livemode,
    /// location, key, created, data), plus `webhook_deliveries` as later versions carry it.
    #[test]
    fn an_event_serialises_in_omises_shape() {
        let link = json!({"object": "link", "id": "link_test_x", "title": "ค่าอาหาร"});
        let event = Event::new(EventKey::LinkCreate, false, raw(link.clone()), at());
        let value = serde_json::to_value(&event).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "created",
                "data",
                "id",
                "key",
                "livemode",
                "location",
                "object",
                "webhook_deliveries"
            ]
        );
        assert_eq!(value["object"], "event");
        assert_eq!(value["key"], "link.create");
        assert_eq!(value["livemode"], false);
        assert_eq!(value["created"], "2026-11-26T09:02:29Z");
        assert_eq!(value["location"], format!("/events/{}", event.id));
        assert_eq!(value["data"], link);
        assert_eq!(value["webhook_deliveries"], json!([]));
    }

    #[test]
    fn event_ids_carry_their_mode_and_time() {
        let test = Event::new(EventKey::ChargeCreate, false, raw(json!({})), at());
        let live = Event::new(EventKey::ChargeCreate, true, raw(json!({})), at());
        assert!(is_event_id(&test.id, false) && !is_event_id(&test.id, true));
        assert!(
            is_event_id(&live.id, true)
                && live.id.starts_with("evnt_")
                && !live.id.contains("test")
        );
        assert_eq!(
            time_of(&test.id, event_prefix(false)),
            Some(at().timestamp_millis())
        );
        assert_ne!(
            test.id,
            Event::new(EventKey::ChargeCreate, false, raw(json!({})), at()).id
        );
    }

    #[test]
    fn a_delivery_records_the_attempt_in_omises_shape() {
        let event = Event::new(EventKey::ChargeCreate, false, raw(json!({})), at());
        let failed = WebhookDelivery::new(
            &event,
            "https://shop.example.com/hooks",
            None,
            Some("connection refused".into()),
            at(),
        );
        let value = serde_json::to_value(&failed).unwrap();
        assert_eq!(value["object"], "webhook_delivery");
        assert!(value["id"].as_str().unwrap().starts_with("whdl_test_"));
        assert_eq!(value["uri"], "https://shop.example.com/hooks");
        assert_eq!(value["status"], Value::Null);
        assert_eq!(value["key"], "charge.create");
        assert_eq!(value["error"], "connection refused");
        assert_eq!(value["created"], "2026-11-26T09:02:29Z");
        let ok = WebhookDelivery::new(
            &event,
            "https://shop.example.com/hooks",
            Some(200),
            None,
            at(),
        );
        assert_eq!(serde_json::to_value(&ok).unwrap()["status"], 200);
    }
}
