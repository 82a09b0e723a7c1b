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

use super::item::{EXPIRES_AT, Item, SK, corrupt, get_n, get_s, key, n, s};
use super::{Store, sdk_error};
use crate::domain::error::ApiError;
use crate::domain::ids;
use crate::domain::list::{ListQuery, Order, Window};
use crate::domain::principal::Principal;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{Select, Update};
use chrono::{DateTime, Datelike, Utc};
use std::collections::BTreeMap;
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

/// Awaits `work` if there is any.
async fn maybe<T>(
    work: Option<impl std::future::Future<Output = Result<T, ApiError>>>,
) -> Result<Option<T>, ApiError> {
    match work {
        Some(work) => work.await.map(Some),
        None => Ok(None),
    }
}

/// The start, in milliseconds, of the hour holding `ms`.
fn hour_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// One page of a collection's members, as items, and the size of the whole window.
#[derive(Debug)]
pub struct RawPage {
    pub items: Vec<Item>,
    pub total: u64,
}

/// A position in a window and the sort key of the member there.
type Anchor = (u64, String);

/// Members per hour of a window, each hour clipped to the window (the partial hours at its ends
/// are counted exactly). Keyed by the hour's start.
#[derive(Debug, Default, PartialEq)]
struct Histogram(BTreeMap<i64, u64>);

impl Histogram {
    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The hour holding the member at chronological `position`: its start and the members before it.
    fn hour_of(&self, position: u64) -> Option<(i64, u64)> {
        let mut before = 0;
        for (&start, &count) in &self.0 {
            if position < before + count {
                return Some((start, before));
            }
            before += count;
        }
        None
    }
}

/// A part of a partial hour at a window's end, to count member by member: inside the window, or
/// the rest of the hour outside it.
struct Edge {
    range: Range,
    inside: bool,
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

