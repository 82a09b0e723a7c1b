//! Items and keys: how domain values are written into DynamoDB attributes and read back.

use crate::domain::currency::Currency;
use crate::domain::error::ApiError;
use crate::domain::link::{Hold, Link};
use crate::domain::principal::Principal;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashMap;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The attribute DynamoDB's time to live reads (epoch seconds): expired items are deleted by
/// DynamoDB within a day or two, so readers also check it themselves.
pub const EXPIRES_AT: &str = "expires_at";
/// A link's own `expires_at` (the merchant's), stored under another name than the time to live.
pub const LINK_EXPIRES_AT: &str = "link_expires_at";

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A time as stored: RFC 3339 to the millisecond, UTC.
pub fn time(at: DateTime<Utc>) -> AttributeValue {
    s(at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

pub fn corrupt(what: String) -> ApiError {
    ApiError::internal(what)
}

/// The partition holding an account's objects in one mode: `ACCT#<account>#<test|live>`.
pub fn account_partition(owner: &Principal) -> String {
    format!("ACCT#{}#{}", owner.account_id, mode(owner.livemode))
}

/// The partition holding list anchors for an account's mode: `ANCHOR#<account>#<test|live>`. Apart
/// from the objects so that the list function may write anchors and nothing else.
pub fn anchor_partition(owner: &Principal) -> String {
    format!("ANCHOR#{}#{}", owner.account_id, mode(owner.livemode))
}

/// The partition holding copies of the charges made through one link, and their counters:
/// `LINKCHRG#<account>#<test|live>#<link id>`.
pub fn link_charges_partition(owner: &Principal, link_id: &str) -> String {
    format!(
        "LINKCHRG#{}#{}#{link_id}",
        owner.account_id,
        mode(owner.livemode)
    )
}

/// The item that finds a link from its payment page's token: `PAY#<token>`, sort key `PAY`.
pub fn payment_token_key(token: &str) -> Item {
    key(format!("PAY#{token}"), "PAY".into())
}

/// The payment token's item for `link`: who owns the link, and its id.
pub fn payment_token_item(link: &Link) -> Item {
    let mut item = payment_token_key(&link.payment_token);
    item.extend([
        ("account_id".into(), s(link.account_id.clone())),
        ("livemode".into(), AttributeValue::Bool(link.livemode)),
        ("link_id".into(), s(link.id.clone())),
    ]);
    item
}

fn mode(livemode: bool) -> &'static str {
    if livemode { "live" } else { "test" }
}

pub fn key(pk: String, sk: String) -> Item {
    HashMap::from([(PK.into(), s(pk)), (SK.into(), s(sk))])
}

/// A string attribute.
pub fn get_s<'i>(item: &'i Item, name: &str) -> Result<&'i String, ApiError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| corrupt(format!("item lacks string attribute {name}")))
}

/// A number attribute that fits its type, or `None` when absent.
pub fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<Option<T>, ApiError> {
    item.get(name)
        .map(|v| {
            v.as_n()
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| corrupt(format!("item attribute {name} is not a number")))
        })
        .transpose()
}

pub fn get_bool(item: &Item, name: &str) -> Result<bool, ApiError> {
    item.get(name)
        .and_then(|v| v.as_bool().ok().copied())
        .ok_or_else(|| corrupt(format!("item lacks boolean attribute {name}")))
}

pub fn parse_time(text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(format!("item has a bad time {text:?}: {e}")))
}

fn optional_time(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(|t| parse_time(t))
        .transpose()
}

/// A link's sort key: `LINK#<id>`.
pub fn link_sk(id: &str) -> String {
    format!("LINK#{id}")
}

