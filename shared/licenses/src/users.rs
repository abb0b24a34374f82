//! Per-user assignments (seed 000's Users and Activity tabs, R30): which active user holds
//! which license, and when they last logged in. Pure.
//!
//! A user holds: the user license of their profile (`User.ProfileId` → `Profile.UserLicenseId`),
//! each permission set license of a non-revoked `PermissionSetLicenseAssign`, each package
//! license of a non-revoked `UserPackageLicense`, each feature license whose `UserPermissions…`
//! flag is true. Only active users, and only active licenses (R30: no disabled users, no
//! disabled permission set or feature licenses) — so a license's holders are exactly the
//! `active_users` its record counts.

use crate::capture::{feature_id, parse_sf_datetime, Problem, RawOrg, FEATURE_FLAGS};
use crate::model::{LicenseKind, Observed};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// One active user and the licenses they hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseUser {
    pub id: String,
    /// `Name`, else `FirstName LastName`, else `Username`, else the Id.
    pub name: String,
    pub username: Option<String>,
    /// `User.LastLoginDate`; `None`: never logged in.
    pub last_login: Option<DateTime<Utc>>,
    /// License ids held (active assignments of active licenses), ordered.
    pub licenses: Vec<String>,
}

/// The holdings read by one ingest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Holdings {
    pub users: Vec<LicenseUser>,
    /// Kinds whose assignments could not be read this time (the stored ones are kept).
    pub unread: BTreeSet<LicenseKind>,
}

fn s<'a>(v: &'a Value, f: &str) -> Option<&'a str> {
    v.get(f)
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
}

fn display_name(u: &Value, id: &str) -> String {
    if let Some(n) = s(u, "Name") {
        return n.to_owned();
    }
    let full = [s(u, "FirstName"), s(u, "LastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !full.is_empty() {
        return full;
    }
    s(u, "Username").unwrap_or(id).to_owned()
}

/// user id → license ids from an assignment object (revoked rows and unknown licenses left out).
fn assigned(
    rows: &[Value],
    license: &str,
    user: &str,
    active: &HashSet<&str>,
) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for a in rows {
        if a.get("IsRevoked").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        if let (Some(l), Some(u)) = (s(a, license), s(a, user)) {
            if active.contains(l) {
                out.entry(u.to_owned()).or_default().push(l.to_owned());
            }
        }
    }
    out
}

/// The holdings of `raw`'s active users, given the capture of the same read (which licenses
/// are active); `None` when the users could not be read. Malformed `LastLoginDate` values are
/// problems naming user and field (the user is kept, as never logged in).
pub fn holdings(
    raw: &RawOrg,
    observed: &[Observed],
    problems: &mut Vec<Problem>,
) -> Option<Holdings> {
    let users = raw.tables.get("User")?;
    let active: HashSet<&str> = observed
        .iter()
        .filter(|o| o.active)
        .map(|o| o.id.as_str())
        .collect();
    let profiles: Option<HashMap<&str, &str>> = raw.tables.get("Profile").map(|rows| {
        rows.iter()
            .filter_map(|p| Some((s(p, "Id")?, s(p, "UserLicenseId")?)))
            .collect()
    });
    let table = |o: &str| raw.tables.get(o).map(Vec::as_slice);
    let psl = table("PermissionSetLicenseAssign")
        .map(|r| assigned(r, "PermissionSetLicenseId", "AssigneeId", &active));
    let pkg =
        table("UserPackageLicense").map(|r| assigned(r, "PackageLicenseId", "UserId", &active));
    let mut h = Holdings::default();
    for (kind, read) in [
        (LicenseKind::UserLicense, profiles.is_some()),
        (LicenseKind::PermissionSetLicense, psl.is_some()),
        (LicenseKind::PackageLicense, pkg.is_some()),
        (LicenseKind::FeatureLicense, raw.feature_flags_read),
    ] {
        if !read {
            h.unread.insert(kind);
        }
    }
    for u in users {
        let (Some(id), Some(true)) = (s(u, "Id"), u.get("IsActive").and_then(Value::as_bool))
        else {
            continue; // R30: inactive users hold nothing (capture reports malformed rows)
        };
        let mut held: BTreeSet<String> = BTreeSet::new();
        let profile_license = u
            .pointer("/Profile/UserLicenseId")
            .and_then(Value::as_str)
            .or_else(|| profiles.as_ref()?.get(s(u, "ProfileId")?).copied());
        held.extend(
            profile_license
                .filter(|l| active.contains(l))
                .map(str::to_owned),
        );
        for m in [&psl, &pkg].into_iter().flatten() {
            held.extend(m.get(id).into_iter().flatten().cloned());
        }
        if raw.feature_flags_read {
            for (field, _) in FEATURE_FLAGS {
                let fid = feature_id(field);
                if u.get(field) == Some(&Value::Bool(true)) && active.contains(fid.as_str()) {
                    held.insert(fid);
                }
            }
        }
        let last_login = match u.get("LastLoginDate") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let t = v.as_str().and_then(parse_sf_datetime);
                if t.is_none() {
                    problems.push(Problem {
                        sobject: "User".into(),
                        record_id: Some(id.to_owned()),
                        message: format!("User {id}: field LastLoginDate is not a date-time; the user is shown as never logged in (R30)"),
                    });
                }
                t
            }
        };
        h.users.push(LicenseUser {
            id: id.to_owned(),
            name: display_name(u, id),
            username: s(u, "Username").map(str::to_owned),
            last_login,
            licenses: held.into_iter().collect(),
        });
    }
    h.users.sort_by(|a, b| a.id.cmp(&b.id));
    Some(h)
}

/// Keeps, for the kinds that could not be read now, what each user held before (`kind_of`
/// tells a license id's kind).
pub fn keep_unread(
    h: &mut Holdings,
    previous: &[LicenseUser],
    kind_of: &BTreeMap<String, LicenseKind>,
) {
    if h.unread.is_empty() {
        return;
    }
    let before: HashMap<&str, &LicenseUser> = previous.iter().map(|u| (u.id.as_str(), u)).collect();
    for u in &mut h.users {
        let Some(p) = before.get(u.id.as_str()) else {
            continue;
        };
        let kept = p
            .licenses
            .iter()
            .filter(|l| kind_of.get(*l).is_some_and(|k| h.unread.contains(k)));
        let mut all: BTreeSet<String> = u.licenses.iter().cloned().collect();
        all.extend(kept.cloned());
        u.licenses = all.into_iter().collect();
    }
}

/// license id → its holders (users ordered by id).
pub fn holders_by_license(users: &[LicenseUser]) -> BTreeMap<&str, Vec<&LicenseUser>> {
    let mut out: BTreeMap<&str, Vec<&LicenseUser>> = BTreeMap::new();
    for u in users {
        for l in &u.licenses {
            out.entry(l.as_str()).or_default().push(u);
        }
    }
    out
}
