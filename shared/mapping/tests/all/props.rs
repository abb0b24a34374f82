//! Property tests: arbitrary Salesforce JSON never panics the mapper; planning is
//! deterministic (same input → same FNO request models and fingerprints, also after a JSON
//! round trip of the input); mapping edits never panic and the config always round-trips.

use crate::common::*;
use mapping::*;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map, Value};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Mostly the first (valid) value, often another plausible one, sometimes anything at all.
fn field(plausible: Vec<Value>) -> BoxedStrategy<Value> {
    let good = plausible[0].clone();
    prop_oneof![40 => Just(good), 12 => select(plausible), 1 => any_json()].boxed()
}

fn strs(v: &[&str]) -> Vec<Value> {
    let mut out: Vec<Value> = v.iter().map(|s| json!(s)).collect();
    out.push(Value::Null);
    out
}

fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let (keys, strategies): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
    let extra = prop::collection::btree_map("[A-Z][A-Za-z_]{0,6}(__c)?", any_json(), 0..3);
    (strategies, extra)
        .prop_map(move |(values, extra)| {
            let mut m: Map<String, Value> = extra.into_iter().collect();
            for (k, v) in keys.iter().zip(values) {
                m.insert((*k).to_owned(), v);
            }
            Value::Object(m)
        })
        .boxed()
}

fn product() -> BoxedStrategy<Value> {
    object(vec![
        ("Id", field(strs(&[PROD, ""]))),
        ("Name", field(strs(&["P"]))),
        (
            "ProductCode",
            field(strs(&["AM_SF01", "AM_SF01 ", "DRAFT_1", "X"])),
        ),
        (
            "IsActive",
            field(vec![json!(true), json!(false), Value::Null]),
        ),
        (
            "FNO_Include_In_Sync__c",
            field(vec![json!(true), json!(false), Value::Null]),
        ),
    ])
}

fn line_item() -> BoxedStrategy<Value> {
    object(vec![
        ("Id", field(strs(&[LI, LI2, "00kA0000000003AAAA"]))),
        ("Product2Id", field(strs(&[PROD]))),
        (
            "ProductCode",
            field(strs(&[
                "AM_SF01",
                "AM_SF01 ",
                "am_sf01",
                "DRAFT_1",
                "AM_SFDC_1",
                "",
            ])),
        ),
        (
            "Quantity",
            field(vec![
                json!(1.0),
                json!(10),
                json!(0),
                json!(-2),
                json!(2.5),
                json!(1e20),
                Value::Null,
            ]),
        ),
        ("Description", field(strs(&["d"]))),
        (
            "FNO_Start_Date_Option__c",
            field(strs(&[
                "Use First Activation Date",
                "Specify Value Now",
                "Use Each Activation Date",
                "Later",
            ])),
        ),
        (
            "FNO_Start_Date__c",
            field(vec![Value::Null, json!("2025-07-01")]),
        ),
        (
            "FNO_Expiration_Date_Option__c",
            field(strs(&[
                "Specify Duration",
                "Permanent",
                "Specify Expiration Date",
                "Soon",
            ])),
        ),
        (
            "FNO_Expiration_Date__c",
            field(vec![Value::Null, json!("2026-01-31")]),
        ),
        (
            "FNO_Expiration_Term__c",
            field(vec![
                json!(1),
                json!(12.0),
                json!(0.5),
                json!(-1),
                Value::Null,
            ]),
        ),
        (
            "FNO_Expiration_Term_Option__c",
            field(strs(&["Days", "Weeks", "Months", "Years", "Eons"])),
        ),
        (
            "FNO_Activation_ID__c",
            field(vec![Value::Null, json!("ACT-9")]),
        ),
        (
            "FNO_Remaining_Quantity__c",
            field(vec![json!(3.0), Value::Null]),
        ),
        (
            "Product2",
            prop_oneof![1 => Just(Value::Null), 12 => product()].boxed(),
        ),
    ])
}

fn opportunity() -> BoxedStrategy<Value> {
    object(vec![
        ("Id", field(strs(&[OPP, OPP2]))),
        ("AccountId", field(strs(&[ACC, "001B0000000009AAAA"]))),
        ("Name", field(strs(&["Deal"]))),
        ("StageName", field(strs(&["Closed Won", "Prospecting"]))),
        ("CloseDate", field(strs(&["2025-06-30"]))),
        (
            "SystemModstamp",
            field(strs(&[
                "2025-06-04T11:02:25.000+0000",
                "2025-06-04T11:02:25Z",
                "2025-06-04T11:02:25+00:00",
            ])),
        ),
        (
            "FNO_Entitlement_State__c",
            field(vec![
                Value::Null,
                json!("Draft"),
                json!("Deployed"),
                json!("Obsolete"),
            ]),
        ),
        (
            "FNO_SoldTo_Account__c",
            field(strs(&[ACC, ACC_END, "001C"])),
        ),
        (
            "FNO_Renewed_Opportunity__c",
            field(vec![Value::Null, json!(OPP), json!(OPP2)]),
        ),
        ("FNO_Ship_To_Email__c", field(strs(&["a@b.c"]))),
        (
            "OpportunityLineItems",
            prop_oneof![
                1 => Just(Value::Null),
                6 => prop::collection::vec(line_item(), 0..4)
                    .prop_map(|r| json!({"totalSize": r.len(), "done": true, "records": r})),
            ]
            .boxed(),
        ),
    ])
}

