//! One test (at least) per push rule R1–R16, plus renewals and stable keys.

use crate::common::*;
use mapping::fno::{
    self, AccountType, DurationUnit, Expiration, LineItemType, StartDateOption, State,
};
use mapping::*;
use serde_json::{json, Value};

#[test]
fn happy_path_builds_account_user_entitlement_and_state() {
    let p = plan(&bundle());
    assert_eq!(p.sf_account_id, ACC);
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    let acc = p.accounts[0].outcome.as_ref().unwrap();
    assert_eq!(acc.id, ACC);
    assert_eq!(acc.name, "Acme");
    assert_eq!(acc.account_type, Some(AccountType::Customer));
    let addr = acc.address.as_ref().unwrap();
    assert_eq!(addr.address1.as_deref(), Some("1 Main St"));
    assert_eq!(addr.address2.as_deref(), Some("Suite 2"));
    assert_eq!(addr.zipcode.as_deref(), Some("62701"));
    let user = p.users[0].outcome.as_ref().unwrap();
    assert_eq!(user.first_name, "Ada");
    assert_eq!(user.email_address, "ada@example.com");
    assert_eq!(user.user_name.as_deref(), Some("ada@example.com"));
    assert_eq!(user.display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(
        user.opt_in,
        Some(true),
        "optIn is the negation of HasOptedOutOfEmail"
    );
    let (ent, state) = entitlement(&p);
    assert_eq!(ent.entitlement_id, OPP);
    assert_eq!(ent.sold_to, ACC);
    assert_eq!(ent.description.as_deref(), Some("Big deal"));
    assert_eq!(ent.ship_to_email.as_deref(), Some("ship@example.com"));
    assert_eq!(state.state, State::Draft);
    let li = &ent.line_items[0];
    assert_eq!(li.part_number, "AM_SF01");
    assert_eq!(li.number_of_copies, 10);
    assert_eq!(
        li.start_date_option,
        Some(StartDateOption::DefineActdateAtFirstActivation)
    );
    assert_eq!(
        li.expiration,
        Some(Expiration::Term {
            num_duration: 1,
            unit: DurationUnit::Months
        })
    );
}

#[test]
fn r1_opportunity_without_line_items_is_skipped_and_account_not_pushed() {
    let mut b = bundle();
    b.opportunities = vec![rec(opportunity_json(OPP, "Closed Won", vec![]))];
    let p = plan(&b);
    assert!(p.sales_orders.is_empty());
    assert!(p.accounts.is_empty(), "R1: no sales order, no account push");
    assert!(p.users.is_empty(), "R1: no sales order, no user push");
    let rules: Vec<(SfObject, Rule)> = p.skipped.iter().map(|s| (s.sobject, s.rule)).collect();
    assert!(
        rules.contains(&(SfObject::Opportunity, Rule::R1)),
        "{rules:?}"
    );
    assert!(rules.contains(&(SfObject::Account, Rule::R1)), "{rules:?}");
    assert!(rules.contains(&(SfObject::Contact, Rule::R1)), "{rules:?}");
}

#[test]
fn r1_account_with_no_opportunities_is_reported_not_silently_dropped() {
    let mut b = bundle();
    b.opportunities.clear();
    let p = plan(&b);
    assert!(p.accounts.is_empty() && p.users.is_empty() && p.sales_orders.is_empty());
    assert!(p
        .skipped
        .iter()
        .any(|s| s.record_id == ACC && s.rule == Rule::R1));
    assert!(p
        .skipped
        .iter()
        .any(|s| s.record_id == CON && s.rule == Rule::R1));
}

#[test]
fn r2_only_opportunities_in_a_sync_stage_are_pushed() {
    let mut b = bundle();
    b.opportunities.push(rec(opportunity_json(
        OPP2,
        "Prospecting",
        vec![line_item_json(LI2, "AM_SF01", 1.0)],
    )));
    let p = plan(&b);
    assert_eq!(p.sales_orders.len(), 1);
    assert_eq!(p.sales_orders[0].opportunity_id, OPP);
    let s = p.skipped.iter().find(|s| s.record_id == OPP2).unwrap();
    assert_eq!(s.rule, Rule::R2);
    assert!(s.reason.contains("'Prospecting'"), "{}", s.reason);

    // configurable: with "Prospecting" as a sync stage both go.
    let mut cfg = Config::default();
    cfg.filters.sync_stages = vec!["Closed Won".into(), "Prospecting".into()];
    let p = plan_account(&b, &catalogue(), &cfg);
    assert_eq!(p.sales_orders.len(), 2);
    assert!(p.skipped.is_empty());
}

#[test]
fn r3_push_order_is_account_then_users_then_orders_and_account_failure_fails_orders() {
    let p = plan(&bundle());
    assert_eq!(p.accounts.len(), 1);
    assert_eq!(p.accounts[0].role, AccountRole::Owner);
    assert_eq!(p.users.len(), 1);
    let fno_account = p.accounts[0].outcome.as_ref().unwrap().id.clone();
    assert_eq!(
        p.users[0].outcome.as_ref().unwrap().account_roles[0].account_id,
        fno_account,
        "users are linked to the account pushed before them"
    );

    let mut b = bundle();
    with_account(&mut b, |a| a["Name"] = Value::Null);
    let p = plan(&b);
    assert!(p.accounts[0].outcome.is_err());
    let errs = errors(&p);
    let r3 = of_rule(errs, Rule::R3);
    assert_eq!(r3.len(), 1, "{errs:?}");
    assert!(r3[0].message.contains("Name"), "{}", r3[0].message);
}

#[test]
fn r4_plan_is_per_account_and_foreign_records_are_reported() {
    let mut b = bundle();
    let mut foreign = opportunity_json(
        OPP2,
        "Closed Won",
        vec![line_item_json(LI2, "AM_SF01", 1.0)],
    );
    foreign["AccountId"] = json!("001B0000000009AAAA");
    b.opportunities.push(rec(foreign));
    let mut c = contact_json(CON2);
    c["AccountId"] = json!("001B0000000009AAAA");
    b.contacts.push(rec(c));
    let p = plan(&b);
    assert_eq!(p.sf_account_id, ACC);
    assert_eq!(p.sales_orders.len(), 1);
    assert_eq!(p.users.len(), 1);
    assert!(p
        .skipped
        .iter()
        .any(|s| s.record_id == OPP2 && s.rule == Rule::R4));
    assert!(p
        .skipped
        .iter()
        .any(|s| s.record_id == CON2 && s.rule == Rule::R4));
}

#[test]
fn r5_part_number_must_exist_and_be_deployed_in_fno() {
    let mut b = bundle();
    with_line_item(&mut b, |li| li["ProductCode"] = json!("DRAFT_1"));
    let errs = errors(&plan(&b)).clone();
    let r5 = of_rule(&errs, Rule::R5);
    assert_eq!(r5.len(), 1, "{errs:?}");
    assert_eq!(r5[0].record_id, LI);
    assert_eq!(r5[0].field, "ProductCode");
    assert!(r5[0].message.contains("not DEPLOYED"), "{}", r5[0]);

    let mut b = bundle();
    with_line_item(&mut b, |li| li["ProductCode"] = json!("NOPE_42"));
    let errs = errors(&plan(&b)).clone();
    assert_eq!(of_rule(&errs, Rule::R5).len(), 1, "{errs:?}");
    assert!(errs[0].to_string().ends_with("(R5)"));
}

#[test]
fn r6_product_must_be_active_and_flagged_for_sync() {
    let mut b = bundle();
    with_line_item(&mut b, |li| {
        li["Product2"]["IsActive"] = json!(false);
        li["Product2"]["FNO_Include_In_Sync__c"] = json!(false);
    });
    let errs = errors(&plan(&b)).clone();
    let r6 = of_rule(&errs, Rule::R6);
    assert_eq!(r6.len(), 2, "{errs:?}");
    assert!(r6
        .iter()
        .all(|e| e.sobject == SfObject::Product2 && e.record_id == PROD));
    let fields: Vec<&str> = r6.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["IsActive", "FNO_Include_In_Sync__c"]);
    assert!(r6[1].message.contains("Include in FlexNet Operations Sync"));

    // product given in bundle.products instead of nested
    let mut b = bundle();
    with_line_item(&mut b, |li| li["Product2"] = Value::Null);
    let mut p: sf::Product2 = rec(product_json(PROD, "AM_SF01"));
    p.fno_include_in_sync = None;
    b.products.insert(PROD.into(), p);
    let errs = errors(&plan(&b)).clone();
    assert_eq!(of_rule(&errs, Rule::R6).len(), 1, "{errs:?}");
    // and when nowhere to be found, it is an error too, never a pass
    b.products.clear();
    let errs = errors(&plan(&b)).clone();
    assert_eq!(of_rule(&errs, Rule::R6)[0].field, "Product2Id");
}

