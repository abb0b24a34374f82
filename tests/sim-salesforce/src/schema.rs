//! The org's object schema: standard fields of the sales-order and license objects plus every
//! flexbridge custom field (shared/reference/salesforce-fields.md), with describe types,
//! relationship metadata and child relationships. Table-driven: one line per field,
//! `Name:type[:flag…]` with flags `ro` (not updateable), `req` (not nillable), `len=N`,
//! `pick=A|B` (picklist values; restricted on custom fields), `ref=Type`, `rel=Name`.
//! Fields a fixture record carries that the table does not know get an inferred type.

use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FType {
    Id,
    String,
    Textarea,
    Picklist,
    Boolean,
    Double,
    Int,
    Currency,
    Percent,
    Date,
    DateTime,
    Reference,
    Email,
    Phone,
    Url,
}

impl FType {
    pub fn parse(s: &str) -> Option<FType> {
        Some(match s {
            "id" => FType::Id,
            "string" => FType::String,
            "textarea" => FType::Textarea,
            "picklist" => FType::Picklist,
            "boolean" => FType::Boolean,
            "double" => FType::Double,
            "int" => FType::Int,
            "currency" => FType::Currency,
            "percent" => FType::Percent,
            "date" => FType::Date,
            "datetime" => FType::DateTime,
            "reference" => FType::Reference,
            "email" => FType::Email,
            "phone" => FType::Phone,
            "url" => FType::Url,
            _ => return None,
        })
    }
    /// The describe `type` value.
    pub fn name(self) -> &'static str {
        match self {
            FType::Id => "id",
            FType::String => "string",
            FType::Textarea => "textarea",
            FType::Picklist => "picklist",
            FType::Boolean => "boolean",
            FType::Double => "double",
            FType::Int => "int",
            FType::Currency => "currency",
            FType::Percent => "percent",
            FType::Date => "date",
            FType::DateTime => "datetime",
            FType::Reference => "reference",
            FType::Email => "email",
            FType::Phone => "phone",
            FType::Url => "url",
        }
    }
    pub fn is_text(self) -> bool {
        matches!(
            self,
            FType::Id
                | FType::String
                | FType::Textarea
                | FType::Picklist
                | FType::Reference
                | FType::Email
                | FType::Phone
                | FType::Url
        )
    }
    pub fn is_number(self) -> bool {
        matches!(
            self,
            FType::Double | FType::Int | FType::Currency | FType::Percent
        )
    }
    /// Ids compare case-sensitively (15/18-char aware); other text case-insensitively.
    pub fn is_id(self) -> bool {
        matches!(self, FType::Id | FType::Reference)
    }
    fn default_len(self) -> u32 {
        match self {
            FType::Id | FType::Reference => 18,
            FType::Textarea => 32000,
            FType::Picklist => 255,
            FType::Phone => 40,
            FType::Email => 80,
            FType::Url => 255,
            t if t.is_text() => 255,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub ftype: FType,
    pub updateable: bool,
    pub nillable: bool,
    pub custom: bool,
    pub length: u32,
    pub picklist: Vec<String>,
    /// Picklist values are enforced on writes (custom picklists).
    pub restricted: bool,
    pub reference_to: Option<String>,
    pub relationship_name: Option<String>,
    /// Not in the built-in table: inferred from fixture values.
    pub inferred: bool,
}

#[derive(Debug, Clone)]
pub struct ChildRel {
    pub name: String,
    pub child: String,
    pub field: String,
}

#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: String,
    pub key_prefix: String,
    pub fields: Vec<FieldDef>,
    pub children: Vec<ChildRel>,
    /// Known only from the fixture (no built-in table).
    pub inferred: bool,
}

impl ObjectDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
    /// The lookup field behind a parent relationship name (`Account`, `Foo__r`).
    pub fn parent_rel(&self, rel: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| {
            f.relationship_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(rel))
        })
    }
    pub fn child_rel(&self, rel: &str) -> Option<&ChildRel> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(rel))
    }
}

