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
        &json!({"amount": "100", "currency": "EUR",
        "payment_frequency": "annual", "effective_date": "2026-01-01"}),
        now,
    )
    .await
    .unwrap();
    // seed 000: # allowed of a captured user license is entered while the task is disabled
    w.store.set_task_enabled(false).await.unwrap();
    set_manual(&w.store, SFDC, &json!({"allowed": 12}), now)
        .await
        .unwrap();
    w.store.set_task_enabled(true).await.unwrap();
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

// ------------------------------------------------------------------------------------------
// Issue 15: SKUs, users and activity, history, manual licenses, the unused-license finder.
// activity.json is before.json's org with eight more users and their last logins.

const GUS: &str = "005000000000007AAA";
const HANA: &str = "005000000000008AAA";

async fn holders(w: &World, id: &str) -> Vec<String> {
    licenses::ops::license_users(&w.store, id)
        .await
        .unwrap()
        .users
        .into_iter()
        .map(|u| u.name)
        .collect()
}

#[tokio::test]
async fn r30_a_licenses_holders_are_its_active_users_and_salesforces_used_count() {
    let w = World::new();
    let report = w.ingest("activity.json").await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    for r in w.store.all().await.unwrap() {
        let view = licenses::ops::license_users(&w.store, r.id())
            .await
            .unwrap();
        assert_eq!(view.count, r.captured.active_users, "{}", r.id());
        assert_eq!(view.count as usize, view.users.len());
        if r.captured.active
            && r.captured.kind != LicenseKind::FeatureLicense
            && r.captured.total.is_some()
        {
            // activity.json's UsedLicenses are what Salesforce's UI shows as assigned
            assert_eq!(view.count as i64, r.captured.used, "{}", r.id());
        }
    }
    // R30: inactive Cleo and Nia, Mo's revoked assignment and disabled licenses left out
    assert_eq!(
        holders(&w, CRM).await,
        [
            "Ada Admin",
            "Ben Seller",
            "Gus Idle",
            "Hana Never",
            "Lea Daily"
        ]
    );
    assert!(holders(&w, CONSOLE).await.is_empty(), "disabled PSL");
    assert!(
        holders(&w, COMMUNITY).await.is_empty(),
        "disabled user license"
    );
    let users = licenses::ops::stored_users(&w.store).await.unwrap();
    assert_eq!(users.len(), 12, "active users only");
    let hana = users.iter().find(|u| u.id == HANA).unwrap();
    assert_eq!(hana.last_login, None, "never logged in");
    let gus = users.iter().find(|u| u.id == GUS).unwrap();
    assert_eq!(
        gus.last_login,
        Some("2026-06-01T09:00:00Z".parse().unwrap())
    );
    assert_eq!(gus.licenses, [ACME, CRM, SFDC], "ordered by id");
    let e = licenses::ops::license_users(&w.store, "0PL999999999999AAA")
        .await
        .unwrap_err();
    assert!(matches!(e, LicenseError::NotFound(_)), "{e:?}");
}

#[tokio::test]
async fn r30_the_users_view_shows_only_sku_configured_licenses() {
    let w = World::new();
    w.ingest("activity.json").await;
    let (_, now) = source("activity.json");
    let view = licenses::ops::users_view(&w.store).await.unwrap();
    assert!(
        view.iter()
            .all(|u| u.licenses.is_empty() && u.skus.is_empty()),
        "no SKU yet"
    );
    let sku = licenses::ops::put_sku(
        &w.store,
        "Sales-Cloud",
        SkuBody {
            licenses: vec!["SFDC".into(), CRM.into()],
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        licenses::ops::get_sku(&w.store, "Sales-Cloud")
            .await
            .unwrap(),
        sku
    );
    let view = licenses::ops::users_view(&w.store).await.unwrap();
    let gus = view.iter().find(|u| u.id == GUS).unwrap();
    let names: Vec<&str> = gus.licenses.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["CRM User", "Salesforce"], "acme is in no SKU");
    assert_eq!(gus.skus, ["Sales-Cloud"]);
    let dan = view.iter().find(|u| u.name == "Dan Platform").unwrap();
    assert!(dan.licenses.is_empty(), "Platform is in no SKU");
    // an unknown license is refused by name; nothing stored
    let e = licenses::ops::put_sku(
        &w.store,
        "Bad",
        SkuBody {
            licenses: vec!["SFDC".into(), "NoSuchKey".into()],
        },
        now,
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("\"NoSuchKey\"") && e.to_string().contains("(R30)"),
        "{e}"
    );
    assert!(matches!(
        licenses::ops::get_sku(&w.store, "Bad").await,
        Err(LicenseError::NotFound(_))
    ));
    licenses::ops::delete_sku(&w.store, "Sales-Cloud")
        .await
        .unwrap();
    assert!(licenses::ops::skus(&w.store).await.unwrap().is_empty());
    assert!(matches!(
        licenses::ops::delete_sku(&w.store, "Sales-Cloud").await,
        Err(LicenseError::NotFound(_))
    ));
}

