//! The admin routes called directly, over the embedded store and a fake org describe.

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use engine::embedded::SqliteStore;
use engine::ports::{LogEntry, LogStatus, StateStore, TransactionLog};
use service::admin::{Admin, DescribedField, OrgDescribe};
use service::http::{ApiError, ApiRequest, ApiResponse};
use std::sync::Arc;

struct FakeOrg;

fn field(name: &str, t: &str) -> DescribedField {
    DescribedField {
        name: name.into(),
        field_type: t.into(),
        picklist_values: vec![],
    }
}

#[async_trait]
impl OrgDescribe for FakeOrg {
    async fn describe(&self, sobject: &str) -> Result<Vec<DescribedField>, ApiError> {
        Ok(match sobject {
            "Account" => vec![
                field("Id", "id"),
                field("Name", "string"),
                field("Description", "textarea"),
                field("Founded__c", "date"),
                field("Employees__c", "double"),
                field("ParentId", "reference"),
            ],
            "Opportunity" => vec![DescribedField {
                name: "StageName".into(),
                field_type: "picklist".into(),
                picklist_values: vec![
                    "Prospecting".into(),
                    "Closed Won".into(),
                    "Closed Lost".into(),
                ],
            }],
            _ => vec![],
        })
    }
}

fn admin() -> (Admin, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let admin = Admin {
        state: store.clone(),
        log: store.clone(),
        org: Arc::new(FakeOrg),
    };
    (admin, store)
}

