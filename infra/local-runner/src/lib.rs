//! # flexbridge local runner
//!
//! Runs the real sync engine on one machine: the simulated Salesforce org and FNO tenant
//! (`sim-salesforce`, `sim-flexnet`) on 127.0.0.1, seeded from a fixture file, and the embedded
//! stores (SQLite through rusqlite, an in-process queue). The binary (`flexbridge`) has three
//! commands: `demo`, `run` and `licenses`, and `admin …` for a deployed stack's API; tests use [`stack::Stack`] directly.

pub mod admin;
pub mod generate;
pub mod licenses;
pub mod report;
pub mod stack;

pub use stack::{Remote, Stack, StackOptions};

/// Why the runner could not do its job (not: a sales order that Failed — those are log entries).
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// `what`: the file's role (`fixture`, `mapping configuration`), so the message says which
    /// of the user's files is at fault.
    #[error("cannot read the {what} {path}")]
    Read {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// `what`: `output file`, `--out directory`, `--state directory`.
    #[error("cannot write the {what} {path}")]
    Write {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the {what} {path} is not valid JSON")]
    Json {
        what: &'static str,
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("the fixture is not usable: {0}")]
    Fixture(String),
    #[error("the mapping configuration {path} is invalid: {detail}")]
    Config { path: String, detail: String },
    #[error("the simulated Salesforce org did not start")]
    SalesforceSim(#[source] sim_salesforce::SimError),
    #[error("the simulated FNO tenant did not start")]
    FlexnetSim(#[source] sim_flexnet::SimError),
    #[error("the embedded store failed")]
    Store(#[from] engine::ports::StoreError),
    #[error("the Salesforce client could not be built")]
    Salesforce(#[source] salesforce::SalesforceError),
    #[error("the FNO client could not be built")]
    Flexnet(#[source] flexnet::FlexnetError),
    #[error("the license ingestion could not complete")]
    Licenses(#[source] ::licenses::LicenseError),
    #[error("the manual file {path} was refused")]
    ManualFile {
        path: String,
        #[source]
        source: ::licenses::LicenseError,
    },
    #[error("the run could not complete")]
    Engine(#[from] engine::EngineError),
    #[error("flexbridge admin")]
    Admin(#[from] admin::AdminError),
}

/// The full chain of an error, `outer: inner: …`, for the one line the runner prints.
pub use engine::txlog::error_chain;

/// Writes `v` as pretty JSON to `dir/name` (the runner's output files).
pub fn write_json(
    dir: &std::path::Path,
    name: &str,
    v: &serde_json::Value,
) -> Result<(), RunnerError> {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(v).map_err(|source| RunnerError::Json {
        what: "output file",
        path: path.display().to_string(),
        source,
    })?;
    std::fs::write(&path, text + "\n").map_err(|source| RunnerError::Write {
        what: "output file",
        path: path.display().to_string(),
        source,
    })
}
