//! Attempts: one buyer's try at paying a link, from the form they submit to the charge it
//! makes, and the attempt keys that name them.
//!
//! # Attempt keys
//!
//! Each rendering of the payment form carries an attempt key, issued by the service and signed
//! ([`AttemptKeys::issue`]): when it was issued, a random nonce, and an HMAC-SHA256 under a
//! server-side secret over both and the link's payment token. A key is taken only from the page
//! it was issued for, and only while it is younger than an attempt's record lives
//! ([`ATTEMPT_TTL`]), so a form resubmitted after its record is gone is refused rather than
//! paying again. Keys carry the id of the secret that signed them, so a secret can be rotated
//! while forms signed with the old one are still open (see [`AttemptKeys::from_secret`]).
//!
//! # The attempt record
//!
//! An [`Attempt`] is written before any processor is asked anything (see `payments`), so a
//! function that dies at any step leaves a record that a sweep finishes or undoes. Its
//! [`AttemptState`] moves only forward:
//!
//! ```text
//! started ──> pending ──> done
//!    │    └─────────────> done
//!    └──> abandoned            (the processor never heard of it: nothing was charged)
//! ```

use super::principal::{Principal, hex};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;

/// How long an attempt's record is kept, and so how long an attempt key is taken.
pub const ATTEMPT_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a card attempt may wait for its processor's answer before anyone else settles it. A
/// function lives at most 10 s (its timeout), so after this no request is still asking.
pub const CARD_WINDOW: Duration = Duration::from_secs(2 * 60);
/// How long a buyer has to authenticate with their bank (3-D Secure) before the charge expires.
pub const AUTHENTICATION_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long a PromptPay QR code can be paid before the charge expires.
pub const PROMPTPAY_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How far in the future a key's issue time may be, for clocks that differ between instances.
const CLOCK_SKEW: i64 = 5 * 60;

/// How a buyer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Card,
    PromptPay,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::PromptPay => "promptpay",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Card, Self::PromptPay]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// Where an attempt is. See the module's notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptState {
    /// Recorded; the processor may or may not have been asked yet. No charge exists.
    Started,
    /// The processor answered with a pending charge, which is recorded.
    Pending,
    /// Its charge is recorded and final.
    Done,
    /// The processor never heard of it: nothing was charged, and no charge exists.
    Abandoned,
}

impl AttemptState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Started, Self::Pending, Self::Done, Self::Abandoned]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Whether the attempt has nothing left to settle.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Done | Self::Abandoned)
    }
}

/// One buyer's attempt, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// [`attempt_id`] of the page's token and the form's attempt key.
    pub id: String,
    pub owner: Principal,
    /// The link it pays.
    pub link: String,
    pub payment_token: String,
    pub method: Method,
    pub state: AttemptState,
    /// What the processor knows the attempt by: an HMAC of the link and the attempt, made here,
    /// so that no client's value ever reaches the processor as a key.
    pub gateway_key: String,
    /// The processor's charge, once it answered.
    pub processor_charge: Option<String>,
    /// The charge recorded for it, once the processor answered.
    pub charge: Option<String>,
    /// Until when it may stay unsettled: after this, whoever finds it (a sweep, the next buyer
    /// of a link it holds, its own buyer coming back) asks the processor and settles it.
    pub deadline: DateTime<Utc>,
    pub created: DateTime<Utc>,
    /// The buyer's address, for the failed-payment bounds.
    pub ip: Option<String>,
    /// The card's fingerprint, for the failed-payment bounds.
    pub fingerprint: Option<String>,
    /// Where the buyer comes back to from their bank, and where a PromptPay page lives.
    pub return_uri: String,
    /// Whether it holds its single-use link, so that no one else pays it meanwhile.
    pub holds_link: bool,
    /// Whether it holds one of a limited link's places (see `Link::places_taken`), given back
    /// if it ends unpaid.
    pub holds_place: bool,
}

impl Attempt {
    /// Whether its time is up: whoever finds it unsettled now settles it.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        now > self.deadline
    }
}

/// The id of the attempt `attempt_key` makes on the page of `payment_token`: a digest of both,
/// so that one link's keys never meet another's. It names the attempt in URLs (the return page)
/// and in the table, and gives away nothing of the key.
pub fn attempt_id(payment_token: &str, attempt_key: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(payment_token.as_bytes());
    digest.update([0]);
    digest.update(attempt_key.as_bytes());
    hex(&digest.finalize()[..16])
}

/// Whether `id` has the shape of an attempt id (32 lowercase hex digits).
pub fn is_attempt_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

type HmacSha256 = Hmac<Sha256>;

/// One signing secret and the id keys signed with it carry.
struct SigningKey {
    id: String,
    secret: Vec<u8>,
}

