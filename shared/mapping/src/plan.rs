//! Sales-order assembly: one Salesforce account bundle → what to push to FNO (R1–R16).
//!
//! Entry point: [`plan_account`]. See the crate docs for the rules and their order.

use crate::catalogue::{Catalogue, PartProblem};
use crate::config::{Config, DataType, MappingKind, ObjectMapping};
use crate::error::{Rule, RuleError, SfObject};
use crate::fno;
use crate::rules;
use crate::sf::{self, SfRecord};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What the engine knows from earlier syncs (its sync records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KnownFno {
    /// Opportunity id → FNO entitlement id.
    #[serde(default)]
    pub entitlements: BTreeMap<String, String>,
    /// OpportunityLineItem id → FNO activation id.
    #[serde(default)]
    pub activations: BTreeMap<String, String>,
    /// For renewals: original Opportunity id → its line items as FNO knows them.
    #[serde(default)]
    pub original_line_items: BTreeMap<String, Vec<KnownLineItem>>,
}

/// A line item FNO already has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownLineItem {
    pub line_item_id: String,
    pub activation_id: String,
    pub part_number: Option<String>,
}

/// One account's data, as the engine reads it from Salesforce (R4: one account at a time).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccountBundle {
    pub account: sf::Account,
    pub contacts: Vec<sf::Contact>,
    /// With `OpportunityLineItems` nested (and ideally `Product2` nested in each item).
    pub opportunities: Vec<sf::Opportunity>,
    /// Product2 id → record, for line items without a nested `Product2`.
    #[serde(default)]
    pub products: BTreeMap<String, sf::Product2>,
    /// Account id → record, for SoldTo accounts (R12) outside this account.
    #[serde(default)]
    pub related_accounts: BTreeMap<String, sf::Account>,
    #[serde(default)]
    pub known: KnownFno,
}

/// Why an FNO account is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// The Opportunity's Account (the partner in a partner sale).
    Owner,
    /// A SoldTo end customer of a partner sale (R12).
    SoldTo,
}

/// An FNO account to create or update (R3, R9, R10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPush {
    pub sf_account_id: String,
    pub role: AccountRole,
    pub outcome: Result<fno::Account, Vec<RuleError>>,
}

/// An FNO user to create or update from a Contact (R11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPlan {
    pub contact_id: String,
    pub outcome: Result<fno::User, Vec<RuleError>>,
}

/// What to do in FNO for one sales order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SalesOrder {
    /// createSimpleEntitlement (CREATE_OR_UPDATE), then setEntitlementState (R13).
    Entitlement {
        entitlement: fno::Entitlement,
        state: fno::StateChange,
    },
    /// A renewal: createEntitlementLineItem with RENEWAL line items on the original
    /// entitlement.
    Renewal { add: fno::AddLineItems },
}

/// One Opportunity in scope (R1/R2) and its outcome. Errors list every problem found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesOrderPlan {
    pub opportunity_id: String,
    pub outcome: Result<SalesOrder, Vec<RuleError>>,
}

/// A record deliberately not pushed, with the rule that says so (never silent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub record_id: String,
    pub sobject: SfObject,
    pub rule: Rule,
    pub reason: String,
}

/// Everything to push for one account, in R3 order: accounts, users, sales orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPlan {
    pub sf_account_id: String,
    pub accounts: Vec<AccountPush>,
    pub users: Vec<UserPlan>,
    pub sales_orders: Vec<SalesOrderPlan>,
    pub skipped: Vec<Skipped>,
}

/// FNV-1a 64 of a value's canonical JSON, hex: the same value gives the same fingerprint in
/// every run and on every machine (sales orders, and the accounts and users FNO last took).
pub fn fingerprint_of<T: Serialize>(v: &T) -> String {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl SalesOrder {
    /// A stable fingerprint of the order (FNV-1a 64 of its canonical JSON, hex), so the
    /// engine can skip orders that have not changed since they were last pushed. The same
    /// order gives the same fingerprint in every run and on every machine.
    ///
    /// Activation ids are left out: FNO assigns them on the first push and they come back on
    /// the next plan (from the sync record or the write-back), which is not a change of the
    /// order and must not send it again.
    pub fn fingerprint(&self) -> String {
        let mut canonical = self.clone();
        let lines = match &mut canonical {
            SalesOrder::Entitlement { entitlement, .. } => &mut entitlement.line_items,
            SalesOrder::Renewal { add } => &mut add.line_items,
        };
        for l in lines.iter_mut() {
            l.activation_id = None;
        }
        fingerprint_of(&canonical)
    }

    /// The FNO entitlement id the order writes to.
    pub fn entitlement_id(&self) -> &str {
        match self {
            SalesOrder::Entitlement { entitlement, .. } => &entitlement.entitlement_id,
            SalesOrder::Renewal { add } => &add.entitlement_id,
        }
    }

    /// The FNO line items of the order.
    pub fn line_items(&self) -> &[fno::LineItem] {
        match self {
            SalesOrder::Entitlement { entitlement, .. } => &entitlement.line_items,
            SalesOrder::Renewal { add } => &add.line_items,
        }
    }
}

/// Reads mapped values from one record (as Salesforce JSON) through the config.
struct Reader<'a> {
    object: SfObject,
    id: String,
    view: Value,
    mapping: Option<&'a ObjectMapping>,
}

