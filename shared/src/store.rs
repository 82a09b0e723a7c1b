//! The DynamoDB mapping: one table, every item in it, every request the API makes.
//!
//! # Table layout
//!
//! One table with a string partition key `pk` and a string sort key `sk`, no indexes:
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | link | `ACCT#<account>#<test\|live>` | `LINK#<link id>` | `amount` N, `currency` S, `title` S, `description` S, `multiple` BOOL, `used` BOOL, `created` S (RFC 3339, ms), `payment_token` S, `deleted_at` S?, `used_at` S? |
//! | link counter shard | `ACCT#<account>#<test\|live>` | `COUNT#<0..7>` | `links` N |
//! | account | `ACCOUNT#<account>` | `ACCOUNT` | `created` S |
//! | secret key | `KEY#<sha-256 hex>` | `KEY` | `account_id` S, `livemode` BOOL, `created` S |
//!
//! Why this shape:
//! - A link lives in its owner's partition, so retrieve and destroy address it with the caller's own
//!   account and mode: another account's link, or a test link seen with a live key, is simply not
//!   there. Tenancy needs no extra read and no check that could be forgotten.
//! - Link ids begin with their creation time in fixed-width base 36, so `sk` order is creation
//!   order: a list is one Query on the table itself (strongly consistent, no index lag), and
//!   `from`/`to` become a `BETWEEN` on `sk`.
//! - `total` of an unfiltered list comes from counters incremented in the same transaction that
//!   writes the link, so counting never reads the links. The counter is split into
//!   [`COUNTER_SHARDS`] items so that concurrent creates in one account rarely contend for the same
//!   item; a list reads all shards with one small Query, in parallel with the page's Query.

use crate::auth::{KeyHash, Principal};
use crate::currency::Currency;
use crate::error::ApiError;
use crate::ids;
use crate::model::Link;
use crate::validate::{ListParams, Order};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConsumedCapacity, KeySchemaElement, KeyType,
    Put, ReturnConsumedCapacity, ReturnValue, ScalarAttributeType, Select, TransactWriteItem,
    Update,
};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Duration;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Number of counter items per account and mode.
pub const COUNTER_SHARDS: u32 = 8;
/// Attempts at a create whose transaction collided with a concurrent one.
const CREATE_ATTEMPTS: u32 = 4;

type Item = HashMap<String, AttributeValue>;

/// The DynamoDB client and table, built once per cold start and shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    usage: Arc<Usage>,
    /// Whether DynamoDB is asked for the capacity each request consumed (see [`Store::tracking_usage`]).
    track_usage: bool,
}

/// Read and write capacity consumed through one [`Store`], as DynamoDB reports it
/// (`ReturnConsumedCapacity`). Kept in thousandths of a unit.
#[derive(Debug, Default)]
pub struct Usage {
    milli_units: AtomicU64,
}

impl Usage {
    fn add(&self, consumed: Option<&ConsumedCapacity>) {
        if let Some(units) = consumed.and_then(ConsumedCapacity::capacity_units) {
            self.milli_units
                .fetch_add((units * 1000.0).round() as u64, AtomicOrdering::Relaxed);
        }
    }

    fn add_all(&self, consumed: &[ConsumedCapacity]) {
        consumed.iter().for_each(|c| self.add(Some(c)));
    }

    /// Capacity units consumed so far.
    pub fn capacity_units(&self) -> f64 {
        self.milli_units.load(AtomicOrdering::Relaxed) as f64 / 1000.0
    }
}

/// Maps an SDK failure to the API's error: throttling is a retryable 503, the rest a 500.
fn sdk_error<E, R>(err: SdkError<E, R>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let throttled = matches!(
        err.code(),
        Some(
            "ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
        )
    ) || matches!(
        err,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
    );
    if throttled {
        ApiError::ServiceUnavailable(Box::new(err))
    } else {
        ApiError::Internal(Box::new(err))
    }
}

