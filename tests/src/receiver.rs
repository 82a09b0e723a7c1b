//! A merchant's webhook receiver, for tests: `tests/webhook_receiver/receiver.py`, a real HTTPS
//! server on loopback with a certificate made here for the test, which checks every delivery's
//! signature with Python's own `hmac` (an implementation independent of the Rust one) and logs
//! what it received.

use crate::TestApp;
use serde_json::Value;
use shared::domain::principal::Principal;
use shared::validate::DestinationPolicy;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running receiver. Stopped when dropped.
pub struct Receiver {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    /// The receiver's certificate (PEM), for the delivery function to trust; empty for a
    /// plain-HTTP receiver.
    pub cert_pem: Vec<u8>,
    /// Plain HTTP, as a developer's receiver under `scripts/dev`.
    plain: bool,
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh directory under the target directory, removed with the receiver.
fn scratch() -> PathBuf {
    let dir = repository()
        .join("target")
        .join("webhook-receivers")
        .join(format!(
            "{}-{}",
            std::process::id(),
            shared::domain::ids::new_account_id()
        ));
    std::fs::create_dir_all(&dir).expect("make the receiver's directory");
    dir
}

/// A self-signed P-256 certificate for 127.0.0.1 and `receiver.test`, valid for a day.
fn make_certificate(dir: &Path) {
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=receiver.test"])
        .args([
            "-addext",
            "subjectAltName=DNS:receiver.test,DNS:localhost,IP:127.0.0.1",
        ])
        // A server's own certificate, not a CA's: rustls refuses a CA certificate as a server's.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl must be installed (scripts/setup does it)");
    assert!(status.success(), "openssl could not make a certificate");
}

/// A fresh certificate and its key (PEM), as the receiver's are made: for a test's own TLS
/// server.
pub fn test_certificate() -> (Vec<u8>, Vec<u8>) {
    let dir = scratch();
    make_certificate(&dir);
    let pair = (
        std::fs::read(dir.join("cert.pem")).expect("the certificate"),
        std::fs::read(dir.join("key.pem")).expect("the key"),
    );
    let _ = std::fs::remove_dir_all(&dir);
    pair
}

/// The port a helper `child` started with `--port-file path` wrote there once it listens; panics
/// if it exits first or takes more than 10 s.
pub fn wait_for_port_file(child: &mut Child, path: &Path, what: &str) -> u16 {
    let started = Instant::now();
    loop {
        if let Some(port) = std::fs::read_to_string(path)
            .ok()
            .and_then(|p| p.trim().parse().ok())
        {
            return port;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what} did not start"
        );
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Receiver {
    /// Starts a receiver that verifies with `secret` (base64) and takes `options` (see
    /// receiver.py: `--fail-first N`, `--previous-secret S`...). It is down (answers 503) while
    /// [`Receiver::outage_file`] exists.
    pub fn start(secret: &str, options: &[&str]) -> Receiver {
        Self::start_with(secret, options, false)
    }

    /// [`Receiver::start`], serving plain HTTP (on 127.0.0.1), as a developer's receiver does
    /// under `scripts/dev`.
    pub fn start_plain(secret: &str, options: &[&str]) -> Receiver {
        Self::start_with(secret, options, true)
    }

    fn start_with(secret: &str, options: &[&str], plain: bool) -> Receiver {
        let dir = scratch();
        let python = ["python3", "python"]
            .into_iter()
            .find(|p| Command::new(p).arg("--version").output().is_ok())
            .expect("python3 must be installed");
        let mut command = Command::new(python);
        command.arg(repository().join("tests/webhook_receiver/receiver.py"));
        if plain {
            command.arg("--plain");
        } else {
            make_certificate(&dir);
            command
                .arg("--cert")
                .arg(dir.join("cert.pem"))
                .arg("--key")
                .arg(dir.join("key.pem"));
        }
        let mut child = command
            .args(["--secret", secret])
            .arg("--port-file")
            .arg(dir.join("port"))
            .arg("--log")
            .arg(dir.join("log.jsonl"))
            .arg("--fail-until-file")
            .arg(dir.join("down"))
            .args(options)
            .stdout(Stdio::null())
            .spawn()
            .expect("start the receiver");
        let port = wait_for_port_file(&mut child, &dir.join("port"), "the receiver");
        let cert_pem = match plain {
            true => Vec::new(),
            false => std::fs::read(dir.join("cert.pem")).expect("the certificate"),
        };
        Receiver {
            child,
            dir,
            port,
            cert_pem,
            plain,
        }
    }

    /// The receiver's URL at `path` (`/hooks`, say).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.plain { "http" } else { "https" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// The path of the certificate, for `WEBHOOK_TEST_TRUST_PEM`.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// A file whose existence makes the receiver answer 503.
    pub fn outage_file(&self) -> PathBuf {
        self.dir.join("down")
    }

    /// Every request received so far, in order: `verified`, `event_id`, `key`, `status`...
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("log.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The requests it answered 2xx, in order.
    pub fn accepted(&self) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|r| {
                r["status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
            })
            .collect()
    }

    /// Waits until `n` requests were accepted or `timeout` passes; returns them.
    pub async fn wait_accepted(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let accepted = self.accepted();
            if accepted.len() >= n || started.elapsed() > timeout {
                return accepted;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sets `owner`'s endpoint to `url` and returns the secret the receiver must verify with.
pub async fn set_endpoint(app: &TestApp, owner: &Principal, url: &str) -> String {
    shared::validate::parse_endpoint(
        url,
        DestinationPolicy {
            allow_loopback_for_tests: true,
            ..DestinationPolicy::DEPLOYED
        },
    )
    .expect("a loopback endpoint, allowed in tests");
    let set = app
        .ctx
        .store
        .set_webhook(
            owner,
            url,
            shared::chrono::Utc::now(),
            &crate::test_sealer(),
        )
        .await
        .expect("set the endpoint");
    set.new_secret.expect("a new endpoint's secret")
}

/// Gives `owner` an endpoint at a new receiver that verifies with the endpoint's own secret
/// (started with `options`): the endpoint is set first, for its secret, then pointed at the
/// receiver, keeping the secret.
pub async fn endpoint_with_receiver(
    app: &TestApp,
    owner: &Principal,
    options: &[&str],
) -> Receiver {
    let secret = set_endpoint(app, owner, "https://127.0.0.1:9/not-yet").await;
    let receiver = Receiver::start(&secret, options);
    repoint(app, owner, &receiver.url("/hooks")).await;
    receiver
}

/// Points `owner`'s endpoint at another URL; it keeps its secret.
pub async fn repoint(app: &TestApp, owner: &Principal, url: &str) {
    let set = app
        .ctx
        .store
        .set_webhook(
            owner,
            url,
            shared::chrono::Utc::now(),
            &crate::test_sealer(),
        )
        .await
        .unwrap();
    assert!(
        set.new_secret.is_none(),
        "an existing endpoint keeps its secret"
    );
}
