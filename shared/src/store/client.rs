//! The DynamoDB client every process builds once: its HTTP stack, timeouts and retries.

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region, SharedHttpClient};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use std::time::Duration;

/// Longest a single DynamoDB attempt may take, connecting included. DynamoDB answers in
/// milliseconds; an attempt this slow has stalled, and another attempt is the better bet.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest one DynamoDB call may take, all its attempts and backoff together. A stalled DynamoDB
/// therefore costs a request at most this much per call before it answers 503, well inside the
/// request deadline (`http::response::REQUEST_DEADLINE`) and the function's 10 s timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
/// Attempts per call: the SDK retries throttling, 5xx answers and dropped connections itself.
pub const MAX_ATTEMPTS: u32 = 3;
/// The first retry's pause (jittered, doubling): short, because the caller is waiting.
const INITIAL_BACKOFF: Duration = Duration::from_millis(50);

/// Timeouts and retries for every DynamoDB client the project builds: functions, tools and tests
/// alike, so tests exercise what is deployed.
pub fn resilience(config: aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder {
    config
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(ATTEMPT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(INITIAL_BACKOFF)
                .with_max_backoff(Duration::from_secs(1)),
        )
}

/// The certificate authorities a client trusts for HTTPS.
///
/// The functions only ever talk TLS to DynamoDB's regional endpoint, whose certificate chains to
/// Amazon Trust Services. Trusting just its five roots, compiled in, means a cold start reads no
/// trust roots from disk: loading the system store (a bundle plus every file in /etc/ssl/certs,
/// a few hundred certificates) was about 2.5 ms of a 4 ms init. It also narrows trust: no other
/// authority in the system store can vouch for a certificate on the connection that carries
/// every link, key hash and charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustRoots {
    /// Amazon Trust Services' roots only ([`AMAZON_TRUST_SERVICES_ROOTS`]).
    Amazon,
    /// Amazon's roots and the system's store, for endpoints that may not chain to Amazon: an
    /// `https://` endpoint override (a TLS proxy, a self-hosted emulator) and the operator's
    /// `links-admin`, which runs on a workstation where a corporate proxy may re-sign TLS. The
    /// system store is then read when the client is built (`Client::from_conf` builds its
    /// connector), so at init.
    AmazonAndSystem,
}

/// Amazon Trust Services' five root certificates (Amazon Root CA 1 to 4 and Starfield Services
/// Root CA G2), as PEM. Amazon's advice for a custom trust store is all five; see the file's
/// header for where they come from and when they expire.
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("amazon-trust-services-roots.pem");

/// The SDK's HTTP client: rustls on ring for TLS (it also speaks plain HTTP, for DynamoDB Local),
/// trusting `trust`.
pub fn http_client(trust: TrustRoots) -> SharedHttpClient {
    let roots = TrustStore::empty()
        .with_native_roots(trust == TrustRoots::AmazonAndSystem)
        .with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS.as_bytes());
    let tls = TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .expect("a TLS context from a trust store only");
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https()
}

/// The functions' DynamoDB client, from exactly the variables Lambda sets: `AWS_REGION` and the
/// execution role's `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, plus
/// `AWS_ENDPOINT_URL_DYNAMODB` when pointed at DynamoDB Local (ignored when empty).
///
/// Why not `aws_config::load_from_env`: its default chain (profiles, SSO, web identity through
/// STS, instance metadata) is code a Lambda never runs, yet it made up over half of every
/// binary (7.4 MiB stripped with it; see docs/performance.md) and is linked whenever the loader
/// is called. Nothing here does I/O, so this is synchronous and cheap at cold start.
pub fn lambda_client() -> Result<aws_sdk_dynamodb::Client, String> {
    let region = std::env::var("AWS_REGION").map_err(|_| "AWS_REGION is not set".to_owned())?;
    let endpoint = endpoint_override(std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok());
    let trust = endpoint.as_deref().map_or(TrustRoots::Amazon, trust_for);
    let mut config = resilience(aws_sdk_dynamodb::Config::builder())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .http_client(http_client(trust));
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    Ok(aws_sdk_dynamodb::Client::from_conf(config.build()))
}

