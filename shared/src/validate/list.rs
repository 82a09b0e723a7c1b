//! List parameters (`offset`, `limit`, `from`, `to`, `order`) into a [`ListQuery`].

use super::Params;
use crate::domain::error::ApiError;
use crate::domain::list::{DEFAULT_LIMIT, ListQuery, MAX_LIMIT, Order};
use chrono::{DateTime, Datelike, Utc};
use serde_json::Value;

/// The list query of a request made at `now` (which bounds `from` when `to` is not given).
///
/// There is no cap on `offset`: a page costs reads in proportion to its `limit`, not its depth
/// (see the store's list machinery), and an offset past the end answers an empty page.
pub fn parse_list_query(params: &Params, now: DateTime<Utc>) -> Result<ListQuery, ApiError> {
    let offset = parse_count(params, "offset")?.unwrap_or(0);
    let limit =
        parse_count(params, "limit")?.map_or(DEFAULT_LIMIT, |l| l.min(u64::from(MAX_LIMIT)) as u32);
    let from = parse_time(params, "from")?.unwrap_or(DateTime::UNIX_EPOCH);
    let to = parse_time(params, "to")?;
    if from > to.unwrap_or(now) {
        return Err(ApiError::InvalidFilters("from must not be after to".into()));
    }
    let order = match params.get("order") {
        None => Order::Chronological,
        Some(Value::String(s)) if s == "chronological" => Order::Chronological,
        Some(Value::String(s)) if s == "reverse_chronological" => Order::ReverseChronological,
        Some(_) => {
            return Err(ApiError::InvalidFilters(
                "order must be chronological or reverse_chronological".into(),
            ));
        }
    };
    Ok(ListQuery {
        offset,
        limit,
        from,
        to,
        order,
    })
}

/// A non-negative integer, as a JSON number or a string of digits.
fn parse_count(params: &Params, name: &str) -> Result<Option<u64>, ApiError> {
    let invalid = || ApiError::InvalidPage(format!("{name} must be a non-negative integer"));
    match params.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(invalid),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            // More digits than a u64 holds is still "a lot": saturate, then the caps apply.
            Ok(Some(s.parse().unwrap_or(u64::MAX)))
        }
        Some(_) => Err(invalid()),
    }
}