impl<'a> Reader<'a> {
    fn new<R: SfRecord>(record: &R, config: &'a Config) -> Self {
        Reader {
            object: R::SOBJECT,
            id: record.id().to_owned(),
            view: record.to_json(),
            mapping: config.mapping(R::SOBJECT),
        }
    }

    fn err(&self, field: &str, rule: Rule, message: String) -> RuleError {
        RuleError::new(self.object, &self.id, field, rule, message)
    }

    /// The Salesforce field mapped to `attr`, if mapped.
    fn field(&self, attr: &str) -> Option<&'a str> {
        self.mapping.and_then(|m| m.sf_field(attr))
    }

    /// The field name to report for `attr`: the mapped one, else the attribute itself.
    fn field_name(&self, attr: &str) -> String {
        self.field(attr).unwrap_or(attr).to_owned()
    }

    fn raw(&self, attr: &str) -> Option<(&'a str, &Value)> {
        let f = self.field(attr)?;
        sf::get_path(&self.view, f).map(|v| (f, v))
    }

    fn path(&self, path: &str) -> Option<&Value> {
        sf::get_path(&self.view, path)
    }

    fn text(&self, attr: &str, rule: Rule, errs: &mut Vec<RuleError>) -> Option<String> {
        let (f, v) = self.raw(attr)?;
        match v {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                errs.push(self.err(
                    f,
                    rule,
                    format!(
                        "{} field {f} holds {}, not a text value for '{attr}'",
                        self.object,
                        short(other)
                    ),
                ));
                None
            }
        }
    }

    fn number(&self, attr: &str, rule: Rule, errs: &mut Vec<RuleError>) -> Option<f64> {
        let (f, v) = self.raw(attr)?;
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s.trim().is_empty() => return None,
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        if n.is_none() {
            errs.push(self.err(
                f,
                rule,
                format!(
                    "{} field {f} holds {}, not a number for '{attr}'",
                    self.object,
                    short(v)
                ),
            ));
        }
        n
    }

    fn date(&self, attr: &str, rule: Rule, errs: &mut Vec<RuleError>) -> Option<NaiveDate> {
        let (f, v) = self.raw(attr)?;
        match v {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => match parse_date(s) {
                Some(d) => Some(d),
                None => {
                    errs.push(self.err(
                        f,
                        rule,
                        format!(
                            "{} field {f} holds '{s}', not a date (YYYY-MM-DD) for '{attr}'",
                            self.object
                        ),
                    ));
                    None
                }
            },
            other => {
                errs.push(self.err(
                    f,
                    rule,
                    format!(
                        "{} field {f} holds {}, not a date for '{attr}'",
                        self.object,
                        short(other)
                    ),
                ));
                None
            }
        }
    }

    fn boolean(&self, attr: &str, rule: Rule, errs: &mut Vec<RuleError>) -> Option<bool> {
        let (f, v) = self.raw(attr)?;
        match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            other => {
                errs.push(self.err(
                    f,
                    rule,
                    format!(
                        "{} field {f} holds {}, not true/false for '{attr}'",
                        self.object,
                        short(other)
                    ),
                ));
                None
            }
        }
    }

    /// R17 for a required attribute whose value must be present.
    fn required_text(&self, attr: &str, rule: Rule, errs: &mut Vec<RuleError>) -> Option<String> {
        let v = self.text(attr, rule, errs);
        if v.is_none() && !errs.iter().any(|e| e.field == self.field_name(attr)) {
            let f = self.field_name(attr);
            errs.push(self.err(
                &f,
                rule,
                match self.field(attr) {
                    Some(_) => format!("{} {} has no {f}, which is required for the FlexNet Operations attribute '{attr}'", self.object, self.id),
                    None => format!("the required FlexNet Operations attribute '{attr}' is not mapped to a {} field", self.object),
                },
            ));
        }
        v
    }

    /// Custom attributes (R18: value checked against the type; R17: required ones present).
    fn custom_attributes(&self, errs: &mut Vec<RuleError>) -> Vec<fno::Attribute> {
        let mut out = Vec::new();
        let Some(m) = self.mapping else { return out };
        for fm in m.custom() {
            let MappingKind::Custom { data_type, .. } = fm.kind else {
                continue;
            };
            let Some(f) = fm.sf_field.as_deref() else {
                continue;
            };
            let attr = &fm.fno_attribute;
            let Some(v) = self.path(f) else {
                if fm.required {
                    errs.push(self.err(
                        f,
                        Rule::R17,
                        format!(
                            "{} {} has no {f}, which is required for the custom attribute '{attr}'",
                            self.object, self.id
                        ),
                    ));
                }
                continue;
            };
            let value = match (data_type, v) {
                (DataType::Number, Value::Number(n)) => n
                    .as_i64()
                    .or_else(|| {
                        n.as_f64()
                            .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                            .map(|x| x as i64)
                    })
                    .map(fno::AttributeValue::Integer),
                (DataType::Text | DataType::LongText, Value::String(s)) => {
                    Some(fno::AttributeValue::String(s.clone()))
                }
                (DataType::Boolean, Value::Bool(b)) => Some(fno::AttributeValue::Boolean(*b)),
                (DataType::Date, Value::String(s)) => parse_date(s).map(fno::AttributeValue::Date),
                _ => None,
            };
            match value {
                Some(value) => out.push(fno::Attribute {
                    name: attr.clone(),
                    value,
                }),
                None => errs.push(self.err(
                    f,
                    Rule::R18,
                    format!(
                        "{} field {f} holds {}, which is not a valid {} value for the custom attribute '{attr}'",
                        self.object,
                        short(v),
                        data_type.label()
                    ),
                )),
            }
        }
        out
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .or_else(|| sf::SfDateTime::parse(s).map(|d| d.0.date_naive()))
}

