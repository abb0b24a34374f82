//! The unused-license finder: seats held by active users who have not logged in for N days
//! (or never), per license and per SKU, with what those seats cost a year. Pure.
//!
//! **Cost of a seat.** The manual `amount` is what one payment of the whole license costs
//! (R27); a year holds 12 / 4 / 2 / 1 payments (monthly / quarterly / semi-annual / annual).
//! One seat costs `amount × payments a year ÷ seats`, seats being the license's total (the
//! captured total, or `# allowed` for feature and manual licenses). The unused annual cost is
//! `amount × payments × unused ÷ seats`, rounded to the cent. No cost without amount, currency
//! and frequency, without a seat count, for a one-time payment, or after the ending date — the
//! row then says why in `cost_note`. Rows are sorted by unused annual cost (amounts compared
//! across currencies as numbers, no exchange rates), then by unused seats, then by name.

use crate::model::{Amount, LicenseKind, PaymentFrequency};
use crate::sku::{Known, Sku};
use crate::users::{holders_by_license, LicenseUser};
use crate::view::LicenseView;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A holder without a login in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleHolder {
    pub id: String,
    pub name: String,
    pub username: Option<String>,
    /// `None`: never logged in.
    pub last_login: Option<DateTime<Utc>>,
    pub days_since_login: Option<i64>,
}

/// One license or SKU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnusedRow {
    /// The license id, or the SKU name.
    pub id: String,
    pub name: String,
    /// The license kind (`None` for a SKU).
    pub kind: Option<LicenseKind>,
    /// Active users holding it (R30).
    pub holders: u64,
    /// Holders with no login in the window.
    pub unused: u64,
    /// unused ÷ holders, 0 to 1 (three decimals).
    pub unused_share: f64,
    /// Annual cost of one seat (licenses only).
    pub seat_annual_cost: Option<Amount>,
    /// Annual cost of the unused seats, per currency (empty when unknown, see `cost_note`).
    pub unused_annual_cost: BTreeMap<String, Amount>,
    pub cost_note: Option<String>,
    pub idle: Vec<IdleHolder>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnusedReport {
    pub days: u32,
    pub as_of: DateTime<Utc>,
    /// Holders whose last login is before this (or who never logged in) are unused.
    pub cutoff: DateTime<Utc>,
    pub licenses: Vec<UnusedRow>,
    pub skus: Vec<UnusedRow>,
    /// Sum of the license rows' unused annual cost per currency.
    pub unused_annual_cost: BTreeMap<String, Amount>,
}

fn payments_a_year(f: PaymentFrequency) -> Option<i64> {
    f.months().map(|m| 12 / i64::from(m))
}

/// (seat cost, unused cost) of `unused` seats of `v`, or why there is none.
fn cost(v: &LicenseView, unused: u64, now: DateTime<Utc>) -> Result<(Amount, Amount), String> {
    let m = &v.manual;
    let (Some(amount), Some(_), Some(freq)) = (m.amount, &m.currency, m.payment_frequency) else {
        return Err("no amount, currency and payment frequency entered (R27)".into());
    };
    if m.ending_date.is_some_and(|e| e < now.date_naive()) {
        return Err("the ending date has passed".into());
    }
    let Some(per_year) = payments_a_year(freq) else {
        return Err("a one-time payment has no yearly cost".into());
    };
    let seats = match v.total {
        Some(t) if t > 0 => i128::from(t),
        _ => {
            return Err(
                "no seat count (total, or # allowed for feature and manual licenses)".into(),
            )
        }
    };
    let share = |n: i128| -> Amount {
        let num = i128::from(amount.cents()) * i128::from(per_year) * n;
        Amount::from_cents(i64::try_from((2 * num + seats) / (2 * seats)).unwrap_or(i64::MAX))
    };
    Ok((share(1), share(i128::from(unused))))
}

