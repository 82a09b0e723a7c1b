//! Webhook endpoints, and the events waiting for endpoints that failed.
//!
//! # Items
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | endpoint | `HOOK#<account>#<mode>` | `HOOK` | `url` S, `secret` B, `previous_secret` B?, `previous_until` S?, `created` S, `updated` S, `pending` N?, `failures` N? |
//! | a waiting event | `HOOK#<account>#<mode>` | `QUEUE#<event id>` | `doc` S (the event as first sent), `queued` S |
//! | a failing endpoint's next try | `HOOKDUE#0` | `<account>#<mode>` | `due` N (ms), `lease` N (ms)? |
//!
//! # How delivery uses them
//!
//! The stream hands each new event to the delivery function, which sends it at once when its
//! endpoint has nothing waiting (`pending` 0). When that first try fails, or something is already
//! waiting, the event joins its endpoint's queue (`QUEUE#<event id>`: event ids sort by time, so
//! the queue is in creation order) and the endpoint gets a "next try" item in the one `HOOKDUE`
//! partition. Every minute the delivery function reads that partition, takes a lease on each
//! endpoint that is due, and works through its queue oldest first: a success removes the event
//! and moves on, a failure puts the next try off by the [`RetrySchedule`]. So one merchant's
//! failing endpoint waits on its own and never holds up another's, and a receiver that was down
//! gets its events, once it is back, in the order they happened.
//!
//! The endpoint partition is written only by the admin tool and the delivery function: the API's
//! functions never touch it, and IAM says so.
//!
//! # Signing secrets at rest
//!
//! `secret` and `previous_secret` are sealed under the stack's KMS key (`crate::sealed`, purpose
//! [`WEBHOOK_SIGNING_SECRET_PURPOSE`], bound to the endpoint's account and mode), so the table,
//! its stream (which carries every endpoint write) and its backups hold nothing that signs. The
//! admin tool seals (it shows the secret once, in clear, to the operator); the delivery function
//! opens, and its IAM role may decrypt that purpose only. Endpoints written before secrets were
//! sealed hold them as strings: they still sign, and `links-admin webhook seal` seals them in
//! place without changing them.
//!
//! [`RetrySchedule`]: crate::domain::webhook::RetrySchedule

use super::item::{Item, corrupt, get_n, get_s, key, n, parse_time, s, time};
use super::{Store, sdk_error};
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use crate::domain::webhook::SigningSecret;
use crate::sealed::{Sealer, Secret};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use base64::Engine;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How long the previous secret still signs after a rotation: a day for the merchant to move
/// their receiver to the new one.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// Bytes of randomness in a signing secret.
const SECRET_BYTES: usize = 32;
/// The partition of the failing endpoints' next tries. One partition: only failing endpoints
/// have an item there, so it stays small; a suffix leaves room to shard it.
const DUE_PARTITION: &str = "HOOKDUE#0";
const ENDPOINT_SK: &str = "HOOK";
/// Logged when a sweep's write finds the endpoint's next try no longer leased to it.
const LEASE_LOST: &str = "a webhook sweep no longer holds the endpoint's next try (its lease \
    ran out and another sweep took it, or the endpoint was removed): left as it is";
/// Attempts at a queue transaction that DynamoDB cancelled for a conflict or throttling.
const QUEUE_ATTEMPTS: u32 = 5;

/// What a signing secret is sealed for: KMS's encryption context names it, and the delivery
/// function's role may decrypt this purpose only.
pub const WEBHOOK_SIGNING_SECRET_PURPOSE: &str = "webhook-signing-secret";

/// A signing secret as the endpoint item holds it. Its `Debug` prints neither form.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredSecret {
    /// Sealed under the KMS key (`secret` B): what every write stores.
    Sealed(Vec<u8>),
    /// The base64 text itself (`secret` S): an endpoint set before secrets were sealed, until
    /// `links-admin webhook seal` seals it.
    Clear(String),
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sealed(_) => "StoredSecret::Sealed(..)",
            Self::Clear(_) => "StoredSecret::Clear(..)",
        })
    }
}

impl StoredSecret {
    fn from_attribute(value: &AttributeValue) -> Option<Self> {
        match value {
            AttributeValue::B(blob) => Some(Self::Sealed(blob.as_ref().to_vec())),
            AttributeValue::S(text) => Some(Self::Clear(text.clone())),
            _ => None,
        }
    }

