//! The time zone an account's pages show times in: a receipt's date, the time a held link comes
//! free, when a PromptPay code expires. A setting of the account (`links-admin time-zone`),
//! `Asia/Bangkok` unless set, since the first merchants are Thai. Always labelled on the page
//! with its name and offset, so a buyer elsewhere is never misled. The API keeps UTC: times in
//! JSON are what every Omise client parses.
//!
//! The functions carry no tz database. `links-admin time-zone` looks the zone up in one
//! (chrono-tz, in the tools only) and stores its offsets from UTC, each with the instant it
//! starts, through the years ahead (`tools::time_zones`), in the settings item the page reads
//! anyway; here they are only looked up. Compiled into the three page functions, the database
//! cost each about 1.8 MiB (docs/performance.md). The stored rules are those of the tz database
//! `links-admin` was built with, as the rules compiled into a function would be those of its
//! build: when a government changes a zone's rules, setting the zone again stores the new ones.

use chrono::{DateTime, FixedOffset, Utc};
use std::borrow::Cow;

/// An IANA time zone (`Asia/Bangkok`, `Europe/London`) as the pages use it: its name, for the
/// label, and the offsets it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone {
    name: Cow<'static, str>,
    /// The offset (seconds east of UTC) before the first change.
    first: i32,
    /// Each change: from this instant (Unix seconds), this offset; in order of time.
    changes: Cow<'static, [(i64, i32)]>,
}

/// The zone of an account that set none: Bangkok has kept UTC+07:00 since 1920.
pub const DEFAULT_TIME_ZONE: TimeZone = TimeZone {
    name: Cow::Borrowed("Asia/Bangkok"),
    first: 7 * 3600,
    changes: Cow::Borrowed(&[]),
};

impl Default for TimeZone {
    fn default() -> Self {
        DEFAULT_TIME_ZONE
    }
}

/// The most stored changes read: a zone with summer time has two a year; this allows a century.
const MAX_CHANGES: usize = 200;

impl TimeZone {
    /// The zone `name` keeping offset `first`, then each of `changes` from its instant. `None`
    /// unless the changes are in order of time and every offset is less than a day.
    pub fn new(name: &str, first: i32, changes: Vec<(i64, i32)>) -> Option<Self> {
        let offset_ok = |seconds: i32| FixedOffset::east_opt(seconds).is_some();
        let ordered = changes.windows(2).all(|pair| pair[0].0 < pair[1].0);
        (!name.is_empty()
            && offset_ok(first)
            && changes.iter().all(|&(_, offset)| offset_ok(offset))
            && ordered
            && changes.len() <= MAX_CHANGES)
            .then(|| Self {
                name: Cow::Owned(name.to_owned()),
                first,
                changes: Cow::Owned(changes),
            })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The offsets as the settings item stores them (`time_zone_offsets`): the first offset, then
    /// each change as its instant and offset, all in seconds, space-separated. New York from
    /// 2015: `-18000 1425798000 -14400 1446357600 -18000 …`.
    pub fn offsets_text(&self) -> String {
        let mut text = self.first.to_string();
        for (at, offset) in self.changes.iter() {
            text.push_str(&format!(" {at} {offset}"));
        }
        text
    }

    /// The zone a stored setting names, with the offsets stored beside it; the default when none
    /// is set, or when the offsets are missing or unreadable: a receipt must never show a time
    /// labelled with a zone whose offsets it does not know.
    pub fn of_setting(name: Option<&str>, offsets: Option<&str>) -> Self {
        name.zip(offsets)
            .and_then(|(name, offsets)| Self::from_text(name, offsets))
            .unwrap_or_default()
    }

    fn from_text(name: &str, offsets: &str) -> Option<Self> {
        let mut words = offsets.split(' ');
        let first = words.next()?.parse().ok()?;
        let mut changes = Vec::new();
        while let Some(at) = words.next() {
            changes.push((at.parse().ok()?, words.next()?.parse().ok()?));
            if changes.len() > MAX_CHANGES {
                return None;
            }
        }
        Self::new(name, first, changes)
    }

    /// The offset this zone keeps at `at`.
    fn offset(&self, at: DateTime<Utc>) -> FixedOffset {
        let seconds = at.timestamp();
        // The changes that have started by `at` come first (they are in order of time).
        let started = self.changes.partition_point(|&(from, _)| from <= seconds);
        let offset = match started {
            0 => self.first,
            n => self.changes[n - 1].1,
        };
        FixedOffset::east_opt(offset).expect("offsets are checked when the zone is made")
    }

    /// `at` as a date and time in this zone, labelled: `2026-12-05 04:03 (Asia/Bangkok, UTC+07:00)`.
    pub fn date_time(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.offset(at));
        format!(
            "{} ({}, UTC{})",
            local.format("%Y-%m-%d %H:%M"),
            self.name(),
            local.format("%:z")
        )
    }

