//! The engine: plan a window (R21, R22), sync one account (push R3/R4, pull R20), runs.

use crate::io::{self, CallFailure, FnoLineItem};
use crate::ports::{
    AccountWork, Clock, LogEntry, LogStatus, RunKind, RunRecord, RunStatus, SalesOrderRecord,
    StateStore, StoreError, TransactionLog, WorkQueue, ACCOUNT_WORK_VERSION,
};
use crate::redact::Redactor;
use crate::soql;
use crate::txlog::{error_chain, names, Draft, LogWriter};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use mapping::sf::{self, QueryResult};
use mapping::{
    fno, plan_account, writeback, AccountBundle, AccountPlan, Catalogue, Config, FnoResults,
    KnownFno, KnownLineItem, LineItemResult, SalesOrder, Skipped,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

mod dry;
mod echo;
mod group;
mod outstanding;
mod withdrawn;
pub use dry::DryRun;
pub use outstanding::retry_delay;

/// Key of the mapping configuration in the [`StateStore`] (the admin API writes it).
pub const CONFIG_KEY: &str = "config";
/// Key of the [`EngineSettings`] in the [`StateStore`].
pub const SETTINGS_KEY: &str = "engine";
/// Prefix of a sales-order record's fingerprint while its FNO writes are under way.
pub const PENDING: &str = "pending:";

/// The engine's own knobs (stored as JSON under [`SETTINGS_KEY`]; all optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    /// R21/R22: the window's start is moved back this many minutes, so records committed late
    /// (SystemModstamp before the last run's end, visible only after it) are not missed.
    pub lookback_minutes: i64,
    /// Accounts synced at once by the in-process runs.
    pub concurrency: usize,
    /// Budget: the share of the org's daily Salesforce API quota flexbridge leaves to the org's
    /// other users and integrations. Before each account, when the last `Sforce-Limit-Info`
    /// shows less than this left, the account is not started (the run stops like on
    /// `REQUEST_LIMIT_EXCEEDED`, and the next run picks up the work). 0 = use it all.
    pub quota_reserve_percent: u64,
    /// One worker per account: how long an account's lease lasts (longer than the
    /// account-sync function's timeout, so a live worker never loses it).
    pub lease_seconds: i64,
    /// Outstanding orders: the first retry waits this long; each further attempt doubles it.
    pub retry_base_minutes: i64,
    /// Outstanding orders: the longest wait between two attempts (a permanently broken order
    /// costs about one Salesforce read per this many hours).
    pub retry_max_hours: i64,
    /// How long a message waits when the Salesforce daily quota is spent before it is tried
    /// again (the quota is a rolling 24-hour count).
    pub quota_wait_minutes: i64,
}

impl EngineSettings {
    /// Allowed `lookback_minutes` (up to a week).
    pub const LOOKBACK_MINUTES: std::ops::RangeInclusive<i64> = 0..=10_080;
    /// Allowed `concurrency`.
    pub const CONCURRENCY: std::ops::RangeInclusive<usize> = 1..=64;
    /// Allowed `quota_reserve_percent`.
    pub const QUOTA_RESERVE_PERCENT: std::ops::RangeInclusive<u64> = 0..=50;
    /// Allowed `lease_seconds` (the account-sync function runs at most 300 s).
    pub const LEASE_SECONDS: std::ops::RangeInclusive<i64> = 330..=3_600;
    /// Allowed `retry_base_minutes`.
    pub const RETRY_BASE_MINUTES: std::ops::RangeInclusive<i64> = 1..=1_440;
    /// Allowed `retry_max_hours`.
    pub const RETRY_MAX_HOURS: std::ops::RangeInclusive<i64> = 1..=168;
    /// Allowed `quota_wait_minutes` (SQS visibility can be delayed 12 hours at most).
    pub const QUOTA_WAIT_MINUTES: std::ops::RangeInclusive<i64> = 1..=720;

    /// The stored settings ([`SETTINGS_KEY`]), `None` when none are stored.
    pub async fn stored(state: &dyn StateStore) -> Result<Option<EngineSettings>, EngineError> {
        state
            .get_config(SETTINGS_KEY)
            .await?
            .map(|v| {
                serde_json::from_value(v).map_err(|e| EngineError::Config {
                    key: SETTINGS_KEY.into(),
                    detail: e.to_string(),
                })
            })
            .transpose()
    }

    /// Every value within its range; else the field at fault and the sentence for it.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let range = |r: String| format!("must be {r}");
        if !Self::LOOKBACK_MINUTES.contains(&self.lookback_minutes) {
            return Err((
                "lookback_minutes",
                range(format!(
                    "a whole number of minutes from {} to {} (R22)",
                    Self::LOOKBACK_MINUTES.start(),
                    Self::LOOKBACK_MINUTES.end()
                )),
            ));
        }
        if !Self::CONCURRENCY.contains(&self.concurrency) {
            return Err((
                "concurrency",
                range(format!(
                    "from {} to {}",
                    Self::CONCURRENCY.start(),
                    Self::CONCURRENCY.end()
                )),
            ));
        }
        for (field, value, r) in [
            ("lease_seconds", self.lease_seconds, Self::LEASE_SECONDS),
            (
                "retry_base_minutes",
                self.retry_base_minutes,
                Self::RETRY_BASE_MINUTES,
            ),
            (
                "retry_max_hours",
                self.retry_max_hours,
                Self::RETRY_MAX_HOURS,
            ),
            (
                "quota_wait_minutes",
                self.quota_wait_minutes,
                Self::QUOTA_WAIT_MINUTES,
            ),
        ] {
            if !r.contains(&value) {
                return Err((
                    field,
                    range(format!("a whole number from {} to {}", r.start(), r.end())),
                ));
            }
        }
        if !Self::QUOTA_RESERVE_PERCENT.contains(&self.quota_reserve_percent) {
            return Err((
                "quota_reserve_percent",
                range(format!(
                    "a percentage from {} to {}",
                    Self::QUOTA_RESERVE_PERCENT.start(),
                    Self::QUOTA_RESERVE_PERCENT.end()
                )),
            ));
        }
        Ok(())
    }
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            lookback_minutes: 15,
            concurrency: 4,
            quota_reserve_percent: 5,
            lease_seconds: 900,
            retry_base_minutes: 15,
            retry_max_hours: 24,
            quota_wait_minutes: 60,
        }
    }
}

/// What went wrong with a run or an account as a whole (not: an item that Failed).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the sync state store failed")]
    Store(#[from] StoreError),
    #[error("Salesforce could not be read: {0}")]
    Salesforce(#[source] CallFailure),
    #[error("FlexNet Operations could not be read: {0}")]
    Flexnet(#[source] CallFailure),
    #[error("the stored configuration '{key}' is invalid: {detail}")]
    Config { key: String, detail: String },
    #[error("the run was stopped: {0}")]
    Stopped(String),
    /// One worker per account: another worker holds the account's lease.
    #[error(
        "account {account_id} is being synchronised by run {task_id} (lease held until {until})"
    )]
    Busy {
        account_id: String,
        task_id: String,
        until: DateTime<Utc>,
    },
}

