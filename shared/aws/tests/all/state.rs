use crate::common::{dynamodb, table};
use aws_adapters::tables::STATE_TABLE;
use aws_adapters::DynamoStateStore;
use chrono::{DateTime, Duration, Utc};
use engine::ports::{
    Lease, OutstandingItem, OutstandingScope, RunKind, RunPatch, RunRecord, RunStatus,
    SalesOrderRecord, StateStore, StoreError,
};
use std::collections::{BTreeMap, HashMap};
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
    assert!(s.set_watermark(at).await.unwrap(), "first watermark");
    assert_eq!(s.watermark().await.unwrap(), Some(at));
    assert!(s.set_watermark(at + Duration::days(1)).await.unwrap());
    assert_eq!(s.watermark().await.unwrap(), Some(at + Duration::days(1)));
}

#[tokio::test]
async fn r21_watermark_moves_forward_only() {
    let s = store().await;
    let at = t("2026-04-02T02:00:00Z");
    assert!(s.set_watermark(at).await.unwrap());
    // older (by a nanosecond, by a day) and equal: refused, nothing changes
    for older in [at - Duration::nanoseconds(1), at - Duration::days(1), at] {
        assert!(!s.set_watermark(older).await.unwrap(), "{older}");
        assert_eq!(s.watermark().await.unwrap(), Some(at));
    }
    assert!(s
        .set_watermark(at + Duration::nanoseconds(1))
        .await
        .unwrap());
    assert_eq!(
        s.watermark().await.unwrap(),
        Some(at + Duration::nanoseconds(1))
    );
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
        created_by: None,
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
        withdrawn: Some("left the sync stages (Closed Lost); logged".into()),
        removed_lines: BTreeMap::from([("00k000000000003AAA".into(), "ACT-3".into())]),
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
async fn issue12_fingerprints_are_read_and_written_in_batches_as_config_items() {
    let s = store().await;
    // 130 stored (6 BatchWriteItem calls), 150 asked (2 BatchGetItem calls); a key twice is
    // written once (a batch must not name a key twice)
    let mut items: Vec<(String, String)> = (0..130)
        .map(|i| (format!("fp#sf#rec{i:03}"), format!("{i:016x}")))
        .collect();
    items.push(("fp#sf#rec007".into(), "last one wins".into()));
    s.put_fingerprints(&items).await.unwrap();
    let keys: Vec<String> = (0..150).map(|i| format!("fp#sf#rec{i:03}")).collect();
    let got = s.fingerprints(&keys).await.unwrap();
    assert_eq!(got.len(), 130, "the 20 never stored are left out");
    assert_eq!(got["fp#sf#rec000"], format!("{:016x}", 0));
    assert_eq!(got["fp#sf#rec129"], format!("{:016x}", 129));
    assert_eq!(got["fp#sf#rec007"], "last one wins");
    // the same items as the one-by-one configuration calls see them
    assert_eq!(
        s.get_config("fp#sf#rec042").await.unwrap(),
        Some(serde_json::json!(format!("{:016x}", 42)))
    );
    assert!(s.fingerprints(&[]).await.unwrap().is_empty());
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
        created_by: None,
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

fn running(id: &str) -> RunRecord {
    RunRecord {
        task_id: id.into(),
        kind: RunKind::Scheduled,
        status: RunStatus::Running,
        window_from: None,
        window_to: None,
        started: t("2026-11-20T09:00:00Z"),
        finished: None,
        accounts_planned: 0,
        counts: BTreeMap::from([("kept".to_owned(), 5)]),
        detail: None,
        created_by: None,
    }
}

fn adds(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn update_run_adds_counters_from_concurrent_tasks_without_loss() {
    let s = Arc::new(store().await);
    s.put_run(&running("concurrent")).await.unwrap();
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                for _ in 0..10 {
                    let patch = RunPatch {
                        add: adds(&[("completed", 1), ("api calls.sf", 3)]),
                        ..RunPatch::default()
                    };
                    let (_, applied) = s.update_run("concurrent", &patch).await.unwrap().unwrap();
                    assert!(!applied, "no status change asked");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let run = s.get_run("concurrent").await.unwrap().unwrap();
    assert_eq!(
        run.counts,
        adds(&[("api calls.sf", 60), ("completed", 20), ("kept", 5)])
    );
    assert_eq!(run.status, RunStatus::Running);
}

#[tokio::test]
async fn update_run_moves_the_status_only_from_only_if_and_always_adds_counters() {
    let s = store().await;
    s.put_run(&running("status")).await.unwrap();
    let at = t("2026-11-20T09:30:00Z");
    let complete = RunPatch {
        add: adds(&[("accounts_done", 1)]),
        set: adds(&[("kept", 9)]),
        status: Some(RunStatus::Completed),
        only_if: Some(RunStatus::Running),
        finished: Some(at),
        accounts_planned: Some(2),
        detail: Some("all accounts done".into()),
    };
    let (run, applied) = s.update_run("status", &complete).await.unwrap().unwrap();
    assert!(applied);
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.finished, Some(at));
    assert_eq!(run.accounts_planned, 2);
    assert_eq!(run.detail.as_deref(), Some("all accounts done"));
    assert_eq!(run.counts, adds(&[("accounts_done", 1), ("kept", 9)]));
    assert_eq!(s.get_run("status").await.unwrap(), Some(run.clone()));

    // a late worker cannot abort a completed run, but its counters still count
    let abort = RunPatch {
        add: adds(&[("accounts_done", 1), ("failed", 2)]),
        status: Some(RunStatus::Aborted),
        only_if: Some(RunStatus::Running),
        finished: Some(at + Duration::hours(1)),
        detail: Some("late abort".into()),
        ..RunPatch::default()
    };
    let (after, applied) = s.update_run("status", &abort).await.unwrap().unwrap();
    assert!(!applied, "status was not running");
    assert_eq!(after.status, RunStatus::Completed);
    assert_eq!(after.finished, Some(at), "finished kept");
    assert_eq!(
        after.detail.as_deref(),
        Some("all accounts done"),
        "detail kept"
    );
    assert_eq!(
        after.counts,
        adds(&[("accounts_done", 2), ("failed", 2), ("kept", 9)])
    );
    // a refused status change without counters changes nothing and still reads the run
    let bare = RunPatch {
        status: Some(RunStatus::Aborted),
        only_if: Some(RunStatus::Planned),
        ..RunPatch::default()
    };
    let (same, applied) = s.update_run("status", &bare).await.unwrap().unwrap();
    assert!(!applied);
    assert_eq!(same, after);
    // without only_if the status moves unconditionally; RunPatch::apply agrees
    let force = RunPatch {
        status: Some(RunStatus::Aborted),
        detail: Some("stopped by an admin".into()),
        ..RunPatch::default()
    };
    let mut expected = after.clone();
    assert!(force.apply(&mut expected));
    let (forced, applied) = s.update_run("status", &force).await.unwrap().unwrap();
    assert!(applied);
    assert_eq!(forced, expected);

    // no such run: None, and nothing is created (with and without a status condition)
    for patch in [abort, RunPatch::default(), bare] {
        assert_eq!(s.update_run("no-such-run", &patch).await.unwrap(), None);
    }
    assert_eq!(s.get_run("no-such-run").await.unwrap(), None);
}

fn order(opp: &str, account: &str) -> SalesOrderRecord {
    SalesOrderRecord {
        opportunity_id: opp.into(),
        account_id: account.into(),
        entitlement_id: Some(format!("ENT-{opp}")),
        ..Default::default()
    }
}

#[tokio::test]
async fn sales_orders_of_account_lists_exactly_that_accounts_orders() {
    let s = store().await;
    for (opp, acc) in [
        ("006B", "001A"),
        ("006A", "001A"),
        ("006C", "001B"),
        ("006D", "001A"),
    ] {
        s.put_sales_order(&order(opp, acc)).await.unwrap();
    }
    // an update keeps it in the index (and the stored version moves on)
    let mut d = s.sales_order("006D").await.unwrap().unwrap();
    d.withdrawn = Some("deleted in Salesforce; logged".into());
    s.put_sales_order(&d).await.unwrap();
    // other items of the account (an outstanding item) are not sales orders
    s.put_outstanding(&[outstanding("006Z", "001A", t("2026-04-01T00:00:00Z"))])
        .await
        .unwrap();

    let of_a = s.sales_orders_of_account("001A").await.unwrap();
    let ids: Vec<&str> = of_a.iter().map(|o| o.opportunity_id.as_str()).collect();
    assert_eq!(ids, ["006A", "006B", "006D"]);
    assert_eq!(of_a[2].version, 2);
    assert_eq!(
        of_a[2].withdrawn.as_deref(),
        Some("deleted in Salesforce; logged")
    );
    assert_eq!(s.sales_orders_of_account("001B").await.unwrap().len(), 1);
    assert!(s.sales_orders_of_account("001C").await.unwrap().is_empty());
}

#[tokio::test]
async fn sales_order_items_written_before_withdrawn_orders_still_read() {
    let c = dynamodb().await;
    let table = table(&c, &STATE_TABLE).await;
    // the item exactly as the previous release wrote it: no acct, withdrawn, removed_lines
    let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.into());
    let item = HashMap::from([
        ("pk".to_owned(), s("so#006OLD")),
        ("sk".to_owned(), s("so")),
        ("opportunity_id".to_owned(), s("006OLD")),
        ("account_id".to_owned(), s("001OLD")),
        (
            "line_items".to_owned(),
            aws_sdk_dynamodb::types::AttributeValue::M(HashMap::from([(
                "00kOLD".to_owned(),
                s("ACT-OLD"),
            )])),
        ),
        ("fingerprint".to_owned(), s("f0")),
        (
            "version".to_owned(),
            aws_sdk_dynamodb::types::AttributeValue::N("3".into()),
        ),
    ]);
    c.put_item()
        .table_name(&table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let store = DynamoStateStore::new(c, table);
    let mut old = store.sales_order("006OLD").await.unwrap().unwrap();
    assert_eq!(
        old,
        SalesOrderRecord {
            opportunity_id: "006OLD".into(),
            account_id: "001OLD".into(),
            line_items: BTreeMap::from([("00kOLD".into(), "ACT-OLD".into())]),
            fingerprint: Some("f0".into()),
            version: 3,
            ..Default::default()
        }
    );
    // the next write adds it to the account's orders
    old.removed_lines.insert("00kOLD".into(), "ACT-OLD".into());
    old.line_items.clear();
    store.put_sales_order(&old).await.unwrap();
    let listed = store.sales_orders_of_account("001OLD").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].removed_lines.get("00kOLD").map(String::as_str),
        Some("ACT-OLD")
    );
    assert!(listed[0].line_items.is_empty());
}

fn outstanding(id: &str, account: &str, next: DateTime<Utc>) -> OutstandingItem {
    OutstandingItem {
        record_id: id.into(),
        account_id: account.into(),
        scope: OutstandingScope::Order,
        reason: format!("Product2 of {id} is not flagged for FlexNet Operations sync"),
        attempts: 1,
        first_seen: t("2026-03-01T00:00:00Z"),
        last_attempt: Some(t("2026-03-31T00:00:00Z")),
        next_attempt: next,
        last_task_id: Some("sched-1".into()),
    }
}

async fn outstanding_ids_of(s: &DynamoStateStore, account: &str) -> Vec<String> {
    s.outstanding_of_account(account)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.record_id)
        .collect()
}

