//! A time zone's offsets, looked up in the tz database for `links-admin time-zone` to store
//! (see `shared::domain::time_zone`, which explains why the functions carry no database).

use chrono_tz::Tz;
use shared::chrono::{DateTime, Offset, TimeZone as _, Utc};
use shared::domain::time_zone::TimeZone;

/// The offsets are stored from the start of 2015: nothing this service shows a time for (a
/// charge, a hold, a PromptPay code) is older. Earlier instants get 2015's first offset.
pub const STORED_FROM: i64 = 1_420_070_400; // 2015-01-01T00:00:00Z

/// And up to this many years from when the zone is set; later instants keep the last offset.
/// From 2015, a zone with summer time has two changes a year, about 64 in all: some 1.2 KB of
/// the settings item, which stays under the 4 KB a read unit covers.
pub const YEARS_AHEAD: i64 = 20;

/// The zone named `name`, exactly as the tz database spells it (`Asia/Bangkok`), with its
/// offsets from [`STORED_FROM`] to [`YEARS_AHEAD`] years after `now`; `None` if there is no
/// such zone.
pub fn time_zone(name: &str, now: DateTime<Utc>) -> Option<TimeZone> {
    let tz: Tz = name.parse().ok()?;
    let until = now.timestamp() + YEARS_AHEAD * 366 * 86_400;
    let first = offset_at(tz, STORED_FROM);
    let mut changes = Vec::new();
    let mut current = first;
    // An hour at a time: no zone changes its offset twice within an hour. Each change found is
    // then placed at its exact second.
    let mut before = STORED_FROM;
    while before < until {
        let after = before + 3600;
        if offset_at(tz, after) != current {
            let (mut kept, mut changed) = (before, after);
            while changed - kept > 1 {
                let middle = kept + (changed - kept) / 2;
                if offset_at(tz, middle) == current {
                    kept = middle;
                } else {
                    changed = middle;
                }
            }
            current = offset_at(tz, changed);
            changes.push((changed, current));
        }
        before = after;
    }
    TimeZone::new(tz.name(), first, changes)
}

/// `tz`'s offset from UTC, in seconds east, at the Unix second `at`.
pub fn offset_at(tz: Tz, at: i64) -> i32 {
    let at = DateTime::from_timestamp(at, 0).expect("within chrono's range");
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-04T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn every_time_shown_is_what_the_tz_database_says() {
        // Zones with every kind of rule: none, summer time north and south, half and quarter
        // hours, summer time abolished (São Paulo 2019, Tehran 2022, Apia 2021) and Morocco's,
        // which leaves summer time for Ramadan each year.
        for name in [
            "Asia/Bangkok",
            "UTC",
            "America/New_York",
            "Europe/London",
            "Australia/Sydney",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
            "Asia/Kathmandu",
            "Pacific/Chatham",
            "America/Sao_Paulo",
            "Asia/Tehran",
            "Pacific/Apia",
            "Africa/Casablanca",
        ] {
            let tz: Tz = name.parse().unwrap();
            let stored = time_zone(name, now()).unwrap();
            // As the page reads it back from the settings item.
            let zone = TimeZone::of_setting(Some(name), Some(&stored.offsets_text()));
            assert_eq!(zone, stored, "{name}");
            let until = now().timestamp() + YEARS_AHEAD * 365 * 86_400;
            // Every 997 minutes (so every minute of the hour and most hours of the day come
            // round), and either side of each second the database's offset changes.
            let mut instants: Vec<i64> = (STORED_FROM..until).step_by(997 * 60).collect();
            let mut previous = offset_at(tz, STORED_FROM);
            for at in (STORED_FROM..until).step_by(1800) {
                if offset_at(tz, at) != previous {
                    previous = offset_at(tz, at);
                    let changed = (at - 1800..=at)
                        .find(|&s| offset_at(tz, s) == previous)
                        .unwrap();
                    instants.extend([changed - 1, changed]);
                }
            }
            for at in instants {
                let at = DateTime::from_timestamp(at, 0).unwrap();
                let local = at.with_timezone(&tz);
                let expected = format!(
                    "{} ({name}, UTC{})",
                    local.format("%Y-%m-%d %H:%M"),
                    local.format("%:z")
                );
                assert_eq!(zone.date_time(at), expected, "{name} at {at}");
            }
        }
    }

    #[test]
    fn a_zone_with_summer_time_stores_its_changes_and_one_without_none() {
        let new_york = time_zone("America/New_York", now()).unwrap();
        let text = new_york.offsets_text();
        assert!(
            text.starts_with("-18000 1425798000 -14400 1446357600 -18000 "),
            "{text}"
        );
        // Two changes a year, 2015 to 2046.
        assert_eq!(text.split(' ').count(), 1 + 2 * 2 * 32, "{text}");
        assert!(text.len() < 1400, "{} bytes", text.len());
        assert_eq!(
            time_zone("Asia/Bangkok", now()).unwrap().offsets_text(),
            "25200"
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
            "Mars/Olympus_Mons",
        ] {
            assert_eq!(time_zone(bad, now()), None, "{bad:?}");
        }
        assert_eq!(time_zone("UTC", now()).unwrap().name(), "UTC");
    }
}
