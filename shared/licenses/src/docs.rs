//! Typed document collections over the store's generic ones ([`LicenseStore::docs_put`] …):
//! one place that names the collections and turns their JSON into types, so the three stores
//! (memory, SQLite, DynamoDB) only move text.
//!
//! | collection | key | document |
//! |---|---|---|
//! | [`SKUS`] | SKU name | [`crate::sku::Sku`] |
//! | [`MANUAL_LICENSES`] | manual license id | [`crate::manual_license::ManualLicense`] |
//! | [`USERS`] | Salesforce User Id | [`crate::users::LicenseUser`] (active users only, R30) |
//! | `history:<license id>` ([`license_history`]) | [`time_key`] | [`crate::history::UsagePoint`] |
//! | [`ORG_HISTORY`] | [`time_key`] | [`crate::model::OrgUsage`] (R32) |

use crate::store::LicenseStore;
use chrono::{DateTime, SecondsFormat, Utc};
use engine::ports::StoreError;
use serde::{de::DeserializeOwned, Serialize};

pub const SKUS: &str = "skus";
pub const MANUAL_LICENSES: &str = "manual_licenses";
pub const USERS: &str = "users";
pub const ORG_HISTORY: &str = "history:org";

/// The history collection of one license.
pub fn license_history(id: &str) -> String {
    format!("history:{id}")
}

/// A history key: UTC to the second, fixed width, so string order is time order.
pub fn time_key(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn corrupt(coll: &str, key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: format!("{coll}/{key}"),
        detail: e.to_string(),
    }
}

/// Writes `items` (key, value) to `coll`.
pub async fn put<T: Serialize>(
    store: &dyn LicenseStore,
    coll: &str,
    items: &[(String, &T)],
) -> Result<(), StoreError> {
    let docs = items
        .iter()
        .map(|(k, v)| {
            serde_json::to_string(v)
                .map(|body| (k.clone(), body))
                .map_err(|e| corrupt(coll, k, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if docs.is_empty() {
        return Ok(());
    }
    store.docs_put(coll, &docs).await
}

/// Reads `coll` within the inclusive key bounds, ordered by key; a document that is not a `T`
/// is a corrupt-store error naming collection and key.
pub async fn list<T: DeserializeOwned>(
    store: &dyn LicenseStore,
    coll: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<(String, T)>, StoreError> {
    store
        .docs_range(coll, from, to)
        .await?
        .into_iter()
        .map(|(k, body)| match serde_json::from_str(&body) {
            Ok(v) => Ok((k, v)),
            Err(e) => Err(corrupt(coll, &k, e)),
        })
        .collect()
}

/// One document of `coll`.
pub async fn get<T: DeserializeOwned>(
    store: &dyn LicenseStore,
    coll: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    Ok(list(store, coll, Some(key), Some(key))
        .await?
        .into_iter()
        .next()
        .map(|(_, v)| v))
}

/// Every document of `coll`, ordered by key, without the keys.
pub async fn values<T: DeserializeOwned>(
    store: &dyn LicenseStore,
    coll: &str,
) -> Result<Vec<T>, StoreError> {
    Ok(list(store, coll, None, None)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect())
}
