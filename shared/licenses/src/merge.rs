//! Merging a fresh capture into the stored records: match by unique id (R31), keep the manual
//! part untouched (R27), default the effective date at first active discovery (R28), mark a
//! license that left Salesforce inactive instead of deleting it. Pure.

use crate::capture::Capture;
use crate::model::{CapturedLicense, LicenseKind, LicenseRecord, Observed};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// First seen.
    Discovered,
    /// Captured fields changed.
    Updated,
    /// Back in Salesforce after having gone missing.
    Reappeared,
    /// No longer in Salesforce: marked inactive, kept.
    Missing,
}

/// One created or updated license of an ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub id: String,
    pub kind: LicenseKind,
    pub name: String,
    pub change: ChangeKind,
    /// `field: old → new` for every captured field that changed (empty when discovered).
    pub fields: Vec<String>,
}

impl Change {
    /// A sentence for the transaction log.
    pub fn message(&self, c: &CapturedLicense) -> String {
        let what = match self.change {
            ChangeKind::Discovered => "discovered",
            ChangeKind::Updated => "updated",
            ChangeKind::Reappeared => "back in Salesforce",
            ChangeKind::Missing => "no longer in Salesforce; marked inactive, kept",
        };
        let total = c
            .total
            .map_or("no total".to_owned(), |t| format!("total {t}"));
        let mut s = format!(
            "{} '{}' ({}) {what}: {total}, used {}, {} active users, status {}",
            self.kind, self.name, self.id, c.used, c.active_users, c.status
        );
        if !self.fields.is_empty() {
            s.push_str(&format!(" [{}]", self.fields.join("; ")));
        }
        s
    }
}

/// The outcome of a merge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// Every captured part to store (new, changed and unchanged ones seen again).
    pub captured: Vec<CapturedLicense>,
    /// R28: licenses first seen active now whose manual effective date is empty →
    /// that date (the store sets it only if still empty; the ending date stays empty).
    pub effective_defaults: Vec<(String, NaiveDate)>,
    pub changes: Vec<Change>,
    /// Seen again with nothing changed.
    pub unchanged: u32,
}

fn diff(p: &CapturedLicense, o: &Observed, active_users: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut cmp = |field: &str, old: String, new: String| {
        if old != new {
            out.push(format!("{field}: {old} → {new}"));
        }
    };
    let opt = |v: Option<i64>| v.map_or("none".to_owned(), |v| v.to_string());
    cmp("name", p.name.clone(), o.name.clone());
    cmp(
        "key",
        p.key.clone().unwrap_or_default(),
        o.key.clone().unwrap_or_default(),
    );
    cmp("total", opt(p.total), opt(o.total));
    cmp("used", p.used.to_string(), o.used.to_string());
    cmp("status", p.status.clone(), o.status.clone());
    cmp("active", p.active.to_string(), o.active.to_string());
    cmp(
        "expiration",
        p.expiration.map(|d| d.to_string()).unwrap_or_default(),
        o.expiration.map(|d| d.to_string()).unwrap_or_default(),
    );
    cmp(
        "active_users",
        p.active_users.to_string(),
        active_users.to_string(),
    );
    out
}

