//! The Salesforce side (infra/salesforce, SFDX source format) checked offline, since nothing
//! can be deployed from here (issue 14): every metadata file is well-formed XML of the metadata
//! type its name says; every field a layout or permission set names exists (a custom field
//! in the project's objects, a standard field from the list below); the action, its Lightning
//! component, its Apex class, the Named and External Credentials and the permission set name
//! each other correctly; the Apex callout is the route template.yaml gives account-sync; every
//! Apex class has a test class.

use quick_xml::events::Event;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const NS: &str = "http://soap.sforce.com/2006/04/metadata";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/salesforce/force-app/main/default")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A parsed metadata file: its root element, namespace and every element's text by path
/// (`Layout/layoutSections/label`), in document order.
#[derive(Debug, Default)]
struct Doc {
    root: String,
    xmlns: String,
    texts: Vec<(String, String)>,
    attributes: Vec<(String, String, String)>,
}

impl Doc {
    fn all(&self, path: &str) -> Vec<&str> {
        self.texts
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, t)| t.as_str())
            .collect()
    }
    fn one(&self, path: &str) -> &str {
        let v = self.all(path);
        assert_eq!(v.len(), 1, "{path} in {}: {v:?}", self.root);
        v[0]
    }
}

/// Well-formed XML or a panic naming the file and position.
fn parse(path: &Path) -> Doc {
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = quick_xml::Reader::from_str(&text);
    r.config_mut().trim_text(true);
    r.config_mut().check_end_names = true;
    let mut doc = Doc::default();
    let mut stack: Vec<String> = Vec::new();
    loop {
        let ev = r.read_event().unwrap_or_else(|e| {
            panic!(
                "{}: not well-formed at {}: {e}",
                path.display(),
                r.buffer_position()
            )
        });
        match ev {
            Event::Start(e) | Event::Empty(e) if stack.is_empty() && doc.root.is_empty() => {
                doc.root = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                for a in e.attributes() {
                    let a = a.unwrap();
                    if a.key.as_ref() == b"xmlns" {
                        doc.xmlns = a.unescape_value().unwrap().into_owned();
                    }
                }
                stack.push(doc.root.clone());
            }
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                stack.push(name);
                let p = stack.join("/");
                for a in e.attributes() {
                    let a = a.unwrap();
                    doc.attributes.push((
                        p.clone(),
                        String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                        a.unescape_value().unwrap().into_owned(),
                    ));
                }
            }
            Event::Empty(_) => {}
            Event::Text(t) => doc
                .texts
                .push((stack.join("/"), t.unescape().unwrap().into_owned())),
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(
        stack.is_empty(),
        "{}: unclosed elements {stack:?}",
        path.display()
    );
    assert!(!doc.root.is_empty(), "{}: no root element", path.display());
    doc
}

/// The metadata type a source-format file name says it holds.
fn expected_root(name: &str) -> Option<&'static str> {
    [
        (".field-meta.xml", "CustomField"),
        (".layout-meta.xml", "Layout"),
        (".quickAction-meta.xml", "QuickAction"),
        (".namedCredential-meta.xml", "NamedCredential"),
        (".externalCredential-meta.xml", "ExternalCredential"),
        (".permissionset-meta.xml", "PermissionSet"),
        (".cls-meta.xml", "ApexClass"),
        (".js-meta.xml", "LightningComponentBundle"),
    ]
    .into_iter()
    .find(|(suffix, _)| name.ends_with(suffix))
    .map(|(_, root)| root)
}

/// Standard fields the layouts and permission sets may name (Salesforce's own, per object).
fn standard_fields(object: &str) -> &'static [&'static str] {
    match object {
        "Account" => &[
            "Name",
            "Description",
            "OwnerId",
            "BillingAddress",
            "ShippingAddress",
        ],
        "Opportunity" => &[
            "Name",
            "AccountId",
            "Description",
            "CloseDate",
            "StageName",
            "OwnerId",
        ],
        "OpportunityLineItem" => &[
            "Product2Id",
            "Quantity",
            "UnitPrice",
            "Description",
            "ServiceDate",
        ],
        "Product2" => &["Name", "ProductCode", "IsActive", "Description"],
        _ => &[],
    }
}

