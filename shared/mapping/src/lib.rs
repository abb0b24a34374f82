//! flexbridge's pure domain: Salesforce records, the mapping configuration, the connector's
//! rules (R1–R20, numbered as in shared/reference/rules.md) and the FNO-side request models.
//! No async, no IO, no AWS, no HTTP.
//!
//! # Modules
//! * [`sf`]: typed Salesforce records ([`sf::Account`], [`sf::Contact`],
//!   [`sf::Opportunity`], [`sf::OpportunityLineItem`], [`sf::Product2`]) as the REST API
//!   returns them; every other field is kept in `other`; [`sf::SfRecord::field`] reads any
//!   field by API name (dotted parent paths too). A wrongly typed value never fails a record:
//!   it stays in `other` and the planner reports it by field name.
//! * [`config`]: [`Config`] (serde JSON; `Default` = the guide's tables 2-3 … 2-6, filters
//!   `["Closed Won"]`/Draft, role `Portal Admin User`), with R19 edits
//!   ([`Config::mapping`], [`Config::set_mapping`], [`Config::delete_mapping`]), whole-config
//!   [`Config::validate`], [`Config::validate_against`] FNO custom-attribute definitions and
//!   [`Config::fields_to_read`] for SOQL select lists. The JSON shape is in the module docs.
//! * [`catalogue`]: the FNO side of product eligibility (part number → product, state).
//! * [`plan`]: [`plan_account`] — one account's Salesforce data → what to push to FNO.
//! * [`rules`]: the value rules as pure functions (R9, R13, R14, R15, R16).
//! * [`writeback`](mod@writeback): R20 — FNO results → Salesforce field updates (only changed fields).
//! * [`fno`]: the FNO request models the `flexnet` crate renders to SOAP.
//! * [`error`]: [`Rule`] (`R1`…`R32`), [`RuleError`] and [`ConfigError`].
//!
//! # Planning an account
//! ```
//! use mapping::*;
//! let bundle = AccountBundle::default(); // filled by the engine from SOQL results
//! let plan = plan_account(&bundle, &Catalogue::default(), &Config::default());
//! // push in this order (R3): plan.accounts, plan.users, plan.sales_orders
//! assert!(plan.sales_orders.is_empty() && !plan.skipped.is_empty()); // R1: nothing to push
//! ```
//! * Scope (R1/R2/R4): an Opportunity of this account in a sync stage with ≥1 line item is a
//!   sales order; every other opportunity, and the account and contacts when there is no
//!   sales order, is listed in [`AccountPlan::skipped`] with the rule — never silently.
//! * [`AccountPlan::accounts`]: the Opportunity's Account ([`AccountRole::Owner`], first) and
//!   any SoldTo end customers (R12, [`AccountRole::SoldTo`]), each `Result<fno::Account,
//!   Vec<RuleError>>`. FNO account id = the mapped `accountID` field, default the Account Id
//!   (R10). Type from `FNO_Account_Type__c` (R9; unset → CUSTOMER).
//! * [`AccountPlan::users`]: one per Contact, with the configured role on the owner account
//!   (R11: first name, last name, email required, each missing one named).
//! * [`AccountPlan::sales_orders`]: `Result<SalesOrder, Vec<RuleError>>` per opportunity. A
//!   [`SalesOrder::Entitlement`] is a createSimpleEntitlement (entitlement id = known id, else
//!   the mapped `entitlementId`, else the Opportunity Id) plus a setEntitlementState (R13).
//!   A renewal (`FNO_Renewed_Opportunity__c` set) is a [`SalesOrder::Renewal`]: RENEWAL line
//!   items added to the original opportunity's entitlement (from [`KnownFno`], else the
//!   original's written-back `FNO_Entitlement_ID__c`); unknown original → R3 error. Any bad
//!   line item fails its order with every reason listed; other orders still go through.
//!   If the owner account cannot be mapped, its orders fail with an R3 error.
//! * Line items: `order_id` = Opportunity Id, `order_line_number` = line item Id,
//!   `activation_id` = the known one or `None` (FNO generates it); part number = ProductCode,
//!   copies = Quantity (R16); eligibility R5–R7 against the [`Catalogue`]; dates R14/R15;
//!   `licenseModel`, `FNPTimeZoneValue` and `versiondate` when mapped (table 2-6, R17).
//! * Entitlement owner (table 2-5, R12): `EntitlementOwnerAccount` / `EntitlementOwnerContact`,
//!   when mapped, mark a `channelPartner` `currentOwner` with the contact's FNO user.
//! * [`SalesOrder::fingerprint`]: stable FNV-1a hash of the order's JSON, for skipping
//!   unchanged orders.
//!
//! # Errors
//! Every violation is a [`RuleError`] `{record_id, sobject, field, rule, message}` whose
//! `Display` is an admin sentence ending in the rule, e.g. `ProductCode 'AM_SF01 ' does not
//! match any deployed FNO part number; did you mean 'AM_SF01'? (case and whitespace must
//! match exactly) (R7)`.
pub mod catalogue;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod fno;
pub mod plan;
pub mod rules;
pub mod secret;
pub mod sf;
pub mod writeback;

pub use catalogue::{Catalogue, CatalogueEntry, PartProblem};
pub use config::{
    Config, CustomEntity, DataType, FieldMapping, Filters, FnoAttributeDef, MappingKind,
    ObjectMapping, PostConditionState, WithdrawnAction, WritebackFields,
};
pub use error::{ConfigError, Rule, RuleError, SfObject};
pub use plan::{
    fno_account_id, map_account, map_user, plan_account, AccountBundle, AccountPlan, AccountPush,
    AccountRole, KnownFno, KnownLineItem, SalesOrder, SalesOrderPlan, Skipped, UserPlan,
};
pub use secret::Secret;
pub use writeback::{writeback, FnoResults, LineItemResult, SfUpdate};
