//! Builds every handler from the environment: [`AwsConfig::from_env`] (names and ARNs only),
//! one `aws_config` load for all SDK clients, the adapters of `shared/aws`, and the
//! [`Connector`] that turns the connection secret ([`ConnectionSettings`]) into the engine.
//!
//! Nothing here talks to Salesforce or FNO, and the secret is fetched lazily at the first
//! invocation that needs it (then cached for the life of the process): a stack whose admin
//! has not saved the settings yet still starts, and `PUT /settings/connection` can fix it.

use crate::admin::Admin;
use crate::connection::{ConnectionRoutes, ConnectionSettings, ConnectionStore, Connector};
use crate::endpoints::EndpointPolicy;
use crate::licenses::LicenseRoutes;
use crate::router::AdminApi;
use crate::runs::SyncHandlers;
use crate::schedule::ScheduleRoutes;
use aws_adapters::{
    AwsClients, AwsConfig, ConfigError, DynamoLicenseStore, DynamoStateStore, DynamoTransactionLog,
    EventBridgeSchedule, SecretsCache, SqsWorkQueue,
};
use engine::ports::{Clock, SystemClock};
use std::sync::Arc;

/// Everything one cold start builds.
pub struct Wiring {
    pub config: AwsConfig,
    pub clients: AwsClients,
    pub log: Arc<DynamoTransactionLog>,
    pub state: Arc<DynamoStateStore>,
    pub queue: Arc<SqsWorkQueue>,
    pub secret: Arc<SecretsCache<ConnectionSettings>>,
    pub schedule: Arc<EventBridgeSchedule>,
    pub licenses: Arc<DynamoLicenseStore>,
    pub clock: Arc<dyn Clock>,
    pub connector: Arc<Connector>,
    /// Days of license usage history kept ([`LICENSE_HISTORY_VAR`]).
    pub license_history_days: u32,
}

impl Wiring {
    /// The Lambda way: environment, default credential chain, system clock.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = AwsConfig::from_env()?;
        let policy = EndpointPolicy::from_env()?;
        let clients = AwsClients::load().await;
        let history = license_history_days(std::env::var(LICENSE_HISTORY_VAR).ok())?;
        let mut w = Wiring::new(config, clients, Arc::new(SystemClock), policy);
        w.license_history_days = history;
        Ok(w)
    }

    /// From explicit parts (tests against moto build it with
    /// [`EndpointPolicy::loopback_simulators`]).
    pub fn new(
        config: AwsConfig,
        clients: AwsClients,
        clock: Arc<dyn Clock>,
        policy: EndpointPolicy,
    ) -> Self {
        let log = Arc::new(DynamoTransactionLog::new(
            clients.dynamodb.clone(),
            &config.log_table,
            config.log_retention_days,
        ));
        let state = Arc::new(DynamoStateStore::new(
            clients.dynamodb.clone(),
            &config.state_table,
        ));
        let queue = Arc::new(SqsWorkQueue::new(
            clients.sqs.clone(),
            &config.work_queue_url,
        ));
        let secret = Arc::new(SecretsCache::new(
            clients.secrets.clone(),
            &config.connection_secret_arn,
        ));
        let schedule = Arc::new(EventBridgeSchedule::new(
            clients.scheduler.clone(),
            &config.schedule_name,
            &config.schedule_group,
            // keeps a deleted schedule's definition for recreation (R21)
            state.clone(),
        ));
        let licenses = Arc::new(DynamoLicenseStore::new(
            clients.dynamodb.clone(),
            &config.license_table,
        ));
        let connector = Arc::new(Connector::new(
            secret.clone() as Arc<dyn ConnectionStore>,
            log.clone(),
            state.clone(),
            clock.clone(),
            policy,
        ));
        Wiring {
            config,
            clients,
            log,
            state,
            queue,
            secret,
            schedule,
            licenses,
            clock,
            connector,
            license_history_days: licenses::history::DEFAULT_RETENTION_DAYS,
        }
    }

    /// scheduled-sync, immediate-sync and account-sync.
    pub fn sync_handlers(&self) -> SyncHandlers {
        SyncHandlers {
            engines: self.connector.clone(),
            state: self.state.clone(),
            queue: self.queue.clone(),
            clock: self.clock.clone(),
        }
    }

    /// admin-api and license-info.
    pub fn admin_api(&self) -> AdminApi {
        AdminApi {
            admin: Admin {
                state: self.state.clone(),
                log: self.log.clone(),
                org: self.connector.clone(),
            },
            connection: ConnectionRoutes {
                store: self.secret.clone(),
                connector: self.connector.clone(),
            },
            schedule: ScheduleRoutes {
                schedule: self.schedule.clone(),
                state: self.state.clone(),
                clock: self.clock.clone(),
            },
            licenses: Some(LicenseRoutes {
                store: self.licenses.clone(),
                log: self.log.clone(),
                state: self.state.clone(),
                source: self.connector.clone(),
                clock: self.clock.clone(),
                options: licenses::IngestOptions {
                    history_retention_days: self.license_history_days,
                },
            }),
        }
    }
}

/// `LICENSE_HISTORY_RETENTION_DAYS` (optional): days of license usage history kept, 1 to
/// 36500 (default [`licenses::history::DEFAULT_RETENTION_DAYS`]).
pub const LICENSE_HISTORY_VAR: &str = "LICENSE_HISTORY_RETENTION_DAYS";

fn license_history_days(v: Option<String>) -> Result<u32, ConfigError> {
    ranged_var(
        LICENSE_HISTORY_VAR,
        v,
        licenses::history::DEFAULT_RETENTION_DAYS,
        1..=36500,
        "",
    )
}

/// An optional whole-number variable within `range` (absent or empty: `default`).
fn ranged_var<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    name: &'static str,
    v: Option<String>,
    default: T,
    range: std::ops::RangeInclusive<T>,
    why: &str,
) -> Result<T, ConfigError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(s) => s
            .parse::<T>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| ConfigError::Invalid {
                name,
                detail: format!(
                    "expected a whole number from {} to {}{why}, got {s:?}",
                    range.start(),
                    range.end()
                ),
            }),
    }
}

/// The Lambda deadline (milliseconds since the epoch, from the invocation's context) as an
/// [`std::time::Instant`]; None when it is unset or already past.
pub fn deadline_instant(deadline_ms: u64) -> Option<std::time::Instant> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    let left = deadline_ms.checked_sub(now_ms)?;
    Some(std::time::Instant::now() + std::time::Duration::from_millis(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r32_license_history_retention_defaults_and_is_checked() {
        assert_eq!(license_history_days(None).unwrap(), 730);
        assert_eq!(license_history_days(Some(" 90 ".into())).unwrap(), 90);
        for bad in ["0", "-5", "a year"] {
            let e = license_history_days(Some(bad.into())).unwrap_err();
            assert!(e.to_string().contains(LICENSE_HISTORY_VAR), "{e}");
        }
    }
}
