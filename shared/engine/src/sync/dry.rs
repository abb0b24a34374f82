//! The engine side of dry runs ([`crate::dryrun`]): a twin engine over overlays and a
//! recorder, running the very code a real run runs, and the report built from what it did.

use super::*;
use crate::dryrun::{DryRunAccount, DryRunFailure, DryRunReport, Recorder, NOTE};
use crate::overlay::{OverlayLog, OverlayState};
use crate::txlog::CreatedByLog;

/// A dry run in the making: the twin engine and where its writes went.
pub struct DryRun {
    engine: Engine,
    recorder: Arc<Recorder>,
    log: Arc<OverlayLog>,
}

impl Engine {
    /// A dry run of this engine: a twin with the same clients (reads are real: Salesforce
    /// queries, FNO searches and catalogue), settings, clock and redactor, whose FNO and
    /// Salesforce writes are recorded instead of sent and whose state store and log are
    /// in-memory overlays over this engine's. Nothing the twin does is written anywhere.
    pub fn dry_run(&self) -> DryRun {
        let recorder = Arc::new(Recorder::new(self.redactor.clone()));
        let state = Arc::new(OverlayState::new(self.state.clone()));
        let log = Arc::new(OverlayLog::new(self.log.clone()));
        let engine = Engine {
            sf: io::Sf {
                client: self.sf.client.clone(),
                dry: Some(recorder.clone()),
            },
            fno: io::Fno {
                client: self.fno.client.clone(),
                dry: Some(recorder.clone()),
            },
            log: Arc::new(CreatedByLog::new(log.clone(), state.clone())),
            state,
            clock: self.clock.clone(),
            redactor: self.redactor.clone(),
            settings: std::sync::RwLock::new(self.settings()),
            catalogue: tokio::sync::Mutex::new(None),
            quota_stop: std::sync::Mutex::new(None),
            progress: self.progress.clone(),
        };
        DryRun {
            engine,
            recorder,
            log,
        }
    }
}

impl DryRun {
    /// The twin engine (its runs write nothing).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs the dry run with `config` instead of the stored mapping configuration (kept in
    /// the overlay: the stored one is not changed).
    pub async fn use_config(&self, config: &Config) -> Result<(), EngineError> {
        let v = serde_json::to_value(config).map_err(|e| EngineError::Config {
            key: CONFIG_KEY.into(),
            detail: e.to_string(),
        })?;
        self.engine.state.put_config(CONFIG_KEY, &v).await?;
        Ok(())
    }

    /// Plans and runs in process exactly as [`Engine::plan_run_with`] +
    /// [`Engine::run_in_process`] would, and reports what the run would do. `created_by`:
    /// who asked (the log's Created By of the entries it would write).
    pub async fn run(
        &self,
        kind: RunKind,
        window: Option<(Option<DateTime<Utc>>, DateTime<Utc>)>,
        account: Option<&str>,
        pick: OutstandingPick,
        created_by: Option<&str>,
    ) -> Result<DryRunReport, EngineError> {
        let mut planned = self
            .engine
            .plan_run_with(kind, window, account, pick)
            .await?;
        // its own task id, so nothing of it is ever taken for a real run's
        let task_id = format!("dry-{}", planned.run.task_id);
        planned.run.task_id = task_id.clone();
        planned.run.created_by = created_by.map(str::to_owned);
        for w in &mut planned.work {
            w.task_id = task_id.clone();
        }
        self.engine.state.put_run(&planned.run).await?;
        let report = self.engine.run_in_process(planned).await?;
        Ok(self.report(report))
    }

    /// The report of a finished dry run.
    fn report(&self, report: RunReport) -> DryRunReport {
        let RunReport { run, accounts } = report;
        let (fno_requests, salesforce_writebacks) = self.recorder.take();
        let log_entries = self.log.entries();
        let mut counts = run.counts.clone();
        counts.extend(fno_requests.counts().map(|(k, v)| (k.to_owned(), v)));
        counts.insert(
            "salesforce_writebacks".into(),
            salesforce_writebacks.len() as u64,
        );
        counts.insert("log_entries".into(), log_entries.len() as u64);
        DryRunReport {
            dry_run: true,
            task_id: run.task_id,
            kind: run.kind,
            window_from: run.window_from,
            window_to: run.window_to,
            created_by: run.created_by,
            note: NOTE.to_owned(),
            counts,
            accounts: accounts.iter().map(DryRunAccount::from_outcome).collect(),
            fno_requests,
            salesforce_writebacks,
            failures: log_entries
                .iter()
                .filter(|e| e.status != LogStatus::Completed)
                .map(DryRunFailure::from)
                .collect(),
            log_entries,
        }
    }
}
