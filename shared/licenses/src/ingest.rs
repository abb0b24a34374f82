//! One ingest: read the org (paged SOQL through a [`LicenseSource`]), capture, merge into the
//! store, write the transaction log (R24, name [`LOG_NAME`]).

use crate::capture::{capture, Capture, Problem, RawOrg, FEATURE_FLAGS};
use crate::docs;
use crate::manual_license::{self, ManualLicense};
use crate::merge::{merge, Change, ChangeKind};
use crate::model::OrgUsage;
use crate::source::{LicenseSource, SourceError};
use crate::store::LicenseStore;
use crate::users::{self, LicenseUser};
use crate::view::{views, LicenseView};
use crate::LicenseError;
use chrono::{DateTime, Utc};
use engine::ports::{LogEntry, LogStatus, RunKind, RunRecord, RunStatus, TransactionLog};
use engine::redact::Redactor;
use engine::txlog::{error_chain, Draft, LogWriter};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The transaction-log name of every license entry.
pub const LOG_NAME: &str = "License Capture";

/// The queries (no WHERE: inactive rows are needed to leave them out knowingly, R30).
pub mod soql {
    pub const USER_LICENSE: &str = "SELECT Id, Name, MasterLabel, LicenseDefinitionKey, Status, TotalLicenses, UsedLicenses FROM UserLicense";
    pub const PERMISSION_SET_LICENSE: &str = "SELECT Id, DeveloperName, MasterLabel, PermissionSetLicenseKey, Status, TotalLicenses, UsedLicenses, ExpirationDate FROM PermissionSetLicense";
    pub const PACKAGE_LICENSE: &str = "SELECT Id, NamespacePrefix, AllowedLicenses, UsedLicenses, ExpirationDate, Status FROM PackageLicense";
    pub const PROFILE: &str = "SELECT Id, Name, UserLicenseId FROM Profile";
    /// Name, Username and LastLoginDate feed the Users view and the unused-license finder.
    pub const USER_BASE: &str =
        "SELECT Id, Name, FirstName, LastName, Username, IsActive, ProfileId, UserType, LastLoginDate FROM User";
    /// With `IsRevoked` (API v58+): a revoked assignment is no assignment (R30). An org that
    /// refuses the field is read again with the `_BASE` query.
    pub const PERMISSION_SET_LICENSE_ASSIGN: &str =
        "SELECT Id, PermissionSetLicenseId, AssigneeId, IsRevoked FROM PermissionSetLicenseAssign";
    pub const PERMISSION_SET_LICENSE_ASSIGN_BASE: &str =
        "SELECT Id, PermissionSetLicenseId, AssigneeId FROM PermissionSetLicenseAssign";
    pub const USER_PACKAGE_LICENSE: &str =
        "SELECT Id, PackageLicenseId, UserId, IsRevoked FROM UserPackageLicense";
    pub const USER_PACKAGE_LICENSE_BASE: &str =
        "SELECT Id, PackageLicenseId, UserId FROM UserPackageLicense";
    pub const AUTH_SESSION: &str =
        "SELECT Id, UsersId, LastModifiedDate, NumSecondsValid, SessionType FROM AuthSession";

    /// User with the feature-license flags.
    pub fn user_with_flags() -> String {
        let flags: Vec<&str> = super::FEATURE_FLAGS.iter().map(|(f, _)| *f).collect();
        format!(
            "SELECT Id, Name, FirstName, LastName, Username, IsActive, ProfileId, UserType, LastLoginDate, {} FROM User",
            flags.join(", ")
        )
    }
}

/// What one ingest did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    pub task_id: String,
    pub at: DateTime<Utc>,
    pub discovered: u32,
    pub updated: u32,
    pub reappeared: u32,
    pub missing: u32,
    pub unchanged: u32,
    pub changes: Vec<Change>,
    /// Objects that could not be read, with the reason.
    pub failed_objects: Vec<(String, String)>,
    /// Records that could not be used (named by id, field and rule).
    pub problems: Vec<Problem>,
    pub org: Option<OrgUsage>,
    /// The transaction-log entries written.
    pub entries: Vec<LogEntry>,
}

impl IngestReport {
    /// True when no license object at all could be read (e.g. Salesforce refused the login).
    pub fn read_nothing(&self) -> bool {
        [
            "UserLicense",
            "PermissionSetLicense",
            "PackageLicense",
            "User",
        ]
        .iter()
        .all(|o| self.failed_objects.iter().any(|(f, _)| f == o))
    }