#[tokio::test]
async fn outstanding_items_put_get_of_account_and_remove() {
    let s = store().await;
    let due = t("2026-04-01T00:00:00Z");
    let mut acct = outstanding("001ACC", "001ACC", due);
    acct.scope = OutstandingScope::Account;
    acct.attempts = 0;
    acct.last_attempt = None;
    acct.last_task_id = None;
    let items = vec![
        outstanding("006X1", "001ACC", due),
        outstanding("006X2", "001ACC", due + Duration::hours(1)),
        outstanding("006Y1", "001OTHER", due),
        acct.clone(),
    ];
    s.put_outstanding(&items).await.unwrap();
    assert_eq!(
        s.get_outstanding("001ACC").await.unwrap(),
        Some(acct.clone())
    );
    assert_eq!(
        s.get_outstanding("006X1").await.unwrap(),
        Some(items[0].clone())
    );
    assert_eq!(s.get_outstanding("006NONE").await.unwrap(), None);

    let of = outstanding_ids_of(&s, "001ACC").await;
    assert_eq!(of, ["001ACC", "006X1", "006X2"]);

    // replace: one record id twice in one call, the last one wins
    let mut retried = items[0].clone();
    retried.attempts = 2;
    retried.next_attempt = due + Duration::days(1);
    let mut again = retried.clone();
    again.attempts = 3;
    s.put_outstanding(&[retried, again.clone()]).await.unwrap();
    assert_eq!(s.get_outstanding("006X1").await.unwrap(), Some(again));

    // remove: unknown and repeated ids are ignored
    s.remove_outstanding(&[
        "006X1".into(),
        "006X1".into(),
        "006NONE".into(),
        "001ACC".into(),
    ])
    .await
    .unwrap();
    assert_eq!(s.get_outstanding("006X1").await.unwrap(), None);
    let of = outstanding_ids_of(&s, "001ACC").await;
    assert_eq!(of, ["006X2"]);
    let all = s.list_outstanding(None, 100, None).await.unwrap();
    assert_eq!(all.items.len(), 2);
    assert_eq!(all.next_cursor, None);
    s.remove_outstanding(&[]).await.unwrap();
    s.put_outstanding(&[]).await.unwrap();
}