struct Project {
    docs: BTreeMap<String, Doc>,
    /// Object → its custom fields, from objects/<Object>/fields/<Field>.field-meta.xml.
    custom_fields: BTreeMap<String, BTreeSet<String>>,
    apex: BTreeMap<String, String>,
    lwc: BTreeMap<String, String>,
}

fn project() -> Project {
    let base = root();
    let mut all = Vec::new();
    files(&base, &mut all);
    let mut p = Project {
        docs: BTreeMap::new(),
        custom_fields: BTreeMap::new(),
        apex: BTreeMap::new(),
        lwc: BTreeMap::new(),
    };
    for path in all {
        let rel = path
            .strip_prefix(&base)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".cls") {
            p.apex.insert(
                name.trim_end_matches(".cls").to_owned(),
                std::fs::read_to_string(&path).unwrap(),
            );
            continue;
        }
        if name.ends_with(".js") {
            p.lwc
                .insert(rel.clone(), std::fs::read_to_string(&path).unwrap());
            continue;
        }
        let Some(want) = expected_root(&name) else {
            panic!("{rel}: not a metadata file this project knows");
        };
        let doc = parse(&path);
        assert_eq!(doc.root, want, "{rel}");
        assert_eq!(doc.xmlns, NS, "{rel}: the Metadata API namespace");
        if want == "CustomField" {
            let parts: Vec<&str> = rel.split('/').collect();
            assert_eq!((parts[0], parts[2]), ("objects", "fields"), "{rel}");
            let field = name.trim_end_matches(".field-meta.xml");
            assert_eq!(
                doc.one("CustomField/fullName"),
                field,
                "{rel}: fullName is the file name"
            );
            p.custom_fields
                .entry(parts[1].to_owned())
                .or_default()
                .insert(field.to_owned());
        }
        p.docs.insert(rel, doc);
    }
    p
}

impl Project {
    fn field_exists(&self, object: &str, field: &str) -> bool {
        if field.ends_with("__c") {
            self.custom_fields
                .get(object)
                .is_some_and(|f| f.contains(field))
        } else {
            standard_fields(object).contains(&field)
        }
    }
    fn of_type(&self, root: &str) -> Vec<(&String, &Doc)> {
        self.docs.iter().filter(|(_, d)| d.root == root).collect()
    }
}

