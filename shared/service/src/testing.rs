//! Test support (feature `test-support`): every AWS resource of template.yaml created on a
//! moto server (tables with the template's keys, the work queue with its DLQ and redrive
//! policy, the value-less connection secret, the scheduled sync's schedule), and a
//! [`Wiring`] over them — the same wiring the functions build from their environment.

use crate::wiring::Wiring;
use aws_adapters::sqs::DLQ_MAX_RECEIVE_COUNT;
use aws_adapters::tables::{LICENSE_TABLE, LOG_TABLE, STATE_TABLE};
use aws_adapters::test_support::{moto_config, unique_name};
use aws_adapters::{AwsClients, AwsConfig};
use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use engine::ports::Clock;
use std::sync::Arc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The stack's resources on moto.
pub struct MotoStack {
    pub config: AwsConfig,
    pub clients: AwsClients,
    pub dlq_url: String,
}

impl MotoStack {
    /// Creates a fresh, uniquely named set of resources. `visibility_timeout` is the work
    /// queue's (tests use 0 so a failed message is received again at once).
    pub async fn create(visibility_timeout: u32) -> Result<Self, BoxError> {
        let sdk = moto_config().await;
        let clients = AwsClients::from_sdk_config(&sdk);
        let log_table = unique_name("LogTable");
        let state_table = unique_name("StateTable");
        let license_table = unique_name("LicenseTable");
        LOG_TABLE.create(&clients.dynamodb, &log_table).await?;
        STATE_TABLE.create(&clients.dynamodb, &state_table).await?;
        LICENSE_TABLE
            .create(&clients.dynamodb, &license_table)
            .await?;

        let dlq_url = clients
            .sqs
            .create_queue()
            .queue_name(unique_name("work-dlq"))
            .send()
            .await?
            .queue_url
            .ok_or("CreateQueue returned no URL")?;
        let dlq_arn = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or("no DLQ ARN")?;
        let work_url = clients
            .sqs
            .create_queue()
            .queue_name(unique_name("work"))
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility_timeout.to_string(),
            )
            .attributes(
                QueueAttributeName::RedrivePolicy,
                serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": DLQ_MAX_RECEIVE_COUNT})
                    .to_string(),
            )
            .send()
            .await?
            .queue_url
            .ok_or("CreateQueue returned no URL")?;

        // the template declares the secret with the placeholder {} (no values)
        let secret_arn = clients
            .secrets
            .create_secret()
            .name(unique_name("flexbridge-connection"))
            .secret_string("{}")
            .send()
            .await?
            .arn
            .ok_or("CreateSecret returned no ARN")?;

        let schedule_name = unique_name("flexbridge-scheduled-sync");
        clients
            .scheduler
            .create_schedule()
            .name(&schedule_name)
            .schedule_expression("cron(0 2 * * ? *)")
            .schedule_expression_timezone("UTC")
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Off)
                    .build()?,
            )
            .target(
                Target::builder()
                    .arn("arn:aws:lambda:us-east-1:123456789012:function:scheduled-sync")
                    .role_arn("arn:aws:iam::123456789012:role/scheduler")
                    .input(r#"{"source":"flexbridge.schedule","task":"scheduled-sync"}"#)
                    .retry_policy(RetryPolicy::builder().maximum_retry_attempts(3).build())
                    .build()?,
            )
            .send()
            .await?;

        let env = [
            ("LOG_TABLE", log_table),
            ("STATE_TABLE", state_table),
            ("LICENSE_TABLE", license_table),
            ("WORK_QUEUE_URL", work_url),
            ("CONNECTION_SECRET_ARN", secret_arn),
            ("SCHEDULE_NAME", schedule_name),
        ];
        let config = AwsConfig::from_lookup(|k| {
            env.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone())
        })?;
        Ok(MotoStack {
            config,
            clients,
            dlq_url,
        })
    }

    /// The functions' wiring over these resources with `clock`.
    pub fn wiring(&self, clock: Arc<dyn Clock>) -> Wiring {
        Wiring::new(self.config.clone(), self.clients.clone(), clock)
    }
}
