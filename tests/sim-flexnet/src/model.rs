//! What the simulated tenant holds. The same serde shapes are the fixture's `flexnet` section
//! (input) and the state dump (`GET /__sim/state`), so a test writes and reads one format.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub type Attrs = BTreeMap<String, Value>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// Optional access token accepted as `Authorization: Bearer <token>` (FNO 2024.09+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Product {
    pub unique_id: String,
    pub name: String,
    pub version: Option<String>,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub part_numbers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_model: Option<String>,
    /// Further license models the product offers (a line item may name any of these or
    /// `licenseModel`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub license_models: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Account {
    pub unique_id: String,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// address1, address2, city, state, zipcode, country, region
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub address: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    pub custom_attributes: Attrs,
    pub created: Option<DateTime<Utc>>,
    pub last_modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct AccountRoles {
    pub account_id: String,
    pub roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<String>,
}

/// Optional simple user fields, in response (`userDetailDataType`) order where they appear.
pub const USER_TEXT_FIELDS: &[&str] = &[
    "displayName",
    "optIn",
    "phoneNumber",
    "faxNumber",
    "street",
    "city",
    "state",
    "zipcode",
    "country",
    "locale",
    "status",
    "timezone",
    "shared",
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    pub unique_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    pub can_login: bool,
    /// The optional simple fields of [`USER_TEXT_FIELDS`] that are set (element name →
    /// value), flattened into the user's JSON object.
    #[serde(flatten)]
    pub fields: BTreeMap<String, Value>,
    pub account_roles: Vec<AccountRoles>,
    pub custom_attributes: Attrs,
    pub created: Option<DateTime<Utc>>,
    pub last_modified: Option<DateTime<Utc>>,
}

impl User {
    /// Users are keyed by user name, else email (case-insensitive).
    pub fn key(&self) -> String {
        self.user_name
            .clone()
            .unwrap_or_else(|| self.email_address.clone())
            .to_lowercase()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Term {
    pub num_duration: i64,
    pub duration_unit: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LineItem {
    pub unique_id: String,
    pub activation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_model: Option<String>,
    /// `FNPTimeZoneValue`
    #[serde(rename = "FNPTimeZoneValue", skip_serializing_if = "Option::is_none")]
    pub fnp_time_zone_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_line_number: Option<String>,
    pub number_of_copies: i64,
    pub fulfilled_amount: i64,
    /// numberOfCopies − fulfilledAmount (kept current by the simulator).
    pub number_of_remaining_copies: i64,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date_option: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_permanent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<Term>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_date: Option<String>,
    /// `versionDateAttributes/versionOption`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_option: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_item_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_activation_id: Option<String>,
    pub custom_attributes: Attrs,
    pub created: Option<DateTime<Utc>>,
    pub last_modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ChannelPartner {
    pub tier_name: String,
    pub account_id: String,
    /// `contact`: the user's key (user name, else email).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_owner: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Entitlement {
    pub unique_id: String,
    pub entitlement_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub sold_to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_to_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_to_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_template_variation: Option<String>,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_portal_login: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channel_partners: Vec<ChannelPartner>,
    pub custom_attributes: Attrs,
    pub line_items: Vec<LineItem>,
    pub created: Option<DateTime<Utc>>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// A custom-attribute definition (`{entity, name, type, required, active}`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AttrDef {
    pub entity: String,
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub required: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Normalises entity / type spellings: "Entitlement Line", "entitlement_line", "lineItem" …
pub fn norm(s: &str) -> String {
    let n: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match n.as_str() {
        "entitlementline" | "entitlementlineitem" | "lineitem" => "lineitem".into(),
        "string" | "text" => "text".into(),
        "integer" | "number" => "number".into(),
        "bool" | "boolean" => "boolean".into(),
        _ => n,
    }
}

impl AttrDef {
    /// The `attributeDescriptorType` value element this definition's type uses.
    pub fn value_element(&self) -> &'static str {
        match norm(&self.data_type).as_str() {
            "number" => "integerValue",
            "boolean" => "booleanValue",
            "date" => "dateValue",
            _ => "stringValue",
        }
    }
}

/// The whole `flexnet` fixture section / state dump.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Tenant {
    pub credentials: Credentials,
    pub roles: Vec<String>,
    pub products: Vec<Product>,
    pub accounts: Vec<Account>,
    pub users: Vec<User>,
    pub entitlements: Vec<Entitlement>,
    pub custom_attributes: Vec<AttrDef>,
}

/// Roles a tenant has when the fixture names none (flexnet-soap.md §2.3 plus R11's role).
pub const DEFAULT_ROLES: &[&str] = &[
    "Portal Admin User",
    "Portal Administrative User",
    "Portal User",
    "Portal User Role",
    "Portal Admin User Role",
];
