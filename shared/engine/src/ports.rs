//! Ports: the only ways the engine reaches storage, queues and clocks.
//!
//! The cloud adapters (`shared/aws`: DynamoDB, SQS) and the embedded ones (`crate::embedded`:
//! SQLite, in-process queue) implement these traits, so the engine and the Lambda handlers are
//! written once, generic over them. Keep the traits small; add a method rather than a trait.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One error type for every port, so handlers map storage trouble to HTTP in one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost against a concurrent writer (idempotency guard).
    #[error("conditional write refused for {key}: the stored item changed meanwhile")]
    Conflict { key: String },
    /// The backend (DynamoDB, SQS, SQLite…) refused or failed; `context` names the operation.
    #[error("store operation '{context}' failed")]
    Backend {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored item could not be read back into its type.
    #[error("stored item {key} is corrupt: {detail}")]
    Corrupt { key: String, detail: String },
}

impl StoreError {
    pub fn backend(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError::Backend {
            context: context.into(),
            source: source.into(),
        }
    }
}

// ---------------------------------------------------------------- transaction log (R24)

/// R24: Completed, Failed (API/data/external problem), Error (unexpected error or exception).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LogStatus {
    Completed,
    Failed,
    Error,
}

/// One transaction: one create/update in either system (R24).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The run (task) this entry belongs to.
    pub task_id: String,
    /// `TL-00001`, monotonically increasing across all runs (allocated by the log).
    pub log_number: String,
    pub created: DateTime<Utc>,
    /// "Account Creation/Update", "Contact Creation/Update", "Entitlement Creation/Update",
    /// "Line Item Creation/Update", "RenewalLineItem Creation", "Salesforce Write-back", …
    pub name: String,
    pub status: LogStatus,
    /// The Salesforce record the transaction is about (Account/Contact/Opportunity/line item Id).
    pub record_id: Option<String>,
    /// The Salesforce Account the transaction belongs to (for per-account summaries).
    pub account_id: Option<String>,
    /// Description/message in words.
    pub message: String,
    /// Why it failed, in words an admin understands (names record, field and rule).
    pub reason: Option<String>,
    /// For `Error`: the component that raised it and the full error chain.
    pub component: Option<String>,
    /// Request and response payloads, secrets removed, for troubleshooting.
    pub request: Option<serde_json::Value>,
    pub response: Option<serde_json::Value>,
    /// Who started the run (the guide's Created By): the IAM caller of an API-started run,
    /// [`CREATED_BY_SCHEDULE`] for a scheduled one (stamped by [`crate::txlog::CreatedByLog`]
    /// from the run's [`RunRecord::created_by`]).
    #[serde(default)]
    pub created_by: Option<String>,
}

/// `created_by` of scheduled runs and their entries.
pub const CREATED_BY_SCHEDULE: &str = "schedule";
/// `created_by` of an API-started run whose request carried no IAM identity (direct calls).
pub const CREATED_BY_API: &str = "api";
/// `created_by` of the local runner's runs.
pub const CREATED_BY_LOCAL: &str = "local-runner";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogQuery {
    pub task_id: Option<String>,
    pub status: Option<LogStatus>,
    /// Inclusive lower bound on `created`.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `created`.
    pub to: Option<DateTime<Utc>>,
    /// Only entries about this Salesforce or FNO id ([`crate::txlog::related_ids`]): the
    /// entry's record or account, or an id in its request/response (an order's line items
    /// carry its Opportunity Id, FNO answers with activation ids). Other filters still apply.
    #[serde(default)]
    pub record: Option<String>,
    /// Page size; adapters cap it (e.g. 100).
    pub limit: Option<u32>,
    /// Opaque cursor from the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogPage {
    /// Ordered by log number, ascending.
    pub entries: Vec<LogEntry>,
    pub next_cursor: Option<String>,
}

