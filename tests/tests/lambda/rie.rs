//! One function's release `bootstrap` running under the AWS Lambda Runtime Interface Emulator, and
//! a minimal HTTP client to invoke it.

use links_tests::Event;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[cfg(target_arch = "x86_64")]
macro_rules! rie_arch {
    () => {
        "x86_64"
    };
}
#[cfg(target_arch = "aarch64")]
macro_rules! rie_arch {
    () => {
        "arm64"
    };
}

/// The emulator SAM CLI ships (and runs inside its containers) for this machine's architecture;
/// the repo's venv has it.
const RIE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../.venv/lib/python3.11/site-packages/samcli/local/rapid/aws-lambda-rie-",
    rie_arch!()
);

const BUILD_HINT: &str = "run scripts/test, which builds the functions into target/lambda-host \
    and sets LAMBDA_BOOTSTRAP_DIR (see build_host_bootstraps in scripts/lib.sh)";

/// ELF machine numbers of the two architectures Lambda runs.
const EM_X86_64: u16 = 0x3e;
const EM_AARCH64: u16 = 0xb7;

#[cfg(target_arch = "x86_64")]
const HOST_MACHINE: u16 = EM_X86_64;
#[cfg(target_arch = "aarch64")]
const HOST_MACHINE: u16 = EM_AARCH64;

