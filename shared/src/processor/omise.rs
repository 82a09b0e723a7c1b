//! Omise, as a [`Processor`]: the service's charges made, found, read, expired, undone and
//! refunded through Omise's charge API with the merchant's own secret key.
//!
//! Written against Omise API version [`OMISE_VERSION`], sent on every request (`Omise-Version`),
//! whatever the account's dashboard default is: the shapes parsed here are that version's.
//!
//! # What is safe to do twice
//!
//! Omise documents no idempotency key, so a `POST` is never sent twice. A charge whose answer
//! was lost (a timeout, a reset, a 5xx) is [`ProcessorError::Unavailable`]: the caller settles
//! it by [`Processor::find`], which searches Omise's charges for the attempt's gateway key,
//! carried in the charge's `metadata`, before anything else is tried. Reads (`GET`) are
//! retried once on a transport failure or a 5xx; nothing else is.
//!
//! # What is believed
//!
//! Every charge Omise answers is parsed whole (a missing field is an unreadable answer, hence
//! `Unavailable`, never a guess), must be of the mode of the key it was asked with, and carries
//! its `metadata` (link, attempt, gateway key) back: [`ProcessorCharge::check`] compares it with
//! the attempt before the service records anything.
//!
//! # Choices
//!
//! - Card charges are captured at once (`capture=true`): a single-use link is held for one buyer
//!   before Omise is asked, so an authorization has nothing left to wait for, and nothing is left
//!   uncaptured to expire after Omise's 7 days.
//! - Undoing a charge the link can no longer take ([`Processor::reverse`]): an uncaptured
//!   authorization is reversed; a captured one is refunded in full under a key of its own
//!   (Omise makes a full refund before settlement a void), and is answered `reversed` here once
//!   Omise shows it refunded in full: nothing was taken.
//! - 3-D Secure is answered at the bank's page Omise sends the buyer to; only Omise's answer,
//!   read again, ends the charge ([`Processor::authenticate`] is refused).

use super::{
    Answer, ChargeRequest, Payment, Processor, ProcessorCharge, ProcessorError, ProcessorRefund,
    ScannableCode,
};
use crate::domain::card::Card;
use crate::domain::charge::{Source, Status};
use crate::domain::principal::Principal;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use std::time::Duration;

/// The Omise API version this adapter speaks.
pub const OMISE_VERSION: &str = "2019-05-29";

/// Where Omise's API is, unless `OMISE_API_URL` says otherwise (the stand-in's, in tests).
pub const DEFAULT_API_URL: &str = "https://api.omise.co";
/// Where Omise's card vault is, unless `OMISE_VAULT_URL` says otherwise.
pub const DEFAULT_VAULT_URL: &str = "https://vault.omise.co";
/// Where Omise.js is served from, unless `OMISE_JS_URL` says otherwise.
pub const DEFAULT_JS_URL: &str = "https://cdn.omise.co/omise.js";

/// Where the buyer's browser finds Omise: its script, its vault and its API (for the 3-D Secure
/// page a payment is sent on to). From `OMISE_JS_URL`, `OMISE_VAULT_URL` and `OMISE_API_URL`,
/// Omise's own by default; the local stand-in's in `scripts/dev` and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OmiseBrowser {
    pub js_url: String,
    pub js_origin: String,
    pub vault_origin: String,
    pub api_origin: String,
}

impl Default for OmiseBrowser {
    fn default() -> Self {
        Self::new(DEFAULT_JS_URL, DEFAULT_VAULT_URL, DEFAULT_API_URL)
    }
}

impl OmiseBrowser {
    pub fn new(js_url: &str, vault_url: &str, api_url: &str) -> Self {
        Self {
            js_url: js_url.trim().to_owned(),
            js_origin: origin(js_url),
            vault_origin: origin(vault_url),
            api_origin: origin(api_url),
        }
    }

    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        Self::new(
            &var("OMISE_JS_URL", DEFAULT_JS_URL),
            &var("OMISE_VAULT_URL", DEFAULT_VAULT_URL),
            &var("OMISE_API_URL", DEFAULT_API_URL),
        )
    }

    /// As a page's policy names them.
    pub fn origins(&self) -> crate::page::html::GatewayOrigins<'_> {
        crate::page::html::GatewayOrigins {
            script: &self.js_origin,
            vault: &self.vault_origin,
            api: &self.api_origin,
        }
    }
}

