//! Time-ordered collections and their lists: the machinery behind every Omise list (links,
//! charges and events), built once.
//!
//! A [`Collection`] is the set of items in one partition whose sort keys are `<kind>#<id>`, where
//! every id starts with a fixed prefix and its creation time in fixed-width base 36 (see
//! `domain::ids`). Sort-key order is therefore creation order, and a time window is a key range.
//! Members are never removed (a destroyed link stays, marked); the list machinery relies on it.
//!
//! # What a list costs
//!
//! Omise lists page by `offset`, and DynamoDB cannot skip: read naively, a page at offset 100,000
//! reads (and holds) 100,000 items first. Here a page costs reads in proportion to its `limit`:
//!
//! - **Totals come from counters**, kept in the create's own transaction: eight count shards for
//!   the whole collection, and per-day items holding a count per hour (`h00`…`h23`), also in eight
//!   shards. An unfiltered total reads the eight count shards; a filtered total sums the hours that
//!   lie wholly inside the window and counts only the partial hour at each end, item by item. Its
//!   cost grows with the days the window spans and with one hour's items, never with the items in
//!   the window.
//! - **Anchors remember where pages end.** After a page at offset `o > 0`, the store writes an
//!   anchor: "in the list starting at `from`, the item at position `p` is this one". The next page
//!   of a walk (offset `o + limit`) starts right after it, so walking a whole collection costs each
//!   item one read, not the quadratic sum of every page re-reading its predecessors.
//! - **Without an anchor near enough**, the page's start is found by counting: from the nearest
//!   anchor or the window's start when that is within [`ANCHOR_REACH`] items, otherwise through the
//!   hour counts to the right hour, then counting items within that hour. Counting uses `Select =
//!   COUNT` queries, so memory stays constant whatever the offset, and it reads at most one hour of
//!   items plus the counters. There is therefore no cap on `offset`.
//!
//! # Why anchors stay true
//!
//! An anchor is a position counted from the window's start. A new member can only change positions
//! at or after its own: its id carries its creation time, and ids are taken immediately before each
//! write attempt, which the SDK abandons after `OPERATION_TIMEOUT`. So no member appears behind one
//! created more than [`SETTLE`] ago, and anchors are only written for members older than that.
//! Reverse-order positions count from the window's end, which moves as members are created, so a
//! reverse page writes anchors only when its window ends more than [`SETTLE`] in the past.

mod anchors;
mod paging;
mod totals;

pub use paging::RawPage;

use super::Store;
use super::item::{key, n, s};
use crate::domain::error::ApiError;
use crate::domain::ids;
use crate::domain::principal::Principal;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::Update;
use chrono::{DateTime, Datelike, Utc};
use std::time::Duration;

/// Count shards per collection, and day-item shards per day: concurrent creates in one collection
/// pick one at random, so they rarely write the same counter item at once.
pub const COUNTER_SHARDS: u32 = 8;
/// How long after its `created` a member may still appear in a list: the longest a create can
/// take to commit (`OPERATION_TIMEOUT`, 4 s), doubled for margin and clock skew between instances.
/// Members older than this never move, and anchors are only ever taken at them.
pub const SETTLE: Duration = Duration::from_secs(10);
/// How long an unused anchor is kept. Anchors are facts that never go stale; expiring them only
/// bounds their number.
pub const ANCHOR_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The most items counted from an anchor, or from a window's start, before the hour counters are
/// read instead: about what one `Select = COUNT` query reads (1 MB of links).
pub const ANCHOR_REACH: u64 = 1_000;

/// Positions are written with 12 digits.
const MAX_POSITION: u64 = 999_999_999_999;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A time-ordered collection: the members of `pk` whose sort keys start with `<kind>#<id prefix>`.
#[derive(Debug, Clone)]
pub struct Collection {
    pk: String,
    kind: &'static str,
    id_prefix: &'static str,
    anchor_pk: String,
}

