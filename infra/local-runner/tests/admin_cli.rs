//! `flexbridge admin …` against a local endpoint that verifies AWS Signature Version 4 the way
//! API Gateway's IAM auth does: it recomputes the signature of what it received (the signed
//! headers, the path and query, the body) with the caller's secret key, using the same
//! `aws-sigv4` crate, and refuses a mismatch, an unknown key or a stale date with 403.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

const KEY_ID: &str = "AKIAFLEXBRIDGETEST01";
const SECRET: &str = "s3cr3t/with+special=chars";
const REGION: &str = "eu-west-1";

#[derive(Default)]
struct Seen {
    requests: Vec<(String, String, String)>,
}

type Shared = Arc<Mutex<Seen>>;

/// Recomputes the request's signature; Err names what is wrong (as a 403 would).
fn verify(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("Missing Authentication Token")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let part = |name: &str| {
        rest.split(", ")
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
            .ok_or(format!("no {name}"))
    };
    let credential = part("Credential")?;
    let signed_headers = part("SignedHeaders")?;
    let signature = part("Signature")?;
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0] != KEY_ID {
        return Err("The security token included in the request is invalid".into());
    }
    if scope[2] != REGION || scope[3] != "execute-api" || scope[4] != "aws4_request" {
        return Err(format!(
            "Credential should be scoped to a valid region and service: {credential}"
        ));
    }
    let date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or("no x-amz-date")?;
    let t = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| "bad x-amz-date")?
        .and_utc();
    if (chrono::Utc::now() - t).num_seconds().abs() > 300 {
        return Err("Signature expired".into());
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    for must in ["host", "x-amz-date"] {
        if !names.contains(&must) {
            return Err(format!("{must} is not signed"));
        }
    }
    let pairs: Vec<(String, String)> = names
        .iter()
        .map(|n| {
            let v = headers
                .get(*n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            ((*n).to_owned(), v.to_owned())
        })
        .collect();
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let full = format!(
        "http://{host}{}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let token = headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    let creds = aws_credential_types::Credentials::new(
        KEY_ID,
        SECRET,
        token.map(str::to_owned),
        None,
        "test",
    );
    let identity = creds.into();
    let settings = SigningSettings::default();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("execute-api")
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(t.timestamp() as u64))
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        method.as_str(),
        full.as_str(),
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (_, expected) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    if expected != signature {
        return Err(
            "The request signature we calculated does not match the signature you provided".into(),
        );
    }
    Ok(())
}

async fn handler(
    State(seen): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    if let Err(m) = verify(&method, &uri, &headers, &body) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({"message": m})),
        )
            .into_response();
    }
    seen.lock().unwrap().requests.push((
        method.to_string(),
        uri.to_string(),
        String::from_utf8_lossy(&body).into_owned(),
    ));
    let json = |s: StatusCode, v: serde_json::Value| (s, axum::Json(v)).into_response();
    match (method.as_str(), uri.path()) {
        ("POST", p) if p.starts_with("/accounts/") => json(
            StatusCode::ACCEPTED,
            serde_json::json!({"task_id": "acct-20261130T030000Z-1a2b3c4d", "status": "running"}),
        ),
        ("GET", "/runs/acct-20261130T030000Z-1a2b3c4d") => json(
            StatusCode::OK,
            serde_json::json!({"task_id": "acct-20261130T030000Z-1a2b3c4d", "status": "completed", "progress": {"accounts_done": 1}}),
        ),
        ("GET", "/logs") if uri.query().is_some_and(|q| q.contains("format=csv")) => (
            StatusCode::OK,
            [("content-type", "text/csv; charset=utf-8")],
            "log_number,created\r\nTL-00001,2026-11-30T03:00:00.000Z\r\n",
        )
            .into_response(),
        ("PUT", "/schedule") => json(
            StatusCode::OK,
            serde_json::json!({"paused": true, "state": "PAUSED"}),
        ),
        ("POST", "/sync") => json(
            StatusCode::ACCEPTED,
            serde_json::json!({"task_id": "imm-1", "accounts_queued": 3}),
        ),
        ("GET", "/schedule" | "/runs" | "/outstanding" | "/settings/connection" | "/licenses") => {
            json(StatusCode::OK, serde_json::json!({"ok": uri.path()}))
        }
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "not_found", "message": format!("no route for {method} {}", uri.path())}),
        ),
    }
}

