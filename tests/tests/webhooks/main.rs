//! Webhooks end to end, in-process: the API writes events, DynamoDB Local's real stream carries
//! them, the delivery function's handler (as its Lambda runs it) sends them to a real HTTPS
//! receiver on loopback, which checks each signature with Python's `hmac`.
//!
//! The tests play the two AWS parts that have no local emulator: the event source mapping (read
//! the stream, hand batches to the function: [`Pump`]) and the schedule (call the sweep). The
//! retry schedule runs on a clock 60 times faster, so its minutes take seconds.

mod bench;
mod delivery;
mod local;
mod retries;
mod secrets;
mod send;

use deliver_webhooks::send::Sender;
use deliver_webhooks::{Deliverer, SigningKeys};
pub use links_tests::receiver::{Receiver, endpoint_with_receiver, repoint, set_endpoint};
use links_tests::streams::{StreamReader, lambda_event, scheduled_event};
use links_tests::{PAYMENT_BASE, TestApp, TestResponse, dynamodb_endpoint, spawn_app};
use serde_json::Value;
use shared::domain::principal::Principal;
use shared::domain::webhook::RetrySchedule;
use shared::validate::DestinationPolicy;
use std::time::{Duration, Instant};

/// The retry schedule's clock in these tests: a minute takes a second.
pub const SCALE: f64 = 1.0 / 60.0;

/// A fresh signing secret for a receiver that is not set through the store.
pub fn some_secret() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(shared::domain::ids::new_account_id())
}

/// The delivery function's handler over `app`'s table, trusting `receiver`'s certificate.
pub fn deliverer(app: &TestApp, trusted: &[u8], loopback: bool, timeout: Duration) -> Deliverer {
    deliverer_at(app, trusted, loopback, timeout, SCALE)
}

/// [`deliverer`] with the retry schedule's clock `scale` times real time.
pub fn deliverer_at(
    app: &TestApp,
    trusted: &[u8],
    loopback: bool,
    timeout: Duration,
    scale: f64,
) -> Deliverer {
    let policy = DestinationPolicy {
        allow_loopback_for_tests: loopback,
        ..DestinationPolicy::DEPLOYED
    };
    Deliverer {
        store: app.ctx.store.clone(),
        sender: Sender::new(policy, Some(trusted), timeout).expect("a sender"),
        schedule: RetrySchedule::scaled(scale),
        attempt_timeout: timeout,
        signing_keys: SigningKeys::new(Some(links_tests::test_sealer())),
    }
}

/// Lambda's event source mapping, played: reads the table's stream and hands the records to the
/// delivery function in batches of up to 100 (the template's `BatchSize`). Records are handed
/// over unfiltered, so the function's own check of what is an event is exercised too.
pub struct Pump {
    pub reader: StreamReader,
}

impl Pump {
    pub async fn open(app: &TestApp) -> Self {
        Self {
            reader: StreamReader::open(dynamodb_endpoint(), app.ctx.store.table())
                .await
                .expect("the table's stream"),
        }
    }

    /// Everything written so far, as batches, to `deliverer`; returns the failures it reported.
    pub async fn run(&mut self, deliverer: &Deliverer) -> Vec<String> {
        let records = self.reader.read().await.expect("read the stream");
        self.hand_over(deliverer, &records).await
    }

    /// `records` as batches to `deliverer`.
    pub async fn hand_over(&self, deliverer: &Deliverer, records: &[Value]) -> Vec<String> {
        let mut failed = Vec::new();
        for batch in records.chunks(100) {
            let answer = as_delivery_function(deliverer.handle(&lambda_event(batch), deadline()))
                .await
                .expect("the handler answers a batch");
            for failure in answer["batchItemFailures"].as_array().unwrap() {
                failed.push(failure["itemIdentifier"].as_str().unwrap().to_owned());
            }
        }
        failed
    }
}

/// An invocation's deadline, as the template's 60 s timeout gives it.
pub fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

/// One tick of the schedule.
pub async fn sweep(deliverer: &Deliverer) -> Value {
    as_delivery_function(deliverer.handle(&scheduled_event(), deadline()))
        .await
        .expect("a sweep")
}

/// Runs `work` as the delivery function, so that `scripts/check-iam` holds its IAM to what it
/// does.
pub async fn as_delivery_function<F: std::future::Future>(work: F) -> F::Output {
    links_tests::as_function("DeliverWebhooksFunction", work).await
}