#[tokio::test]
async fn r30_assignments_that_could_not_be_read_keep_the_stored_holders() {
    let w = World::new();
    w.ingest("activity.json").await;
    let (src, now) = source("activity.json");
    let src = src.fail_when("FROM PermissionSetLicenseAssign");
    w.ingest_at(&src, now, "no-psla").await;
    assert_eq!(holders(&w, CRM).await.len(), 5, "kept from the last read");
    assert_eq!(
        holders(&w, ACME).await.len(),
        5,
        "package assignments read again"
    );
}

#[tokio::test]
async fn r32_every_ingest_adds_a_dated_usage_point_and_old_ones_are_pruned() {
    let w = World::new();
    w.ingest("before.json").await;
    w.ingest("after.json").await;
    let all = DateRange::default();
    let sfdc = licenses::ops::license_history(&w.store, SFDC, all)
        .await
        .unwrap();
    let points: Vec<(String, i64, u64)> = sfdc
        .iter()
        .map(|p| (p.at.date_naive().to_string(), p.used, p.active_users))
        .collect();
    assert_eq!(
        points,
        [("2026-11-27".into(), 4, 3), ("2026-12-15".into(), 3, 2)]
    );
    let december = DateRange::parse(Some("2026-12-01"), Some("2026-12-31")).unwrap();
    assert_eq!(
        licenses::ops::license_history(&w.store, SFDC, december)
            .await
            .unwrap()
            .len(),
        1
    );
    let org = licenses::ops::org_history(&w.store, all).await.unwrap();
    let org: Vec<(u64, Option<u64>)> = org
        .iter()
        .map(|o| (o.users_can_log_in, o.active_sessions))
        .collect();
    assert_eq!(org, [(4, Some(3)), (3, Some(1))]);
    // the vanished Chatter Free has its last point as inactive
    let chatter = licenses::ops::license_history(&w.store, CHATTER, all)
        .await
        .unwrap();
    assert_eq!(
        chatter.iter().map(|p| p.active).collect::<Vec<_>>(),
        [true, false]
    );
    // retention: 30 days later with 20 days kept, only the new point remains
    let (src, _) = source("after.json");
    let later: DateTime<Utc> = "2027-01-14T09:00:00Z".parse().unwrap();
    ingest_with(
        &src,
        &w.store,
        &w.log,
        later,
        "kept-20",
        IngestOptions {
            history_retention_days: 20,
        },
    )
    .await
    .unwrap();
    let sfdc = licenses::ops::license_history(&w.store, SFDC, all)
        .await
        .unwrap();
    assert_eq!(sfdc.iter().map(|p| p.at).collect::<Vec<_>>(), [later]);
    assert_eq!(
        licenses::ops::org_history(&w.store, all)
            .await
            .unwrap()
            .len(),
        1
    );
    let chatter = licenses::ops::license_history(&w.store, CHATTER, all)
        .await
        .unwrap();
    assert!(chatter.is_empty(), "pruned, though no longer captured");
    assert!(matches!(
        licenses::ops::license_history(&w.store, "nope", all).await,
        Err(LicenseError::NotFound(_))
    ));
}

