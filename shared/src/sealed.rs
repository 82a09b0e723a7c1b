//! Secrets at rest: envelope encryption under an AWS KMS key.
//!
//! A merchant's gateway secret key (and Omise's webhook secret) is stored sealed: KMS makes a
//! fresh AES-256 data key for each value (`GenerateDataKey`), the value is encrypted with it
//! here (AES-256-GCM, ring), and only the data key as KMS encrypted it is kept beside the
//! ciphertext. So the table, its stream, its backups and anything that copies an item hold
//! nothing that opens without `kms:Decrypt` on the template's key, which only the functions
//! that charge may call.
//!
//! Each value is bound to what it is and whose ([`Context`]): the same context must be given
//! to open it, as KMS's encryption context (so it is in CloudTrail's record of every decrypt,
//! and an IAM condition can allow one purpose only) and as the cipher's associated data. A
//! sealed value copied onto another account's item does not open.
//!
//! Locally and in the tests, KMS is moto's emulator, started by the project's scripts.

use crate::domain::error::ApiError;
use aws_sdk_kms::config::{BehaviorVersion, Region};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use std::collections::HashMap;

/// The environment variable naming the KMS key (its ARN, id or alias).
pub const KMS_KEY_ENV: &str = "SECRETS_KMS_KEY";

/// The first byte of every sealed value: its layout's version.
const VERSION: u8 = 1;

/// A secret in clear, in memory only: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// What a sealed value is, and whose: KMS's encryption context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// What the value is (`gateway-secret-key`, `gateway-webhook-secret`, …).
    pub purpose: &'static str,
    pub account: String,
    /// `test` or `live`.
    pub mode: &'static str,
}

impl Context {
    fn pairs(&self) -> HashMap<String, String> {
        HashMap::from([
            ("purpose".to_owned(), self.purpose.to_owned()),
            ("account".to_owned(), self.account.clone()),
            ("mode".to_owned(), self.mode.to_owned()),
        ])
    }

    /// The cipher's associated data: the same three, unambiguously.
    fn aad(&self) -> Vec<u8> {
        serde_json::to_vec(&[self.purpose, &self.account, self.mode]).expect("strings serialize")
    }
}

/// Seals and opens values under one KMS key. Built once per cold start.
#[derive(Clone, Debug)]
pub struct Sealer {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl Sealer {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }

    /// From the environment: the key in `SECRETS_KMS_KEY`, KMS at `AWS_ENDPOINT_URL_KMS` when
    /// pointed at an emulator. `None` when no key is named (a function that needs none).
    pub fn from_env() -> Result<Option<Self>, String> {
        let Some(key) = std::env::var(KMS_KEY_ENV)
            .ok()
            .filter(|k| !k.trim().is_empty())
        else {
            return Ok(None);
        };
        Ok(Some(Self::new(kms_client()?, key.trim())))
    }

    /// `value` sealed for `context`: one `GenerateDataKey`.
    pub async fn seal(&self, value: &Secret, context: &Context) -> Result<Vec<u8>, ApiError> {
        let generated = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context.pairs()))
            .send()
            .await
            .map_err(|e| ApiError::internal(format!("KMS GenerateDataKey: {}", kms_error(&e))))?;
        let (Some(plain), Some(wrapped)) = (generated.plaintext(), generated.ciphertext_blob())
        else {
            return Err(ApiError::internal("KMS GenerateDataKey answered no key"));
        };
        let key = cipher(plain.as_ref())?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| ApiError::internal(format!("random source: {e}")))?;
        let mut data = value.expose().as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.aad()),
            &mut data,
        )
        .map_err(|_| ApiError::internal("sealing failed"))?;
        let wrapped = wrapped.as_ref();
        let length = u16::try_from(wrapped.len())
            .map_err(|_| ApiError::internal("KMS answered an oversized data key"))?;
        let mut sealed = Vec::with_capacity(3 + wrapped.len() + NONCE_LEN + data.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&length.to_be_bytes());
        sealed.extend_from_slice(wrapped);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&data);
        Ok(sealed)
    }

    /// `sealed` opened for `context`: one `Decrypt`. Fails, saying nothing of the value, if it
    /// was sealed for another context or altered.
    pub async fn open(&self, sealed: &[u8], context: &Context) -> Result<Secret, ApiError> {
        let (wrapped, nonce, data) =
            split(sealed).ok_or_else(|| ApiError::internal("a sealed value is malformed"))?;
        let answer = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .set_encryption_context(Some(context.pairs()))
            .send()
            .await
            .map_err(|e| ApiError::internal(format!("KMS Decrypt: {}", kms_error(&e))))?;
        let plain = answer
            .plaintext()
            .ok_or_else(|| ApiError::internal("KMS Decrypt answered no key"))?;
        let key = cipher(plain.as_ref())?;
        let mut data = data.to_vec();
        let opened = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.aad()),
                &mut data,
            )
            .map_err(|_| ApiError::internal("a sealed value did not open for its context"))?;
        let text = String::from_utf8(opened.to_vec())
            .map_err(|_| ApiError::internal("a sealed value is not text"))?;
        Ok(Secret(text))
    }
}