/// Debian's user-mode emulator for aarch64 and the arm64 C library it loads the bootstrap with
/// (packages `qemu-user-static` and `libc6-arm64-cross`, installed by scripts/setup).
const QEMU_AARCH64: &str = "/usr/bin/qemu-aarch64-static";
const ARM64_SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// The command that runs `<LAMBDA_BOOTSTRAP_DIR>/<function>/bootstrap` (laid out as `cargo lambda
/// build --release` does) on this machine: the bootstrap itself when it is built for this
/// machine, or, for the arm64 build that the template deploys by default, the bootstrap under
/// qemu's user-mode emulation (slow, so only behaviour is tested that way, never timing).
/// Missing is a failure, not a skip: a skipped test would pass while proving nothing.
fn bootstrap_command(function: &str) -> Vec<PathBuf> {
    let dir = std::env::var("LAMBDA_BOOTSTRAP_DIR")
        .ok()
        .filter(|dir| !dir.is_empty())
        .unwrap_or_else(|| panic!("LAMBDA_BOOTSTRAP_DIR is not set: {BUILD_HINT}"));
    // Relative to the workspace root, not to the test's working directory (this crate's).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join(dir).join(function).join("bootstrap");
    let mut header = [0u8; 20];
    std::fs::File::open(&path)
        .and_then(|mut f| f.read_exact(&mut header))
        .unwrap_or_else(|e| panic!("no bootstrap at {} ({e}): {BUILD_HINT}", path.display()));
    assert!(
        &header[..4] == b"\x7fELF",
        "{} is not an executable: {BUILD_HINT}",
        path.display()
    );
    match u16::from_le_bytes([header[18], header[19]]) {
        machine if machine == HOST_MACHINE => vec![path],
        EM_AARCH64 => {
            assert!(
                Path::new(QEMU_AARCH64).exists()
                    && Path::new(ARM64_SYSROOT)
                        .join("lib/ld-linux-aarch64.so.1")
                        .exists(),
                "{} is an arm64 bootstrap, and running it here needs {QEMU_AARCH64} and the arm64 \
                 C library under {ARM64_SYSROOT}: run scripts/setup (Debian packages \
                 qemu-user-static and libc6-arm64-cross)",
                path.display()
            );
            vec![QEMU_AARCH64.into(), "-L".into(), ARM64_SYSROOT.into(), path]
        }
        machine => panic!(
            "{} is built for ELF machine {machine:#x}, which this {} machine cannot run: \
             {BUILD_HINT}",
            path.display(),
            rie_arch!()
        ),
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running emulator; dropping it kills the emulator and the function's process.
pub struct Rie {
    child: Child,
    port: u16,
    pub log: PathBuf,
}

/// A function's response in the HTTP API's payload 2.0 shape, with the body parsed as JSON.
#[derive(Debug)]
pub struct LambdaResponse {
    pub status: u16,
    pub headers: serde_json::Map<String, Value>,
    pub body: Value,
    /// The body as text (a payment page's HTML, say).
    pub text: String,
}

impl Rie {
    /// Starts `function` with the environment Lambda would give it (see template.yaml), pointed at
    /// the DynamoDB at `endpoint` (the harness's DynamoDB Local, usually) and `table`, plus `env`
    /// (more variables, or other values for its own). The emulator only execs the bootstrap on
    /// the first invocation.
    pub fn start_with(function: &str, table: &str, endpoint: &str, env: &[(&str, &str)]) -> Self {
        let command = bootstrap_command(function);
        let (port, api_port) = (free_port(), free_port());
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("rie-{function}-{}.log", std::process::id()));
        let out = std::fs::File::create(&log).expect("create the emulator log");
        let err = out.try_clone().expect("share the emulator log");
        let child = Command::new(RIE)
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{api_port}"))
            // The emulator execs these words as the runtime: the bootstrap, or qemu and its
            // arguments then the bootstrap.
            .args(&command)
            // Only what Lambda itself would set: nothing of the test process's environment leaks
            // in (such as a developer's AWS profile or RUST_LOG).
            .env_clear()
            .envs([
                ("TABLE_NAME", table),
                ("PAYMENT_BASE_URL", links_tests::PAYMENT_BASE),
                ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
                ("AWS_ACCESS_KEY_ID", "local"),
                ("AWS_SECRET_ACCESS_KEY", "local"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_LAMBDA_FUNCTION_NAME", function),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
                ("AWS_LAMBDA_FUNCTION_TIMEOUT", "10"),
                // Lambda's advanced logging controls, which the functions read. TRACE, the most a
                // misconfigured function could be given, so the no-secrets check covers the most
                // output: the functions cap it at DEBUG, below which the runtime would log raw
                // events, Authorization header included.
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
                ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
                // The attempt key secret, in the Secrets Manager emulator, holding the value the
                // tests sign their forms with.
                ("ATTEMPT_KEY_SECRET", links_tests::test_secret_name()),
                (
                    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                    links_tests::secrets_endpoint(),
                ),
                // The KMS key secrets are sealed under (moto serves KMS beside Secrets Manager).
                ("SECRETS_KMS_KEY", links_tests::test_kms_key()),
                ("AWS_ENDPOINT_URL_KMS", links_tests::secrets_endpoint()),
            ])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group, so that Drop can kill the bootstrap the emulator forked too.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {RIE} ({e}): run scripts/setup"));
        let mut rie = Self { child, port, log };
        rie.wait_until_listening();
        rie
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the emulator exited ({status}):\n{}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "the emulator is not listening after 10 s:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the emulator and the function wrote so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Invokes the function with `event` as API Gateway does, and returns its response.
    pub async fn invoke(&self, event: &Event) -> LambdaResponse {
        let (port, payload, id) = (self.port, event.to_json(), event.lambda_request_id.clone());
        let raw = tokio::task::spawn_blocking(move || post_invocation(port, &payload, &id))
            .await
            .expect("the invocation thread");
        let response: Value = serde_json::from_str(&raw)
            .unwrap_or_else(|e| panic!("not a JSON response ({e}): {raw}\n{}", self.output()));
        let status = response["statusCode"]
            .as_u64()
            .unwrap_or_else(|| panic!("no statusCode in {raw}\n{}", self.output()));
        // Every body is JSON, HTML or SVG, handed to API Gateway as text: base64 would only make
        // it larger.
        assert_ne!(
            response["isBase64Encoded"], true,
            "a text body came back base64-encoded: {raw}"
        );
        let text = response["body"].as_str().unwrap_or_default();
        LambdaResponse {
            status: status as u16,
            headers: response["headers"].as_object().cloned().unwrap_or_default(),
            body: serde_json::from_str(text).unwrap_or(Value::Null),
            text: text.to_owned(),
        }
    }
}

impl Rie {
    /// Invokes the function with any `payload` (a stream batch, a scheduled event) and returns
    /// its answer as JSON.
    pub async fn invoke_raw(&self, payload: &Value) -> Value {
        let (port, payload) = (self.port, payload.clone());
        let id = format!("invoke-{}", shared::domain::ids::new_account_id());
        let raw = tokio::task::spawn_blocking(move || post_invocation(port, &payload, &id))
            .await
            .expect("the invocation thread");
        serde_json::from_str(&raw)
            .unwrap_or_else(|e| panic!("not a JSON answer ({e}): {raw}\n{}", self.output()))
    }
}

/// POSTs the event to the emulator's invoke endpoint over plain HTTP/1.1 and returns the response
/// body. `Connection: close` makes the body simply everything up to end of stream.
fn post_invocation(port: u16, event: &Value, request_id: &str) -> String {
    let body = serde_json::to_vec(event).expect("serialise the event");
    let head = format!(
        "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nX-Amzn-RequestId: {request_id}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the emulator");
    // The first invocation includes the cold start: the emulator execs the bootstrap, which then
    // builds its DynamoDB client.
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("a read timeout");
    stream.write_all(head.as_bytes()).expect("send the head");
    stream.write_all(&body).expect("send the event");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("read the emulator's response");
    // Bytes until the body is whole: a chunked body's size lines may fall inside a UTF-8
    // character.
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "not an HTTP response: {}",
                String::from_utf8_lossy(&response)
            )
        });
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let body = &response[split + 4..];
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "the emulator refused the invocation: {head}"
    );
    // The emulator streams larger payloads (a payment page) in chunks.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_vec()
    };
    String::from_utf8(body).expect("a UTF-8 response")
}

/// The payload of an HTTP/1.1 chunked body: hex size, CRLF, that many bytes, CRLF, until size 0.
/// Chunks are counted in bytes and may split a UTF-8 character.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or_else(|| panic!("a chunk without its size line"));
        let size = std::str::from_utf8(&body[..line_end]).expect("an ASCII chunk size");
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or_else(|e| panic!("a bad chunk size {size:?}: {e}"));
        if size == 0 {
            return out;
        }
        let rest = &body[line_end + 2..];
        out.extend_from_slice(&rest[..size]);
        body = rest[size..]
            .strip_prefix(b"\r\n")
            .expect("CRLF after a chunk");
    }
}

impl Drop for Rie {
    fn drop(&mut self) {
        // The whole group: the emulator and the bootstrap it started. SIGKILL, as the emulator's
        // own shutdown would only give the function the same.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The log only matters when the test failed; failures name its path.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}
