//! `flexbridge`: the connector on one machine, against the simulated org and tenant.
//!
//! * `flexbridge demo` — the bundled demo fixture, a scheduled sync, a readable summary.
//! * `flexbridge run --fixture F --mode scheduled|immediate|account … --out DIR` — any fixture
//!   and configuration; writes salesforce.json, flexnet.json, logs.json, summary.json. With
//!   `--dry-run`: what the run would do, written nowhere but DIR/dry-run.json.
//! * `flexbridge licenses --fixture F` — license information ingestion (R26–R32), as a table.
//! * `flexbridge admin --api URL <command>` — a deployed stack's admin API, SigV4-signed.

use clap::{Parser, Subcommand, ValueEnum};
use engine::ports::RunKind;
use engine::{EngineSettings, RunReport};
use flexbridge::report::{self, Calls};
use flexbridge::stack::{self, Stack, StackOptions};
use flexbridge::{error_chain, write_json, RunnerError};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "flexbridge",
    version,
    about = "Salesforce ⇄ FlexNet Operations connector — local runner"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Mode {
    /// R21: everything changed since the last run (all history on a fresh store), push then pull.
    Scheduled,
    /// R22: changes in a window (--hours or --from/--to), push then pull.
    Immediate,
    /// R23: one account (--account), push only.
    Account,
}

// parsed once per process: the size of `Run` (fault flags included) costs nothing
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Full scheduled sync of the bundled demo org and tenant; prints what it did.
    Demo {
        /// Where the state dumps, logs and summary go.
        #[arg(long, default_value = ".flexbridge/demo")]
        out: PathBuf,
    },
    /// Run the engine on a fixture file.
    Run {
        /// Fixture file: {"salesforce": {...}, "flexnet": {...}, "now": "..."} (tests/fixtures/README.md).
        #[arg(long)]
        fixture: PathBuf,
        /// Mapping and filter configuration (JSON of shared/mapping's Config); default: the guide's.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, value_enum)]
        mode: Mode,
        /// Immediate sync: the last N hours (R22).
        #[arg(long, conflicts_with_all = ["from", "to"], allow_negative_numbers = true)]
        hours: Option<i64>,
        /// Immediate sync: window start (ISO date or date-time, UTC when no offset).
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Immediate sync: window end (exclusive).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Account sync: the Salesforce Account Id (R23).
        #[arg(long)]
        account: Option<String>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Keep the sync state (watermark, sales-order records, log) in this directory across
        /// runs; default: a fresh in-memory store per run.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Lookback overlap of the window start, minutes, 0 to 10080 (default 15).
        #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(EngineSettings::LOOKBACK_MINUTES))]
        lookback_minutes: Option<i64>,
        /// Accounts synced at once, 1 to 64 (default 4).
        #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(*EngineSettings::CONCURRENCY.start() as u64..=*EngineSettings::CONCURRENCY.end() as u64))]
        concurrency: Option<usize>,
        /// Plan and map as the run would, send and store nothing: writes only OUT/dry-run.json
        /// (accounts, FNO requests, Salesforce write-backs, the log entries it would write).
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        faults: Faults,
    },
    /// Call a deployed stack's admin API (SigV4-signed with the standard AWS credentials).
    Admin {
        #[command(flatten)]
        target: flexbridge::admin::Target,
        #[command(subcommand)]
        command: flexbridge::admin::AdminCommand,
    },
    /// Ingest license information from a fixture's org and print the license table.
    Licenses {
        #[arg(long)]
        fixture: PathBuf,
        /// Keep the license records (and their manual fields) in this directory across runs.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Also write licenses.json (what `GET /licenses` shows) and logs.json here (and
        /// users.json, history.json, unused.json with --users, --history, --unused-days).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Manual licenses, manual fields and SKUs from this JSON file
        /// (tests/fixtures/licenses/manual.json shows the format).
        #[arg(long)]
        manual: Option<PathBuf>,
        /// Also print the Users view: active users, their SKU-configured licenses, last login (R30).
        #[arg(long)]
        users: bool,
        /// Also print the usage history kept in --state (R32).
        #[arg(long)]
        history: bool,
        /// Also print the unused-license finder: holders with no login in N days (1 to 3650).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        unused_days: Option<u32>,
    },
}

