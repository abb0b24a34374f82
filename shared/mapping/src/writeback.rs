//! R20: what FNO's results write back to Salesforce.

use crate::config::Config;
use crate::error::SfObject;
use crate::plan::AccountBundle;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// FNO's results for one account, keyed by Salesforce ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FnoResults {
    /// Salesforce Account id → FNO account id.
    #[serde(default)]
    pub account_ids: BTreeMap<String, String>,
    /// Opportunity id → FNO entitlement id.
    #[serde(default)]
    pub entitlements: BTreeMap<String, String>,
    /// OpportunityLineItem id → activation id and remaining copies.
    #[serde(default)]
    pub line_items: BTreeMap<String, LineItemResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LineItemResult {
    pub activation_id: Option<String>,
    pub remaining_copies: Option<i64>,
}

/// One Salesforce record update (for a composite/sObject Collections PATCH).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SfUpdate {
    pub sobject: SfObject,
    pub id: String,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// R20 write-back updates, only for fields whose value differs from what the bundle shows
/// Salesforce holds.
pub fn writeback(bundle: &AccountBundle, results: &FnoResults, config: &Config) -> Vec<SfUpdate> {
    let _ = (bundle, results, config);
    Vec::new()
}
