//! A table's stream, read from DynamoDB Local's real Streams API the way Lambda's event source
//! mapping reads it, and turned into the event Lambda hands the delivery function. Used by the
//! local webhook delivery (`crate::local_webhooks`, which `scripts/dev` runs) and by the tests,
//! which play the mapping themselves.
//!
//! GetRecords answers records in the very shape Lambda forwards (`eventID`, `eventName`,
//! `dynamodb` with `Keys`, `NewImage`, `SequenceNumber`...); the mapping only adds
//! `eventSourceARN`. The requests go over plain HTTP with DynamoDB's JSON protocol: DynamoDB
//! Local checks no signature, so nothing here needs a Streams SDK.

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

/// A reader of one table's stream, from its start, shard by shard.
pub struct StreamReader {
    endpoint: String,
    arn: String,
    /// Each shard's next iterator (`None` once a closed shard is read to its end), and the
    /// sequence number of the last record read from it, to pick up after if an iterator fails.
    shards: Vec<Shard>,
    /// Shards already read to their end, or being read.
    known: std::collections::HashSet<String>,
}

struct Shard {
    id: String,
    iterator: Option<String>,
    last: Option<String>,
}

/// One call of DynamoDB's JSON protocol to `endpoint` (`http://127.0.0.1:port`).
async fn call(endpoint: &str, target: &str, body: Value) -> Result<Value, String> {
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let stream = TcpStream::connect(&authority)
        .await
        .map_err(|e| format!("{target}: connect to {authority}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    tokio::spawn(connection);
    let request = Request::post("/")
        .header("host", &authority)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        // DynamoDB Local wants an Authorization header to name the caller; it checks no signature.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=local/20261126/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| format!("{target}: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{target}: {e}"))?
        .to_bytes();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("{target}: {status} {value}"));
    }
    Ok(value)
}

impl StreamReader {
    /// The stream of `table` on the DynamoDB Local at `endpoint`, read from its beginning.
    pub async fn open(endpoint: &str, table: &str) -> Result<Self, String> {
        let described = call(
            endpoint,
            "DynamoDB_20120810.DescribeTable",
            json!({"TableName": table}),
        )
        .await?;
        let arn = described["Table"]["LatestStreamArn"]
            .as_str()
            .ok_or_else(|| format!("table {table} has no stream"))?
            .to_owned();
        Ok(Self {
            endpoint: endpoint.to_owned(),
            arn,
            shards: Vec::new(),
            known: Default::default(),
        })
    }

    /// The stream's ARN (`eventSourceARN` in Lambda's records).
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// A fresh iterator of shard `id`: after `last` when a record of it was read, else from its
    /// oldest record.
    async fn iterator(&self, id: &str, last: Option<&str>) -> Result<Option<String>, String> {
        let mut request = json!({"StreamArn": self.arn, "ShardId": id});
        match last {
            Some(sequence) => {
                request["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
                request["SequenceNumber"] = json!(sequence);
            }
            None => request["ShardIteratorType"] = json!("TRIM_HORIZON"),
        }
        let iterator = call(
            &self.endpoint,
            "DynamoDBStreams_20120810.GetShardIterator",
            request,
        )
        .await?;
        Ok(iterator["ShardIterator"].as_str().map(str::to_owned))
    }

    async fn discover_shards(&mut self) -> Result<(), String> {
        let described = call(
            &self.endpoint,
            "DynamoDBStreams_20120810.DescribeStream",
            json!({"StreamArn": self.arn}),
        )
        .await?;
        let shards = described["StreamDescription"]["Shards"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for shard in shards {
            let Some(id) = shard["ShardId"].as_str() else {
                continue;
            };
            if self.known.contains(id) {
                continue;
            }
            let iterator = self.iterator(id, None).await?;
            self.known.insert(id.to_owned());
            self.shards.push(Shard {
                id: id.to_owned(),
                iterator,
                last: None,
            });
        }
        Ok(())
    }

    /// The records written since the last call, in stream order, as Lambda's `Records[]`. After
    /// an error, the next call carries on from the last record this one returned, so nothing is
    /// skipped and nothing returned is returned again.
    pub async fn read(&mut self) -> Result<Vec<Value>, String> {
        self.discover_shards().await?;
        let mut records = Vec::new();
        for i in 0..self.shards.len() {
            while let Some(current) = self.shards[i].iterator.clone() {
                let out = match call(
                    &self.endpoint,
                    "DynamoDBStreams_20120810.GetRecords",
                    json!({"ShardIterator": current, "Limit": 1000}),
                )
                .await
                {
                    Ok(out) => out,
                    Err(error) => {
                        // An expired or trimmed iterator: the next read asks for a fresh one.
                        // What was read so far is handed over now, once.
                        let shard = &self.shards[i];
                        let fresh = self.iterator(&shard.id, shard.last.as_deref()).await;
                        self.shards[i].iterator = fresh.unwrap_or(Some(current));
                        if records.is_empty() {
                            return Err(error);
                        }
                        return Ok(records);
                    }
                };
                let batch = out["Records"].as_array().cloned().unwrap_or_default();
                let shard = &mut self.shards[i];
                shard.iterator = out["NextShardIterator"].as_str().map(str::to_owned);
                if let Some(last) = batch
                    .last()
                    .and_then(|r| r["dynamodb"]["SequenceNumber"].as_str())
                {
                    shard.last = Some(last.to_owned());
                }
                let empty = batch.is_empty();
                records.extend(batch.into_iter().map(|mut r| {
                    r["eventSourceARN"] = json!(self.arn);
                    r
                }));
                if empty {
                    break;
                }
            }
        }
        Ok(records)
    }

    /// Waits until the stream has at least `n` new records (or `timeout` passes), and returns
    /// them.
    pub async fn read_at_least(
        &mut self,
        n: usize,
        timeout: std::time::Duration,
    ) -> Result<Vec<Value>, String> {
        let started = std::time::Instant::now();
        let mut records = Vec::new();
        loop {
            records.extend(self.read().await?);
            if records.len() >= n || started.elapsed() > timeout {
                return Ok(records);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// Lambda's event for a batch of stream records.
pub fn lambda_event(records: &[Value]) -> Value {
    json!({ "Records": records })
}

/// The event EventBridge sends on a schedule's tick.
pub fn scheduled_event() -> Value {
    json!({
        "version": "0", "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-26T00:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/links-webhook-sweep"],
        "detail": {}
    })
}
