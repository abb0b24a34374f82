//! The mapping configuration (R2, R11–R13, R17–R20), stored and edited as JSON through the
//! admin API. `Config::default()` is the guide's defaults (tables 2-3 … 2-6 of seed 001).
//!
//! JSON shape (every top-level key optional; missing keys take the defaults):
//!
//! ```json
//! {
//!   "mappings": {
//!     "Account": {"fields": [
//!       {"fno_attribute": "accountName", "sf_field": "Name", "required": true,
//!        "editable": true, "kind": {"type": "standard"}},
//!       {"fno_attribute": "AccountDate", "sf_field": "Founded__c", "required": false,
//!        "editable": true, "kind": {"type": "custom", "entity": "account", "data_type": "date"}}
//!     ]},
//!     "Contact": {"fields": []}, "Opportunity": {"fields": []}, "OpportunityLineItem": {"fields": []}
//!   },
//!   "filters": {"sync_stages": ["Closed Won"], "post_condition_state": "Draft"},
//!   "user_role": "Portal Admin User",
//!   "channel_partner_tier": "bo.constants.partnertiernames.channelpartner",
//!   "writeback": {"account_id": "FNO_Account_ID__c", "entitlement_id": "FNO_Entitlement_ID__c",
//!                 "activation_id": "FNO_Activation_ID__c",
//!                 "remaining_quantity": "FNO_Remaining_Quantity__c"}
//! }
//! ```
//!
//! Standard attributes per object are the rows of the guide's tables, plus three rows
//! flexbridge adds so that every field it reads can be remapped: `accountType` (Account,
//! R9, default `FNO_Account_Type__c`), `state` (Opportunity, R13, default
//! `FNO_Entitlement_State__c`), `expirationDateOption` and `durationUnit`
//! (OpportunityLineItem, R15, defaults `FNO_Expiration_Date_Option__c` and
//! `FNO_Expiration_Term_Option__c`). The stage (`StageName`), the renewal lookup
//! (`FNO_Renewed_Opportunity__c`) and the product flags (`IsActive`,
//! `FNO_Include_In_Sync__c`) are read from their fixed API names.
//!
//! The guide leaves five default rows unmapped, and so does `Config::default()`; each can be
//! mapped like any other row:
//! * `EntitlementOwnerAccount` (Opportunity): an Account lookup naming the entitlement's
//!   current owner, the Opportunity's Account or its SoldTo Account (R12). It becomes the
//!   `channelPartner` with `currentOwner` true (tier End Customer when it is the SoldTo
//!   account, else `channel_partner_tier`).
//! * `EntitlementOwnerContact` (Opportunity): a Contact lookup, a contact of the Opportunity's
//!   Account synced with it (R11); its FNO user (user name = email) is the owner's `contact`.
//!   Mapped alone, the owner is the Opportunity's Account.
//! * `FNPTimeZoneValue`, `licenseModel` (OpportunityLineItem): text, sent as
//!   `FNPTimeZoneValue` and `licenseModel/primaryKeys/name`.
//! * `versiondate` (OpportunityLineItem): a date, sent as `versionDate` with
//!   `versionDateAttributes/versionOption` DEFINE_NOW.

use crate::error::{ConfigError, Rule, SfObject};
use crate::fno;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// FNO custom-attribute entity types. Only the first four are supported (R18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomEntity {
    Account,
    User,
    Entitlement,
    EntitlementLine,
    Product,
    MaintenanceLine,
    DownloadPackage,
    File,
}

