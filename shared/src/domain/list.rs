//! Lists: what a client asks for ([`ListQuery`]) and the Omise list object it gets back
//! ([`ListObject`]). Links, and later charges and events, are all listed through these.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

/// Default page size of a list.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size; larger requests get this many.
pub const MAX_LIMIT: u32 = 100;

/// Sort order of a list: by `created`, then by id within the same millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Chronological,
    ReverseChronological,
}

impl Order {
    /// The name Omise uses, echoed in every list object.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chronological => "chronological",
            Self::ReverseChronological => "reverse_chronological",
        }
    }
}

/// A validated list request: a page (`offset`, `limit`) of the objects created in `from..=to`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub offset: u64,
    pub limit: u32,
    /// Inclusive lower bound on `created`, to the millisecond; the epoch when not given.
    pub from: DateTime<Utc>,
    /// Inclusive upper bound on `created`, to the whole second (objects are shown to the second);
    /// `None` when not given, which means "up to now, and no upper bound at all".
    pub to: Option<DateTime<Utc>>,
    pub order: Order,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: DEFAULT_LIMIT,
            from: DateTime::UNIX_EPOCH,
            to: None,
            order: Order::Chronological,
        }
    }
}

/// The creation times a list covers, in milliseconds since the epoch, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    /// `None`: no upper bound.
    pub to_ms: Option<i64>,
}

impl Window {
    /// Whether the window holds every object there is, so that its size is the collection's total.
    pub fn is_everything(&self) -> bool {
        self.from_ms <= 0 && self.to_ms.is_none()
    }
}

impl ListQuery {
    /// The window this query covers when asked at `now`. A `to` that is not before `now` bounds
    /// nothing that exists yet, so it counts as no upper bound (the list is then "everything" and
    /// its total costs one small read, see the store).
    pub fn window(&self, now: DateTime<Utc>) -> Window {
        let to_ms = self
            .to
            // The whole last second: objects are shown to the second but kept to the millisecond.
            .map(|to| to.timestamp().saturating_mul(1000).saturating_add(999))
            .filter(|&to_ms| to_ms < now.timestamp_millis());
        // Rounded up: a `from` between two milliseconds takes nothing from the earlier one.
        let from_ms = self.from.timestamp_millis()
            + i64::from(self.from.timestamp_subsec_nanos() % 1_000_000 != 0);
        Window {
            from_ms: from_ms.max(0),
            to_ms,
        }
    }

    /// The `to` a list object echoes: the one given, or `now`.
    pub fn effective_to(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.to.unwrap_or(now)
    }
}

/// A time written as `YYYY-MM-DDThh:mm:ssZ`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Time(pub DateTime<Utc>);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

/// The Omise list object.
#[derive(Debug, Serialize)]
pub struct ListObject<T> {
    pub object: &'static str,
    pub data: Vec<T>,
    pub limit: u32,
    pub offset: u64,
    pub total: u64,
    pub location: String,
    /// Always named, `chronological` when the client gave none, as Omise answers.
    pub order: &'static str,
    pub from: Time,
    pub to: Time,
}

impl<T> ListObject<T> {
    /// A page of `data` out of `total`, echoing the query's paging and filters as of `now`.
    pub fn page(
        location: String,
        query: &ListQuery,
        now: DateTime<Utc>,
        data: Vec<T>,
        total: u64,
    ) -> Self {
        Self {
            object: "list",
            data,
            limit: query.limit,
            offset: query.offset,
            total,
            location,
            order: query.order.as_str(),
            from: Time(query.from),
            to: Time(query.effective_to(now)),
        }
    }

    /// An empty list with default paging, as embedded in an object (a link's `charges`).
    pub fn empty(location: String, now: DateTime<Utc>) -> Self {
        Self::page(location, &ListQuery::default(), now, Vec::new(), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn an_unfiltered_window_is_everything() {
        let now = at("2026-11-24T00:00:00Z");
        let window = ListQuery::default().window(now);
        assert_eq!(
            window,
            Window {
                from_ms: 0,
                to_ms: None
            }
        );
        assert!(window.is_everything());
    }

    #[test]
    fn to_covers_its_whole_second_and_a_future_to_bounds_nothing() {
        let now = at("2026-11-24T00:00:00Z");
        let past = ListQuery {
            to: Some(at("2026-11-23T10:00:05.250Z")),
            ..ListQuery::default()
        };
        assert_eq!(
            past.window(now).to_ms,
            Some(at("2026-11-23T10:00:05.999Z").timestamp_millis())
        );
        assert!(!past.window(now).is_everything());
        let current_second = ListQuery {
            to: Some(at("2026-11-23T23:59:59Z")),
            ..ListQuery::default()
        };
        assert!(current_second.window(now).to_ms.is_some());
        let future = ListQuery {
            to: Some(now),
            ..ListQuery::default()
        };
        assert!(future.window(now).is_everything());
        let from = ListQuery {
            from: at("1969-01-01T00:00:00Z"),
            ..ListQuery::default()
        };
        assert!(
            from.window(now).is_everything(),
            "before the epoch is the epoch"
        );
        let from = ListQuery {
            from: at("1970-01-01T00:00:00.001Z"),
            ..ListQuery::default()
        };
        assert!(!from.window(now).is_everything());
        let between = ListQuery {
            from: at("2026-11-23T10:00:05.0005Z"),
            ..ListQuery::default()
        };
        assert_eq!(
            between.window(now).from_ms,
            at("2026-11-23T10:00:05.001Z").timestamp_millis()
        );
    }

    #[test]
    fn a_list_object_names_its_order_even_when_not_given() {
        let now = at("2026-11-24T06:47:54.5Z");
        let list: ListObject<()> = ListObject::empty("/links/x/charges".into(), now);
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            json!({"object": "list", "data": [], "limit": 20, "offset": 0, "total": 0,
                   "location": "/links/x/charges", "order": "chronological",
                   "from": "1970-01-01T00:00:00Z", "to": "2026-11-24T06:47:54Z"})
        );
        let reverse = ListQuery {
            order: Order::ReverseChronological,
            to: Some(at("2026-01-01T00:00:00Z")),
            ..ListQuery::default()
        };
        let page = ListObject::page("/links".into(), &reverse, now, vec![1], 9);
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(json["order"], "reverse_chronological");
        assert_eq!(json["to"], "2026-01-01T00:00:00Z");
        assert_eq!(
            (json["total"].as_u64(), json["data"][0].as_u64()),
            (Some(9), Some(1))
        );
    }
}