#[tokio::test]
async fn outstanding_list_by_due_pages_with_a_cursor() {
    let s = store().await;
    let base = t("2026-04-01T00:00:00Z");
    // 60 items (more than two batch writes), due every minute, two per minute from minute 40
    let items: Vec<OutstandingItem> = (0..60)
        .map(|i| {
            let minute = if i < 40 { i } else { 40 + (i - 40) / 2 };
            outstanding(
                &format!("006{i:03}"),
                &format!("001{}", i % 7),
                base + Duration::minutes(minute),
            )
        })
        .collect();
    s.put_outstanding(&items).await.unwrap();

    // due by minute 45 (inclusive, both items of minute 45 included): 40 + 12 = 52 items
    let due_by = base + Duration::minutes(45);
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.list_outstanding(Some(due_by), 15, cursor).await.unwrap();
        assert!(page.items.len() <= 15);
        pages.push(
            page.items
                .iter()
                .map(|o| o.record_id.clone())
                .collect::<Vec<_>>(),
        );
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [15, 15, 15, 7]
    );
    let listed: Vec<String> = pages.concat();
    let want: Vec<String> = (0..52).map(|i| format!("006{i:03}")).collect();
    assert_eq!(
        listed, want,
        "ordered by next attempt, then record id; none twice"
    );

    // without due_by: every item; a page that ends exactly at the end has no cursor
    let mut all = Vec::new();
    let mut cursor = None;
    let mut calls = 0;
    loop {
        calls += 1;
        let page = s.list_outstanding(None, 20, cursor).await.unwrap();
        all.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!((all.len(), calls), (60, 3));
    assert_eq!(all, items);

    // nothing due yet
    let none = s
        .list_outstanding(Some(base - Duration::seconds(1)), 10, None)
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next_cursor.is_none());
    // a cursor whose item was removed meanwhile still resumes after it
    let first = s.list_outstanding(Some(due_by), 5, None).await.unwrap();
    s.remove_outstanding(&["006004".into(), "006005".into()])
        .await
        .unwrap();
    let next = s
        .list_outstanding(Some(due_by), 2, first.next_cursor)
        .await
        .unwrap();
    let ids: Vec<&str> = next.items.iter().map(|o| o.record_id.as_str()).collect();
    assert_eq!(ids, ["006006", "006007"]);
}

