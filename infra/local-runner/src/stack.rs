//! The local stack: both simulators on 127.0.0.1 seeded from one fixture, the embedded store,
//! and engines built over them (each [`Stack::engine`] call gets fresh clients, like a new
//! Lambda invocation would, over the same store).

use crate::RunnerError;
use chrono::{DateTime, Utc};
use engine::embedded::SqliteStore;
use engine::ports::{Clock, OffsetClock, StateStore, SystemClock};
use engine::{Engine, EngineParts, EngineSettings, CONFIG_KEY};
use flexnet::{FlexnetClient, FlexnetConfig};
use mapping::{Config, Secret};
use salesforce::{SalesforceAuth, SalesforceClient, SalesforceConfig};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The demo fixture bundled into the binary (`tests/fixtures/demo.json`).
pub const DEMO_FIXTURE: &str = include_str!("../../../tests/fixtures/demo.json");

/// Salesforce credentials the simulator accepts when the fixture names none.
pub const DEFAULT_SF_CLIENT_ID: &str = "flexbridge-demo";
pub const DEFAULT_SF_CLIENT_SECRET: &str = "demo-secret";

#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    pub salesforce: sim_salesforce::SimOptions,
    pub flexnet: sim_flexnet::SimOptions,
    /// Directory of a persistent store (`flexbridge.sqlite`); `None` = in memory.
    pub state_dir: Option<PathBuf>,
    /// Mapping/filter configuration to store before running (`mapping::Config` JSON).
    pub config: Option<Config>,
    pub settings: Option<EngineSettings>,
    /// Client retry back-off (tests shorten it).
    pub client_backoff: Option<Duration>,
    /// Per-request timeout of both clients (default: their own, 30 s and 10 s).
    pub client_timeout: Option<Duration>,
}

pub struct Stack {
    pub salesforce: sim_salesforce::RunningSim,
    pub flexnet: sim_flexnet::RunningSim,
    pub store: Arc<SqliteStore>,
    pub now: Option<DateTime<Utc>>,
    /// The connection to the simulators and the store's directory; its clock is `now`.
    conn: Remote,
}

