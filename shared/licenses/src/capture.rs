//! From the raw Salesforce records to observed licenses with their usage (R26, R30, R32). Pure.

use crate::model::{LicenseKind, Observed, OrgUsage};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The feature licenses: User permission flags, with the names Salesforce's setup shows.
pub const FEATURE_FLAGS: [(&str, &str); 8] = [
    ("UserPermissionsMarketingUser", "Marketing User"),
    ("UserPermissionsOfflineUser", "Offline User"),
    ("UserPermissionsKnowledgeUser", "Knowledge User"),
    (
        "UserPermissionsSFContentUser",
        "Salesforce CRM Content User",
    ),
    ("UserPermissionsInteractionUser", "Flow User"),
    ("UserPermissionsSupportUser", "Service Cloud User"),
    (
        "UserPermissionsCallCenterAutoLogin",
        "Auto-login Call Center User",
    ),
    ("UserPermissionsLiveAgentUser", "Chat User"),
];

/// The unique id of a feature license.
pub fn feature_id(field: &str) -> String {
    format!("feature:{field}")
}

/// What was read from the org: sObject name → records, or why it could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawOrg {
    pub tables: BTreeMap<String, Vec<Value>>,
    pub failed: BTreeMap<String, String>,
    /// Whether the User records were read with the feature-license flags.
    pub feature_flags_read: bool,
}

impl RawOrg {
    fn table(&self, sobject: &str) -> Option<&[Value]> {
        self.tables.get(sobject).map(Vec::as_slice)
    }
}

/// One record (or object) that could not be used, in words naming record, field and rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    pub sobject: String,
    pub record_id: Option<String>,
    pub message: String,
}

/// The result of a capture: the licenses Salesforce shows now and their usage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capture {
    pub observed: Vec<Observed>,
    /// Kinds whose license object was read completely; only these can have gone missing.
    pub read_kinds: BTreeSet<LicenseKind>,
    /// Licenses present in Salesforce but unusable this time (never marked missing).
    pub unreadable_ids: BTreeSet<String>,
    pub problems: Vec<Problem>,
    pub org: Option<OrgUsage>,
}

struct Rec<'a> {
    sobject: &'static str,
    v: &'a Value,
    id: String,
}

impl Rec<'_> {
    fn problem(&self, field: &str, what: &str, rule: &str) -> Problem {
        Problem {
            sobject: self.sobject.to_owned(),
            record_id: Some(self.id.clone()),
            message: format!(
                "{} {}: field {field} {what} ({rule})",
                self.sobject, self.id
            ),
        }
    }
    fn str(&self, field: &str) -> Option<&str> {
        self.v.get(field).and_then(Value::as_str)
    }
    fn int(&self, field: &str) -> Result<i64, Problem> {
        self.v
            .get(field)
            .and_then(Value::as_i64)
            .ok_or_else(|| self.problem(field, "is missing or not a whole number", "R26"))
    }
    fn req_str(&self, field: &str) -> Result<String, Problem> {
        match self.str(field) {
            Some(s) if !s.trim().is_empty() => Ok(s.to_owned()),
            _ => Err(self.problem(field, "is missing or empty", "R26")),
        }
    }
    /// A Salesforce date (`2026-12-31`) or datetime (`2026-12-31T00:00:00.000+0000`).
    fn date(&self, field: &str) -> Result<Option<NaiveDate>, Problem> {
        match self.v.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let day = s.get(..10).unwrap_or(s);
                NaiveDate::parse_from_str(day, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| self.problem(field, "is not a date", "R26"))
            }
            Some(_) => Err(self.problem(field, "is not a date", "R26")),
        }
    }
}

fn records<'a>(
    sobject: &'static str,
    rows: &'a [Value],
    problems: &mut Vec<Problem>,
) -> Vec<Rec<'a>> {
    rows.iter()
        .filter_map(|v| match v.get("Id").and_then(Value::as_str) {
            Some(id) if !id.trim().is_empty() => Some(Rec {
                sobject,
                v,
                id: id.to_owned(),
            }),
            _ => {
                problems.push(Problem {
                    sobject: sobject.to_owned(),
                    record_id: None,
                    message: format!(
                        "a {sobject} record has no Id; it was left out (R31: records match by Id)"
                    ),
                });
                None
            }
        })
        .collect()
}

