//! Sales-order assembly: one Salesforce account bundle → what to push to FNO (R1–R16).
//!
//! Entry point: [`plan_account`]. See the crate docs for the rules and their order.

use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::error::{Rule, RuleError, SfObject};
use crate::fno;
use crate::sf;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the engine knows from earlier syncs (its sync records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KnownFno {
    /// Opportunity id → FNO entitlement id.
    #[serde(default)]
    pub entitlements: BTreeMap<String, String>,
    /// OpportunityLineItem id → FNO activation id.
    #[serde(default)]
    pub activations: BTreeMap<String, String>,
    /// For renewals: original Opportunity id → its line items as FNO knows them.
    #[serde(default)]
    pub original_line_items: BTreeMap<String, Vec<KnownLineItem>>,
}

/// A line item FNO already has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownLineItem {
    pub line_item_id: String,
    pub activation_id: String,
    pub part_number: Option<String>,
}

/// One account's data, as the engine reads it from Salesforce (R4: one account at a time).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccountBundle {
    pub account: sf::Account,
    pub contacts: Vec<sf::Contact>,
    /// With `OpportunityLineItems` nested (and ideally `Product2` nested in each item).
    pub opportunities: Vec<sf::Opportunity>,
    /// Product2 id → record, for line items without a nested `Product2`.
    #[serde(default)]
    pub products: BTreeMap<String, sf::Product2>,
    /// Account id → record, for SoldTo accounts (R12) outside this account.
    #[serde(default)]
    pub related_accounts: BTreeMap<String, sf::Account>,
    #[serde(default)]
    pub known: KnownFno,
}

/// Why an FNO account is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// The Opportunity's Account (the partner in a partner sale).
    Owner,
    /// A SoldTo end customer of a partner sale (R12).
    SoldTo,
}

/// An FNO account to create or update (R3, R9, R10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPush {
    pub sf_account_id: String,
    pub role: AccountRole,
    pub outcome: Result<fno::Account, Vec<RuleError>>,
}

/// An FNO user to create or update from a Contact (R11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPlan {
    pub contact_id: String,
    pub outcome: Result<fno::User, Vec<RuleError>>,
}

/// What to do in FNO for one sales order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SalesOrder {
    /// createSimpleEntitlement (CREATE_OR_UPDATE), then setEntitlementState (R13).
    Entitlement {
        entitlement: fno::Entitlement,
        state: fno::StateChange,
    },
    /// A renewal: createEntitlementLineItem with RENEWAL line items on the original
    /// entitlement.
    Renewal { add: fno::AddLineItems },
}

/// One Opportunity in scope (R1/R2) and its outcome. Errors list every problem found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesOrderPlan {
    pub opportunity_id: String,
    pub outcome: Result<SalesOrder, Vec<RuleError>>,
}

/// A record deliberately not pushed, with the rule that says so (never silent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub record_id: String,
    pub sobject: SfObject,
    pub rule: Rule,
    pub reason: String,
}

/// Everything to push for one account, in R3 order: accounts, users, sales orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPlan {
    pub sf_account_id: String,
    pub accounts: Vec<AccountPush>,
    pub users: Vec<UserPlan>,
    pub sales_orders: Vec<SalesOrderPlan>,
    pub skipped: Vec<Skipped>,
}

/// Plans one account (R4). Never panics; a bad record fails only itself (and, for a line
/// item, its sales order).
pub fn plan_account(bundle: &AccountBundle, catalogue: &Catalogue, config: &Config) -> AccountPlan {
    let _ = (catalogue, config);
    AccountPlan {
        sf_account_id: bundle.account.id.clone(),
        accounts: vec![],
        users: vec![],
        sales_orders: vec![],
        skipped: vec![],
    }
}
