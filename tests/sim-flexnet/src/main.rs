//! `sim-flexnet --fixture FILE --port N [fault options]`: runs the FNO tenant simulator until
//! interrupted. Prints `sim-flexnet listening on http://127.0.0.1:PORT` once it accepts calls.

use clap::Parser;
use std::io::Write;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "sim-flexnet",
    about = "FlexNet Operations SOAP tenant simulator (127.0.0.1)"
)]
struct Args {
    /// Fixture JSON: the whole file ({"flexnet": {...}, "now": ...}) or the flexnet section.
    #[arg(long)]
    fixture: std::path::PathBuf,
    /// Port on 127.0.0.1 (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed for fault injection and generated activation ids.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Latency added to every SOAP call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Probability of an HTTP 500 per call (`--http500-rate` also works).
    #[arg(long = "http-500-rate", alias = "http500-rate", default_value_t = 0.0)]
    http500_rate: f64,
    /// Probability of a call that hangs (then HTTP 504).
    #[arg(long, default_value_t = 0.0)]
    timeout_rate: f64,
    /// How long a "timeout" call hangs, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    /// Probability of a SOAP fault (HTTP 500 with a Fault envelope).
    #[arg(long, default_value_t = 0.0)]
    soap_fault_rate: f64,
    /// Probability of a statusInfo FAILURE answer.
    #[arg(long, default_value_t = 0.0)]
    failure_rate: f64,
    /// Probability of a lost reply: the call is applied, then the connection is closed
    /// before any response.
    #[arg(long, default_value_t = 0.0)]
    lost_reply_rate: f64,
    /// Limit injected faults to these WSDL operations (comma-separated; default all).
    #[arg(long, value_delimiter = ',')]
    fault_operations: Vec<String>,
    /// Refuse the credentials after this many authenticated calls.
    #[arg(long)]
    expire_after: Option<u64>,
    /// Accept request elements in any order (names are still checked).
    #[arg(long)]
    lenient_order: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber_init();
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.fixture)
        .map_err(|e| format!("cannot read {}: {e}", args.fixture.display()))?;
    let fixture: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", args.fixture.display()))?;
    let opts = sim_flexnet::SimOptions {
        port: args.port,
        seed: args.seed,
        latency: Duration::from_millis(args.latency_ms),
        http_500_rate: args.http500_rate,
        timeout_rate: args.timeout_rate,
        timeout_delay: Duration::from_millis(args.timeout_ms),
        soap_fault_rate: args.soap_fault_rate,
        failure_rate: args.failure_rate,
        lost_reply_rate: args.lost_reply_rate,
        fault_operations: args.fault_operations,
        expire_credentials_after: args.expire_after,
        strict_order: !args.lenient_order,
        ..Default::default()
    };
    let sim = sim_flexnet::FlexnetSim::start(&fixture, opts).await?;
    println!("sim-flexnet listening on {}", sim.base_url());
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    sim.shutdown();
    Ok(())
}

fn tracing_subscriber_init() {
    // no subscriber crate here: logs stay off unless a host process installs one
}
