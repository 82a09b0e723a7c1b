//! Idempotency records: what a create with an `Idempotency-Key` answered, kept for a day.
//!
//! The record is written in the same transaction as the link it describes, under a condition
//! that no live record holds the key. So exactly one create per key commits; every other attempt
//! with that key (a retry after a lost response, or a concurrent duplicate) is cancelled before
//! writing anything and answers the first result instead.

use super::item::{EXPIRES_AT, Item, get_n, get_s, n, s, time};
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use crate::validate::IdempotencyKey;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How long a key is remembered: a client retrying within a day gets the first result.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// The sort key of a key's record in the caller's partition (keys are scoped to account and mode).
pub fn record_key(owner: &Principal, key: &IdempotencyKey) -> Item {
    super::item::key(
        super::item::account_partition(owner),
        format!("IDEM#{}", key.digest()),
    )
}

/// The conditional Put of a new record for `key`, answering `body` for the request whose
/// parameters have `fingerprint`. It fails (returning the record in the way) when a record that
/// has not expired holds the key.
pub fn put_record(
    table: &str,
    owner: &Principal,
    idempotency_key: &IdempotencyKey,
    fingerprint: &str,
    link_id: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Put, ApiError> {
    let mut item = record_key(owner, idempotency_key);
    item.extend([
        ("fingerprint".into(), s(fingerprint)),
        ("link".into(), s(link_id)),
        ("body".into(), s(body)),
        ("created".into(), time(now)),
        (
            EXPIRES_AT.into(),
            n(now.timestamp() + IDEMPOTENCY_TTL.as_secs() as i64),
        ),
    ]);
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
        .expression_attribute_values(":now", n(now.timestamp()))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(ApiError::internal)
}

/// What a live record says about a new request with the same key: its first answer when the
/// parameters are the same, a 422 when they differ.
pub fn replay(record: &Item, fingerprint: &str) -> Result<String, ApiError> {
    if get_s(record, "fingerprint")? == fingerprint {
        Ok(get_s(record, "body")?.clone())
    } else {
        Err(ApiError::IdempotencyKeyReused(
            "this Idempotency-Key was already used, within the last 24 hours, for a create with \
             other parameters; use a new key for a new request"
                .into(),
        ))
    }
}

/// Whether `record` has outlived [`IDEMPOTENCY_TTL`] at `now` (as `put_record`'s condition
/// decides), though DynamoDB's TTL may not have deleted it yet.
pub fn expired(record: &Item, now: DateTime<Utc>) -> Result<bool, ApiError> {
    let expires_at: i64 = get_n(record, EXPIRES_AT)?
        .ok_or_else(|| ApiError::internal("an idempotency record without expires_at"))?;
    Ok(expires_at < now.timestamp())
}

#[cfg(test)]
mod tests {
    use super::super::item::key;
    use super::*;

    fn record(fingerprint: &str, expires_at: i64) -> Item {
        let mut item = key("ACCT#a#test".into(), "IDEM#x".into());
        item.insert("fingerprint".into(), s(fingerprint));
        item.insert("body".into(), s("{\"object\":\"link\"}"));
        item.insert(EXPIRES_AT.into(), n(expires_at));
        item
    }

    #[test]
    fn the_same_parameters_replay_and_others_are_refused() {
        let r = record("abc", 100);
        assert_eq!(replay(&r, "abc").unwrap(), "{\"object\":\"link\"}");
        let err = replay(&r, "abd").unwrap_err();
        assert_eq!((err.status(), err.code()), (422, "idempotency_key_reused"));
    }

    #[test]
    fn records_are_scoped_to_the_account_and_mode() {
        let key = IdempotencyKey::parse(Some(b"k")).unwrap().unwrap();
        let test = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        let live = Principal {
            livemode: true,
            ..test.clone()
        };
        let a = record_key(&test, &key);
        let b = record_key(&live, &key);
        assert_ne!(a["pk"], b["pk"]);
        assert_eq!(a["sk"], s(format!("IDEM#{}", key.digest())));
    }
}
