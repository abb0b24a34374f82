//! FNO-side request models: what the connector asks FlexNet Operations to do, as plain Rust
//! types. The `flexnet` crate renders them to SOAP XML (element names in comments; see
//! ../shared/reference/flexnet-soap.md and the WSDLs) and parses responses.
//!
//! Field order here follows the WSDL's `xsd:sequence` order so the renderer can walk it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// `AcctType` (UAH v3). R9: End User → CUSTOMER, Channel Partner → CHANNEL_PARTNER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountType {
    Customer,
    ChannelPartner,
    SelfRegistered,
    Publisher,
    /// Shown by FNO for accounts without a standard type; never sent on create.
    Unknown,
}

/// `CreateOrUpdateOperationType`: the optional trailing `opType` of create calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OpType {
    CreateOrUpdate,
    CreateOrIgnore,
}

/// `StateType` (EOS v4 / PPS v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Draft,
    Active,
    Inactive,
    Deployed,
    Obsolete,
    Test,
    OnHold,
}

/// `StartDateOptionType` (R14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StartDateOption {
    DefineNow,
    DefineAtFirstActivation,
    DefineAtEachActivation,
    DefineActdateAtFirstActivation,
    DefineActdateAtEachActivation,
}

/// `durationUnit` of `term` (R15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DurationUnit {
    Days,
    Weeks,
    Months,
    Years,
}

/// R15, rendered as `isPermanent` / `term{numDuration,durationUnit}` / `expirationDate`
/// ("If isPermanent is true, do not set term or expirationDate. If false, set term or
/// expirationDate, but not both.").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expiration {
    Permanent,
    Term {
        num_duration: u32,
        unit: DurationUnit,
    },
    Date {
        date: NaiveDate,
    },
}

/// `lineItemType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineItemType {
    Upgrade,
    Upsell,
    Renewal,
}

/// A custom-attribute value (`attribute{attributeName, stringValue|dateValue|booleanValue|
/// integerValue}`), R18.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AttributeValue {
    /// Text and Long Text → `stringValue`.
    String(String),
    /// Number → `integerValue`.
    Integer(i64),
    /// Boolean → `booleanValue`.
    Boolean(bool),
    /// Date → `dateValue` (xsd:date).
    Date(NaiveDate),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attribute {
    /// Must equal the FNO attribute name exactly (R18).
    pub name: String,
    pub value: AttributeValue,
}

/// `address` of `accountDataType`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zipcode: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
}

/// `createAcctRequest/account` (UAH v3, `accountDataType`). R9, R10.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Account {
    /// `id`: the FNO account id (R10: the Salesforce Account Id unless mapped otherwise).
    pub id: String,
    /// `name`
    pub name: String,
    pub description: Option<String>,
    pub address: Option<Address>,
    pub visible: Option<bool>,
    pub account_type: Option<AccountType>,
    /// `customAttributes`
    pub attributes: Vec<Attribute>,
}

/// `acctRolesList/acctRoles`: the user's roles on one account (R11).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountRoles {
    /// FNO account id (`account/primaryKeys/id`).
    pub account_id: String,
    /// Role names (`roles/role/primaryKeys/name`), e.g. "Portal Admin User".
    pub roles: Vec<String>,
}

/// `createUserRequest/user` (UAH v3, `createUserDataType`), from a Contact (R11, table 2-4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    pub first_name: String,
    pub last_name: String,
    pub display_name: Option<String>,
    pub email_address: String,
    pub opt_in: Option<bool>,
    pub phone_number: Option<String>,
    pub fax_number: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zipcode: Option<String>,
    pub country: Option<String>,
    pub locale: Option<String>,
    /// `canLogin` (required by the schema).
    pub can_login: bool,
    /// `userName`: the email address when `can_login`.
    pub user_name: Option<String>,
    /// `status`: "Active" | "Inactive".
    pub status: Option<String>,
    pub timezone: Option<String>,
    pub account_roles: Vec<AccountRoles>,
    pub attributes: Vec<Attribute>,
}

/// `createEntitlementLineItemDataType`: one entitlement line item, from an
/// OpportunityLineItem (R14–R16, table 2-6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineItem {
    /// `activationId`: `None` → `<autoGenerate>true</autoGenerate>` (FNO assigns one);
    /// `Some(id)` → that id (used on re-sync of a line item FNO already knows).
    pub activation_id: Option<String>,
    pub description: Option<String>,
    /// `partNumber/primaryKeys/partId` = ProductCode (R16, R7).
    pub part_number: String,
    /// `licenseModel/primaryKeys/name` (table 2-6 `licenseModel`; unmapped by default: FNO
    /// uses the product's license model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_model: Option<String>,
    /// `FNPTimeZoneValue` (table 2-6): the name of a PROD_FNP_TIMEZONE entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fnp_time_zone_value: Option<String>,
    /// `orderId`: the Salesforce Opportunity Id (stable key).
    pub order_id: Option<String>,
    /// `orderLineNumber`: the Salesforce OpportunityLineItem Id (stable key).
    pub order_line_number: Option<String>,
    /// `numberOfCopies` = Quantity (R16).
    pub number_of_copies: u32,
    /// `startDate` (R14: only with DEFINE_NOW).
    pub start_date: Option<NaiveDate>,
    pub start_date_option: Option<StartDateOption>,
    /// R15 → `isPermanent` / `term` / `expirationDate`.
    pub expiration: Option<Expiration>,
    /// `versionDate` (table 2-6 `versiondate`, xsd:date), sent with
    /// `versionDateAttributes/versionOption` = DEFINE_NOW.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_date: Option<NaiveDate>,
    /// RENEWAL for renewal opportunities.
    pub line_item_type: Option<LineItemType>,
    /// For a renewal: the activation id of the line item being renewed, when known.
    pub parent_activation_id: Option<String>,
    /// `lineItemAttributes`
    pub attributes: Vec<Attribute>,
}

/// The `tierName` constant of FNO's End Customer tier (the tier `soldTo` is put in).
pub const END_CUSTOMER_TIER: &str = "bo.constants.partnertiernames.endcustomer";

/// `channelPartners/channelPartner` (R12; the entitlement owner of table 2-5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChannelPartner {
    /// `tierName`, e.g. [`END_CUSTOMER_TIER`] or a configured tier.
    pub tier_name: String,
    /// `accountUnit/primaryKeys/id`
    pub account_id: String,
    /// `contact/userName`: the FNO user name of the owner contact (`EntitlementOwnerContact`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// `currentOwner`: `Some(true)` on the entitlement owner (`EntitlementOwnerAccount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_owner: Option<bool>,
}

/// `createSimpleEntitlementRequest/simpleEntitlement` (EOS v4), from an Opportunity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entitlement {
    /// `entitlementId/id` (explicit; the Salesforce Opportunity Id by default).
    pub entitlement_id: String,
    pub description: Option<String>,
    /// `soldTo`: FNO account id of the end customer (R12).
    pub sold_to: String,
    pub ship_to_email: Option<String>,
    pub ship_to_address: Option<String>,
    pub email_template_variation: Option<String>,
    pub line_items: Vec<LineItem>,
    pub channel_partners: Vec<ChannelPartner>,
    /// `entitlementAttributes`
    pub attributes: Vec<Attribute>,
}

/// `setEntitlementStateRequest/entitlement` (R13).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StateChange {
    pub entitlement_id: String,
    pub state: State,
}

/// `createEntitlementLineItemRequest`: add line items to an existing entitlement (renewals).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddLineItems {
    pub entitlement_id: String,
    pub line_items: Vec<LineItem>,
}