    /// The failure that stopped or first hurt the reading, `"<object>: <reason>"`.
    pub fn first_failure(&self) -> Option<String> {
        self.failed_objects
            .iter()
            .find(|(_, r)| !r.starts_with("not read: "))
            .or(self.failed_objects.first())
            .map(|(o, r)| format!("{o}: {r}"))
    }
}

/// True for an error after which no further query can succeed (login refused, API quota
/// spent, Salesforce unreachable): the ingest stops reading at once instead of burning calls.
fn stops_reading(e: &SourceError) -> bool {
    use salesforce::SalesforceError as E;
    matches!(
        e.downcast_ref::<E>(),
        Some(
            E::Auth { .. }
                | E::SessionExpired
                | E::LimitExceeded { .. }
                | E::Transport { .. }
                | E::Config(_)
        )
    )
}

/// Reads every object the capture needs; a failed object is recorded, not fatal — unless the
/// failure means no later query can succeed, then the rest are recorded as not read.
pub async fn read_org(source: &dyn LicenseSource) -> RawOrg {
    let mut raw = RawOrg::default();
    let plain: [(&str, &str); 7] = [
        ("UserLicense", soql::USER_LICENSE),
        ("PermissionSetLicense", soql::PERMISSION_SET_LICENSE),
        ("PackageLicense", soql::PACKAGE_LICENSE),
        ("Profile", soql::PROFILE),
        (
            "PermissionSetLicenseAssign",
            soql::PERMISSION_SET_LICENSE_ASSIGN,
        ),
        ("UserPackageLicense", soql::USER_PACKAGE_LICENSE),
        ("AuthSession", soql::AUTH_SESSION),
    ];
    let mut stopped: Option<String> = None;
    for (object, q) in plain {
        if let Some(reason) = &stopped {
            raw.failed
                .insert(object.to_owned(), format!("not read: {reason}"));
            continue;
        }
        let fallback = match object {
            "PermissionSetLicenseAssign" => Some(soql::PERMISSION_SET_LICENSE_ASSIGN_BASE),
            "UserPackageLicense" => Some(soql::USER_PACKAGE_LICENSE_BASE),
            _ => None,
        };
        let mut result = source.query(q).await;
        if let (Err(e), Some(base)) = (&result, fallback) {
            if !stops_reading(e) {
                tracing::warn!(object, error = %error_chain(e.as_ref()), "read again without IsRevoked");
                result = source.query(base).await;
            }
        }
        match result {
            Ok(rows) => {
                raw.tables.insert(object.to_owned(), rows);
            }
            Err(e) => {
                let reason = error_chain(e.as_ref());
                tracing::warn!(object, error = %reason, "license object not read");
                if stops_reading(&e) {
                    stopped = Some(reason.clone());
                }
                raw.failed.insert(object.to_owned(), reason);
            }
        }
    }
    if let Some(reason) = stopped {
        raw.failed
            .insert("User".to_owned(), format!("not read: {reason}"));
        return raw;
    }
    match source.query(&soql::user_with_flags()).await {
        Ok(rows) => {
            raw.tables.insert("User".to_owned(), rows);
            raw.feature_flags_read = true;
        }
        Err(flags_err) if stops_reading(&flags_err) => {
            raw.failed
                .insert("User".to_owned(), error_chain(flags_err.as_ref()));
        }
        Err(flags_err) => {
            // An org without one of the flag fields refuses the whole query: read the users
            // without them, so user/permission-set/package usage still counts (R30).
            let reason = error_chain(flags_err.as_ref());
            match source.query(soql::USER_BASE).await {
                Ok(rows) => {
                    raw.tables.insert("User".to_owned(), rows);
                    raw.failed
                        .insert("User (feature license flags)".to_owned(), reason);
                }
                Err(e) => {
                    raw.failed
                        .insert("User".to_owned(), error_chain(e.as_ref()));
                }
            }
        }
    }
    raw
}

/// Options of an ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOptions {
    /// History points older than this many days are pruned (seed 003).
    pub history_retention_days: u32,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            history_retention_days: crate::history::DEFAULT_RETENTION_DAYS,
        }
    }
}

/// Ingests the org's license information into `store` at `now`, logging under `task_id`.
/// Refused with [`LicenseError::TaskDisabled`] while the task is disabled (R29: the last
/// captured data must be there again when it is re-enabled).
pub async fn ingest(
    source: &dyn LicenseSource,
    store: &dyn LicenseStore,
    log: &dyn TransactionLog,
    now: DateTime<Utc>,
    task_id: &str,
) -> Result<IngestReport, LicenseError> {
    ingest_with(source, store, log, now, task_id, IngestOptions::default()).await
}