/// A short rendering of a JSON value for messages.
fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("'{s}'"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// R10: the FNO account id of a Salesforce account: the mapped `accountID` field (default
/// the Account Id).
pub fn fno_account_id(account: &sf::Account, config: &Config) -> Result<String, RuleError> {
    let r = Reader::new(account, config);
    let mut errs = Vec::new();
    let id = match r.field("accountID") {
        Some(_) => r.text("accountID", Rule::R10, &mut errs),
        None => Some(account.id.clone()).filter(|s| !s.is_empty()),
    };
    if let Some(e) = errs.into_iter().next() {
        return Err(e);
    }
    id.ok_or_else(|| {
        let f = r.field_name("accountID");
        r.err(
            &f,
            Rule::R10,
            format!(
                "Account {} has no {f}, which gives its FlexNet Operations account id",
                account.id
            ),
        )
    })
}

/// Table 2-3 + R9 + R10: a Salesforce Account → an FNO account.
pub fn map_account(account: &sf::Account, config: &Config) -> Result<fno::Account, Vec<RuleError>> {
    let r = Reader::new(account, config);
    let mut errs = Vec::new();
    let id = fno_account_id(account, config)
        .map_err(|e| errs.push(e))
        .ok();
    let name = r.required_text("accountName", Rule::R17, &mut errs);
    let description = r.text("description", Rule::R17, &mut errs);
    let address = fno::Address {
        address1: r.text("address1", Rule::R17, &mut errs),
        address2: r.text("address2", Rule::R17, &mut errs),
        city: r.text("city", Rule::R17, &mut errs),
        state: r.text("state", Rule::R17, &mut errs),
        zipcode: r.text("zipcode", Rule::R17, &mut errs),
        country: r.text("country", Rule::R17, &mut errs),
        region: r.text("region", Rule::R17, &mut errs),
    };
    let type_value = r.text("accountType", Rule::R9, &mut errs);
    let account_type = match rules::account_type(type_value.as_deref()) {
        Ok(t) => Some(t),
        Err(m) => {
            errs.push(r.err(
                &r.field_name("accountType"),
                Rule::R9,
                format!("Account {}: {m}", account.id),
            ));
            None
        }
    };
    let attributes = r.custom_attributes(&mut errs);
    match (id, name, errs.is_empty()) {
        (Some(id), Some(name), true) => Ok(fno::Account {
            id,
            name,
            description,
            address: (address != fno::Address::default()).then_some(address),
            visible: None,
            account_type,
            attributes,
        }),
        _ => Err(errs),
    }
}

/// Table 2-4 + R11: a Contact → an FNO user with the configured role on `fno_account_id`.
pub fn map_user(
    contact: &sf::Contact,
    fno_account_id: &str,
    config: &Config,
) -> Result<fno::User, Vec<RuleError>> {
    let r = Reader::new(contact, config);
    let mut errs = Vec::new();
    let first = r.required_text("firstName", Rule::R11, &mut errs);
    let last = r.required_text("lastName", Rule::R11, &mut errs);
    let email = r.required_text("emailAddress", Rule::R11, &mut errs);
    if let Some(e) = &email {
        let ok = e.split_once('@').is_some_and(|(a, b)| {
            !a.trim().is_empty() && b.contains('.') && !e.contains(char::is_whitespace)
        });
        if !ok {
            let f = r.field_name("emailAddress");
            errs.push(r.err(
                &f,
                Rule::R11,
                format!(
                    "Contact {} has {f} '{e}', which is not an email address",
                    contact.id
                ),
            ));
        }
    }
    // optIn is mapped to "Email Opt Out" (table 2-4): a field that says "opted out" is
    // negated.
    let opt_in = r.boolean("optIn", Rule::R17, &mut errs).map(|b| {
        let f = r.field("optIn").unwrap_or_default().to_ascii_lowercase();
        if f.contains("optout") || f.contains("optedout") {
            !b
        } else {
            b
        }
    });
    let status = r.text("status", Rule::R17, &mut errs);
    if let Some(s) = &status {
        if s != "Active" && s != "Inactive" {
            let f = r.field_name("status");
            errs.push(r.err(
                &f,
                Rule::R17,
                format!(
                    "Contact {} has {f} '{s}', but a user status is 'Active' or 'Inactive'",
                    contact.id
                ),
            ));
        }
    }
    let user = fno::User {
        first_name: first.unwrap_or_default(),
        last_name: last.unwrap_or_default(),
        display_name: r.text("displayName", Rule::R17, &mut errs),
        email_address: email.clone().unwrap_or_default(),
        opt_in,
        phone_number: r.text("phoneNumber", Rule::R17, &mut errs),
        fax_number: r.text("faxNumber", Rule::R17, &mut errs),
        street: r.text("street", Rule::R17, &mut errs),
        city: r.text("city", Rule::R17, &mut errs),
        state: r.text("state", Rule::R17, &mut errs),
        zipcode: r.text("zipcode", Rule::R17, &mut errs),
        country: r.text("country", Rule::R17, &mut errs),
        locale: r.text("locale", Rule::R17, &mut errs),
        can_login: true,
        user_name: email,
        status,
        timezone: r.text("timezone", Rule::R17, &mut errs),
        account_roles: vec![fno::AccountRoles {
            account_id: fno_account_id.to_owned(),
            roles: vec![config.user_role.clone()],
        }],
        attributes: r.custom_attributes(&mut errs),
    };
    if errs.is_empty() {
        Ok(user)
    } else {
        Err(errs)
    }
}

/// Plans one account (R4). Never panics; a bad record fails only itself (and, for a line
/// item, its sales order).
pub fn plan_account(bundle: &AccountBundle, catalogue: &Catalogue, config: &Config) -> AccountPlan {
    let account = &bundle.account;
    let mut plan = AccountPlan {
        sf_account_id: account.id.clone(),
        accounts: vec![],
        users: vec![],
        sales_orders: vec![],
        skipped: vec![],
    };
    let opportunities: Vec<&sf::Opportunity> = if bundle.opportunities.is_empty() {
        account
            .opportunities
            .iter()
            .flat_map(|q| q.records.iter())
            .collect()
    } else {
        bundle.opportunities.iter().collect()
    };
    let contacts = bundle_contacts(bundle);

    // R1/R2/R4: which opportunities are sales orders of this account.
    let mut in_scope = Vec::new();
    for opp in opportunities {
        let skip = |rule, reason: String| Skipped {
            record_id: opp.id.clone(),
            sobject: SfObject::Opportunity,
            rule,
            reason,
        };
        if let Some(a) = opp.account_id.as_deref().filter(|a| *a != account.id) {
            plan.skipped.push(skip(
                Rule::R4,
                format!("Opportunity {} belongs to Account {a}, not {}; it is synced with its own account", opp.id, account.id),
            ));
            continue;
        }
        let stage = opp.stage_name.as_deref().unwrap_or("");
        if !config.filters.sync_stages.iter().any(|s| s == stage) {
            plan.skipped.push(skip(
                Rule::R2,
                format!(
                    "Opportunity {} is in stage '{stage}', which is not a sync stage ({})",
                    opp.id,
                    config.filters.sync_stages.join(", ")
                ),
            ));
            continue;
        }
        if opp.line_items().is_empty() {
            plan.skipped.push(skip(
                Rule::R1,
                format!(
                    "Opportunity {} has no line items, so it is not a sales order",
                    opp.id
                ),
            ));
            continue;
        }
        in_scope.push(opp);
    }

    if in_scope.is_empty() {
        // R1: accounts and contacts without a sales order are never pushed.
        plan.skipped.push(Skipped {
            record_id: account.id.clone(),
            sobject: SfObject::Account,
            rule: Rule::R1,
            reason: format!("Account {} has no sales order (an Opportunity in a sync stage with line items); it is not pushed", account.id),
        });
        for c in contacts {
            plan.skipped.push(Skipped {
                record_id: c.id.clone(),
                sobject: SfObject::Contact,
                rule: Rule::R1,
                reason: format!(
                    "Contact {} belongs to Account {} which has no sales order; it is not pushed",
                    c.id, account.id
                ),
            });
        }
        return plan;
    }

    // R3: account first.
    let owner = map_account(account, config);
    let owner_id = fno_account_id(account, config);
    let owner_type = owner.as_ref().ok().and_then(|a| a.account_type);
    plan.accounts.push(AccountPush {
        sf_account_id: account.id.clone(),
        role: AccountRole::Owner,
        outcome: owner.clone(),
    });

    // R3: then users (R11).
    for c in contacts {
        if let Some(a) = c.account_id.as_deref().filter(|a| *a != account.id) {
            plan.skipped.push(Skipped {
                record_id: c.id.clone(),
                sobject: SfObject::Contact,
                rule: Rule::R4,
                reason: format!(
                    "Contact {} belongs to Account {a}, not {}",
                    c.id, account.id
                ),
            });
            continue;
        }
        let outcome = match &owner_id {
            Ok(id) => map_user(c, id, config),
            Err(e) => Err(vec![RuleError::new(
                SfObject::Contact,
                &c.id,
                &e.field,
                Rule::R3,
                format!(
                    "Contact {} cannot be linked to its account: {}",
                    c.id, e.message
                ),
            )]),
        };
        plan.users.push(UserPlan {
            contact_id: c.id.clone(),
            outcome,
        });
    }

    // R3: then each sales order.
    let ctx = OrderCtx {
        bundle,
        catalogue,
        config,
        owner: &owner,
        owner_id: &owner_id,
        owner_type,
    };
    for opp in in_scope {
        let (outcome, sold_to) = plan_order(&ctx, opp);
        if let Some((id, push)) = sold_to {
            if !plan.accounts.iter().any(|a| a.sf_account_id == id) {
                plan.accounts.push(AccountPush {
                    sf_account_id: id,
                    role: AccountRole::SoldTo,
                    outcome: push,
                });
            }
        }
        plan.sales_orders.push(SalesOrderPlan {
            opportunity_id: opp.id.clone(),
            outcome,
        });
    }
    plan
}

/// The account's contacts: the bundle's list, else the ones nested in the account.
fn bundle_contacts(bundle: &AccountBundle) -> Vec<&sf::Contact> {
    if bundle.contacts.is_empty() {
        bundle
            .account
            .contacts
            .iter()
            .flat_map(|q| q.records.iter())
            .collect()
    } else {
        bundle.contacts.iter().collect()
    }
}

struct OrderCtx<'a> {
    bundle: &'a AccountBundle,
    catalogue: &'a Catalogue,
    config: &'a Config,
    owner: &'a Result<fno::Account, Vec<RuleError>>,
    owner_id: &'a Result<String, RuleError>,
    owner_type: Option<fno::AccountType>,
}

