//! Salesforce records as the REST API returns them (shared/reference/salesforce-rest.md).
//!
//! Each record type keeps `Id` and the fields flexbridge uses by default (API names from
//! shared/reference/salesforce-fields.md) as typed `Option`s, plus **every other field** in
//! `other` (custom mappings may name any field). Rust field names are snake_case; the JSON
//! names are the Salesforce API names (`FirstName`, `FNO_Start_Date__c`, …).
//!
//! * `attributes {type, url}` is kept in [`Attributes`].
//! * Dates are `YYYY-MM-DD` ([`chrono::NaiveDate`]); date-times ([`SfDateTime`]) accept
//!   `2025-06-04T11:02:25.000+0000`, `…Z` and `…+00:00` and serialise in the first form.
//! * Parent relationships (`Product2` on a line item, `Account` on an opportunity) are
//!   `Option<Box<_>>`; child subqueries (`Contacts`, `Opportunities`, `OpportunityLineItems`)
//!   are `Option<QueryResult<_>>`; JSON `null` or absent → `None`.
//! * [`SfRecord::field`] reads any field by API name, including dotted parent paths such as
//!   `Product2.IsActive`, as a JSON value (`None` for absent or `null`).

use crate::error::SfObject;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `attributes` of every record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Attributes {
    #[serde(rename = "type")]
    pub sobject_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A SOQL query result or a child-relationship subquery: `{totalSize, done, records}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult<T> {
    #[serde(default)]
    pub total_size: u64,
    #[serde(default = "yes")]
    pub done: bool,
    #[serde(default = "Vec::new")]
    pub records: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_records_url: Option<String>,
}

fn yes() -> bool {
    true
}

impl<T> QueryResult<T> {
    pub fn new(records: Vec<T>) -> Self {
        QueryResult {
            total_size: records.len() as u64,
            done: true,
            records,
            next_records_url: None,
        }
    }
}

/// A Salesforce date-time (always UTC). Parses `2025-06-04T11:02:25.000+0000`, `…Z`,
/// `…+00:00` (and other offsets, converted to UTC); prints `2025-06-04T11:02:25.000+0000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SfDateTime(pub DateTime<Utc>);

impl SfDateTime {
    pub fn parse(s: &str) -> Option<SfDateTime> {
        if let Ok(d) = DateTime::parse_from_rfc3339(s) {
            return Some(SfDateTime(d.with_timezone(&Utc)));
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
            if let Ok(d) = DateTime::parse_from_str(s, fmt) {
                return Some(SfDateTime(d.with_timezone(&Utc)));
            }
        }
        None
    }

    /// The Salesforce REST form, `2025-06-04T11:02:25.000+0000`.
    pub fn to_sf_string(&self) -> String {
        self.0.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
    }
}

impl Serialize for SfDateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_sf_string())
    }
}

impl<'de> Deserialize<'de> for SfDateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SfDateTime::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not a Salesforce date-time: {s:?}")))
    }
}

/// Common access to a record: its id, its sObject, any field by API name.
pub trait SfRecord: Serialize {
    const SOBJECT: SfObject;
    fn id(&self) -> &str;
    /// The record as Salesforce JSON (API names; `null` for unset typed fields).
    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
    /// Any field by API name, incl. dotted parent paths (`Product2.IsActive`); `None` when
    /// absent or `null`. Exact name first, then case-insensitively (API names are
    /// case-insensitive in Salesforce).
    fn field(&self, path: &str) -> Option<Value> {
        get_path(&self.to_json(), path).cloned()
    }
}

/// A Salesforce record id: 15 or 18 ASCII letters and digits.
pub fn is_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The 18-character form of a Salesforce id: a 15-character id gets its case-checksum suffix
/// (one letter per 5-character chunk, bit i set when the chunk's i-th character is an
/// uppercase letter), so that ids compare equal whichever form a user typed (R23 accepts either form). Anything
/// else is returned as it is.
pub fn id18(id: &str) -> String {
    if id.len() != 15 || !is_id(id) {
        return id.to_owned();
    }
    const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut out = id.to_owned();
    for chunk in id.as_bytes().chunks(5) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        out.push(char::from(SUFFIX[bits]));
    }
    out
}

