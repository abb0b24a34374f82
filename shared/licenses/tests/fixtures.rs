//! The license story told with the fixtures in tests/fixtures/licenses (before.json, after.json):
//! ingest, edit manual fields, ingest again, disable, re-enable — each rule checked from the
//! stored state and the transaction log.

use chrono::{DateTime, Utc};
use engine::embedded::SqliteStore;
use engine::ports::{LogQuery, LogStatus, TransactionLog};
use licenses::*;
use serde_json::{json, Value};

const SFDC: &str = "100000000000001AAA";
const PLATFORM: &str = "100000000000002AAA";
const COMMUNITY: &str = "100000000000003AAA";
const CHATTER: &str = "100000000000004AAA";
const CRM: &str = "0PL000000000001AAA";
const CONSOLE: &str = "0PL000000000002AAA";
const KNOWLEDGE_ADDON: &str = "0PL000000000003AAA";
const ACME: &str = "050000000000001AAA";
const LEGACY: &str = "050000000000002AAA";
const SITE: &str = "050000000000003AAA";
const MARKETING: &str = "feature:UserPermissionsMarketingUser";
const KNOWLEDGE: &str = "feature:UserPermissionsKnowledgeUser";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/licenses/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read fixture"))
        .expect("fixture is JSON")
}

fn source(name: &str) -> (FixtureSource, DateTime<Utc>) {
    let f = fixture(name);
    (
        FixtureSource::from_fixture(&f).unwrap(),
        fixture_now(&f).expect("fixture has now"),
    )
}

struct World {
    store: SqliteLicenseStore,
    log: SqliteStore,
}

impl World {
    fn new() -> Self {
        World {
            store: SqliteLicenseStore::in_memory().unwrap(),
            log: SqliteStore::in_memory().unwrap(),
        }
    }
    async fn ingest(&self, name: &str) -> IngestReport {
        let (src, now) = source(name);
        self.ingest_at(&src, now, name).await
    }
    async fn ingest_at(&self, src: &FixtureSource, now: DateTime<Utc>, task: &str) -> IngestReport {
        ingest(src, &self.store, &self.log, now, task)
            .await
            .unwrap()
    }
    async fn get(&self, id: &str) -> LicenseRecord {
        self.store
            .get(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} stored"))
    }
    async fn entries(&self, task: &str) -> Vec<engine::ports::LogEntry> {
        self.log
            .query(&LogQuery {
                task_id: Some(task.into()),
                limit: Some(500),
                ..Default::default()
            })
            .await
            .unwrap()
            .entries
    }
}

