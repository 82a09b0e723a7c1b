//! Bounds on failed payments: per link, per card and per client address, over a sliding hour.
//!
//! Card testing (trying stolen numbers against any payment form until one works) and plain abuse
//! (writing thousands of failed charges, events and webhooks through a test link with a
//! published declining card) both show as failed payments. Each failed or expired charge adds one
//! to three counters in the same transaction that records it; before a payment does anything,
//! one read of those counters (a `BatchGetItem`, beside the link's own read) refuses it when any
//! is past its bound, and nothing is written.
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | failures of a link in an hour | `LIMIT#link#<link id>` | `<hour>` (hours since the epoch) | `count` N, `expires_at` N |
//! | of a card (by fingerprint), per mode | `LIMIT#card#<mode>#<fingerprint>` | as above | as above |
//! | from a client address | `LIMIT#ip#<address>` | as above | as above |
//!
//! The window slides as a sliding-window counter does: the last hour's count weighs as much as
//! the part of it still inside the window. Counting and checking are separate requests, so
//! buyers racing past a bound at the same moment may each add one more failure: the bounds are
//! a brake on abuse, not an exact ledger.

use super::item::{EXPIRES_AT, Item, get_n, key, n};
use crate::domain::error::ApiError;
use aws_sdk_dynamodb::types::Update;
use chrono::{DateTime, Utc};

/// The window the bounds count over, in seconds.
pub const WINDOW_SECS: i64 = 3600;
/// Failed payments one link takes in a window.
pub const PER_LINK: u64 = 20;
/// Failed payments one card (by its fingerprint) makes in a window, across every link.
pub const PER_CARD: u64 = 5;
/// Failed payments one client address makes in a window, across every link.
pub const PER_ADDRESS: u64 = 10;

/// What a failed payment is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureSubjects<'a> {
    pub link: &'a str,
    pub livemode: bool,
    /// The card's fingerprint, for a card payment.
    pub fingerprint: Option<&'a str>,
    /// The client's address, when known.
    pub ip: Option<&'a str>,
}

impl FailureSubjects<'_> {
    /// Each subject's partition and its bound.
    fn partitions(&self) -> Vec<(String, u64)> {
        let mode = if self.livemode { "live" } else { "test" };
        let mut out = vec![(format!("LIMIT#link#{}", self.link), PER_LINK)];
        if let Some(fp) = self.fingerprint {
            out.push((format!("LIMIT#card#{mode}#{fp}"), PER_CARD));
        }
        if let Some(ip) = self.ip {
            out.push((format!("LIMIT#ip#{ip}"), PER_ADDRESS));
        }
        out
    }

    /// The counter items a check reads: this hour's and the last, for each subject.
    pub fn keys(&self, now: DateTime<Utc>) -> Vec<Item> {
        let hour = now.timestamp().div_euclid(WINDOW_SECS);
        self.partitions()
            .into_iter()
            .flat_map(|(pk, _)| {
                [
                    key(pk.clone(), hour.to_string()),
                    key(pk, (hour - 1).to_string()),
                ]
            })
            .collect()
    }

    /// Whether the counters `items` (as read for [`FailureSubjects::keys`], in that order) allow
    /// another payment at `now`; when not, the seconds until they do.
    pub fn retry_after(
        &self,
        items: &[Option<Item>],
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, ApiError> {
        let count = |i: usize| -> Result<u64, ApiError> {
            match items.get(i).and_then(Option::as_ref) {
                Some(item) => Ok(get_n(item, "count")?.unwrap_or(0)),
                None => Ok(0),
            }
        };
        let into_hour = now.timestamp().rem_euclid(WINDOW_SECS);
        let mut wait: Option<u64> = None;
        for (i, (_, bound)) in self.partitions().into_iter().enumerate() {
            let (current, last) = (count(2 * i)?, count(2 * i + 1)?);
            if let Some(secs) = wait_for(current, last, bound, into_hour) {
                wait = Some(wait.map_or(secs, |w| w.max(secs)));
            }
        }
        Ok(wait)
    }

    /// One more failure on each subject, for the transaction that records it at `now`.
    pub fn count_failure(&self, table: &str, now: DateTime<Utc>) -> Result<Vec<Update>, ApiError> {
        let hour = now.timestamp().div_euclid(WINDOW_SECS);
        self.partitions()
            .into_iter()
            .map(|(pk, _)| {
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key(pk, hour.to_string())))
                    .update_expression("ADD #count :one SET #expires = :expires")
                    .expression_attribute_names("#count", "count")
                    .expression_attribute_names("#expires", EXPIRES_AT)
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":expires", n((hour + 2) * WINDOW_SECS))
                    .build()
                    .map_err(ApiError::internal)
            })
            .collect()
    }
}

