//! R20: FNO results written back to Salesforce, only where they differ.

use crate::common::*;
use mapping::*;
use serde_json::json;

fn results() -> FnoResults {
    let mut r = FnoResults::default();
    r.account_ids.insert(ACC.into(), ACC.into());
    r.entitlements.insert(OPP.into(), "ENT-1".into());
    r.line_items.insert(
        LI.into(),
        LineItemResult {
            activation_id: Some("ACT-1".into()),
            remaining_copies: Some(10),
        },
    );
    r
}

#[test]
fn r20_writes_account_id_entitlement_id_activation_id_and_remaining_quantity() {
    let ups = writeback(&bundle(), &results(), &Config::default());
    let got: Vec<(SfObject, &str, serde_json::Value)> = ups
        .iter()
        .map(|u| (u.sobject, u.id.as_str(), json!(u.fields)))
        .collect();
    assert_eq!(
        got,
        vec![
            (SfObject::Account, ACC, json!({"FNO_Account_ID__c": ACC})),
            (
                SfObject::Opportunity,
                OPP,
                json!({"FNO_Entitlement_ID__c": "ENT-1"})
            ),
            (
                SfObject::OpportunityLineItem,
                LI,
                json!({"FNO_Activation_ID__c": "ACT-1", "FNO_Remaining_Quantity__c": 10})
            ),
        ]
    );
}

#[test]
fn r20_unchanged_values_are_not_written_again() {
    let mut b = bundle();
    with_account(&mut b, |a| a["FNO_Account_ID__c"] = json!(ACC));
    with_opportunity(&mut b, |o| o["FNO_Entitlement_ID__c"] = json!("ENT-1"));
    with_line_item(&mut b, |li| {
        li["FNO_Activation_ID__c"] = json!("ACT-1");
        li["FNO_Remaining_Quantity__c"] = json!(10.0);
    });
    assert_eq!(writeback(&b, &results(), &Config::default()), vec![]);
    // only the changed one
    let mut r = results();
    r.line_items.get_mut(LI).unwrap().remaining_copies = Some(7);
    let ups = writeback(&b, &r, &Config::default());
    assert_eq!(ups.len(), 1);
    assert_eq!(
        json!(ups[0].fields),
        json!({"FNO_Remaining_Quantity__c": 7})
    );
}

#[test]
fn r20_field_names_come_from_the_config_and_unknown_records_get_everything() {
    let mut cfg = Config::default();
    cfg.writeback.entitlement_id = "Ent_Id__c".into();
    let mut r = FnoResults::default();
    r.entitlements.insert(OPP.into(), "ENT-1".into());
    r.entitlements
        .insert("006Z00000000000AAA".into(), "ENT-2".into());
    let ups = writeback(&bundle(), &r, &cfg);
    assert_eq!(ups.len(), 2);
    assert_eq!(json!(ups[0].fields), json!({"Ent_Id__c": "ENT-1"}));
    assert_eq!(ups[1].id, "006Z00000000000AAA");
}