impl SigningKey {
    fn new(secret: &str) -> Self {
        let mut digest = Sha256::new();
        digest.update(b"links attempt key id\0");
        digest.update(secret.as_bytes());
        Self {
            id: hex(&digest.finalize()[..4]),
            secret: secret.as_bytes().to_vec(),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("HMAC takes a key of any length");
        for part in parts {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part);
        }
        mac
    }
}

/// The secrets attempt keys are signed with: the current one, which signs, and the one before a
/// rotation, which still verifies the keys it signed until they expire.
pub struct AttemptKeys {
    current: SigningKey,
    previous: Option<SigningKey>,
}

/// Never the secrets.
impl fmt::Debug for AttemptKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttemptKeys")
            .field("current", &self.current.id)
            .field("previous", &self.previous.as_ref().map(|k| &k.id))
            .finish()
    }
}

/// Why an attempt key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// Not the shape of a key this service issues.
    Malformed,
    /// Signed by a secret this instance does not hold: forged, or signed after a rotation this
    /// instance has not read yet.
    UnknownSecret,
    /// The signature is wrong: forged, or issued for another link's page.
    Forged,
    /// Older than an attempt's record lives (or issued in the future).
    Expired,
}

/// The smallest secret taken: 32 characters (at least 128 bits when generated as the template
/// generates it).
pub const MIN_SECRET_LEN: usize = 32;

/// Hex digits in each part of a key: the secret's id, the issue time (seconds), the nonce and
/// the truncated MAC.
const ID_LEN: usize = 8;
const TIME_LEN: usize = 8;
const NONCE_LEN: usize = 24;
const MAC_LEN: usize = 32;
/// The length of an attempt key.
pub const KEY_LEN: usize = ID_LEN + TIME_LEN + NONCE_LEN + MAC_LEN;

