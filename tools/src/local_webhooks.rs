//! Webhook delivery on a developer's machine, as deployed: `links-local` runs it when
//! `LINKS_LOCAL_WEBHOOKS=1` (which `scripts/dev` sets), so a developer sees their receiver work
//! before deploying.
//!
//! Deployed, two AWS parts wake the `deliver-webhooks` function: the event source mapping of the
//! table's DynamoDB stream (each new event, at once) and a schedule (every minute, a sweep of the
//! endpoints whose next try is due). Here [`run`] plays both, in a loop: it reads DynamoDB
//! Local's real Streams API ([`crate::streams`]) and hands the records, in batches of up to 100
//! as the mapping does, to the function's own [`Deliverer::handle`], and hands it the schedule's
//! tick every [`SWEEP_EVERY`]. So deliveries are signed with the same sealed secrets (opened
//! with the KMS key `scripts/dev` makes in moto), carry the same payload, and fail and retry
//! on the same schedule, recorded on the events as deployed.
//!
//! The one difference is where endpoints may point: [`DestinationPolicy::local_development`]
//! also lets through a receiver on this machine, over `https://` or plain `http://`
//! (`http://127.0.0.1:4000/hook`), and still nothing else that is not public. A deployment
//! never sets `LINKS_LOCAL_WEBHOOKS`, and its delivery function has no such setting.

use deliver_webhooks::Deliverer;
use deliver_webhooks::deliver::ATTEMPT_TIMEOUT;
use deliver_webhooks::send::Sender;
use serde_json::Value;
use shared::domain::webhook::RetrySchedule;
use shared::sealed::Sealer;
use shared::store::Store;
use shared::validate::DestinationPolicy;
use std::time::{Duration, Instant};

use crate::streams::{StreamReader, lambda_event, scheduled_event};

/// `1` in `scripts/dev`'s environment: `links-local` delivers webhooks, and `links-admin webhook
/// set` takes an endpoint on this machine (see [`endpoint_policy`]). Never set in a deployment.
pub const ENV: &str = "LINKS_LOCAL_WEBHOOKS";

/// How often the stream is read: Lambda polls a stream's shards four times a second.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// How often the schedule ticks here. Deployed it ticks every minute; more often here only means
/// that a retry goes out closer to the time its schedule set. A tick sweeps only when an
/// endpoint's next try is due (see [`sweep_if_due`]).
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// The template's `BatchSize`.
const BATCH_SIZE: usize = 100;

/// How often the mapping retries a batch whose records the function handed back (the
/// template's `MaximumRetryAttempts`) before passing them over.
const MAX_RETRIES: u32 = 10;

/// An invocation's time: the function's `Timeout` in template.yaml.
const INVOCATION: Duration = Duration::from_secs(60);

/// Whether the environment asks for local delivery ([`ENV`] is `1`).
pub fn enabled() -> bool {
    std::env::var(ENV).is_ok_and(|v| v == "1")
}

/// Where `links-admin webhook set` lets an endpoint point: the deployed rules, unless [`ENV`]
/// says this is the local setup.
pub fn endpoint_policy() -> DestinationPolicy {
    if enabled() {
        DestinationPolicy::local_development()
    } else {
        DestinationPolicy::DEPLOYED
    }
}

/// The delivery function's state over `store`, as its cold start builds it, with the local
/// destination policy: the deployed retry schedule and timeout, and the signing secrets opened
/// with `sealer` (the KMS key in `SECRETS_KMS_KEY`).
pub fn deliverer(store: Store, sealer: Option<Sealer>) -> Result<Deliverer, String> {
    Ok(Deliverer {
        store,
        sender: Sender::new(
            DestinationPolicy::local_development(),
            None,
            ATTEMPT_TIMEOUT,
        )?,
        schedule: RetrySchedule::default(),
        attempt_timeout: ATTEMPT_TIMEOUT,
        signing_keys: deliver_webhooks::SigningKeys::new(sealer),
    })
}

/// Turns on the table's stream (new images, as template.yaml has it) unless it is on:
/// `links-admin create-table` leaves it off. Events written before it is on are not delivered.
pub async fn ensure_stream(store: &Store) -> Result<(), String> {
    let described = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .map_err(|e| format!("DescribeTable {}: {e}", store.table()))?;
    let on = described
        .table()
        .and_then(|t| t.stream_specification())
        .is_some_and(|s| s.stream_enabled());
    if !on {
        store
            .enable_stream()
            .await
            .map_err(|e| format!("enable the stream of {}: {e:?}", store.table()))?;
    }
    Ok(())
}

