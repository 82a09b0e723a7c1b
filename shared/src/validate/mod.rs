//! The validation layer: raw request parameters in, domain types out. Every rule is listed in
//! the validation tables of docs/api.md; keep the two in step.
//!
//! The HTTP edge decodes bodies and query strings into [`Params`] (JSON values, or strings from a
//! form or query string); each module here turns them into one domain type, refusing anything
//! else with the Omise error a client can act on.

mod card;
mod idempotency;
mod link;
mod list;
mod metadata;
mod refund;
mod text;
mod webhook;

pub use card::{CardForm, CardProblem, MAX_NAME_CHARS, parse_card};
pub use idempotency::{IdempotencyKey, MAX_IDEMPOTENCY_KEY_LEN};
pub use link::{EXPIRES_AT_PAST, parse_new_link, parse_retried_new_link};
pub use list::parse_list_query;
pub use metadata::{
    MAX_ARRAY_ITEMS, MAX_BYTES as MAX_METADATA_BYTES, MAX_DEPTH as MAX_METADATA_DEPTH,
    MAX_KEY_CHARS, MAX_KEYS as MAX_METADATA_KEYS, MAX_STRING_CHARS, parse_metadata,
};
pub use refund::parse_refund_amount;
pub use text::{MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, is_blank};
pub use webhook::{
    DestinationPolicy, Endpoint, MAX_URL_LEN, check_resolved, is_public, parse_endpoint,
};

use serde_json::{Map, Value};

/// The parameters of one request, by name. A JSON `null` counts as "not given".
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Params(Map<String, Value>);

impl Params {
    pub fn new(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// The value of `name`, if given and not null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// The parameters named `name[…]` (a form's nested fields), as (`[…]`, value), in no
    /// particular order.
    pub fn bracketed<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.0.iter().filter_map(move |(key, value)| {
            key.strip_prefix(name)
                .filter(|rest| rest.starts_with('['))
                .map(|rest| (rest, value))
        })
    }

    /// Sets `name`, replacing what was there (the query string overriding a GET body).
    pub fn set(&mut self, name: String, value: Value) {
        self.0.insert(name, value);
    }

    #[cfg(test)]
    pub(crate) fn from_value(value: Value) -> Self {
        match value {
            Value::Object(map) => Self(map),
            _ => Self::default(),
        }
    }
}

/// An optionally signed run of ASCII digits: no `+`, spaces, decimals or exponents.
fn parse_integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_are_plain_digits_with_an_optional_minus() {
        assert_eq!(parse_integer("2000"), Some(2000));
        assert_eq!(parse_integer("-5"), Some(-5));
        assert_eq!(parse_integer("007"), Some(7));
        for bad in [
            "",
            "-",
            "+5",
            " 5",
            "5 ",
            "1e4",
            "1.0",
            "0x10",
            "--5",
            "99999999999999999999",
        ] {
            assert_eq!(parse_integer(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn null_is_not_given() {
        let p = Params::from_value(json!({"from": null, "to": "x"}));
        assert!(p.get("from").is_none());
        assert_eq!(p.get("to"), Some(&json!("x")));
        assert!(p.get("absent").is_none());
    }
}
