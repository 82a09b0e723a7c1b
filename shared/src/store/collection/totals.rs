//! How many members a window holds, from the counters: the count shards for a whole
//! collection; for a window, the hour counters, with its partial first and last hours counted
//! member by member.

use super::{Collection, HOUR_MS, Range, day_and_hour, day_start, hour_start};
use crate::domain::error::ApiError;
use crate::domain::list::Window;
use crate::store::item::{SK, corrupt, get_n, get_s};
use crate::store::{Store, sdk_error};
use aws_sdk_dynamodb::types::Select;
use std::collections::BTreeMap;

/// Members per hour of a window, each hour clipped to the window (the partial hours at its ends
/// are counted exactly). Keyed by the hour's start.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Histogram(pub(super) BTreeMap<i64, u64>);

impl Histogram {
    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The hour holding the member at chronological `position`: its start and the members before it.
    pub(super) fn hour_of(&self, position: u64) -> Option<(i64, u64)> {
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

impl Store {
    /// The number of members in `window`, and the hour counts when they had to be read for it.
    pub(super) async fn total(
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
    pub(super) async fn histogram(
        &self,
        c: &Collection,
        window: Window,
    ) -> Result<Histogram, ApiError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
