//! What a local run did: `summary.json` and the text the runner prints.

use engine::ports::{LogEntry, LogQuery, LogStatus, RunRecord, TransactionLog};
use engine::{AccountOutcome, RunReport};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// API calls and usage observed during the run.
#[derive(Debug, Clone, Default)]
pub struct Calls {
    pub salesforce: u64,
    pub flexnet: u64,
    /// The org's daily usage as Salesforce last reported it (`used`, `max`).
    pub salesforce_usage: Option<(u64, u64)>,
    pub salesforce_by_endpoint: BTreeMap<String, u64>,
    pub flexnet_by_operation: BTreeMap<String, u64>,
}

fn status_name(s: LogStatus) -> &'static str {
    match s {
        LogStatus::Completed => "Completed",
        LogStatus::Failed => "Failed",
        LogStatus::Error => "Error",
    }
}

/// Every log entry of one task, following the log's pages.
pub async fn task_entries(
    log: &dyn TransactionLog,
    task_id: &str,
) -> Result<Vec<LogEntry>, engine::ports::StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = log
            .query(&LogQuery {
                task_id: Some(task_id.to_owned()),
                limit: Some(100),
                cursor,
                ..Default::default()
            })
            .await?;
        out.extend(page.entries);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

fn account_json(o: &AccountOutcome) -> Value {
    let problems: Vec<Value> = o
        .entries
        .iter()
        .filter(|e| e.status != LogStatus::Completed)
        .map(|e| {
            json!({
                "logNumber": e.log_number,
                "name": e.name,
                "status": status_name(e.status),
                "recordId": e.record_id,
                "reason": e.reason.as_deref().unwrap_or(&e.message),
            })
        })
        .collect();
    let mut by_name: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for e in &o.entries {
        *by_name
            .entry(e.name.as_str())
            .or_default()
            .entry(status_name(e.status))
            .or_insert(0) += 1;
    }
    json!({
        "accountId": o.account_id,
        "name": o.account_name,
        "completed": o.count(LogStatus::Completed),
        "failed": o.count(LogStatus::Failed),
        "error": o.count(LogStatus::Error),
        "ordersPushed": o.pushed_orders,
        "ordersUnchanged": o.unchanged_orders,
        "recordsWrittenBack": o.written_back,
        "transactions": by_name,
        "problems": problems,
        "skipped": o.skipped.iter().map(|s| json!({
            "recordId": s.record_id,
            "rule": s.rule.to_string(),
            "reason": s.reason,
        })).collect::<Vec<_>>(),
    })
}

fn run_json(run: &RunRecord) -> Value {
    json!({
        "taskId": run.task_id,
        "kind": run.kind,
        "status": run.status,
        "windowFrom": run.window_from,
        "windowTo": run.window_to,
        "started": run.started,
        "finished": run.finished,
    })
}

/// `summary.json`: counts by status and by transaction, per account, API calls per system.
pub fn summary(report: &RunReport, calls: &Calls, duration_ms: u128) -> Value {
    let mut totals: BTreeMap<&str, u64> = [("Completed", 0), ("Failed", 0), ("Error", 0)]
        .into_iter()
        .collect();
    let mut by_name: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    for o in &report.accounts {
        for e in &o.entries {
            *totals.entry(status_name(e.status)).or_insert(0) += 1;
            *by_name
                .entry(e.name.clone())
                .or_default()
                .entry(status_name(e.status))
                .or_insert(0) += 1;
        }
    }
    let sum = |f: fn(&AccountOutcome) -> u64| report.accounts.iter().map(f).sum::<u64>();
    let mut api = Map::new();
    api.insert("salesforce".into(), json!(calls.salesforce));
    api.insert("flexnet".into(), json!(calls.flexnet));
    json!({
        "run": run_json(&report.run),
        "accounts": {
            "planned": report.run.accounts_planned,
            "synced": report.accounts.len(),
            "withFailures": report.accounts.iter().filter(|o| o.count(LogStatus::Failed) + o.count(LogStatus::Error) > 0).count(),
        },
        "entries": totals,
        "transactions": by_name,
        "ordersPushed": sum(|o| u64::from(o.pushed_orders)),
        "ordersUnchanged": sum(|o| u64::from(o.unchanged_orders)),
        "recordsWrittenBack": sum(|o| u64::from(o.written_back)),
        "skipped": sum(|o| o.skipped.len() as u64),
        "apiCalls": api,
        "salesforceApiUsage": calls.salesforce_usage.map(|(used, max)| json!({"used": used, "max": max})),
        "simulatorCalls": {
            "salesforce": calls.salesforce_by_endpoint,
            "flexnet": calls.flexnet_by_operation,
        },
        "durationMs": duration_ms as u64,
        "perAccount": report.accounts.iter().map(account_json).collect::<Vec<_>>(),
        "outstanding": outstanding_of(report).iter().map(|o| json!({
            "recordId": o.record_id, "accountId": o.account_id, "scope": o.scope,
            "reason": o.reason, "attempts": o.attempts, "nextAttempt": o.next_attempt,
        })).collect::<Vec<_>>(),
    })
}