fn lease(account: &str, owner: &str, until: DateTime<Utc>) -> Lease {
    Lease {
        account_id: account.into(),
        owner: owner.into(),
        task_id: format!("task-of-{owner}"),
        until,
    }
}

#[tokio::test]
async fn leases_give_one_worker_per_account() {
    let s = store().await;
    let now = t("2026-04-01T10:00:00Z");
    let until = now + Duration::minutes(15);
    let a = lease("001L", "run-a#1", until);
    assert_eq!(s.lease("001L").await.unwrap(), None);
    assert_eq!(s.acquire_lease(&a, now).await.unwrap(), None, "free: taken");
    assert_eq!(s.lease("001L").await.unwrap(), Some(a.clone()));

    // a second owner is refused and told who holds it (also at the last instant of the lease)
    let b = lease("001L", "run-b#2", now + Duration::minutes(20));
    assert_eq!(s.acquire_lease(&b, now).await.unwrap(), Some(a.clone()));
    assert_eq!(s.acquire_lease(&b, until).await.unwrap(), Some(a.clone()));
    // the same owner re-acquires (extends) it
    let a2 = lease("001L", "run-a#1", until + Duration::minutes(5));
    assert_eq!(s.acquire_lease(&a2, now).await.unwrap(), None);
    assert_eq!(s.lease("001L").await.unwrap(), Some(a2.clone()));
    // another account is independent
    assert_eq!(
        s.acquire_lease(&lease("001M", "run-b#2", until), now)
            .await
            .unwrap(),
        None
    );

    // release by a non-owner is ignored
    s.release_lease("001L", "run-b#2").await.unwrap();
    assert_eq!(s.lease("001L").await.unwrap(), Some(a2.clone()));
    // an expired lease is taken over
    let later = a2.until + Duration::nanoseconds(1);
    let c = lease("001L", "run-c#3", later + Duration::minutes(15));
    assert_eq!(s.acquire_lease(&c, later).await.unwrap(), None);
    assert_eq!(s.lease("001L").await.unwrap(), Some(c.clone()));
    // the former holder's release does not free the new holder's lease
    s.release_lease("001L", "run-a#1").await.unwrap();
    assert_eq!(s.lease("001L").await.unwrap(), Some(c.clone()));
    // release by the owner frees it; releasing a free account is fine
    s.release_lease("001L", "run-c#3").await.unwrap();
    assert_eq!(s.lease("001L").await.unwrap(), None);
    s.release_lease("001L", "run-c#3").await.unwrap();
    assert_eq!(s.acquire_lease(&b, now).await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_lease_takers_exactly_one_wins() {
    let s = Arc::new(store().await);
    let now = t("2026-04-01T10:00:00Z");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = Arc::clone(&s);
            let l = lease("001RACE", &format!("w#{i}"), now + Duration::minutes(15));
            tokio::spawn(async move { s.acquire_lease(&l, now).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    let mut holders = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            None => winners += 1,
            Some(h) => holders.push(h.owner),
        }
    }
    assert_eq!(winners, 1);
    let held = s.lease("001RACE").await.unwrap().unwrap();
    assert!(
        holders.iter().all(|h| *h == held.owner),
        "{holders:?} vs {held:?}"
    );
}
