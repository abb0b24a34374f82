//! Issue 12, quota-frugal at scale: accounts are synchronised in groups — one bulk Salesforce
//! read, one FNO list call per operation, the write-back in composite calls of up to 200
//! records across the group — and a run with nothing to do sends nothing and logs nothing.
//! Every figure is read from the simulators' own counters or state.

use chrono::Duration;
use e2e::{edit_record, fixture, line_items};
use engine::ports::{
    AccountWork, LogQuery, LogStatus, RunKind, StateStore, TransactionLog, ACCOUNT_WORK_VERSION,
};
use flexbridge::Stack;
use std::collections::BTreeMap;

const WRITES: [&str; 4] = [
    "createAccount",
    "createUser",
    "createSimpleEntitlement",
    "setEntitlementState",
];

async fn demo() -> Stack {
    e2e::quiet_stack(&fixture("demo.json"), None).await
}

fn fno_writes(stack: &Stack) -> BTreeMap<String, u64> {
    stack
        .flexnet
        .calls()
        .into_iter()
        .filter(|(op, _)| WRITES.contains(&op.as_str()))
        .collect()
}

async fn entries_of(stack: &Stack, task_id: &str) -> Vec<engine::ports::LogEntry> {
    let q = LogQuery {
        task_id: Some(task_id.to_owned()),
        limit: Some(1000),
        ..Default::default()
    };
    stack.store.query(&q).await.unwrap().entries
}

/// ⌈n / d⌉
fn pages(n: usize, d: usize) -> u64 {
    n.div_ceil(d) as u64
}

#[tokio::test]
async fn issue12_first_sync_batches_fno_writes_and_stays_near_the_salesforce_floor() {
    // issue 12's org shape: accounts × (3 contacts, 2 Closed Won orders of 3 lines), 20 products
    let stack = e2e::quiet_stack(&flexbridge::generate::org(150), None).await;
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    let tenant = e2e::tenant(&stack);
    let orders = e2e::list(&tenant, "/entitlements").len();
    assert_eq!(orders, 300, "every generated order reached FNO");
    let fno_calls = stack.flexnet.total_calls();
    let per_order = fno_calls as f64 / orders as f64;
    assert!(
        per_order <= 0.5,
        "{fno_calls} FNO calls for {orders} orders: {per_order:.2} per order (goal ≤ 0.5)"
    );
    // one list call per operation for the whole group (the client sends 25 items a call)
    let writes = fno_writes(&stack);
    assert_eq!(
        writes.get("createSimpleEntitlement").copied(),
        Some(pages(orders, 25)),
        "{writes:?}"
    );
    // the floor: 1 token + ⌈rows/2000⌉ per object read + ⌈records written back/200⌉
    let state = stack.salesforce.state();
    let rows: u64 = [
        "Account",
        "Contact",
        "Opportunity",
        "OpportunityLineItem",
        "Product2",
    ]
    .iter()
    .map(|o| pages(e2e::list(&state, &format!("/salesforce/{o}")).len(), 2000))
    .sum();
    let written = stack.salesforce.records_written();
    assert_eq!(
        written,
        150 + 300 + 900,
        "accounts, orders and lines written back"
    );
    let floor = 1 + rows + pages(written as usize, 200);
    let calls = stack.salesforce.api_calls();
    assert!(
        calls as f64 <= 1.5 * floor as f64,
        "{calls} Salesforce calls, floor {floor}: {:?}",
        stack.salesforce.calls()
    );
    assert_eq!(report.run.counts.get("failed").copied(), Some(0));
}

