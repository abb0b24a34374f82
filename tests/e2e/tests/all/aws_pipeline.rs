//! The cloud pipeline end to end, with the functions' own handlers and wiring, AWS on moto and
//! both simulators: EventBridge Scheduler fires scheduled-sync → one message per account in
//! SQS → account-sync consumes the SQS event → FNO holds the entitlements and Salesforce the
//! write-backs → `GET /logs` through the admin-api handler returns the run's entries. And a
//! poison message: reported failed on every receive, dead-lettered after maxReceiveCount
//! receives by SQS's redrive policy, while the rest of its batch succeeds.

use aws_adapters::sqs::DLQ_MAX_RECEIVE_COUNT;
use aws_lambda_events::encodings::Body;
use chrono::{DateTime, Utc};
use e2e::{entitlement, fixture, list, sf_record};
use engine::ports::{AccountWork, OffsetClock, RunKind, WorkQueue, ACCOUNT_WORK_VERSION};
use serde_json::{json, Value};
use service::testing::{api_event, connection_json, schedule_event, sqs_event, MotoStack};
use service::wiring::Wiring;
use std::sync::Arc;

const ACC: &str = "001Wk0000000001IAA";
const OPP: &str = "006Wk0000000001IAA";

struct Cloud {
    moto: MotoStack,
    wiring: Wiring,
    sf: sim_salesforce::RunningSim,
    fno: sim_flexnet::RunningSim,
}

async fn cloud(fx: &Value, visibility: u32) -> Cloud {
    let now: DateTime<Utc> = fx["now"].as_str().unwrap().parse().unwrap();
    let sf = sim_salesforce::SalesforceSim::start(fx, Default::default())
        .await
        .unwrap();
    let fno = sim_flexnet::FlexnetSim::start(fx, Default::default())
        .await
        .unwrap();
    let moto = MotoStack::create(visibility).await.unwrap();
    let wiring = moto.wiring(Arc::new(OffsetClock::starting_at(now)));
    let c = Cloud {
        moto,
        wiring,
        sf,
        fno,
    };
    let conn = connection_json(
        c.sf.base_url(),
        "flexbridge-demo",
        "demo-secret",
        c.fno.base_url(),
        fx["flexnet"]["credentials"]["username"].as_str().unwrap(),
        fx["flexnet"]["credentials"]["password"].as_str().unwrap(),
    );
    let (s, b) = c
        .admin("PUT", "/settings/connection", &[], Some(&conn.to_string()))
        .await;
    assert_eq!(s, 200, "{b}");
    c
}

impl Cloud {
    async fn admin(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, Value) {
        let api = self.wiring.admin_api();
        let r =
            service::apigw::serve(api_event(method, path, query, body), |r| api.handle(r)).await;
        let body = match r.body {
            Some(Body::Text(t)) => serde_json::from_str(&t).unwrap(),
            other => panic!("{other:?}"),
        };
        (r.status_code as u16, body)
    }

    fn queue(&self) -> String {
        self.wiring.config.work_queue_url.clone()
    }