/// `scheme://host[:port]` of a URL: what a page's policy allows, never a path.
fn origin(url: &str) -> String {
    let url = url.trim();
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    url[..end].to_owned()
}

/// The longest answer read from Omise: a charge is a few KiB; a search page of them, more.
const MAX_ANSWER: usize = 1024 * 1024;
/// The largest QR image taken from Omise: a PromptPay code is a few KiB as SVG or PNG.
pub const MAX_QR_IMAGE: usize = 256 * 1024;

/// The metadata keys a charge carries back to the service.
const META_LINK: &str = "link";
const META_ATTEMPT: &str = "attempt";
const META_KEY: &str = "attempt_key";

/// Where Omise is, and the one HTTP client the service talks to it with: built once per cold
/// start, its connections kept for the next invocation.
#[derive(Clone)]
pub struct OmiseApi {
    api_url: String,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for OmiseApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OmiseApi")
            .field("api_url", &self.api_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why an answer could not be had: nothing says whether Omise acted.
#[derive(Debug)]
enum Transport {
    Failed(String),
    TimedOut,
}

impl OmiseApi {
    /// A client for the API at `api_url`, each request bounded by `timeout` (connecting, sending
    /// and reading the whole answer). `https` always, except on a loopback address (the local
    /// stand-in), so that a secret key never crosses a network in clear.
    pub fn new(api_url: &str, timeout: Duration) -> Result<Self, String> {
        let api_url = api_url.trim_end_matches('/').to_owned();
        let plain_allowed = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
            .iter()
            .any(|prefix| api_url.starts_with(prefix));
        if !api_url.starts_with("https://") && !plain_allowed {
            return Err(format!(
                "the Omise API URL must be https (or http on loopback): {api_url}"
            ));
        }
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        http.set_nodelay(true);
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| format!("TLS setup for Omise: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(50))
            .build(https);
        Ok(Self {
            api_url,
            client,
            timeout,
        })
    }

    /// One request, its whole answer read within the timeout.
    async fn send(
        &self,
        method: Method,
        path: &str,
        secret_key: &str,
        form: Option<String>,
    ) -> Result<(StatusCode, Bytes), Transport> {
        use base64::Engine as _;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{secret_key}:").as_bytes());
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.api_url))
            .header("Authorization", format!("Basic {basic}"))
            .header("Omise-Version", OMISE_VERSION)
            .header("User-Agent", "payment-links/1")
            .header("Accept", "application/json");
        if form.is_some() {
            request = request.header("Content-Type", "application/x-www-form-urlencoded");
        }
        let request = request
            .body(Full::new(Bytes::from(form.unwrap_or_default())))
            .map_err(|e| Transport::Failed(format!("request: {e}")))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| Transport::Failed(format!("connection: {e}")))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| Transport::Failed(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(Transport::TimedOut))
    }
}

impl OmiseApi {
    /// A PromptPay charge's QR image at `download_uri`, which must be a document of that charge
    /// under this API (the key goes nowhere else). One redirect is followed, to an `https`
    /// address only and without the key (a document store's signed address); anything but a
    /// `200` with at most [`MAX_QR_IMAGE`] bytes is no image.
    async fn download_document(
        &self,
        download_uri: &str,
        charge: &str,
        secret_key: &str,
    ) -> Result<Vec<u8>, ProcessorError> {
        let prefix = format!(
            "{}/charges/{}/documents/",
            self.api_url,
            path_segment(charge)?
        );
        let rest = download_uri.strip_prefix(&prefix).ok_or_else(|| {
            ProcessorError::Refused("a QR image not among the charge's documents".into())
        })?;
        let parts: Vec<&str> = rest.split('/').collect();
        if !matches!(parts.as_slice(), [document, "downloads", download]
            if path_segment(document).is_ok() && path_segment(download).is_ok())
        {
            return Err(ProcessorError::Refused(
                "not a document's download address".into(),
            ));
        }
        let (status, location, body) = self.fetch(download_uri, Some(secret_key)).await?;
        let (status, body) = match location {
            Some(to) if status.is_redirection() && to.starts_with("https://") => {
                let (status, _, body) = self.fetch(&to, None).await?;
                (status, body)
            }
            _ => (status, body),
        };
        if status != StatusCode::OK {
            return Err(ProcessorError::Unavailable(
                format!("Omise answered HTTP {} for the QR image", status.as_u16()).into(),
            ));
        }
        Ok(body.to_vec())
    }