/// What the caller of [`Engine::process`] should do with a failed work item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Temporary (timeouts, 5xx, 429, a store hiccup): try the message again soon.
    Retry,
    /// Try again after this long without burning a receive where avoidable (quota spent,
    /// the account leased by another worker).
    Wait(std::time::Duration),
    /// Permanent until someone fixes the cause (refused credentials, invalid configuration):
    /// the account is logged and kept outstanding; the message is acknowledged.
    Permanent,
}

impl EngineError {
    /// True when retrying later may help (the SQS consumer reports the item as failed).
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self.disposition(&EngineSettings::default()),
            Disposition::Permanent
        )
    }

    /// Temporary vs permanent: no DLQ churn for causes a retry cannot fix.
    pub fn disposition(&self, settings: &EngineSettings) -> Disposition {
        let quota_wait =
            std::time::Duration::from_secs(settings.quota_wait_minutes.max(1) as u64 * 60);
        match self {
            EngineError::Store(_) => Disposition::Retry,
            EngineError::Salesforce(f) | EngineError::Flexnet(f) if f.quota_exhausted => {
                Disposition::Wait(quota_wait)
            }
            EngineError::Salesforce(f) | EngineError::Flexnet(f) if f.transient => {
                Disposition::Retry
            }
            EngineError::Salesforce(_) | EngineError::Flexnet(_) => Disposition::Permanent,
            EngineError::Config { .. } | EngineError::Stopped(_) => Disposition::Permanent,
            EngineError::Busy { .. } => Disposition::Wait(std::time::Duration::from_secs(60)),
        }
    }
}

/// What one account's sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountOutcome {
    pub account_id: String,
    pub account_name: Option<String>,
    /// The transaction-log entries written for this account, in order.
    pub entries: Vec<LogEntry>,
    /// Records deliberately not pushed, with the rule (R1, R2, R4).
    pub skipped: Vec<Skipped>,
    /// Sales orders that had not changed since their last push (no FNO call).
    pub unchanged_orders: u32,
    /// Sales orders pushed (created or updated) in this sync.
    pub pushed_orders: u32,
    /// Salesforce records written back (R20).
    pub written_back: u32,
    /// The account's items left on the outstanding list after this sync (orders that did not
    /// reach FNO completely, with their reasons; the account itself when its sync failed).
    #[serde(default)]
    pub outstanding: Vec<crate::ports::OutstandingItem>,
}

/// Run counter of the accounts a run has finished.
pub const ACCOUNTS_DONE: &str = "accounts_done";

impl AccountOutcome {
    pub fn count(&self, status: LogStatus) -> usize {
        self.entries.iter().filter(|e| e.status == status).count()
    }

    /// What this account adds to its run's counters ([`RunRecord::counts`]): one account
    /// done, its entries by status, orders pushed/unchanged, records written back.
    pub fn run_counts(&self) -> [(&'static str, u64); 7] {
        [
            ("completed", self.count(LogStatus::Completed) as u64),
            ("failed", self.count(LogStatus::Failed) as u64),
            ("error", self.count(LogStatus::Error) as u64),
            (ACCOUNTS_DONE, 1),
            ("orders_pushed", u64::from(self.pushed_orders)),
            ("orders_unchanged", u64::from(self.unchanged_orders)),
            ("records_written_back", u64::from(self.written_back)),
        ]
    }
}

/// Which outstanding items a run re-plans besides its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutstandingPick {
    None,
    /// Those due by the window's end (every scheduled run).
    Due,
    /// All of them, due or not, besides the window.
    All,
    /// All of them and no window (`POST /sync {"outstanding": true}`).
    Only,
}

/// A run's plan: the run record and one work item per account.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    pub run: RunRecord,
    pub work: Vec<AccountWork>,
}

/// What a whole in-process run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub run: RunRecord,
    pub accounts: Vec<AccountOutcome>,
}

/// Accounts read per bulk Salesforce query (an IN list of 18-character ids stays far below
/// SOQL's length limit; their contacts, orders and line items fit a page or two).
pub const BULK_READ: usize = 200;

/// Per Salesforce Account Id, its orders whose FNO line items changed in a window.
pub type FnoChanged = BTreeMap<String, BTreeSet<String>>;

/// Observes progress of an in-process run: `(accounts done, total)`.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// The sync engine. Cheap to share (`Arc<Engine>`); every method takes `&self`.
pub struct Engine {
    sf: io::Sf,
    fno: io::Fno,
    log: Arc<dyn TransactionLog>,
    state: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    redactor: Redactor,
    /// Behind a lock so a warm engine can take settings an admin changed
    /// ([`Engine::load_settings`]) without being rebuilt.
    settings: std::sync::RwLock<EngineSettings>,
    catalogue: tokio::sync::Mutex<Option<Arc<Catalogue>>>,
    /// When the quota guard first stopped on the current reading, and the Salesforce call
    /// count then ([`Engine::quota_reading_stale`]).
    quota_stop: std::sync::Mutex<Option<(DateTime<Utc>, u64)>>,
    progress: Option<Progress>,
}

/// Everything the engine is built from.
pub struct EngineParts {
    pub salesforce: io::SalesforceClient,
    pub flexnet: flexnet::FlexnetClient,
    pub log: Arc<dyn TransactionLog>,
    pub state: Arc<dyn StateStore>,
    pub clock: Arc<dyn Clock>,
    /// Secret values to remove from every log payload (client secret, FNO password, …).
    pub secrets: Vec<String>,
}

impl Engine {
    pub fn new(parts: EngineParts) -> Self {
        Engine {
            sf: io::Sf {
                client: parts.salesforce,
                dry: None,
            },
            fno: io::Fno {
                client: Arc::new(parts.flexnet),
                dry: None,
            },
            log: parts.log,
            state: parts.state,
            clock: parts.clock,
            redactor: Redactor::new(parts.secrets),
            settings: std::sync::RwLock::new(EngineSettings::default()),
            catalogue: tokio::sync::Mutex::new(None),
            quota_stop: std::sync::Mutex::new(None),
            progress: None,
        }
    }

    pub fn with_settings(self, settings: EngineSettings) -> Self {
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
        self
    }

    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// No Salesforce or FNO call starts, or waits, past `deadline` (the Lambda invocation's):
    /// each call's timeout is cut to the time left. None lifts it.
    pub fn set_deadline(&self, deadline: Option<std::time::Instant>) {
        self.sf.client.set_deadline(deadline);
        self.fno.client.set_deadline(deadline);
    }

    /// The settings in force now.
    pub fn settings(&self) -> EngineSettings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Salesforce API calls made by this engine's client so far.
    pub fn salesforce_calls(&self) -> u64 {
        self.sf.api_calls()
    }