    /// What Lambda's SQS event source mapping does once: receive a batch, invoke account-sync
    /// with the SQS event, delete what succeeded. Returns (messages, failed ids).
    async fn poll_once(&self) -> (Vec<aws_sdk_sqs::types::Message>, Vec<String>) {
        let url = self.queue();
        let msgs = self.moto.receive(&url).await.unwrap();
        if msgs.is_empty() {
            return (msgs, Vec::new());
        }
        let arn = self.moto.queue_arn(&url).await.unwrap();
        let event = serde_json::to_value(sqs_event(&msgs, &arn)).unwrap();
        let out = self
            .wiring
            .sync_handlers()
            .account_sync_event(event, None)
            .await
            .expect("a batch response");
        let failed: Vec<String> = out["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
            .collect();
        self.moto.settle(&url, &msgs, &failed).await.unwrap();
        (msgs, failed)
    }

    fn fno_state(&self) -> Value {
        let s = self.fno.state();
        s.get("flexnet").cloned().unwrap_or(s)
    }
}

#[tokio::test]
async fn aws_scheduled_sync_fans_out_through_sqs_account_sync_pushes_and_get_logs_returns_the_run()
{
    let fx = fixture("walkthrough.json");
    let c = cloud(&fx, 30).await;

    // EventBridge Scheduler fires the scheduled sync
    let out = c
        .wiring
        .sync_handlers()
        .scheduled(schedule_event("2026-11-20T09:00:00Z", 1))
        .await
        .unwrap();
    assert_eq!(out.accounts_queued, 1, "{out:?}");
    let task = out.task_id.unwrap();
    assert!(
        entitlement(&c.fno_state(), OPP).is_none(),
        "nothing pushed before the consumer runs"
    );

    // the messages are in moto's SQS; account-sync consumes them
    let (msgs, failed) = c.poll_once().await;
    assert_eq!(msgs.len(), 1);
    assert!(failed.is_empty(), "{failed:?}");
    assert!(
        c.moto.receive(&c.queue()).await.unwrap().is_empty(),
        "every message deleted"
    );

    // FNO holds the entitlement with its line item; Salesforce the write-backs (R20)
    let fno = c.fno_state();
    let e = entitlement(&fno, OPP).expect("entitlement in FNO");
    assert_eq!(e["soldTo"], ACC);
    let lis = list(e, "/lineItems");
    assert_eq!(lis.len(), 1);
    assert_eq!(lis[0]["partNumber"], "SF01demo");
    let activation = lis[0]["activationId"].as_str().unwrap().to_owned();
    let sf = c.sf.state();
    assert_eq!(
        sf_record(&sf, "Opportunity", OPP).unwrap()["FNO_Entitlement_ID__c"],
        OPP
    );
    assert_eq!(
        sf_record(&sf, "OpportunityLineItem", "00kWk0000000001IAA").unwrap()
            ["FNO_Activation_ID__c"],
        activation.as_str()
    );

    // the admin reads the run's log through the admin API
    let (s, page) = c
        .admin("GET", "/logs", &[("task", task.as_str())], None)
        .await;
    assert_eq!(s, 200, "{page}");
    let entries = page["entries"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for n in [
        "Account Creation/Update",
        "Contact Creation/Update",
        "Entitlement Creation/Update",
        "Salesforce Write-back",
    ] {
        assert!(names.contains(&n), "no '{n}' in {names:?}");
    }
    assert!(
        entries
            .iter()
            .all(|e| e["status"] == "Completed" && e["task_id"] == task.as_str()),
        "{page}"
    );
    let (_, failed_page) = c
        .admin(
            "GET",
            "/logs",
            &[("task", task.as_str()), ("status", "Failed")],
            None,
        )
        .await;
    assert!(failed_page["entries"].as_array().unwrap().is_empty());
    let (_, runs) = c.admin("GET", "/runs", &[], None).await;
    assert_eq!(runs["runs"][0]["task_id"], task.as_str());
    assert_eq!(runs["runs"][0]["kind"], "scheduled");
    // every queued account done: the run completed, with the accounts' counts
    assert_eq!(runs["runs"][0]["status"], "completed", "{runs}");
    assert_eq!(runs["runs"][0]["counts"]["accounts_done"], 1);
    assert_eq!(
        runs["runs"][0]["counts"]["completed"].as_u64(),
        Some(entries.len() as u64)
    );
    let (_, sched) = c.admin("GET", "/schedule", &[], None).await;
    assert_eq!(
        sched["last_batch_fire_time"],
        json!(out.window_to.unwrap()),
        "R21: the last batch fire time is the run's window end"
    );

    // The next firings find no sales-order change. flexbridge's own write-back bumped the
    // records' SystemModstamp, and the windows' lookback overlaps (the test's clocks do not
    // advance a day between firings), so a firing may queue the account again: a re-read costs
    // a few Salesforce calls, never a lost change. Such a pass sends no entitlement, line item
    // or write-back again.
    let entitlements_before = list(&c.fno_state(), "/entitlements").len();
    let lines_before = e2e::line_items(&c.fno_state()).len();
    let writebacks = |c: &Cloud| c.sf.calls().get("composite").copied().unwrap_or(0);
    let wb_before = writebacks(&c);
    for (i, at) in ["2026-11-21T09:00:00Z", "2026-11-22T09:00:00Z"]
        .into_iter()
        .enumerate()
    {
        let next = c
            .wiring
            .sync_handlers()
            .scheduled(schedule_event(at, 2 + i as u32))
            .await
            .unwrap();
        assert!(next.accounts_queued <= 1, "{next:?}");
        let (_, failed) = c.poll_once().await;
        assert!(failed.is_empty(), "{failed:?}");
    }
    assert_eq!(
        list(&c.fno_state(), "/entitlements").len(),
        entitlements_before
    );
    assert_eq!(e2e::line_items(&c.fno_state()).len(), lines_before);
    let fno_after = c.fno.calls();
    assert_eq!(
        fno_after
            .get("createSimpleEntitlement")
            .copied()
            .unwrap_or(0),
        1,
        "the entitlement was sent once: {fno_after:?}"
    );
    assert_eq!(writebacks(&c), wb_before, "nothing written back again");
}

#[tokio::test]
async fn aws_a_poison_message_is_dead_lettered_after_max_receives_while_the_rest_of_its_batch_succeeds(
) {
    let fx = fixture("walkthrough.json");
    // visibility timeout 0: a message reported failed is received again at once
    let c = cloud(&fx, 0).await;
    let good = AccountWork {
        v: ACCOUNT_WORK_VERSION,
        task_id: "sched-20261120T090000Z-poison01".into(),
        account_id: ACC.into(),
        kind: RunKind::Scheduled,
        window_from: None,
        window_to: Some("2026-11-20T09:00:00Z".parse().unwrap()),
        fno_changed: Vec::new(),
    };
    c.wiring.queue.enqueue(&[good]).await.unwrap();
    let poison = r#"{"v":1,"task_id":"sched-x","account_id":"001Wk0000000001IAA","kind":"scheduled","window_from":"#;
    c.wiring
        .clients
        .sqs
        .send_message()
        .queue_url(c.queue())
        .message_body(poison)
        .send()
        .await
        .unwrap();

    let mut poison_receives = 0;
    let mut good_done = 0;
    for _ in 0..20 {
        let (msgs, failed) = c.poll_once().await;
        if msgs.is_empty() {
            break;
        }
        for m in &msgs {
            let id = m.message_id.clone().unwrap();
            if m.body.as_deref() == Some(poison) {
                poison_receives += 1;
                assert!(
                    failed.contains(&id),
                    "the poison message is never acknowledged"
                );
            } else {
                assert!(
                    !failed.contains(&id),
                    "the good message succeeds in the same batch"
                );
                good_done += 1;
            }
        }
    }
    assert_eq!(
        good_done, 1,
        "the good message was processed once and deleted"
    );
    assert_eq!(
        poison_receives, DLQ_MAX_RECEIVE_COUNT,
        "received maxReceiveCount times, then moved by the redrive policy"
    );
    assert!(c.moto.receive(&c.queue()).await.unwrap().is_empty());
    let dead = c.moto.receive(&c.moto.dlq_url).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body.as_deref(), Some(poison));
    // the good message's account is in FNO
    assert!(entitlement(&c.fno_state(), OPP).is_some());
}

/// Found by the chaos suite: a warm account-sync container kept the FNO catalogue it read on
/// its first invocation, so an order waiting for its product to be DEPLOYED stayed Failed on
/// that container for good although FNO had been fixed.
#[tokio::test]
async fn aws_a_warm_account_sync_container_sees_a_product_deployed_since_its_last_invocation() {
    let mut fx = fixture("walkthrough.json");
    fx["flexnet"]["products"][0]["state"] = json!("DRAFT");
    let c = cloud(&fx, 0).await;
    let work = |task: &str| AccountWork {
        v: ACCOUNT_WORK_VERSION,
        task_id: task.into(),
        account_id: ACC.into(),
        kind: RunKind::Scheduled,
        window_from: None,
        window_to: None,
        fno_changed: Vec::new(),
    };
    c.wiring.queue.enqueue(&[work("sched-a")]).await.unwrap();
    let (msgs, failed) = c.poll_once().await;
    assert_eq!(
        (msgs.len(), failed.len()),
        (1, 0),
        "a rule failure is acknowledged"
    );
    assert!(
        entitlement(&c.fno_state(), OPP).is_none(),
        "not DEPLOYED yet"
    );

    // the FNO admin deploys the product; the same (warm) container gets the next message
    assert!(c.fno.set_product_state("SF01demo", "DEPLOYED"));
    c.wiring.queue.enqueue(&[work("sched-b")]).await.unwrap();
    let (msgs, failed) = c.poll_once().await;
    assert_eq!((msgs.len(), failed.len()), (1, 0));
    assert!(
        entitlement(&c.fno_state(), OPP).is_some(),
        "the order went through once the product was deployed"
    );
}
