//! Dry runs (issue 14): a run planned and mapped exactly as a real one, that writes nothing —
//! checked against what the simulators and the store hold before and after, and against the
//! real run that follows it.

use chrono::Duration;
use e2e::{fixture, line_items, tenant};
use engine::dryrun::{DryRunReport, PLACEHOLDER};
use engine::ports::{Lease, LogEntry, LogQuery, LogStatus, RunKind, StateStore, TransactionLog};
use engine::txlog::names;
use engine::{EngineError, OutstandingPick};
use flexbridge::report::task_entries;
use flexbridge::{Stack, StackOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// An order synced by the first run whose quantity changes (an update, with a read-back).
const CHANGED_LINE: &str = "00kDm0000000001IAA";
/// An order synced by the first run that loses a required field (R14).
const BROKEN_LINE: &str = "00kDm0000000004IAA";
const BROKEN_OPP: &str = "006Dm0000000003IAA";
/// An order that gets a new line item (created inside an existing entitlement).
const GROWN_OPP: &str = "006Dm0000000002IAA";
const ACC: &str = "001Dm0000000001IAA";

/// The demo org over a persistent store in `dir`, quiet retries, no lookback.
async fn start(dir: &Path) -> Stack {
    Stack::start(
        &fixture("demo.json"),
        StackOptions {
            state_dir: Some(dir.to_path_buf()),
            client_backoff: Some(std::time::Duration::from_millis(5)),
            settings: Some(engine::EngineSettings {
                lookback_minutes: 0,
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .expect("stack starts")
}

async fn dry(stack: &Stack, kind: RunKind, account: Option<&str>) -> DryRunReport {
    let pick = if kind == RunKind::Scheduled {
        OutstandingPick::Due
    } else {
        OutstandingPick::None
    };
    let engine = stack.engine().unwrap();
    engine
        .dry_run()
        .run(kind, None, account, pick, Some("tester"))
        .await
        .expect("dry run")
}

/// Every log entry in the store, in order.
async fn all_entries(stack: &Stack) -> Vec<LogEntry> {
    let (mut out, mut cursor) = (Vec::new(), None);
    loop {
        let q = LogQuery {
            limit: Some(100),
            cursor,
            ..Default::default()
        };
        let page = stack.store.query(&q).await.unwrap();
        out.extend(page.entries);
        cursor = page.next_cursor;
        if cursor.is_none() {
            return out;
        }
    }
}

/// What the store holds, read through the ports: watermark, runs, outstanding list, every
/// account's sales-order records and lease, fingerprints, configuration and log.
async fn store_state(stack: &Stack) -> Value {
    let s = &*stack.store;
    let accounts: Vec<String> = e2e::list(&fixture("demo.json"), "/salesforce/Account")
        .iter()
        .filter_map(|a| a["Id"].as_str().map(str::to_owned))
        .collect();
    let contacts: Vec<String> = e2e::list(&fixture("demo.json"), "/salesforce/Contact")
        .iter()
        .filter_map(|c| c["Id"].as_str().map(|id| format!("fp#user#{id}")))
        .collect();
    let mut per_account = BTreeMap::new();
    for a in &accounts {
        per_account.insert(
            a.clone(),
            json!({
                "orders": s.sales_orders_of_account(a).await.unwrap(),
                "lease": s.lease(a).await.unwrap(),
                "outstanding": s.outstanding_of_account(a).await.unwrap(),
            }),
        );
    }
    let fp_keys: Vec<String> = accounts
        .iter()
        .map(|a| format!("fp#account#{a}"))
        .chain(contacts)
        .collect();
    json!({
        "watermark": s.watermark().await.unwrap(),
        "runs": s.list_runs(1000).await.unwrap(),
        "outstanding": s.list_outstanding(None, 1000, None).await.unwrap().items,
        "accounts": per_account,
        "fingerprints": s.fingerprints(&fp_keys).await.unwrap(),
        "config": s.get_config(engine::CONFIG_KEY).await.unwrap(),
        "log": all_entries(stack).await,
    })
}

/// The store's files (the SQLite database and its write-ahead log), byte for byte.
fn store_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // the shared-memory index is rewritten by readers too
        .filter(|n| !n.ends_with("-shm"))
        .map(|n| (n.clone(), std::fs::read(dir.join(&n)).unwrap()))
        .collect()
}

/// Everything a run could change, and the simulators' call counters.
struct World {
    salesforce: Value,
    flexnet: Value,
    store: Value,
    files: BTreeMap<String, Vec<u8>>,
    sf_calls: BTreeMap<String, u64>,
    fno_calls: BTreeMap<String, u64>,
    sf_written: u64,
}

async fn world(stack: &Stack, dir: &Path) -> World {
    World {
        salesforce: stack.salesforce.state(),
        flexnet: stack.flexnet.state(),
        store: store_state(stack).await,
        files: store_files(dir),
        sf_calls: stack.salesforce.calls(),
        fno_calls: stack.flexnet.calls(),
        sf_written: stack.salesforce.records_written(),
    }
}

/// Calls made between two counter readings, by kind.
fn new_calls(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<String> {
    after
        .iter()
        .filter(|(k, n)| before.get(*k).copied().unwrap_or(0) < **n)
        .map(|(k, _)| k.clone())
        .collect()
}

/// The JSON pointers where `a` and `b` differ (at most 10).
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    if out.len() >= 10 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (p, q) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differences(p, q, format!("{at}/{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(format!("{at}: {a} → {b}")),
    }
}

/// `a` and `b` are equal but for the simulator's clock (`/now`).
fn assert_same(what: &str, a: &Value, b: &Value) {
    let mut d = Vec::new();
    differences(a, b, String::new(), &mut d);
    d.retain(|p| !p.starts_with("/now:"));
    assert!(d.is_empty(), "{what} changed: {d:#?}");
}

/// Nothing changed between `before` and `after`, and only reads were sent.
fn assert_untouched(before: &World, after: &World) {
    assert_same("the org", &before.salesforce, &after.salesforce);
    assert_same("the FNO tenant", &before.flexnet, &after.flexnet);
    assert_same("the store", &before.store, &after.store);
    assert!(
        before.files == after.files,
        "the store's files changed: {:?}",
        before.files.keys().collect::<Vec<_>>()
    );
    assert_eq!(before.sf_written, after.sf_written, "records written");
    for kind in new_calls(&before.sf_calls, &after.sf_calls) {
        assert!(
            !matches!(kind.as_str(), "composite" | "sobject_patch"),
            "Salesforce saw a write: {kind}"
        );
    }
    let fno_ops = new_calls(&before.fno_calls, &after.fno_calls);
    assert!(!fno_ops.is_empty(), "the dry run read nothing from FNO");
    for op in fno_ops {
        assert!(
            op.starts_with("get"),
            "FNO saw an operation that changes it: {op}"
        );
    }
}

/// The activation id FNO gave each order line (Salesforce line item Id → activation id).
fn activation_ids(stack: &Stack) -> BTreeMap<String, String> {
    line_items(&tenant(stack))
        .into_iter()
        .filter_map(|(_, li)| {
            Some((
                li["orderLineNumber"].as_str()?.to_owned(),
                li["activationId"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// `v` with each placeholder `DRYRUN-<line item Id>` replaced by the activation id FNO gave
/// that line item.
fn resolve(v: &Value, ids: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => match s.strip_prefix(PLACEHOLDER) {
            Some(line) => json!(ids
                .get(line)
                .unwrap_or_else(|| panic!("no FNO line {line}"))),
            None => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, ids)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), resolve(x, ids)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// Each distinct value once, in a stable order (FNO is sent each distinct object once; the
/// log has an entry per account that names it).
fn sorted(v: Vec<Value>) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(Value::to_string).collect();
    v.sort();
    v.dedup();
    v
}

/// The requests of the real run's Completed entries named `name` (the models it sent).
fn sent(entries: &[LogEntry], name: &str) -> Vec<String> {
    sorted(
        entries
            .iter()
            .filter(|e| e.name == name && e.status == LogStatus::Completed)
            .filter_map(|e| e.request.clone())
            .filter(|r| name != names::RENEWAL_LINE_ITEM || r.get("line_items").is_some())
            .collect(),
    )
}

/// The dry run foretold the real run: the same FNO requests, write-backs, and entries.
fn assert_foretold(report: &DryRunReport, real: &[LogEntry], stack: &Stack) {
    let ids = activation_ids(stack);
    let f = &report.fno_requests;
    let dry = |v: &[Value]| sorted(v.iter().map(|x| resolve(x, &ids)).collect());
    assert_eq!(dry(&f.accounts), sent(real, names::ACCOUNT), "accounts");
    assert_eq!(dry(&f.users), sent(real, names::CONTACT), "users");
    assert_eq!(
        dry(&f.entitlements),
        sent(real, names::ENTITLEMENT),
        "entitlements"
    );
    assert_eq!(
        dry(&f.line_items),
        sent(real, names::RENEWAL_LINE_ITEM),
        "renewals"
    );
    assert_eq!(
        dry(&f.entitlement_states),
        sent(real, names::ENTITLEMENT_STATE),
        "states"
    );
    assert_eq!(
        dry(&report.salesforce_writebacks),
        sent(real, names::WRITEBACK),
        "write-backs"
    );
    // every entry, by name, status and record; every failure with its reason
    let shape = |e: (&str, LogStatus, Option<&str>)| format!("{e:?}");
    let mut d: Vec<String> = report
        .log_entries
        .iter()
        .map(|e| shape((&e.name, e.status, e.record_id.as_deref())))
        .collect();
    let mut r: Vec<String> = real
        .iter()
        .map(|e| shape((&e.name, e.status, e.record_id.as_deref())))
        .collect();
    d.sort();
    r.sort();
    assert_eq!(d, r, "log entries");
    let failures = |v: Vec<(String, Option<String>, Option<String>)>| {
        sorted(v.into_iter().map(|x| json!(x)).collect())
    };
    assert_eq!(
        failures(
            report
                .failures
                .iter()
                .map(|f| (f.name.clone(), f.record_id.clone(), f.reason.clone()))
                .collect()
        ),
        failures(
            real.iter()
                .filter(|e| e.status != LogStatus::Completed)
                .map(|e| (e.name.clone(), e.record_id.clone(), e.reason.clone()))
                .collect()
        ),
        "failures"
    );
}

/// A user's edits after the first sync: a quantity changed, a required field cleared, a line
/// item added.
fn edit_the_org(stack: &mut Stack) {
    let t = e2e::advance(stack, Duration::hours(1));
    e2e::edit_record(stack, "OpportunityLineItem", CHANGED_LINE, t, |r| {
        r["Quantity"] = json!(7.0)
    });
    e2e::edit_record(stack, "OpportunityLineItem", BROKEN_LINE, t, |r| {
        r["FNO_Start_Date__c"] = Value::Null
    });
    let mut added = stack
        .salesforce
        .record("OpportunityLineItem", CHANGED_LINE)
        .unwrap();
    added["Id"] = json!("00kDm0000000901IAA");
    added["OpportunityId"] = json!(GROWN_OPP);
    added["Quantity"] = json!(2.0);
    added["FNO_Activation_ID__c"] = Value::Null;
    added["FNO_Remaining_Quantity__c"] = Value::Null;
    added["SystemModstamp"] = json!(t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string());
    stack.salesforce.upsert_record("OpportunityLineItem", added);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_foretells_the_real_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut stack = start(dir.path()).await;

    // a fresh store: everything is new
    let before = world(&stack, dir.path()).await;
    let report = dry(&stack, RunKind::Scheduled, None).await;
    assert_untouched(&before, &world(&stack, dir.path()).await);
    assert!(report.dry_run && report.task_id.starts_with("dry-sched-"));
    assert!(report
        .log_entries
        .iter()
        .all(|e| e.log_number.starts_with("DRY-")));
    assert!(report
        .log_entries
        .iter()
        .all(|e| e.created_by.as_deref() == Some("tester")));
    assert!(!report.fno_requests.entitlements.is_empty());
    let real = stack.engine().unwrap().run_scheduled().await.unwrap();
    let entries = task_entries(&*stack.store, &real.run.task_id)
        .await
        .unwrap();
    // the dry run took no log number
    assert_eq!(entries[0].log_number, "TL-00001");
    assert_foretold(&report, &entries, &stack);

    // after the user's edits: an update, a rule failure, a new line in an entitlement
    edit_the_org(&mut stack);
    let before = world(&stack, dir.path()).await;
    let report = dry(&stack, RunKind::Scheduled, None).await;
    assert_untouched(&before, &world(&stack, dir.path()).await);
    let broken = report
        .failures
        .iter()
        .find(|f| f.record_id.as_deref() == Some(BROKEN_OPP))
        .expect("the broken order's failure is reported");
    assert!(
        broken
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("(R14)"),
        "{broken:?}"
    );
    assert!(
        report.salesforce_writebacks.iter().any(
            |w| w["id"] == CHANGED_LINE && w["fields"]["FNO_Remaining_Quantity__c"] == json!(7)
        ),
        "{:#?}",
        report.salesforce_writebacks
    );
    let real = stack.engine().unwrap().run_scheduled().await.unwrap();
    let entries = task_entries(&*stack.store, &real.run.task_id)
        .await
        .unwrap();
    assert_foretold(&report, &entries, &stack);
}

#[tokio::test]
async fn an_account_dry_run_is_push_only_and_waits_for_a_busy_account() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start(dir.path()).await;
    let before = world(&stack, dir.path()).await;
    let report = dry(&stack, RunKind::Account, Some(ACC)).await;
    assert_untouched(&before, &world(&stack, dir.path()).await);
    // R23: push only
    assert!(report.salesforce_writebacks.is_empty());
    assert_eq!(report.accounts.len(), 1);
    assert_eq!(report.fno_requests.accounts[0]["id"], ACC);

    // a real worker holds the account: the dry run says so and leaves the lease alone
    let now = stack.engine().unwrap().now();
    let lease = Lease {
        account_id: ACC.into(),
        owner: "worker#1".into(),
        task_id: "acct-real".into(),
        until: now + Duration::minutes(10),
    };
    assert!(stack
        .store
        .acquire_lease(&lease, now)
        .await
        .unwrap()
        .is_none());
    let engine = stack.engine().unwrap();
    let r = engine
        .dry_run()
        .run(
            RunKind::Account,
            None,
            Some(ACC),
            OutstandingPick::None,
            None,
        )
        .await;
    assert!(matches!(r, Err(EngineError::Busy { .. })), "{r:?}");
    assert_eq!(stack.store.lease(ACC).await.unwrap(), Some(lease));
}

/// R23: a malformed account id is refused before anything is planned or recorded, by the real
/// single-account sync and by its dry run alike (one check, where both plan).
#[tokio::test]
async fn a_malformed_account_id_is_refused_before_any_run_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start(dir.path()).await;
    let before = world(&stack, dir.path()).await;
    let bad = "001'; DELETE";
    let engine = stack.engine().unwrap();
    let real = engine.run_account(bad).await;
    let dry = engine
        .dry_run()
        .run(
            RunKind::Account,
            None,
            Some(bad),
            OutstandingPick::None,
            None,
        )
        .await;
    for r in [real.map(|_| ()), dry.map(|_| ())] {
        match r {
            Err(EngineError::Stopped(m)) => {
                assert!(m.contains(bad) && m.contains("(R23)"), "{m}")
            }
            other => panic!("expected the R23 refusal, got {other:?}"),
        }
    }
    assert!(stack.store.list_runs(10).await.unwrap().is_empty());
    let after = world(&stack, dir.path()).await;
    assert_same("the store", &before.store, &after.store);
    assert!(before.files == after.files, "the store's files changed");
    assert_eq!(
        new_calls(&before.sf_calls, &after.sf_calls),
        Vec::<String>::new()
    );
    assert_eq!(
        new_calls(&before.fno_calls, &after.fno_calls),
        Vec::<String>::new()
    );
}