    /// The org's daily API usage `(used, max)` as Salesforce last reported it.
    pub fn salesforce_usage(&self) -> Option<(u64, u64)> {
        self.sf.api_usage()
    }

    /// FNO calls made by this engine's client so far.
    pub fn flexnet_calls(&self) -> u64 {
        self.fno.calls()
    }

    /// The mapping configuration: the stored one ([`CONFIG_KEY`]), else the guide's defaults.
    pub async fn load_config(&self) -> Result<Config, EngineError> {
        match self.state.get_config(CONFIG_KEY).await? {
            None => Ok(Config::default()),
            Some(v) => Config::from_json(v).map_err(|detail| EngineError::Config {
                key: CONFIG_KEY.into(),
                detail,
            }),
        }
    }

    /// Loads [`EngineSettings`] from the store when present (keeps the current ones otherwise).
    /// A warm engine calls it per invocation, so `PUT /settings/engine` applies at once.
    pub async fn load_settings(&self) -> Result<(), EngineError> {
        if let Some(settings) = EngineSettings::stored(self.state.as_ref()).await? {
            *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
        }
        Ok(())
    }

    /// Forgets the cached FNO catalogue (read again on next use). Runs call this at the start.
    pub async fn reset_catalogue(&self) {
        *self.catalogue.lock().await = None;
    }

    async fn catalogue(&self) -> Result<Arc<Catalogue>, EngineError> {
        let mut guard = self.catalogue.lock().await;
        if let Some(c) = guard.as_ref() {
            return Ok(c.clone());
        }
        let c = Arc::new(self.fno.catalogue().await.map_err(EngineError::Flexnet)?);
        *guard = Some(c.clone());
        Ok(c)
    }

    // ------------------------------------------------------------------ planning (R21, R22)

    /// The accounts with work in `[from, to)` (R21, R22): opportunities in a sync stage or their
    /// line items changed (by SystemModstamp, `from` moved back by the lookback), and — when
    /// `pull` — accounts whose FNO line items changed; also synced orders that left the sync
    /// stages or were deleted, and orders whose Account, Contacts or products changed. In a
    /// scheduled run, a record whose content is what flexbridge last read, or an FNO line item
    /// whose values it last wrote back, is its own echo and plans nothing ([`echo`]); an
    /// immediate run re-examines its whole window. `from = None` covers all
    /// history. One Salesforce call for the five queries (a composite request; more only for
    /// further pages, or when the FNO side really changed) and one FNO query.
    pub async fn plan_window(
        &self,
        from: Option<DateTime<Utc>>,
        to: DateTime<Utc>,
        kind: RunKind,
        config: &Config,
    ) -> Result<(Vec<String>, FnoChanged), EngineError> {
        let from = from.map(|f| f - Duration::minutes(self.settings().lookback_minutes.max(0)));
        let pull = kind != RunKind::Account;
        let mut candidates = echo::Candidates::new(kind == RunKind::Scheduled);
        let fields = echo::Fields::new(config);
        // content only where it can be compared: a first run (all history) has nothing stored
        let content = (candidates.filter && from.is_some()).then_some(&fields);
        let queries = window_queries(from, to, config, content);
        let soql: Vec<(&str, bool)> = queries.iter().map(|q| (q.soql.as_str(), q.all)).collect();
        // page by page: only each row's account, id and fingerprint are kept
        let mut each = |i: usize, rows: Vec<Value>| {
            for r in rows {
                window_candidate(&queries[i], &r, content, &mut candidates);
            }
        };
        self.sf
            .query_many_pages(&soql, &mut each)
            .await
            .map_err(EngineError::Salesforce)?;
        let changed = match pull {
            true => self.fno_window(from, to, &mut candidates).await?,
            false => FnoChanged::new(),
        };
        Ok((self.changed_accounts(candidates).await?, changed))
    }

    /// Starts a run: stores its record (status Running) and plans its accounts. For
    /// [`RunKind::Scheduled`] the window is `[watermark, now)` (all history before the first
    /// run); for Immediate the given window; for Account the one account.
    pub async fn plan_run(
        &self,
        kind: RunKind,
        window: Option<(Option<DateTime<Utc>>, DateTime<Utc>)>,
        account: Option<&str>,
    ) -> Result<PlannedRun, EngineError> {
        let pick = match kind {
            RunKind::Scheduled => OutstandingPick::Due,
            _ => OutstandingPick::None,
        };
        self.plan_run_with(kind, window, account, pick).await
    }

    /// [`Engine::plan_run`] with a choice of outstanding items to re-plan besides the window:
    /// a scheduled run takes the due ones; `POST /sync {"outstanding": true}` all of them
    /// ([`OutstandingPick::Only`]: no window at all).
    pub async fn plan_run_with(
        &self,
        kind: RunKind,
        window: Option<(Option<DateTime<Utc>>, DateTime<Utc>)>,
        account: Option<&str>,
        pick: OutstandingPick,
    ) -> Result<PlannedRun, EngineError> {
        // R23: only a well-formed id gets as far as SOQL (and no run is recorded for another)
        if let Some(id) = account.filter(|id| !soql::is_id(id)) {
            return Err(EngineError::Stopped(format!(
                "'{id}' is not a Salesforce Account Id (15 or 18 letters and digits) (R23)"
            )));
        }
        let now = self.clock.now();
        let task_id = new_task_id(kind, now);
        let (from, to) = match kind {
            RunKind::Scheduled => (self.state.watermark().await?, now),
            _ => window.unwrap_or((None, now)),
        };
        let mut run = RunRecord {
            task_id: task_id.clone(),
            kind,
            status: RunStatus::Running,
            window_from: from,
            window_to: Some(to),
            started: now,
            finished: None,
            accounts_planned: 0,
            counts: BTreeMap::new(),
            detail: None,
            created_by: None,
        };
        self.state.put_run(&run).await?;
        self.reset_catalogue().await;
        let (accounts, mut fno_changed) = match (kind, account) {
            (RunKind::Account, Some(id)) => (vec![id.to_owned()], FnoChanged::new()),
            (RunKind::Account, None) => {
                return Err(EngineError::Stopped(
                    "a single-account sync needs an account id (R23)".into(),
                ))
            }
            // boxed: keeps every caller's future small
            _ => match Box::pin(self.plan_accounts(from, to, kind, pick, &mut run)).await {
                Ok(a) => a,
                Err(e) => {
                    self.abort_run(&mut run, &e).await;
                    return Err(e);
                }
            },
        };
        run.accounts_planned = accounts.len() as u32;
        run.counts
            .insert("sf_api_calls_planning".into(), self.sf.api_calls());
        self.state.put_run(&run).await?;
        let work = accounts
            .into_iter()
            .map(|account_id| AccountWork {
                v: ACCOUNT_WORK_VERSION,
                task_id: task_id.clone(),
                kind,
                window_from: from,
                window_to: Some(to),
                fno_changed: fno_changed
                    .remove(&account_id)
                    .map(|o| o.into_iter().collect())
                    .unwrap_or_default(),
                account_id,
            })
            .collect();
        Ok(PlannedRun { run, work })
    }

