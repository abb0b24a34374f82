//! What the admin routes and the local runner do with the store beyond an ingest: manual
//! edits and manual licenses (R27, R29, R31), SKUs (R30), the Users and Activity views (R30),
//! usage history (R32) and the unused-license finder.
//!
//! **Which manual edits a captured license takes** (seed 000 against seed 002, decided per
//! field):
//!
//! | field | captured user / permission set / package license | captured feature license | manual license |
//! |---|---|---|---|
//! | kind, key, total, used, status | never (captured; not manual fields) | never | kind and key fixed at creation |
//! | `name` | yes, as a *local name* shown beside `salesforce_name`; the Salesforce name is never changed and survives every ingest (seed 002, R31) | yes, same | yes |
//! | `allowed` | only while the task is **disabled** (seed 000: "# of items allowed" is auto-populated while enabled); it is the total shown while disabled (R29) | yes (Salesforce has no total, R27) | yes |
//! | spend fields (`amount`, `currency`, `effective_date`, `ending_date`, `payment_frequency`) | yes (R27) | yes | yes |

use crate::docs::{self, MANUAL_LICENSES, SKUS, USERS};
use crate::history::{self, DateRange, UsagePoint};
use crate::manual::{apply_manual_update, ManualFieldError};
use crate::manual_license::{candidates, ManualLicense, NewManualLicense};
use crate::model::{LicenseKind, LicenseRecord, OrgUsage};
use crate::sku::{self, Known, Sku, SkuBody};
use crate::store::LicenseStore;
use crate::unused::{find_unused, UnusedReport};
use crate::users::LicenseUser;
use crate::view::{manual_views, views, LicenseView};
use crate::LicenseError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// Every manual license (matched ones included), ordered by id.
pub async fn manual_licenses(store: &dyn LicenseStore) -> Result<Vec<ManualLicense>, LicenseError> {
    Ok(docs::values(store, MANUAL_LICENSES).await?)
}

/// The stored users (active ones, R30), ordered by id.
pub async fn stored_users(store: &dyn LicenseStore) -> Result<Vec<LicenseUser>, LicenseError> {
    Ok(docs::values(store, USERS).await?)
}

/// Every SKU, ordered by name.
pub async fn skus(store: &dyn LicenseStore) -> Result<Vec<Sku>, LicenseError> {
    Ok(docs::values(store, SKUS).await?)
}

/// The captured id a matched manual license id stands for; any other id unchanged.
fn resolve_alias(id: &str, manual: &[ManualLicense]) -> String {
    manual
        .iter()
        .find(|m| m.id == id)
        .and_then(|m| m.matched_to.clone())
        .unwrap_or_else(|| id.to_owned())
}

/// Seed 000: `allowed` of a captured non-feature license only while the task is disabled.
fn check_captured_edit(
    r: &LicenseRecord,
    body: &Value,
    enabled: bool,
) -> Result<(), ManualFieldError> {
    let c = &r.captured;
    if enabled && c.kind != LicenseKind::FeatureLicense && body.get("allowed").is_some() {
        return Err(ManualFieldError {
            license_id: c.id.clone(),
            field: "allowed".into(),
            message: format!(
                "# allowed of a captured {} is Salesforce's total while the License Information task is enabled; enter it for feature licenses, or while the task is disabled (seed 000, R27, R29)",
                c.kind
            ),
        });
    }
    Ok(())
}

