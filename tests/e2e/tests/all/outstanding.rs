//! "Nothing lost, nothing twice": outstanding orders are retried as their causes get fixed,
//! one worker per account, temporary vs permanent failures. Every check reads the
//! simulators' state or the store, not the engine's report of itself.

use chrono::{DateTime, Duration, Utc};
use e2e::{entitlement, fixture, line_items, with_record};
use engine::ports::{
    AccountWork, Lease, LogStatus, OutstandingScope, RunKind, StateStore, ACCOUNT_WORK_VERSION,
};
use engine::{Disposition, EngineError};
use flexbridge::Stack;
use serde_json::{json, Value};
use std::sync::Arc;

const ACC: &str = "001Wk0000000001IAA";
const OPP: &str = "006Wk0000000001IAA";
const PROD: &str = "01tWk0000000001IAA";

async fn start(fx: &Value) -> Stack {
    e2e::quiet_stack(fx, None).await
}

fn advance(stack: &mut Stack, by: Duration) -> DateTime<Utc> {
    e2e::advance(stack, by)
}

fn fno(stack: &Stack) -> Value {
    e2e::tenant(stack)
}

async fn outstanding(stack: &Stack) -> Vec<engine::ports::OutstandingItem> {
    stack
        .store
        .list_outstanding(None, 500, None)
        .await
        .unwrap()
        .items
}

/// The walkthrough with its product not flagged for sync.
fn unflagged() -> Value {
    with_record(&fixture("walkthrough.json"), "Product2", PROD, |p| {
        p["FNO_Include_In_Sync__c"] = json!(false)
    })
}

/// The walkthrough with its FNO product not deployed yet.
fn undeployed() -> Value {
    let mut fx = fixture("walkthrough.json");
    fx["flexnet"]["products"][0]["state"] = json!("DRAFT");
    fx
}

/// The first sync, then the run that reads back what flexbridge itself wrote (the Account's
/// write-back changes its SystemModstamp), so later runs start from a quiet org.
async fn first_sync_and_its_echo(stack: &mut Stack) {
    stack.engine().unwrap().run_scheduled().await.unwrap();
    advance(stack, Duration::seconds(1));
    stack.engine().unwrap().run_scheduled().await.unwrap();
}

#[tokio::test]
async fn a_failed_order_stays_outstanding_and_goes_through_once_fno_is_fixed() {
    let mut stack = start(&undeployed()).await;
    first_sync_and_its_echo(&mut stack).await;
    assert!(
        entitlement(&fno(&stack), OPP).is_none(),
        "nothing pushed yet"
    );
    let items = outstanding(&stack).await;
    assert_eq!(items.len(), 1, "{items:#?}");
    let item = &items[0];
    assert_eq!(
        (item.record_id.as_str(), item.scope),
        (OPP, OutstandingScope::Order),
        "{item:#?}"
    );
    assert_eq!(item.account_id, ACC);
    assert!(
        item.reason.contains("Entitlement Creation/Update"),
        "{item:?}"
    );
    assert!(item.reason.contains("(R"), "names the rule: {item:?}");

    // The FNO admin deploys the product; nobody touches Salesforce.
    assert!(stack.flexnet.set_product_state("SF01demo", "DEPLOYED"));
    // Before its next attempt time the order is not re-read …
    advance(&mut stack, Duration::minutes(5));
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert_eq!(report.run.accounts_planned, 0, "not due yet");
    assert!(entitlement(&fno(&stack), OPP).is_none());

    // … after it, the next scheduled run re-plans its account and pushes it.
    advance(&mut stack, Duration::minutes(30));
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert_eq!(report.run.accounts_planned, 1);
    assert_eq!(report.run.counts.get("outstanding_replanned"), Some(&1));
    let tenant = fno(&stack);
    let e = entitlement(&tenant, OPP).expect("pushed after the fix");
    assert_eq!(e["lineItems"].as_array().unwrap().len(), 1);
    assert!(
        outstanding(&stack).await.is_empty(),
        "complete: off the list"
    );
    stack.stop();
}