impl Collection {
    /// An account's links in the caller's mode.
    pub fn links(owner: &Principal) -> Self {
        Self {
            pk: super::item::account_partition(owner),
            kind: "LINK",
            id_prefix: ids::link_prefix(owner.livemode),
            anchor_pk: super::item::anchor_partition(owner),
        }
    }

    /// An account's charges in the caller's mode (`GET /charges`).
    pub fn charges(owner: &Principal) -> Self {
        Self {
            pk: super::item::account_partition(owner),
            kind: "CHRG",
            id_prefix: ids::charge_prefix(owner.livemode),
            anchor_pk: super::item::anchor_partition(owner),
        }
    }

    /// The charges made through one of the caller's links (`GET /links/{id}/charges`): copies of
    /// the charges, in a partition of their own (see `store` for the layout).
    pub fn link_charges(owner: &Principal, link_id: &str) -> Self {
        Self {
            pk: super::item::link_charges_partition(owner, link_id),
            kind: "CHRG",
            id_prefix: ids::charge_prefix(owner.livemode),
            anchor_pk: format!("{}#{link_id}", super::item::anchor_partition(owner)),
        }
    }

    /// An account's events in the caller's mode (`GET /events`).
    pub fn events(owner: &Principal) -> Self {
        Self {
            pk: super::item::account_partition(owner),
            kind: "EVNT",
            id_prefix: ids::event_prefix(owner.livemode),
            anchor_pk: super::item::anchor_partition(owner),
        }
    }

    /// The sort key of a member with this id.
    pub fn member_sk(&self, id: &str) -> String {
        format!("{}#{id}", self.kind)
    }

    fn member_prefix(&self) -> String {
        format!("{}#{}", self.kind, self.id_prefix)
    }

    /// The lowest sort key a member created at `ms` or later can have.
    fn low(&self, ms: i64) -> String {
        format!("{}{}", self.member_prefix(), ids::time_prefix(ms))
    }

    /// Above every sort key of a member created at `ms` or earlier (or of any member).
    fn high(&self, ms: Option<i64>) -> String {
        match ms {
            Some(ms) => format!("{}{}~", self.member_prefix(), ids::time_prefix(ms)),
            None => format!("{}~", self.member_prefix()),
        }
    }

    /// The creation time of the member with sort key `sk`, in milliseconds.
    pub(crate) fn created_ms(&self, sk: &str) -> Option<i64> {
        ids::time_of(
            sk.strip_prefix(self.kind)?.strip_prefix('#')?,
            self.id_prefix,
        )
    }

    fn count_sk(&self, shard: u32) -> String {
        format!("COUNT#{}#{shard}", self.kind)
    }

    fn day_sk(&self, day: &str, shard: u32) -> String {
        format!("DAY#{}#{day}#{shard}", self.kind)
    }

    fn anchor_sk(&self, from_ms: i64, position: u64) -> String {
        format!("{}#{from_ms:013}#{position:012}", self.kind)
    }

    /// The counter items a member created at `created_ms` counts in, in `shard`, and the
    /// attribute of each it adds one to: a count shard, and its hour in its day's item.
    pub fn counters_of(&self, created_ms: i64, shard: u32) -> [(String, String); 2] {
        let (day, hour) = day_and_hour(created_ms);
        [
            (self.count_sk(shard), "count".into()),
            (self.day_sk(&day, shard), format!("h{hour:02}")),
        ]
    }

    /// What creating a member at `created_ms` adds to its transaction: one to each of its
    /// counters in `shard`. They go in the same transaction as the member itself, so the counters
    /// always agree with the members.
    pub fn count_new_member(
        &self,
        table: &str,
        created_ms: i64,
        shard: u32,
    ) -> Result<[Update; 2], ApiError> {
        let add_one = |(sk, attribute): (String, String)| {
            Update::builder()
                .table_name(table)
                .set_key(Some(key(self.pk.clone(), sk)))
                .update_expression("ADD #counter :one")
                .expression_attribute_names("#counter", attribute)
                .expression_attribute_values(":one", n(1))
                .build()
                .map_err(ApiError::internal)
        };
        let [count, hour] = self.counters_of(created_ms, shard);
        Ok([add_one(count)?, add_one(hour)?])
    }
}

