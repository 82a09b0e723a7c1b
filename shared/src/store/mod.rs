//! The storage layer: one DynamoDB table, every item in it, every request the API makes. It
//! speaks domain types (`Link`, `Principal`, `ListQuery`) and returns [`ApiError`]s, never SDK
//! types.
//!
//! # Table layout
//!
//! One table with a string partition key `pk` and a string sort key `sk`, no indexes:
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | link | `ACCT#<account>#<mode>` | `LINK#<link id>` | `amount` N, `currency` S, `title` S, `description` S, `multiple` BOOL, `used` BOOL, `created` S (RFC 3339, ms), `payment_token` S, `deleted_at` S?, `used_at` S?, `charge_count` N? |
//! | link count shard (`<s>` = 0–7) | `ACCT#<account>#<mode>` | `COUNT#LINK#<s>` | `count` N |
//! | links per hour of a day, a shard | `ACCT#<account>#<mode>` | `DAY#LINK#<yyyy-mm-dd>#<s>` | `h00`…`h23` N |
//! | idempotency record | `ACCT#<account>#<mode>` | `IDEM#<sha-256 of the key>` | `fingerprint` S, `body` S, `link` S, `expires_at` N |
//! | payment page token | `PAY#<token>` | `PAY` | `account_id` S, `livemode` BOOL, `link_id` S |
//! | charge | `ACCT#<account>#<mode>` | `CHRG#<charge id>` | `doc` S (the charge, JSON), `link` S |
//! | charge count shard, hours | `ACCT#<account>#<mode>` | `COUNT#CHRG#<s>`, `DAY#CHRG#<yyyy-mm-dd>#<s>` | as for links |
//! | payment attempt | `ACCT#<account>#<mode>` | `ATTEMPT#<sha-256 of token and attempt key>` | `charge` S, `expires_at` N |
//! | a link's charge (copy) | `LINKCHRG#<account>#<mode>#<link id>` | `CHRG#<charge id>` | as the charge |
//! | a link's charge counters | `LINKCHRG#<account>#<mode>#<link id>` | `COUNT#CHRG#<s>`, `DAY#CHRG#…` | as for links |
//! | list anchor | `ANCHOR#<account>#<mode>` | `LINK#<from ms>#<position>` | `at` S, `expires_at` N |
//! | event | `ACCT#<account>#<mode>` | `EVNT#<event id>` | `doc` S (the event, JSON), `deliveries` L of S? |
//! | event count shard, hours | `ACCT#<account>#<mode>` | `COUNT#EVNT#<s>`, `DAY#EVNT#<yyyy-mm-dd>#<s>` | as for links |
//! | webhook endpoint, its waiting events | `HOOK#<account>#<mode>` | `HOOK`, `QUEUE#<event id>` | see [`webhooks`] |
//! | a failing endpoint's next try | `HOOKDUE#0` | `<account>#<mode>` | `due` N, `lease` N? |
//! | account | `ACCOUNT#<account>` | `ACCOUNT` | `created` S |
//! | an account's key | `ACCOUNT#<account>` | `KEY#<sha-256 hex>` | `livemode` BOOL, `prefix` S, `created` S, `revoked_at` S? |
//! | secret key lookup | `KEY#<sha-256 hex>` | `KEY` | `account_id` S, `livemode` BOOL, `created` S |
//!
//! `<mode>` is `test` or `live`. Why this shape:
//! - A link lives in its owner's partition, so retrieve and destroy address it with the caller's
//!   own account and mode: another account's link, or a test link seen with a live key, is simply
//!   not there. Tenancy needs no extra read and no check that could be forgotten.
//! - Link ids begin with their creation time in fixed-width base 36, so `sk` order is creation
//!   order: a list is a Query on the table itself (strongly consistent, no index lag), and
//!   `from`/`to` become a `BETWEEN` on `sk`. [`collection`] holds the list machinery (totals from
//!   counters, paging at any depth) that charges and events will reuse.
//! - The partition-key prefixes separate what each function may touch, so IAM can grant by
//!   prefix (`dynamodb:LeadingKeys`): the list function writes anchors and nothing else.
//! - `expires_at` is the table's time-to-live attribute: idempotency records and anchors expire.
//!
//! - The payment page finds its link through the token's item (the token is the only thing in a
//!   `payment_uri`), and a charge is written twice in its transaction: under the account for
//!   `GET /charges`, and under its link for `GET /links/{id}/charges`, each a collection of its
//!   own (see [`charges`]).
//!
//! - Events live beside what they report (`EVNT#<event id>` in the account partition) and are
//!   written in the same transactions: see [`events`]. Webhook endpoints and their delivery
//!   queues have partitions of their own: see [`webhooks`].

