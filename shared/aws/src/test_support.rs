//! Test helpers (feature `test-support`): SDK clients against a moto server on 127.0.0.1.
//!
//! [`moto_endpoint`] returns `MOTO_ENDPOINT` when set (the test command starts one server for
//! the whole suite); otherwise it starts `python3 tests/moto_server.py -H 127.0.0.1 -p <free port>` (moto with DynamoDB's per-item write atomicity)
//! once per test binary, under a small shell watchdog that stops it when the test process
//! exits. Set `MOTO_PYTHON` to choose the interpreter (default: the workspace's
//! `.venv-test/bin/python` if present, else `python3`).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static ENDPOINT: OnceLock<String> = OnceLock::new();

/// The moto endpoint for this test binary (starting a server if needed). Panics with a clear
/// message if moto cannot be started: tests need it.
pub fn moto_endpoint() -> String {
    ENDPOINT
        .get_or_init(|| match std::env::var("MOTO_ENDPOINT") {
            Ok(e) if !e.trim().is_empty() => e.trim().trim_end_matches('/').to_owned(),
            _ => start_moto(),
        })
        .clone()
}

fn python() -> String {
    if let Ok(p) = std::env::var("MOTO_PYTHON") {
        return p;
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-test/bin/python");
    if venv.exists() {
        return venv.to_string_lossy().into_owned();
    }
    "python3".to_owned()
}

fn start_moto() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let parent = std::process::id();
    // watchdog: moto lives as long as this test process (statics are never dropped)
    let script = format!(
        "\"$0\" \"$1\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; \
         trap 'kill $m 2>/dev/null' EXIT INT TERM; \
         while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 0.5; done"
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(python())
        // moto with DynamoDB's per-item atomicity (tests/moto_server.py)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/moto_server.py"
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto server (pip install 'moto[server]')");
    // reap the watchdog when it exits (with the test process, or if moto dies)
    std::thread::spawn(move || child.wait());
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto server did not listen on 127.0.0.1:{port} within 30 s (is moto[server] installed?)");
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// SDK configuration for `endpoint`: region us-east-1, static test credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// SDK configuration against this binary's moto server.
pub async fn moto_config() -> SdkConfig {
    sdk_config(&moto_endpoint()).await
}

/// A resource name unique across tests and processes.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