fn cipher(key: &[u8]) -> Result<LessSafeKey, ApiError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| ApiError::internal("KMS answered a data key of the wrong size"))
}

/// A sealed value's parts: the wrapped data key, the nonce, the ciphertext with its tag.
fn split(sealed: &[u8]) -> Option<(&[u8], [u8; NONCE_LEN], &[u8])> {
    let (&version, rest) = sealed.split_first()?;
    if version != VERSION || rest.len() < 2 {
        return None;
    }
    let length = u16::from_be_bytes([rest[0], rest[1]]) as usize;
    let rest = &rest[2..];
    if rest.len() < length + NONCE_LEN + AES_256_GCM.tag_len() {
        return None;
    }
    let (wrapped, rest) = rest.split_at(length);
    let (nonce, data) = rest.split_at(NONCE_LEN);
    Some((wrapped, nonce.try_into().ok()?, data))
}

/// A KMS error's code and message: never the request, which carries no secret anyway.
fn kms_error<E: aws_sdk_kms::error::ProvideErrorMetadata>(error: &E) -> String {
    format!(
        "{} {}",
        error.code().unwrap_or("error"),
        error.message().unwrap_or("")
    )
}

/// The operator's KMS client (links-admin): the usual AWS configuration, profiles included, with
/// `AWS_ENDPOINT_URL_KMS` honoured as the SDK honours it.
pub async fn operator_sealer() -> Result<Sealer, String> {
    let key = std::env::var(KMS_KEY_ENV)
        .ok()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            format!(
                "{KMS_KEY_ENV} is not set: name the stack's KMS key (its SecretsKmsKeyArn output)"
            )
        })?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::store::http_client(
            crate::store::TrustRoots::AmazonAndSystem,
        ))
        .load()
        .await;
    Ok(Sealer::new(aws_sdk_kms::Client::new(&sdk), key))
}

/// The functions' KMS client, built as their other AWS clients are (see
/// `secrets::secrets_client`), with `AWS_ENDPOINT_URL_KMS` when pointed at an emulator.
pub fn kms_client() -> Result<aws_sdk_kms::Client, String> {
    let (region, endpoint, trust) = crate::secrets::aws_service_settings("AWS_ENDPOINT_URL_KMS")?;
    let mut config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .http_client(crate::store::http_client(trust))
        .timeout_config(
            aws_sdk_kms::config::timeout::TimeoutConfig::builder()
                .operation_timeout(crate::store::OPERATION_TIMEOUT)
                .operation_attempt_timeout(crate::store::ATTEMPT_TIMEOUT)
                .connect_timeout(crate::store::ATTEMPT_TIMEOUT)
                .build(),
        );
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    Ok(aws_sdk_kms::Client::from_conf(config.build()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_sealed_value_is_refused_before_kms_is_asked() {
        assert!(split(&[]).is_none());
        assert!(split(&[2, 0, 1, 9]).is_none());
        assert!(
            split(&[1, 0, 4, 1, 2, 3, 4]).is_none(),
            "too short for nonce and tag"
        );
        let mut good = vec![1, 0, 2, 7, 7];
        good.extend([0u8; NONCE_LEN]);
        good.extend([5u8; 16]);
        let (wrapped, _, data) = split(&good).unwrap();
        assert_eq!((wrapped, data.len()), (&[7u8, 7][..], 16));
    }

    #[test]
    fn a_secret_is_never_printed() {
        let secret = Secret::new("skey_test_5xyz");
        assert!(!format!("{secret:?}").contains("skey"));
    }
}