/// Walks a dotted API-name path in a record's JSON. `None` for absent or `null`.
pub fn get_path<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = record;
    for part in path.split('.') {
        let obj = cur.as_object()?;
        cur = match obj.get(part) {
            Some(v) => v,
            None => obj
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(part))
                .map(|(_, v)| v)?,
        };
    }
    if cur.is_null() {
        None
    } else {
        Some(cur)
    }
}

macro_rules! sf_record {
    ($t:ident, $obj:expr) => {
        impl SfRecord for $t {
            const SOBJECT: SfObject = $obj;
            fn id(&self) -> &str {
                &self.id
            }
        }
    };
}

/// `Account` (table 2-3, R9, R10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "Map<String, Value>")]
pub struct Account {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(rename = "Id", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    #[serde(
        rename = "BillingStreet",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub billing_street: Option<String>,
    #[serde(
        rename = "ShippingStreet",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_street: Option<String>,
    #[serde(
        rename = "ShippingCity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_city: Option<String>,
    #[serde(
        rename = "ShippingState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_state: Option<String>,
    #[serde(
        rename = "ShippingPostalCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_postal_code: Option<String>,
    #[serde(
        rename = "ShippingCountry",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_country: Option<String>,
    /// Picklist `End User` | `Channel Partner` (R9).
    #[serde(
        rename = "FNO_Account_Type__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_account_type: Option<String>,
    /// Written back (R10, R20).
    #[serde(
        rename = "FNO_Account_ID__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_account_id: Option<String>,
    #[serde(
        rename = "SystemModstamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub system_modstamp: Option<SfDateTime>,
    #[serde(
        rename = "LastModifiedDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified_date: Option<SfDateTime>,
    #[serde(rename = "Contacts", default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<QueryResult<Contact>>,
    #[serde(
        rename = "Opportunities",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub opportunities: Option<QueryResult<Opportunity>>,
    /// Every other field, by API name.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}
sf_record!(Account, SfObject::Account);

/// `Contact` (table 2-4, R11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "Map<String, Value>")]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(rename = "Id", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "AccountId", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(rename = "FirstName", default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "LastName", default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "Email", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        rename = "HasOptedOutOfEmail",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub has_opted_out_of_email: Option<bool>,
    #[serde(rename = "Phone", default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(rename = "Fax", default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    #[serde(
        rename = "MailingStreet",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mailing_street: Option<String>,
    #[serde(
        rename = "MailingCity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mailing_city: Option<String>,
    #[serde(
        rename = "MailingState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mailing_state: Option<String>,
    #[serde(
        rename = "MailingPostalCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mailing_postal_code: Option<String>,
    #[serde(
        rename = "MailingCountry",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mailing_country: Option<String>,
    #[serde(
        rename = "SystemModstamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub system_modstamp: Option<SfDateTime>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}
sf_record!(Contact, SfObject::Contact);

/// `Opportunity` (table 2-5, R1, R2, R12, R13, renewals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "Map<String, Value>")]
pub struct Opportunity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(rename = "Id", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "AccountId", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "StageName", default, skip_serializing_if = "Option::is_none")]
    pub stage_name: Option<String>,
    #[serde(rename = "IsWon", default, skip_serializing_if = "Option::is_none")]
    pub is_won: Option<bool>,
    #[serde(rename = "IsClosed", default, skip_serializing_if = "Option::is_none")]
    pub is_closed: Option<bool>,
    #[serde(rename = "CloseDate", default, skip_serializing_if = "Option::is_none")]
    pub close_date: Option<NaiveDate>,
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    #[serde(
        rename = "SystemModstamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub system_modstamp: Option<SfDateTime>,
    #[serde(
        rename = "LastModifiedDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified_date: Option<SfDateTime>,
    /// Picklist `Draft` | `Deployed` (R13).
    #[serde(
        rename = "FNO_Entitlement_State__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_entitlement_state: Option<String>,
    /// Lookup(Account): the end customer in a partner sale (R12).
    #[serde(
        rename = "FNO_SoldTo_Account__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_sold_to_account: Option<String>,
    #[serde(
        rename = "FNO_Ship_To_Email__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_ship_to_email: Option<String>,
    #[serde(
        rename = "FNO_Ship_To_Mail__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_ship_to_mail: Option<String>,
    /// Lookup(Opportunity): the opportunity this one renews.
    #[serde(
        rename = "FNO_Renewed_Opportunity__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_renewed_opportunity: Option<String>,
    /// Written back (R20).
    #[serde(
        rename = "FNO_Entitlement_ID__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_entitlement_id: Option<String>,
    #[serde(rename = "Account", default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Box<Account>>,
    #[serde(
        rename = "OpportunityLineItems",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub opportunity_line_items: Option<QueryResult<OpportunityLineItem>>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}
