//! `metadata`: the merchant's own data on a link (their order number, say), copied onto every
//! charge of it and so into its events and webhooks.
//!
//! Taken as Omise's charges take it: a JSON object in a JSON body, or `metadata[key]=value`
//! fields in a form (nested as `metadata[a][b]=value`; a form's values are strings). Bounded so
//! that it never makes a charge, an event or a webhook much larger than it is without it:
//!
//! | bound | limit |
//! |---|---|
//! | keys, counted at every level | at most [`MAX_KEYS`] |
//! | a key | 1 to [`MAX_KEY_CHARS`] characters, no control characters |
//! | nesting (the object itself is level 1) | at most [`MAX_DEPTH`] levels of objects and arrays |
//! | a string value | at most [`MAX_STRING_CHARS`] characters |
//! | an array | at most [`MAX_ARRAY_ITEMS`] items |
//! | the whole, as compact JSON | at most [`MAX_BYTES`] bytes (UTF-8) |
//!
//! `null` or `{}` is the same as none.

use super::Params;
use crate::domain::error::ApiError;
use crate::domain::metadata::Metadata;
use serde_json::{Map, Value};

pub const MAX_KEYS: usize = 50;
pub const MAX_KEY_CHARS: usize = 40;
pub const MAX_DEPTH: usize = 3;
pub const MAX_STRING_CHARS: usize = 500;
pub const MAX_ARRAY_ITEMS: usize = 50;
pub const MAX_BYTES: usize = 4096;

const NAME: &str = "metadata";

/// The request's metadata, within its bounds; `None` when none was given (or it was empty).
pub fn parse_metadata(params: &Params) -> Result<Option<Metadata>, ApiError> {
    let fields: Vec<(&str, &Value)> = params.bracketed(NAME).collect();
    let object = match (params.get(NAME), fields.is_empty()) {
        (None, true) => return Ok(None),
        (Some(_), false) => {
            return Err(bad(
                "metadata is given both whole and as metadata[…] fields",
            ));
        }
        (Some(Value::Object(object)), true) => object.clone(),
        (Some(_), true) => {
            return Err(bad(
                "metadata must be an object, such as {\"order_id\": \"A-1001\"} (in a form: metadata[order_id]=A-1001)",
            ));
        }
        (None, false) => from_fields(&fields)?,
    };
    let mut keys = 0;
    check_object(&object, 1, &mut keys)?;
    let bytes = Value::Object(object.clone()).to_string().len();
    if bytes > MAX_BYTES {
        return Err(bad(format!(
            "metadata must be at most {MAX_BYTES} bytes as JSON (got {bytes})"
        )));
    }
    Ok((!object.is_empty()).then_some(object))
}

/// A form's `metadata[a][b]=v` fields as one object.
fn from_fields(fields: &[(&str, &Value)]) -> Result<Map<String, Value>, ApiError> {
    let mut root = Map::new();
    for (path, value) in fields {
        let keys = split_path(path)?;
        if keys.len() > MAX_DEPTH {
            return Err(too_deep());
        }
        let (last, parents) = keys.split_last().expect("at least one key");
        let mut object = &mut root;
        for key in parents {
            let entry = object
                .entry((*key).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            object = match entry {
                Value::Object(inner) => inner,
                _ => return Err(conflict(path)),
            };
        }
        if object.contains_key(*last) {
            return Err(conflict(path));
        }
        object.insert((*last).to_owned(), (*value).clone());
    }
    Ok(root)
}

/// `[a][b]` (what follows `metadata` in a field's name) as `["a", "b"]`.
fn split_path(path: &str) -> Result<Vec<&str>, ApiError> {
    let malformed = || {
        bad(format!(
            "metadata{} is not a field name metadata takes; write metadata[key] or metadata[key][inner]",
            shown(path)
        ))
    };
    let mut keys = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').ok_or_else(malformed)?;
        let end = inner.find(']').ok_or_else(malformed)?;
        keys.push(&inner[..end]);
        rest = &inner[end + 1..];
    }
    if keys.is_empty() {
        return Err(malformed());
    }
    Ok(keys)
}

fn check_object(
    object: &Map<String, Value>,
    depth: usize,
    keys: &mut usize,
) -> Result<(), ApiError> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    for (key, value) in object {
        *keys += 1;
        if *keys > MAX_KEYS {
            return Err(bad(format!(
                "metadata must have at most {MAX_KEYS} keys in all"
            )));
        }
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_KEY_CHARS {
            return Err(bad(format!(
                "metadata keys must be 1 to {MAX_KEY_CHARS} characters (got {chars})"
            )));
        }
        if key.chars().any(char::is_control) {
            return Err(bad("metadata keys must not contain control characters"));
        }
        check_value(value, depth, keys)?;
    }
    Ok(())
}