    /// One `GET` of an image, with the key when given, bounded by the timeout and
    /// [`MAX_QR_IMAGE`]; redirects are answered, not followed.
    async fn fetch(
        &self,
        uri: &str,
        secret_key: Option<&str>,
    ) -> Result<(StatusCode, Option<String>, Bytes), ProcessorError> {
        use base64::Engine as _;
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header("Omise-Version", OMISE_VERSION)
            .header("User-Agent", "payment-links/1")
            .header("Accept", "image/svg+xml, image/png");
        if let Some(key) = secret_key {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
            request = request.header("Authorization", format!("Basic {basic}"));
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| ProcessorError::Refused(format!("the QR image's address: {e}")))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("connection: {e}"))?;
            let status = response.status();
            let location = response
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = Limited::new(response.into_body(), MAX_QR_IMAGE)
                .collect()
                .await
                .map_err(|e| format!("reading the QR image: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, location, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(why)) => Err(ProcessorError::Unavailable(format!("Omise: {why}").into())),
            Err(_) => Err(ProcessorError::Unavailable(
                "Omise did not answer in time".into(),
            )),
        }
    }
}

/// The merchant's Omise account, for one mode: the API and the secret key.
pub struct OmiseProcessor<'a> {
    api: &'a OmiseApi,
    secret_key: &'a str,
}

impl std::fmt::Debug for OmiseProcessor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("OmiseProcessor")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl<'a> OmiseProcessor<'a> {
    pub fn new(api: &'a OmiseApi, secret_key: &'a str) -> Self {
        Self { api, secret_key }
    }

    /// Whether the key is a live one (`skey_…`, not `skey_test_…`).
    fn key_livemode(&self) -> bool {
        !self.secret_key.starts_with("skey_test_")
    }

    /// The key must be of the owner's mode: a test link is never charged with a live key.
    fn for_mode(&self, owner: &Principal) -> Result<(), ProcessorError> {
        if self.key_livemode() == owner.livemode {
            Ok(())
        } else {
            Err(ProcessorError::Refused(
                "the account's Omise key is not of the link's mode".into(),
            ))
        }
    }