#[tokio::test]
async fn a_product_fixed_in_salesforce_replans_its_orders_at_once() {
    let mut stack = start(&unflagged()).await;
    first_sync_and_its_echo(&mut stack).await;
    assert_eq!(outstanding(&stack).await.len(), 1);
    // an admin edits the product (the org stamps the change)
    let edited = advance(&mut stack, Duration::seconds(30));
    e2e::edit_record(&stack, "Product2", PROD, edited, |p| {
        p["FNO_Include_In_Sync__c"] = json!(true)
    });
    // not due yet, but the product changed: its orders' account is planned
    advance(&mut stack, Duration::minutes(1));
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert_eq!(report.run.accounts_planned, 1);
    assert!(entitlement(&fno(&stack), OPP).is_some());
    assert!(outstanding(&stack).await.is_empty());
    stack.stop();
}

#[tokio::test]
async fn a_permanently_broken_order_backs_off_and_costs_nothing_in_between() {
    let mut stack = start(&unflagged()).await;
    first_sync_and_its_echo(&mut stack).await;
    let mut waits = Vec::new();
    for _ in 0..4 {
        let item = outstanding(&stack).await.remove(0);
        let now = stack.now.unwrap();
        waits.push((item.next_attempt - now).num_seconds());
        // a run just before the item is due reads nothing but the window
        let t = item.next_attempt - Duration::seconds(30);
        advance(&mut stack, t - now);
        let sf_before = stack.salesforce.api_calls();
        let r = stack.engine().unwrap().run_scheduled().await.unwrap();
        assert_eq!(
            r.run.accounts_planned,
            0,
            "{waits:?} {:#?}",
            outstanding(&stack).await
        );
        let planning = stack.salesforce.api_calls() - sf_before;
        advance(&mut stack, Duration::seconds(31));
        let sf_before = stack.salesforce.api_calls();
        let r = stack.engine().unwrap().run_scheduled().await.unwrap();
        assert_eq!(r.run.accounts_planned, 1);
        assert!(
            stack.salesforce.api_calls() - sf_before > planning,
            "the account is read"
        );
    }
    // each wait doubles the one before (give or take the seconds a run takes)
    for pair in waits.windows(2) {
        let ratio = pair[1] as f64 / pair[0] as f64;
        assert!((1.95..=2.05).contains(&ratio), "{waits:?}");
    }
    let item = outstanding(&stack).await.remove(0);
    assert_eq!(item.attempts, 6);
    stack.stop();
}

#[tokio::test]
async fn a_single_account_sync_leaves_the_write_back_owed_to_the_next_scheduled_run() {
    let mut stack = start(&fixture("walkthrough.json")).await;
    stack.engine().unwrap().run_account(ACC).await.unwrap();
    let items = outstanding(&stack).await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert!(items[0].reason.contains("R23"), "{:?}", items[0]);
    assert!(items[0].next_attempt <= stack.now.unwrap() + Duration::seconds(5));
    // the order is in FNO once, its ids are not in Salesforce yet
    assert_eq!(line_items(&fno(&stack)).len(), 1);
    let opp = stack.salesforce.record("Opportunity", OPP).unwrap();
    assert!(opp["FNO_Entitlement_ID__c"].is_null(), "{opp}");

    advance(&mut stack, Duration::minutes(1));
    stack.engine().unwrap().run_scheduled().await.unwrap();
    let opp = stack.salesforce.record("Opportunity", OPP).unwrap();
    assert_eq!(opp["FNO_Entitlement_ID__c"], OPP);
    assert_eq!(
        line_items(&fno(&stack)).len(),
        1,
        "never a second line item"
    );
    assert!(outstanding(&stack).await.is_empty());
    stack.stop();
}

fn work(task: &str, kind: RunKind) -> AccountWork {
    AccountWork {
        v: ACCOUNT_WORK_VERSION,
        task_id: task.into(),
        account_id: ACC.into(),
        kind,
        window_from: None,
        window_to: None,
        fno_changed: Vec::new(),
    }
}

