use crate::common::{dynamodb, table};
use aws_adapters::tables::STATE_TABLE;
use aws_adapters::DynamoStateStore;
use chrono::{DateTime, Duration, Utc};
use engine::ports::{RunKind, RunRecord, RunStatus, SalesOrderRecord, StateStore, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;

async fn store() -> DynamoStateStore {
    let client = dynamodb().await;
    let name = table(&client, &STATE_TABLE).await;
    DynamoStateStore::new(client, name)
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test]
async fn r21_watermark_round_trip() {
    let s = store().await;
    assert_eq!(
        s.watermark().await.unwrap(),
        None,
        "no watermark before the first run"
    );
    let at = t("2026-04-01T02:00:00.987654321Z");
    s.set_watermark(at).await.unwrap();
    assert_eq!(s.watermark().await.unwrap(), Some(at));
    s.set_watermark(at + Duration::days(1)).await.unwrap();
    assert_eq!(s.watermark().await.unwrap(), Some(at + Duration::days(1)));
}

fn run(id: &str, started: DateTime<Utc>) -> RunRecord {
    RunRecord {
        task_id: id.into(),
        kind: RunKind::Scheduled,
        status: RunStatus::Running,
        window_from: Some(started - Duration::hours(24)),
        window_to: Some(started),
        started,
        finished: None,
        accounts_planned: 3,
        counts: BTreeMap::from([("completed".into(), 7), ("failed".into(), 1)]),
        detail: None,
    }
}

#[tokio::test]
async fn runs_round_trip_and_list_newest_first() {
    let s = store().await;
    let base = t("2026-04-01T02:00:00Z");
    for (i, id) in ["r1", "r2", "r3", "r4"].iter().enumerate() {
        s.put_run(&run(id, base + Duration::hours(i as i64)))
            .await
            .unwrap();
    }
    let mut done = run("r2", base + Duration::hours(1));
    done.status = RunStatus::Completed;
    done.finished = Some(base + Duration::hours(2));
    done.kind = RunKind::Immediate;
    s.put_run(&done).await.unwrap();
    assert_eq!(s.get_run("r2").await.unwrap(), Some(done));
    assert_eq!(s.get_run("nope").await.unwrap(), None);
    let ids: Vec<String> = s
        .list_runs(3)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.task_id)
        .collect();
    assert_eq!(ids, ["r4", "r3", "r2"]);
    assert_eq!(s.list_runs(10).await.unwrap().len(), 4);
}

#[tokio::test]
async fn sales_order_writes_are_conditional_on_the_version() {
    let s = store().await;
    let mut rec = SalesOrderRecord {
        opportunity_id: "006000000000001AAA".into(),
        account_id: "001000000000001AAA".into(),
        entitlement_id: Some("ENT-1".into()),
        line_items: BTreeMap::from([("00k000000000001AAA".into(), "ACT-1".into())]),
        fingerprint: Some("abc".into()),
        last_task_id: Some("run-1".into()),
        updated: Some(t("2026-04-01T02:00:00Z")),
        version: 0,
    };
    assert_eq!(s.sales_order(&rec.opportunity_id).await.unwrap(), None);
    s.put_sales_order(&rec).await.unwrap();
    let stored = s.sales_order(&rec.opportunity_id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(
        SalesOrderRecord {
            version: 0,
            ..stored.clone()
        },
        rec
    );

    // a second "create" (version 0) loses: somebody already stored the order
    let err = s.put_sales_order(&rec).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { key } if key.contains("006000000000001AAA")),
        "{err:?}"
    );

    // update from the stored version wins once; the stale writer then conflicts
    rec.version = 1;
    rec.line_items
        .insert("00k000000000002AAA".into(), "ACT-2".into());
    s.put_sales_order(&rec).await.unwrap();
    assert!(matches!(
        s.put_sales_order(&rec).await,
        Err(StoreError::Conflict { .. })
    ));
    let stored = s.sales_order(&rec.opportunity_id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.line_items.len()), (2, 2));
}

#[tokio::test]
async fn concurrent_writers_of_one_sales_order_exactly_one_wins() {
    let s = Arc::new(store().await);
    let rec = SalesOrderRecord {
        opportunity_id: "006000000000009AAA".into(),
        account_id: "001".into(),
        ..Default::default()
    };
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = Arc::clone(&s);
            let mut r = rec.clone();
            r.entitlement_id = Some(format!("ENT-{i}"));
            tokio::spawn(async move { s.put_sales_order(&r).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn config_documents_round_trip() {
    let s = store().await;
    assert_eq!(s.get_config("mapping").await.unwrap(), None);
    let doc = serde_json::json!({ "stages": ["Closed Won"], "nested": { "n": 1.5, "ok": true, "none": null } });
    s.put_config("filters", &doc).await.unwrap();
    assert_eq!(s.get_config("filters").await.unwrap(), Some(doc));
    s.put_config("filters", &serde_json::json!([]))
        .await
        .unwrap();
    assert_eq!(
        s.get_config("filters").await.unwrap(),
        Some(serde_json::json!([]))
    );
    assert_eq!(s.get_config("schedule").await.unwrap(), None);
}

#[tokio::test]
async fn run_progress_adds_atomically_and_completes_the_run_when_every_account_is_done() {
    let c = dynamodb().await;
    let table = table(&c, &STATE_TABLE).await;
    let store = Arc::new(DynamoStateStore::new(c, table));
    let run = RunRecord {
        task_id: "sched-progress".into(),
        kind: RunKind::Scheduled,
        status: RunStatus::Running,
        window_from: None,
        window_to: Some("2026-11-20T09:00:00Z".parse().unwrap()),
        started: "2026-11-20T09:00:00Z".parse().unwrap(),
        finished: None,
        accounts_planned: 4,
        counts: BTreeMap::from([("accounts_queued".to_owned(), 4)]),
        detail: None,
    };
    store.put_run(&run).await.unwrap();
    let at: DateTime<Utc> = "2026-11-20T09:05:00Z".parse().unwrap();
    // four workers at once, each one account with two completed entries
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let delta =
                    BTreeMap::from([("accounts_done".to_owned(), 1), ("completed".to_owned(), 2)]);
                store
                    .add_run_progress("sched-progress", &delta, "accounts_done", at)
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let after = store.get_run("sched-progress").await.unwrap().unwrap();
    assert_eq!(after.counts.get("accounts_done"), Some(&4), "{after:?}");
    assert_eq!(after.counts.get("completed"), Some(&8));
    assert_eq!(
        after.counts.get("accounts_queued"),
        Some(&4),
        "other counts kept"
    );
    assert_eq!(after.status, RunStatus::Completed);
    assert_eq!(after.finished, Some(at));
    // an unknown run is not created
    let none = store
        .add_run_progress(
            "no-such-run",
            &BTreeMap::from([("accounts_done".to_owned(), 1)]),
            "accounts_done",
            at,
        )
        .await
        .unwrap();
    assert!(none.is_none());
    assert!(store.get_run("no-such-run").await.unwrap().is_none());
}