impl CustomEntity {
    /// The Salesforce object an entity maps to; `None` for the unsupported ones (R18).
    pub fn sobject(self) -> Option<SfObject> {
        match self {
            CustomEntity::Account => Some(SfObject::Account),
            CustomEntity::User => Some(SfObject::Contact),
            CustomEntity::Entitlement => Some(SfObject::Opportunity),
            CustomEntity::EntitlementLine => Some(SfObject::OpportunityLineItem),
            _ => None,
        }
    }
    pub fn for_sobject(o: SfObject) -> Option<CustomEntity> {
        match o {
            SfObject::Account => Some(CustomEntity::Account),
            SfObject::Contact => Some(CustomEntity::User),
            SfObject::Opportunity => Some(CustomEntity::Entitlement),
            SfObject::OpportunityLineItem => Some(CustomEntity::EntitlementLine),
            SfObject::Product2 => None,
        }
    }
    /// Parses `account`, `Entitlement Line`, `ENTITLEMENT_LINE`, `entitlementLine`, ….
    pub fn parse(s: &str) -> Option<CustomEntity> {
        Some(match normalise(s).as_str() {
            "account" => CustomEntity::Account,
            "user" => CustomEntity::User,
            "entitlement" => CustomEntity::Entitlement,
            "entitlementline" | "entitlementlineitem" | "lineitem" => CustomEntity::EntitlementLine,
            "product" => CustomEntity::Product,
            "maintenanceline" | "maintenancelineitem" => CustomEntity::MaintenanceLine,
            "downloadpackage" => CustomEntity::DownloadPackage,
            "file" => CustomEntity::File,
            _ => return None,
        })
    }
    pub fn label(self) -> &'static str {
        match self {
            CustomEntity::Account => "account",
            CustomEntity::User => "user",
            CustomEntity::Entitlement => "entitlement",
            CustomEntity::EntitlementLine => "entitlement line",
            CustomEntity::Product => "product",
            CustomEntity::MaintenanceLine => "maintenance line",
            CustomEntity::DownloadPackage => "download package",
            CustomEntity::File => "file",
        }
    }
}

impl<'de> Deserialize<'de> for CustomEntity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CustomEntity::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown custom attribute entity type {s:?}"))
        })
    }
}

/// FNO custom-attribute data types (R18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    Number,
    Text,
    LongText,
    Boolean,
    Date,
}

impl DataType {
    /// Parses `Number`, `NUMBER`, `Long Text`, `LONG_TEXT`, `long_text`, ….
    pub fn parse(s: &str) -> Option<DataType> {
        Some(match normalise(s).as_str() {
            "number" | "integer" => DataType::Number,
            "text" | "string" => DataType::Text,
            "longtext" => DataType::LongText,
            "boolean" | "bool" => DataType::Boolean,
            "date" => DataType::Date,
            _ => return None,
        })
    }
    pub fn label(self) -> &'static str {
        match self {
            DataType::Number => "Number",
            DataType::Text => "Text",
            DataType::LongText => "Long Text",
            DataType::Boolean => "Boolean",
            DataType::Date => "Date",
        }
    }
}

impl<'de> Deserialize<'de> for DataType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DataType::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown data type {s:?}")))
    }
}

fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// Standard (a field of FNO's own request) or custom attribute (R18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MappingKind {
    #[default]
    Standard,
    Custom {
        entity: CustomEntity,
        data_type: DataType,
    },
}

/// One row of the Field Mapping page. Unknown keys are refused (`{"sfField": …}` must not
/// store an unmapped row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// FNO attribute name (standard: as in the guide's tables; custom: exactly FNO's name).
    pub fno_attribute: String,
    /// Salesforce field API name (dotted parent paths allowed); `None` = unmapped.
    #[serde(default)]
    pub sf_field: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default = "yes")]
    pub editable: bool,
    #[serde(default)]
    pub kind: MappingKind,
}

fn yes() -> bool {
    true
}

impl FieldMapping {
    pub fn standard(attr: &str, sf_field: Option<&str>, required: bool) -> Self {
        FieldMapping {
            fno_attribute: attr.to_owned(),
            sf_field: sf_field.map(str::to_owned),
            required,
            editable: true,
            kind: MappingKind::Standard,
        }
    }
    pub fn custom(attr: &str, sf_field: &str, entity: CustomEntity, data_type: DataType) -> Self {
        FieldMapping {
            fno_attribute: attr.to_owned(),
            sf_field: Some(sf_field.to_owned()),
            required: false,
            editable: true,
            kind: MappingKind::Custom { entity, data_type },
        }
    }
    pub fn is_custom(&self) -> bool {
        matches!(self.kind, MappingKind::Custom { .. })
    }
}

/// The mappings of one object, in display order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ObjectMapping {
    pub fields: Vec<FieldMapping>,
}

