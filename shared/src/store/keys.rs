//! Accounts and their secret keys: the lookup every request makes, and the administration that
//! `links-admin` does (create, list, revoke). Only hashes are stored; a key is shown in clear
//! once, when it is created.

use super::item::{Item, corrupt, get_bool, get_s, key, parse_time, s, time};
use super::{Store, sdk_error};
use crate::domain::error::ApiError;
use crate::domain::ids;
use crate::domain::principal::{KeyHash, Principal, key_display};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, SubsecRound, Utc};

/// A freshly created account and its two secret keys, in clear for the one time they are shown.
#[derive(Debug)]
pub struct NewAccount {
    pub account_id: String,
    pub test_key: String,
    pub live_key: String,
}

/// A freshly created key, in clear for the one time it is shown.
#[derive(Debug)]
pub struct NewKey {
    pub id: String,
    pub secret: String,
}

/// What an operator may see of a key: never the secret.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    /// `key_` and the first 16 hex digits of the key's hash: how operators name a key.
    pub id: String,
    pub livemode: bool,
    /// The key's first characters (`skey_test_5ab3`), enough to recognise it.
    pub prefix: String,
    pub created: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn key_id(hash: &KeyHash) -> String {
    format!("key_{}", &hash.to_hex()[..16])
}

fn lookup_key(hash: &KeyHash) -> Item {
    key(format!("KEY#{}", hash.to_hex()), "KEY".into())
}

fn account_key(account_id: &str, sk: String) -> Item {
    key(format!("ACCOUNT#{account_id}"), sk)
}

impl Store {
    /// The owner of a secret key, from its hash: one strongly consistent GetItem. A revoked key has
    /// no lookup item, so it is unknown here.
    pub async fn find_key(&self, hash: &KeyHash) -> Result<Option<Principal>, ApiError> {
        let Some(item) = self.get(lookup_key(hash)).await? else {
            return Ok(None);
        };
        Ok(Some(Principal {
            account_id: get_s(&item, "account_id")?.clone(),
            livemode: get_bool(&item, "livemode")?,
        }))
    }

    /// The two items of a new key: its lookup item and its record in the account's partition.
    fn key_items(
        &self,
        account_id: &str,
        secret: &str,
        livemode: bool,
        now: DateTime<Utc>,
    ) -> Result<[TransactWriteItem; 2], ApiError> {
        let hash = KeyHash::of(secret);
        let mut lookup = lookup_key(&hash);
        lookup.extend([
            ("account_id".into(), s(account_id)),
            ("livemode".into(), AttributeValue::Bool(livemode)),
            ("created".into(), time(now)),
        ]);
        let mut record = account_key(account_id, format!("KEY#{}", hash.to_hex()));
        record.extend([
            ("livemode".into(), AttributeValue::Bool(livemode)),
            ("prefix".into(), s(key_display(secret))),
            ("created".into(), time(now)),
        ]);
        Ok([self.put_new(lookup)?, self.put_new(record)?])
    }