/// Sweeps every 100 ms (the scaled schedule's minute is a second) until `receiver` has accepted
/// `n` deliveries or `timeout` passes.
pub async fn sweep_until(
    deliverer: &Deliverer,
    receiver: &Receiver,
    n: usize,
    timeout: Duration,
) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let accepted = receiver.accepted();
        if accepted.len() >= n || started.elapsed() > timeout {
            return accepted;
        }
        sweep(deliverer).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The event ids of `owner`'s events, oldest first, through the API.
pub async fn event_ids(app: &TestApp, key: &str) -> Vec<String> {
    let list = app
        .call("GET", "/events?limit=100&order=chronological")
        .key(key)
        .send()
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Event `id` through the API.
pub async fn event(app: &TestApp, key: &str, id: &str) -> Value {
    let response = app
        .call("GET", &format!("/events/{id}"))
        .key(key)
        .send()
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.body
}

/// The ids `receiver` accepted, in the order it accepted them.
pub fn ids(received: &[Value]) -> Vec<String> {
    received
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A test app whose table streams, as deployed.
pub async fn app() -> TestApp {
    let app = spawn_app().await;
    app.ctx
        .store
        .enable_stream()
        .await
        .expect("enable the stream");
    app
}

/// Pays `link` through its page with a good card, as the buyer's browser posts the form.
async fn pay_with_good_card(app: &TestApp, link: &Value) -> TestResponse {
    let token = link["payment_uri"]
        .as_str()
        .and_then(|uri| uri.strip_prefix(&format!("{PAYMENT_BASE}/")))
        .expect("a payment_uri under the test base")
        .to_owned();
    let attempt = links_tests::attempt_key(&token);
    app.call("POST", &format!("/pay/{token}"))
        .header("origin", "https://pay.test.example")
        .header("sec-fetch-site", "same-origin")
        .form(&format!(
            "attempt={attempt}&lang=en&name=Somchai+Jaidee&number=4242424242424242\
             &expiration_month=12&expiration_year=2031&security_code=123"
        ))
        .send()
        .await
}

/// Handed out by a [`canned_server`] with a gate, one per request: the server answers that
/// request once the test sends on it.
pub type Held = tokio::sync::oneshot::Sender<()>;

/// A TLS server (with a certificate made as the receiver's) that answers any request with
/// `answer`, then, if `endless`, with body bytes until the client goes. With a `gate`, each
/// request waits, before its answer, until the test releases the [`Held`] it was handed. Gives
/// the port and the certificate to trust.
pub async fn canned_server(
    answer: &'static [u8],
    endless: bool,
    gate: Option<tokio::sync::mpsc::UnboundedSender<Held>>,
) -> (u16, Vec<u8>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (cert_pem, key_pem) = links_tests::receiver::test_certificate();
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(&key_pem).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut request = [0; 4096];
            let _ = tls.read(&mut request).await;
            if let Some(gate) = &gate {
                let (held, released) = tokio::sync::oneshot::channel();
                if gate.send(held).is_err() || released.await.is_err() {
                    continue;
                }
            }
            if tls.write_all(answer).await.is_err() {
                continue;
            }
            while endless && tls.write_all(&[b'x'; 16 * 1024]).await.is_ok() {}
            let _ = tls.shutdown().await;
        }
    });
    (port, cert_pem)
}

/// Sets one attribute of `owner`'s endpoint item directly, as a drift, an earlier version or
/// someone with write access to the table (and no more) would have left it.
pub async fn set_endpoint_attribute(
    app: &TestApp,
    owner: &Principal,
    name: &str,
    value: aws_sdk_dynamodb::types::AttributeValue,
) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mode = if owner.livemode { "live" } else { "test" };
    app.ctx
        .store
        .client()
        .update_item()
        .table_name(app.ctx.store.table())
        .key(
            "pk",
            AttributeValue::S(format!("HOOK#{}#{mode}", owner.account_id)),
        )
        .key("sk", AttributeValue::S("HOOK".into()))
        .update_expression("SET #name = :value")
        .expression_attribute_names("#name", name)
        .expression_attribute_values(":value", value)
        .send()
        .await
        .unwrap();
}