/// The run's accounts' items left on the outstanding list (retried by later scheduled runs).
fn outstanding_of(report: &RunReport) -> Vec<&engine::ports::OutstandingItem> {
    report
        .accounts
        .iter()
        .flat_map(|o| &o.outstanding)
        .collect()
}

fn window_text(run: &RunRecord) -> String {
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = run.window_to.map(fmt).unwrap_or_else(|| "now".into());
    match run.window_from {
        Some(f) => format!("{} → {to}", fmt(f)),
        None => format!("all history → {to}"),
    }
}

/// The readable summary: per account what was created/updated/failed and why, totals, calls.
pub fn render(
    report: &RunReport,
    calls: &Calls,
    duration_ms: u128,
    outputs: Option<&str>,
) -> String {
    let mut s = String::new();
    let run = &report.run;
    let _ = writeln!(
        s,
        "Task {} ({:?} sync), window {}",
        run.task_id,
        run.kind,
        window_text(run)
    );
    let _ = writeln!(s, "{} account(s) with work\n", report.accounts.len());
    for o in &report.accounts {
        let name = o.account_name.as_deref().unwrap_or("(unnamed)");
        let mut created: BTreeMap<&str, usize> = BTreeMap::new();
        for e in o
            .entries
            .iter()
            .filter(|e| e.status == LogStatus::Completed)
        {
            *created.entry(e.name.as_str()).or_insert(0) += 1;
        }
        let done: Vec<String> = created.iter().map(|(n, c)| format!("{c} {n}")).collect();
        let _ = writeln!(
            s,
            "{name} ({}): {} completed, {} failed, {} error{}",
            o.account_id,
            o.count(LogStatus::Completed),
            o.count(LogStatus::Failed),
            o.count(LogStatus::Error),
            if o.unchanged_orders > 0 {
                format!(", {} order(s) unchanged", o.unchanged_orders)
            } else {
                String::new()
            }
        );
        if !done.is_empty() {
            let _ = writeln!(s, "    ok    {}", done.join(", "));
        }
        for e in o
            .entries
            .iter()
            .filter(|e| e.status != LogStatus::Completed)
        {
            let _ = writeln!(
                s,
                "    {:<5} {} {} {}: {}",
                if e.status == LogStatus::Failed {
                    "FAIL"
                } else {
                    "ERROR"
                },
                e.log_number,
                e.name,
                e.record_id.as_deref().unwrap_or("-"),
                e.reason.as_deref().unwrap_or(&e.message)
            );
        }
        for sk in &o.skipped {
            let _ = writeln!(s, "    skip  {}: {} ({})", sk.record_id, sk.reason, sk.rule);
        }
    }
    let v = summary(report, calls, duration_ms);
    let e = &v["entries"];
    let _ = writeln!(
        s,
        "\nTotals: {} completed, {} failed, {} error — {} order(s) pushed, {} unchanged, {} Salesforce record(s) written back",
        e["Completed"], e["Failed"], e["Error"], v["ordersPushed"], v["ordersUnchanged"], v["recordsWrittenBack"]
    );
    let usage = calls
        .salesforce_usage
        .map(|(u, m)| format!(" (org daily usage {u}/{m})"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "API calls: Salesforce {}{usage}, FNO {}; {:.1} s",
        calls.salesforce,
        calls.flexnet,
        duration_ms as f64 / 1000.0
    );
    let owed = outstanding_of(report);
    if !owed.is_empty() {
        let _ = writeln!(
            s,
            "Outstanding: {} item(s), retried by the next scheduled runs as their causes are fixed (GET /outstanding):",
            owed.len()
        );
        for o in owed.iter().take(10) {
            let _ = writeln!(
                s,
                "    {} (account {}), attempt {}, next {}: {}",
                o.record_id,
                o.account_id,
                o.attempts,
                o.next_attempt
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                o.reason
            );
        }
        if owed.len() > 10 {
            let _ = writeln!(s, "    … and {} more in summary.json", owed.len() - 10);
        }
    }
    if let Some(out) = outputs {
        let _ = writeln!(s, "Outputs: {out}");
    }
    s
}
