//! Identifiers and secrets: link ids, payment-page tokens, account ids and secret keys.
//!
//! Every one carries at least 80 bits from the operating system's CSPRNG, so none can be guessed
//! or enumerated. Link ids also start with their creation time, so that sorting ids sorts links by
//! creation: a link's DynamoDB sort key is its id, and listing in time order is a plain range
//! query with no index.

use chrono::{DateTime, Utc};

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Width of the time prefix of a link id: 36^9 ms reaches the year 5188.
pub const TIME_WIDTH: usize = 9;
/// Width of the random part of a link id: 36^16 > 2^80.
const LINK_RANDOM_WIDTH: usize = 16;

/// Fills `n` (≤ 16) random bytes into a u128.
fn random_bits(bytes: usize) -> u128 {
    let mut buf = [0u8; 16];
    // An OS without a working CSPRNG cannot safely mint ids or keys; there is no fallback.
    getrandom::fill(&mut buf[..bytes]).expect("the operating system's random source failed");
    u128::from_le_bytes(buf)
}

/// Base 36, lowercase, left-padded with zeros to `width` (wider values are not truncated).
pub fn base36(mut value: u128, width: usize) -> String {
    // A u128 has at most 25 base-36 digits: filling a fixed buffer from the right takes a fixed
    // number of steps and no allocation, whatever the value.
    let mut digits = [b'0'; 25];
    for slot in digits.iter_mut().rev() {
        *slot = ALPHABET[(value % 36) as usize];
        value /= 36;
    }
    let leading_zeros = digits.iter().take_while(|&&d| d == b'0').count();
    let significant = &digits[leading_zeros..];
    let mut out = String::with_capacity(width.max(significant.len()));
    out.extend(std::iter::repeat_n(
        '0',
        width.saturating_sub(significant.len()),
    ));
    out.push_str(std::str::from_utf8(significant).expect("base36 digits are ASCII"));
    out
}

/// The fixed-width time prefix for a moment, clamped to the representable range.
pub fn time_prefix(at_ms: i64) -> String {
    let max = 36_u128.pow(TIME_WIDTH as u32) - 1;
    base36((at_ms.max(0) as u128).min(max), TIME_WIDTH)
}

/// The id prefix for a mode: `link_test_` or `link_`.
pub fn link_prefix(livemode: bool) -> &'static str {
    if livemode { "link_" } else { "link_test_" }
}

/// The id prefix of a charge in a mode: `chrg_test_` or `chrg_`.
pub fn charge_prefix(livemode: bool) -> &'static str {
    if livemode { "chrg_" } else { "chrg_test_" }
}

/// The id prefix of an event in a mode: `evnt_test_` or `evnt_`.
pub fn event_prefix(livemode: bool) -> &'static str {
    if livemode { "evnt_" } else { "evnt_test_" }
}

/// A new event id, shaped and ordered as link ids are: events list newest first by id alone.
pub fn new_event_id(livemode: bool, created: DateTime<Utc>) -> String {
    new_timed_id(event_prefix(livemode), created)
}

/// Whether `id` has the shape of an event id of the given mode.
pub fn is_event_id(id: &str, livemode: bool) -> bool {
    is_timed_id(id, event_prefix(livemode))
}

/// A new link id: prefix, creation time in ms, 80 random bits.
pub fn new_link_id(livemode: bool, created: DateTime<Utc>) -> String {
    new_timed_id(link_prefix(livemode), created)
}

/// A new charge id, shaped and ordered as link ids are.
pub fn new_charge_id(livemode: bool, created: DateTime<Utc>) -> String {
    new_timed_id(charge_prefix(livemode), created)
}

/// `prefix`, the creation time in ms, 80 random bits: ids that sort by creation.
fn new_timed_id(prefix: &str, created: DateTime<Utc>) -> String {
    format!(
        "{prefix}{}{}",
        time_prefix(created.timestamp_millis()),
        base36(random_bits(10), LINK_RANDOM_WIDTH)
    )
}

/// An id with no time in it (`card_test_…`, `trxn_test_…`): the prefix and 80 random bits.
pub fn new_plain_id(kind: &str, livemode: bool) -> String {
    let mode = if livemode { "" } else { "test_" };
    format!(
        "{kind}_{mode}{}",
        base36(random_bits(10), LINK_RANDOM_WIDTH)
    )
}

/// Whether `id` has the shape of a plain id of `kind` in the given mode (`rfnd_test_…`).
pub fn is_plain_id(id: &str, kind: &str, livemode: bool) -> bool {
    let mode = if livemode { "" } else { "test_" };
    id.strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix('_'))
        .and_then(|rest| rest.strip_prefix(mode))
        .is_some_and(|rest| {
            rest.len() == LINK_RANDOM_WIDTH
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        })
}

/// The creation time, in milliseconds, of a time-prefixed id whose mode prefix is `prefix`.
pub fn time_of(id: &str, prefix: &str) -> Option<i64> {
    let digits = id.strip_prefix(prefix)?.get(..TIME_WIDTH)?;
    let mut ms: i64 = 0;
    for b in digits.bytes() {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'z' => b - b'a' + 10,
            _ => return None,
        };
        ms = ms * 36 + i64::from(digit);
    }
    Some(ms)
}

