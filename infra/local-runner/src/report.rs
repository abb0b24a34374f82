//! What a local run did: `summary.json` and the text the runner prints.

use engine::dryrun::DryRunFailure;
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
    /// The fewest Salesforce calls the run could have made ([`Floor`]), when known.
    pub salesforce_floor: Option<Floor>,
}

/// The objects whose rows a sync reads, in the floor's order.
pub const READ_OBJECTS: [&str; 5] = [
    "Account",
    "Contact",
    "Opportunity",
    "OpportunityLineItem",
    "Product2",
];

/// Rows per page of a Salesforce query, and records per composite write.
pub const QUERY_PAGE_ROWS: u64 = 2000;
pub const COMPOSITE_RECORDS: u64 = 200;

/// The Salesforce budget floor (DESIGN.md, issue 12): 1 token + one paged query per object
/// read (⌈rows / 2000⌉ calls each) + ⌈records written back / 200⌉ composite calls — and
/// never less than 2 (1 token + 1 query), what a run that finds nothing to do costs.
pub fn salesforce_floor(rows: &BTreeMap<String, u64>, records_written: u64) -> u64 {
    let queries: u64 = rows.values().map(|n| n.div_ceil(QUERY_PAGE_ROWS)).sum();
    (1 + queries + records_written.div_ceil(COMPOSITE_RECORDS)).max(2)
}

/// A run's Salesforce floor and what it was computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Floor {
    pub calls: u64,
    /// Rows the run had to read, by object ([`READ_OBJECTS`]).
    pub rows: BTreeMap<String, u64>,
    /// Records the run wrote back (the Salesforce simulator's count).
    pub records_written: u64,
}

impl Floor {
    pub fn new(rows: BTreeMap<String, u64>, records_written: u64) -> Floor {
        Floor {
            calls: salesforce_floor(&rows, records_written),
            rows,
            records_written,
        }
    }

    /// `calls` as a multiple of the floor.
    pub fn ratio(&self, calls: u64) -> f64 {
        calls as f64 / self.calls.max(1) as f64
    }

    fn json(&self, calls: u64) -> Value {
        json!({
            "calls": self.calls,
            "ratio": (self.ratio(calls) * 100.0).round() / 100.0,
            "rowsRead": self.rows,
            "recordsWritten": self.records_written,
        })
    }
}

/// One row of the org as the floor sees it: when it last changed and whose it is.
#[derive(Debug, Clone)]
struct RowStamp {
    stamp: Option<chrono::DateTime<chrono::Utc>>,
    account: Option<String>,
}

/// The rows of the objects a sync reads, taken from the simulated org before a run (its
/// write-backs move SystemModstamp), to count what the run had to read.
#[derive(Debug, Clone, Default)]
pub struct OrgRows {
    rows: BTreeMap<&'static str, Vec<RowStamp>>,
}

/// Two Salesforce ids name the same record (15- and 18-character forms).
fn same_id(a: &str, b: &str) -> bool {
    a.len() >= 15 && b.len() >= 15 && a[..15] == b[..15]
}

impl OrgRows {
    pub fn snapshot(sim: &sim_salesforce::RunningSim) -> OrgRows {
        let live = |sobject: &str| -> Vec<Value> {
            sim.records(sobject)
                .into_iter()
                .filter(|r| r["IsDeleted"] != Value::Bool(true))
                .collect()
        };
        let str_of = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
        let stamp = |r: &Value| {
            r.get("SystemModstamp")
                .and_then(Value::as_str)
                .and_then(mapping::sf::SfDateTime::parse)
                .map(|t| t.0)
        };
        let opps = live("Opportunity");
        let opp_account: BTreeMap<String, Option<String>> = opps
            .iter()
            .filter_map(|o| Some((str_of(o, "Id")?, str_of(o, "AccountId"))))
            .collect();
        let mut rows = BTreeMap::new();
        for sobject in READ_OBJECTS {
            let records = if sobject == "Opportunity" {
                opps.clone()
            } else {
                live(sobject)
            };
            let v = records
                .iter()
                .map(|r| RowStamp {
                    stamp: stamp(r),
                    account: match sobject {
                        "Account" => str_of(r, "Id"),
                        "Contact" | "Opportunity" => str_of(r, "AccountId"),
                        "OpportunityLineItem" => str_of(r, "OpportunityId")
                            .and_then(|o| opp_account.get(&o).cloned().flatten()),
                        _ => None,
                    },
                })
                .collect();
            rows.insert(sobject, v);
        }
        OrgRows { rows }
    }

