//! The mapping configuration: defaults (R17), custom attributes (R18), view/edit/delete
//! (R19), write-back fields (R20), filters (R2, R13), JSON round trip.

use mapping::*;
use serde_json::json;

#[test]
fn r17_default_mappings_follow_the_guide_tables() {
    let c = Config::default();
    let acc = c.mapping(SfObject::Account).unwrap();
    assert_eq!(acc.sf_field("accountName"), Some("Name"));
    assert_eq!(acc.sf_field("accountID"), Some("Id"));
    assert_eq!(acc.sf_field("address1"), Some("BillingStreet"));
    assert_eq!(acc.sf_field("address2"), Some("ShippingStreet"));
    assert_eq!(acc.sf_field("zipcode"), Some("ShippingPostalCode"));
    assert_eq!(acc.sf_field("region"), None);
    assert!(acc.get("accountName").unwrap().required);
    assert!(!acc.get("description").unwrap().required);
    let con = c.mapping(SfObject::Contact).unwrap();
    assert_eq!(con.sf_field("emailAddress"), Some("Email"));
    assert_eq!(con.sf_field("optIn"), Some("HasOptedOutOfEmail"));
    assert_eq!(con.sf_field("displayName"), Some("Name"));
    assert!(con.get("firstName").unwrap().required && con.get("lastName").unwrap().required);
    let opp = c.mapping(SfObject::Opportunity).unwrap();
    assert_eq!(opp.sf_field("soldTo"), Some("FNO_SoldTo_Account__c"));
    assert_eq!(opp.sf_field("shipToEmail"), Some("FNO_Ship_To_Email__c"));
    assert!(opp.get("soldTo").unwrap().required);
    let li = c.mapping(SfObject::OpportunityLineItem).unwrap();
    assert_eq!(li.sf_field("partNumber"), Some("ProductCode"));
    assert_eq!(li.sf_field("numberOfCopies"), Some("Quantity"));
    assert_eq!(
        li.sf_field("startDateOption"),
        Some("FNO_Start_Date_Option__c")
    );
    assert!(li.get("partNumber").unwrap().required);
    assert!(c.mapping(SfObject::Product2).is_none());
    assert_eq!(c.filters.sync_stages, vec!["Closed Won".to_string()]);
    assert_eq!(c.filters.post_condition_state, PostConditionState::Draft);
    assert_eq!(c.user_role, "Portal Admin User");
    assert!(c.validate().is_ok(), "{:?}", c.validate());
}

#[test]
fn r17_required_mappings_cannot_be_deleted_or_unmapped() {
    let mut c = Config::default();
    let e = c
        .delete_mapping(SfObject::Account, "accountName")
        .unwrap_err();
    assert_eq!(e.rule, Rule::R17);
    let e = c
        .set_mapping(
            SfObject::OpportunityLineItem,
            FieldMapping::standard("partNumber", None, true),
        )
        .unwrap_err();
    assert_eq!(e.rule, Rule::R17);
    let e = c
        .set_mapping(
            SfObject::Contact,
            FieldMapping::standard("emailAddress", Some("Email"), false),
        )
        .unwrap_err();
    assert_eq!(e.rule, Rule::R17, "a required row cannot be made optional");
    // but it can be remapped
    c.set_mapping(
        SfObject::Contact,
        FieldMapping::standard("emailAddress", Some("Work_Email__c"), true),
    )
    .unwrap();
    assert_eq!(
        c.sf_field(SfObject::Contact, "emailAddress"),
        Some("Work_Email__c")
    );
    // whole-config validation reports an unmapped required row
    let mut broken = Config::default();
    broken
        .mappings
        .get_mut(&SfObject::Account)
        .unwrap()
        .fields
        .retain(|f| f.fno_attribute != "accountName");
    let errs = broken.validate().unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.rule == Rule::R17 && e.fno_attribute == "accountName"),
        "{errs:?}"
    );
}