    /// The accounts of a window (unless [`OutstandingPick::Only`]) and of the outstanding
    /// items `pick` asks for, each once, window accounts first.
    async fn plan_accounts(
        &self,
        from: Option<DateTime<Utc>>,
        to: DateTime<Utc>,
        kind: RunKind,
        pick: OutstandingPick,
        run: &mut RunRecord,
    ) -> Result<(Vec<String>, FnoChanged), EngineError> {
        let (mut accounts, changed) = if pick == OutstandingPick::Only {
            (Vec::new(), FnoChanged::new())
        } else {
            let config = self.load_config().await?;
            self.plan_window(from, to, kind, &config).await?
        };
        let due_by = match pick {
            OutstandingPick::None => return Ok((accounts, changed)),
            OutstandingPick::Due => Some(to),
            OutstandingPick::All | OutstandingPick::Only => None,
        };
        let mut seen: BTreeSet<String> = accounts.iter().cloned().collect();
        let (mut cursor, mut items) = (None, 0u64);
        loop {
            let page = self.state.list_outstanding(due_by, 500, cursor).await?;
            items += page.items.len() as u64;
            for item in page.items {
                if seen.insert(item.account_id.clone()) {
                    accounts.push(item.account_id);
                }
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        run.counts.insert("outstanding_replanned".into(), items);
        Ok((accounts, changed))
    }

    /// Plans a run and queues one message per account (the cloud fan-out).
    pub async fn plan_and_enqueue(
        &self,
        kind: RunKind,
        window: Option<(Option<DateTime<Utc>>, DateTime<Utc>)>,
        queue: &dyn WorkQueue,
    ) -> Result<PlannedRun, EngineError> {
        let planned = self.plan_run(kind, window, None).await?;
        self.mark_queued(&planned.work).await?;
        queue.enqueue(&planned.work).await?;
        Ok(planned)
    }

    async fn abort_run(&self, run: &mut RunRecord, e: &EngineError) {
        let patch = crate::ports::RunPatch {
            status: Some(RunStatus::Aborted),
            only_if: Some(RunStatus::Running),
            finished: Some(self.clock.now()),
            detail: Some(error_chain(e)),
            ..Default::default()
        };
        patch.apply(run);
        if let Err(store) = self.state.update_run(&run.task_id, &patch).await {
            tracing::error!(task_id = %run.task_id, error = %error_chain(&store), "could not record the aborted run");
        }
    }

    /// Marks a run finished with counts from its outcomes; for a scheduled run, moves the
    /// watermark to the window's end (R21: only after the run completed).
    pub async fn finish_run(
        &self,
        run: RunRecord,
        outcomes: &[AccountOutcome],
    ) -> Result<RunRecord, EngineError> {
        let mut patch = crate::ports::RunPatch {
            status: Some(RunStatus::Completed),
            only_if: Some(RunStatus::Running),
            finished: Some(self.clock.now()),
            ..Default::default()
        };
        for (k, v) in outcomes.iter().flat_map(AccountOutcome::run_counts) {
            *patch.add.entry(k.to_owned()).or_insert(0) += v;
        }
        patch.set.insert("sf_api_calls".into(), self.sf.api_calls());
        patch.set.insert("fno_calls".into(), self.fno.calls());
        // counters are only ever added (a concurrent worker's progress is never overwritten)
        let run = match self.state.update_run(&run.task_id, &patch).await? {
            Some((stored, _)) => stored,
            None => {
                let mut run = run;
                patch.apply(&mut run);
                self.state.put_run(&run).await?;
                run
            }
        };
        if run.kind == RunKind::Scheduled {
            if let Some(to) = run.window_to {
                // R21: forward only
                self.state.set_watermark(to).await?;
            }
        }
        Ok(run)
    }

    /// The SQS consumer's progress: adds a finished account's counts to its run (an atomic
    /// add, never a replace) and completes the run when every planned account is done.
    pub async fn account_done(
        &self,
        task_id: &str,
        outcome: &AccountOutcome,
    ) -> Result<Option<RunRecord>, EngineError> {
        let mut patch = crate::ports::RunPatch::default();
        for (k, v) in outcome.run_counts() {
            patch.add.insert(k.to_owned(), v);
        }
        let Some((run, _)) = self.state.update_run(task_id, &patch).await? else {
            return Ok(None);
        };
        let done = run.counts.get(ACCOUNTS_DONE).copied().unwrap_or(0);
        if run.status != RunStatus::Running || done < u64::from(run.accounts_planned) {
            return Ok(Some(run));
        }
        let complete = crate::ports::RunPatch {
            status: Some(RunStatus::Completed),
            only_if: Some(RunStatus::Running),
            finished: Some(self.clock.now()),
            ..Default::default()
        };
        Ok(self
            .state
            .update_run(task_id, &complete)
            .await?
            .map(|(r, _)| r))
    }

    /// A message of the run waits for the Salesforce quota: the run says so (`GET /runs`).
    pub async fn run_waiting_for_quota(
        &self,
        task_id: &str,
        until: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let mut patch = crate::ports::RunPatch {
            detail: Some(format!(
                "waiting for Salesforce API quota: accounts are tried again from {} (setting quota_wait_minutes)",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )),
            ..Default::default()
        };
        patch.add.insert("quota_waits".into(), 1);
        self.state.update_run(task_id, &patch).await?;
        Ok(())
    }

    /// Processes one work item (the SQS consumer's job): takes the account's lease (one worker
    /// per account), syncs it, releases the lease. Problems with records are Failed log entries
    /// inside the outcome; an account that cannot be synced at all stays outstanding, and a
    /// permanent cause (refused credentials, invalid configuration) is logged and returned as
    /// an outcome, so the message is acknowledged. A returned error is temporary: see its
    /// [`EngineError::disposition`] (retry soon, or wait for the quota or the lease).
    pub async fn process(&self, work: &AccountWork) -> Result<AccountOutcome, EngineError> {
        self.process_group(std::slice::from_ref(work))
            .await
            .pop()
            .unwrap_or_else(|| Err(EngineError::Stopped("no outcome".into())))
    }

    /// An account whose sync failed as a whole: kept outstanding; a permanent cause is logged
    /// and becomes its outcome (the message is acknowledged), a temporary one is returned.
    async fn settle_failure(
        &self,
        work: &AccountWork,
        e: EngineError,
    ) -> Result<AccountOutcome, EngineError> {
        if let Err(store) = self.account_failed(work, &e).await {
            tracing::error!(account_id = %work.account_id, error = %error_chain(&store), "could not keep the account outstanding");
        }
        match e.disposition(&self.settings()) {
            Disposition::Permanent => self.log_account_failure(work, &e).await,
            _ => Err(e),
        }
    }

    /// Stops before the org's daily API quota is spent, leaving `quota_reserve_percent` of it
    /// to the org (the usage is the one Salesforce reported on this engine's last call).
    fn quota_guard(&self) -> Result<(), EngineError> {
        let pct = self.settings().quota_reserve_percent.min(100);
        let Some((used, max)) = self.sf.api_usage() else {
            return Ok(());
        };
        let reserve = max.saturating_mul(pct) / 100;
        if pct > 0 && used.saturating_add(reserve) >= max && !self.quota_reading_stale() {
            return Err(EngineError::Salesforce(CallFailure {
                unexpected: false,
                component: "salesforce",
                message: format!(
                    "the org has used {used} of its {max} daily API calls; flexbridge stops with {pct}% ({reserve} calls) left for the org's other users (setting quota_reserve_percent)"
                ),
                request: None,
                response: None,
                quota_exhausted: true,
                transient: false,
            }));
        }
        Ok(())
    }

    /// The usage the guard reads is the one of this engine's last Salesforce call. Once the
    /// guard has stopped on it for `quota_wait_minutes` without any call since, it is stale
    /// (the rolling quota may have recovered): one account is let through to read it afresh
    /// (if the quota is still spent, its 403 is the new reading). Without this a warm
    /// container would refuse every account for good once it had seen the quota spent.
    fn quota_reading_stale(&self) -> bool {
        let wait = Duration::minutes(self.settings().quota_wait_minutes.max(1));
        let (now, calls) = (self.clock.now(), self.sf.api_calls());
        let mut stop = self.quota_stop.lock().unwrap_or_else(|p| p.into_inner());
        match *stop {
            Some((since, at_calls)) if at_calls == calls => {
                let stale = now - since >= wait;
                if stale {
                    *stop = None;
                }
                stale
            }
            _ => {
                *stop = Some((now, calls));
                false
            }
        }
    }

    /// Runs a whole run in process: plan, every account with bounded concurrency, finish.
    /// An account that cannot be synced at all gets a Failed/Error entry and the run goes on;
    /// the run stops early only when the Salesforce quota is spent or the store fails.
    pub async fn run_in_process(&self, planned: PlannedRun) -> Result<RunReport, EngineError> {
        let PlannedRun { mut run, work } = planned;
        // a run killed half-way leaves its other accounts outstanding for the next one
        self.mark_queued(&work).await?;
        let total = work.len();
        if let Some(p) = &self.progress {
            p(0, total);
        }
        let mut done = 0usize;
        let mut outcomes: Vec<(usize, AccountOutcome)> = Vec::with_capacity(total);
        let mut stop: Option<EngineError> = None;
        {
            // groups of accounts: one bulk read, batched FNO calls and write-back per group
            let mut stream = futures::stream::iter(work.chunks(BULK_READ).enumerate())
                .map(|(g, chunk)| async move { (g, self.process_logged(chunk).await) })
                .buffer_unordered(self.settings().concurrency.max(1));
            while let Some((g, results)) = stream.next().await {
                for (j, r) in results.into_iter().enumerate() {
                    done += 1;
                    if let Some(p) = &self.progress {
                        p(done, total);
                    }
                    match r {
                        Ok(o) => outcomes.push((g * BULK_READ + j, o)),
                        Err(e) => stop = stop.or(Some(e)),
                    }
                }
                if stop.is_some() {
                    break;
                }
            }
        }
        outcomes.sort_by_key(|(i, _)| *i);
        let outcomes: Vec<AccountOutcome> = outcomes.into_iter().map(|(_, o)| o).collect();
        if let Some(e) = stop {
            self.abort_run(&mut run, &e).await;
            return Err(e);
        }
        let run = self.finish_run(run, &outcomes).await?;
        Ok(RunReport {
            run,
            accounts: outcomes,
        })
    }

    /// [`Engine::process`], but an account-level failure becomes a log entry instead of an
    /// error (the account stays outstanding); only run-stopping problems (store down, quota
    /// spent, a single-account sync whose account is busy) are returned.
    async fn process_logged(
        &self,
        work: &[AccountWork],
    ) -> Vec<Result<AccountOutcome, EngineError>> {
        let results = self.process_group(work).await;
        let mut out = Vec::with_capacity(results.len());
        for (w, r) in work.iter().zip(results) {
            out.push(self.logged(w, r).await);
        }
        out
    }

    async fn logged(
        &self,
        work: &AccountWork,
        r: Result<AccountOutcome, EngineError>,
    ) -> Result<AccountOutcome, EngineError> {
        match r {
            Ok(o) => Ok(o),
            Err(EngineError::Store(e)) => Err(EngineError::Store(e)),
            Err(e @ EngineError::Busy { .. }) if work.kind == RunKind::Account => Err(e),
            Err(EngineError::Salesforce(f)) if f.quota_exhausted => Err(EngineError::Stopped(format!(
                "the Salesforce API quota is spent; the run stops before the org is out of calls ({})",
                f.message
            ))),
            Err(e) => self.log_account_failure(work, &e).await,
        }
    }

    /// One "Account Synchronisation" entry for an account that could not be synced at all.
    async fn log_account_failure(
        &self,
        work: &AccountWork,
        e: &EngineError,
    ) -> Result<AccountOutcome, EngineError> {
        let mut w = LogWriter::new(
            &*self.log,
            &self.redactor,
            &work.task_id,
            Some(&work.account_id),
        );
        let (status, component, request, response) = match e {
            EngineError::Salesforce(f) | EngineError::Flexnet(f) => (
                if f.unexpected {
                    LogStatus::Error
                } else {
                    LogStatus::Failed
                },
                f.component,
                f.request.clone(),
                f.response.clone(),
            ),
            EngineError::Busy { .. } => (LogStatus::Failed, "engine", None, None),
            _ => (LogStatus::Error, "engine", None, None),
        };
        let d = Draft::new(
            names::ACCOUNT_SYNC,
            status,
            Some(&work.account_id),
            format!(
                "Account {} could not be synchronised; it stays outstanding",
                work.account_id
            ),
        )
        .reason(error_chain(e))
        .component(component)
        .request(request)
        .response(response);
        w.write(vec![d], self.clock.now()).await?;
        let outstanding = self
            .state
            .get_outstanding(&soql::id18(&work.account_id))
            .await?
            .into_iter()
            .collect();
        Ok(AccountOutcome {
            account_id: work.account_id.clone(),
            entries: w.into_entries(),
            outstanding,
            ..Default::default()
        })
    }

    /// R21: a scheduled sync over `[watermark − lookback, now)`, push then pull, in process.
    pub async fn run_scheduled(&self) -> Result<RunReport, EngineError> {
        let planned = self.plan_run(RunKind::Scheduled, None, None).await?;
        self.run_in_process(planned).await
    }

    /// R22: an immediate sync over `[from − lookback, to)`, push then pull, in process.
    pub async fn run_immediate(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<RunReport, EngineError> {
        let planned = self
            .plan_run(RunKind::Immediate, Some((Some(from), to)), None)
            .await?;
        self.run_in_process(planned).await
    }

    /// R23: one account, push only (no write-back).
    pub async fn run_account(&self, account_id: &str) -> Result<RunReport, EngineError> {
        let planned = self
            .plan_run(RunKind::Account, None, Some(account_id))
            .await?;
        self.run_in_process(planned).await
    }

    // ------------------------------------------------------------------ accounts (R3, R4)

    /// Reads accounts in bulk, [`BULK_READ`] at a time: each chunk's accounts with their
    /// contacts and opportunities (one relationship query), the opportunities' line items with
    /// their products (one query), and sold-to accounts outside the chunk (one query, only when
    /// there are any). An account Salesforce does not return is absent; one whose record
    /// cannot be read gets its own error.
    pub(super) async fn read_bundles(
        &self,
        ids: &[String],
        config: &Config,
        seen: &mut BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, Result<AccountBundle, EngineError>>, EngineError> {
        let fields = echo::Fields::new(config);
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(BULK_READ) {
            self.read_chunk(chunk, config, &fields, &mut out, seen)
                .await?;
        }
        Ok(out)
    }

    /// One chunk of [`Engine::read_bundles`]; `seen` gets the content fingerprint of every
    /// record read ([`echo`]).
    async fn read_chunk(
        &self,
        ids: &[String],
        config: &Config,
        fields: &echo::Fields,
        out: &mut BTreeMap<String, Result<AccountBundle, EngineError>>,
        seen: &mut BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        use mapping::SfObject as O;
        let in_ids = soql::in_list(ids);
        let q = format!(
            "SELECT {}, (SELECT {} FROM Contacts), (SELECT {} FROM Opportunities) FROM Account WHERE Id IN {in_ids}",
            fields.select(O::Account),
            fields.select(O::Contact),
            fields.select(O::Opportunity),
        );
        let mut bundles: BTreeMap<String, AccountBundle> = BTreeMap::new();
        for row in self.sf.query(&q).await.map_err(EngineError::Salesforce)? {
            fields.of_account_row(&row, seen);
            let id = row
                .get("Id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            match serde_json::from_value::<sf::Account>(row) {
                Ok(mut account) => {
                    let contacts = account
                        .contacts
                        .take()
                        .map(|q| q.records)
                        .unwrap_or_default();
                    let opportunities = account
                        .opportunities
                        .take()
                        .map(|q| q.records)
                        .unwrap_or_default();
                    bundles.insert(
                        account.id.clone(),
                        AccountBundle {
                            account,
                            contacts,
                            opportunities,
                            products: BTreeMap::new(),
                            related_accounts: BTreeMap::new(),
                            known: KnownFno::default(),
                        },
                    );
                }
                Err(e) => {
                    out.insert(
                        id.clone(),
                        Err(EngineError::Salesforce(CallFailure::unexpected(
                            "salesforce",
                            format!("the Account {id} record could not be read: {e}"),
                        ))),
                    );
                }
            }
        }
        self.read_line_items(&mut bundles, &in_ids, fields, seen)
            .await?;
        self.read_sold_to(&mut bundles, config).await?;
        out.extend(bundles.into_iter().map(|(id, b)| (id, Ok(b))));
        Ok(())
    }

    /// The chunk's line items with their products, nested into their opportunities.
    async fn read_line_items(
        &self,
        bundles: &mut BTreeMap<String, AccountBundle>,
        in_ids: &str,
        fields: &echo::Fields,
        seen: &mut BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        use mapping::SfObject as O;
        if bundles.values().all(|b| b.opportunities.is_empty()) {
            return Ok(());
        }
        let q = format!(
            "SELECT {} FROM OpportunityLineItem WHERE Opportunity.AccountId IN {in_ids} ORDER BY OpportunityId, Id",
            fields.select(O::OpportunityLineItem)
        );
        let mut items: BTreeMap<String, Vec<sf::OpportunityLineItem>> = BTreeMap::new();
        for r in self.sf.query(&q).await.map_err(EngineError::Salesforce)? {
            if let Some(id) = r.get("Id").and_then(Value::as_str) {
                seen.insert(
                    id.to_owned(),
                    fields.fingerprint(O::OpportunityLineItem, &r),
                );
            }
            if let Ok(li) = serde_json::from_value::<sf::OpportunityLineItem>(r) {
                if let Some(o) = li.opportunity_id.clone() {
                    items.entry(o).or_default().push(li);
                }
            }
        }
        for o in bundles
            .values_mut()
            .flat_map(|b| b.opportunities.iter_mut())
        {
            let lis = items.remove(&o.id).unwrap_or_default();
            o.opportunity_line_items = Some(QueryResult::new(lis));
        }
        Ok(())
    }

    /// SoldTo accounts (R12) outside each account, read once for the chunk.
    async fn read_sold_to(
        &self,
        bundles: &mut BTreeMap<String, AccountBundle>,
        config: &Config,
    ) -> Result<(), EngineError> {
        use mapping::SfObject as O;
        let f = config
            .sf_field(O::Opportunity, "soldTo")
            .unwrap_or("FNO_SoldTo_Account__c")
            .to_owned();
        let wanted = |b: &AccountBundle| -> BTreeSet<String> {
            b.opportunities
                .iter()
                .filter_map(|o| {
                    sf::SfRecord::field(o, &f).and_then(|v| v.as_str().map(str::to_owned))
                })
                .filter(|id| id != &b.account.id && soql::is_id(id))
                .collect()
        };
        let all: BTreeSet<String> = bundles.values().flat_map(wanted).collect();
        if all.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = all.into_iter().collect();
        let fields = config
            .fields_to_read(O::Account)
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ");
        let mut found: BTreeMap<String, sf::Account> = BTreeMap::new();
        for chunk in ids.chunks(BULK_READ) {
            let q = format!(
                "SELECT {fields} FROM Account WHERE Id IN {}",
                soql::in_list(chunk)
            );
            for r in self.sf.query(&q).await.map_err(EngineError::Salesforce)? {
                if let Ok(a) = serde_json::from_value::<sf::Account>(r) {
                    found.insert(a.id.clone(), a);
                }
            }
        }
        for b in bundles.values_mut() {
            for id in wanted(b) {
                if let Some(a) = found.get(&id) {
                    b.related_accounts.insert(id, a.clone());
                }
            }
        }
        Ok(())
    }

    /// The sales-order records of the account (one store query) and of the originals its
    /// renewals renew (outside the account).
    async fn load_records(
        &self,
        bundle: &AccountBundle,
    ) -> Result<BTreeMap<String, SalesOrderRecord>, EngineError> {
        let mut out: BTreeMap<String, SalesOrderRecord> = self
            .state
            .sales_orders_of_account(&bundle.account.id)
            .await?
            .into_iter()
            .map(|r| (r.opportunity_id.clone(), r))
            .collect();
        let ids: BTreeSet<String> = bundle
            .opportunities
            .iter()
            .flat_map(|o| [Some(o.id.clone()), o.fno_renewed_opportunity.clone()])
            .flatten()
            .filter(|id| !out.contains_key(id))
            .collect();
        for id in ids {
            if let Some(r) = self.state.sales_order(&id).await? {
                out.insert(id, r);
            }
        }
        Ok(out)
    }

    /// A record left "pending" by a run that stopped during its FNO writes: ask FNO what it
    /// holds for that entitlement, so the re-push updates instead of creating twice.
    async fn recover_pending(
        &self,
        records: &mut BTreeMap<String, SalesOrderRecord>,
    ) -> Result<(), EngineError> {
        for rec in records.values_mut() {
            let pending = rec
                .fingerprint
                .as_deref()
                .is_some_and(|f| f.starts_with(PENDING));
            let Some(ent) = rec.entitlement_id.clone().filter(|_| pending) else {
                continue;
            };
            let items = self
                .fno
                .line_items_of_entitlement(&ent)
                .await
                .map_err(EngineError::Flexnet)?;
            for li in items {
                if let Some(line) = li.order_line_number.clone() {
                    rec.line_items.entry(line).or_insert(li.activation_id);
                }
            }
            tracing::info!(opportunity = %rec.opportunity_id, entitlement = %ent, "recovered a half-done sales order from FNO");
        }
        Ok(())
    }

    /// Stores a record (optimistic version); returns it as now stored.
    async fn put_record(&self, rec: SalesOrderRecord) -> Result<SalesOrderRecord, EngineError> {
        self.state.put_sales_order(&rec).await?;
        Ok(SalesOrderRecord {
            version: rec.version + 1,
            ..rec
        })
    }
}

/// One planning query: its SOQL, whether it reads the recycle bin too, where its rows name
/// their account, and the object whose content its rows carry (`None`: ids only).
struct WindowQuery {
    soql: String,
    all: bool,
    account: &'static str,
    object: Option<mapping::SfObject>,
}

/// The planning queries of a window (R21, R22): orders in a sync stage (and synced ones that
/// left the stages or were deleted), their line items, and the records the orders depend on
/// — their Account, its Contacts, their products.
fn window_queries(
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
    config: &Config,
    content: Option<&echo::Fields>,
) -> Vec<WindowQuery> {
    use mapping::SfObject as O;
    // the content fields of an object, or only the ids planning needs
    let select = |o: O, ids: &str| content.map_or_else(|| ids.to_owned(), |f| f.select(o));
    let stages = soql::in_list(&config.filters.sync_stages);
    let window = {
        let mut w = format!("SystemModstamp < {}", soql::datetime(to));
        if let Some(f) = from {
            w = format!("SystemModstamp >= {} AND {w}", soql::datetime(f));
        }
        w
    };
    let orders = format!("(SELECT AccountId FROM Opportunity WHERE StageName IN {stages})");
    let q = |soql: String, all, account, object| WindowQuery {
        soql,
        all,
        account,
        object,
    };
    vec![
        q(
            format!(
                "SELECT IsDeleted, {} FROM Opportunity WHERE (StageName IN {stages} OR FNO_Entitlement_ID__c != null) AND {window} ORDER BY AccountId",
                select(O::Opportunity, "Id, AccountId")
            ),
            true,
            "AccountId",
            Some(O::Opportunity),
        ),
        q(
            format!(
                "SELECT IsDeleted, Opportunity.AccountId, {} FROM OpportunityLineItem WHERE Opportunity.StageName IN {stages} AND {window}",
                select(O::OpportunityLineItem, "Id")
            ),
            true,
            "Opportunity.AccountId",
            Some(O::OpportunityLineItem),
        ),
        q(
            format!(
                "SELECT {} FROM Account WHERE Id IN {orders} AND {window}",
                select(O::Account, "Id")
            ),
            false,
            "Id",
            Some(O::Account),
        ),
        q(
            format!(
                "SELECT {} FROM Contact WHERE AccountId IN {orders} AND {window}",
                select(O::Contact, "Id, AccountId")
            ),
            false,
            "AccountId",
            Some(O::Contact),
        ),
        q(
            format!(
                "SELECT Opportunity.AccountId FROM OpportunityLineItem WHERE Opportunity.StageName IN {stages} AND Product2Id IN (SELECT Id FROM Product2 WHERE {window})"
            ),
            false,
            "Opportunity.AccountId",
            None,
        ),
    ]
}

/// A planning row as a candidate of its account: with its content fingerprint when the row
/// carries content and is not deleted (it may be flexbridge's own echo), else planned anyway.
fn window_candidate(
    q: &WindowQuery,
    r: &Value,
    content: Option<&echo::Fields>,
    candidates: &mut echo::Candidates,
) {
    let Some(account) = sf::get_path(r, q.account).and_then(Value::as_str) else {
        return;
    };
    let id = r.get("Id").and_then(Value::as_str);
    let deleted = r.get("IsDeleted").and_then(Value::as_bool) == Some(true);
    match (q.object.zip(content), id) {
        (Some((o, fields)), Some(id)) if !deleted => {
            candidates.unless(account, echo::record_key(id), fields.fingerprint(o, r))
        }
        _ => candidates.always(account),
    }
}

/// What FNO holds for one line item, as the write-back carries it (R20).
fn line_result(li: &FnoLineItem) -> LineItemResult {
    LineItemResult {
        activation_id: Some(li.activation_id.clone()),
        remaining_copies: li
            .remaining_copies
            .or_else(|| Some(li.number_of_copies? - li.fulfilled_amount.unwrap_or(0))),
    }
}

/// A line item FNO holds for one of the account's Salesforce line items (others, e.g. created
/// in FNO by hand, have nothing to write back to).
fn add_line_result(results: &mut FnoResults, li: &FnoLineItem, line_ids: &BTreeSet<&str>) {
    let Some(line) = li
        .order_line_number
        .clone()
        .filter(|l| line_ids.contains(l.as_str()))
    else {
        return;
    };
    results.line_items.insert(line, line_result(li));
}

fn line_drafts(
    drafts: &mut Vec<Draft>,
    name: &'static str,
    items: &[fno::LineItem],
    activation_ids: &[Option<String>],
    rec: &mut SalesOrderRecord,
) {
    for (i, li) in items.iter().enumerate() {
        let act = activation_ids
            .get(i)
            .cloned()
            .flatten()
            .or_else(|| li.activation_id.clone());
        let line = li.order_line_number.clone().unwrap_or_default();
        if let Some(a) = &act {
            if !line.is_empty() {
                rec.line_items.insert(line.clone(), a.clone());
            }
        }
        let d = Draft::completed(
            name,
            &line,
            format!(
                "Line item {line}: {} x{} → activation id {}",
                li.part_number,
                li.number_of_copies,
                act.as_deref().unwrap_or("(not returned)")
            ),
        )
        .request(Some(io::to_json(li)))
        .response(Some(json!({"activationId": act})));
        drafts.push(d);
    }
}

/// What the engine knows about FNO for planning: its records first, then the ids written back
/// to Salesforce (so a lost store still updates instead of creating twice).
fn known_from(records: &BTreeMap<String, SalesOrderRecord>, bundle: &AccountBundle) -> KnownFno {
    let mut k = KnownFno::default();
    for o in &bundle.opportunities {
        if let Some(e) = o
            .fno_entitlement_id
            .clone()
            .filter(|s| !s.trim().is_empty())
        {
            k.entitlements.insert(o.id.clone(), e);
        }
        for li in o.line_items() {
            if let Some(a) = li
                .fno_activation_id
                .clone()
                .filter(|s| !s.trim().is_empty())
            {
                k.activations.insert(li.id.clone(), a);
            }
        }
    }
    for (opp, r) in records {
        // Only an entitlement FNO acknowledged (or a recovered one) counts as known.
        if let Some(e) = r
            .entitlement_id
            .clone()
            .filter(|_| !r.line_items.is_empty())
        {
            k.entitlements.insert(opp.clone(), e);
        }
        for (li, a) in &r.line_items {
            k.activations.insert(li.clone(), a.clone());
        }
        // Renewal originals outside the bundle: their line items as FNO knows them.
        if !bundle.opportunities.iter().any(|o| &o.id == opp) {
            k.original_line_items.insert(
                opp.clone(),
                r.line_items
                    .iter()
                    .map(|(li, a)| KnownLineItem {
                        line_item_id: li.clone(),
                        activation_id: a.clone(),
                        part_number: None,
                    })
                    .collect(),
            );
        }
    }
    k
}

fn join_reasons(errs: &[mapping::RuleError]) -> String {
    errs.iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn failure_draft(
    name: &'static str,
    record_id: &str,
    message: String,
    f: &CallFailure,
    request: Option<Value>,
) -> Draft {
    let status = if f.unexpected {
        LogStatus::Error
    } else {
        LogStatus::Failed
    };
    Draft::new(name, status, Some(record_id), message)
        .reason(f.message.clone())
        .component(f.component)
        .request(request.or_else(|| f.request.clone()))
        .response(f.response.clone())
}

/// `sched-20261120T090000Z-1a2b3c4d`: kind, start time and a random suffix.
pub fn new_task_id(kind: RunKind, now: DateTime<Utc>) -> String {
    let k = match kind {
        RunKind::Scheduled => "sched",
        RunKind::Immediate => "imm",
        RunKind::Account => "acct",
        RunKind::Licenses => "lic",
    };
    let u = uuid::Uuid::new_v4().simple().to_string();
    format!("{k}-{}-{}", now.format("%Y%m%dT%H%M%SZ"), &u[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle() -> AccountBundle {
        let opp: sf::Opportunity = serde_json::from_value(json!({
            "Id": "006Tt0000000001AAA", "AccountId": "001Tt0000000001AAA", "StageName": "Closed Won",
            "FNO_Entitlement_ID__c": "ENT-FROM-SF",
            "OpportunityLineItems": {"totalSize": 2, "done": true, "records": [
                {"Id": "00kTt0000000001AAA", "FNO_Activation_ID__c": "ACT-FROM-SF"},
                {"Id": "00kTt0000000002AAA"}
            ]}
        }))
        .unwrap();
        AccountBundle {
            opportunities: vec![opp],
            ..Default::default()
        }
    }

    #[test]
    fn known_ids_come_from_records_first_then_from_salesforce_write_backs() {
        let b = bundle();
        let none = known_from(&BTreeMap::new(), &b);
        assert_eq!(
            none.entitlements
                .get("006Tt0000000001AAA")
                .map(String::as_str),
            Some("ENT-FROM-SF")
        );
        assert_eq!(
            none.activations
                .get("00kTt0000000001AAA")
                .map(String::as_str),
            Some("ACT-FROM-SF")
        );
        let mut rec = SalesOrderRecord {
            opportunity_id: "006Tt0000000001AAA".into(),
            entitlement_id: Some("ENT-REC".into()),
            ..Default::default()
        };
        // a pending record FNO never confirmed does not count as an entitlement in FNO
        let k = known_from(
            &BTreeMap::from([(rec.opportunity_id.clone(), rec.clone())]),
            &b,
        );
        assert_eq!(
            k.entitlements.get("006Tt0000000001AAA").map(String::as_str),
            Some("ENT-FROM-SF")
        );
        rec.line_items
            .insert("00kTt0000000002AAA".into(), "ACT-REC".into());
        let k = known_from(
            &BTreeMap::from([(rec.opportunity_id.clone(), rec.clone())]),
            &b,
        );
        assert_eq!(
            k.entitlements.get("006Tt0000000001AAA").map(String::as_str),
            Some("ENT-REC")
        );
        assert_eq!(
            k.activations.get("00kTt0000000002AAA").map(String::as_str),
            Some("ACT-REC")
        );
        // a renewal original outside the bundle gives its line items
        let orig = SalesOrderRecord {
            opportunity_id: "006Tt0000000009AAA".into(),
            entitlement_id: Some("ENT-ORIG".into()),
            line_items: BTreeMap::from([("00kTt0000000009AAA".into(), "ACT-ORIG".into())]),
            ..Default::default()
        };
        let k = known_from(&BTreeMap::from([(orig.opportunity_id.clone(), orig)]), &b);
        assert_eq!(
            k.original_line_items["006Tt0000000009AAA"][0].activation_id,
            "ACT-ORIG"
        );
    }

    #[test]
    fn r20_only_the_accounts_own_line_items_are_written_back() {
        let b = bundle();
        let ids: BTreeSet<&str> = b
            .opportunities
            .iter()
            .flat_map(|o| o.line_items())
            .map(|l| l.id.as_str())
            .collect();
        let mut results = FnoResults::default();
        let li = |line: &str| FnoLineItem {
            activation_id: "A".into(),
            entitlement_id: None,
            order_id: None,
            order_line_number: Some(line.into()),
            number_of_copies: Some(10),
            fulfilled_amount: Some(3),
            remaining_copies: None,
            state: None,
            last_modified: None,
        };
        add_line_result(&mut results, &li("00kTt0000000002AAA"), &ids);
        add_line_result(&mut results, &li("made-in-fno-by-hand"), &ids);
        assert_eq!(results.line_items.len(), 1);
        assert_eq!(
            results.line_items["00kTt0000000002AAA"].remaining_copies,
            Some(7)
        );
    }

    #[test]
    fn task_ids_name_the_kind_and_time() {
        let t = DateTime::parse_from_rfc3339("2026-11-20T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = new_task_id(RunKind::Scheduled, t);
        assert!(id.starts_with("sched-20261120T090000Z-"), "{id}");
        assert_ne!(id, new_task_id(RunKind::Scheduled, t));
    }
}