impl ObjectMapping {
    pub fn get(&self, fno_attribute: &str) -> Option<&FieldMapping> {
        self.fields
            .iter()
            .find(|f| f.fno_attribute == fno_attribute)
    }
    /// The Salesforce field of a mapping, if mapped.
    pub fn sf_field(&self, fno_attribute: &str) -> Option<&str> {
        self.get(fno_attribute).and_then(|f| f.sf_field.as_deref())
    }
    pub fn custom(&self) -> impl Iterator<Item = &FieldMapping> {
        self.fields.iter().filter(|f| f.is_custom())
    }
}

/// Post-condition entitlement state (R13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PostConditionState {
    #[default]
    Draft,
    Deployed,
}

impl PostConditionState {
    pub fn fno(self) -> fno::State {
        match self {
            PostConditionState::Draft => fno::State::Draft,
            PostConditionState::Deployed => fno::State::Deployed,
        }
    }
}

/// Filters page: pre-condition stages (R2) and post-condition state (R13). Unknown keys are
/// refused (`{"syncStages": …}` must not store the default stages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    #[serde(default = "default_stages")]
    pub sync_stages: Vec<String>,
    #[serde(default)]
    pub post_condition_state: PostConditionState,
    /// What happens in FNO when a synced order is withdrawn (leaves the sync stages, is
    /// deleted, or loses a line item): always a log entry; `inactivate` also sets the
    /// entitlement (or the removed line item) INACTIVE.
    #[serde(default)]
    pub withdrawn_action: WithdrawnAction,
}

/// The filter setting for withdrawn orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WithdrawnAction {
    /// Log the withdrawal, change nothing in FNO (default).
    #[default]
    Log,
    /// Log it and set the entitlement, or the removed line item, INACTIVE in FNO.
    Inactivate,
}

fn default_stages() -> Vec<String> {
    vec!["Closed Won".to_owned()]
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            sync_stages: default_stages(),
            post_condition_state: PostConditionState::Draft,
            withdrawn_action: WithdrawnAction::Log,
        }
    }
}

/// The Salesforce fields FNO results are written to (R20). Never push sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritebackFields {
    /// Account field for the FNO account id (R10).
    pub account_id: String,
    /// Opportunity field for the entitlement id.
    pub entitlement_id: String,
    /// OpportunityLineItem field for the activation id.
    pub activation_id: String,
    /// OpportunityLineItem field for the remaining quantity.
    pub remaining_quantity: String,
}

impl Default for WritebackFields {
    fn default() -> Self {
        WritebackFields {
            account_id: "FNO_Account_ID__c".into(),
            entitlement_id: "FNO_Entitlement_ID__c".into(),
            activation_id: "FNO_Activation_ID__c".into(),
            remaining_quantity: "FNO_Remaining_Quantity__c".into(),
        }
    }
}

impl WritebackFields {
    /// The write-back fields of one object.
    pub fn fields_of(&self, object: SfObject) -> Vec<&str> {
        match object {
            SfObject::Account => vec![&self.account_id],
            SfObject::Opportunity => vec![&self.entitlement_id],
            SfObject::OpportunityLineItem => vec![&self.activation_id, &self.remaining_quantity],
            _ => vec![],
        }
    }
}

/// The whole configuration. `Default` = the guide's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Per object; an object the document leaves out keeps the guide's default table, so a
    /// configuration can change one object's mappings without restating the others.
    #[serde(
        default = "default_mappings",
        deserialize_with = "mappings_over_defaults"
    )]
    pub mappings: BTreeMap<SfObject, ObjectMapping>,
    #[serde(default)]
    pub filters: Filters,
    /// R11: the FNO role given to every user on its account.
    #[serde(default = "default_role")]
    pub user_role: String,
    /// R12: `tierName` of the channel partner on a partner sale's entitlement.
    #[serde(default = "default_tier")]
    pub channel_partner_tier: String,
    #[serde(default)]
    pub writeback: WritebackFields,
}

fn default_role() -> String {
    "Portal Admin User".into()
}
fn default_tier() -> String {
    "bo.constants.partnertiernames.channelpartner".into()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mappings: default_mappings(),
            filters: Filters::default(),
            user_role: default_role(),
            channel_partner_tier: default_tier(),
            writeback: WritebackFields::default(),
        }
    }
}

