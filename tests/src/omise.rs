//! The Omise stand-in (`tools/omise-standin/standin.py`), started for a test: Omise's API, vault
//! and Omise.js on a loopback port, with accounts, faults and webhooks set through its control
//! routes.

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running stand-in. Stopped when dropped.
pub struct StandIn {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

/// An account at the stand-in: its keys.
#[derive(Debug, Clone)]
pub struct OmiseAccount {
    pub public_key: String,
    pub secret_key: String,
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl StandIn {
    pub fn start() -> StandIn {
        let dir = repository()
            .join("target")
            .join("omise-standins")
            .join(format!(
                "{}-{}",
                std::process::id(),
                shared::domain::ids::new_account_id()
            ));
        std::fs::create_dir_all(&dir).expect("make the stand-in's directory");
        let mut child = Command::new("python3")
            .arg(repository().join("tools/omise-standin/standin.py"))
            .arg("--port-file")
            .arg(dir.join("port"))
            .arg("--log")
            .arg(dir.join("log"))
            .stdout(Stdio::null())
            // Not the test's own stderr: a pipe the test runner would wait on.
            .stderr(std::fs::File::create(dir.join("stderr")).expect("the stand-in's stderr"))
            .spawn()
            .expect("start the Omise stand-in (python3)");
        let port = crate::receiver::wait_for_port_file(
            &mut child,
            &dir.join("port"),
            "the Omise stand-in",
        );
        StandIn { child, dir, port }
    }

    /// Its base URL: API, vault and Omise.js are all here.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One request, answered in full: its status and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("reach the stand-in");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let auth = key.map_or(String::new(), |key| {
            format!("Authorization: {}\r\n", crate::basic_auth(key))
        });
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, body.to_owned())
    }

    fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, body) = self.request(
            method,
            &format!("/__standin{path}"),
            None,
            "application/json",
            &body.to_string(),
        );
        assert_eq!(status, 200, "stand-in control {path}: {body}");
        serde_json::from_str(&body).expect("stand-in control answers JSON")
    }

    /// A new account: `spec` may set `livemode`, `three_d_secure`, `webhook_url`,
    /// `webhook_secret`.
    pub fn account(&self, spec: Value) -> OmiseAccount {
        let keys = self.control("POST", "/accounts", spec);
        OmiseAccount {
            public_key: keys["public_key"].as_str().unwrap().to_owned(),
            secret_key: keys["secret_key"].as_str().unwrap().to_owned(),
        }
    }

    /// Arms `fault` for the next request to `route` (`"POST /charges"`, `"GET /charges/*"`…),
    /// hanging `seconds` where it hangs.
    pub fn arm(&self, route: &str, fault: &str, seconds: f64) {
        self.control(
            "POST",
            "/faults",
            json!({"route": route, "fault": fault, "seconds": seconds}),
        );
    }

    /// Sets how an account's webhooks go out: `normal`, `duplicate` or `reorder`.
    pub fn webhooks(&self, secret_key: &str, settings: Value) {
        let mut body = settings;
        body["secret_key"] = secret_key.into();
        self.control("POST", "/webhooks", body);
    }

    /// The buyer's banking app pays (`paid`) or fails a pending PromptPay charge.
    pub fn scan(&self, charge: &str, paid: bool) -> Value {
        self.control("POST", "/scan", json!({"charge": charge, "paid": paid}))
    }

    /// Sends the webhooks held back.
    pub fn flush_webhooks(&self) -> u64 {
        self.control("POST", "/webhooks/flush", json!({}))["sent"]
            .as_u64()
            .unwrap()
    }

    /// Every charge the account has at the stand-in.
    pub fn charges(&self, secret_key: &str) -> Vec<Value> {
        let path = format!("/charges?secret_key={secret_key}");
        let (status, body) = self.request("GET", &format!("/__standin{path}"), None, "", "");
        assert_eq!(status, 200);
        let all: Value = serde_json::from_str(&body).unwrap();
        all["data"].as_array().cloned().unwrap_or_default()
    }

    /// Every request body the stand-in received, as text.
    pub fn received(&self) -> Vec<Value> {
        let (_, body) = self.request("GET", "/__standin/requests", None, "", "");
        let all: Value = serde_json::from_str(&body).unwrap();
        all["data"].as_array().cloned().unwrap_or_default()
    }

    /// A card token from the vault, as Omise.js makes one in the buyer's browser.
    pub fn token(&self, public_key: &str, number: &str) -> String {
        let (status, body) = self.create_token(public_key, number);
        assert_eq!(status, 200, "token: {body}");
        let token: Value = serde_json::from_str(&body).unwrap();
        token["id"].as_str().unwrap().to_owned()
    }

    /// `POST /tokens` at the vault, answered as it is.
    pub fn create_token(&self, public_key: &str, number: &str) -> (u16, String) {
        let form = format!(
            "card%5Bname%5D=Somchai+Prasert&card%5Bnumber%5D={number}&card%5Bexpiration_month%5D=12\
             &card%5Bexpiration_year%5D=2031&card%5Bsecurity_code%5D=123"
        );
        self.request(
            "POST",
            "/tokens",
            Some(public_key),
            "application/x-www-form-urlencoded",
            &form,
        )
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