mod attempts;
mod charges;
mod client;
pub mod collection;
mod counters;
pub mod events;
mod idempotency;
pub mod item;
mod keys;
pub mod ledger;
pub mod limits;
mod links;
pub mod refunds;
pub mod settings;
mod table;
pub mod webhooks;

pub use attempts::{Begin, DUE_SHARDS, Due, DueKind, PAY_ATTEMPTS, Settled};
pub use charges::{ChargePage, PageTarget, PaymentReads};
pub use client::{
    AMAZON_TRUST_SERVICES_ROOTS, ATTEMPT_TIMEOUT, MAX_ATTEMPTS, OPERATION_TIMEOUT, TrustRoots,
    http_client, lambda_client, operator_client, resilience,
};
pub use collection::{ANCHOR_TTL, SETTLE};
pub use events::{EventPage, MAX_RECORDED_DELIVERIES, StoredEvent};
pub use idempotency::IDEMPOTENCY_TTL;
pub use item::{PK, SK};
pub use keys::{KeyRecord, NewAccount, NewKey};
pub use links::{CREATE_ATTEMPTS, CreateOutcome, LinkPage};
pub use webhooks::{
    Lease, ROTATION_OVERLAP, SetWebhook, StoredSecret, WEBHOOK_SIGNING_SECRET_PURPOSE, Waiting,
    WebhookEndpoint,
};

use crate::domain::error::ApiError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
/// (`ReturnConsumedCapacity`), and the transactions that had to be retried. Capacity is kept in
/// thousandths of a unit.
#[derive(Debug, Default)]
pub struct Usage {
    read_milli_units: AtomicU64,
    write_milli_units: AtomicU64,
    transaction_retries: AtomicU64,
}

fn milli_units(consumed: Option<&ConsumedCapacity>) -> u64 {
    consumed
        .and_then(ConsumedCapacity::capacity_units)
        .map_or(0, |units| (units * 1000.0).round() as u64)
}

impl Usage {
    fn read(&self, consumed: Option<&ConsumedCapacity>) {
        self.read_milli_units
            .fetch_add(milli_units(consumed), Ordering::Relaxed);
    }

    fn write(&self, consumed: Option<&ConsumedCapacity>) {
        self.write_milli_units
            .fetch_add(milli_units(consumed), Ordering::Relaxed);
    }

    fn write_all(&self, consumed: &[ConsumedCapacity]) {
        consumed.iter().for_each(|c| self.write(Some(c)));
    }

