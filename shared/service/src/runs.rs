//! The handlers that start and do sync work, generic over the ports:
//!
//! * [`SyncHandlers::scheduled`] — `scheduled-sync`: an EventBridge Scheduler firing (R21) →
//!   plan `[watermark − lookback, now)` → one SQS message per account → the run's record and
//!   the new watermark, stored only once every message is queued.
//! * [`SyncHandlers::immediate`] — `immediate-sync`: `POST /sync` with `{"start","end"}` or
//!   `{"hours"}` (R22) → the same planner and fan-out → `202 {taskId, accountsQueued}`.
//! * [`SyncHandlers::consume`] — `account-sync` (a): the SQS consumer, one account per
//!   message, partial batch failures ([`crate::sqs::process_batch_grouped`]).
//! * [`SyncHandlers::account`] — `account-sync` (b): `POST /accounts/{id}/sync`, one account,
//!   push only (R23), answered with its outcomes.

use crate::http::{ApiError, ApiRequest, ApiResponse};
use crate::metrics::{self, function, Calls, Emf, Metric};
use crate::source::{EngineSource, SourceError};
use crate::sqs::{error_chain, is_salesforce_id, process_batch_grouped, BatchError, Delivery};
use crate::window::parse_sync_request;
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use engine::ports::{
    AccountWork, Clock, RunKind, RunRecord, RunStatus, StateStore, StoreError, WorkQueue,
};
use engine::{Disposition, Engine, EngineError, OutstandingPick, PlannedRun};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use tracing::Instrument;

/// Page size of the outstanding list when it is counted for its metric.
const OUTSTANDING_PAGE: u32 = 1000;

/// Time kept back from an API invocation's deadline to record how its run ended.
pub const FINISH_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Value of `"source"` in the schedules' input (template.yaml).
pub const SCHEDULE_SOURCE: &str = "flexbridge.schedule";
/// Value of `"task"` in the scheduled sync's input.
pub const SCHEDULED_SYNC_TASK: &str = "scheduled-sync";

