//! What the delivery function does with its two inputs: a batch from the table's stream (new
//! events, sent at once) and the schedule's tick (a sweep of the endpoints whose next try is
//! due). See `shared::store::webhooks` for the queue both share.
//!
//! # What a merchant may count on
//!
//! - **At least once.** An event is sent until its endpoint answers 2xx, or for three days
//!   ([`RetrySchedule`]). It may arrive more than once (a lost answer, a stream batch retried),
//!   so receivers dedupe by the event's `id`.
//! - **In order, per account and mode.** An endpoint's events are first sent in the order they
//!   happened: a new event goes straight out only while nothing waits for that endpoint, and
//!   otherwise joins the back of its queue, which is sent oldest first, one at a time, stopping
//!   at the first failure. (A duplicate can still arrive after later events.)
//! - **One merchant's outage holds up no one else's.** Each try has its own short timeout,
//!   endpoints are tried side by side, and a failing endpoint's events wait in its own queue.

use crate::send::Sender;
use futures_util::StreamExt;
use serde_json::{Value, json};
use shared::ApiError;
use shared::chrono::{DateTime, Utc};
use shared::domain::event::{EventKey, WebhookDelivery};
use shared::domain::ids;
use shared::domain::principal::Principal;
use shared::domain::webhook::{RetrySchedule, SigningSecret};
use shared::sealed::Sealer;
use shared::store::{Store, StoredSecret, WebhookEndpoint};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Leftover waiting events of a removed endpoint dropped per query of its queue.
const QUEUE_PAGE: usize = 25;
/// Endpoints a sweep works on side by side.
const SWEEP_CONCURRENCY: usize = 16;
/// Time kept in hand at the end of an invocation for the writes that follow a try.
const MARGIN: Duration = Duration::from_secs(3);

/// Everything the function builds once per cold start.
pub struct Deliverer {
    pub store: Store,
    pub sender: Sender,
    pub schedule: RetrySchedule,
    /// The longest one try may take (the sender's own timeout).
    pub attempt_timeout: Duration,
    pub signing_keys: SigningKeys,
}

/// Opens endpoints' sealed signing secrets, and keeps what it opened for the life of the
/// instance: one KMS `Decrypt` per secret per cold start, not per delivery. Kept by the sealed
/// value itself and its owner, so a rotation (a new sealed value) is opened afresh and a value
/// copied onto another account's endpoint is opened, and refused, for that account.
pub struct SigningKeys {
    sealer: Option<Sealer>,
    opened: Mutex<HashMap<(Principal, Vec<u8>), SigningSecret>>,
}

/// Opened secrets kept at most: a bound on memory, far above one instance's endpoints.
const OPENED_KEPT: usize = 4096;