#[async_trait]
pub trait TransactionLog: Send + Sync {
    /// Reserve `count` consecutive log numbers; returns the first. Atomic across processes.
    async fn allocate_log_numbers(&self, count: u32) -> Result<u64, StoreError>;
    async fn append(&self, entries: &[LogEntry]) -> Result<(), StoreError>;
    async fn query(&self, query: &LogQuery) -> Result<LogPage, StoreError>;
    /// One entry by its log number (`TL-00042`), with its payloads.
    async fn get(&self, log_number: &str) -> Result<Option<LogEntry>, StoreError>;
    /// How this log writes the allocated number `n` (`TL-00042`); a dry run's log marks its
    /// own numbers (`DRY-00001`) so they are never taken for the transaction log's.
    fn format_number(&self, n: u64) -> String {
        crate::txlog::format_log_number(n)
    }
}

// ---------------------------------------------------------------- sync state

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// R21: EventBridge schedule, all accounts with changes, push then pull.
    Scheduled,
    /// R22: admin-given window, push then pull.
    Immediate,
    /// R23: one account, push only.
    Account,
    /// R26–R32: license information ingestion.
    Licenses,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Planned,
    Running,
    Completed,
    /// The run itself could not complete (not: some entries Failed).
    Aborted,
}

/// A run (task): what was planned and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub task_id: String,
    pub kind: RunKind,
    pub status: RunStatus,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub accounts_planned: u32,
    /// Free-form counters (completed/failed/error entries, API calls per system, …).
    pub counts: BTreeMap<String, u64>,
    /// Why an aborted run stopped.
    pub detail: Option<String>,
    /// Who started it: the IAM caller for API-started runs, [`CREATED_BY_SCHEDULE`],
    /// [`CREATED_BY_LOCAL`]; None for runs recorded before it was kept.
    #[serde(default)]
    pub created_by: Option<String>,
}

/// What flexbridge knows it did for one sales order (Opportunity), keyed by Opportunity Id.
/// This is the idempotency record: a re-run consults it before creating anything in FNO.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SalesOrderRecord {
    pub opportunity_id: String,
    pub account_id: String,
    /// FNO entitlement id once created.
    pub entitlement_id: Option<String>,
    /// Salesforce OpportunityLineItem Id → FNO activation id.
    pub line_items: BTreeMap<String, String>,
    /// Fingerprint of the last request pushed, so unchanged orders are not re-sent.
    pub fingerprint: Option<String>,
    pub last_task_id: Option<String>,
    pub updated: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version; `put_sales_order` succeeds only if the stored one matches.
    pub version: u64,
    /// Set when the order was withdrawn (left the sync stages or was deleted): what happened
    /// and what flexbridge did. Cleared when it is won again (the same entitlement is updated).
    #[serde(default)]
    pub withdrawn: Option<String>,
    /// Line items removed from the order after they reached FNO (Salesforce line item Id →
    /// activation id); each is logged once (and set INACTIVE with the withdrawn action
    /// `inactivate`).
    #[serde(default)]
    pub removed_lines: BTreeMap<String, String>,
}

/// Whether an outstanding item is one sales order or a whole account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutstandingScope {
    /// One sales order (Opportunity) that has not reached FNO completely.
    Order,
    /// A whole account whose sync did not finish: queued and not yet done, dead-lettered,
    /// stopped by the quota or an unreachable system. Its orders are not known yet.
    Account,
}

/// Something flexbridge still owes FNO (or Salesforce's write-back): a sales order that has not
/// reached FNO completely, or an account whose sync did not finish. It stays on the list —
/// and is retried by every scheduled run once due — until it completes or leaves the sync
/// stages ("Nothing lost, nothing twice").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutstandingItem {
    /// The Opportunity Id (scope order) or the Account Id (scope account).
    pub record_id: String,
    pub account_id: String,
    pub scope: OutstandingScope,
    /// Why it is outstanding, in words an admin can act on (names record, field and rule).
    pub reason: String,
    /// Attempts so far (0 = queued, not tried yet).
    pub attempts: u32,
    pub first_seen: DateTime<Utc>,
    pub last_attempt: Option<DateTime<Utc>>,
    /// The earliest time a scheduled run re-plans it (backoff grows with the attempts).
    pub next_attempt: DateTime<Utc>,
    pub last_task_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutstandingPage {
    /// Ordered by `next_attempt`, then record id.
    pub items: Vec<OutstandingItem>,
    pub next_cursor: Option<String>,
}