const COMMON: &[&str] = &[
    "Id:id:ro:req",
    "IsDeleted:boolean:ro:req",
    "CreatedDate:datetime:ro:req",
    "CreatedById:reference:ro:ref=User",
    "LastModifiedDate:datetime:ro:req",
    "LastModifiedById:reference:ro:ref=User",
    "SystemModstamp:datetime:ro:req",
];

const STAGES: &str = "pick=Prospecting|Qualification|Needs Analysis|Value Proposition|Id. Decision Makers|Perception Analysis|Proposal/Price Quote|Negotiation/Review|Closed Won|Closed Lost";

/// (object, key prefix, all fields read-only, fields)
type ObjSpec = (&'static str, &'static str, bool, &'static [&'static str]);

const OBJECTS: &[ObjSpec] = &[
    (
        "Account",
        "001",
        false,
        &[
            "Name:string:req",
            "Description:textarea",
            "Type:picklist:pick=Prospect|Customer - Direct|Customer - Channel|Channel Partner / Reseller|Other",
            "Industry:picklist",
            "Phone:phone",
            "Website:url",
            "BillingStreet:textarea",
            "BillingCity:string:len=40",
            "BillingState:string:len=80",
            "BillingPostalCode:string:len=20",
            "BillingCountry:string:len=80",
            "ShippingStreet:textarea",
            "ShippingCity:string:len=40",
            "ShippingState:string:len=80",
            "ShippingPostalCode:string:len=20",
            "ShippingCountry:string:len=80",
            "OwnerId:reference:ref=User",
            "FNO_Account_Type__c:picklist:pick=End User|Channel Partner",
            "FNO_Account_ID__c:string:len=255",
        ],
    ),
    (
        "Contact",
        "003",
        false,
        &[
            "AccountId:reference",
            "FirstName:string:len=40",
            "LastName:string:req:len=80",
            "Name:string:ro:len=121",
            "Title:string:len=128",
            "Email:email",
            "HasOptedOutOfEmail:boolean:req",
            "Phone:phone",
            "Fax:phone",
            "MailingStreet:textarea",
            "MailingCity:string:len=40",
            "MailingState:string:len=80",
            "MailingPostalCode:string:len=20",
            "MailingCountry:string:len=80",
            "OwnerId:reference:ref=User",
        ],
    ),
    (
        "Product2",
        "01t",
        false,
        &[
            "Name:string:req",
            "ProductCode:string",
            "IsActive:boolean:req",
            "Family:picklist",
            "Description:textarea",
            "FNO_Include_In_Sync__c:boolean:req",
        ],
    ),
    (
        "Opportunity",
        "006",
        false,
        &[
            "AccountId:reference",
            "Name:string:req:len=120",
            "StageName:picklist:req",
            "IsWon:boolean:ro:req",
            "IsClosed:boolean:ro:req",
            "CloseDate:date:req",
            "Description:textarea",
            "Amount:currency",
            "Pricebook2Id:reference",
            "OwnerId:reference:ref=User",
            "FNO_Entitlement_State__c:picklist:pick=Draft|Deployed",
            "FNO_SoldTo_Account__c:reference:ref=Account",
            "FNO_Ship_To_Email__c:email",
            "FNO_Ship_To_Mail__c:string:len=255",
            "FNO_Renewed_Opportunity__c:reference:ref=Opportunity",
            "FNO_Entitlement_ID__c:string:len=255",
        ],
    ),
    (
        "OpportunityLineItem",
        "00k",
        false,
        &[
            "OpportunityId:reference:ro:req",
            "PricebookEntryId:reference:ro",
            "Product2Id:reference:ro",
            "ProductCode:string:ro",
            "Name:string:ro",
            "Quantity:double:req",
            "UnitPrice:currency",
            "TotalPrice:currency",
            "ListPrice:currency:ro",
            "ServiceDate:date",
            "Description:string:len=255",
            "Discount:percent",
            "SortOrder:int",
            "FNO_Start_Date_Option__c:picklist:pick=Specify Value Now|Use First Activation Date|Use Each Activation Date",
            "FNO_Start_Date__c:date",
            "FNO_Expiration_Date_Option__c:picklist:pick=Specify Duration|Permanent|Specify Expiration Date",
            "FNO_Expiration_Date__c:date",
            "FNO_Expiration_Term__c:double",
            "FNO_Expiration_Term_Option__c:picklist:pick=Days|Weeks|Months|Years",
            "FNO_Activation_ID__c:string:len=255",
            "FNO_Remaining_Quantity__c:double",
        ],
    ),
    (
        "UserLicense",
        "100",
        true,
        &[
            "Name:string:len=40",
            "MasterLabel:string:len=80",
            "LicenseDefinitionKey:string:len=40",
            "Status:picklist:pick=Active|Disabled",
            "TotalLicenses:int",
            "UsedLicenses:int",
            "UsedLicensesLastUpdated:datetime",
        ],
    ),
    (
        "Profile",
        "00e",
        true,
        &[
            "Name:string",
            "UserLicenseId:reference",
            "UserType:picklist:pick=Standard|PowerPartner|CspLitePortal|CustomerSuccess|PowerCustomerSuccess|Guest",
            "Description:string",
        ],
    ),
    (
        "User",
        "005",
        false,
        &[
            "Username:string:req:len=80",
            "Name:string:ro:len=121",
            "FirstName:string:len=40",
            "LastName:string:req:len=80",
            "Email:email:req",
            "IsActive:boolean:req",
            "ProfileId:reference:req",
            "UserType:picklist:ro:pick=Standard|PowerPartner|CspLitePortal|CustomerSuccess|PowerCustomerSuccess|Guest",
            "LastLoginDate:datetime:ro",
            "UserPermissionsMarketingUser:boolean",
            "UserPermissionsOfflineUser:boolean",
            "UserPermissionsKnowledgeUser:boolean",
            "UserPermissionsSFContentUser:boolean",
            "UserPermissionsInteractionUser:boolean",
            "UserPermissionsSupportUser:boolean",
            "UserPermissionsCallCenterAutoLogin:boolean",
            "UserPermissionsLiveAgentUser:boolean",
        ],
    ),
    (
        "PermissionSetLicense",
        "0PL",
        true,
        &[
            "DeveloperName:string:len=80",
            "MasterLabel:string:len=80",
            "PermissionSetLicenseKey:string:len=81",
            "Status:picklist:pick=Active|Disabled",
            "TotalLicenses:int",
            "UsedLicenses:int",
            "ExpirationDate:date",
            "Language:picklist",
            "IsAvailableForIntegrations:boolean",
        ],
    ),
    (
        "PermissionSetLicenseAssign",
        "2LA",
        true,
        &[
            "AssigneeId:reference:ref=User",
            "PermissionSetLicenseId:reference",
            "IsRevoked:boolean",
        ],
    ),
    (
        "PackageLicense",
        "050",
        true,
        &[
            "NamespacePrefix:string:len=40",
            "AllowedLicenses:int",
            "UsedLicenses:int",
            "ExpirationDate:datetime",
            "Status:picklist:pick=Active|Expired|Free|Trial",
            "IsProvisioned:boolean",
            "IsAvailableForIntegrations:boolean",
        ],
    ),
    (
        "UserPackageLicense",
        "051",
        true,
        &[
            "PackageLicenseId:reference",
            "UserId:reference",
            "IsRevoked:boolean",
        ],
    ),
    (
        "AuthSession",
        "0Ak",
        true,
        &[
            "UsersId:reference:ref=User:rel=Users",
            "NumSecondsValid:int",
            "SessionType:picklist:pick=UI|Content|API|Visualforce|Oauth2|SubstituteUser",
            "LoginType:picklist:len=40",
            "UserType:picklist:pick=Standard|Partner|CustomerSuccess|Guest",
            "SessionSecurityLevel:picklist:pick=STANDARD|HIGH_ASSURANCE",
            "SourceIp:string:len=39",
            "IsCurrent:boolean",
            "ParentId:reference:ref=AuthSession",
            "LoginHistoryId:reference:ref=LoginHistory",
            "LoginGeoId:reference:ref=LoginGeo",
            "LogoutUrl:string:len=1500",
        ],
    ),
];

