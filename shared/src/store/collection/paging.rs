//! A page of a collection: read from the window's edge, or from where its start was found,
//! at an anchor or by counting (see the module documentation).

use super::anchors::Anchor;
use super::totals::Histogram;
use super::{ANCHOR_REACH, Collection, HOUR_MS, Range, SETTLE};
use crate::domain::error::ApiError;
use crate::domain::list::{ListQuery, Order, Window};
use crate::store::item::{Item, SK, corrupt, get_s, key};
use crate::store::{Store, sdk_error};
use aws_sdk_dynamodb::types::Select;
use chrono::{DateTime, Utc};

/// One page of a collection's members, as items, and the size of the whole window.
#[derive(Debug)]
pub struct RawPage {
    pub items: Vec<Item>,
    pub total: u64,
}

impl Store {
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
}
