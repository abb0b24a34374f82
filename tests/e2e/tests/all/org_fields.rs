//! The org side (infra/salesforce, Salesforce DX source): every custom field of
//! shared/reference/salesforce-fields.md is declared with its type and picklist values, the
//! permission set grants read on it (edit on the R20 write-back fields), and every custom
//! field the default mappings use is declared.

use mapping::config::Config;
use mapping::error::SfObject;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dx() -> PathBuf {
    root().join("infra/salesforce/force-app/main/default")
}

/// The custom-field rows of salesforce-fields.md, as (object, field, type text, direction).
/// Kept here too so the test runs without the reference folder; when the reference is there,
/// it must say the same.
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    ("Product2", "FNO_Include_In_Sync__c", "checkbox", "read"),
    (
        "Account",
        "FNO_Account_Type__c",
        "picklist `End User` | `Channel Partner`",
        "read",
    ),
    ("Account", "FNO_Account_ID__c", "text(255)", "written back"),
    (
        "Opportunity",
        "FNO_Entitlement_State__c",
        "picklist `Draft` | `Deployed`",
        "read",
    ),
    (
        "Opportunity",
        "FNO_SoldTo_Account__c",
        "lookup(Account)",
        "read",
    ),
    ("Opportunity", "FNO_Ship_To_Email__c", "email", "read"),
    ("Opportunity", "FNO_Ship_To_Mail__c", "text", "read"),
    (
        "Opportunity",
        "FNO_Renewed_Opportunity__c",
        "lookup(Opportunity)",
        "read",
    ),
    (
        "Opportunity",
        "FNO_Entitlement_ID__c",
        "text(255)",
        "written back",
    ),
    (
        "OpportunityLineItem",
        "FNO_Start_Date_Option__c",
        "picklist `Specify Value Now` | `Use First Activation Date` | `Use Each Activation Date`",
        "read",
    ),
    ("OpportunityLineItem", "FNO_Start_Date__c", "date", "read"),
    (
        "OpportunityLineItem",
        "FNO_Expiration_Date_Option__c",
        "picklist `Specify Duration` | `Permanent` | `Specify Expiration Date`",
        "read",
    ),
    (
        "OpportunityLineItem",
        "FNO_Expiration_Date__c",
        "date",
        "read",
    ),
    (
        "OpportunityLineItem",
        "FNO_Expiration_Term__c",
        "number",
        "read",
    ),
    (
        "OpportunityLineItem",
        "FNO_Expiration_Term_Option__c",
        "picklist `Days` | `Weeks` | `Months` | `Years`",
        "read",
    ),
    (
        "OpportunityLineItem",
        "FNO_Activation_ID__c",
        "text(255)",
        "written back",
    ),
    (
        "OpportunityLineItem",
        "FNO_Remaining_Quantity__c",
        "number",
        "written back",
    ),
];

/// Parses the reference table's custom-field rows (a row may list two fields, `email, text`).
fn reference_rows(md: &str) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for line in md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("__c"))
    {
        let line = line.replace("\\|", "\u{1}");
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() < 5 || cells[2] == "standard" {
            continue;
        }
        let fields: Vec<String> = cells[1]
            .split(',')
            .map(|f| f.trim().trim_matches('`').to_owned())
            .collect();
        let types: Vec<String> = if fields.len() > 1 {
            cells[2].split(',').map(|t| t.trim().to_owned()).collect()
        } else {
            vec![cells[2].to_owned()]
        };
        assert_eq!(fields.len(), types.len(), "row {line}");
        for (f, t) in fields.into_iter().zip(types) {
            out.push((
                cells[0].to_owned(),
                f,
                t.replace('\u{1}', "|"),
                cells[4].to_owned(),
            ));
        }
    }
    out
}

fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].trim())
}

fn picklist_values(xml: &str) -> Vec<String> {
    xml.split("<value>")
        .skip(1)
        .filter_map(|v| tag(v, "fullName").map(str::to_owned))
        .collect()
}

fn field_xml(object: &str, field: &str) -> Option<String> {
    std::fs::read_to_string(dx().join(format!("objects/{object}/fields/{field}.field-meta.xml")))
        .ok()
}

