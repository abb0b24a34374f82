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

    /// The functions' wiring over these resources with `clock`; the simulators on loopback
    /// are reachable (the test-only switch, never set from the environment or settings).
    pub fn wiring(&self, clock: Arc<dyn Clock>) -> Wiring {
        Wiring::new(
            self.config.clone(),
            self.clients.clone(),
            clock,
            crate::endpoints::EndpointPolicy::loopback_simulators(),
        )
    }
}

// ------------------------------------------------------------------------- log capture

/// A `std::io::Write` appending to a shared buffer: what a test's subscriber writes, to search
/// for secrets afterwards. Clones share the buffer.
#[derive(Clone, Default)]
pub struct LogBuffer(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One TRACE subscriber (JSON lines) for the whole test binary, writing every line twice:
/// raw, and through the functions' secret scrubber (as in production). `scrubbed` picks which
/// of the two buffers a test reads, so suites of both kinds can share one test binary (a
/// process has one global subscriber; scoped ones would miss callsites that other test
/// threads registered first).
pub fn capture_logs(scrubbed: bool) -> LogBuffer {
    static LOGS: std::sync::OnceLock<(LogBuffer, LogBuffer)> = std::sync::OnceLock::new();
    let (raw, clean) = LOGS.get_or_init(|| {
        let (raw, clean) = (LogBuffer::default(), LogBuffer::default());
        let (r, c) = (raw.clone(), clean.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .json()
            .with_writer(move || Tee(r.clone(), engine::redact::ScrubWriter(c.clone())))
            .init();
        (raw, clean)
    });
    if scrubbed { clean } else { raw }.clone()
}

/// Writes each line to both of its writers.
struct Tee<A, B>(A, B);

impl<A: std::io::Write, B: std::io::Write> std::io::Write for Tee<A, B> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(buf)?;
        self.1.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

/// The binary's metrics lines ([`crate::metrics`]), one EMF JSON object per line, from the
/// first call on.
pub fn capture_metrics() -> LogBuffer {
    static LINES: std::sync::OnceLock<LogBuffer> = std::sync::OnceLock::new();
    LINES
        .get_or_init(|| {
            let buf = LogBuffer::default();
            let w = buf.clone();
            let installed = crate::metrics::set_sink(Box::new(move |line: &str| {
                let mut b = w.0.lock().unwrap_or_else(|p| p.into_inner());
                b.extend_from_slice(line.as_bytes());
                b.push(b'\n');
            }));
            assert!(installed, "another metrics sink was installed first");
            buf
        })
        .clone()
}

impl LogBuffer {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

// ------------------------------------------------------------------------- real event shapes

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{json, Value};

/// An API Gateway HTTP API (payload 2.0) event as Lambda receives it for a SigV4-signed
/// request on the `$default` stage: IAM authorizer context, raw path and query, JSON body.
pub fn api_event(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&str>,
) -> ApiGatewayV2httpRequest {
    let raw_query = query
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "%20").replace(':', "%3A")))
        .collect::<Vec<_>>()
        .join("&");
    let params: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let route = if path.starts_with("/accounts/") {
        format!("{method} /accounts/{{id}}/sync")
    } else {
        format!("{method} {path}")
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "awscurl/0.36",
            "x-amz-date": "20261120T090000Z",
            "x-amz-security-token": "FwoGZXIvYXdzE-test",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "authorizer": {"iam": {
                "accessKey": "ASIAEXAMPLE", "accountId": "123456789012", "callerId": "AROAEXAMPLE:admin",
                "cognitoIdentity": null, "principalOrgId": null,
                "userArn": "arn:aws:sts::123456789012:assumed-role/FlexbridgeAdmin/admin",
                "userId": "AROAEXAMPLE:admin"
            }},
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "awscurl/0.36"},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": route,
            "stage": "$default",
            "time": "20/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1_795_251_600_000_i64
        },
        "isBase64Encoded": false
    });
    if !params.is_empty() {
        event["queryStringParameters"] = Value::Object(params);
    }
    if let Some(id) = path
        .strip_prefix("/accounts/")
        .and_then(|r| r.strip_suffix("/sync"))
    {
        event["pathParameters"] = json!({"id": id});
    }
    if let Some(b) = body {
        event["body"] = json!(b);
    }
    serde_json::from_value(event).expect("a valid HTTP API v2 event")
}