fn idle_of(holders: &[&LicenseUser], cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Vec<IdleHolder> {
    holders
        .iter()
        .filter(|u| u.last_login.is_none_or(|t| t < cutoff))
        .map(|u| IdleHolder {
            id: u.id.clone(),
            name: u.name.clone(),
            username: u.username.clone(),
            last_login: u.last_login,
            days_since_login: u.last_login.map(|t| (now - t).num_days()),
        })
        .collect()
}

fn share(unused: usize, holders: usize) -> f64 {
    if holders == 0 {
        return 0.0;
    }
    (unused as f64 / holders as f64 * 1000.0).round() / 1000.0
}

fn sort_rows(rows: &mut [UnusedRow]) {
    let total = |r: &UnusedRow| {
        r.unused_annual_cost
            .values()
            .map(|a| a.cents())
            .sum::<i64>()
    };
    rows.sort_by(|a, b| {
        (total(b), b.unused, &a.name, &a.id).cmp(&(total(a), a.unused, &b.name, &b.id))
    });
}

/// The finder over the license views, the stored users and the SKUs, at `now` for `days`.
pub fn find_unused(
    views: &[LicenseView],
    users: &[LicenseUser],
    skus: &[Sku],
    known: &Known<'_>,
    days: u32,
    now: DateTime<Utc>,
) -> UnusedReport {
    let cutoff = now - Duration::days(i64::from(days));
    let by_license = holders_by_license(users);
    let mut licenses = Vec::new();
    for v in views {
        let Some(holders) = by_license.get(v.id.as_str()) else {
            continue; // nobody holds it: no seat to reclaim
        };
        let idle = idle_of(holders, cutoff, now);
        let c = cost(v, idle.len() as u64, now);
        let currency = v.manual.currency.clone().unwrap_or_default();
        licenses.push(UnusedRow {
            id: v.id.clone(),
            name: v.name.clone(),
            kind: Some(v.kind),
            holders: holders.len() as u64,
            unused: idle.len() as u64,
            unused_share: share(idle.len(), holders.len()),
            seat_annual_cost: c.as_ref().ok().map(|c| c.0),
            unused_annual_cost: c
                .as_ref()
                .map(|c| BTreeMap::from([(currency, c.1)]))
                .unwrap_or_default(),
            cost_note: c.err(),
            idle,
        });
    }
    sort_rows(&mut licenses);
    let mut sku_rows: Vec<UnusedRow> = skus
        .iter()
        .map(|s| sku_row(s, known, &by_license, &licenses, cutoff, now))
        .collect();
    sort_rows(&mut sku_rows);
    let mut total: BTreeMap<String, Amount> = BTreeMap::new();
    add_costs(&mut total, licenses.iter());
    UnusedReport {
        days,
        as_of: now,
        cutoff,
        licenses,
        skus: sku_rows,
        unused_annual_cost: total,
    }
}

fn add_costs<'a>(into: &mut BTreeMap<String, Amount>, rows: impl Iterator<Item = &'a UnusedRow>) {
    for r in rows {
        for (cur, a) in &r.unused_annual_cost {
            let e = into.entry(cur.clone()).or_default();
            *e = e.checked_add(*a).unwrap_or(*e);
        }
    }
}

/// A SKU: its holders are the distinct users holding any of its licenses; its cost the sum
/// of its licenses' unused annual costs.
fn sku_row(
    sku: &Sku,
    known: &Known<'_>,
    by_license: &BTreeMap<&str, Vec<&LicenseUser>>,
    license_rows: &[UnusedRow],
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> UnusedRow {
    let ids = known.license_ids(sku);
    let mut seen = BTreeSet::new();
    let holders: Vec<&LicenseUser> = ids
        .iter()
        .flat_map(|id| by_license.get(id.as_str()).into_iter().flatten().copied())
        .filter(|u| seen.insert(u.id.as_str()))
        .collect();
    let idle = idle_of(&holders, cutoff, now);
    let mut costs = BTreeMap::new();
    add_costs(
        &mut costs,
        license_rows.iter().filter(|r| ids.contains(&r.id)),
    );
    UnusedRow {
        id: sku.name.clone(),
        name: sku.name.clone(),
        kind: None,
        holders: holders.len() as u64,
        unused: idle.len() as u64,
        unused_share: share(idle.len(), holders.len()),
        seat_annual_cost: None,
        cost_note: costs
            .is_empty()
            .then(|| "no license of the SKU has a known cost".to_owned()),
        unused_annual_cost: costs,
        idle,
    }
}

/// The finder as text: one table of licenses, one of SKUs, then the idle holders.
pub fn render_unused(r: &UnusedReport) -> String {
    let mut out = format!(
        "Unused licenses: holders with no login in {} days (before {}) or never\n",
        r.days,
        r.cutoff.format("%Y-%m-%d")
    );
    for (title, rows) in [("license", &r.licenses), ("SKU", &r.skus)] {
        if rows.is_empty() {
            continue;
        }
        let header = [
            title,
            "holders",
            "unused",
            "share",
            "seat/year",
            "unused/year",
        ];
        let body: Vec<[String; 6]> = rows
            .iter()
            .map(|x| {
                [
                    x.name.clone(),
                    x.holders.to_string(),
                    x.unused.to_string(),
                    format!("{:.0}%", x.unused_share * 100.0),
                    x.seat_annual_cost.map_or("-".into(), |a| a.to_string()),
                    money(&x.unused_annual_cost),
                ]
            })
            .collect();
        out.push_str(&crate::view::table(&header, &body, 1));
    }
    for x in &r.licenses {
        for u in &x.idle {
            let when = match (u.last_login, u.days_since_login) {
                (Some(t), Some(d)) => format!("last login {} ({d} days ago)", t.format("%Y-%m-%d")),
                _ => "never logged in".to_owned(),
            };
            out.push_str(&format!("  {}: {} — {when}\n", x.name, u.name));
        }
    }
    if !r.unused_annual_cost.is_empty() {
        out.push_str(&format!(
            "unused seats cost a year: {}\n",
            money(&r.unused_annual_cost)
        ));
    }
    out
}

fn money(m: &BTreeMap<String, Amount>) -> String {
    if m.is_empty() {
        return "-".into();
    }
    m.iter()
        .map(|(c, a)| format!("{a} {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}