/// Parses a Salesforce datetime: `2026-11-27T10:00:00.000+0000` or RFC 3339
/// ([`mapping::sf::SfDateTime::parse`]).
pub fn parse_sf_datetime(s: &str) -> Option<DateTime<Utc>> {
    mapping::sf::SfDateTime::parse(s).map(|t| t.0)
}

/// Active in Salesforce: `Active`, or for package licenses also `Free` and `Trial`.
fn is_active_status(status: &str) -> bool {
    ["active", "free", "trial"].contains(&status.trim().to_ascii_lowercase().as_str())
}

/// Users: id → active?; with the problems of unusable rows.
struct Users<'a> {
    active: HashSet<String>,
    all: Vec<Rec<'a>>,
}

fn read_users<'a>(rows: &'a [Value], problems: &mut Vec<Problem>) -> Users<'a> {
    let all = records("User", rows, problems);
    let mut active = HashSet::new();
    for u in &all {
        match u.v.get("IsActive").and_then(Value::as_bool) {
            Some(true) => {
                active.insert(u.id.clone());
            }
            Some(false) => {}
            None => problems.push(u.problem(
                "IsActive",
                "is missing or not a boolean; the user is counted as inactive",
                "R30",
            )),
        }
    }
    Users { active, all }
}

/// Counts the distinct active users among `assignee`s grouped by `license` (R30).
fn count_assignments(
    sobject: &'static str,
    rows: &[Value],
    license_field: &str,
    user_field: &str,
    users: &Users<'_>,
    problems: &mut Vec<Problem>,
) -> HashMap<String, u64> {
    let mut sets: HashMap<String, HashSet<String>> = HashMap::new();
    for a in records(sobject, rows, problems) {
        if a.v.get("IsRevoked").and_then(Value::as_bool) == Some(true) {
            continue; // a revoked assignment is no assignment
        }
        let (Some(lic), Some(user)) = (a.str(license_field), a.str(user_field)) else {
            problems.push(a.problem(
                &format!("{license_field}/{user_field}"),
                "is missing; the assignment was not counted",
                "R30",
            ));
            continue;
        };
        if users.active.contains(user) {
            sets.entry(lic.to_owned())
                .or_default()
                .insert(user.to_owned());
        }
    }
    sets.into_iter().map(|(k, v)| (k, v.len() as u64)).collect()
}