#[tokio::test]
async fn issue12_a_run_with_nothing_to_do_sends_nothing_to_fno_and_logs_nothing() {
    let mut stack = demo().await;
    stack.engine().unwrap().run_scheduled().await.unwrap();
    e2e::advance(&mut stack, Duration::minutes(5));
    let before = fno_writes(&stack);
    // the run after the first sync: the demo's accounts whose orders fail their rules still
    // owe them, so their window plans them again (the others are only flexbridge's echo)
    let echo = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert!(
        echo.run.accounts_planned > 0,
        "the accounts that owe orders are re-read"
    );
    assert_eq!(
        fno_writes(&stack),
        before,
        "no FNO write for unchanged records"
    );
    // nothing new: no Completed entry for nothing done; the demo's orders that fail their
    // rules (and stay outstanding) are the only ones logged again
    let first_failed: Vec<_> = stack
        .store
        .query(&LogQuery {
            status: Some(LogStatus::Failed),
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.task_id != echo.run.task_id)
        .filter_map(|e| e.record_id)
        .collect();
    let logged = entries_of(&stack, &echo.run.task_id).await;
    assert!(
        logged.iter().all(|e| e.status != LogStatus::Completed
            && e.record_id
                .as_ref()
                .is_some_and(|r| first_failed.contains(r))),
        "no entry for nothing done: {logged:#?}"
    );
    let unchanged: u64 = echo
        .run
        .counts
        .get("orders_unchanged")
        .copied()
        .unwrap_or(0);
    assert!(
        unchanged > 30,
        "every order was recognised as unchanged ({unchanged})"
    );
}

#[tokio::test]
async fn issue12_a_changed_contact_alone_is_sent_again() {
    let mut stack = demo().await;
    stack.engine().unwrap().run_scheduled().await.unwrap();
    let at = e2e::advance(&mut stack, Duration::minutes(5));
    let contact = stack.salesforce.records("Contact")[0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    edit_record(&stack, "Contact", &contact, at, |c| {
        c["LastName"] = serde_json::json!("Renamed")
    });
    e2e::advance(&mut stack, Duration::minutes(5));
    let before = stack.flexnet.calls();
    let run = stack.engine().unwrap().run_scheduled().await.unwrap();
    let after = stack.flexnet.calls();
    let delta =
        |op: &str| after.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0);
    assert_eq!(delta("createUser"), 1, "the changed contact is sent");
    assert_eq!(delta("createAccount"), 0, "its unchanged account is not");
    assert_eq!(
        delta("createSimpleEntitlement"),
        0,
        "nor its unchanged orders"
    );
    let logged: Vec<_> = entries_of(&stack, &run.run.task_id)
        .await
        .into_iter()
        .filter(|e| e.status == LogStatus::Completed)
        .collect();
    assert_eq!(logged.len(), 1, "{logged:#?}");
    assert_eq!(logged[0].record_id.as_deref(), Some(contact.as_str()));
    let users = e2e::list(&e2e::tenant(&stack), "/users")
        .into_iter()
        .filter(|u| u["lastName"] == "Renamed")
        .count();
    assert_eq!(users, 1, "FNO holds the new name");
}

#[tokio::test]
async fn issue12_one_entitlement_fno_refuses_in_a_batch_fails_only_itself() {
    const ACC: &str = "001Dm0000000004IAA";
    const OPP_REFUSED: &str = "006Dm0000000006IAA"; // Cloud Connector
    const OPP_OK: &str = "006Dm0000000007IAA"; // Premium Support
    let mut stack = demo().await;
    let engine = stack.engine().unwrap();
    engine.run_scheduled().await.unwrap();
    let at = e2e::advance(&mut stack, Duration::minutes(5));
    for (li, qty) in [("00kDm0000000008IAA", 15), ("00kDm0000000009IAA", 16)] {
        edit_record(&stack, "OpportunityLineItem", li, at, |r| {
            r["Quantity"] = serde_json::json!(qty)
        });
    }
    // FNO stops accepting Cloud Connector after the engine read its catalogue
    assert!(stack.flexnet.set_product_state("Cloud Connector", "DRAFT"));
    let before = stack
        .flexnet
        .calls()
        .get("createSimpleEntitlement")
        .copied();
    let work = AccountWork {
        v: ACCOUNT_WORK_VERSION,
        task_id: "imm-batch".into(),
        account_id: ACC.into(),
        kind: RunKind::Immediate,
        window_from: None,
        window_to: None,
        fno_changed: Vec::new(),
    };
    let outcome = engine.process(&work).await.unwrap();
    let after = stack
        .flexnet
        .calls()
        .get("createSimpleEntitlement")
        .copied();
    assert_eq!(
        after.unwrap_or(0),
        before.unwrap_or(0) + 1,
        "both orders in one call"
    );
    let refused: Vec<_> = outcome
        .entries
        .iter()
        .filter(|e| e.status != LogStatus::Completed)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0].record_id.as_deref(), Some(OPP_REFUSED));
    assert!(
        refused[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("not deployed"),
        "{refused:#?}"
    );
    assert!(outcome
        .outstanding
        .iter()
        .any(|o| o.record_id == OPP_REFUSED));
    assert!(!outcome.outstanding.iter().any(|o| o.record_id == OPP_OK));
    let ent = stack
        .store
        .sales_order(OPP_OK)
        .await
        .unwrap()
        .and_then(|r| r.entitlement_id)
        .unwrap();
    let tenant = e2e::tenant(&stack);
    let copies: Vec<i64> = line_items(&tenant)
        .into_iter()
        .filter(|(e, _)| e == &ent)
        .filter_map(|(_, li)| li["numberOfCopies"].as_i64())
        .collect();
    assert_eq!(copies, vec![16], "the other order of the batch was updated");
}

