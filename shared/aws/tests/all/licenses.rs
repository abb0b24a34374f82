//! DynamoLicenseStore against moto (real DynamoDB protocol), with the license table layout of
//! template.yaml; then a whole ingest from the license fixtures into it (R26–R32).

use aws_adapters::tables::LICENSE_TABLE;
use aws_adapters::test_support::{moto_config, unique_name};
use aws_adapters::DynamoLicenseStore;
use chrono::{DateTime, NaiveDate, Utc};
use engine::embedded::SqliteStore;
use licenses::ops;
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

#[tokio::test]
async fn documents_are_ordered_ranged_deleted_and_left_out_of_the_license_list() {
    let s = store().await;
    let d = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    // more than one BatchWriteItem (25) and keys that sort as times
    let many: Vec<(String, String)> = (0..30)
        .map(|i| d(&format!("2026-11-{:02}T09:00:00Z", i + 1), &i.to_string()))
        .collect();
    s.docs_put("history:X", &many).await.unwrap();
    s.docs_put("skus", &[d("b", "2"), d("a", "1")])
        .await
        .unwrap();
    s.docs_put("skus", &[d("b", "22")]).await.unwrap();
    assert_eq!(
        s.docs_range("skus", None, None).await.unwrap(),
        vec![d("a", "1"), d("b", "22")]
    );
    let mid = s
        .docs_range(
            "history:X",
            Some("2026-11-10T00:00:00Z"),
            Some("2026-11-12T23:59:59Z"),
        )
        .await
        .unwrap();
    assert_eq!(
        mid.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        ["9", "10", "11"]
    );
    assert_eq!(
        s.docs_range("history:X", Some("2026-11-29T00:00:00Z"), None)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.docs_range("history:X", None, Some("2026-11-02T09:00:00Z"))
            .await
            .unwrap()
            .len(),
        2
    );
    let keys: Vec<String> = many.iter().map(|(k, _)| k.clone()).take(27).collect();
    s.docs_delete("history:X", &keys).await.unwrap();
    assert_eq!(
        s.docs_range("history:X", None, None).await.unwrap().len(),
        3
    );
    s.put_captured(&[captured("A", "Ay")]).await.unwrap();
    assert_eq!(
        s.all().await.unwrap().len(),
        1,
        "documents are not licenses"
    );
}

#[tokio::test]
async fn issue_15_skus_users_history_manual_licenses_and_the_finder_on_dynamodb() {
    let s = store().await;
    let log = SqliteStore::in_memory().unwrap();
    let f = fixture("activity.json");
    let now = fixture_now(&f).unwrap();
    let body: NewManualLicense =
        serde_json::from_value(json!({"kind": "package_license", "name": "Acme CPQ",
        "key": "acme", "amount": "2500", "currency": "USD", "payment_frequency": "quarterly"}))
        .unwrap();
    ops::create_manual_license(&s, body, now).await.unwrap();
    let src = FixtureSource::from_fixture(&f).unwrap();
    ingest(&src, &s, &log, now, "dyn-activity").await.unwrap();
    // R31: matched by kind and key, spend fields carried over
    let acme = s.get("050000000000001AAA").await.unwrap().unwrap();
    assert_eq!(acme.manual.amount.unwrap().to_string(), "2500.00");
    // R30: holders = active users, for every license
    assert_eq!(ops::stored_users(&s).await.unwrap().len(), 12);
    for r in s.all().await.unwrap() {
        assert_eq!(
            ops::license_users(&s, r.id()).await.unwrap().count,
            r.captured.active_users
        );
    }
    ops::put_sku(
        &s,
        "Acme-CPQ",
        SkuBody {
            licenses: vec!["manual:acme-cpq".into()],
        },
        now,
    )
    .await
    .unwrap();
    let e = ops::put_sku(
        &s,
        "Bad",
        SkuBody {
            licenses: vec!["nope".into()],
        },
        now,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("\"nope\""), "{e}");
    // history: a second ingest a day later, then ranges
    let later = now + chrono::Duration::days(1);
    ingest(&src, &s, &log, later, "dyn-activity-2")
        .await
        .unwrap();
    let all = DateRange::default();
    assert_eq!(
        ops::license_history(&s, "100000000000001AAA", all)
            .await
            .unwrap()
            .len(),
        2
    );
    let day2 = DateRange::parse(Some(&later.date_naive().to_string()), None).unwrap();
    assert_eq!(ops::org_history(&s, day2).await.unwrap().len(), 1);
    // the finder: acme has Gus and Jo idle, 2 × (2500 × 4 ÷ 25) a year
    let r = ops::unused(&s, 90, later).await.unwrap();
    let row = r
        .licenses
        .iter()
        .find(|x| x.id == "050000000000001AAA")
        .unwrap();
    assert_eq!((row.holders, row.unused), (5, 2));
    assert_eq!(row.unused_annual_cost["USD"].to_string(), "800.00");
    assert_eq!(r.skus[0].id, "Acme-CPQ");
    assert_eq!(r.skus[0].unused, 2);
}
