//! Issue 14 item 6: the five default rows of the guide's tables 2-5/2-6 that it leaves
//! unmapped (`EntitlementOwnerAccount`, `EntitlementOwnerContact`, `FNPTimeZoneValue`,
//! `licenseModel`, `versiondate`), mapped to custom Salesforce fields and synced: FNO holds
//! the values. Unmapped, the same fields are not pushed; a bad value is a Failed entry that
//! names the field and the rule.

use e2e::{entitlement, fixture, quiet_stack, tenant, with_record};
use engine::ports::LogStatus;
use mapping::{Config, FieldMapping, SfObject};
use serde_json::{json, Value};

const ACC: &str = "001Wk0000000001IAA";
const CON: &str = "003Wk0000000001IAA";
const OPP: &str = "006Wk0000000001IAA";
const OLI: &str = "00kWk0000000001IAA";
const EMAIL: &str = "demo.sf-testuser@example.com";

/// The walkthrough with the five custom fields filled in on its Opportunity and line item,
/// and a second license model offered by its product.
fn enriched(version_date: &str) -> Value {
    let mut fx = fixture("walkthrough.json");
    fx["flexnet"]["products"][0]["licenseModels"] = json!(["Embedded Uncounted"]);
    let fx = with_record(&fx, "Opportunity", OPP, |o| {
        o["FNO_Owner_Account__c"] = json!(ACC);
        o["FNO_Owner_Contact__c"] = json!(CON);
    });
    let version_date = version_date.to_owned();
    with_record(&fx, "OpportunityLineItem", OLI, move |l| {
        l["FNO_License_Model__c"] = json!("Embedded Uncounted");
        l["FNO_Time_Zone__c"] = json!("Europe/Berlin");
        l["FNO_Version_Date__c"] = json!(version_date);
    })
}

fn mapped() -> Config {
    let mut c = Config::default();
    for (object, attr, field) in [
        (
            SfObject::Opportunity,
            "EntitlementOwnerAccount",
            "FNO_Owner_Account__c",
        ),
        (
            SfObject::Opportunity,
            "EntitlementOwnerContact",
            "FNO_Owner_Contact__c",
        ),
        (
            SfObject::OpportunityLineItem,
            "FNPTimeZoneValue",
            "FNO_Time_Zone__c",
        ),
        (
            SfObject::OpportunityLineItem,
            "licenseModel",
            "FNO_License_Model__c",
        ),
        (
            SfObject::OpportunityLineItem,
            "versiondate",
            "FNO_Version_Date__c",
        ),
    ] {
        c.set_mapping(object, FieldMapping::standard(attr, Some(field), false))
            .expect("the row can be mapped");
    }
    c
}

#[tokio::test]
async fn r12_r17_mapped_default_rows_are_pushed_and_fno_holds_them() {
    let stack = quiet_stack(&enriched("2026-12-01"), Some(mapped())).await;
    stack.engine().unwrap().run_scheduled().await.unwrap();
    let fno = tenant(&stack);
    let e = entitlement(&fno, OPP).expect("entitlement created");
    let li = &e["lineItems"][0];
    assert_eq!(li["licenseModel"], "Embedded Uncounted", "{li}");
    assert_eq!(li["FNPTimeZoneValue"], "Europe/Berlin", "{li}");
    assert_eq!(li["versionDate"], "2026-12-01", "{li}");
    assert_eq!(li["versionOption"], "DEFINE_NOW", "{li}");
    // the owner: the Opportunity's Account (here also the end customer), with its contact's user
    assert_eq!(
        e["channelPartners"],
        json!([{"tierName": "bo.constants.partnertiernames.endcustomer", "accountId": ACC,
                "contact": EMAIL, "currentOwner": true}]),
        "{e}"
    );
    stack.stop();
}

#[tokio::test]
async fn unmapped_the_same_fields_are_not_pushed() {
    let stack = quiet_stack(&enriched("2026-12-01"), None).await;
    stack.engine().unwrap().run_scheduled().await.unwrap();
    let fno = tenant(&stack);
    let e = entitlement(&fno, OPP).expect("entitlement created");
    let li = &e["lineItems"][0];
    assert_eq!(
        li["licenseModel"], "Embedded Counted",
        "the product's: {li}"
    );
    for key in ["FNPTimeZoneValue", "versionDate", "versionOption"] {
        assert!(li.get(key).is_none(), "{key} in {li}");
    }
    assert!(e.get("channelPartners").is_none(), "{e}");
    stack.stop();
}

#[tokio::test]
async fn r17_a_version_date_that_is_not_a_date_fails_the_order_naming_the_field() {
    let stack = quiet_stack(&enriched("next spring"), Some(mapped())).await;
    let report = stack.engine().unwrap().run_scheduled().await.unwrap();
    assert!(
        entitlement(&tenant(&stack), OPP).is_none(),
        "nothing pushed"
    );
    let failed: Vec<_> = report
        .accounts
        .iter()
        .flat_map(|a| &a.entries)
        .filter(|e| e.status == LogStatus::Failed)
        .collect();
    assert!(
        failed.iter().any(|e| e.reason.as_deref().is_some_and(|r| {
            r.contains("FNO_Version_Date__c") && r.contains("next spring") && r.contains("(R17)")
        })),
        "a Failed entry names the field, the value and R17: {failed:#?}"
    );
    stack.stop();
}