/// Validates and applies a manual edit (R27) to license `id` (captured, or manual; a matched
/// manual id edits its captured license) and answers its view; unknown id → NotFound.
pub async fn set_manual(
    store: &dyn LicenseStore,
    id: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<LicenseView, LicenseError> {
    let enabled = store.task_enabled().await?;
    let manual = manual_licenses(store).await?;
    let id = resolve_alias(id, &manual);
    if let Some(mut record) = store.get(&id).await? {
        check_captured_edit(&record, body, enabled)?;
        let m = apply_manual_update(&id, &record.manual, body, now)?;
        store.put_manual(&id, &m).await?;
        record.manual = m;
        return Ok(views(&[record], enabled, now).remove(0));
    }
    let Some(mut ml) = manual.into_iter().find(|m| m.id == id) else {
        return Err(LicenseError::NotFound(id));
    };
    ml.manual = apply_manual_update(&id, &ml.manual, body, now)?;
    docs::put(store, MANUAL_LICENSES, &[(ml.id.clone(), &ml)]).await?;
    Ok(manual_views(&[ml], now).remove(0))
}

/// `POST /licenses`: a manual license. Refused (Exists) when its id is taken, or when a
/// captured or manual license of the same kind has its key (edit that one instead).
pub async fn create_manual_license(
    store: &dyn LicenseStore,
    body: NewManualLicense,
    now: DateTime<Utc>,
) -> Result<LicenseView, LicenseError> {
    let ml = body.build(now)?;
    let existing = manual_licenses(store).await?;
    if existing.iter().any(|m| m.id == ml.id) {
        return Err(LicenseError::Exists(format!(
            "a manual license {} exists; change it with PUT /licenses/{}/manual",
            ml.id, ml.id
        )));
    }
    let records = store.all().await?;
    if let Some(r) = candidates(&ml, &records).first() {
        return Err(LicenseError::Exists(format!(
            "{} with key {:?} is already captured as {}; set its manual fields with PUT /licenses/{}/manual (R31)",
            ml.kind, ml.key.as_deref().unwrap_or_default(), r.id(), r.id()
        )));
    }
    if let Some(m) = existing.iter().find(|m| {
        m.matched_to.is_none() && m.kind == ml.kind && ml.key.is_some() && m.key == ml.key
    }) {
        return Err(LicenseError::Exists(format!(
            "the manual license {} already has kind {} and key {:?}",
            m.id,
            ml.kind,
            ml.key.as_deref().unwrap_or_default()
        )));
    }
    docs::put(store, MANUAL_LICENSES, &[(ml.id.clone(), &ml)]).await?;
    Ok(manual_views(&[ml], now).remove(0))
}

/// `PUT /licenses/skus/{name}`: validated against the stored licenses (R30).
pub async fn put_sku(
    store: &dyn LicenseStore,
    name: &str,
    body: SkuBody,
    now: DateTime<Utc>,
) -> Result<Sku, LicenseError> {
    let records = store.all().await?;
    let manual = manual_licenses(store).await?;
    let known = Known {
        records: &records,
        manual: &manual,
    };
    let sku = sku::validate(name, body, &known, now)?;
    docs::put(store, SKUS, &[(sku.name.clone(), &sku)]).await?;
    Ok(sku)
}

pub async fn get_sku(store: &dyn LicenseStore, name: &str) -> Result<Sku, LicenseError> {
    docs::get(store, SKUS, name)
        .await?
        .ok_or_else(|| LicenseError::NotFound(format!("SKU {name}")))
}

pub async fn delete_sku(store: &dyn LicenseStore, name: &str) -> Result<(), LicenseError> {
    get_sku(store, name).await?;
    store.docs_delete(SKUS, &[name.to_owned()]).await?;
    Ok(())
}

/// A license as named in the user views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseRef {
    pub id: String,
    pub name: String,
    pub kind: LicenseKind,
}

/// One row of the Users view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: String,
    pub name: String,
    pub username: Option<String>,
    pub last_login: Option<DateTime<Utc>>,
    /// R30: only the SKU-configured licenses the user holds.
    pub licenses: Vec<LicenseRef>,
    /// The SKUs of those licenses.
    pub skus: Vec<String>,
}

/// Everything the user views need, read once.
struct Activity {
    records: Vec<LicenseRecord>,
    manual: Vec<ManualLicense>,
    users: Vec<LicenseUser>,
    skus: Vec<Sku>,
}

impl Activity {
    async fn load(store: &dyn LicenseStore) -> Result<Self, LicenseError> {
        Ok(Activity {
            records: store.all().await?,
            manual: manual_licenses(store).await?,
            users: stored_users(store).await?,
            skus: skus(store).await?,
        })
    }
    fn known(&self) -> Known<'_> {
        Known {
            records: &self.records,
            manual: &self.manual,
        }
    }
    fn license_ref(&self, id: &str) -> Option<LicenseRef> {
        self.records
            .iter()
            .find(|r| r.id() == id)
            .map(|r| LicenseRef {
                id: id.to_owned(),
                name: r
                    .manual
                    .name
                    .clone()
                    .unwrap_or_else(|| r.captured.name.clone()),
                kind: r.captured.kind,
            })
    }
}