fn corrupt(what: String) -> ApiError {
    ApiError::Internal(what.into())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn time(at: DateTime<Utc>) -> AttributeValue {
    s(at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn partition(owner: &Principal) -> String {
    partition_of(&owner.account_id, owner.livemode)
}

fn partition_of(account_id: &str, livemode: bool) -> String {
    format!(
        "ACCT#{account_id}#{}",
        if livemode { "live" } else { "test" }
    )
}

fn link_key(owner: &Principal, id: &str) -> Item {
    HashMap::from([
        (PK.into(), s(partition(owner))),
        (SK.into(), s(format!("LINK#{id}"))),
    ])
}

fn counter_key(owner: &Principal, shard: u32) -> Item {
    HashMap::from([
        (PK.into(), s(partition(owner))),
        (SK.into(), s(format!("COUNT#{shard}"))),
    ])
}

impl From<&Link> for Item {
    fn from(link: &Link) -> Self {
        let mut item = HashMap::from([
            (PK.into(), s(partition_of(&link.account_id, link.livemode))),
            (SK.into(), s(format!("LINK#{}", link.id))),
            ("amount".into(), AttributeValue::N(link.amount.to_string())),
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
        item
    }
}

impl TryFrom<&Item> for Link {
    type Error = ApiError;

    fn try_from(item: &Item) -> Result<Self, ApiError> {
        let get_s = |name: &str| -> Result<&String, ApiError> {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| corrupt(format!("link item lacks string attribute {name}")))
        };
        let get_bool = |name: &str| -> Result<bool, ApiError> {
            item.get(name)
                .and_then(|v| v.as_bool().ok().copied())
                .ok_or_else(|| corrupt(format!("link item lacks boolean attribute {name}")))
        };
        let parse_time = |text: &String| -> Result<DateTime<Utc>, ApiError> {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| corrupt(format!("link item has a bad time {text:?}: {e}")))
        };
        let optional_time = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .map(parse_time)
                .transpose()
        };

        let pk = get_s(PK)?;
        let (account_id, livemode) = match pk
            .strip_prefix("ACCT#")
            .and_then(|rest| rest.rsplit_once('#'))
        {
            Some((account, "test")) => (account, false),
            Some((account, "live")) => (account, true),
            _ => return Err(corrupt(format!("link item has a bad pk {pk:?}"))),
        };
        let sk = get_s(SK)?;
        let id = sk
            .strip_prefix("LINK#")
            .ok_or_else(|| corrupt(format!("link item has a bad sk {sk:?}")))?;
        let amount = item
            .get("amount")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| corrupt("link item lacks a numeric amount".into()))?;
        let code = get_s("currency")?;
        Ok(Link {
            id: id.to_owned(),
            account_id: account_id.to_owned(),
            livemode,
            amount,
            currency: Currency::find(code)
                .ok_or_else(|| corrupt(format!("link item has currency {code:?}")))?,
            title: get_s("title")?.clone(),
            description: get_s("description")?.clone(),
            multiple: get_bool("multiple")?,
            used: get_bool("used")?,
            used_at: optional_time("used_at")?,
            deleted_at: optional_time("deleted_at")?,
            created: parse_time(get_s("created")?)?,
            payment_token: get_s("payment_token")?.clone(),
        })
    }
}

/// One page of links and the size of the whole list.
#[derive(Debug)]
pub struct LinkPage {
    pub links: Vec<Link>,
    pub total: u64,
}

/// A freshly created account and its two secret keys, in clear for the one time they are shown.
#[derive(Debug)]
pub struct NewAccount {
    pub account_id: String,
    pub test_key: String,
    pub live_key: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            usage: Arc::default(),
            track_usage: false,
        }
    }

    /// This store, asking DynamoDB for the capacity every request consumes and adding it up in
    /// [`Store::usage`]. For benches and tests: the functions never read it, and asking has a price
    /// (measured on DynamoDB Local: about 30 µs on a 0.8 ms GetItem).
    pub fn tracking_usage(mut self) -> Self {
        self.track_usage = true;
        self
    }

    fn capacity_report(&self) -> ReturnConsumedCapacity {
        if self.track_usage {
            ReturnConsumedCapacity::Total
        } else {
            ReturnConsumedCapacity::None
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Capacity consumed through this store so far; zero unless [`Store::tracking_usage`].
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// Writes a new link and counts it, atomically: one TransactWriteItems.
    ///
    /// Two concurrent creates in one account that pick the same counter shard make DynamoDB cancel
    /// one transaction; it is retried with another shard after a short jittered pause, which is
    /// safe because a cancelled transaction wrote nothing.
    pub async fn insert_link(&self, link: &Link) -> Result<(), ApiError> {
        let owner = Principal {
            account_id: link.account_id.clone(),
            livemode: link.livemode,
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(Item::from(link)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| ApiError::Internal(Box::new(e)))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let shard = random_below(COUNTER_SHARDS);
            let count = Update::builder()
                .table_name(&self.table)
                .set_key(Some(counter_key(&owner, shard)))
                .update_expression("ADD links :one")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .build()
                .map_err(|e| ApiError::Internal(Box::new(e)))?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put.clone()).build())
                .transact_items(TransactWriteItem::builder().update(count).build())
                .return_consumed_capacity(self.capacity_report())
                .send()
                .await;
            match result {
                Ok(out) => {
                    self.usage.add_all(out.consumed_capacity());
                    return Ok(());
                }
                Err(err) if attempt < CREATE_ATTEMPTS && is_transaction_conflict(&err) => {
                    tracing::info!(
                        attempt,
                        "link create collided with a concurrent create; retrying"
                    );
                    let pause = 10 * u64::from(attempt) + u64::from(random_below(20));
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                Err(err) => return Err(sdk_error(err)),
            }
        }
    }

    /// The caller's link `id`, or `None`: one strongly consistent GetItem.
    pub async fn get_link(&self, owner: &Principal, id: &str) -> Result<Option<Link>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(link_key(owner, id)))
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.add(out.consumed_capacity());
        out.item().map(Link::try_from).transpose()
    }

    /// Marks the caller's link `id` deleted at `now` and returns it, or `None` if there is no such
    /// link: one conditional UpdateItem. Destroying a destroyed link changes nothing and returns it
    /// with its original `deleted_at`.
    pub async fn destroy_link(
        &self,
        owner: &Principal,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Link>, ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(link_key(owner, id)))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET deleted_at = if_not_exists(deleted_at, :now)")
            .expression_attribute_values(":now", time(now))
            .return_values(ReturnValue::AllNew)
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage.add(out.consumed_capacity());
                out.attributes().map(Link::try_from).transpose()
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(sdk_error(err)),
        }
    }

    /// One page of the caller's links and the list's `total`, with one round trip of latency: the
    /// page's Query runs in parallel with either the counter read (no `from`/`to` filter: constant
    /// cost, whatever the account's size) or a COUNT Query over the filtered range (cost grows with
    /// the links in that range).
    pub async fn list_links(
        &self,
        owner: &Principal,
        params: &ListParams,
        filtered: bool,
    ) -> Result<LinkPage, ApiError> {
        let pk = partition(owner);
        let prefix = format!("LINK#{}", ids::link_prefix(owner.livemode));
        let (low, high) = if filtered {
            (
                format!(
                    "{prefix}{}",
                    ids::time_prefix(params.from.timestamp_millis())
                ),
                // The whole last second: links are written to the second but stored to the ms.
                format!(
                    "{prefix}{}~",
                    ids::time_prefix(params.to.timestamp() * 1000 + 999)
                ),
            )
        } else {
            (prefix.clone(), format!("{prefix}~"))
        };
        let page = self.query_page(&pk, &low, &high, params);
        let (links, total) = if filtered {
            tokio::try_join!(page, self.count_range(&pk, &low, &high))?
        } else {
            tokio::try_join!(page, self.count_all(owner))?
        };
        Ok(LinkPage { links, total })
    }

    fn range_query(
        &self,
        pk: &str,
        low: &str,
        high: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
    }

    async fn query_page(
        &self,
        pk: &str,
        low: &str,
        high: &str,
        params: &ListParams,
    ) -> Result<Vec<Link>, ApiError> {
        if params.limit == 0 {
            return Ok(Vec::new());
        }
        // The offset is skipped by reading past it: Omise paging is by offset, and DynamoDB has no
        // cheaper way to skip. The cost grows with `offset`, never with the account's size.
        let wanted = params.offset as usize + params.limit as usize;
        let mut items: Vec<Item> = Vec::with_capacity(wanted.min(200));
        let mut start = None;
        loop {
            let out = self
                .range_query(pk, low, high)
                .scan_index_forward(params.order == Order::Chronological)
                .limit(i32::try_from(wanted - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            self.usage.add(out.consumed_capacity());
            start = out.last_evaluated_key;
            items.extend(out.items.unwrap_or_default());
            if items.len() >= wanted || start.is_none() {
                break;
            }
        }
        items
            .iter()
            .skip(params.offset as usize)
            .map(Link::try_from)
            .collect()
    }

    async fn count_range(&self, pk: &str, low: &str, high: &str) -> Result<u64, ApiError> {
        let mut total = 0;
        let mut start = None;
        loop {
            let out = self
                .range_query(pk, low, high)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            self.usage.add(out.consumed_capacity());
            total += u64::try_from(out.count).unwrap_or(0);
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(total);
            }
        }
    }

    /// The sum of the counter shards: one Query over `COUNT#…` in the caller's partition. The
    /// shards are a few bytes each, so the read costs one capacity unit, however many links exist.
    async fn count_all(&self, owner: &Principal) -> Result<u64, ApiError> {
        let out = self
            .range_query(&partition(owner), "COUNT#", "COUNT#~")
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.add(out.consumed_capacity());
        Ok(out
            .items()
            .iter()
            .filter_map(|item| {
                item.get("links")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .sum())
    }

    /// The owner of a secret key, from its hash: one GetItem.
    pub async fn find_key(&self, hash: &KeyHash) -> Result<Option<Principal>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(format!("KEY#{}", hash.to_hex())))
            .key(SK, s("KEY"))
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.add(out.consumed_capacity());
        let Some(item) = out.item else {
            return Ok(None);
        };
        let account_id = item.get("account_id").and_then(|v| v.as_s().ok());
        let livemode = item.get("livemode").and_then(|v| v.as_bool().ok());
        match (account_id, livemode) {
            (Some(account_id), Some(livemode)) => Ok(Some(Principal {
                account_id: account_id.clone(),
                livemode: *livemode,
            })),
            _ => Err(corrupt("key item lacks account_id or livemode".into())),
        }
    }

    /// Creates an account with a test and a live key, atomically. Only the keys' hashes are stored.
    pub async fn create_account(&self, now: DateTime<Utc>) -> Result<NewAccount, ApiError> {
        let account = NewAccount {
            account_id: ids::new_account_id(),
            test_key: ids::new_secret_key(false),
            live_key: ids::new_secret_key(true),
        };
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| ApiError::Internal(Box::new(e)))
        };
        let key_item = |key: &str, livemode: bool| {
            HashMap::from([
                (PK.into(), s(format!("KEY#{}", KeyHash::of(key).to_hex()))),
                (SK.into(), s("KEY")),
                ("account_id".into(), s(account.account_id.clone())),
                ("livemode".into(), AttributeValue::Bool(livemode)),
                ("created".into(), time(now)),
            ])
        };
        let account_item = HashMap::from([
            (PK.into(), s(format!("ACCOUNT#{}", account.account_id))),
            (SK.into(), s("ACCOUNT")),
            ("created".into(), time(now)),
        ]);
        self.client
            .transact_write_items()
            .transact_items(put(account_item)?)
            .transact_items(put(key_item(&account.test_key, false))?)
            .transact_items(put(key_item(&account.live_key, true))?)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(account)
    }

    /// Creates the table as template.yaml defines it (for local runs and tests; deployments get it
    /// from the template). DynamoDB Local makes a table active at once.
    pub async fn create_table(&self) -> Result<(), ApiError> {
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| ApiError::Internal(Box::new(e)))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| ApiError::Internal(Box::new(e)))
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(PK)?)
            .attribute_definitions(attribute(SK)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}

