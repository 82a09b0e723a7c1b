//! The server-side secret that signs attempt keys, where it lives and how it is read.
//!
//! Deployed, it is an AWS Secrets Manager secret that the template creates with a generated value
//! (`AttemptKeySecret`): it is in neither template.yaml's text nor the table, and only the
//! functions that render or take payment forms may read it (`secretsmanager:GetSecretValue` on
//! that one secret). A function reads it on its first use after a cold start and keeps it; when
//! a key arrives signed by a secret it does not hold (one rotated since), it reads the secret
//! again, at most once a minute. Locally and in the tests, Secrets Manager is `moto`'s emulator
//! (started by `scripts/dev` and `scripts/test`); the in-process tests hand the keys in.
//!
//! Rotating: put a new value whose `current` is new and whose `previous` is the old `current`,
//! and keep that `previous` for at least a day (forms signed with it stay open that long):
//!
//! ```text
//! aws secretsmanager put-secret-value --secret-id <AttemptKeySecret> \
//!   --secret-string '{"current": "<64 random characters>", "previous": "<the old current>"}'
//! ```

use crate::domain::attempt::AttemptKeys;
use crate::domain::error::ApiError;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Region};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The environment variable naming the secret (its ARN or name).
pub const ATTEMPT_SECRET_ENV: &str = "ATTEMPT_KEY_SECRET";
/// The shortest time between two reads of the secret for a key it did not know.
pub const REREAD_AFTER: Duration = Duration::from_secs(60);

/// Where the attempt keys come from.
enum Source {
    /// Handed in (tests, benches).
    Given,
    /// Nowhere: `ATTEMPT_KEY_SECRET` is not set. Only a function that renders or takes payment
    /// forms needs it, and fails (500) on its first use without it.
    Missing,
    /// Read from Secrets Manager.
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        secret: String,
    },
}

/// The attempt keys of a running function: read once, read again after a rotation.
pub struct AttemptSecret {
    source: Source,
    /// The keys, and when they were read.
    cache: Mutex<Option<(Arc<AttemptKeys>, Instant)>>,
}

impl std::fmt::Debug for AttemptSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttemptSecret")
    }
}

impl AttemptSecret {
    /// Keys handed in: never read from anywhere.
    pub fn given(keys: AttemptKeys) -> Self {
        Self {
            source: Source::Given,
            cache: Mutex::new(Some((Arc::new(keys), Instant::now()))),
        }
    }

    /// Keys of a random secret of this process's own: forms it signs are taken by it alone.
    /// For tests, benches and tools that serve pages in-process.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        let secret = crate::domain::principal::hex(&bytes);
        Self::given(
            AttemptKeys::from_secret(&serde_json::json!({ "current": secret }).to_string())
                .expect("a long enough secret"),
        )
    }

    /// No keys: see `Source::Missing`.
    pub fn missing() -> Self {
        Self {
            source: Source::Missing,
            cache: Mutex::new(None),
        }
    }

    /// Keys read from the Secrets Manager secret `secret` with `client`, on first use.
    pub fn secrets_manager(client: aws_sdk_secretsmanager::Client, secret: String) -> Self {
        Self {
            source: Source::SecretsManager { client, secret },
            cache: Mutex::new(None),
        }
    }

    /// The keys: read on first use, then kept.
    pub async fn keys(&self) -> Result<Arc<AttemptKeys>, ApiError> {
        let mut cache = self.cache.lock().await;
        if let Some((keys, _)) = cache.as_ref() {
            return Ok(keys.clone());
        }
        let keys = Arc::new(self.read().await?);
        *cache = Some((keys.clone(), Instant::now()));
        Ok(keys)
    }

    /// The keys read again, for a key signed by a secret these did not hold; `None` when they
    /// were read less than [`REREAD_AFTER`] ago (or were handed in), so that forged keys cannot
    /// make every request read the secret.
    pub async fn reread(&self) -> Result<Option<Arc<AttemptKeys>>, ApiError> {
        if !matches!(self.source, Source::SecretsManager { .. }) {
            return Ok(None);
        }
        let mut cache = self.cache.lock().await;
        if cache
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < REREAD_AFTER)
        {
            return Ok(None);
        }
        let keys = Arc::new(self.read().await?);
        *cache = Some((keys.clone(), Instant::now()));
        Ok(Some(keys))
    }

    async fn read(&self) -> Result<AttemptKeys, ApiError> {
        let (client, secret) = match &self.source {
            Source::SecretsManager { client, secret } => (client, secret),
            Source::Missing => {
                return Err(ApiError::internal(format!(
                    "{ATTEMPT_SECRET_ENV} is not set"
                )));
            }
            Source::Given => return Err(ApiError::internal("attempt keys were to be handed in")),
        };
        let out = client
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| {
                ApiError::ServiceUnavailable(
                    format!(
                        "could not read the attempt key secret: {}",
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                    )
                    .into(),
                )
            })?;
        let text = out
            .secret_string()
            .ok_or_else(|| ApiError::internal("the attempt key secret holds no string"))?;
        AttemptKeys::from_secret(text).map_err(ApiError::internal)
    }
}