/// (attribute, default Salesforce field, required) of the guide's tables 2-3 … 2-6, plus
/// flexbridge's additions (see module docs).
pub fn standard_attributes(
    object: SfObject,
) -> &'static [(&'static str, Option<&'static str>, bool)] {
    match object {
        // Table 2-3
        SfObject::Account => &[
            ("accountName", Some("Name"), true),
            ("accountID", Some("Id"), true),
            ("description", Some("Description"), false),
            ("address1", Some("BillingStreet"), false),
            ("address2", Some("ShippingStreet"), false),
            ("city", Some("ShippingCity"), false),
            ("state", Some("ShippingState"), false),
            ("zipcode", Some("ShippingPostalCode"), false),
            ("country", Some("ShippingCountry"), false),
            ("region", None, false),
            ("accountType", Some("FNO_Account_Type__c"), false),
        ],
        // Table 2-4
        SfObject::Contact => &[
            ("firstName", Some("FirstName"), true),
            ("lastName", Some("LastName"), true),
            ("emailAddress", Some("Email"), true),
            ("displayName", Some("Name"), false),
            ("optIn", Some("HasOptedOutOfEmail"), true),
            ("phoneNumber", Some("Phone"), false),
            ("faxNumber", Some("Fax"), false),
            ("street", Some("MailingStreet"), false),
            ("city", Some("MailingCity"), false),
            ("state", Some("MailingState"), false),
            ("zipcode", Some("MailingPostalCode"), false),
            ("country", Some("MailingCountry"), false),
            ("locale", None, false),
            ("status", None, false),
            ("timezone", None, false),
        ],
        // Table 2-5
        SfObject::Opportunity => &[
            ("EntitlementOwnerAccount", None, false),
            ("EntitlementOwnerContact", None, false),
            ("description", Some("Description"), false),
            ("emailTemplateVariation", None, false),
            ("entitlementId", None, false),
            ("shipToAddress", Some("FNO_Ship_To_Mail__c"), false),
            ("shipToEmail", Some("FNO_Ship_To_Email__c"), false),
            ("soldTo", Some("FNO_SoldTo_Account__c"), true),
            ("state", Some("FNO_Entitlement_State__c"), false),
        ],
        // Table 2-6
        SfObject::OpportunityLineItem => &[
            ("description", Some("Description"), false),
            ("partNumber", Some("ProductCode"), true),
            ("numberOfCopies", Some("Quantity"), true),
            ("FNPTimeZoneValue", None, false),
            ("activationId", None, false),
            ("licenseModel", None, false),
            ("orderId", None, false),
            ("orderLineNumber", None, false),
            ("startDate", Some("FNO_Start_Date__c"), false),
            ("startDateOption", Some("FNO_Start_Date_Option__c"), false),
            ("expirationDate", Some("FNO_Expiration_Date__c"), true),
            ("term", Some("FNO_Expiration_Term__c"), true),
            ("versiondate", None, false),
            (
                "expirationDateOption",
                Some("FNO_Expiration_Date_Option__c"),
                false,
            ),
            ("durationUnit", Some("FNO_Expiration_Term_Option__c"), false),
        ],
        SfObject::Product2 => &[],
    }
}

/// Required rows whose *value* is governed by another rule rather than R17's "present":
/// `accountID` (R10, falls back to the Account Id), `soldTo` (R12, falls back to the
/// Opportunity's Account), `optIn` (a checkbox, absent = not opted out), `expirationDate`
/// and `term` (R15 decides which one is needed).
pub const CONDITIONALLY_REQUIRED: [&str; 5] =
    ["accountID", "soldTo", "optIn", "expirationDate", "term"];

fn mappings_over_defaults<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<SfObject, ObjectMapping>, D::Error> {
    let given = BTreeMap::<SfObject, ObjectMapping>::deserialize(d)?;
    let mut all = default_mappings();
    all.extend(given);
    Ok(all)
}

