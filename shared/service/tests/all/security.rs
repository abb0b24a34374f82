//! Issue 11: credentials stay where they are put.
//!
//! - The bad-input corpus: every admin route gets malformed JSON, wrong types, unknown keys,
//!   huge bodies and strings, bad ids, SOQL/XML injection, path tricks, control characters,
//!   absurd numbers and the wrong methods; each is a 4xx whose JSON names the field, and the
//!   stored state (DynamoDB items, the secret, the schedule) is byte-identical afterwards.
//!   Prints `admin bad inputs: N tried, N refused, 0 stored, 0 5xx` (tests/run.sh shows it).
//! - Redaction: secrets full of `&<>"'%+/=` through a sync, a failing sync, every admin route
//!   and the error paths; none appears in a log line, a transaction-log payload, an API
//!   response or an error text, in any encoding.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::ApiGatewayV2httpResponse;
use chrono::{DateTime, Utc};
use engine::ports::OffsetClock;
use serde_json::{json, Value};
use service::testing::{api_event, connection_json, LogBuffer, MotoStack};
use service::wiring::Wiring;
use std::sync::Arc;

const ACC: &str = "001Wk0000000001IAA";
const LIC: &str = "100000000000001AAA";
const SF_CLIENT_ID: &str = "flexbridge-demo";
/// Secrets with every character that changes under JSON, XML, URL and base64 encoding.
const SF_SECRET: &str = r#"sf&<sec>"ret'%2B+/=end"#;
const FNO_PASSWORD: &str = r#"fno&<pw>"d'%41+/=x y"#;

// ------------------------------------------------------------------ logs, as the functions write them

/// The binary's log capture, through the functions' scrubber (as in production).
fn logs() -> LogBuffer {
    service::testing::capture_logs(true)
}

// ------------------------------------------------------------------ the stack

struct Env {
    wiring: Wiring,
    sf: sim_salesforce::RunningSim,
    fno: sim_flexnet::RunningSim,
}

