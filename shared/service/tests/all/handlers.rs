//! Every handler called directly with real event JSON (API Gateway HTTP API v2 with IAM
//! context, SQS, EventBridge Scheduler) against moto (DynamoDB, SQS, Secrets Manager,
//! Scheduler — the adapters the functions use) and the two simulators.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::ApiGatewayV2httpResponse;
use chrono::{DateTime, Utc};
use engine::ports::{OffsetClock, StateStore};
use serde_json::{json, Value};
use service::runs::SyncHandlers;
use service::testing::{
    api_event, connection_json, schedule_event, sqs_event, LogBuffer, MotoStack,
};
use service::wiring::Wiring;
use std::sync::Arc;

pub(crate) const ACC: &str = "001Wk0000000001IAA";
const OPP: &str = "006Wk0000000001IAA";
const SF_SECRET: &str = "demo-secret";

// ------------------------------------------------------------------ log capture (secrecy)

/// The binary's log capture (raw: this file checks what the code itself writes).
fn logs() -> LogBuffer {
    service::testing::capture_logs(false)
}

fn captured() -> String {
    logs().text()
}

// ------------------------------------------------------------------ the stack

/// The license fixture's org, with the walkthrough's FNO tenant for the connection check.
pub(crate) fn license_fixture() -> Value {
    let mut fx = fixture("licenses/before.json");
    fx["flexnet"] = fixture("walkthrough.json")["flexnet"].clone();
    fx["now"] = json!("2026-11-27T09:00:00Z");
    fx
}