/// Why a scheduled firing did not complete. Returned to Lambda as an error, so EventBridge
/// Scheduler retries it (RetryPolicy) and finally dead-letters it (alarmed).
#[derive(Debug, thiserror::Error)]
pub enum ScheduledError {
    #[error("the scheduled-sync function received an event it does not handle: {0}")]
    BadEvent(String),
    #[error("the scheduled sync could not get its connection")]
    Source(#[source] SourceError),
    #[error("the scheduled sync failed")]
    Engine(#[source] EngineError),
    #[error("the scheduled sync could not queue its accounts (the watermark was not moved)")]
    Enqueue(#[source] StoreError),
    #[error("the scheduled sync could not record its run")]
    Store(#[source] StoreError),
}

/// One firing of the schedule, from whichever event shape delivered it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleFire {
    pub source: Option<String>,
    pub task: Option<String>,
    /// `<aws.scheduler.scheduled-time>`: when the schedule meant to fire.
    pub scheduled_time: Option<DateTime<Utc>>,
    /// `<aws.scheduler.execution-id>`.
    pub execution_id: Option<String>,
    /// `<aws.scheduler.attempt-number>` (Scheduler substitutes it as text).
    pub attempt: Option<String>,
    pub schedule_arn: Option<String>,
}

/// Reads the payload of a scheduled invocation: the input template.yaml gives EventBridge
/// Scheduler (`{"source":"flexbridge.schedule","task":"scheduled-sync","scheduledTime":…}`),
/// an EventBridge "Scheduled Event" (if the function is wired to a classic rule), or an empty
/// object (a schedule without input). Anything else — an SQS batch or an API request sent to
/// the wrong function, another task's input — is refused.
pub fn parse_schedule_event(payload: &Value, task: &str) -> Result<ScheduleFire, ScheduledError> {
    let Some(obj) = payload.as_object() else {
        if payload.is_null() {
            return Ok(ScheduleFire::default());
        }
        return Err(ScheduledError::BadEvent(
            "the payload is not a JSON object".into(),
        ));
    };
    if obj.is_empty() {
        return Ok(ScheduleFire::default());
    }
    if obj.contains_key("detail-type") {
        let e: EventBridgeEvent<Value> = serde_json::from_value(payload.clone())
            .map_err(|e| ScheduledError::BadEvent(format!("EventBridge event: {e}")))?;
        if e.detail_type != "Scheduled Event" {
            return Err(ScheduledError::BadEvent(format!(
                "EventBridge event of type '{}' (expected 'Scheduled Event')",
                e.detail_type
            )));
        }
        return Ok(ScheduleFire {
            source: Some(e.source),
            task: None,
            scheduled_time: e.time,
            execution_id: e.id,
            attempt: None,
            schedule_arn: e.resources.and_then(|r| r.into_iter().next()),
        });
    }
    if obj.contains_key("Records") || obj.contains_key("requestContext") {
        return Err(ScheduledError::BadEvent(
            "an SQS or API Gateway event (this function only runs on its schedule)".into(),
        ));
    }
    let fire: ScheduleFire = serde_json::from_value(payload.clone())
        .map_err(|e| ScheduledError::BadEvent(format!("schedule input: {e}")))?;
    if let Some(src) = fire.source.as_deref().filter(|s| *s != SCHEDULE_SOURCE) {
        return Err(ScheduledError::BadEvent(format!(
            "schedule input with source '{src}' (expected '{SCHEDULE_SOURCE}')"
        )));
    }
    if let Some(t) = fire.task.as_deref().filter(|t| *t != task) {
        return Err(ScheduledError::BadEvent(format!(
            "schedule input for task '{t}' (this function runs '{task}')"
        )));
    }
    Ok(fire)
}

/// What a scheduled firing did (the function's response; visible in the Lambda console).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct ScheduledOutcome {
    pub task_id: Option<String>,
    pub accounts_queued: usize,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    /// Why nothing was done (not connected yet, a repeated delivery).
    pub skipped: Option<String>,
}

impl ScheduledOutcome {
    fn skipped(reason: impl Into<String>) -> Self {
        ScheduledOutcome {
            task_id: None,
            accounts_queued: 0,
            window_from: None,
            window_to: None,
            skipped: Some(reason.into()),
        }
    }
}

/// Why one SQS record was not processed (becomes its batch item failure).
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("no connection for the account sync")]
    Source(#[source] SourceError),
    #[error("the account sync failed")]
    Engine(#[source] EngineError),
}

/// The same cause for every record of a batch (the backend's chain as text).
fn copy_source_error(e: &SourceError) -> SourceError {
    match e {
        SourceError::NotConnected => SourceError::NotConnected,
        SourceError::Unusable(s) => SourceError::Unusable(s.clone()),
        SourceError::Backend(b) => SourceError::Backend(error_chain(b.as_ref()).into()),
    }
}

/// The account-sync function's payload: SQS batch or API request (one function, two events).
#[derive(Debug)]
pub enum AccountSyncEvent {
    Sqs(SqsEvent),
    Http(Box<ApiGatewayV2httpRequest>),
}

impl AccountSyncEvent {
    pub fn parse(payload: Value) -> Result<Self, String> {
        if payload.get("Records").is_some() {
            serde_json::from_value(payload)
                .map(AccountSyncEvent::Sqs)
                .map_err(|e| format!("not an SQS event: {e}"))
        } else if payload.get("requestContext").is_some() {
            serde_json::from_value(payload)
                .map(|r| AccountSyncEvent::Http(Box::new(r)))
                .map_err(|e| format!("not an API Gateway HTTP API event: {e}"))
        } else {
            Err("neither an SQS event nor an API Gateway request".into())
        }
    }
}

pub use engine::ACCOUNTS_DONE;

/// The sync handlers over the ports.
pub struct SyncHandlers {
    pub engines: Arc<dyn EngineSource>,
    pub state: Arc<dyn StateStore>,
    pub queue: Arc<dyn WorkQueue>,
    /// The same clock the engine uses (R22 windows are relative to it).
    pub clock: Arc<dyn Clock>,
}

impl SyncHandlers {
    /// R21: one firing of the scheduled sync.
    #[tracing::instrument(skip_all, fields(task_id))]
    pub async fn scheduled(&self, payload: Value) -> Result<ScheduledOutcome, ScheduledError> {
        let fire = parse_schedule_event(&payload, SCHEDULED_SYNC_TASK)?;
        let engine = match self.engines.engine().await {
            Ok(e) => e,
            // R25: nothing runs before the connection is saved; not an error the schedule
            // should retry and dead-letter on a freshly deployed stack
            Err(SourceError::NotConnected) => {
                tracing::warn!(
                    "scheduled sync skipped: the connection settings are not saved yet (R25)"
                );
                return Ok(ScheduledOutcome::skipped(
                    SourceError::NotConnected.to_string(),
                ));
            }
            Err(e) => return Err(ScheduledError::Source(e)),
        };
        let guard = match self.firing_guard(&fire).await? {
            Firing::Run(guard) => guard,
            Firing::Skip(skipped) => return Ok(skipped),
        };
        // boxed: keeps the handler future small (and its type shallow for the compiler)
        let result = Box::pin(self.scheduled_run(&engine, &fire)).await;
        if let Some(lease) = guard {
            // released on success too: the watermark now tells a later delivery it is done
            self.release_firing(&lease).await;
        }
        result
    }

    async fn release_firing(&self, lease: &engine::ports::Lease) {
        if let Err(e) = self
            .state
            .release_lease(&lease.account_id, &lease.owner)
            .await
        {
            tracing::warn!(error = %error_chain(&e), "firing guard not released; it expires by itself");
        }
    }

    /// A repeated delivery of one firing does nothing: a conditional write (a lease on
    /// `firing#<scheduled time>`) keeps two deliveries from running at once, and the
    /// watermark tells a later one that the firing's run already queued its accounts.
    async fn firing_guard(&self, fire: &ScheduleFire) -> Result<Firing, ScheduledError> {
        let Some(t) = fire.scheduled_time else {
            return Ok(Firing::Run(None));
        };
        let now = self.clock.now();
        let key = format!(
            "firing#{}",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let lease = engine::ports::Lease {
            account_id: key,
            // unique per delivery
            owner: engine::new_task_id(RunKind::Scheduled, now),
            task_id: format!(
                "the delivery {} of this firing",
                fire.execution_id.as_deref().unwrap_or("-")
            ),
            until: now + chrono::Duration::minutes(15),
        };
        if let Some(held) = self
            .state
            .acquire_lease(&lease, now)
            .await
            .map_err(ScheduledError::Store)?
        {
            tracing::info!(scheduled_time = %t, "firing being handled by another delivery; nothing to do");
            return Ok(Firing::Skip(ScheduledOutcome::skipped(format!(
                "the firing scheduled for {t} is being handled by {}",
                held.task_id
            ))));
        }
        let watermark = self
            .state
            .watermark()
            .await
            .map_err(ScheduledError::Store)?;
        if watermark.is_some_and(|w| w >= t) {
            self.release_firing(&lease).await;
            tracing::info!(scheduled_time = %t, "firing already handled; nothing to do");
            return Ok(Firing::Skip(ScheduledOutcome::skipped(format!(
                "the firing scheduled for {t} was already handled (last batch fire time is later)"
            ))));
        }
        Ok(Firing::Run(Some(lease)))
    }

    async fn scheduled_run(
        &self,
        engine: &Engine,
        fire: &ScheduleFire,
    ) -> Result<ScheduledOutcome, ScheduledError> {
        tracing::info!(
            scheduled_time = ?fire.scheduled_time,
            execution_id = fire.execution_id.as_deref().unwrap_or("-"),
            attempt = fire.attempt.as_deref().unwrap_or("-"),
            "scheduled sync fired"
        );
        // read before the run moves the watermark and queues accounts (they are outstanding too)
        let emf = Emf::new(function::SCHEDULED_SYNC)
            .put_some(Metric::WatermarkAgeHours, self.watermark_age().await)
            .put_some(Metric::OutstandingOrders, self.outstanding_count().await);
        let before = Calls::of(engine);
        let mut planned = engine
            .plan_run(RunKind::Scheduled, None, None)
            .await
            .map_err(|e| {
                self.note_remote_failure(&e);
                ScheduledError::Engine(e)
            })?;
        planned.run.created_by = Some(engine::ports::CREATED_BY_SCHEDULE.to_owned());
        tracing::Span::current().record("task_id", planned.run.task_id.as_str());
        let run = self
            .start_run(engine, planned, before, emf)
            .await
            .map_err(|e| match e {
                FanOutError::Enqueue(s) => ScheduledError::Enqueue(s),
                FanOutError::Store(s) => ScheduledError::Store(s),
                FanOutError::Engine(e) => ScheduledError::Engine(e),
            })?;
        Ok(ScheduledOutcome {
            task_id: Some(run.task_id.clone()),
            accounts_queued: run.accounts_planned as usize,
            window_from: run.window_from,
            window_to: run.window_to,
            skipped: None,
        })
    }

    /// [`Self::start_run`] of an API-started run: recorded as started by `caller`, its errors
    /// as API errors.
    async fn fan_out_api(
        &self,
        engine: &Engine,
        mut planned: PlannedRun,
        caller: Option<&str>,
        (before, emf): (Calls, Emf),
    ) -> Result<RunRecord, ApiError> {
        planned.run.created_by = Some(created_by(caller));
        self.start_run(engine, planned, before, emf)
            .await
            .map_err(|e| match e {
                FanOutError::Enqueue(s) => ApiError::internal("queuing the accounts", s),
                FanOutError::Store(s) => ApiError::from(s),
                FanOutError::Engine(e) => ApiError::from(e),
            })
    }

    /// [`Self::fan_out`], measured: the run started (or aborted, or completed at once when it
    /// has no accounts), the accounts it queued and the calls its planning made, on top of
    /// what `emf` (the function's line) already holds.
    async fn start_run(
        &self,
        engine: &Engine,
        planned: PlannedRun,
        before: Calls,
        emf: Emf,
    ) -> Result<RunRecord, FanOutError> {
        let f = emf.function();
        let emf = emf
            .kind(planned.run.kind)
            .prop("TaskId", planned.run.task_id.as_str());
        let queued = planned.work.len() as f64;
        let result = self.fan_out(engine, planned).await;
        let now = self.clock.now();
        let emf = before.since(engine, emf);
        match &result {
            Ok(run) => {
                emf.put(Metric::RunsStarted, 1.0)
                    .put(Metric::AccountsQueued, queued)
                    .emit(now);
                metrics::run_finished(f, run).emit(now);
            }
            Err(FanOutError::Enqueue(_)) => emf.put(Metric::RunsAborted, 1.0).emit(now),
            Err(_) => emf.emit(now),
        }
        result
    }

    /// Hours since the last batch fire time (None before the first run, or unreadable).
    async fn watermark_age(&self) -> Option<f64> {
        match self.state.watermark().await {
            Ok(w) => w.map(|w| (self.clock.now() - w).num_seconds().max(0) as f64 / 3600.0),
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "watermark not read for its age metric");
                None
            }
        }
    }

    /// Items on the outstanding list (read in pages of [`OUTSTANDING_PAGE`]).
    async fn outstanding_count(&self) -> Option<f64> {
        let (mut n, mut cursor) = (0usize, None);
        loop {
            match self
                .state
                .list_outstanding(None, OUTSTANDING_PAGE, cursor)
                .await
            {
                Ok(page) => {
                    n += page.items.len();
                    cursor = page.next_cursor;
                    if cursor.is_none() {
                        return Some(n as f64);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %error_chain(&e), "outstanding list not counted");
                    return None;
                }
            }
        }
    }

    /// Queue the planned work; then record the run and (scheduled) move the watermark — only
    /// once every message is queued (R21: a failed fan-out leaves the window to the next run).
    async fn fan_out(
        &self,
        engine: &Engine,
        planned: PlannedRun,
    ) -> Result<RunRecord, FanOutError> {
        let PlannedRun { mut run, work } = planned;
        // queued accounts are outstanding until synced: a lost or dead-lettered message is
        // re-planned by a later scheduled run, so moving the watermark never strands one
        engine
            .mark_queued(&work)
            .await
            .map_err(FanOutError::Engine)?;
        if let Err(e) = self.queue.enqueue(&work).await {
            run.status = RunStatus::Aborted;
            run.finished = Some(self.clock.now());
            run.detail = Some(format!("queuing the accounts failed: {}", error_chain(&e)));
            if let Err(store) = self.state.put_run(&run).await {
                tracing::error!(error = %error_chain(&store), "could not record the aborted run");
            }
            return Err(FanOutError::Enqueue(e));
        }
        run.counts
            .insert("accounts_queued".into(), work.len() as u64);
        if work.is_empty() {
            // nothing to do: the run is complete now (and a scheduled one moves the watermark)
            self.state.put_run(&run).await.map_err(FanOutError::Store)?;
            return engine
                .finish_run(run, &[])
                .await
                .map_err(FanOutError::Engine);
        }
        self.state.put_run(&run).await.map_err(FanOutError::Store)?;
        if run.kind == RunKind::Scheduled {
            if let Some(to) = run.window_to {
                self.state
                    .set_watermark(to)
                    .await
                    .map_err(FanOutError::Store)?;
            }
        }
        tracing::info!(task_id = %run.task_id, accounts = work.len(), "accounts queued");
        Ok(run)
    }

    /// R22: `POST /sync`.
    #[tracing::instrument(skip_all, fields(caller = req.caller.as_deref().unwrap_or("-")))]
    pub async fn immediate(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        // bounded like every admin body: size, string lengths, no control characters
        let body = crate::http::body_object(req)?;
        crate::http::check_strings(&body, "", crate::http::MAX_STRING_CHARS)?;
        let request = parse_sync_request(req.body.as_deref(), self.clock.now())?;
        let pick = match (request.outstanding, request.window) {
            (true, None) => OutstandingPick::Only,
            (true, Some(_)) => OutstandingPick::All,
            (false, _) => OutstandingPick::None,
        };
        let window = request.window.map(|w| (Some(w.from), w.to));
        if request.dry_run {
            let target = (RunKind::Immediate, window, None);
            return self.dry_run(target, pick, req.caller.as_deref()).await;
        }
        let engine = self.engines.engine().await?;
        let before = Calls::of(&engine);
        let planned = engine
            .plan_run_with(RunKind::Immediate, window, None, pick)
            .await
            .map_err(|e| {
                self.note_remote_failure(&e);
                ApiError::from(e)
            })?;
        let emf = Emf::new(function::IMMEDIATE_SYNC);
        let run = self
            .fan_out_api(&engine, planned, req.caller.as_deref(), (before, emf))
            .await?;
        Ok(ApiResponse::json(
            202,
            json!({
                "task_id": run.task_id,
                "accounts_queued": run.accounts_planned,
                "window": request.window.map(|w| json!({"from": w.from, "to": w.to})),
                "outstanding": request.outstanding,
                "status": run.status,
            }),
        ))
    }

    /// Issue 14: a dry run in this invocation — planned and mapped exactly as the real run
    /// would be, nothing queued, sent to FNO, written to Salesforce or stored — answered `200`
    /// with its [`engine::dryrun::DryRunReport`].
    async fn dry_run(
        &self,
        (kind, window, account): (RunKind, RunWindow, Option<&str>),
        pick: OutstandingPick,
        caller: Option<&str>,
    ) -> Result<ApiResponse, ApiError> {
        let engine = self.engines.engine().await?;
        let report = engine
            .dry_run()
            .run(kind, window, account, pick, Some(&created_by(caller)))
            .await
            .map_err(|e| {
                self.note_remote_failure(&e);
                ApiError::from(e)
            })?;
        tracing::info!(task_id = %report.task_id, accounts = report.accounts.len(), "dry run done; nothing written");
        Ok(ApiResponse::json(200, report))
    }

    /// R23: `POST /accounts/{id}/sync[?wait=true][?dry_run=true]` — one account, push only.
    /// Answers `202 {"task_id", …}` at once and leaves the work to the queue consumer (the
    /// guide: "a message will indicate that the syncing has started"; `GET /runs/{task_id}`
    /// follows it); `?wait=true` syncs in this invocation and answers with the outcome (for
    /// scripts); `?dry_run=true` answers with what the sync would do, doing nothing.
    #[tracing::instrument(skip_all, fields(account_id = %account_id))]
    pub async fn account(
        &self,
        req: &ApiRequest,
        account_id: &str,
    ) -> Result<ApiResponse, ApiError> {
        crate::http::check_query(req)?;
        let wait = bool_param(req, "wait")?;
        let dry_run = bool_param(req, "dry_run")?;
        if let Some(k) = req
            .query
            .keys()
            .find(|k| !["wait", "dry_run"].contains(&k.as_str()))
        {
            return Err(ApiError::bad_request(
                k,
                "unknown query parameter; this route takes only wait=true|false and dry_run=true|false",
            ));
        }
        check_account_id(account_id)?;
        if dry_run {
            let target = (RunKind::Account, None, Some(account_id));
            return self
                .dry_run(target, OutstandingPick::None, req.caller.as_deref())
                .await;
        }
        if wait {
            self.account_now(account_id, req.caller.as_deref()).await
        } else {
            self.account_queued(account_id, req.caller.as_deref()).await
        }
    }

    /// The asynchronous single-account sync: the run is recorded and its one message queued;
    /// the account-sync function's SQS side does the work (push only, R23).
    async fn account_queued(
        &self,
        account_id: &str,
        caller: Option<&str>,
    ) -> Result<ApiResponse, ApiError> {
        let engine = self.engines.engine().await?;
        // a worker holds the account: say so now rather than queue a message that must wait
        let id18 = engine::soql::id18(account_id);
        if let Some(lease) = self.state.lease(&id18).await? {
            if lease.until > self.clock.now() {
                return Err(ApiError::from(EngineError::Busy {
                    account_id: id18,
                    task_id: lease.task_id,
                    until: lease.until,
                }));
            }
        }
        let before = Calls::of(&engine);
        let planned = engine
            .plan_run(RunKind::Account, None, Some(account_id))
            .await
            .map_err(|e| {
                self.note_remote_failure(&e);
                ApiError::from(e)
            })?;
        let emf = Emf::new(function::ACCOUNT_SYNC);
        let run = self
            .fan_out_api(&engine, planned, caller, (before, emf))
            .await?;
        Ok(ApiResponse::json(
            202,
            json!({
                "task_id": run.task_id,
                "account_id": account_id,
                "status": run.status,
                "message": format!(
                    "The sync of account {account_id} with FlexNet Operations has started (push only, R23); task {}",
                    run.task_id
                ),
                "progress": format!("GET /runs/{}", run.task_id),
            }),
        ))
    }

    /// `?wait=true`: one account synced in this invocation, answered with its entries.
    async fn account_now(
        &self,
        account_id: &str,
        caller: Option<&str>,
    ) -> Result<ApiResponse, ApiError> {
        let engine = self.engines.engine().await?;
        let (before, started) = (Calls::of(&engine), std::time::Instant::now());
        let report = async {
            let mut planned = engine
                .plan_run(RunKind::Account, None, Some(account_id))
                .await?;
            planned.run.created_by = Some(created_by(caller));
            self.state.put_run(&planned.run).await?;
            engine.run_in_process(planned).await
        }
        .await
        .map_err(|e| {
            self.note_remote_failure(&e);
            ApiError::from(e)
        })?;
        let outcome = report.accounts.into_iter().next().unwrap_or_default();
        let (f, now) = (function::ACCOUNT_SYNC, self.clock.now());
        metrics::account(
            f,
            RunKind::Account,
            &report.run.task_id,
            &outcome,
            started.elapsed(),
        )
        .emit(now);
        metrics::run_finished(f, &report.run).emit(now);
        before
            .since(&engine, Emf::new(f).kind(RunKind::Account))
            .emit(now);
        if outcome.count(engine::ports::LogStatus::Completed) < outcome.entries.len() {
            // something failed: maybe credentials changed; re-read the settings next time
            self.engines.refused();
        }
        let entries: Vec<Value> = outcome
            .entries
            .iter()
            .map(|e| {
                json!({
                    "log_number": e.log_number, "name": e.name, "status": e.status,
                    "record_id": e.record_id, "message": e.message, "reason": e.reason,
                })
            })
            .collect();
        Ok(ApiResponse::json(
            200,
            json!({
                "task_id": report.run.task_id,
                "account_id": account_id,
                "account_name": outcome.account_name,
                "direction": "Salesforce → FlexNet Operations (push only, R23)",
                "status": report.run.status,
                "counts": report.run.counts,
                "entries": entries,
                "skipped": outcome.skipped,
                "details": format!("GET /logs?task={} has each entry's request and response", report.run.task_id),
            }),
        ))
    }

    /// The SQS consumer: one account per message; failed ones are reported for retry.
    /// Temporary failures fail the record (SQS delivers it again, then dead-letters it — the
    /// account stays outstanding either way); a busy account or a spent quota makes the
    /// message visible again only when it can succeed (ChangeMessageVisibility); permanent
    /// causes are logged by the engine and acknowledged. No account starts with less than
    /// [`crate::sqs::DEADLINE_MARGIN`] of the invocation left (`deadline`).
    #[tracing::instrument(skip_all, fields(records = event.records.len()))]
    pub async fn consume(
        &self,
        event: SqsEvent,
        deadline: Option<std::time::Instant>,
    ) -> Result<SqsBatchResponse, BatchError> {
        // A warm container keeps its engine: each invocation reads the FNO catalogue afresh,
        // so a product deployed since the last one makes its waiting orders eligible.
        let engine = self.engines.engine().await.ok();
        if let Some(engine) = &engine {
            engine.reset_catalogue().await;
        }
        let before = engine.as_deref().map(Calls::of);
        let tasks = std::sync::Mutex::new(std::collections::BTreeSet::new());
        let tasks_seen = &tasks;
        // the batch is one group: one bulk Salesforce read, batched FNO calls and write-back
        let response = process_batch_grouped(
            event,
            deadline,
            |work: Vec<(AccountWork, Delivery)>| async move {
                let engine = match self.engines.engine().await {
                    Ok(e) => e,
                    Err(e) => {
                        return work
                            .iter()
                            .map(|_| Err(ConsumeError::Source(copy_source_error(&e))))
                            .collect()
                    }
                };
                tasks_seen
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(work.iter().map(|(w, _)| w.task_id.clone()));
                // per-call timeouts fit the invocation's remaining time
                engine.set_deadline(deadline);
                let items: Vec<AccountWork> = work.iter().map(|(w, _)| w.clone()).collect();
                // every line logged in the batch names its run(s) and accounts; each account's
                // own steps add an `account` span (engine::sync::group)
                let tasks: std::collections::BTreeSet<&str> =
                    items.iter().map(|w| w.task_id.as_str()).collect();
                let ids: Vec<&str> = items.iter().map(|w| w.account_id.as_str()).collect();
                let span = tracing::info_span!(
                    "batch",
                    task_id = %tasks.into_iter().collect::<Vec<_>>().join(","),
                    account_ids = %ids.join(","),
                    accounts = items.len()
                );
                let started = std::time::Instant::now();
                let results = engine.process_group(&items).instrument(span).await;
                let mut out = Vec::with_capacity(results.len());
                for ((w, d), r) in work.iter().zip(results) {
                    out.push(self.account_result(&engine, w, d, r, started).await);
                }
                out
            },
        )
        .await;
        // the invocation's calls (its accounts share the engine, so they are counted together)
        if let (Some(engine), Some(before)) = (engine, before) {
            let tasks: Vec<String> = tasks
                .into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .into_iter()
                .collect();
            let emf = Emf::new(function::ACCOUNT_SYNC).prop("TaskIds", tasks);
            before.since(&engine, emf).emit(self.clock.now());
        }
        response
    }

    /// One account of a batch: its progress on the run, or why its message is retried.
    async fn account_result(
        &self,
        engine: &Engine,
        work: &AccountWork,
        delivery: &Delivery,
        r: Result<engine::sync::AccountOutcome, EngineError>,
        started: std::time::Instant,
    ) -> Result<(), ConsumeError> {
        match r {
            Ok(outcome) => {
                let f = function::ACCOUNT_SYNC;
                metrics::account(f, work.kind, &work.task_id, &outcome, started.elapsed())
                    .emit(self.clock.now());
                if outcome.entries.iter().any(|e| {
                    e.name == engine::txlog::names::ACCOUNT_SYNC
                        && e.status != engine::ports::LogStatus::Completed
                }) {
                    // a permanent refusal: maybe the credentials were rotated meanwhile
                    self.engines.refused();
                }
                tracing::info!(
                    task_id = %work.task_id,
                    account_id = %work.account_id,
                    entries = outcome.entries.len(),
                    failed = outcome.count(engine::ports::LogStatus::Failed),
                    outstanding = outcome.outstanding.len(),
                    "account synced"
                );
                // the account's work is done and idempotent: a failed counter update is
                // logged, not retried (a retry would redo the whole account)
                match engine.account_done(&work.task_id, &outcome).await {
                    Ok(Some(run)) if just_completed(&run) => {
                        metrics::run_finished(f, &run).emit(self.clock.now());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(task_id = %work.task_id, error = %error_chain(&e), "run progress not recorded");
                    }
                }
                Ok(())
            }
            Err(e) => {
                self.note_remote_failure(&e);
                self.wait_if_asked(engine, work, delivery, &e).await;
                Err(ConsumeError::Engine(e))
            }
        }
    }

    /// A message that must wait (quota spent, account busy) becomes visible again only then;
    /// a quota wait is shown on the run.
    async fn wait_if_asked(
        &self,
        engine: &Engine,
        work: &AccountWork,
        d: &Delivery,
        e: &EngineError,
    ) {
        let Disposition::Wait(after) = e.disposition(&engine.settings()) else {
            return;
        };
        if let Some(receipt) = d.receipt_handle.as_deref() {
            if let Err(err) = self.queue.retry_later(receipt, after).await {
                tracing::warn!(error = %error_chain(&err), "message visibility not changed; SQS retries it after its visibility timeout");
            }
        }
        if !matches!(e, EngineError::Busy { .. }) {
            let until = self.clock.now() + chrono::Duration::from_std(after).unwrap_or_default();
            if let Err(err) = engine.run_waiting_for_quota(&work.task_id, until).await {
                tracing::warn!(error = %error_chain(&err), "quota wait not recorded on the run");
            }
        }
    }

    /// Bounds this invocation's Salesforce and FNO calls by the Lambda deadline less
    /// [`FINISH_MARGIN`], so a slow org or tenant makes the run end Aborted (recorded) rather
    /// than leaving it `running` when the function times out. None lifts the bound.
    pub async fn bound_by(&self, deadline: Option<std::time::Instant>) {
        if let Ok(engine) = self.engines.engine().await {
            engine.set_deadline(deadline.map(|d| d.checked_sub(FINISH_MARGIN).unwrap_or(d)));
        }
    }

    /// Routes of the immediate-sync function.
    pub async fn route_immediate(&self, req: ApiRequest) -> Result<ApiResponse, ApiError> {
        match (req.method.as_str(), req.segments().as_slice()) {
            ("POST", ["sync"]) => self.immediate(&req).await,
            _ => Err(no_route(&req)),
        }
    }

    /// Routes of the account-sync function.
    pub async fn route_account(&self, req: ApiRequest) -> Result<ApiResponse, ApiError> {
        match (req.method.as_str(), req.segments().as_slice()) {
            ("POST", ["accounts", id, "sync"]) => self.account(&req, id).await,
            _ => Err(no_route(&req)),
        }
    }

    /// The account-sync function: an SQS batch or `POST /accounts/{id}/sync`.
    pub async fn account_sync_event(
        &self,
        payload: Value,
        deadline: Option<std::time::Instant>,
    ) -> Result<Value, AccountSyncError> {
        match AccountSyncEvent::parse(payload).map_err(AccountSyncError::BadEvent)? {
            AccountSyncEvent::Sqs(e) => {
                let r = self
                    .consume(e, deadline)
                    .await
                    .map_err(AccountSyncError::Batch)?;
                serde_json::to_value(r).map_err(AccountSyncError::Serialise)
            }
            AccountSyncEvent::Http(req) => {
                self.bound_by(deadline).await;
                let r = crate::apigw::serve(*req, |r| self.route_account(r)).await;
                serde_json::to_value(r).map_err(AccountSyncError::Serialise)
            }
        }
    }

    /// Salesforce or FNO failed: maybe the credentials were re-saved or rotated.
    fn note_remote_failure(&self, e: &EngineError) {
        if matches!(e, EngineError::Salesforce(_) | EngineError::Flexnet(_)) {
            self.engines.refused();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountSyncError {
    #[error("the account-sync function received an event it does not handle: {0}")]
    BadEvent(String),
    #[error(transparent)]
    Batch(BatchError),
    #[error("serialising the response")]
    Serialise(#[source] serde_json::Error),
}

/// What the firing guard decided: run (holding the firing's lease, if it has a scheduled
/// time), or skip a repeated delivery.
enum Firing {
    Run(Option<engine::ports::Lease>),
    Skip(ScheduledOutcome),
}

#[derive(Debug)]
enum FanOutError {
    Enqueue(StoreError),
    Store(StoreError),
    Engine(EngineError),
}

/// A run's window `[from, to)` (from the start of history when `from` is None).
type RunWindow = Option<(Option<DateTime<Utc>>, DateTime<Utc>)>;

/// An optional `true|false` query parameter (absent: false); anything else is a 400 naming it.
fn bool_param(req: &ApiRequest, name: &str) -> Result<bool, ApiError> {
    match req.query.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(
            name,
            format!(
                "'{}' is not true or false",
                other.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// R23: only a well-formed Salesforce id gets as far as SOQL.
fn check_account_id(account_id: &str) -> Result<(), ApiError> {
    if is_salesforce_id(account_id) {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "id",
        format!(
            "'{}' is not a Salesforce Account Id (15 or 18 letters and digits) (R23)",
            account_id.chars().take(40).collect::<String>()
        ),
    ))
}

/// Who started a run (the log's Created By): the IAM principal that signed the API request,
/// or [`engine::ports::CREATED_BY_API`] for a direct call without one.
pub fn created_by(caller: Option<&str>) -> String {
    caller
        .filter(|c| !c.trim().is_empty())
        .unwrap_or(engine::ports::CREATED_BY_API)
        .to_owned()
}

/// The run was completed by the account just done: its count of accounts done reached the
/// plan exactly (a message delivered again after that counts past it, and is not reported).
fn just_completed(run: &RunRecord) -> bool {
    run.status == RunStatus::Completed
        && run.counts.get(ACCOUNTS_DONE).copied() == Some(u64::from(run.accounts_planned))
}

fn no_route(req: &ApiRequest) -> ApiError {
    crate::http::no_route(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r21_schedule_inputs_are_read_and_strangers_refused() {
        let f = parse_schedule_event(
            &json!({"source": "flexbridge.schedule", "task": "scheduled-sync",
                    "scheduledTime": "2026-11-20T02:00:00Z", "executionId": "d32c5kddcf5bb8c3",
                    "attempt": "1", "scheduleArn": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/fb-scheduled-sync"}),
            SCHEDULED_SYNC_TASK,
        )
        .unwrap();
        assert_eq!(
            f.scheduled_time,
            Some("2026-11-20T02:00:00Z".parse().unwrap())
        );
        assert_eq!(f.attempt.as_deref(), Some("1"));
        let f = parse_schedule_event(
            &json!({"version": "0", "id": "89d1a02d", "detail-type": "Scheduled Event",
                    "source": "aws.events", "account": "123456789012", "time": "2026-11-20T02:00:00Z",
                    "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/x"], "detail": {}}),
            SCHEDULED_SYNC_TASK,
        )
        .unwrap();
        assert_eq!(f.execution_id.as_deref(), Some("89d1a02d"));
        assert_eq!(
            parse_schedule_event(&json!({}), SCHEDULED_SYNC_TASK).unwrap(),
            ScheduleFire::default()
        );
        for bad in [
            json!({"Records": []}),
            json!({"source": "flexbridge.schedule", "task": "license-info"}),
            json!({"source": "someone.else"}),
            json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}}),
            json!({"scheduledTime": "yesterday"}),
            json!([1, 2]),
        ] {
            assert!(
                matches!(
                    parse_schedule_event(&bad, SCHEDULED_SYNC_TASK),
                    Err(ScheduledError::BadEvent(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn account_sync_events_are_told_apart() {
        assert!(matches!(
            AccountSyncEvent::parse(json!({"Records": []})),
            Ok(AccountSyncEvent::Sqs(_))
        ));
        assert!(matches!(
            AccountSyncEvent::parse(json!({"rawPath": "/accounts/x/sync",
                "requestContext": {"http": {"method": "POST"}}})),
            Ok(AccountSyncEvent::Http(_))
        ));
        assert!(AccountSyncEvent::parse(json!({"hello": 1})).is_err());
    }
}
