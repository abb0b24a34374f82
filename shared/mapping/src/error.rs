//! Rule numbers and the typed rule-violation error.
//!
//! Every violation of a connector rule is a [`RuleError`]: the Salesforce record id, the
//! sObject, the field API name, the rule number ([`Rule`], shown as `R7`) and a sentence an
//! admin understands. `Display` is the sentence followed by ` (R7)`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The Salesforce objects the connector reads (and, for the first four, maps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SfObject {
    Account,
    Contact,
    Opportunity,
    OpportunityLineItem,
    Product2,
}

impl SfObject {
    /// The sObject API name, e.g. `OpportunityLineItem`.
    pub fn api_name(self) -> &'static str {
        match self {
            SfObject::Account => "Account",
            SfObject::Contact => "Contact",
            SfObject::Opportunity => "Opportunity",
            SfObject::OpportunityLineItem => "OpportunityLineItem",
            SfObject::Product2 => "Product2",
        }
    }

    /// The four objects that have field mappings (R17, R19).
    pub const MAPPED: [SfObject; 4] = [
        SfObject::Account,
        SfObject::Contact,
        SfObject::Opportunity,
        SfObject::OpportunityLineItem,
    ];
}

impl fmt::Display for SfObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.api_name())
    }
}

/// The connector's rules, numbered as in shared/reference/rules.md. `Display` gives `R7`;
/// serialises as `"R7"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Rule {
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    R16,
    R17,
    R18,
    R19,
    R20,
    R21,
    R22,
    R23,
    R24,
    R25,
    R26,
    R27,
    R28,
    R29,
    R30,
    R31,
    R32,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug of a fieldless variant is its name, which is exactly "R7".
        write!(f, "{self:?}")
    }
}

/// A rule violation on one Salesforce record. Display: `"<message> (R7)"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} ({rule})")]
pub struct RuleError {
    /// The Salesforce record id (18 characters; may be empty for a record without `Id`).
    pub record_id: String,
    pub sobject: SfObject,
    /// The field API name the problem is about (dotted for parent fields).
    pub field: String,
    pub rule: Rule,
    /// A sentence for an admin, without the trailing rule number.
    pub message: String,
}

impl RuleError {
    pub fn new(
        sobject: SfObject,
        record_id: impl Into<String>,
        field: impl Into<String>,
        rule: Rule,
        message: impl Into<String>,
    ) -> Self {
        RuleError {
            record_id: record_id.into(),
            sobject,
            field: field.into(),
            rule,
            message: message.into(),
        }
    }
}

/// An invalid mapping configuration or mapping edit (R17–R20). Display: `"<message> (R18)"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} ({rule})")]
pub struct ConfigError {
    pub object: SfObject,
    /// The FNO attribute name of the mapping concerned.
    pub fno_attribute: String,
    pub rule: Rule,
    pub message: String,
}

impl ConfigError {
    pub fn new(
        object: SfObject,
        fno_attribute: impl Into<String>,
        rule: Rule,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            object,
            fno_attribute: fno_attribute.into(),
            rule,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_displays_as_its_number_and_error_ends_with_it() {
        assert_eq!(Rule::R7.to_string(), "R7");
        assert_eq!(Rule::R32.to_string(), "R32");
        assert_eq!(serde_json::to_string(&Rule::R13).unwrap(), "\"R13\"");
        let e = RuleError::new(
            SfObject::OpportunityLineItem,
            "00k000000000001AAA",
            "ProductCode",
            Rule::R7,
            "ProductCode 'AM_SF01 ' does not match any deployed FNO part number",
        );
        assert_eq!(
            e.to_string(),
            "ProductCode 'AM_SF01 ' does not match any deployed FNO part number (R7)"
        );
    }
}