    /// Read capacity units consumed so far; zero unless [`Store::tracking_usage`].
    pub fn read_units(&self) -> f64 {
        self.read_milli_units.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Write capacity units consumed so far; zero unless [`Store::tracking_usage`].
    pub fn write_units(&self) -> f64 {
        self.write_milli_units.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Read and write capacity units together.
    pub fn capacity_units(&self) -> f64 {
        self.read_units() + self.write_units()
    }

    /// Transactions (creates and payments) retried after DynamoDB cancelled them for a conflict
    /// or throttling.
    pub fn transaction_retries(&self) -> u64 {
        self.transaction_retries.load(Ordering::Relaxed)
    }
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

    /// What this store has consumed and retried so far.
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// The item at `key`, or `None`: one strongly consistent GetItem, its capacity counted.
    pub(crate) async fn get(&self, key: item::Item) -> Result<Option<item::Item>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.read(out.consumed_capacity());
        Ok(out.item)
    }

    /// One `TransactWriteItems` of the items `build` makes (afresh for each try, so that a
    /// member created in it takes a fresh id and time: see `collection::SETTLE`), tried again
    /// with growing, jittered pauses while DynamoDB cancels it for a conflict with a concurrent
    /// one or for throttling, up to `tries` times (then 503). `Ok(None)` when it committed;
    /// `Ok(Some((i, item)))` when the condition of watched item `i` failed (with the item as it
    /// was, where its write asked for it), which cancels the whole transaction. `watched` is in
    /// the order the caller wants failures looked at.
    pub(crate) async fn transact_with(
        &self,
        what: &'static str,
        tries: u32,
        watched: &[usize],
        mut build: impl FnMut() -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, ApiError>,
    ) -> Result<Option<(usize, Option<item::Item>)>, ApiError> {
        let mut round = 0;
        loop {
            round += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(build()?))
                .return_consumed_capacity(self.capacity_report())
                .send()
                .await;
            let err = match result {
                Ok(out) => {
                    self.usage.write_all(out.consumed_capacity());
                    return Ok(None);
                }
                Err(err) => err,
            };
            match cancellation(&err, watched) {
                Cancellation::ConditionFailed { index, item } => return Ok(Some((index, item))),
                Cancellation::Transient if round < tries => {
                    self.pause_before_retry(what, round, 20).await;
                }
                Cancellation::Transient => return Err(ApiError::ServiceUnavailable(Box::new(err))),
                Cancellation::Other => return Err(sdk_error(err)),
            }
        }
    }

    /// The items at `keys`, in their order (`None` where there is none): strongly consistent
    /// `BatchGetItem`s of at most 100 keys, side by side, asked again for any keys DynamoDB
    /// leaves unprocessed (at most three times, then 503). One round trip as a rule.
    pub(crate) async fn get_many(
        &self,
        keys: Vec<item::Item>,
    ) -> Result<Vec<Option<item::Item>>, ApiError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let name = |item: &item::Item| -> Option<(String, String)> {
            Some((
                item.get(item::PK)?.as_s().ok()?.clone(),
                item.get(item::SK)?.as_s().ok()?.clone(),
            ))
        };
        let mut found: std::collections::HashMap<(String, String), item::Item> =
            std::collections::HashMap::new();
        let mut pending: Vec<item::Item> = {
            // BatchGetItem refuses a key asked twice.
            let mut seen = std::collections::HashSet::new();
            keys.iter()
                .filter(|k| name(k).is_some_and(|n| seen.insert(n)))
                .cloned()
                .collect()
        };
        for _ in 0..4 {
            if pending.is_empty() {
                break;
            }
            let batches = pending.chunks(100).map(|chunk| {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(ApiError::internal);
                async move {
                    let out = self
                        .client
                        .batch_get_item()
                        .request_items(&self.table, request?)
                        .return_consumed_capacity(self.capacity_report())
                        .send()
                        .await
                        .map_err(sdk_error)?;
                    out.consumed_capacity()
                        .iter()
                        .for_each(|c| self.usage.read(Some(c)));
                    Ok::<_, ApiError>(out)
                }
            });
            let outs = futures_util::future::try_join_all(batches).await?;
            pending = Vec::new();
            for out in outs {
                if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                    for item in items {
                        if let Some(n) = name(item) {
                            found.insert(n, item.clone());
                        }
                    }
                }
                if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                    pending.extend(left.keys().iter().cloned());
                }
            }
        }
        if !pending.is_empty() {
            return Err(ApiError::ServiceUnavailable(
                "DynamoDB left keys of a batch read unprocessed".into(),
            ));
        }
        Ok(keys
            .iter()
            .map(|k| name(k).and_then(|n| found.get(&n).cloned()))
            .collect())
    }

    /// The pause before trying a cancelled transaction (`what`) again, for the `round`th time
    /// (from 1): counted, logged, and drawn from [`backoff_window`]. Jitter spreads the retries
    /// of writers that collided, so that they do not collide again in step.
    async fn pause_before_retry(&self, what: &'static str, round: u32, first_ms: u32) {
        self.usage
            .transaction_retries
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            round,
            "{what} cancelled by a conflict or throttling; retrying"
        );
        let window = backoff_window(round, first_ms);
        let pause = pick(window, random_below);
        tokio::time::sleep(std::time::Duration::from_millis(u64::from(pause))).await;
    }
}