sf_record!(Opportunity, SfObject::Opportunity);

impl Opportunity {
    /// The nested line items (empty when the subquery was `null` or absent).
    pub fn line_items(&self) -> &[OpportunityLineItem] {
        self.opportunity_line_items
            .as_ref()
            .map(|q| q.records.as_slice())
            .unwrap_or(&[])
    }
}

/// `OpportunityLineItem` (table 2-6, R14–R16, R20).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "Map<String, Value>")]
pub struct OpportunityLineItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(rename = "Id", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(
        rename = "OpportunityId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub opportunity_id: Option<String>,
    #[serde(
        rename = "Product2Id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub product2_id: Option<String>,
    #[serde(
        rename = "ProductCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub product_code: Option<String>,
    /// A double in Salesforce (`10.0`).
    #[serde(rename = "Quantity", default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    #[serde(
        rename = "SystemModstamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub system_modstamp: Option<SfDateTime>,
    /// `Specify Value Now` | `Use First Activation Date` | `Use Each Activation Date` (R14).
    #[serde(
        rename = "FNO_Start_Date_Option__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_start_date_option: Option<String>,
    #[serde(
        rename = "FNO_Start_Date__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_start_date: Option<NaiveDate>,
    /// `Specify Duration` | `Permanent` | `Specify Expiration Date` (R15).
    #[serde(
        rename = "FNO_Expiration_Date_Option__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_expiration_date_option: Option<String>,
    #[serde(
        rename = "FNO_Expiration_Date__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_expiration_date: Option<NaiveDate>,
    #[serde(
        rename = "FNO_Expiration_Term__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_expiration_term: Option<f64>,
    /// `Days` | `Weeks` | `Months` | `Years` (R15).
    #[serde(
        rename = "FNO_Expiration_Term_Option__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_expiration_term_option: Option<String>,
    /// Written back (R20).
    #[serde(
        rename = "FNO_Activation_ID__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_activation_id: Option<String>,
    /// Written back (R20).
    #[serde(
        rename = "FNO_Remaining_Quantity__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_remaining_quantity: Option<f64>,
    #[serde(rename = "Product2", default, skip_serializing_if = "Option::is_none")]
    pub product2: Option<Box<Product2>>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}
sf_record!(OpportunityLineItem, SfObject::OpportunityLineItem);

/// `Product2` (R6, R7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "Map<String, Value>")]
pub struct Product2 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(rename = "Id", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        rename = "ProductCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub product_code: Option<String>,
    #[serde(rename = "IsActive", default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// "Include in FlexNet Operations Sync" (R6).
    #[serde(
        rename = "FNO_Include_In_Sync__c",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fno_include_in_sync: Option<bool>,
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}
sf_record!(Product2, SfObject::Product2);

/// Takes a typed field out of a record's JSON object. A value of the wrong type stays in
/// the map (and so in the record's `other`), where the mapper reports it with the field's
/// name instead of the whole record failing to deserialise.
fn take<T: serde::de::DeserializeOwned>(m: &mut Map<String, Value>, key: &str) -> Option<T> {
    let v = m.remove(key)?;
    if v.is_null() {
        return None;
    }
    match T::deserialize(&v) {
        Ok(t) => Some(t),
        Err(_) => {
            m.insert(key.to_owned(), v);
            None
        }
    }
}

impl From<Map<String, Value>> for Account {
    fn from(mut m: Map<String, Value>) -> Self {
        Account {
            attributes: take::<Attributes>(&mut m, "attributes"),
            id: take::<String>(&mut m, "Id").unwrap_or_default(),
            name: take::<String>(&mut m, "Name"),
            description: take::<String>(&mut m, "Description"),
            billing_street: take::<String>(&mut m, "BillingStreet"),
            shipping_street: take::<String>(&mut m, "ShippingStreet"),
            shipping_city: take::<String>(&mut m, "ShippingCity"),
            shipping_state: take::<String>(&mut m, "ShippingState"),
            shipping_postal_code: take::<String>(&mut m, "ShippingPostalCode"),
            shipping_country: take::<String>(&mut m, "ShippingCountry"),
            fno_account_type: take::<String>(&mut m, "FNO_Account_Type__c"),
            fno_account_id: take::<String>(&mut m, "FNO_Account_ID__c"),
            system_modstamp: take::<SfDateTime>(&mut m, "SystemModstamp"),
            last_modified_date: take::<SfDateTime>(&mut m, "LastModifiedDate"),
            contacts: take::<QueryResult<Contact>>(&mut m, "Contacts"),
            opportunities: take::<QueryResult<Opportunity>>(&mut m, "Opportunities"),
            other: m.into_iter().collect(),
        }
    }
}

impl From<Map<String, Value>> for Contact {
    fn from(mut m: Map<String, Value>) -> Self {
        Contact {
            attributes: take::<Attributes>(&mut m, "attributes"),
            id: take::<String>(&mut m, "Id").unwrap_or_default(),
            account_id: take::<String>(&mut m, "AccountId"),
            first_name: take::<String>(&mut m, "FirstName"),
            last_name: take::<String>(&mut m, "LastName"),
            email: take::<String>(&mut m, "Email"),
            name: take::<String>(&mut m, "Name"),
            has_opted_out_of_email: take::<bool>(&mut m, "HasOptedOutOfEmail"),
            phone: take::<String>(&mut m, "Phone"),
            fax: take::<String>(&mut m, "Fax"),
            mailing_street: take::<String>(&mut m, "MailingStreet"),
            mailing_city: take::<String>(&mut m, "MailingCity"),
            mailing_state: take::<String>(&mut m, "MailingState"),
            mailing_postal_code: take::<String>(&mut m, "MailingPostalCode"),
            mailing_country: take::<String>(&mut m, "MailingCountry"),
            system_modstamp: take::<SfDateTime>(&mut m, "SystemModstamp"),
            other: m.into_iter().collect(),
        }
    }
}

impl From<Map<String, Value>> for Opportunity {
    fn from(mut m: Map<String, Value>) -> Self {
        Opportunity {
            attributes: take::<Attributes>(&mut m, "attributes"),
            id: take::<String>(&mut m, "Id").unwrap_or_default(),
            account_id: take::<String>(&mut m, "AccountId"),
            name: take::<String>(&mut m, "Name"),
            stage_name: take::<String>(&mut m, "StageName"),
            is_won: take::<bool>(&mut m, "IsWon"),
            is_closed: take::<bool>(&mut m, "IsClosed"),
            close_date: take::<NaiveDate>(&mut m, "CloseDate"),
            description: take::<String>(&mut m, "Description"),
            system_modstamp: take::<SfDateTime>(&mut m, "SystemModstamp"),
            last_modified_date: take::<SfDateTime>(&mut m, "LastModifiedDate"),
            fno_entitlement_state: take::<String>(&mut m, "FNO_Entitlement_State__c"),
            fno_sold_to_account: take::<String>(&mut m, "FNO_SoldTo_Account__c"),
            fno_ship_to_email: take::<String>(&mut m, "FNO_Ship_To_Email__c"),
            fno_ship_to_mail: take::<String>(&mut m, "FNO_Ship_To_Mail__c"),
            fno_renewed_opportunity: take::<String>(&mut m, "FNO_Renewed_Opportunity__c"),
            fno_entitlement_id: take::<String>(&mut m, "FNO_Entitlement_ID__c"),
            account: take::<Box<Account>>(&mut m, "Account"),
            opportunity_line_items: take::<QueryResult<OpportunityLineItem>>(
                &mut m,
                "OpportunityLineItems",
            ),
            other: m.into_iter().collect(),
        }
    }
}

impl From<Map<String, Value>> for OpportunityLineItem {
    fn from(mut m: Map<String, Value>) -> Self {
        OpportunityLineItem {
            attributes: take::<Attributes>(&mut m, "attributes"),
            id: take::<String>(&mut m, "Id").unwrap_or_default(),
            opportunity_id: take::<String>(&mut m, "OpportunityId"),
            product2_id: take::<String>(&mut m, "Product2Id"),
            product_code: take::<String>(&mut m, "ProductCode"),
            quantity: take::<f64>(&mut m, "Quantity"),
            description: take::<String>(&mut m, "Description"),
            system_modstamp: take::<SfDateTime>(&mut m, "SystemModstamp"),
            fno_start_date_option: take::<String>(&mut m, "FNO_Start_Date_Option__c"),
            fno_start_date: take::<NaiveDate>(&mut m, "FNO_Start_Date__c"),
            fno_expiration_date_option: take::<String>(&mut m, "FNO_Expiration_Date_Option__c"),
            fno_expiration_date: take::<NaiveDate>(&mut m, "FNO_Expiration_Date__c"),
            fno_expiration_term: take::<f64>(&mut m, "FNO_Expiration_Term__c"),
            fno_expiration_term_option: take::<String>(&mut m, "FNO_Expiration_Term_Option__c"),
            fno_activation_id: take::<String>(&mut m, "FNO_Activation_ID__c"),
            fno_remaining_quantity: take::<f64>(&mut m, "FNO_Remaining_Quantity__c"),
            product2: take::<Box<Product2>>(&mut m, "Product2"),
            other: m.into_iter().collect(),
        }
    }
}

impl From<Map<String, Value>> for Product2 {
    fn from(mut m: Map<String, Value>) -> Self {
        Product2 {
            attributes: take::<Attributes>(&mut m, "attributes"),
            id: take::<String>(&mut m, "Id").unwrap_or_default(),
            name: take::<String>(&mut m, "Name"),
            product_code: take::<String>(&mut m, "ProductCode"),
            is_active: take::<bool>(&mut m, "IsActive"),
            fno_include_in_sync: take::<bool>(&mut m, "FNO_Include_In_Sync__c"),
            description: take::<String>(&mut m, "Description"),
            other: m.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id18_adds_the_case_checksum_to_15_character_ids() {
        assert_eq!(id18("001Wk0000000001"), "001Wk0000000001IAA");
        assert_eq!(id18("001Dm0000000003"), "001Dm0000000003IAA");
        assert_eq!(id18("001AB000003XyZq"), "001AB000003XyZqYAK");
        assert_eq!(id18("001Wk0000000001IAA"), "001Wk0000000001IAA");
        assert_eq!(id18("not-an-id"), "not-an-id");
    }

    #[test]
    fn ids_are_15_or_18_alphanumerics() {
        assert!(is_id("001Dm0000000001IAA"));
        assert!(is_id("001Dm0000000001"));
        assert!(!is_id("001Dm0000000001IA'"));
        assert!(!is_id("001' OR Id != '"));
        assert!(!is_id(""));
    }

    use serde_json::json;

    #[test]
    fn opportunity_with_nested_line_items_and_null_subquery() {
        let v = json!({
            "attributes": {"type": "Opportunity", "url": "/services/data/v62.0/sobjects/Opportunity/006A"},
            "Id": "006A", "AccountId": "001A", "StageName": "Closed Won",
            "CloseDate": "2025-06-30", "SystemModstamp": "2025-06-04T11:02:25.000+0000",
            "LastModifiedDate": "2025-06-04T11:02:25Z",
            "Custom_Field__c": 42,
            "Account": {"attributes": {"type": "Account"}, "Id": "001A", "Name": "Acme", "Contacts": null},
            "OpportunityLineItems": {"totalSize": 1, "done": true, "records": [
                {"attributes": {"type": "OpportunityLineItem"}, "Id": "00kA", "Quantity": 10.0,
                 "ProductCode": "AM_SF01", "FNO_Start_Date__c": "2025-07-01",
                 "Product2": {"Id": "01tA", "IsActive": true, "FNO_Include_In_Sync__c": true}}
            ]}
        });
        let o: Opportunity = serde_json::from_value(v).unwrap();
        assert_eq!(o.close_date, NaiveDate::from_ymd_opt(2025, 6, 30));
        assert_eq!(o.system_modstamp, o.last_modified_date);
        assert_eq!(o.line_items().len(), 1);
        assert_eq!(o.line_items()[0].quantity, Some(10.0));
        assert_eq!(o.other.get("Custom_Field__c"), Some(&json!(42)));
        assert!(o.account.as_ref().unwrap().contacts.is_none());
        let li = &o.line_items()[0];
        assert_eq!(li.field("Product2.IsActive"), Some(json!(true)));
        assert_eq!(li.field("product2.isactive"), Some(json!(true)));
        assert_eq!(li.field("FNO_Start_Date__c"), Some(json!("2025-07-01")));
        assert_eq!(li.field("Description"), None);
        assert_eq!(o.field("Custom_Field__c"), Some(json!(42)));
        assert_eq!(o.field("Account.Name"), Some(json!("Acme")));
    }

    #[test]
    fn date_times_in_three_forms() {
        let a = SfDateTime::parse("2025-06-04T11:02:25.000+0000").unwrap();
        let b = SfDateTime::parse("2025-06-04T11:02:25Z").unwrap();
        let c = SfDateTime::parse("2025-06-04T11:02:25+00:00").unwrap();
        let d = SfDateTime::parse("2025-06-04T13:02:25.000+0200").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert_eq!(a.to_sf_string(), "2025-06-04T11:02:25.000+0000");
        assert!(SfDateTime::parse("2025-06-04").is_none());
    }

    #[test]
    fn a_wrongly_typed_field_stays_in_other_instead_of_failing_the_record() {
        let v = json!({"Id": null, "FirstName": {"x": 1}, "LastName": "L", "HasOptedOutOfEmail": "maybe",
                       "SystemModstamp": "yesterday"});
        let c: Contact = serde_json::from_value(v).unwrap();
        assert_eq!(c.id, "");
        assert_eq!(c.first_name, None);
        assert_eq!(c.last_name.as_deref(), Some("L"));
        assert_eq!(c.other.get("FirstName"), Some(&json!({"x": 1})));
        assert_eq!(c.other.get("HasOptedOutOfEmail"), Some(&json!("maybe")));
        assert_eq!(c.other.get("SystemModstamp"), Some(&json!("yesterday")));
        // the raw value is what a field read sees, so the mapper reports it by name
        assert_eq!(c.field("FirstName"), Some(json!({"x": 1})));
        let back: Contact = serde_json::from_value(c.to_json()).unwrap();
        assert_eq!(back, c);
        // a record must still be a JSON object
        assert!(serde_json::from_value::<Contact>(json!([1, 2])).is_err());
    }

    #[test]
    fn record_round_trips_through_json() {
        let v = json!({"Id": "003A", "FirstName": "Ada", "LastName": "Lovelace",
                       "Email": "ada@example.com", "HasOptedOutOfEmail": false, "Extra__c": "x"});
        let c: Contact = serde_json::from_value(v).unwrap();
        let back: Contact = serde_json::from_value(c.to_json()).unwrap();
        assert_eq!(c, back);
        assert_eq!(back.other.get("Extra__c"), Some(&json!("x")));
    }
}