#[test]
fn r18_custom_attributes_only_for_supported_entities_and_matching_objects() {
    let mut c = Config::default();
    for entity in [
        CustomEntity::Product,
        CustomEntity::MaintenanceLine,
        CustomEntity::DownloadPackage,
        CustomEntity::File,
    ] {
        let e = c
            .set_mapping(
                SfObject::Account,
                FieldMapping::custom("pro1", "X__c", entity, DataType::Number),
            )
            .unwrap_err();
        assert_eq!(e.rule, Rule::R18, "{entity:?}");
        assert!(e.message.contains("not supported"), "{e}");
    }
    let e = c
        .set_mapping(
            SfObject::Account,
            FieldMapping::custom("CA_UserNum", "X__c", CustomEntity::User, DataType::Number),
        )
        .unwrap_err();
    assert_eq!(e.rule, Rule::R18);
    assert!(e.to_string().contains("maps to Contact"), "{e}");
    let e = c
        .set_mapping(
            SfObject::Product2,
            FieldMapping::custom("pro1", "X__c", CustomEntity::Account, DataType::Number),
        )
        .unwrap_err();
    assert_eq!(e.rule, Rule::R18);
    for (object, entity) in [
        (SfObject::Account, CustomEntity::Account),
        (SfObject::Contact, CustomEntity::User),
        (SfObject::Opportunity, CustomEntity::Entitlement),
        (SfObject::OpportunityLineItem, CustomEntity::EntitlementLine),
    ] {
        c.set_mapping(
            object,
            FieldMapping::custom("Attr_1", "Attr_1__c", entity, DataType::Text),
        )
        .unwrap();
    }
    // non-editable mappings keep their field
    let mut m = FieldMapping::custom(
        "Locked",
        "Locked__c",
        CustomEntity::Account,
        DataType::Boolean,
    );
    m.editable = false;
    c.set_mapping(SfObject::Account, m).unwrap();
    let e = c
        .set_mapping(
            SfObject::Account,
            FieldMapping::custom(
                "Locked",
                "Other__c",
                CustomEntity::Account,
                DataType::Boolean,
            ),
        )
        .unwrap_err();
    assert_eq!(e.rule, Rule::R18);
}

#[test]
fn r18_validate_against_fno_definitions() {
    let defs: Vec<FnoAttributeDef> = serde_json::from_value(json!([
        {"entity": "account", "name": "AccountDate", "type": "DATE", "required": false, "active": true},
        {"entity": "user", "name": "CA_UserNum", "type": "NUMBER", "required": false, "active": true},
        {"entity": "entitlement", "name": "CA_Num", "type": "NUMBER", "required": false, "active": false},
        {"entity": "entitlement line", "name": "LICENSE_GROUP", "type": "TEXT", "required": true, "active": true},
        {"entity": "product", "name": "pro1", "type": "NUMBER", "required": true, "active": true}
    ]))
    .unwrap();
    let mut c = Config::default();
    c.set_mapping(
        SfObject::Account,
        FieldMapping::custom(
            "AccountDate",
            "Founded__c",
            CustomEntity::Account,
            DataType::Date,
        ),
    )
    .unwrap();
    c.set_mapping(
        SfObject::Contact,
        FieldMapping::custom("ca_usernum", "Num__c", CustomEntity::User, DataType::Number),
    )
    .unwrap();
    c.set_mapping(
        SfObject::Opportunity,
        FieldMapping::custom(
            "CA_Num",
            "Seats__c",
            CustomEntity::Entitlement,
            DataType::Text,
        ),
    )
    .unwrap();
    let errs = c.validate_against(&defs).unwrap_err();
    let got: Vec<(SfObject, &str, Rule)> = errs
        .iter()
        .map(|e| (e.object, e.fno_attribute.as_str(), e.rule))
        .collect();
    assert_eq!(
        got,
        [
            (SfObject::Contact, "ca_usernum", Rule::R18), // name must match exactly
            (SfObject::Opportunity, "CA_Num", Rule::R18), // type mismatch
            (SfObject::Opportunity, "CA_Num", Rule::R18), // inactive
            (SfObject::OpportunityLineItem, "LICENSE_GROUP", Rule::R17), // required, unmapped
        ],
        "{errs:#?}"
    );
    assert!(
        errs[0].message.contains("did you mean 'CA_UserNum'?"),
        "{}",
        errs[0]
    );
    assert!(
        errs[1].message.contains("Number") && errs[1].message.contains("Text"),
        "{}",
        errs[1]
    );

    let mut ok = Config::default();
    ok.set_mapping(
        SfObject::Account,
        FieldMapping::custom(
            "AccountDate",
            "Founded__c",
            CustomEntity::Account,
            DataType::Date,
        ),
    )
    .unwrap();
    ok.set_mapping(
        SfObject::OpportunityLineItem,
        FieldMapping::custom(
            "LICENSE_GROUP",
            "Group__c",
            CustomEntity::EntitlementLine,
            DataType::Text,
        ),
    )
    .unwrap();
    assert_eq!(ok.validate_against(&defs), Ok(()));
}

