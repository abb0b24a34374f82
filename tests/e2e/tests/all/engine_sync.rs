//! End-to-end: the engine against both simulators and the embedded store. Every check reads
//! the simulators' state (what Salesforce and FNO hold), not the engine's return value.

use chrono::{DateTime, Duration, Utc};
use e2e::{entitlement, fixture, line_items, list, sf_record};
use engine::ports::{LogStatus, TransactionLog};
use flexbridge::report::task_entries;
use flexbridge::{Stack, StackOptions};
use serde_json::{json, Value};

const ACC: &str = "001Wk0000000001IAA";
const OPP: &str = "006Wk0000000001IAA";
const OLI: &str = "00kWk0000000001IAA";

async fn start(fx: &Value) -> Stack {
    Stack::start(
        fx,
        StackOptions {
            client_backoff: Some(std::time::Duration::from_millis(5)),
            ..Default::default()
        },
    )
    .await
    .expect("stack starts")
}

fn now_of(fx: &Value) -> DateTime<Utc> {
    fx["now"].as_str().unwrap().parse().unwrap()
}

fn sf_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// The guide's walkthrough: SF-DemoAccount, Demo SF-TestUser, SF-TestOpportunity with product
/// SF01demo, quantity 10, Use First Activation Date, 1 Month.
#[tokio::test]
async fn walkthrough_r3_r10_r11_r14_r15_r20_end_to_end() {
    let fx = fixture("walkthrough.json");
    let stack = start(&fx).await;
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    let fno = stack.flexnet.state();
    let fno = fno.get("flexnet").unwrap_or(&fno);

    // R10: the FNO account id is the Salesforce Account Id.
    let accounts = list(fno, "/accounts");
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0]["id"], ACC);
    assert_eq!(accounts[0]["name"], "SF-DemoAccount");

    // R11: the contact became a user with the Portal Admin User role on the account.
    let users = list(fno, "/users");
    assert_eq!(users.len(), 1, "{users:?}");
    let u = users[0];
    assert_eq!(u["firstName"], "Demo");
    assert_eq!(u["lastName"], "SF-TestUser");
    assert_eq!(u["emailAddress"], "demo.sf-testuser@example.com");
    let roles = &u["accountRoles"][0];
    assert_eq!(roles["accountId"], ACC);
    assert!(
        roles["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("Portal Admin User")),
        "{u}"
    );

    // The entitlement, keyed by the Opportunity Id, with one line item (R14, R15, R16).
    let e = entitlement(fno, OPP).expect("entitlement created");
    assert_eq!(e["soldTo"], ACC);
    let lis = list(e, "/lineItems");
    assert_eq!(lis.len(), 1);
    let li = lis[0];
    assert_eq!(li["partNumber"], "SF01demo");
    assert_eq!(li["numberOfCopies"], 10);
    assert_eq!(li["startDateOption"], "DEFINE_ACTDATE_AT_FIRST_ACTIVATION");
    assert_eq!(li["term"]["numDuration"], 1);
    assert_eq!(li["term"]["durationUnit"], "MONTHS");
    assert_eq!(li["orderLineNumber"], OLI);
    let activation = li["activationId"].as_str().unwrap();
    assert!(!activation.is_empty());

    // R20: the write-backs, read from the org.
    let sf = stack.salesforce.state();
    assert_eq!(
        sf_record(&sf, "Account", ACC).unwrap()["FNO_Account_ID__c"],
        ACC
    );
    assert_eq!(
        sf_record(&sf, "Opportunity", OPP).unwrap()["FNO_Entitlement_ID__c"],
        OPP
    );
    let oli = sf_record(&sf, "OpportunityLineItem", OLI).unwrap();
    assert_eq!(oli["FNO_Activation_ID__c"], activation);
    assert_eq!(oli["FNO_Remaining_Quantity__c"].as_f64(), Some(10.0));

    // R24: the log holds the transactions, numbered from TL-00001, all Completed.
    let entries = task_entries(&*stack.store, &report.run.task_id)
        .await
        .unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for n in [
        "Account Creation/Update",
        "Contact Creation/Update",
        "Entitlement Creation/Update",
        "Salesforce Write-back",
    ] {
        assert!(names.contains(&n), "no '{n}' entry in {names:?}");
    }
    assert!(
        entries.iter().all(|e| e.status == LogStatus::Completed),
        "{entries:#?}"
    );
    assert_eq!(entries[0].log_number, "TL-00001");
    stack.stop();
}

