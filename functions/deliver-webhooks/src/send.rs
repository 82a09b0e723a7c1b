//! One delivery attempt: a signed POST of an event to a merchant's endpoint.
//!
//! The endpoint is a URL a merchant chose, so every attempt treats it as hostile input. It is
//! checked again (the rules may have tightened since it was set), its name is resolved once, and
//! every address the name resolved to must be public before the attempt connects, to one of
//! those same addresses: resolving a second time to connect would let a name answer a public
//! address to the check and a private one to the connection (DNS rebinding). Redirects are not
//! followed, for the same reason. Nothing is pooled: one connection carries one request, so no
//! connection outlives the check made for it.
//!
//! Plain `http://` is sent only where the policy allows it, to a loopback address
//! (`DestinationPolicy::local_development`, for `scripts/dev`): never in a deployment.
//!
//! An attempt never panics on what the merchant's server sends, never reads more of it than the
//! response head (whose size hyper bounds), and never outlives its timeout. Its error text is
//! shown to the merchant, so it is short and never carries the secret or the signature.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, DnsName, ServerName};
use rustls::{ClientConfig, RootCertStore};
use shared::domain::webhook::{
    SIGNATURE_HEADER, SigningSecret, TIMESTAMP_HEADER, signature_header,
};
use shared::validate::{DestinationPolicy, Endpoint, check_resolved, parse_endpoint};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The `User-Agent` of every delivery, so a merchant can tell webhooks from other traffic.
pub const USER_AGENT_VALUE: &str = "payment-links-webhooks/1";

/// The most of a response's head hyper buffers (its smallest allowed is 8 KiB); a longer head
/// fails the attempt rather than growing a buffer on a merchant's say-so.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// Error texts are stored on events and shown to merchants; the underlying errors are short, and
/// this keeps them so whatever a library puts in them.
const MAX_ERROR_CHARS: usize = 200;

/// Resolves a host name and port to addresses, in place of the system resolver.
pub type Resolver = Arc<dyn Fn(&str, u16) -> Vec<SocketAddr> + Send + Sync>;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The status the endpoint answered; `None` when it gave none (refused, unreachable, TLS
    /// failure, timeout).
    pub status: Option<u16>,
    /// Why the attempt failed, for the merchant to read; `None` when it was delivered.
    pub error: Option<String>,
}

impl Attempt {
    /// Whether the endpoint took the event: it answered 2xx.
    pub fn delivered(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }

    fn failed(error: impl Into<String>) -> Self {
        let error: String = error.into();
        Self {
            status: None,
            error: Some(error.chars().take(MAX_ERROR_CHARS).collect()),
        }
    }
}

