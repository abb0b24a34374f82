//! Metrics in CloudWatch Embedded Metric Format (EMF): one JSON object per line on standard
//! output, which CloudWatch Logs turns into metrics in the [`NAMESPACE`] namespace — no API
//! call, no extra permission. This is the only way flexbridge publishes metrics.
//!
//! Every figure comes from what the engine already returns (an account's outcome, the run
//! record, the clients' call counters and the org's last `Sforce-Limit-Info`) or from the
//! license ingest's report. [`Metric::ALL`] lists every metric with its unit and whether
//! template.yaml alarms on it; a test runs a sync, captures these lines and checks them
//! against the template's alarms and dashboard both ways.
//!
//! Dimensions are few: `Function` (the function's role, e.g. `account-sync`, not its deployed
//! name) and, for sync work, `RunKind` (`scheduled`, `immediate`, `account`). Each line is
//! published under both `[Function, RunKind]` and `[Function]`, so the alarms read one series
//! per function whatever the kind. The task id and account id ride along as properties
//! (searchable in Logs Insights, not dimensions).

use chrono::{DateTime, Utc};
use engine::ports::RunKind;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// The CloudWatch namespace of every flexbridge metric.
pub const NAMESPACE: &str = "flexbridge";

/// The `Function` dimension's values: the functions' roles (template.yaml's `Binary` names).
pub mod function {
    pub const SCHEDULED_SYNC: &str = "scheduled-sync";
    pub const IMMEDIATE_SYNC: &str = "immediate-sync";
    pub const ACCOUNT_SYNC: &str = "account-sync";
    pub const LICENSE_INFO: &str = "license-info";
}

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Percent,
    Seconds,
    Milliseconds,
    None,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Percent => "Percent",
            Unit::Seconds => "Seconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::None => "None",
        }
    }
}

/// Every metric flexbridge emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// A run was planned and its accounts queued (scheduled-sync, immediate-sync).
    RunsStarted,
    /// Accounts a run queued.
    AccountsQueued,
    /// A run finished: its last account was done (or it had none).
    RunsCompleted,
    /// A run could not queue its accounts (nothing was lost: they stay outstanding).
    RunsAborted,
    /// From a run's start to its last account done.
    RunDuration,
    /// One account's sync, from taking its message to its outcome.
    AccountSyncDuration,
    OrdersPushed,
    OrdersUnchanged,
    EntriesCompleted,
    /// Failed transaction-log entries (a rule broke; the order stays outstanding). Alarmed.
    EntriesFailed,
    EntriesError,
    /// Salesforce records written back (R20).
    RecordsWrittenBack,
    /// Salesforce API calls made by one invocation.
    SalesforceCalls,
    /// FNO SOAP calls made by one invocation.
    FnoCalls,
    /// The org's daily API quota left, as Salesforce last reported it. Alarmed below the
    /// reserve.
    SalesforceQuotaRemaining,
    /// Orders (and accounts) on the outstanding list when the schedule fires.
    OutstandingOrders,
    /// Hours since the last batch fire time, read when the schedule fires. Alarmed.
    WatermarkAgeHours,
    /// License records captured by one ingest (R26–R32).
    LicensesCaptured,
    /// License objects an ingest could not read.
    LicenseFailedObjects,
}

impl Metric {
    pub const ALL: [Metric; 19] = [
        Metric::RunsStarted,
        Metric::AccountsQueued,
        Metric::RunsCompleted,
        Metric::RunsAborted,
        Metric::RunDuration,
        Metric::AccountSyncDuration,
        Metric::OrdersPushed,
        Metric::OrdersUnchanged,
        Metric::EntriesCompleted,
        Metric::EntriesFailed,
        Metric::EntriesError,
        Metric::RecordsWrittenBack,
        Metric::SalesforceCalls,
        Metric::FnoCalls,
        Metric::SalesforceQuotaRemaining,
        Metric::OutstandingOrders,
        Metric::WatermarkAgeHours,
        Metric::LicensesCaptured,
        Metric::LicenseFailedObjects,
    ];

    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Metric::RunsStarted => "RunsStarted",
            Metric::AccountsQueued => "AccountsQueued",
            Metric::RunsCompleted => "RunsCompleted",
            Metric::RunsAborted => "RunsAborted",
            Metric::RunDuration => "RunDuration",
            Metric::AccountSyncDuration => "AccountSyncDuration",
            Metric::OrdersPushed => "OrdersPushed",
            Metric::OrdersUnchanged => "OrdersUnchanged",
            Metric::EntriesCompleted => "EntriesCompleted",
            Metric::EntriesFailed => "EntriesFailed",
            Metric::EntriesError => "EntriesError",
            Metric::RecordsWrittenBack => "RecordsWrittenBack",
            Metric::SalesforceCalls => "SalesforceCalls",
            Metric::FnoCalls => "FnoCalls",
            Metric::SalesforceQuotaRemaining => "SalesforceQuotaRemaining",
            Metric::OutstandingOrders => "OutstandingOrders",
            Metric::WatermarkAgeHours => "WatermarkAgeHours",
            Metric::LicensesCaptured => "LicensesCaptured",
            Metric::LicenseFailedObjects => "LicenseFailedObjects",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::RunDuration => Unit::Seconds,
            Metric::AccountSyncDuration => Unit::Milliseconds,
            Metric::SalesforceQuotaRemaining => Unit::Percent,
            Metric::WatermarkAgeHours => Unit::None,
            _ => Unit::Count,
        }
    }

    /// Whether template.yaml alarms on this metric (checked by a test, both ways).
    pub fn alarmed(self) -> bool {
        matches!(
            self,
            Metric::EntriesFailed | Metric::SalesforceQuotaRemaining | Metric::WatermarkAgeHours
        )
    }
}

