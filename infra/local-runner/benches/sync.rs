//! Issue 12's figures: a FIRST scheduled sync of a generated org, a NO-CHANGE scheduled run an
//! hour after it (its window, moved back by the 15-minute lookback, holds the first run's own
//! writes: its echo) and a QUIET run an hour after that (nothing in its window), on the
//! same simulators and store, for 400 and 4,000 accounts (10,000 with `--large`). Prints one
//! markdown row per run; asserts nothing about speed.
//!
//! ```sh
//! cargo bench -p flexbridge --bench sync                 # 400 and 4,000 accounts (release build)
//! cargo bench -p flexbridge --bench sync -- --large      # and 10,000
//! cargo bench -p flexbridge --bench sync -- 100 800 --latency-accounts 100
//! cargo bench -p flexbridge --bench sync -- --no-latency # skip the latency runs
//! cargo bench -p flexbridge --bench sync -- demo 1 4 16  # the old demo-copies rows
//! ```
//!
//! The bench profile is the release profile the Lambda functions are built with (a first build
//! takes ~15 minutes on 2 cores). `--profile dev` builds in a minute or two and gives the same
//! call counts, but its engine is unoptimised: wall times are several times longer.
//!
//! The org (`flexbridge::generate::org`): N accounts, each with 3 contacts and 2 Closed Won
//! opportunities of 3 line items, 20 products deployed in FNO. Every figure comes from the
//! simulators and the store, never from the engine's report: Salesforce calls = every request
//! the Salesforce simulator received (token included), FNO calls = every SOAP call the FNO
//! simulator received, log entries = the store's entries of the run's task id, records written
//! = the Salesforce simulator's count. The floor (issue 12): 1 token + ⌈rows/2000⌉ per object
//! read (Account, Contact, Opportunity, OpportunityLineItem, Product2) + ⌈records written
//! back/200⌉ for the first sync; 2 (1 token + 1 query) for a run that finds nothing to do.
//!
//! Each org size runs in a child process of this binary (`--child N`), so its peak memory
//! (VmHWM, reset with `echo 5 > /proc/self/clear_refs` before each run) is its own. Wall time
//! "with latency" repeats the scenario in another child with the simulators answering after
//! 80 ms (Salesforce) and 250 ms (FNO) per call — by default for 400 accounts only.
//!
//! The planning step's own memory (issue 12: under 200 MB at 10,000 accounts): before each run
//! the child starts a planner process of this binary (`--planner ADDRESS`) that plans the same
//! window over the same simulators and store (on disk for this) and reports its own VmHWM. The
//! child's figures include both simulated systems; the planner's are the engine's alone.