#[test]
fn r7_product_code_must_match_exactly_and_the_reason_names_both_values() {
    let mut b = bundle();
    with_line_item(&mut b, |li| li["ProductCode"] = json!("AM_SF01 "));
    let errs = errors(&plan(&b)).clone();
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert_eq!(
        (e.rule, e.record_id.as_str(), e.field.as_str()),
        (Rule::R7, LI, "ProductCode")
    );
    let text = e.to_string();
    assert!(
        text.starts_with("ProductCode 'AM_SF01 ' does not match any deployed FNO part number"),
        "{text}"
    );
    assert!(text.contains("did you mean 'AM_SF01'?"), "{text}");
    assert!(text.ends_with("(R7)"), "{text}");

    let mut b = bundle();
    with_line_item(&mut b, |li| li["ProductCode"] = json!("am_sf01"));
    assert_eq!(errors(&plan(&b))[0].rule, Rule::R7);
}

#[test]
fn r7_a_bad_line_item_fails_its_order_but_not_the_other_orders() {
    let mut b = bundle();
    b.opportunities.push(rec(opportunity_json(
        OPP2,
        "Closed Won",
        vec![
            line_item_json(LI2, "AM_SFDC_1", 2.0),
            line_item_json("00kA0000000003AAAA", "AM_SF01 ", 1.0),
        ],
    )));
    let p = plan(&b);
    assert_eq!(p.sales_orders.len(), 2);
    assert!(
        p.sales_orders[0].outcome.is_ok(),
        "first order goes through"
    );
    let e = p.sales_orders[1].outcome.as_ref().unwrap_err();
    assert_eq!(e.len(), 1, "only the bad line item is reported: {e:?}");
    assert_eq!(e[0].record_id, "00kA0000000003AAAA");
    assert!(p.users[0].outcome.is_ok());
}