    fn attribute(&self) -> AttributeValue {
        match self {
            Self::Sealed(bytes) => {
                AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes.clone()))
            }
            Self::Clear(text) => s(text),
        }
    }

    pub fn is_sealed(&self) -> bool {
        matches!(self, Self::Sealed(_))
    }

    /// A secret written before sealing, ready to sign (no KMS call); an error for a sealed one.
    pub fn open_clear(&self) -> Result<SigningSecret, ApiError> {
        match self {
            Self::Clear(text) => SigningSecret::from_base64(text)
                .ok_or_else(|| ApiError::internal("a webhook signing secret is not base64")),
            Self::Sealed(_) => Err(ApiError::internal("a sealed secret opens with its sealer")),
        }
    }

    /// The secret, ready to sign: one KMS `Decrypt` when sealed (the caller keeps what it
    /// opened). `owner` is the endpoint's: a sealed value copied onto another's item does not
    /// open.
    pub async fn open(
        &self,
        owner: &Principal,
        sealer: &Sealer,
    ) -> Result<SigningSecret, ApiError> {
        let text = match self {
            Self::Sealed(bytes) => sealer.open(bytes, &sealed_context(owner)).await?,
            Self::Clear(text) => Secret::new(text.clone()),
        };
        SigningSecret::from_base64(text.expose())
            .ok_or_else(|| ApiError::internal("a webhook signing secret is not base64"))
    }
}

fn sealed_context(owner: &Principal) -> crate::sealed::Context {
    super::settings::sealed_context(owner, WEBHOOK_SIGNING_SECRET_PURPOSE)
}

async fn seal(sealer: &Sealer, owner: &Principal, secret: &str) -> Result<StoredSecret, ApiError> {
    sealer
        .seal(&Secret::new(secret), &sealed_context(owner))
        .await
        .map(StoredSecret::Sealed)
}

/// A merchant's webhook endpoint in one mode. Its `Debug` leaves the secrets out.
#[derive(Clone)]
pub struct WebhookEndpoint {
    pub owner: Principal,
    pub url: String,
    /// The current signing secret.
    secret: StoredSecret,
    /// The secret before the last rotation, and until when it still signs.
    previous: Option<(StoredSecret, DateTime<Utc>)>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Events waiting in the endpoint's queue. Signed: should it ever drift from the queue (a
    /// removal interrupted half-way, say), 0 or below reads as "nothing waits" and the next
    /// sweep that finds the queue empty sets it back to 0.
    pub pending: i64,
    /// Tries in a row that failed, for the oldest waiting event.
    pub failures: u32,
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("owner", &self.owner)
            .field("url", &self.url)
            .field("created", &self.created)
            .field("pending", &self.pending)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl WebhookEndpoint {
    /// Whether events wait for this endpoint, so that a new one must queue behind them.
    pub fn backlogged(&self) -> bool {
        self.pending > 0
    }

    /// The secrets deliveries are signed with at `now`, as stored: the current one, and the
    /// previous one during the day after a rotation.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&StoredSecret> {
        let previous = self
            .previous
            .as_ref()
            .filter(|(_, until)| now < *until)
            .map(|(secret, _)| secret);
        std::iter::once(&self.secret).chain(previous).collect()
    }

    /// Whether every secret the item holds is sealed.
    pub fn sealed(&self) -> bool {
        self.secret.is_sealed() && self.previous.as_ref().is_none_or(|(p, _)| p.is_sealed())
    }

    /// Whether a previous secret still signs at `now`.
    pub fn rotating(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.previous
            .as_ref()
            .map(|(_, until)| *until)
            .filter(|until| now < *until)
    }
}

/// An event waiting for its endpoint.
#[derive(Clone, Debug)]
pub struct Waiting {
    pub event_id: String,
    /// The event's JSON as the stream first carried it: what is sent.
    pub doc: String,
    pub queued: DateTime<Utc>,
}

/// A sweep's hold on one endpoint's next try, from [`Store::lease_webhook`]. Its expiry (to the
/// millisecond) is also its token: a later sweep can only take the endpoint once this has run
/// out, with a later expiry, so a sweep that outlived its lease finds a different value and
/// leaves the next try to the sweep that holds it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    until_ms: i64,
}