/// Whether `id` has the shape of a link id of the given mode. A malformed id cannot exist, so it
/// is answered `not_found` without a database read.
pub fn is_link_id(id: &str, livemode: bool) -> bool {
    is_timed_id(id, link_prefix(livemode))
}

/// Whether `id` has the shape of a charge id of the given mode.
pub fn is_charge_id(id: &str, livemode: bool) -> bool {
    is_timed_id(id, charge_prefix(livemode))
}

fn is_timed_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == TIME_WIDTH + LINK_RANDOM_WIDTH
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// A payment-page token (96 random bits), the last segment of a link's `payment_uri`.
pub fn new_payment_token() -> String {
    base36(random_bits(12), 19).to_ascii_uppercase()
}

/// A new account id (80 random bits).
pub fn new_account_id() -> String {
    format!("acct_{}", base36(random_bits(10), 16))
}

/// A new secret key (128 random bits): `skey_test_…` or `skey_live_…`.
pub fn new_secret_key(livemode: bool) -> String {
    let mode = if livemode { "live" } else { "test" };
    format!("skey_{mode}_{}", base36(random_bits(16), 25))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn base36_pads_and_encodes() {
        assert_eq!(base36(0, 3), "000");
        assert_eq!(base36(35, 1), "z");
        assert_eq!(base36(36, 1), "10");
        assert_eq!(base36(u128::MAX, 0).len(), 25);
        assert_eq!(base36(u128::MAX, 0), "f5lxx1zz5pnorynqglhzmsp33");
        assert_eq!(base36(36 * 36 * 36 - 1, 5), "00zzz");
        assert_eq!(base36(0, 0), "");
    }

    #[test]
    fn link_ids_have_the_omise_shape_and_sort_by_creation() {
        let early = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let late = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 1).unwrap();
        let a = new_link_id(false, early);
        let b = new_link_id(false, late);
        assert!(a.starts_with("link_test_"), "{a}");
        assert!(is_link_id(&a, false));
        assert!(!is_link_id(&a, true));
        assert!(
            new_link_id(true, early).starts_with("link_")
                && is_link_id(&new_link_id(true, early), true)
        );
        assert!(a < b, "{a} should sort before {b}");
    }

    #[test]
    fn charge_ids_are_shaped_and_ordered_as_link_ids() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let test = new_charge_id(false, at);
        assert!(
            test.starts_with("chrg_test_") && is_charge_id(&test, false),
            "{test}"
        );
        assert!(!is_charge_id(&test, true) && !is_link_id(&test, false));
        let live = new_charge_id(true, at);
        assert!(
            live.starts_with("chrg_") && is_charge_id(&live, true),
            "{live}"
        );
        assert_eq!(time_of(&test, "chrg_test_"), Some(at.timestamp_millis()));
        assert!(test < new_charge_id(false, at + chrono::Duration::milliseconds(1)));
        let card = new_plain_id("card", false);
        assert!(card.starts_with("card_test_") && card.len() == 26, "{card}");
        assert!(new_plain_id("trxn", true).starts_with("trxn_"));
        assert!(!new_plain_id("trxn", true).starts_with("trxn_test_"));
    }

    #[test]
    fn link_ids_differ_within_the_same_millisecond() {
        let now = Utc::now();
        let ids: std::collections::HashSet<_> =
            (0..1000).map(|_| new_link_id(false, now)).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn malformed_ids_are_recognised() {
        for id in [
            "",
            "link_test_",
            "link_test_ABC",
            "chrg_test_1",
            "link_test_../../x",
            "link_test_0000000000000000000000000é",
        ] {
            assert!(!is_link_id(id, false), "{id}");
        }
    }

    #[test]
    fn secrets_have_their_prefix_and_length() {
        let k = new_secret_key(false);
        assert!(k.starts_with("skey_test_") && k.len() == 35, "{k}");
        assert!(new_secret_key(true).starts_with("skey_live_"));
        assert_eq!(new_payment_token().len(), 19);
        assert_ne!(new_payment_token(), new_payment_token());
    }

    #[test]
    fn the_creation_time_reads_back_from_an_id() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 6, 47, 54).unwrap()
            + chrono::Duration::milliseconds(123);
        let id = new_link_id(false, at);
        assert_eq!(time_of(&id, "link_test_"), Some(at.timestamp_millis()));
        assert_eq!(time_of(&id, "link_"), None, "the prefix must match");
        assert_eq!(time_of("link_test_ABC", "link_test_"), None);
        assert_eq!(
            time_of("link_test_0000000z", "link_test_"),
            None,
            "too short"
        );
        assert_eq!(time_of("link_test_00000000z", "link_test_"), Some(35));
    }

    #[test]
    fn time_prefix_clamps() {
        assert_eq!(time_prefix(-5), "000000000");
        assert_eq!(time_prefix(i64::MAX), "zzzzzzzzz");
    }
}
