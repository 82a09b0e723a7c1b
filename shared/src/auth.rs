//! Authentication: a secret key in, the [`Principal`] it belongs to out, over a [`KeyLookup`] it
//! is given (the store, in every function). It knows nothing of HTTP; the edge hands it the key
//! from the `Authorization` header and the caller's source address.
//!
//! Each warm instance remembers what it learned, so that neither repeat callers nor a flood of
//! made-up keys cost a DynamoDB read each:
//! - a verified key for [`KEY_CACHE_TTL`], so a revoked key keeps working on an instance that has
//!   already seen it for at most that long;
//! - an unknown key for [`UNKNOWN_KEY_TTL`], so a key created after it was tried works after at
//!   most that long;
//! - per source address, a budget of failed lookups ([`FAILURE_BURST`], refilled one every
//!   [`FAILURE_REFILL`]): a source that has spent it is answered `429` for keys this instance does
//!   not know, without a lookup, until the budget refills. Known keys still work from it.

use crate::domain::error::ApiError;
use crate::domain::principal::{KeyHash, Principal, key_mode};
use crate::store::Store;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a verified key is trusted without asking DynamoDB again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a key found unknown is refused without asking DynamoDB again.
pub const UNKNOWN_KEY_TTL: Duration = Duration::from_secs(10);
/// Bound on remembered keys of each kind, so a flood of distinct keys cannot grow memory.
pub const KEY_CACHE_CAPACITY: usize = 1_024;
/// Failed lookups a source may make at once...
pub const FAILURE_BURST: u32 = 20;
/// ...and how often it gets one more: 20 a minute, sustained.
pub const FAILURE_REFILL: Duration = Duration::from_secs(3);
/// Bound on tracked sources; idle ones are forgotten first.
const SOURCE_CAPACITY: usize = 10_000;

/// Finds the owner of a key by its hash. The store implements it; tests may give a table.
pub trait KeyLookup {
    fn find_key(
        &self,
        hash: &KeyHash,
    ) -> impl Future<Output = Result<Option<Principal>, ApiError>> + Send;
}

impl KeyLookup for Store {
    fn find_key(
        &self,
        hash: &KeyHash,
    ) -> impl Future<Output = Result<Option<Principal>, ApiError>> + Send {
        Store::find_key(self, hash)
    }
}

/// The limits an [`Authenticator`] works with (the constants above, unless a test says otherwise).
#[derive(Debug, Clone, Copy)]
pub struct AuthLimits {
    pub known_ttl: Duration,
    pub unknown_ttl: Duration,
    pub capacity: usize,
    pub failure_burst: u32,
    pub failure_refill: Duration,
}

impl Default for AuthLimits {
    fn default() -> Self {
        Self {
            known_ttl: KEY_CACHE_TTL,
            unknown_ttl: UNKNOWN_KEY_TTL,
            capacity: KEY_CACHE_CAPACITY,
            failure_burst: FAILURE_BURST,
            failure_refill: FAILURE_REFILL,
        }
    }
}

/// A source's budget of failed lookups: a token bucket.
#[derive(Debug, Clone, Copy)]
struct Budget {
    tokens: f64,
    at: Instant,
}