/// What was set.
#[derive(Debug)]
pub struct SetWebhook {
    pub endpoint: WebhookEndpoint,
    /// The new signing secret, when the endpoint is new: shown once, to the operator.
    pub new_secret: Option<String>,
}

fn mode(owner: &Principal) -> &'static str {
    if owner.livemode { "live" } else { "test" }
}

fn endpoint_partition(owner: &Principal) -> String {
    format!("HOOK#{}#{}", owner.account_id, mode(owner))
}

fn endpoint_key(owner: &Principal) -> Item {
    key(endpoint_partition(owner), ENDPOINT_SK.into())
}

fn queue_sk(event_id: &str) -> String {
    format!("QUEUE#{event_id}")
}

fn due_key(owner: &Principal) -> Item {
    key(
        DUE_PARTITION.into(),
        format!("{}#{}", owner.account_id, mode(owner)),
    )
}

fn owner_of_due(item: &Item) -> Result<Principal, ApiError> {
    let sk = get_s(item, super::item::SK)?;
    match sk.rsplit_once('#') {
        Some((account, "test")) => Ok(Principal {
            account_id: account.into(),
            livemode: false,
        }),
        Some((account, "live")) => Ok(Principal {
            account_id: account.into(),
            livemode: true,
        }),
        _ => Err(corrupt(format!("webhook due item has a bad sk {sk:?}"))),
    }
}

fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    // A secret must never be predictable: without a working random source there is none.
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An endpoint write conditioned on the secret it read: a failed condition means another
/// operator's write came first, to be read again, not a fault.
fn changed_meanwhile<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    err: SdkError<E, HttpResponse>,
) -> ApiError {
    if err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException") {
        ApiError::BadRequest("the endpoint changed meanwhile; try again".into())
    } else {
        sdk_error(err)
    }
}

fn ms(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp_millis())
}

fn endpoint_from(owner: &Principal, item: &Item) -> Result<WebhookEndpoint, ApiError> {
    let stored = |name| item.get(name).and_then(StoredSecret::from_attribute);
    let until = item.get("previous_until").and_then(|v| v.as_s().ok());
    let previous = match (stored("previous_secret"), until) {
        (Some(secret), Some(until)) => Some((secret, parse_time(until)?)),
        _ => None,
    };
    Ok(WebhookEndpoint {
        owner: owner.clone(),
        url: get_s(item, "url")?.clone(),
        secret: stored("secret")
            .ok_or_else(|| corrupt("webhook endpoint without a secret".into()))?,
        previous,
        created: parse_time(get_s(item, "created")?)?,
        updated: parse_time(get_s(item, "updated")?)?,
        pending: get_n(item, "pending")?.unwrap_or(0),
        failures: get_n(item, "failures")?.unwrap_or(0),
    })
}