    /// `at` as a time of day in this zone, labelled: `04:03 (Asia/Bangkok)`.
    pub fn clock(&self, at: DateTime<Utc>) -> String {
        format!(
            "{} ({})",
            at.with_timezone(&self.offset(at)).format("%H:%M"),
            self.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn bangkok_unless_set_and_every_time_labelled_with_its_zone() {
        let zone = TimeZone::of_setting(None, None);
        assert_eq!(zone.name(), "Asia/Bangkok");
        // Late evening in UTC is the next morning in Bangkok.
        assert_eq!(
            zone.date_time(at("2026-12-04T21:03:59Z")),
            "2026-12-05 04:03 (Asia/Bangkok, UTC+07:00)"
        );
        assert_eq!(
            zone.clock(at("2026-12-04T21:03:00Z")),
            "04:03 (Asia/Bangkok)"
        );
    }

    #[test]
    fn each_change_takes_effect_at_its_second() {
        // New York's 2026 summer time, as links-admin stores it (tools::time_zones checks the
        // computed offsets against the tz database itself).
        let stored = "-18000 1772953200 -14400 1793512800 -18000";
        let zone = TimeZone::of_setting(Some("America/New_York"), Some(stored));
        assert_eq!(zone.offsets_text(), stored);
        assert_eq!(
            zone.date_time(at("2026-03-08T06:59:59Z")),
            "2026-03-08 01:59 (America/New_York, UTC-05:00)"
        );
        assert_eq!(
            zone.date_time(at("2026-03-08T07:00:00Z")),
            "2026-03-08 03:00 (America/New_York, UTC-04:00)"
        );
        assert_eq!(
            zone.date_time(at("2026-11-01T06:00:00Z")),
            "2026-11-01 01:00 (America/New_York, UTC-05:00)"
        );
        // Before the first change and after the last, the offsets on either side.
        assert_eq!(
            zone.clock(at("2020-01-01T12:00:00Z")),
            "07:00 (America/New_York)"
        );
        assert_eq!(
            zone.clock(at("2040-07-01T12:00:00Z")),
            "07:00 (America/New_York)"
        );
        let kolkata = TimeZone::of_setting(Some("Asia/Kolkata"), Some("19800"));
        assert_eq!(
            kolkata.date_time(at("2026-12-01T12:00:00Z")),
            "2026-12-01 17:30 (Asia/Kolkata, UTC+05:30)"
        );
    }

    #[test]
    fn a_setting_without_readable_offsets_is_the_default_zone() {
        for (name, offsets) in [
            (Some("Europe/London"), None),
            (None, Some("0")),
            (Some("Europe/London"), Some("")),
            (Some("Europe/London"), Some("0 1774746000")),
            (
                Some("Europe/London"),
                Some("0 1774746000 3600 1761440400 0"),
            ),
            (Some("Europe/London"), Some("0  1774746000 3600")),
            (Some("Europe/London"), Some("86400")),
            (Some("Europe/London"), Some("one hour")),
            (Some(""), Some("0")),
        ] {
            assert_eq!(
                TimeZone::of_setting(name, offsets),
                DEFAULT_TIME_ZONE,
                "{name:?} {offsets:?}"
            );
        }
        let too_many = std::iter::once("0".to_owned())
            .chain((0..=MAX_CHANGES).map(|n| format!("{n} 0")))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            TimeZone::of_setting(Some("Etc/Busy"), Some(&too_many)),
            DEFAULT_TIME_ZONE
        );
        let london = TimeZone::of_setting(Some("Europe/London"), Some("0 1774746000 3600"));
        assert_eq!(london.name(), "Europe/London");
    }
}
