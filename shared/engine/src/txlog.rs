//! Building transaction-log entries (R24) and writing them through the [`TransactionLog`] port.

use crate::ports::{LogEntry, LogStatus, StoreError, TransactionLog};
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
                log_number: format_log_number(first + i as u64),
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