impl Store {
    /// Sets `owner`'s endpoint to `url` (already checked with `validate::parse_endpoint`). A new
    /// endpoint gets a new signing secret, sealed with `sealer`; an existing one keeps its
    /// secret and its queue.
    pub async fn set_webhook(
        &self,
        owner: &Principal,
        url: &str,
        now: DateTime<Utc>,
        sealer: &Sealer,
    ) -> Result<SetWebhook, ApiError> {
        let secret = new_secret();
        let sealed = seal(sealer, owner, &secret).await?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .update_expression(
                "SET #url = :url, updated = :now, created = if_not_exists(created, :now), \
                 secret = if_not_exists(secret, :secret)",
            )
            .expression_attribute_names("#url", "url")
            .expression_attribute_values(":url", s(url))
            .expression_attribute_values(":now", time(now))
            .expression_attribute_values(":secret", sealed.attribute())
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_error)?;
        let item = out
            .attributes
            .ok_or_else(|| ApiError::internal("UpdateItem returned no endpoint"))?;
        let endpoint = endpoint_from(owner, &item)?;
        let new_secret = (endpoint.secret == sealed).then_some(secret);
        Ok(SetWebhook {
            endpoint,
            new_secret,
        })
    }

    /// Gives `owner`'s endpoint a new secret; the old one keeps signing beside it for
    /// [`ROTATION_OVERLAP`]. Returns the new secret, or `None` when there is no endpoint.
    pub async fn rotate_webhook_secret(
        &self,
        owner: &Principal,
        now: DateTime<Utc>,
        sealer: &Sealer,
    ) -> Result<Option<String>, ApiError> {
        let Some(endpoint) = self.get_webhook(owner).await? else {
            return Ok(None);
        };
        let secret = new_secret();
        let sealed = seal(sealer, owner, &secret).await?;
        // A clear previous secret (an endpoint set before sealing) is sealed as it moves over.
        let old = match &endpoint.secret {
            StoredSecret::Clear(text) => seal(sealer, owner, text).await?,
            sealed => sealed.clone(),
        };
        let until =
            now + chrono::Duration::from_std(ROTATION_OVERLAP).map_err(ApiError::internal)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            // Against a concurrent rotation: each rotation replaces the secret it read.
            .condition_expression("secret = :old")
            .update_expression(
                "SET secret = :new, previous_secret = :previous, previous_until = :until, \
                 updated = :now",
            )
            .expression_attribute_values(":new", sealed.attribute())
            .expression_attribute_values(":old", endpoint.secret.attribute())
            .expression_attribute_values(":previous", old.attribute())
            .expression_attribute_values(":until", time(until))
            .expression_attribute_values(":now", time(now))
            .send()
            .await;
        result.map_err(changed_meanwhile)?;
        Ok(Some(secret))
    }

    /// Seals, in place and unchanged, the secrets of an endpoint set before secrets were sealed.
    /// `Ok(None)` when there is no endpoint, `Ok(Some(false))` when nothing was in clear.
    pub async fn seal_webhook_secrets(
        &self,
        owner: &Principal,
        now: DateTime<Utc>,
        sealer: &Sealer,
    ) -> Result<Option<bool>, ApiError> {
        let Some(endpoint) = self.get_webhook(owner).await? else {
            return Ok(None);
        };
        if endpoint.sealed() {
            return Ok(Some(false));
        }
        let sealed = |stored: &StoredSecret| {
            let stored = stored.clone();
            async move {
                match stored {
                    StoredSecret::Clear(text) => seal(sealer, owner, &text).await,
                    already => Ok(already),
                }
            }
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .expression_attribute_values(":old", endpoint.secret.attribute())
            .expression_attribute_values(":new", sealed(&endpoint.secret).await?.attribute())
            .expression_attribute_values(":now", time(now));
        // Against a rotation meanwhile: only the values read are replaced.
        let (expression, condition) = match &endpoint.previous {
            Some((previous, _)) => {
                update = update
                    .expression_attribute_values(":old_previous", previous.attribute())
                    .expression_attribute_values(":previous", sealed(previous).await?.attribute());
                (
                    "SET secret = :new, previous_secret = :previous, updated = :now",
                    "secret = :old AND previous_secret = :old_previous",
                )
            }
            None => ("SET secret = :new, updated = :now", "secret = :old"),
        };
        update
            .update_expression(expression)
            .condition_expression(condition)
            .send()
            .await
            .map_err(changed_meanwhile)?;
        Ok(Some(true))
    }

    /// `owner`'s endpoint, or `None`: one strongly consistent GetItem.
    pub async fn get_webhook(
        &self,
        owner: &Principal,
    ) -> Result<Option<WebhookEndpoint>, ApiError> {
        self.get(endpoint_key(owner))
            .await?
            .map(|item| endpoint_from(owner, &item))
            .transpose()
    }

    /// Removes `owner`'s endpoint, its waiting events and its next try. The events themselves
    /// stay (`GET /events`), with the deliveries they had. Returns whether there was one.
    ///
    /// The endpoint goes first: queueing is conditioned on it, so nothing can join the queue
    /// once it is gone, and the queue is then emptied. (Emptied queue first, an event queued in
    /// between would outlive the endpoint.)
    pub async fn remove_webhook(&self, owner: &Principal) -> Result<bool, ApiError> {
        let removed = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_error)?;
        loop {
            let (_, waiting) = self.webhook_queue(owner, 25).await?;
            if waiting.is_empty() {
                break;
            }
            for w in waiting {
                self.drop_waiting(owner, &w.event_id).await?;
            }
        }
        // Whoever holds it: the endpoint is gone.
        self.forget_due(owner, None).await?;
        Ok(removed.attributes.is_some())
    }

    /// Deletes the waiting event `event_id` of an endpoint that is gone: a removal's own work,
    /// or what a sweep does with the leftovers of a removal that was interrupted.
    pub async fn drop_waiting(&self, owner: &Principal, event_id: &str) -> Result<(), ApiError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(endpoint_partition(owner), queue_sk(event_id))))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// One `TransactWriteItems` of `items`, tried again (with growing, jittered pauses) while
    /// DynamoDB cancels it for a conflict with a concurrent one or for throttling: the stream's
    /// handler and a sweep write the same endpoint and next-try items. `Ok(Some(i))` when the
    /// condition of watched item `i` failed, which cancels the whole transaction.
    async fn transact(
        &self,
        what: &'static str,
        items: Vec<TransactWriteItem>,
        watched: &[usize],
    ) -> Result<Option<usize>, ApiError> {
        let failed = self
            .transact_with(what, QUEUE_ATTEMPTS, watched, || Ok(items.clone()))
            .await?;
        Ok(failed.map(|(index, _)| index))
    }

    /// Puts `event_id` in `owner`'s queue, to be tried at `due` unless a try is already due
    /// sooner, with `failed` true when it was just tried and failed (the endpoint's first
    /// failure in a row). One transaction: the waiting event (only if not already there, so a
    /// stream record handled twice queues once), the endpoint's count, and its next try.
    /// Returns false when nothing was queued: no endpoint any more, or already queued.
    pub async fn queue_event(
        &self,
        owner: &Principal,
        event_id: &str,
        doc: &str,
        due: DateTime<Utc>,
        failed: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let mut waiting = key(endpoint_partition(owner), queue_sk(event_id));
        waiting.extend([("doc".into(), s(doc)), ("queued".into(), time(now))]);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(waiting))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .update_expression("ADD pending :one, failures :failed")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":failed", n(u32::from(failed)))
            .build()
            .map_err(ApiError::internal)?;
        let next = Update::builder()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)))
            .update_expression("SET due = if_not_exists(due, :due)")
            .expression_attribute_values(":due", ms(due))
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(count).build(),
            TransactWriteItem::builder().update(next).build(),
        ];
        Ok(self
            .transact("webhook queue", items, &[0, 1])
            .await?
            .is_none())
    }

    /// The endpoints whose next try is due at `now` and not leased by another sweep.
    pub async fn due_webhooks(&self, now: DateTime<Utc>) -> Result<Vec<Principal>, ApiError> {
        let mut owners = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .filter_expression("due <= :now AND (attribute_not_exists(lease) OR lease < :now)")
                .expression_attribute_values(":pk", s(DUE_PARTITION))
                .expression_attribute_values(":now", ms(now))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .return_consumed_capacity(self.capacity_report())
                .send()
                .await
                .map_err(sdk_error)?;
            self.usage.read(out.consumed_capacity());
            for item in out.items() {
                owners.push(owner_of_due(item)?);
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(owners),
            }
        }
    }

    /// Takes `owner`'s due try for this sweep until `until`, so that overlapping sweeps never
    /// send one endpoint's events side by side (which would break their order). `None` when
    /// another sweep holds it or it is no longer due.
    pub async fn lease_webhook(
        &self,
        owner: &Principal,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Lease>, ApiError> {
        let lease = Lease {
            until_ms: until.timestamp_millis(),
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)))
            .update_expression("SET lease = :until")
            .condition_expression("due <= :now AND (attribute_not_exists(lease) OR lease < :now)")
            .expression_attribute_values(":now", ms(now))
            .expression_attribute_values(":until", n(lease.until_ms))
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage.write(out.consumed_capacity());
                Ok(Some(lease))
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

    /// `owner`'s endpoint and its oldest `limit` waiting events, oldest first: one Query (the
    /// endpoint's sort key, `HOOK`, sorts before `QUEUE#`).
    pub async fn webhook_queue(
        &self,
        owner: &Principal,
        limit: usize,
    ) -> Result<(Option<WebhookEndpoint>, Vec<Waiting>), ApiError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(endpoint_partition(owner)))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.read(out.consumed_capacity());
        let mut endpoint = None;
        let mut waiting = Vec::new();
        for item in out.items() {
            let sk = get_s(item, super::item::SK)?;
            if sk == ENDPOINT_SK {
                endpoint = Some(endpoint_from(owner, item)?);
            } else if let Some(event_id) = sk.strip_prefix("QUEUE#") {
                waiting.push(Waiting {
                    event_id: event_id.to_owned(),
                    doc: get_s(item, "doc")?.clone(),
                    queued: parse_time(get_s(item, "queued")?)?,
                });
            }
        }
        waiting.truncate(limit);
        Ok((endpoint, waiting))
    }

    /// Takes `event_id` out of `owner`'s queue (delivered, or given up) and clears the
    /// endpoint's failures: one transaction, so the count always matches the queue.
    pub async fn dequeue_event(&self, owner: &Principal, event_id: &str) -> Result<(), ApiError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(endpoint_partition(owner), queue_sk(event_id))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .update_expression("ADD pending :minus_one SET failures = :zero")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        // A failed condition: already taken out (by a sweep whose lease ran out), or the
        // endpoint removed. Either way it is out of the queue.
        self.transact("webhook dequeue", items, &[0, 1]).await?;
        Ok(())
    }

    /// Records that the oldest waiting event failed again (`failures` in a row now) and puts
    /// `owner`'s next try at `due`, releasing the sweep's `lease`. A sweep that no longer holds
    /// the lease writes nothing: the count and the next try are the holder's.
    pub async fn delay_webhook(
        &self,
        owner: &Principal,
        lease: Lease,
        failures: u32,
        due: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let endpoint = Update::builder()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .update_expression("SET failures = :failures")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":failures", n(failures))
            .build()
            .map_err(ApiError::internal)?;
        let next = Update::builder()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)))
            .update_expression("SET due = :due REMOVE lease")
            .condition_expression("lease = :lease")
            .expression_attribute_values(":due", ms(due))
            .expression_attribute_values(":lease", n(lease.until_ms))
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            TransactWriteItem::builder().update(endpoint).build(),
            TransactWriteItem::builder().update(next).build(),
        ];
        match self.transact("webhook delay", items, &[1, 0]).await? {
            Some(1) => {
                tracing::warn!("{}", LEASE_LOST);
                Ok(())
            }
            // The endpoint was removed meanwhile: its next try goes with it.
            Some(_) => self.forget_due(owner, Some(lease)).await,
            None => Ok(()),
        }
    }

    /// Ends a sweep of `owner` whose queue it found empty (a strongly consistent read), with
    /// the endpoint's count as the sweep read it, `pending`: the count is set back to 0 (should
    /// it have drifted) and the next try goes, unless an event was queued meanwhile (the count
    /// changed), in which case the next try stays, due now.
    pub async fn finish_webhook(
        &self,
        owner: &Principal,
        lease: Lease,
        pending: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let endpoint = match pending {
            // Conditioned on the count read with the empty queue: nothing joined since.
            Some(pending) => TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(endpoint_key(owner)))
                        .update_expression("SET pending = :zero")
                        .condition_expression(if pending == 0 {
                            // An endpoint that never queued anything has no count yet.
                            "attribute_exists(pk) AND (attribute_not_exists(pending) OR pending = :read)"
                        } else {
                            "attribute_exists(pk) AND pending = :read"
                        })
                        .expression_attribute_values(":zero", n(0))
                        .expression_attribute_values(":read", n(pending))
                        .build()
                        .map_err(ApiError::internal)?,
                )
                .build(),
            // No endpoint when the sweep looked: still none.
            None => TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(endpoint_key(owner)))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(ApiError::internal)?,
                )
                .build(),
        };
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)))
            .condition_expression("lease = :lease")
            .expression_attribute_values(":lease", n(lease.until_ms))
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            endpoint,
            TransactWriteItem::builder().delete(delete).build(),
        ];
        match self.transact("webhook finish", items, &[1, 0]).await? {
            Some(1) => {
                tracing::warn!("{}", LEASE_LOST);
                Ok(())
            }
            Some(_) => self.release_webhook(owner, lease, now).await,
            None => Ok(()),
        }
    }

    /// Leaves `owner`'s next try due at `due` and releases the sweep's `lease`: a sweep that
    /// ran out of time hands the rest to the next one. Nothing, if the lease is no longer this
    /// sweep's.
    pub async fn release_webhook(
        &self,
        owner: &Principal,
        lease: Lease,
        due: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)))
            .update_expression("SET due = :due REMOVE lease")
            .condition_expression("lease = :lease")
            .expression_attribute_values(":due", ms(due))
            .expression_attribute_values(":lease", n(lease.until_ms))
            .send()
            .await;
        lease_kept(result.map(|_| ()))
    }

    /// Drops `owner`'s next try (its endpoint is gone): if `lease` is given, only while this
    /// sweep still holds it.
    async fn forget_due(&self, owner: &Principal, lease: Option<Lease>) -> Result<(), ApiError> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)));
        if let Some(lease) = lease {
            delete = delete
                .condition_expression("lease = :lease")
                .expression_attribute_values(":lease", n(lease.until_ms));
        }
        lease_kept(delete.send().await.map(|_| ()))
    }
}

