//! End to end: the Salesforce client (paged SOQL over HTTP) against sim-salesforce loaded with
//! the license fixtures, into the SQLite license store and the embedded transaction log.

use chrono::{DateTime, Utc};
use engine::embedded::SqliteStore;
use engine::ports::{LogQuery, LogStatus, TransactionLog};
use licenses::*;
use salesforce::{SalesforceAuth, SalesforceClient, SalesforceConfig, Secret};
use serde_json::Value;
use sim_salesforce::{RunningSim, SalesforceSim, SimOptions};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/licenses/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read fixture"))
        .expect("fixture is JSON")
}

async fn start(name: &str, opts: SimOptions) -> (RunningSim, SalesforceClient, DateTime<Utc>) {
    let f = fixture(name);
    let sim = SalesforceSim::start(&f, opts).await.expect("start sim");
    let mut config = SalesforceConfig::new(
        sim.base_url(),
        SalesforceAuth::ClientCredentials {
            client_id: "flexbridge-demo".into(),
            client_secret: Secret::new("demo-secret"),
        },
    );
    config.batch_size = Some(200);
    config.allow_loopback_http = true;
    let client = SalesforceClient::new(config).expect("client");
    (sim, client, fixture_now(&f).unwrap())
}

#[tokio::test]
async fn ingest_through_the_client_and_simulator_then_again_after_changes() {
    let store = SqliteLicenseStore::in_memory().unwrap();
    let log = SqliteStore::in_memory().unwrap();

    let (sim, client, now) = start("before.json", SimOptions::default()).await;
    let report = ingest(&client, &store, &log, now, "sim-1").await.unwrap();
    assert!(
        report.failed_objects.is_empty(),
        "{:?}",
        report.failed_objects
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // R31: the import is one way: nothing is ever written to Salesforce
    for write in ["sobject_patch", "composite"] {
        assert_eq!(sim.calls().get(write).copied().unwrap_or(0), 0, "{write}");
    }
    assert!(
        sim.calls().get("query").copied().unwrap_or(0) >= 8,
        "{:?}",
        sim.calls()
    );

    let sfdc = store.get("100000000000001AAA").await.unwrap().unwrap();
    assert_eq!((sfdc.captured.total, sfdc.captured.used), (Some(10), 4));
    assert_eq!(sfdc.captured.active_users, 3, "R30 through the wire");
    assert_eq!(
        sfdc.manual.effective_date.unwrap().to_string(),
        "2026-11-27"
    );
    let acme = store.get("050000000000001AAA").await.unwrap().unwrap();
    assert_eq!(acme.captured.expiration.unwrap().to_string(), "2027-06-30");
    assert_eq!(acme.captured.active_users, 2);
    let mkt = store
        .get("feature:UserPermissionsMarketingUser")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mkt.captured.active_users, 2);
    let org = store.org_usage().await.unwrap().unwrap();
    assert_eq!(
        (
            org.users_can_log_in,
            org.active_sessions,
            org.users_with_sessions
        ),
        (4, Some(3), Some(2))
    );
    let entries = log
        .query(&LogQuery {
            task_id: Some("sim-1".into()),
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap()
        .entries;
    assert_eq!(entries.len(), report.changes.len());
    assert!(entries
        .iter()
        .all(|e| e.status == LogStatus::Completed && e.name == LOG_NAME));
    drop(sim);

    let (sim2, client2, later) = start("after.json", SimOptions::default()).await;
    set_manual(
        &store,
        "0PL000000000001AAA",
        &serde_json::json!({"name": "CRM (local)"}),
        now,
    )
    .await
    .unwrap();
    let report = ingest(&client2, &store, &log, later, "sim-2")
        .await
        .unwrap();
    assert_eq!(report.missing, 1, "{:?}", report.changes);
    let chatter = store.get("100000000000004AAA").await.unwrap().unwrap();
    assert!(!chatter.captured.active && chatter.captured.missing_since.is_some());
    let crm = store.get("0PL000000000001AAA").await.unwrap().unwrap();
    assert_eq!(crm.captured.name, "Sales Cloud User");
    assert_eq!(crm.manual.name.as_deref(), Some("CRM (local)"), "R31");
    drop(sim2);
}

#[tokio::test]
async fn a_refused_login_is_failed_entries_and_the_store_stays_as_it_was() {
    let store = SqliteLicenseStore::in_memory().unwrap();
    let log = SqliteStore::in_memory().unwrap();
    let f = fixture("before.json");
    let sim = SalesforceSim::start(&f, SimOptions::default())
        .await
        .unwrap();
    let client = SalesforceClient::new(
        SalesforceConfig::new(
            sim.base_url(),
            SalesforceAuth::ClientCredentials {
                client_id: "flexbridge-demo".into(),
                client_secret: Secret::new("wrong-secret-value"),
            },
        )
        .for_loopback_simulator(),
    )
    .unwrap();
    let report = ingest(&client, &store, &log, fixture_now(&f).unwrap(), "denied")
        .await
        .unwrap();
    assert!(report.read_nothing(), "{:?}", report.failed_objects);
    assert!(store.all().await.unwrap().is_empty());
    assert!(report.entries.iter().all(|e| e.status == LogStatus::Failed));
    let text = serde_json::to_string(&report).unwrap();
    assert!(
        !text.contains("wrong-secret-value"),
        "secret leaked: {text}"
    );
    // a refused login stops the reading at once: one token attempt, no more
    assert_eq!(
        sim.calls().get("token").copied().unwrap_or(0),
        1,
        "{:?}",
        sim.calls()
    );
    assert!(
        report
            .failed_objects
            .iter()
            .filter(|(o, _)| o != "UserLicense")
            .all(|(_, r)| r.starts_with("not read: ")),
        "{:?}",
        report.failed_objects
    );
}

#[tokio::test]
async fn a_spent_api_quota_stops_the_ingest_after_one_call() {
    let opts = SimOptions {
        daily_api_limit: 100,
        api_usage_start: 100,
        ..SimOptions::default()
    };
    let (sim, client, now) = start("before.json", opts).await;
    let store = MemoryLicenseStore::new();
    let log = SqliteStore::in_memory().unwrap();
    let report = ingest(&client, &store, &log, now, "quota").await.unwrap();
    assert!(report.read_nothing());
    let run = run_record(&report, now);
    assert_eq!(run.status, engine::ports::RunStatus::Aborted);
    assert!(run.detail.unwrap().contains("UserLicense"));
    assert_eq!(
        sim.calls().get("query").copied(),
        Some(1),
        "{:?}",
        sim.calls()
    );
    let first = report
        .failed_objects
        .iter()
        .find(|(o, _)| o == "UserLicense")
        .unwrap();
    assert!(first.1.contains("limit"), "{:?}", report.failed_objects);
    assert!(store.all().await.unwrap().is_empty());
}

#[tokio::test]
async fn r30_usage_is_counted_over_every_page_of_a_large_org() {
    // 450 more active users on the Standard User profile (Salesforce license) and 450
    // assignments of the CRM User PSL: with batchSize 200 every query pages.
    let mut f = fixture("before.json");
    let users = f["salesforce"]["User"].as_array_mut().unwrap();
    let mut assigns = Vec::new();
    for i in 0..450 {
        let id = format!("005B{i:011}AAA");
        users.push(serde_json::json!({
            "Id": id, "Username": format!("bulk{i}@acme.example"), "LastName": format!("Bulk{i}"),
            "Email": format!("bulk{i}@acme.example"), "IsActive": true,
            "ProfileId": "00e000000000002AAA", "UserPermissionsMarketingUser": i % 3 == 0
        }));
        assigns.push(serde_json::json!({
            "Id": format!("2LAB{i:011}AAA"), "PermissionSetLicenseId": "0PL000000000001AAA",
            "AssigneeId": id
        }));
    }
    f["salesforce"]["PermissionSetLicenseAssign"]
        .as_array_mut()
        .unwrap()
        .extend(assigns);
    let sim = SalesforceSim::start(&f, SimOptions::default())
        .await
        .unwrap();
    let mut config = SalesforceConfig::new(
        sim.base_url(),
        SalesforceAuth::ClientCredentials {
            client_id: "flexbridge-demo".into(),
            client_secret: Secret::new("demo-secret"),
        },
    );
    config.batch_size = Some(200);
    config.allow_loopback_http = true;
    let client = SalesforceClient::new(config).unwrap();
    let store = MemoryLicenseStore::new();
    let log = SqliteStore::in_memory().unwrap();
    let report = ingest(&client, &store, &log, fixture_now(&f).unwrap(), "big")
        .await
        .unwrap();
    assert!(
        report.failed_objects.is_empty(),
        "{:?}",
        report.failed_objects
    );
    let users_of = |r: Option<LicenseRecord>| r.unwrap().captured.active_users;
    assert_eq!(
        users_of(store.get("100000000000001AAA").await.unwrap()),
        453
    );
    assert_eq!(
        users_of(store.get("0PL000000000001AAA").await.unwrap()),
        452
    );
    assert_eq!(
        users_of(
            store
                .get("feature:UserPermissionsMarketingUser")
                .await
                .unwrap()
        ),
        2 + 150
    );
    // User (456 rows) and PermissionSetLicenseAssign (454 rows) each took three pages
    let queries = sim.calls().get("query").copied().unwrap_or(0);
    assert!(queries >= 8 + 4, "paged: {queries} query calls");
}

#[tokio::test]
async fn r30_users_and_last_logins_through_the_simulator_one_query_per_object() {
    let (sim, client, now) = start("activity.json", SimOptions::default()).await;
    let store = SqliteLicenseStore::in_memory().unwrap();
    let log = SqliteStore::in_memory().unwrap();
    let report = ingest(&client, &store, &log, now, "activity")
        .await
        .unwrap();
    assert!(
        report.failed_objects.is_empty(),
        "{:?}",
        report.failed_objects
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // 8 objects, each one query (every table fits in one page of 200)
    assert_eq!(
        sim.calls().get("query").copied(),
        Some(8),
        "{:?}",
        sim.calls()
    );
    let users = licenses::ops::stored_users(&store).await.unwrap();
    assert_eq!(users.len(), 12);
    let gus = users.iter().find(|u| u.name == "Gus Idle").unwrap();
    assert_eq!(
        gus.last_login,
        Some("2026-06-01T09:00:00Z".parse().unwrap()),
        "LastLoginDate over the wire"
    );
    assert_eq!(gus.username.as_deref(), Some("gus@acme.example"));
    assert!(users
        .iter()
        .find(|u| u.name == "Hana Never")
        .unwrap()
        .last_login
        .is_none());
    for r in store.all().await.unwrap() {
        let h = licenses::ops::license_users(&store, r.id()).await.unwrap();
        assert_eq!(h.count, r.captured.active_users, "R30: {}", r.id());
    }
    let unused = licenses::ops::unused(&store, 90, now).await.unwrap();
    let rows: Vec<(&str, u64)> = unused
        .licenses
        .iter()
        .map(|x| (x.name.as_str(), x.unused))
        .collect();
    assert_eq!(
        unused.licenses.iter().map(|x| x.unused).sum::<u64>(),
        5 + 2 + 2 + 2 + 1,
        "{rows:?}"
    );
}
