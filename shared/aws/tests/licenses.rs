//! DynamoLicenseStore against moto (real DynamoDB protocol), with the license table layout of
//! template.yaml; then a whole ingest from the license fixtures into it (R26–R32).

use aws_adapters::tables::LICENSE_TABLE;
use aws_adapters::test_support::{moto_config, unique_name};
use aws_adapters::DynamoLicenseStore;
use chrono::{DateTime, NaiveDate, Utc};
use engine::embedded::SqliteStore;
use licenses::*;
use serde_json::{json, Value};

async fn store() -> DynamoLicenseStore {
    let client = aws_sdk_dynamodb::Client::new(&moto_config().await);
    let name = unique_name(LICENSE_TABLE.logical_id);
    LICENSE_TABLE
        .create(&client, &name)
        .await
        .expect("create table on moto");
    DynamoLicenseStore::new(client, name)
}

fn now() -> DateTime<Utc> {
    "2026-11-27T10:00:00Z".parse().unwrap()
}

fn captured(id: &str, name: &str) -> CapturedLicense {
    CapturedLicense {
        id: id.into(),
        kind: LicenseKind::PermissionSetLicense,
        name: name.into(),
        key: Some("Key".into()),
        total: Some(5),
        used: 1,
        status: "Active".into(),
        active: true,
        expiration: Some("2027-01-31".parse().unwrap()),
        active_users: 1,
        first_seen: now(),
        first_active: Some(now()),
        last_seen: now(),
        missing_since: None,
    }
}

#[tokio::test]
async fn r27_captured_and_manual_parts_are_stored_apart() {
    let s = store().await;
    assert!(s.all().await.unwrap().is_empty());
    s.put_captured(&[captured("B", "Bee"), captured("A", "Ay")])
        .await
        .unwrap();
    let all = s.all().await.unwrap();
    assert_eq!(all.iter().map(|r| r.id()).collect::<Vec<_>>(), ["A", "B"]);
    assert_eq!(all[0].captured, captured("A", "Ay"));
    assert_eq!(all[0].manual, ManualFields::default());

    let manual = ManualFields {
        name: Some("local".into()),
        allowed: Some(3),
        amount: Some(Amount::parse("99.95").unwrap()),
        currency: Some("USD".into()),
        effective_date: Some("2026-01-01".parse().unwrap()),
        ending_date: None,
        payment_frequency: Some(PaymentFrequency::Quarterly),
        updated: Some(now()),
    };
    s.put_manual("A", &manual).await.unwrap();
    s.put_captured(&[captured("A", "Renamed")]).await.unwrap();
    let a = s.get("A").await.unwrap().unwrap();
    assert_eq!(
        a.manual, manual,
        "an ingest never overwrites the manual part"
    );
    assert_eq!(a.captured.name, "Renamed");
    assert!(s.get("Z").await.unwrap().is_none());
}

#[tokio::test]
async fn r28_default_effective_date_only_where_none_is_set() {
    let s = store().await;
    s.put_captured(&[captured("A", "Ay"), captured("B", "Bee")])
        .await
        .unwrap();
    let d: NaiveDate = "2026-11-27".parse().unwrap();
    s.default_effective_date("A", d).await.unwrap();
    s.default_effective_date("A", "2030-01-01".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        s.get("A").await.unwrap().unwrap().manual.effective_date,
        Some(d)
    );
    let entered = ManualFields {
        effective_date: Some("2025-05-05".parse().unwrap()),
        currency: Some("EUR".into()),
        ..Default::default()
    };
    s.put_manual("B", &entered).await.unwrap();
    s.default_effective_date("B", d).await.unwrap();
    assert_eq!(s.get("B").await.unwrap().unwrap().manual, entered);
}

#[tokio::test]
async fn r29_r32_task_flag_and_org_usage() {
    let s = store().await;
    assert!(s.task_enabled().await.unwrap(), "enabled by default");
    s.set_task_enabled(false).await.unwrap();
    assert!(!s.task_enabled().await.unwrap());
    s.set_task_enabled(true).await.unwrap();
    assert!(s.task_enabled().await.unwrap());
    assert!(s.org_usage().await.unwrap().is_none());
    let org = OrgUsage {
        captured_at: now(),
        active_users: 5,
        inactive_users: 1,
        users_can_log_in: 4,
        active_sessions: Some(3),
        users_with_sessions: Some(2),
    };
    s.put_org_usage(&org).await.unwrap();
    assert_eq!(s.org_usage().await.unwrap(), Some(org));
    // meta items are not licenses
    assert!(s.all().await.unwrap().is_empty());
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/licenses/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_fixture_ingest_into_dynamodb_keeps_every_rule() {
    let s = store().await;
    let log = SqliteStore::in_memory().unwrap();
    let before = fixture("before.json");
    let src = FixtureSource::from_fixture(&before).unwrap();
    let t1 = fixture_now(&before).unwrap();
    let r = ingest(&src, &s, &log, t1, "dyn-1").await.unwrap();
    assert_eq!(r.discovered, 12);
    set_manual(&s, "0PL000000000001AAA", &json!({"name": "CRM (local)", "amount": "10", "currency": "USD", "payment_frequency": "monthly"}), t1)
        .await
        .unwrap();
    let after = fixture("after.json");
    let src = FixtureSource::from_fixture(&after).unwrap();
    let r = ingest(&src, &s, &log, fixture_now(&after).unwrap(), "dyn-2")
        .await
        .unwrap();
    assert_eq!(r.missing, 1);
    let crm = s.get("0PL000000000001AAA").await.unwrap().unwrap();
    assert_eq!(crm.captured.name, "Sales Cloud User");
    assert_eq!(crm.manual.name.as_deref(), Some("CRM (local)"), "R31");
    assert_eq!(
        crm.manual.effective_date.unwrap().to_string(),
        "2026-11-27",
        "R28"
    );
    let chatter = s.get("100000000000004AAA").await.unwrap().unwrap();
    assert!(!chatter.captured.active && chatter.captured.missing_since.is_some());
    let overview = load_views(&s, t1).await.unwrap();
    let v = overview
        .licenses
        .iter()
        .find(|v| v.id == "0PL000000000001AAA")
        .unwrap();
    assert_eq!(
        v.annual_spend.as_ref().unwrap().amount.to_string(),
        "20.00",
        "monthly from 2026-11-27: Nov and Dec"
    );
    assert_eq!(overview.org.unwrap().users_can_log_in, 3);
}