/// (metadata type, length, referenceTo, picklist values) the reference's type text asks for.
fn expected_metadata(type_text: &str) -> (String, Option<String>, Option<String>, Vec<String>) {
    let t = type_text.trim();
    if let Some(rest) = t.strip_prefix("picklist") {
        let values = rest
            .split('|')
            .map(|v| v.trim().trim_matches('`').to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        return ("Picklist".into(), None, None, values);
    }
    if let Some(target) = t.strip_prefix("lookup(").and_then(|r| r.strip_suffix(')')) {
        return ("Lookup".into(), None, Some(target.to_owned()), vec![]);
    }
    match t {
        "checkbox" => ("Checkbox".into(), None, None, vec![]),
        "text(255)" | "text" => ("Text".into(), Some("255".into()), None, vec![]),
        "number" => ("Number".into(), None, None, vec![]),
        "date" => ("Date".into(), None, None, vec![]),
        "email" => ("Email".into(), None, None, vec![]),
        other => panic!("type {other:?} of salesforce-fields.md is not known to this test"),
    }
}

#[test]
fn reference_and_this_test_agree_on_the_custom_fields() {
    let path = root().join("../shared/reference/salesforce-fields.md");
    let Ok(md) = std::fs::read_to_string(&path) else {
        // the reference folder sits beside the repository on developer machines and in CI
        eprintln!(
            "{} not found: checking against the built-in copy only",
            path.display()
        );
        return;
    };
    let parsed = reference_rows(&md);
    let expected: Vec<(String, String, String, String)> = EXPECTED
        .iter()
        .map(|(o, f, t, d)| ((*o).into(), (*f).into(), (*t).into(), (*d).into()))
        .collect();
    assert_eq!(parsed, expected);
}

#[test]
fn r6_r9_r12_r13_r14_r15_r20_every_reference_field_is_declared_with_its_type() {
    for (object, field, type_text, _) in EXPECTED {
        let xml = field_xml(object, field)
            .unwrap_or_else(|| panic!("{object}.{field} has no field-meta.xml"));
        assert_eq!(tag(&xml, "fullName"), Some(*field), "{object}.{field}");
        let (kind, length, reference, values) = expected_metadata(type_text);
        assert_eq!(
            tag(&xml, "type"),
            Some(kind.as_str()),
            "{object}.{field} type"
        );
        if let Some(len) = length {
            assert_eq!(
                tag(&xml, "length"),
                Some(len.as_str()),
                "{object}.{field} length"
            );
        }
        if let Some(target) = reference {
            assert_eq!(
                tag(&xml, "referenceTo"),
                Some(target.as_str()),
                "{object}.{field} referenceTo"
            );
            assert!(
                tag(&xml, "relationshipName").is_some_and(|r| !r.is_empty()),
                "{object}.{field} relationshipName"
            );
        }
        assert_eq!(
            picklist_values(&xml),
            values,
            "{object}.{field} picklist values"
        );
        assert!(
            tag(&xml, "label").is_some_and(|l| !l.is_empty() && l.len() <= 40),
            "{object}.{field} label"
        );
    }
}

#[test]
fn no_field_is_declared_that_the_reference_does_not_list() {
    let mut declared = Vec::new();
    for obj in std::fs::read_dir(dx().join("objects")).unwrap() {
        let obj = obj.unwrap().path();
        for f in std::fs::read_dir(obj.join("fields")).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            let object = obj.file_name().unwrap().to_string_lossy().into_owned();
            declared.push((object, name.trim_end_matches(".field-meta.xml").to_owned()));
        }
    }
    for (o, f) in &declared {
        assert!(
            EXPECTED.iter().any(|(eo, ef, _, _)| eo == o && ef == f),
            "{o}.{f} is not in salesforce-fields.md"
        );
    }
    assert_eq!(declared.len(), EXPECTED.len());
}

#[test]
fn r20_permission_set_reads_every_field_and_edits_only_write_back_fields() {
    let xml = std::fs::read_to_string(
        dx().join("permissionsets/Flexbridge_Integration.permissionset-meta.xml"),
    )
    .unwrap();
    let perms: BTreeMap<String, (String, String)> = xml
        .split("<fieldPermissions>")
        .skip(1)
        .map(|p| {
            (
                tag(p, "field").unwrap().to_owned(),
                (
                    tag(p, "readable").unwrap().to_owned(),
                    tag(p, "editable").unwrap().to_owned(),
                ),
            )
        })
        .collect();
    for (object, field, _, direction) in EXPECTED {
        let key = format!("{object}.{field}");
        let (read, edit) = perms
            .get(&key)
            .unwrap_or_else(|| panic!("permission set lacks {key}"));
        assert_eq!(read, "true", "{key} readable");
        let want_edit = if *direction == "written back" {
            "true"
        } else {
            "false"
        };
        assert_eq!(edit, want_edit, "{key} editable");
    }
    assert!(xml.contains("<name>ApiEnabled</name>"));
    let objects: Vec<&str> = xml
        .split("<objectPermissions>")
        .skip(1)
        .filter_map(|p| tag(p, "object"))
        .collect();
    for o in ["Account", "Contact", "Opportunity", "Product2"] {
        assert!(
            objects.contains(&o),
            "permission set lacks object read on {o}"
        );
    }
}

fn declared_anywhere(field: &str) -> bool {
    EXPECTED.iter().any(|(o, f, _, _)| {
        *f == field
            && Path::new(&dx())
                .join(format!("objects/{o}/fields/{f}.field-meta.xml"))
                .exists()
    })
}

#[test]
fn every_custom_field_the_default_mappings_use_is_declared() {
    let config = Config::default();
    let mut checked = 0;
    for object in SfObject::MAPPED.iter().chain([SfObject::Product2].iter()) {
        for path in config.fields_to_read(*object) {
            let last = path.rsplit('.').next().unwrap_or(&path);
            if !last.ends_with("__c") {
                continue;
            }
            checked += 1;
            if path.contains('.') {
                assert!(
                    declared_anywhere(last),
                    "{}: {path} is used but {last} is not declared",
                    object.api_name()
                );
            } else {
                assert!(
                    field_xml(object.api_name(), &path).is_some(),
                    "{}.{path} is used by the default mappings but not declared in infra/salesforce",
                    object.api_name()
                );
            }
        }
    }
    assert!(
        checked >= 15,
        "only {checked} custom fields found in the default mappings"
    );
}