async fn call(admin: &Admin, req: ApiRequest) -> ApiResponse {
    match admin.route(&req).await.expect("route exists") {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn err_field(r: &ApiResponse) -> &str {
    assert_eq!(r.status, 400, "{:?}", r.body);
    r.body["field"].as_str().unwrap()
}

#[tokio::test]
async fn r19_view_edit_delete_a_custom_mapping_persists_in_the_store() {
    let (admin, store) = admin();
    let r = call(&admin, ApiRequest::new("GET", "/mappings/Account")).await;
    assert_eq!(r.status, 200);
    let names: Vec<&str> = r.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fno_attribute"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"accountName"), "{names:?}");

    let row = r#"{"fno_attribute":"FoundedOn","sf_field":"Founded__c","kind":{"type":"custom","entity":"account","data_type":"date"}}"#;
    let r = call(
        &admin,
        ApiRequest::new("PUT", "/mappings/account").with_body(row),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = store
        .get_config(engine::CONFIG_KEY)
        .await
        .unwrap()
        .expect("config stored");
    assert!(stored.to_string().contains("Founded__c"));

    let r = call(
        &admin,
        ApiRequest::new("DELETE", "/mappings/Account").with_query("fno_attribute", "FoundedOn"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&admin, ApiRequest::new("GET", "/mappings/Account")).await;
    assert!(!r.body.to_string().contains("FoundedOn"));
}

#[tokio::test]
async fn r18_mappings_are_validated_against_the_org_describe() {
    let (admin, _) = admin();
    // field missing in the org
    let row = r#"{"fno_attribute":"Size","sf_field":"NoSuch__c","kind":{"type":"custom","entity":"account","data_type":"number"}}"#;
    let r = call(
        &admin,
        ApiRequest::new("PUT", "/mappings/Account").with_body(row),
    )
    .await;
    assert_eq!(err_field(&r), "fields.Size.sf_field");
    assert!(r.body["message"].as_str().unwrap().contains("NoSuch__c"));
    // type mismatch: a date field cannot carry a Boolean attribute
    let row = r#"{"fno_attribute":"Flag","sf_field":"Founded__c","kind":{"type":"custom","entity":"account","data_type":"boolean"}}"#;
    let r = call(
        &admin,
        ApiRequest::new("PUT", "/mappings/Account").with_body(row),
    )
    .await;
    assert_eq!(err_field(&r), "fields.Flag.sf_field");
    assert!(r.body["message"].as_str().unwrap().contains("(R18)"));
    // R18: product entity refused by the mapping rules
    let row = r#"{"fno_attribute":"Size","sf_field":"Employees__c","kind":{"type":"custom","entity":"product","data_type":"number"}}"#;
    let r = call(
        &admin,
        ApiRequest::new("PUT", "/mappings/Account").with_body(row),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"].as_str().unwrap().contains("R18"),
        "{}",
        r.body
    );
    // unknown object
    let r = call(&admin, ApiRequest::new("GET", "/mappings/Product2")).await;
    assert_eq!(err_field(&r), "object");
}

#[tokio::test]
async fn r17_required_mapping_cannot_be_deleted() {
    let (admin, _) = admin();
    let r = call(
        &admin,
        ApiRequest::new("DELETE", "/mappings/Account").with_query("fno_attribute", "accountName"),
    )
    .await;
    assert_eq!(err_field(&r), "fno_attribute");
    assert!(r.body["message"].as_str().unwrap().contains("R17"));
    let r = call(&admin, ApiRequest::new("DELETE", "/mappings/Account")).await;
    assert_eq!(err_field(&r), "fno_attribute");
}

#[tokio::test]
async fn r2_r13_filters_round_trip_and_stages_must_exist_in_the_org() {
    let (admin, _) = admin();
    let r = call(&admin, ApiRequest::new("GET", "/filters")).await;
    assert_eq!(r.body["sync_stages"], serde_json::json!(["Closed Won"]));
    assert_eq!(r.body["post_condition_state"], "Draft");
    let r = call(
        &admin,
        ApiRequest::new("PUT", "/filters").with_body(
            r#"{"sync_stages":["Closed Won","Prospecting"],"post_condition_state":"Deployed"}"#,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&admin, ApiRequest::new("GET", "/filters")).await;
    assert_eq!(r.body["post_condition_state"], "Deployed");
    let r = call(
        &admin,
        ApiRequest::new("PUT", "/filters").with_body(r#"{"sync_stages":["Closed Wonn"]}"#),
    )
    .await;
    assert_eq!(err_field(&r), "sync_stages");
    let r = call(
        &admin,
        ApiRequest::new("PUT", "/filters").with_body(r#"{"sync_stages":[]}"#),
    )
    .await;
    assert_eq!(err_field(&r), "sync_stages");
    let r = call(
        &admin,
        ApiRequest::new("PUT", "/filters").with_body(r#"{"post_condition_state":"Obsolete"}"#),
    )
    .await;
    assert_eq!(r.status, 400);
}

fn entry(task: &str, n: u64, status: LogStatus, minute: u32) -> LogEntry {
    LogEntry {
        task_id: task.into(),
        log_number: engine::embedded::format_log_number(n),
        created: Utc.with_ymd_and_hms(2025, 6, 4, 11, minute, 0).unwrap(),
        name: "Account Creation/Update".into(),
        status,
        record_id: Some("001000000000001AAA".into()),
        account_id: Some("001000000000001AAA".into()),
        message: "m".into(),
        reason: None,
        component: None,
        request: None,
        response: None,
        created_by: Some("schedule".into()),
    }
}

#[tokio::test]
async fn r24_logs_filter_by_task_status_and_time_with_paging() {
    let (admin, store) = admin();
    let first = store.allocate_log_numbers(5).await.unwrap();
    store
        .append(&[
            entry("t1", first, LogStatus::Completed, 1),
            entry("t1", first + 1, LogStatus::Failed, 2),
            entry("t1", first + 2, LogStatus::Completed, 3),
            entry("t2", first + 3, LogStatus::Failed, 4),
            entry("t2", first + 4, LogStatus::Error, 5),
        ])
        .await
        .unwrap();
    let r = call(
        &admin,
        ApiRequest::new("GET", "/logs").with_query("task", "t1"),
    )
    .await;
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 3);
    let r = call(
        &admin,
        ApiRequest::new("GET", "/logs").with_query("status", "Failed"),
    )
    .await;
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 2);
    let r = call(
        &admin,
        ApiRequest::new("GET", "/logs")
            .with_query("from", "2025-06-04T11:02:00Z")
            .with_query("to", "2025-06-04T11:04:00Z"),
    )
    .await;
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 2);
    // paging: 2 + 2 + 1, nothing lost or repeated
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = ApiRequest::new("GET", "/logs").with_query("limit", "2");
        if let Some(c) = &cursor {
            req = req.with_query("cursor", c);
        }
        let r = call(&admin, req).await;
        for e in r.body["entries"].as_array().unwrap() {
            seen.push(e["log_number"].as_str().unwrap().to_owned());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 5);
    for (q, v) in [("status", "Done"), ("from", "yesterday"), ("limit", "0")] {
        let r = call(&admin, ApiRequest::new("GET", "/logs").with_query(q, v)).await;
        assert_eq!(err_field(&r), q);
    }
}

#[tokio::test]
async fn unknown_routes_are_not_claimed() {
    let (admin, _) = admin();
    assert!(admin
        .route(&ApiRequest::new("POST", "/mappings"))
        .await
        .is_none());
    assert!(admin
        .route(&ApiRequest::new("GET", "/nothing"))
        .await
        .is_none());
    let r = call(&admin, ApiRequest::new("GET", "/runs")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["runs"], serde_json::json!([]));
}

#[tokio::test]
async fn r22_engine_settings_lookback_and_quota_reserve_are_checked_and_stored() {
    let (admin, store) = admin();
    let r = call(&admin, ApiRequest::new("GET", "/settings/engine")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["lookback_minutes"], 15);
    assert_eq!(r.body["quota_reserve_percent"], 5);
    let r = call(
        &admin,
        ApiRequest::new("PUT", "/settings/engine")
            .with_body(r#"{"lookback_minutes": 60, "quota_reserve_percent": 20}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["concurrency"], 4, "a key left out takes its default");
    // what the engine loads (load_settings reads the same document)
    let stored = store
        .get_config(engine::SETTINGS_KEY)
        .await
        .unwrap()
        .unwrap();
    let s: engine::EngineSettings = serde_json::from_value(stored).unwrap();
    assert_eq!((s.lookback_minutes, s.quota_reserve_percent), (60, 20));
    for (body, field) in [
        (r#"{"lookback_minutes": -1}"#, "lookback_minutes"),
        (r#"{"concurrency": 0}"#, "concurrency"),
        (r#"{"quota_reserve_percent": 90}"#, "quota_reserve_percent"),
        (r#"{"lookback": 5}"#, "lookback"),
    ] {
        let r = call(
            &admin,
            ApiRequest::new("PUT", "/settings/engine").with_body(body),
        )
        .await;
        assert_eq!(err_field(&r), field, "{body}");
    }
    let r = call(&admin, ApiRequest::new("GET", "/settings/engine")).await;
    assert_eq!(
        r.body["lookback_minutes"], 60,
        "refused bodies change nothing"
    );
}