/// The SQS event Lambda's event source mapping delivers for `messages` received from the
/// queue `queue_arn` (attributes as SQS reports them).
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attrs: serde_json::Map<String, Value> = m
                .attributes
                .as_ref()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": attrs,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("a valid SQS event")
}

/// The payload EventBridge Scheduler sends the scheduled-sync function (template.yaml's
/// `Input` with the context attributes substituted).
pub fn schedule_event(scheduled_time: &str, attempt: u32) -> Value {
    json!({
        "source": "flexbridge.schedule",
        "task": "scheduled-sync",
        "scheduleArn": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/flexbridge-scheduled-sync",
        "scheduledTime": scheduled_time,
        "executionId": "d32c5kddcf5bb8c3",
        "attempt": attempt.to_string()
    })
}

/// Connection settings JSON for the two simulators (client credentials login).
pub fn connection_json(
    salesforce_url: &str,
    client_id: &str,
    client_secret: &str,
    flexnet_url: &str,
    fno_user: &str,
    fno_password: &str,
) -> Value {
    json!({
        "salesforce": {
            "login_url": salesforce_url,
            "auth": {"flow": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            "timeout_secs": 10,
            "max_retries": 1
        },
        "flexnet": {
            "base_url": flexnet_url,
            "username": fno_user,
            "password": fno_password,
            "timeout_secs": 10,
            "max_retries": 1
        }
    })
}

impl MotoStack {
    /// The work queue's ARN (for SQS events).
    pub async fn queue_arn(&self, url: &str) -> Result<String, BoxError> {
        Ok(self
            .clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or("no queue ARN")?)
    }

    /// One ReceiveMessage on `url` (up to 10, with every system attribute, no wait).
    pub async fn receive(&self, url: &str) -> Result<Vec<aws_sdk_sqs::types::Message>, BoxError> {
        Ok(self
            .clients
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await?
            .messages
            .unwrap_or_default())
    }

    /// What Lambda's event source mapping does with a batch response: delete the messages
    /// not reported as failed; failed ones become visible again after the visibility timeout.
    pub async fn settle(
        &self,
        url: &str,
        messages: &[aws_sdk_sqs::types::Message],
        failed_ids: &[String],
    ) -> Result<(), BoxError> {
        for m in messages {
            if failed_ids
                .iter()
                .any(|f| Some(f.as_str()) == m.message_id.as_deref())
            {
                continue;
            }
            if let Some(h) = m.receipt_handle.as_deref() {
                self.clients
                    .sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(h)
                    .send()
                    .await?;
            }
        }
        Ok(())
    }
}

/// Keys whose values are data, not API fields: their own keys keep the spelling of the
/// system they come from (transaction names in `counts`, Salesforce's limit names, the
/// payloads FNO and Salesforce exchanged, stored mapping rows' attribute names, the
/// Salesforce fields of a dry run's write-backs).
pub const DATA_KEYS: [&str; 6] = [
    "counts",
    "daily_api_requests",
    "request",
    "response",
    "attributes",
    "fields",
];

/// Every key of an admin API body that is not snake_case (the API's one casing), with its
/// path; the values under [`DATA_KEYS`] are not looked into.
pub fn non_snake_case_keys(v: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{path}.{k}");
                    let snake = k
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                    if !snake {
                        out.push(p.clone());
                    }
                    if !DATA_KEYS.contains(&k.as_str()) {
                        walk(x, &p, out);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, path, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}