    fn put_new(&self, item: Item) -> Result<TransactWriteItem, ApiError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .map_err(ApiError::internal)
    }

    /// Creates an account with a test and a live key, atomically.
    pub async fn create_account(&self, now: DateTime<Utc>) -> Result<NewAccount, ApiError> {
        let account = NewAccount {
            account_id: ids::new_account_id(),
            test_key: ids::new_secret_key(false),
            live_key: ids::new_secret_key(true),
        };
        let mut account_item = account_key(&account.account_id, "ACCOUNT".into());
        account_item.insert("created".into(), time(now));
        let mut items = vec![self.put_new(account_item)?];
        items.extend(self.key_items(&account.account_id, &account.test_key, false, now)?);
        items.extend(self.key_items(&account.account_id, &account.live_key, true, now)?);
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(account)
    }

    /// Adds a key to an existing account, for rotation: create the new key, move callers to it,
    /// then revoke the old one.
    pub async fn create_key(
        &self,
        account_id: &str,
        livemode: bool,
        now: DateTime<Utc>,
    ) -> Result<NewKey, ApiError> {
        let secret = ids::new_secret_key(livemode);
        let account_exists = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(account_key(account_id, "ACCOUNT".into())))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let mut items = vec![
            TransactWriteItem::builder()
                .condition_check(account_exists)
                .build(),
        ];
        items.extend(self.key_items(account_id, &secret, livemode, now)?);
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(NewKey {
                id: key_id(&KeyHash::of(&secret)),
                secret,
            }),
            Err(err) if is_condition_failure(&err) => {
                Err(ApiError::NotFound(format!("account {account_id}")))
            }
            Err(err) => Err(sdk_error(err)),
        }
    }

    /// Every account's id: a Scan of the whole table, for operators' maintenance only.
    pub async fn account_ids(&self) -> Result<Vec<String>, ApiError> {
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :account")
                .expression_attribute_values(":account", s("ACCOUNT"))
                .projection_expression("pk")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            ids.extend(out.items().iter().filter_map(|item| {
                item.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| pk.strip_prefix("ACCOUNT#"))
                    .map(str::to_owned)
            }));
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(ids);
            }
        }
    }

    /// Every key an account has had, revoked ones included, oldest first.
    pub async fn list_keys(&self, account_id: &str) -> Result<Vec<KeyRecord>, ApiError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :key)")
                .expression_attribute_values(":pk", s(format!("ACCOUNT#{account_id}")))
                .expression_attribute_values(":key", s("KEY#"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in out.items() {
                records.push(key_record(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        records.sort_by_key(|r| r.created);
        Ok(records)
    }

    /// Revokes the account's key `id` (as [`KeyRecord::id`] names it): its lookup item is deleted
    /// and its record marked, atomically. Warm functions may still accept it for as long as they
    /// cache a verified key (`auth::KEY_CACHE_TTL`). Revoking a revoked key changes nothing.
    pub async fn revoke_key(
        &self,
        account_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<KeyRecord, ApiError> {
        // Stored to the millisecond: answer what a later listing will show.
        let now = now.trunc_subsecs(3);
        let unknown = || ApiError::NotFound(format!("key {id} of account {account_id}"));
        let hex_prefix = id
            .strip_prefix("key_")
            .filter(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(unknown)?
            .to_ascii_lowercase();
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :key)")
            .expression_attribute_values(":pk", s(format!("ACCOUNT#{account_id}")))
            .expression_attribute_values(":key", s(format!("KEY#{hex_prefix}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let [item] = out.items() else {
            return Err(unknown());
        };
        let record = key_record(item)?;
        if record.revoked_at.is_some() {
            return Ok(record);
        }
        let sk = get_s(item, "sk")?;
        let hash_hex = sk
            .strip_prefix("KEY#")
            .ok_or_else(|| corrupt(format!("key record has a bad sk {sk:?}")))?;
        let delete_lookup = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("KEY#{hash_hex}"), "KEY".into())))
            .build()
            .map_err(ApiError::internal)?;
        let mark = Update::builder()
            .table_name(&self.table)
            .set_key(Some(account_key(account_id, sk.clone())))
            .update_expression("SET revoked_at = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":now", time(now))
            .build()
            .map_err(ApiError::internal)?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete_lookup).build())
            .transact_items(TransactWriteItem::builder().update(mark).build())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(KeyRecord {
            revoked_at: Some(now),
            ..record
        })
    }
}

fn is_condition_failure<R>(
    err: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}

fn key_record(item: &Item) -> Result<KeyRecord, ApiError> {
    let sk = get_s(item, "sk")?;
    let hash_hex = sk
        .strip_prefix("KEY#")
        .filter(|h| h.len() == 64)
        .ok_or_else(|| corrupt(format!("key record has a bad sk {sk:?}")))?;
    Ok(KeyRecord {
        id: format!("key_{}", &hash_hex[..16]),
        livemode: get_bool(item, "livemode")?,
        prefix: get_s(item, "prefix")?.clone(),
        created: parse_time(get_s(item, "created")?)?,
        revoked_at: item
            .get("revoked_at")
            .and_then(|v| v.as_s().ok())
            .map(|t| parse_time(t))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_named_by_its_hash_never_its_secret() {
        let secret = "skey_test_5ab3zzzzzzzzzzzzzzzzzzzzz";
        let hash = KeyHash::of(secret);
        let id = key_id(&hash);
        assert_eq!(id, format!("key_{}", &hash.to_hex()[..16]));
        assert!(!id.contains("5ab3"));
        let mut item = account_key("acct_1", format!("KEY#{}", hash.to_hex()));
        item.extend([
            ("livemode".into(), AttributeValue::Bool(false)),
            ("prefix".into(), s(key_display(secret))),
            ("created".into(), s("2026-11-24T00:00:00.000Z")),
        ]);
        let record = key_record(&item).unwrap();
        assert_eq!(record.id, id);
        assert_eq!(record.prefix, "skey_test_5ab3");
        assert_eq!(record.revoked_at, None);
        item.insert("revoked_at".into(), s("2026-11-25T00:00:00.000Z"));
        assert!(key_record(&item).unwrap().revoked_at.is_some());
        item.insert("sk".into(), s("KEY#short"));
        assert!(key_record(&item).is_err());
    }
}