/// Seconds until a subject with `current` failures this hour and `last` the hour before, `into`
/// seconds into this hour, is under `bound` again; `None` when it is under it now.
///
/// The estimate is `last × (1 − t/W) + current`, `t` seconds into the hour: it falls through the
/// hour as the last hour slides out, and starts again from `current` at the next.
fn wait_for(current: u64, last: u64, bound: u64, into: i64) -> Option<u64> {
    let window = WINDOW_SECS as f64;
    let estimate = |t: f64| last as f64 * (1.0 - t / window) + current as f64;
    if estimate(into as f64) < bound as f64 {
        return None;
    }
    let secs = if current < bound {
        // Within this hour, once enough of the last hour has slid out.
        window * (1.0 - (bound - current) as f64 / last as f64) - into as f64
    } else {
        // Not this hour: at the next, `current` becomes the hour sliding out.
        (WINDOW_SECS - into) as f64 + window * (1.0 - bound as f64 / current as f64)
    };
    Some(secs.ceil().max(1.0) as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_the_bound_nothing_waits() {
        assert_eq!(wait_for(0, 0, 5, 0), None);
        assert_eq!(wait_for(4, 0, 5, 1800), None);
        // Half the last hour has slid out: 6 × 0.5 + 1 = 4 < 5.
        assert_eq!(wait_for(1, 6, 5, 1800), None);
    }

    #[test]
    fn at_the_bound_the_wait_ends_when_the_estimate_falls_below_it() {
        // 5 this hour, none before: wait for the next hour, then all of it (5 × (1 − t/W) < 5
        // as soon as t > 0).
        let w = wait_for(5, 0, 5, 600).unwrap();
        assert!((3000..=3003).contains(&w), "{w}");
        // 2 now, 6 last hour, 10 minutes in: 6 × (1 − t/3600) + 2 < 5 once t > 1800.
        let w = wait_for(2, 6, 5, 600).unwrap();
        assert!((1200..=1203).contains(&w), "{w}");
        // 10 now of a bound of 5: next hour, and then half of it.
        let w = wait_for(10, 0, 5, 0).unwrap();
        assert!((5400..=5403).contains(&w), "{w}");
    }

    #[test]
    fn subjects_without_a_card_or_address_are_counted_by_link_alone() {
        let now: DateTime<Utc> = "2026-12-04T08:30:00Z".parse().unwrap();
        let all = FailureSubjects {
            link: "link_test_1",
            livemode: false,
            fingerprint: Some("fp"),
            ip: Some("203.0.113.9"),
        };
        let keys = all.keys(now);
        assert_eq!(keys.len(), 6);
        let hour = (now.timestamp() / 3600).to_string();
        assert_eq!(
            keys[0]["pk"],
            super::super::item::s("LIMIT#link#link_test_1")
        );
        assert_eq!(keys[0]["sk"], super::super::item::s(hour));
        assert_eq!(keys[2]["pk"], super::super::item::s("LIMIT#card#test#fp"));
        assert_eq!(keys[4]["pk"], super::super::item::s("LIMIT#ip#203.0.113.9"));
        let link_only = FailureSubjects {
            fingerprint: None,
            ip: None,
            ..all.clone()
        };
        assert_eq!(link_only.keys(now).len(), 2);
        assert_eq!(link_only.count_failure("t", now).unwrap().len(), 1);
        // The card's counter says 5 this hour: the card's bound is reached, and it is the only
        // one, so the wait is the card's.
        let mut items: Vec<Option<Item>> = vec![None; 6];
        let mut five = key("x".into(), "y".into());
        five.insert("count".into(), n(5));
        items[2] = Some(five);
        assert!(all.retry_after(&items, now).unwrap().is_some());
        assert_eq!(link_only.retry_after(&items[..2], now).unwrap(), None);
    }
}