async fn server() -> (String, Shared) {
    let seen: Shared = Arc::default();
    let app = axum::Router::new()
        .fallback(handler)
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// Runs the binary with credentials in the environment (the chain's first source).
fn admin(api: &str, secret: &str, token: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flexbridge"));
    cmd.arg("admin")
        .arg("--api")
        .arg(api)
        .arg("--region")
        .arg(REGION)
        .args(args);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    if let Some(t) = token {
        cmd.env("AWS_SESSION_TOKEN", t);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_commands_are_sigv4_signed_and_print_the_answer() {
    let (api, seen) = server().await;
    let api2 = api.clone();
    let results = tokio::task::spawn_blocking(move || {
        vec![
            admin(&api2, SECRET, None, &["account-sync", "001Wk0000000001IAA"]),
            admin(
                &api2,
                SECRET,
                None,
                &["runs", "acct-20261130T030000Z-1a2b3c4d"],
            ),
            admin(
                &api2,
                SECRET,
                Some("FwoGZXIvYXdzEXAMPLE//token+="),
                &["logs", "--record", "006Wk0000000001IAA", "--csv"],
            ),
            admin(&api2, SECRET, None, &["schedule", "pause"]),
            admin(&api2, SECRET, None, &["sync", "--hours", "24"]),
            admin(&api2, SECRET, None, &["status"]),
        ]
    })
    .await
    .unwrap();
    for (code, out, err) in &results {
        assert_eq!(*code, 0, "stdout {out} stderr {err}");
    }
    assert!(
        results[0].1.contains("acct-20261130T030000Z-1a2b3c4d"),
        "{}",
        results[0].1
    );
    assert!(results[1].1.contains("\"completed\""));
    assert!(
        results[2].1.starts_with("log_number,created"),
        "CSV as it came: {}",
        results[2].1
    );
    assert!(results[3].1.contains("PAUSED"));
    let seen = seen.lock().unwrap();
    let reqs: Vec<String> = seen
        .requests
        .iter()
        .map(|(m, u, _)| format!("{m} {u}"))
        .collect();
    assert!(
        reqs.contains(&"POST /accounts/001Wk0000000001IAA/sync".to_owned()),
        "{reqs:?}"
    );
    assert!(
        reqs.contains(&"GET /logs?record=006Wk0000000001IAA&format=csv".to_owned()),
        "{reqs:?}"
    );
    let put = seen.requests.iter().find(|(m, _, _)| m == "PUT").unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&put.2).unwrap(),
        serde_json::json!({"paused": true})
    );
    let sync = seen
        .requests
        .iter()
        .find(|(m, u, _)| m == "POST" && u == "/sync")
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&sync.2).unwrap(),
        serde_json::json!({"hours": 24})
    );
    // status: schedule, runs, outstanding
    assert!(
        reqs.contains(&"GET /outstanding?due=true&limit=20".to_owned()),
        "{reqs:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_or_an_error_answer_exits_1_with_the_answer() {
    let (api, seen) = server().await;
    let (code, out, err) = tokio::task::spawn_blocking({
        let api = api.clone();
        move || admin(&api, "not-the-secret", None, &["runs"])
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{out} {err}");
    assert!(err.contains("403") && err.contains("signature"), "{err}");
    assert!(
        !err.contains("not-the-secret"),
        "the secret is never printed"
    );
    assert!(
        seen.lock().unwrap().requests.is_empty(),
        "refused before any route"
    );

    let (code, _, err) =
        tokio::task::spawn_blocking(move || admin(&api, SECRET, None, &["logs", "TL-00042"]))
            .await
            .unwrap();
    assert_eq!(code, 1);
    assert!(
        err.contains("404") && err.contains("no route for GET /logs/TL-00042"),
        "{err}"
    );
}

#[test]
fn bad_flags_are_named() {
    let (code, _, err) = admin("ftp://example.com", SECRET, None, &["runs"]);
    assert_eq!(code, 1);
    assert!(err.contains("--api"), "{err}");
    let (code, _, err) = admin(
        "http://127.0.0.1:9",
        SECRET,
        None,
        &["sync", "--from", "2026-01-01"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--to"), "{err}");
}
