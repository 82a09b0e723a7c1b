//! Parsing raw parameters into values that are valid once built.
//!
//! Every rule here is listed in the README's validation table; keep the two in step.

use crate::currency::{self, Currency};
use crate::error::ApiError;
use crate::http::Params;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

/// Longest `title`, in Unicode scalar values (a Thai letter with its vowel marks counts each).
pub const MAX_TITLE_CHARS: usize = 255;
/// Longest `description`, in Unicode scalar values.
pub const MAX_DESCRIPTION_CHARS: usize = 1_024;
/// Default and largest page size of a list.
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// Largest `offset`: skipping is paid for in reads, so an absurd offset is refused rather than
/// left to run until the function times out.
pub const MAX_OFFSET: u64 = 100_000;

/// A validated request to create a link.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLink {
    pub amount: i64,
    pub currency: &'static Currency,
    pub title: String,
    pub description: String,
    pub multiple: bool,
}

impl NewLink {
    pub fn parse(params: &Params) -> Result<Self, ApiError> {
        let currency = parse_currency(params)?;
        Ok(Self {
            amount: parse_amount(params, currency)?,
            currency,
            title: parse_text(params, "title", MAX_TITLE_CHARS)?,
            description: parse_text(params, "description", MAX_DESCRIPTION_CHARS)?,
            multiple: parse_bool(params, "multiple")?.unwrap_or(false),
        })
    }
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

/// An optionally signed run of ASCII digits (no `+`, spaces, decimals or exponents).
fn parse_integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A required text field: a string, not blank, at most `max` characters, without control
/// characters other than tab and line breaks. Stored exactly as given, never trimmed or normalised.
fn parse_text(params: &Params, name: &str, max: usize) -> Result<String, ApiError> {
    let text = match params.get(name) {
        None => return Err(ApiError::BadRequest(format!("{name} is required"))),
        Some(Value::String(s)) => s,
        Some(_) => return Err(ApiError::BadRequest(format!("{name} must be a string"))),
    };
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest(format!("{name} must not be blank")));
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(ApiError::BadRequest(format!(
            "{name} must be at most {max} characters (got {chars})"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(ApiError::BadRequest(format!(
            "{name} must not contain control characters"
        )));
    }
    Ok(text.clone())
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

/// Sort order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Chronological,
    ReverseChronological,
}

/// Validated paging and filter parameters of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListParams {
    pub offset: u64,
    pub limit: u32,
    /// Inclusive lower bound on `created`; the epoch when not given.
    pub from: DateTime<Utc>,
    /// Inclusive upper bound on `created`; the request time when not given.
    pub to: DateTime<Utc>,
    /// Whether `to` was given (it then bounds the list even when it is in the future).
    pub to_given: bool,
    pub order: Order,
    /// `order` exactly as the client sent it, echoed in the list object (`null` when absent).
    pub order_given: Option<String>,
}

impl ListParams {
    pub fn parse(params: &Params, now: DateTime<Utc>) -> Result<Self, ApiError> {
        let offset = parse_count(params, "offset")?.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(ApiError::InvalidPage(format!(
                "offset must be at most {MAX_OFFSET}"
            )));
        }
        let limit = parse_count(params, "limit")?
            .map_or(DEFAULT_LIMIT, |l| l.min(u64::from(MAX_LIMIT)) as u32);
        let from = parse_time(params, "from")?.unwrap_or(DateTime::UNIX_EPOCH);
        let to_given = parse_time(params, "to")?;
        let to = to_given.unwrap_or(now);
        if from > to {
            return Err(ApiError::InvalidFilters("from must not be after to".into()));
        }
        let (order, order_given) = match params.get("order") {
            None => (Order::Chronological, None),
            Some(Value::String(s)) if s == "chronological" => {
                (Order::Chronological, Some(s.clone()))
            }
            Some(Value::String(s)) if s == "reverse_chronological" => {
                (Order::ReverseChronological, Some(s.clone()))
            }
            Some(_) => {
                return Err(ApiError::InvalidFilters(
                    "order must be chronological or reverse_chronological".into(),
                ));
            }
        };
        Ok(Self {
            offset,
            limit,
            from,
            to,
            to_given: to_given.is_some(),
            order,
            order_given,
        })
    }

