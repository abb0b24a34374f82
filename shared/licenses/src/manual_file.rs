//! The local runner's `--manual FILE`: manual licenses, manual fields and SKUs in one JSON
//! file, so the whole license story runs without AWS (tests/fixtures/licenses/manual.json):
//!
//! ```text
//! {"manual_licenses": [{"kind": "package_license", "name": "Acme CPQ", "key": "acme", …}],
//!  "licenses": {"<license id or key>": {"amount": "2250", "currency": "USD", …}},
//!  "skus": {"Sales-Cloud": ["SFDC", "CRMUserPsl"]}}
//! ```
//!
//! Manual licenses are entered before the ingest (so it can match them, R31), fields and SKUs
//! after it (they name captured licenses). Applying the file again updates what it created.

use crate::manual_license::{manual_id, NewManualLicense};
use crate::ops;
use crate::sku::{Known, SkuBody};
use crate::store::LicenseStore;
use crate::{LicenseError, ManualFieldError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualFile {
    #[serde(default, rename = "_comment")]
    pub comment: Option<String>,
    #[serde(default)]
    pub manual_licenses: Vec<NewManualLicense>,
    /// License id or key → manual fields (as `PUT /licenses/{id}/manual`).
    #[serde(default)]
    pub licenses: BTreeMap<String, Value>,
    /// SKU name → license ids or keys (as `PUT /licenses/skus/{name}`).
    #[serde(default)]
    pub skus: BTreeMap<String, Vec<String>>,
}

/// Creates the file's manual licenses (or updates the fields of those that exist); answers
/// one line per license.
pub async fn apply_manual_licenses(
    store: &dyn LicenseStore,
    file: &ManualFile,
    now: DateTime<Utc>,
) -> Result<Vec<String>, LicenseError> {
    let existing = ops::manual_licenses(store).await?;
    let mut lines = Vec::new();
    for ml in &file.manual_licenses {
        let id = manual_id(&ml.name);
        if let Some(m) = existing.iter().find(|m| Some(&m.id) == id.as_ref()) {
            let v = ops::set_manual(store, &m.id, &ml.fields(), now).await?;
            lines.push(format!(
                "manual license {} updated (shown as {})",
                m.id, v.id
            ));
        } else {
            let v = ops::create_manual_license(store, ml.clone(), now).await?;
            lines.push(format!("manual license {} entered", v.id));
        }
    }
    Ok(lines)
}

/// Sets the file's manual fields (each entry naming exactly one license by id or key) and
/// SKUs; answers one line per change.
pub async fn apply_fields_and_skus(
    store: &dyn LicenseStore,
    file: &ManualFile,
    now: DateTime<Utc>,
) -> Result<Vec<String>, LicenseError> {
    let records = store.all().await?;
    let manual = ops::manual_licenses(store).await?;
    let known = Known {
        records: &records,
        manual: &manual,
    };
    let mut lines = Vec::new();
    for (entry, fields) in &file.licenses {
        let ids = known.resolve(entry);
        let [id] = ids.iter().collect::<Vec<_>>()[..] else {
            return Err(ManualFieldError {
                license_id: entry.clone(),
                field: "licenses".into(),
                message: format!(
                    "{entry:?} names {} licenses; give a license id or a key of exactly one (R31)",
                    ids.len()
                ),
            }
            .into());
        };
        ops::set_manual(store, id, fields, now).await?;
        lines.push(format!("manual fields of {id} set"));
    }
    for (name, licenses) in &file.skus {
        let body = SkuBody {
            licenses: licenses.clone(),
        };
        let sku = ops::put_sku(store, name, body, now).await?;
        lines.push(format!("SKU {} = {}", sku.name, sku.licenses.join(", ")));
    }
    Ok(lines)
}