#[test]
fn r8_products_are_never_created_only_referenced_by_part_number() {
    // A line item for a product FNO does not have fails; nothing in the plan creates it.
    let mut b = bundle();
    with_line_item(&mut b, |li| li["ProductCode"] = json!("BRAND_NEW"));
    let p = plan(&b);
    assert!(errors(&p).iter().any(|e| e.rule == Rule::R5));
    let text = serde_json::to_string(&p).unwrap();
    assert!(
        !text.contains("Product BRAND_NEW"),
        "the product's name is never sent: {text}"
    );
    // and a valid order only names the part number.
    let p = plan(&bundle());
    let (ent, _) = entitlement(&p);
    let li = serde_json::to_value(&ent.line_items[0]).unwrap();
    assert_eq!(li["part_number"], json!("AM_SF01"));
    assert!(!serde_json::to_string(&li)
        .unwrap()
        .contains("Product AM_SF01"));
}

#[test]
fn r9_account_type_from_the_account_type_picklist() {
    let mut b = bundle();
    with_account(&mut b, |a| {
        a["FNO_Account_Type__c"] = json!("Channel Partner")
    });
    let p = plan(&b);
    assert_eq!(
        p.accounts[0].outcome.as_ref().unwrap().account_type,
        Some(AccountType::ChannelPartner)
    );
    let mut b = bundle();
    with_account(&mut b, |a| a["FNO_Account_Type__c"] = json!("Reseller"));
    let p = plan(&b);
    let e = p.accounts[0].outcome.as_ref().unwrap_err();
    assert_eq!(e[0].rule, Rule::R9);
    assert_eq!(e[0].field, "FNO_Account_Type__c");
    assert!(e[0].message.contains("'Reseller'"));
}

#[test]
fn r10_fno_account_id_is_the_salesforce_account_id_unless_mapped() {
    let p = plan(&bundle());
    assert_eq!(p.accounts[0].outcome.as_ref().unwrap().id, ACC);

    let mut cfg = Config::default();
    cfg.set_mapping(
        SfObject::Account,
        FieldMapping::standard("accountID", Some("AccountNumber"), true),
    )
    .unwrap();
    let mut b = bundle();
    with_account(&mut b, |a| a["AccountNumber"] = json!("CUST-0042"));
    let p = plan_account(&b, &catalogue(), &cfg);
    assert_eq!(p.accounts[0].outcome.as_ref().unwrap().id, "CUST-0042");
    assert_eq!(entitlement(&p).0.sold_to, "CUST-0042");
    assert_eq!(
        p.users[0].outcome.as_ref().unwrap().account_roles[0].account_id,
        "CUST-0042"
    );

    with_account(&mut b, |a| a["AccountNumber"] = Value::Null);
    let p = plan_account(&b, &catalogue(), &cfg);
    let e = p.accounts[0].outcome.as_ref().unwrap_err();
    assert!(
        e.iter()
            .any(|e| e.rule == Rule::R10 && e.field == "AccountNumber"),
        "{e:?}"
    );
}