/// The event source mapping, played: the stream's records, handed over in batches, and the
/// records the function handed back, handed over again first.
pub struct Mapping {
    reader: StreamReader,
    /// Records handed back (and every later one), for the next turn.
    retry: Vec<Value>,
    retries: u32,
    /// When to hand them over again: Lambda backs off between retries of a batch too, so a
    /// DynamoDB hiccup of a few seconds does not use all of them up.
    retry_at: Option<Instant>,
}

impl Mapping {
    /// The stream of `table` on the DynamoDB Local at `endpoint` (`http://127.0.0.1:port`),
    /// from its oldest record, as the template's `StartingPosition: TRIM_HORIZON`.
    pub async fn open(endpoint: &str, table: &str) -> Result<Self, String> {
        Ok(Self {
            reader: StreamReader::open(endpoint, table).await?,
            retry: Vec::new(),
            retries: 0,
            retry_at: None,
        })
    }

    /// One turn: whatever the stream has that was not handed over yet, to `deliverer`. Returns
    /// how many records were handed over.
    pub async fn turn(&mut self, deliverer: &Deliverer) -> Result<usize, String> {
        let mut records = std::mem::take(&mut self.retry);
        records.extend(self.reader.read().await?);
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            // Still backing off: later records wait behind the ones handed back, in order.
            self.retry = records;
            return Ok(0);
        }
        self.retry_at = None;
        let total = records.len();
        let mut offset = 0;
        while offset < records.len() {
            let end = (offset + BATCH_SIZE).min(records.len());
            let batch = &records[offset..end];
            let answer = deliverer
                .handle(&lambda_event(batch), Instant::now() + INVOCATION)
                .await
                .map_err(|e| format!("the delivery function failed a batch: {e:?}"))?;
            let failed: Vec<&str> = answer["batchItemFailures"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(|f| f["itemIdentifier"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            // As ReportBatchItemFailures does: the batch is done up to its first failed record,
            // which is handed over again, with everything after it.
            let first_failed = batch.iter().position(|r| {
                r["dynamodb"]["SequenceNumber"]
                    .as_str()
                    .is_some_and(|s| failed.contains(&s))
            });
            if let Some(at) = first_failed {
                self.retries += 1;
                if self.retries > MAX_RETRIES {
                    tracing::error!(
                        records = ?failed,
                        "stream records passed over after {MAX_RETRIES} retries: their events were not sent"
                    );
                    self.retries = 0;
                    offset = end;
                    continue;
                }
                self.retry = records.split_off(offset + at);
                // 1 s, 2 s, 4 s, … up to 32 s: the ten retries span about three minutes.
                let backoff = Duration::from_secs(1 << self.retries.min(6).saturating_sub(1));
                self.retry_at = Some(Instant::now() + backoff);
                return Ok(total);
            }
            self.retries = 0;
            offset = end;
        }
        Ok(total)
    }
}

/// One tick of the schedule: a sweep of the endpoints whose next try is due, as the function
/// runs it, when there is one (`None` when nothing was due). A deployed tick sweeps whatever is
/// due too; here an idle tick is skipped rather than logging an empty sweep every few seconds.
pub async fn sweep_if_due(deliverer: &Deliverer) -> Result<Option<Value>, String> {
    let due = deliverer
        .store
        .due_webhooks(shared::chrono::Utc::now())
        .await
        .map_err(|e| format!("due webhooks: {e:?}"))?;
    if due.is_empty() {
        return Ok(None);
    }
    deliverer
        .handle(&scheduled_event(), Instant::now() + INVOCATION)
        .await
        .map(Some)
        .map_err(|e| format!("sweep: {e:?}"))
}

/// Delivers forever: reads the stream every `poll` and sweeps every `sweep_every`. Errors (the
/// emulator gone, say) are logged and the loop carries on, as the mapping and the schedule do.
pub async fn run(
    deliverer: &Deliverer,
    mut mapping: Mapping,
    poll: Duration,
    sweep_every: Duration,
) {
    let mut last_sweep = Instant::now();
    let mut failing = false;
    loop {
        match mapping.turn(deliverer).await {
            Ok(_) => failing = false,
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(error, "could not read the table's stream; trying again");
            }
            Err(_) => {}
        }
        if last_sweep.elapsed() >= sweep_every {
            last_sweep = Instant::now();
            if let Err(error) = sweep_if_due(deliverer).await {
                tracing::warn!(error, "webhook sweep failed; the next one tries again");
            }
        }
        tokio::time::sleep(poll).await;
    }
}
