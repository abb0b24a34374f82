//! Fixture builders: real Salesforce REST JSON, deserialised through the crate's types.
#![allow(dead_code)]

use mapping::fno::State;
use mapping::*;
use serde_json::{json, Value};

pub const ACC: &str = "001A0000000001AAAA";
pub const ACC_END: &str = "001A0000000002AAAA";
pub const CON: &str = "003A0000000001AAAA";
pub const CON2: &str = "003A0000000002AAAA";
pub const OPP: &str = "006A0000000001AAAA";
pub const OPP2: &str = "006A0000000002AAAA";
pub const LI: &str = "00kA0000000001AAAA";
pub const LI2: &str = "00kA0000000002AAAA";
pub const PROD: &str = "01tA0000000001AAAA";

pub fn account_json(id: &str, name: &str) -> Value {
    json!({
        "attributes": {"type": "Account", "url": format!("/services/data/v62.0/sobjects/Account/{id}")},
        "Id": id, "Name": name, "Description": "A customer",
        "BillingStreet": "1 Main St", "ShippingStreet": "Suite 2", "ShippingCity": "Springfield",
        "ShippingState": "IL", "ShippingPostalCode": "62701", "ShippingCountry": "United States",
        "FNO_Account_Type__c": "End User", "FNO_Account_ID__c": null,
        "SystemModstamp": "2025-06-04T11:02:25.000+0000"
    })
}

pub fn contact_json(id: &str) -> Value {
    json!({
        "attributes": {"type": "Contact"},
        "Id": id, "AccountId": ACC, "FirstName": "Ada", "LastName": "Lovelace",
        "Email": "ada@example.com", "Name": "Ada Lovelace", "HasOptedOutOfEmail": false,
        "Phone": "+1 555 0100", "Fax": null, "MailingStreet": "1 Main St", "MailingCity": "Springfield",
        "MailingState": "IL", "MailingPostalCode": "62701", "MailingCountry": "United States"
    })
}

pub fn product_json(id: &str, code: &str) -> Value {
    json!({"attributes": {"type": "Product2"}, "Id": id, "Name": format!("Product {code}"),
           "ProductCode": code, "IsActive": true, "FNO_Include_In_Sync__c": true})
}

pub fn line_item_json(id: &str, code: &str, qty: f64) -> Value {
    json!({
        "attributes": {"type": "OpportunityLineItem"},
        "Id": id, "OpportunityId": OPP, "Product2Id": PROD, "ProductCode": code, "Quantity": qty,
        "Description": "line", "FNO_Start_Date_Option__c": "Use First Activation Date",
        "FNO_Start_Date__c": null, "FNO_Expiration_Date_Option__c": "Specify Duration",
        "FNO_Expiration_Date__c": null, "FNO_Expiration_Term__c": 1.0,
        "FNO_Expiration_Term_Option__c": "Months", "FNO_Activation_ID__c": null,
        "FNO_Remaining_Quantity__c": null,
        "Product2": product_json(PROD, code)
    })
}

pub fn opportunity_json(id: &str, stage: &str, items: Vec<Value>) -> Value {
    json!({
        "attributes": {"type": "Opportunity"},
        "Id": id, "AccountId": ACC, "Name": "Deal", "StageName": stage, "IsWon": stage == "Closed Won",
        "IsClosed": true, "CloseDate": "2025-06-30", "Description": "Big deal",
        "SystemModstamp": "2025-06-04T11:02:25.000+0000",
        "FNO_Entitlement_State__c": null, "FNO_SoldTo_Account__c": null,
        "FNO_Ship_To_Email__c": "ship@example.com", "FNO_Ship_To_Mail__c": null,
        "FNO_Renewed_Opportunity__c": null, "FNO_Entitlement_ID__c": null,
        "OpportunityLineItems": if items.is_empty() { Value::Null } else {
            json!({"totalSize": items.len(), "done": true, "records": items})
        }
    })
}

pub fn rec<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("fixture deserialises")
}

/// One account, one contact, one Closed Won opportunity with one valid line item.
pub fn bundle() -> AccountBundle {
    AccountBundle {
        account: rec(account_json(ACC, "Acme")),
        contacts: vec![rec(contact_json(CON))],
        opportunities: vec![rec(opportunity_json(
            OPP,
            "Closed Won",
            vec![line_item_json(LI, "AM_SF01", 10.0)],
        ))],
        ..Default::default()
    }
}

pub fn catalogue() -> Catalogue {
    let mut c = Catalogue::default();
    c.insert("AM_SF01", "AM_Product-SF01", Some("1.0"), State::Deployed);
    c.insert(
        "AM_SFDC_1",
        "AM_SFDC_Product1",
        Some("1.0"),
        State::Deployed,
    );
    c.insert("DRAFT_1", "Draft product", Some("2.0"), State::Draft);
    c
}

pub fn plan(b: &AccountBundle) -> AccountPlan {
    plan_account(b, &catalogue(), &Config::default())
}

/// The single sales order's outcome.
pub fn order(p: &AccountPlan) -> &Result<SalesOrder, Vec<RuleError>> {
    assert_eq!(p.sales_orders.len(), 1, "{p:#?}");
    &p.sales_orders[0].outcome
}

pub fn entitlement(p: &AccountPlan) -> (&fno::Entitlement, &fno::StateChange) {
    match order(p) {
        Ok(SalesOrder::Entitlement { entitlement, state }) => (entitlement, state),
        other => panic!("expected an entitlement, got {other:#?}"),
    }
}

pub fn errors(p: &AccountPlan) -> &Vec<RuleError> {
    match order(p) {
        Err(e) => e,
        Ok(o) => panic!("expected errors, got {o:#?}"),
    }
}

fn edit<T: serde::Serialize + serde::de::DeserializeOwned>(r: &mut T, f: impl FnOnce(&mut Value)) {
    let mut v = serde_json::to_value(&*r).unwrap();
    f(&mut v);
    *r = rec(v);
}

/// Edits the first line item of the first opportunity as JSON.
pub fn with_line_item(b: &mut AccountBundle, f: impl FnOnce(&mut Value)) {
    let li = &mut b.opportunities[0]
        .opportunity_line_items
        .as_mut()
        .unwrap()
        .records[0];
    edit(li, f);
}

pub fn with_opportunity(b: &mut AccountBundle, f: impl FnOnce(&mut Value)) {
    edit(&mut b.opportunities[0], f);
}

pub fn with_account(b: &mut AccountBundle, f: impl FnOnce(&mut Value)) {
    edit(&mut b.account, f);
}

pub fn with_contact(b: &mut AccountBundle, f: impl FnOnce(&mut Value)) {
    edit(&mut b.contacts[0], f);
}

/// The errors naming a rule.
pub fn of_rule(errs: &[RuleError], rule: Rule) -> Vec<&RuleError> {
    errs.iter().filter(|e| e.rule == rule).collect()
}
