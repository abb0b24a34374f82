//! Environment configuration of the Lambda functions: table, queue, secret and schedule names.
//! The environment carries names and ARNs only, never secret values.

use aws_config::{BehaviorVersion, SdkConfig};

/// A missing or unusable environment variable, named so the deployer can fix the template.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is not set (template.yaml gives it to every function)")]
    Missing { name: &'static str },
    #[error("environment variable {name} is invalid: {detail}")]
    Invalid { name: &'static str, detail: String },
}

/// Names and ARNs of the resources the functions use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    /// `LOG_TABLE`: DynamoDB table of the transaction log (R24).
    pub log_table: String,
    /// `STATE_TABLE`: DynamoDB table of watermark, runs, sales-order records, configuration.
    pub state_table: String,
    /// `LICENSE_TABLE`: DynamoDB table of license records (R26–R32).
    pub license_table: String,
    /// `WORK_QUEUE_URL`: SQS queue of the per-account fan-out.
    pub work_queue_url: String,
    /// `CONNECTION_SECRET_ARN`: Secrets Manager secret holding the connection settings (R25).
    pub connection_secret_arn: String,
    /// `SCHEDULE_NAME`: the EventBridge Scheduler schedule of the scheduled sync (R21).
    pub schedule_name: String,
    /// `SCHEDULE_GROUP` (optional, default `default`).
    pub schedule_group: String,
    /// `LOG_RETENTION_DAYS` (optional, default 90): TTL of transaction-log entries.
    pub log_retention_days: u32,
}

impl AwsConfig {
    /// The variables every function needs; template.yaml sets them in `Globals`.
    pub const REQUIRED: [&'static str; 6] = [
        "LOG_TABLE",
        "STATE_TABLE",
        "LICENSE_TABLE",
        "WORK_QUEUE_URL",
        "CONNECTION_SECRET_ARN",
        "SCHEDULE_NAME",
    ];
    pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 90;

    /// Reads the process environment; the error names the first missing variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Same as [`AwsConfig::from_env`] with an injectable lookup (tests never call `set_var`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| -> Result<String, ConfigError> {
            match lookup(name) {
                Some(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
                _ => Err(ConfigError::Missing { name }),
            }
        };
        let log_retention_days = match lookup("LOG_RETENTION_DAYS") {
            None => Self::DEFAULT_LOG_RETENTION_DAYS,
            Some(v) if v.trim().is_empty() => Self::DEFAULT_LOG_RETENTION_DAYS,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(days) if days > 0 => days,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "LOG_RETENTION_DAYS",
                        detail: format!("expected a whole number of days ≥ 1, got {v:?}"),
                    })
                }
            },
        };
        Ok(AwsConfig {
            log_table: required("LOG_TABLE")?,
            state_table: required("STATE_TABLE")?,
            license_table: required("LICENSE_TABLE")?,
            work_queue_url: required("WORK_QUEUE_URL")?,
            connection_secret_arn: required("CONNECTION_SECRET_ARN")?,
            schedule_name: required("SCHEDULE_NAME")?,
            schedule_group: lookup("SCHEDULE_GROUP")
                .map(|g| g.trim().to_owned())
                .filter(|g| !g.is_empty())
                .unwrap_or_else(|| "default".to_owned()),
            log_retention_days,
        })
    }
}

/// The SDK clients of one cold start, built from one `aws_config` load.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub scheduler: aws_sdk_scheduler::Client,
}

impl AwsClients {
    /// Loads the default configuration chain (Lambda role credentials, region, and
    /// `AWS_ENDPOINT_URL` when set) once.
    pub async fn load() -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::from_sdk_config(&sdk)
    }

    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            scheduler: aws_sdk_scheduler::Client::new(sdk),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn full() -> HashMap<&'static str, String> {
        AwsConfig::REQUIRED
            .iter()
            .map(|k| (*k, format!("value-of-{k}")))
            .collect()
    }

    #[test]
    fn from_lookup_reads_every_variable_and_defaults_the_optional_ones() {
        let env = full();
        let cfg = AwsConfig::from_lookup(|k| env.get(k).cloned()).unwrap();
        assert_eq!(cfg.log_table, "value-of-LOG_TABLE");
        assert_eq!(cfg.work_queue_url, "value-of-WORK_QUEUE_URL");
        assert_eq!(cfg.schedule_group, "default");
        assert_eq!(cfg.log_retention_days, 90);
    }

    #[test]
    fn a_missing_variable_is_named_in_the_error() {
        for missing in AwsConfig::REQUIRED {
            let mut env = full();
            env.remove(missing);
            let err = AwsConfig::from_lookup(|k| env.get(k).cloned()).unwrap_err();
            assert!(matches!(err, ConfigError::Missing { name } if name == missing));
            assert!(err.to_string().contains(missing), "{err}");
        }
    }

    #[test]
    fn a_bad_retention_is_refused_with_the_variable_name() {
        let mut env = full();
        env.insert("LOG_RETENTION_DAYS", "ninety".into());
        let err = AwsConfig::from_lookup(|k| env.get(k).cloned()).unwrap_err();
        assert!(err.to_string().contains("LOG_RETENTION_DAYS"), "{err}");
        env.insert("LOG_RETENTION_DAYS", "30".into());
        assert_eq!(
            AwsConfig::from_lookup(|k| env.get(k).cloned())
                .unwrap()
                .log_retention_days,
            30
        );
    }
}
