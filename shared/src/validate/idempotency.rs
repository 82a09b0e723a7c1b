//! The `Idempotency-Key` header of a create.

use crate::domain::error::ApiError;
use crate::domain::principal::hex;
use sha2::{Digest, Sha256};

/// Longest key accepted, as other payment APIs take (a UUID is 36).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A client's idempotency key. Only its digest is ever stored: keys are the client's to choose and
/// may carry anything, so they are neither logged nor echoed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    digest: String,
}

impl IdempotencyKey {
    /// The key of a request, from the header's value (`None` when the header is absent): 1 to 255
    /// printable ASCII characters, not all spaces.
    pub fn parse(header: Option<&[u8]>) -> Result<Option<Self>, ApiError> {
        let Some(raw) = header else {
            return Ok(None);
        };
        let valid = !raw.is_empty()
            && raw.len() <= MAX_IDEMPOTENCY_KEY_LEN
            && raw.iter().all(|b| (b' '..=b'~').contains(b))
            && raw.iter().any(|&b| b != b' ');
        if !valid {
            return Err(ApiError::BadRequest(format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
            )));
        }
        Ok(Some(Self {
            digest: hex(&Sha256::digest(raw)),
        }))
    }

    /// The SHA-256 of the key, in hex: what the store keys its record by.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_header_is_no_key() {
        assert_eq!(IdempotencyKey::parse(None).unwrap(), None);
    }

    #[test]
    fn printable_keys_up_to_255_characters_are_taken_and_hashed() {
        let uuid = b"3f2b8a1c-6d1e-4c2a-9f3e-2b7c1d0e9a88";
        let key = IdempotencyKey::parse(Some(uuid)).unwrap().unwrap();
        assert_eq!(key.digest().len(), 64);
        assert!(!key.digest().contains("3f2b8a1c"));
        let longest = vec![b'~'; MAX_IDEMPOTENCY_KEY_LEN];
        assert!(IdempotencyKey::parse(Some(&longest)).unwrap().is_some());
        assert!(IdempotencyKey::parse(Some(b" a ")).unwrap().is_some());
        assert_ne!(
            IdempotencyKey::parse(Some(b"a")).unwrap(),
            IdempotencyKey::parse(Some(b"A")).unwrap()
        );
    }

    #[test]
    fn empty_long_blank_or_unprintable_keys_are_refused() {
        let too_long = vec![b'a'; MAX_IDEMPOTENCY_KEY_LEN + 1];
        for bad in [
            &b""[..],
            b"   ",
            &too_long,
            b"tab\there",
            b"line\n",
            "ไทย".as_bytes(),
            b"\x7f",
        ] {
            let err = IdempotencyKey::parse(Some(bad)).unwrap_err();
            assert_eq!(err.code(), "bad_request", "{bad:?}");
        }
    }
}
