//! HTTP Basic authentication with a secret key, as Omise does it: `-u skey_test_…:`.
//!
//! Keys are stored only as SHA-256 hashes. A plain, unsalted hash is enough here because every
//! key carries 128 random bits: there is no dictionary to attack, and a fast hash keeps the lookup
//! cheap. A warm instance remembers each key it has verified for [`KEY_CACHE_TTL`], so a repeat
//! caller costs no extra DynamoDB round trip; the price is that a revoked key keeps working on an
//! instance that has already seen it for at most that long.

use crate::error::ApiError;
use crate::store::Store;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::Request;
use lambda_http::http::header;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a verified key is trusted without asking DynamoDB again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(60);
/// Bound on remembered keys, so a flood of distinct keys cannot grow memory.
const KEY_CACHE_CAPACITY: usize = 1_024;
/// Longer "keys" are refused without hashing or a lookup.
const MAX_KEY_LEN: usize = 128;

/// Who is calling: an account, in test or live mode.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The secret key's mode, from its prefix, or `None` if it is not a secret key at all.
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

/// The username of an `Authorization: Basic` header. The password is ignored, as Omise does.
fn basic_username(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(credentials.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let username = text.split_once(':').map_or(text.as_str(), |(user, _)| user);
    Some(username.to_owned())
}

/// Verifies secret keys against the store, remembering the good ones for a while.
#[derive(Default)]
pub struct Authenticator {
    cache: Mutex<HashMap<KeyHash, (Principal, Instant)>>,
}

impl Authenticator {
    /// The caller of `req`, or `authentication_failure`.
    pub async fn authenticate(&self, store: &Store, req: &Request) -> Result<Principal, ApiError> {
        let key = basic_username(req).ok_or(ApiError::AuthenticationFailure)?;
        let mode = key_mode(&key).ok_or(ApiError::AuthenticationFailure)?;
        let hash = KeyHash::of(&key);
        drop(key);
        if let Some(principal) = self.cached(&hash) {
            return Ok(principal);
        }
        let principal = store
            .find_key(&hash)
            .await?
            .ok_or(ApiError::AuthenticationFailure)?;
        // A stored key whose mode differs from its prefix would be a corrupt record: refuse it.
        if principal.livemode != mode {
            return Err(ApiError::AuthenticationFailure);
        }
        self.remember(hash, principal.clone());
        Ok(principal)
    }

    fn cached(&self, hash: &KeyHash) -> Option<Principal> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(hash)
            .filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL)
            .map(|(principal, _)| principal.clone())
    }

    fn remember(&self, hash: KeyHash, principal: Principal) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= KEY_CACHE_CAPACITY {
            cache.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
            if cache.len() >= KEY_CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(hash, (principal, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::{Body, http};

    fn with_auth(value: &str) -> Request {
        http::Request::builder()
            .header("authorization", value)
            .body(Body::Empty)
            .unwrap()
    }

    #[test]
    fn username_is_read_from_basic_auth_with_or_without_password() {
        let key = "skey_test_abc";
        let colon = STANDARD.encode(format!("{key}:"));
        let bare = STANDARD.encode(key);
        assert_eq!(
            basic_username(&with_auth(&format!("Basic {colon}"))).as_deref(),
            Some(key)
        );
        assert_eq!(
            basic_username(&with_auth(&format!("basic {bare}"))).as_deref(),
            Some(key)
        );
        assert_eq!(basic_username(&with_auth(&format!("Bearer {colon}"))), None);
        assert_eq!(basic_username(&with_auth("Basic !!!")), None);
        assert_eq!(basic_username(&http::Request::new(Body::Empty)), None);
    }

    #[test]
    fn only_secret_keys_have_a_mode() {
        assert_eq!(key_mode("skey_test_x"), Some(false));
        assert_eq!(key_mode("skey_live_x"), Some(true));
        assert_eq!(key_mode("pkey_test_x"), None);
        assert_eq!(key_mode(&format!("skey_test_{}", "x".repeat(200))), None);
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            KeyHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_cache_forgets_when_full() {
        let auth = Authenticator::default();
        let p = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        for i in 0..KEY_CACHE_CAPACITY + 5 {
            auth.remember(KeyHash::of(&i.to_string()), p.clone());
        }
        assert!(auth.cache.lock().unwrap().len() <= KEY_CACHE_CAPACITY);
        assert_eq!(
            auth.cached(&KeyHash::of(&(KEY_CACHE_CAPACITY + 4).to_string())),
            Some(p)
        );
    }
}