#[test]
fn r11_contact_becomes_user_with_configured_role_and_missing_fields_fail_only_it() {
    let mut b = bundle();
    let mut bad = contact_json(CON2);
    bad["FirstName"] = Value::Null;
    bad["Email"] = json!("");
    b.contacts.push(rec(bad));
    let p = plan(&b);
    assert_eq!(p.users.len(), 2);
    let good = p.users[0].outcome.as_ref().unwrap();
    assert_eq!(
        good.account_roles[0].roles,
        vec!["Portal Admin User".to_string()]
    );
    let e = p.users[1].outcome.as_ref().unwrap_err();
    let fields: Vec<(&str, Rule)> = e.iter().map(|e| (e.field.as_str(), e.rule)).collect();
    assert_eq!(fields, [("FirstName", Rule::R11), ("Email", Rule::R11)]);
    assert!(e.iter().all(|e| e.record_id == CON2));
    assert!(
        p.sales_orders[0].outcome.is_ok(),
        "a bad contact does not stop the order"
    );

    let cfg = Config {
        user_role: "Portal User".into(),
        ..Default::default()
    };
    let p = plan_account(&bundle(), &catalogue(), &cfg);
    assert_eq!(
        p.users[0].outcome.as_ref().unwrap().account_roles[0].roles,
        vec!["Portal User".to_string()]
    );

    let mut b = bundle();
    with_contact(&mut b, |c| c["Email"] = json!("not-an-email"));
    let e = plan(&b).users[0].outcome.clone().unwrap_err();
    assert_eq!((e[0].rule, e[0].field.as_str()), (Rule::R11, "Email"));
}

#[test]
fn r12_sold_to_account_is_the_end_customer_and_the_partner_is_attached() {
    let mut b = bundle();
    with_account(&mut b, |a| {
        a["FNO_Account_Type__c"] = json!("Channel Partner")
    });
    with_opportunity(&mut b, |o| o["FNO_SoldTo_Account__c"] = json!(ACC_END));
    b.related_accounts.insert(
        ACC_END.into(),
        rec(account_json(ACC_END, "End Customer Inc")),
    );
    let p = plan(&b);
    let (ent, _) = entitlement(&p);
    assert_eq!(ent.sold_to, ACC_END);
    assert_eq!(
        ent.channel_partners,
        vec![fno::ChannelPartner {
            tier_name: Config::default().channel_partner_tier,
            account_id: ACC.into(),
            contact: None,
            current_owner: None,
        }]
    );
    assert_eq!(p.accounts.len(), 2);
    assert_eq!(p.accounts[1].role, AccountRole::SoldTo);
    assert_eq!(
        p.accounts[1].outcome.as_ref().unwrap().name,
        "End Customer Inc"
    );

    // SoldTo not loaded → R12 error naming the field
    b.related_accounts.clear();
    let errs = errors(&plan(&b)).clone();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        (errs[0].rule, errs[0].field.as_str()),
        (Rule::R12, "FNO_SoldTo_Account__c")
    );
    assert!(errs[0].message.contains(ACC_END));
}

#[test]
fn r13_entitlement_state_from_opportunity_or_post_condition() {
    let mut b = bundle();
    with_opportunity(&mut b, |o| {
        o["FNO_Entitlement_State__c"] = json!("Deployed")
    });
    assert_eq!(entitlement(&plan(&b)).1.state, State::Deployed);

    let mut cfg = Config::default();
    cfg.filters.post_condition_state = PostConditionState::Deployed;
    let p = plan_account(&bundle(), &catalogue(), &cfg);
    assert_eq!(entitlement(&p).1.state, State::Deployed);
    assert_eq!(entitlement(&p).1.entitlement_id, OPP);

    let mut b = bundle();
    with_opportunity(&mut b, |o| o["FNO_Entitlement_State__c"] = json!("Draft"));
    let p = plan_account(&b, &catalogue(), &cfg);
    assert_eq!(entitlement(&p).1.state, State::Draft);

    with_opportunity(&mut b, |o| {
        o["FNO_Entitlement_State__c"] = json!("Obsolete")
    });
    let e = errors(&plan(&b)).clone();
    assert_eq!(
        (e[0].rule, e[0].field.as_str()),
        (Rule::R13, "FNO_Entitlement_State__c")
    );
}