/// One worker per account: who holds an account's lease, and until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    pub account_id: String,
    /// Unique per worker attempt (`<task id>#<random>`).
    pub owner: String,
    /// The run the holder works for.
    pub task_id: String,
    pub until: DateTime<Utc>,
}

/// A run's changes: counters are only ever added; the status moves only from `only_if` when
/// that is given (so a late worker cannot undo a finished run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunPatch {
    pub add: BTreeMap<String, u64>,
    /// Counters set to a value (running totals such as API calls seen by a process).
    pub set: BTreeMap<String, u64>,
    pub status: Option<RunStatus>,
    pub only_if: Option<RunStatus>,
    pub finished: Option<DateTime<Utc>>,
    pub accounts_planned: Option<u32>,
    pub detail: Option<String>,
}

#[async_trait]
pub trait StateStore: Send + Sync {
    /// R21: the last batch fire time of the scheduled sync (None before the first run).
    async fn watermark(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Moves the watermark forward only (a conditional write): an older `at` changes nothing
    /// and returns false.
    async fn set_watermark(&self, at: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Stores a new run (or replaces one wholesale; use [`StateStore::update_run`] for changes).
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError>;
    /// Applies `patch` atomically: counters added, status moved only from `patch.only_if`.
    /// Returns the run afterwards and whether the status change (if any) applied; None when
    /// no such run exists.
    async fn update_run(
        &self,
        task_id: &str,
        patch: &RunPatch,
    ) -> Result<Option<(RunRecord, bool)>, StoreError>;
    async fn get_run(&self, task_id: &str) -> Result<Option<RunRecord>, StoreError>;
    /// Most recent first.
    async fn list_runs(&self, limit: u32) -> Result<Vec<RunRecord>, StoreError>;

    async fn sales_order(
        &self,
        opportunity_id: &str,
    ) -> Result<Option<SalesOrderRecord>, StoreError>;
    /// Conditional write: stores `record` with `version + 1` only if the stored version equals
    /// `record.version` (or nothing is stored and `record.version == 0`); else `Conflict`.
    async fn put_sales_order(&self, record: &SalesOrderRecord) -> Result<(), StoreError>;

    /// Every sales-order record of one Salesforce Account (withdrawn-order detection).
    async fn sales_orders_of_account(
        &self,
        account_id: &str,
    ) -> Result<Vec<SalesOrderRecord>, StoreError>;

    /// Adds or replaces outstanding items (keyed by `record_id`).
    async fn put_outstanding(&self, items: &[OutstandingItem]) -> Result<(), StoreError>;
    /// Removes outstanding items; ids not on the list are ignored.
    async fn remove_outstanding(&self, record_ids: &[String]) -> Result<(), StoreError>;
    async fn get_outstanding(&self, record_id: &str)
        -> Result<Option<OutstandingItem>, StoreError>;
    /// Every outstanding item of one Salesforce Account (orders and the account itself).
    async fn outstanding_of_account(
        &self,
        account_id: &str,
    ) -> Result<Vec<OutstandingItem>, StoreError>;
    /// The list by `next_attempt`; `due_by` keeps only items due by then. Paged (`limit` is
    /// capped by the adapter, `cursor` from the previous page).
    async fn list_outstanding(
        &self,
        due_by: Option<DateTime<Utc>>,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<OutstandingPage, StoreError>;

    /// Takes `lease` when the account is free, its lease expired (`until` < `now`) or
    /// `lease.owner` already holds it (a conditional write). Else returns the holder's lease.
    async fn acquire_lease(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Option<Lease>, StoreError>;
    /// Releases the lease if `owner` still holds it.
    async fn release_lease(&self, account_id: &str, owner: &str) -> Result<(), StoreError>;
    /// The current lease of an account (expired ones included).
    async fn lease(&self, account_id: &str) -> Result<Option<Lease>, StoreError>;

    /// Configuration documents by key: "mapping", "filters", "schedule", "license-task", …
    /// (JSON of the `mapping` crate's types; the engine deserialises them).
    async fn get_config(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError>;
    /// Fingerprints of what FNO last accepted for accounts and users (`key → fingerprint`),
    /// so unchanged ones are not sent again. Missing keys are left out.
    async fn fingerprints(&self, keys: &[String]) -> Result<BTreeMap<String, String>, StoreError> {
        let mut out = BTreeMap::new();
        for k in keys {
            if let Some(serde_json::Value::String(fp)) = self.get_config(k).await? {
                out.insert(k.clone(), fp);
            }
        }
        Ok(out)
    }
    /// Stores fingerprints (see [`StateStore::fingerprints`]).
    async fn put_fingerprints(&self, items: &[(String, String)]) -> Result<(), StoreError> {
        for (k, fp) in items {
            self.put_config(k, &serde_json::Value::String(fp.clone()))
                .await?;
        }
        Ok(())
    }
    async fn put_config(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError>;
}

impl RunPatch {
    /// Applies the patch to a run read from a store; returns whether the status change (if
    /// any) applied. Adapters that cannot update in place use it inside a transaction.
    pub fn apply(&self, run: &mut RunRecord) -> bool {
        for (k, v) in &self.add {
            *run.counts.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &self.set {
            run.counts.insert(k.clone(), *v);
        }
        if let Some(n) = self.accounts_planned {
            run.accounts_planned = n;
        }
        match (self.status, self.only_if) {
            (Some(_), Some(from)) if run.status != from => false,
            (Some(to), _) => {
                run.status = to;
                if self.finished.is_some() {
                    run.finished = self.finished;
                }
                if self.detail.is_some() {
                    run.detail = self.detail.clone();
                }
                true
            }
            (None, _) => {
                if self.detail.is_some() {
                    run.detail = self.detail.clone();
                }
                false
            }
        }
    }
}

// ---------------------------------------------------------------- work queue (fan-out)

/// Version of [`AccountWork`]'s wire schema (the SQS message body).
pub const ACCOUNT_WORK_VERSION: u32 = 1;

/// One message of the per-account fan-out: "sync this account for this run".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountWork {
    /// Schema version, [`ACCOUNT_WORK_VERSION`]; consumers refuse other versions.
    pub v: u32,
    pub task_id: String,
    /// Salesforce Account Id (18 chars).
    pub account_id: String,
    pub kind: RunKind,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    /// Orders (Opportunity Ids) of the account whose FNO line items changed in the window
    /// (planning's FNO query): their line items are read back for the write-back (R20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fno_changed: Vec<String>,
}

#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Queue every item or fail; an adapter retries partial failures before giving up.
    async fn enqueue(&self, items: &[AccountWork]) -> Result<(), StoreError>;
    /// Makes a received message visible again after `after` (SQS ChangeMessageVisibility), so
    /// a message that must wait (quota, a busy account) is retried then, not at once.
    /// `receipt` is the message's receipt handle. Queues without visibility do nothing.
    async fn retry_later(
        &self,
        receipt: &str,
        after: std::time::Duration,
    ) -> Result<(), StoreError> {
        let _ = (receipt, after);
        Ok(())
    }
}

// ---------------------------------------------------------------- clock

/// Injectable clock: the local runner uses the fixture's `now`, tests a fixed instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A clock that starts at a given instant and then runs at wall-clock speed (the local runner
/// uses the fixture's `now` as the start, so windows match the fixture and log times advance).
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock {
    base: DateTime<Utc>,
    started: std::time::Instant,
}

impl OffsetClock {
    pub fn starting_at(base: DateTime<Utc>) -> Self {
        OffsetClock {
            base,
            started: std::time::Instant::now(),
        }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        self.base + elapsed
    }
}