#[test]
fn every_metadata_file_is_well_formed_xml_of_the_type_its_name_says() {
    let p = project();
    assert!(p.docs.len() >= 29, "{} metadata files", p.docs.len());
    for t in [
        "Layout",
        "QuickAction",
        "NamedCredential",
        "ExternalCredential",
        "ApexClass",
        "LightningComponentBundle",
    ] {
        assert!(!p.of_type(t).is_empty(), "a {t}");
    }
    // and the parser refuses what is not well-formed
    let dir = std::env::temp_dir().join(format!("fb-sfdx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("Bad.layout-meta.xml");
    std::fs::write(
        &bad,
        format!("<Layout xmlns=\"{NS}\"><layoutSections></Layout>"),
    )
    .unwrap();
    assert!(std::panic::catch_unwind(|| parse(&bad)).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_field_named_by_a_layout_or_permission_set_exists_in_the_project() {
    let p = project();
    // the salesforce-fields.md contract: these custom fields exist
    for (object, field) in [
        ("Account", "FNO_Account_ID__c"),
        ("Opportunity", "FNO_Entitlement_ID__c"),
        ("OpportunityLineItem", "FNO_Activation_ID__c"),
        ("OpportunityLineItem", "FNO_Remaining_Quantity__c"),
        ("Product2", "FNO_Include_In_Sync__c"),
    ] {
        assert!(p.field_exists(object, field), "{object}.{field}");
    }
    let mut checked = 0;
    let mut objects_with_layouts = BTreeSet::new();
    for (rel, doc) in p.of_type("Layout") {
        let name = rel
            .trim_start_matches("layouts/")
            .trim_end_matches(".layout-meta.xml");
        let (object, _) = name.split_once('-').expect("Object-Layout Name");
        objects_with_layouts.insert(object.to_owned());
        for f in doc.all("Layout/layoutSections/layoutColumns/layoutItems/field") {
            assert!(
                p.field_exists(object, f),
                "{rel}: {object}.{f} is not a field of the project"
            );
            checked += 1;
        }
        for b in doc.all("Layout/layoutSections/layoutColumns/layoutItems/behavior") {
            assert!(["Edit", "Required", "Readonly"].contains(&b), "{rel}: {b}");
        }
        // the connector's section holds every custom field of the object
        let labels = doc.all("Layout/layoutSections/label");
        assert!(
            labels.contains(&"FlexNet Operations Connector Information"),
            "{rel}: {labels:?}"
        );
        let on_layout: BTreeSet<&str> = doc
            .all("Layout/layoutSections/layoutColumns/layoutItems/field")
            .into_iter()
            .collect();
        for f in p.custom_fields.get(object).into_iter().flatten() {
            assert!(on_layout.contains(f.as_str()), "{rel} lacks {object}.{f}");
        }
    }
    assert_eq!(
        objects_with_layouts,
        ["Account", "Opportunity", "OpportunityLineItem", "Product2"]
            .map(String::from)
            .into(),
        "a layout per object with connector fields (table 2-2)"
    );
    for (rel, doc) in p.of_type("PermissionSet") {
        for f in doc.all("PermissionSet/fieldPermissions/field") {
            let (object, field) = f.split_once('.').unwrap();
            assert!(p.field_exists(object, field), "{rel}: {f}");
            checked += 1;
        }
        for c in doc.all("PermissionSet/classAccesses/apexClass") {
            assert!(p.apex.contains_key(c), "{rel}: Apex class {c}");
        }
    }
    assert!(checked > 30, "{checked} field references");
    // a field that does not exist is caught
    assert!(!p.field_exists("Account", "FNO_Nope__c"));
    assert!(!p.field_exists("Account", "Nope"));
}

#[test]
fn the_sync_action_reaches_the_template_route_through_the_sigv4_named_credential() {
    let p = project();
    // the action on Account runs the headless Lightning web component
    let (rel, action) = p
        .of_type("QuickAction")
        .into_iter()
        .find(|(r, _)| {
            r.as_str() == "quickActions/Account.Sync_with_FlexNet_Operations.quickAction-meta.xml"
        })
        .expect("the Account action");
    assert_eq!(
        action.one("QuickAction/label"),
        "Sync with FlexNet Operations",
        "{rel}"
    );
    assert_eq!(action.one("QuickAction/type"), "LightningWebComponent");
    assert_eq!(
        action.one("QuickAction/actionSubtype"),
        "Action",
        "headless"
    );
    let component = action.one("QuickAction/lightningWebComponent");
    let meta = &p.docs[&format!("lwc/{component}/{component}.js-meta.xml")];
    assert_eq!(
        meta.one("LightningComponentBundle/targets/target"),
        "lightning__RecordAction"
    );
    assert_eq!(
        meta.one("LightningComponentBundle/targetConfigs/targetConfig/actionType"),
        "Action"
    );
    let js = &p.lwc[&format!("lwc/{component}/{component}.js")];
    assert!(
        js.contains("@api async invoke()"),
        "a headless action has invoke()"
    );
    let import = js
        .split("'@salesforce/apex/")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("imports an Apex method");
    let (class, method) = import.split_once('.').unwrap();
    let apex = &p.apex[class];
    assert!(apex.contains("@AuraEnabled"), "{class}");
    assert!(
        apex.contains(&format!("public static String {method}(Id accountId)")),
        "{class}.{method}"
    );
    // the Account layout offers the action
    let layout = &p.docs["layouts/Account-Account FlexNet Operations Layout.layout-meta.xml"];
    assert!(layout
        .all("Layout/platformActionList/platformActionListItems/actionName")
        .contains(&"Account.Sync_with_FlexNet_Operations"));

    // the Apex callout is the route template.yaml wires to account-sync
    let constant = |name: &str| {
        let marker = format!("String {name} = '");
        apex.split(&marker)
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .unwrap_or_else(|| panic!("{class} has {name}"))
            .to_owned()
    };
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"))
            .unwrap()
            .replace(": !", ": ")
            .replace("- !", "- ");
    let t: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let route =
        &t["Resources"]["AccountSyncFunction"]["Properties"]["Events"]["SyncAccount"]["Properties"];
    assert_eq!(constant("SYNC_PATH"), route["Path"].as_str().unwrap());
    assert_eq!(constant("SYNC_METHOD"), route["Method"].as_str().unwrap());
    assert!(
        apex.contains("SYNC_PATH.replace('{id}'"),
        "the id goes into the path"
    );
    // through the Named Credential, signed with SigV4 for API Gateway
    let nc_name = constant("NAMED_CREDENTIAL");
    assert!(apex.contains("'callout:' + NAMED_CREDENTIAL"), "{class}");
    let nc = &p.docs[&format!("namedCredentials/{nc_name}.namedCredential-meta.xml")];
    assert_eq!(
        nc.one("NamedCredential/namedCredentialType"),
        "SecuredEndpoint"
    );
    let ec_name = nc.one("NamedCredential/namedCredentialParameters/externalCredential");
    let ec = &p.docs[&format!("externalCredentials/{ec_name}.externalCredential-meta.xml")];
    assert_eq!(
        ec.one("ExternalCredential/authenticationProtocol"),
        "AwsSv4"
    );
    let params: Vec<&str> = ec.all("ExternalCredential/externalCredentialParameters/parameterName");
    let values: Vec<&str> =
        ec.all("ExternalCredential/externalCredentialParameters/parameterValue");
    let types: Vec<&str> = ec.all("ExternalCredential/externalCredentialParameters/parameterType");
    assert!(
        params.contains(&"AwsService") && values.contains(&"execute-api"),
        "{params:?} {values:?}"
    );
    assert!(params.contains(&"AwsRegion"));
    let principal_at = types
        .iter()
        .position(|t| *t == "NamedPrincipal")
        .expect("a named principal");
    let principal = format!("{ec_name}-{}", params[principal_at]);
    // no key in the metadata: it is entered in Setup
    assert!(!params
        .iter()
        .any(|p| p.to_ascii_lowercase().contains("secret")));
    // the permission set lets users use that principal and the Apex class
    let ps = &p.docs["permissionsets/Flexbridge_Sync_User.permissionset-meta.xml"];
    assert_eq!(
        ps.one("PermissionSet/externalCredentialPrincipalAccesses/externalCredentialPrincipal"),
        principal
    );
    assert_eq!(ps.one("PermissionSet/classAccesses/apexClass"), class);
    // the template's IAM user may call exactly that route
    let user = &t["Resources"]["SalesforceSyncUser"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"][0];
    assert_eq!(user["Action"], "execute-api:Invoke");
    assert!(
        user["Resource"]
            .as_str()
            .unwrap()
            .ends_with("/POST/accounts/*/sync"),
        "{user}"
    );
}

#[test]
fn every_apex_class_has_a_test_class_covering_each_answer() {
    let p = project();
    for (name, body) in &p.apex {
        assert!(
            p.docs.contains_key(&format!("classes/{name}.cls-meta.xml")),
            "{name}: -meta.xml"
        );
        if name.ends_with("Test") {
            assert!(body.starts_with("@IsTest"), "{name}");
            continue;
        }
        let test = p
            .apex
            .get(&format!("{name}Test"))
            .unwrap_or_else(|| panic!("{name}Test"));
        assert!(test.contains("HttpCalloutMock"), "callouts are mocked");
        // every status the controller treats differently is exercised
        for status in [
            "202",
            "409",
            "403",
            "400",
            "500",
            "CalloutException",
            "failure(null)",
        ] {
            assert!(test.contains(status), "{name}Test covers {status}");
        }
        assert!(test.matches("@IsTest").count() >= 6, "{name}Test");
    }
}