/// Sends webhook deliveries. Built once per cold start: loading the trust store is the slow part.
#[derive(Clone)]
pub struct Sender {
    policy: DestinationPolicy,
    tls: TlsConnector,
    timeout: Duration,
    resolver: Option<Resolver>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("custom_resolver", &self.resolver.is_some())
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender that trusts the system's root certificates (merchants' endpoints carry publicly
    /// trusted certificates) and, for tests only, the certificates in `extra_roots_pem` (a test
    /// receiver's self-signed one). `timeout` bounds a whole attempt: resolving, connecting, the
    /// TLS handshake, sending, and the response's head.
    pub fn new(
        policy: DestinationPolicy,
        extra_roots_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Sender, String> {
        let mut roots = RootCertStore::empty();
        // A certificate the system store holds but webpki cannot read only loses that one issuer.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(pem) = extra_roots_pem {
            let extra = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("extra root certificates: {e}"))?;
            if extra.is_empty() {
                return Err("extra root certificates: no certificate in the PEM".into());
            }
            for cert in extra {
                roots
                    .add(cert)
                    .map_err(|e| format!("extra root certificates: {e}"))?;
            }
        }
        if roots.is_empty() {
            // No delivery could ever succeed: better to fail the cold start where it shows.
            return Err(format!(
                "no trusted root certificates: the system store gave none ({} errors loading it)",
                native.errors.len()
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Sender {
            policy,
            tls: TlsConnector::from(Arc::new(config)),
            timeout,
            resolver: None,
        })
    }

    /// For tests: resolves names with `resolver` instead of the system resolver, so a test can
    /// make a name resolve wherever it needs (to loopback, say, to see it refused). Only the
    /// addresses are used; the port is always the URL's.
    pub fn with_resolver(self, resolver: Resolver) -> Sender {
        Sender {
            resolver: Some(resolver),
            ..self
        }
    }

    /// POSTs `body` (an event's JSON) to `url`, signed with `secrets` (the current secret first,
    /// then the previous one while a rotation lasts) at `timestamp` (Unix seconds).
    pub async fn deliver(
        &self,
        url: &str,
        secrets: &[&SigningSecret],
        timestamp: i64,
        body: &str,
    ) -> Attempt {
        if secrets.is_empty() {
            // An unsigned delivery would teach a receiver to accept unsigned ones.
            return Attempt::failed("no signing secret");
        }
        let signature = signature_header(secrets, timestamp, body.as_bytes());
        let attempt = self.attempt(url, &signature, timestamp, body);
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(status)) if (200..300).contains(&status) => Attempt {
                status: Some(status),
                error: None,
            },
            Ok(Ok(status)) => Attempt {
                status: Some(status),
                error: Some(match status {
                    300..=399 => format!("HTTP {status} (redirects are not followed)"),
                    _ => format!("HTTP {status}"),
                }),
            },
            Ok(Err(error)) => Attempt::failed(error),
            Err(_) => Attempt::failed(format!("timed out after {} s", seconds(self.timeout))),
        }
    }

    /// The attempt, up to the status of the answer.
    async fn attempt(
        &self,
        url: &str,
        signature: &str,
        timestamp: i64,
        body: &str,
    ) -> Result<u16, String> {
        let endpoint =
            parse_endpoint(url, self.policy).map_err(|e| format!("refused: {}", e.message()))?;
        let addresses = self.resolve(&endpoint).await?;
        let ips: Vec<IpAddr> = addresses.iter().map(SocketAddr::ip).collect();
        check_resolved(&ips, self.policy).map_err(|ip| {
            format!(
                "refused: {} resolves to a non-public address ({ip})",
                endpoint.host
            )
        })?;
        let request = request(&endpoint, signature, timestamp, body)?;
        if !endpoint.tls {
            // parse_endpoint took http:// only as the policy allows: to loopback, locally.
            return exchange(connect(&addresses).await?, request).await;
        }
        let server_name = server_name(&endpoint.host)?;

        let tcp = connect(&addresses).await?;
        let tls =
            self.tls.connect(server_name, tcp).await.map_err(|e| {
                format!("TLS handshake failed: {}", tls_failure(&e, &endpoint.host))
            })?;
        exchange(tls, request).await
    }

    /// Every address `endpoint`'s host stands for, with the endpoint's port.
    async fn resolve(&self, endpoint: &Endpoint) -> Result<Vec<SocketAddr>, String> {
        let host = endpoint.host.as_str();
        let ips: Vec<IpAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
            vec![ip]
        } else if let Some(resolver) = &self.resolver {
            resolver(host, endpoint.port)
                .iter()
                .map(SocketAddr::ip)
                .collect()
        } else {
            tokio::net::lookup_host((host, endpoint.port))
                .await
                .map_err(|e| format!("DNS lookup of {host} failed: {e}"))?
                .map(|address| address.ip())
                .collect()
        };
        if ips.is_empty() {
            return Err(format!("DNS lookup of {host} found no address"));
        }
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, endpoint.port))
            .collect())
    }
}

/// Sends `request` over `io` (TLS, or plain TCP to loopback locally) and reads the answer's
/// status.
async fn exchange<T>(io: T, request: Request<Full<Bytes>>) -> Result<u16, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_RESPONSE_HEAD)
        // Some merchants' code looks headers up by the exact names Omise documents.
        .title_case_headers(true)
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| http_failure(&e))?;
    // The connection is driven here rather than spawned, so it ends with the attempt (at the
    // latest at its timeout) instead of lingering on a server that never closes.
    let mut exchange = pin!(sender.send_request(request));
    let mut connection = pin!(connection);
    let response = tokio::select! {
        biased;
        response = &mut exchange => response,
        // hyper hands the connection's end (an answer or an error) to the waiting request.
        _ = &mut connection => exchange.await,
    }
    .map_err(|e| http_failure(&e))?;
    // The body is left unread: the status is the whole answer, and a merchant's server decides
    // how long a body is.
    Ok(response.status().as_u16())
}

/// The first of `addresses` that accepts a connection. All of them were checked.
async fn connect(addresses: &[SocketAddr]) -> Result<TcpStream, String> {
    let mut error = String::from("no address to connect to");
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // The request goes out in one write; waiting to coalesce it only adds latency.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                error = format!("connection refused by {address}");
            }
            Err(e) => error = format!("could not connect to {address}: {e}"),
        }
    }
    Err(error)
}

fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    match host.parse::<IpAddr>() {
        Ok(ip) => Ok(ServerName::IpAddress(ip.into())),
        Err(_) => DnsName::try_from(host.to_owned())
            .map(ServerName::DnsName)
            .map_err(|_| format!("refused: {host} is not a valid TLS server name")),
    }
}

fn request(
    endpoint: &Endpoint,
    signature: &str,
    timestamp: i64,
    body: &str,
) -> Result<Request<Full<Bytes>>, String> {
    let host = if endpoint.host.contains(':') {
        format!("[{}]", endpoint.host)
    } else {
        endpoint.host.clone()
    };
    let host = match (endpoint.tls, endpoint.port) {
        (true, 443) | (false, 80) => host,
        (_, port) => format!("{host}:{port}"),
    };
    Request::builder()
        .method(Method::POST)
        .uri(request_target(&endpoint.url))
        .header(HOST, host)
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_LENGTH, body.len())
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(SIGNATURE_HEADER, signature)
        .header(TIMESTAMP_HEADER, timestamp)
        .header(CONNECTION, "close")
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|_| "refused: the URL's path is not valid in a request".to_owned())
}

