//! The `licenses` command's optional views (issue 15): the Users view (R30), the usage history
//! (R32) and the unused-license finder, printed as tables and, with `--out`, written as
//! users.json, history.json and unused.json (what the admin routes answer).

use crate::RunnerError;
use chrono::{DateTime, Utc};
use licenses::view::table;
use licenses::{ops, DateRange, LicenseStore};
use serde_json::{json, Value};
use std::path::Path;

/// Which views to show besides the license table.
#[derive(Debug, Clone, Copy, Default)]
pub struct Views {
    pub users: bool,
    pub history: bool,
    pub unused_days: Option<u32>,
}

fn write(dir: Option<&Path>, name: &str, v: &Value) -> Result<(), RunnerError> {
    dir.map_or(Ok(()), |d| crate::write_json(d, name, v))
}

fn day(t: Option<DateTime<Utc>>) -> String {
    t.map_or("never".to_owned(), |t| t.format("%Y-%m-%d").to_string())
}

/// The Users view as a table: user, last login, SKUs, SKU-configured licenses (R30).
pub fn render_users(users: &[ops::UserView]) -> String {
    let rows: Vec<[String; 4]> = users
        .iter()
        .map(|u| {
            let lic: Vec<&str> = u.licenses.iter().map(|l| l.name.as_str()).collect();
            [
                u.name.clone(),
                day(u.last_login),
                u.skus.join(", "),
                lic.join(", "),
            ]
        })
        .collect();
    table(
        &[
            "user",
            "last login",
            "SKUs",
            "licenses (SKU-configured, R30)",
        ],
        &rows,
        4,
    )
}

/// The history as a table: one row per ingest, org figures then each license's active users.
async fn render_history(store: &dyn LicenseStore) -> Result<(String, Value), RunnerError> {
    let err = RunnerError::Licenses;
    let org = ops::org_history(store, DateRange::default())
        .await
        .map_err(err)?;
    let mut rows: Vec<[String; 4]> = org
        .iter()
        .map(|o| {
            let opt = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
            [
                o.captured_at.format("%Y-%m-%d %H:%M").to_string(),
                o.users_can_log_in.to_string(),
                opt(o.active_sessions),
                String::new(),
            ]
        })
        .collect();
    let mut per_license = serde_json::Map::new();
    for r in store
        .all()
        .await
        .map_err(|e| RunnerError::Licenses(e.into()))?
    {
        let points = ops::license_history(store, r.id(), DateRange::default())
            .await
            .map_err(err)?;
        for (row, o) in rows.iter_mut().zip(&org) {
            if let Some(p) = points.iter().find(|p| p.at == o.captured_at) {
                if p.active_users > 0 {
                    let sep = if row[3].is_empty() { "" } else { ", " };
                    row[3] = format!("{}{sep}{} {}", row[3], r.captured.name, p.active_users);
                }
            }
        }
        per_license.insert(r.id().to_owned(), json!(points));
    }
    let text = table(
        &[
            "ingest",
            "can log in",
            "sessions",
            "active users per license",
        ],
        &rows,
        1,
    );
    Ok((text, json!({"org": org, "licenses": per_license})))
}

/// Prints (and with `out` writes) the views asked for.
pub async fn print_views(
    store: &dyn LicenseStore,
    v: Views,
    now: DateTime<Utc>,
    out: Option<&Path>,
) -> Result<(), RunnerError> {
    if v.users {
        let users = ops::users_view(store)
            .await
            .map_err(RunnerError::Licenses)?;
        println!("\nUsers (active, R30):");
        print!("{}", render_users(&users));
        write(out, "users.json", &json!({ "users": users }))?;
    }
    if v.history {
        let (text, j) = render_history(store).await?;
        println!("\nUsage history (R32):");
        print!("{text}");
        write(out, "history.json", &j)?;
    }
    if let Some(days) = v.unused_days {
        let r = ops::unused(store, days, now)
            .await
            .map_err(RunnerError::Licenses)?;
        println!();
        print!("{}", licenses::render_unused(&r));
        write(
            out,
            "unused.json",
            &serde_json::to_value(&r).unwrap_or(Value::Null),
        )?;
    }
    Ok(())
}
