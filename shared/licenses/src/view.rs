//! What admins see: one view per license, from the captured data while the task is enabled and
//! from the manual data while it is disabled (R29); the local name wins either way (R31).

use crate::model::{
    annual_spend, Amount, LicenseKind, LicenseRecord, ManualFields, OrgUsage, Spend,
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a view's quantities come from (R29).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewSource {
    /// Task enabled: the last captured data.
    Captured,
    /// Task disabled: the manually entered data.
    Manual,
}

/// Where a license comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Captured from Salesforce by an ingest.
    Salesforce,
    /// Entered by hand with `POST /licenses` and not (yet) matched to a captured license.
    Manual,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseView {
    pub id: String,
    pub kind: LicenseKind,
    /// The local name if one was entered (R31), else the Salesforce name.
    pub name: String,
    /// The name in Salesforce at the last capture.
    pub salesforce_name: String,
    pub key: Option<String>,
    pub source: ViewSource,
    /// Salesforce status (None while the task is disabled); `Missing` once gone from Salesforce.
    pub status: Option<String>,
    pub active: Option<bool>,
    /// Captured total, or `# allowed` for feature licenses; `# allowed` while disabled.
    pub total: Option<i64>,
    pub used: Option<i64>,
    pub remaining: Option<i64>,
    /// R30: distinct active users assigned.
    pub active_users: Option<u64>,
    pub expiration: Option<NaiveDate>,
    pub manual: ManualFields,
    /// Spend in the calendar year of `now` (see [`annual_spend`]).
    pub annual_spend: Option<Spend>,
    /// For a manual license: when it was entered.
    pub last_captured: DateTime<Utc>,
    pub missing_since: Option<DateTime<Utc>>,
    /// `salesforce`, or `manual` for a license entered by hand (its `salesforce_name` is empty).
    pub origin: Origin,
}

/// Views of `records` at `now`; `task_enabled` picks the source (R29). Sorted by kind, name.
pub fn views(
    records: &[LicenseRecord],
    task_enabled: bool,
    now: DateTime<Utc>,
) -> Vec<LicenseView> {
    let year = now.year();
    let mut out: Vec<LicenseView> = records
        .iter()
        .map(|r| {
            let c = &r.captured;
            let m = &r.manual;
            let allowed = m.allowed.and_then(|a| i64::try_from(a).ok());
            let name = m.name.clone().unwrap_or_else(|| c.name.clone());
            let base = LicenseView {
                id: c.id.clone(),
                kind: c.kind,
                name,
                salesforce_name: c.name.clone(),
                key: c.key.clone(),
                source: ViewSource::Manual,
                status: None,
                active: None,
                total: allowed,
                used: None,
                remaining: None,
                active_users: None,
                expiration: None,
                manual: m.clone(),
                annual_spend: annual_spend(m, year),
                last_captured: c.last_seen,
                missing_since: c.missing_since,
                origin: Origin::Salesforce,
            };
            if !task_enabled {
                // R29: disabled → the manual data again
                return base;
            }
            // R29: enabled → the last captured data; feature licenses take `# allowed` (R27)
            let total = if c.kind == LicenseKind::FeatureLicense {
                allowed
            } else {
                c.total
            };
            LicenseView {
                source: ViewSource::Captured,
                status: Some(if c.missing_since.is_some() {
                    "Missing".to_owned()
                } else {
                    c.status.clone()
                }),
                active: Some(c.active),
                total,
                used: Some(c.used),
                remaining: total.map(|t| t - c.used),
                active_users: Some(c.active_users),
                expiration: c.expiration,
                ..base
            }
        })
        .collect();
    out.sort_by(|a, b| (a.kind, &a.name, &a.id).cmp(&(b.kind, &b.name, &b.id)));
    out
}