/// Builds the capture from what was read at `now`.
pub fn capture(raw: &RawOrg, now: DateTime<Utc>) -> Capture {
    let mut c = Capture::default();
    let problems = &mut c.problems;
    let users = raw.table("User").map(|rows| read_users(rows, problems));

    // R30: user licenses by profile
    let profile_license: Option<HashMap<String, String>> = raw.table("Profile").map(|rows| {
        records("Profile", rows, problems)
            .into_iter()
            .filter_map(|p| p.str("UserLicenseId").map(|l| (p.id.clone(), l.to_owned())))
            .collect()
    });
    let user_license_of = |u: &Rec<'_>| -> Option<String> {
        if let Some(l) =
            u.v.get("Profile")
                .and_then(|p| p.get("UserLicenseId"))
                .and_then(Value::as_str)
        {
            return Some(l.to_owned());
        }
        let pid = u.str("ProfileId")?;
        profile_license.as_ref()?.get(pid).cloned()
    };
    let user_license_usage: Option<HashMap<String, u64>> = match (&users, &profile_license) {
        (Some(us), Some(_)) => {
            let mut m: HashMap<String, u64> = HashMap::new();
            for u in us.all.iter().filter(|u| us.active.contains(&u.id)) {
                if let Some(l) = user_license_of(u) {
                    *m.entry(l).or_default() += 1;
                }
            }
            Some(m)
        }
        _ => None,
    };
    let psl_usage = match (&users, raw.table("PermissionSetLicenseAssign")) {
        (Some(us), Some(rows)) => Some(count_assignments(
            "PermissionSetLicenseAssign",
            rows,
            "PermissionSetLicenseId",
            "AssigneeId",
            us,
            problems,
        )),
        _ => None,
    };
    let pkg_usage = match (&users, raw.table("UserPackageLicense")) {
        (Some(us), Some(rows)) => Some(count_assignments(
            "UserPackageLicense",
            rows,
            "PackageLicenseId",
            "UserId",
            us,
            problems,
        )),
        _ => None,
    };
    let usage_of = |m: &Option<HashMap<String, u64>>, id: &str, active: bool| -> Option<u64> {
        if !active {
            return Some(0); // R30: an inactive license counts no users
        }
        m.as_ref().map(|m| m.get(id).copied().unwrap_or(0))
    };

    // R26: the license objects
    let mut user_license_active: HashMap<String, bool> = HashMap::new();
    if let Some(rows) = raw.table("UserLicense") {
        c.read_kinds.insert(LicenseKind::UserLicense);
        for r in records("UserLicense", rows, problems) {
            let parsed = (|| {
                let status = r.req_str("Status")?;
                let active = is_active_status(&status);
                let name = r
                    .str("Name")
                    .or(r.str("MasterLabel"))
                    .map(str::to_owned)
                    .ok_or_else(|| r.problem("Name", "is missing", "R26"))?;
                Ok::<_, Problem>(Observed {
                    id: r.id.clone(),
                    kind: LicenseKind::UserLicense,
                    name,
                    key: r.str("LicenseDefinitionKey").map(str::to_owned),
                    total: Some(r.int("TotalLicenses")?),
                    used: r.int("UsedLicenses")?,
                    active,
                    status,
                    expiration: None,
                    active_users: usage_of(&user_license_usage, &r.id, active),
                })
            })();
            match parsed {
                Ok(o) => {
                    user_license_active.insert(o.id.clone(), o.active);
                    c.observed.push(o);
                }
                Err(p) => {
                    c.unreadable_ids.insert(r.id.clone());
                    problems.push(p);
                }
            }
        }
    }
    if let Some(rows) = raw.table("PermissionSetLicense") {
        c.read_kinds.insert(LicenseKind::PermissionSetLicense);
        for r in records("PermissionSetLicense", rows, problems) {
            let parsed = (|| {
                let status = r.req_str("Status")?;
                let active = is_active_status(&status);
                let name = r
                    .str("MasterLabel")
                    .or(r.str("DeveloperName"))
                    .map(str::to_owned)
                    .ok_or_else(|| r.problem("MasterLabel", "is missing", "R26"))?;
                Ok::<_, Problem>(Observed {
                    id: r.id.clone(),
                    kind: LicenseKind::PermissionSetLicense,
                    name,
                    key: r.str("PermissionSetLicenseKey").map(str::to_owned),
                    total: Some(r.int("TotalLicenses")?),
                    used: r.int("UsedLicenses")?,
                    active,
                    status,
                    expiration: r.date("ExpirationDate")?,
                    active_users: usage_of(&psl_usage, &r.id, active),
                })
            })();
            match parsed {
                Ok(o) => c.observed.push(o),
                Err(p) => {
                    c.unreadable_ids.insert(r.id.clone());
                    problems.push(p);
                }
            }
        }
    }
    if let Some(rows) = raw.table("PackageLicense") {
        c.read_kinds.insert(LicenseKind::PackageLicense);
        for r in records("PackageLicense", rows, problems) {
            let parsed = (|| {
                let status = r.req_str("Status")?;
                let active = is_active_status(&status);
                let ns = r.req_str("NamespacePrefix")?;
                let allowed = r.int("AllowedLicenses")?;
                Ok::<_, Problem>(Observed {
                    id: r.id.clone(),
                    kind: LicenseKind::PackageLicense,
                    name: ns.clone(),
                    key: Some(ns),
                    // -1 = site license: no seat limit
                    total: (allowed >= 0).then_some(allowed),
                    used: r.int("UsedLicenses")?,
                    active,
                    status,
                    expiration: r.date("ExpirationDate")?,
                    active_users: usage_of(&pkg_usage, &r.id, active),
                })
            })();
            match parsed {
                Ok(o) => c.observed.push(o),
                Err(p) => {
                    c.unreadable_ids.insert(r.id.clone());
                    problems.push(p);
                }
            }
        }
    }

    // Feature licenses: permission flags of active users (R30).
    if let (Some(us), true) = (&users, raw.feature_flags_read) {
        c.read_kinds.insert(LicenseKind::FeatureLicense);
        for (field, name) in FEATURE_FLAGS {
            if !us.all.iter().any(|u| u.v.get(field).is_some()) {
                continue; // not a feature of this org
            }
            let mut count = 0u64;
            for u in &us.all {
                match u.v.get(field) {
                    Some(Value::Bool(true)) if us.active.contains(&u.id) => count += 1,
                    Some(Value::Bool(_)) | Some(Value::Null) | None => {}
                    Some(_) => problems.push(u.problem(
                        field,
                        "is not a boolean; the user was not counted",
                        "R30",
                    )),
                }
            }
            c.observed.push(Observed {
                id: feature_id(field),
                kind: LicenseKind::FeatureLicense,
                name: name.to_owned(),
                key: Some(field.to_owned()),
                total: None,
                used: count as i64,
                status: "Active".to_owned(),
                active: true,
                expiration: None,
                active_users: Some(count),
            });
        }
    }

    // R32: users who can log in, and active sessions.
    if let Some(us) = &users {
        let can_log_in = us
            .all
            .iter()
            .filter(|u| us.active.contains(&u.id))
            .filter(|u| {
                user_license_of(u)
                    .and_then(|l| user_license_active.get(&l).copied())
                    .unwrap_or(true)
            })
            .count() as u64;
        let sessions = raw.table("AuthSession").map(|rows| {
            let mut count = 0u64;
            let mut who = HashSet::new();
            for s in records("AuthSession", rows, problems) {
                let user = s.str("UsersId");
                let modified = s.str("LastModifiedDate").and_then(parse_sf_datetime);
                let valid = s.v.get("NumSecondsValid").and_then(Value::as_i64);
                let (Some(user), Some(modified), Some(valid)) = (user, modified, valid) else {
                    problems.push(s.problem(
                        "UsersId/LastModifiedDate/NumSecondsValid",
                        "is missing or malformed; the session was not counted",
                        "R32",
                    ));
                    continue;
                };
                if modified + chrono::Duration::seconds(valid) > now && us.active.contains(user) {
                    count += 1;
                    who.insert(user.to_owned());
                }
            }
            (count, who.len() as u64)
        });
        c.org = Some(OrgUsage {
            captured_at: now,
            active_users: us.active.len() as u64,
            inactive_users: (us.all.len() - us.active.len()) as u64,
            users_can_log_in: can_log_in,
            active_sessions: sessions.map(|s| s.0),
            users_with_sessions: sessions.map(|s| s.1),
        });
    }
    c.observed
        .sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    fn org() -> RawOrg {
        let mut raw = RawOrg {
            feature_flags_read: true,
            ..Default::default()
        };
        let t = |v: Value| v.as_array().unwrap().clone();
        raw.tables.insert("UserLicense".into(), t(json!([
            {"Id": "100000000000001AAA", "Name": "Salesforce", "LicenseDefinitionKey": "SFDC", "Status": "Active", "TotalLicenses": 10, "UsedLicenses": 3},
            {"Id": "100000000000002AAA", "Name": "Old Portal", "LicenseDefinitionKey": "PID_Customer_Community", "Status": "Disabled", "TotalLicenses": 5, "UsedLicenses": 1}
        ])));
        raw.tables.insert("Profile".into(), t(json!([
            {"Id": "00e000000000001AAA", "Name": "Standard User", "UserLicenseId": "100000000000001AAA"},
            {"Id": "00e000000000002AAA", "Name": "Portal", "UserLicenseId": "100000000000002AAA"}
        ])));
        raw.tables.insert("User".into(), t(json!([
            {"Id": "005000000000001AAA", "IsActive": true, "ProfileId": "00e000000000001AAA", "UserPermissionsMarketingUser": true, "UserPermissionsKnowledgeUser": false},
            {"Id": "005000000000002AAA", "IsActive": true, "ProfileId": "00e000000000001AAA", "UserPermissionsMarketingUser": false, "UserPermissionsKnowledgeUser": false},
            {"Id": "005000000000003AAA", "IsActive": false, "ProfileId": "00e000000000001AAA", "UserPermissionsMarketingUser": true, "UserPermissionsKnowledgeUser": true},
            {"Id": "005000000000004AAA", "IsActive": true, "ProfileId": "00e000000000002AAA", "UserPermissionsMarketingUser": false, "UserPermissionsKnowledgeUser": false}
        ])));
        raw.tables.insert("PermissionSetLicense".into(), t(json!([
            {"Id": "0PL000000000001AAA", "MasterLabel": "CRM User", "DeveloperName": "CRMUser", "PermissionSetLicenseKey": "CRMUserPsl", "Status": "Active", "TotalLicenses": 20, "UsedLicenses": 2, "ExpirationDate": "2027-06-30"},
            {"Id": "0PL000000000002AAA", "MasterLabel": "Retired PSL", "PermissionSetLicenseKey": "Retired", "Status": "Disabled", "TotalLicenses": 4, "UsedLicenses": 1, "ExpirationDate": null}
        ])));
        raw.tables.insert("PermissionSetLicenseAssign".into(), t(json!([
            {"Id": "2LA000000000001AAA", "PermissionSetLicenseId": "0PL000000000001AAA", "AssigneeId": "005000000000001AAA"},
            {"Id": "2LA000000000002AAA", "PermissionSetLicenseId": "0PL000000000001AAA", "AssigneeId": "005000000000003AAA"},
            {"Id": "2LA000000000003AAA", "PermissionSetLicenseId": "0PL000000000002AAA", "AssigneeId": "005000000000002AAA"},
            {"Id": "2LA000000000004AAA", "PermissionSetLicenseId": "0PL000000000001AAA", "AssigneeId": "005000000000002AAA", "IsRevoked": true}
        ])));
        raw.tables.insert("PackageLicense".into(), t(json!([
            {"Id": "050000000000001AAA", "NamespacePrefix": "acme", "AllowedLicenses": 50, "UsedLicenses": 2, "Status": "Active", "ExpirationDate": "2027-01-31T00:00:00.000+0000"},
            {"Id": "050000000000002AAA", "NamespacePrefix": "sitewide", "AllowedLicenses": -1, "UsedLicenses": 3, "Status": "Free", "ExpirationDate": null}
        ])));
        raw.tables.insert("UserPackageLicense".into(), t(json!([
            {"Id": "051000000000001AAA", "PackageLicenseId": "050000000000001AAA", "UserId": "005000000000001AAA"},
            {"Id": "051000000000002AAA", "PackageLicenseId": "050000000000001AAA", "UserId": "005000000000003AAA"},
            {"Id": "051000000000003AAA", "PackageLicenseId": "050000000000001AAA", "UserId": "005000000000001AAA"}
        ])));
        raw.tables.insert("AuthSession".into(), t(json!([
            {"Id": "0Ak000000000001AAA", "UsersId": "005000000000001AAA", "LastModifiedDate": "2026-11-27T11:30:00.000+0000", "NumSecondsValid": 7200},
            {"Id": "0Ak000000000002AAA", "UsersId": "005000000000001AAA", "LastModifiedDate": "2026-11-27T11:50:00.000+0000", "NumSecondsValid": 7200},
            {"Id": "0Ak000000000003AAA", "UsersId": "005000000000002AAA", "LastModifiedDate": "2026-11-27T08:00:00.000+0000", "NumSecondsValid": 3600},
            {"Id": "0Ak000000000004AAA", "UsersId": "005000000000003AAA", "LastModifiedDate": "2026-11-27T11:59:00.000+0000", "NumSecondsValid": 7200}
        ])));
        raw
    }

    fn get<'a>(c: &'a Capture, id: &str) -> &'a Observed {
        c.observed.iter().find(|o| o.id == id).unwrap()
    }

    #[test]
    fn r26_captures_every_kind_with_id_name_key_total_used_status() {
        let c = capture(&org(), now());
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.read_kinds.len(), 4);
        let ul = get(&c, "100000000000001AAA");
        assert_eq!(
            (
                ul.kind,
                ul.name.as_str(),
                ul.key.as_deref(),
                ul.total,
                ul.used,
                ul.status.as_str(),
                ul.active
            ),
            (
                LicenseKind::UserLicense,
                "Salesforce",
                Some("SFDC"),
                Some(10),
                3,
                "Active",
                true
            )
        );
        let psl = get(&c, "0PL000000000001AAA");
        assert_eq!(psl.name, "CRM User");
        assert_eq!(psl.key.as_deref(), Some("CRMUserPsl"));
        assert_eq!(psl.expiration.unwrap().to_string(), "2027-06-30");
        let pkg = get(&c, "050000000000001AAA");
        assert_eq!(
            (pkg.name.as_str(), pkg.total, pkg.used),
            ("acme", Some(50), 2)
        );
        assert_eq!(pkg.expiration.unwrap().to_string(), "2027-01-31");
        let site = get(&c, "050000000000002AAA");
        assert_eq!(site.total, None, "AllowedLicenses -1 is a site license");
        assert!(site.active, "Free counts as active");
        let mkt = get(&c, "feature:UserPermissionsMarketingUser");
        assert_eq!(mkt.kind, LicenseKind::FeatureLicense);
        assert_eq!(mkt.name, "Marketing User");
        assert_eq!(mkt.key.as_deref(), Some("UserPermissionsMarketingUser"));
        assert_eq!(mkt.total, None);
        // flags absent from every user are not features of this org
        assert!(!c
            .observed
            .iter()
            .any(|o| o.id == "feature:UserPermissionsOfflineUser"));
    }

    #[test]
    fn r30_usage_leaves_out_inactive_users() {
        let c = capture(&org(), now());
        // user license: two active users by profile (the inactive third is left out)
        assert_eq!(get(&c, "100000000000001AAA").active_users, Some(2));
        // PSL: one active assignee (inactive one and revoked assignment left out)
        assert_eq!(get(&c, "0PL000000000001AAA").active_users, Some(1));
        // package: the active user once, though assigned twice; the inactive one left out
        assert_eq!(get(&c, "050000000000001AAA").active_users, Some(1));
        // feature: the inactive user with both flags is left out
        assert_eq!(
            get(&c, "feature:UserPermissionsMarketingUser").active_users,
            Some(1)
        );
        assert_eq!(
            get(&c, "feature:UserPermissionsKnowledgeUser").active_users,
            Some(0)
        );
    }

    #[test]
    fn r30_inactive_licenses_count_no_users() {
        let c = capture(&org(), now());
        let portal = get(&c, "100000000000002AAA");
        assert!(!portal.active);
        assert_eq!(
            portal.active_users,
            Some(0),
            "an active user on a disabled license is not counted"
        );
        let retired = get(&c, "0PL000000000002AAA");
        assert!(!retired.active);
        assert_eq!(retired.active_users, Some(0));
    }

    #[test]
    fn r32_sessions_and_users_who_can_log_in() {
        let org = capture(&org(), now()).org.unwrap();
        assert_eq!(org.active_users, 3);
        assert_eq!(org.inactive_users, 1);
        // the portal user's license is disabled: cannot log in
        assert_eq!(org.users_can_log_in, 2);
        // two live sessions of user 1; user 2's expired; user 3 is inactive
        assert_eq!(org.active_sessions, Some(2));
        assert_eq!(org.users_with_sessions, Some(1));
    }

    #[test]
    fn r30_usage_is_unknown_not_zero_when_assignments_could_not_be_read() {
        let mut raw = org();
        raw.tables.remove("PermissionSetLicenseAssign");
        raw.tables.remove("AuthSession");
        let c = capture(&raw, now());
        assert_eq!(get(&c, "0PL000000000001AAA").active_users, None);
        assert_eq!(c.org.unwrap().active_sessions, None);
        raw.tables.remove("User");
        let c = capture(&raw, now());
        assert!(!c.read_kinds.contains(&LicenseKind::FeatureLicense));
        assert_eq!(get(&c, "100000000000001AAA").active_users, None);
        assert!(c.org.is_none());
    }

    #[test]
    fn r26_a_bad_record_is_reported_by_id_and_field_not_skipped_silently() {
        let mut raw = org();
        raw.tables.get_mut("UserLicense").unwrap()[0]["TotalLicenses"] = json!("ten");
        raw.tables
            .get_mut("PermissionSetLicense")
            .unwrap()
            .push(json!({"MasterLabel": "no id"}));
        let c = capture(&raw, now());
        assert!(c.unreadable_ids.contains("100000000000001AAA"));
        assert!(!c.observed.iter().any(|o| o.id == "100000000000001AAA"));
        let p = c
            .problems
            .iter()
            .find(|p| p.record_id.as_deref() == Some("100000000000001AAA"))
            .unwrap();
        assert!(
            p.message.contains("TotalLicenses") && p.message.contains("(R26)"),
            "{}",
            p.message
        );
        assert!(c
            .problems
            .iter()
            .any(|p| p.record_id.is_none() && p.sobject == "PermissionSetLicense"));
    }

    #[test]
    fn salesforce_datetimes_parse_in_both_forms() {
        assert_eq!(
            parse_sf_datetime("2026-11-27T10:00:00.000+0000"),
            parse_sf_datetime("2026-11-27T10:00:00Z")
        );
        assert!(parse_sf_datetime("2026-11-27T10:00:00.000+0000").is_some());
        assert!(parse_sf_datetime("yesterday").is_none());
    }
}