/// A probability flag: a number from 0 to 1.
fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{s:?} is not a rate from 0 to 1 (e.g. 0.05)")),
    }
}

/// The simulators' fault injection, to watch the engine ride out failures (rates are per call).
#[derive(clap::Args, Debug, Default)]
#[command(next_help_heading = "Faults (simulators)")]
struct Faults {
    /// Seed of both simulators' fault draws (same seed, same faults at --concurrency 1).
    #[arg(long)]
    fault_seed: Option<u64>,
    /// Salesforce data calls answered HTTP 500 UNKNOWN_EXCEPTION.
    #[arg(long, value_parser = rate, default_value_t = 0.0, allow_negative_numbers = true)]
    sf_http_500_rate: f64,
    /// Salesforce data calls held past the client's timeout.
    #[arg(long, value_parser = rate, default_value_t = 0.0, allow_negative_numbers = true)]
    sf_timeout_rate: f64,
    /// Salesforce records written that fail UNABLE_TO_LOCK_ROW.
    #[arg(long, value_parser = rate, default_value_t = 0.0, allow_negative_numbers = true)]
    sf_lock_row_rate: f64,
    /// Every Salesforce session expires after N data calls (401 mid-run).
    #[arg(long)]
    sf_expire_session_after: Option<u64>,
    /// FNO calls answered HTTP 500 (an HTML page).
    #[arg(long, value_parser = rate, default_value_t = 0.0, allow_negative_numbers = true)]
    fno_http_500_rate: f64,
    /// FNO calls held past the client's timeout.
    #[arg(long, value_parser = rate, default_value_t = 0.0, allow_negative_numbers = true)]
    fno_timeout_rate: f64,
    /// FNO calls answered with a SOAP fault (HTTP 500).
    #[arg(long, value_parser = rate, default_value_t = 0.0, allow_negative_numbers = true)]
    fno_soap_fault_rate: f64,
    /// FNO calls answered statusInfo FAILURE (nothing processed).
    #[arg(long, value_parser = rate, default_value_t = 0.0, allow_negative_numbers = true)]
    fno_failure_rate: f64,
    /// FNO calls applied, then the connection closed before the reply.
    #[arg(long, value_parser = rate, default_value_t = 0.0, allow_negative_numbers = true)]
    fno_lost_reply_rate: f64,
}

/// A simulated timeout holds the answer this long; the clients give up before.
const FAULT_TIMEOUT_DELAY: std::time::Duration = std::time::Duration::from_secs(3);
const FAULT_CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

impl Faults {
    /// The stack options that inject these faults.
    fn stack_options(&self) -> StackOptions {
        let mut o = StackOptions::default();
        let (sf, fno) = (&mut o.salesforce, &mut o.flexnet);
        if let Some(seed) = self.fault_seed {
            (sf.seed, fno.seed) = (seed, seed);
        }
        sf.http_500_rate = self.sf_http_500_rate;
        sf.timeout_rate = self.sf_timeout_rate;
        sf.lock_row_rate = self.sf_lock_row_rate;
        sf.expire_session_after = self.sf_expire_session_after;
        fno.http_500_rate = self.fno_http_500_rate;
        fno.timeout_rate = self.fno_timeout_rate;
        fno.soap_fault_rate = self.fno_soap_fault_rate;
        fno.failure_rate = self.fno_failure_rate;
        fno.lost_reply_rate = self.fno_lost_reply_rate;
        if self.sf_timeout_rate > 0.0 || self.fno_timeout_rate > 0.0 {
            (sf.timeout_delay, fno.timeout_delay) = (FAULT_TIMEOUT_DELAY, FAULT_TIMEOUT_DELAY);
            o.client_timeout = Some(FAULT_CLIENT_TIMEOUT);
        }
        o
    }
}