/// Verifies secret keys against a lookup, remembering what it learns (see the module docs).
#[derive(Default)]
pub struct Authenticator {
    limits: AuthLimits,
    known: Mutex<HashMap<KeyHash, (Principal, Instant)>>,
    unknown: Mutex<HashMap<KeyHash, Instant>>,
    budgets: Mutex<HashMap<String, Budget>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps inconsistent: use them anyway.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Authenticator {
    pub fn with_limits(limits: AuthLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// The owner of `key` (the Basic username), or `authentication_failure`; `too_many_requests`
    /// when `source` has spent its failed lookups. `source` is the caller's address, if known.
    pub async fn authenticate(
        &self,
        lookup: &impl KeyLookup,
        key: Option<&str>,
        source: Option<&str>,
    ) -> Result<Principal, ApiError> {
        let key = key.ok_or(ApiError::AuthenticationFailure)?;
        let mode = key_mode(key).ok_or(ApiError::AuthenticationFailure)?;
        let hash = KeyHash::of(key);
        let source = source.unwrap_or("unknown");
        let now = Instant::now();
        if let Some(principal) = self.known(&hash, now) {
            return Ok(principal);
        }
        if self.is_unknown(&hash, now) {
            return Err(ApiError::AuthenticationFailure);
        }
        if let Some(retry_after) = self.exhausted(source, now) {
            return Err(ApiError::TooManyRequests { retry_after });
        }
        match lookup.find_key(&hash).await? {
            // A stored key whose mode differs from its prefix would be a corrupt record: refuse it.
            Some(principal) if principal.livemode == mode => {
                self.remember_known(hash, principal.clone(), Instant::now());
                Ok(principal)
            }
            _ => {
                let now = Instant::now();
                self.remember_unknown(hash, now);
                self.spend(source, now);
                Err(ApiError::AuthenticationFailure)
            }
        }
    }

    fn known(&self, hash: &KeyHash, now: Instant) -> Option<Principal> {
        lock(&self.known)
            .get(hash)
            .filter(|(_, at)| now.duration_since(*at) < self.limits.known_ttl)
            .map(|(principal, _)| principal.clone())
    }

    fn is_unknown(&self, hash: &KeyHash, now: Instant) -> bool {
        lock(&self.unknown)
            .get(hash)
            .is_some_and(|at| now.duration_since(*at) < self.limits.unknown_ttl)
    }

    fn remember_known(&self, hash: KeyHash, principal: Principal, now: Instant) {
        let ttl = self.limits.known_ttl;
        let mut known = lock(&self.known);
        make_room(
            &mut known,
            self.limits.capacity,
            &[&|(_, at)| now.duration_since(*at) < ttl],
        );
        known.insert(hash, (principal, now));
    }

    fn remember_unknown(&self, hash: KeyHash, now: Instant) {
        let ttl = self.limits.unknown_ttl;
        let mut unknown = lock(&self.unknown);
        make_room(
            &mut unknown,
            self.limits.capacity,
            &[&|at| now.duration_since(*at) < ttl],
        );
        unknown.insert(hash, now);
    }

    /// The source's budget as of `now`, refilled for the time since it was last touched.
    fn budget(&self, budget: Option<Budget>, now: Instant) -> Budget {
        let burst = f64::from(self.limits.failure_burst);
        match budget {
            None => Budget {
                tokens: burst,
                at: now,
            },
            Some(b) => {
                let refilled = now.duration_since(b.at).as_secs_f64()
                    / self.limits.failure_refill.as_secs_f64();
                Budget {
                    tokens: (b.tokens + refilled).min(burst),
                    at: now,
                }
            }
        }
    }

    /// `Some(seconds to wait)` when `source` has no failed lookup left.
    fn exhausted(&self, source: &str, now: Instant) -> Option<u64> {
        let budgets = lock(&self.budgets);
        let budget = self.budget(budgets.get(source).copied(), now);
        if budget.tokens >= 1.0 {
            return None;
        }
        let wait = (1.0 - budget.tokens) * self.limits.failure_refill.as_secs_f64();
        Some(wait.ceil().max(1.0) as u64)
    }

    /// Records a failed lookup by `source`.
    fn spend(&self, source: &str, now: Instant) {
        let mut budgets = lock(&self.budgets);
        let mut budget = self.budget(budgets.get(source).copied(), now);
        budget.tokens = (budget.tokens - 1.0).max(0.0);
        let burst = f64::from(self.limits.failure_burst);
        let refill = self.limits.failure_refill.as_secs_f64();
        let refilled = |b: &Budget| b.tokens + now.duration_since(b.at).as_secs_f64() / refill;
        // Forget idle sources (their budget would be full again by now) first, then those with
        // failures left, and only then, rather than grow, everyone: sources that have spent their
        // budget are the last to be given a fresh one.
        make_room(
            &mut budgets,
            SOURCE_CAPACITY,
            &[&|b| refilled(b) < burst, &|b| refilled(b) < 1.0],
        );
        budgets.insert(source.to_owned(), budget);
    }
}

/// Keeps `map` under `capacity` before an insert: drops the entries the first of `keeps`
/// rejects, then those the next rejects while that was not enough, and finally everything (a flood
/// of distinct entries must not grow memory).
fn make_room<K, V>(map: &mut HashMap<K, V>, capacity: usize, keeps: &[&dyn Fn(&V) -> bool]) {
    for keep in keeps {
        if map.len() < capacity {
            return;
        }
        map.retain(|_, v| keep(v));
    }
    if map.len() >= capacity {
        map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A lookup over a fixed set of keys that counts how often it is asked.
    #[derive(Default)]
    struct Keys {
        keys: HashMap<KeyHash, Principal>,
        lookups: AtomicU32,
    }

    impl Keys {
        fn with(key: &str, livemode: bool) -> Self {
            let mut keys = Self::default();
            keys.keys.insert(
                KeyHash::of(key),
                Principal {
                    account_id: "acct_1".into(),
                    livemode,
                },
            );
            keys
        }

        fn lookups(&self) -> u32 {
            self.lookups.load(Ordering::Relaxed)
        }
    }

    impl KeyLookup for Keys {
        fn find_key(
            &self,
            hash: &KeyHash,
        ) -> impl Future<Output = Result<Option<Principal>, ApiError>> + Send {
            self.lookups.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Ok(self.keys.get(hash).cloned()))
        }
    }

    const KEY: &str = "skey_test_5abcdefghijklmnopqrstuvwx";

    fn principal() -> Principal {
        Principal {
            account_id: "acct_1".into(),
            livemode: false,
        }
    }

    async fn auth(a: &Authenticator, keys: &Keys, key: &str) -> Result<Principal, ApiError> {
        a.authenticate(keys, Some(key), Some("198.51.100.7")).await
    }

    #[tokio::test]
    async fn a_known_key_is_looked_up_once_then_remembered() {
        let (a, keys) = (Authenticator::default(), Keys::with(KEY, false));
        assert_eq!(auth(&a, &keys, KEY).await.unwrap(), principal());
        assert_eq!(auth(&a, &keys, KEY).await.unwrap(), principal());
        assert_eq!(keys.lookups(), 1);
    }

    #[tokio::test]
    async fn malformed_or_missing_keys_fail_without_a_lookup() {
        let (a, keys) = (Authenticator::default(), Keys::with(KEY, false));
        for key in [
            "",
            "pkey_test_x",
            "skey_x",
            &format!("skey_test_{}", "x".repeat(200)),
        ] {
            let err = auth(&a, &keys, key).await.unwrap_err();
            assert_eq!(err.code(), "authentication_failure", "{key}");
        }
        let err = a.authenticate(&keys, None, None).await.unwrap_err();
        assert_eq!(err.code(), "authentication_failure");
        assert_eq!(keys.lookups(), 0);
    }

    #[tokio::test]
    async fn a_key_whose_prefix_contradicts_its_record_is_refused() {
        let keys = Keys::with(KEY, true);
        let err = auth(&Authenticator::default(), &keys, KEY)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "authentication_failure");
    }

    #[tokio::test]
    async fn an_unknown_key_is_remembered_as_unknown() {
        let (a, keys) = (Authenticator::default(), Keys::default());
        for _ in 0..5 {
            assert!(auth(&a, &keys, KEY).await.is_err());
        }
        assert_eq!(keys.lookups(), 1);
    }

    #[test]
    fn a_verified_key_is_trusted_for_exactly_its_ttl() {
        let a = Authenticator::default();
        let hash = KeyHash::of(KEY);
        let t0 = Instant::now();
        a.remember_known(hash, principal(), t0);
        assert_eq!(a.known(&hash, t0), Some(principal()));
        assert_eq!(
            a.known(&hash, t0 + KEY_CACHE_TTL - Duration::from_millis(1)),
            Some(principal())
        );
        assert_eq!(a.known(&hash, t0 + KEY_CACHE_TTL), None);
        assert_eq!(a.known(&KeyHash::of("other"), t0), None);
    }

    #[test]
    fn an_unknown_key_is_refused_for_exactly_its_ttl() {
        let a = Authenticator::default();
        let hash = KeyHash::of(KEY);
        let t0 = Instant::now();
        assert!(!a.is_unknown(&hash, t0));
        a.remember_unknown(hash, t0);
        assert!(a.is_unknown(&hash, t0 + UNKNOWN_KEY_TTL - Duration::from_millis(1)));
        assert!(!a.is_unknown(&hash, t0 + UNKNOWN_KEY_TTL));
    }

    #[test]
    fn the_caches_hold_at_most_their_capacity_keeping_fresh_entries_first() {
        let a = Authenticator::with_limits(AuthLimits {
            capacity: 4,
            ..AuthLimits::default()
        });
        let t0 = Instant::now();
        let later = t0 + KEY_CACHE_TTL + Duration::from_secs(1);
        for i in 0..3 {
            a.remember_known(KeyHash::of(&i.to_string()), principal(), t0);
        }
        a.remember_known(KeyHash::of("fresh"), principal(), later);
        assert_eq!(lock(&a.known).len(), 4);
        // Full: the stale entries make room, the fresh one stays.
        a.remember_known(KeyHash::of("new"), principal(), later);
        assert_eq!(lock(&a.known).len(), 2);
        assert!(a.known(&KeyHash::of("fresh"), later).is_some());
        // Full of fresh entries: everything goes rather than memory growing.
        for i in 0..2 {
            a.remember_known(KeyHash::of(&format!("f{i}")), principal(), later);
        }
        assert_eq!(lock(&a.known).len(), 4);
        a.remember_known(KeyHash::of("last"), principal(), later);
        assert_eq!(lock(&a.known).len(), 1);
        // The unknown-key cache makes room the same way: stale entries first.
        let stale = t0;
        let fresh = t0 + UNKNOWN_KEY_TTL + Duration::from_secs(1);
        for i in 0..3 {
            a.remember_unknown(KeyHash::of(&format!("u{i}")), stale);
        }
        a.remember_unknown(KeyHash::of("fresh"), fresh);
        assert_eq!(lock(&a.unknown).len(), 4);
        a.remember_unknown(KeyHash::of("new"), fresh);
        assert_eq!(lock(&a.unknown).len(), 2);
        assert!(a.is_unknown(&KeyHash::of("fresh"), fresh));
        assert!(a.is_unknown(&KeyHash::of("new"), fresh));
        // An entry exactly as old as its lifetime is stale too.
        let b = Authenticator::with_limits(AuthLimits {
            capacity: 2,
            ..AuthLimits::default()
        });
        b.remember_unknown(KeyHash::of("old"), t0);
        b.remember_unknown(KeyHash::of("younger"), t0 + Duration::from_secs(1));
        b.remember_unknown(KeyHash::of("now"), t0 + UNKNOWN_KEY_TTL);
        assert!(!lock(&b.unknown).contains_key(&KeyHash::of("old")));
        assert!(lock(&b.unknown).contains_key(&KeyHash::of("younger")));
        let c = Authenticator::with_limits(AuthLimits {
            capacity: 2,
            ..AuthLimits::default()
        });
        c.remember_known(KeyHash::of("old"), principal(), t0);
        c.remember_known(
            KeyHash::of("younger"),
            principal(),
            t0 + Duration::from_secs(1),
        );
        c.remember_known(KeyHash::of("now"), principal(), t0 + KEY_CACHE_TTL);
        assert!(!lock(&c.known).contains_key(&KeyHash::of("old")));
        assert!(lock(&c.known).contains_key(&KeyHash::of("younger")));
    }

    #[tokio::test]
    async fn a_source_that_spends_its_failures_is_refused_without_lookups() {
        let a = Authenticator::default();
        let keys = Keys::with(KEY, false);
        // A known key is remembered before the flood.
        auth(&a, &keys, KEY).await.unwrap();
        for i in 0..FAILURE_BURST {
            let made_up = format!("skey_test_{i:025}");
            let err = auth(&a, &keys, &made_up).await.unwrap_err();
            assert_eq!(err.code(), "authentication_failure");
        }
        assert_eq!(keys.lookups(), 1 + FAILURE_BURST);
        let err = auth(&a, &keys, "skey_test_one_more_made_up_key_xx")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 429);
        assert!(err.retry_after().is_some_and(|s| (1..=3).contains(&s)));
        assert_eq!(keys.lookups(), 1 + FAILURE_BURST, "no lookup once refused");
        // The known key still works from that source, and other sources are unaffected.
        assert!(auth(&a, &keys, KEY).await.is_ok());
        let elsewhere = a
            .authenticate(
                &keys,
                Some("skey_test_from_elsewhere_xxxxxxxxx"),
                Some("203.0.113.9"),
            )
            .await
            .unwrap_err();
        assert_eq!(elsewhere.status(), 401);
    }

