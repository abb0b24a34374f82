//! Building transaction-log entries (R24) and writing them through the [`TransactionLog`] port.

use crate::ports::{
    LogEntry, LogPage, LogQuery, LogStatus, StateStore, StoreError, TransactionLog,
};
use crate::redact::Redactor;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Formats a log number: `TL-00001` (at least five digits).
pub fn format_log_number(n: u64) -> String {
    format!("TL-{n:05}")
}

/// The entry names of R24.
pub mod names {
    pub const ACCOUNT: &str = "Account Creation/Update";
    pub const CONTACT: &str = "Contact Creation/Update";
    pub const ENTITLEMENT: &str = "Entitlement Creation/Update";
    pub const ENTITLEMENT_STATE: &str = "Entitlement State Update";
    pub const LINE_ITEM: &str = "Line Item Creation/Update";
    pub const RENEWAL_LINE_ITEM: &str = "RenewalLineItem Creation";
    pub const WRITEBACK: &str = "Salesforce Write-back";
    /// An account that could not be synced at all (e.g. Salesforce could not be read).
    pub const ACCOUNT_SYNC: &str = "Account Synchronisation";
    /// A synced order that left the sync stages, was deleted or lost a line item.
    pub const WITHDRAWN: &str = "Sales Order Withdrawn";
}

/// An entry before it has its log number.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub name: &'static str,
    pub status: LogStatus,
    pub record_id: Option<String>,
    pub message: String,
    pub reason: Option<String>,
    pub component: Option<String>,
    pub request: Option<Value>,
    pub response: Option<Value>,
}

impl Draft {
    pub fn new(
        name: &'static str,
        status: LogStatus,
        record_id: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Draft {
            name,
            status,
            record_id: record_id.map(str::to_owned),
            message: message.into(),
            reason: None,
            component: None,
            request: None,
            response: None,
        }
    }
    pub fn completed(name: &'static str, record_id: &str, message: impl Into<String>) -> Self {
        Self::new(name, LogStatus::Completed, Some(record_id), message)
    }
    pub fn failed(
        name: &'static str,
        record_id: &str,
        message: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        let mut d = Self::new(name, LogStatus::Failed, Some(record_id), message);
        d.reason = Some(reason.into());
        d
    }
    pub fn reason(mut self, r: impl Into<String>) -> Self {
        self.reason = Some(r.into());
        self
    }
    pub fn component(mut self, c: impl Into<String>) -> Self {
        self.component = Some(c.into());
        self
    }
    pub fn request(mut self, v: Option<Value>) -> Self {
        self.request = v;
        self
    }
    pub fn response(mut self, v: Option<Value>) -> Self {
        self.response = v;
        self
    }
}

/// Numbers and appends entries for one account of one run, keeping a copy for the outcome.
pub struct LogWriter<'a> {
    pub(crate) log: &'a dyn TransactionLog,
    pub(crate) redactor: &'a Redactor,
    pub(crate) task_id: &'a str,
    pub(crate) account_id: Option<&'a str>,
    pub(crate) written: Vec<LogEntry>,
}

impl<'a> LogWriter<'a> {
    pub fn new(
        log: &'a dyn TransactionLog,
        redactor: &'a Redactor,
        task_id: &'a str,
        account_id: Option<&'a str>,
    ) -> Self {
        LogWriter {
            log,
            redactor,
            task_id,
            account_id,
            written: Vec::new(),
        }
    }

    /// Allocates log numbers and appends `drafts` (payloads and texts scrubbed of secrets).
    pub async fn write(
        &mut self,
        drafts: Vec<Draft>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if drafts.is_empty() {
            return Ok(());
        }
        let first = self.log.allocate_log_numbers(drafts.len() as u32).await?;
        let entries: Vec<LogEntry> = drafts
            .into_iter()
            .enumerate()
            .map(|(i, d)| LogEntry {
                task_id: self.task_id.to_owned(),
                log_number: self.log.format_number(first + i as u64),
                created: now,
                name: d.name.to_owned(),
                status: d.status,
                record_id: d.record_id,
                account_id: self.account_id.map(str::to_owned),
                message: self.redactor.scrub_str(&d.message),
                reason: d.reason.map(|r| self.redactor.scrub_str(&r)),
                component: d.component,
                request: d.request.map(|v| self.redactor.scrub(&v)),
                response: d.response.map(|v| self.redactor.scrub(&v)),
                created_by: None,
            })
            .collect();
        self.log.append(&entries).await?;
        self.written.extend(entries);
        Ok(())
    }

