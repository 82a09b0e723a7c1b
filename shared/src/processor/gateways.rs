//! Each account's own gateway: the [`Processor`] the functions use, which hands every call to
//! the gateway the owner's settings name (`store::settings`): the built-in test processor, or
//! Omise with the merchant's own secret key.
//!
//! - Test mode with nothing set is the built-in test processor; live mode with nothing set (or
//!   set to the built-in one, which is refused when set) takes no payment at all: every call is
//!   refused, so the page says payments are not enabled and nothing is charged.
//! - The choice, with the secret key opened (one KMS `Decrypt`), is kept per owner for
//!   [`CHOICE_TTL`]: a function asks DynamoDB and KMS once a minute per account at most, and a
//!   change made with `links-admin processor set` reaches every function within that time.
//! - Omise's client is built on the first Omise call of a cold start, so a function serving
//!   only the built-in processor never loads a trust store for it.

use super::omise::{OmiseApi, OmiseProcessor};
use super::{
    Answer, ChargeRequest, Processor, ProcessorCharge, ProcessorError, ProcessorRefund,
    ScannableCode, TestProcessor,
};
use crate::domain::charge::Source;
use crate::domain::principal::Principal;
use crate::sealed::{Sealer, Secret};
use crate::store::Store;
use crate::store::settings::{Gateway, OMISE_SECRET_KEY_PURPOSE, Settings, sealed_context};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a function keeps an account's gateway, and its opened key, before reading them again.
pub const CHOICE_TTL: Duration = Duration::from_secs(60);

/// The longest an Omise call may take: well inside a request's 8 s deadline
/// (`http::response::REQUEST_DEADLINE`), so a slow Omise leaves the function time to answer the
/// buyer that the payment is not known yet (it is then found by its key: see `payments`).
pub const OMISE_TIMEOUT: Duration = Duration::from_secs(5);

/// What an owner's calls go to.
enum Chosen {
    BuiltIn,
    Omise(Secret),
    /// Omise, its key as the settings just read hold it: opened on the first call.
    Sealed(Vec<u8>),
    Refused(&'static str),
}

/// The gateways of every account, as one [`Processor`].
pub struct Gateways {
    store: Store,
    builtin: TestProcessor,
    sealer: Option<Sealer>,
    omise: OnceLock<Result<OmiseApi, String>>,
    omise_url: String,
    chosen: Mutex<HashMap<Principal, (Instant, Arc<Chosen>)>>,
    /// QR images downloaded, by owner and document: a document never changes, and a page
    /// waiting for a PromptPay payment refreshes every few seconds.
    codes: Mutex<HashMap<(Principal, String), ScannableCode>>,
}

/// QR images kept at most (each at most `omise::MAX_QR_IMAGE`, a few KiB in practice).
const CODES_KEPT: usize = 64;

impl std::fmt::Debug for Gateways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateways")
            .field("omise_url", &self.omise_url)
            .finish_non_exhaustive()
    }
}

/// The gateway a call goes to, for the length of the call.
enum Route<'a> {
    BuiltIn(&'a TestProcessor),
    Omise(OmiseProcessor<'a>),
}

impl Route<'_> {
    fn processor(&self) -> &dyn Processor {
        match self {
            Route::BuiltIn(p) => *p,
            Route::Omise(p) => p,
        }
    }
}

impl Gateways {
    /// Over `store`, opening sealed keys with `sealer` (none: Omise cannot be used), talking to
    /// Omise at `omise_url`.
    pub fn new(store: Store, sealer: Option<Sealer>, omise_url: &str) -> Self {
        Self {
            builtin: TestProcessor::new(store.clone()),
            store,
            sealer,
            omise: OnceLock::new(),
            omise_url: omise_url.to_owned(),
            chosen: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
        }
    }

    /// With Omise where `OMISE_API_URL` says (Omise's own by default).
    pub fn from_env(store: Store, sealer: Option<Sealer>) -> Self {
        let url = std::env::var("OMISE_API_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| super::omise::DEFAULT_API_URL.to_owned());
        Self::new(store, sealer, url.trim())
    }

    /// Takes `settings`, just read for `owner` with the link it pays, as the owner's choice:
    /// saves reading them again, unless the key must be opened.
    pub fn prime(&self, owner: &Principal, settings: &Settings) {
        let chosen = match &settings.gateway {
            Gateway::Omise(keys) => {
                // A key already opened stays (for its TTL); otherwise the sealed one is kept,
                // to be opened without reading the settings again.
                if matches!(self.fresh(owner).as_deref(), Some(Chosen::Omise(_))) {
                    return;
                }
                Chosen::Sealed(keys.secret_key.clone())
            }
            gateway => Self::without_key(owner, gateway),
        };
        self.keep(owner, chosen);
    }

    /// The owner's choice, if kept and young enough.
    fn fresh(&self, owner: &Principal) -> Option<Arc<Chosen>> {
        let all = self.chosen.lock().unwrap_or_else(|p| p.into_inner());
        all.get(owner)
            .filter(|(at, _)| at.elapsed() < CHOICE_TTL)
            .map(|(_, chosen)| chosen.clone())
    }

    async fn open(&self, owner: &Principal, sealed: &[u8]) -> Result<Chosen, ProcessorError> {
        let Some(sealer) = &self.sealer else {
            return Err(ProcessorError::Unavailable(
                "the account's Omise key is sealed, and this function has no KMS key to open it (SECRETS_KMS_KEY)".into(),
            ));
        };
        let context = sealed_context(owner, OMISE_SECRET_KEY_PURPOSE);
        Ok(Chosen::Omise(sealer.open(sealed, &context).await?))
    }

    fn without_key(owner: &Principal, gateway: &Gateway) -> Chosen {
        match (gateway, owner.livemode) {
            (Gateway::Unset | Gateway::BuiltIn, false) => Chosen::BuiltIn,
            (Gateway::Unset | Gateway::BuiltIn, true) => {
                Chosen::Refused("live payments are not enabled for this account")
            }
            (Gateway::Omise(_), _) => unreachable!("opened by choose"),
        }
    }

    fn keep(&self, owner: &Principal, chosen: Chosen) -> Arc<Chosen> {
        let chosen = Arc::new(chosen);
        let mut all = self.chosen.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, (at, _)| at.elapsed() < CHOICE_TTL);
        all.insert(owner.clone(), (Instant::now(), chosen.clone()));
        chosen
    }