    #[test]
    fn a_budget_refills_one_failure_per_refill_period() {
        let a = Authenticator::default();
        let t0 = Instant::now();
        for _ in 0..FAILURE_BURST {
            assert_eq!(a.exhausted("s", t0), None);
            a.spend("s", t0);
        }
        assert_eq!(a.exhausted("s", t0), Some(FAILURE_REFILL.as_secs()));
        let almost = t0 + FAILURE_REFILL - Duration::from_millis(100);
        assert_eq!(a.exhausted("s", almost), Some(1));
        assert_eq!(a.exhausted("s", t0 + FAILURE_REFILL), None);
        a.spend("s", t0 + FAILURE_REFILL);
        assert!(a.exhausted("s", t0 + FAILURE_REFILL).is_some());
        // A long rest refills to the burst, never beyond.
        let rested = t0 + FAILURE_REFILL * (FAILURE_BURST * 10);
        for _ in 0..FAILURE_BURST {
            assert_eq!(a.exhausted("s", rested), None);
            a.spend("s", rested);
        }
        assert!(a.exhausted("s", rested).is_some());
    }

    #[test]
    fn idle_sources_are_forgotten_first_when_too_many_are_tracked() {
        let a = Authenticator::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            a.spend("busy", t0);
        }
        for i in 1..SOURCE_CAPACITY {
            a.spend(&i.to_string(), t0);
        }
        assert_eq!(lock(&a.budgets).len(), SOURCE_CAPACITY);
        // By now every source that failed once at t0 has exactly its budget back: they go, "busy"
        // stays.
        a.spend("newcomer", t0 + FAILURE_REFILL);
        let budgets = lock(&a.budgets);
        assert!(budgets.contains_key("busy") && budgets.contains_key("newcomer"));
        assert_eq!(budgets.len(), 2);
        drop(budgets);
        // Full of active sources: the ones with failures left go, the exhausted one stays.
        let b = Authenticator::default();
        for _ in 0..FAILURE_BURST {
            b.spend("exhausted", t0);
        }
        // One failure left is not exhausted: it goes with the others.
        for _ in 1..FAILURE_BURST {
            b.spend("one left", t0);
        }
        for i in 2..SOURCE_CAPACITY {
            b.spend(&i.to_string(), t0);
        }
        b.spend("another", t0);
        let budgets = lock(&b.budgets);
        assert!(budgets.contains_key("exhausted") && budgets.contains_key("another"));
        assert_eq!(budgets.len(), 2);
        drop(budgets);
        assert!(b.exhausted("exhausted", t0).is_some());
    }
}
