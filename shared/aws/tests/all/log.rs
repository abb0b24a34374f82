use crate::common::{dynamodb, table};
use aws_adapters::tables::LOG_TABLE;
use aws_adapters::DynamoTransactionLog;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use engine::ports::{LogEntry, LogQuery, LogStatus, TransactionLog};
use std::collections::HashSet;
use std::sync::Arc;

fn entry(task: &str, no: u64, created: DateTime<Utc>, status: LogStatus) -> LogEntry {
    LogEntry {
        task_id: task.into(),
        log_number: format!("TL-{no:05}"),
        created,
        name: "Account Creation/Update".into(),
        status,
        record_id: Some(format!("001000000000{no:03}AAA")),
        account_id: Some("001000000000001AAA".into()),
        message: format!("entry {no}"),
        reason: (status != LogStatus::Completed)
            .then(|| "R7: ProductCode X is not a deployed part number".into()),
        component: (status == LogStatus::Error).then(|| "flexnet".into()),
        request: Some(serde_json::json!({ "n": no, "orderId": format!("006000000000{no:03}AAA") })),
        response: None,
        created_by: Some(if no.is_multiple_of(2) {
            "schedule".into()
        } else {
            "arn:aws:iam::123456789012:user/admin".into()
        }),
    }
}

async fn new_log() -> (DynamoTransactionLog, aws_sdk_dynamodb::Client, String) {
    let client = dynamodb().await;
    let name = table(&client, &LOG_TABLE).await;
    (
        DynamoTransactionLog::new(client.clone(), &name, 30),
        client,
        name,
    )
}

fn t0() -> DateTime<Utc> {
    "2026-05-10T22:00:00.123456789Z".parse().unwrap()
}

/// 10 entries over two runs and two days: run A gets 1..=6, run B 7..=10; every third Failed.
async fn seeded() -> (DynamoTransactionLog, Vec<LogEntry>) {
    let (log, _, _) = new_log().await;
    let first = log.allocate_log_numbers(10).await.unwrap();
    assert_eq!(first, 1);
    let entries: Vec<LogEntry> = (1..=10)
        .map(|no| {
            let task = if no <= 6 { "run-A" } else { "run-B" };
            let status = if no % 3 == 0 {
                LogStatus::Failed
            } else {
                LogStatus::Completed
            };
            entry(task, no, t0() + Duration::minutes(30 * no as i64), status)
        })
        .collect();
    // appended in two calls, out of order: the log orders them itself
    log.append(&entries[5..]).await.unwrap();
    log.append(&entries[..5]).await.unwrap();
    (log, entries)
}

async fn all_pages(log: &DynamoTransactionLog, mut q: LogQuery) -> (Vec<LogEntry>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = log.query(&q).await.unwrap();
        pages += 1;
        assert!(page.entries.len() <= q.limit.unwrap_or(50) as usize);
        out.extend(page.entries);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
        assert!(pages < 50, "paging does not end");
    }
    (out, pages)
}

fn numbers(entries: &[LogEntry]) -> Vec<String> {
    entries.iter().map(|e| e.log_number.clone()).collect()
}

