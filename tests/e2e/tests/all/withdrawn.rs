//! Withdrawn orders: a synced order that leaves the sync stages, is deleted or loses a line
//! item gets a log entry naming the entitlement and what changed; the filter setting
//! `withdrawn_action` says whether FNO is changed too (`inactivate`). Won again, the order
//! updates the same entitlement. Checks read the simulators' state and the store.

use chrono::Duration;
use e2e::{advance, edit_record, entitlement, fixture, line_items, quiet_stack, tenant};
use engine::ports::{LogStatus, TransactionLog};
use flexbridge::Stack;
use mapping::{Config, PostConditionState, WithdrawnAction};
use serde_json::json;

const OPP: &str = "006Wk0000000001IAA";
const OLI: &str = "00kWk0000000001IAA";

async fn synced(action: WithdrawnAction) -> Stack {
    let mut config = Config::default();
    config.filters.withdrawn_action = action;
    // a deployed entitlement can be set INACTIVE (a draft one cannot, in FNO)
    config.filters.post_condition_state = PostConditionState::Deployed;
    let mut stack = quiet_stack(&fixture("walkthrough.json"), Some(config)).await;
    stack.engine().unwrap().run_scheduled().await.unwrap();
    advance(&mut stack, Duration::seconds(1));
    stack.engine().unwrap().run_scheduled().await.unwrap(); // reads its own write-back
    assert!(entitlement(&tenant(&stack), OPP).is_some());
    stack
}

async fn withdrawn_entries(stack: &Stack, task: &str) -> Vec<engine::ports::LogEntry> {
    let q = engine::ports::LogQuery {
        task_id: Some(task.into()),
        ..Default::default()
    };
    stack
        .store
        .query(&q)
        .await
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.name == "Sales Order Withdrawn")
        .collect()
}

#[tokio::test]
async fn a_lost_order_is_logged_once_and_fno_is_left_alone_by_default() {
    let mut stack = synced(WithdrawnAction::Log).await;
    let t = advance(&mut stack, Duration::minutes(5));
    edit_record(&stack, "Opportunity", OPP, t, |o| {
        o["StageName"] = json!("Closed Lost")
    });
    advance(&mut stack, Duration::minutes(1));
    let r = stack.engine().unwrap().run_scheduled().await.unwrap();
    let w = withdrawn_entries(&stack, &r.run.task_id).await;
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].status, LogStatus::Completed);
    assert!(
        w[0].message.contains("Closed Lost") && w[0].message.contains(OPP),
        "{w:?}"
    );
    assert!(w[0].message.contains("left as it is"), "{w:?}");
    assert_eq!(
        entitlement(&tenant(&stack), OPP).unwrap()["state"],
        "DEPLOYED"
    );
    // logged once: the next change of the account does not log it again
    let t = advance(&mut stack, Duration::minutes(5));
    edit_record(&stack, "Opportunity", OPP, t, |o| {
        o["Description"] = json!("lost to a rival")
    });
    advance(&mut stack, Duration::minutes(1));
    let r = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert_eq!(r.run.accounts_planned, 1);
    assert!(withdrawn_entries(&stack, &r.run.task_id).await.is_empty());
    stack.stop();
}

#[tokio::test]
async fn inactivate_sets_the_entitlement_inactive_and_winning_again_revives_the_same_one() {
    let mut stack = synced(WithdrawnAction::Inactivate).await;
    let t = advance(&mut stack, Duration::minutes(5));
    edit_record(&stack, "Opportunity", OPP, t, |o| {
        o["StageName"] = json!("Negotiation")
    });
    advance(&mut stack, Duration::minutes(1));
    let r = stack.engine().unwrap().run_scheduled().await.unwrap();
    let w = withdrawn_entries(&stack, &r.run.task_id).await;
    assert_eq!(w.len(), 1);
    assert!(w[0].message.contains("set INACTIVE"), "{w:?}");
    assert_eq!(
        entitlement(&tenant(&stack), OPP).unwrap()["state"],
        "INACTIVE"
    );

    // won again: the same entitlement, deployed again, still one line item
    let t = advance(&mut stack, Duration::minutes(5));
    edit_record(&stack, "Opportunity", OPP, t, |o| {
        o["StageName"] = json!("Closed Won")
    });
    advance(&mut stack, Duration::minutes(1));
    stack.engine().unwrap().run_scheduled().await.unwrap();
    let fno = tenant(&stack);
    assert_eq!(fno["entitlements"].as_array().unwrap().len(), 1);
    assert_eq!(entitlement(&fno, OPP).unwrap()["state"], "DEPLOYED");
    assert_eq!(line_items(&fno).len(), 1, "never a second line item");
    stack.stop();
}

#[tokio::test]
async fn a_deleted_order_is_found_in_the_recycle_bin_and_its_entitlement_inactivated() {
    let mut stack = synced(WithdrawnAction::Inactivate).await;
    let t = advance(&mut stack, Duration::minutes(5));
    edit_record(&stack, "Opportunity", OPP, t, |o| {
        o["IsDeleted"] = json!(true)
    });
    advance(&mut stack, Duration::minutes(1));
    let r = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert_eq!(
        r.run.accounts_planned, 1,
        "queryAll found the deleted order's account"
    );
    let w = withdrawn_entries(&stack, &r.run.task_id).await;
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(w[0].message.contains("deleted"), "{w:?}");
    assert_eq!(
        entitlement(&tenant(&stack), OPP).unwrap()["state"],
        "INACTIVE"
    );
    stack.stop();
}

#[tokio::test]
async fn a_removed_line_item_is_logged_and_inactivated_alone() {
    let mut stack = synced(WithdrawnAction::Inactivate).await;
    let activation = line_items(&tenant(&stack))[0].1["activationId"].clone();
    let t = advance(&mut stack, Duration::minutes(5));
    edit_record(&stack, "OpportunityLineItem", OLI, t, |l| {
        l["IsDeleted"] = json!(true)
    });
    advance(&mut stack, Duration::minutes(1));
    let r = stack.engine().unwrap().run_scheduled().await.unwrap();
    let w = withdrawn_entries(&stack, &r.run.task_id).await;
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(w[0].message.contains(OLI), "{w:?}");
    let fno = tenant(&stack);
    let lis = line_items(&fno);
    assert_eq!(lis.len(), 1);
    assert_eq!(lis[0].1["activationId"], activation);
    assert_eq!(lis[0].1["state"], "INACTIVE");
    stack.stop();
}
