//! SQS consumer side of the per-account fan-out, with partial batch failures.
//!
//! Each record is parsed on its own (a bad body fails that record only), the batch's work is
//! synchronised as one group, and every parse error, domain error and panic becomes a
//! `batchItemFailures` entry, so SQS retries exactly those messages and, after `maxReceiveCount` receives, moves them
//! to the dead-letter queue. Nothing is acknowledged that did not succeed.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use engine::ports::{AccountWork, ACCOUNT_WORK_VERSION};
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;

/// Why one record of a batch was not processed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("message body is missing")]
    MissingBody,
    #[error("message body is not a flexbridge account-work message")]
    Parse(#[source] serde_json::Error),
    #[error(
        "message schema version {found} is not supported (this consumer reads version {expected})"
    )]
    Version { found: u32, expected: u32 },
    #[error("account id '{0}' is not a 15- or 18-character Salesforce id")]
    BadAccountId(String),
    #[error("processing the account failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("processing the account panicked: {0}")]
    Panicked(String),
    #[error("account {0} was not started: too little of the invocation's time was left")]
    NoTime(String),
}

/// The batch cannot even be reported record by record.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("an SQS record without messageId failed; failing the whole batch so nothing is lost")]
    MissingMessageId,
}

pub use engine::soql::is_id as is_salesforce_id;

/// Parse and validate one message body.
pub fn parse_work(message: &SqsMessage) -> Result<AccountWork, RecordError> {
    let body = message.body.as_deref().ok_or(RecordError::MissingBody)?;
    let work: AccountWork = serde_json::from_str(body).map_err(RecordError::Parse)?;
    if work.v != ACCOUNT_WORK_VERSION {
        return Err(RecordError::Version {
            found: work.v,
            expected: ACCOUNT_WORK_VERSION,
        });
    }
    if !is_salesforce_id(&work.account_id) {
        return Err(RecordError::BadAccountId(work.account_id));
    }
    Ok(work)
}

/// Leave at least this much of the invocation when starting an account (an account's sync
/// with slow FNO calls takes tens of seconds; the rest of the batch is retried by SQS).
pub const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

/// One message of the batch: where it stands in the event, its id and receipt handle.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub index: usize,
    pub message_id: Option<String>,
    pub receipt_handle: Option<String>,
}

/// The failed records so far (unparseable ones) and the batch's distinct work, each with
/// every delivery that carried it.
#[allow(clippy::type_complexity)]
fn parse_batch(
    event: SqsEvent,
) -> (
    Vec<(usize, Option<String>, Result<(), String>)>,
    Vec<(AccountWork, Vec<Delivery>)>,
) {
    let mut outcomes = Vec::new();
    let mut groups: Vec<(AccountWork, Vec<Delivery>)> = Vec::new();
    for (index, message) in event.records.into_iter().enumerate() {
        let d = Delivery {
            index,
            message_id: message.message_id.clone(),
            receipt_handle: message.receipt_handle.clone(),
        };
        match parse_work(&message) {
            Err(e) => outcomes.push((index, d.message_id, Err(error_chain(&e)))),
            Ok(work) => match groups.iter_mut().find(|(w, _)| same_work(w, &work)) {
                Some((_, ds)) => ds.push(d),
                None => groups.push((work, vec![d])),
            },
        }
    }
    (outcomes, groups)
}

/// Processes an SQS batch as one group: `handler` takes the batch's distinct work at once (one
/// group sync: one bulk Salesforce read and batched FNO calls for all its accounts) and
/// answers one result per item, in order; returns the ids of the records that failed (in
/// event order). The same work delivered twice in one batch (same run, account and kind) is
/// handed over once and both messages share its outcome. Nothing starts with less than
/// [`DEADLINE_MARGIN`] left before `deadline`: the records fail unstarted and SQS delivers
/// them again. A panic, or a missing result, fails the records concerned.
pub async fn process_batch_grouped<F, Fut, E>(
    event: SqsEvent,
    deadline: Option<std::time::Instant>,
    handler: F,
) -> Result<SqsBatchResponse, BatchError>
where
    F: FnOnce(Vec<(AccountWork, Delivery)>) -> Fut,
    Fut: Future<Output = Vec<Result<(), E>>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let (mut outcomes, groups) = parse_batch(event);
    let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
    let results: Vec<Result<(), String>> = if left.is_some_and(|l| l < DEADLINE_MARGIN) {
        groups
            .iter()
            .map(|(w, _)| Err(error_chain(&RecordError::NoTime(w.account_id.clone()))))
            .collect()
    } else {
        let work = groups
            .iter()
            .map(|(w, ds)| (w.clone(), ds[0].clone()))
            .collect();
        match AssertUnwindSafe(handler(work)).catch_unwind().await {
            Ok(rs) => rs
                .into_iter()
                .map(|r| r.map_err(|e| error_chain(&RecordError::Failed(Box::new(e)))))
                .collect(),
            Err(panic) => {
                let text = error_chain(&RecordError::Panicked(panic_text(&panic)));
                groups.iter().map(|_| Err(text.clone())).collect()
            }
        }
    };
    let missing = || Err("the batch handler gave no result for this record".to_owned());
    let mut results = results.into_iter();
    for (_, ds) in groups {
        let r = results.next().unwrap_or_else(missing);
        for d in ds {
            outcomes.push((d.index, d.message_id, r.clone()));
        }
    }
    report(outcomes)
}

