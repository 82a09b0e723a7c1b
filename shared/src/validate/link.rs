//! `POST /links` parameters into a [`NewLink`].

use super::text::{MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, parse_text};
use super::{Params, parse_integer};
use crate::domain::currency::{self, Currency};
use crate::domain::error::ApiError;
use crate::domain::link::{MAX_EXPIRY_DAYS, NewLink};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::Value;

/// A create request's parameters, from JSON (typed values) or a form (strings), made at `now`.
/// Unknown parameters are ignored, as Omise does.
pub fn parse_new_link(params: &Params, now: DateTime<Utc>) -> Result<NewLink, ApiError> {
    parse(params, now, Expired::Refused)
}

/// The same parameters read as the retry of a create made earlier with an `Idempotency-Key`:
/// an `expires_at` already past is taken, since the first create, made before it, may have been
/// accepted; every other rule is [`parse_new_link`]'s. Only for finding that first create's
/// answer: a new link is never made from it.
pub fn parse_retried_new_link(params: &Params, now: DateTime<Utc>) -> Result<NewLink, ApiError> {
    parse(params, now, Expired::Taken)
}

/// Whether an `expires_at` that has passed is refused (a new create) or taken (see
/// [`parse_retried_new_link`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expired {
    Refused,
    Taken,
}

fn parse(params: &Params, now: DateTime<Utc>, expired: Expired) -> Result<NewLink, ApiError> {
    let currency = parse_currency(params)?;
    let multiple = parse_bool(params, "multiple")?.unwrap_or(false);
    Ok(NewLink {
        amount: parse_amount(params, currency)?,
        currency,
        title: parse_text(params, "title", MAX_TITLE_CHARS)?,
        description: parse_text(params, "description", MAX_DESCRIPTION_CHARS)?,
        multiple,
        expires_at: parse_expires_at(params, now, expired)?,
        after_payment_uri: parse_after_payment_uri(params)?,
        usage_limit: parse_usage_limit(params, multiple)?,
        metadata: super::parse_metadata(params)?,
    })
}

/// Why a create whose `expires_at` has passed is refused.
pub const EXPIRES_AT_PAST: &str = "expires_at must be in the future";

/// The most a `usage_limit` may be.
pub const MAX_USAGE_LIMIT: i64 = 1_000_000;

/// `usage_limit`: an integer from 1 to [`MAX_USAGE_LIMIT`], on a multiple-use link only (a
/// single-use link's limit is one already). `null` is the same as leaving it out.
fn parse_usage_limit(params: &Params, multiple: bool) -> Result<Option<u64>, ApiError> {
    let not_integer = || {
        ApiError::BadRequest(format!(
            "usage_limit must be an integer from 1 to {MAX_USAGE_LIMIT}"
        ))
    };
    let limit = match params.get("usage_limit") {
        None => return Ok(None),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(not_integer)?,
        Some(Value::String(s)) => parse_integer(s).ok_or_else(not_integer)?,
        Some(_) => return Err(not_integer()),
    };
    if !(1..=MAX_USAGE_LIMIT).contains(&limit) {
        return Err(not_integer());
    }
    if !multiple {
        return Err(ApiError::BadRequest(
            "usage_limit is for multiple-use links only: set multiple to true (a single-use link is paid once)".into(),
        ));
    }
    Ok(Some(limit as u64))
}

/// `after_payment_uri`: held to a webhook endpoint's rules (`https://`, a public host, no user
/// name or password, no spaces or control characters, at most 2,048 bytes (UTF-8)), since the
/// buyer is offered it on the service's own page. `null` is the same as leaving it out.
fn parse_after_payment_uri(params: &Params) -> Result<Option<String>, ApiError> {
    let text = match params.get("after_payment_uri") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "after_payment_uri must be a string such as https://shop.example/thanks".into(),
            ));
        }
    };
    let endpoint =
        super::parse_endpoint(text, super::DestinationPolicy::default()).map_err(|error| {
            match error {
                ApiError::BadRequest(message) => {
                    ApiError::BadRequest(message.replacen("url ", "after_payment_uri ", 1))
                }
                other => other,
            }
        })?;
    Ok(Some(endpoint.url))
}