type SoldToPush = Option<(String, Result<fno::Account, Vec<RuleError>>)>;

fn plan_order(
    ctx: &OrderCtx<'_>,
    opp: &sf::Opportunity,
) -> (Result<SalesOrder, Vec<RuleError>>, SoldToPush) {
    let config = ctx.config;
    let bundle = ctx.bundle;
    let r = Reader::new(opp, config);
    let mut errs = Vec::new();
    let mut sold_to_push = None;

    // R3: the account must be pushable before its orders.
    if let Err(account_errs) = ctx.owner {
        let reasons: Vec<String> = account_errs.iter().map(|e| e.to_string()).collect();
        errs.push(RuleError::new(
            SfObject::Account,
            &bundle.account.id,
            account_errs
                .first()
                .map(|e| e.field.as_str())
                .unwrap_or("Id"),
            Rule::R3,
            format!(
                "Opportunity {} cannot be synced because its Account {} cannot: {}",
                opp.id,
                bundle.account.id,
                reasons.join("; ")
            ),
        ));
    }

    let renewed = opp
        .fno_renewed_opportunity
        .as_deref()
        .filter(|s| !s.trim().is_empty());

    // Line items (R5–R8, R14–R16, R18).
    let original_items: Vec<KnownLineItem> = renewed
        .map(|orig| original_line_items(bundle, orig))
        .unwrap_or_default();
    let mut line_items = Vec::new();
    for li in opp.line_items() {
        match map_line_item(ctx, opp, li) {
            Ok(mut item) => {
                if renewed.is_some() {
                    item.line_item_type = Some(fno::LineItemType::Renewal);
                    item.parent_activation_id = original_items
                        .iter()
                        .find(|k| k.part_number.as_deref() == Some(item.part_number.as_str()))
                        .map(|k| k.activation_id.clone());
                }
                line_items.push(item);
            }
            Err(mut e) => errs.append(&mut e),
        }
    }

    if let Some(orig) = renewed {
        // A renewal adds RENEWAL line items to the original entitlement.
        let original = bundle.known.entitlements.get(orig).cloned().or_else(|| {
            bundle
                .opportunities
                .iter()
                .find(|o| o.id == orig)
                .and_then(|o| o.fno_entitlement_id.clone())
                .filter(|s| !s.trim().is_empty())
        });
        let Some(entitlement_id) = original else {
            errs.push(r.err(
                "FNO_Renewed_Opportunity__c",
                Rule::R3,
                format!("Opportunity {} renews Opportunity {orig}, which has no entitlement in FlexNet Operations yet; sync the original opportunity first", opp.id),
            ));
            return (Err(errs), None);
        };
        if !errs.is_empty() {
            return (Err(errs), None);
        }
        return (
            Ok(SalesOrder::Renewal {
                add: fno::AddLineItems {
                    entitlement_id,
                    line_items,
                },
            }),
            None,
        );
    }

    // R12: SoldTo end customer.
    let mut channel_partners = Vec::new();
    let sold_to_sf = r.text("soldTo", Rule::R12, &mut errs);
    let sold_to = match sold_to_sf.as_deref() {
        None => ctx.owner_id.clone().ok(),
        Some(id) if id == bundle.account.id => ctx.owner_id.clone().ok(),
        Some(id) => {
            let f = r.field_name("soldTo");
            match bundle.related_accounts.get(id) {
                None => {
                    errs.push(r.err(
                        &f,
                        Rule::R12,
                        format!(
                            "Opportunity {} names SoldTo Account {id}, which was not found",
                            opp.id
                        ),
                    ));
                    None
                }
                Some(acc) => {
                    let push = map_account(acc, config);
                    if let Err(e) = &push {
                        let reasons: Vec<String> = e.iter().map(|e| e.to_string()).collect();
                        errs.push(r.err(
                            &f,
                            Rule::R12,
                            format!(
                                "SoldTo Account {id} of Opportunity {} cannot be synced: {}",
                                opp.id,
                                reasons.join("; ")
                            ),
                        ));
                    }
                    sold_to_push = Some((id.to_owned(), push));
                    let end_customer = fno_account_id(acc, config).ok();
                    if let (Some(fno::AccountType::ChannelPartner), Ok(partner)) =
                        (ctx.owner_type, ctx.owner_id)
                    {
                        channel_partners.push(fno::ChannelPartner {
                            tier_name: config.channel_partner_tier.clone(),
                            account_id: partner.clone(),
                            contact: None,
                            current_owner: None,
                        });
                    }
                    end_customer
                }
            }
        }
    };

    // Table 2-5: the entitlement owner (R12, R11).
    let distinct_sold_to = sold_to_sf
        .as_deref()
        .filter(|id| *id != bundle.account.id)
        .map(|id| (id, sold_to.as_deref()));
    apply_owner(ctx, &r, distinct_sold_to, &mut channel_partners, &mut errs);

    // R13
    let state_value = r.text("state", Rule::R13, &mut errs);
    let state =
        match rules::entitlement_state(state_value.as_deref(), config.filters.post_condition_state)
        {
            Ok(s) => Some(s),
            Err(m) => {
                errs.push(r.err(
                    &r.field_name("state"),
                    Rule::R13,
                    format!("Opportunity {}: {m}", opp.id),
                ));
                None
            }
        };

    let mapped_id = r.text("entitlementId", Rule::R17, &mut errs);
    let entitlement_id = bundle
        .known
        .entitlements
        .get(&opp.id)
        .cloned()
        .or(mapped_id)
        .unwrap_or_else(|| opp.id.clone());
    let description = r.text("description", Rule::R17, &mut errs);
    let ship_to_email = r.text("shipToEmail", Rule::R17, &mut errs);
    let ship_to_address = r.text("shipToAddress", Rule::R17, &mut errs);
    let email_template_variation = r.text("emailTemplateVariation", Rule::R17, &mut errs);
    let attributes = r.custom_attributes(&mut errs);

    match (sold_to, state, errs.is_empty()) {
        (Some(sold_to), Some(state), true) => (
            Ok(SalesOrder::Entitlement {
                entitlement: fno::Entitlement {
                    entitlement_id: entitlement_id.clone(),
                    description,
                    sold_to,
                    ship_to_email,
                    ship_to_address,
                    email_template_variation,
                    line_items,
                    channel_partners,
                    attributes,
                },
                state: fno::StateChange {
                    entitlement_id,
                    state,
                },
            }),
            sold_to_push,
        ),
        _ => (Err(errs), sold_to_push),
    }
}