/// An ISO 8601 time: `2026-11-24T06:00:00Z`, with an offset, fractional seconds, without a zone
/// (taken as UTC), or a bare date (midnight UTC).
fn parse_time(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let invalid = || {
        ApiError::InvalidFilters(format!(
            "{name} must be an ISO 8601 date or time such as 2026-01-31T00:00:00Z"
        ))
    };
    let text = match params.get(name) {
        None => return Ok(None),
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err(invalid()),
    };
    // RFC 3339 as it is, or completed: a date-time without a zone is UTC, a bare date is its
    // midnight UTC. (Completing it rather than parsing with a format string keeps chrono's
    // strftime parser out of the binary.)
    let completed = match text.len() {
        10 => format!("{text}T00:00:00Z"),
        n if n > 10
            && !text.ends_with(['Z', 'z'])
            && text
                .get(10..)
                .is_some_and(|rest| !rest.contains(['+', '-'])) =>
        {
            format!("{text}Z")
        }
        _ => text.to_owned(),
    };
    let Ok(t) = DateTime::parse_from_rfc3339(&completed) else {
        return Err(invalid());
    };
    let t = t.with_timezone(&Utc);
    // An offset can carry a time written in year 0000 or 9999 across the year's edge; the list
    // answers `from` and `to` as `YYYY-MM-DDThh:mm:ssZ`, which has no such year.
    if !(0..=9999).contains(&t.year()) {
        return Err(ApiError::InvalidFilters(format!(
            "{name} must be within the years 0000 to 9999 in UTC"
        )));
    }
    Ok(Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: &str = "2026-11-24T00:00:00Z";

    fn list(v: Value) -> Result<ListQuery, ApiError> {
        parse_list_query(&Params::from_value(v), NOW.parse().unwrap())
    }

    #[test]
    fn defaults_and_nulls_are_the_default_query() {
        assert_eq!(list(json!({})).unwrap(), ListQuery::default());
        let python =
            json!({"from": null, "limit": null, "offset": null, "order": null, "to": null});
        assert_eq!(list(python).unwrap(), ListQuery::default());
    }

    #[test]
    fn order_is_either_name_and_defaults_to_chronological() {
        assert_eq!(
            list(json!({"order": "chronological"})).unwrap().order,
            Order::Chronological
        );
        assert_eq!(
            list(json!({"order": "reverse_chronological"}))
                .unwrap()
                .order,
            Order::ReverseChronological
        );
    }

    #[test]
    fn limit_is_honoured_and_capped() {
        assert_eq!(list(json!({"limit": 100})).unwrap().limit, 100);
        assert_eq!(list(json!({"limit": "99"})).unwrap().limit, 99);
        assert_eq!(list(json!({"limit": "101"})).unwrap().limit, 100);
        assert_eq!(list(json!({"limit": "0"})).unwrap().limit, 0);
        assert_eq!(
            list(json!({"limit": "99999999999999999999999"}))
                .unwrap()
                .limit,
            100
        );
    }

    #[test]
    fn any_offset_is_accepted() {
        assert_eq!(list(json!({"offset": "100001"})).unwrap().offset, 100_001);
        assert_eq!(
            list(json!({"offset": 5_000_000})).unwrap().offset,
            5_000_000
        );
        assert_eq!(
            list(json!({"offset": "99999999999999999999999"}))
                .unwrap()
                .offset,
            u64::MAX
        );
    }

    #[test]
    fn dates_come_in_several_iso_forms() {
        let p = list(json!({"from": "2026-01-02", "to": "2026-03-04T05:06:07+07:00"})).unwrap();
        assert_eq!(p.from.to_rfc3339(), "2026-01-02T00:00:00+00:00");
        assert_eq!(p.to.unwrap().to_rfc3339(), "2026-03-03T22:06:07+00:00");
        let p = list(json!({"from": " 2026-01-02T03:04:05.5 "})).unwrap();
        assert_eq!(p.from.to_rfc3339(), "2026-01-02T03:04:05.500+00:00");
        let p = list(json!({"from": "2026-01-02 03:04:05", "to": "2026-01-03T00:00:00-01:30"}))
            .unwrap();
        assert_eq!(p.from.to_rfc3339(), "2026-01-02T03:04:05+00:00");
        assert_eq!(p.to.unwrap().to_rfc3339(), "2026-01-03T01:30:00+00:00");
        // from may equal to, and equal now when to is absent.
        assert!(list(json!({"from": "2026-01-02", "to": "2026-01-02"})).is_ok());
        assert!(list(json!({"from": NOW})).is_ok());
    }

    #[test]
    fn invalid_lists_are_refused_with_the_right_code() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"limit": -1}), "invalid_page"),
            (json!({"limit": "-1"}), "invalid_page"),
            (json!({"limit": "ten"}), "invalid_page"),
            (json!({"limit": ""}), "invalid_page"),
            (json!({"limit": 1.5}), "invalid_page"),
            (json!({"limit": true}), "invalid_page"),
            (json!({"offset": "x"}), "invalid_page"),
            (json!({"offset": "+1"}), "invalid_page"),
            (json!({"from": "yesterday"}), "invalid_filters"),
            (json!({"to": "2026-13-01"}), "invalid_filters"),
            (json!({"to": "2026-02-30"}), "invalid_filters"),
            (json!({"to": "2026-01-01T10:00"}), "invalid_filters"),
            (json!({"to": "2026-01-01T10:00:00+7"}), "invalid_filters"),
            (json!({"to": "20260101"}), "invalid_filters"),
            (json!({"to": "2026-01-01TZ"}), "invalid_filters"),
            (json!({"to": "2026-01-0ก:00:00"}), "invalid_filters"),
            (json!({"to": "ก".repeat(4)}), "invalid_filters"),
            (json!({"from": 5}), "invalid_filters"),
            (
                json!({"from": "2026-02-01", "to": "2026-01-01"}),
                "invalid_filters",
            ),
            (json!({"from": "2026-11-24T00:00:01Z"}), "invalid_filters"),
            (json!({"order": "newest"}), "invalid_filters"),
            // Written in year 0000 or 9999, but outside them in UTC.
            (
                json!({"from": "0000-01-01T00:00:00+01:00"}),
                "invalid_filters",
            ),
            (
                json!({"to": "9999-12-31T23:59:59-05:00"}),
                "invalid_filters",
            ),
            (json!({"order": 1}), "invalid_filters"),
        ];
        for (input, code) in cases {
            let err = list(input.clone()).expect_err(&format!("{input} should be refused"));
            assert_eq!(err.code(), code, "{input}");
            assert_eq!(err.status(), 400, "{input}");
        }
    }
}