/// The UTC day (`yyyy-mm-dd`) and hour of a moment in milliseconds. (Written out by hand:
/// chrono's `format` would add its whole strftime machinery to every binary.)
fn day_and_hour(ms: i64) -> (String, u32) {
    let day = DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive();
    (
        format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day()),
        (ms.rem_euclid(DAY_MS) / HOUR_MS) as u32,
    )
}

/// The start, in milliseconds, of a `yyyy-mm-dd` day.
fn day_start(day: &str) -> Option<i64> {
    let mut parts = day.splitn(3, '-').map(|p| p.parse::<u32>().ok());
    let (year, month, date) = (parts.next()??, parts.next()??, parts.next()??);
    let day = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, date)?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// The start, in milliseconds, of the hour holding `ms`.
fn hour_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// The sort-key range of a window in a collection, inclusive.
struct Range {
    low: String,
    high: String,
}

impl Store {
    fn range_query(&self, pk: &str, range: &Range) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":low", s(&range.low))
            .expression_attribute_values(":high", s(&range.high))
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        text.parse::<DateTime<Utc>>().unwrap().timestamp_millis()
    }

    fn links() -> Collection {
        Collection::links(&Principal {
            account_id: "acct_1".into(),
            livemode: false,
        })
    }

    #[test]
    fn day_names_read_back_to_their_start() {
        assert_eq!(day_start("2026-11-24"), Some(ms("2026-11-24T00:00:00Z")));
        assert_eq!(day_start("1970-01-01"), Some(0));
        for bad in [
            "2026-11",
            "2026-13-01",
            "2026-02-30",
            "x-1-1",
            "",
            "2026-11-24-1",
        ] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
        let (day, _) = day_and_hour(ms("2026-03-04T05:06:07Z"));
        assert_eq!(day_start(&day), Some(ms("2026-03-04T00:00:00Z")));
    }

    #[test]
    fn days_and_hours_are_utc() {
        assert_eq!(day_and_hour(0), ("1970-01-01".into(), 0));
        assert_eq!(
            day_and_hour(ms("2026-11-24T23:59:59.999Z")),
            ("2026-11-24".into(), 23)
        );
        assert_eq!(
            day_and_hour(ms("2026-11-25T00:00:00Z")),
            ("2026-11-25".into(), 0)
        );
        assert_eq!(
            hour_start(ms("2026-11-24T07:30:00.5Z")),
            ms("2026-11-24T07:00:00Z")
        );
        assert_eq!(
            hour_start(ms("2026-11-24T07:00:00Z")),
            ms("2026-11-24T07:00:00Z")
        );
    }

    #[test]
    fn member_keys_bound_windows_in_time_order() {
        let c = links();
        let at = "2026-11-24T07:30:00.5Z".parse::<DateTime<Utc>>().unwrap();
        let id = ids::new_link_id(false, at);
        let sk = c.member_sk(&id);
        assert!(sk.starts_with("LINK#link_test_"));
        assert_eq!(c.created_ms(&sk), Some(at.timestamp_millis()));
        assert!(c.low(at.timestamp_millis()) <= sk);
        assert!(sk <= c.high(Some(at.timestamp_millis())));
        assert!(sk > c.high(Some(at.timestamp_millis() - 1)));
        assert!(sk < c.low(at.timestamp_millis() + 1));
        assert!(sk < c.high(None) && c.low(0) < sk);
        assert_eq!(c.created_ms("CHRG#x"), None);
    }

    #[test]
    fn anchors_sort_by_position_within_one_window_start() {
        let c = links();
        assert_eq!(c.anchor_sk(1, 99), "LINK#0000000000001#000000000099");
        assert!(c.anchor_sk(1, 99) < c.anchor_sk(1, 100));
        assert!(c.anchor_sk(1, 999_999_999_999) < c.anchor_sk(2, 0));
    }
}
