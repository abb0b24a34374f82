//! The five default rows of tables 2-5/2-6 the guide leaves unmapped: `EntitlementOwnerAccount`,
//! `EntitlementOwnerContact` (Opportunity), `FNPTimeZoneValue`, `licenseModel`, `versiondate`
//! (OpportunityLineItem). Unmapped by default (nothing changes); mapped, they are pushed.

use crate::common::*;
use chrono::NaiveDate;
use mapping::fno;
use mapping::*;
use serde_json::json;

const OWNER_ROWS: [(SfObject, &str, &str); 5] = [
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
];

/// The default configuration with all five rows mapped.
fn mapped() -> Config {
    let mut c = Config::default();
    for (object, attr, field) in OWNER_ROWS {
        c.set_mapping(object, FieldMapping::standard(attr, Some(field), false))
            .unwrap();
    }
    c
}

fn plan_with(b: &AccountBundle, c: &Config) -> AccountPlan {
    plan_account(b, &catalogue(), c)
}

fn the_line(p: &AccountPlan) -> fno::LineItem {
    entitlement(p).0.line_items[0].clone()
}

#[test]
fn r17_r19_the_five_rows_are_unmapped_by_default_and_can_be_mapped() {
    let d = Config::default();
    for (object, attr, _) in OWNER_ROWS {
        let row = d.mapping(object).unwrap().get(attr).unwrap();
        assert_eq!(
            row.sf_field, None,
            "{attr} is unmapped in the guide's table"
        );
        assert!(!row.required, "{attr} is optional");
    }
    let c = mapped();
    c.validate().unwrap();
    // stored and loaded back as JSON (the admin API's path)
    let back = Config::from_json(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    for (object, attr, field) in OWNER_ROWS {
        assert_eq!(back.sf_field(object, attr), Some(field));
        assert!(back.fields_to_read(object).contains(field), "{field} read");
    }
    // and cleared again like any optional standard row (R19)
    let mut c = c;
    c.delete_mapping(SfObject::Opportunity, "EntitlementOwnerAccount")
        .unwrap();
    assert_eq!(
        c.sf_field(SfObject::Opportunity, "EntitlementOwnerAccount"),
        None
    );
}

#[test]
fn unmapped_rows_leave_orders_and_their_fingerprints_as_before() {
    let p = plan(&bundle());
    let (ent, _) = entitlement(&p);
    let line = &ent.line_items[0];
    assert_eq!(
        (
            &line.license_model,
            &line.fnp_time_zone_value,
            line.version_date
        ),
        (&None, &None, None)
    );
    assert!(ent.channel_partners.is_empty());
    // the order's JSON (and so its fingerprint) has no trace of the new fields
    let j = serde_json::to_string(order(&p).as_ref().unwrap()).unwrap();
    for key in [
        "license_model",
        "fnp_time_zone_value",
        "version_date",
        "current_owner",
        "contact",
    ] {
        assert!(!j.contains(key), "{key} in {j}");
    }
    // mapped but empty in Salesforce: the same order, the same fingerprint
    let fp = order(&p).as_ref().unwrap().fingerprint();
    let q = plan_with(&bundle(), &mapped());
    assert_eq!(order(&q).as_ref().unwrap().fingerprint(), fp);
}

fn with_extras(b: &mut AccountBundle) {
    with_line_item(b, |li| {
        li["FNO_License_Model__c"] = json!("Embedded Uncounted");
        li["FNO_Time_Zone__c"] = json!("Europe/Berlin");
        li["FNO_Version_Date__c"] = json!("2026-03-01");
    });
}

#[test]
fn r17_license_model_time_zone_and_version_date_are_pushed_on_the_line_item() {
    let mut b = bundle();
    with_extras(&mut b);
    let p = plan_with(&b, &mapped());
    let line = the_line(&p);
    assert_eq!(line.license_model.as_deref(), Some("Embedded Uncounted"));
    assert_eq!(line.fnp_time_zone_value.as_deref(), Some("Europe/Berlin"));
    assert_eq!(
        line.version_date,
        Some(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap())
    );
    // a changed value is a changed order (pushed again)
    let fp = order(&p).as_ref().unwrap().fingerprint();
    with_line_item(&mut b, |li| li["FNO_Time_Zone__c"] = json!("Asia/Tokyo"));
    let q = plan_with(&b, &mapped());
    assert_ne!(order(&q).as_ref().unwrap().fingerprint(), fp);
    // not mapped: the same Salesforce values are not read
    let line = the_line(&plan(&b));
    assert_eq!(line.license_model, None);
}

#[test]
fn r3_renewal_line_items_carry_them_too() {
    let mut b = bundle();
    with_extras(&mut b);
    with_opportunity(&mut b, |o| o["FNO_Renewed_Opportunity__c"] = json!(OPP2));
    b.known.entitlements.insert(OPP2.into(), "ENT-1".into());
    match order(&plan_with(&b, &mapped())) {
        Ok(SalesOrder::Renewal { add }) => {
            let l = &add.line_items[0];
            assert_eq!(l.license_model.as_deref(), Some("Embedded Uncounted"));
            assert_eq!(l.fnp_time_zone_value.as_deref(), Some("Europe/Berlin"));
            assert!(l.version_date.is_some());
        }
        other => panic!("expected a renewal, got {other:?}"),
    }
}

#[test]
fn r17_a_version_date_that_is_not_a_date_fails_the_line_item_naming_record_and_field() {
    for bad in [json!("next spring"), json!("2026-02-30"), json!(20260301)] {
        let mut b = bundle();
        with_line_item(&mut b, |li| li["FNO_Version_Date__c"] = bad.clone());
        let errs = errors(&plan_with(&b, &mapped())).clone();
        assert_eq!(errs.len(), 1, "{errs:?}");
        let e = &errs[0];
        assert_eq!(
            (e.sobject, e.record_id.as_str(), e.field.as_str(), e.rule),
            (
                SfObject::OpportunityLineItem,
                LI,
                "FNO_Version_Date__c",
                Rule::R17
            )
        );
        assert!(e.message.contains("versiondate"), "{e}");
        assert!(e.message.contains("not a date"), "{e}");
    }
}

#[test]
fn r17_a_license_model_or_time_zone_that_is_not_a_clean_name_fails_the_line_item() {
    let cases = [
        ("FNO_License_Model__c", json!(" Embedded Counted"), "spaces"),
        ("FNO_Time_Zone__c", json!("Europe/Berlin "), "spaces"),
        (
            "FNO_License_Model__c",
            json!(["a", "b"]),
            "not a text value",
        ),
        ("FNO_Time_Zone__c", json!({"tz": 1}), "not a text value"),
    ];
    for (field, value, says) in cases {
        let mut b = bundle();
        with_line_item(&mut b, |li| li[field] = value.clone());
        let errs = errors(&plan_with(&b, &mapped())).clone();
        assert_eq!(errs.len(), 1, "{field}: {errs:?}");
        let e = &errs[0];
        assert_eq!(
            (e.record_id.as_str(), e.field.as_str(), e.rule),
            (LI, field, Rule::R17)
        );
        assert!(e.message.contains(says), "{e}");
    }
}

/// A partner sale: the Opportunity's Account is a channel partner, ACC_END the SoldTo.
fn partner_sale() -> AccountBundle {
    let mut b = bundle();
    with_account(&mut b, |a| {
        a["FNO_Account_Type__c"] = json!("Channel Partner")
    });
    with_opportunity(&mut b, |o| o["FNO_SoldTo_Account__c"] = json!(ACC_END));
    b.related_accounts.insert(
        ACC_END.into(),
        rec(account_json(ACC_END, "End Customer Inc")),
    );
    b
}

#[test]
fn r12_owner_account_the_sold_to_becomes_the_current_owner_in_the_end_customer_tier() {
    let mut b = partner_sale();
    with_opportunity(&mut b, |o| o["FNO_Owner_Account__c"] = json!(ACC_END));
    let p = plan_with(&b, &mapped());
    let (ent, _) = entitlement(&p);
    assert_eq!(
        ent.channel_partners,
        vec![
            fno::ChannelPartner {
                tier_name: Config::default().channel_partner_tier,
                account_id: ACC.into(),
                contact: None,
                current_owner: None,
            },
            fno::ChannelPartner {
                tier_name: fno::END_CUSTOMER_TIER.into(),
                account_id: ACC_END.into(),
                contact: None,
                current_owner: Some(true),
            },
        ]
    );
}

#[test]
fn r12_owner_account_the_partner_is_marked_current_owner_with_its_contact() {
    let mut b = partner_sale();
    with_opportunity(&mut b, |o| {
        o["FNO_Owner_Account__c"] = json!(ACC);
        o["FNO_Owner_Contact__c"] = json!(CON);
    });
    let p = plan_with(&b, &mapped());
    let (ent, _) = entitlement(&p);
    assert_eq!(
        ent.channel_partners,
        vec![fno::ChannelPartner {
            tier_name: Config::default().channel_partner_tier,
            account_id: ACC.into(),
            contact: Some("ada@example.com".into()),
            current_owner: Some(true),
        }]
    );
}

#[test]
fn r11_r12_owner_contact_alone_makes_the_opportunity_account_the_owner() {
    let mut b = bundle();
    with_opportunity(&mut b, |o| o["FNO_Owner_Contact__c"] = json!(CON));
    let p = plan_with(&b, &mapped());
    let (ent, _) = entitlement(&p);
    assert_eq!(ent.sold_to, ACC);
    assert_eq!(
        ent.channel_partners,
        vec![fno::ChannelPartner {
            tier_name: fno::END_CUSTOMER_TIER.into(),
            account_id: ACC.into(),
            contact: Some("ada@example.com".into()),
            current_owner: Some(true),
        }]
    );
    // the owner contact's user is planned before the entitlement (R3)
    assert_eq!(
        p.users[0].outcome.as_ref().unwrap().user_name.as_deref(),
        Some("ada@example.com")
    );
}

#[test]
fn r12_owner_account_outside_the_order_fails_naming_the_field() {
    let mut b = bundle();
    with_opportunity(&mut b, |o| {
        o["FNO_Owner_Account__c"] = json!("001A0000000009AAAA")
    });
    let errs = errors(&plan_with(&b, &mapped())).clone();
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert_eq!(
        (e.sobject, e.record_id.as_str(), e.field.as_str(), e.rule),
        (
            SfObject::Opportunity,
            OPP,
            "FNO_Owner_Account__c",
            Rule::R12
        )
    );
    assert!(e.message.contains("001A0000000009AAAA"), "{e}");
}

#[test]
fn r12_owner_contact_must_be_a_contact_of_the_owner() {
    // not a contact of the account synced
    let mut b = bundle();
    with_opportunity(&mut b, |o| {
        o["FNO_Owner_Contact__c"] = json!("003A0000000009AAAA")
    });
    let errs = errors(&plan_with(&b, &mapped())).clone();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        (errs[0].field.as_str(), errs[0].rule),
        ("FNO_Owner_Contact__c", Rule::R12)
    );
    assert!(errs[0].message.contains("003A0000000009AAAA"));

    // a contact of the partner, but the owner is the end customer
    let mut b = partner_sale();
    with_opportunity(&mut b, |o| {
        o["FNO_Owner_Account__c"] = json!(ACC_END);
        o["FNO_Owner_Contact__c"] = json!(CON);
    });
    let errs = errors(&plan_with(&b, &mapped())).clone();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        (errs[0].field.as_str(), errs[0].rule),
        ("FNO_Owner_Contact__c", Rule::R12)
    );
    assert!(errs[0].message.contains("not to the entitlement owner"));
}

#[test]
fn r3_owner_contact_that_cannot_become_a_user_fails_the_order() {
    let mut b = bundle();
    with_contact(&mut b, |c| c["Email"] = json!("not-an-email"));
    with_opportunity(&mut b, |o| o["FNO_Owner_Contact__c"] = json!(CON));
    let errs = errors(&plan_with(&b, &mapped())).clone();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        (errs[0].field.as_str(), errs[0].rule),
        ("FNO_Owner_Contact__c", Rule::R3)
    );
    assert!(
        errs[0].message.contains("not an email address"),
        "{}",
        errs[0]
    );
}