fn account(id: &'static str) -> BoxedStrategy<Value> {
    object(vec![
        ("Id", field(strs(&[id]))),
        ("Name", field(strs(&["Acme", ""]))),
        ("BillingStreet", field(strs(&["1 Main St"]))),
        (
            "FNO_Account_Type__c",
            field(strs(&["End User", "Channel Partner", "Reseller"])),
        ),
        ("FNO_Account_ID__c", field(strs(&[id]))),
    ])
}

fn contact() -> BoxedStrategy<Value> {
    object(vec![
        ("Id", field(strs(&[CON, CON2]))),
        ("AccountId", field(strs(&[ACC, "001B"]))),
        ("FirstName", field(strs(&["Ada", ""]))),
        ("LastName", field(strs(&["Lovelace"]))),
        ("Email", field(strs(&["ada@example.com", "nope"]))),
        (
            "HasOptedOutOfEmail",
            field(vec![json!(true), json!(false), Value::Null]),
        ),
    ])
}

/// Bundles from arbitrary JSON; records that do not deserialise are dropped (a
/// deserialisation error is an error, not a panic).
fn bundle_strategy() -> impl Strategy<Value = (AccountBundle, usize)> {
    (
        account(ACC),
        prop::collection::vec(contact(), 0..3),
        prop::collection::vec(opportunity(), 0..4),
        prop::option::of(account(ACC_END)),
    )
        .prop_map(|(a, cs, os, end)| {
            let mut dropped = 0;
            let account: sf::Account = serde_json::from_value(a).unwrap_or_default();
            let contacts = cs
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).map_err(|_| dropped += 1).ok())
                .collect::<Vec<sf::Contact>>();
            let opportunities = os
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).map_err(|_| dropped += 1).ok())
                .collect::<Vec<sf::Opportunity>>();
            let mut related = std::collections::BTreeMap::new();
            if let Some(Ok(e)) = end.map(serde_json::from_value::<sf::Account>) {
                related.insert(ACC_END.to_owned(), e);
            }
            let mut known = KnownFno::default();
            known.entitlements.insert(OPP.into(), "ENT-1".into());
            (
                AccountBundle {
                    account,
                    contacts,
                    opportunities,
                    related_accounts: related,
                    known,
                    ..Default::default()
                },
                dropped,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn arbitrary_salesforce_json_never_panics_the_mapper(v in any_json(), li in line_item(), o in opportunity()) {
        // any JSON at all into each record type: Ok or Err, never a panic
        let _ = serde_json::from_value::<sf::Account>(v.clone());
        let _ = serde_json::from_value::<sf::Contact>(v.clone());
        let _ = serde_json::from_value::<sf::Product2>(v.clone());
        let _ = serde_json::from_value::<sf::OpportunityLineItem>(li);
        if let Ok(opp) = serde_json::from_value::<sf::Opportunity>(o) {
            let b = AccountBundle { account: rec(account_json(ACC, "Acme")), opportunities: vec![opp], ..Default::default() };
            let p = plan_account(&b, &catalogue(), &Config::default());
            // every opportunity is either planned or reported as skipped, never lost
            prop_assert_eq!(p.sales_orders.len() + p.skipped.iter().filter(|s| s.sobject == SfObject::Opportunity).count(), 1);
        }
    }

    #[test]
    fn planning_is_total_and_deterministic((b, _dropped) in bundle_strategy()) {
        let cfg = Config::default();
        let p1 = plan_account(&b, &catalogue(), &cfg);
        let p2 = plan_account(&b, &catalogue(), &cfg);
        prop_assert_eq!(serde_json::to_string(&p1).unwrap(), serde_json::to_string(&p2).unwrap());
        // same plan after the input went through JSON (as it does between Lambdas)
        let b2: AccountBundle = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        let p3 = plan_account(&b2, &catalogue(), &cfg);
        prop_assert_eq!(&p1, &p3);
        for (a, c) in p1.sales_orders.iter().zip(&p3.sales_orders) {
            if let (Ok(x), Ok(y)) = (&a.outcome, &c.outcome) {
                prop_assert_eq!(x.fingerprint(), y.fingerprint());
            }
        }
        // nothing silently lost: every opportunity is planned or skipped
        let planned = p1.sales_orders.len()
            + p1.skipped.iter().filter(|s| s.sobject == SfObject::Opportunity).count();
        prop_assert_eq!(planned, b.opportunities.len());
        // every error names a rule and ends with it
        for so in &p1.sales_orders {
            if let Err(es) = &so.outcome {
                prop_assert!(!es.is_empty());
                for e in es {
                    let suffix = format!("({})", e.rule);
                    prop_assert!(e.to_string().ends_with(&suffix));
                    prop_assert!(!e.field.is_empty());
                }
            }
        }
        let _ = writeback(&b, &FnoResults::default(), &cfg);
    }

    #[test]
    fn valid_orders_map_faithfully_and_fingerprints_follow_content(
        qty in 1u32..100_000,
        code in select(vec!["AM_SF01", "AM_SFDC_1"]),
        n_items in 1usize..5,
        start in select(vec![
            (json!("Specify Value Now"), json!("2025-07-01")),
            (json!("Use First Activation Date"), Value::Null),
            (json!("Use Each Activation Date"), Value::Null),
        ]),
        exp in select(vec![
            (json!("Specify Duration"), Value::Null, json!(3), json!("Years")),
            (json!("Permanent"), Value::Null, Value::Null, Value::Null),
            (json!("Specify Expiration Date"), json!("2027-12-31"), Value::Null, Value::Null),
        ]),
    ) {
        let items: Vec<Value> = (0..n_items)
            .map(|i| {
                let mut li = line_item_json(&format!("00kA00000000{i:02}AAAA"), code, f64::from(qty));
                li["FNO_Start_Date_Option__c"] = start.0.clone();
                li["FNO_Start_Date__c"] = start.1.clone();
                li["FNO_Expiration_Date_Option__c"] = exp.0.clone();
                li["FNO_Expiration_Date__c"] = exp.1.clone();
                li["FNO_Expiration_Term__c"] = exp.2.clone();
                li["FNO_Expiration_Term_Option__c"] = exp.3.clone();
                li
            })
            .collect();
        let mut b = bundle();
        b.opportunities = vec![rec(opportunity_json(OPP, "Closed Won", items))];
        let p = plan(&b);
        let so = p.sales_orders[0].outcome.as_ref().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(so.line_items().len(), n_items);
        for (i, li) in so.line_items().iter().enumerate() {
            prop_assert_eq!(li.number_of_copies, qty);
            prop_assert_eq!(li.part_number.as_str(), code);
            prop_assert_eq!(li.order_line_number.clone(), Some(format!("00kA00000000{i:02}AAAA")));
            prop_assert!(li.expiration.is_some());
        }
        prop_assert_eq!(so.fingerprint(), plan(&b).sales_orders[0].outcome.as_ref().unwrap().fingerprint());
        with_line_item(&mut b, |li| li["Quantity"] = json!(f64::from(qty) + 1.0));
        let other = plan(&b);
        prop_assert_ne!(so.fingerprint(), other.sales_orders[0].outcome.as_ref().unwrap().fingerprint());
    }

    #[test]
    fn mapping_edits_never_panic_and_config_round_trips(
        edits in prop::collection::vec(
            (
                select(vec![SfObject::Account, SfObject::Contact, SfObject::Opportunity, SfObject::OpportunityLineItem, SfObject::Product2]),
                select(vec!["accountName", "description", "locale", "partNumber", "CA_Num", "Attr_1", "licenseModel", "bad name"]),
                prop::option::of(select(vec!["Name", "Description", "X__c", "FNO_Account_ID__c", "Product2.Name", "bad field"])),
                any::<bool>(),
                prop::option::of((
                    select(vec![CustomEntity::Account, CustomEntity::User, CustomEntity::Entitlement, CustomEntity::EntitlementLine, CustomEntity::Product]),
                    select(vec![DataType::Number, DataType::Text, DataType::LongText, DataType::Boolean, DataType::Date]),
                )),
                any::<bool>(),
            ),
            0..12,
        )
    ) {
        let mut c = Config::default();
        for (object, attr, sf_field, required, custom, delete) in edits {
            if delete {
                let _ = c.delete_mapping(object, attr);
            } else {
                let m = FieldMapping {
                    fno_attribute: attr.to_owned(),
                    sf_field: sf_field.map(str::to_owned),
                    required,
                    editable: true,
                    kind: custom.map_or(MappingKind::Standard, |(entity, data_type)| MappingKind::Custom { entity, data_type }),
                };
                let _ = c.set_mapping(object, m);
            }
            // whatever was accepted keeps the config valid
            prop_assert_eq!(c.validate(), Ok(()));
        }
        let back: Config = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        prop_assert_eq!(&back, &c);
        let _ = plan_account(&bundle(), &catalogue(), &c);
    }
}