#[tokio::test]
async fn r26_every_kind_is_captured_with_id_name_key_total_used_status() {
    let w = World::new();
    let report = w.ingest("before.json").await;
    assert!(
        report.failed_objects.is_empty(),
        "{:?}",
        report.failed_objects
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // 4 user + 2 PSL + 3 package + 3 feature licenses (the flags present in the fixture)
    assert_eq!(report.discovered, 12);
    let all = w.store.all().await.unwrap();
    assert_eq!(all.len(), 12);
    for kind in LicenseKind::ALL {
        assert!(all.iter().any(|r| r.captured.kind == kind), "{kind:?}");
    }
    let s = w.get(SFDC).await.captured;
    assert_eq!(
        (
            s.kind,
            s.name.as_str(),
            s.key.as_deref(),
            s.total,
            s.used,
            s.status.as_str(),
            s.active
        ),
        (
            LicenseKind::UserLicense,
            "Salesforce",
            Some("SFDC"),
            Some(10),
            4,
            "Active",
            true
        )
    );
    assert_eq!(s.remaining(), Some(6));
    let crm = w.get(CRM).await.captured;
    assert_eq!(
        (crm.kind, crm.name.as_str(), crm.key.as_deref()),
        (
            LicenseKind::PermissionSetLicense,
            "CRM User",
            Some("CRMUserPsl")
        )
    );
    let console = w.get(CONSOLE).await.captured;
    assert_eq!(console.expiration.unwrap().to_string(), "2026-06-30");
    let acme = w.get(ACME).await.captured;
    assert_eq!(
        (acme.kind, acme.key.as_deref(), acme.total, acme.used),
        (LicenseKind::PackageLicense, Some("acme"), Some(25), 3)
    );
    assert_eq!(acme.expiration.unwrap().to_string(), "2027-06-30");
    assert_eq!(w.get(SITE).await.captured.total, None, "site license");
    let mkt = w.get(MARKETING).await.captured;
    assert_eq!(
        (mkt.kind, mkt.name.as_str(), mkt.key.as_deref(), mkt.total),
        (
            LicenseKind::FeatureLicense,
            "Marketing User",
            Some("UserPermissionsMarketingUser"),
            None
        )
    );
}

#[tokio::test]
async fn r30_usage_leaves_out_inactive_users_and_inactive_licenses() {
    let w = World::new();
    w.ingest("before.json").await;
    let wr = &w;
    let users = |id: &'static str| async move { wr.get(id).await.captured.active_users };
    assert_eq!(
        users(SFDC).await,
        3,
        "Ada, Ben, Finn; inactive Cleo left out"
    );
    assert_eq!(users(PLATFORM).await, 1);
    assert_eq!(
        users(COMMUNITY).await,
        0,
        "disabled license: Eve not counted"
    );
    assert_eq!(users(CRM).await, 2, "Ada, Ben; Cleo inactive");
    assert_eq!(users(CONSOLE).await, 0, "disabled PSL");
    assert_eq!(users(ACME).await, 2);
    assert_eq!(users(LEGACY).await, 0, "expired package");
    assert_eq!(users(MARKETING).await, 2, "Ada, Finn; Cleo inactive");
    assert_eq!(users(KNOWLEDGE).await, 1, "Ben; Cleo inactive");
    assert!(!w.get(COMMUNITY).await.captured.active);
    assert!(!w.get(LEGACY).await.captured.active);
}

#[tokio::test]
async fn r32_sessions_and_users_who_can_log_in_are_stored() {
    let w = World::new();
    w.ingest("before.json").await;
    let org = w.store.org_usage().await.unwrap().unwrap();
    assert_eq!((org.active_users, org.inactive_users), (5, 1));
    assert_eq!(org.users_can_log_in, 4, "Eve's license is disabled");
    assert_eq!(org.active_sessions, Some(3), "Ben's expired, Cleo inactive");
    assert_eq!(org.users_with_sessions, Some(2));
    w.ingest("after.json").await;
    let org = w.store.org_usage().await.unwrap().unwrap();
    assert_eq!((org.users_can_log_in, org.active_sessions), (3, Some(1)));
}

#[tokio::test]
async fn r28_first_discovery_sets_effective_date_and_no_ending_date() {
    let w = World::new();
    w.ingest("before.json").await;
    let m = w.get(SFDC).await.manual;
    assert_eq!(m.effective_date.unwrap().to_string(), "2026-11-27");
    assert_eq!(m.ending_date, None);
    // an inactive license gets no default…
    assert_eq!(w.get(COMMUNITY).await.manual.effective_date, None);
    // …and a later ingest never moves the date
    w.ingest("after.json").await;
    assert_eq!(
        w.get(SFDC).await.manual.effective_date.unwrap().to_string(),
        "2026-11-27"
    );
    // a license first seen in the later ingest gets that day
    assert_eq!(
        w.get(KNOWLEDGE_ADDON)
            .await
            .manual
            .effective_date
            .unwrap()
            .to_string(),
        "2026-12-15"
    );
}

#[tokio::test]
async fn r27_manual_fields_survive_every_ingest() {
    let w = World::new();
    w.ingest("before.json").await;
    let (_, now) = source("before.json");
    let body = json!({"amount": "150.00", "currency": "USD", "payment_frequency": "monthly",
                      "effective_date": "2026-01-01", "ending_date": "2027-12-31"});
    set_manual(&w.store, SFDC, &body, now).await.unwrap();
    set_manual(&w.store, MARKETING, &json!({"allowed": 5}), now)
        .await
        .unwrap();
    let before = w.get(SFDC).await.manual;
    w.ingest("after.json").await;
    let (src, _) = source("before.json");
    w.ingest_at(&src, "2027-01-10T00:00:00Z".parse().unwrap(), "third")
        .await;
    assert_eq!(w.get(SFDC).await.manual, before);
    assert_eq!(w.get(MARKETING).await.manual.allowed, Some(5));
    // set after ingests, too
    set_manual(&w.store, SFDC, &json!({"amount": 175}), now)
        .await
        .unwrap();
    w.ingest("after.json").await;
    assert_eq!(
        w.get(SFDC).await.manual.amount.unwrap().to_string(),
        "175.00"
    );
}

#[tokio::test]
async fn r27_bad_manual_values_are_refused_naming_license_and_field() {
    let w = World::new();
    w.ingest("before.json").await;
    let (_, now) = source("before.json");
    let err = set_manual(
        &w.store,
        ACME,
        &json!({"payment_frequency": "fortnightly"}),
        now,
    )
    .await
    .unwrap_err();
    match &err {
        LicenseError::Manual(e) => {
            assert_eq!(
                (e.license_id.as_str(), e.field.as_str()),
                (ACME, "payment_frequency")
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains(ACME), "{err}");
    // nothing changed
    assert_eq!(w.get(ACME).await.manual.payment_frequency, None);
    let err = set_manual(&w.store, "0PL999999999999AAA", &json!({"amount": 1}), now)
        .await
        .unwrap_err();
    assert!(matches!(err, LicenseError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn r31_a_renamed_license_keeps_its_local_name() {
    let w = World::new();
    w.ingest("before.json").await;
    let (_, now) = source("before.json");
    set_manual(&w.store, CRM, &json!({"name": "CRM seats (from SF)"}), now)
        .await
        .unwrap();
    let report = w.ingest("after.json").await;
    let crm = w.get(CRM).await;
    assert_eq!(
        crm.captured.name, "Sales Cloud User",
        "the Salesforce name follows Salesforce"
    );
    assert_eq!(crm.manual.name.as_deref(), Some("CRM seats (from SF)"));
    assert_eq!(crm.captured.total, Some(25));
    let ch = report.changes.iter().find(|c| c.id == CRM).unwrap();
    assert_eq!(ch.change, ChangeKind::Updated);
    assert!(
        ch.fields
            .iter()
            .any(|f| f == "name: CRM User → Sales Cloud User"),
        "{:?}",
        ch.fields
    );
    // one record, not two
    assert_eq!(
        w.store
            .all()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.id() == CRM)
            .count(),
        1
    );
    let overview = load_views(&w.store, now).await.unwrap();
    let v = overview.licenses.iter().find(|v| v.id == CRM).unwrap();
    assert_eq!(
        (v.name.as_str(), v.salesforce_name.as_str()),
        ("CRM seats (from SF)", "Sales Cloud User")
    );
}

#[tokio::test]
async fn a_license_that_disappears_is_marked_inactive_and_comes_back() {
    let w = World::new();
    w.ingest("before.json").await;
    let (_, now) = source("before.json");
    set_manual(
        &w.store,
        CHATTER,
        &json!({"amount": "0", "currency": "USD"}),
        now,
    )
    .await
    .unwrap();
    let report = w.ingest("after.json").await;
    assert_eq!(report.missing, 1);
    let chatter = w.get(CHATTER).await;
    assert!(!chatter.captured.active);
    assert_eq!(
        chatter.captured.missing_since,
        Some("2026-12-15T09:00:00Z".parse().unwrap())
    );
    assert_eq!(
        chatter.manual.currency.as_deref(),
        Some("USD"),
        "kept whole"
    );
    // back in a later ingest
    let (src, _) = source("before.json");
    let report = w
        .ingest_at(&src, "2027-01-10T00:00:00Z".parse().unwrap(), "third")
        .await;
    assert_eq!(report.reappeared, 1);
    let chatter = w.get(CHATTER).await;
    assert!(chatter.captured.active && chatter.captured.missing_since.is_none());
    assert_eq!(
        chatter.captured.first_seen,
        "2026-11-27T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        chatter.manual.effective_date.unwrap().to_string(),
        "2026-11-27"
    );
}

#[tokio::test]
async fn r29_disable_shows_manual_data_and_re_enable_shows_the_last_capture() {
    let w = World::new();
    w.ingest("before.json").await;
    let (_, now) = source("before.json");
    set_manual(
        &w.store,
        SFDC,
        &json!({"allowed": 12, "amount": "100", "currency": "EUR",
        "payment_frequency": "annual", "effective_date": "2026-01-01"}),
        now,
    )
    .await
    .unwrap();
    let enabled_before = load_views(&w.store, now).await.unwrap();
    assert!(enabled_before.task_enabled);
    let v = enabled_before
        .licenses
        .iter()
        .find(|v| v.id == SFDC)
        .unwrap();
    assert_eq!(
        (v.source, v.total, v.used),
        (ViewSource::Captured, Some(10), Some(4))
    );

    w.store.set_task_enabled(false).await.unwrap();
    let disabled = load_views(&w.store, now).await.unwrap();
    assert!(!disabled.task_enabled);
    let v = disabled.licenses.iter().find(|v| v.id == SFDC).unwrap();
    assert_eq!(
        (v.source, v.total, v.used, v.active_users),
        (ViewSource::Manual, Some(12), None, None)
    );
    assert_eq!(
        v.annual_spend.as_ref().unwrap().amount.to_string(),
        "100.00"
    );
    // no capture while disabled
    let (src, later) = source("after.json");
    let err = ingest(&src, &w.store, &w.log, later, "while-disabled")
        .await
        .unwrap_err();
    assert!(matches!(err, LicenseError::TaskDisabled), "{err:?}");
    assert!(w.entries("while-disabled").await.is_empty());

    w.store.set_task_enabled(true).await.unwrap();
    let re_enabled = load_views(&w.store, now).await.unwrap();
    assert_eq!(re_enabled, enabled_before, "the last captured data again");
}

#[tokio::test]
async fn r24_each_ingest_logs_one_entry_per_created_or_updated_license() {
    let w = World::new();
    let first = w.ingest("before.json").await;
    let entries = w.entries("before.json").await;
    assert_eq!(entries.len(), 12);
    assert_eq!(entries, first.entries);
    assert!(entries
        .iter()
        .all(|e| e.name == LOG_NAME && e.status == LogStatus::Completed));
    let run = run_record(&first, first.at);
    assert_eq!(run.kind, engine::ports::RunKind::Licenses);
    assert_eq!(run.status, engine::ports::RunStatus::Completed);
    assert_eq!(
        (
            run.counts["discovered"],
            run.counts["completed"],
            run.counts["failed"]
        ),
        (12, 12, 0)
    );
    let e = entries
        .iter()
        .find(|e| e.record_id.as_deref() == Some(SFDC))
        .unwrap();
    assert!(e.message.contains("discovered"), "{}", e.message);
    // unchanged licenses make no entry the second time
    let (src, now) = source("before.json");
    let again = w.ingest_at(&src, now, "same-again").await;
    assert_eq!(again.unchanged, 12);
    assert!(w.entries("same-again").await.is_empty());
    // after.json: SFDC used 4→3 and 3 active→2, CRM renamed, Finn off (Marketing), a new PSL,
    // Chatter gone
    let after = w.ingest("after.json").await;
    let entries = w.entries("after.json").await;
    assert_eq!(entries.len(), after.changes.len());
    let ids: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.record_id.as_deref())
        .collect();
    for id in [SFDC, CRM, KNOWLEDGE_ADDON, CHATTER, MARKETING] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
}

#[tokio::test]
async fn r24_an_object_that_cannot_be_read_is_one_failed_entry_and_changes_nothing() {
    let w = World::new();
    w.ingest("before.json").await;
    let (src, now) = source("after.json");
    let src = src.fail_when("FROM UserLicense");
    let report = w.ingest_at(&src, now, "broken").await;
    assert_eq!(report.failed_objects.len(), 1);
    let failed: Vec<_> = w
        .entries("broken")
        .await
        .into_iter()
        .filter(|e| e.status == LogStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].message.contains("UserLicense"),
        "{}",
        failed[0].message
    );
    assert!(failed[0]
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("INVALID_FIELD"));
    // Chatter Free is not marked missing: its object could not be read
    assert!(w.get(CHATTER).await.captured.active);
    // the other objects were still ingested (CRM renamed)
    assert_eq!(w.get(CRM).await.captured.name, "Sales Cloud User");
}

#[tokio::test]
async fn r30_without_feature_flags_user_usage_still_counts() {
    let w = World::new();
    let (src, now) = source("before.json");
    let src = src.fail_when("UserPermissions");
    let report = w.ingest_at(&src, now, "no-flags").await;
    assert_eq!(report.failed_objects[0].0, "User (feature license flags)");
    assert_eq!(w.get(SFDC).await.captured.active_users, 3);
    assert!(w.store.get(MARKETING).await.unwrap().is_none());
    assert!(!report.read_nothing());
}

#[tokio::test]
async fn a_bad_record_is_a_failed_entry_naming_record_and_field() {
    let w = World::new();
    let mut f = fixture("before.json");
    f["salesforce"]["UserLicense"][1]["TotalLicenses"] = json!("twenty");
    let src = FixtureSource::from_fixture(&f).unwrap();
    let report = w.ingest_at(&src, fixture_now(&f).unwrap(), "bad").await;
    assert_eq!(report.problems.len(), 1);
    let failed: Vec<_> = w
        .entries("bad")
        .await
        .into_iter()
        .filter(|e| e.status == LogStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].record_id.as_deref(), Some(PLATFORM));
    let reason = failed[0].reason.clone().unwrap();
    assert!(
        reason.contains("TotalLicenses") && reason.contains("(R26)"),
        "{reason}"
    );
    assert!(w.store.get(PLATFORM).await.unwrap().is_none());
}

#[tokio::test]
async fn render_table_lists_every_license_with_usage_and_spend() {
    let w = World::new();
    w.ingest("before.json").await;
    let (_, now) = source("before.json");
    set_manual(
        &w.store,
        SFDC,
        &json!({"amount": "150", "currency": "USD", "payment_frequency": "monthly",
        "effective_date": "2026-01-01"}),
        now,
    )
    .await
    .unwrap();
    let overview = load_views(&w.store, now).await.unwrap();
    let table = render_table(&overview.licenses);
    assert_eq!(table.lines().count(), 2 + 12 + 1, "{table}");
    let sfdc = table
        .lines()
        .find(|l| l.starts_with("Salesforce "))
        .unwrap();
    let cells: Vec<&str> = sfdc.split_whitespace().collect();
    assert_eq!(
        cells,
        ["Salesforce", "user", "10", "4", "6", "3", "1800.00", "USD"],
        "{table}"
    );
    assert!(table.contains("Customer Community (inactive)"), "{table}");
    assert!(table.ends_with("annual spend: 1800.00 USD\n"), "{table}");
    let org = render_org(overview.org.as_ref().unwrap());
    assert!(org.contains("users who can log in: 4"), "{org}");
}