/// `GET /licenses/users`: the active users (R30) with their SKU-configured licenses and last
/// login, ordered by name.
pub async fn users_view(store: &dyn LicenseStore) -> Result<Vec<UserView>, LicenseError> {
    let a = Activity::load(store).await?;
    let known = a.known();
    let per_sku: Vec<(String, BTreeSet<String>)> = a
        .skus
        .iter()
        .map(|s| (s.name.clone(), known.license_ids(s)))
        .collect();
    let mut out: Vec<UserView> = a
        .users
        .iter()
        .map(|u| {
            let in_sku = |l: &String| per_sku.iter().any(|(_, ids)| ids.contains(l));
            UserView {
                id: u.id.clone(),
                name: u.name.clone(),
                username: u.username.clone(),
                last_login: u.last_login,
                licenses: u
                    .licenses
                    .iter()
                    .filter(|l| in_sku(l))
                    .filter_map(|l| a.license_ref(l))
                    .collect(),
                skus: per_sku
                    .iter()
                    .filter(|(_, ids)| u.licenses.iter().any(|l| ids.contains(l)))
                    .map(|(n, _)| n.clone())
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    Ok(out)
}

/// `GET /licenses/{id}/users`: one license's active holders (R30).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldersView {
    pub id: String,
    pub name: String,
    pub kind: LicenseKind,
    /// Equals the license's `active_users` (the assigned count of Salesforce's UI).
    pub count: u64,
    pub users: Vec<HolderRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HolderRef {
    pub id: String,
    pub name: String,
    pub username: Option<String>,
    pub last_login: Option<DateTime<Utc>>,
}

pub async fn license_users(
    store: &dyn LicenseStore,
    id: &str,
) -> Result<HoldersView, LicenseError> {
    let a = Activity::load(store).await?;
    let id = resolve_alias(id, &a.manual);
    let lic = match a.license_ref(&id) {
        Some(l) => l,
        None => match a.manual.iter().find(|m| m.id == id) {
            Some(m) => LicenseRef {
                id: m.id.clone(),
                name: m.name.clone(),
                kind: m.kind,
            },
            None => return Err(LicenseError::NotFound(id)),
        },
    };
    let users: Vec<HolderRef> = a
        .users
        .iter()
        .filter(|u| u.licenses.contains(&id))
        .map(|u| HolderRef {
            id: u.id.clone(),
            name: u.name.clone(),
            username: u.username.clone(),
            last_login: u.last_login,
        })
        .collect();
    Ok(HoldersView {
        id: lic.id,
        name: lic.name,
        kind: lic.kind,
        count: users.len() as u64,
        users,
    })
}

/// `GET /licenses/{id}/history`: 404 for an unknown license.
pub async fn license_history(
    store: &dyn LicenseStore,
    id: &str,
    range: DateRange,
) -> Result<Vec<UsagePoint>, LicenseError> {
    let id = resolve_alias(id, &manual_licenses(store).await?);
    if store.get(&id).await?.is_none() {
        return Err(LicenseError::NotFound(id));
    }
    Ok(history::license_points(store, &id, range).await?)
}

/// `GET /licenses/org/history` (R32).
pub async fn org_history(
    store: &dyn LicenseStore,
    range: DateRange,
) -> Result<Vec<OrgUsage>, LicenseError> {
    Ok(history::org_points(store, range).await?)
}

/// `GET /licenses/unused?days=N`: the unused-license finder at `now`.
pub async fn unused(
    store: &dyn LicenseStore,
    days: u32,
    now: DateTime<Utc>,
) -> Result<UnusedReport, LicenseError> {
    let overview = crate::load_views(store, now).await?;
    let a = Activity::load(store).await?;
    Ok(find_unused(
        &overview.licenses,
        &a.users,
        &a.skus,
        &a.known(),
        days,
        now,
    ))
}