    /// A page of `c`'s members for `query` asked at `now`, and the window's total.
    pub(crate) async fn page(
        &self,
        c: &Collection,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> Result<RawPage, ApiError> {
        let window = query.window(now);
        let range = Range {
            low: c.low(window.from_ms),
            high: c.high(window.to_ms),
        };
        let forward = query.order == Order::Chronological;
        let offset = query.offset;

        // The first page starts at the window's edge: read it alongside the total.
        if offset == 0 {
            let (items, total) = tokio::try_join!(
                self.read(c, &range, None, query.limit, forward),
                self.total(c, window),
            )?;
            return Ok(RawPage {
                items,
                total: total.0,
            });
        }

        // A later page: its start must be found. Chronological positions count from the window's
        // start, so an anchor can be looked up alongside the total; in reverse order the position
        // depends on the total.
        let last_position = |total: u64| {
            if forward { offset - 1 } else { total - offset }
        };
        let (total, histogram, anchor) = if forward {
            let ((total, histogram), anchor) = tokio::try_join!(
                self.total(c, window),
                self.nearest_anchor(c, window.from_ms, offset - 1, 0),
            )?;
            (total, histogram, anchor)
        } else {
            let (total, histogram) = self.total(c, window).await?;
            if offset >= total {
                (total, histogram, None)
            } else {
                let anchor = self
                    .nearest_anchor(c, window.from_ms, total - offset, total - 1)
                    .await?;
                (total, histogram, anchor)
            }
        };
        if offset >= total || query.limit == 0 {
            return Ok(RawPage {
                items: Vec::new(),
                total,
            });
        }
        let target = last_position(total);
        let (after, located) = self
            .locate(c, &range, window, target, total, forward, anchor, histogram)
            .await?;
        // The window ended before the offset (links can only have been added since the total).
        let Some(after) = after else {
            return Ok(RawPage {
                items: Vec::new(),
                total,
            });
        };
        let items = self
            .read(c, &range, Some(after.clone()), query.limit, forward)
            .await?;

        // Remember where this page starts (if it had to be found) and ends, for the next page.
        let may_anchor = forward
            || window
                .to_ms
                .is_some_and(|to| to <= now.timestamp_millis() - SETTLE.as_millis() as i64);
        if may_anchor {
            let start = located.then_some((target, after));
            let end = items.last().and_then(|last| {
                let k = items.len() as u64;
                let position = if forward {
                    Some(offset + k - 1)
                } else {
                    total.checked_sub(offset + k)
                };
                Some((position?, get_s(last, SK).ok()?.clone()))
            });
            // Anchors only save later pages work: failing to write one must not fail this page.
            if let Err(error) = self.write_anchors(c, window.from_ms, start, end, now).await {
                tracing::warn!(?error, "list anchor not written");
            }
        }
        Ok(RawPage { items, total })
    }

    /// Finds the sort key of the member at chronological `target` (the one just before the page,
    /// in the walk's direction; `None` past the window's end), and says whether it took counting
    /// to find it (so that it is worth an anchor).
    #[allow(clippy::too_many_arguments)]
    async fn locate(
        &self,
        c: &Collection,
        range: &Range,
        window: Window,
        target: u64,
        total: u64,
        forward: bool,
        anchor: Option<Anchor>,
        histogram: Option<Histogram>,
    ) -> Result<(Option<String>, bool), ApiError> {
        // Distance from the window's edge to the target, in the walk's direction.
        let from_edge = if forward { target } else { total - 1 - target };
        if let Some((position, sk)) = anchor {
            let distance = position.abs_diff(target);
            if distance == 0 {
                return Ok((Some(sk), false));
            }
            if distance <= ANCHOR_REACH {
                let start = self.skip(c, range, Some(sk), distance, forward).await?;
                return Ok((start, true));
            }
        }
        if from_edge < ANCHOR_REACH {
            let start = self.skip(c, range, None, from_edge + 1, forward).await?;
            return Ok((start, true));
        }
        let histogram = match histogram {
            Some(h) => h,
            None => self.histogram(c, window).await?,
        };
        let Some((hour, before)) = histogram.hour_of(target) else {
            return Ok((None, true));
        };
        // Count within the target's hour, from whichever end of it is nearer: at most half the
        // hour's members.
        let in_hour = histogram.0.get(&hour).copied().unwrap_or(0);
        let (from_start, from_end) = (target - before + 1, before + in_hour - target);
        let start = if from_start <= from_end {
            let hour_range = Range {
                low: c.low(hour.max(window.from_ms)),
                high: range.high.clone(),
            };
            self.skip(c, &hour_range, None, from_start, true).await?
        } else {
            let hour_end = hour + HOUR_MS - 1;
            let hour_range = Range {
                low: range.low.clone(),
                high: c.high(Some(window.to_ms.map_or(hour_end, |to| to.min(hour_end)))),
            };
            self.skip(c, &hour_range, None, from_end, false).await?
        };
        Ok((start, true))
    }

    /// Counts `n` members from `after` (or the range's edge) in the walk's direction and returns
    /// the sort key of the `n`th (`None` if the range holds fewer), with `Select = COUNT` so that
    /// nothing is held but the count.
    async fn skip(
        &self,
        c: &Collection,
        range: &Range,
        after: Option<String>,
        n: u64,
        forward: bool,
    ) -> Result<Option<String>, ApiError> {
        let mut counted = 0u64;
        let mut start = after.map(|sk| key(c.pk.clone(), sk));
        loop {
            let remaining = n - counted;
            let out = self
                .range_query(&c.pk, range)
                .select(Select::Count)
                .scan_index_forward(forward)
                .limit(i32::try_from(remaining).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            self.usage.read(out.consumed_capacity());
            counted += u64::try_from(out.count).unwrap_or(0);
            start = out.last_evaluated_key;
            match &start {
                None => return Ok(None),
                Some(last) if counted >= n => {
                    let sk = last
                        .get(SK)
                        .and_then(|v| v.as_s().ok())
                        .ok_or_else(|| corrupt("a query's last key lacks sk".into()))?;
                    return Ok(Some(sk.clone()));
                }
                Some(_) => {}
            }
        }
    }

    /// Up to `limit` members of the range, after `after` in the walk's direction.
    async fn read(
        &self,
        c: &Collection,
        range: &Range,
        after: Option<String>,
        limit: u32,
        forward: bool,
    ) -> Result<Vec<Item>, ApiError> {
        let mut items: Vec<Item> = Vec::with_capacity(limit as usize);
        let mut start = after.map(|sk| key(c.pk.clone(), sk));
        while items.len() < limit as usize {
            let out = self
                .range_query(&c.pk, range)
                .scan_index_forward(forward)
                .limit(i32::try_from(limit as usize - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            self.usage.read(out.consumed_capacity());
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(items)
    }

    /// The number of members in `window`, and the hour counts when they had to be read for it.
    async fn total(
        &self,
        c: &Collection,
        window: Window,
    ) -> Result<(u64, Option<Histogram>), ApiError> {
        if window.is_everything() {
            return Ok((self.count_all(c).await?, None));
        }
        let histogram = self.histogram(c, window).await?;
        Ok((histogram.total(), Some(histogram)))
    }

    /// The sum of the count shards: one small Query, whatever the collection's size.
    async fn count_all(&self, c: &Collection) -> Result<u64, ApiError> {
        let range = Range {
            low: format!("COUNT#{}#", c.kind),
            high: format!("COUNT#{}#~", c.kind),
        };
        let out = self
            .range_query(&c.pk, &range)
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.read(out.consumed_capacity());
        let mut total = 0u64;
        for item in out.items() {
            total += get_n::<u64>(item, "count")?.unwrap_or(0);
        }
        Ok(total)
    }

    /// Members per hour of `window`: the day items of the days it spans, and exact counts of its
    /// partial first and last hours, read in parallel.
    async fn histogram(&self, c: &Collection, window: Window) -> Result<Histogram, ApiError> {
        let first_hour = hour_start(window.from_ms);
        let last_hour = window.to_ms.map(hour_start);
        // The window's partial hours (where it starts or ends inside an hour) are counted member
        // by member: the part inside the window, or, when that is the larger part, the part
        // outside it, subtracted from the hour's counter. So a partial hour costs at most half
        // an hour's members (if they are spread evenly over it), however busy the hour.
        let part = |from: i64, to: i64, inside: bool| -> Option<Edge> {
            (from <= to).then(|| Edge {
                range: Range {
                    low: c.low(from),
                    high: c.high(Some(to)),
                },
                inside,
            })
        };
        let mut edges: [Option<(i64, Edge)>; 2] = [None, None];
        let first_end = first_hour + HOUR_MS - 1;
        match (window.to_ms, last_hour) {
            (Some(to), Some(last)) if last == first_hour => {
                let inside = to - window.from_ms + 1;
                if inside <= HOUR_MS - inside {
                    edges[0] = part(window.from_ms, to, true).map(|e| (first_hour, e));
                } else if inside < HOUR_MS {
                    edges[0] = part(first_hour, window.from_ms - 1, false).map(|e| (first_hour, e));
                    edges[1] = part(to + 1, first_end, false).map(|e| (first_hour, e));
                }
            }
            (to, last) => {
                if window.from_ms != first_hour {
                    let inside = first_end - window.from_ms + 1;
                    edges[0] = if inside <= HOUR_MS - inside {
                        part(window.from_ms, first_end, true)
                    } else {
                        part(first_hour, window.from_ms - 1, false)
                    }
                    .map(|e| (first_hour, e));
                }
                if let (Some(to), Some(last)) = (to, last) {
                    let inside = to - last + 1;
                    if inside != HOUR_MS {
                        edges[1] = if inside <= HOUR_MS - inside {
                            part(last, to, true)
                        } else {
                            part(to + 1, last + HOUR_MS - 1, false)
                        }
                        .map(|e| (last, e));
                    }
                }
            }
        }
        let days = Range {
            low: if window.from_ms <= 0 {
                format!("DAY#{}#", c.kind)
            } else {
                format!("DAY#{}#{}#", c.kind, day_and_hour(window.from_ms).0)
            },
            high: match window.to_ms {
                Some(to) => format!("DAY#{}#{}#~", c.kind, day_and_hour(to).0),
                None => format!("DAY#{}#~", c.kind),
            },
        };
        let [first, last] = &edges;
        let (hours, first_count, last_count) = tokio::try_join!(
            self.day_items(c, &days),
            self.count_edge(c, first.as_ref().map(|(_, e)| e)),
            self.count_edge(c, last.as_ref().map(|(_, e)| e)),
        )?;
        let mut histogram = Histogram::default();
        for (&hour, &count) in &hours {
            let inside = hour >= first_hour && last_hour.is_none_or(|last| hour <= last);
            if inside && count > 0 {
                histogram.0.insert(hour, count);
            }
        }
        // Partial hours: the members counted inside, or the hour's counter less those outside
        // (both parts outside one hour come off the same counter).
        let mut partial: [Option<(i64, u64)>; 2] = [None, None];
        for (i, (edge, count)) in edges.iter().zip([first_count, last_count]).enumerate() {
            if let (Some((hour, edge)), Some(count)) = (edge, count) {
                let same_hour = partial[0].filter(|(h, _)| h == hour);
                partial[i] = Some((
                    *hour,
                    if edge.inside {
                        count
                    } else {
                        same_hour
                            .map_or_else(|| hours.get(hour).copied().unwrap_or(0), |(_, c)| c)
                            .saturating_sub(count)
                    },
                ));
                if same_hour.is_some() {
                    partial[0] = None;
                }
            }
        }
        for (hour, count) in partial.into_iter().flatten() {
            match count {
                0 => histogram.0.remove(&hour),
                count => histogram.0.insert(hour, count),
            };
        }
        Ok(histogram)
    }

    /// The members of one part of a partial hour, if there is one to count.
    async fn count_edge(
        &self,
        c: &Collection,
        edge: Option<&Edge>,
    ) -> Result<Option<u64>, ApiError> {
        match edge {
            Some(edge) => Ok(Some(self.count(c, &edge.range).await?)),
            None => Ok(None),
        }
    }

    /// Members per hour from the day items in `days`, summed over shards.
    async fn day_items(
        &self,
        c: &Collection,
        days: &Range,
    ) -> Result<BTreeMap<i64, u64>, ApiError> {
        let mut hours = BTreeMap::new();
        let mut start = None;
        loop {
            let out = self
                .range_query(&c.pk, days)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            self.usage.read(out.consumed_capacity());
            for item in out.items() {
                let sk = get_s(item, SK)?;
                let day_ms = sk
                    .split('#')
                    .nth(2)
                    .and_then(day_start)
                    .ok_or_else(|| corrupt(format!("day item has a bad sk {sk:?}")))?;
                for (name, value) in item {
                    let Some(hour) = name.strip_prefix('h').and_then(|h| h.parse::<i64>().ok())
                    else {
                        continue;
                    };
                    let count: u64 = value
                        .as_n()
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .ok_or_else(|| corrupt(format!("day item {sk:?} has a bad {name}")))?;
                    *hours.entry(day_ms + hour * HOUR_MS).or_default() += count;
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(hours);
            }
        }
    }

    /// The members in `range`, counted item by item.
    async fn count(&self, c: &Collection, range: &Range) -> Result<u64, ApiError> {
        let mut total = 0;
        let mut start = None;
        loop {
            let out = self
                .range_query(&c.pk, range)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            self.usage.read(out.consumed_capacity());
            total += u64::try_from(out.count).unwrap_or(0);
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(total);
            }
        }
    }

    /// The anchor nearest to `position` on the side a walk comes from, no further than `bound`:
    /// at or before it in chronological walks (`bound` below it), at or after it in reverse ones
    /// (`bound` above it; anchors past the window's end, taken for wider windows, are of no use).
    async fn nearest_anchor(
        &self,
        c: &Collection,
        from_ms: i64,
        position: u64,
        bound: u64,
    ) -> Result<Option<Anchor>, ApiError> {
        let at_or_before = bound <= position;
        let (low, high) = (
            c.anchor_sk(from_ms, position.min(bound)),
            c.anchor_sk(from_ms, position.max(bound).min(MAX_POSITION)),
        );
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(&c.anchor_pk))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
            .scan_index_forward(!at_or_before)
            .limit(1)
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.read(out.consumed_capacity());
        let Some(item) = out.items().first() else {
            return Ok(None);
        };
        let sk = get_s(item, SK)?;
        let anchored = sk
            .rsplit('#')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| corrupt(format!("anchor has a bad sk {sk:?}")))?;
        Ok(Some((anchored, get_s(item, "at")?.clone())))
    }

    /// Writes the anchors of a page's start and end, at settled members only (see the module
    /// documentation), in parallel.
    async fn write_anchors(
        &self,
        c: &Collection,
        from_ms: i64,
        start: Option<Anchor>,
        end: Option<Anchor>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let settled_before = now.timestamp_millis() - SETTLE.as_millis() as i64;
        let expires = now.timestamp() + ANCHOR_TTL.as_secs() as i64;
        let write = |anchor: Option<Anchor>| {
            let anchor =
                anchor.filter(|(_, at)| c.created_ms(at).is_some_and(|ms| ms <= settled_before));
            maybe(anchor.map(|(position, at)| {
                let mut item = key(c.anchor_pk.clone(), c.anchor_sk(from_ms, position));
                item.insert("at".into(), s(at));
                item.insert(EXPIRES_AT.into(), n(expires));
                async move {
                    self.client
                        .put_item()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .return_consumed_capacity(self.capacity_report())
                        .send()
                        .await
                        .map(|out| self.usage.write(out.consumed_capacity()))
                        .map_err(sdk_error)
                }
            }))
        };
        tokio::try_join!(write(start), write(end))?;
        Ok(())
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

    #[test]
    fn the_histogram_finds_the_hour_of_a_position() {
        let h = Histogram(BTreeMap::from([(0, 3), (HOUR_MS, 2), (3 * HOUR_MS, 5)]));
        assert_eq!(h.total(), 10);
        assert_eq!(h.hour_of(0), Some((0, 0)));
        assert_eq!(h.hour_of(2), Some((0, 0)));
        assert_eq!(h.hour_of(3), Some((HOUR_MS, 3)));
        assert_eq!(h.hour_of(4), Some((HOUR_MS, 3)));
        assert_eq!(h.hour_of(5), Some((3 * HOUR_MS, 5)));
        assert_eq!(h.hour_of(9), Some((3 * HOUR_MS, 5)));
        assert_eq!(h.hour_of(10), None);
        assert_eq!(Histogram::default().hour_of(0), None);
    }
}