/// How another process reaches a running stack: the simulators' addresses and the fixture's
/// credentials, the store's directory, the clock. The bench's planner runs in a process of its
/// own this way, so the memory it measures is the planning step's alone (issue 12).
#[derive(Debug, Clone)]
pub struct Remote {
    pub salesforce_url: String,
    pub flexnet_url: String,
    pub sf_client_id: String,
    pub sf_client_secret: String,
    pub fno_username: String,
    pub fno_password: String,
    /// The store's directory (`flexbridge.sqlite3`); `None` for an in-memory store, which
    /// another process cannot open.
    pub state_dir: Option<PathBuf>,
    pub now: Option<DateTime<Utc>>,
    pub settings: EngineSettings,
    pub backoff: Option<Duration>,
    pub timeout: Option<Duration>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// The fixture's `now`, when it has one (the run treats it as the current time).
pub fn fixture_now(fixture: &Value) -> Result<Option<DateTime<Utc>>, RunnerError> {
    match fixture.get("now") {
        None | Some(Value::Null) => Ok(None),
        // RFC 3339 or Salesforce's own form (`2026-11-20T09:00:00.000+0000`).
        Some(Value::String(s)) => mapping::sf::SfDateTime::parse(s)
            .map(|t| Some(t.0))
            .ok_or_else(|| {
                RunnerError::Fixture(format!(
                    "'now' = '{s}' is not an ISO date-time (e.g. 2026-11-20T09:00:00Z)"
                ))
            }),
        Some(other) => Err(RunnerError::Fixture(format!(
            "'now' must be an ISO date-time string, not {other}"
        ))),
    }
}

/// Checks the fixture's top-level shape before anything starts.
pub fn check_fixture(fixture: &Value) -> Result<(), RunnerError> {
    let Some(obj) = fixture.as_object() else {
        return Err(RunnerError::Fixture(
            "the file must hold a JSON object {\"salesforce\": {…}, \"flexnet\": {…}, \"now\": …}"
                .into(),
        ));
    };
    for (k, v) in obj {
        match k.as_str() {
            "salesforce" | "flexnet" if !v.is_object() => {
                return Err(RunnerError::Fixture(format!("'{k}' must be an object")))
            }
            _ => {}
        }
    }
    fixture_now(fixture)?;
    Ok(())
}

impl Stack {
    pub async fn start(fixture: &Value, opts: StackOptions) -> Result<Stack, RunnerError> {
        check_fixture(fixture)?;
        let now = fixture_now(fixture)?;
        let salesforce = sim_salesforce::SalesforceSim::start(fixture, opts.salesforce)
            .await
            .map_err(RunnerError::SalesforceSim)?;
        let flexnet = sim_flexnet::FlexnetSim::start(fixture, opts.flexnet)
            .await
            .map_err(RunnerError::FlexnetSim)?;
        let store = match &opts.state_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| RunnerError::Write {
                    what: "--state directory",
                    path: dir.display().to_string(),
                    source,
                })?;
                SqliteStore::open_dir(dir)?
            }
            None => SqliteStore::in_memory()?,
        };
        let store = Arc::new(store);
        if let Some(config) = &opts.config {
            let v = serde_json::to_value(config).map_err(|e| RunnerError::Config {
                path: "--config".into(),
                detail: e.to_string(),
            })?;
            store.put_config(CONFIG_KEY, &v).await?;
        }
        let creds = fixture.pointer("/salesforce/credentials");
        let sf_client_id = creds
            .and_then(|c| str_at(c, &["clientId"]))
            .unwrap_or(DEFAULT_SF_CLIENT_ID)
            .to_owned();
        let sf_client_secret = creds
            .and_then(|c| str_at(c, &["clientSecret"]))
            .unwrap_or(DEFAULT_SF_CLIENT_SECRET)
            .to_owned();
        let fno_username = str_at(fixture, &["flexnet", "credentials", "username"])
            .unwrap_or_default()
            .to_owned();
        let fno_password = str_at(fixture, &["flexnet", "credentials", "password"])
            .unwrap_or_default()
            .to_owned();
        let conn = Remote {
            salesforce_url: salesforce.base_url().to_owned(),
            flexnet_url: flexnet.base_url().to_owned(),
            sf_client_id,
            sf_client_secret,
            fno_username,
            fno_password,
            state_dir: opts.state_dir,
            now,
            settings: opts.settings.unwrap_or_default(),
            backoff: opts.client_backoff,
            timeout: opts.client_timeout,
        };
        Ok(Stack {
            salesforce,
            flexnet,
            store,
            now,
            conn,
        })
    }

    /// The Salesforce connection settings pointing at the simulated org.
    pub fn salesforce_config(&self) -> SalesforceConfig {
        self.conn.salesforce_config()
    }

    /// The FNO connection settings pointing at the simulated tenant.
    pub fn flexnet_config(&self) -> FlexnetConfig {
        self.conn.flexnet_config()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        clock_at(self.now)
    }

    /// How another process reaches this stack (its clock as it is now).
    pub fn remote(&self) -> Remote {
        Remote {
            now: self.now,
            ..self.conn.clone()
        }
    }

    /// A new engine over the stack: fresh clients (their call counters start at 0), the
    /// shared store, the fixture's clock.
    pub fn engine(&self) -> Result<Engine, RunnerError> {
        self.conn.engine_with(self.store.clone(), self.clock())
    }

    pub fn stop(self) {
        self.salesforce.shutdown();
        self.flexnet.shutdown();
    }
}