#[tokio::test]
async fn r24_entries_round_trip_and_query_by_run_in_log_number_order() {
    let (log, entries) = seeded().await;
    let page = log
        .query(&LogQuery {
            task_id: Some("run-A".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.entries,
        entries[..6].to_vec(),
        "every field round-trips, ordered by log number"
    );
    assert_eq!(page.next_cursor, None);
    let b = log
        .query(&LogQuery {
            task_id: Some("run-B".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        numbers(&b.entries),
        ["TL-00007", "TL-00008", "TL-00009", "TL-00010"]
    );
}

#[tokio::test]
async fn r24_query_by_status_and_time_range() {
    let (log, entries) = seeded().await;
    let failed = log
        .query(&LogQuery {
            status: Some(LogStatus::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        numbers(&failed.entries),
        ["TL-00003", "TL-00006", "TL-00009"]
    );
    // from inclusive, to exclusive
    let q = LogQuery {
        status: Some(LogStatus::Completed),
        from: Some(entries[1].created),
        to: Some(entries[6].created),
        ..Default::default()
    };
    let page = log.query(&q).await.unwrap();
    assert_eq!(numbers(&page.entries), ["TL-00002", "TL-00004", "TL-00005"]);
    // run + status + time: filtered on the run's partition
    let q = LogQuery {
        task_id: Some("run-A".into()),
        status: Some(LogStatus::Completed),
        from: Some(entries[1].created),
        ..Default::default()
    };
    assert_eq!(
        numbers(&log.query(&q).await.unwrap().entries),
        ["TL-00002", "TL-00004", "TL-00005"]
    );
}

#[tokio::test]
async fn r24_query_by_time_alone_spans_days() {
    let (log, entries) = seeded().await;
    // entries run from 22:30 on one day to 03:00 two days... the range crosses midnight
    assert_ne!(
        entries[0].created.date_naive(),
        entries[9].created.date_naive()
    );
    let all = log.query(&LogQuery::default()).await.unwrap();
    assert_eq!(all.entries, entries, "no filter: everything, in time order");
    let q = LogQuery {
        from: Some(entries[2].created),
        to: Some(entries[8].created),
        ..Default::default()
    };
    let page = log.query(&q).await.unwrap();
    assert_eq!(numbers(&page.entries), numbers(&entries[2..8]));
}

#[tokio::test]
async fn r24_paging_returns_every_entry_once_on_every_access_path() {
    let (log, entries) = seeded().await;
    let cases = [
        (
            LogQuery {
                task_id: Some("run-A".into()),
                limit: Some(4),
                ..Default::default()
            },
            numbers(&entries[..6]),
            2,
        ),
        (
            LogQuery {
                status: Some(LogStatus::Completed),
                limit: Some(3),
                ..Default::default()
            },
            vec![
                "TL-00001", "TL-00002", "TL-00004", "TL-00005", "TL-00007", "TL-00008", "TL-00010",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            3,
        ),
        (
            LogQuery {
                limit: Some(3),
                ..Default::default()
            },
            numbers(&entries),
            4,
        ),
        (
            LogQuery {
                task_id: Some("run-A".into()),
                status: Some(LogStatus::Completed),
                limit: Some(2),
                ..Default::default()
            },
            vec!["TL-00001", "TL-00002", "TL-00004", "TL-00005"]
                .into_iter()
                .map(String::from)
                .collect(),
            2,
        ),
    ];
    for (q, want, min_pages) in cases {
        let (got, pages) = all_pages(&log, q.clone()).await;
        assert_eq!(numbers(&got), want, "{q:?}");
        assert!(pages >= min_pages, "{q:?}: {pages} pages");
    }
    // a cursor of one access path is refused on another
    let page = log
        .query(&LogQuery {
            task_id: Some("run-A".into()),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    let bad = LogQuery {
        status: Some(LogStatus::Failed),
        cursor: page.next_cursor,
        ..Default::default()
    };
    assert!(log.query(&bad).await.is_err());
}

#[tokio::test]
async fn r24_log_numbers_are_unique_under_concurrency() {
    let (log, _, _) = new_log().await;
    let log = Arc::new(log);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let log = Arc::clone(&log);
            tokio::spawn(async move { log.allocate_log_numbers(5).await.unwrap() })
        })
        .collect();
    let mut seen = HashSet::new();
    for t in tasks {
        let first = t.await.unwrap();
        for n in first..first + 5 {
            assert!(seen.insert(n), "log number {n} handed out twice");
        }
    }
    assert_eq!(seen, (1..=100).collect::<HashSet<u64>>());
    assert_eq!(log.allocate_log_numbers(1).await.unwrap(), 101);
}

#[tokio::test]
async fn r24_entries_carry_a_ttl_from_the_retention() {
    let (log, client, name) = new_log().await;
    let now = Utc::now();
    log.append(&[entry("run-T", 1, now, LogStatus::Error)])
        .await
        .unwrap();
    let item = client
        .get_item()
        .table_name(&name)
        .key("task_id", AttributeValue::S("run-T".into()))
        .key("log_no", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let AttributeValue::N(exp) = &item["expires_at"] else {
        panic!("expires_at is not a number")
    };
    let exp: i64 = exp.parse().unwrap();
    let want = (now + Duration::days(30)).timestamp();
    assert!(
        (exp - want).abs() <= 5,
        "expires_at {exp}, want about {want}"
    );
    let desc = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        desc.time_to_live_description
            .unwrap()
            .attribute_name
            .as_deref(),
        Some("expires_at")
    );
}

#[tokio::test]
async fn r24_a_log_number_without_digits_is_refused_not_stored() {
    let (log, _, _) = new_log().await;
    let mut e = entry("run-X", 1, Utc::now(), LogStatus::Completed);
    e.log_number = "TL-".into();
    assert!(log.append(&[e]).await.is_err());
    assert!(log
        .query(&LogQuery {
            task_id: Some("run-X".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .entries
        .is_empty());
}

#[tokio::test]
async fn r24_a_time_range_wider_than_the_log_walks_only_days_with_entries() {
    let (log, entries) = seeded().await;
    let q = LogQuery {
        from: Some("2020-01-01T00:00:00Z".parse().unwrap()),
        to: Some("2030-01-01T00:00:00Z".parse().unwrap()),
        ..Default::default()
    };
    let page = log.query(&q).await.unwrap();
    assert_eq!(page.entries, entries, "one page, not years of empty days");
    assert_eq!(page.next_cursor, None);
}

// ------------------------------------------------------------------ issue 14

#[tokio::test]
async fn issue14_an_entry_by_its_log_number_with_payloads_and_created_by() {
    let (log, entries) = seeded().await;
    for e in [&entries[0], &entries[7]] {
        let got = log.get(&e.log_number).await.unwrap();
        assert_eq!(
            got.as_ref(),
            Some(e),
            "every field, payloads and created_by"
        );
    }
    assert_eq!(log.get("TL-00099").await.unwrap(), None);
    assert_eq!(log.get("banana").await.unwrap(), None);
}

#[tokio::test]
async fn issue14_everything_about_one_record_across_runs_in_log_number_order() {
    let (log, entries) = seeded().await;
    // an entry about the account of run A and one of run B mention the same order id
    let log2 = log;
    let extra_no = 11;
    log2.allocate_log_numbers(1).await.unwrap();
    let mut extra = entry("run-C", extra_no, t0(), LogStatus::Error);
    extra.record_id = Some("006000000000003AAA".into());
    extra.response = Some(serde_json::json!({"activationIds": ["ACT-1", "ACT-2"]}));
    log2.append(std::slice::from_ref(&extra)).await.unwrap();

    // by the record id of entry 3 and by the order id in entry 3's payload: entries 3 and 11
    let q = LogQuery {
        record: Some("006000000000003AAA".into()),
        ..Default::default()
    };
    let (got, _) = all_pages(&log2, q.clone()).await;
    assert_eq!(numbers(&got), ["TL-00003", "TL-00011"]);
    assert_eq!(got[0], entries[2], "whole entries");
    // an FNO id in a response
    let (got, _) = all_pages(
        &log2,
        LogQuery {
            record: Some("ACT-2".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(numbers(&got), ["TL-00011"]);
    // the account of every entry: all of them, paged one by one, each once
    let (got, pages) = all_pages(
        &log2,
        LogQuery {
            record: Some("001000000000001AAA".into()),
            limit: Some(3),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got.len(), 11);
    assert!(pages >= 4, "{pages} pages");
    let mut sorted = numbers(&got);
    sorted.dedup();
    assert_eq!(sorted.len(), 11);
    // other filters apply too
    let (got, _) = all_pages(
        &log2,
        LogQuery {
            record: Some("001000000000001AAA".into()),
            status: Some(LogStatus::Failed),
            task_id: Some("run-A".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(numbers(&got), ["TL-00003", "TL-00006"]);
    // the reference items stay out of every other query path
    let (all, _) = all_pages(&log2, LogQuery::default()).await;
    assert_eq!(all.len(), 11);
    let (failed, _) = all_pages(
        &log2,
        LogQuery {
            status: Some(LogStatus::Failed),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(numbers(&failed), ["TL-00003", "TL-00006", "TL-00009"]);
    // a cursor of another path is refused
    let page = log2
        .query(&LogQuery {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let e = log2
        .query(&LogQuery {
            record: Some("001000000000001AAA".into()),
            cursor: page.next_cursor,
            ..Default::default()
        })
        .await;
    assert!(e.is_err());
}
