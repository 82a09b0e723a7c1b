//! The time zone an account's pages show times in: a receipt's date, the time a held link comes
//! free, when a PromptPay code expires. A setting of the account (`links-admin time-zone`),
//! `Asia/Bangkok` unless set, since the first merchants are Thai. Always labelled on the page
//! with its name and offset, so a buyer elsewhere is never misled. The API keeps UTC: times in
//! JSON are what every Omise client parses.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// An IANA time zone (`Asia/Bangkok`, `Europe/London`), from the tz database built in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

/// The zone of an account that set none.
pub const DEFAULT_TIME_ZONE: TimeZone = TimeZone(Tz::Asia__Bangkok);

impl Default for TimeZone {
    fn default() -> Self {
        DEFAULT_TIME_ZONE
    }
}

impl TimeZone {
    /// The zone named `name` exactly as the tz database spells it, if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        name.parse::<Tz>().ok().map(Self)
    }

    /// The zone a stored setting names; the default when none is set or the name is no longer
    /// known (a zone dropped from a later tz database must not break a receipt).
    pub fn of_setting(name: Option<&str>) -> Self {
        name.and_then(Self::parse).unwrap_or_default()
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// `at` as a date and time in this zone, labelled: `2026-12-05 04:03 (Asia/Bangkok, UTC+07:00)`.
    pub fn date_time(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.0);
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
            at.with_timezone(&self.0).format("%H:%M"),
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
        let zone = TimeZone::of_setting(None);
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
    fn a_zone_with_summer_time_shows_the_offset_of_that_day() {
        let zone = TimeZone::of_setting(Some("America/New_York"));
        assert_eq!(
            zone.date_time(at("2026-07-01T12:00:00Z")),
            "2026-07-01 08:00 (America/New_York, UTC-04:00)"
        );
        assert_eq!(
            zone.date_time(at("2026-12-01T12:00:00Z")),
            "2026-12-01 07:00 (America/New_York, UTC-05:00)"
        );
        let kolkata = TimeZone::parse("Asia/Kolkata").unwrap();
        assert_eq!(
            kolkata.date_time(at("2026-12-01T12:00:00Z")),
            "2026-12-01 17:30 (Asia/Kolkata, UTC+05:30)"
        );
    }

    #[test]
    fn only_names_of_the_tz_database_are_zones() {
        for bad in [
            "",
            "Bangkok",
            "asia/bangkok",
            "UTC+7",
            "Asia/Bangkok ",
            "+07:00",
        ] {
            assert_eq!(TimeZone::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            TimeZone::of_setting(Some("Mars/Olympus_Mons")),
            DEFAULT_TIME_ZONE
        );
        assert_eq!(TimeZone::parse("UTC").unwrap().name(), "UTC");
    }
}
