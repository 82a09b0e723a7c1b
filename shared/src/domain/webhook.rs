//! Webhook signatures, as Omise signs its webhooks: `Omise-Signature` is the lowercase hex of
//! HMAC-SHA256, keyed with the endpoint's secret (base64-decoded), over the
//! `Omise-Signature-Timestamp` value (Unix seconds), a `.`, and the raw body. While a secret is
//! being rotated the header carries two signatures, comma-separated, one per secret, so a
//! receiver that knows either one accepts the delivery.
//!
//! Signing is pure computation; the delivery function adds the headers. [`verify`] is what a receiver does, kept here so tests and documentation examples can
//! check a delivery the same way a merchant would.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Name of the header carrying the signature(s).
pub const SIGNATURE_HEADER: &str = "Omise-Signature";
/// Name of the header carrying the timestamp the signature covers, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "Omise-Signature-Timestamp";
/// How far a receiver should let a delivery's timestamp stray from its own clock before refusing
/// it as a replay: five minutes either way.
pub const REPLAY_TOLERANCE_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// A webhook endpoint's signing secret, as Omise hands it out: base64 text of random bytes.
#[derive(Clone)]
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    /// The secret from its base64 text; `None` when the text is not base64 or decodes to nothing.
    pub fn from_base64(text: &str) -> Option<Self> {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .filter(|key| !key.is_empty())
            .map(Self)
    }

    /// The hex HMAC-SHA256 of `timestamp.body` under this secret.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        hex(&mac.finalize().into_bytes())
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length; new_from_slice cannot fail for it.
        HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length")
    }
}

/// Never prints the secret.
impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(..)")
    }
}

/// The `Omise-Signature` value for `body` sent at `timestamp`: one signature per secret, the
/// current secret's first, comma-separated (two during a rotation).
pub fn signature_header(secrets: &[&SigningSecret], timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(timestamp, body))
        .collect::<Vec<_>>()
        .join(",")
}

/// When a failing endpoint is tried again, and for how long an event is kept for it.
///
/// After the `n`th failure in a row the endpoint's oldest waiting event is tried again after
/// `first × 2^(n-1)`, at most `cap` apart: with the defaults 1, 2, 4, 8, 16, 32 minutes, then
/// every hour. An event is given up when it is older than `give_up` (three days: more than a
/// weekend's outage, and well past the 24 hours a merchant may count on).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetrySchedule {
    pub first: std::time::Duration,
    pub cap: std::time::Duration,
    pub give_up: std::time::Duration,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            first: std::time::Duration::from_secs(60),
            cap: std::time::Duration::from_secs(3600),
            give_up: std::time::Duration::from_secs(3 * 24 * 3600),
        }
    }
}

impl RetrySchedule {
    /// The default schedule with every duration multiplied by `factor`: tests run the real
    /// schedule on a faster clock (1/60 turns its minutes into seconds).
    pub fn scaled(factor: f64) -> Self {
        let d = Self::default();
        let scale = |x: std::time::Duration| x.mul_f64(factor.clamp(1e-4, 1.0));
        Self {
            first: scale(d.first),
            cap: scale(d.cap),
            give_up: scale(d.give_up),
        }
    }

    /// The pause before the next try after `failures` failures in a row (from 1).
    pub fn delay(&self, failures: u32) -> std::time::Duration {
        let doublings = failures.max(1).saturating_sub(1).min(30);
        self.first.saturating_mul(1 << doublings).min(self.cap)
    }

    /// When, after a failed try, the next one is due: [`RetrySchedule::delay`] less a twelfth of
    /// `first` (5 s by default). The sweep that tries comes once a minute, and tries happen
    /// during sweeps: a try due a whole delay after one would just miss the tick that delay
    /// later and wait for the one after, adding a minute to every pause.
    pub fn next_due(&self, failures: u32) -> std::time::Duration {
        self.delay(failures).saturating_sub(self.first / 12)
    }

    /// How many tries an event that waits from the start of an outage gets before it is given
    /// up, and the moments (from the first failure) they happen at.
    pub fn tries(&self) -> Vec<std::time::Duration> {
        let mut at = std::time::Duration::ZERO;
        let mut tries = vec![at];
        let mut failures = 1;
        loop {
            at += self.delay(failures);
            if at > self.give_up {
                return tries;
            }
            tries.push(at);
            failures += 1;
        }
    }
}

/// Why a receiver refuses a delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The timestamp header is not a whole number of seconds.
    BadTimestamp,
    /// The timestamp is further than [`REPLAY_TOLERANCE_SECS`] from the receiver's clock.
    Stale,
    /// No signature in the header matches the body under the receiver's secret.
    BadSignature,
}