fn new_manual(body: Value) -> NewManualLicense {
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn r29_r31_a_manual_license_is_kept_across_disable_and_matched_by_kind_and_key() {
    let w = World::new();
    let (_, now) = source("before.json");
    let entered: DateTime<Utc> = "2026-10-01T12:00:00Z".parse().unwrap();
    let v = licenses::ops::create_manual_license(
        &w.store,
        new_manual(json!({"kind": "package_license",
        "name": "Acme CPQ", "key": "acme", "allowed": 30, "amount": "2500", "currency": "USD",
        "payment_frequency": "quarterly", "effective_date": "2026-01-01"})),
        entered,
    )
    .await
    .unwrap();
    assert_eq!(
        (v.id.as_str(), v.source, v.origin, v.total),
        (
            "manual:acme-cpq",
            ViewSource::Manual,
            Origin::Manual,
            Some(30)
        )
    );
    let other = licenses::ops::create_manual_license(
        &w.store,
        new_manual(json!({"kind": "user_license", "name": "Tableau Viewer", "allowed": 25})),
        entered,
    )
    .await
    .unwrap();
    let e = licenses::ops::create_manual_license(
        &w.store,
        new_manual(json!({"kind": "user_license", "name": "tableau  viewer"})),
        entered,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, LicenseError::Exists(_)), "{e:?}");
    // R29: disabling and re-enabling the task keeps manual licenses as they are
    for enabled in [false, true] {
        w.store.set_task_enabled(enabled).await.unwrap();
        let ids: Vec<String> = load_views(&w.store, now)
            .await
            .unwrap()
            .licenses
            .into_iter()
            .map(|v| v.id)
            .collect();
        assert_eq!(
            ids.iter().filter(|i| i.starts_with("manual:")).count(),
            2,
            "{ids:?}"
        );
    }
    // the first ingest captures acme (package, key "acme"): matched, fields carried over
    let report = w.ingest("before.json").await;
    let acme = w.get(ACME).await;
    assert_eq!(acme.manual.amount.unwrap().to_string(), "2500.00");
    assert_eq!(acme.manual.allowed, Some(30));
    assert_eq!(
        acme.manual.effective_date.unwrap().to_string(),
        "2026-01-01",
        "entered date beats R28"
    );
    assert_eq!(acme.manual.name, None, "the captured name shows");
    let entry = report
        .entries
        .iter()
        .find(|e| e.message.contains("manual license 'Acme CPQ'"))
        .unwrap();
    assert_eq!(entry.record_id.as_deref(), Some(ACME));
    let views = load_views(&w.store, now).await.unwrap().licenses;
    assert!(
        !views.iter().any(|v| v.id == "manual:acme-cpq"),
        "listed once, as the captured license"
    );
    assert!(
        views
            .iter()
            .any(|v| v.id == other.id && v.origin == Origin::Manual),
        "no key: never matched"
    );
    // the manual id stays an alias of the captured license
    let v = set_manual(
        &w.store,
        "manual:acme-cpq",
        &json!({"currency": "EUR"}),
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (v.id.as_str(), v.manual.currency.as_deref()),
        (ACME, Some("EUR"))
    );
    // a manual license for a key already captured is refused, naming the captured id
    let e = licenses::ops::create_manual_license(
        &w.store,
        new_manual(json!({"kind": "permission_set_license", "name": "CRM", "key": "CRMUserPsl"})),
        now,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains(CRM), "{e}");
    // a manual license's own fields are edited in place
    let v = set_manual(&w.store, &other.id, &json!({"allowed": 40}), now)
        .await
        .unwrap();
    assert_eq!(v.total, Some(40));
}

#[tokio::test]
async fn r27_seed_000_which_manual_edits_a_captured_license_takes() {
    let w = World::new();
    w.ingest("before.json").await;
    let (_, now) = source("before.json");
    // name: a local name on any captured license (seed 002), the Salesforce name kept
    let v = set_manual(&w.store, SFDC, &json!({"name": "Sales seats"}), now)
        .await
        .unwrap();
    assert_eq!(
        (v.name.as_str(), v.salesforce_name.as_str()),
        ("Sales seats", "Salesforce")
    );
    // allowed: feature licenses always; other kinds only while the task is disabled
    set_manual(&w.store, MARKETING, &json!({"allowed": 10}), now)
        .await
        .unwrap();
    for id in [SFDC, CRM, ACME] {
        let e = set_manual(&w.store, id, &json!({"allowed": 99}), now)
            .await
            .unwrap_err();
        match &e {
            LicenseError::Manual(m) => {
                assert_eq!((m.license_id.as_str(), m.field.as_str()), (id, "allowed"))
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("seed 000"), "{e}");
    }
    assert_eq!(w.get(SFDC).await.manual.allowed, None, "nothing changed");
    w.store.set_task_enabled(false).await.unwrap();
    let v = set_manual(&w.store, SFDC, &json!({"allowed": 12}), now)
        .await
        .unwrap();
    assert_eq!((v.source, v.total), (ViewSource::Manual, Some(12)));
    // kind, total, used: not manual fields on any license
    for field in ["kind", "total", "used", "key"] {
        let e = set_manual(&w.store, SFDC, &json!({field: 1}), now)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, LicenseError::Manual(m) if m.field == field),
            "{e:?}"
        );
    }
}

