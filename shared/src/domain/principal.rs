//! Who calls the API, and the secret keys that say so.
//!
//! Keys are stored only as SHA-256 hashes. A plain, unsalted hash is enough because every key
//! carries 128 random bits (see [`super::ids::new_secret_key`]): there is no dictionary to attack,
//! and a fast hash keeps the lookup cheap.

use sha2::{Digest, Sha256};

/// Longer "keys" are refused without hashing or a lookup. Real keys are 35 characters.
pub const MAX_KEY_LEN: usize = 128;
/// Characters of a key kept in clear for operators to recognise it (`skey_test_5ab3`): the mode
/// prefix and 4 of the 25 random base-36 digits, which leaves over 100 bits unknown.
pub const KEY_DISPLAY_LEN: usize = 14;

/// An account, in test or live mode: the owner of every object the caller can see.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub account_id: String,
    pub livemode: bool,
}

/// The SHA-256 of a secret key, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    pub fn of(secret_key: &str) -> Self {
        Self(Sha256::digest(secret_key.as_bytes()).into())
    }

    pub fn to_hex(self) -> String {
        hex(&self.0)
    }
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The secret key's mode from its prefix (`false` for test, `true` for live), or `None` if it
/// cannot be a secret key at all (a public key, anything else, or absurdly long).
pub fn key_mode(key: &str) -> Option<bool> {
    if key.len() > MAX_KEY_LEN {
        None
    } else if key.starts_with("skey_test_") {
        Some(false)
    } else if key.starts_with("skey_live_") {
        Some(true)
    } else {
        None
    }
}

/// The part of a key shown to operators: the mode prefix and a few characters.
pub fn key_display(key: &str) -> &str {
    key.get(..KEY_DISPLAY_LEN).unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_secret_keys_have_a_mode() {
        assert_eq!(key_mode("skey_test_x"), Some(false));
        assert_eq!(key_mode("skey_live_x"), Some(true));
        assert_eq!(key_mode("pkey_test_x"), None);
        assert_eq!(key_mode("skey_x"), None);
        assert_eq!(key_mode(""), None);
    }

    #[test]
    fn a_key_of_exactly_the_maximum_length_is_still_a_key() {
        let longest = format!("skey_test_{}", "x".repeat(MAX_KEY_LEN - 10));
        assert_eq!(longest.len(), MAX_KEY_LEN);
        assert_eq!(key_mode(&longest), Some(false));
        assert_eq!(key_mode(&format!("{longest}x")), None);
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            KeyHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0, 1, 0xab]), "0001ab");
    }

    #[test]
    fn the_display_part_is_the_prefix_and_four_characters() {
        assert_eq!(
            key_display("skey_test_5ab3zzzzzzzzzzzzzzzzzzzzz"),
            "skey_test_5ab3"
        );
        assert_eq!(key_display("short"), "short");
    }
}