/// A receiver's check of one delivery: the timestamp is a number within the replay window around
/// `now`, and one of the header's signatures is the body's under `secret`. Compared in constant
/// time, so the check leaks nothing about how much of a forged signature was right.
pub fn verify(
    secret: &SigningSecret,
    signature_header: &str,
    timestamp_header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), Refusal> {
    let timestamp: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| Refusal::BadTimestamp)?;
    if (now - timestamp).abs() > REPLAY_TOLERANCE_SECS {
        return Err(Refusal::Stale);
    }
    let matches = signature_header.split(',').any(|candidate| {
        let Some(tag) = unhex(candidate.trim()) else {
            return false;
        };
        let mut mac = secret.mac();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&tag).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(Refusal::BadSignature)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SigningSecret {
        SigningSecret::from_base64(text).expect("a base64 secret")
    }

    /// RFC 4231's test case 2, as a check of the HMAC-SHA256 underneath: key "Jefe", data
    /// "what do ya want for nothing?". The data is split as `timestamp.body` would be, so the
    /// test runs through `sign` itself.
    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        let jefe = SigningSecret(b"Jefe".to_vec());
        let mut mac = jefe.mac();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// A vector from an independent implementation, Python's standard library:
    /// `hmac.new(base64.b64decode("c2VjcmV0LWtleS1mb3ItdGVzdHM="),
    ///  b'1700000000.{"object":"event","key":"link.create"}', hashlib.sha256).hexdigest()`.
    #[test]
    fn a_signature_matches_pythons_hmac_for_timestamp_dot_body() {
        let body = br#"{"object":"event","key":"link.create"}"#;
        assert_eq!(
            secret("c2VjcmV0LWtleS1mb3ItdGVzdHM=").sign(1_700_000_000, body),
            "2fd5a38549dd94b881d6d3cc964426669db69bb30022c43a2499bd15e7cee2a7"
        );
    }

    #[test]
    fn a_rotation_signs_with_both_secrets_and_either_verifies() {
        let (old, new) = (secret("b2xkLXNlY3JldA=="), secret("bmV3LXNlY3JldA=="));
        let body = br#"{"object":"event"}"#;
        let header = signature_header(&[&new, &old], 1_700_000_000, body);
        let parts: Vec<&str> = header.split(',').collect();
        assert_eq!(
            parts,
            [new.sign(1_700_000_000, body), old.sign(1_700_000_000, body)]
        );
        for receiver in [&old, &new] {
            assert_eq!(
                verify(receiver, &header, "1700000000", body, 1_700_000_010),
                Ok(())
            );
        }
        let other = secret("b3RoZXI=");
        assert_eq!(
            verify(&other, &header, "1700000000", body, 1_700_000_010),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn verify_refuses_a_changed_body_timestamp_or_signature_and_a_stale_delivery() {
        let key = secret("c2VjcmV0LWtleS1mb3ItdGVzdHM=");
        let body = b"{}";
        let good = key.sign(1_700_000_000, body);
        let at = |now| verify(&key, &good, "1700000000", body, now);
        assert_eq!(at(1_700_000_000 + REPLAY_TOLERANCE_SECS), Ok(()));
        assert_eq!(at(1_700_000_000 - REPLAY_TOLERANCE_SECS), Ok(()));
        assert_eq!(
            at(1_700_000_001 + REPLAY_TOLERANCE_SECS),
            Err(Refusal::Stale)
        );
        assert_eq!(
            verify(&key, &good, "1700000000", b"{ }", 1_700_000_000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify(&key, &good, "1700000001", body, 1_700_000_000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify(&key, &good[..62], "1700000000", body, 1_700_000_000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify(&key, "zz", "1700000000", body, 1_700_000_000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify(&key, &good, "soon", body, 1_700_000_000),
            Err(Refusal::BadTimestamp)
        );
    }

    #[test]
    fn a_secret_must_be_base64_of_something_and_never_prints() {
        assert!(SigningSecret::from_base64("not base64!").is_none());
        assert!(SigningSecret::from_base64("").is_none());
        assert_eq!(format!("{:?}", secret("c2VjcmV0")), "SigningSecret(..)");
    }

    #[test]
    fn retries_double_from_a_minute_to_an_hour_and_stop_after_three_days() {
        let s = RetrySchedule::default();
        let minutes: Vec<u64> = (1..=9).map(|n| s.delay(n).as_secs() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(s.delay(0), s.delay(1));
        assert_eq!(s.delay(u32::MAX).as_secs(), 3600);
        let tries = s.tries();
        // 63 minutes of doubling, then hourly up to 72 hours.
        assert_eq!(tries[6].as_secs(), 63 * 60);
        assert_eq!(tries.len(), 7 + 70);
        assert!(tries.last().unwrap().as_secs() <= 72 * 3600);
        assert!(tries.iter().any(|t| t.as_secs() >= 24 * 3600));
        assert_eq!(s.next_due(1).as_secs(), 55);
        assert_eq!(s.next_due(9).as_secs(), 3595);
        let fast = RetrySchedule::scaled(1.0 / 60.0);
        assert_eq!(fast.delay(1).as_secs(), 1);
        assert_eq!(fast.delay(9).as_secs(), 60);
        assert_eq!(fast.tries().len(), tries.len());
    }
}