/// The pauses, in milliseconds, to draw from before retry `round` (from 1): between half and all
/// of `first_ms` doubled each round, up to 32 times `first_ms`.
fn backoff_window(round: u32, first_ms: u32) -> std::ops::RangeInclusive<u32> {
    let ceiling = first_ms << (round.max(1) - 1).min(5);
    ceiling / 2..=ceiling
}

/// A number in `window`, given `below(n)`, a number below `n` (random, in use).
fn pick(window: std::ops::RangeInclusive<u32>, below: impl FnOnce(u32) -> u32) -> u32 {
    window.start() + below(window.end() - window.start() + 1)
}

/// Why DynamoDB cancelled a `TransactWriteItems`, as far as a caller that may retry cares.
pub(crate) enum Cancellation {
    /// The condition of the item at `index` failed (the first such of the items the caller
    /// watches), with the item as it was when DynamoDB returns it (`ALL_OLD` on failure).
    ConditionFailed {
        index: usize,
        item: Option<item::Item>,
    },
    /// A conflict with a concurrent transaction, or throttling. A cancelled transaction wrote
    /// nothing, so trying it again is safe.
    Transient,
    /// Anything else, including a failure that is not a cancellation.
    Other,
}

/// Classifies a failed `TransactWriteItems`. `watched` are the indexes of the items whose failed
/// condition the caller answers for itself, in the order it wants them looked at (when several
/// conditions fail, the first watched wins).
pub(crate) fn cancellation(
    err: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>,
    watched: &[usize],
) -> Cancellation {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    else {
        return Cancellation::Other;
    };
    let reasons = cancelled.cancellation_reasons();
    for &index in watched {
        if let Some(reason) = reasons
            .get(index)
            .filter(|r| r.code() == Some("ConditionalCheckFailed"))
        {
            return Cancellation::ConditionFailed {
                index,
                item: reason.item().cloned(),
            };
        }
    }
    let transient = reasons.iter().any(|r| {
        matches!(
            r.code(),
            Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
        )
    });
    if transient {
        Cancellation::Transient
    } else {
        Cancellation::Other
    }
}

/// A random number below `n`, to spread load; never used for anything secret.
pub(crate) fn random_below(n: u32) -> u32 {
    let mut buf = [0u8; 4];
    // Only spreads load; if the random source failed, 0 is still correct.
    let _ = getrandom::fill(&mut buf);
    u32::from_le_bytes(buf) % n
}

/// Error codes DynamoDB answers when it is overloaded or briefly failing: the same request may
/// well succeed a moment later.
fn is_transient_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "TransactionInProgressException"
    )
}

