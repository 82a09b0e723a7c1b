//! The sender alone against a real HTTPS receiver (`links_tests::receiver`): one checked, signed
//! attempt at a time, and what it records of whatever a server answers.
//!
//! Python 3 and openssl are required, not optional: `scripts/setup` installs them, and a test that
//! skipped itself without them would pass while proving nothing.

use super::canned_server;
use deliver_webhooks::send::{Attempt, Resolver, Sender};
use links_tests::receiver::Receiver;
use serde_json::Value;
use shared::domain::webhook::{SigningSecret, signature_header};
use shared::validate::DestinationPolicy;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHM=";
const PREVIOUS: &str = "b2xkLXNlY3JldA==";
const OTHER: &str = "b3RoZXItc2VjcmV0";
const BODY: &str = r#"{"object":"event","id":"evnt_test_5xyz","key":"link.create","data":{"object":"link","title":"ค่าอาหาร"}}"#;

const TESTS: DestinationPolicy = DestinationPolicy {
    allow_loopback_for_tests: true,
    ..DestinationPolicy::DEPLOYED
};
const STRICT: DestinationPolicy = DestinationPolicy::DEPLOYED;

fn secret(text: &str) -> SigningSecret {
    SigningSecret::from_base64(text).expect("a base64 secret")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs() as i64
}

/// `BODY`, signed with `SECRET` now, sent by `sender` to `url`.
async fn send(sender: &Sender, url: &str) -> Attempt {
    sender.deliver(url, &[&secret(SECRET)], now(), BODY).await
}

/// A sender that trusts `receiver`'s own certificate.
fn sender_for(receiver: &Receiver, policy: DestinationPolicy) -> Sender {
    Sender::new(policy, Some(&receiver.cert_pem), Duration::from_secs(10)).expect("a sender")
}

/// A resolver answering `addresses` for every name, counting its calls.
fn resolving_to(addresses: &[IpAddr]) -> (Resolver, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let (counted, addresses) = (calls.clone(), addresses.to_vec());
    let resolver: Resolver = Arc::new(move |_host: &str, port: u16| {
        counted.fetch_add(1, Ordering::SeqCst);
        addresses
            .iter()
            .map(|ip| SocketAddr::new(*ip, port))
            .collect()
    });
    (resolver, calls)
}

fn loopback() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

fn status_and_error(attempt: &Attempt) -> (Option<u16>, &str) {
    (attempt.status, attempt.error.as_deref().unwrap_or(""))
}

#[tokio::test]
async fn a_signed_event_is_delivered_and_the_receiver_verifies_it() {
    let receiver = Receiver::start(SECRET, &[]);
    let sender = sender_for(&receiver, TESTS);

    let attempt = send(&sender, &receiver.url("/hooks?shop=1")).await;

    assert_eq!(
        attempt,
        Attempt {
            status: Some(200),
            error: None
        }
    );
    assert!(attempt.delivered());
    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let request = &received[0];
    assert_eq!(request["verified"], true, "{request}");
    assert_eq!(request["event_id"], "evnt_test_5xyz");
    assert_eq!(request["key"], "link.create");
    assert_eq!(request["path"], "/hooks?shop=1");
    assert_eq!(request["user_agent"], "payment-links-webhooks/1");
    assert_eq!(request["status"], 200);
}

#[tokio::test]
async fn during_a_rotation_a_receiver_that_knows_only_the_previous_secret_still_verifies() {
    let receiver = Receiver::start(PREVIOUS, &[]);
    let sender = sender_for(&receiver, TESTS);
    let (current, previous) = (secret(SECRET), secret(PREVIOUS));

    let both = sender
        .deliver(&receiver.url("/"), &[&current, &previous], now(), BODY)
        .await;
    let current_only = sender
        .deliver(&receiver.url("/"), &[&current], now(), BODY)
        .await;

    assert_eq!(status_and_error(&both), (Some(200), ""));
    assert_eq!(status_and_error(&current_only), (Some(401), "HTTP 401"));
    let verified: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| r["verified"].clone())
        .collect();
    assert_eq!(verified, [true, false]);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_recorded_as_a_failed_attempt_without_the_signature() {
    let receiver = Receiver::start(SECRET, &[]);
    let sender = sender_for(&receiver, TESTS);
    let (wrong, at) = (secret(OTHER), now());

    let attempt = sender
        .deliver(&receiver.url("/hooks"), &[&wrong], at, BODY)
        .await;

    assert_eq!(status_and_error(&attempt), (Some(401), "HTTP 401"));
    assert!(!attempt.delivered());
    let signature = signature_header(&[&wrong], at, BODY.as_bytes());
    assert!(!format!("{attempt:?}").contains(&signature));
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["verified"], false);
    assert_eq!(received[0]["reason"], "bad signature");
}