impl Remote {
    /// As JSON, for another process's command line (the credentials are the simulators').
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "salesforceUrl": self.salesforce_url, "flexnetUrl": self.flexnet_url,
            "sfClientId": self.sf_client_id, "sfClientSecret": self.sf_client_secret,
            "fnoUsername": self.fno_username, "fnoPassword": self.fno_password,
            "stateDir": self.state_dir, "now": self.now, "settings": self.settings,
            "backoffMs": self.backoff.map(|d| d.as_millis() as u64),
            "timeoutMs": self.timeout.map(|d| d.as_millis() as u64),
        })
    }

    /// [`Remote::to_json`] read back; the first missing or malformed field is named.
    pub fn from_json(v: &Value) -> Result<Remote, RunnerError> {
        let bad =
            |k: &str| RunnerError::Fixture(format!("stack address: `{k}` is missing or malformed"));
        let text = |k: &str| v[k].as_str().map(str::to_owned).ok_or_else(|| bad(k));
        let ms = |k: &str| v[k].as_u64().map(Duration::from_millis);
        Ok(Remote {
            salesforce_url: text("salesforceUrl")?,
            flexnet_url: text("flexnetUrl")?,
            sf_client_id: text("sfClientId")?,
            sf_client_secret: text("sfClientSecret")?,
            fno_username: text("fnoUsername")?,
            fno_password: text("fnoPassword")?,
            state_dir: v["stateDir"].as_str().map(PathBuf::from),
            now: serde_json::from_value(v["now"].clone()).map_err(|_| bad("now"))?,
            settings: serde_json::from_value(v["settings"].clone()).map_err(|_| bad("settings"))?,
            backoff: ms("backoffMs"),
            timeout: ms("timeoutMs"),
        })
    }

    /// The Salesforce connection settings pointing at the simulated org.
    pub fn salesforce_config(&self) -> SalesforceConfig {
        let c = SalesforceConfig::new(
            &self.salesforce_url,
            SalesforceAuth::ClientCredentials {
                client_id: self.sf_client_id.clone(),
                client_secret: Secret::new(self.sf_client_secret.clone()),
            },
        );
        // the simulators on 127.0.0.1 (TLS with a self-signed certificate, or plain http):
        // the code-only switches, never in stored settings
        c.for_loopback_simulator()
    }

    /// The FNO connection settings pointing at the simulated tenant.
    pub fn flexnet_config(&self) -> FlexnetConfig {
        let mut c = FlexnetConfig::new(
            &self.flexnet_url,
            self.fno_username.clone(),
            Secret::new(self.fno_password.clone()),
        );
        c.timeout = self.timeout.unwrap_or(Duration::from_secs(10));
        c.for_loopback_simulator()
    }

    /// The stack's store, opened from its directory in this process.
    pub fn open_store(&self) -> Result<Arc<SqliteStore>, RunnerError> {
        let dir = self.state_dir.as_ref().ok_or_else(|| {
            RunnerError::Fixture(
                "an in-memory store cannot be reached from another process: start the stack \
                 with a state directory"
                    .into(),
            )
        })?;
        Ok(Arc::new(SqliteStore::open_dir(dir)?))
    }

    /// An engine over the stack from this process, over `store` ([`Remote::open_store`]):
    /// fresh clients (their call counters start at 0), the address's clock.
    pub fn engine(&self, store: Arc<SqliteStore>) -> Result<Engine, RunnerError> {
        self.engine_with(store, clock_at(self.now))
    }

    /// An engine over `store` with `clock`: fresh clients (their call counters start at 0).
    fn engine_with(
        &self,
        store: Arc<SqliteStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine, RunnerError> {
        // The simulated tenant refuses every call without the fixture's credentials: say so
        // here rather than "the FNO username is empty" from the client.
        if self.fno_username.is_empty() {
            return Err(RunnerError::Fixture(
                "flexnet.credentials.username is missing or empty: the simulated FNO tenant \
                 accepts only the fixture's {\"username\", \"password\"} (tests/fixtures/README.md)"
                    .into(),
            ));
        }
        let mut sf =
            SalesforceClient::new(self.salesforce_config()).map_err(RunnerError::Salesforce)?;
        let mut fno = FlexnetClient::new(self.flexnet_config()).map_err(RunnerError::Flexnet)?;
        if let Some(b) = self.backoff {
            sf = sf.with_backoff(b);
            fno = fno.with_backoff(b);
        }
        if let Some(t) = self.timeout {
            sf = sf.with_timeout(t);
        }
        Ok(Engine::new(EngineParts {
            salesforce: sf,
            flexnet: fno,
            log: Arc::new(engine::txlog::CreatedByLog::new(
                store.clone(),
                store.clone(),
            )),
            state: store,
            clock,
            secrets: vec![self.sf_client_secret.clone(), self.fno_password.clone()],
        })
        .with_settings(self.settings.clone()))
    }
}

/// The fixture's clock: moving on from `now`, or the system's.
fn clock_at(now: Option<DateTime<Utc>>) -> Arc<dyn Clock> {
    match now {
        Some(t) => Arc::new(OffsetClock::starting_at(t)),
        None => Arc::new(SystemClock),
    }
}