impl AttemptKeys {
    /// Keys from the secret's JSON, `{"current": "…", "previous": "…"}` (`previous` optional), as
    /// Secrets Manager holds it. To rotate: move `current` to `previous`, put a new `current`,
    /// and keep `previous` for at least [`ATTEMPT_TTL`].
    pub fn from_secret(json: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|_| "the attempt secret is not JSON".to_owned())?;
        let secret = |name: &str| -> Result<Option<SigningKey>, String> {
            match value.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) if s.len() >= MIN_SECRET_LEN => {
                    Ok(Some(SigningKey::new(s)))
                }
                Some(_) => Err(format!(
                    "the attempt secret's {name:?} must be a string of at least {MIN_SECRET_LEN} characters"
                )),
            }
        };
        let current =
            secret("current")?.ok_or_else(|| "the attempt secret has no \"current\"".to_owned())?;
        Ok(Self {
            current,
            previous: secret("previous")?,
        })
    }

    /// A fresh key for a form on the page of `payment_token`, issued at `now`.
    pub fn issue(&self, payment_token: &str, now: DateTime<Utc>) -> String {
        let mut nonce = [0u8; NONCE_LEN / 2];
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        let issued = format!("{:08x}", now.timestamp().clamp(0, u32::MAX as i64));
        let nonce = hex(&nonce);
        let mac = self.current.mac(&[
            self.current.id.as_bytes(),
            issued.as_bytes(),
            nonce.as_bytes(),
            payment_token.as_bytes(),
        ]);
        let tag = hex(&mac.finalize().into_bytes()[..MAC_LEN / 2]);
        format!("{}{issued}{nonce}{tag}", self.current.id)
    }

    /// Whether `key` was issued by this service for the page of `payment_token`, and is young
    /// enough to be taken at `now`.
    pub fn check(
        &self,
        payment_token: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), KeyProblem> {
        if key.len() != KEY_LEN || !key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(KeyProblem::Malformed);
        }
        let (id, rest) = key.split_at(ID_LEN);
        let (issued, rest) = rest.split_at(TIME_LEN);
        let (nonce, tag) = rest.split_at(NONCE_LEN);
        let signer = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|k| k.id == id)
            .ok_or(KeyProblem::UnknownSecret)?;
        let mac = signer.mac(&[
            id.as_bytes(),
            issued.as_bytes(),
            nonce.as_bytes(),
            payment_token.as_bytes(),
        ]);
        let tag = decode_hex(tag).ok_or(KeyProblem::Malformed)?;
        mac.verify_truncated_left(&tag)
            .map_err(|_| KeyProblem::Forged)?;
        let issued = i64::from_str_radix(issued, 16).map_err(|_| KeyProblem::Malformed)?;
        let age = now.timestamp() - issued;
        if age > ATTEMPT_TTL.as_secs() as i64 || age < -CLOCK_SKEW {
            return Err(KeyProblem::Expired);
        }
        Ok(())
    }

    /// The key the processor knows attempt `attempt_id` on link `link_id` by: an HMAC under the
    /// current secret, so that it cannot be made or guessed from outside, and differs per link.
    pub fn gateway_key(&self, link_id: &str, attempt_id: &str) -> String {
        let mac = self
            .current
            .mac(&[b"gateway", link_id.as_bytes(), attempt_id.as_bytes()]);
        hex(&mac.finalize().into_bytes()[..16])
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = r#"{"current": "0123456789abcdef0123456789abcdef-current"}"#;

    fn keys(json: &str) -> AttemptKeys {
        AttemptKeys::from_secret(json).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_key_is_taken_on_its_own_page_while_young() {
        let keys = keys(SECRET);
        let now = at("2026-12-04T08:00:00Z");
        let key = keys.issue("TOKEN1", now);
        assert_eq!(key.len(), KEY_LEN);
        assert_eq!(keys.check("TOKEN1", &key, now), Ok(()));
        assert_eq!(
            keys.check("TOKEN1", &key, now + chrono::Duration::hours(23)),
            Ok(())
        );
        assert_eq!(
            keys.check("TOKEN1", &key, now + chrono::Duration::hours(25)),
            Err(KeyProblem::Expired),
            "older than its record lives"
        );
        assert_eq!(
            keys.check("TOKEN1", &key, now - chrono::Duration::hours(1)),
            Err(KeyProblem::Expired),
            "issued in the future"
        );
        assert_eq!(
            keys.check("TOKEN2", &key, now),
            Err(KeyProblem::Forged),
            "another link's page"
        );
        assert_ne!(key, keys.issue("TOKEN1", now), "a fresh nonce each time");
    }

    #[test]
    fn altered_and_foreign_keys_are_refused() {
        let keys = keys(SECRET);
        let now = at("2026-12-04T08:00:00Z");
        let key = keys.issue("T", now);
        // A later issue time, re-signed by no one.
        let mut later = key.clone();
        later.replace_range(
            ID_LEN..ID_LEN + TIME_LEN,
            &format!("{:08x}", now.timestamp() + 60),
        );
        assert_eq!(keys.check("T", &later, now), Err(KeyProblem::Forged));
        let mut flipped = key.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            keys.check("T", &String::from_utf8(flipped).unwrap(), now),
            Err(KeyProblem::Forged)
        );
        let other =
            AttemptKeys::from_secret(r#"{"current": "another secret of thirty-two characters"}"#)
                .unwrap();
        assert_eq!(other.check("T", &key, now), Err(KeyProblem::UnknownSecret));
        for bad in [
            "",
            "abc",
            &key[1..],
            &key.to_uppercase(),
            &format!("{key}0"),
        ] {
            assert_eq!(
                keys.check("T", bad, now),
                Err(KeyProblem::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_rotated_secret_still_takes_the_keys_it_signed() {
        let old = keys(SECRET);
        let now = at("2026-12-04T08:00:00Z");
        let key = old.issue("T", now);
        let rotated = keys(
            r#"{"current": "a brand new secret, thirty-two chars", "previous": "0123456789abcdef0123456789abcdef-current"}"#,
        );
        assert_eq!(rotated.check("T", &key, now), Ok(()));
        let fresh = rotated.issue("T", now);
        assert_eq!(rotated.check("T", &fresh, now), Ok(()));
        assert_eq!(old.check("T", &fresh, now), Err(KeyProblem::UnknownSecret));
    }

    #[test]
    fn secrets_must_be_long_and_are_never_printed() {
        for bad in [
            "",
            "{}",
            r#"{"current": "short"}"#,
            r#"{"current": 12345678901234567890123456789012345}"#,
            r#"{"current": "0123456789abcdef0123456789abcdef", "previous": "x"}"#,
        ] {
            assert!(AttemptKeys::from_secret(bad).is_err(), "{bad}");
        }
        let printed = format!("{:?}", keys(SECRET));
        assert!(!printed.contains("0123456789abcdef"), "{printed}");
    }

    #[test]
    fn gateway_keys_differ_per_link_and_attempt() {
        let keys = keys(SECRET);
        let a = keys.gateway_key("link_1", "a");
        assert_eq!(a, keys.gateway_key("link_1", "a"));
        assert_ne!(a, keys.gateway_key("link_2", "a"));
        assert_ne!(a, keys.gateway_key("link_1", "b"));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn attempt_ids_are_digests_of_page_and_key() {
        let id = attempt_id("TOKEN", "key");
        assert!(is_attempt_id(&id), "{id}");
        assert_ne!(id, attempt_id("TOKEN", "key2"));
        assert_ne!(id, attempt_id("TOKEN2", "key"));
        // The separator keeps the two apart.
        assert_ne!(attempt_id("AB", "C"), attempt_id("A", "BC"));
        assert!(!is_attempt_id("0123"));
        assert!(!is_attempt_id(&id.to_uppercase()));
    }
}