/// Table 2-5 `EntitlementOwnerAccount` / `EntitlementOwnerContact`: marks the owner's
/// channel partner `currentOwner` (adding one when the owner has none yet: the End Customer
/// tier for the end customer, else the configured partner tier) with the owner contact's FNO
/// user. The owner is the Opportunity's Account or its SoldTo Account (R12), the only accounts
/// an order pushes (R3); the contact is a contact of the Opportunity's Account, pushed as a
/// user before the entitlement (R11). `sold_to`: the SoldTo Account's Salesforce id and FNO
/// id when it is not the Opportunity's Account.
fn apply_owner(
    ctx: &OrderCtx<'_>,
    r: &Reader<'_>,
    sold_to: Option<(&str, Option<&str>)>,
    partners: &mut Vec<fno::ChannelPartner>,
    errs: &mut Vec<RuleError>,
) {
    let account_sf = r.text("EntitlementOwnerAccount", Rule::R12, errs);
    let contact_sf = r.text("EntitlementOwnerContact", Rule::R12, errs);
    if account_sf.is_none() && contact_sf.is_none() {
        return;
    }
    let own = ctx.bundle.account.id.as_str();
    let own_fno = ctx.owner_id.as_ref().ok().map(String::as_str);
    // (FNO id, is the end customer, is the Opportunity's Account)
    let (owner, end_customer, is_own) = match account_sf.as_deref() {
        None => (own_fno, sold_to.is_none(), true),
        Some(id) if id == own => (own_fno, sold_to.is_none(), true),
        Some(id) if sold_to.is_some_and(|(s, _)| s == id) => {
            (sold_to.and_then(|(_, f)| f), true, false)
        }
        Some(id) => {
            let f = r.field_name("EntitlementOwnerAccount");
            let also = sold_to
                .map(|(s, _)| format!(" or its SoldTo Account {s}"))
                .unwrap_or_default();
            errs.push(r.err(
                &f,
                Rule::R12,
                format!(
                    "Opportunity {} names Account {id} in {f} (EntitlementOwnerAccount), but the entitlement owner must be the Opportunity's Account {own}{also}",
                    r.id
                ),
            ));
            return;
        }
    };
    // an owner account that cannot be mapped is already reported (R3 / R12)
    let Some(owner) = owner else { return };
    let contact = match contact_sf {
        None => None,
        Some(cid) => match owner_contact(ctx, r, &cid, owner, is_own) {
            Ok(user) => Some(user),
            Err(e) => {
                errs.push(e);
                return;
            }
        },
    };
    match partners.iter_mut().find(|p| p.account_id == owner) {
        Some(p) => {
            p.current_owner = Some(true);
            p.contact = contact;
        }
        None => partners.push(fno::ChannelPartner {
            tier_name: if end_customer {
                fno::END_CUSTOMER_TIER.to_owned()
            } else {
                ctx.config.channel_partner_tier.clone()
            },
            account_id: owner.to_owned(),
            contact,
            current_owner: Some(true),
        }),
    }
}