fn fno_counts(stack: &Stack) -> (usize, usize, usize, usize) {
    let s = stack.flexnet.state();
    let s = s.get("flexnet").cloned().unwrap_or(s);
    (
        list(&s, "/accounts").len(),
        list(&s, "/users").len(),
        list(&s, "/entitlements").len(),
        line_items(&s).len(),
    )
}

/// Every line item appears once per (order, order line) — the duplicate check.
fn assert_no_duplicate_lines(stack: &Stack) {
    let s = stack.flexnet.state();
    let s = s.get("flexnet").cloned().unwrap_or(s);
    let mut seen = std::collections::BTreeSet::new();
    for (ent, li) in line_items(&s) {
        let key = (
            ent.clone(),
            li["orderLineNumber"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            li["lineItemType"].clone().to_string(),
        );
        assert!(seen.insert(key.clone()), "line item {key:?} exists twice");
    }
}

#[tokio::test]
async fn idempotent_the_same_window_twice_creates_nothing_twice() {
    let fx = fixture("demo.json");
    let stack = start(&fx).await;
    let now = now_of(&fx);
    let from = now - Duration::days(3650);
    let first = stack
        .engine()
        .unwrap()
        .run_immediate(from, now)
        .await
        .unwrap();
    let after_first = fno_counts(&stack);
    assert!(
        after_first.2 > 10,
        "demo creates entitlements: {after_first:?}"
    );
    let sf_after_first = stack.salesforce.state();

    let second = stack
        .engine()
        .unwrap()
        .run_immediate(from, now)
        .await
        .unwrap();
    assert_eq!(
        fno_counts(&stack),
        after_first,
        "a re-run must not create anything"
    );
    assert_no_duplicate_lines(&stack);
    // Nothing changed, so nothing is pushed again and nothing is written back again.
    let pushed: u32 = second.accounts.iter().map(|a| a.pushed_orders).sum();
    let written: u32 = second.accounts.iter().map(|a| a.written_back).sum();
    for a in second.accounts.iter().filter(|a| a.pushed_orders > 0) {
        eprintln!(
            "REPUSHED {} {:?}",
            a.account_id,
            a.entries
                .iter()
                .map(|e| (&e.name, &e.record_id, &e.message))
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(pushed, 0, "unchanged orders are not re-sent");
    assert_eq!(written, 0, "unchanged write-backs are not re-sent");
    assert_eq!(
        stack.salesforce.state()["salesforce"]["OpportunityLineItem"],
        sf_after_first["salesforce"]["OpportunityLineItem"]
    );
    assert!(first.accounts.iter().map(|a| a.pushed_orders).sum::<u32>() > 0);
    stack.stop();
}

#[tokio::test]
async fn kill_and_rerun_leaves_no_duplicates_and_nothing_missing() {
    let fx = fixture("demo.json");
    // Reference: one clean run.
    let clean = start(&fx).await;
    clean.engine().unwrap().run_scheduled().await.unwrap();
    let expected = fno_counts(&clean);
    let expected_sf = clean.salesforce.state();
    clean.stop();

    // The same run, with FNO refusing every call after 6 of them (the writes are batched: the
    // planning query, the catalogue, the accounts and users, one list of entitlements), then
    // re-run.
    let stack = start(&fx).await;
    let mut opts = stack.flexnet.options();
    opts.expire_credentials_after = Some(6);
    stack.flexnet.set_options(opts.clone());
    let broken = stack.engine().unwrap().run_scheduled().await;
    let failed_entries = match &broken {
        Ok(r) => r
            .accounts
            .iter()
            .map(|a| a.count(LogStatus::Failed) + a.count(LogStatus::Error))
            .sum::<usize>(),
        Err(_) => 1,
    };
    assert!(
        failed_entries > 0,
        "the injected fault must break the first run"
    );
    let partial = fno_counts(&stack);
    assert!(
        partial.3 < expected.3,
        "the first run stopped half-way: {partial:?} vs {expected:?}"
    );

    opts.expire_credentials_after = None;
    stack.flexnet.set_options(opts);
    // The watermark did not move past the broken run's failures? Re-run the whole history.
    let now = stack.engine().unwrap().now();
    stack
        .engine()
        .unwrap()
        .run_immediate(now - Duration::days(3650), now)
        .await
        .unwrap();
    assert_eq!(
        fno_counts(&stack),
        expected,
        "after the re-run FNO holds exactly what a clean run makes"
    );
    assert_no_duplicate_lines(&stack);
    // Every line item that a clean run wrote back has its activation id now too.
    let sf = stack.salesforce.state();
    for rec in list(&expected_sf, "/salesforce/OpportunityLineItem") {
        let id = rec["Id"].as_str().unwrap();
        let now_rec = sf_record(&sf, "OpportunityLineItem", id).unwrap();
        assert_eq!(
            rec["FNO_Activation_ID__c"].is_null(),
            now_rec["FNO_Activation_ID__c"].is_null(),
            "line item {id}: activation id presence differs from a clean run"
        );
    }
    stack.stop();
}

#[tokio::test]
async fn r22_window_excludes_old_changes_and_lookback_catches_late_commits() {
    let base = fixture("walkthrough.json");
    let now = now_of(&base);
    // Three copies of the walkthrough order on three accounts, stamped at different times.
    let mut fx = base.clone();
    let stamps = [
        ("1", now - Duration::hours(2)), // before the window and its lookback
        ("2", now - Duration::hours(30)), // long before
        ("3", now - Duration::minutes(70)), // before the window, inside the 15-min lookback
    ];
    let sf = fx["salesforce"].as_object_mut().unwrap();
    let take = |v: &Value| v.as_array().unwrap()[0].clone();
    let (acc, con, opp, oli) = (
        take(&sf["Account"]),
        take(&sf["Contact"]),
        take(&sf["Opportunity"]),
        take(&sf["OpportunityLineItem"]),
    );
    for k in ["Account", "Contact", "Opportunity", "OpportunityLineItem"] {
        sf.insert(k.into(), json!([]));
    }
    for (n, at) in stamps {
        let re = |s: &str| s.replace("0000000001IAA", &format!("000000000{n}IAA"));
        let mut a = acc.clone();
        a["Id"] = json!(re(ACC));
        a["Name"] = json!(format!("Account {n}"));
        let mut c = con.clone();
        c["Id"] = json!(re("003Wk0000000001IAA"));
        c["AccountId"] = a["Id"].clone();
        c["Email"] = json!(format!("user{n}@example.com"));
        let mut o = opp.clone();
        o["Id"] = json!(re(OPP));
        o["AccountId"] = a["Id"].clone();
        o["SystemModstamp"] = json!(sf_stamp(at));
        let mut l = oli.clone();
        l["Id"] = json!(re(OLI));
        l["OpportunityId"] = o["Id"].clone();
        l["SystemModstamp"] = json!(sf_stamp(at));
        for (k, v) in [
            ("Account", a),
            ("Contact", c),
            ("Opportunity", o),
            ("OpportunityLineItem", l),
        ] {
            sf[k].as_array_mut().unwrap().push(v);
        }
    }
    let stack = start(&fx).await;
    // Window [now − 1 h, now) with the default 15-minute lookback: starts at now − 75 min.
    let report = stack
        .engine()
        .unwrap()
        .run_immediate(now - Duration::hours(1), now)
        .await
        .unwrap();
    let fno = stack.flexnet.state();
    let fno = fno.get("flexnet").unwrap_or(&fno);
    let ids: Vec<&str> = list(fno, "/entitlements")
        .iter()
        .filter_map(|e| e["entitlementId"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["006Wk0000000003IAA"],
        "only the late commit (70 min ago, inside the lookback) is synced"
    );
    assert_eq!(report.accounts.len(), 1);
    stack.stop();
}

#[tokio::test]
async fn r23_single_account_sync_pushes_and_writes_nothing_back() {
    let fx = fixture("walkthrough.json");
    let stack = start(&fx).await;
    let report = stack.engine().unwrap().run_account(ACC).await.unwrap();
    let fno = stack.flexnet.state();
    let fno = fno.get("flexnet").unwrap_or(&fno);
    assert!(entitlement(fno, OPP).is_some(), "pushed to FNO");
    let sf = stack.salesforce.state();
    assert!(
        sf_record(&sf, "Opportunity", OPP).unwrap()["FNO_Entitlement_ID__c"].is_null(),
        "R23: no write-back"
    );
    assert!(sf_record(&sf, "OpportunityLineItem", OLI).unwrap()["FNO_Activation_ID__c"].is_null());
    assert!(
        stack
            .salesforce
            .calls()
            .get("composite")
            .copied()
            .unwrap_or(0)
            == 0
    );
    assert!(report.accounts[0]
        .entries
        .iter()
        .all(|e| e.name != "Salesforce Write-back"));
    stack.stop();
}

#[tokio::test]
async fn r7_bad_product_code_fails_its_order_and_the_others_go_through() {
    let base = fixture("walkthrough.json");
    // A second order on the same account whose product code has a trailing space.
    let mut fx = base.clone();
    let sf = fx["salesforce"].as_object_mut().unwrap();
    let mut o = sf["Opportunity"][0].clone();
    o["Id"] = json!("006Wk0000000002IAA");
    o["Name"] = json!("Second order");
    sf["Opportunity"].as_array_mut().unwrap().push(o);
    let mut l = sf["OpportunityLineItem"][0].clone();
    l["Id"] = json!("00kWk0000000002IAA");
    l["OpportunityId"] = json!("006Wk0000000002IAA");
    l["ProductCode"] = json!("SF01demo ");
    sf["OpportunityLineItem"].as_array_mut().unwrap().push(l);
    let stack = start(&fx).await;
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    let fno = stack.flexnet.state();
    let fno = fno.get("flexnet").unwrap_or(&fno);
    assert!(
        entitlement(fno, OPP).is_some(),
        "the good order went through"
    );
    assert!(
        entitlement(fno, "006Wk0000000002IAA").is_none(),
        "the bad order did not"
    );
    let failed: Vec<_> = report.accounts[0]
        .entries
        .iter()
        .filter(|e| e.status == LogStatus::Failed)
        .collect();
    assert!(
        failed.iter().any(|e| e
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("SF01demo ") && r.contains("(R7)"))),
        "a Failed entry names the code and R7: {failed:#?}"
    );
    stack.stop();
}

#[tokio::test]
async fn log_payloads_carry_no_secret() {
    let fx = fixture("walkthrough.json");
    let stack = start(&fx).await;
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    let entries = stack
        .store
        .query(&engine::ports::LogQuery {
            task_id: Some(report.run.task_id.clone()),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .entries;
    let text = serde_json::to_string(&entries).unwrap();
    assert!(
        text.contains("SOAP") || text.contains("operation") || text.contains("exchange"),
        "payloads are logged"
    );
    for secret in ["Fn0-s3cret-pass", "demo-secret"] {
        assert!(!text.contains(secret), "'{secret}' leaked into the log");
    }
    stack.stop();
}

async fn start_with(fx: &Value, f: impl FnOnce(&mut StackOptions)) -> Stack {
    let mut opts = StackOptions {
        client_backoff: Some(std::time::Duration::from_millis(5)),
        ..Default::default()
    };
    f(&mut opts);
    Stack::start(fx, opts).await.expect("stack starts")
}

#[tokio::test]
async fn salesforce_quota_spent_stops_the_run_and_says_so() {
    let fx = fixture("demo.json");
    let stack = start_with(&fx, |o| {
        o.salesforce.api_usage_start = 14_990;
        o.salesforce.daily_api_limit = 15_000;
    })
    .await;
    let err = stack.engine().unwrap().run_scheduled().await.unwrap_err();
    let text = flexbridge::error_chain(&err);
    assert!(
        text.contains("quota") || text.contains("REQUEST_LIMIT_EXCEEDED"),
        "{text}"
    );
    // The run is recorded as aborted, and the watermark did not move (R21).
    use engine::ports::StateStore;
    assert_eq!(stack.store.watermark().await.unwrap(), None);
    let runs = stack.store.list_runs(5).await.unwrap();
    assert_eq!(
        runs[0].status,
        engine::ports::RunStatus::Aborted,
        "{runs:?}"
    );
    // Calls stop at the quota: at most one refused call past it per concurrent account.
    assert!(
        stack.salesforce.api_calls() <= 10 + 8,
        "{}",
        stack.salesforce.api_calls()
    );
    stack.stop();
}

#[tokio::test]
async fn an_expired_salesforce_session_mid_run_is_renewed_and_the_run_completes() {
    let fx = fixture("walkthrough.json");
    let stack = start_with(&fx, |o| o.salesforce.expire_session_after = Some(2)).await;
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert!(report.accounts[0]
        .entries
        .iter()
        .all(|e| e.status == LogStatus::Completed));
    assert!(
        stack.salesforce.calls().get("token").copied().unwrap_or(0) >= 2,
        "{:?}",
        stack.salesforce.calls()
    );
    let sf = stack.salesforce.state();
    assert_eq!(
        sf_record(&sf, "Opportunity", OPP).unwrap()["FNO_Entitlement_ID__c"],
        OPP
    );
    stack.stop();
}

#[tokio::test]
async fn salesforce_500s_are_retried_and_the_run_completes() {
    let fx = fixture("walkthrough.json");
    let stack = start_with(&fx, |o| {
        o.salesforce.http_500_rate = 0.3;
        o.salesforce.seed = 7;
    })
    .await;
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    let sf = stack.salesforce.state();
    assert_eq!(
        sf_record(&sf, "Opportunity", OPP).unwrap()["FNO_Entitlement_ID__c"],
        OPP,
        "{report:#?}"
    );
    stack.stop();
}

#[tokio::test]
async fn budget_the_run_stops_leaving_the_reserve_of_the_daily_quota_to_the_org() {
    let fx = fixture("demo.json");
    // 14,300 of 15,000 calls already used today (700 left); the default reserve is 5% (750), so
    // after planning flexbridge must not start an account.
    let stack = start_with(&fx, |o| {
        o.salesforce.api_usage_start = 14_300;
        o.salesforce.daily_api_limit = 15_000;
    })
    .await;
    let err = stack.engine().unwrap().run_scheduled().await.unwrap_err();
    let text = flexbridge::error_chain(&err);
    assert!(
        text.contains("quota_reserve_percent") && text.contains("750"),
        "{text}"
    );
    // No account was synced: FNO holds nothing new, and the org was never refused.
    let fno = stack.flexnet.state();
    let fno = fno.get("flexnet").cloned().unwrap_or(fno);
    assert_eq!(
        list(&fno, "/entitlements").len(),
        list(&fx, "/flexnet/entitlements").len(),
        "no entitlement was created"
    );
    // the token and the planning queries (window, withdrawn orders, dependencies); no account
    assert!(
        stack.salesforce.api_calls() <= 6,
        "only the planning queries: {:?}",
        stack.salesforce.calls()
    );
    stack.stop();

    // With the reserve at 0 the same org is synced until the real quota.
    let stack = start_with(&fx, |o| {
        o.salesforce.api_usage_start = 14_300;
        o.salesforce.daily_api_limit = 15_000;
        o.settings = Some(engine::EngineSettings {
            quota_reserve_percent: 0,
            ..Default::default()
        });
    })
    .await;
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert_eq!(report.accounts.len(), 25);
    stack.stop();
}

#[tokio::test]
async fn a_warm_engine_takes_changed_settings_when_it_reloads_them() {
    use engine::ports::StateStore;
    let stack = start(&fixture("walkthrough.json")).await;
    let engine = std::sync::Arc::new(stack.engine().unwrap());
    assert_eq!(engine.settings().quota_reserve_percent, 5);
    stack
        .store
        .put_config(
            engine::SETTINGS_KEY,
            &json!({"lookback_minutes": 60, "quota_reserve_percent": 20}),
        )
        .await
        .unwrap();
    engine.load_settings().await.unwrap();
    let s = engine.settings();
    assert_eq!(
        (s.lookback_minutes, s.quota_reserve_percent, s.concurrency),
        (60, 20, 4)
    );
    stack.stop();
}
