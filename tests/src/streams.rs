//! The table's stream, read from DynamoDB Local's real Streams API the way Lambda's event source
//! mapping reads it, and turned into the event Lambda hands the delivery function.
//!
//! GetRecords answers records in the very shape Lambda forwards (`eventID`, `eventName`,
//! `dynamodb` with `Keys`, `NewImage`, `SequenceNumber`...); the mapping only adds
//! `eventSourceARN`. The requests go over plain HTTP with DynamoDB's JSON protocol: DynamoDB
//! Local checks no signature, and the tests then carry no Streams SDK.

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
    /// Each open shard's next iterator.
    iterators: Vec<(String, Option<String>)>,
    /// Shards already read to their end, or being read.
    known: std::collections::HashSet<String>,
}

async fn call(endpoint: &str, target: &str, body: Value) -> Value {
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let stream = TcpStream::connect(&authority)
        .await
        .expect("connect to DynamoDB Local");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
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
        .expect("a request");
    let response = sender.send_request(request).await.expect("a response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!(status.is_success(), "{target}: {status} {value}");
    value
}

impl StreamReader {
    /// The stream of `table` on the DynamoDB Local at `endpoint`, read from its beginning.
    pub async fn open(endpoint: &str, table: &str) -> Self {
        let described = call(
            endpoint,
            "DynamoDB_20120810.DescribeTable",
            json!({"TableName": table}),
        )
        .await;
        let arn = described["Table"]["LatestStreamArn"]
            .as_str()
            .expect("the table has a stream")
            .to_owned();
        Self {
            endpoint: endpoint.to_owned(),
            arn,
            iterators: Vec::new(),
            known: Default::default(),
        }
    }

    /// The stream's ARN (`eventSourceARN` in Lambda's records).
    pub fn arn(&self) -> &str {
        &self.arn
    }

    async fn discover_shards(&mut self) {
        let described = call(
            &self.endpoint,
            "DynamoDBStreams_20120810.DescribeStream",
            json!({"StreamArn": self.arn}),
        )
        .await;
        let shards = described["StreamDescription"]["Shards"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for shard in shards {
            let Some(id) = shard["ShardId"].as_str() else {
                continue;
            };
            if !self.known.insert(id.to_owned()) {
                continue;
            }
            let iterator = call(
                &self.endpoint,
                "DynamoDBStreams_20120810.GetShardIterator",
                json!({"StreamArn": self.arn, "ShardId": id, "ShardIteratorType": "TRIM_HORIZON"}),
            )
            .await;
            self.iterators.push((
                id.to_owned(),
                iterator["ShardIterator"].as_str().map(str::to_owned),
            ));
        }
    }

    /// The records written since the last call, in stream order, as Lambda's `Records[]`.
    pub async fn read(&mut self) -> Vec<Value> {
        self.discover_shards().await;
        let mut records = Vec::new();
        for (_, iterator) in &mut self.iterators {
            while let Some(current) = iterator.clone() {
                let out = call(
                    &self.endpoint,
                    "DynamoDBStreams_20120810.GetRecords",
                    json!({"ShardIterator": current, "Limit": 1000}),
                )
                .await;
                let batch = out["Records"].as_array().cloned().unwrap_or_default();
                *iterator = out["NextShardIterator"].as_str().map(str::to_owned);
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
        records
    }

    /// Waits until the stream has at least `n` new records (or `timeout` passes), and returns
    /// them.
    pub async fn read_at_least(&mut self, n: usize, timeout: std::time::Duration) -> Vec<Value> {
        let started = std::time::Instant::now();
        let mut records = Vec::new();
        loop {
            records.extend(self.read().await);
            if records.len() >= n || started.elapsed() > timeout {
                return records;
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