    async fn choose(&self, owner: &Principal) -> Result<Arc<Chosen>, ProcessorError> {
        let chosen = match self.fresh(owner) {
            Some(chosen) => match &*chosen {
                Chosen::Sealed(blob) => self.open(owner, blob).await?,
                _ => return Ok(chosen),
            },
            None => match &self.store.settings(owner).await?.gateway {
                Gateway::Omise(keys) => self.open(owner, &keys.secret_key).await?,
                gateway => Self::without_key(owner, gateway),
            },
        };
        Ok(self.keep(owner, chosen))
    }

    fn omise(&self) -> Result<&OmiseApi, ProcessorError> {
        self.omise
            .get_or_init(|| OmiseApi::new(&self.omise_url, OMISE_TIMEOUT))
            .as_ref()
            .map_err(|why| ProcessorError::Unavailable(why.clone().into()))
    }

    fn route<'a>(&'a self, chosen: &'a Chosen) -> Result<Route<'a>, ProcessorError> {
        match chosen {
            Chosen::BuiltIn => Ok(Route::BuiltIn(&self.builtin)),
            Chosen::Omise(key) => Ok(Route::Omise(OmiseProcessor::new(
                self.omise()?,
                key.expose(),
            ))),
            Chosen::Refused(why) => Err(ProcessorError::Refused((*why).to_owned())),
            Chosen::Sealed(_) => Err(ProcessorError::Unavailable(
                "an Omise key not yet opened".into(),
            )),
        }
    }
}

impl Processor for Gateways {
    fn charge<'a>(&'a self, request: ChargeRequest<'a>) -> Answer<'a, ProcessorCharge> {
        Box::pin(async move {
            let chosen = self.choose(request.owner).await?;
            self.route(&chosen)?.processor().charge(request).await
        })
    }

    fn find<'a>(
        &'a self,
        owner: &'a Principal,
        key: &'a str,
    ) -> Answer<'a, Option<ProcessorCharge>> {
        Box::pin(async move {
            let chosen = self.choose(owner).await?;
            self.route(&chosen)?.processor().find(owner, key).await
        })
    }

    fn retrieve<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
    ) -> Answer<'a, Option<ProcessorCharge>> {
        Box::pin(async move {
            let chosen = self.choose(owner).await?;
            self.route(&chosen)?.processor().retrieve(owner, id).await
        })
    }

    fn expire<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        Box::pin(async move {
            let chosen = self.choose(owner).await?;
            self.route(&chosen)?
                .processor()
                .expire(owner, id, now)
                .await
        })
    }

    fn reverse<'a>(&'a self, owner: &'a Principal, id: &'a str) -> Answer<'a, ProcessorCharge> {
        Box::pin(async move {
            let chosen = self.choose(owner).await?;
            self.route(&chosen)?.processor().reverse(owner, id).await
        })
    }

    fn mark<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        paid: bool,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        Box::pin(async move {
            let chosen = self.choose(owner).await?;
            self.route(&chosen)?
                .processor()
                .mark(owner, id, paid, now)
                .await
        })
    }

    fn authenticate<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        passed: bool,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        Box::pin(async move {
            let chosen = self.choose(owner).await?;
            self.route(&chosen)?
                .processor()
                .authenticate(owner, id, passed, now)
                .await
        })
    }

    fn refund<'a>(
        &'a self,
        owner: &'a Principal,
        charge: &'a str,
        key: &'a str,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorRefund> {
        Box::pin(async move {
            let chosen = self.choose(owner).await?;
            self.route(&chosen)?
                .processor()
                .refund(owner, charge, key, amount, now)
                .await
        })
    }

    fn find_refund<'a>(
        &'a self,
        owner: &'a Principal,
        charge: &'a str,
        key: &'a str,
    ) -> Answer<'a, Option<ProcessorRefund>> {
        Box::pin(async move {
            let chosen = self.choose(owner).await?;
            self.route(&chosen)?
                .processor()
                .find_refund(owner, charge, key)
                .await
        })
    }

    fn scannable_code<'a>(
        &'a self,
        owner: &'a Principal,
        source: &'a Source,
    ) -> Answer<'a, Option<ScannableCode>> {
        Box::pin(async move {
            let key = (owner.clone(), source.document.clone());
            let lock = || self.codes.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(code) = lock().get(&key) {
                return Ok(Some(code.clone()));
            }
            let chosen = self.choose(owner).await?;
            let code = self
                .route(&chosen)?
                .processor()
                .scannable_code(owner, source)
                .await?;
            if let Some(code) = &code {
                if !source.document.is_empty() {
                    let mut codes = lock();
                    if codes.len() >= CODES_KEPT {
                        codes.clear();
                    }
                    codes.insert(key, code.clone());
                }
            }
            Ok(code)
        })
    }

    fn settings_read(&self, owner: &Principal, settings: &Settings) {
        self.prime(owner, settings);
    }
}