/// [`ingest`] with options (history retention).
pub async fn ingest_with(
    source: &dyn LicenseSource,
    store: &dyn LicenseStore,
    log: &dyn TransactionLog,
    now: DateTime<Utc>,
    task_id: &str,
    options: IngestOptions,
) -> Result<IngestReport, LicenseError> {
    if !store.task_enabled().await? {
        return Err(LicenseError::TaskDisabled);
    }
    let raw = read_org(source).await;
    let mut cap = capture(&raw, now);
    let holdings = users::holdings(&raw, &cap.observed, &mut cap.problems);
    let previous = store.all().await?;
    let merged = merge(&previous, &cap, now);

    store.put_captured(&merged.captured).await?;
    let mut drafts = failure_drafts(&raw, &cap);
    drafts.extend(match_manual_licenses(store, now).await?);
    for (id, date) in &merged.effective_defaults {
        store.default_effective_date(id, *date).await?; // R28
    }
    if let Some(org) = &cap.org {
        store.put_org_usage(org).await?;
    }
    if let Some(h) = holdings {
        store_users(store, h).await?;
    }
    crate::history::record(store, &merged.captured, cap.org.as_ref(), now).await?;
    let ids = previous
        .iter()
        .map(|r| r.id())
        .chain(merged.captured.iter().map(|c| c.id.as_str()));
    crate::history::prune(store, ids, now, options.history_retention_days).await?;

    for ch in &merged.changes {
        if let Some(c) = merged.captured.iter().find(|c| c.id == ch.id) {
            drafts.push(Draft::completed(LOG_NAME, &ch.id, ch.message(c)));
        }
    }
    let redactor = Redactor::default();
    let mut writer = LogWriter::new(log, &redactor, task_id, None);
    writer.write(drafts, now).await?;

    let count = |k: ChangeKind| merged.changes.iter().filter(|c| c.change == k).count() as u32;
    let report = IngestReport {
        task_id: task_id.to_owned(),
        at: now,
        discovered: count(ChangeKind::Discovered),
        updated: count(ChangeKind::Updated),
        reappeared: count(ChangeKind::Reappeared),
        missing: count(ChangeKind::Missing),
        unchanged: merged.unchanged,
        changes: merged.changes,
        failed_objects: raw.failed.into_iter().collect(),
        problems: cap.problems,
        org: cap.org,
        entries: writer.into_entries(),
    };
    tracing::info!(
        task_id,
        discovered = report.discovered,
        updated = report.updated,
        missing = report.missing,
        failed_objects = report.failed_objects.len(),
        "license ingest finished"
    );
    Ok(report)
}

/// One Failed entry per object that could not be read and per record that could not be used.
fn failure_drafts(raw: &RawOrg, cap: &Capture) -> Vec<Draft> {
    let mut drafts = Vec::new();
    for (object, reason) in &raw.failed {
        drafts.push(
            Draft::new(
                LOG_NAME,
                LogStatus::Failed,
                None,
                format!(
                    "{object} could not be read from Salesforce; its licenses were left as stored"
                ),
            )
            .reason(reason.clone()),
        );
    }
    for p in &cap.problems {
        drafts.push(
            Draft::new(
                LOG_NAME,
                LogStatus::Failed,
                p.record_id.as_deref(),
                format!("a {} record could not be captured", p.sobject),
            )
            .reason(p.message.clone()),
        );
    }
    drafts
}

/// Replaces the stored per-user assignments with `h` (R30); for kinds whose assignments could
/// not be read, each user keeps what they held before.
async fn store_users(store: &dyn LicenseStore, mut h: users::Holdings) -> Result<(), LicenseError> {
    let before: Vec<LicenseUser> = docs::values(store, docs::USERS).await?;
    let kinds = store
        .all()
        .await?
        .into_iter()
        .map(|r| (r.captured.id, r.captured.kind))
        .collect();
    users::keep_unread(&mut h, &before, &kinds);
    let now_ids: BTreeSet<&str> = h.users.iter().map(|u| u.id.as_str()).collect();
    let gone: Vec<String> = before
        .iter()
        .filter(|u| !now_ids.contains(u.id.as_str()))
        .map(|u| u.id.clone())
        .collect();
    let items: Vec<(String, &LicenseUser)> = h.users.iter().map(|u| (u.id.clone(), u)).collect();
    docs::put(store, docs::USERS, &items).await?;
    if !gone.is_empty() {
        store.docs_delete(docs::USERS, &gone).await?;
    }
    Ok(())
}

