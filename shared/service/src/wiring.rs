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

/// `ACCOUNT_CONCURRENCY` (optional): SQS records one account-sync invocation works on at once.
pub const ACCOUNT_CONCURRENCY_VAR: &str = "ACCOUNT_CONCURRENCY";
pub const DEFAULT_ACCOUNT_CONCURRENCY: usize = 4;

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
    pub account_concurrency: usize,
}

impl Wiring {
    /// The Lambda way: environment, default credential chain, system clock.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = AwsConfig::from_env()?;
        let concurrency = account_concurrency(std::env::var(ACCOUNT_CONCURRENCY_VAR).ok())?;
        let policy = EndpointPolicy::from_env()?;
        let clients = AwsClients::load().await;
        let mut w = Wiring::new(config, clients, Arc::new(SystemClock), policy);
        w.account_concurrency = concurrency;
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
            account_concurrency: DEFAULT_ACCOUNT_CONCURRENCY,
        }
    }

    /// scheduled-sync, immediate-sync and account-sync.
    pub fn sync_handlers(&self) -> SyncHandlers {
        SyncHandlers {
            engines: self.connector.clone(),
            state: self.state.clone(),
            queue: self.queue.clone(),
            clock: self.clock.clone(),
            concurrency: self.account_concurrency,
            progress: Some(self.state.clone()),
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
            }),
        }
    }
}

fn account_concurrency(v: Option<String>) -> Result<usize, ConfigError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(DEFAULT_ACCOUNT_CONCURRENCY),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10).contains(n))
            .ok_or_else(|| ConfigError::Invalid {
                name: ACCOUNT_CONCURRENCY_VAR,
                detail: format!("expected a whole number from 1 to 10 (an SQS batch holds at most 10), got {s:?}"),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_concurrency_defaults_and_is_checked() {
        assert_eq!(account_concurrency(None).unwrap(), 4);
        assert_eq!(account_concurrency(Some("2".into())).unwrap(), 2);
        for bad in ["0", "11", "four"] {
            let e = account_concurrency(Some(bad.into())).unwrap_err();
            assert!(e.to_string().contains(ACCOUNT_CONCURRENCY_VAR), "{e}");
        }
    }
}