/// The URL's path and query, as the request line carries them: no fragment (never sent), and
/// every byte a request line cannot hold as is percent-encoded (a merchant may type a Thai path).
fn request_target(url: &str) -> String {
    // parse_endpoint checked that the URL starts with an ASCII "https://" (or "http://").
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    let start = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let target = rest[start..].split('#').next().unwrap_or("");
    let mut encoded = String::with_capacity(target.len() + 1);
    if !target.starts_with('/') {
        encoded.push('/');
    }
    for byte in target.bytes() {
        if byte.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&byte) {
            encoded.push(byte as char);
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// What went wrong in a handshake, in words a merchant can act on: rustls's own texts for
/// certificates carry the names and algorithm identifiers they compared, which is long and
/// says less.
fn tls_failure(error: &std::io::Error, host: &str) -> String {
    use rustls::CertificateError as Cert;
    let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return error.to_string();
    };
    let rustls::Error::InvalidCertificate(certificate) = tls else {
        return tls.to_string();
    };
    match certificate {
        Cert::NotValidForName | Cert::NotValidForNameContext { .. } => {
            format!("the certificate is not valid for {host}")
        }
        Cert::Expired | Cert::ExpiredContext { .. } => "the certificate has expired".into(),
        Cert::NotValidYet | Cert::NotValidYetContext { .. } => {
            "the certificate is not valid yet".into()
        }
        Cert::Revoked => "the certificate is revoked".into(),
        Cert::InvalidPurpose | Cert::InvalidPurposeContext { .. } => {
            "the certificate is not for a TLS server".into()
        }
        Cert::UnknownIssuer
        | Cert::BadSignature
        | Cert::UnsupportedSignatureAlgorithmContext { .. }
        | Cert::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "the certificate is not issued by a trusted certificate authority".into()
        }
        other => format!("invalid certificate: {other}"),
    }
}

fn http_failure(error: &hyper::Error) -> String {
    if error.is_timeout() {
        return "HTTP exchange timed out".into();
    }
    match std::error::Error::source(error) {
        Some(cause) => format!("HTTP exchange failed: {error}: {cause}"),
        None => format!("HTTP exchange failed: {error}"),
    }
}

fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        duration.as_secs().to_string()
    } else {
        format!("{:.1}", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_target_is_the_path_and_query_without_the_fragment() {
        for (url, target) in [
            ("https://shop.example.com", "/"),
            ("https://shop.example.com/", "/"),
            ("https://shop.example.com:8443/hooks/omise", "/hooks/omise"),
            ("https://shop.example.com?x=1&y=2", "/?x=1&y=2"),
            ("https://shop.example.com/h?x=1#frag", "/h?x=1"),
            ("https://shop.example.com#frag", "/"),
            ("https://[2606:4700::1]:8443/h", "/h"),
            ("http://127.0.0.1:4000/hook?x=1", "/hook?x=1"),
            ("http://127.0.0.1:4000", "/"),
            (
                "https://shop.example.com/ร้าน",
                "/%E0%B8%A3%E0%B9%89%E0%B8%B2%E0%B8%99",
            ),
            ("https://shop.example.com/a{b}|c", "/a%7Bb%7D%7Cc"),
        ] {
            assert_eq!(request_target(url), target, "{url}");
            assert!(target.parse::<hyper::Uri>().is_ok(), "{target}");
        }
    }

    #[test]
    fn the_request_names_its_host_and_signs_with_the_documented_headers() {
        let endpoint = |host: &str, port| Endpoint {
            url: format!("https://{host}/h"),
            tls: true,
            host: host.trim_matches(['[', ']']).to_owned(),
            port,
        };
        let made = |host, port| {
            request(&endpoint(host, port), "abc,def", 1_700_000_000, "{}").expect("a request")
        };
        let request = made("shop.example.com", 443);
        let header = |name: &str| request.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(header("host"), "shop.example.com");
        assert_eq!(header("omise-signature"), "abc,def");
        assert_eq!(header("omise-signature-timestamp"), "1700000000");
        assert_eq!(header("content-type"), "application/json");
        assert_eq!(header("content-length"), "2");
        assert_eq!(header("connection"), "close");
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            made("shop.example.com", 8443).headers()["host"],
            "shop.example.com:8443"
        );
        assert_eq!(
            made("[2606:4700::1]", 8443).headers()["host"],
            "[2606:4700::1]:8443"
        );
    }

    #[test]
    fn only_2xx_is_delivered() {
        let with = |status| Attempt {
            status,
            error: None,
        };
        assert!(with(Some(200)).delivered());
        assert!(with(Some(204)).delivered());
        assert!(!with(Some(199)).delivered());
        assert!(!with(Some(301)).delivered());
        assert!(!with(None).delivered());
    }

    #[test]
    fn error_texts_are_kept_short() {
        let long = Attempt::failed("é".repeat(1000));
        assert_eq!(long.error.unwrap().chars().count(), MAX_ERROR_CHARS);
        assert_eq!(seconds(Duration::from_secs(10)), "10");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5");
    }
}