/// (parent, relationship name, child, lookup field on the child)
const CHILDREN: &[(&str, &str, &str, &str)] = &[
    ("Account", "Contacts", "Contact", "AccountId"),
    ("Account", "Opportunities", "Opportunity", "AccountId"),
    (
        "Opportunity",
        "OpportunityLineItems",
        "OpportunityLineItem",
        "OpportunityId",
    ),
    ("UserLicense", "Profiles", "Profile", "UserLicenseId"),
    ("Profile", "Users", "User", "ProfileId"),
    (
        "PermissionSetLicense",
        "PermissionSetLicenseAssignments",
        "PermissionSetLicenseAssign",
        "PermissionSetLicenseId",
    ),
    (
        "User",
        "PermissionSetLicenseAssignments",
        "PermissionSetLicenseAssign",
        "AssigneeId",
    ),
    (
        "PackageLicense",
        "UserPackageLicenses",
        "UserPackageLicense",
        "PackageLicenseId",
    ),
    (
        "User",
        "UserPackageLicenses",
        "UserPackageLicense",
        "UserId",
    ),
    ("User", "AuthSessions", "AuthSession", "UsersId"),
];

fn field_from_spec(spec: &str, all_ro: bool) -> FieldDef {
    let mut parts = spec.split(':');
    let name = parts.next().unwrap_or_default().to_owned();
    let ftype = parts.next().and_then(FType::parse).unwrap_or(FType::String);
    let mut f = FieldDef {
        custom: name.ends_with("__c"),
        ftype,
        updateable: !all_ro,
        nillable: true,
        length: ftype.default_len(),
        picklist: Vec::new(),
        restricted: false,
        reference_to: None,
        relationship_name: None,
        inferred: false,
        name,
    };
    for flag in parts {
        match flag.split_once('=') {
            None if flag == "ro" => f.updateable = false,
            None if flag == "req" => f.nillable = false,
            Some(("len", n)) => f.length = n.parse().unwrap_or(f.length),
            Some(("pick", vals)) => f.picklist = vals.split('|').map(str::to_owned).collect(),
            Some(("ref", t)) => f.reference_to = Some(t.to_owned()),
            Some(("rel", r)) => f.relationship_name = Some(r.to_owned()),
            _ => {}
        }
    }
    if f.name == "StageName" && f.picklist.is_empty() {
        f.picklist = STAGES
            .trim_start_matches("pick=")
            .split('|')
            .map(str::to_owned)
            .collect();
    }
    f.restricted = f.custom && f.ftype == FType::Picklist && !f.picklist.is_empty();
    if f.ftype == FType::Reference {
        fill_relationship(&mut f);
    }
    f
}