    pub fn into_entries(self) -> Vec<LogEntry> {
        self.written
    }
}

/// The full chain of an error, `outer: inner: innermost`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Most ids [`related_ids`] keeps of one entry.
pub const MAX_RELATED_IDS: usize = 32;

/// The Salesforce and FNO ids an entry is about, for `GET /logs?record=<id>`: its record and
/// account, its log number, and the string values of id-like keys of its request and response
/// (keys ending in `id` or `ids`, any case, and FNO's `orderLineNumber`): a line item's request carries
/// its Opportunity Id (`orderId`), FNO's answers carry activation and entitlement ids. Each
/// id is 3–80 letters, digits or `-_.:@` (a redacted value is none); at most
/// [`MAX_RELATED_IDS`].
pub fn related_ids(e: &LogEntry) -> std::collections::BTreeSet<String> {
    fn id_like(v: &str) -> bool {
        (3..=80).contains(&v.len())
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'))
    }
    fn id_key(k: &str) -> bool {
        let k = k.to_ascii_lowercase();
        k.ends_with("id") || k.ends_with("ids") || k == "orderlinenumber"
    }
    fn walk(v: &Value, under_id_key: bool, out: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::String(s) if under_id_key && id_like(s) => {
                out.insert(s.clone());
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, under_id_key, out)),
            Value::Object(m) => m.iter().for_each(|(k, x)| walk(x, id_key(k), out)),
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    out.insert(e.log_number.clone());
    for id in [&e.record_id, &e.account_id].into_iter().flatten() {
        if id_like(id) {
            out.insert(id.clone());
        }
    }
    for payload in [&e.request, &e.response].into_iter().flatten() {
        walk(payload, false, &mut out);
    }
    out.into_iter().take(MAX_RELATED_IDS).collect()
}

/// The log the engine writes through: stamps each entry's `created_by` with its run's
/// ([`crate::ports::RunRecord::created_by`], read once per task id) before the store keeps
/// it. Everything else goes straight to the store.
pub struct CreatedByLog {
    inner: std::sync::Arc<dyn TransactionLog>,
    state: std::sync::Arc<dyn StateStore>,
    runs: std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
}

impl CreatedByLog {
    /// Runs remembered at most (a warm function sees a few runs; the map is cleared when full).
    const MAX_RUNS: usize = 256;

    pub fn new(
        inner: std::sync::Arc<dyn TransactionLog>,
        state: std::sync::Arc<dyn StateStore>,
    ) -> Self {
        CreatedByLog {
            inner,
            state,
            runs: Default::default(),
        }
    }

    async fn creator(&self, task_id: &str) -> Result<Option<String>, StoreError> {
        if let Some(c) = self
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(task_id)
        {
            return Ok(c.clone());
        }
        let c = self
            .state
            .get_run(task_id)
            .await?
            .and_then(|r| r.created_by);
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        if runs.len() >= Self::MAX_RUNS {
            runs.clear();
        }
        runs.insert(task_id.to_owned(), c.clone());
        Ok(c)
    }
}

#[async_trait::async_trait]
impl TransactionLog for CreatedByLog {
    async fn allocate_log_numbers(&self, count: u32) -> Result<u64, StoreError> {
        self.inner.allocate_log_numbers(count).await
    }

    async fn append(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        let mut stamped = entries.to_vec();
        for e in stamped.iter_mut().filter(|e| e.created_by.is_none()) {
            e.created_by = self.creator(&e.task_id).await?;
        }
        self.inner.append(&stamped).await
    }

    async fn query(&self, query: &LogQuery) -> Result<LogPage, StoreError> {
        self.inner.query(query).await
    }

    async fn get(&self, log_number: &str) -> Result<Option<LogEntry>, StoreError> {
        self.inner.get(log_number).await
    }

    fn format_number(&self, n: u64) -> String {
        self.inner.format_number(n)
    }
}