impl From<&Link> for Item {
    fn from(link: &Link) -> Self {
        let owner = Principal {
            account_id: link.account_id.clone(),
            livemode: link.livemode,
        };
        let mut item = key(account_partition(&owner), link_sk(&link.id));
        item.extend([
            ("amount".into(), n(link.amount)),
            ("currency".into(), s(link.currency.code)),
            ("title".into(), s(link.title.clone())),
            ("description".into(), s(link.description.clone())),
            ("multiple".into(), AttributeValue::Bool(link.multiple)),
            ("used".into(), AttributeValue::Bool(link.used)),
            ("created".into(), time(link.created)),
            ("payment_token".into(), s(link.payment_token.clone())),
        ]);
        if let Some(at) = link.deleted_at {
            item.insert("deleted_at".into(), time(at));
        }
        if let Some(at) = link.used_at {
            item.insert("used_at".into(), time(at));
        }
        if link.charge_count > 0 {
            item.insert("charge_count".into(), n(link.charge_count));
        }
        // Not `expires_at`, the table's time-to-live attribute: DynamoDB would delete the
        // link. Fixed-width UTC text (`time`), so that a condition can compare it with now's.
        if let Some(at) = link.expires_at {
            item.insert(LINK_EXPIRES_AT.into(), time(at));
        }
        if let Some(uri) = &link.after_payment_uri {
            item.insert("after_payment_uri".into(), s(uri.clone()));
        }
        // A limited link's counters are written from the start: the condition that takes a
        // place (`places_taken < usage_limit`) is false on a missing attribute.
        if let Some(limit) = link.usage_limit {
            item.insert("usage_limit".into(), n(limit));
            item.insert("usage_count".into(), n(link.usage_count));
            item.insert("places_taken".into(), n(link.places_taken));
        }
        // JSON text: read back exactly as written (numbers, key order, Thai), and never
        // confused with the service's own attributes.
        if let Some(metadata) = &link.metadata {
            item.insert(
                "metadata".into(),
                s(serde_json::Value::Object(metadata.clone()).to_string()),
            );
        }
        if let Some(hold) = &link.hold {
            item.insert("held_by".into(), s(hold.attempt.clone()));
            item.insert("held_until".into(), n(hold.until.timestamp_millis()));
        }
        item
    }
}

impl TryFrom<&Item> for Link {
    type Error = ApiError;