async fn with_costs(w: &World, now: DateTime<Utc>) {
    for (id, body) in [
        (
            SFDC,
            json!({"amount": "2250", "currency": "USD", "payment_frequency": "monthly"}),
        ),
        (
            CRM,
            json!({"amount": "6000", "currency": "USD", "payment_frequency": "annual"}),
        ),
        (
            ACME,
            json!({"amount": "2500", "currency": "USD", "payment_frequency": "quarterly"}),
        ),
        (
            MARKETING,
            json!({"allowed": 10, "amount": "1200", "currency": "USD", "payment_frequency": "annual"}),
        ),
    ] {
        set_manual(&w.store, id, &body, now).await.unwrap();
    }
    for (name, ids) in [
        ("Sales-Cloud", vec!["SFDC", "CRMUserPsl"]),
        ("Acme-CPQ", vec!["acme"]),
    ] {
        let body = SkuBody {
            licenses: ids.into_iter().map(str::to_owned).collect(),
        };
        licenses::ops::put_sku(&w.store, name, body, now)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_unused_license_finder_ranks_idle_seats_by_what_they_cost_a_year() {
    let w = World::new();
    w.ingest("activity.json").await;
    let (_, now) = source("activity.json");
    with_costs(&w, now).await;
    let r = licenses::ops::unused(&w.store, 90, now).await.unwrap();
    assert_eq!(
        r.cutoff,
        "2026-08-29T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    let rows: Vec<(&str, u64, u64, String)> = r
        .licenses
        .iter()
        .map(|x| (x.id.as_str(), x.holders, x.unused, unused_cost(x)))
        .collect();
    assert_eq!(
        &rows[..5],
        &[
            (SFDC, 9, 5, "9000.00 USD".into()), // 2250 × 12 ÷ 15 seats = 1800 a seat
            (ACME, 5, 2, "800.00 USD".into()),  // 2500 × 4 ÷ 25 = 400
            (CRM, 5, 2, "600.00 USD".into()),   // 6000 ÷ 20 = 300
            (MARKETING, 3, 2, "240.00 USD".into()), // 1200 ÷ 10 allowed = 120
            (PLATFORM, 2, 1, "".into()),        // no cost entered: after every priced row
        ]
    );
    let sfdc = &r.licenses[0];
    assert_eq!(sfdc.seat_annual_cost.unwrap().to_string(), "1800.00");
    assert_eq!(sfdc.unused_share, 0.556);
    let idle: Vec<(&str, Option<i64>)> = sfdc
        .idle
        .iter()
        .map(|u| (u.name.as_str(), u.days_since_login))
        .collect();
    assert_eq!(
        idle,
        [
            ("Finn Seller", Some(134)),
            ("Gus Idle", Some(179)),
            ("Hana Never", None),
            ("Kai Marketing", Some(117)),
            ("Mo Revoked", Some(321))
        ]
    );
    assert!(r.licenses[4]
        .cost_note
        .as_deref()
        .unwrap()
        .contains("no amount"));
    let skus: Vec<(&str, u64, u64, String)> = r
        .skus
        .iter()
        .map(|x| (x.id.as_str(), x.holders, x.unused, unused_cost(x)))
        .collect();
    assert_eq!(
        skus,
        [
            ("Sales-Cloud", 9, 5, "9600.00 USD".into()),
            ("Acme-CPQ", 5, 2, "800.00 USD".into())
        ]
    );
    assert_eq!(r.unused_annual_cost["USD"].to_string(), "10640.00");
    // a shorter window finds fewer idle holders; text output names them
    let r30 = licenses::ops::unused(&w.store, 300, now).await.unwrap();
    assert_eq!(r30.licenses[0].unused, 2, "Hana never, Mo 321 days");
    let text = render_unused(&r);
    assert!(text.contains("Hana Never — never logged in"), "{text}");
    assert!(
        text.contains("unused seats cost a year: 10640.00 USD"),
        "{text}"
    );
}

fn unused_cost(r: &licenses::unused::UnusedRow) -> String {
    r.unused_annual_cost
        .iter()
        .map(|(c, a)| format!("{a} {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn the_finder_says_why_a_seat_has_no_cost() {
    let w = World::new();
    w.ingest("activity.json").await;
    let (_, now) = source("activity.json");
    for (id, body, why) in [
        (
            SFDC,
            json!({"amount": "100", "currency": "USD", "payment_frequency": "one_time"}),
            "one-time",
        ),
        (
            CRM,
            json!({"amount": "100", "currency": "USD", "payment_frequency": "annual", "effective_date": "2025-01-01", "ending_date": "2026-01-01"}),
            "ending date",
        ),
        (
            MARKETING,
            json!({"amount": "100", "currency": "USD", "payment_frequency": "annual"}),
            "no seat count",
        ),
    ] {
        set_manual(&w.store, id, &body, now).await.unwrap();
        let r = licenses::ops::unused(&w.store, 90, now).await.unwrap();
        let row = r.licenses.iter().find(|x| x.id == id).unwrap();
        assert!(row.unused_annual_cost.is_empty(), "{id}");
        assert!(
            row.cost_note.as_deref().unwrap().contains(why),
            "{id}: {:?}",
            row.cost_note
        );
    }
}

#[tokio::test]
async fn r30_an_org_refusing_is_revoked_is_read_again_without_it() {
    let w = World::new();
    let (src, now) = source("activity.json");
    let report = w
        .ingest_at(&src.fail_when("IsRevoked"), now, "old-api")
        .await;
    assert!(
        report.failed_objects.is_empty(),
        "{:?}",
        report.failed_objects
    );
    assert_eq!(holders(&w, ACME).await.len(), 5, "assignments still read");
}
