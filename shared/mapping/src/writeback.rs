//! R20: what FNO's results write back to Salesforce.

use crate::config::Config;
use crate::error::SfObject;
use crate::plan::AccountBundle;
use crate::sf::{self, SfRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
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

/// R20 write-back updates: the FNO account id → `Account.FNO_Account_ID__c`, the
/// entitlement id → `Opportunity.FNO_Entitlement_ID__c`, activation id and remaining copies →
/// `OpportunityLineItem.FNO_Activation_ID__c` / `FNO_Remaining_Quantity__c` (field names from
/// `config.writeback`). Only fields whose value differs from what the bundle shows Salesforce
/// holds are included (each update costs the customer API calls); records not in the bundle
/// get every field. One [`SfUpdate`] per record, accounts first, then opportunities, then
/// line items, each in id order.
pub fn writeback(bundle: &AccountBundle, results: &FnoResults, config: &Config) -> Vec<SfUpdate> {
    let wb = &config.writeback;
    let mut out = Vec::new();

    let accounts: Vec<&sf::Account> = std::iter::once(&bundle.account)
        .chain(bundle.related_accounts.values())
        .collect();
    for (id, fno_id) in &results.account_ids {
        let current = accounts.iter().find(|a| &a.id == id).map(|a| a.to_json());
        let mut fields = Map::new();
        put_if_changed(
            &mut fields,
            current.as_ref(),
            &wb.account_id,
            Value::String(fno_id.clone()),
        );
        push(&mut out, SfObject::Account, id, fields);
    }

    let opportunities: Vec<&sf::Opportunity> = bundle
        .opportunities
        .iter()
        .chain(
            bundle
                .account
                .opportunities
                .iter()
                .flat_map(|q| q.records.iter()),
        )
        .collect();
    for (id, ent) in &results.entitlements {
        let current = opportunities
            .iter()
            .find(|o| &o.id == id)
            .map(|o| o.to_json());
        let mut fields = Map::new();
        put_if_changed(
            &mut fields,
            current.as_ref(),
            &wb.entitlement_id,
            Value::String(ent.clone()),
        );
        push(&mut out, SfObject::Opportunity, id, fields);
    }

    for (id, res) in &results.line_items {
        let current = opportunities
            .iter()
            .flat_map(|o| o.line_items())
            .find(|li| &li.id == id)
            .map(|li| li.to_json());
        let mut fields = Map::new();
        if let Some(a) = &res.activation_id {
            put_if_changed(
                &mut fields,
                current.as_ref(),
                &wb.activation_id,
                Value::String(a.clone()),
            );
        }
        if let Some(n) = res.remaining_copies {
            put_if_changed(
                &mut fields,
                current.as_ref(),
                &wb.remaining_quantity,
                Value::from(n),
            );
        }
        push(&mut out, SfObject::OpportunityLineItem, id, fields);
    }
    out
}

fn push(out: &mut Vec<SfUpdate>, sobject: SfObject, id: &str, fields: Map<String, Value>) {
    if !fields.is_empty() {
        out.push(SfUpdate {
            sobject,
            id: id.to_owned(),
            fields,
        });
    }
}

fn put_if_changed(
    fields: &mut Map<String, Value>,
    current: Option<&Value>,
    field: &str,
    new: Value,
) {
    let old = current.and_then(|c| sf::get_path(c, field));
    let same = match (old, &new) {
        (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Some(Value::String(a)), Value::Number(b)) => a.trim().parse::<f64>().ok() == b.as_f64(),
        (Some(a), b) => a == b,
        (None, _) => false,
    };
    if !same {
        fields.insert(field.to_owned(), new);
    }
}