    /// A `POST`, sent once.
    async fn post<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        form: String,
    ) -> Result<T, ProcessorError> {
        let answer = self
            .api
            .send(Method::POST, path, self.secret_key, Some(form))
            .await;
        read(answer)
    }

    /// A `GET`, tried a second time when the first gave no answer or a 5xx.
    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, ProcessorError> {
        let first = self
            .api
            .send(Method::GET, path, self.secret_key, None)
            .await;
        let again = match &first {
            Err(_) => true,
            Ok((status, _)) => status.is_server_error(),
        };
        if again {
            let second = self
                .api
                .send(Method::GET, path, self.secret_key, None)
                .await;
            return read(second);
        }
        read(first)
    }

    /// A charge answered by Omise, as the service keeps it, checked for the mode.
    fn charge_of(&self, charge: OmiseCharge) -> Result<ProcessorCharge, ProcessorError> {
        if charge.livemode != self.key_livemode() {
            return Err(ProcessorError::Unavailable(
                format!("Omise answered charge {} of the other mode", charge.id).into(),
            ));
        }
        Ok(charge.into_processor_charge())
    }

    async fn retrieve_charge(&self, id: &str) -> Result<ProcessorCharge, ProcessorError> {
        let charge: OmiseCharge = self.get(&format!("/charges/{}", path_segment(id)?)).await?;
        self.charge_of(charge)
    }

    async fn charge_now(
        &self,
        request: ChargeRequest<'_>,
    ) -> Result<ProcessorCharge, ProcessorError> {
        self.for_mode(request.owner)?;
        let amount = request.amount.to_string();
        let expires_at = request
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut pairs = vec![
            ("amount", amount.as_str()),
            ("currency", request.currency),
            ("description", request.description),
            ("return_uri", request.return_uri),
            ("metadata[link]", request.link),
            ("metadata[attempt]", request.attempt),
            ("metadata[attempt_key]", request.key),
        ];
        if let Some(ip) = request.ip {
            pairs.push(("ip", ip));
        }
        match request.payment {
            Payment::Token(token) => pairs.extend([("card", token), ("capture", "true")]),
            Payment::PromptPay => {
                pairs.extend([("source[type]", "promptpay"), ("expires_at", &expires_at)]);
            }
            Payment::Card(_) => {
                // Card numbers reach Omise from the buyer's browser only (Omise.js).
                return Err(ProcessorError::Refused(
                    "a card number is never sent to Omise by the service".into(),
                ));
            }
        }
        let charge: OmiseCharge = self.post("/charges", form(&pairs)).await?;
        self.charge_of(charge)
    }

    async fn find_now(&self, key: &str) -> Result<Option<ProcessorCharge>, ProcessorError> {
        // The key is a MAC of the link and attempt: unique, and nothing a search query treats
        // as syntax. Omise's search is eventually consistent, so a charge made moments ago may
        // not be listed yet; the caller treats "none" as final only past the attempt's
        // deadline (see `payments`), long after.
        let query = form(&[("scope", "charge"), ("query", key), ("per_page", "100")]);
        let found: OmiseSearch = self.get(&format!("/search?{query}")).await?;
        let mut matching = found
            .data
            .into_iter()
            .filter(|c| c.metadata.get(META_KEY).and_then(|v| v.as_str()) == Some(key));
        let Some(charge) = matching.next() else {
            return Ok(None);
        };
        if matching.next().is_some() {
            // Never made by this service: each key is charged once. Nothing is recorded from
            // an account in that state.
            return Err(ProcessorError::Unavailable(
                format!("Omise holds more than one charge under one attempt's key ({key})").into(),
            ));
        }
        // Search results may be stale: the charge itself, as it is now.
        self.retrieve_charge(&charge.id).await.map(Some)
    }

    async fn reverse_now(&self, id: &str) -> Result<ProcessorCharge, ProcessorError> {
        let segment = path_segment(id)?;
        let now: OmiseCharge = self.get(&format!("/charges/{segment}")).await?;
        if now.reversible {
            let charge: OmiseCharge = self
                .post(&format!("/charges/{segment}/reverse"), String::new())
                .await?;
            return self.charge_of(charge);
        }
        let outstanding = now.amount - now.refunded_amount.unwrap_or(0);
        if now.status == "successful" && outstanding > 0 {
            let key = format!("undo-{id}");
            if self.find_refund_now(id, &key).await?.is_none() {
                let body = form(&[
                    ("amount", &outstanding.to_string()),
                    ("metadata[attempt_key]", &key),
                ]);
                let _: OmiseRefund = self
                    .post(&format!("/charges/{segment}/refunds"), body)
                    .await?;
            }
        }
        self.retrieve_charge(id).await
    }

    async fn find_refund_now(
        &self,
        charge: &str,
        key: &str,
    ) -> Result<Option<ProcessorRefund>, ProcessorError> {
        // Omise keeps fewer than 15 refunds a charge: one page holds them all.
        let list: OmiseList<OmiseRefund> = self
            .get(&format!(
                "/charges/{}/refunds?limit=100",
                path_segment(charge)?
            ))
            .await?;
        Ok(list
            .data
            .into_iter()
            .find(|r| r.metadata.get(META_KEY).and_then(|v| v.as_str()) == Some(key))
            .map(OmiseRefund::into_processor_refund))
    }
}