    fn try_from(item: &Item) -> Result<Self, ApiError> {
        let pk = get_s(item, PK)?;
        let (account_id, livemode) = match pk
            .strip_prefix("ACCT#")
            .and_then(|rest| rest.rsplit_once('#'))
        {
            Some((account, "test")) => (account, false),
            Some((account, "live")) => (account, true),
            _ => return Err(corrupt(format!("link item has a bad pk {pk:?}"))),
        };
        let sk = get_s(item, SK)?;
        let id = sk
            .strip_prefix("LINK#")
            .ok_or_else(|| corrupt(format!("link item has a bad sk {sk:?}")))?;
        let amount =
            get_n(item, "amount")?.ok_or_else(|| corrupt("link item lacks an amount".into()))?;
        let code = get_s(item, "currency")?;
        Ok(Link {
            id: id.to_owned(),
            account_id: account_id.to_owned(),
            livemode,
            amount,
            currency: Currency::find(code)
                .ok_or_else(|| corrupt(format!("link item has currency {code:?}")))?,
            title: get_s(item, "title")?.clone(),
            description: get_s(item, "description")?.clone(),
            multiple: get_bool(item, "multiple")?,
            used: get_bool(item, "used")?,
            used_at: optional_time(item, "used_at")?,
            deleted_at: optional_time(item, "deleted_at")?,
            // Links written before payments existed have none.
            charge_count: get_n(item, "charge_count")?.unwrap_or(0),
            created: parse_time(get_s(item, "created")?)?,
            payment_token: get_s(item, "payment_token")?.clone(),
            expires_at: optional_time(item, LINK_EXPIRES_AT)?,
            after_payment_uri: item
                .get("after_payment_uri")
                .map(|v| {
                    v.as_s().cloned().map_err(|_| {
                        corrupt("link item's after_payment_uri is not a string".into())
                    })
                })
                .transpose()?,
            usage_limit: get_n(item, "usage_limit")?,
            usage_count: get_n(item, "usage_count")?.unwrap_or(0),
            places_taken: get_n(item, "places_taken")?.unwrap_or(0),
            metadata: item
                .get("metadata")
                .map(|v| {
                    v.as_s()
                        .ok()
                        .and_then(|text| serde_json::from_str(text).ok())
                        .ok_or_else(|| corrupt("link item's metadata is not a JSON object".into()))
                })
                .transpose()?,
            hold: match (item.get("held_by"), get_n::<i64>(item, "held_until")?) {
                (None, _) => None,
                (Some(by), Some(until)) => Some(Hold {
                    attempt: by
                        .as_s()
                        .map_err(|_| corrupt("link item's held_by is not a string".into()))?
                        .clone(),
                    until: DateTime::from_timestamp_millis(until)
                        .ok_or_else(|| corrupt("link item's held_until is out of range".into()))?,
                }),
                (Some(_), None) => return Err(corrupt("link item is held without a time".into())),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::link::NewLink;

    #[test]
    fn a_link_survives_the_round_trip_through_an_item() {
        let owner = Principal {
            account_id: "acct_1".into(),
            livemode: true,
        };
        let new = NewLink {
            amount: 123_456,
            currency: Currency::find("jpy").unwrap(),
            title: "ทดสอบ 😀".into(),
            description: "line 1\nline 2".into(),
            multiple: true,
            expires_at: Some("2026-12-24T17:00:00Z".parse().unwrap()),
            after_payment_uri: None,
            usage_limit: Some(7),
            metadata: Some(
                serde_json::json!({"order": "A-1", "n": 1.5, "deep": {"ที่": [1, null]}})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        };
        let mut link = Link::new(&owner, &new, "2026-11-24T06:47:54.123Z".parse().unwrap());
        link.deleted_at = Some("2026-11-25T00:00:00.5Z".parse().unwrap());
        link.used = true;
        link.used_at = Some("2026-11-24T23:00:00Z".parse().unwrap());
        let item = Item::from(&link);
        assert_eq!(item["pk"], s("ACCT#acct_1#live"));
        assert_eq!(item["sk"], s(format!("LINK#{}", link.id)));
        assert_eq!(item["created"], s("2026-11-24T06:47:54.123Z"));
        assert_eq!(item["link_expires_at"], s("2026-12-24T17:00:00.000Z"));
        assert!(
            !item.contains_key(EXPIRES_AT),
            "never the table's time to live"
        );
        assert_eq!(Link::try_from(&item).unwrap(), link);
        let test_owner = Principal {
            livemode: false,
            ..owner
        };
        let test_link = Link::new(&test_owner, &new, link.created);
        assert_eq!(Link::try_from(&Item::from(&test_link)).unwrap(), test_link);
    }

    #[test]
    fn a_damaged_item_is_an_error_not_a_panic() {
        let owner = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        let new = NewLink {
            amount: 2000,
            currency: Currency::find("thb").unwrap(),
            title: "t".into(),
            description: "d".into(),
            multiple: false,
            expires_at: None,
            after_payment_uri: None,
            usage_limit: None,
            metadata: None,
        };
        let good = Item::from(&Link::new(&owner, &new, Utc::now()));
        assert!(Link::try_from(&good).is_ok());
        let damaged: Vec<(&str, Option<AttributeValue>)> = vec![
            ("pk", Some(s("nonsense"))),
            ("pk", Some(s("ACCT#a#neither"))),
            ("sk", Some(s("CHRG#x"))),
            ("amount", None),
            ("amount", Some(s("2000"))),
            ("amount", Some(n("20.5"))),
            ("currency", Some(s("xyz"))),
            ("title", None),
            ("multiple", Some(s("true"))),
            ("used", None),
            ("created", Some(s("yesterday"))),
            ("deleted_at", Some(s("not a time"))),
            ("payment_token", None),
            ("metadata", Some(s("[1]"))),
            ("metadata", Some(n(1))),
            ("usage_limit", Some(s("10"))),
        ];
        for (name, value) in damaged {
            let mut item = good.clone();
            match value.clone() {
                Some(v) => item.insert(name.into(), v),
                None => item.remove(name),
            };
            assert!(Link::try_from(&item).is_err(), "{name} = {value:?}");
        }
    }

    #[test]
    fn partitions_separate_accounts_modes_and_anchors() {
        let test = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        let live = Principal {
            livemode: true,
            ..test.clone()
        };
        assert_eq!(account_partition(&test), "ACCT#acct_1#test");
        assert_eq!(account_partition(&live), "ACCT#acct_1#live");
        assert_eq!(anchor_partition(&test), "ANCHOR#acct_1#test");
        assert_eq!(anchor_partition(&live), "ANCHOR#acct_1#live");
    }
}