/// `expires_at`: an RFC 3339 time with its offset (`2027-01-31T23:59:59+07:00`), kept to the
/// whole second, after `now` and at most [`MAX_EXPIRY_DAYS`] ahead. `null` is the same as
/// leaving it out.
fn parse_expires_at(
    params: &Params,
    now: DateTime<Utc>,
    expired: Expired,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let text = match params.get("expires_at") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "expires_at must be a time such as 2027-01-31T23:59:59+07:00".into(),
            ));
        }
    };
    let at = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| {
            ApiError::BadRequest(
                "expires_at must be a time with its offset, such as 2027-01-31T23:59:59+07:00"
                    .into(),
            )
        })?
        .with_timezone(&Utc)
        .trunc_subsecs(0);
    if at <= now && expired == Expired::Refused {
        return Err(ApiError::BadRequest(EXPIRES_AT_PAST.into()));
    }
    if at > now + Duration::days(MAX_EXPIRY_DAYS) {
        return Err(ApiError::BadRequest(format!(
            "expires_at must be at most {MAX_EXPIRY_DAYS} days ahead"
        )));
    }
    Ok(Some(at))
}

fn parse_currency(params: &Params) -> Result<&'static Currency, ApiError> {
    let code = match params.get("currency") {
        None => return Err(ApiError::BadRequest("currency is required".into())),
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "currency must be a string such as thb".into(),
            ));
        }
    };
    Currency::find(code).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "currency {code} is not supported; supported currencies are {}",
            currency::supported_codes()
        ))
    })
}

fn parse_amount(params: &Params, currency: &Currency) -> Result<i64, ApiError> {
    let not_integer = || {
        ApiError::InvalidAmount("amount must be an integer in the currency's smallest unit".into())
    };
    let amount = match params.get("amount") {
        None => return Err(ApiError::BadRequest("amount is required".into())),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(not_integer)?,
        Some(Value::String(s)) => parse_integer(s).ok_or_else(not_integer)?,
        Some(_) => return Err(not_integer()),
    };
    let code = currency.code;
    if amount < currency.min_amount {
        return Err(ApiError::InvalidAmount(format!(
            "amount must be at least {} ({} {code})",
            currency.min_amount,
            currency.format_amount(currency.min_amount)
        )));
    }
    if amount > currency.max_amount {
        return Err(ApiError::InvalidAmount(format!(
            "amount must be at most {} ({} {code})",
            currency.max_amount,
            currency.format_amount(currency.max_amount)
        )));
    }
    Ok(amount)
}