/// The FNO user name of the owner contact `cid` (R11: the user a contact of the Opportunity's
/// Account becomes), or why it cannot be the owner's contact.
fn owner_contact(
    ctx: &OrderCtx<'_>,
    r: &Reader<'_>,
    cid: &str,
    owner: &str,
    is_own: bool,
) -> Result<String, RuleError> {
    let own = ctx.bundle.account.id.as_str();
    let f = r.field_name("EntitlementOwnerContact");
    let found = bundle_contacts(ctx.bundle)
        .into_iter()
        .find(|c| c.id == cid && c.account_id.as_deref().is_none_or(|a| a == own));
    let Some(contact) = found else {
        return Err(r.err(
            &f,
            Rule::R12,
            format!(
                "Opportunity {} names Contact {cid} in {f} (EntitlementOwnerContact), which is not a contact of its Account {own}",
                r.id
            ),
        ));
    };
    if !is_own {
        return Err(r.err(
            &f,
            Rule::R12,
            format!(
                "Opportunity {}: the owner contact {cid} belongs to Account {own}, not to the entitlement owner (FNO account {owner})",
                r.id
            ),
        ));
    }
    match map_user(contact, owner, ctx.config) {
        Ok(u) => Ok(u.user_name.unwrap_or(u.email_address)),
        Err(e) => {
            let reasons: Vec<String> = e.iter().map(|e| e.to_string()).collect();
            Err(r.err(
                &f,
                Rule::R3,
                format!(
                    "Opportunity {}: its owner contact {cid} cannot be synced: {}",
                    r.id,
                    reasons.join("; ")
                ),
            ))
        }
    }
}