/// The DynamoDB endpoint to use instead of the region's. The template declares the variable empty,
/// because `sam local` only lets `--env-vars` set variables a function declares; empty means none.
fn endpoint_override(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// What a client pointed at `endpoint` trusts: an `https://` override may be anything, so the
/// system's store joins Amazon's; over plain `http://` (DynamoDB Local) trust does not arise.
fn trust_for(endpoint: &str) -> TrustRoots {
    let https = endpoint
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
    if https {
        TrustRoots::AmazonAndSystem
    } else {
        TrustRoots::Amazon
    }
}

/// A DynamoDB client from the full default configuration chain (profiles included), for the admin
/// command run from an operator's machine.
pub async fn operator_client() -> aws_sdk_dynamodb::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client(TrustRoots::AmazonAndSystem))
        .load()
        .await;
    aws_sdk_dynamodb::Client::from_conf(
        resilience(aws_sdk_dynamodb::config::Builder::from(&sdk)).build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_endpoint_means_the_regions_own() {
        assert_eq!(endpoint_override(None), None);
        assert_eq!(endpoint_override(Some(String::new())), None);
        assert_eq!(endpoint_override(Some("  ".into())), None);
        assert_eq!(
            endpoint_override(Some(" http://127.0.0.1:8000 ".into())).as_deref(),
            Some("http://127.0.0.1:8000")
        );
    }

    /// The DER certificates in a PEM text, in order.
    fn certificates(pem: &str) -> Vec<Vec<u8>> {
        use base64::Engine;
        let mut ders = Vec::new();
        let mut body: Option<String> = None;
        for line in pem.lines() {
            match (line, &mut body) {
                ("-----BEGIN CERTIFICATE-----", None) => body = Some(String::new()),
                ("-----END CERTIFICATE-----", Some(b64)) => {
                    ders.push(
                        base64::engine::general_purpose::STANDARD
                            .decode(&b64)
                            .unwrap(),
                    );
                    body = None;
                }
                (line, Some(b64)) => b64.push_str(line.trim()),
                _ => {}
            }
        }
        assert!(body.is_none(), "an unterminated certificate");
        ders
    }

    #[test]
    fn the_compiled_in_roots_are_amazon_trust_services_five() {
        use sha2::{Digest, Sha256};
        // SHA-256 of each whole certificate, as Mozilla's and Debian's stores list them.
        let expected = [
            "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e", // Root CA 1
            "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4", // Root CA 2
            "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4", // Root CA 3
            "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092", // Root CA 4
            "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5", // Starfield G2
        ];
        let found: Vec<String> = certificates(AMAZON_TRUST_SERVICES_ROOTS)
            .iter()
            .map(|der| {
                Sha256::digest(der)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            })
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn an_https_override_also_trusts_the_system_store() {
        assert_eq!(trust_for("http://127.0.0.1:8000"), TrustRoots::Amazon);
        assert_eq!(
            trust_for("https://proxy.internal"),
            TrustRoots::AmazonAndSystem
        );
        assert_eq!(
            trust_for("HTTPS://proxy.internal"),
            TrustRoots::AmazonAndSystem
        );
        assert_eq!(trust_for("http"), TrustRoots::Amazon);
    }

    /// The trust store is turned into rustls roots when the client configures its connector; a
    /// certificate it could not parse would panic there. A call to a closed HTTPS port gets that
    /// far and must come back as an ordinary connection error.
    #[tokio::test]
    async fn both_trust_stores_build_and_fail_cleanly_on_a_closed_port() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("https://{}", closed.local_addr().unwrap());
        drop(closed);
        for trust in [TrustRoots::Amazon, TrustRoots::AmazonAndSystem] {
            let config = resilience(aws_sdk_dynamodb::Config::builder())
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(&endpoint)
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "local", "local", None, None, "test",
                ))
                .retry_config(RetryConfig::disabled())
                .http_client(http_client(trust))
                .build();
            let client = aws_sdk_dynamodb::Client::from_conf(config);
            let err = client.list_tables().send().await.unwrap_err();
            assert!(
                matches!(err, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
                "{trust:?}: {err:?}"
            );
        }
    }

    #[test]
    fn every_client_gets_the_timeouts_and_retries() {
        let config = resilience(aws_sdk_dynamodb::Config::builder())
            .behavior_version(BehaviorVersion::latest())
            .build();
        let timeouts = config.timeout_config().expect("timeouts");
        assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(timeouts.connect_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(config.retry_config().unwrap().max_attempts(), MAX_ATTEMPTS);
        assert!(OPERATION_TIMEOUT > ATTEMPT_TIMEOUT);
    }
}