fn default_mappings() -> BTreeMap<SfObject, ObjectMapping> {
    SfObject::MAPPED
        .iter()
        .map(|&o| {
            let fields = standard_attributes(o)
                .iter()
                .map(|&(a, f, r)| FieldMapping::standard(a, f, r))
                .collect();
            (o, ObjectMapping { fields })
        })
        .collect()
}

fn valid_api_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        })
}

/// A custom-attribute definition as FNO lists it (the simulator fixture's
/// `flexnet.customAttributes` entries): `{entity, name, type, required, active}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FnoAttributeDef {
    pub entity: CustomEntity,
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: DataType,
    #[serde(default)]
    pub required: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

impl Config {
    /// The Salesforce fields the connector reads for `object`: the fixed ones its rules use,
    /// the write-back fields (to compare before writing, R20) and every mapped field
    /// (standard and custom; dotted parent paths as they are). For building SOQL `SELECT`
    /// lists; sorted, no duplicates.
    pub fn fields_to_read(&self, object: SfObject) -> std::collections::BTreeSet<String> {
        let fixed: &[&str] = match object {
            SfObject::Account => &[
                "Id",
                "Name",
                "FNO_Account_Type__c",
                "SystemModstamp",
                "LastModifiedDate",
            ],
            SfObject::Contact => &["Id", "AccountId", "SystemModstamp"],
            SfObject::Opportunity => &[
                "Id",
                "AccountId",
                "StageName",
                "FNO_Renewed_Opportunity__c",
                "SystemModstamp",
                "LastModifiedDate",
            ],
            SfObject::OpportunityLineItem => &[
                "Id",
                "OpportunityId",
                "Product2Id",
                "ProductCode",
                "Quantity",
                "SystemModstamp",
            ],
            SfObject::Product2 => &[
                "Id",
                "Name",
                "ProductCode",
                "IsActive",
                "FNO_Include_In_Sync__c",
            ],
        };
        let mut out: std::collections::BTreeSet<String> =
            fixed.iter().map(|s| (*s).to_owned()).collect();
        out.extend(
            self.writeback
                .fields_of(object)
                .into_iter()
                .map(str::to_owned),
        );
        if let Some(m) = self.mapping(object) {
            out.extend(m.fields.iter().filter_map(|f| f.sf_field.clone()));
        }
        out
    }

    /// R19 view: the mappings of one object (`None` for Product2).
    pub fn mapping(&self, object: SfObject) -> Option<&ObjectMapping> {
        self.mappings.get(&object)
    }

    /// The Salesforce field mapped to an FNO attribute, if any.
    pub fn sf_field(&self, object: SfObject, fno_attribute: &str) -> Option<&str> {
        self.mapping(object).and_then(|m| m.sf_field(fno_attribute))
    }

    /// R19 edit: add or change one mapping. Checks R18 (entity and type of custom
    /// attributes, editable), R17 (required standard rows stay mapped and required), R20
    /// (write-back fields are never push sources).
    pub fn set_mapping(&mut self, object: SfObject, m: FieldMapping) -> Result<(), ConfigError> {
        self.check_mapping(object, &m)?;
        let rows = &mut self.mappings.entry(object).or_default().fields;
        match rows.iter_mut().find(|r| r.fno_attribute == m.fno_attribute) {
            Some(r) => *r = m,
            None => rows.push(m),
        }
        Ok(())
    }

    /// R19 delete: a custom mapping is removed; a standard one is cleared (unmapped), as the
    /// guide's "Clear" column does. Required mappings cannot be deleted (R17). Returns the
    /// mapping as it was.
    pub fn delete_mapping(
        &mut self,
        object: SfObject,
        fno_attribute: &str,
    ) -> Result<FieldMapping, ConfigError> {
        let err = |rule, msg: String| ConfigError::new(object, fno_attribute, rule, msg);
        let rows = match self.mappings.get_mut(&object) {
            Some(m) => &mut m.fields,
            None => return Err(err(Rule::R19, format!("{object} has no field mappings"))),
        };
        let idx = rows
            .iter()
            .position(|r| r.fno_attribute == fno_attribute)
            .ok_or_else(|| {
                err(
                    Rule::R19,
                    format!("{object} has no mapping for the FNO attribute '{fno_attribute}'"),
                )
            })?;
        if rows[idx].required {
            return Err(err(
                Rule::R17,
                format!(
                    "'{fno_attribute}' is a required attribute of {object}; its mapping can be changed but not deleted"
                ),
            ));
        }
        if !rows[idx].editable {
            return Err(err(
                Rule::R18,
                format!("the mapping of '{fno_attribute}' on {object} is not editable"),
            ));
        }
        let old = rows[idx].clone();
        if rows[idx].is_custom() {
            rows.remove(idx);
        } else {
            rows[idx].sf_field = None;
        }
        Ok(old)
    }