impl Processor for OmiseProcessor<'_> {
    fn scannable_code<'a>(
        &'a self,
        owner: &'a Principal,
        source: &'a Source,
    ) -> Answer<'a, Option<ScannableCode>> {
        Box::pin(async move {
            self.for_mode(owner)?;
            if source.download_uri.is_empty() {
                return Ok(None);
            }
            // The charge is the one the address names; the document id is checked with it.
            let charge = source
                .download_uri
                .split("/charges/")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .unwrap_or_default();
            self.api
                .download_document(&source.download_uri, charge, self.secret_key)
                .await
                .map(|image| Some(ScannableCode::Image(image)))
        })
    }

    fn charge<'a>(&'a self, request: ChargeRequest<'a>) -> Answer<'a, ProcessorCharge> {
        Box::pin(self.charge_now(request))
    }

    fn find<'a>(
        &'a self,
        owner: &'a Principal,
        key: &'a str,
    ) -> Answer<'a, Option<ProcessorCharge>> {
        Box::pin(async move {
            self.for_mode(owner)?;
            self.find_now(key).await
        })
    }

    fn retrieve<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
    ) -> Answer<'a, Option<ProcessorCharge>> {
        Box::pin(async move {
            self.for_mode(owner)?;
            match self.retrieve_charge(id).await {
                Ok(charge) => Ok(Some(charge)),
                Err(ProcessorError::Refused(why)) if why.starts_with("not_found") => Ok(None),
                Err(other) => Err(other),
            }
        })
    }

    fn expire<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        _now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        Box::pin(async move {
            self.for_mode(owner)?;
            let path = format!("/charges/{}/expire", path_segment(id)?);
            match self.post::<OmiseCharge>(&path, String::new()).await {
                Ok(charge) => self.charge_of(charge),
                // Already ended (paid a moment before, say): as it ended.
                Err(ProcessorError::Refused(_)) => self.retrieve_charge(id).await,
                Err(other) => Err(other),
            }
        })
    }

    fn reverse<'a>(&'a self, owner: &'a Principal, id: &'a str) -> Answer<'a, ProcessorCharge> {
        Box::pin(async move {
            self.for_mode(owner)?;
            self.reverse_now(id).await
        })
    }

    fn mark<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        paid: bool,
        _now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        Box::pin(async move {
            self.for_mode(owner)?;
            if owner.livemode {
                return Err(ProcessorError::Refused(
                    "mark_as_paid and mark_as_failed are test mode's".into(),
                ));
            }
            let action = if paid {
                "mark_as_paid"
            } else {
                "mark_as_failed"
            };
            let path = format!("/charges/{}/{action}", path_segment(id)?);
            let charge: OmiseCharge = self.post(&path, String::new()).await?;
            self.charge_of(charge)
        })
    }

    fn authenticate<'a>(
        &'a self,
        _owner: &'a Principal,
        _id: &'a str,
        _passed: bool,
        _now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        Box::pin(async {
            Err(ProcessorError::Refused(
                "3-D Secure is answered at the bank's page Omise sends the buyer to".into(),
            ))
        })
    }

    fn refund<'a>(
        &'a self,
        owner: &'a Principal,
        charge: &'a str,
        key: &'a str,
        amount: i64,
        _now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorRefund> {
        Box::pin(async move {
            self.for_mode(owner)?;
            let body = form(&[
                ("amount", &amount.to_string()),
                ("metadata[attempt_key]", key),
            ]);
            let path = format!("/charges/{}/refunds", path_segment(charge)?);
            let refund: OmiseRefund = self.post(&path, body).await?;
            Ok(refund.into_processor_refund())
        })
    }

    fn find_refund<'a>(
        &'a self,
        owner: &'a Principal,
        charge: &'a str,
        key: &'a str,
    ) -> Answer<'a, Option<ProcessorRefund>> {
        Box::pin(async move {
            self.for_mode(owner)?;
            self.find_refund_now(charge, key).await
        })
    }
}

/// A form body (or query) of `pairs`, encoded as Omise reads them.
fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// An id as one path segment: Omise's ids are letters, digits and `_`; anything else is not
/// one of its ids, and is never put in a URL.
fn path_segment(id: &str) -> Result<&str, ProcessorError> {
    if !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(id)
    } else {
        Err(ProcessorError::Refused(format!("not an Omise id: {id:?}")))
    }
}