/// Reads the user's JSON file `path`; `what` names its role in errors.
fn read_json(what: &'static str, path: &Path) -> Result<Value, RunnerError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunnerError::Read {
        what,
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| RunnerError::Json {
        what,
        path: path.display().to_string(),
        source,
    })
}

fn load_config(path: &Path) -> Result<mapping::Config, RunnerError> {
    mapping::Config::from_json(read_json("mapping configuration", path)?).map_err(|detail| {
        RunnerError::Config {
            path: path.display().to_string(),
            detail,
        }
    })
}

/// A progress line `accounts done / total` when stdout is a terminal.
fn progress() -> Option<engine::Progress> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    Some(Arc::new(|done, total| {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\r\x1b[Ksyncing accounts: {done}/{total}");
        if done == total {
            let _ = writeln!(out);
        }
        let _ = out.flush();
    }))
}

struct RunArgs {
    fixture: Value,
    config: Option<mapping::Config>,
    mode: Mode,
    window_body: Option<String>,
    account: Option<String>,
    out: PathBuf,
    state: Option<PathBuf>,
    settings: EngineSettings,
    faults: Faults,
}

/// A window `[from, to)`, from the start of history when `from` is None.
type RunWindow = Option<(
    Option<chrono::DateTime<chrono::Utc>>,
    chrono::DateTime<chrono::Utc>,
)>;