/// Merge `capture` (taken at `now`) into `previous`.
pub fn merge(previous: &[LicenseRecord], capture: &Capture, now: DateTime<Utc>) -> Merged {
    let by_id: HashMap<&str, &LicenseRecord> = previous.iter().map(|r| (r.id(), r)).collect();
    let mut out = Merged::default();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let today = now.date_naive();

    for o in &capture.observed {
        seen.insert(&o.id);
        // R31: matched by unique id only; a name change is an update of the same record.
        match by_id.get(o.id.as_str()) {
            None => {
                let c = CapturedLicense {
                    id: o.id.clone(),
                    kind: o.kind,
                    name: o.name.clone(),
                    key: o.key.clone(),
                    total: o.total,
                    used: o.used,
                    status: o.status.clone(),
                    active: o.active,
                    expiration: o.expiration,
                    active_users: o.active_users.unwrap_or(0),
                    first_seen: now,
                    first_active: o.active.then_some(now),
                    last_seen: now,
                    missing_since: None,
                };
                if o.active {
                    // R28: first discovery of an active license: effective = discovery date.
                    out.effective_defaults.push((o.id.clone(), today));
                }
                out.changes.push(Change {
                    id: o.id.clone(),
                    kind: o.kind,
                    name: o.name.clone(),
                    change: ChangeKind::Discovered,
                    fields: Vec::new(),
                });
                out.captured.push(c);
            }
            Some(prev) => {
                let p = &prev.captured;
                // R30: an inactive license counts no users; unknown usage keeps the stored one
                let active_users = if o.active {
                    o.active_users.unwrap_or(p.active_users)
                } else {
                    0
                };
                let fields = diff(p, o, active_users);
                let mut c = p.clone();
                c.kind = o.kind;
                c.name = o.name.clone();
                c.key = o.key.clone();
                c.total = o.total;
                c.used = o.used;
                c.status = o.status.clone();
                c.active = o.active;
                c.expiration = o.expiration;
                c.active_users = active_users;
                c.last_seen = now;
                c.missing_since = None;
                if o.active && p.first_active.is_none() {
                    // R28: first seen active now (it was discovered inactive).
                    c.first_active = Some(now);
                    if prev.manual.effective_date.is_none() {
                        out.effective_defaults.push((o.id.clone(), today));
                    }
                }
                let change = if p.missing_since.is_some() {
                    Some(ChangeKind::Reappeared)
                } else if !fields.is_empty() {
                    Some(ChangeKind::Updated)
                } else {
                    None
                };
                match change {
                    Some(change) => out.changes.push(Change {
                        id: o.id.clone(),
                        kind: o.kind,
                        name: o.name.clone(),
                        change,
                        fields,
                    }),
                    None => out.unchanged += 1,
                }
                out.captured.push(c);
            }
        }
    }

    // Gone from Salesforce: marked inactive, never deleted — but only when its object was
    // read completely this time (an unreadable object or record says nothing about presence).
    for r in previous {
        let p = &r.captured;
        if seen.contains(p.id.as_str())
            || !capture.read_kinds.contains(&p.kind)
            || capture.unreadable_ids.contains(&p.id)
            || p.missing_since.is_some()
        {
            continue;
        }
        let mut c = p.clone();
        c.active = false;
        c.active_users = 0; // R30
        c.missing_since = Some(now);
        out.changes.push(Change {
            id: p.id.clone(),
            kind: p.kind,
            name: p.name.clone(),
            change: ChangeKind::Missing,
            fields: vec![format!("active: {} → false", p.active)],
        });
        out.captured.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ManualFields;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn obs(id: &str, name: &str, active: bool, used: i64) -> Observed {
        Observed {
            id: id.into(),
            kind: LicenseKind::UserLicense,
            name: name.into(),
            key: Some("SFDC".into()),
            total: Some(10),
            used,
            status: if active { "Active" } else { "Disabled" }.into(),
            active,
            expiration: None,
            active_users: Some(used as u64),
        }
    }

    fn cap(observed: Vec<Observed>) -> Capture {
        Capture {
            observed,
            read_kinds: LicenseKind::ALL.into_iter().collect(),
            ..Default::default()
        }
    }

    fn records(m: &Merged, manual: &ManualFields) -> Vec<LicenseRecord> {
        m.captured
            .iter()
            .map(|c| LicenseRecord {
                captured: c.clone(),
                manual: manual.clone(),
            })
            .collect()
    }

    #[test]
    fn r28_first_discovery_sets_effective_date() {
        let now = t("2026-11-27T10:00:00Z");
        let m = merge(&[], &cap(vec![obs("A", "Salesforce", true, 3)]), now);
        assert_eq!(m.changes[0].change, ChangeKind::Discovered);
        assert_eq!(
            m.effective_defaults,
            vec![("A".to_owned(), now.date_naive())]
        );
        assert_eq!(m.captured[0].first_seen, now);
        assert_eq!(m.captured[0].first_active, Some(now));
    }

    #[test]
    fn r28_inactive_discovery_defaults_the_date_when_it_first_becomes_active() {
        let t1 = t("2026-01-01T00:00:00Z");
        let m1 = merge(&[], &cap(vec![obs("A", "X", false, 0)]), t1);
        assert!(m1.effective_defaults.is_empty());
        let prev = records(&m1, &ManualFields::default());
        let t2 = t("2026-03-05T00:00:00Z");
        let m2 = merge(&prev, &cap(vec![obs("A", "X", true, 1)]), t2);
        assert_eq!(
            m2.effective_defaults,
            vec![("A".to_owned(), t2.date_naive())]
        );
        // …but never when an admin already entered one (R27)
        let entered = ManualFields {
            effective_date: Some("2025-06-01".parse().unwrap()),
            ..Default::default()
        };
        let prev = records(&m1, &entered);
        let m3 = merge(&prev, &cap(vec![obs("A", "X", true, 1)]), t2);
        assert!(m3.effective_defaults.is_empty());
        assert_eq!(m3.captured[0].first_active, Some(t2));
    }

    #[test]
    fn r28_a_later_ingest_does_not_default_again() {
        let t1 = t("2026-01-01T00:00:00Z");
        let m1 = merge(&[], &cap(vec![obs("A", "X", true, 1)]), t1);
        let prev = records(&m1, &ManualFields::default());
        let m2 = merge(
            &prev,
            &cap(vec![obs("A", "X", true, 1)]),
            t("2026-02-01T00:00:00Z"),
        );
        assert!(m2.effective_defaults.is_empty());
        assert_eq!(m2.captured[0].first_seen, t1);
        assert_eq!(m2.unchanged, 1);
        assert!(m2.changes.is_empty());
    }

    #[test]
    fn r31_matched_by_id_a_rename_updates_the_same_record() {
        let m1 = merge(
            &[],
            &cap(vec![obs("A", "Salesforce", true, 1)]),
            t("2026-01-01T00:00:00Z"),
        );
        let prev = records(
            &m1,
            &ManualFields {
                name: Some("Sales (ours)".into()),
                ..Default::default()
            },
        );
        let m2 = merge(
            &prev,
            &cap(vec![obs("A", "Salesforce Platform", true, 1)]),
            t("2026-01-02T00:00:00Z"),
        );
        assert_eq!(m2.captured.len(), 1);
        assert_eq!(m2.captured[0].name, "Salesforce Platform");
        assert_eq!(m2.changes[0].change, ChangeKind::Updated);
        assert_eq!(
            m2.changes[0].fields,
            vec!["name: Salesforce → Salesforce Platform"]
        );
        // a same-named license with another id is another record
        let m3 = merge(
            &prev,
            &cap(vec![
                obs("A", "Salesforce", true, 1),
                obs("B", "Salesforce", true, 1),
            ]),
            t("2026-01-03T00:00:00Z"),
        );
        assert_eq!(m3.captured.len(), 2);
        assert_eq!(m3.changes.len(), 1);
        assert_eq!(m3.changes[0].id, "B");
    }

    #[test]
    fn gone_from_salesforce_marked_inactive_not_deleted_then_back() {
        let m1 = merge(
            &[],
            &cap(vec![obs("A", "X", true, 2), obs("B", "Y", true, 1)]),
            t("2026-01-01T00:00:00Z"),
        );
        let prev = records(&m1, &ManualFields::default());
        let t2 = t("2026-01-02T00:00:00Z");
        let m2 = merge(&prev, &cap(vec![obs("A", "X", true, 2)]), t2);
        let b = m2.captured.iter().find(|c| c.id == "B").unwrap();
        assert!(!b.active);
        assert_eq!(b.active_users, 0, "R30: no usage on an inactive license");
        assert_eq!(b.missing_since, Some(t2));
        assert_eq!(m2.changes.len(), 1);
        assert_eq!(m2.changes[0].change, ChangeKind::Missing);
        // still missing: no second change
        let prev2 = records(&m2, &ManualFields::default());
        let m3 = merge(
            &prev2,
            &cap(vec![obs("A", "X", true, 2)]),
            t("2026-01-03T00:00:00Z"),
        );
        assert!(m3.changes.is_empty());
        // back again: active, missing mark cleared, first_seen kept
        let m4 = merge(
            &prev2,
            &cap(vec![obs("A", "X", true, 2), obs("B", "Y", true, 1)]),
            t("2026-01-04T00:00:00Z"),
        );
        let b = m4.captured.iter().find(|c| c.id == "B").unwrap();
        assert!(b.active && b.missing_since.is_none());
        assert_eq!(b.first_seen, t("2026-01-01T00:00:00Z"));
        assert_eq!(m4.changes[0].change, ChangeKind::Reappeared);
        assert!(
            m4.effective_defaults.is_empty(),
            "R28 only at first discovery"
        );
    }

    #[test]
    fn an_unread_object_or_record_never_marks_licenses_missing() {
        let m1 = merge(
            &[],
            &cap(vec![obs("A", "X", true, 2), obs("B", "Y", true, 1)]),
            t("2026-01-01T00:00:00Z"),
        );
        let prev = records(&m1, &ManualFields::default());
        let mut c = cap(vec![]);
        c.read_kinds.remove(&LicenseKind::UserLicense);
        assert!(merge(&prev, &c, t("2026-01-02T00:00:00Z"))
            .changes
            .is_empty());
        let mut c = cap(vec![obs("A", "X", true, 2)]);
        c.unreadable_ids.insert("B".into());
        assert!(merge(&prev, &c, t("2026-01-02T00:00:00Z"))
            .changes
            .is_empty());
    }

    #[test]
    fn r30_unknown_usage_keeps_the_stored_count() {
        let m1 = merge(
            &[],
            &cap(vec![obs("A", "X", true, 4)]),
            t("2026-01-01T00:00:00Z"),
        );
        let prev = records(&m1, &ManualFields::default());
        let mut o = obs("A", "X", true, 4);
        o.active_users = None;
        let m2 = merge(&prev, &cap(vec![o]), t("2026-01-02T00:00:00Z"));
        assert_eq!(m2.captured[0].active_users, 4);
        assert!(m2.changes.is_empty());
    }

    #[test]
    fn change_messages_name_kind_license_and_fields() {
        let m1 = merge(
            &[],
            &cap(vec![obs("A", "X", true, 4)]),
            t("2026-01-01T00:00:00Z"),
        );
        let prev = records(&m1, &ManualFields::default());
        let m2 = merge(
            &prev,
            &cap(vec![obs("A", "X", true, 5)]),
            t("2026-01-02T00:00:00Z"),
        );
        let msg = m2.changes[0].message(&m2.captured[0]);
        assert!(msg.contains("user license 'X' (A) updated"), "{msg}");
        assert!(msg.contains("used: 4 → 5"), "{msg}");
    }
}