fn fixture() -> Value {
    let p = format!(
        "{}/../../tests/fixtures/walkthrough.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut fx: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    fx["salesforce"]["credentials"] = json!({"clientId": SF_CLIENT_ID, "clientSecret": SF_SECRET});
    fx["flexnet"]["credentials"]["password"] = json!(FNO_PASSWORD);
    fx
}

impl Env {
    async fn start(fno: sim_flexnet::SimOptions) -> Env {
        logs();
        let fx = fixture();
        let now: DateTime<Utc> = fx["now"].as_str().unwrap().parse().unwrap();
        let sf = sim_salesforce::SalesforceSim::start(&fx, Default::default())
            .await
            .unwrap();
        let fno = sim_flexnet::FlexnetSim::start(&fx, fno).await.unwrap();
        let moto = MotoStack::create(30).await.unwrap();
        let wiring = moto.wiring(Arc::new(OffsetClock::starting_at(now)));
        let env = Env { wiring, sf, fno };
        let (s, b) = env
            .admin(
                "PUT",
                "/settings/connection",
                &[],
                Some(&env.connection().to_string()),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        env
    }

    fn connection(&self) -> Value {
        connection_json(
            self.sf.base_url(),
            SF_CLIENT_ID,
            SF_SECRET,
            self.fno.base_url(),
            "fno-admin",
            FNO_PASSWORD,
        )
    }

    /// A request the way API Gateway delivers it to the function the template wires it to.
    async fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, Value) {
        let event = api_event(method, path, query, body);
        let r = if path == "/sync" {
            let h = self.wiring.sync_handlers();
            service::apigw::serve(event, |r| h.route_immediate(r)).await
        } else if path.starts_with("/accounts/") {
            let h = self.wiring.sync_handlers();
            let out = h
                .account_sync_event(serde_json::to_value(event).unwrap(), None)
                .await
                .unwrap();
            serde_json::from_value(out).unwrap()
        } else if (method, path) == ("POST", "/licenses/ingest") {
            let api = self.wiring.admin_api();
            let out = api
                .license_info_event(serde_json::to_value(event).unwrap())
                .await
                .unwrap();
            serde_json::from_value(out).unwrap()
        } else {
            let api = self.wiring.admin_api();
            service::apigw::serve(event, |r| api.handle(r)).await
        };
        parse(r)
    }

    async fn admin(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, Value) {
        self.call(method, path, query, body).await
    }

    /// Everything stored: every DynamoDB item of the three tables, the secret, the schedule.
    async fn stored(&self) -> String {
        let c = &self.wiring.clients;
        let cfg = &self.wiring.config;
        let mut out = Vec::new();
        for table in [&cfg.log_table, &cfg.state_table, &cfg.license_table] {
            let scan = c.dynamodb.scan().table_name(table).send().await.unwrap();
            let mut items: Vec<String> = scan
                .items()
                .iter()
                .map(|i| {
                    format!(
                        "{:?}",
                        i.iter().collect::<std::collections::BTreeMap<_, _>>()
                    )
                })
                .collect();
            items.sort();
            out.push(format!("{table}: {items:?}"));
        }
        let secret = c
            .secrets
            .get_secret_value()
            .secret_id(&cfg.connection_secret_arn)
            .send()
            .await
            .unwrap();
        out.push(format!(
            "secret: {:?} {:?}",
            secret.version_id, secret.secret_string
        ));
        let s = c
            .scheduler
            .get_schedule()
            .name(&cfg.schedule_name)
            .send()
            .await
            .unwrap();
        out.push(format!(
            "schedule: {:?} {:?} {:?} {:?}",
            s.schedule_expression,
            s.schedule_expression_timezone,
            s.state,
            s.last_modification_date
        ));
        out.join("\n")
    }
}

fn parse(r: ApiGatewayV2httpResponse) -> (u16, Value) {
    let body = match r.body {
        Some(Body::Text(t)) => serde_json::from_str(&t).unwrap_or(Value::String(t)),
        other => panic!("unexpected body {other:?}"),
    };
    (r.status_code as u16, body)
}

// ------------------------------------------------------------------ the corpus

/// (method, path, query, body, the field the error must name — "" = any non-empty field).
type Case = (
    &'static str,
    String,
    Vec<(&'static str, String)>,
    Option<String>,
    &'static str,
);

fn case(method: &'static str, path: &str, body: Option<&str>, field: &'static str) -> Case {
    (
        method,
        path.to_owned(),
        vec![],
        body.map(str::to_owned),
        field,
    )
}

fn query(method: &'static str, path: &str, k: &'static str, v: &str, field: &'static str) -> Case {
    (
        method,
        path.to_owned(),
        vec![(k, v.to_owned())],
        None,
        field,
    )
}

fn malformed_and_wrong_types() -> Vec<Case> {
    let manual = format!("/licenses/{LIC}/manual");
    vec![
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"flexnet":"#),
            "body",
        ),
        case(
            "PUT",
            "/settings/engine",
            Some("{lookback_minutes: 5}"),
            "body",
        ),
        case("PUT", "/filters", Some("["), "body"),
        case(
            "PUT",
            "/mappings/Account",
            Some(r#"{"fno_attribute": "name",}"#),
            "body",
        ),
        case("PUT", "/schedule", Some("nope"), "body"),
        case("PUT", "/licenses/task", Some(r#"{"enabled": tru}"#), "body"),
        case("POST", "/sync", Some(r#"{"hours": }"#), "body"),
        case(
            "POST",
            "/sync",
            Some(&format!(r#"{{"start": "{}"}}"#, "9".repeat(70_000))),
            "body",
        ),
        case("POST", "/sync", Some("[24]"), "body"),
        case("PUT", &manual, Some(r#"{"amount": "#), "body"),
        case("PUT", "/filters", Some("[1, 2]"), "body"),
        case(
            "PUT",
            "/settings/connection",
            Some("\"just a string\""),
            "body",
        ),
        case(
            "PUT",
            "/settings/engine",
            Some(r#"{"lookback_minutes": "15"}"#),
            "lookback_minutes",
        ),
        case(
            "PUT",
            "/settings/engine",
            Some(r#"{"concurrency": -1}"#),
            "concurrency",
        ),
        case(
            "PUT",
            "/filters",
            Some(r#"{"sync_stages": "Closed Won"}"#),
            "sync_stages",
        ),
        case(
            "PUT",
            "/filters",
            Some(r#"{"sync_stages": ["Closed Won"], "post_condition_state": 3}"#),
            "post_condition_state",
        ),
        case(
            "PUT",
            "/mappings/Account",
            Some(r#"{"fno_attribute": "name", "required": "yes"}"#),
            "required",
        ),
        case(
            "PUT",
            "/mappings/Account",
            Some(r#"{"fields": {"a": 1}}"#),
            "fields",
        ),
        case("PUT", "/schedule", Some(r#"{"paused": "true"}"#), "paused"),
        case(
            "PUT",
            "/licenses/task",
            Some(r#"{"enabled": 1}"#),
            "enabled",
        ),
        case("POST", "/sync", Some(r#"{"hours": "24"}"#), "hours"),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"flexnet": {"timeout_secs": "10"}}"#),
            "flexnet.timeout_secs",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"salesforce": {"auth": {"client_secret": 12345}}}"#),
            "",
        ),
        case("PUT", &manual, Some(r#"{"amount": true}"#), "amount"),
    ]
}

fn unknown_keys_and_sizes() -> Vec<Case> {
    let manual = format!("/licenses/{LIC}/manual");
    let big = "x".repeat(100 * 1024);
    vec![
        case(
            "PUT",
            "/filters",
            Some(r#"{"syncStages": ["Closed Won"]}"#),
            "syncStages",
        ),
        case(
            "PUT",
            "/mappings/Account",
            Some(r#"{"fno_attribute": "name", "sfField": "Name"}"#),
            "sfField",
        ),
        case(
            "PUT",
            "/mappings/Account",
            Some(r#"{"fields": [{"fno_attribute": "name", "x": 1}]}"#),
            "fields[0].x",
        ),
        case(
            "PUT",
            "/settings/engine",
            Some(r#"{"lookbackMinutes": 5}"#),
            "lookbackMinutes",
        ),
        case("PUT", "/schedule", Some(r#"{"pause": true}"#), "pause"),
        case(
            "PUT",
            "/licenses/task",
            Some(r#"{"enabled": true, "force": true}"#),
            "force",
        ),
        case(
            "POST",
            "/sync",
            Some(r#"{"hours": 3, "extra": 1}"#),
            "extra",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"flexnet": {"pasword": "x"}}"#),
            "flexnet.pasword",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"salesforce": {"acceptInvalidCerts": true}}"#),
            "salesforce.acceptInvalidCerts",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"salesforce": {"allowLoopbackHttp": true}}"#),
            "salesforce.allowLoopbackHttp",
        ),
        case("PUT", &manual, Some(r#"{"total": 5}"#), "total"),
        case(
            "PUT",
            "/filters",
            Some(&format!(r#"{{"sync_stages": ["{big}"]}}"#)),
            "body",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(&format!(r#"{{"flexnet": {{"password": "{big}"}}}}"#)),
            "body",
        ),
        case(
            "PUT",
            "/mappings/Account",
            Some(&format!(r#"{{"fno_attribute": "{}"}}"#, "x".repeat(5000))),
            "fno_attribute",
        ),
        case(
            "PUT",
            "/schedule",
            Some(&format!(
                r#"{{"expression": "rate({} minutes)"}}"#,
                "1".repeat(3000)
            )),
            "expression",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(&format!(
                r#"{{"flexnet": {{"username": "{}", "password": "p"}}}}"#,
                "u".repeat(5000)
            )),
            "flexnet.username",
        ),
        query("GET", "/logs", "task", &"t".repeat(1000), "task"),
        case(
            "PUT",
            &manual,
            Some(&format!(r#"{{"name": "{}"}}"#, "n".repeat(2000))),
            "name",
        ),
        query("GET", "/logs", "cursor", &"c".repeat(3000), "cursor"),
    ]
}

fn ids_and_injections() -> Vec<Case> {
    let manual = format!("/licenses/{LIC}/manual");
    vec![
        case("POST", "/accounts/001ABC/sync", None, "id"),
        case("POST", "/accounts/001Wk0000000001IA!/sync", None, "id"),
        case("POST", "/accounts/001Wk0000000001IAAX/sync", None, "id"),
        case("POST", "/accounts/001' OR Id != '/sync", None, "id"),
        case("POST", "/accounts/%2e%2e/sync", None, "id"),
        case(
            "PUT",
            "/licenses/1000000000000/manual",
            Some(r#"{"name": "x"}"#),
            "id",
        ),
        case(
            "PUT",
            "/licenses/ÄÖÜ000000000001AAA/manual",
            Some(r#"{"name": "x"}"#),
            "id",
        ),
        case(
            "PUT",
            "/licenses/..%2F..%2Fx/manual",
            Some(r#"{"name": "x"}"#),
            "id",
        ),
        case(
            "PUT",
            "/filters",
            Some(r#"{"sync_stages": ["Closed Won' OR StageName != '"]}"#),
            "sync_stages",
        ),
        case(
            "PUT",
            "/mappings/Account",
            Some(
                r#"{"fno_attribute": "name", "sf_field": "Name FROM Account WHERE Id != null--"}"#,
            ),
            "",
        ),
        case(
            "PUT",
            "/mappings/Account",
            Some(r#"{"fno_attribute": "x' OR '1'='1", "sf_field": "Name"}"#),
            "",
        ),
        query("GET", "/logs", "status", "Failed' OR '1'='1", "status"),
        query("GET", "/logs", "from", "2026-01-01' OR 1=1 --", "from"),
        case(
            "PUT",
            "/schedule",
            Some(r#"{"expression": "cron(0 2 * * ? *)') OR 1=1"}"#),
            "expression",
        ),
        case(
            "PUT",
            "/schedule",
            Some(r#"{"expression": "rate(1 day)", "timezone": "Europe/Berlin' --"}"#),
            "timezone",
        ),
        query(
            "DELETE",
            "/mappings/Account",
            "fno_attribute",
            "name' OR 'x",
            "fno_attribute",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"flexnet": {"username": "<x>&amp;</x>]]>"}}"#),
            "flexnet.password",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(
                r#"{"flexnet": {"base_url": "https://evil.example/<soap:Envelope>", "password": "p"}}"#,
            ),
            "flexnet.base_url",
        ),
        case(
            "PUT",
            &manual,
            Some(r#"{"currency": "<script>&"}"#),
            "currency",
        ),
        case(
            "PUT",
            "/mappings/Contact",
            Some(r#"{"fno_attribute": "<a>]]></a>", "sf_field": "Email"}"#),
            "",
        ),
        case("GET", "/mappings/..%2F..%2Fsettings", None, "object"),
        case("GET", "/mappings/Account%00", None, "object"),
        case("PUT", "/mappings/../filters", Some("{}"), "path"),
        case("GET", "/mappings/Account/../../secret", None, "path"),
        case("GET", "/mappings/Opportunity;DROP", None, "object"),
    ]
}

fn controls_numbers_and_destinations() -> Vec<Case> {
    let manual = format!("/licenses/{LIC}/manual");
    vec![
        case(
            "PUT",
            "/filters",
            Some(r#"{"sync_stages": ["Closed\u0000Won"]}"#),
            "sync_stages[0]",
        ),
        case(
            "PUT",
            "/schedule",
            Some(r#"{"expression": "rate(1 day)", "timezone": "Europe/Berlin\u202e"}"#),
            "timezone",
        ),
        case(
            "PUT",
            "/mappings/Account",
            Some(r#"{"fno_attribute": "name\u0007"}"#),
            "fno_attribute",
        ),
        case("PUT", &manual, Some(r#"{"name": "a\u0000b"}"#), "name"),
        case(
            "POST",
            "/sync",
            Some(r#"{"start": "2026-01-01\u0000", "end": "2026-01-02"}"#),
            "start",
        ),
        query("GET", "/logs", "task", "a\u{0}b", "task"),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"salesforce": {"api_version": "v62.0\n"}}"#),
            "salesforce.api_version",
        ),
        case(
            "PUT",
            "/filters",
            Some(r#"{"sync_stages": ["Clösed Wön 🎉"]}"#),
            "sync_stages",
        ),
        case(
            "PUT",
            "/settings/engine",
            Some(r#"{"concurrency": 1e30}"#),
            "concurrency",
        ),
        case(
            "PUT",
            "/settings/engine",
            Some(r#"{"lookback_minutes": -5}"#),
            "lookback_minutes",
        ),
        case(
            "PUT",
            "/settings/engine",
            Some(r#"{"quota_reserve_percent": 18446744073709551616}"#),
            "quota_reserve_percent",
        ),
        case("POST", "/sync", Some(r#"{"hours": -1}"#), "hours"),
        case("POST", "/sync", Some(r#"{"hours": 1e308}"#), "hours"),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"salesforce": {"timeout_secs": 99999999}}"#),
            "salesforce.timeout_secs",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"flexnet": {"max_retries": -1}}"#),
            "flexnet.max_retries",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"flexnet": {"max_retries": 1000}}"#),
            "flexnet.max_retries",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"salesforce": {"batch_size": 5}}"#),
            "salesforce.batch_size",
        ),
        query("GET", "/logs", "limit", "-1", "limit"),
        query("GET", "/runs", "limit", "99999999999", "limit"),
        case("PUT", &manual, Some(r#"{"amount": "-1e400"}"#), "amount"),
        // a new destination without its secret; a foreign or plain-http host with it
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"flexnet": {"base_url": "https://evil.flexnetoperations.com"}}"#),
            "flexnet.password",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(r#"{"salesforce": {"login_url": "https://evil.my.salesforce.com"}}"#),
            "salesforce.auth.client_secret",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(
                r#"{"salesforce": {"auth": {"flow": "jwt_bearer", "client_id": "c", "username": "u@x.example"}}}"#,
            ),
            "salesforce.auth.private_key_pem",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(
                r#"{"salesforce": {"login_url": "http://attacker.example", "auth": {"client_secret": "x"}}}"#,
            ),
            "salesforce.login_url",
        ),
        case(
            "PUT",
            "/settings/connection",
            Some(
                r#"{"flexnet": {"base_url": "http://acme.flexnetoperations.com", "password": "x"}}"#,
            ),
            "flexnet.base_url",
        ),
    ]
}

fn method_mix_ups() -> Vec<Case> {
    let mut v = Vec::new();
    for (route, methods) in service::http::ROUTES {
        let path = route.replace("{object}", "Account").replace(
            "{id}",
            if route.starts_with("/accounts") {
                ACC
            } else {
                LIC
            },
        );
        for m in ["GET", "PUT", "POST", "DELETE", "PATCH"] {
            if !methods.contains(&m) {
                v.push(case(m, &path, Some("{}"), "method"));
                break; // one wrong method per route is enough to show the rule
            }
        }
    }
    v
}

#[tokio::test]
async fn admin_bad_inputs_are_all_refused_naming_the_field_and_store_nothing() {
    let env = Env::start(Default::default()).await;
    // something stored beyond the connection: an engine setting and a filter
    let (s, b) = env
        .admin(
            "PUT",
            "/settings/engine",
            &[],
            Some(r#"{"lookback_minutes": 20}"#),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let before = env.stored().await;
    let corpus: Vec<Case> = [
        malformed_and_wrong_types(),
        unknown_keys_and_sizes(),
        ids_and_injections(),
        controls_numbers_and_destinations(),
        method_mix_ups(),
    ]
    .concat();
    let (mut refused, mut server_errors, mut problems) = (0, 0, Vec::new());
    for (method, path, q, body, want) in &corpus {
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, b) = env.call(method, path, &q, body.as_deref()).await;
        let field = b["field"].as_str().unwrap_or_default();
        let named = !field.is_empty() && (want.is_empty() || field == *want);
        if (400..500).contains(&status) && named {
            refused += 1;
        } else {
            problems.push(format!(
                "{method} {path} {q:?}: {status} {b} (want field {want:?})"
            ));
        }
        if status >= 500 {
            server_errors += 1;
        }
    }
    let stored = usize::from(env.stored().await != before);
    println!(
        "admin bad inputs: {} tried, {refused} refused, {stored} stored, {server_errors} 5xx",
        corpus.len()
    );
    assert!(corpus.len() >= 60, "{} requests", corpus.len());
    assert!(
        problems.is_empty(),
        "not refused as they should be:\n{}",
        problems.join("\n")
    );
    assert_eq!(stored, 0, "the stored state changed");
    // license-info answers only its own route, even with an API Gateway payload
    let event = serde_json::to_value(api_event("GET", "/settings/connection", &[], None)).unwrap();
    let out = env
        .wiring
        .admin_api()
        .license_info_event(event)
        .await
        .unwrap();
    let (s, b) = parse(serde_json::from_value(out).unwrap());
    assert_eq!((s, b["field"].as_str()), (404, Some("path")), "{b}");
}

// ------------------------------------------------------------------ redaction

/// Every form a secret can take that this test looks for.
fn leaks(text: &str, what: &str) -> Vec<String> {
    let mut found = Vec::new();
    for secret in [SF_SECRET, FNO_PASSWORD] {
        for form in engine::redact::encodings(secret) {
            if text.contains(&form) {
                found.push(format!("{what} holds {form:?}"));
            }
        }
    }
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("fno-admin:{FNO_PASSWORD}"),
    );
    if text.contains(&basic) {
        found.push(format!("{what} holds the Basic credentials"));
    }
    found
}

#[tokio::test]
async fn r24_secrets_with_every_special_character_reach_no_log_payload_response_or_error() {
    // FNO refuses every entitlement (Failed entries), then the credentials (an error path)
    let opts = sim_flexnet::SimOptions {
        failure_rate: 1.0,
        fault_operations: vec!["createSimpleEntitlement".into()],
        expire_credentials_after: Some(12),
        ..Default::default()
    };
    let env = Env::start(opts).await;
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut record =
        |what: &str, s: u16, b: &Value| texts.push((what.to_owned(), format!("{s} {b}")));
    // a sync, then syncs that fail at FNO, then every admin route (GET and error paths)
    for (m, p, body) in [
        ("POST", format!("/accounts/{ACC}/sync"), None),
        ("POST", "/sync".to_owned(), Some(r#"{"hours": 8000}"#)),
        ("POST", format!("/accounts/{ACC}/sync"), None),
        ("POST", "/licenses/ingest".to_owned(), None),
        (
            "PUT",
            "/settings/connection".to_owned(),
            Some(r#"{"flexnet": {"password": "wrong&<>\"'%+/="}}"#),
        ),
        (
            "PUT",
            "/settings/connection".to_owned(),
            Some(r#"{"flexnet": {"base_url": "http://127.0.0.1:9", "password": "p&<>\"'%+/=q"}}"#),
        ),
        (
            "PUT",
            "/settings/connection".to_owned(),
            Some(r#"{"salesforce": {"auth": {"client_secret": "s&<>\"'%+/=t"}}}"#),
        ),
    ] {
        // the account syncs run in the request (?wait=true), so their entries exist now
        let wait: &[(&str, &str)] = if p.starts_with("/accounts/") {
            &[("wait", "true")]
        } else {
            &[]
        };
        let (s, b) = env.call(m, &p, wait, body).await;
        record(&format!("{m} {p}"), s, &b);
    }
    for (route, methods) in service::http::ROUTES {
        let path = route.replace("{object}", "Account").replace("{id}", LIC);
        for m in methods.iter() {
            if *m == "GET" || path.starts_with("/mappings") || path.starts_with("/licenses/") {
                let (s, b) = env.call(m, &path, &[], Some("{}")).await;
                record(&format!("{m} {path}"), s, &b);
            }
        }
    }
    // every transaction-log entry of every run
    let (_, runs) = env.call("GET", "/runs", &[("limit", "50")], None).await;
    assert!(
        runs["runs"].as_array().is_some_and(|r| !r.is_empty()),
        "{runs}"
    );
    let (_, all) = env.call("GET", "/logs", &[("limit", "500")], None).await;
    record("GET /logs", 200, &all);
    let entries = all["entries"].as_array().cloned().unwrap_or_default();
    assert!(!entries.is_empty(), "the syncs wrote log entries: {all}");
    assert!(
        entries.iter().any(|e| e["status"] == "Completed")
            && entries.iter().any(|e| e["status"] != "Completed"),
        "a sync that worked and one that failed: {all}"
    );
    // an error chain that carries the secrets (as an upstream echo or a URL would), logged
    // the way handlers log chains, and an API error that quotes them: both must be scrubbed
    let chain = format!(
        "FNO answered: bad password {FNO_PASSWORD} for <pw>{}</pw> at /x?secret={}",
        FNO_PASSWORD
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;"),
        SF_SECRET
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>(),
    );
    tracing::warn!(error = %chain, "a sync failed");
    let echoed = service::http::ApiError::Upstream {
        system: "FNO".into(),
        message: chain,
    }
    .into_response();
    let r = service::apigw::to_gateway_response(echoed);
    let (s, b) = parse(r);
    record("an upstream error quoting the secrets", s, &b);
    let logs = logs().text();
    assert!(
        logs.contains("admin API request") && logs.contains("a sync failed"),
        "the capture works"
    );
    texts.push(("log lines".into(), logs));
    let found: Vec<String> = texts.iter().flat_map(|(w, t)| leaks(t, w)).collect();
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
    // and the scrubber is what keeps them out: the raw values did pass through this process
    assert!(engine::redact::global()
        .scrub_str(FNO_PASSWORD)
        .contains("[redacted]"));
}