pub(crate) fn fixture(name: &str) -> Value {
    let p = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

pub(crate) struct Env {
    pub(crate) moto: MotoStack,
    pub(crate) wiring: Wiring,
    sf: sim_salesforce::RunningSim,
    fno: sim_flexnet::RunningSim,
    fx: Value,
}

impl Env {
    pub(crate) async fn start(fx: Value, queue_visibility: u32) -> Env {
        logs();
        let now: DateTime<Utc> = fx["now"].as_str().unwrap().parse().unwrap();
        let sf = sim_salesforce::SalesforceSim::start(&fx, Default::default())
            .await
            .unwrap();
        let fno = sim_flexnet::FlexnetSim::start(&fx, Default::default())
            .await
            .unwrap();
        let moto = MotoStack::create(queue_visibility).await.unwrap();
        let wiring = moto.wiring(Arc::new(OffsetClock::starting_at(now)));
        Env {
            moto,
            wiring,
            sf,
            fno,
            fx,
        }
    }

    fn connection(&self) -> Value {
        connection_json(
            self.sf.base_url(),
            "flexbridge-demo",
            SF_SECRET,
            self.fno.base_url(),
            self.fx["flexnet"]["credentials"]["username"]
                .as_str()
                .unwrap(),
            self.fno_password(),
        )
    }

    fn fno_password(&self) -> &str {
        self.fx["flexnet"]["credentials"]["password"]
            .as_str()
            .unwrap()
    }

    pub(crate) fn sync(&self) -> SyncHandlers {
        self.wiring.sync_handlers()
    }

    /// account-sync consumes what is on the work queue (one receive); answers its response.
    pub(crate) async fn consume_queued(&self) -> aws_lambda_events::event::sqs::SqsBatchResponse {
        let arn = self.moto.queue_arn(&self.queue_url()).await.unwrap();
        let msgs = self.moto.receive(&self.queue_url()).await.unwrap();
        self.sync()
            .consume(sqs_event(&msgs, &arn), None)
            .await
            .unwrap()
    }

    /// One firing of the scheduled sync, scheduled for `at` (first delivery); must succeed.
    pub(crate) async fn fire(&self, at: &str) -> service::runs::ScheduledOutcome {
        self.sync().scheduled(schedule_event(at, 1)).await.unwrap()
    }

    /// A request through the admin-api function's handler.
    pub(crate) async fn admin(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, Value) {
        let api = self.wiring.admin_api();
        let r =
            service::apigw::serve(api_event(method, path, query, body), |r| api.handle(r)).await;
        parse(r)
    }

    pub(crate) async fn connect(&self) {
        let (status, body) = self
            .admin(
                "PUT",
                "/settings/connection",
                &[],
                Some(&self.connection().to_string()),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// `POST /accounts/{id}/sync?wait=true`: the synchronous answer (for scripts).
    pub(crate) async fn account_sync_http(&self, path: &str) -> (u16, Value) {
        self.account_sync_query(path, &[("wait", "true")]).await
    }

    pub(crate) async fn account_sync_query(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> (u16, Value) {
        let event = serde_json::to_value(api_event("POST", path, query, None)).unwrap();
        let out = self.sync().account_sync_event(event, None).await.unwrap();
        parse(serde_json::from_value(out).unwrap())
    }

    /// Another worker (of run `task_id`) holds ACC's lease for 15 minutes.
    async fn hold_account(&self, task_id: &str) -> engine::ports::Lease {
        let now: DateTime<Utc> = self.fx["now"].as_str().unwrap().parse().unwrap();
        let held = engine::ports::Lease {
            account_id: ACC.into(),
            owner: "another-worker".into(),
            task_id: task_id.into(),
            until: now + chrono::Duration::minutes(15),
        };
        let taken = self.wiring.state.acquire_lease(&held, now).await.unwrap();
        assert!(taken.is_none(), "the lease was free");
        held
    }

    /// Receives what is on the work queue and runs it through the SQS consumer.
    async fn drain_queue(&self) -> usize {
        let arn = self.moto.queue_arn(&self.queue_url()).await.unwrap();
        let msgs = self.moto.receive(&self.queue_url()).await.unwrap();
        let r = self
            .sync()
            .consume(sqs_event(&msgs, &arn), None)
            .await
            .unwrap();
        assert!(
            r.batch_item_failures.is_empty(),
            "{:?}",
            r.batch_item_failures
        );
        msgs.len()
    }

    pub(crate) async fn immediate(&self, body: Option<&str>) -> (u16, Value) {
        let sync = self.sync();
        let r = service::apigw::serve(api_event("POST", "/sync", &[], body), |r| {
            sync.route_immediate(r)
        })
        .await;
        parse(r)
    }

    pub(crate) fn queue_url(&self) -> String {
        self.wiring.config.work_queue_url.clone()
    }

    /// Puts one message on the work queue, as scheduled-sync's fan-out would.
    async fn send(&self, body: impl Into<String>) {
        self.wiring
            .clients
            .sqs
            .send_message()
            .queue_url(self.queue_url())
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
}

fn parse(r: ApiGatewayV2httpResponse) -> (u16, Value) {
    assert_eq!(r.headers["content-type"], "application/json");
    let body = match r.body {
        Some(Body::Text(t)) => serde_json::from_str(&t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    // one casing across the admin API: snake_case keys everywhere (issue 14)
    let odd = service::testing::non_snake_case_keys(&body);
    assert!(odd.is_empty(), "keys not in snake_case: {odd:?} in {body}");
    (r.status_code as u16, body)
}

fn field(body: &Value) -> &str {
    body["field"].as_str().unwrap_or_default()
}

// ------------------------------------------------------------------ R25 connection

#[tokio::test]
async fn r25_nothing_runs_before_the_connection_is_saved() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    let (s, b) = env.admin("GET", "/settings/connection", &[], None).await;
    assert_eq!((s, &b["saved"]), (200, &json!(false)), "{b}");

    let (s, b) = env.immediate(Some(r#"{"hours": 24}"#)).await;
    assert_eq!(s, 409, "{b}");
    assert!(b["message"].as_str().unwrap().contains("R25"), "{b}");

    let (s, b) = env
        .account_sync_http(&format!("/accounts/{ACC}/sync"))
        .await;
    assert_eq!(s, 409, "{b}");

    let out = env
        .sync()
        .scheduled(schedule_event("2026-11-20T02:00:00Z", 1))
        .await
        .expect("a fresh stack's schedule does not fail (and alarm)");
    assert!(out.skipped.unwrap().contains("R25"));
    assert_eq!(env.wiring.state.watermark().await.unwrap(), None);

    // a queued message cannot be processed yet: reported for retry, not acknowledged
    let body = json!({"v": 1, "task_id": "t", "account_id": ACC, "kind": "scheduled",
                      "window_from": null, "window_to": null})
    .to_string();
    env.send(body).await;
    let msgs = env.moto.receive(&env.queue_url()).await.unwrap();
    let arn = env.moto.queue_arn(&env.queue_url()).await.unwrap();
    let r = env
        .sync()
        .consume(sqs_event(&msgs, &arn), None)
        .await
        .unwrap();
    assert_eq!(r.batch_item_failures.len(), 1);
    assert_eq!(env.fno.total_calls(), 0, "nothing reached FNO");
}

#[tokio::test]
async fn r25_put_connection_verifies_both_systems_stores_in_secrets_manager_and_never_shows_a_secret(
) {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    let good = env.connection();

    // wrong FNO password: refused by FNO, nothing stored
    let mut bad = good.clone();
    bad["flexnet"]["password"] = json!("wrong-fno-pass");
    let (s, b) = env
        .admin("PUT", "/settings/connection", &[], Some(&bad.to_string()))
        .await;
    assert_eq!((s, field(&b)), (400, "flexnet.password"), "{b}");
    assert_eq!(
        env.admin("GET", "/settings/connection", &[], None).await.1["saved"],
        false
    );

    // wrong Salesforce client secret: refused by the token endpoint
    let mut bad = good.clone();
    bad["salesforce"]["auth"]["client_secret"] = json!("wrong-sf-secret");
    let (s, b) = env
        .admin("PUT", "/settings/connection", &[], Some(&bad.to_string()))
        .await;
    assert_eq!((s, field(&b)), (400, "salesforce.auth"), "{b}");

    // unreachable tenant URL
    let mut bad = good.clone();
    bad["flexnet"]["base_url"] = json!("http://127.0.0.1:9");
    let (s, b) = env
        .admin("PUT", "/settings/connection", &[], Some(&bad.to_string()))
        .await;
    assert_eq!((s, field(&b)), (400, "flexnet.base_url"), "{b}");

    // missing field, bad body
    let (s, b) = env
        .admin(
            "PUT",
            "/settings/connection",
            &[],
            Some(r#"{"flexnet": {"base_url": "x"}}"#),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = env
        .admin("PUT", "/settings/connection", &[], Some("not json"))
        .await;
    assert_eq!((s, field(&b)), (400, "body"));

    // good: verified on both sides, stored
    let (s, b) = env
        .admin("PUT", "/settings/connection", &[], Some(&good.to_string()))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["verified"]["flexnet"], "ok");
    assert_eq!(b["verified"]["salesforce"]["status"], "ok");
    assert!(
        b["verified"]["salesforce"]["daily_api_requests"]["Max"].is_number(),
        "{b}"
    );
    let stored = env
        .wiring
        .clients
        .secrets
        .get_secret_value()
        .secret_id(&env.wiring.config.connection_secret_arn)
        .send()
        .await
        .unwrap()
        .secret_string
        .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["flexnet"]["password"], env.fno_password());
    assert_eq!(stored["salesforce"]["auth"]["client_secret"], SF_SECRET);

    // GET shows which secrets are set, never their values
    let (s, b) = env.admin("GET", "/settings/connection", &[], None).await;
    assert_eq!(s, 200);
    assert_eq!(b["saved"], true);
    assert_eq!(b["flexnet"]["password_set"], true);
    assert_eq!(b["salesforce"]["auth"]["client_secret_set"], true);
    assert_eq!(
        b["flexnet"]["username"],
        env.fx["flexnet"]["credentials"]["username"]
    );
    let text = b.to_string();
    assert!(
        !text.contains(env.fno_password()) && !text.contains(SF_SECRET),
        "{text}"
    );

    // a partial PUT changes one value; a refused one keeps the saved settings
    let (s, _) = env
        .admin(
            "PUT",
            "/settings/connection",
            &[],
            Some(r#"{"flexnet": {"password": "nope-nope"}}"#),
        )
        .await;
    assert_eq!(s, 400);
    let (s, b) = env
        .admin(
            "PUT",
            "/settings/connection",
            &[],
            Some(r#"{"flexnet": {"timeout_secs": 20}}"#),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["flexnet"]["timeout_secs"], 20);
    assert_eq!(b["flexnet"]["password_set"], true);

    // nothing above wrote a secret to any log line, at any level
    let logs = captured();
    for secret in [
        env.fno_password(),
        SF_SECRET,
        "wrong-fno-pass",
        "wrong-sf-secret",
        "nope-nope",
    ] {
        assert!(!logs.contains(secret), "'{secret}' appears in the logs");
    }
    assert!(logs.contains("admin API request"), "the capture works");
}

// ------------------------------------------------------------------ R21 schedule

#[tokio::test]
async fn r21_schedule_shows_last_fire_and_next_run_pauses_resumes_reschedules() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    let (s, b) = env.admin("GET", "/schedule", &[], None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["expression"], "cron(0 2 * * ? *)");
    assert_eq!(b["paused"], false);
    assert!(b["last_batch_fire_time"].is_null());
    // the fixture's now is 2026-11-20T09:00Z: the next 02:00 UTC is tomorrow's
    assert_eq!(b["next_run"], "2026-11-21T02:00:00Z");

    env.wiring
        .state
        .set_watermark("2026-11-20T02:00:05Z".parse().unwrap())
        .await
        .unwrap();
    let (s, b) = env
        .admin("PUT", "/schedule", &[], Some(r#"{"paused": true}"#))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["paused"].as_bool(), b["state"].as_str()),
        (Some(true), Some("PAUSED"))
    );
    assert!(b["next_run"].is_null(), "a paused schedule has no next run");
    assert_eq!(b["last_batch_fire_time"], "2026-11-20T02:00:05Z");

    let (s, b) = env
        .admin(
            "PUT",
            "/schedule",
            &[],
            Some(r#"{"expression": "rate(6 hours)"}"#),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["expression"].as_str(), b["paused"].as_bool()),
        (Some("rate(6 hours)"), Some(true))
    );
    let (s, b) = env
        .admin("PUT", "/schedule", &[], Some(r#"{"paused": false}"#))
        .await;
    assert_eq!(s, 200);
    // rate(6 hours) from the last fire: 08:00:05, 14:00:05 → the next after 09:00
    assert_eq!(b["next_run"], "2026-11-20T14:00:05Z");
    // and EventBridge Scheduler (moto) holds it
    let sched = env
        .wiring
        .clients
        .scheduler
        .get_schedule()
        .name(&env.wiring.config.schedule_name)
        .send()
        .await
        .unwrap();
    assert_eq!(sched.schedule_expression.as_deref(), Some("rate(6 hours)"));

    for (body, f) in [
        (r#"{"expression": "every day"}"#, "expression"),
        (r#"{"paused": "yes"}"#, "paused"), // the wrong type is named (issue 11)
        (r#"{"pause": true}"#, "pause"),
        (r#"{}"#, "body"),
        (r#"{"timezone": "Europe/Berlin"}"#, "expression"),
    ] {
        let (s, b) = env.admin("PUT", "/schedule", &[], Some(body)).await;
        assert_eq!((s, field(&b)), (400, f), "{body}: {b}");
    }
}

#[tokio::test]
async fn r21_delete_schedule_then_get_says_deleted_and_a_put_recreates_it() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    let name = env.wiring.config.schedule_name.clone();
    let scheduler = env.wiring.clients.scheduler.clone();
    let (s, b) = env.admin("DELETE", "/schedule", &[], None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["deleted"].as_bool(), b["state"].as_str()),
        (Some(true), Some("DELETED"))
    );
    assert!(
        b["next_run"].is_null(),
        "a deleted schedule has no next run"
    );
    // EventBridge Scheduler (moto) no longer has it
    let gone = scheduler.get_schedule().name(&name).send().await;
    assert!(
        gone.as_ref().is_err_and(|e| e
            .as_service_error()
            .is_some_and(|se| se.is_resource_not_found_exception())),
        "{gone:?}"
    );

    let (s, b) = env.admin("GET", "/schedule", &[], None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["deleted"].as_bool(), b["expression"].as_str()),
        (Some(true), Some("cron(0 2 * * ? *)"))
    );
    assert!(b["next_run"].is_null());
    // deleting again is idempotent
    let (s, b) = env.admin("DELETE", "/schedule", &[], None).await;
    assert_eq!((s, b["deleted"].as_bool()), (200, Some(true)), "{b}");

    // resume recreates it from the saved definition
    let (s, b) = env
        .admin("PUT", "/schedule", &[], Some(r#"{"paused": false}"#))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            b["deleted"].as_bool(),
            b["state"].as_str(),
            b["expression"].as_str()
        ),
        (Some(false), Some("ENABLED"), Some("cron(0 2 * * ? *)"))
    );
    assert_eq!(b["next_run"], "2026-11-21T02:00:00Z");
    let raw = scheduler.get_schedule().name(&name).send().await.unwrap();
    let target = raw.target.unwrap();
    assert_eq!(
        (target.arn(), target.role_arn()),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:scheduled-sync",
            "arn:aws:iam::123456789012:role/scheduler"
        )
    );
    let (s, b) = env.admin("GET", "/schedule", &[], None).await;
    assert_eq!((s, b["deleted"].as_bool()), (200, Some(false)), "{b}");

    // delete, then a reschedule recreates it with the new expression
    let (s, _) = env.admin("DELETE", "/schedule", &[], None).await;
    assert_eq!(s, 200);
    let (s, b) = env
        .admin(
            "PUT",
            "/schedule",
            &[],
            Some(r#"{"expression": "rate(6 hours)"}"#),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["deleted"].as_bool(), b["expression"].as_str()),
        (Some(false), Some("rate(6 hours)"))
    );
    let raw = scheduler.get_schedule().name(&name).send().await.unwrap();
    assert_eq!(raw.schedule_expression.as_deref(), Some("rate(6 hours)"));
}

// ------------------------------------------------------------------ R22 immediate

#[tokio::test]
async fn r22_post_sync_answers_202_with_the_task_and_queues_one_message_per_account() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    for (body, f) in [
        (None, "body"),
        (Some(r#"{"hours": 0}"#), "hours"),
        (Some(r#"{"hours": "six"}"#), "hours"),
        (Some(r#"{"start": "2026-11-19"}"#), "end"),
        (
            Some(r#"{"start": "yesterday", "end": "2026-11-20"}"#),
            "start",
        ),
        (Some(r#"{"hourz": 3}"#), "hourz"),
    ] {
        let (s, b) = env.immediate(body).await;
        assert_eq!((s, field(&b)), (400, f), "{body:?}: {b}");
    }
    env.connect().await;
    let (s, b) = env.immediate(Some(r#"{"hours": 48}"#)).await;
    assert_eq!(s, 202, "{b}");
    let task = b["task_id"].as_str().unwrap().to_owned();
    assert!(task.starts_with("imm-"), "{task}");
    assert_eq!(b["accounts_queued"], 1);
    let msgs = env.moto.receive(&env.queue_url()).await.unwrap();
    assert_eq!(msgs.len(), 1);
    let work: Value = serde_json::from_str(msgs[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(
        (work["account_id"].as_str(), work["task_id"].as_str()),
        (Some(ACC), Some(task.as_str()))
    );
    assert_eq!(work["kind"], "immediate");
    // the run is recorded; an immediate run never moves the scheduled watermark
    let (_, runs) = env.admin("GET", "/runs", &[], None).await;
    assert_eq!(runs["runs"][0]["task_id"], task.as_str());
    assert_eq!(runs["runs"][0]["counts"]["accounts_queued"], 1);
    assert_eq!(env.wiring.state.watermark().await.unwrap(), None);

    // a window with nothing in it: completed at once, nothing queued
    let (s, b) = env
        .immediate(Some(r#"{"start": "2020-01-01", "end": "2020-01-02"}"#))
        .await;
    assert_eq!((s, b["accounts_queued"].as_u64()), (202, Some(0)), "{b}");
    assert_eq!(b["status"], "completed");
}

// ------------------------------------------------------------------ R23 single account

#[tokio::test]
async fn r23_post_account_sync_refuses_bad_ids_before_any_query_and_pushes_one_account() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let before = env.sf.calls().get("query").copied().unwrap_or(0);
    for bad in [
        "001Wk00000",
        "001Wk0000000001IA'",
        "001Wk0000000001IAA%27%20OR%20Id%21%3Dnull",
        "x".repeat(18).as_str(),
    ] {
        let path = format!("/accounts/{bad}/sync");
        let (s, b) = env.account_sync_http(&path).await;
        if bad.chars().all(|c| c.is_ascii_alphanumeric()) && (bad.len() == 15 || bad.len() == 18) {
            // 18 letters are well-formed: queried, not found → a Failed entry, not a 400
            assert_eq!(s, 200, "{b}");
            continue;
        }
        assert_eq!((s, field(&b)), (400, "id"), "{bad}: {b}");
        assert!(b["message"].as_str().unwrap().contains("R23"));
    }
    let after_bad = env.sf.calls().get("query").copied().unwrap_or(0);
    assert!(
        after_bad - before <= 2,
        "only the well-formed id was queried"
    );

    let (s, b) = env
        .account_sync_http(&format!("/accounts/{ACC}/sync"))
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["task_id"].as_str().unwrap().starts_with("acct-"));
    assert_eq!(b["account_name"], "SF-DemoAccount");
    let names: Vec<&str> = b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Entitlement Creation/Update"), "{names:?}");
    assert!(
        !names.contains(&"Salesforce Write-back"),
        "R23: push only, {names:?}"
    );
    // FNO holds the entitlement
    let fno = env.fno.state();
    let ents = fno
        .pointer("/flexnet/entitlements")
        .or_else(|| fno.pointer("/entitlements"))
        .unwrap();
    assert!(
        ents.as_array()
            .unwrap()
            .iter()
            .any(|e| e["entitlementId"] == OPP),
        "{ents}"
    );
    // no write-back to Salesforce (R23)
    let opp = env.sf.record("Opportunity", OPP).unwrap();
    assert!(opp["FNO_Entitlement_ID__c"].is_null(), "{opp}");

    // the account id is never a query parameter: only the path routes
    let (s, _) = env.account_sync_http("/accounts/sync").await;
    assert_eq!(s, 404);
}

// ------------------------------------------------------------------ SQS consumer

#[tokio::test]
async fn sqs_parse_errors_bad_ids_and_versions_are_batch_item_failures_the_rest_succeeds() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let good = json!({"v": 1, "task_id": "sched-test", "account_id": ACC, "kind": "scheduled",
                      "window_from": null, "window_to": "2026-11-20T09:00:00Z"});
    let mut old = good.clone();
    old["v"] = json!(7);
    let mut bad_id = good.clone();
    bad_id["account_id"] = json!("001' OR Name != '");
    let bodies = [
        good.to_string(),
        "{not json".into(),
        old.to_string(),
        bad_id.to_string(),
    ];
    for b in &bodies {
        env.send(b).await;
    }
    let mut msgs = Vec::new();
    for _ in 0..5 {
        msgs.extend(env.moto.receive(&env.queue_url()).await.unwrap());
        if msgs.len() == 4 {
            break;
        }
    }
    assert_eq!(msgs.len(), 4);
    let arn = env.moto.queue_arn(&env.queue_url()).await.unwrap();
    let event = serde_json::to_value(sqs_event(&msgs, &arn)).unwrap();
    let out = env.sync().account_sync_event(event, None).await.unwrap();
    let failed: Vec<String> = out["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    let id_of = |body: &str| {
        msgs.iter()
            .find(|m| m.body.as_deref() == Some(body))
            .and_then(|m| m.message_id.clone())
            .unwrap()
    };
    let mut expected: Vec<String> = bodies[1..].iter().map(|b| id_of(b)).collect();
    let mut got = failed.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "exactly the three bad messages fail");
    let fno = env.fno.state();
    let ents = fno
        .pointer("/flexnet/entitlements")
        .or_else(|| fno.pointer("/entitlements"))
        .unwrap();
    assert!(
        ents.as_array()
            .unwrap()
            .iter()
            .any(|e| e["entitlementId"] == OPP),
        "the good one was synced"
    );

    // a payload that is neither SQS nor API Gateway is an invocation error
    assert!(env
        .sync()
        .account_sync_event(json!({"hello": "world"}), None)
        .await
        .is_err());
}

// ------------------------------------------------------------------ logs, runs, filters

#[tokio::test]
async fn logs_filter_and_page_runs_list_and_bad_queries_name_the_parameter() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let (_, b) = env
        .account_sync_http(&format!("/accounts/{ACC}/sync"))
        .await;
    let task = b["task_id"].as_str().unwrap().to_owned();
    let total = b["entries"].as_array().unwrap().len();
    assert!(total >= 3, "{b}");

    // page through the run's entries one at a time with the cursor
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut q = vec![("task", task.as_str()), ("limit", "1")];
        if let Some(c) = cursor.as_deref() {
            q.push(("cursor", c));
        }
        let (s, page) = env.admin("GET", "/logs", &q, None).await;
        assert_eq!(s, 200, "{page}");
        for e in page["entries"].as_array().unwrap() {
            seen.push(e["log_number"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), total, "{seen:?}");
    let (s, page) = env
        .admin(
            "GET",
            "/logs",
            &[("status", "Completed"), ("from", "2026-11-01T00:00:00Z")],
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(!page["entries"].as_array().unwrap().is_empty());

    for (q, f) in [
        (("status", "Broken"), "status"),
        (("from", "yesterday"), "from"),
        (("limit", "0"), "limit"),
    ] {
        let (s, b) = env.admin("GET", "/logs", &[q], None).await;
        assert_eq!((s, field(&b)), (400, f), "{b}");
    }
    let (s, b) = env.admin("GET", "/runs", &[("limit", "5")], None).await;
    assert_eq!(s, 200);
    assert_eq!(b["runs"][0]["task_id"], task.as_str());
    assert_eq!(b["runs"][0]["kind"], "account");

    // filters are checked against the org's picklist through the saved connection (R2)
    let (s, b) = env
        .admin(
            "PUT",
            "/filters",
            &[],
            Some(r#"{"sync_stages": ["Closed Wonn"], "post_condition_state": "Draft"}"#),
        )
        .await;
    assert_eq!((s, field(&b)), (400, "sync_stages"), "{b}");
    // mappings are checked against the org's describe through the saved connection (R18, R19)
    let row = r#"{"fno_attribute":"Notes","sf_field":"Description","kind":{"type":"custom","entity":"account","data_type":"text"}}"#;
    let (s, b) = env.admin("PUT", "/mappings/Account", &[], Some(row)).await;
    assert_eq!(s, 200, "{b}");
    let row = r#"{"fno_attribute":"Size","sf_field":"NoSuch__c","kind":{"type":"custom","entity":"account","data_type":"number"}}"#;
    let (s, b) = env.admin("PUT", "/mappings/Account", &[], Some(row)).await;
    assert_eq!((s, field(&b)), (400, "fields.Size.sf_field"), "{b}");
    let (s, b) = env
        .admin(
            "DELETE",
            "/mappings/Account",
            &[("fno_attribute", "Notes")],
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = env.admin("GET", "/nowhere", &[], None).await;
    assert_eq!(s, 404, "{b}");
}

// ------------------------------------------------------------------ R21 scheduled run

#[tokio::test]
async fn r21_scheduled_event_queues_accounts_then_moves_the_watermark_and_a_repeat_is_skipped() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let out = env
        .sync()
        .scheduled(schedule_event("2026-11-20T09:00:00Z", 1))
        .await
        .unwrap();
    assert_eq!(out.accounts_queued, 1, "{out:?}");
    assert!(out.window_from.is_none(), "first run: all history");
    let wm = env
        .wiring
        .state
        .watermark()
        .await
        .unwrap()
        .expect("watermark set");
    assert_eq!(Some(wm), out.window_to);
    let run = env
        .wiring
        .state
        .get_run(out.task_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.counts.get("accounts_queued"), Some(&1));
    assert_eq!(env.moto.receive(&env.queue_url()).await.unwrap().len(), 1);

    // Scheduler's retry of the same firing: already handled
    let again = env
        .sync()
        .scheduled(schedule_event("2026-11-20T09:00:00Z", 2))
        .await
        .unwrap();
    assert!(again.skipped.is_some(), "{again:?}");
    // a classic EventBridge "Scheduled Event" is accepted too
    let eb = json!({"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
                    "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
                    "time": "2026-11-21T02:00:00Z", "region": "us-east-1",
                    "resources": ["arn:aws:events:us-east-1:123456789012:rule/flexbridge"], "detail": {}});
    let next = env.sync().scheduled(eb).await.unwrap();
    assert!(next.skipped.is_none(), "{next:?}");
    assert_eq!(
        next.window_from,
        Some(wm),
        "the next window starts at the last batch fire time"
    );
    // an event meant for another function is refused (Scheduler retries, then dead-letters)
    assert!(env.sync().scheduled(json!({"Records": []})).await.is_err());
}

#[tokio::test]
async fn r21_a_failed_fan_out_leaves_the_watermark_and_records_the_aborted_run() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    // the queue disappears: SendMessageBatch fails
    env.wiring
        .clients
        .sqs
        .delete_queue()
        .queue_url(env.queue_url())
        .send()
        .await
        .unwrap();
    let e = env
        .sync()
        .scheduled(schedule_event("2026-11-20T09:00:00Z", 1))
        .await
        .unwrap_err();
    assert!(
        matches!(e, service::runs::ScheduledError::Enqueue(_)),
        "{e:?}"
    );
    assert_eq!(
        env.wiring.state.watermark().await.unwrap(),
        None,
        "R21: not moved"
    );
    let runs = env.wiring.state.list_runs(5).await.unwrap();
    assert_eq!(runs[0].status, engine::ports::RunStatus::Aborted);
    assert!(
        runs[0].detail.as_deref().unwrap().contains(ACC),
        "{:?}",
        runs[0].detail
    );
    // Lambda sees a typed error with the chain (Scheduler retries, then dead-letters)
    let d: lambda_runtime::Diagnostic = e.into();
    assert_eq!(d.error_type, "flexbridge.Enqueue");
}

// ------------------------------------------------------------------ license-info (R26–R32)

#[tokio::test]
async fn license_info_runs_on_its_schedule_and_the_admin_api_lists_the_licenses() {
    let env = Env::start(license_fixture(), 30).await;
    let api = env.wiring.admin_api();
    // before the connection is saved the scheduled ingest cannot read the org
    let out = api
        .license_info_event(
            json!({"source": "flexbridge.schedule", "task": "license-info",
                                   "scheduledTime": "2026-11-27T03:30:00Z"}),
        )
        .await
        .unwrap();
    assert_eq!(out["error"], "upstream", "{out}");
    env.connect().await;
    let out = api
        .license_info_event(
            json!({"source": "flexbridge.schedule", "task": "license-info",
                                   "scheduledTime": "2026-11-27T03:30:00Z"}),
        )
        .await
        .unwrap();
    let discovered = out["discovered"].as_u64().unwrap();
    assert!(discovered >= 12, "{out}");
    // the scheduled-sync's input is not the license task's
    assert!(api
        .license_info_event(schedule_event("2026-11-27T03:30:00Z", 1))
        .await
        .is_err());
    // POST /licenses/ingest through the license-info function (API Gateway event)
    let event = serde_json::to_value(api_event("POST", "/licenses/ingest", &[], None)).unwrap();
    let r: ApiGatewayV2httpResponse =
        serde_json::from_value(api.license_info_event(event).await.unwrap()).unwrap();
    let (s, b) = parse(r);
    assert_eq!((s, b["unchanged"].as_u64()), (200, Some(discovered)), "{b}");
    let (s, b) = env.admin("GET", "/licenses", &[], None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["licenses"].as_array().unwrap().len() as u64, discovered);
    let (s, b) = env
        .admin("PUT", "/licenses/task", &[], Some(r#"{"enabled": "no"}"#))
        .await;
    assert_eq!(s, 400, "{b}");
}

// ------------------------------------------------------------------ secret cache

#[tokio::test]
async fn r25_the_secret_is_fetched_once_per_cold_start_and_again_after_a_refusal() {
    let env = Env::start(fixture("walkthrough.json"), 0).await;
    let put_secret = |v: Value| {
        let c = env.wiring.clients.secrets.clone();
        let arn = env.wiring.config.connection_secret_arn.clone();
        async move {
            c.put_secret_value()
                .secret_id(arn)
                .secret_string(v.to_string())
                .send()
                .await
                .unwrap();
        }
    };
    // an admin wrote a wrong FNO password straight into the secret (no verification)
    let mut wrong = env.connection();
    wrong["flexnet"]["password"] = json!("expired-password");
    put_secret(wrong).await;
    let body = json!({"v": 1, "task_id": "sched-refresh", "account_id": ACC, "kind": "scheduled",
                      "window_from": null, "window_to": "2026-11-20T09:00:00Z"})
    .to_string();
    env.send(body.clone()).await;
    let arn = env.moto.queue_arn(&env.queue_url()).await.unwrap();
    let sync = env.sync();
    let msgs = env.moto.receive(&env.queue_url()).await.unwrap();
    let r = sync.consume(sqs_event(&msgs, &arn), None).await.unwrap();
    // a refused password is permanent: logged, the account kept outstanding, the message
    // acknowledged (no retries into the DLQ)
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    let item = env
        .wiring
        .state
        .get_outstanding(ACC)
        .await
        .unwrap()
        .expect("the account is outstanding");
    assert!(item.reason.contains("HTTP 401"), "{item:?}");
    assert_eq!(env.wiring.secret.fetches(), 1);
    env.moto.settle(&env.queue_url(), &msgs, &[]).await.unwrap();

    // the password is fixed in the secret; the warm function picks it up after the refusal
    // when the account comes round again (the next scheduled run re-plans it)
    put_secret(env.connection()).await;
    env.send(body.replace("sched-refresh", "sched-again")).await;
    let msgs = env.moto.receive(&env.queue_url()).await.unwrap();
    assert_eq!(msgs.len(), 1);
    let r = sync.consume(sqs_event(&msgs, &arn), None).await.unwrap();
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    assert_eq!(
        env.wiring.secret.fetches(),
        2,
        "fetched again after the refusal"
    );
    assert!(env
        .wiring
        .state
        .get_outstanding(ACC)
        .await
        .unwrap()
        .is_none());
    env.moto.settle(&env.queue_url(), &msgs, &[]).await.unwrap();

    // working settings are not fetched again per message
    let (s, _) = env
        .account_sync_http(&format!("/accounts/{ACC}/sync"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(env.wiring.secret.fetches(), 2);
    assert!(!captured().contains("expired-password"));
}

// ------------------------------------------------------------------ one worker per account,
// outstanding orders, quota waits (issue: nothing lost, nothing twice)

#[tokio::test]
async fn a_leased_account_is_a_409_for_the_api_and_a_delayed_retry_for_the_queue() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let held = env.hold_account("sched-20261120T090000Z-aaaa1111").await;
    let fno_calls = env.fno.total_calls(); // the connection check's

    let (s, b) = env
        .account_sync_http(&format!("/accounts/{ACC}/sync"))
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains(&held.task_id),
        "{b}"
    );

    // the queued message is reported failed and hidden for a minute (ChangeMessageVisibility),
    // not handed back at once
    let body = json!({"v": 1, "task_id": "imm-x", "account_id": ACC, "kind": "immediate",
                      "window_from": null, "window_to": null})
    .to_string();
    let sqs = &env.wiring.clients.sqs;
    env.send(body).await;
    let arn = env.moto.queue_arn(&env.queue_url()).await.unwrap();
    let msgs = env.moto.receive(&env.queue_url()).await.unwrap();
    let r = env
        .sync()
        .consume(sqs_event(&msgs, &arn), None)
        .await
        .unwrap();
    assert_eq!(r.batch_item_failures.len(), 1);
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(env.queue_url())
        .attribute_names(
            aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        )
        .send()
        .await
        .unwrap();
    let hidden = attrs.attributes.unwrap()
        [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible]
        .clone();
    assert_eq!(hidden, "1", "the message waits out the lease");
    assert_eq!(env.fno.total_calls(), fno_calls, "nothing reached FNO");
}

#[tokio::test]
async fn failed_orders_are_listed_by_get_outstanding_and_a_spent_quota_shows_on_the_run() {
    let mut fx = fixture("walkthrough.json");
    fx["salesforce"]["Product2"][0]["FNO_Include_In_Sync__c"] = json!(false);
    let env = Env::start(fx, 30).await;
    env.connect().await;
    let out = env.fire("2026-11-20T08:00:00Z").await;
    let task = out.task_id.unwrap();
    let r = env.consume_queued().await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");

    let (s, b) = env
        .admin("GET", "/outstanding", &[("limit", "10")], None)
        .await;
    assert_eq!(s, 200, "{b}");
    let items = b["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{b}");
    assert_eq!(items[0]["record_id"], OPP);
    assert_eq!(items[0]["scope"], "order");
    assert!(items[0]["reason"].as_str().unwrap().contains("(R6)"), "{b}");
    let (s, b) = env
        .admin("GET", "/outstanding", &[("limit", "0")], None)
        .await;
    assert_eq!((s, field(&b)), (400, "limit"), "{b}");
    let (s, b) = env.admin("GET", &format!("/runs/{task}"), &[], None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["task_id"], task.as_str());

    // the org's quota runs out: the message waits (hidden) and the run says so
    env.sf.set_api_usage(15_000);
    let body = json!({"v": 1, "task_id": task, "account_id": ACC, "kind": "scheduled",
                      "window_from": null, "window_to": null})
    .to_string();
    env.send(body).await;
    let r = env.consume_queued().await;
    assert_eq!(r.batch_item_failures.len(), 1);
    let (_, b) = env.admin("GET", &format!("/runs/{task}"), &[], None).await;
    assert!(
        b["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("waiting for Salesforce API quota"),
        "{b}"
    );
    assert_eq!(b["counts"]["quota_waits"], 1, "{b}");
}

#[tokio::test]
async fn two_deliveries_of_one_firing_queue_its_accounts_once() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let sync = env.sync();
    let fire = || sync.scheduled(schedule_event("2026-11-20T08:00:00Z", 1));
    let (a, b) = tokio::join!(fire(), fire());
    let queued: usize = [a.unwrap(), b.unwrap()]
        .iter()
        .map(|o| o.accounts_queued)
        .sum();
    assert_eq!(
        queued, 1,
        "one delivery ran, the other was refused by the conditional write"
    );
    let again = sync
        .scheduled(schedule_event("2026-11-20T08:00:00Z", 2))
        .await
        .unwrap();
    assert!(again.skipped.unwrap().contains("already handled"));
}

// ------------------------------------------------------------------ issue 14: the admin's day

const CALLER: &str = "arn:aws:sts::123456789012:assumed-role/FlexbridgeAdmin/admin";

#[tokio::test]
async fn issue14_account_sync_answers_202_at_once_and_get_runs_follows_it_to_its_result() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let fno_before = env.fno.total_calls();

    let (s, b) = env
        .account_sync_query(&format!("/accounts/{ACC}/sync"), &[])
        .await;
    assert_eq!(s, 202, "{b}");
    let task = b["task_id"].as_str().unwrap().to_owned();
    assert!(task.starts_with("acct-"), "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("has started"),
        "{b}"
    );
    assert_eq!(env.fno.total_calls(), fno_before, "nothing synced yet");

    // queued, not done: GET /runs/{task_id} says so
    let (s, run) = env.admin("GET", &format!("/runs/{task}"), &[], None).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "running", "{run}");
    assert_eq!(run["created_by"], CALLER);
    assert_eq!(run["progress"]["accounts_planned"], 1);
    assert_eq!(run["progress"]["accounts_done"], 0);
    assert_eq!(run["progress"]["finished"], false);

    // the queue consumer does the work (push only, R23)
    assert_eq!(env.drain_queue().await, 1);
    let (s, run) = env.admin("GET", &format!("/runs/{task}"), &[], None).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["progress"]["accounts_done"], 1);
    assert_eq!(run["progress"]["finished"], true);
    assert!(run["counts"]["completed"].as_u64().unwrap() > 0, "{run}");
    assert!(run["failures"].as_array().unwrap().is_empty(), "{run}");
    let fno = env.fno.state();
    let ents = fno
        .pointer("/flexnet/entitlements")
        .or_else(|| fno.pointer("/entitlements"))
        .unwrap();
    assert!(ents
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["entitlementId"] == OPP));
    let opp = env.sf.record("Opportunity", OPP).unwrap();
    assert!(opp["FNO_Entitlement_ID__c"].is_null(), "R23: push only");

    // every entry of the run carries who started it
    let (_, page) = env.admin("GET", "/logs", &[("task", &task)], None).await;
    let entries = page["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["created_by"] == CALLER), "{page}");

    // bad query parameters are named
    let (s, b) = env
        .account_sync_query(&format!("/accounts/{ACC}/sync"), &[("wait", "soon")])
        .await;
    assert_eq!((s, field(&b)), (400, "wait"), "{b}");
    let (s, b) = env
        .account_sync_query(&format!("/accounts/{ACC}/sync"), &[("dry", "1")])
        .await;
    assert_eq!((s, field(&b)), (400, "dry"), "{b}");
    let (s, b) = env.admin("GET", "/runs/nope!", &[], None).await;
    assert_eq!((s, field(&b)), (400, "task_id"), "{b}");
    let (s, _) = env
        .admin("GET", "/runs/acct-20991231T000000Z-00000000", &[], None)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn issue14_a_busy_account_is_409_before_anything_is_queued() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let held = env.hold_account("sched-20261120T090000Z-bbbb2222").await;
    let (s, b) = env
        .account_sync_query(&format!("/accounts/{ACC}/sync"), &[])
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains(&held.task_id),
        "{b}"
    );
    assert!(env.moto.receive(&env.queue_url()).await.unwrap().is_empty());
}

#[tokio::test]
async fn issue14_logs_by_log_number_by_record_and_as_csv_with_created_by() {
    let mut fx = fixture("walkthrough.json");
    // one failure to find: a product that is not flagged for the sync (R6)
    fx["salesforce"]["Product2"][0]["FNO_Include_In_Sync__c"] = json!(false);
    let env = Env::start(fx, 30).await;
    env.connect().await;
    // a scheduled run: its entries are the schedule's
    env.sync()
        .scheduled(json!({"source": "flexbridge.schedule", "task": "scheduled-sync"}))
        .await
        .unwrap();
    env.drain_queue().await;
    let (s, page) = env.admin("GET", "/logs", &[], None).await;
    assert_eq!(s, 200, "{page}");
    let entries = page["entries"].as_array().unwrap().clone();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["created_by"] == "schedule"),
        "{page}"
    );
    // the list leaves the payloads to GET /logs/{log_number}
    assert!(entries.iter().all(|e| e.get("request").is_none()), "{page}");
    let with_payload = entries
        .iter()
        .find(|e| e["has_payloads"] == true)
        .expect("an entry with payloads");
    let n = with_payload["log_number"].as_str().unwrap();
    let (s, one) = env.admin("GET", &format!("/logs/{n}"), &[], None).await;
    assert_eq!(s, 200, "{one}");
    assert_eq!(one["log_number"], n);
    assert!(
        !one["request"].is_null() || !one["response"].is_null(),
        "{one}"
    );
    assert!(
        !one.to_string().contains(SF_SECRET),
        "no secret in a payload"
    );
    assert!(!one.to_string().contains(env.fno_password()));
    let (s, _) = env.admin("GET", "/logs/TL-99999999", &[], None).await;
    assert_eq!(s, 404);
    let (s, b) = env.admin("GET", "/logs/42", &[], None).await;
    assert_eq!((s, field(&b)), (400, "log_number"), "{b}");

    // everything about the order: its entitlement, its line items, across runs
    let (s, about) = env.admin("GET", "/logs", &[("record", OPP)], None).await;
    assert_eq!(s, 200, "{about}");
    let about = about["entries"].as_array().unwrap();
    assert!(!about.is_empty());
    assert!(about.len() < entries.len(), "only the order's entries");
    for e in &entries {
        let of_order = e["record_id"] == OPP;
        let listed = about.iter().any(|a| a["log_number"] == e["log_number"]);
        if of_order {
            assert!(listed, "{e} is about {OPP}");
        }
    }
    // and the account's: every entry of the account
    let (_, acct) = env.admin("GET", "/logs", &[("record", ACC)], None).await;
    let n_acct = entries.iter().filter(|e| e["account_id"] == ACC).count();
    assert_eq!(acct["entries"].as_array().unwrap().len(), n_acct, "{acct}");
    // with a status filter too
    let (_, failed) = env
        .admin(
            "GET",
            "/logs",
            &[("record", ACC), ("status", "Failed")],
            None,
        )
        .await;
    assert!(failed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["status"] == "Failed"));
    let (s, b) = env.admin("GET", "/logs", &[("record", "a b")], None).await;
    assert_eq!((s, field(&b)), (400, "record"), "{b}");

    // CSV export: a header and a row per entry
    let api = env.wiring.admin_api();
    let r = service::apigw::serve(api_event("GET", "/logs", &[("format", "csv")], None), |r| {
        api.handle(r)
    })
    .await;
    assert_eq!(r.status_code, 200);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    let Some(Body::Text(csv)) = r.body else {
        panic!("a text body")
    };
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], service::csv::COLUMNS.join(","));
    assert_eq!(lines.len(), entries.len() + 1, "{csv}");
    assert!(lines[1..].iter().all(|l| l.contains(",schedule,")), "{csv}");
    let (s, b) = env.admin("GET", "/logs", &[("format", "xml")], None).await;
    assert_eq!((s, field(&b)), (400, "format"), "{b}");
}

// ------------------------------------------------------------------ issue 14 dry runs

/// What a sync could change in the stack: the org, the tenant, the state store, the log and
/// the work queue.
async fn everything(env: &Env) -> Value {
    use engine::ports::TransactionLog;
    let mut org = env.sf.state();
    org["now"] = Value::Null;
    let state = &env.wiring.state;
    let log = env
        .wiring
        .log
        .query(&engine::ports::LogQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    json!({
        "org": org,
        "tenant": env.fno.state(),
        "watermark": state.watermark().await.unwrap(),
        "runs": state.list_runs(100).await.unwrap(),
        "outstanding": state.list_outstanding(None, 100, None).await.unwrap().items,
        "orders": state.sales_orders_of_account(ACC).await.unwrap(),
        "lease": state.lease(ACC).await.unwrap(),
        "log": log.entries,
        "queued": env.moto.receive(&env.queue_url()).await.unwrap().len(),
    })
}

#[tokio::test]
async fn issue14_dry_runs_answer_what_the_sync_would_do_and_change_nothing() {
    use engine::ports::TransactionLog;
    let env = Env::start(fixture("walkthrough.json"), 1).await;
    env.connect().await;
    let before = everything(&env).await;
    let (sf_calls, fno_calls) = (env.sf.calls(), env.fno.calls());

    // POST /sync {"dry_run": true}: the window's accounts, requests and write-backs
    let (s, b) = env
        .immediate(Some(r#"{"hours": 48, "dry_run": true}"#))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["dry_run"], true);
    assert!(
        b["task_id"].as_str().unwrap().starts_with("dry-imm-"),
        "{b}"
    );
    assert_eq!(b["accounts"][0]["account_id"], ACC);
    assert_eq!(b["fno_requests"]["entitlements"][0]["entitlement_id"], OPP);
    assert_eq!(b["fno_requests"]["accounts"][0]["id"], ACC);
    assert!(
        b["salesforce_writebacks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == OPP && w["fields"]["FNO_Entitlement_ID__c"] == OPP),
        "{b}"
    );
    assert_eq!(b["log_entries"][0]["log_number"], "DRY-00001");
    assert!(b["log_entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["created_by"] == CALLER));
    assert!(!b.to_string().contains(env.fno_password()), "no secret");
    assert!(!b.to_string().contains(SF_SECRET), "no secret");

    // POST /accounts/{id}/sync?dry_run=true: push only (R23)
    let (s, b) = env
        .account_sync_query(&format!("/accounts/{ACC}/sync"), &[("dry_run", "true")])
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["task_id"].as_str().unwrap().starts_with("dry-acct-"),
        "{b}"
    );
    assert_eq!(b["salesforce_writebacks"], json!([]));
    assert_eq!(b["fno_requests"]["entitlements"][0]["entitlement_id"], OPP);

    // nothing anywhere changed; only reads were sent
    assert_eq!(everything(&env).await, before);
    for (k, n) in env.sf.calls() {
        if n > sf_calls.get(&k).copied().unwrap_or(0) {
            assert!(!matches!(k.as_str(), "composite" | "sobject_patch"), "{k}");
        }
    }
    for (k, n) in env.fno.calls() {
        if n > fno_calls.get(&k).copied().unwrap_or(0) {
            assert!(k.starts_with("get"), "FNO saw {k}");
        }
    }
    // and the dry runs took no log number
    let (s, b) = env
        .account_sync_http(&format!("/accounts/{ACC}/sync"))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entries"][0]["log_number"], "TL-00001", "{b}");
    assert!(env.wiring.log.get("DRY-00001").await.unwrap().is_none());
}

#[tokio::test]
async fn issue14_a_bad_dry_run_value_is_a_400_naming_the_field() {
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let path = format!("/accounts/{ACC}/sync");
    for bad in ["yes", "1", "TRUE", ""] {
        let (s, b) = env.account_sync_query(&path, &[("dry_run", bad)]).await;
        assert_eq!((s, field(&b)), (400, "dry_run"), "{bad:?}: {b}");
    }
    for body in [
        r#"{"hours": 2, "dry_run": "yes"}"#,
        r#"{"hours": 2, "dry_run": 1}"#,
    ] {
        let (s, b) = env.immediate(Some(body)).await;
        assert_eq!((s, field(&b)), (400, "dry_run"), "{body}: {b}");
    }
    let (s, b) = env.account_sync_query(&path, &[("dryrun", "true")]).await;
    assert_eq!((s, field(&b)), (400, "dryrun"), "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("dry_run=true|false"),
        "{b}"
    );
    // the account is checked before anything is read
    let (s, b) = env
        .account_sync_query("/accounts/not-an-id/sync", &[("dry_run", "true")])
        .await;
    assert_eq!((s, field(&b)), (400, "id"), "{b}");
    // the OpenAPI document says so
    let doc: Value = serde_json::from_str(service::http::OPENAPI).unwrap();
    let params = doc["paths"]["/accounts/{id}/sync"]["post"]["parameters"].to_string();
    assert!(params.contains("\"dry_run\""), "{params}");
    assert_eq!(
        doc["components"]["schemas"]["SyncRequest"]["properties"]["dry_run"]["type"],
        "boolean"
    );
    assert!(doc["components"]["schemas"]["DryRunReport"].is_object());
}