/// Matches unmatched manual licenses to captured ones by kind and key (see
/// [`crate::manual_license`]); answers the log entries: Completed per match, Failed when a key
/// names more than one captured license.
async fn match_manual_licenses(
    store: &dyn LicenseStore,
    now: DateTime<Utc>,
) -> Result<Vec<Draft>, LicenseError> {
    let manual: Vec<(String, ManualLicense)> =
        docs::list(store, docs::MANUAL_LICENSES, None, None).await?;
    let mut drafts = Vec::new();
    if manual.iter().all(|(_, m)| m.matched_to.is_some()) {
        return Ok(drafts);
    }
    let records = store.all().await?;
    for (_, mut ml) in manual.into_iter().filter(|(_, m)| m.matched_to.is_none()) {
        let found = manual_license::candidates(&ml, &records);
        let [target] = found.as_slice() else {
            if found.len() > 1 {
                let ids: Vec<&str> = found.iter().map(|r| r.id()).collect();
                drafts.push(Draft::new(LOG_NAME, LogStatus::Failed, Some(&ml.id),
                    format!("manual license '{}' ({}) not matched: its key {:?} names {} captured licenses ({}) (R31)",
                        ml.name, ml.id, ml.key.as_deref().unwrap_or_default(), found.len(), ids.join(", "))));
            }
            continue;
        };
        let manual = manual_license::carry_over(&ml.manual, &target.manual);
        store.put_manual(target.id(), &manual).await?;
        ml.matched_to = Some(target.id().to_owned());
        ml.matched_at = Some(now);
        docs::put(store, docs::MANUAL_LICENSES, &[(ml.id.clone(), &ml)]).await?;
        drafts.push(Draft::completed(LOG_NAME, target.id(), format!(
            "manual license '{}' ({}) matched to {} '{}' ({}) by its key {:?}; its manual fields were carried over",
            ml.name, ml.id, target.captured.kind, target.captured.name, target.id(),
            ml.key.as_deref().unwrap_or_default())));
    }
    Ok(drafts)
}

/// The run record of an ingest (kind `licenses`), for the state store's run list: Completed,
/// or Aborted when nothing could be read; counts per change kind and failed entries.
pub fn run_record(report: &IngestReport, finished: DateTime<Utc>) -> RunRecord {
    let failed = report
        .entries
        .iter()
        .filter(|e| e.status == LogStatus::Failed)
        .count() as u64;
    let counts = BTreeMap::from([
        ("discovered".to_owned(), u64::from(report.discovered)),
        ("updated".to_owned(), u64::from(report.updated)),
        ("reappeared".to_owned(), u64::from(report.reappeared)),
        ("missing".to_owned(), u64::from(report.missing)),
        ("unchanged".to_owned(), u64::from(report.unchanged)),
        ("completed".to_owned(), report.entries.len() as u64 - failed),
        ("failed".to_owned(), failed),
    ]);
    let aborted = report.read_nothing();
    RunRecord {
        task_id: report.task_id.clone(),
        kind: RunKind::Licenses,
        status: if aborted {
            RunStatus::Aborted
        } else {
            RunStatus::Completed
        },
        window_from: None,
        window_to: None,
        started: report.at,
        finished: Some(finished),
        accounts_planned: 0,
        counts,
        detail: aborted.then(|| {
            format!(
                "no license object could be read ({})",
                report.first_failure().unwrap_or_default()
            )
        }),
        created_by: None,
    }
}

/// Everything an admin sees: the views (R29 source by the task flag), the org usage (R32)
/// and the flag itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseOverview {
    pub task_enabled: bool,
    pub licenses: Vec<LicenseView>,
    pub org: Option<OrgUsage>,
}

/// Loads the overview from the store at `now` (the spend year is `now`'s year).
pub async fn load_views(
    store: &dyn LicenseStore,
    now: DateTime<Utc>,
) -> Result<LicenseOverview, LicenseError> {
    let enabled = store.task_enabled().await?;
    let records = store.all().await?;
    let mut licenses = views(&records, enabled, now);
    licenses.extend(crate::view::manual_views(
        &crate::ops::manual_licenses(store).await?,
        now,
    ));
    licenses.sort_by(|a, b| (a.kind, &a.name, &a.id).cmp(&(b.kind, &b.name, &b.id)));
    Ok(LicenseOverview {
        task_enabled: enabled,
        licenses,
        org: store.org_usage().await?,
    })
}