/// A write conditioned on the sweep's lease: a failed condition means a later sweep holds the
/// endpoint now, and its state is that sweep's to write.
fn lease_kept<E>(result: Result<(), SdkError<E, HttpResponse>>) -> Result<(), ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(()) => Ok(()),
        Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
            tracing::warn!("{}", LEASE_LOST);
            Ok(())
        }
        Err(err) => Err(sdk_error(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(livemode: bool) -> Principal {
        Principal {
            account_id: "acct_1".into(),
            livemode,
        }
    }

    #[test]
    fn partitions_separate_modes_and_the_due_items_name_their_endpoint() {
        assert_eq!(endpoint_partition(&owner(false)), "HOOK#acct_1#test");
        assert_eq!(endpoint_partition(&owner(true)), "HOOK#acct_1#live");
        for livemode in [false, true] {
            let due = due_key(&owner(livemode));
            assert_eq!(due["pk"], s("HOOKDUE#0"));
            assert_eq!(owner_of_due(&due).unwrap(), owner(livemode));
        }
        assert!(owner_of_due(&key("HOOKDUE#0".into(), "acct_1#neither".into())).is_err());
        assert!(
            ENDPOINT_SK < "QUEUE#",
            "the endpoint reads before its queue"
        );
    }

    #[test]
    fn secrets_are_fresh_32_byte_base64_and_sign_during_the_overlap_only() {
        let a = new_secret();
        assert_ne!(a, new_secret());
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&a)
                .unwrap()
                .len(),
            32
        );
        let now = Utc::now();
        let sealed = StoredSecret::Sealed(vec![1, 2, 3]);
        let mut endpoint = WebhookEndpoint {
            owner: owner(false),
            url: "https://shop.example/hooks".into(),
            secret: sealed.clone(),
            previous: None,
            created: now,
            updated: now,
            pending: 0,
            failures: 0,
        };
        assert_eq!(endpoint.signing_secrets(now), vec![&sealed]);
        assert!(endpoint.sealed());
        let until = now + chrono::Duration::hours(24);
        let clear = StoredSecret::Clear(a.clone());
        endpoint.previous = Some((clear.clone(), until));
        assert!(!endpoint.sealed(), "a clear previous secret is not sealed");
        assert!(
            !format!("{endpoint:?}{clear:?}").contains(&a),
            "Debug leaves the secrets out"
        );
        assert_eq!(
            endpoint.signing_secrets(now),
            vec![&sealed, &clear],
            "the current secret signs first, the previous one during the overlap"
        );
        assert_eq!(endpoint.rotating(now), Some(until));
        assert_eq!(endpoint.signing_secrets(until), vec![&sealed]);
        assert_eq!(endpoint.rotating(until), None);
    }

    #[test]
    fn stored_secrets_keep_their_attribute_type() {
        let sealed = StoredSecret::Sealed(vec![9, 8, 7]);
        let clear = StoredSecret::Clear("c2VjcmV0".into());
        assert!(matches!(sealed.attribute(), AttributeValue::B(_)));
        assert!(matches!(clear.attribute(), AttributeValue::S(_)));
        for stored in [sealed, clear] {
            assert_eq!(
                StoredSecret::from_attribute(&stored.attribute()),
                Some(stored)
            );
        }
        assert_eq!(StoredSecret::from_attribute(&n(1)), None);
    }
}