fn is_transaction_conflict<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> bool {
    err.as_service_error()
        .and_then(|e| match e {
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                Some(c.cancellation_reasons().iter().any(|r| r.code() == Some("TransactionConflict")))
            }
            _ => None,
        })
        .unwrap_or(false)
}

fn random_below(n: u32) -> u32 {
    let mut buf = [0u8; 4];
    // Only spreads load; if the random source failed, shard 0 is still correct.
    let _ = getrandom::fill(&mut buf);
    u32::from_le_bytes(buf) % n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::NewLink;

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
        };
        let mut link = Link::new(&owner, new, "2026-11-24T06:47:54.123Z".parse().unwrap());
        link.deleted_at = Some("2026-11-25T00:00:00.5Z".parse().unwrap());
        let item = Item::from(&link);
        assert_eq!(item["pk"], s("ACCT#acct_1#live"));
        assert_eq!(item["created"], s("2026-11-24T06:47:54.123Z"));
        assert_eq!(Link::try_from(&item).unwrap(), link);
    }

    #[test]
    fn a_damaged_item_is_an_error_not_a_panic() {
        let mut item = HashMap::from([(PK.into(), s("ACCT#a#test")), (SK.into(), s("LINK#x"))]);
        assert!(Link::try_from(&item).is_err());
        item.insert(PK.into(), s("nonsense"));
        assert!(Link::try_from(&item).is_err());
    }
}