/// What a function's client of another AWS service is built from, as its DynamoDB client is:
/// the region Lambda sets, the endpoint in `endpoint_var` when pointed at an emulator (ignored
/// when empty), and the trust roots for it (Amazon's; also the system's for an `https://`
/// emulator).
pub(crate) fn aws_service_settings(
    endpoint_var: &str,
) -> Result<(String, Option<String>, crate::store::TrustRoots), String> {
    let region = std::env::var("AWS_REGION").map_err(|_| "AWS_REGION is not set".to_owned())?;
    let endpoint = std::env::var(endpoint_var)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let trust = if endpoint
        .as_deref()
        .is_some_and(|e| e.to_ascii_lowercase().starts_with("https://"))
    {
        crate::store::TrustRoots::AmazonAndSystem
    } else {
        crate::store::TrustRoots::Amazon
    };
    Ok((region, endpoint, trust))
}

/// The functions' Secrets Manager client, built as their DynamoDB client is (see
/// `store::lambda_client`): from the variables Lambda sets, with
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` when pointed at an emulator (ignored when empty).
pub fn secrets_client() -> Result<aws_sdk_secretsmanager::Client, String> {
    let (region, endpoint, trust) = aws_service_settings("AWS_ENDPOINT_URL_SECRETS_MANAGER")?;
    let mut config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .http_client(crate::store::http_client(trust))
        .timeout_config(
            aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder()
                .operation_timeout(crate::store::OPERATION_TIMEOUT)
                .operation_attempt_timeout(crate::store::ATTEMPT_TIMEOUT)
                .connect_timeout(crate::store::ATTEMPT_TIMEOUT)
                .build(),
        );
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    Ok(aws_sdk_secretsmanager::Client::from_conf(config.build()))
}

/// The environment variable naming the origin-verification secret: set only when CloudFront
/// (with the WAF) fronts the API.
pub const ORIGIN_SECRET_ENV: &str = "ORIGIN_VERIFY_SECRET";
/// The header CloudFront adds to every request it forwards, holding that secret.
pub const ORIGIN_HEADER: &str = "x-origin-verify";

/// Proof that a request came through the CloudFront distribution the WAF guards: the value
/// CloudFront adds to every request it forwards (`X-Origin-Verify`), from a Secrets Manager
/// secret both read. A request without it reached API Gateway some other way, past the WAF, and
/// is refused.
pub struct OriginGuard {
    client: aws_sdk_secretsmanager::Client,
    secret: String,
    value: tokio::sync::OnceCell<String>,
}

impl OriginGuard {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret: String) -> Self {
        Self {
            client,
            secret,
            value: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether `header` (the request's `X-Origin-Verify`) is the secret's value. The secret is
    /// read on first use and kept.
    pub async fn allows(&self, header: Option<&[u8]>) -> Result<bool, ApiError> {
        let value = self
            .value
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .get_secret_value()
                    .secret_id(&self.secret)
                    .send()
                    .await
                    .map_err(|e| {
                        ApiError::ServiceUnavailable(
                            format!(
                                "could not read the origin secret: {}",
                                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                            )
                            .into(),
                        )
                    })?;
                let text = out
                    .secret_string()
                    .ok_or_else(|| ApiError::internal("the origin secret holds no string"))?;
                let parsed: serde_json::Value = serde_json::from_str(text)
                    .map_err(|_| ApiError::internal("the origin secret is not JSON"))?;
                parsed["value"]
                    .as_str()
                    .filter(|v| v.len() >= crate::domain::attempt::MIN_SECRET_LEN)
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::internal("the origin secret has no long \"value\""))
            })
            .await?;
        Ok(header.is_some_and(|given| constant_time_eq(given, value.as_bytes())))
    }
}

impl std::fmt::Debug for OriginGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OriginGuard")
    }
}

/// Byte-wise equality in time that depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