#[test]
fn r19_view_edit_and_delete_mappings() {
    let mut c = Config::default();
    let before = c.mapping(SfObject::Contact).unwrap().fields.len();
    c.set_mapping(
        SfObject::Contact,
        FieldMapping::standard("locale", Some("Language__c"), false),
    )
    .unwrap();
    assert_eq!(c.sf_field(SfObject::Contact, "locale"), Some("Language__c"));
    assert_eq!(
        c.mapping(SfObject::Contact).unwrap().fields.len(),
        before,
        "edit replaces in place"
    );
    c.set_mapping(
        SfObject::Contact,
        FieldMapping::custom("CA_UserNum", "Num__c", CustomEntity::User, DataType::Number),
    )
    .unwrap();
    assert_eq!(
        c.mapping(SfObject::Contact).unwrap().fields.len(),
        before + 1
    );
    // delete: custom rows disappear, standard rows are cleared
    let old = c.delete_mapping(SfObject::Contact, "CA_UserNum").unwrap();
    assert_eq!(old.sf_field.as_deref(), Some("Num__c"));
    assert!(c
        .mapping(SfObject::Contact)
        .unwrap()
        .get("CA_UserNum")
        .is_none());
    c.delete_mapping(SfObject::Contact, "locale").unwrap();
    assert_eq!(
        c.mapping(SfObject::Contact)
            .unwrap()
            .get("locale")
            .unwrap()
            .sf_field,
        None
    );
    let e = c.delete_mapping(SfObject::Contact, "nope").unwrap_err();
    assert_eq!(e.rule, Rule::R19);
    // standard attributes are the guide's; others must be custom
    let e = c
        .set_mapping(
            SfObject::Account,
            FieldMapping::standard("industry", Some("Industry"), false),
        )
        .unwrap_err();
    assert_eq!(e.rule, Rule::R19);
    assert!(e.message.contains("custom attribute"));
    // the guide's unmapped default rows can be mapped (issue 14: all five are pushed)
    c.set_mapping(
        SfObject::OpportunityLineItem,
        FieldMapping::standard("licenseModel", Some("LM__c"), false),
    )
    .unwrap();
    let e = c
        .set_mapping(
            SfObject::Account,
            FieldMapping::standard("description", Some("bad field!"), false),
        )
        .unwrap_err();
    assert_eq!(e.rule, Rule::R19);
}

#[test]
fn r20_write_back_fields_are_never_push_sources() {
    let mut c = Config::default();
    let e = c
        .set_mapping(
            SfObject::Account,
            FieldMapping::standard("description", Some("FNO_Account_ID__c"), false),
        )
        .unwrap_err();
    assert_eq!(e.rule, Rule::R20);
    for (o, f) in [
        (SfObject::Opportunity, "FNO_Entitlement_ID__c"),
        (SfObject::OpportunityLineItem, "fno_activation_id__c"),
        (SfObject::OpportunityLineItem, "FNO_Remaining_Quantity__c"),
    ] {
        let e = c
            .set_mapping(o, FieldMapping::standard("description", Some(f), false))
            .unwrap_err();
        assert_eq!(e.rule, Rule::R20, "{o} {f}");
    }
    // remapped write-back fields are protected under their new name
    c.writeback.entitlement_id = "Ent_Id__c".into();
    assert!(c
        .set_mapping(
            SfObject::Opportunity,
            FieldMapping::standard("description", Some("FNO_Entitlement_ID__c"), false)
        )
        .is_ok());
    assert_eq!(
        c.set_mapping(
            SfObject::Opportunity,
            FieldMapping::standard("description", Some("Ent_Id__c"), false)
        )
        .unwrap_err()
        .rule,
        Rule::R20
    );
}

