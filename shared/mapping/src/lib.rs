//! flexbridge's pure domain: Salesforce records, the mapping configuration, the connector's
//! rules (R1–R20) and the FNO-side request models. No async, no IO, no AWS, no HTTP.
pub mod catalogue;
pub mod config;
pub mod error;
pub mod fno;
pub mod plan;
pub mod rules;
pub mod secret;
pub mod sf;
pub mod writeback;

pub use catalogue::{Catalogue, CatalogueEntry};
pub use config::{
    Config, CustomEntity, DataType, FieldMapping, Filters, FnoAttributeDef, MappingKind,
    ObjectMapping, PostConditionState, WritebackFields,
};
pub use error::{ConfigError, Rule, RuleError, SfObject};
pub use plan::{
    plan_account, AccountBundle, AccountPlan, AccountPush, AccountRole, KnownFno, KnownLineItem,
    SalesOrder, SalesOrderPlan, Skipped, UserPlan,
};
pub use secret::Secret;
pub use writeback::{writeback, FnoResults, LineItemResult, SfUpdate};