#[tokio::test]
async fn one_worker_per_account_a_leased_account_waits_and_is_synced_once_free() {
    let mut stack = start(&fixture("walkthrough.json")).await;
    let now = stack.now.unwrap();
    let held = Lease {
        account_id: ACC.into(),
        owner: "other-worker#1".into(),
        task_id: "sched-20261120T090000Z-otherrun".into(),
        until: now + Duration::minutes(15),
    };
    assert!(stack
        .store
        .acquire_lease(&held, now)
        .await
        .unwrap()
        .is_none());

    // an SQS worker: a temporary wait, nothing written to FNO
    let engine = stack.engine().unwrap();
    let e = engine
        .process(&work("imm-1", RunKind::Immediate))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, EngineError::Busy { task_id, .. } if task_id == &held.task_id),
        "{e}"
    );
    assert!(matches!(
        e.disposition(&engine.settings()),
        Disposition::Wait(_)
    ));
    assert!(fno(&stack)["entitlements"].as_array().unwrap().is_empty());
    // the single-account sync answers that another run has it
    let e = engine.run_account(ACC).await.unwrap_err();
    assert!(e.to_string().contains(&held.task_id), "{e}");
    // a scheduled run logs it and keeps the account outstanding
    let report = engine.run_scheduled().await.unwrap();
    let entry = &report.accounts[0].entries[0];
    assert_eq!(entry.status, LogStatus::Failed);
    assert!(
        entry.reason.as_deref().unwrap().contains("lease"),
        "{entry:?}"
    );
    let items = outstanding(&stack).await;
    assert_eq!(items[0].scope, OutstandingScope::Account, "{items:#?}");

    // the holder died: once its lease expires the account is taken over and synced
    advance(&mut stack, Duration::minutes(16));
    assert!(stack.store.lease(ACC).await.unwrap().is_some());
    let r = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert_eq!(r.run.accounts_planned, 1);
    assert_eq!(line_items(&fno(&stack)).len(), 1);
    assert!(outstanding(&stack).await.is_empty());
    // and the finished worker released its lease
    assert!(stack.store.lease(ACC).await.unwrap().is_none());
    stack.stop();
}

#[tokio::test]
async fn refused_credentials_are_permanent_logged_and_kept_outstanding_not_retried() {
    let stack = start(&fixture("walkthrough.json")).await;
    let mut cfg = stack.salesforce_config();
    if let salesforce::SalesforceAuth::ClientCredentials { client_secret, .. } = &mut cfg.auth {
        *client_secret = salesforce::Secret::new("not-the-secret".to_owned());
    }
    let engine = engine::Engine::new(engine::EngineParts {
        salesforce: salesforce::SalesforceClient::new(cfg)
            .unwrap()
            .with_backoff(std::time::Duration::from_millis(1)),
        flexnet: flexnet::FlexnetClient::new(stack.flexnet_config()).unwrap(),
        log: stack.store.clone(),
        state: stack.store.clone(),
        clock: stack.clock(),
        secrets: vec![],
    });
    let before = stack.salesforce.calls().get("token").copied().unwrap_or(0);
    let outcome = engine
        .process(&work("sched-x", RunKind::Scheduled))
        .await
        .expect("a permanent cause is acknowledged, not retried through the queue");
    let token_calls = stack.salesforce.calls().get("token").copied().unwrap_or(0) - before;
    assert!(
        token_calls <= 2,
        "a refused login is not retried: {token_calls} token calls"
    );
    assert_eq!(outcome.entries.len(), 1);
    assert_eq!(outcome.entries[0].status, LogStatus::Failed);
    let items = outstanding(&stack).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].scope, OutstandingScope::Account);
    assert_eq!(items[0].attempts, 1);
    assert!(items[0].next_attempt > stack.now.unwrap() + Duration::minutes(14));
    stack.stop();
}

#[tokio::test]
async fn outstanding_only_sync_replans_every_outstanding_account_and_no_window() {
    let mut stack = start(&unflagged()).await;
    stack.engine().unwrap().run_scheduled().await.unwrap();
    let mut p = stack.salesforce.record("Product2", PROD).unwrap();
    p["FNO_Include_In_Sync__c"] = json!(true);
    stack.salesforce.upsert_record("Product2", p);
    advance(&mut stack, Duration::minutes(1));
    let engine = stack.engine().unwrap();
    let planned = engine
        .plan_run_with(
            RunKind::Immediate,
            None,
            None,
            engine::OutstandingPick::Only,
        )
        .await
        .unwrap();
    assert_eq!(planned.work.len(), 1, "not due yet, but asked for");
    let calls = stack.salesforce.api_calls();
    engine.run_in_process(planned).await.unwrap();
    assert!(entitlement(&fno(&stack), OPP).is_some());
    assert!(outstanding(&stack).await.is_empty());
    assert!(stack.salesforce.api_calls() > calls);
    stack.stop();
}