#[tokio::test]
async fn issue12_fno_activity_in_the_window_is_written_back_for_unchanged_orders() {
    let mut stack = demo().await;
    stack.engine().unwrap().run_scheduled().await.unwrap();
    e2e::advance(&mut stack, Duration::minutes(5));
    stack.engine().unwrap().run_scheduled().await.unwrap(); // the echo
    e2e::advance(&mut stack, Duration::minutes(5));
    let tenant = e2e::tenant(&stack);
    let (_, li) = line_items(&tenant)
        .into_iter()
        .find(|(_, li)| li["numberOfCopies"].as_i64().unwrap_or(0) >= 5)
        .expect("a line item with copies");
    let activation = li["activationId"].as_str().unwrap().to_owned();
    let copies = li["numberOfCopies"].as_i64().unwrap();
    assert!(stack.flexnet.set_fulfilled(&activation, 2));
    e2e::advance(&mut stack, Duration::minutes(5));
    stack.engine().unwrap().run_scheduled().await.unwrap();
    let state = stack.salesforce.state();
    let written = e2e::list(&state, "/salesforce/OpportunityLineItem")
        .into_iter()
        .find(|r| r["FNO_Activation_ID__c"] == activation.as_str())
        .expect("the line item carries its activation id");
    assert_eq!(
        written["FNO_Remaining_Quantity__c"].as_f64(),
        Some((copies - 2) as f64),
        "{written:#}"
    );
}

/// Calls each simulator received during `f`, by their own counters: (Salesforce, FNO).
async fn spent<F: std::future::Future>(stack: &Stack, f: F) -> (u64, u64, F::Output) {
    let (sf, fno) = (stack.salesforce.api_calls(), stack.flexnet.total_calls());
    let out = f.await;
    (
        stack.salesforce.api_calls() - sf,
        stack.flexnet.total_calls() - fno,
        out,
    )
}

#[tokio::test]
async fn issue12_the_run_after_a_sync_sees_its_own_echo_and_plans_nothing() {
    let mut stack = e2e::quiet_stack(&flexbridge::generate::org(150), None).await;
    stack.engine().unwrap().run_scheduled().await.unwrap();
    e2e::advance(&mut stack, Duration::minutes(15));
    // every record flexbridge wrote back, and every FNO line item it created, is in this window
    let (sf, fno, run) = spent(&stack, stack.engine().unwrap().run_scheduled()).await;
    let run = run.unwrap();
    assert_eq!(run.run.accounts_planned, 0, "{:?}", run.run.counts);
    assert!(
        sf <= 3,
        "{sf} Salesforce calls (goal ≤ 3: token, one composite of the planning queries, a page): {:?}",
        stack.salesforce.calls()
    );
    assert!(
        fno <= 1,
        "{fno} FNO calls (goal ≤ 1): {:?}",
        stack.flexnet.calls()
    );
    assert!(entries_of(&stack, &run.run.task_id).await.is_empty());

    // a real edit (a line item's quantity) among the echo: that account alone, that order alone
    let at = e2e::advance(&mut stack, Duration::minutes(15));
    let line = stack.salesforce.records("OpportunityLineItem")[7].clone();
    let (li, opp) = (line["Id"].as_str().unwrap(), line["OpportunityId"].clone());
    edit_record(&stack, "OpportunityLineItem", li, at, |r| {
        r["Quantity"] = serde_json::json!(r["Quantity"].as_f64().unwrap_or(1.0) + 4.0)
    });
    e2e::advance(&mut stack, Duration::minutes(15));
    let run = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert_eq!(run.run.accounts_planned, 1);
    let pushed: Vec<_> = run
        .accounts
        .iter()
        .filter(|a| a.pushed_orders > 0)
        .collect();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].pushed_orders, 1, "only the edited order");
    let tenant = e2e::tenant(&stack);
    let copies = line_items(&tenant)
        .into_iter()
        .find(|(_, l)| l["orderLineNumber"] == li)
        .map(|(_, l)| l["numberOfCopies"].clone());
    let want = line["Quantity"].as_f64().unwrap() as i64 + 4;
    assert_eq!(copies, Some(serde_json::json!(want)), "order {opp}");
}

#[tokio::test]
async fn issue12_an_immediate_run_re_examines_its_whole_window() {
    let mut stack = e2e::quiet_stack(&flexbridge::generate::org(20), None).await;
    stack.engine().unwrap().run_scheduled().await.unwrap();
    let now = e2e::advance(&mut stack, Duration::minutes(15));
    // an admin's explicit window is planned in full (nothing pushed twice: order fingerprints)
    let run = stack
        .engine()
        .unwrap()
        .run_immediate(now - Duration::days(3650), now)
        .await
        .unwrap();
    assert_eq!(run.run.accounts_planned, 20);
    assert_eq!(run.accounts.iter().map(|a| a.pushed_orders).sum::<u32>(), 0);
    // while a scheduled run of the same records plans none of them
    e2e::advance(&mut stack, Duration::minutes(15));
    let run = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert_eq!(run.run.accounts_planned, 0);
}