/// Omise's answer read: its object on 2xx; its error as `Refused` on 4xx (nothing was done);
/// `Unavailable` for anything else (no answer, a 5xx, an answer that cannot be read), since
/// then nothing says whether it acted.
fn read<T: for<'de> Deserialize<'de>>(
    answer: Result<(StatusCode, Bytes), Transport>,
) -> Result<T, ProcessorError> {
    let (status, body) = match answer {
        Ok(answer) => answer,
        Err(Transport::TimedOut) => {
            return Err(ProcessorError::Unavailable(
                "Omise did not answer in time".into(),
            ));
        }
        Err(Transport::Failed(why)) => {
            return Err(ProcessorError::Unavailable(format!("Omise: {why}").into()));
        }
    };
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            ProcessorError::Unavailable(format!("Omise's answer could not be read: {e}").into())
        });
    }
    if status.is_client_error() {
        if let Ok(error) = serde_json::from_slice::<OmiseError>(&body) {
            if error.object == "error" {
                return Err(ProcessorError::Refused(format!(
                    "{}: {}",
                    error.code, error.message
                )));
            }
        }
    }
    Err(ProcessorError::Unavailable(
        format!("Omise answered HTTP {}", status.as_u16()).into(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Omise's objects, as version 2019-05-29 writes them: the fields the service reads.

#[derive(Debug, Deserialize)]
struct OmiseError {
    object: String,
    code: String,
    message: String,
}

#[derive(Debug, Deserialize)]
struct OmiseList<T> {
    data: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct OmiseSearch {
    data: Vec<OmiseCharge>,
}

#[derive(Debug, Deserialize)]
struct OmiseCharge {
    id: String,
    livemode: bool,
    amount: i64,
    currency: String,
    status: String,
    #[serde(default)]
    refunded_amount: Option<i64>,
    #[serde(default)]
    reversible: bool,
    failure_code: Option<String>,
    transaction: Option<String>,
    card: Option<OmiseCard>,
    source: Option<OmiseSource>,
    authorize_uri: Option<String>,
    return_uri: Option<String>,
    #[serde(default)]
    metadata: serde_json::Map<String, serde_json::Value>,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct OmiseCard {
    id: String,
    brand: String,
    last_digits: String,
    expiration_month: u32,
    expiration_year: i32,
    name: Option<String>,
    fingerprint: String,
    security_code_check: bool,
}

#[derive(Debug, Deserialize)]
struct OmiseSource {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    amount: i64,
    currency: String,
    scannable_code: Option<OmiseScannableCode>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct OmiseScannableCode {
    image: OmiseDocument,
}

#[derive(Debug, Deserialize)]
struct OmiseDocument {
    id: String,
    download_uri: String,
}

#[derive(Debug, Deserialize)]
struct OmiseRefund {
    id: String,
    charge: String,
    amount: i64,
    transaction: Option<String>,
    #[serde(default)]
    metadata: serde_json::Map<String, serde_json::Value>,
    created_at: DateTime<Utc>,
}

fn meta(metadata: &serde_json::Map<String, serde_json::Value>, key: &str) -> String {
    metadata
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

impl OmiseCharge {
    fn into_processor_charge(self) -> ProcessorCharge {
        let refunded_in_full = self.refunded_amount.is_some_and(|r| r >= self.amount);
        let status = match self.status.as_str() {
            // Undone by a full refund (a void before settlement): nothing was taken.
            "successful" if refunded_in_full => Status::Reversed,
            "successful" => Status::Successful,
            "pending" => Status::Pending,
            "reversed" => Status::Reversed,
            "expired" => Status::Expired,
            // `failed`, and anything this version does not name: never taken as paid.
            _ => Status::Failed,
        };
        let failure = match status {
            Status::Failed => Some(
                self.failure_code
                    .unwrap_or_else(|| "failed_processing".into()),
            ),
            _ => None,
        };
        ProcessorCharge {
            key: meta(&self.metadata, META_KEY),
            link: meta(&self.metadata, META_LINK),
            attempt: meta(&self.metadata, META_ATTEMPT),
            amount: self.amount,
            currency: self.currency.to_ascii_lowercase(),
            status,
            failure,
            transaction: self.transaction,
            card: self.card.map(|card| Card {
                id: card.id,
                brand: card.brand,
                last_digits: card.last_digits,
                expiration_month: card.expiration_month,
                expiration_year: card.expiration_year,
                name: card.name.unwrap_or_default(),
                fingerprint: card.fingerprint,
                security_code_check: card.security_code_check,
            }),
            source: self.source.map(|source| {
                let (document, download_uri) = source
                    .scannable_code
                    .map(|code| (code.image.id, code.image.download_uri))
                    .unwrap_or_default();
                Source {
                    id: source.id,
                    kind: source.kind,
                    amount: source.amount,
                    currency: source.currency.to_ascii_lowercase(),
                    document,
                    download_uri,
                    // Omise serves the QR code as an image only.
                    payload: String::new(),
                    created: source.created_at,
                }
            }),
            authorize_uri: self.authorize_uri,
            return_uri: self.return_uri.unwrap_or_default(),
            expires_at: self.expires_at.unwrap_or(self.created_at),
            created: self.created_at,
            id: self.id,
        }
    }
}

impl OmiseRefund {
    fn into_processor_refund(self) -> ProcessorRefund {
        ProcessorRefund {
            key: meta(&self.metadata, META_KEY),
            charge: self.charge,
            amount: self.amount,
            transaction: self.transaction.unwrap_or_default(),
            created: self.created_at,
            id: self.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_names_origins_only() {
        let browser = OmiseBrowser::new(
            "https://cdn.omise.co/omise.js",
            "https://vault.omise.co",
            "http://127.0.0.1:9000/",
        );
        assert_eq!(browser.js_origin, "https://cdn.omise.co");
        assert_eq!(browser.vault_origin, "https://vault.omise.co");
        assert_eq!(browser.api_origin, "http://127.0.0.1:9000");
    }

    #[test]
    fn only_omise_ids_go_into_a_path() {
        assert!(path_segment("chrg_test_5jcmh5y5z3g5hurbu8o").is_ok());
        for bad in [
            "",
            "../x",
            "chrg/1",
            "chrg?x=1",
            "chrg#",
            "a b",
            &"a".repeat(65),
        ] {
            assert!(path_segment(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_secret_key_in_clear_text_goes_only_to_loopback() {
        let second = Duration::from_secs(1);
        assert!(OmiseApi::new("https://api.omise.co", second).is_ok());
        assert!(OmiseApi::new("http://127.0.0.1:9000/", second).is_ok());
        assert!(OmiseApi::new("http://api.omise.co", second).is_err());
        assert!(OmiseApi::new("http://127.0.0.1.evil.example:80", second).is_err());
    }

    #[test]
    fn an_unreadable_or_failed_answer_is_never_a_refusal() {
        let unavailable = |answer| {
            matches!(
                read::<OmiseCharge>(answer),
                Err(ProcessorError::Unavailable(_))
            )
        };
        assert!(unavailable(Err(Transport::TimedOut)));
        assert!(unavailable(Ok((
            StatusCode::BAD_GATEWAY,
            Bytes::from_static(b"{}")
        ))));
        assert!(unavailable(Ok((
            StatusCode::OK,
            Bytes::from_static(b"{\"object\":\"charge\"}")
        ))));
        // A 4xx that is not Omise's error object may be any proxy's: not known to be a refusal.
        assert!(unavailable(Ok((
            StatusCode::BAD_REQUEST,
            Bytes::from_static(b"<html>")
        ))));
        let refused = read::<OmiseCharge>(Ok((
            StatusCode::BAD_REQUEST,
            Bytes::from_static(br#"{"object":"error","location":"x","code":"invalid_card","message":"number is invalid"}"#),
        )));
        assert!(
            matches!(refused, Err(ProcessorError::Refused(why)) if why == "invalid_card: number is invalid")
        );
    }
}