/// The `RunKind` dimension's value.
pub fn kind_name(kind: RunKind) -> &'static str {
    match kind {
        RunKind::Scheduled => "scheduled",
        RunKind::Immediate => "immediate",
        RunKind::Account => "account",
        RunKind::Licenses => "licenses",
    }
}

/// One EMF line being put together: dimensions, values, properties.
#[derive(Debug, Clone)]
pub struct Emf {
    function: &'static str,
    kind: Option<RunKind>,
    values: Vec<(Metric, f64)>,
    properties: Map<String, Value>,
}

impl Emf {
    pub fn new(function: &'static str) -> Self {
        Emf {
            function,
            kind: None,
            values: Vec::new(),
            properties: Map::new(),
        }
    }

    /// The `Function` dimension's value.
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// Adds the `RunKind` dimension.
    pub fn kind(mut self, kind: RunKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// A property: searchable in the log line, not a dimension (task id, account id).
    pub fn prop(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(key.to_owned(), value.into());
        self
    }

    pub fn put(mut self, metric: Metric, value: f64) -> Self {
        self.values.push((metric, value));
        self
    }

    /// Adds `value` when there is one.
    pub fn put_some(self, metric: Metric, value: Option<f64>) -> Self {
        match value {
            Some(v) => self.put(metric, v),
            None => self,
        }
    }

    /// The line, stamped `at`.
    pub fn line(&self, at: DateTime<Utc>) -> String {
        let mut dims = vec!["Function"];
        if self.kind.is_some() {
            dims.push("RunKind");
        }
        let sets: Vec<Vec<&str>> = if dims.len() > 1 {
            vec![dims.clone(), vec!["Function"]]
        } else {
            vec![dims]
        };
        let defs: Vec<Value> = self
            .values
            .iter()
            .map(|(m, _)| json!({"Name": m.name(), "Unit": m.unit().as_str()}))
            .collect();
        let mut doc = self.properties.clone();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": at.timestamp_millis(),
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": sets, "Metrics": defs}],
            }),
        );
        doc.insert("Function".into(), json!(self.function));
        if let Some(k) = self.kind {
            doc.insert("RunKind".into(), json!(kind_name(k)));
        }
        for (m, v) in &self.values {
            doc.insert(m.name().into(), json!(v));
        }
        Value::Object(doc).to_string()
    }

    /// Writes the line to the process's sink; nothing without values.
    pub fn emit(self, at: DateTime<Utc>) {
        if self.values.is_empty() {
            return;
        }
        write_line(&self.line(at));
    }
}

/// Where lines go: standard output in the functions ([`crate::logging::init`] installs
/// [`stdout`]), a buffer in tests ([`crate::testing`]). Without one (the local runner, tests
/// that do not look) lines are built and dropped.
pub type Sink = Box<dyn Fn(&str) + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends every later line to `sink`; the first call wins (one per process). Returns whether
/// this call installed it.
pub fn set_sink(sink: Sink) -> bool {
    SINK.set(sink).is_ok()
}

/// The functions' sink: one line on standard output, where Lambda's log agent picks it up.
pub fn stdout() -> Sink {
    Box::new(|line: &str| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, "{line}") {
            drop(out);
            tracing::warn!(error = %e, "metrics line not written");
        }
    })
}

fn write_line(line: &str) {
    if let Some(sink) = SINK.get() {
        sink(line);
    }
}

/// An engine's Salesforce and FNO call counters at one moment: what an invocation made is the
/// difference ([`Calls::since`]). The counters live as long as the warm container's engine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Calls {
    salesforce: u64,
    flexnet: u64,
}