#[tokio::test]
async fn a_stale_timestamp_is_refused_by_the_receivers_replay_window() {
    let receiver = Receiver::start(SECRET, &[]);
    let sender = sender_for(&receiver, TESTS);
    let stale = now() - 600;

    let attempt = sender
        .deliver(&receiver.url("/hooks"), &[&secret(SECRET)], stale, BODY)
        .await;

    assert_eq!(status_and_error(&attempt), (Some(401), "HTTP 401"));
    let received = receiver.received();
    assert_eq!(received[0]["reason"], "stale timestamp");
    assert_eq!(received[0]["timestamp"], stale.to_string());
}

#[tokio::test]
async fn an_endpoint_that_fails_twice_then_recovers_is_answered_503_503_200() {
    let receiver = Receiver::start(SECRET, &["--fail-first", "2"]);
    let sender = sender_for(&receiver, TESTS);

    let mut attempts = Vec::new();
    for _ in 0..3 {
        attempts.push(send(&sender, &receiver.url("/hooks")).await);
    }

    let outcomes: Vec<_> = attempts.iter().map(status_and_error).collect();
    assert_eq!(
        outcomes,
        [
            (Some(503), "HTTP 503"),
            (Some(503), "HTTP 503"),
            (Some(200), "")
        ]
    );
    let logged: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(logged, [503, 503, 200]);
    // The receiver verified even the deliveries it failed: each one was signed.
    assert!(receiver.received().iter().all(|r| r["verified"] == true));
}

#[tokio::test]
async fn an_outage_lasts_while_its_file_exists() {
    let receiver = Receiver::start(SECRET, &[]);
    let down = receiver.outage_file();
    std::fs::write(&down, "").unwrap();
    let sender = sender_for(&receiver, TESTS);
    // No secret at all is refused before anything is sent.
    let unsigned = sender.deliver(&receiver.url("/"), &[], now(), BODY).await;
    assert_eq!(status_and_error(&unsigned), (None, "no signing secret"));

    let during = send(&sender, &receiver.url("/")).await;
    std::fs::remove_file(&down).unwrap();
    let after = send(&sender, &receiver.url("/")).await;

    assert_eq!(during.status, Some(503));
    assert!(after.delivered(), "{after:?}");
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn private_destinations_are_refused_at_delivery_without_connecting() {
    let receiver = Receiver::start(SECRET, &[]);
    // Anything that connects to loopback would land in this listener's queue.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let trap = listener.local_addr().unwrap().port();
    let strict = sender_for(&receiver, STRICT);

    let literal = send(&strict, &receiver.url("/hooks")).await;
    let trap_literal = send(&strict, &format!("https://127.0.0.1:{trap}/")).await;
    let metadata = send(&strict, "https://169.254.169.254/latest/meta-data/").await;
    let (to_loopback, calls) = resolving_to(&[loopback()]);
    let name = send(
        &strict.clone().with_resolver(to_loopback),
        &format!("https://receiver.test:{trap}/h"),
    )
    .await;
    // One private answer among public ones is enough: the connection could have picked it.
    let (mixed, _) = resolving_to(&["93.184.216.34".parse().unwrap(), loopback()]);
    let mixed = send(
        &strict.clone().with_resolver(mixed),
        &format!("https://receiver.test:{trap}/h"),
    )
    .await;

    for attempt in [&literal, &trap_literal, &metadata] {
        let (status, error) = status_and_error(attempt);
        assert_eq!(status, None);
        assert!(
            error.starts_with("refused: url must not point at") && error.contains("non-public"),
            "{error}"
        );
    }
    assert_eq!(
        status_and_error(&name),
        (
            None,
            "refused: receiver.test resolves to a non-public address (127.0.0.1)"
        )
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        status_and_error(&mixed),
        (
            None,
            "refused: receiver.test resolves to a non-public address (127.0.0.1)"
        )
    );
    assert!(receiver.received().is_empty());
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "a refused delivery connected anyway"
    );
}