/// `XxxId` → relationship `Xxx` (target `Xxx` unless given); `Foo__c` → `Foo__r`.
fn fill_relationship(f: &mut FieldDef) {
    if f.relationship_name.is_none() {
        f.relationship_name = if let Some(stem) = f.name.strip_suffix("__c") {
            Some(format!("{stem}__r"))
        } else {
            f.name
                .strip_suffix("Id")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
    }
    if f.reference_to.is_none() && !f.name.ends_with("__c") {
        f.reference_to = f.name.strip_suffix("Id").map(str::to_owned);
    }
}

/// The built-in object table, keyed by object name.
pub fn builtin() -> BTreeMap<String, ObjectDef> {
    let mut out = BTreeMap::new();
    for (name, prefix, all_ro, fields) in OBJECTS {
        let mut defs: Vec<FieldDef> = COMMON.iter().map(|s| field_from_spec(s, true)).collect();
        defs.extend(fields.iter().map(|s| field_from_spec(s, *all_ro)));
        out.insert(
            (*name).to_owned(),
            ObjectDef {
                name: (*name).to_owned(),
                key_prefix: (*prefix).to_owned(),
                fields: defs,
                children: Vec::new(),
                inferred: false,
            },
        );
    }
    add_children(&mut out);
    out
}

pub fn add_children(objects: &mut BTreeMap<String, ObjectDef>) {
    for (parent, rel, child, field) in CHILDREN {
        if let Some(p) = objects.get_mut(*parent) {
            if p.child_rel(rel).is_none() {
                p.children.push(ChildRel {
                    name: (*rel).to_owned(),
                    child: (*child).to_owned(),
                    field: (*field).to_owned(),
                });
            }
        }
    }
}

/// A new object known only from the fixture: the common fields, nothing else yet.
pub fn inferred_object(name: &str, n: usize) -> ObjectDef {
    ObjectDef {
        name: name.to_owned(),
        key_prefix: format!("a{:02}", n % 100),
        fields: COMMON.iter().map(|s| field_from_spec(s, true)).collect(),
        children: Vec::new(),
        inferred: true,
    }
}

pub fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10
}