/// Views of the unmatched manual licenses: always their manual data (`source: manual`),
/// whatever the task flag (R29: kept when the task is disabled and re-enabled).
pub fn manual_views(
    licenses: &[crate::manual_license::ManualLicense],
    now: DateTime<Utc>,
) -> Vec<LicenseView> {
    licenses
        .iter()
        .filter(|m| m.matched_to.is_none())
        .map(|m| LicenseView {
            id: m.id.clone(),
            kind: m.kind,
            name: m.manual.name.clone().unwrap_or_else(|| m.name.clone()),
            salesforce_name: String::new(),
            key: m.key.clone(),
            source: ViewSource::Manual,
            status: None,
            active: None,
            total: m.manual.allowed.and_then(|a| i64::try_from(a).ok()),
            used: None,
            remaining: None,
            active_users: None,
            expiration: None,
            manual: m.manual.clone(),
            annual_spend: annual_spend(&m.manual, now.year()),
            last_captured: m.created,
            missing_since: None,
            origin: Origin::Manual,
        })
        .collect()
}

/// Annual spend summed per currency.
pub fn spend_totals(views: &[LicenseView]) -> BTreeMap<String, Amount> {
    let mut out: BTreeMap<String, Amount> = BTreeMap::new();
    for s in views.iter().filter_map(|v| v.annual_spend.as_ref()) {
        let e = out.entry(s.currency.clone()).or_default();
        *e = e.checked_add(s.amount).unwrap_or(*e);
    }
    out
}

/// A plain-text table: license, kind, total, used, remaining, active users, annual spend;
/// then the annual spend per currency.
pub fn render_table(views: &[LicenseView]) -> String {
    let dash = || "-".to_owned();
    let opt = |v: Option<i64>| v.map_or_else(dash, |v| v.to_string());
    let header = [
        "license",
        "kind",
        "total",
        "used",
        "remaining",
        "active users",
        "annual spend",
    ];
    let rows: Vec<[String; 7]> = views
        .iter()
        .map(|v| {
            let mut name = v.name.clone();
            if v.missing_since.is_some() {
                name.push_str(" (gone)");
            } else if v.active == Some(false) {
                name.push_str(" (inactive)");
            } else if v.origin == Origin::Manual {
                name.push_str(" (manual)");
            }
            [
                name,
                v.kind.label().to_owned(),
                opt(v.total),
                opt(v.used),
                opt(v.remaining),
                v.active_users.map_or_else(dash, |n| n.to_string()),
                v.annual_spend
                    .as_ref()
                    .map_or_else(dash, |s| format!("{} {}", s.amount, s.currency)),
            ]
        })
        .collect();
    let mut out = table(&header, &rows, 2);
    let totals = spend_totals(views);
    if !totals.is_empty() {
        let text: Vec<String> = totals.iter().map(|(cur, a)| format!("{a} {cur}")).collect();
        out.push_str(&format!("annual spend: {}\n", text.join(", ")));
    }
    out
}

