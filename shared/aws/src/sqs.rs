//! [`WorkQueue`] on SQS: the per-account fan-out producer.
//!
//! Each [`AccountWork`] (schema v1, [`engine::ports::ACCOUNT_WORK_VERSION`]) is one message
//! whose body is the JSON of the struct. Messages go out with SendMessageBatch, 10 per call
//! (the SQS maximum). Entries SQS reports as failed are retried — only those — a bounded
//! number of times; entries that still fail, or that SQS blames on the sender, make
//! `enqueue` fail with an error naming the accounts that were not queued.

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use engine::ports::{AccountWork, StoreError, WorkQueue};
use std::sync::atomic::{AtomicU64, Ordering};

/// SQS accepts at most 10 entries per SendMessageBatch.
pub const BATCH_MAX: usize = 10;

/// Entries that could not be queued, with SQS's codes (no message bodies).
#[derive(Debug, thiserror::Error)]
#[error("{} message(s) not queued: {}", failures.len(), describe(failures))]
pub struct EnqueueFailed {
    /// (account id, SQS error code)
    pub failures: Vec<(String, String)>,
}

fn describe(failures: &[(String, String)]) -> String {
    failures
        .iter()
        .map(|(a, c)| format!("account {a} ({c})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fan-out queue.
#[derive(Debug)]
pub struct SqsWorkQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    max_attempts: u32,
    batch_calls: AtomicU64,
}

impl SqsWorkQueue {
    pub const DEFAULT_ATTEMPTS: u32 = 4;

    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsWorkQueue {
            client,
            queue_url: queue_url.into(),
            max_attempts: Self::DEFAULT_ATTEMPTS,
            batch_calls: AtomicU64::new(0),
        }
    }

    /// Attempts per entry (first send included) before `enqueue` gives up on it.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Entries SQS failed (not the sender's fault) are re-sent with the shared jittered
    /// backoff until `max_attempts` in all.
    fn backoff(&self) -> retry::Backoff {
        retry::Backoff::new(
            std::time::Duration::from_millis(50),
            std::time::Duration::from_millis(1600),
            self.max_attempts - 1,
        )
    }

    /// SendMessageBatch calls made so far (for the run's API-call counts).
    pub fn batch_calls(&self) -> u64 {
        self.batch_calls.load(Ordering::Relaxed)
    }

    /// Sends one batch (≤ 10) of `(index, body)`; returns the indexes that failed, with the
    /// code and whether SQS called it the sender's fault.
    async fn send_batch(
        &self,
        batch: &[(usize, String)],
    ) -> Result<Vec<(usize, String, bool)>, StoreError> {
        let entries = batch
            .iter()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| StoreError::backend("sqs SendMessageBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| StoreError::backend("sqs SendMessageBatch", e))?;
        let mut failed = Vec::new();
        for f in out.failed {
            match f.id.parse::<usize>() {
                Ok(i) => failed.push((i, f.code, f.sender_fault)),
                Err(_) => {
                    return Err(StoreError::backend(
                        "sqs SendMessageBatch",
                        format!("SQS reported a failure for unknown entry id {:?}", f.id),
                    ))
                }
            }
        }
        Ok(failed)
    }
}

#[async_trait]
impl WorkQueue for SqsWorkQueue {
    async fn enqueue(&self, items: &[AccountWork]) -> Result<(), StoreError> {
        let bodies = items
            .iter()
            .map(|w| {
                serde_json::to_string(w).map_err(|e| StoreError::backend("sqs message body", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut pending: Vec<usize> = (0..items.len()).collect();
        let mut given_up: Vec<(usize, String)> = Vec::new();
        let mut retrier = self.backoff().start(None);
        while !pending.is_empty() {
            let mut retry: Vec<(usize, String)> = Vec::new();
            for (chunk_no, chunk) in pending.chunks(BATCH_MAX).enumerate() {
                let batch: Vec<(usize, String)> =
                    chunk.iter().map(|&i| (i, bodies[i].clone())).collect();
                let failed = match self.send_batch(&batch).await {
                    Ok(f) => f,
                    Err(e) => {
                        // the whole call failed (after the SDK's own retries): name every
                        // account not yet confirmed as queued
                        let not_queued: Vec<&str> = pending[chunk_no * BATCH_MAX..]
                            .iter()
                            .chain(retry.iter().map(|(i, _)| i))
                            .chain(given_up.iter().map(|(i, _)| i))
                            .map(|&i| items[i].account_id.as_str())
                            .collect();
                        tracing::error!(accounts = ?not_queued, "SendMessageBatch failed");
                        return Err(StoreError::Backend {
                            context: format!(
                                "sqs SendMessageBatch (not queued: accounts {})",
                                not_queued.join(", ")
                            ),
                            source: Box::new(e),
                        });
                    }
                };
                for (i, code, sender_fault) in failed {
                    if sender_fault {
                        given_up.push((i, code));
                    } else {
                        retry.push((i, code));
                    }
                }
            }
            if !retry.is_empty() && !retrier.again().await {
                given_up.append(&mut retry);
            }
            if !retry.is_empty() {
                let attempt = retrier.attempt();
                tracing::warn!(
                    count = retry.len(),
                    attempt,
                    "retrying SQS entries that failed"
                );
            }
            pending = retry.into_iter().map(|(i, _)| i).collect();
        }
        if given_up.is_empty() {
            return Ok(());
        }
        given_up.sort();
        let failures: Vec<(String, String)> = given_up
            .into_iter()
            .map(|(i, code)| (items[i].account_id.clone(), code))
            .collect();
        let accounts: Vec<&str> = failures.iter().map(|(a, _)| a.as_str()).collect();
        Err(StoreError::Backend {
            context: format!(
                "sqs SendMessageBatch (not queued: accounts {})",
                accounts.join(", ")
            ),
            source: Box::new(EnqueueFailed { failures }),
        })
    }

    /// ChangeMessageVisibility on the fan-out queue (at most SQS's 12 hours).
    async fn retry_later(
        &self,
        receipt: &str,
        after: std::time::Duration,
    ) -> Result<(), StoreError> {
        let secs = after.as_secs().min(MAX_VISIBILITY_SECS) as i32;
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(secs)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError::backend("sqs ChangeMessageVisibility", e))
    }
}

/// SQS's longest visibility timeout (12 hours).
pub const MAX_VISIBILITY_SECS: u64 = 12 * 3600;

/// Receives before a fan-out message moves to the dead-letter queue (template.yaml's
/// `RedrivePolicy.maxReceiveCount` must equal it; a test checks).
pub const DLQ_MAX_RECEIVE_COUNT: u32 = 3;
// the issue asks for at least 3 receives before a message is dead-lettered
const _: () = assert!(DLQ_MAX_RECEIVE_COUNT >= 3);