    /// Whether `from`/`to` narrow the list below "every link": only then must `total` be counted.
    pub fn is_filtered(&self, now: DateTime<Utc>) -> bool {
        self.from > DateTime::UNIX_EPOCH || (self.to_given && self.to < now)
    }
}

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
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(Some(t.and_utc()));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Some(d.and_hms_opt(0, 0, 0).ok_or_else(invalid)?.and_utc()));
    }
    Err(invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new_link(v: Value) -> Result<NewLink, ApiError> {
        NewLink::parse(&Params::from_value(v))
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
    fn a_valid_link_parses_with_lowercase_currency_and_exact_text() {
        let l = new_link(valid()).unwrap();
        assert_eq!(l.amount, 10000);
        assert_eq!(l.currency.code, "thb");
        assert_eq!(l.title, "ค่าอาหาร");
        assert!(!l.multiple);
    }

    #[test]
    fn form_strings_parse_like_json_values() {
        let l = new_link(json!({"amount": "2000", "currency": "thb", "title": "t", "description": "d", "multiple": "true"})).unwrap();
        assert_eq!((l.amount, l.multiple), (2000, true));
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
            (
                with("amount", json!(100_000_001)),
                "invalid_amount",
                "at most",
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
                "not supported",
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
                with("title", json!("  \n")),
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
    fn title_length_counts_characters_not_bytes() {
        assert!(new_link(with("title", json!("ก".repeat(255)))).is_ok());
    }

    fn list(v: Value) -> Result<ListParams, ApiError> {
        ListParams::parse(
            &Params::from_value(v),
            "2026-11-24T00:00:00Z".parse().unwrap(),
        )
    }

    #[test]
    fn list_defaults() {
        let p = list(json!({"from": null, "limit": null})).unwrap();
        assert_eq!(
            (p.offset, p.limit, p.order, p.order_given.as_deref()),
            (0, 20, Order::Chronological, None)
        );
        assert_eq!(p.from, DateTime::UNIX_EPOCH);
        assert!(!p.to_given);
        assert!(!p.is_filtered("2026-11-24T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn list_limit_is_honoured_and_capped() {
        assert_eq!(list(json!({"limit": 100})).unwrap().limit, 100);
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
    fn list_accepts_dates_in_several_iso_forms() {
        let p = list(json!({"from": "2026-01-02", "to": "2026-03-04T05:06:07+07:00", "order": "reverse_chronological"})).unwrap();
        assert_eq!(p.from.to_rfc3339(), "2026-01-02T00:00:00+00:00");
        assert_eq!(p.to.to_rfc3339(), "2026-03-03T22:06:07+00:00");
        assert_eq!(p.order, Order::ReverseChronological);
        assert!(p.is_filtered("2026-11-24T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn invalid_lists_are_refused_with_the_right_code() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"limit": -1}), "invalid_page"),
            (json!({"limit": "-1"}), "invalid_page"),
            (json!({"limit": "ten"}), "invalid_page"),
            (json!({"limit": 1.5}), "invalid_page"),
            (json!({"offset": "x"}), "invalid_page"),
            (json!({"offset": 100_001}), "invalid_page"),
            (json!({"from": "yesterday"}), "invalid_filters"),
            (json!({"to": "2026-13-01"}), "invalid_filters"),
            (json!({"from": 5}), "invalid_filters"),
            (
                json!({"from": "2026-02-01", "to": "2026-01-01"}),
                "invalid_filters",
            ),
            (json!({"order": "newest"}), "invalid_filters"),
        ];
        for (input, code) in cases {
            let err = list(input.clone()).expect_err(&format!("{input} should be refused"));
            assert_eq!(err.code(), code, "{input}");
            assert_eq!(err.status(), 400, "{input}");
        }
    }
}