/// A boolean: JSON `true`/`false`, or the strings `"true"`/`"false"` that forms carry.
fn parse_bool(params: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" => Ok(Some(true)),
        Some(Value::String(s)) if s == "false" => Ok(Some(false)),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{name} must be a boolean (true or false)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A fixed creation time, for the expiry bounds.
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn new_link(v: Value) -> Result<NewLink, ApiError> {
        parse_new_link(&Params::from_value(v), now())
    }

    #[test]
    fn expires_at_is_a_future_time_within_a_year_kept_to_the_second() {
        let at = |v: Value| new_link(with("expires_at", v)).map(|l| l.expires_at);
        assert_eq!(
            new_link(valid()).unwrap().expires_at,
            None,
            "absent: no expiry"
        );
        assert_eq!(at(Value::Null).unwrap(), None);
        // Bangkok's evening is the same instant in UTC; fractions of a second are dropped.
        assert_eq!(
            at(json!("2026-12-04T19:30:00.750+07:00")).unwrap(),
            Some(now() + Duration::minutes(150))
        );
        // Its bounds: one second after now, and exactly 365 days ahead.
        assert_eq!(
            at(json!("2026-12-04T10:00:01Z")).unwrap(),
            Some(now() + Duration::seconds(1))
        );
        assert!(at(json!("2027-12-04T10:00:00Z")).unwrap().is_some());
        for (value, says) in [
            (json!("2026-12-04T10:00:00Z"), "in the future"),
            (json!("2026-12-04T10:00:00.999Z"), "in the future"),
            (json!("2020-01-01T00:00:00Z"), "in the future"),
            (json!("2027-12-04T10:00:01Z"), "at most 365 days ahead"),
            (json!("2027-01-31"), "with its offset"),
            (json!("2027-01-31T10:00:00"), "with its offset"),
            (json!("tomorrow"), "with its offset"),
            (json!(1_800_000_000), "such as"),
            (json!(true), "such as"),
        ] {
            let err = at(value.clone()).unwrap_err();
            assert_eq!(err.status(), 400, "{value}");
            assert!(err.message().contains(says), "{value}: {}", err.message());
        }
    }

    #[test]
    fn a_retry_takes_a_past_expiry_and_every_other_rule_as_a_create_does() {
        let retried = |v: Value| parse_retried_new_link(&Params::from_value(v), now());
        let past = with("expires_at", json!("2026-12-04T09:59:59Z"));
        assert_eq!(
            new_link(past.clone()).unwrap_err().message(),
            EXPIRES_AT_PAST
        );
        let link = retried(past).unwrap();
        assert_eq!(link.expires_at, Some(now() - Duration::seconds(1)));
        // The same fingerprint as the first create, made while the time was ahead.
        let earlier = parse_new_link(
            &Params::from_value(with("expires_at", json!("2026-12-04T09:59:59Z"))),
            now() - Duration::minutes(1),
        )
        .unwrap();
        assert_eq!(link.fingerprint(), earlier.fingerprint());
        for value in [json!("2027-12-04T10:00:01Z"), json!("yesterday")] {
            assert!(
                retried(with("expires_at", value.clone())).is_err(),
                "{value}"
            );
        }
        assert!(retried(with("amount", json!(0))).is_err());
    }

    #[test]
    fn expires_at_is_kept_in_utc_and_changes_the_fingerprint() {
        let link = new_link(with("expires_at", json!("2027-01-31T23:59:59+07:00"))).unwrap();
        assert_eq!(
            link.expires_at.unwrap().to_rfc3339(),
            "2027-01-31T16:59:59+00:00"
        );
        let without = NewLink {
            expires_at: None,
            ..link.clone()
        };
        assert_ne!(link.fingerprint(), without.fingerprint());
    }

    fn valid() -> Value {
        json!({"amount": 10000, "currency": "THB", "title": "ค่าอาหาร", "description": "จ่ายค่าอาหารกลางวัน"})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut v = valid();
        v[key] = value;
        v
    }

    fn without(key: &str) -> Value {
        let mut v = valid();
        v.as_object_mut().unwrap().remove(key);
        v
    }

    #[test]
    fn a_usage_limit_is_a_positive_integer_on_a_multiple_use_link_only() {
        let limit = |v: Value, multiple: Value| {
            let mut params = with("usage_limit", v);
            params["multiple"] = multiple;
            new_link(params).map(|l| l.usage_limit)
        };
        assert_eq!(new_link(valid()).unwrap().usage_limit, None);
        assert_eq!(limit(Value::Null, json!(false)).unwrap(), None);
        assert_eq!(limit(json!(1), json!(true)).unwrap(), Some(1));
        assert_eq!(limit(json!("10"), json!("true")).unwrap(), Some(10));
        assert_eq!(
            limit(json!(MAX_USAGE_LIMIT), json!(true)).unwrap(),
            Some(MAX_USAGE_LIMIT as u64)
        );
        for (value, multiple, says) in [
            (json!(0), json!(true), "from 1 to 1000000"),
            (json!(-1), json!(true), "from 1 to 1000000"),
            (json!(MAX_USAGE_LIMIT + 1), json!(true), "from 1 to 1000000"),
            (json!(2.5), json!(true), "from 1 to 1000000"),
            (json!("ten"), json!(true), "from 1 to 1000000"),
            (json!(true), json!(true), "from 1 to 1000000"),
            (json!(10), json!(false), "multiple-use links only"),
            (json!(10), Value::Null, "multiple-use links only"),
        ] {
            let err = limit(value.clone(), multiple).unwrap_err();
            assert_eq!(err.status(), 400, "{value}");
            assert!(err.message().contains(says), "{value}: {}", err.message());
        }
    }

    #[test]
    fn the_same_metadata_in_any_key_order_is_the_same_request() {
        let a = new_link(with("metadata", json!({"a": 1, "b": {"c": "ค", "d": 2}}))).unwrap();
        let b = new_link(with("metadata", json!({"b": {"d": 2, "c": "ค"}, "a": 1}))).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = new_link(with("metadata", json!({"a": 1, "b": {"c": "ค", "d": 3}}))).unwrap();
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn a_valid_link_parses_with_lowercase_currency_and_exact_text() {
        let l = new_link(valid()).unwrap();
        assert_eq!(l.amount, 10000);
        assert_eq!(l.currency.code, "thb");
        assert_eq!(l.title, "ค่าอาหาร");
        assert_eq!(l.description, "จ่ายค่าอาหารกลางวัน");
        assert!(!l.multiple);
    }

    #[test]
    fn form_strings_parse_like_json_values() {
        let form = |multiple: &str| {
            new_link(json!({"amount": "2000", "currency": "thb", "title": "t", "description": "d", "multiple": multiple}))
                .unwrap()
        };
        assert_eq!((form("true").amount, form("true").multiple), (2000, true));
        assert!(!form("false").multiple);
        assert!(new_link(with("multiple", json!(true))).unwrap().multiple);
        assert!(!new_link(with("multiple", json!(false))).unwrap().multiple);
        assert!(!new_link(with("multiple", Value::Null)).unwrap().multiple);
    }

    #[test]
    fn the_amount_range_includes_both_ends() {
        let thb = Currency::find("thb").unwrap();
        for amount in [thb.min_amount, thb.max_amount] {
            assert_eq!(
                new_link(with("amount", json!(amount))).unwrap().amount,
                amount
            );
            let text = amount.to_string();
            assert_eq!(
                new_link(with("amount", json!(text))).unwrap().amount,
                amount
            );
        }
        for amount in [thb.min_amount - 1, thb.max_amount + 1] {
            let err = new_link(with("amount", json!(amount))).unwrap_err();
            assert_eq!(err.code(), "invalid_amount", "{amount}");
        }
    }

    #[test]
    fn invalid_creates_are_refused_with_the_right_code() {
        let cases: Vec<(Value, &str, &str)> = vec![
            (without("amount"), "bad_request", "amount is required"),
            (with("amount", json!(100.5)), "invalid_amount", "integer"),
            (with("amount", json!("1e4")), "invalid_amount", "integer"),
            (with("amount", json!("")), "invalid_amount", "integer"),
            (with("amount", json!(true)), "invalid_amount", "integer"),
            (
                with("amount", json!(1999)),
                "invalid_amount",
                "at least 2000 (20.00 thb)",
            ),
            (with("amount", json!(-5)), "invalid_amount", "at least"),
            (with("amount", json!("-5")), "invalid_amount", "at least"),
            (
                with("amount", json!(100_000_001)),
                "invalid_amount",
                "at most 100000000 (1000000.00 thb)",
            ),
            (with("amount", json!(u64::MAX)), "invalid_amount", "integer"),
            (
                with("amount", json!("99999999999999999999")),
                "invalid_amount",
                "integer",
            ),
            (without("currency"), "bad_request", "currency is required"),
            (
                with("currency", json!("xyz")),
                "bad_request",
                "currency xyz is not supported; supported currencies are thb, jpy",
            ),
            (
                with("currency", json!(764)),
                "bad_request",
                "must be a string",
            ),
            (without("title"), "bad_request", "title is required"),
            (
                with("title", json!("")),
                "bad_request",
                "title must not be blank",
            ),
            (
                with("title", json!("\u{200B}")),
                "bad_request",
                "title must not be blank",
            ),
            (
                with("title", json!(5)),
                "bad_request",
                "title must be a string",
            ),
            (
                with("title", json!("ก".repeat(256))),
                "bad_request",
                "at most 255 characters",
            ),
            (
                with("title", json!("a\u{0}b")),
                "bad_request",
                "control characters",
            ),
            (
                without("description"),
                "bad_request",
                "description is required",
            ),
            (
                with("description", json!("x".repeat(1025))),
                "bad_request",
                "at most 1024",
            ),
            (
                with("multiple", json!("yes")),
                "bad_request",
                "multiple must be a boolean",
            ),
            (
                with("multiple", json!(1)),
                "bad_request",
                "multiple must be a boolean",
            ),
        ];
        for (input, code, message) in cases {
            let err = new_link(input.clone()).expect_err(&format!("{input} should be refused"));
            assert_eq!(err.code(), code, "{input}");
            assert!(
                err.message().contains(message),
                "{input}: {}",
                err.message()
            );
        }
    }

    #[test]
    fn jpy_minimum_is_in_whole_yen() {
        let l = new_link(with("currency", json!("jpy"))).unwrap();
        assert_eq!(l.amount, 10000);
        let err =
            new_link(json!({"amount": 99, "currency": "JPY", "title": "t", "description": "d"}))
                .unwrap_err();
        assert!(
            err.message().contains("at least 100 (100 jpy)"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn title_and_description_limits_are_their_own() {
        assert!(new_link(with("title", json!("ก".repeat(255)))).is_ok());
        assert!(new_link(with("description", json!("ก".repeat(1024)))).is_ok());
        assert!(new_link(with("title", json!("ก".repeat(1024)))).is_err());
    }
}