#[tokio::test]
async fn near_its_deadline_a_run_ends_recorded_and_its_account_stays_outstanding() {
    let stack = start(&fixture("walkthrough.json")).await;
    let engine = stack.engine().unwrap();
    // the invocation's time is up: no call starts, the run is not left `running`
    engine.set_deadline(Some(std::time::Instant::now()));
    let report = engine.run_account(ACC).await.unwrap();
    assert_eq!(report.run.status, engine::ports::RunStatus::Completed);
    let entry = &report.accounts[0].entries[0];
    assert_eq!(entry.status, LogStatus::Failed, "{entry:?}");
    assert!(
        entry.reason.as_deref().unwrap().contains("deadline"),
        "{entry:?}"
    );
    assert!(fno(&stack)["entitlements"].as_array().unwrap().is_empty());
    let items = outstanding(&stack).await;
    assert_eq!(items[0].scope, OutstandingScope::Account, "{items:#?}");
    // planning a window past the deadline aborts the run and says why
    let err = engine.run_scheduled().await.unwrap_err();
    let runs = stack.store.list_runs(5).await.unwrap();
    assert_eq!(runs[0].status, engine::ports::RunStatus::Aborted, "{err}");
    assert!(
        runs[0].detail.as_deref().unwrap().contains("deadline"),
        "{:?}",
        runs[0]
    );
}

/// A clock the test sets (for an engine that lives across "invocations", like a warm Lambda).
struct SetClock(std::sync::Mutex<DateTime<Utc>>);

impl engine::ports::Clock for SetClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Found by the chaos suite: an engine that saw the Salesforce quota spent kept refusing
/// every account after the quota had reset (its guard reads the usage of its own last call,
/// and it made none), so a warm account-sync container stranded its accounts for good.
#[tokio::test]
async fn a_warm_engine_that_saw_the_quota_spent_tries_again_once_the_quota_wait_has_passed() {
    let stack = start(&fixture("walkthrough.json")).await;
    let clock = Arc::new(SetClock(std::sync::Mutex::new(stack.now.unwrap())));
    let engine = engine::Engine::new(engine::EngineParts {
        salesforce: salesforce::SalesforceClient::new(stack.salesforce_config())
            .unwrap()
            .with_backoff(std::time::Duration::from_millis(1)),
        flexnet: flexnet::FlexnetClient::new(stack.flexnet_config()).unwrap(),
        log: stack.store.clone(),
        state: stack.store.clone(),
        clock: clock.clone(),
        secrets: vec![],
    });
    let quota = |e: &EngineError| {
        matches!(e, EngineError::Salesforce(f) if f.quota_exhausted)
            && matches!(e.disposition(&engine.settings()), Disposition::Wait(_))
    };
    stack
        .salesforce
        .set_api_usage(stack.salesforce.options().daily_api_limit);
    let e = engine
        .process(&work("sched-q1", RunKind::Scheduled))
        .await
        .unwrap_err();
    assert!(quota(&e), "{e}");
    // the quota resets; within the wait the engine keeps off the org
    stack.salesforce.set_api_usage(0);
    *clock.0.lock().unwrap() += Duration::minutes(5);
    let e = engine
        .process(&work("sched-q2", RunKind::Scheduled))
        .await
        .unwrap_err();
    assert!(quota(&e), "{e}");
    // after it, the same engine reads the quota afresh and syncs the account
    *clock.0.lock().unwrap() += Duration::minutes(61);
    engine
        .process(&work("sched-q3", RunKind::Scheduled))
        .await
        .expect("synced once the quota wait has passed");
    assert_eq!(line_items(&fno(&stack)).len(), 1);
    stack.stop();
}
