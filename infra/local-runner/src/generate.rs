//! Generated orgs of issue 12's shape, for the bench (`benches/sync.rs`) and tests: N accounts,
//! each with 3 contacts and 2 Closed Won opportunities of 3 line items, over 20 products that
//! exist, active and flagged, in Salesforce (Product2) and, deployed under the same part
//! numbers, in the FNO tenant — so every order can really be pushed. The result is an ordinary
//! fixture (`tests/fixtures/README.md`); nothing about the format is special here.

use serde_json::{json, Value};

/// Contacts per account.
pub const CONTACTS_PER_ACCOUNT: usize = 3;
/// Closed Won opportunities (sales orders) per account.
pub const ORDERS_PER_ACCOUNT: usize = 2;
/// Line items per opportunity.
pub const LINES_PER_ORDER: usize = 3;
/// Products in the org and the tenant.
pub const PRODUCTS: usize = 20;

/// The fixture's `now` (the run's clock); every record was last changed days before it.
pub const NOW: &str = "2026-11-20T09:00:00Z";
const ACCOUNT_STAMP: &str = "2026-10-01T09:00:00.000+0000";
const CONTACT_STAMP: &str = "2026-10-15T09:00:00.000+0000";
const ORDER_STAMP: &str = "2026-11-10T09:00:00.000+0000";
const PRODUCT_STAMP: &str = "2026-09-01T09:00:00.000+0000";

pub const FNO_USERNAME: &str = "flexbridge-bench";
pub const FNO_PASSWORD: &str = "bench-fno-password";

/// An 18-character Salesforce id: `{prefix}Bn{n:010}IAA` (the suffix is the checksum of the
/// one upper-case letter in the first five characters; digits do not change it).
pub fn sfid(prefix: &str, n: usize) -> String {
    format!("{prefix}Bn{n:010}IAA")
}

/// The part number (= Salesforce ProductCode) of product `p`.
pub fn part_number(p: usize) -> String {
    format!("BN-PART-{p:02}")
}

/// The org and tenant: `accounts` accounts of 3 contacts and 2 orders of 3 lines each.
pub fn org(accounts: usize) -> Value {
    let mut sf_products = Vec::with_capacity(PRODUCTS);
    let mut fno_products = Vec::with_capacity(PRODUCTS);
    for p in 0..PRODUCTS {
        sf_products.push(json!({
            "Id": sfid("01t", p), "Name": format!("Bench Product {p:02}"),
            "ProductCode": part_number(p), "IsActive": true, "FNO_Include_In_Sync__c": true,
            "SystemModstamp": PRODUCT_STAMP,
        }));
        fno_products.push(json!({
            "name": format!("Bench Product {p:02}"), "version": "1.0", "state": "DEPLOYED",
            "partNumbers": [part_number(p)], "licenseModel": "Embedded Counted",
        }));
    }
    let mut account_rows = Vec::with_capacity(accounts);
    let mut contacts = Vec::with_capacity(accounts * CONTACTS_PER_ACCOUNT);
    let mut opps = Vec::with_capacity(accounts * ORDERS_PER_ACCOUNT);
    let mut lines = Vec::with_capacity(accounts * ORDERS_PER_ACCOUNT * LINES_PER_ORDER);
    for a in 0..accounts {
        let acc = sfid("001", a);
        account_rows.push(json!({
            "Id": acc, "Name": format!("Bench Account {a:05}"),
            "FNO_Account_Type__c": "End User", "FNO_Account_ID__c": null,
            "ShippingCity": "Austin", "ShippingCountry": "US", "SystemModstamp": ACCOUNT_STAMP,
        }));
        for c in 0..CONTACTS_PER_ACCOUNT {
            let n = a * CONTACTS_PER_ACCOUNT + c;
            contacts.push(json!({
                "Id": sfid("003", n), "AccountId": acc, "FirstName": format!("Contact{c}"),
                "LastName": format!("Account{a:05}"),
                "Email": format!("contact{c}.account{a:05}@bench.example"),
                "HasOptedOutOfEmail": false, "SystemModstamp": CONTACT_STAMP,
            }));
        }
        for o in 0..ORDERS_PER_ACCOUNT {
            let on = a * ORDERS_PER_ACCOUNT + o;
            let opp = sfid("006", on);
            opps.push(json!({
                "Id": opp, "AccountId": acc, "Name": format!("Bench order {on:06}"),
                "StageName": "Closed Won", "CloseDate": "2026-11-09",
                "SystemModstamp": ORDER_STAMP, "FNO_Entitlement_State__c": null,
                "FNO_SoldTo_Account__c": null, "FNO_Renewed_Opportunity__c": null,
                "FNO_Entitlement_ID__c": null,
            }));
            for l in 0..LINES_PER_ORDER {
                let ln = on * LINES_PER_ORDER + l;
                // consecutive products: the three lines of an order differ
                let p = ln % PRODUCTS;
                lines.push(json!({
                    "Id": sfid("00k", ln), "OpportunityId": opp, "Product2Id": sfid("01t", p),
                    "ProductCode": part_number(p), "Quantity": (1 + ln % 25) as f64,
                    "SystemModstamp": ORDER_STAMP,
                    "FNO_Start_Date_Option__c": "Use First Activation Date",
                    "FNO_Expiration_Date_Option__c": "Permanent",
                    "FNO_Activation_ID__c": null, "FNO_Remaining_Quantity__c": null,
                }));
            }
        }
    }
    json!({
        "now": NOW,
        "salesforce": {
            "Account": account_rows, "Contact": contacts, "Product2": sf_products,
            "Opportunity": opps, "OpportunityLineItem": lines,
        },
        "flexnet": {
            "credentials": {"username": FNO_USERNAME, "password": FNO_PASSWORD},
            "roles": ["Portal Admin User", "Portal User"],
            "products": fno_products,
            "accounts": [], "users": [], "entitlements": [], "customAttributes": [],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(v: &Value, sobject: &str) -> usize {
        v["salesforce"][sobject].as_array().map_or(0, Vec::len)
    }

    #[test]
    fn the_org_has_the_issues_shape_and_unique_ids() {
        let v = org(7);
        assert_eq!(len(&v, "Account"), 7);
        assert_eq!(len(&v, "Contact"), 21);
        assert_eq!(len(&v, "Opportunity"), 14);
        assert_eq!(len(&v, "OpportunityLineItem"), 42);
        assert_eq!(len(&v, "Product2"), 20);
        let mut ids = std::collections::BTreeSet::new();
        for (_, rows) in v["salesforce"].as_object().unwrap() {
            for r in rows.as_array().unwrap() {
                let id = r["Id"].as_str().unwrap();
                assert_eq!(id.len(), 18, "{id}");
                assert!(ids.insert(id.to_owned()), "duplicate id {id}");
            }
        }
        // every line item's product is in the org and deployed in FNO under its ProductCode
        let parts: Vec<&str> = v["flexnet"]["products"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["state"] == "DEPLOYED")
            .map(|p| p["partNumbers"][0].as_str().unwrap())
            .collect();
        for li in v["salesforce"]["OpportunityLineItem"].as_array().unwrap() {
            assert!(parts.contains(&li["ProductCode"].as_str().unwrap()), "{li}");
            assert!(ids.contains(li["Product2Id"].as_str().unwrap()), "{li}");
        }
    }
}