#[test]
fn config_json_round_trip_and_defaults_for_missing_keys() {
    let mut c = Config::default();
    c.set_mapping(
        SfObject::Account,
        FieldMapping::custom(
            "AccountDate",
            "Founded__c",
            CustomEntity::Account,
            DataType::Date,
        ),
    )
    .unwrap();
    c.filters.sync_stages.push("Negotiation/Review".into());
    c.filters.post_condition_state = PostConditionState::Deployed;
    let text = serde_json::to_string_pretty(&c).unwrap();
    let back: Config = serde_json::from_str(&text).unwrap();
    assert_eq!(back, c);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["filters"]["post_condition_state"], json!("Deployed"));
    assert_eq!(
        v["mappings"]["Account"]["fields"][0]["fno_attribute"],
        json!("accountName")
    );
    let custom = v["mappings"]["Account"]["fields"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        custom["kind"],
        json!({"type": "custom", "entity": "account", "data_type": "date"})
    );

    let empty: Config = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, Config::default());
    let partial: Config =
        serde_json::from_value(json!({"filters": {"post_condition_state": "Deployed"}})).unwrap();
    assert_eq!(partial.filters.sync_stages, vec!["Closed Won".to_string()]);
    assert_eq!(
        partial.filters.post_condition_state,
        PostConditionState::Deployed
    );
    // entity and type spellings as FNO and the guide write them
    let m: FieldMapping = serde_json::from_value(json!({"fno_attribute": "X", "sf_field": "X__c",
        "kind": {"type": "custom", "entity": "Entitlement Line", "data_type": "LONG_TEXT"}}))
    .unwrap();
    assert_eq!(
        m.kind,
        MappingKind::Custom {
            entity: CustomEntity::EntitlementLine,
            data_type: DataType::LongText
        }
    );
    assert!(m.editable && !m.required);
}

#[test]
fn r2_validate_needs_a_sync_stage() {
    let mut c = Config::default();
    c.filters.sync_stages.clear();
    let errs = c.validate().unwrap_err();
    assert_eq!(errs[0].rule, Rule::R2);
}

#[test]
fn r19_fields_to_read_follow_the_mappings() {
    let mut c = Config::default();
    let li = c.fields_to_read(SfObject::OpportunityLineItem);
    for f in [
        "Id",
        "ProductCode",
        "Quantity",
        "FNO_Start_Date_Option__c",
        "FNO_Expiration_Term_Option__c",
        "FNO_Activation_ID__c",
        "FNO_Remaining_Quantity__c",
    ] {
        assert!(li.contains(f), "{f} in {li:?}");
    }
    assert!(c
        .fields_to_read(SfObject::Product2)
        .contains("FNO_Include_In_Sync__c"));
    c.set_mapping(
        SfObject::Account,
        FieldMapping::custom(
            "AccountDate",
            "Founded__c",
            CustomEntity::Account,
            DataType::Date,
        ),
    )
    .unwrap();
    assert!(c.fields_to_read(SfObject::Account).contains("Founded__c"));
    assert!(c
        .fields_to_read(SfObject::Account)
        .contains("FNO_Account_ID__c"));
    c.delete_mapping(SfObject::Account, "AccountDate").unwrap();
    assert!(!c.fields_to_read(SfObject::Account).contains("Founded__c"));
}

#[test]
fn from_json_deserialises_and_validates_r2() {
    let ok = Config::from_json(serde_json::to_value(Config::default()).unwrap()).unwrap();
    assert_eq!(ok, Config::default());
    let err = Config::from_json(serde_json::json!({"filters": {"sync_stages": []}})).unwrap_err();
    assert!(err.contains("R2"), "{err}");
    let err = Config::from_json(serde_json::json!({"filters": 3})).unwrap_err();
    assert!(
        err.contains("filters") || err.contains("invalid type"),
        "{err}"
    );
}

#[test]
fn r19_a_document_with_one_object_keeps_the_defaults_of_the_others() {
    let defaults = Config::default();
    let mut account = defaults.mappings[&SfObject::Account].clone();
    account.fields.retain(|f| f.fno_attribute != "description");
    let doc = serde_json::json!({"mappings": {"Account": account}});
    let c = Config::from_json(doc).unwrap();
    assert_eq!(c.mappings[&SfObject::Account], account);
    for o in [
        SfObject::Contact,
        SfObject::Opportunity,
        SfObject::OpportunityLineItem,
    ] {
        assert_eq!(c.mappings[&o], defaults.mappings[&o], "{o}");
    }
    // An object can still be emptied explicitly (and is then checked, R17).
    let emptied = serde_json::json!({"mappings": {"Contact": {"fields": []}}});
    assert!(Config::from_json(emptied).unwrap_err().contains("R17"));
}