/// The original opportunity's line items FNO knows, from the engine's records, else from the
/// written-back activation ids of the original opportunity if it is in the bundle.
fn original_line_items(bundle: &AccountBundle, original: &str) -> Vec<KnownLineItem> {
    if let Some(k) = bundle.known.original_line_items.get(original) {
        return k.clone();
    }
    bundle
        .opportunities
        .iter()
        .filter(|o| o.id == original)
        .flat_map(|o| o.line_items())
        .filter_map(|li| {
            let activation_id = bundle
                .known
                .activations
                .get(&li.id)
                .cloned()
                .or_else(|| li.fno_activation_id.clone())?;
            Some(KnownLineItem {
                line_item_id: li.id.clone(),
                activation_id,
                part_number: li.product_code.clone(),
            })
        })
        .collect()
}

/// Table 2-6: one OpportunityLineItem → an FNO line item, with R5–R7, R14–R16, R18.
fn map_line_item(
    ctx: &OrderCtx<'_>,
    opp: &sf::Opportunity,
    li: &sf::OpportunityLineItem,
) -> Result<fno::LineItem, Vec<RuleError>> {
    let config = ctx.config;
    let r = Reader::new(li, config);
    let mut errs = Vec::new();

    // R6: the Salesforce product.
    let product = li.product2.as_deref().or_else(|| {
        li.product2_id
            .as_deref()
            .and_then(|id| ctx.bundle.products.get(id))
    });
    match product {
        None => errs.push(r.err(
            "Product2Id",
            Rule::R6,
            format!(
                "line item {} of Opportunity {}: its product {} was not loaded, so Active and 'Include in FlexNet Operations Sync' cannot be checked",
                li.id,
                opp.id,
                li.product2_id.as_deref().unwrap_or("(none)")
            ),
        )),
        Some(p) => {
            let label = format!(
                "Product '{}' ({})",
                p.name.as_deref().unwrap_or(""),
                if p.id.is_empty() { "no Id" } else { &p.id }
            );
            if p.is_active != Some(true) {
                errs.push(RuleError::new(
                    SfObject::Product2,
                    &p.id,
                    "IsActive",
                    Rule::R6,
                    format!("{label} on line item {} is not Active in Salesforce", li.id),
                ));
            }
            if p.fno_include_in_sync != Some(true) {
                errs.push(RuleError::new(
                    SfObject::Product2,
                    &p.id,
                    "FNO_Include_In_Sync__c",
                    Rule::R6,
                    format!("{label} on line item {} is not flagged 'Include in FlexNet Operations Sync'", li.id),
                ));
            }
        }
    }

    // R16 + R7 + R5: the part number.
    let part_field = r.field_name("partNumber");
    let part = r.text("partNumber", Rule::R16, &mut errs).or_else(|| {
        product
            .and_then(|p| p.product_code.clone())
            .filter(|s| !s.is_empty())
    });
    match &part {
        None => errs.push(r.err(
            &part_field,
            Rule::R16,
            format!("line item {} has no {part_field}, which is required as the FNO part number", li.id),
        )),
        Some(code) => match ctx.catalogue.check(code) {
            Ok(_) => {}
            Err(PartProblem::NearMatch(near)) => errs.push(r.err(
                &part_field,
                Rule::R7,
                format!("{part_field} '{code}' does not match any deployed FNO part number; did you mean '{near}'? (case and whitespace must match exactly)"),
            )),
            Err(PartProblem::Unknown) => errs.push(r.err(
                &part_field,
                Rule::R5,
                format!("{part_field} '{code}' does not match any FNO part number; the product must exist in FlexNet Operations with this part number and be DEPLOYED"),
            )),
            Err(PartProblem::NotDeployed(e)) => errs.push(r.err(
                &part_field,
                Rule::R5,
                format!(
                    "{part_field} '{code}' is the part number of FNO product '{}'{}, which is {:?}, not DEPLOYED",
                    e.product_name,
                    e.version.as_deref().map(|v| format!(" version {v}")).unwrap_or_default(),
                    e.state
                ),
            )),
        },
    }

    // R16: quantity.
    let qty_field = r.field_name("numberOfCopies");
    let qty = r.number("numberOfCopies", Rule::R16, &mut errs);
    let copies = if errs.iter().any(|e| e.field == qty_field) {
        None
    } else {
        match rules::number_of_copies(qty) {
            Ok(n) => Some(n),
            Err(m) => {
                errs.push(r.err(&qty_field, Rule::R16, format!("line item {}: {m}", li.id)));
                None
            }
        }
    };

    // R14
    let start_opt = r.text("startDateOption", Rule::R14, &mut errs);
    let start = r.date("startDate", Rule::R14, &mut errs);
    let (start_date_option, start_date) = match rules::start_date(start_opt.as_deref(), start) {
        Ok(x) => x,
        Err(e) => {
            errs.push(r.err(
                &r.field_name(e.attribute),
                Rule::R14,
                format!("line item {}: {}", li.id, e.message),
            ));
            (None, None)
        }
    };

    // R15
    let exp_opt = r.text("expirationDateOption", Rule::R15, &mut errs);
    let exp_date = r.date("expirationDate", Rule::R15, &mut errs);
    let term = r.number("term", Rule::R15, &mut errs);
    let unit = r.text("durationUnit", Rule::R15, &mut errs);
    let expiration = match rules::expiration(exp_opt.as_deref(), exp_date, term, unit.as_deref()) {
        Ok(x) => x,
        Err(es) => {
            for e in es {
                errs.push(r.err(
                    &r.field_name(e.attribute),
                    Rule::R15,
                    format!("line item {}: {}", li.id, e.message),
                ));
            }
            None
        }
    };

    let description = r.text("description", Rule::R17, &mut errs);
    let order_id = r
        .text("orderId", Rule::R17, &mut errs)
        .unwrap_or_else(|| opp.id.clone());
    let order_line_number = r
        .text("orderLineNumber", Rule::R17, &mut errs)
        .unwrap_or_else(|| li.id.clone());
    let activation_id = ctx
        .bundle
        .known
        .activations
        .get(&li.id)
        .cloned()
        .or_else(|| r.text("activationId", Rule::R17, &mut errs));
    let (license_model, fnp_time_zone_value, version_date) = line_item_extras(&r, &mut errs);
    let attributes = r.custom_attributes(&mut errs);

    match (part, copies, errs.is_empty()) {
        (Some(part_number), Some(number_of_copies), true) => Ok(fno::LineItem {
            activation_id,
            description,
            part_number,
            license_model,
            fnp_time_zone_value,
            order_id: Some(order_id),
            order_line_number: Some(order_line_number),
            number_of_copies,
            start_date,
            start_date_option,
            expiration,
            version_date,
            line_item_type: None,
            parent_activation_id: None,
            attributes,
        }),
        _ => Err(errs),
    }
}

/// Table 2-6 rows FNO takes as given: `licenseModel` and `FNPTimeZoneValue` (names FNO
/// matches exactly, so surrounding spaces are refused) and `versiondate` (a date). A value of
/// the wrong kind fails the line item, naming the field (R17).
type LineExtras = (Option<String>, Option<String>, Option<NaiveDate>);

fn line_item_extras(r: &Reader<'_>, errs: &mut Vec<RuleError>) -> LineExtras {
    let mut name = |attr: &str, what: &str| {
        let v = r.text(attr, Rule::R17, errs)?;
        if v.trim() != v {
            let f = r.field_name(attr);
            errs.push(r.err(
                &f,
                Rule::R17,
                format!(
                    "{} {} has {f} '{v}' with leading or trailing spaces; the {what} ('{attr}') must match its FlexNet Operations name exactly",
                    r.object, r.id
                ),
            ));
            return None;
        }
        Some(v)
    };
    let license_model = name("licenseModel", "license model");
    let time_zone = name("FNPTimeZoneValue", "time zone name");
    let version_date = r.date("versiondate", Rule::R17, errs);
    (license_model, time_zone, version_date)
}