/// A value inside an object at `depth`.
fn check_value(value: &Value, depth: usize, keys: &mut usize) -> Result<(), ApiError> {
    match value {
        Value::Object(inner) => check_object(inner, depth + 1, keys),
        Value::Array(items) => {
            if depth + 1 > MAX_DEPTH {
                return Err(too_deep());
            }
            if items.len() > MAX_ARRAY_ITEMS {
                return Err(bad(format!(
                    "metadata arrays must have at most {MAX_ARRAY_ITEMS} items"
                )));
            }
            items
                .iter()
                .try_for_each(|item| check_value(item, depth + 1, keys))
        }
        Value::String(text) => {
            let chars = text.chars().count();
            if chars > MAX_STRING_CHARS {
                return Err(bad(format!(
                    "metadata values must be at most {MAX_STRING_CHARS} characters (got {chars})"
                )));
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

fn too_deep() -> ApiError {
    bad(format!(
        "metadata must be at most {MAX_DEPTH} levels deep (the object itself is the first)"
    ))
}

fn conflict(path: &str) -> ApiError {
    bad(format!("metadata{} is given more than once", shown(path)))
}

/// At most 64 characters of a client's field name, for a message.
fn shown(path: &str) -> String {
    path.chars().take(64).collect()
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata(params: Value) -> Result<Option<Metadata>, ApiError> {
        parse_metadata(&Params::from_value(params))
    }

    fn says(params: Value, part: &str) {
        let err = metadata(params.clone()).unwrap_err();
        assert_eq!(err.status(), 400, "{params}");
        assert!(err.message().contains(part), "{params}: {}", err.message());
    }

    #[test]
    fn an_object_is_kept_exactly_and_none_or_empty_is_none() {
        assert_eq!(metadata(json!({})).unwrap(), None);
        assert_eq!(metadata(json!({"metadata": null})).unwrap(), None);
        assert_eq!(metadata(json!({"metadata": {}})).unwrap(), None);
        let given = json!({"order_id": "A-1001", "ที่อยู่": "กรุงเทพฯ", "n": 1.5, "tags": ["a", 2], "x": {"y": true}});
        assert_eq!(
            metadata(json!({ "metadata": given }))
                .unwrap()
                .map(Value::Object),
            Some(given)
        );
    }

    #[test]
    fn form_fields_nest_by_their_brackets() {
        let object = metadata(json!({
            "metadata[order_id]": "A-1001",
            "metadata[shipping][city]": "เชียงใหม่",
            "metadata[shipping][zip]": "50000",
        }))
        .unwrap()
        .unwrap();
        assert_eq!(
            Value::Object(object),
            json!({"order_id": "A-1001", "shipping": {"city": "เชียงใหม่", "zip": "50000"}})
        );
    }

    #[test]
    fn malformed_or_clashing_fields_are_refused() {
        says(json!({"metadata": "A-1001"}), "must be an object");
        says(json!({"metadata": ["A"]}), "must be an object");
        says(
            json!({"metadata": {"a": 1}, "metadata[b]": "2"}),
            "both whole and as",
        );
        says(json!({"metadata[]": "x"}), "1 to 40 characters");
        says(json!({"metadata[a": "x"}), "is not a field name");
        says(json!({"metadata[a]b": "x"}), "is not a field name");
        says(
            json!({"metadata[a]": "1", "metadata[a][b]": "2"}),
            "more than once",
        );
        says(
            json!({"metadata[a][b]": "2", "metadata[a]": "1"}),
            "more than once",
        );
        says(json!({"metadata[a][b][c][d]": "x"}), "levels deep");
    }

    #[test]
    fn every_bound_holds_at_its_edge() {
        let keys = |n: usize| -> Value {
            Value::Object((0..n).map(|i| (format!("k{i}"), json!(i))).collect())
        };
        assert!(metadata(json!({ "metadata": keys(MAX_KEYS) })).is_ok());
        says(json!({ "metadata": keys(MAX_KEYS + 1) }), "at most 50 keys");
        // Keys count at every level.
        says(
            json!({"metadata": {"outer": keys(MAX_KEYS)}}),
            "at most 50 keys",
        );
        let key = "ก".repeat(MAX_KEY_CHARS);
        assert!(metadata(json!({"metadata": { key.clone(): 1 }})).is_ok());
        says(
            json!({"metadata": { format!("{key}x"): 1 }}),
            "1 to 40 characters",
        );
        says(json!({"metadata": {"": 1}}), "1 to 40 characters");
        says(json!({"metadata": {"a\u{0}": 1}}), "control characters");
        assert!(metadata(json!({"metadata": {"a": {"b": {"c": 1}}}})).is_ok());
        assert!(metadata(json!({"metadata": {"a": {"b": [1]}}})).is_ok());
        says(json!({"metadata": {"a": {"b": {"c": {}}}}}), "levels deep");
        says(json!({"metadata": {"a": {"b": [[1]]}}}), "levels deep");
        let text = "ข".repeat(MAX_STRING_CHARS);
        assert!(metadata(json!({"metadata": {"a": text.clone()}})).is_ok());
        says(
            json!({"metadata": {"a": format!("{text}x")}}),
            "at most 500 characters",
        );
        assert!(metadata(json!({"metadata": {"a": vec![0; MAX_ARRAY_ITEMS]}})).is_ok());
        says(
            json!({"metadata": {"a": vec![0; MAX_ARRAY_ITEMS + 1]}}),
            "at most 50 items",
        );
        // Within every other bound, too large as a whole: nine 500-character values.
        let big: Map<String, Value> = (0..9)
            .map(|i| (format!("k{i}"), json!("x".repeat(MAX_STRING_CHARS))))
            .collect();
        says(json!({ "metadata": big }), "at most 4096 bytes");
    }
}