/// A plain-text table: the first `left` columns left-aligned, the others right-aligned, two
/// spaces between columns, a dashed line under the header.
pub fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]], left: usize) -> String {
    let mut widths: [usize; N] = header.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            if i < left {
                s.push_str(c);
                s.push_str(&pad);
            } else {
                s.push_str(&pad);
                s.push_str(c);
            }
            if i + 1 < cells.len() {
                s.push_str("  ");
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = line(&header.map(str::to_owned));
    out.push('\n');
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

/// One line about the org (R32) for under the table.
pub fn render_org(org: &OrgUsage) -> String {
    let opt = |v: Option<u64>| v.map_or("unknown".to_owned(), |v| v.to_string());
    format!(
        "users who can log in: {} (active {}, inactive {}); active sessions: {} ({} users)",
        org.users_can_log_in,
        org.active_users,
        org.inactive_users,
        opt(org.active_sessions),
        opt(org.users_with_sessions)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CapturedLicense, PaymentFrequency};

    fn now() -> DateTime<Utc> {
        "2026-11-27T10:00:00Z".parse().unwrap()
    }

    fn rec(id: &str, kind: LicenseKind, name: &str, manual: ManualFields) -> LicenseRecord {
        LicenseRecord {
            captured: CapturedLicense {
                id: id.into(),
                kind,
                name: name.into(),
                key: Some("K".into()),
                total: (kind != LicenseKind::FeatureLicense).then_some(10),
                used: 4,
                status: "Active".into(),
                active: true,
                expiration: None,
                active_users: 3,
                first_seen: now(),
                first_active: Some(now()),
                last_seen: now(),
                missing_since: None,
            },
            manual,
        }
    }

    fn manual() -> ManualFields {
        ManualFields {
            name: None,
            allowed: Some(8),
            amount: Some(Amount::parse("100").unwrap()),
            currency: Some("USD".into()),
            effective_date: Some("2026-01-01".parse().unwrap()),
            ending_date: None,
            payment_frequency: Some(PaymentFrequency::Monthly),
            updated: None,
        }
    }

    #[test]
    fn r29_enabled_shows_captured_disabled_shows_manual() {
        let records = vec![rec("A", LicenseKind::UserLicense, "Salesforce", manual())];
        let on = &views(&records, true, now())[0];
        assert_eq!(on.source, ViewSource::Captured);
        assert_eq!(
            (on.total, on.used, on.remaining, on.active_users),
            (Some(10), Some(4), Some(6), Some(3))
        );
        assert_eq!(on.status.as_deref(), Some("Active"));
        let off = &views(&records, false, now())[0];
        assert_eq!(off.source, ViewSource::Manual);
        assert_eq!(
            (off.total, off.used, off.remaining, off.active_users),
            (Some(8), None, None, None)
        );
        assert_eq!(off.status, None);
        assert_eq!(off.manual, manual());
    }

    #[test]
    fn r27_feature_licenses_take_their_total_from_allowed() {
        let records = vec![rec(
            "feature:X",
            LicenseKind::FeatureLicense,
            "Marketing User",
            manual(),
        )];
        let v = &views(&records, true, now())[0];
        assert_eq!((v.total, v.used, v.remaining), (Some(8), Some(4), Some(4)));
        let mut m = manual();
        m.allowed = None;
        let v = &views(
            &[rec("feature:X", LicenseKind::FeatureLicense, "M", m)],
            true,
            now(),
        )[0];
        assert_eq!((v.total, v.remaining), (None, None));
    }

    #[test]
    fn r31_local_name_wins() {
        let mut m = manual();
        m.name = Some("Sales seats (local)".into());
        let v = &views(
            &[rec("A", LicenseKind::UserLicense, "Salesforce", m)],
            true,
            now(),
        )[0];
        assert_eq!(v.name, "Sales seats (local)");
        assert_eq!(v.salesforce_name, "Salesforce");
    }

    #[test]
    fn annual_spend_is_in_the_view_and_summed_per_currency() {
        let mut eur = manual();
        eur.currency = Some("EUR".into());
        eur.payment_frequency = Some(PaymentFrequency::Annual);
        let records = vec![
            rec("A", LicenseKind::UserLicense, "A", manual()),
            rec("B", LicenseKind::PermissionSetLicense, "B", manual()),
            rec("C", LicenseKind::PackageLicense, "C", eur),
        ];
        let vs = views(&records, true, now());
        assert_eq!(
            vs[0].annual_spend.as_ref().unwrap().amount.to_string(),
            "1200.00"
        );
        let totals = spend_totals(&vs);
        assert_eq!(totals["USD"].to_string(), "2400.00");
        assert_eq!(totals["EUR"].to_string(), "100.00");
        let table = render_table(&vs);
        assert!(
            table.contains("annual spend: 100.00 EUR, 2400.00 USD"),
            "{table}"
        );
    }

    #[test]
    fn render_table_has_the_columns_and_one_row_per_license() {
        let mut gone = rec(
            "B",
            LicenseKind::PackageLicense,
            "acme",
            ManualFields::default(),
        );
        gone.captured.missing_since = Some(now());
        gone.captured.active = false;
        let vs = views(
            &[
                rec("A", LicenseKind::UserLicense, "Salesforce", manual()),
                gone,
            ],
            true,
            now(),
        );
        let table = render_table(&vs);
        let lines: Vec<&str> = table.lines().collect();
        for col in [
            "license",
            "kind",
            "total",
            "used",
            "remaining",
            "active users",
            "annual spend",
        ] {
            assert!(lines[0].contains(col), "{table}");
        }
        assert!(lines[2].starts_with("Salesforce"), "{table}");
        assert!(lines[2].contains("1200.00 USD"), "{table}");
        assert!(lines[3].starts_with("acme (gone)"), "{table}");
        assert_eq!(vs[1].status.as_deref(), Some("Missing"));
    }
}
