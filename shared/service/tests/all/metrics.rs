//! Issue 13: metrics. A scheduled firing, its account consumed from SQS, a second firing and
//! a license ingest write CloudWatch Embedded Metric Format lines; each is checked by name and
//! value against what the stores hold, and the lines against template.yaml's alarms and
//! dashboard, both ways.

use crate::handlers::{fixture, license_fixture, Env, ACC};
use chrono::Duration;
use engine::ports::StateStore;
use serde_json::{json, Value};
use service::metrics::{Metric, NAMESPACE};
use service::testing::capture_metrics;
use std::collections::BTreeSet;

/// The captured lines of one task (property `TaskId`, or listed in `TaskIds`).
fn lines_of(task: &str) -> Vec<Value> {
    capture_metrics()
        .text()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("every metrics line is JSON"))
        .filter(|v| {
            v["TaskId"] == task
                || v["TaskIds"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|t| t == task))
        })
        .collect()
}

/// The one line of `function` carrying `metric`.
fn line<'a>(lines: &'a [Value], function: &str, metric: Metric) -> &'a Value {
    let found: Vec<&Value> = lines
        .iter()
        .filter(|v| v["Function"] == function && v.get(metric.name()).is_some())
        .collect();
    assert_eq!(found.len(), 1, "{function} {metric:?} in {lines:#?}");
    found[0]
}

fn num(v: &Value, metric: Metric) -> f64 {
    v[metric.name()]
        .as_f64()
        .unwrap_or_else(|| panic!("{metric:?} in {v}"))
}