/// Maps an SDK failure to the API's error: anything transient (throttling, a timeout, DynamoDB
/// unreachable or failing) is a retryable 503; the rest is a 500.
pub(crate) fn sdk_error<E>(err: SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        // A 5xx without a code DynamoDB would send (an empty or HTML body from something in
        // between) is as transient as DynamoDB's own.
        SdkError::ServiceError(service) => {
            err.code().is_some_and(is_transient_code) || service.raw().status().is_server_error()
        }
        _ => false,
    };
    if transient {
        ApiError::ServiceUnavailable(Box::new(err))
    } else {
        ApiError::Internal(Box::new(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_adds_up_reported_capacity_to_the_thousandth_of_a_unit() {
        let usage = Usage::default();
        let consumed = |units| ConsumedCapacity::builder().capacity_units(units).build();
        usage.read(Some(&consumed(0.5)));
        usage.read(Some(&consumed(2.0)));
        usage.read(Some(&ConsumedCapacity::builder().build())); // no figure reported
        usage.read(None); // capacity not asked for
        usage.write_all(&[consumed(2.0), consumed(1.25), consumed(0.001)]);
        assert_eq!(usage.read_units(), 2.5);
        assert_eq!(usage.write_units(), 3.251);
        assert_eq!(usage.capacity_units(), 2.5 + 3.251);
    }

    fn cancelled(codes: &[Option<&str>]) -> SdkError<TransactWriteItemsError, ()> {
        use aws_sdk_dynamodb::types::CancellationReason;
        use aws_sdk_dynamodb::types::error::TransactionCanceledException;
        let reasons = codes
            .iter()
            .enumerate()
            .map(|(i, code)| {
                CancellationReason::builder()
                    .set_code(code.map(str::to_owned))
                    .item("i", item::n(i as i64))
                    .build()
            })
            .collect();
        let exception = TransactionCanceledException::builder()
            .set_cancellation_reasons(Some(reasons))
            .build();
        SdkError::service_error(
            TransactWriteItemsError::TransactionCanceledException(exception),
            (),
        )
    }

    fn failed_at(c: Cancellation) -> Option<(usize, Option<item::Item>)> {
        match c {
            Cancellation::ConditionFailed { index, item } => Some((index, item)),
            _ => None,
        }
    }

    #[test]
    fn a_cancellation_names_the_first_watched_item_whose_condition_failed() {
        let (none, failed) = (Some("None"), Some("ConditionalCheckFailed"));
        let err = cancelled(&[failed, none, failed]);
        let (index, item) = failed_at(cancellation(&err, &[2, 0])).unwrap();
        assert_eq!(index, 2);
        assert_eq!(item.unwrap()["i"], item::n(2));
        assert_eq!(failed_at(cancellation(&err, &[0, 2])).unwrap().0, 0);
        // Failed conditions the caller does not watch, or indexes past the reasons, are not its to
        // answer: with no conflict in the transaction that is some other failure.
        assert!(matches!(cancellation(&err, &[1, 7]), Cancellation::Other));
        assert!(matches!(cancellation(&err, &[]), Cancellation::Other));
    }

    #[test]
    fn conflicts_and_throttling_cancel_transiently_unless_a_watched_condition_failed() {
        let failed = Some("ConditionalCheckFailed");
        for code in [
            "TransactionConflict",
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
        ] {
            let err = cancelled(&[Some("None"), Some(code), None]);
            assert!(
                matches!(cancellation(&err, &[0, 2]), Cancellation::Transient),
                "{code}"
            );
            let err = cancelled(&[failed, Some(code)]);
            assert_eq!(failed_at(cancellation(&err, &[0])).unwrap().0, 0, "{code}");
        }
        let err = cancelled(&[Some("ValidationError"), Some("None")]);
        assert!(matches!(cancellation(&err, &[0, 1]), Cancellation::Other));
        let err = SdkError::service_error(
            TransactWriteItemsError::unhandled(std::io::Error::other("boom")),
            (),
        );
        assert!(matches!(cancellation(&err, &[0]), Cancellation::Other));
    }

    #[test]
    fn retry_pauses_double_from_the_first_up_to_32_times_it() {
        assert_eq!(backoff_window(1, 20), 10..=20);
        assert_eq!(backoff_window(2, 20), 20..=40);
        assert_eq!(backoff_window(3, 10), 20..=40);
        assert_eq!(backoff_window(6, 20), 320..=640);
        assert_eq!(backoff_window(40, 20), 320..=640);
        assert_eq!(
            backoff_window(0, 20),
            10..=20,
            "round 0 is taken as the first"
        );
    }

    #[test]
    fn a_pause_is_picked_anywhere_in_its_window_ends_included() {
        assert_eq!(pick(320..=640, |_| 0), 320);
        assert_eq!(pick(320..=640, |n| n - 1), 640);
        assert_eq!(pick(10..=20, |n| n / 2), 15);
    }

    #[test]
    fn random_below_stays_below_its_bound_and_spreads() {
        let draws: std::collections::HashSet<u32> = (0..400).map(|_| random_below(8)).collect();
        assert!(draws.iter().all(|&d| d < 8));
        assert!(draws.len() > 4, "{draws:?}");
        assert_eq!(random_below(1), 0);
    }

    #[test]
    fn overload_codes_are_transient_and_others_are_not() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "InternalServerError",
            "ServiceUnavailable",
            "TransactionInProgressException",
        ] {
            assert!(is_transient_code(code), "{code}");
        }
        for code in [
            "ValidationException",
            "ResourceNotFoundException",
            "ConditionalCheckFailedException",
            "AccessDeniedException",
            "TransactionCanceledException",
        ] {
            assert!(!is_transient_code(code), "{code}");
        }
    }
}
