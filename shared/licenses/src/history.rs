//! Usage over time (seed 003, R32): every ingest adds a dated point per license (used, active
//! users) and one for the org (active sessions, users who can log in); points older than the
//! retention are pruned by the next ingest.

use crate::docs::{self, license_history, time_key, ORG_HISTORY};
use crate::model::{CapturedLicense, OrgUsage};
use crate::store::LicenseStore;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use engine::ports::StoreError;
use serde::{Deserialize, Serialize};

/// Default retention of the history, days (about two renewal cycles).
pub const DEFAULT_RETENTION_DAYS: u32 = 730;

/// One license at one ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsagePoint {
    pub at: DateTime<Utc>,
    /// Used quantity as Salesforce counts it.
    pub used: i64,
    /// R30: distinct active users assigned.
    pub active_users: u64,
    pub active: bool,
}

/// An inclusive date range (UTC days), either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl DateRange {
    /// Parses `from`/`to` (`YYYY-MM-DD`); errors name the parameter.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<DateRange, (String, String)> {
        let day = |name: &str, v: Option<&str>| {
            v.map(|s| {
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map_err(|_| (name.to_owned(), format!("{s:?} is not a date YYYY-MM-DD")))
            })
            .transpose()
        };
        let r = DateRange {
            from: day("from", from)?,
            to: day("to", to)?,
        };
        if let (Some(f), Some(t)) = (r.from, r.to) {
            if t < f {
                return Err(("to".into(), format!("{t} is before from {f}")));
            }
        }
        Ok(r)
    }

    fn keys(&self) -> (Option<String>, Option<String>) {
        let from = self
            .from
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| time_key(&t.and_utc()));
        let to = self
            .to
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|t| time_key(&t.and_utc()));
        (from, to)
    }
}

/// Adds this ingest's points: one per license written by it, one for the org.
pub async fn record(
    store: &dyn LicenseStore,
    captured: &[CapturedLicense],
    org: Option<&OrgUsage>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let key = time_key(&now);
    for c in captured {
        let p = UsagePoint {
            at: now,
            used: c.used,
            active_users: c.active_users,
            active: c.active,
        };
        docs::put(store, &license_history(&c.id), &[(key.clone(), &p)]).await?;
    }
    if let Some(org) = org {
        docs::put(store, ORG_HISTORY, &[(key, org)]).await?;
    }
    Ok(())
}

/// Deletes the points of `ids` and of the org older than `retention_days` before `now`.
pub async fn prune(
    store: &dyn LicenseStore,
    ids: impl Iterator<Item = &str>,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<(), StoreError> {
    let cutoff = now - Duration::days(i64::from(retention_days));
    // Keys are whole seconds: everything up to one second before the cutoff goes.
    let last_dropped = time_key(&(cutoff - Duration::seconds(1)));
    let colls = ids.map(license_history).chain([ORG_HISTORY.to_owned()]);
    for coll in colls {
        let old = store.docs_range(&coll, None, Some(&last_dropped)).await?;
        let keys: Vec<String> = old.into_iter().map(|(k, _)| k).collect();
        if !keys.is_empty() {
            store.docs_delete(&coll, &keys).await?;
        }
    }
    Ok(())
}

/// The points of one license within `range`, oldest first.
pub async fn license_points(
    store: &dyn LicenseStore,
    id: &str,
    range: DateRange,
) -> Result<Vec<UsagePoint>, StoreError> {
    let (from, to) = range.keys();
    Ok(
        docs::list(store, &license_history(id), from.as_deref(), to.as_deref())
            .await?
            .into_iter()
            .map(|(_, p)| p)
            .collect(),
    )
}

/// The org's points within `range`, oldest first (R32).
pub async fn org_points(
    store: &dyn LicenseStore,
    range: DateRange,
) -> Result<Vec<OrgUsage>, StoreError> {
    let (from, to) = range.keys();
    Ok(
        docs::list(store, ORG_HISTORY, from.as_deref(), to.as_deref())
            .await?
            .into_iter()
            .map(|(_, p)| p)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r32_a_date_range_names_the_bad_parameter() {
        assert_eq!(
            DateRange::parse(Some("2026-11-01"), None).unwrap().from,
            Some("2026-11-01".parse().unwrap())
        );
        assert_eq!(
            DateRange::parse(Some("1.11.2026"), None).unwrap_err().0,
            "from"
        );
        assert_eq!(DateRange::parse(None, Some("x")).unwrap_err().0, "to");
        let e = DateRange::parse(Some("2026-12-01"), Some("2026-11-01")).unwrap_err();
        assert_eq!(e.0, "to");
        assert_eq!(DateRange::parse(None, None).unwrap(), DateRange::default());
    }
}