    /// Rows a run had to read: the rows of Account, Contact, Opportunity and
    /// OpportunityLineItem that changed in `[from, to)` (all of them for an open end), of one
    /// account only when `account` is set, plus every Product2 row (products are read
    /// once) — or none at all when nothing changed (the run had nothing to do).
    pub fn rows_read(
        &self,
        from: Option<chrono::DateTime<chrono::Utc>>,
        to: Option<chrono::DateTime<chrono::Utc>>,
        account: Option<&str>,
    ) -> BTreeMap<String, u64> {
        let in_scope = |r: &RowStamp| {
            let in_window = match (r.stamp, from, to) {
                (None, _, _) => true,
                (Some(t), f, e) => f.is_none_or(|f| t >= f) && e.is_none_or(|e| t < e),
            };
            let ours = account.is_none_or(|a| r.account.as_deref().is_some_and(|b| same_id(a, b)));
            in_window && ours
        };
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for (sobject, rows) in &self.rows {
            let n = if *sobject == "Product2" {
                rows.len()
            } else {
                rows.iter().filter(|r| in_scope(r)).count()
            };
            out.insert((*sobject).to_owned(), n as u64);
        }
        if out.iter().all(|(k, n)| k.as_str() == "Product2" || *n == 0) {
            out.values_mut().for_each(|n| *n = 0);
        }
        out
    }
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
    if let Some(f) = &calls.salesforce_floor {
        api.insert("salesforceFloor".into(), json!(f.calls));
    }
    let mut v = json!({
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
    });
    if let Some(f) = &calls.salesforce_floor {
        v["salesforceFloor"] = f.json(calls.salesforce);
    }
    v
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
            failure_line(&mut s, &DryRunFailure::from(e));
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
    let notes: Vec<String> = calls
        .salesforce_floor
        .as_ref()
        .map(|f| format!("floor {}, {:.1}×", f.calls, f.ratio(calls.salesforce)))
        .into_iter()
        .chain(
            calls
                .salesforce_usage
                .map(|(u, m)| format!("org daily usage {u}/{m}")),
        )
        .collect();
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    let _ = writeln!(
        s,
        "API calls: Salesforce {}{notes}, FNO {}; {:.1} s",
        calls.salesforce,
        calls.flexnet,
        duration_ms as f64 / 1000.0
    );
    if let Some(f) = &calls.salesforce_floor {
        let _ = writeln!(s, "{}", floor_text(f));
    }
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

/// How the floor was reached, in one line.
pub fn floor_text(f: &Floor) -> String {
    let read: u64 = f.rows.values().sum();
    if read == 0 {
        return format!(
            "Salesforce floor {}: nothing changed in the window, so 1 token + 1 query",
            f.calls
        );
    }
    let queries: u64 = f.rows.values().map(|n| n.div_ceil(QUERY_PAGE_ROWS)).sum();
    let rows: Vec<String> = READ_OBJECTS
        .iter()
        .filter_map(|o| f.rows.get(*o).map(|n| format!("{o} {n}")))
        .collect();
    format!(
        "Salesforce floor {}: 1 token + {queries} query page(s) of ≤{QUERY_PAGE_ROWS} rows ({}) + {} composite call(s) for {} record(s) written back",
        f.calls,
        rows.join(", "),
        f.records_written.div_ceil(COMPOSITE_RECORDS),
        f.records_written
    )
}

/// What `run --dry-run` prints: per account what it would do, the requests by operation, the
/// failures it would log, and where the whole report is.
pub fn render_dry(r: &engine::dryrun::DryRunReport, file: &str) -> String {
    let mut s = String::new();
    let window = match (r.window_from, r.window_to) {
        (Some(f), Some(t)) => format!("[{f}, {t})"),
        (None, Some(t)) => format!("all history up to {t}"),
        _ => "-".into(),
    };
    let _ = writeln!(
        s,
        "DRY RUN — nothing sent to FNO, nothing written to Salesforce, the state or the log\nTask {} ({:?} sync), window {window}\n{} account(s) with work\n",
        r.task_id,
        r.kind,
        r.accounts.len()
    );
    for a in &r.accounts {
        let _ = writeln!(
            s,
            "{} ({}): would push {} order(s) ({} unchanged), write back {} record(s); {} completed, {} failed, {} error",
            a.account_name.as_deref().unwrap_or("(unnamed)"),
            a.account_id,
            a.orders_pushed,
            a.orders_unchanged,
            a.records_written_back,
            a.completed,
            a.failed,
            a.error
        );
    }
    let f = &r.fno_requests;
    let _ = writeln!(
        s,
        "\nFNO requests it would send: {} account(s), {} user(s), {} entitlement(s), {} renewal line-item request(s), {} entitlement state(s), {} line-item state(s)",
        f.accounts.len(),
        f.users.len(),
        f.entitlements.len(),
        f.line_items.len(),
        f.entitlement_states.len(),
        f.line_item_states.len()
    );
    let _ = writeln!(
        s,
        "Salesforce write-backs it would make: {} record(s)",
        r.salesforce_writebacks.len()
    );
    let _ = writeln!(
        s,
        "Log entries it would write: {} ({} failed or error)",
        r.log_entries.len(),
        r.failures.len()
    );
    for e in &r.failures {
        failure_line(&mut s, e);
    }
    let _ = writeln!(s, "Report: {file}");
    s
}

/// One Failed or Error entry (of the log — in the dry run's short form — or of a dry run's
/// report) as a line of the printed summary: status, log number, name, record, reason.
fn failure_line(s: &mut String, e: &DryRunFailure) {
    let status = if e.status == LogStatus::Failed {
        "FAIL"
    } else {
        "ERROR"
    };
    let record = e.record_id.as_deref().unwrap_or("-");
    let why = e.reason.as_deref().unwrap_or(&e.message);
    let _ = writeln!(
        s,
        "    {status:<5} {} {} {record}: {why}",
        e.log_number, e.name
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: [u64; 5]) -> BTreeMap<String, u64> {
        READ_OBJECTS
            .iter()
            .zip(n)
            .map(|(o, n)| ((*o).to_owned(), n))
            .collect()
    }

    #[test]
    fn the_floor_pages_queries_by_2000_and_writes_by_200() {
        // issue 12's 400 accounts: 400 + 1,200 + 800 + 2,400 + 20 rows, 3,600 written back
        assert_eq!(
            salesforce_floor(&rows([400, 1200, 800, 2400, 20]), 3600),
            25
        );
        // page and batch edges
        assert_eq!(salesforce_floor(&rows([2000, 0, 0, 0, 0]), 200), 3);
        assert_eq!(salesforce_floor(&rows([2001, 0, 0, 0, 0]), 201), 5);
        assert_eq!(salesforce_floor(&rows([1, 1, 1, 1, 1]), 1), 7);
        // 4,000 accounts: 4,000 + 12,000 + 8,000 + 24,000 + 20 rows, 36,000 written back
        assert_eq!(
            salesforce_floor(&rows([4000, 12000, 8000, 24000, 20]), 36000),
            1 + 2 + 6 + 4 + 12 + 1 + 180
        );
    }

    #[test]
    fn a_run_with_nothing_to_do_costs_a_token_and_a_query() {
        assert_eq!(salesforce_floor(&rows([0; 5]), 0), 2);
        assert_eq!(salesforce_floor(&BTreeMap::new(), 0), 2);
        let f = Floor::new(rows([0; 5]), 0);
        assert!(
            floor_text(&f).contains("nothing changed"),
            "{}",
            floor_text(&f)
        );
        assert_eq!(f.ratio(808), 404.0);
    }
}