/// Same run, account (15 or 18 characters) and kind: a duplicate delivery.
fn same_work(a: &AccountWork, b: &AccountWork) -> bool {
    a.task_id == b.task_id
        && a.kind == b.kind
        && engine::soql::id18(&a.account_id) == engine::soql::id18(&b.account_id)
}

/// The batch response: one item failure per failed record, in event order.
fn report(
    mut outcomes: Vec<(usize, Option<String>, Result<(), String>)>,
) -> Result<SqsBatchResponse, BatchError> {
    outcomes.sort_by_key(|(i, _, _)| *i);
    let mut response = SqsBatchResponse::default();
    for (_, id, outcome) in outcomes {
        let Err(error) = outcome else { continue };
        let Some(id) = id else {
            tracing::error!(error = %error, "failed SQS record has no messageId");
            return Err(BatchError::MissingMessageId);
        };
        tracing::warn!(message_id = %id, error = %error, "SQS record failed; it will be retried");
        let mut item = BatchItemFailure::default();
        item.item_identifier = id;
        response.batch_item_failures.push(item);
    }
    Ok(response)
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// "outer: inner: innermost" for logs (never for API clients): the engine's, shared.
pub use engine::txlog::error_chain;

#[cfg(test)]
mod tests {
    use super::*;
    use engine::ports::RunKind;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn message(id: Option<&str>, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = id.map(str::to_owned);
        m.body = Some(body.to_owned());
        m
    }

    fn work_body(account: &str) -> String {
        serde_json::to_string(&AccountWork {
            v: ACCOUNT_WORK_VERSION,
            task_id: "task-1".into(),
            account_id: account.into(),
            kind: RunKind::Scheduled,
            window_from: None,
            window_to: None,
            fno_changed: Vec::new(),
        })
        .unwrap()
    }

    #[derive(Debug, thiserror::Error)]
    #[error("boom for {0}")]
    struct Boom(String);

    fn event(records: Vec<SqsMessage>) -> SqsEvent {
        let mut e = SqsEvent::default();
        e.records = records;
        e
    }

    type Outcomes = std::future::Ready<Vec<Result<(), Boom>>>;

    /// A group handler that runs `f` on each item (counting the items in `calls`).
    fn each<'a>(
        calls: &'a AtomicUsize,
        f: impl Fn(AccountWork) -> Result<(), Boom> + 'a,
    ) -> impl FnOnce(Vec<(AccountWork, Delivery)>) -> Outcomes + 'a {
        move |work| {
            calls.fetch_add(work.len(), Ordering::SeqCst);
            std::future::ready(work.into_iter().map(|(w, _)| f(w)).collect())
        }
    }

    #[tokio::test]
    async fn a_panicking_group_fails_every_record_and_a_missing_result_its_own() {
        let ev = event(vec![
            message(Some("a"), &work_body("001000000000001AAA")),
            message(Some("b"), &work_body("001000000000002AAA")),
        ]);
        let r = process_batch_grouped(ev, None, |_work: Vec<(AccountWork, Delivery)>| async {
            if true {
                panic!("handler bug");
            }
            Vec::<Result<(), Boom>>::new()
        })
        .await
        .unwrap();
        assert_eq!(r.batch_item_failures.len(), 2);
        let ev = event(vec![
            message(Some("a"), &work_body("001000000000001AAA")),
            message(Some("b"), &work_body("001000000000002AAA")),
        ]);
        let r = process_batch_grouped(ev, None, |_work: Vec<(AccountWork, Delivery)>| async {
            vec![Ok::<(), Boom>(())]
        })
        .await
        .unwrap();
        let failed: Vec<_> = r
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["b"], "no result for b");
    }

    #[tokio::test]
    async fn every_kind_of_failure_is_reported_and_only_those() {
        let calls = AtomicUsize::new(0);
        let ev = event(vec![
            message(Some("ok-1"), &work_body("001000000000001AAA")),
            message(Some("bad-json"), "{not json"),
            message(Some("bad-id"), &work_body("001'; DROP")),
            message(
                Some("old-version"),
                &work_body("001000000000002AAA").replace("\"v\":1", "\"v\":99"),
            ),
            message(Some("domain-error"), &work_body("001000000000003AAA")),
            message(Some("ok-2"), &work_body("001000000000005")),
        ]);
        let response = process_batch_grouped(
            ev,
            None,
            each(&calls, |work: AccountWork| match work.account_id.as_str() {
                "001000000000003AAA" => Err(Boom(work.account_id)),
                _ => Ok(()),
            }),
        )
        .await
        .unwrap();
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(
            failed,
            ["bad-json", "bad-id", "old-version", "domain-error",]
        );
        // only the three valid messages reached the handler
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_same_work_twice_in_one_batch_is_processed_once_and_shares_its_outcome() {
        let calls = AtomicUsize::new(0);
        let dup = work_body("001000000000001AAA");
        // the 15-character spelling of the same account is the same work
        let dup15 = work_body("001000000000001");
        let ev = event(vec![
            message(Some("a"), &dup),
            message(Some("b"), &work_body("001000000000003AAA")),
            message(Some("c"), &dup),
            message(Some("d"), &dup15),
        ]);
        let r = process_batch_grouped(
            ev,
            None,
            each(&calls, |w: AccountWork| match w.account_id.as_str() {
                "001000000000003AAA" => Err(Boom(w.account_id)),
                _ => Ok(()),
            }),
        )
        .await
        .unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "a, c and d are one piece of work"
        );
        let failed: Vec<_> = r
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["b"]);
        // when the shared work fails, every copy is reported
        let ev = event(vec![
            message(Some("x"), &work_body("001000000000003AAA")),
            message(Some("y"), &work_body("001000000000003AAA")),
        ]);
        let r = process_batch_grouped(
            ev,
            None,
            each(&calls, |w: AccountWork| Err(Boom(w.account_id))),
        )
        .await
        .unwrap();
        assert_eq!(r.batch_item_failures.len(), 2);
    }

    #[tokio::test]
    async fn no_account_starts_too_close_to_the_deadline() {
        let calls = AtomicUsize::new(0);
        let ev = event(vec![
            message(Some("a"), &work_body("001000000000001AAA")),
            message(Some("b"), &work_body("001000000000002AAA")),
        ]);
        let soon = std::time::Instant::now() + DEADLINE_MARGIN / 2;
        let r = process_batch_grouped(ev, Some(soon), each(&calls, |_w: AccountWork| Ok(())))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing started");
        assert_eq!(r.batch_item_failures.len(), 2, "both returned to the queue");
        // with time enough, both run
        let ev = event(vec![message(Some("a"), &work_body("001000000000001AAA"))]);
        let later = std::time::Instant::now() + DEADLINE_MARGIN * 3;
        let r = process_batch_grouped(ev, Some(later), each(&calls, |_w: AccountWork| Ok(())))
            .await
            .unwrap();
        assert!(r.batch_item_failures.is_empty());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_record_without_id_fails_the_whole_batch() {
        let ev = event(vec![message(None, "garbage")]);
        let calls = AtomicUsize::new(0);
        let r = process_batch_grouped(ev, None, each(&calls, |_w: AccountWork| Ok(()))).await;
        assert!(matches!(r, Err(BatchError::MissingMessageId)));
    }

    #[test]
    fn salesforce_ids_are_15_or_18_alphanumerics() {
        assert!(is_salesforce_id("001000000000001"));
        assert!(is_salesforce_id("001000000000001AAA"));
        for bad in [
            "",
            "001",
            "001000000000001AA",
            "001000000000001AA'",
            "001 00000000001AAA",
        ] {
            assert!(!is_salesforce_id(bad), "{bad}");
        }
    }
}
