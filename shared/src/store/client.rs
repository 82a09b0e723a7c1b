//! The DynamoDB client every process builds once: its HTTP stack, timeouts and retries.

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region, SharedHttpClient};
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

/// The SDK's HTTP client, with rustls on ring for TLS (it also speaks plain HTTP, for DynamoDB
/// Local).
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The functions' DynamoDB client, from exactly the variables Lambda sets: `AWS_REGION` and the
/// execution role's `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, plus
/// `AWS_ENDPOINT_URL_DYNAMODB` when pointed at DynamoDB Local (ignored when empty).
///
/// Why not `aws_config::load_from_env`: its default chain (profiles, SSO, web identity through
/// STS, instance metadata) is code a Lambda never runs, yet it made up over half of every
/// binary (7.4 MiB stripped with it; see the README's figures) and is linked whenever the loader
/// is called. Nothing here does I/O, so this is synchronous and cheap at cold start.
pub fn lambda_client() -> Result<aws_sdk_dynamodb::Client, String> {
    let region = std::env::var("AWS_REGION").map_err(|_| "AWS_REGION is not set".to_owned())?;
    let mut config = resilience(aws_sdk_dynamodb::Config::builder())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .http_client(http_client());
    if let Some(endpoint) = endpoint_override(std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok()) {
        config = config.endpoint_url(endpoint);
    }
    Ok(aws_sdk_dynamodb::Client::from_conf(config.build()))
}

/// The DynamoDB endpoint to use instead of the region's. The template declares the variable empty,
/// because `sam local` only lets `--env-vars` set variables a function declares; empty means none.
fn endpoint_override(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A DynamoDB client from the full default configuration chain (profiles included), for the admin
/// command run from an operator's machine.
pub async fn operator_client() -> aws_sdk_dynamodb::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
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