#[tokio::test]
async fn a_name_is_resolved_once_and_its_certificate_checked_against_that_name() {
    let receiver = Receiver::start(SECRET, &[]);
    let (to_loopback, calls) = resolving_to(&[loopback()]);
    let sender = sender_for(&receiver, TESTS).with_resolver(to_loopback);

    let named = send(
        &sender,
        &format!("https://receiver.test:{}/hooks", receiver.port),
    )
    .await;
    let calls_for_one = calls.load(Ordering::SeqCst);
    // Same address, a name the certificate does not carry.
    let other = send(
        &sender,
        &format!("https://other.test:{}/hooks", receiver.port),
    )
    .await;

    assert_eq!(status_and_error(&named), (Some(200), ""));
    assert_eq!(calls_for_one, 1, "resolved more than once");
    assert_eq!(
        status_and_error(&other),
        (
            None,
            "TLS handshake failed: the certificate is not valid for other.test"
        )
    );
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_certificate_the_sender_does_not_trust_fails_the_tls_handshake() {
    let receiver = Receiver::start(SECRET, &[]);
    let system_roots_only =
        Sender::new(TESTS, None, Duration::from_secs(10)).expect("the system's roots");

    let attempt = send(&system_roots_only, &receiver.url("/hooks")).await;

    assert_eq!(
        status_and_error(&attempt),
        (
            None,
            "TLS handshake failed: the certificate is not issued by a trusted certificate authority"
        )
    );
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn a_server_that_never_answers_times_the_attempt_out() {
    // Accepted by the kernel, never read from: the TLS handshake waits forever.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let sender = Sender::new(TESTS, None, Duration::from_secs(1)).expect("a sender");

    let started = Instant::now();
    let attempt = send(&sender, &format!("https://127.0.0.1:{port}/")).await;
    let took = started.elapsed();

    assert_eq!(status_and_error(&attempt), (None, "timed out after 1 s"));
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_closed_port_is_reported_as_connection_refused() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sender = Sender::new(TESTS, None, Duration::from_secs(5)).expect("a sender");

    let attempt = send(&sender, &format!("https://127.0.0.1:{port}/")).await;

    assert_eq!(
        status_and_error(&attempt),
        (
            None,
            format!("connection refused by 127.0.0.1:{port}").as_str()
        )
    );
}

#[test]
fn a_sender_refuses_extra_roots_that_hold_no_certificate() {
    let error = Sender::new(TESTS, Some(b"not a certificate"), Duration::from_secs(1))
        .expect_err("no certificate in the PEM");
    assert!(error.starts_with("extra root certificates"), "{error}");
}

#[tokio::test]
async fn whatever_a_merchants_server_answers_is_recorded_without_following_or_reading_it() {
    let huge_head: &'static [u8] = format!(
        "HTTP/1.1 200 OK\r\nX-Padding: {}\r\n\r\n",
        "p".repeat(64 * 1024)
    )
    .leak()
    .as_bytes();
    for (answer, endless, status, error) in [
        (
            &b"HTTP/1.1 302 Found\r\nLocation: https://169.254.169.254/\r\nContent-Length: 0\r\n\r\n"[..],
            false,
            Some(302),
            "HTTP 302 (redirects are not followed)",
        ),
        // A body that never ends: the status is the answer; the body is not waited for.
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
            true,
            Some(200),
            "",
        ),
        (b"HTTP/1.1 500 Oops\r\n\r\n", false, Some(500), "HTTP 500"),
        (b"\x00\xffnot http at all\r\n\r\n", false, None, "HTTP exchange failed"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", false, None, "HTTP exchange failed"),
        (b"", false, None, "HTTP exchange failed"),
        (huge_head, false, None, "HTTP exchange failed"),
    ] {
        let (port, cert_pem) = canned_server(answer, endless, None).await;
        let sender = Sender::new(TESTS, Some(&cert_pem), Duration::from_secs(5)).unwrap();
        let started = Instant::now();

        let attempt = send(&sender, &format!("https://127.0.0.1:{port}/")).await;

        let shown = String::from_utf8_lossy(&answer[..answer.len().min(40)]).into_owned();
        assert_eq!(attempt.status, status, "{shown}: {attempt:?}");
        assert!(
            attempt.error.as_deref().unwrap_or("").starts_with(error),
            "{shown}: {attempt:?}"
        );
        assert!(attempt.error.as_deref().unwrap_or("").len() <= 200);
        assert!(started.elapsed() < Duration::from_secs(4), "{shown}");
    }
}