impl SigningKeys {
    /// `sealer` is `None` only where no secret is sealed (a function without `SECRETS_KMS_KEY`):
    /// then a sealed secret fails to open, and its event waits for a try that can sign it.
    pub fn new(sealer: Option<Sealer>) -> Self {
        Self {
            sealer,
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// `endpoint`'s signing secrets at `now`, opened, the current one first.
    pub async fn open(
        &self,
        endpoint: &WebhookEndpoint,
        now: DateTime<Utc>,
    ) -> Result<Vec<SigningSecret>, ApiError> {
        let mut secrets = Vec::new();
        for stored in endpoint.signing_secrets(now) {
            let StoredSecret::Sealed(bytes) = stored else {
                secrets.push(stored.open_clear()?);
                continue;
            };
            let key = (endpoint.owner.clone(), bytes.clone());
            let kept = self.lock().get(&key).cloned();
            let secret = match kept {
                Some(secret) => secret,
                None => {
                    let sealer = self.sealer.as_ref().ok_or_else(|| {
                        ApiError::internal("a sealed signing secret, and no KMS key to open it")
                    })?;
                    let secret = stored.open(&endpoint.owner, sealer).await?;
                    let mut opened = self.lock();
                    if opened.len() >= OPENED_KEPT {
                        opened.clear();
                    }
                    opened.insert(key, secret.clone());
                    secret
                }
            };
            secrets.push(secret);
        }
        Ok(secrets)
    }

    /// Secrets opened so far (for tests: how many KMS calls were saved).
    pub fn opened(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Principal, Vec<u8>), SigningSecret>> {
        // Nothing panics while holding it; a poisoned map is still a valid map.
        self.opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A new event, as a stream record carries it.
#[derive(Debug, PartialEq)]
pub struct NewEvent {
    pub owner: Principal,
    pub id: String,
    pub doc: String,
    /// The record's sequence number: what a failed record is reported back as.
    pub sequence: String,
}

/// What one stream record is to this function.
#[derive(Debug, PartialEq)]
pub enum Record {
    /// An event was written.
    Event(NewEvent),
    /// Anything else the table's stream carries (links, counters, an event's recorded delivery):
    /// not this function's concern. The deployed mapping filters these out before they cost an
    /// invocation; the check is repeated here for streams without a filter (DynamoDB Local).
    Other,
    /// A record this function cannot read, with its sequence number when it has one.
    Unreadable(Option<String>, String),
}

/// Reads one record of a DynamoDB stream event (Lambda's `Records[]` entry).
pub fn read_record(record: &Value) -> Record {
    let sequence = record["dynamodb"]["SequenceNumber"]
        .as_str()
        .map(str::to_owned);
    if record["eventName"] != "INSERT" {
        return Record::Other;
    }
    let image = &record["dynamodb"]["NewImage"];
    let (Some(pk), Some(sk)) = (image["pk"]["S"].as_str(), image["sk"]["S"].as_str()) else {
        return Record::Unreadable(sequence, "an INSERT without string keys".into());
    };
    let Some(id) = sk.strip_prefix("EVNT#") else {
        return Record::Other;
    };
    let owner = match pk
        .strip_prefix("ACCT#")
        .and_then(|rest| rest.rsplit_once('#'))
    {
        Some((account, "test")) => Principal {
            account_id: account.to_owned(),
            livemode: false,
        },
        Some((account, "live")) => Principal {
            account_id: account.to_owned(),
            livemode: true,
        },
        _ => return Record::Unreadable(sequence, format!("an event under {pk:?}")),
    };
    let (Some(doc), Some(sequence)) = (image["doc"]["S"].as_str(), sequence.clone()) else {
        return Record::Unreadable(sequence, format!("event {id} without its document"));
    };
    if !ids::is_event_id(id, owner.livemode) {
        return Record::Unreadable(Some(sequence), format!("a bad event id {id:?}"));
    }
    Record::Event(NewEvent {
        owner,
        id: id.to_owned(),
        doc: doc.to_owned(),
        sequence,
    })
}

/// What one sweep did, for its log line and for tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub endpoints: usize,
    pub delivered: usize,
    pub failed: usize,
    pub given_up: usize,
}

/// How long one try may take, unless `WEBHOOK_TIMEOUT_SECONDS` says otherwise: long enough for
/// a receiver that does its work before answering, short enough that a batch's tries finish well
/// inside the function's 60 s.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Test-only settings. Each one weakens a protection, so none appears in template.yaml, and the
/// function logs a warning at start when any is set.
pub mod test_settings {
    /// `1` lets endpoints on loopback through (and nothing else non-public): for a test's
    /// receiver on 127.0.0.1.
    pub const ALLOW_LOOPBACK: &str = "WEBHOOK_TEST_ALLOW_LOOPBACK";
    /// A PEM file of certificates trusted beside the system's: a test receiver's own.
    pub const TRUST_PEM: &str = "WEBHOOK_TEST_TRUST_PEM";
    /// A factor for every duration of the retry schedule (1/60 turns its minutes into seconds).
    pub const RETRY_SCALE: &str = "WEBHOOK_TEST_RETRY_SCALE";
}

impl Deliverer {
    /// Builds the function's state from its environment: `TABLE_NAME`, the AWS variables
    /// Lambda sets, `WEBHOOK_TIMEOUT_SECONDS` (optional) and the [`test_settings`].
    pub fn from_env() -> Result<Self, String> {
        use shared::validate::DestinationPolicy;
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let table = var(shared::http::serve::TABLE_NAME_ENV)
            .ok_or_else(|| format!("{} is not set", shared::http::serve::TABLE_NAME_ENV))?;
        let client = shared::store::lambda_client().map_err(|e| e.to_string())?;
        let attempt_timeout = match var("WEBHOOK_TIMEOUT_SECONDS") {
            Some(s) => Duration::from_secs(
                s.parse()
                    .ok()
                    .filter(|s| (1..=30).contains(s))
                    .ok_or("WEBHOOK_TIMEOUT_SECONDS must be 1 to 30")?,
            ),
            None => ATTEMPT_TIMEOUT,
        };
        let policy = DestinationPolicy {
            allow_loopback_for_tests: var(test_settings::ALLOW_LOOPBACK).as_deref() == Some("1"),
            ..DestinationPolicy::DEPLOYED
        };
        let trusted = match var(test_settings::TRUST_PEM) {
            Some(path) => Some(std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?),
            None => None,
        };
        let schedule = match var(test_settings::RETRY_SCALE) {
            Some(f) => RetrySchedule::scaled(
                f.parse()
                    .map_err(|_| format!("{}: not a number", test_settings::RETRY_SCALE))?,
            ),
            None => RetrySchedule::default(),
        };
        if policy.allow_loopback_for_tests
            || trusted.is_some()
            || schedule != RetrySchedule::default()
        {
            tracing::warn!("test-only webhook settings are on: never in a deployment");
        }
        Ok(Self {
            store: Store::new(client, table),
            sender: Sender::new(policy, trusted.as_deref(), attempt_timeout)?,
            schedule,
            attempt_timeout,
            signing_keys: SigningKeys::new(Sealer::from_env()?),
        })
    }

    /// Handles one invocation: a stream batch (answered with the records to retry, as
    /// `ReportBatchItemFailures` asks) or the schedule's tick (answered with what the sweep did).
    pub async fn handle(&self, input: &Value, deadline: Instant) -> Result<Value, ApiError> {
        if let Some(records) = input["Records"].as_array() {
            let failures = self.on_stream(records, deadline).await;
            let failures: Vec<Value> = failures
                .into_iter()
                .map(|sequence| json!({ "itemIdentifier": sequence }))
                .collect();
            return Ok(json!({ "batchItemFailures": failures }));
        }
        if input["detail-type"] == "Scheduled Event" {
            let swept = self.sweep(deadline).await?;
            return Ok(json!({
                "endpoints": swept.endpoints,
                "delivered": swept.delivered,
                "failed": swept.failed,
                "given_up": swept.given_up,
            }));
        }
        Err(ApiError::internal(
            "neither a stream batch nor a scheduled event",
        ))
    }

    /// Sends the batch's new events, each owner's in order and the owners side by side, and
    /// returns the sequence numbers of the records to try again: those whose handling failed
    /// (DynamoDB unavailable, say) and, for an owner, every later one, so its order holds.
    pub async fn on_stream(&self, records: &[Value], deadline: Instant) -> Vec<String> {
        let mut owners: Vec<(Principal, Vec<NewEvent>)> = Vec::new();
        for record in records {
            match read_record(record) {
                Record::Event(event) => {
                    match owners.iter_mut().find(|(owner, _)| *owner == event.owner) {
                        Some((_, events)) => events.push(event),
                        None => owners.push((event.owner.clone(), vec![event])),
                    }
                }
                Record::Other => {}
                // Retrying will not make it readable, and a reported failure would make the
                // mapping send every later record of the batch again (other merchants' events
                // included), ten times: logged as an error for the operator, and passed over.
                Record::Unreadable(sequence, why) => {
                    tracing::error!(why, sequence, "unreadable stream record passed over");
                }
            }
        }
        let results = futures_util::future::join_all(
            owners
                .iter()
                .map(|(owner, events)| self.send_new(owner, events, deadline)),
        )
        .await;
        results.into_iter().flatten().collect()
    }

    /// One owner's new events, in order. Returns the sequence numbers not handled.
    async fn send_new(
        &self,
        owner: &Principal,
        events: &[NewEvent],
        deadline: Instant,
    ) -> Vec<String> {
        let unhandled = |from: usize| events[from..].iter().map(|e| e.sequence.clone()).collect();
        let mut endpoint = match self.store.get_webhook(owner).await {
            Ok(Some(endpoint)) => endpoint,
            // No endpoint: the events are kept for `GET /events`, and sent nowhere.
            Ok(None) => return Vec::new(),
            Err(err) => {
                tracing::error!(error = %err, "could not read the webhook endpoint");
                return unhandled(0);
            }
        };
        // Straight out only while nothing waits for this endpoint, so order holds.
        let mut direct = !endpoint.backlogged();
        for (i, event) in events.iter().enumerate() {
            if i > 0 && direct {
                // The endpoint as it is now, as a sweep reads it before each try: pointing it
                // elsewhere or removing it holds from the next event of a burst.
                match self.store.get_webhook(owner).await {
                    Ok(Some(current)) => {
                        direct = !current.backlogged();
                        endpoint = current;
                    }
                    Ok(None) => return Vec::new(),
                    Err(err) => {
                        tracing::error!(error = %err, "could not read the webhook endpoint");
                        return unhandled(i);
                    }
                }
            }
            let now = Utc::now();
            let Some(key) = key_of(&event.doc) else {
                // Written by this service, so a bug or a newer version's key: never sendable.
                tracing::error!(event = event.id, "event without a known key passed over");
                continue;
            };
            let step = if direct && self.time_for_a_try(deadline) {
                match self.try_once(&endpoint, &event.id, key, &event.doc).await {
                    Ok(true) => Ok(true),
                    Ok(false) => {
                        direct = false;
                        let due = now + self.schedule.next_due(1);
                        self.store
                            .queue_event(owner, &event.id, &event.doc, due, true, now)
                            .await
                    }
                    Err(err) => Err(err),
                }
            } else {
                // Behind others already waiting (whose own next try stands), or out of time
                // (then the next sweep sends it).
                direct = false;
                self.store
                    .queue_event(owner, &event.id, &event.doc, now, false, now)
                    .await
            };
            if let Err(err) = step {
                tracing::error!(event = event.id, error = %err, "could not send or queue an event");
                return unhandled(i);
            }
        }
        Vec::new()
    }

    /// Whether an invocation ending at `deadline` still has time for a whole try and the
    /// writes after it.
    fn time_for_a_try(&self, deadline: Instant) -> bool {
        deadline.saturating_duration_since(Instant::now()) > self.attempt_timeout + MARGIN
    }

    /// One try of one event: sent, and the attempt recorded on the event whatever came of it.
    /// `Ok(true)` when the endpoint answered 2xx.
    async fn try_once(
        &self,
        endpoint: &WebhookEndpoint,
        event_id: &str,
        key: EventKey,
        doc: &str,
    ) -> Result<bool, ApiError> {
        let now = Utc::now();
        let secrets = self.signing_keys.open(endpoint, now).await?;
        let secrets: Vec<&SigningSecret> = secrets.iter().collect();
        let started = Instant::now();
        let attempt = self
            .sender
            .deliver(&endpoint.url, &secrets, now.timestamp(), doc)
            .await;
        tracing::info!(
            event = event_id,
            status = attempt.status,
            error = attempt.error.as_deref(),
            duration_ms = started.elapsed().as_secs_f64() * 1e3,
            "webhook try"
        );
        let delivery = WebhookDelivery::of(
            endpoint.owner.livemode,
            key,
            &endpoint.url,
            attempt.status,
            attempt.error.clone(),
            now,
        );
        self.store
            .record_delivery(&endpoint.owner, event_id, &delivery)
            .await?;
        Ok(attempt.delivered())
    }

    /// Works through every endpoint whose next try is due, side by side.
    pub async fn sweep(&self, deadline: Instant) -> Result<Swept, ApiError> {
        let due = self.store.due_webhooks(Utc::now()).await?;
        // The futures are made before the stream takes them (not by a closure of its `map`), so
        // that the sweep's future is `Send` and a multi-threaded runtime can spawn it
        // (`links-local` does, delivering webhooks locally).
        let sweeps: Vec<_> = due
            .iter()
            .map(|owner| self.sweep_one(owner, deadline))
            .collect();
        let results: Vec<Result<Swept, ApiError>> = futures_util::stream::iter(sweeps)
            .buffer_unordered(SWEEP_CONCURRENCY)
            .collect()
            .await;
        let mut total = Swept::default();
        let mut first_error = None;
        for result in results {
            match result {
                Ok(s) => {
                    total.endpoints += s.endpoints;
                    total.delivered += s.delivered;
                    total.failed += s.failed;
                    total.given_up += s.given_up;
                }
                // The endpoint's lease runs out and a later sweep takes it up again.
                Err(err) => {
                    tracing::error!(error = %err, "an endpoint's sweep failed");
                    first_error.get_or_insert(err);
                }
            }
        }
        tracing::info!(
            endpoints = total.endpoints,
            delivered = total.delivered,
            failed = total.failed,
            given_up = total.given_up,
            "sweep done"
        );
        match first_error {
            Some(err) if total.endpoints == 0 => Err(err),
            _ => Ok(total),
        }
    }

    /// One endpoint's queue, oldest first, until it is empty, a try fails, or time runs out.
    async fn sweep_one(&self, owner: &Principal, deadline: Instant) -> Result<Swept, ApiError> {
        let mut swept = Swept::default();
        let now = Utc::now();
        let left = deadline.saturating_duration_since(Instant::now());
        let until = now + left + MARGIN;
        let Some(lease) = self.store.lease_webhook(owner, now, until).await? else {
            return Ok(swept);
        };
        swept.endpoints = 1;
        loop {
            // The endpoint is read in the same Query as the one event tried next, so a `set` to
            // a new URL, a rotation or a removal holds from the very next try: nothing is sent
            // to an address its merchant has just taken away. One read per retried event; the
            // try itself is an HTTPS request.
            let (endpoint, waiting) = self.store.webhook_queue(owner, 1).await?;
            let Some(endpoint) = endpoint else {
                // Removed: a removal takes the queue with it, or if it was interrupted, the
                // sweep finishes the job.
                if waiting.is_empty() {
                    self.store
                        .finish_webhook(owner, lease, None, Utc::now())
                        .await?;
                    return Ok(swept);
                }
                let (_, leftovers) = self.store.webhook_queue(owner, QUEUE_PAGE).await?;
                for w in &leftovers {
                    self.store.drop_waiting(owner, &w.event_id).await?;
                }
                continue;
            };
            let Some(w) = waiting.first() else {
                self.store
                    .finish_webhook(owner, lease, Some(endpoint.pending), Utc::now())
                    .await?;
                return Ok(swept);
            };
            if !self.time_for_a_try(deadline) {
                self.store.release_webhook(owner, lease, Utc::now()).await?;
                return Ok(swept);
            }
            let key = key_of(&w.doc);
            if key.is_none() || expired(&self.schedule, &w.event_id, owner.livemode, Utc::now()) {
                tracing::warn!(
                    event = w.event_id,
                    sendable = key.is_some(),
                    "webhook given up: undelivered for the whole retry schedule, or unsendable"
                );
                // Taking it out also starts the endpoint's count of failures again.
                self.store.dequeue_event(owner, &w.event_id).await?;
                swept.given_up += 1;
                continue;
            }
            let Some(key) = key else { continue };
            if self.try_once(&endpoint, &w.event_id, key, &w.doc).await? {
                self.store.dequeue_event(owner, &w.event_id).await?;
                swept.delivered += 1;
            } else {
                // Failures in a row: a success (or a give-up) set the count back to 0.
                let failures = endpoint.failures.saturating_add(1);
                let due = Utc::now() + self.schedule.next_due(failures);
                self.store
                    .delay_webhook(owner, lease, failures, due)
                    .await?;
                swept.failed += 1;
                return Ok(swept);
            }
        }
    }
}

/// The key of the event `doc`: `None` for a document this version cannot send.
fn key_of(doc: &str) -> Option<EventKey> {
    serde_json::from_str::<Value>(doc)
        .ok()
        .and_then(|event| event["key"].as_str().and_then(EventKey::parse))
}

/// Whether the event `id` is older than `schedule` keeps trying it, at `now`.
fn expired(schedule: &RetrySchedule, id: &str, livemode: bool, now: DateTime<Utc>) -> bool {
    let Some(created_ms) = ids::time_of(id, ids::event_prefix(livemode)) else {
        return false;
    };
    let age_ms = now.timestamp_millis().saturating_sub(created_ms);
    u128::try_from(age_ms).is_ok_and(|age| age > schedule.give_up.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_given_up_once_older_than_the_schedule_keeps_it() {
        let schedule = RetrySchedule::default();
        let created = Utc::now();
        let id = ids::new_event_id(false, created);
        let give_up = shared::chrono::Duration::from_std(schedule.give_up).unwrap();
        assert!(!expired(&schedule, &id, false, created));
        assert!(!expired(&schedule, &id, false, created + give_up));
        assert!(expired(
            &schedule,
            &id,
            false,
            created + give_up + shared::chrono::Duration::milliseconds(1)
        ));
        // An id it cannot read the time of is never given up on its account.
        assert!(!expired(
            &schedule,
            "evnt_test_?",
            false,
            created + give_up * 2
        ));
    }

    fn record(name: &str, pk: &str, sk: &str, doc: Option<&str>) -> Value {
        let mut image = json!({"pk": {"S": pk}, "sk": {"S": sk}});
        if let Some(doc) = doc {
            image["doc"] = json!({"S": doc});
        }
        json!({
            "eventID": "1", "eventName": name, "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": {}, "NewImage": image, "SequenceNumber": "100",
                         "StreamViewType": "NEW_IMAGE"}
        })
    }

    #[test]
    fn only_inserted_events_are_read_and_a_damaged_one_is_reported() {
        let id = ids::new_event_id(false, Utc::now());
        let sk = format!("EVNT#{id}");
        match read_record(&record("INSERT", "ACCT#acct_1#test", &sk, Some("{}"))) {
            Record::Event(e) => {
                assert_eq!(e.owner.account_id, "acct_1");
                assert!(!e.owner.livemode);
                assert_eq!(e.id, id);
                assert_eq!(e.doc, "{}");
                assert_eq!(e.sequence, "100");
            }
            other => panic!("{other:?}"),
        }
        // A live event, in its account's live partition, is read as live: the mode picks the
        // endpoint and the signing secret it goes out under.
        let live_id = ids::new_event_id(true, Utc::now());
        match read_record(&record(
            "INSERT",
            "ACCT#acct_1#live",
            &format!("EVNT#{live_id}"),
            Some("{}"),
        )) {
            Record::Event(e) => {
                assert_eq!(
                    (e.owner.account_id.as_str(), e.owner.livemode),
                    ("acct_1", true)
                );
                assert_eq!(e.id, live_id);
            }
            other => panic!("{other:?}"),
        }
        // A delivery recorded on the event, a link, a counter: not new events.
        assert_eq!(
            read_record(&record("MODIFY", "ACCT#acct_1#test", &sk, Some("{}"))),
            Record::Other
        );
        assert_eq!(
            read_record(&record(
                "INSERT",
                "ACCT#acct_1#test",
                "LINK#link_test_x",
                None
            )),
            Record::Other
        );
        assert_eq!(
            read_record(&record("REMOVE", "ACCT#acct_1#test", &sk, None)),
            Record::Other
        );
        for damaged in [
            record("INSERT", "ACCT#acct_1#test", &sk, None),
            record("INSERT", "nonsense", &sk, Some("{}")),
            // A test event id in a live partition, and a partition of no mode.
            record("INSERT", "ACCT#acct_1#live", &sk, Some("{}")),
            record("INSERT", "ACCT#acct_1#other", &sk, Some("{}")),
            // A live event id in a test partition.
            record(
                "INSERT",
                "ACCT#acct_1#test",
                &format!("EVNT#{}", ids::new_event_id(true, Utc::now())),
                Some("{}"),
            ),
        ] {
            assert!(
                matches!(read_record(&damaged), Record::Unreadable(Some(ref s), _) if s == "100"),
                "{damaged}"
            );
        }
        assert!(matches!(
            read_record(&json!({"eventName": "INSERT", "dynamodb": {}})),
            Record::Unreadable(None, _)
        ));
    }
}