/// The run `--mode` and its flags ask for: its kind, window and account.
fn run_target(
    args: &RunArgs,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(RunKind, RunWindow, Option<&str>), RunnerError> {
    match args.mode {
        Mode::Scheduled => Ok((RunKind::Scheduled, None, None)),
        Mode::Immediate => {
            let w =
                engine::window::parse_window(args.window_body.as_deref(), now).map_err(|e| {
                    // The window's fields are flags here: name the flag at fault (R22).
                    let flag = match e.field.as_str() {
                        "hours" => "--hours",
                        "start" => "--from",
                        "end" => "--to",
                        other => other,
                    };
                    RunnerError::Usage(format!("{flag}: {}", e.message))
                })?;
            Ok((RunKind::Immediate, Some((Some(w.from), w.to)), None))
        }
        Mode::Account => {
            let id = args.account.as_deref().ok_or_else(|| {
                RunnerError::Usage(
                    "--mode account needs --account <Salesforce Account Id> (R23)".into(),
                )
            })?;
            if !engine::soql::is_id(id) {
                return Err(RunnerError::Usage(format!(
                    "--account '{id}' is not a Salesforce Account Id (15 or 18 letters and digits) (R23)"
                )));
            }
            Ok((RunKind::Account, None, Some(id)))
        }
    }
}

/// The stack of a `run` or `demo`: the fixture's simulators and the store, after the output
/// directory is made. `store_config`: `--config` is stored (a dry run stores nothing).
async fn start_stack(args: &RunArgs, store_config: bool) -> Result<Stack, RunnerError> {
    std::fs::create_dir_all(&args.out).map_err(|source| RunnerError::Write {
        what: "--out directory",
        path: args.out.display().to_string(),
        source,
    })?;
    Stack::start(
        &args.fixture,
        StackOptions {
            state_dir: args.state.clone(),
            config: args.config.clone().filter(|_| store_config),
            settings: Some(args.settings.clone()),
            ..args.faults.stack_options()
        },
    )
    .await
}

async fn execute(args: RunArgs) -> Result<(RunReport, Calls, u128), RunnerError> {
    let stack = start_stack(&args, true).await?;
    // for the floor: what the org held, and what the simulator had written, before the run
    let org_rows = report::OrgRows::snapshot(&stack.salesforce);
    let written_before = stack.salesforce.records_written();
    let started = Instant::now();
    let mut engine = stack.engine()?;
    if let Some(p) = progress() {
        engine = engine.with_progress(p);
    }
    let (kind, window, account) = run_target(&args, engine.now())?;
    let result = run_as_local(&engine, &*stack.store, kind, window, account).await;
    let duration = started.elapsed().as_millis();
    // The state dumps are written even when the run stopped: they show what happened.
    write_json(&args.out, "salesforce.json", &stack.salesforce.state())?;
    write_json(&args.out, "flexnet.json", &stack.flexnet.state())?;
    let report = result?;
    let entries = report::task_entries(&*stack.store, &report.run.task_id).await?;
    write_json(
        &args.out,
        "logs.json",
        &serde_json::to_value(&entries).unwrap_or(Value::Null),
    )?;
    let rows_read = match args.mode {
        // R23 reads one account's records, whatever their age
        Mode::Account => org_rows.rows_read(None, None, args.account.as_deref()),
        _ => org_rows.rows_read(report.run.window_from, report.run.window_to, None),
    };
    let calls = Calls {
        salesforce: engine.salesforce_calls(),
        flexnet: engine.flexnet_calls(),
        salesforce_usage: engine.salesforce_usage(),
        salesforce_by_endpoint: stack.salesforce.calls(),
        flexnet_by_operation: stack.flexnet.calls(),
        salesforce_floor: Some(report::Floor::new(
            rows_read,
            stack.salesforce.records_written() - written_before,
        )),
    };
    write_json(
        &args.out,
        "summary.json",
        &report::summary(&report, &calls, duration),
    )?;
    stack.stop();
    Ok((report, calls, duration))
}

/// `run --dry-run`: the run planned and mapped against the stack, nothing sent or stored;
/// the report goes to OUT/dry-run.json only (the simulators and the store are as before).
async fn execute_dry(args: RunArgs) -> Result<engine::dryrun::DryRunReport, RunnerError> {
    let stack = start_stack(&args, false).await?;
    let mut engine = stack.engine()?;
    if let Some(p) = progress() {
        engine = engine.with_progress(p);
    }
    let (kind, window, account) = run_target(&args, engine.now())?;
    let pick = match kind {
        RunKind::Scheduled => engine::OutstandingPick::Due,
        _ => engine::OutstandingPick::None,
    };
    let dry = engine.dry_run();
    if let Some(config) = &args.config {
        // --config applies to the dry run only (a --state store keeps its own)
        dry.use_config(config).await?;
    }
    let report = dry
        .run(
            kind,
            window,
            account,
            pick,
            Some(engine::ports::CREATED_BY_LOCAL),
        )
        .await?;
    write_json(
        &args.out,
        DRY_RUN_FILE,
        &serde_json::to_value(&report).unwrap_or(Value::Null),
    )?;
    stack.stop();
    Ok(report)
}

/// The one file `run --dry-run` writes.
const DRY_RUN_FILE: &str = "dry-run.json";

fn outputs(out: &Path) -> String {
    format!("{}/{{summary,logs,salesforce,flexnet}}.json", out.display())
}

fn window_body(hours: Option<i64>, from: Option<String>, to: Option<String>) -> Option<String> {
    match (hours, from, to) {
        (Some(h), _, _) => Some(serde_json::json!({ "hours": h }).to_string()),
        (None, Some(f), Some(t)) => Some(serde_json::json!({ "start": f, "end": t }).to_string()),
        _ => None,
    }
}

async fn main_inner(cli: Cli) -> Result<(), RunnerError> {
    match cli.command {
        Command::Demo { out } => {
            let fixture: Value =
                serde_json::from_str(stack::DEMO_FIXTURE).map_err(|source| RunnerError::Json {
                    what: "bundled demo fixture",
                    path: "tests/fixtures/demo.json".into(),
                    source,
                })?;
            println!(
                "flexbridge demo: a scheduled sync of a simulated Salesforce org ({} opportunities) into a simulated FNO tenant, now = {}",
                fixture.pointer("/salesforce/Opportunity").and_then(Value::as_array).map_or(0, Vec::len),
                fixture.get("now").and_then(Value::as_str).unwrap_or("system time"),
            );
            let (report, calls, ms) = execute(RunArgs {
                fixture,
                config: None,
                mode: Mode::Scheduled,
                window_body: None,
                account: None,
                out: out.clone(),
                state: None,
                settings: EngineSettings::default(),
                faults: Faults::default(),
            })
            .await?;
            print!(
                "{}",
                report::render(&report, &calls, ms, Some(&outputs(&out)))
            );
            Ok(())
        }
        Command::Run {
            fixture,
            config,
            mode,
            hours,
            from,
            to,
            account,
            out,
            state,
            lookback_minutes,
            concurrency,
            dry_run,
            faults,
        } => {
            if mode != Mode::Immediate && (hours.is_some() || from.is_some()) {
                return Err(RunnerError::Usage(
                    "--hours/--from/--to set the window of --mode immediate only (R22)".into(),
                ));
            }
            if mode == Mode::Immediate && hours.is_none() && from.is_none() {
                return Err(RunnerError::Usage(
                    "--mode immediate needs a window: --hours N, or --from DT --to DT (R22)".into(),
                ));
            }
            if mode != Mode::Account && account.is_some() {
                return Err(RunnerError::Usage(
                    "--account goes with --mode account (R23)".into(),
                ));
            }
            let fixture_json = read_json("fixture", &fixture)?;
            let config = config.as_deref().map(load_config).transpose()?;
            let defaults = EngineSettings::default();
            let settings = EngineSettings {
                lookback_minutes: lookback_minutes.unwrap_or(defaults.lookback_minutes),
                concurrency: concurrency.unwrap_or(defaults.concurrency),
                ..defaults
            };
            let args = RunArgs {
                fixture: fixture_json,
                config,
                mode,
                window_body: window_body(hours, from, to),
                account,
                out: out.clone(),
                state,
                settings,
                faults,
            };
            if dry_run {
                let report = execute_dry(args).await?;
                let file = out.join(DRY_RUN_FILE);
                print!(
                    "{}",
                    report::render_dry(&report, &file.display().to_string())
                );
                return Ok(());
            }
            let (report, calls, ms) = execute(args).await?;
            print!(
                "{}",
                report::render(&report, &calls, ms, Some(&outputs(&out)))
            );
            Ok(())
        }
        Command::Admin { target, command } => {
            let client = flexbridge::admin::Client::from_chain(&target).await?;
            print!("{}", flexbridge::admin::run(&client, &command).await?);
            Ok(())
        }
        Command::Licenses {
            fixture,
            state,
            out,
            manual,
            users,
            history,
            unused_days,
        } => {
            let views = flexbridge::licenses::Views {
                users,
                history,
                unused_days,
            };
            licenses_command(
                &fixture,
                state.as_deref(),
                out.as_deref(),
                manual.as_deref(),
                views,
            )
            .await
        }
    }
}

/// R26–R32: ingest the fixture org's license information into the license store and print
/// the table (license, total, used, remaining, active users, annual spend).
async fn licenses_command(
    fixture: &Path,
    state: Option<&Path>,
    out: Option<&Path>,
    manual: Option<&Path>,
    extra: flexbridge::licenses::Views,
) -> Result<(), RunnerError> {
    let fixture_json = read_json("fixture", fixture)?;
    let manual_file = manual
        .map(|path| {
            serde_json::from_value::<licenses::manual_file::ManualFile>(read_json(
                "manual file",
                path,
            )?)
            .map_err(|source| RunnerError::Json {
                what: "manual file",
                path: path.display().to_string(),
                source,
            })
        })
        .transpose()?;
    // The output directory before the ingest: a bad --out must not leave a half-done job.
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).map_err(|source| RunnerError::Write {
            what: "--out directory",
            path: dir.display().to_string(),
            source,
        })?;
    }
    let stack = Stack::start(
        &fixture_json,
        StackOptions {
            state_dir: state.map(Path::to_path_buf),
            ..Default::default()
        },
    )
    .await?;
    let store = match state {
        Some(dir) => licenses::SqliteLicenseStore::open_dir(dir)?,
        None => licenses::SqliteLicenseStore::in_memory()?,
    };
    let client = salesforce::SalesforceClient::new(stack.salesforce_config())
        .map_err(RunnerError::Salesforce)?;
    let now = stack.clock().now();
    let task_id = engine::new_task_id(engine::ports::RunKind::Licenses, now);
    let manual_path = manual.map(|p| p.display().to_string()).unwrap_or_default();
    let refused = |source| RunnerError::ManualFile {
        path: manual_path.clone(),
        source,
    };
    let mut manual_lines = Vec::new();
    if let Some(file) = &manual_file {
        // before the ingest, so it can match them to captured licenses (R31)
        let lines = licenses::manual_file::apply_manual_licenses(&store, file, now).await;
        manual_lines.extend(lines.map_err(refused)?);
    }
    let report = licenses::ingest(&client, &store, &*stack.store, now, &task_id)
        .await
        .map_err(RunnerError::Licenses)?;
    if let Some(file) = &manual_file {
        let lines = licenses::manual_file::apply_fields_and_skus(&store, file, now).await;
        manual_lines.extend(lines.map_err(refused)?);
    }
    let overview = licenses::load_views(&store, now)
        .await
        .map_err(RunnerError::Licenses)?;
    println!(
        "License information of the simulated org, task {task_id}: {} discovered, {} updated, {} reappeared, {} missing (marked inactive), {} unchanged; {} object(s) not read",
        report.discovered,
        report.updated,
        report.reappeared,
        report.missing,
        report.unchanged,
        report.failed_objects.len()
    );
    for (object, reason) in &report.failed_objects {
        println!("    FAIL  {object}: {reason}");
    }
    for p in &report.problems {
        println!("    FAIL  {}", p.message);
    }
    if let Some(org) = &overview.org {
        println!("{}", licenses::render_org(org).trim_end());
    }
    for line in &manual_lines {
        println!("    manual: {line}");
    }
    print!("{}", licenses::render_table(&overview.licenses));
    println!("Salesforce API calls: {}", client.api_calls());
    flexbridge::licenses::print_views(&store, extra, now, out).await?;
    if let Some(dir) = out {
        write_json(
            dir,
            "licenses.json",
            &serde_json::to_value(&overview).unwrap_or(Value::Null),
        )?;
        let entries = report::task_entries(&*stack.store, &task_id).await?;
        write_json(
            dir,
            "logs.json",
            &serde_json::to_value(&entries).unwrap_or(Value::Null),
        )?;
    }
    stack.stop();
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FLEXBRIDGE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        // every line through the secret scrubber (R24), as in the functions
        .with_writer(engine::redact::scrubbed_stderr)
        // colour codes only for a person watching, not in a redirected log
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("flexbridge: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match rt.block_on(main_inner(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flexbridge: {}", error_chain(&e));
            std::process::ExitCode::from(match e {
                RunnerError::Usage(_) => 2,
                _ => 1,
            })
        }
    }
}

/// Plans a run, records it as started by the local runner (the log's Created By), and runs
/// it in process.
async fn run_as_local(
    engine: &engine::Engine,
    store: &dyn engine::ports::StateStore,
    kind: RunKind,
    window: RunWindow,
    account: Option<&str>,
) -> Result<engine::RunReport, engine::EngineError> {
    let mut planned = engine.plan_run(kind, window, account).await?;
    planned.run.created_by = Some(engine::ports::CREATED_BY_LOCAL.to_owned());
    store.put_run(&planned.run).await?;
    engine.run_in_process(planned).await
}
