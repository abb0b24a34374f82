//! `sim-salesforce --fixture FILE --port N [--tls] [fault options]`: runs the Salesforce org
//! simulator until interrupted (Ctrl-C or SIGTERM). Prints
//! `sim-salesforce listening on http(s)://127.0.0.1:PORT` once it accepts calls.

use clap::Parser;
use std::io::Write;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "sim-salesforce",
    about = "Salesforce REST API org simulator (127.0.0.1)"
)]
struct Args {
    /// Fixture JSON: the whole file ({"salesforce": {...}, "now": ...}) or the salesforce section.
    #[arg(long)]
    fixture: std::path::PathBuf,
    /// Port on 127.0.0.1 (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Serve HTTPS with a throwaway CA + certificate for 127.0.0.1 and localhost.
    #[arg(long)]
    tls: bool,
    /// With --tls: write the CA certificate (PEM) clients must trust to this file.
    #[arg(long)]
    cert_out: Option<std::path::PathBuf>,
    /// Seed for fault injection and generated tokens.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Latency added to every API call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Probability of an HTTP 500 (UNKNOWN_EXCEPTION) per data call.
    #[arg(long, default_value_t = 0.0)]
    http_500_rate: f64,
    /// Probability of a data call that hangs (then 503).
    #[arg(long, default_value_t = 0.0)]
    timeout_rate: f64,
    /// How long a "timeout" call hangs, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    /// Probability that a record written (PATCH, each composite record) fails with
    /// UNABLE_TO_LOCK_ROW and is not written.
    #[arg(long, default_value_t = 0.0)]
    lock_row_rate: f64,
    /// Every token dies after this many data calls.
    #[arg(long)]
    expire_session_after: Option<u64>,
    /// Daily API request allocation (403 REQUEST_LIMIT_EXCEEDED past it).
    #[arg(long, default_value_t = 15_000)]
    daily_api_limit: u64,
    /// API requests already spent today.
    #[arg(long, default_value_t = 0)]
    api_usage_start: u64,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 7200)]
    token_ttl_secs: u64,
    /// Page-size cap (below 200 allowed, to force paging with few records).
    #[arg(long, default_value_t = 2000)]
    max_batch_size: u32,
    /// Limit injected faults to these endpoint kinds (comma-separated: query, queryAll,
    /// describe, sobject_get, sobject_patch, composite, limits).
    #[arg(long, value_delimiter = ',')]
    fault_endpoints: Vec<String>,
    /// Clock start (ISO date-time); overrides the fixture's `now`.
    #[arg(long)]
    now: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sim-salesforce: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(&args.fixture)
        .map_err(|e| format!("cannot read {}: {e}", args.fixture.display()))?;
    let fixture: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", args.fixture.display()))?;
    let now = match &args.now {
        Some(s) => Some(
            sim_salesforce::org::parse_datetime(s)
                .ok_or_else(|| format!("--now {s:?} is not an ISO date-time"))?,
        ),
        None => None,
    };
    let opts = sim_salesforce::SimOptions {
        port: args.port,
        seed: args.seed,
        latency: Duration::from_millis(args.latency_ms),
        http_500_rate: args.http_500_rate,
        timeout_rate: args.timeout_rate,
        lock_row_rate: args.lock_row_rate,
        timeout_delay: Duration::from_millis(args.timeout_ms),
        token_ttl: Duration::from_secs(args.token_ttl_secs),
        expire_session_after: args.expire_session_after,
        daily_api_limit: args.daily_api_limit,
        api_usage_start: args.api_usage_start,
        fault_endpoints: args.fault_endpoints,
        now,
        tls: args.tls,
        max_batch_size: args.max_batch_size,
    };
    let sim = sim_salesforce::SalesforceSim::start(&fixture, opts).await?;
    if let Some(path) = &args.cert_out {
        let pem = sim
            .tls_cert_pem()
            .ok_or("--cert-out needs --tls (there is no certificate without it)")?;
        std::fs::write(path, pem).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!("sim-salesforce listening on {}", sim.base_url());
    std::io::stdout().flush()?;
    wait_for_stop().await?;
    sim.shutdown();
    Ok(())
}

async fn wait_for_stop() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