#[test]
fn r14_start_date_option_errors_name_the_line_item_and_field() {
    let mut b = bundle();
    with_line_item(&mut b, |li| {
        li["FNO_Start_Date_Option__c"] = json!("Specify Value Now");
    });
    let e = errors(&plan(&b)).clone();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].rule, e[0].record_id.as_str(), e[0].field.as_str()),
        (Rule::R14, LI, "FNO_Start_Date__c")
    );

    with_line_item(&mut b, |li| li["FNO_Start_Date__c"] = json!("2025-07-01"));
    let p = plan(&b);
    let li = &entitlement(&p).0.line_items[0];
    assert_eq!(li.start_date_option, Some(StartDateOption::DefineNow));
    assert_eq!(
        li.start_date.map(|d| d.to_string()).as_deref(),
        Some("2025-07-01")
    );

    with_line_item(&mut b, |li| {
        li["FNO_Start_Date_Option__c"] = json!("Someday")
    });
    let e = errors(&plan(&b)).clone();
    assert_eq!(
        (e[0].rule, e[0].field.as_str()),
        (Rule::R14, "FNO_Start_Date_Option__c")
    );
    assert!(e[0].message.contains("'Someday'"));
}

#[test]
fn r15_expiration_option_errors_name_the_fields() {
    let mut b = bundle();
    with_line_item(&mut b, |li| {
        li["FNO_Expiration_Date_Option__c"] = json!("Permanent");
    });
    let e = errors(&plan(&b)).clone();
    let fields: Vec<(&str, Rule)> = e.iter().map(|e| (e.field.as_str(), e.rule)).collect();
    assert_eq!(
        fields,
        [
            ("FNO_Expiration_Term__c", Rule::R15),
            ("FNO_Expiration_Term_Option__c", Rule::R15)
        ]
    );
    with_line_item(&mut b, |li| {
        li["FNO_Expiration_Term__c"] = Value::Null;
        li["FNO_Expiration_Term_Option__c"] = Value::Null;
    });
    assert_eq!(
        entitlement(&plan(&b)).0.line_items[0].expiration,
        Some(Expiration::Permanent)
    );

    with_line_item(&mut b, |li| {
        li["FNO_Expiration_Date_Option__c"] = json!("Specify Expiration Date");
        li["FNO_Expiration_Date__c"] = json!("2026-06-30");
    });
    let p = plan(&b);
    assert!(matches!(
        entitlement(&p).0.line_items[0].expiration,
        Some(Expiration::Date { date }) if date.to_string() == "2026-06-30"
    ));
}

#[test]
fn r16_quantity_and_product_code_become_copies_and_part_number() {
    let mut b = bundle();
    with_line_item(&mut b, |li| li["Quantity"] = json!(3));
    assert_eq!(entitlement(&plan(&b)).0.line_items[0].number_of_copies, 3);

    with_line_item(&mut b, |li| li["Quantity"] = json!(2.5));
    let e = errors(&plan(&b)).clone();
    assert_eq!((e[0].rule, e[0].field.as_str()), (Rule::R16, "Quantity"));

    let mut b = bundle();
    with_line_item(&mut b, |li| li["Quantity"] = Value::Null);
    assert_eq!(errors(&plan(&b))[0].rule, Rule::R16);

    // ProductCode missing on the line item and on its product → R16
    let mut b = bundle();
    with_line_item(&mut b, |li| {
        li["ProductCode"] = Value::Null;
        li["Product2"]["ProductCode"] = Value::Null;
    });
    let e = errors(&plan(&b)).clone();
    assert_eq!((e[0].rule, e[0].field.as_str()), (Rule::R16, "ProductCode"));
}

