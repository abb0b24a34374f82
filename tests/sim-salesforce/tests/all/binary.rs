//! The `sim-salesforce` binary: flags reach SimOptions, the base URL line, --cert-out.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fixture_file(tag: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("sim-salesforce-{tag}-{}.json", std::process::id()));
    std::fs::write(&p, fixture().to_string()).expect("write fixture");
    p
}

fn spawn(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim-salesforce"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let url = line
        .trim()
        .strip_prefix("sim-salesforce listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (Running(child), url)
}

#[tokio::test]
async fn flags_reach_the_simulator() {
    let fx = fixture_file("flags");
    let (_proc, base) = spawn(&[
        "--fixture",
        fx.to_str().expect("path"),
        "--port",
        "0",
        "--daily-api-limit",
        "3",
        "--api-usage-start",
        "1",
        "--expire-session-after",
        "5",
    ]);
    assert!(base.starts_with("http://127.0.0.1:"));
    let r = http()
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("token");
    let (s, _, v) = split(r).await;
    assert_eq!(s, 200, "{v}");
    let tok = v["access_token"].as_str().expect("tok").to_owned();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = http()
            .get(format!("{base}/services/data/v62.0/limits"))
            .bearer_auth(&tok)
            .send()
            .await
            .expect("limits");
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 403], "limit 3 with 1 already used");
    let _ = std::fs::remove_file(fx);
}

#[test]
fn cert_out_needs_tls_and_bad_fixtures_fail_clearly() {
    let fx = fixture_file("cert");
    let out = Command::new(env!("CARGO_BIN_EXE_sim-salesforce"))
        .args([
            "--fixture",
            fx.to_str().expect("p"),
            "--cert-out",
            "/tmp/x.pem",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls"));

    let bad = std::env::temp_dir().join(format!("sim-salesforce-bad-{}.json", std::process::id()));
    std::fs::write(
        &bad,
        r#"{"salesforce": {"Opportunity": [{"Id": "006Dm0000000001IAA", "CloseDate": "next week"}]}}"#,
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sim-salesforce"))
        .args(["--fixture", bad.to_str().expect("p")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("salesforce.Opportunity[0]") && err.contains("CloseDate"),
        "{err}"
    );
    let _ = std::fs::remove_file(fx);
    let _ = std::fs::remove_file(bad);
}

#[tokio::test]
async fn tls_with_cert_out() {
    let fx = fixture_file("tls");
    let pem_path =
        std::env::temp_dir().join(format!("sim-salesforce-ca-{}.pem", std::process::id()));
    let (_proc, base) = spawn(&[
        "--fixture",
        fx.to_str().expect("p"),
        "--tls",
        "--cert-out",
        pem_path.to_str().expect("p"),
    ]);
    assert!(base.starts_with("https://127.0.0.1:"));
    let pem = std::fs::read(&pem_path).expect("CA written before the URL line");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
        .build()
        .expect("client");
    let r = client
        .get(format!("{base}/services/data"))
        .send()
        .await
        .expect("https");
    assert_eq!(r.status(), 200);
    let _ = std::fs::remove_file(fx);
    let _ = std::fs::remove_file(pem_path);
}