/// Every line is valid EMF: `_aws` names the namespace, the dimension sets (present as
/// properties) and every metric value the line holds, with its unit.
fn check_emf(v: &Value) {
    let cw = &v["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(cw["Namespace"], NAMESPACE, "{v}");
    assert!(v["_aws"]["Timestamp"].as_i64().unwrap() > 0, "{v}");
    for set in cw["Dimensions"].as_array().unwrap() {
        for d in set.as_array().unwrap() {
            assert!(v[d.as_str().unwrap()].is_string(), "dimension {d} in {v}");
        }
    }
    let defs = cw["Metrics"].as_array().unwrap();
    assert!(!defs.is_empty(), "{v}");
    for d in defs {
        let m = Metric::ALL
            .into_iter()
            .find(|m| d["Name"] == m.name())
            .unwrap_or_else(|| panic!("{d} is not in Metric::ALL"));
        assert_eq!(d["Unit"], m.unit().as_str(), "{v}");
        assert!(v[m.name()].is_number(), "{v}");
    }
}

/// (metric, Function) of every value in `lines`.
fn emitted(lines: &[Value]) -> BTreeSet<(String, String)> {
    lines
        .iter()
        .flat_map(|v| {
            let f = v["Function"].as_str().unwrap().to_owned();
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |d| (d["Name"].as_str().unwrap().to_owned(), f.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn a_sync_and_a_license_ingest_emit_emf_lines_the_alarms_and_dashboard_read() {
    capture_metrics();
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;

    // the first firing: no watermark yet, nothing outstanding, one account queued
    let out = env.fire("2026-11-20T09:00:00Z").await;
    let task = out.task_id.clone().unwrap();
    let started = line(&lines_of(&task), "scheduled-sync", Metric::RunsStarted).clone();
    check_emf(&started);
    assert_eq!(started["RunKind"], "scheduled");
    assert_eq!(num(&started, Metric::RunsStarted), 1.0);
    assert_eq!(
        num(&started, Metric::AccountsQueued),
        out.accounts_queued as f64
    );
    assert_eq!(num(&started, Metric::OutstandingOrders), 0.0);
    assert!(started.get(Metric::WatermarkAgeHours.name()).is_none());
    assert!(
        num(&started, Metric::SalesforceCalls) >= 1.0,
        "planning queries Salesforce"
    );

    // its account, consumed from SQS
    let r = env.consume_queued().await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    let run = env.wiring.state.get_run(&task).await.unwrap().unwrap();
    let lines = lines_of(&task);
    lines.iter().for_each(check_emf);
    let account = line(&lines, "account-sync", Metric::OrdersPushed);
    assert_eq!(
        (&account["AccountId"], &account["RunKind"]),
        (&json!(ACC), &json!("scheduled"))
    );
    for (metric, count) in [
        (Metric::OrdersPushed, "orders_pushed"),
        (Metric::OrdersUnchanged, "orders_unchanged"),
        (Metric::EntriesCompleted, "completed"),
        (Metric::EntriesFailed, "failed"),
        (Metric::EntriesError, "error"),
        (Metric::RecordsWrittenBack, "records_written_back"),
    ] {
        let stored = run.counts.get(count).copied().unwrap_or(0) as f64;
        assert_eq!(
            num(account, metric),
            stored,
            "{metric:?} vs the run's {count}"
        );
    }
    assert!(num(account, Metric::OrdersPushed) >= 1.0, "{account}");
    assert!(num(account, Metric::AccountSyncDuration) > 0.0);
    let done = line(&lines, "account-sync", Metric::RunsCompleted);
    assert_eq!(num(done, Metric::RunsCompleted), 1.0);
    let took = (run.finished.unwrap() - run.started).num_milliseconds() as f64 / 1000.0;
    assert!(
        (num(done, Metric::RunDuration) - took).abs() < 0.002,
        "{done}"
    );
    let calls = line(&lines, "account-sync", Metric::SalesforceCalls);
    assert!(num(calls, Metric::SalesforceCalls) >= 1.0, "{calls}");
    assert!(num(calls, Metric::FnoCalls) >= 1.0, "{calls}");
    let quota = num(calls, Metric::SalesforceQuotaRemaining);
    assert!((0.0..=100.0).contains(&quota) && quota < 100.0, "{calls}");

    // the next firing reads the watermark's age and the outstanding list before it runs
    let wm = env.wiring.state.watermark().await.unwrap().unwrap();
    let outstanding = env
        .wiring
        .state
        .list_outstanding(None, 1000, None)
        .await
        .unwrap()
        .items
        .len();
    let next = env.fire("2026-11-21T09:00:00Z").await;
    let elapsed = (env.wiring.clock.now() - wm).num_seconds() as f64 / 3600.0;
    let next_lines = lines_of(next.task_id.as_deref().unwrap());
    let fired = line(&next_lines, "scheduled-sync", Metric::WatermarkAgeHours);
    let age = num(fired, Metric::WatermarkAgeHours);
    assert!((0.0..=elapsed).contains(&age), "{fired}");
    assert_eq!(num(fired, Metric::OutstandingOrders), outstanding as f64);

    // a license ingest
    let lic = Env::start(license_fixture(), 30).await;
    lic.connect().await;
    // a stack whose last batch fire time is 30 hours old (the watermark only moves forward:
    // set once, on a fresh stack)
    let old = lic.wiring.clock.now() - Duration::hours(30);
    lic.wiring.state.set_watermark(old).await.unwrap();
    let late = lic.fire("2026-11-27T02:00:00Z").await;
    let late_lines = lines_of(late.task_id.as_deref().unwrap());
    let fired = line(&late_lines, "scheduled-sync", Metric::WatermarkAgeHours);
    let age = num(fired, Metric::WatermarkAgeHours);
    assert!((30.0..30.1).contains(&age), "{fired}");
    if late.accounts_queued == 0 {
        // nothing to do: the planner completes the run at once
        let done = line(&late_lines, "scheduled-sync", Metric::RunsCompleted);
        assert_eq!(num(done, Metric::RunsCompleted), 1.0);
    }
    let out = lic
        .wiring
        .admin_api()
        .license_info_event(
            json!({"source": "flexbridge.schedule", "task": "license-info",
                                   "scheduledTime": "2026-11-27T03:30:00Z"}),
        )
        .await
        .unwrap();
    let lic_lines = lines_of(out["task_id"].as_str().unwrap());
    let ingest = line(&lic_lines, "license-info", Metric::LicensesCaptured);
    check_emf(ingest);
    assert_eq!(
        num(ingest, Metric::LicensesCaptured),
        out["discovered"].as_f64().unwrap()
    );
    assert_eq!(
        num(ingest, Metric::LicenseFailedObjects),
        out["failed_objects"].as_array().unwrap().len() as f64
    );

    // template.yaml: every alarm on a flexbridge metric reads a series this run emitted, under
    // the [Function] dimension set every line carries, and every alarmed metric has its alarm
    let all_lines: Vec<Value> = [lines, next_lines, late_lines, lic_lines].concat();
    let emitted = emitted(&all_lines);
    let t = crate::template::template();
    let resources = t["Resources"].as_object().unwrap();
    let mut alarmed = BTreeSet::new();
    for (name, r) in resources {
        let p = &r["Properties"];
        if r["Type"] != "AWS::CloudWatch::Alarm" || p["Namespace"] != NAMESPACE {
            continue;
        }
        let metric = p["MetricName"].as_str().unwrap();
        let dims = p["Dimensions"].as_array().unwrap();
        assert_eq!(dims.len(), 1, "{name}: alarms read the [Function] set");
        assert_eq!(dims[0]["Name"], "Function", "{name}");
        let f = dims[0]["Value"].as_str().unwrap();
        assert!(
            emitted.contains(&(metric.to_owned(), f.to_owned())),
            "{name} alarms on {metric} of {f}, which the code did not emit; it emitted {emitted:?}"
        );
        assert!(
            p["AlarmActions"].to_string().contains("AlarmTopic"),
            "{name}"
        );
        alarmed.insert(metric.to_owned());
    }
    let expected: BTreeSet<String> = Metric::ALL
        .into_iter()
        .filter(|m| m.alarmed())
        .map(|m| m.name().to_owned())
        .collect();
    assert_eq!(alarmed, expected, "alarms vs Metric::alarmed");

    // the dashboard shows every metric, and only metrics and functions the code knows
    let body = t["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("the dashboard body is a Fn::Sub string");
    let body: Value = serde_json::from_str(
        &body
            .replace("${QuotaReservePercent}", "5")
            .replace("${WatermarkAlarmHours}", "48"),
    )
    .expect("the dashboard body is JSON");
    let functions = [
        service::metrics::function::SCHEDULED_SYNC,
        service::metrics::function::IMMEDIATE_SYNC,
        service::metrics::function::ACCOUNT_SYNC,
        service::metrics::function::LICENSE_INFO,
    ];
    let mut shown = BTreeSet::new();
    for w in body["widgets"].as_array().unwrap() {
        for m in w["properties"]["metrics"].as_array().unwrap() {
            if m[0] != NAMESPACE {
                continue;
            }
            let name = m[1].as_str().unwrap();
            assert!(
                Metric::ALL.iter().any(|k| k.name() == name),
                "the dashboard shows {name}, which the code does not emit"
            );
            assert_eq!(m[2], "Function", "{m}");
            assert!(functions.contains(&m[3].as_str().unwrap()), "{m}");
            shown.insert(name.to_owned());
        }
    }
    for m in Metric::ALL {
        assert!(shown.contains(m.name()), "{m:?} is not on the dashboard");
    }
    // and what this run emitted is on it, function by function
    let on_dashboard: BTreeSet<(String, String)> = body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["properties"]["metrics"].as_array().unwrap().clone())
        .filter(|m| m[0] == NAMESPACE)
        .map(|m| {
            (
                m[1].as_str().unwrap().to_owned(),
                m[3].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let missing: Vec<_> = emitted.difference(&on_dashboard).collect();
    assert!(
        missing.is_empty(),
        "emitted but not on the dashboard: {missing:?}"
    );
}

/// Captured log lines (raw JSON) whose message is `message` and whose span has `key` = `value`.
fn logged_in_span(message: &str, key: &str, value: &str) -> Vec<Value> {
    service::testing::capture_logs(false)
        .text()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == message && v["span"][key] == value)
        .collect()
}

/// Issue 13 (4): every admin request runs in a span carrying the task id and account id it
/// concerns, so its lines (a client's warning too) say which run and account they belong to.
#[tokio::test]
async fn admin_requests_log_in_a_span_with_their_task_and_account() {
    service::testing::capture_logs(false);
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let (s, b) = env.immediate(Some(r#"{"hours": 48}"#)).await;
    assert_eq!(s, 202, "{b}");
    let task = b["task_id"].as_str().unwrap();
    let lines = logged_in_span("admin API request", "task_id", task);
    assert_eq!(lines.len(), 1, "one request line in the run's span");
    assert_eq!(lines[0]["span"]["name"], "admin_request");
    assert_eq!(lines[0]["fields"]["path"], "/sync");

    let (s, b) = env
        .account_sync_http(&format!("/accounts/{ACC}/sync"))
        .await;
    assert_eq!(s, 200, "{b}");
    let task = b["task_id"].as_str().unwrap();
    let lines = logged_in_span("admin API request", "task_id", task);
    assert_eq!(lines.len(), 1, "{task}");
    assert_eq!(lines[0]["span"]["account_id"], ACC);

    // a caller's text is not a task id: not put on the span
    env.admin("GET", "/logs", &[("task", "x y\u{7}z")], None)
        .await;
    assert!(logged_in_span("admin API request", "task_id", "x y\u{7}z").is_empty());
}

/// Captured lines (raw JSON) logged inside a span named `name` whose `key` field is `value`.
fn logged_within(name: &str, key: &str, value: &str) -> Vec<Value> {
    service::testing::capture_logs(false)
        .text()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["spans"].as_array().is_some_and(|spans| {
                spans
                    .iter()
                    .any(|s| s["name"] == name && s[key].as_str() == Some(value))
            })
        })
        .collect()
}

/// Issue 13 (4): the SQS side — a batch runs in a `batch` span naming its run and accounts,
/// and each account's own steps in an `account` span, so what is logged meanwhile (a client's
/// warning too) says which run and account it belongs to.
#[tokio::test]
async fn sqs_batches_and_their_accounts_log_in_spans_with_task_and_account() {
    service::testing::capture_logs(false);
    let env = Env::start(fixture("walkthrough.json"), 30).await;
    env.connect().await;
    let (s, b) = env.immediate(Some(r#"{"hours": 48}"#)).await;
    assert_eq!(s, 202, "{b}");
    let task = b["task_id"].as_str().unwrap().to_owned();
    let r = env.consume_queued().await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    let in_batch = logged_within("batch", "task_id", &task);
    assert!(!in_batch.is_empty(), "lines logged in the batch's span");
    assert!(
        in_batch.iter().any(|l| l["spans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "batch"
                && s["account_ids"].as_str().is_some_and(|a| a.contains(ACC)))),
        "the batch span names its accounts"
    );
    let in_account = logged_within("account", "account_id", ACC);
    assert!(
        in_account.iter().any(|l| l["spans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "account" && s["task_id"] == task.as_str())),
        "lines logged in the account's span carry the run's task id"
    );
}