#[test]
fn line_items_carry_stable_keys_and_known_activation_ids() {
    let p = plan(&bundle());
    let li = &entitlement(&p).0.line_items[0];
    assert_eq!(li.order_id.as_deref(), Some(OPP));
    assert_eq!(li.order_line_number.as_deref(), Some(LI));
    assert_eq!(
        li.activation_id, None,
        "FNO assigns activation ids on first push"
    );

    let mut b = bundle();
    b.known.activations.insert(LI.into(), "ACT-1".into());
    b.known.entitlements.insert(OPP.into(), "ENT-1".into());
    let p = plan(&b);
    let (ent, state) = entitlement(&p);
    assert_eq!(ent.entitlement_id, "ENT-1");
    assert_eq!(state.entitlement_id, "ENT-1");
    assert_eq!(ent.line_items[0].activation_id.as_deref(), Some("ACT-1"));
}

#[test]
fn renewal_adds_renewal_line_items_to_the_original_entitlement() {
    let mut b = bundle();
    b.opportunities.push(rec(opportunity_json(
        OPP2,
        "Closed Won",
        vec![line_item_json(LI2, "AM_SF01", 5.0)],
    )));
    {
        let mut v = serde_json::to_value(&b.opportunities[1]).unwrap();
        v["FNO_Renewed_Opportunity__c"] = json!(OPP);
        b.opportunities[1] = rec(v);
    }
    // original not yet in FNO → the renewal fails with a reason, the original still goes
    let p = plan(&b);
    assert!(p.sales_orders[0].outcome.is_ok());
    let e = p.sales_orders[1].outcome.as_ref().unwrap_err();
    assert_eq!(e[0].field, "FNO_Renewed_Opportunity__c");
    assert!(
        e[0].message.contains("sync the original opportunity first"),
        "{}",
        e[0]
    );

    b.known.entitlements.insert(OPP.into(), "ENT-ORIG".into());
    b.known.activations.insert(LI.into(), "ACT-ORIG".into());
    let p = plan(&b);
    match &p.sales_orders[1].outcome {
        Ok(SalesOrder::Renewal { add }) => {
            assert_eq!(add.entitlement_id, "ENT-ORIG");
            assert_eq!(add.line_items.len(), 1);
            assert_eq!(
                add.line_items[0].line_item_type,
                Some(LineItemType::Renewal)
            );
            assert_eq!(
                add.line_items[0].parent_activation_id.as_deref(),
                Some("ACT-ORIG")
            );
            assert_eq!(add.line_items[0].order_line_number.as_deref(), Some(LI2));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fingerprint_is_stable_and_changes_with_the_order() {
    let a = plan(&bundle());
    let b = plan(&bundle());
    let fa = a.sales_orders[0].outcome.as_ref().unwrap().fingerprint();
    assert_eq!(
        fa,
        b.sales_orders[0].outcome.as_ref().unwrap().fingerprint()
    );
    assert_eq!(fa.len(), 16);
    let mut changed = bundle();
    with_line_item(&mut changed, |li| li["Quantity"] = json!(11));
    let fc = plan(&changed).sales_orders[0]
        .outcome
        .as_ref()
        .unwrap()
        .fingerprint();
    assert_ne!(fa, fc);
}

#[test]
fn fingerprint_ignores_the_activation_ids_fno_assigned() {
    // After the first push FNO's activation ids come back into the plan; that is not a change
    // of the order and must not make the engine send it again.
    let order = plan(&bundle()).sales_orders[0].outcome.clone().unwrap();
    let mut known = order.clone();
    if let SalesOrder::Entitlement { entitlement, .. } = &mut known {
        for l in &mut entitlement.line_items {
            l.activation_id = Some("ab12-cd34-ef56-0001".into());
        }
    }
    assert_ne!(order, known);
    assert_eq!(order.fingerprint(), known.fingerprint());
}

#[test]
fn r18_custom_attribute_values_are_checked_against_their_type() {
    let mut cfg = Config::default();
    cfg.set_mapping(
        SfObject::Opportunity,
        FieldMapping::custom(
            "CA_Num",
            "Seats__c",
            CustomEntity::Entitlement,
            DataType::Number,
        ),
    )
    .unwrap();
    cfg.set_mapping(
        SfObject::OpportunityLineItem,
        FieldMapping::custom(
            "LICENSE_GROUP",
            "Group__c",
            CustomEntity::EntitlementLine,
            DataType::Text,
        ),
    )
    .unwrap();
    let mut b = bundle();
    with_opportunity(&mut b, |o| o["Seats__c"] = json!(12.0));
    with_line_item(&mut b, |li| li["Group__c"] = json!("gold"));
    let p = plan_account(&b, &catalogue(), &cfg);
    let (ent, _) = entitlement(&p);
    assert_eq!(
        ent.attributes,
        vec![fno::Attribute {
            name: "CA_Num".into(),
            value: fno::AttributeValue::Integer(12)
        }]
    );
    assert_eq!(
        ent.line_items[0].attributes,
        vec![fno::Attribute {
            name: "LICENSE_GROUP".into(),
            value: fno::AttributeValue::String("gold".into())
        }]
    );

    with_opportunity(&mut b, |o| o["Seats__c"] = json!("twelve"));
    let p = plan_account(&b, &catalogue(), &cfg);
    let e = errors(&p);
    assert_eq!(
        (e[0].rule, e[0].field.as_str(), e[0].record_id.as_str()),
        (Rule::R18, "Seats__c", OPP)
    );
    assert!(e[0].message.contains("Number"), "{}", e[0]);
}

#[test]
fn r17_required_values_must_be_present() {
    let mut b = bundle();
    with_account(&mut b, |a| a["Name"] = json!(""));
    let p = plan(&b);
    let e = p.accounts[0].outcome.as_ref().unwrap_err();
    assert_eq!(
        (e[0].rule, e[0].field.as_str(), e[0].record_id.as_str()),
        (Rule::R17, "Name", ACC)
    );

    let mut cfg = Config::default();
    let mut m = FieldMapping::custom(
        "AccountDate",
        "Founded__c",
        CustomEntity::Account,
        DataType::Date,
    );
    m.required = true;
    cfg.set_mapping(SfObject::Account, m).unwrap();
    let p = plan_account(&bundle(), &catalogue(), &cfg);
    let e = p.accounts[0].outcome.as_ref().unwrap_err();
    assert_eq!((e[0].rule, e[0].field.as_str()), (Rule::R17, "Founded__c"));
    let mut b = bundle();
    with_account(&mut b, |a| a["Founded__c"] = json!("1999-12-31"));
    let p = plan_account(&b, &catalogue(), &cfg);
    assert_eq!(
        p.accounts[0].outcome.as_ref().unwrap().attributes[0].name,
        "AccountDate"
    );
}

#[test]
fn r19_edited_mapping_changes_what_is_pushed() {
    let mut cfg = Config::default();
    cfg.set_mapping(
        SfObject::Opportunity,
        FieldMapping::standard("description", Some("Name"), false),
    )
    .unwrap();
    let p = plan_account(&bundle(), &catalogue(), &cfg);
    assert_eq!(entitlement(&p).0.description.as_deref(), Some("Deal"));
    cfg.delete_mapping(SfObject::Opportunity, "description")
        .unwrap();
    let p = plan_account(&bundle(), &catalogue(), &cfg);
    assert_eq!(entitlement(&p).0.description, None);
}

#[test]
fn nested_contacts_and_opportunities_on_the_account_are_used_when_lists_are_empty() {
    let b0 = bundle();
    let mut acc = account_json(ACC, "Acme");
    acc["Contacts"] = json!({"totalSize": 1, "done": true, "records": [contact_json(CON)]});
    acc["Opportunities"] = json!({"totalSize": 1, "done": true, "records": [
        opportunity_json(OPP, "Closed Won", vec![line_item_json(LI, "AM_SF01", 10.0)])
    ]});
    let b = AccountBundle {
        account: rec(acc),
        ..Default::default()
    };
    let p = plan(&b);
    let p0 = plan(&b0);
    assert_eq!(p.users, p0.users);
    assert_eq!(p.sales_orders, p0.sales_orders);
}

#[test]
fn wrongly_typed_values_are_reported_by_field_and_rule() {
    let mut b = bundle();
    with_line_item(&mut b, |li| {
        li["Quantity"] = json!("ten");
        li["FNO_Start_Date_Option__c"] = json!({"oops": true});
    });
    let e = errors(&plan(&b)).clone();
    let got: Vec<(Rule, &str)> = e.iter().map(|e| (e.rule, e.field.as_str())).collect();
    assert_eq!(
        got,
        [
            (Rule::R16, "Quantity"),
            (Rule::R14, "FNO_Start_Date_Option__c")
        ],
        "{e:?}"
    );
    assert!(e[0].message.contains("'ten'"), "{}", e[0]);
}