impl Calls {
    pub fn of(engine: &engine::Engine) -> Self {
        Calls {
            salesforce: engine.salesforce_calls(),
            flexnet: engine.flexnet_calls(),
        }
    }

    /// Adds the calls `engine` made since `self`, and the org's quota left as last reported.
    pub fn since(self, engine: &engine::Engine, emf: Emf) -> Emf {
        let now = Calls::of(engine);
        emf.put(
            Metric::SalesforceCalls,
            now.salesforce.saturating_sub(self.salesforce) as f64,
        )
        .put(
            Metric::FnoCalls,
            now.flexnet.saturating_sub(self.flexnet) as f64,
        )
        .put_some(
            Metric::SalesforceQuotaRemaining,
            quota_remaining(engine.salesforce_usage()),
        )
    }
}

/// What one account's sync did, from its outcome.
pub fn account(
    function: &'static str,
    kind: RunKind,
    task_id: &str,
    outcome: &engine::AccountOutcome,
    took: std::time::Duration,
) -> Emf {
    use engine::ports::LogStatus;
    let n = |s: LogStatus| outcome.count(s) as f64;
    Emf::new(function)
        .kind(kind)
        .prop("TaskId", task_id)
        .prop("AccountId", outcome.account_id.as_str())
        .put(Metric::OrdersPushed, f64::from(outcome.pushed_orders))
        .put(Metric::OrdersUnchanged, f64::from(outcome.unchanged_orders))
        .put(Metric::EntriesCompleted, n(LogStatus::Completed))
        .put(Metric::EntriesFailed, n(LogStatus::Failed))
        .put(Metric::EntriesError, n(LogStatus::Error))
        .put(Metric::RecordsWrittenBack, f64::from(outcome.written_back))
        .put(Metric::AccountSyncDuration, took.as_secs_f64() * 1000.0)
}

/// A run that has just finished: completed or aborted, and how long it took.
pub fn run_finished(function: &'static str, run: &engine::ports::RunRecord) -> Emf {
    use engine::ports::RunStatus;
    let emf = Emf::new(function)
        .kind(run.kind)
        .prop("TaskId", run.task_id.as_str());
    let emf = match run.status {
        RunStatus::Completed => emf.put(Metric::RunsCompleted, 1.0),
        RunStatus::Aborted => emf.put(Metric::RunsAborted, 1.0),
        RunStatus::Planned | RunStatus::Running => return emf,
    };
    let took = run
        .finished
        .map(|f| (f - run.started).num_milliseconds().max(0) as f64 / 1000.0);
    emf.put_some(Metric::RunDuration, took)
}

/// The org's daily API quota left (%), from `(used, max)`.
pub fn quota_remaining(usage: Option<(u64, u64)>) -> Option<f64> {
    let (used, max) = usage.filter(|(_, max)| *max > 0)?;
    Some(max.saturating_sub(used) as f64 * 100.0 / max as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_emf_with_both_dimension_sets() {
        let at: DateTime<Utc> = "2026-11-20T02:00:00Z".parse().unwrap();
        let line = Emf::new(function::ACCOUNT_SYNC)
            .kind(RunKind::Scheduled)
            .prop("TaskId", "sched-1")
            .put(Metric::EntriesFailed, 2.0)
            .put(Metric::AccountSyncDuration, 35.0)
            .line(at);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(v["_aws"]["Timestamp"], at.timestamp_millis());
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "flexbridge");
        assert_eq!(
            cw["Dimensions"],
            json!([["Function", "RunKind"], ["Function"]])
        );
        assert_eq!(
            cw["Metrics"],
            json!([{"Name": "EntriesFailed", "Unit": "Count"},
                   {"Name": "AccountSyncDuration", "Unit": "Milliseconds"}])
        );
        assert_eq!(v["Function"], "account-sync");
        assert_eq!(v["RunKind"], "scheduled");
        assert_eq!(v["EntriesFailed"], 2.0);
        assert_eq!(v["TaskId"], "sched-1");
        let plain = Emf::new(function::LICENSE_INFO)
            .put(Metric::LicensesCaptured, 7.0)
            .line(at);
        let v: Value = serde_json::from_str(&plain).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
    }

    #[test]
    fn names_are_unique_and_the_quota_is_a_share_left() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
        assert_eq!(quota_remaining(Some((250, 1000))), Some(75.0));
        assert_eq!(quota_remaining(Some((1200, 1000))), Some(0.0));
        assert_eq!(quota_remaining(Some((0, 0))), None);
        assert_eq!(quota_remaining(None), None);
    }
}