    fn check_mapping(&self, object: SfObject, m: &FieldMapping) -> Result<(), ConfigError> {
        let attr = m.fno_attribute.as_str();
        let err = |rule, msg: String| ConfigError::new(object, attr, rule, msg);
        if !SfObject::MAPPED.contains(&object) {
            return Err(err(
                Rule::R18,
                format!("{object} has no field mappings; only Account, Contact, Opportunity and OpportunityLineItem are mapped"),
            ));
        }
        if attr.trim().is_empty() {
            return Err(err(Rule::R19, "the FNO attribute name is empty".into()));
        }
        if let Some(f) = &m.sf_field {
            if !valid_api_name(f) {
                return Err(err(
                    Rule::R19,
                    format!("'{f}' is not a Salesforce field API name"),
                ));
            }
            if self
                .writeback
                .fields_of(object)
                .iter()
                .any(|w| w.eq_ignore_ascii_case(f))
            {
                return Err(err(
                    Rule::R20,
                    format!(
                        "{object}.{f} is written back from FlexNet Operations and can never be pushed to it"
                    ),
                ));
            }
        }
        let existing = self.mapping(object).and_then(|om| om.get(attr));
        if let Some(e) = existing {
            if !e.editable && e.sf_field != m.sf_field {
                return Err(err(
                    Rule::R18,
                    format!("the mapping of '{attr}' on {object} is not editable"),
                ));
            }
            if e.is_custom() != m.is_custom() {
                return Err(err(
                    Rule::R19,
                    format!(
                        "'{attr}' on {object} is already mapped as a {} attribute; delete it first",
                        if e.is_custom() { "custom" } else { "standard" }
                    ),
                ));
            }
        }
        match m.kind {
            MappingKind::Standard => {
                let Some(&(_, _, required)) = standard_attributes(object)
                    .iter()
                    .find(|(a, _, _)| *a == attr)
                else {
                    return Err(err(
                        Rule::R19,
                        format!("'{attr}' is not a standard FlexNet Operations attribute of {object}; map it as a custom attribute"),
                    ));
                };
                if required && (m.sf_field.is_none() || !m.required) {
                    return Err(err(
                        Rule::R17,
                        format!(
                            "'{attr}' is a required attribute of {object} and must stay mapped"
                        ),
                    ));
                }
            }
            MappingKind::Custom { entity, .. } => {
                match entity.sobject() {
                    None => {
                        return Err(err(
                            Rule::R18,
                            format!("custom attributes of entity type '{}' are not supported; only account, user, entitlement and entitlement line are", entity.label()),
                        ))
                    }
                    Some(o) if o != object => {
                        return Err(err(
                            Rule::R18,
                            format!("a custom attribute of entity type '{}' maps to {o}, not {object}", entity.label()),
                        ))
                    }
                    Some(_) => {}
                }
                if !attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(err(
                        Rule::R18,
                        format!("'{attr}' is not a valid FNO custom attribute name (letters, digits and underscores only, matched exactly)"),
                    ));
                }
                if m.sf_field.is_none() {
                    return Err(err(
                        Rule::R19,
                        format!("the custom attribute '{attr}' needs a Salesforce field"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A stored or user-given configuration document: deserialised, then [`Config::validate`]d.
    /// The error lists every problem in one sentence list (`; `-separated).
    pub fn from_json(value: serde_json::Value) -> Result<Config, String> {
        let config: Config = serde_json::from_value(value).map_err(|e| e.to_string())?;
        config.validate().map_err(|errs| {
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        Ok(config)
    }

    /// Checks the whole configuration (e.g. after loading or a full replace through the
    /// admin API): every mapping as `set_mapping` would, every required standard row
    /// present (R17), at least one sync stage (R2). All problems, not just the first.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut errs = Vec::new();
        for (&object, om) in &self.mappings {
            let mut seen = std::collections::BTreeSet::new();
            for m in &om.fields {
                if !seen.insert(m.fno_attribute.as_str()) {
                    errs.push(ConfigError::new(
                        object,
                        &m.fno_attribute,
                        Rule::R19,
                        format!("'{}' is mapped twice on {object}", m.fno_attribute),
                    ));
                }
                // check against a config without this row so "existing" rules don't apply
                let mut other = self.clone();
                if let Some(o) = other.mappings.get_mut(&object) {
                    o.fields.retain(|r| r.fno_attribute != m.fno_attribute);
                }
                if let Err(e) = other.check_mapping(object, m) {
                    errs.push(e);
                }
            }
        }
        for object in SfObject::MAPPED {
            for &(attr, _, required) in standard_attributes(object) {
                let row = self.mapping(object).and_then(|m| m.get(attr));
                if required && row.and_then(|r| r.sf_field.as_ref()).is_none() {
                    errs.push(ConfigError::new(
                        object,
                        attr,
                        Rule::R17,
                        format!("'{attr}' is a required attribute of {object} and is not mapped"),
                    ));
                }
            }
        }
        if self.filters.sync_stages.iter().all(|s| s.trim().is_empty()) {
            errs.push(ConfigError::new(
                SfObject::Opportunity,
                "StageName",
                Rule::R2,
                "at least one sync stage is needed (default 'Closed Won')",
            ));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    /// Checks custom mappings against FNO's custom-attribute definitions (R18: the name must
    /// match exactly, the entity and type must match, the attribute must be active) and that
    /// every active, required FNO custom attribute of a supported entity is mapped (R17).
    pub fn validate_against(&self, defs: &[FnoAttributeDef]) -> Result<(), Vec<ConfigError>> {
        let mut errs = Vec::new();
        for (&object, om) in &self.mappings {
            for m in om.custom() {
                let MappingKind::Custom { entity, data_type } = m.kind else {
                    continue;
                };
                let e = |rule, msg: String| ConfigError::new(object, &m.fno_attribute, rule, msg);
                let same_entity = defs.iter().filter(|d| d.entity == entity);
                match same_entity.clone().find(|d| d.name == m.fno_attribute) {
                    None => {
                        let near = same_entity
                            .clone()
                            .find(|d| d.name.eq_ignore_ascii_case(m.fno_attribute.trim()))
                            .map(|d| format!("; did you mean '{}'?", d.name))
                            .unwrap_or_default();
                        errs.push(e(
                            Rule::R18,
                            format!(
                                "FlexNet Operations has no {} custom attribute named '{}'{near}",
                                entity.label(),
                                m.fno_attribute
                            ),
                        ));
                    }
                    Some(d) => {
                        if d.data_type != data_type {
                            errs.push(e(
                                Rule::R18,
                                format!(
                                    "custom attribute '{}' is {} in FlexNet Operations but mapped as {}",
                                    d.name,
                                    d.data_type.label(),
                                    data_type.label()
                                ),
                            ));
                        }
                        if !d.active {
                            errs.push(e(
                                Rule::R18,
                                format!(
                                    "custom attribute '{}' is inactive in FlexNet Operations",
                                    d.name
                                ),
                            ));
                        }
                    }
                }
            }
        }
        for d in defs.iter().filter(|d| d.required && d.active) {
            let Some(object) = d.entity.sobject() else {
                continue;
            };
            let mapped = self
                .mapping(object)
                .and_then(|m| m.get(&d.name))
                .is_some_and(|m| m.is_custom() && m.sf_field.is_some());
            if !mapped {
                errs.push(ConfigError::new(
                    object,
                    &d.name,
                    Rule::R17,
                    format!(
                        "FlexNet Operations requires the {} custom attribute '{}', but it is not mapped on {object}",
                        d.entity.label(),
                        d.name
                    ),
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }
}
