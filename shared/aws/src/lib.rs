//! flexbridge's AWS adapters: the cloud implementations of the engine's ports
//! ([`engine::ports`]) plus the few AWS-only capabilities the Lambda functions need.
//!
//! | capability | type | AWS service |
//! |---|---|---|
//! | transaction log (R24) | [`DynamoTransactionLog`] (`TransactionLog`) | DynamoDB, table `LOG_TABLE` |
//! | watermark, runs, sales-order records, configuration | [`DynamoStateStore`] (`StateStore`) | DynamoDB, table `STATE_TABLE` |
//! | per-account fan-out ([`engine::ports::AccountWork`] v1) | [`SqsWorkQueue`] (`WorkQueue`) | SQS `WORK_QUEUE_URL` |
//! | FNO / Salesforce connection settings (R25) | [`SecretsCache`] | Secrets Manager `CONNECTION_SECRET_ARN` |
//! | pause / resume / reschedule / delete (R21) | [`ScheduleControl`], [`EventBridgeSchedule`] | EventBridge Scheduler `SCHEDULE_NAME` |
//!
//! Every `AttributeValue` mapping lives in [`dynamo`]; the table layouts are declared once in
//! [`tables`] and a test checks that `template.yaml` declares the same keys and indexes.
//!
//! Configuration comes from the environment ([`AwsConfig::from_env`]): names and ARNs only,
//! never secret values. The AWS SDK honours `AWS_ENDPOINT_URL`, so the same code runs against
//! a local emulator; the `test-support` feature adds helpers that start a moto server on
//! 127.0.0.1 (see [`test_support`]).

pub mod config;
pub mod dynamo;
pub mod schedule;
pub mod secrets;
pub mod sqs;
pub mod tables;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use config::{AwsClients, AwsConfig, ConfigError};
pub use dynamo::licenses::DynamoLicenseStore;
pub use dynamo::log::DynamoTransactionLog;
pub use dynamo::state::DynamoStateStore;
pub use schedule::{
    EventBridgeSchedule, MemorySchedule, ScheduleControl, ScheduleDefinition, ScheduleError,
    ScheduleStatus, SCHEDULE_DEFINITION_KEY,
};
pub use secrets::{SecretsCache, SecretsError};
pub use sqs::SqsWorkQueue;