pub fn is_id_like(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A field's type from a fixture value (first non-null value wins).
pub fn infer_field(name: &str, v: &Value, tables: &[String]) -> FieldDef {
    let ftype = match v {
        Value::Bool(_) => FType::Boolean,
        Value::Number(_) => FType::Double,
        Value::String(s) if is_date(s) => FType::Date,
        Value::String(s) if crate::org::parse_datetime(s).is_some() && s.len() > 10 => {
            FType::DateTime
        }
        Value::String(s)
            if is_id_like(s) && (name.ends_with("Id") || name.ends_with("__c")) && name != "Id" =>
        {
            FType::Reference
        }
        _ => FType::String,
    };
    let mut f = FieldDef {
        name: name.to_owned(),
        ftype,
        updateable: true,
        nillable: true,
        custom: name.ends_with("__c"),
        length: ftype.default_len(),
        picklist: Vec::new(),
        restricted: false,
        reference_to: None,
        relationship_name: None,
        inferred: true,
    };
    if ftype == FType::Reference {
        fill_relationship(&mut f);
        // `Account__c` → Account when such a table exists (else resolved from the data)
        if let Some(stem) = f.name.strip_suffix("__c") {
            if tables.iter().any(|t| t == stem) {
                f.reference_to = Some(stem.to_owned());
            }
        }
    }
    f
}

/// Salesforce's 18-character id from a 15-character one (the case-safe suffix).
pub fn id18(id15: &str) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let b = id15.as_bytes();
    let mut out = id15.to_owned();
    for chunk in 0..3 {
        let mut bits = 0usize;
        for i in 0..5 {
            if b.get(chunk * 5 + i).is_some_and(u8::is_ascii_uppercase) {
                bits |= 1 << i;
            }
        }
        out.push(CHARS[bits] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relationships_are_derived_from_lookup_names() {
        let o = builtin();
        let opp = &o["Opportunity"];
        assert_eq!(
            opp.parent_rel("account").map(|f| f.name.as_str()),
            Some("AccountId")
        );
        let sold = opp.parent_rel("FNO_SoldTo_Account__r").expect("custom rel");
        assert_eq!(sold.reference_to.as_deref(), Some("Account"));
        let a = &o["PermissionSetLicenseAssign"];
        assert_eq!(
            a.parent_rel("Assignee")
                .and_then(|f| f.reference_to.clone()),
            Some("User".into())
        );
        assert_eq!(
            o["Account"].child_rel("contacts").map(|c| c.child.as_str()),
            Some("Contact")
        );
        let stage = opp.field("StageName").expect("stage");
        assert!(stage.picklist.contains(&"Closed Won".to_owned()) && !stage.restricted);
        assert!(opp.field("FNO_Entitlement_State__c").expect("f").restricted);
        assert!(!opp.field("IsWon").expect("f").updateable);
    }

    #[test]
    fn id18_matches_salesforce() {
        // a well-known pair: 001A0000006Vm9r → 001A0000006Vm9rIAC
        assert_eq!(id18("001A0000006Vm9r"), "001A0000006Vm9rIAC");
    }

    #[test]
    fn inference() {
        let t = vec!["Account".to_owned()];
        assert_eq!(
            infer_field("X__c", &Value::Bool(true), &t).ftype,
            FType::Boolean
        );
        assert_eq!(
            infer_field("D", &Value::String("2026-01-02".into()), &t).ftype,
            FType::Date
        );
        let r = infer_field("AccountId", &Value::String("001Dm0000000001IAA".into()), &t);
        assert_eq!(r.ftype, FType::Reference);
        assert_eq!(r.relationship_name.as_deref(), Some("Account"));
    }
}
