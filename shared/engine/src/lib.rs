//! flexbridge's sync engine: plan, push (Salesforce → FNO), pull (FNO → Salesforce), and the
//! transaction log, written against the ports in [`ports`].
//!
//! # Building one
//! ```text
//! let engine = Engine::new(EngineParts {
//!     salesforce, flexnet,                 // the two concrete clients
//!     log: Arc<dyn TransactionLog>,        // DynamoDB (shared/aws) or SqliteStore (embedded)
//!     state: Arc<dyn StateStore>,
//!     clock: Arc<dyn Clock>,               // SystemClock in Lambda, OffsetClock locally
//!     secrets: vec![client_secret, fno_password], // removed from every log payload
//! })
//! .with_settings(EngineSettings { lookback_minutes: 15, concurrency: 4, quota_reserve_percent: 5 });
//! ```
//! The mapping configuration is read from the [`StateStore`](ports::StateStore) key
//! [`CONFIG_KEY`] (`"config"`, the `mapping::Config` JSON the admin API writes), falling back to
//! `Config::default()`; [`EngineSettings`] from key [`SETTINGS_KEY`] via
//! [`Engine::load_settings`].
//!
//! # Runs
//! * Cloud fan-out: [`Engine::plan_and_enqueue`]`(kind, window, &queue)` stores a
//!   [`RunRecord`](ports::RunRecord) (Running), plans the window (R21/R22) and queues one
//!   [`AccountWork`](ports::AccountWork) per account; the SQS consumer calls
//!   [`Engine::process`]`(&work)` per message (an `Err` = retry the message; rule and API
//!   problems are Failed log entries inside the `Ok` outcome); [`Engine::finish_run`] records
//!   counts and, for a scheduled run, moves the watermark.
//!   Scheduled window: `[watermark, now)` (all history before the first run), start moved back
//!   by `lookback_minutes`.
//! * In process (local runner, single-account API): [`Engine::run_scheduled`],
//!   [`Engine::run_immediate`]`(from, to)`, [`Engine::run_account`]`(id)` (R23: push only) —
//!   each returns a [`RunReport`] with one [`AccountOutcome`] (its log entries) per account.
//! * [`Engine::process_group`]`(work)` is the unit of work (R4): the accounts of an SQS batch
//!   or of a slice of an in-process run, synchronised as one group (issue 12), each with its
//!   own outcome.
//!
//! # Idempotency
//! FNO keys are stable: entitlement id = Opportunity Id, `orderId` = Opportunity Id,
//! `orderLineNumber` = OpportunityLineItem Id, `opType` CREATE_OR_UPDATE. Per sales order a
//! [`SalesOrderRecord`](ports::SalesOrderRecord) holds the entitlement id, line item →
//! activation id and the fingerprint of the last push: an unchanged order makes no FNO call; a
//! known line item is sent with its activation id (an update, never a second line). Before
//! writing to FNO the record is marked `pending:<fingerprint>`; a run that dies there leaves it
//! pending, and the next run first asks FNO (`getEntitlementLineItemPropertiesQuery` by
//! entitlement id) which line items exist, so nothing is created twice.
//!
//! # Dry runs (issue 14)
//! [`Engine::dry_run`]`()` gives a twin engine ([`DryRun`]) over the same clients whose FNO and
//! Salesforce writes are recorded, not sent, and whose store and log are in-memory overlays
//! ([`overlay`]); [`DryRun::run`] plans and runs like a real run and returns a
//! [`DryRunReport`](dryrun::DryRunReport). See [`dryrun`].
//!
//! # Transaction log (R24)
//! One [`LogEntry`](ports::LogEntry) per create/update: names in [`txlog::names`], numbers
//! from [`TransactionLog::allocate_log_numbers`](ports::TransactionLog::allocate_log_numbers)
//! (`TL-00001`…), payloads scrubbed by [`redact::Redactor`] (secret keys and values, SOAP
//! password elements). Failed = rule/API/data problem with the sentence (rule errors end in
//! `(Rn)`); Error = unexpected (component + error chain).
pub mod dryrun;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod io;
pub mod overlay;
pub mod ports;
pub mod redact;
pub mod soql;
pub mod sync;
pub mod txlog;
pub mod window;

pub use sync::*;