use flexbridge::generate;
use flexbridge::report::{self, Floor, READ_OBJECTS};
use flexbridge::{Stack, StackOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SF_LATENCY: Duration = Duration::from_millis(80);
const FNO_LATENCY: Duration = Duration::from_millis(250);
/// An hourly schedule: the no-change run fires an hour after the first one ended, and its
/// window (from the first run's start, moved back by the 15-minute lookback) holds the first
/// run's own writes, its echo; the quiet run fires an hour after that, and its window (from
/// the no-change run's start less 15 minutes) holds nothing at all.
const GAP: chrono::Duration = chrono::Duration::hours(1);
/// The runs of a child, in order.
const RUNS: [&str; 3] = ["first", "no-change", "quiet"];

// ------------------------------------------------------------------------- memory (Linux)

/// `VmHWM` / `VmRSS` of this process in MiB.
fn proc_status_mib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak-RSS mark to the current RSS; false where that is not permitted.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

// ------------------------------------------------------------------------------ one run

/// One scheduled run's figures.
#[derive(Debug, Clone)]
struct Row {
    run: &'static str,
    accounts: usize,
    orders: usize,
    sf_calls: u64,
    floor: Floor,
    fno_calls: u64,
    /// The most FNO calls the simulator had in flight at once (since the child started).
    fno_in_flight: u64,
    entries: BTreeMap<String, u64>,
    pushed: u64,
    fno_entitlements: usize,
    fno_lines: usize,
    wall: f64,
    wall_latency: Option<f64>,
    /// The latency run's most FNO calls in flight at once.
    latency_in_flight: Option<u64>,
    rss_start: Option<f64>,
    peak: Option<f64>,
    peak_reset: bool,
    /// The planning step alone, in a process of its own: its peak RSS (MiB) and the accounts
    /// it planned.
    plan: Option<Plan>,
}

impl Row {
    fn entries_total(&self) -> u64 {
        self.entries.values().sum()
    }
    fn entries(&self, status: &str) -> u64 {
        self.entries.get(status).copied().unwrap_or(0)
    }

    fn to_json(&self) -> Value {
        json!({
            "run": self.run, "accounts": self.accounts, "orders": self.orders,
            "sfCalls": self.sf_calls, "floor": self.floor.calls, "floorRows": self.floor.rows,
            "recordsWritten": self.floor.records_written, "fnoCalls": self.fno_calls, "fnoInFlight": self.fno_in_flight,
            "entries": self.entries, "pushed": self.pushed,
            "fnoEntitlements": self.fno_entitlements, "fnoLines": self.fno_lines,
            "wall": self.wall, "rssStart": self.rss_start, "peak": self.peak,
            "peakReset": self.peak_reset, "plan": self.plan.as_ref().map(Plan::to_json),
        })
    }

    fn from_json(v: &Value) -> Option<Row> {
        let u = |k: &str| v[k].as_u64();
        let map = |k: &str| -> BTreeMap<String, u64> {
            v[k].as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, n)| Some((k.clone(), n.as_u64()?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(Row {
            run: RUNS.into_iter().find(|r| v["run"] == *r)?,
            accounts: u("accounts")? as usize,
            orders: u("orders")? as usize,
            sf_calls: u("sfCalls")?,
            floor: Floor {
                calls: u("floor")?,
                rows: map("floorRows"),
                records_written: u("recordsWritten")?,
            },
            fno_calls: u("fnoCalls")?,
            fno_in_flight: u("fnoInFlight")?,
            entries: map("entries"),
            pushed: u("pushed")?,
            fno_entitlements: u("fnoEntitlements")? as usize,
            fno_lines: u("fnoLines")? as usize,
            wall: v["wall"].as_f64()?,
            wall_latency: None,
            latency_in_flight: None,
            rss_start: v["rssStart"].as_f64(),
            peak: v["peak"].as_f64(),
            peak_reset: v["peakReset"].as_bool().unwrap_or(false),
            plan: Plan::from_json(&v["plan"]),
        })
    }
}

fn sf_total(stack: &Stack) -> u64 {
    stack.salesforce.calls().values().sum()
}

/// One `run_scheduled` on a fresh engine (fresh clients, like a new invocation) over the
/// stack; every figure read from the simulators and the store.
async fn measure(
    stack: &Stack,
    run: &'static str,
    accounts: usize,
    orders: usize,
    floor_rows: Option<BTreeMap<String, u64>>,
) -> Row {
    let engine = stack.engine().expect("engine");
    let (sf0, fno0, w0) = (
        sf_total(stack),
        stack.flexnet.total_calls(),
        stack.salesforce.records_written(),
    );
    let peak_reset = reset_peak();
    let rss_start = proc_status_mib("VmRSS:");
    let t = Instant::now();
    let report = engine.run_scheduled().await.expect("scheduled run");
    let wall = t.elapsed().as_secs_f64();
    let peak = proc_status_mib("VmHWM:");
    let written = stack.salesforce.records_written() - w0;
    let mut entries: BTreeMap<String, u64> = ["Completed", "Failed", "Error"]
        .into_iter()
        .map(|s| (s.to_owned(), 0))
        .collect();
    for e in report::task_entries(&*stack.store, &report.run.task_id)
        .await
        .expect("log entries")
    {
        *entries.entry(format!("{:?}", e.status)).or_default() += 1;
    }
    let tenant = stack.flexnet.tenant();
    Row {
        run,
        accounts,
        orders,
        sf_calls: sf_total(stack) - sf0,
        // the first sync reads every row; a run after no change had nothing to read
        floor: Floor::new(
            floor_rows.unwrap_or_else(|| READ_OBJECTS.iter().map(|o| (o.to_string(), 0)).collect()),
            if run == "first" { written } else { 0 },
        ),
        fno_calls: stack.flexnet.total_calls() - fno0,
        fno_in_flight: stack.flexnet.max_in_flight(),
        entries,
        pushed: report
            .accounts
            .iter()
            .map(|a| u64::from(a.pushed_orders))
            .sum(),
        fno_entitlements: tenant.entitlements.len(),
        fno_lines: tenant.entitlements.iter().map(|e| e.line_items.len()).sum(),
        wall,
        wall_latency: None,
        latency_in_flight: None,
        rss_start,
        peak,
        peak_reset,
        plan: None,
    }
}

// --------------------------------------------------------------- the planning step alone

/// The planning step of a scheduled run (what the scheduled-sync function does before it
/// queues the accounts), measured in a process of its own over the running stack.
#[derive(Debug, Clone)]
struct Plan {
    accounts: u64,
    peak: f64,
    rss_start: f64,
    wall: f64,
}

impl Plan {
    fn to_json(&self) -> Value {
        json!({"accounts": self.accounts, "peak": self.peak, "rssStart": self.rss_start, "wall": self.wall})
    }
    fn from_json(v: &Value) -> Option<Plan> {
        Some(Plan {
            accounts: v["accounts"].as_u64()?,
            peak: v["peak"].as_f64()?,
            rss_start: v["rssStart"].as_f64()?,
            wall: v["wall"].as_f64()?,
        })
    }
}

/// The planner process: an engine over the stack at `remote`, the window since the store's
/// watermark, planned once (`Engine::plan_window`, which writes nothing); prints its figures.
async fn planner(remote: &str) -> Plan {
    let remote = flexbridge::Remote::from_json(&serde_json::from_str(remote).expect("address"))
        .expect("stack address");
    let rss_start = proc_status_mib("VmRSS:").unwrap_or(0.0);
    let t = Instant::now();
    let store = remote.open_store().expect("store");
    let engine = remote.engine(store.clone()).expect("engine");
    let from = engine::ports::StateStore::watermark(&*store)
        .await
        .expect("watermark");
    let to = remote.now.unwrap_or_else(chrono::Utc::now);
    let config = engine.load_config().await.expect("config");
    let (accounts, _) = engine
        .plan_window(from, to, engine::ports::RunKind::Scheduled, &config)
        .await
        .expect("planning");
    Plan {
        accounts: accounts.len() as u64,
        peak: proc_status_mib("VmHWM:").unwrap_or(0.0),
        rss_start,
        wall: t.elapsed().as_secs_f64(),
    }
}

/// Plans the stack's next scheduled run in a planner process; its figures. (The simulators
/// answer it from this process's runtime meanwhile.)
async fn spawn_planner(stack: &Stack) -> Plan {
    let exe = std::env::current_exe().expect("current exe");
    let out = tokio::process::Command::new(exe)
        .arg("--planner")
        .arg(stack.remote().to_json().to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .expect("planner");
    assert!(out.status.success(), "the planner failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| Plan::from_json(&serde_json::from_str(l.strip_prefix("PLAN ")?).ok()?))
        .expect("the planner's figures")
}

// ------------------------------------------------------------------- the cloud's layout

/// The account-sync function's SQS `BatchSize`, read from template.yaml: one batch is one
/// group on one account-sync invocation.
fn sqs_batch() -> usize {
    include_str!("../../../template.yaml")
        .lines()
        .find_map(|l| l.trim().strip_prefix("BatchSize:")?.trim().parse().ok())
        .expect("template.yaml names the SQS BatchSize")
}
/// Warm account-sync containers the batches are spread over (each its own engine and token).
const CONTAINERS: usize = 4;

/// A first scheduled sync laid out as in the cloud: the scheduled-sync function plans and
/// queues (`Engine::plan_and_enqueue`), then the queued accounts are synced in SQS batches of
/// template.yaml's `BatchSize`, each one group (`Engine::process_group`, then `account_done` per account, as
/// the consumer does), spread round-robin over 4 warm containers. Figures from the simulators.
async fn cloud_first(accounts: usize) -> (u64, Floor, u64, u64) {
    let fixture = generate::org(accounts);
    let rows_read = read_rows(&fixture);
    let stack = Stack::start(&fixture, measured()).await.expect("stack");
    drop(fixture);
    let w0 = stack.salesforce.records_written();
    let queue = engine::embedded::MemoryQueue::new();
    let planner = stack.engine().expect("engine");
    planner
        .plan_and_enqueue(engine::ports::RunKind::Scheduled, None, &queue)
        .await
        .expect("planning");
    let work = queue.drain();
    let containers: Vec<_> = (0..CONTAINERS)
        .map(|_| stack.engine().expect("engine"))
        .collect();
    let mut batches = 0u64;
    for (i, batch) in work.chunks(sqs_batch()).enumerate() {
        let engine = &containers[i % CONTAINERS];
        engine.reset_catalogue().await;
        for (w, r) in batch.iter().zip(engine.process_group(batch).await) {
            let outcome = r.expect("account synced");
            engine
                .account_done(&w.task_id, &outcome)
                .await
                .expect("progress");
        }
        batches += 1;
    }
    let floor = Floor::new(rows_read, stack.salesforce.records_written() - w0);
    let calls = (
        sf_total(&stack),
        floor,
        stack.flexnet.total_calls(),
        batches,
    );
    stack.stop();
    calls
}

/// The child: generate the org, start the stack, then the first, no-change and quiet runs.
async fn child(accounts: usize, latency: bool) -> Vec<Row> {
    let fixture = generate::org(accounts);
    let rows_read = read_rows(&fixture);
    let orders = rows_read["Opportunity"] as usize;
    let mut opts = measured();
    if latency {
        opts.salesforce.latency = SF_LATENCY;
        opts.flexnet.latency = FNO_LATENCY;
    }
    // a store on disk, which the planner process opens too; in memory for the latency runs,
    // which plan in process only (no disk writes in their wall time)
    let dir = tempfile::tempdir().expect("temp dir");
    opts.state_dir = (!latency).then(|| dir.path().to_owned());
    let mut stack = Stack::start(&fixture, opts).await.expect("stack");
    drop(fixture);
    let mut rows = Vec::new();
    for (run, gap) in RUNS.into_iter().zip([None, Some(GAP), Some(GAP)]) {
        if let Some(gap) = gap {
            // the next scheduled firing: every clock moves on together (the Salesforce
            // simulator started first, so its clock is the furthest on)
            let later = stack.salesforce.now() + gap;
            stack.salesforce.set_now(Some(later));
            stack.flexnet.set_now(Some(later));
            stack.now = Some(later);
        }
        let slow = if latency { " (with latency)" } else { "" };
        eprintln!("  {accounts} accounts{slow}: {run} scheduled run…");
        // the planning step alone first (without latency only: it is measured for memory)
        let plan = match latency {
            false => Some(spawn_planner(&stack).await),
            true => None,
        };
        let floor_rows = (run == "first").then(|| rows_read.clone());
        let mut row = measure(&stack, run, accounts, orders, floor_rows).await;
        row.plan = plan;
        rows.push(row);
    }
    stack.stop();
    rows
}

/// The stack options of a measured run.
fn measured() -> StackOptions {
    let mut opts = StackOptions::default();
    // the quota must not stop a big run: the runs are measured, not rationed
    opts.salesforce.daily_api_limit = u64::MAX / 2;
    // a big org's first queries take the simulator a while (it scans, it has no indexes)
    opts.client_timeout = Some(Duration::from_secs(600));
    opts
}

/// The rows of each object a first sync reads, from the fixture.
fn read_rows(fixture: &Value) -> BTreeMap<String, u64> {
    let sf = &fixture["salesforce"];
    READ_OBJECTS
        .iter()
        .map(|o| (o.to_string(), sf[o].as_array().map_or(0, Vec::len) as u64))
        .collect()
}

/// Runs one scenario in a child process of this binary; its rows.
fn spawn(accounts: usize, latency: bool) -> Vec<Row> {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--child").arg(accounts.to_string());
    if latency {
        cmd.arg("--latency");
    }
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("child");
    assert!(out.status.success(), "the {accounts}-account run failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("ROW "))
        .filter_map(|l| Row::from_json(&serde_json::from_str(l).ok()?))
        .collect()
}

// ------------------------------------------------------------------------------- output

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| accounts | run | orders | SF calls | floor | ratio | FNO calls | FNO/order | log entries (Completed / Failed / Error) | wall s | wall s, latency SF 80 ms + FNO 250 ms | peak MB (at start) | planning alone: peak MB (at start), accounts planned, s |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|");
    for r in rows {
        let peak = match (r.peak, r.rss_start) {
            (Some(p), Some(s)) if r.peak_reset => format!("{p:.0} ({s:.0})"),
            (Some(p), _) => format!("{p:.0}*"),
            _ => "—".into(),
        };
        let plan = r.plan.as_ref().map_or("not run".to_owned(), |p| {
            format!(
                "{:.0} ({:.0}), {}, {:.1}",
                p.peak,
                p.rss_start,
                thousands(p.accounts),
                p.wall
            )
        });
        println!(
            "| {} | {} | {} | {} | {} | {:.1}× | {} | {:.2} | {} ({} / {} / {}) | {:.2} | {} | {peak} | {plan} |",
            thousands(r.accounts as u64),
            r.run,
            thousands(r.orders as u64),
            thousands(r.sf_calls),
            thousands(r.floor.calls),
            r.floor.ratio(r.sf_calls),
            thousands(r.fno_calls),
            r.fno_calls as f64 / r.orders.max(1) as f64,
            thousands(r.entries_total()),
            thousands(r.entries("Completed")),
            thousands(r.entries("Failed")),
            thousands(r.entries("Error")),
            r.wall,
            r.wall_latency
                .map_or("not run".to_owned(), |w| format!("{w:.1}")),
        );
    }
    println!();
    for r in rows.iter().filter(|r| r.run == "first") {
        println!(
            "{} accounts, first sync: {} of {} orders pushed; FNO holds {} entitlements, {} line items; {} records written back. {}",
            thousands(r.accounts as u64),
            thousands(r.pushed),
            thousands(r.orders as u64),
            thousands(r.fno_entitlements as u64),
            thousands(r.fno_lines as u64),
            thousands(r.floor.records_written),
            report::floor_text(&r.floor)
        );
    }
    for r in rows.iter().filter(|r| r.run == "first") {
        let (Some(wall), Some(in_flight)) = (r.wall_latency, r.latency_in_flight) else {
            continue;
        };
        let concurrency = engine::EngineSettings::default().concurrency as f64;
        let floor = r.fno_calls as f64 * FNO_LATENCY.as_secs_f64() / concurrency;
        println!(
            "{} accounts, first sync with latency: {wall:.1} s against the FNO-bound floor of {floor:.1} s ({} FNO calls × {} ms / {concurrency} in flight) = {:.2}×; at most {in_flight} FNO calls were in flight at once.",
            thousands(r.accounts as u64),
            thousands(r.fno_calls),
            FNO_LATENCY.as_millis(),
            wall / floor
        );
    }
    if rows.iter().any(|r| !r.peak_reset) {
        println!("* peak since the child process started (resetting VmHWM was not permitted)");
    }
    println!(
        "SF calls: every request the Salesforce simulator received (token included); FNO calls: every SOAP call the FNO simulator received; log entries: the store's entries of the run's task; peak MB: VmHWM of the process running both simulators, the store and the engine (RSS at the run's start in brackets); planning alone: the same run's planning step (`Engine::plan_window`, what the scheduled-sync function does before it queues the accounts) in a process of its own over the same simulators and store: its VmHWM (its RSS before the engine was built in brackets), the accounts it planned, its wall time."
    );
}

// --------------------------------------------------------------------- the old demo rows

/// The demo org `copies` times: copy k rewrites every Salesforce id `xxxDm0000nnnnnnSSS` to
/// `xxxDm{k:04}nnnnnnSSS` (digits do not change the 18-character checksum), consistently across
/// references; the FNO tenant is shared.
fn scaled(copies: usize) -> Value {
    let base: Value = serde_json::from_str(flexbridge::stack::DEMO_FIXTURE).expect("demo fixture");
    let sf_text = serde_json::to_string(&base["salesforce"]).unwrap();
    let mut merged = serde_json::Map::new();
    for k in 0..copies {
        let text = if k == 0 {
            sf_text.clone()
        } else {
            sf_text.replace("Dm0000", &format!("Dm{k:04}"))
        };
        let copy: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
        for (sobject, records) in copy {
            match (merged.get_mut(&sobject), records) {
                (Some(Value::Array(all)), Value::Array(recs)) => all.extend(recs),
                (None, v) => {
                    merged.insert(sobject, v);
                }
                _ => {}
            }
        }
    }
    let mut out = base.clone();
    out["salesforce"] = Value::Object(merged);
    out
}

async fn demo_rows(copies: Vec<usize>) {
    let copies = if copies.is_empty() {
        vec![1, 4, 16]
    } else {
        copies
    };
    println!(
        "accounts  opportunities  seconds  sf_calls  sf_calls/account  fno_calls  log_entries"
    );
    for k in copies {
        let fx = scaled(k);
        let opps = fx["salesforce"]["Opportunity"]
            .as_array()
            .map_or(0, Vec::len);
        let stack = Stack::start(&fx, StackOptions::default())
            .await
            .expect("stack");
        let engine = stack.engine().expect("engine");
        let t = Instant::now();
        let report = engine.run_scheduled().await.expect("run");
        let secs = t.elapsed().as_secs_f64();
        let accounts = report.accounts.len();
        let entries: usize = report.accounts.iter().map(|a| a.entries.len()).sum();
        println!(
            "{accounts:>8}  {opps:>13}  {secs:>7.2}  {:>8}  {:>16.2}  {:>9}  {entries:>11}",
            engine.salesforce_calls(),
            engine.salesforce_calls() as f64 / accounts.max(1) as f64,
            engine.flexnet_calls(),
        );
        stack.stop();
    }
}

// --------------------------------------------------------------------------------- main

fn usage() -> ! {
    eprintln!(
        "usage: sync [N …] [--large] [--latency-accounts N,… | --no-latency] [--no-cloud] | sync demo [COPIES …]\n\
         N: org sizes in accounts (default 400 4000; --large adds 10000)"
    );
    std::process::exit(2)
}

fn main() {
    // `cargo bench` passes `--bench`
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if args.first().map(String::as_str) == Some("demo") {
        let copies = args[1..].iter().filter_map(|a| a.parse().ok()).collect();
        rt.block_on(demo_rows(copies));
        return;
    }
    if args.first().map(String::as_str) == Some("--planner") {
        let plan = rt.block_on(planner(args.get(1).unwrap_or_else(|| usage())));
        println!("PLAN {}", plan.to_json());
        return;
    }
    if args.first().map(String::as_str) == Some("--child") {
        let n: usize = args
            .get(1)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| usage());
        let latency = args.iter().any(|a| a == "--latency");
        for row in rt.block_on(child(n, latency)) {
            println!("ROW {}", row.to_json());
        }
        return;
    }
    let mut sizes: Vec<usize> = Vec::new();
    let mut latency_sizes: Option<Vec<usize>> = None;
    let mut cloud = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--large" => sizes.push(10_000),
            "--no-cloud" => cloud = false,
            "--no-latency" => latency_sizes = Some(Vec::new()),
            "--latency-accounts" => {
                let list = it.next().unwrap_or_else(|| usage());
                latency_sizes = Some(
                    list.split(',')
                        .filter(|s| !s.is_empty() && *s != "none")
                        .map(|s| s.parse().unwrap_or_else(|_| usage()))
                        .collect(),
                );
            }
            n => match n.parse() {
                Ok(n) => sizes.push(n),
                Err(_) => usage(),
            },
        }
    }
    if !sizes.iter().any(|&n| n != 10_000) {
        sizes.splice(0..0, [400, 4000]);
    }
    let latency_sizes = latency_sizes.unwrap_or_else(|| vec![400]);
    eprintln!(
        "flexbridge bench: a first scheduled sync, a no-change run an hour later (its window holds the first run's echo) and a quiet run an hour after that (nothing in its window) of a generated org ({} contacts and {} Closed Won orders of {} lines per account, {} products), for {:?} accounts; with simulator latency (Salesforce {} ms, FNO {} ms per call) for {:?} accounts only{}",
        generate::CONTACTS_PER_ACCOUNT,
        generate::ORDERS_PER_ACCOUNT,
        generate::LINES_PER_ORDER,
        generate::PRODUCTS,
        sizes,
        SF_LATENCY.as_millis(),
        FNO_LATENCY.as_millis(),
        latency_sizes,
        if latency_sizes.is_empty() { " (none)" } else { " (it takes minutes per run; other sizes: --latency-accounts N,…)" }
    );
    let mut rows = Vec::new();
    for &n in &sizes {
        let mut r = spawn(n, false);
        if latency_sizes.contains(&n) {
            let slow = spawn(n, true);
            for (row, s) in r.iter_mut().zip(&slow) {
                row.wall_latency = Some(s.wall);
                row.latency_in_flight = Some(s.fno_in_flight);
            }
        }
        rows.extend(r);
    }
    println!(
        "Engine at this commit; generated org, concurrency {} (default); latency column for {:?} accounts only.",
        engine::EngineSettings::default().concurrency,
        latency_sizes
    );
    print_table(&rows);
    if cloud {
        print_cloud(&sizes, &rows, &rt);
    }
}

/// The first sync again in the cloud's layout, per size, next to the in-process figures.
fn print_cloud(sizes: &[usize], rows: &[Row], rt: &tokio::runtime::Runtime) {
    println!();
    println!(
        "The first sync in the cloud's layout (planned and queued, then SQS batches of {} over {CONTAINERS} warm containers):",
        sqs_batch()
    );
    println!();
    println!("| accounts | SF calls in the cloud's layout | in process | floor | ratio (cloud) | FNO calls (cloud) | FNO/order | SQS batches |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        eprintln!("  {n} accounts: first scheduled run in the cloud's layout…");
        let (sf, floor, fno, batches) = rt.block_on(cloud_first(n));
        let local = rows.iter().find(|r| r.accounts == n && r.run == "first");
        let orders = local.map_or(0, |r| r.orders);
        println!(
            "| {} | {} | {} | {} | {:.2}× | {} | {:.2} | {batches} |",
            thousands(n as u64),
            thousands(sf),
            local.map_or("—".into(), |r| thousands(r.sf_calls)),
            thousands(floor.calls),
            floor.ratio(sf),
            thousands(fno),
            fno as f64 / orders.max(1) as f64,
        );
    }
    println!();
    println!("SF calls in the cloud's layout: the scheduled-sync function's token and planning, and each container's token, bulk reads and write-backs.");
}
