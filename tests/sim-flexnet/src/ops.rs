//! The operations: each takes the request body element (already schema-checked) and renders
//! the response body's content. Semantics follow flexnet-soap.md §2–§5: per-item atomicity,
//! `failedData` echoing the failed item with its `reason`, SUCCESS / PARTIAL_FAILURE / FAILURE,
//! write batches ≤ 25, read batches ≤ 2000.

use crate::model::*;
use crate::xml::{El, W};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

pub const MAX_WRITE: usize = 25;
pub const MAX_READ: i64 = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    CreateOrUpdate,
    CreateOrIgnore,
}

pub struct Db {
    pub t: Tenant,
    pub seq: u64,
    pub act_seq: u64,
    pub seed: u64,
    /// `Some((t, at))`: the clock read `t` at instant `at` and runs at wall speed from there
    /// (like the engine's OffsetClock); `None`: system time.
    pub clock: Option<(DateTime<Utc>, std::time::Instant)>,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub fn fmt_dt(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_dt(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        })
}

impl Db {
    pub fn set_clock(&mut self, now: Option<DateTime<Utc>>) {
        self.clock = now.map(|t| (t, std::time::Instant::now()));
    }
    pub fn now(&self) -> DateTime<Utc> {
        match self.clock {
            Some((t, at)) => t + chrono::Duration::from_std(at.elapsed()).unwrap_or_default(),
            None => Utc::now(),
        }
    }
    fn uid(&mut self) -> String {
        self.seq += 1;
        format!("HID-{}", 100_000 + self.seq)
    }
    fn hex_id(&mut self) -> String {
        self.act_seq += 1;
        let v = splitmix(self.seed ^ splitmix(self.act_seq));
        format!(
            "{:04x}-{:04x}-{:04x}-{:04x}",
            (v >> 48) & 0xffff,
            (v >> 32) & 0xffff,
            (v >> 16) & 0xffff,
            v & 0xffff
        )
    }
    fn activation_owner(&self, aid: &str) -> Option<&Entitlement> {
        self.t
            .entitlements
            .iter()
            .find(|e| e.line_items.iter().any(|l| l.activation_id == aid))
    }
    fn new_activation_id(&mut self, pending: &Entitlement) -> String {
        loop {
            let id = self.hex_id();
            if self.activation_owner(&id).is_none()
                && !pending.line_items.iter().any(|l| l.activation_id == id)
            {
                return id;
            }
        }
    }
    fn account_idx(&self, id: &str) -> Option<usize> {
        self.t.accounts.iter().position(|a| a.id == id)
    }
    fn account_by_ident(&self, el: Option<&El>) -> Result<usize, String> {
        let el = el.ok_or("account identifier missing")?;
        if let Some(u) = el.text_at(&["uniqueId"]).filter(|s| !s.is_empty()) {
            return self
                .t
                .accounts
                .iter()
                .position(|a| a.unique_id == u)
                .ok_or_else(|| format!("Account with unique ID '{u}' does not exist"));
        }
        let id = el.text_at(&["primaryKeys", "id"]).unwrap_or_default();
        self.account_idx(&id)
            .ok_or_else(|| format!("Account '{id}' does not exist"))
    }
    fn ent_by_ident(&self, el: Option<&El>) -> Result<usize, String> {
        let el = el.ok_or("entitlement identifier missing")?;
        if let Some(u) = el.text_at(&["uniqueId"]).filter(|s| !s.is_empty()) {
            return self
                .t
                .entitlements
                .iter()
                .position(|e| e.unique_id == u)
                .ok_or_else(|| format!("Entitlement with unique ID '{u}' does not exist"));
        }
        let id = el
            .text_at(&["primaryKeys", "entitlementId"])
            .unwrap_or_default();
        self.t
            .entitlements
            .iter()
            .position(|e| e.entitlement_id == id)
            .ok_or_else(|| format!("Entitlement '{id}' does not exist"))
    }
    fn product_for_part(&self, part: &str) -> Option<&Product> {
        self.t
            .products
            .iter()
            .find(|p| p.part_numbers.iter().any(|x| x == part))
    }
    fn attr_def(&self, entity: &str, name: &str) -> Option<&AttrDef> {
        self.t
            .custom_attributes
            .iter()
            .find(|d| d.active && norm(&d.entity) == entity && d.name == name)
    }

    /// Fills uniqueIds, timestamps and remaining counts the fixture left out.
    pub fn normalise_fixture(&mut self) {
        let now = self.now();
        if self.t.roles.is_empty() {
            self.t.roles = DEFAULT_ROLES.iter().map(|s| (*s).to_owned()).collect();
        }
        let mut t = std::mem::take(&mut self.t);
        for p in &mut t.products {
            if p.unique_id.is_empty() {
                p.unique_id = self.uid();
            }
            if p.state.is_empty() {
                p.state = "DEPLOYED".into();
            }
            let lm = *p.last_modified.get_or_insert(now);
            p.created.get_or_insert(lm.min(now));
        }
        for a in &mut t.accounts {
            if a.unique_id.is_empty() {
                a.unique_id = self.uid();
            }
            let lm = *a.last_modified.get_or_insert(now);
            a.created.get_or_insert(lm.min(now));
        }
        for u in &mut t.users {
            if u.unique_id.is_empty() {
                u.unique_id = self.uid();
            }
            let lm = *u.last_modified.get_or_insert(now);
            u.created.get_or_insert(lm.min(now));
        }
        for e in &mut t.entitlements {
            if e.unique_id.is_empty() {
                e.unique_id = self.uid();
            }
            if e.state.is_empty() {
                e.state = "DRAFT".into();
            }
            let lm = *e.last_modified.get_or_insert(now);
            e.created.get_or_insert(lm.min(now));
            for l in &mut e.line_items {
                if l.unique_id.is_empty() {
                    l.unique_id = self.uid();
                }
                if l.state.is_empty() {
                    l.state = e.state.clone();
                }
                if let Some(p) = l.part_number.as_deref().and_then(|pn| {
                    t.products
                        .iter()
                        .find(|p| p.part_numbers.iter().any(|x| x == pn))
                }) {
                    l.product.get_or_insert_with(|| p.name.clone());
                    if l.product_version.is_none() {
                        l.product_version = p.version.clone();
                    }
                    if l.license_model.is_none() {
                        l.license_model = p.license_model.clone();
                    }
                }
                l.number_of_remaining_copies = l.number_of_copies - l.fulfilled_amount;
                let lm = *l.last_modified.get_or_insert(now);
                l.created.get_or_insert(lm.min(now));
            }
        }
        self.t = t;
    }

    /// Sets a line item's fulfilled amount (what activations would do in a real tenant).
    /// Test hook: sets a product's state (e.g. DEPLOYED), as an FNO admin would.
    pub fn set_product_state(&mut self, name: &str, state: &str) -> bool {
        let mut hit = false;
        for p in self.t.products.iter_mut().filter(|p| p.name == name) {
            p.state = state.to_owned();
            hit = true;
        }
        hit
    }

    pub fn set_fulfilled(&mut self, activation_id: &str, amount: i64) -> bool {
        let now = self.now();
        for e in &mut self.t.entitlements {
            if let Some(l) = e
                .line_items
                .iter_mut()
                .find(|l| l.activation_id == activation_id)
            {
                l.fulfilled_amount = amount;
                l.number_of_remaining_copies = l.number_of_copies - amount;
                l.last_modified = Some(now);
                e.last_modified = Some(now);
                return true;
            }
        }
        false
    }
}

// ------------------------------------------------------------------ shared rendering helpers

fn status(w: &mut W, status: &str, reason: Option<&str>) {
    w.open("statusInfo").leaf("status", status);
    w.opt("reason", reason);
    w.close("statusInfo");
}

/// Renders a whole-call FAILURE (no items processed).
pub fn failure(reason: &str) -> String {
    let mut w = W::default();
    status(&mut w, "FAILURE", Some(reason));
    w.buf
}

/// statusInfo + failedData + responseData for a write of `results` (one per request item, in
/// order; `Ok` holds the rendered responseData entry).
fn write_response(
    results: Vec<(&El, Result<String, String>)>,
    failed_item: &str,
    data: Option<&str>,
) -> String {
    let n = results.len();
    let fails = results.iter().filter(|(_, r)| r.is_err()).count();
    let mut w = W::default();
    match fails {
        0 => status(&mut w, "SUCCESS", None),
        f if f == n => {
            let reason = if n == 1 {
                results[0].1.clone().err().unwrap_or_default()
            } else {
                format!("All {n} items failed; see failedData")
            };
            status(&mut w, "FAILURE", Some(&reason))
        }
        f => status(
            &mut w,
            "PARTIAL_FAILURE",
            Some(&format!("{f} of {n} items failed; see failedData")),
        ),
    }
    if fails > 0 {
        w.open("failedData");
        for (el, r) in &results {
            if let Err(reason) = r {
                w.open(failed_item)
                    .echo(el)
                    .leaf("reason", reason)
                    .close(failed_item);
            }
        }
        w.close("failedData");
    }
    if let Some(data) = data {
        if fails < n {
            w.open(data);
            for (_, r) in &results {
                if let Ok(x) = r {
                    w.buf.push_str(x);
                }
            }
            w.close(data);
        }
    }
    w.buf
}

fn too_many(n: usize) -> Option<String> {
    (n > MAX_WRITE).then(|| {
        failure(&format!(
            "The request has {n} records; a write operation accepts at most {MAX_WRITE} records per request"
        ))
    })
}

fn op_type(req: &El) -> Option<Op> {
    match req.text_at(&["opType"]).as_deref() {
        Some("CREATE_OR_UPDATE") => Some(Op::CreateOrUpdate),
        Some("CREATE_OR_IGNORE") => Some(Op::CreateOrIgnore),
        _ => None,
    }
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.is_empty())
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads `customAttributes`-style lists, checking names and types against the definitions.
fn parse_attrs(db: &Db, parent: Option<&El>, entity: &str) -> Result<Attrs, String> {
    let mut out = Attrs::new();
    let Some(parent) = parent else {
        return Ok(out);
    };
    for a in parent.all("attribute") {
        let name = a.text_at(&["attributeName"]).unwrap_or_default();
        let (elem, text) = ["stringValue", "dateValue", "booleanValue", "integerValue"]
            .iter()
            .find_map(|k| a.text_at(&[k]).map(|t| (*k, t)))
            .unwrap_or(("stringValue", String::new()));
        let def = db.attr_def(entity, &name).ok_or_else(|| {
            format!("Custom attribute '{name}' is not defined for the {entity} entity type")
        })?;
        if def.value_element() != elem {
            return Err(format!(
                "Custom attribute '{name}' has type {}; it cannot take a {elem}",
                def.data_type
            ));
        }
        let v =
            match elem {
                "integerValue" => Value::from(text.parse::<i64>().map_err(|_| {
                    format!("Custom attribute '{name}': '{text}' is not an integer")
                })?),
                "booleanValue" => Value::from(text == "true" || text == "1"),
                _ => Value::from(text),
            };
        out.insert(name, v);
    }
    Ok(out)
}

fn check_required(db: &Db, attrs: &Attrs, entity: &str) -> Result<(), String> {
    for d in &db.t.custom_attributes {
        if d.active && d.required && norm(&d.entity) == entity && !attrs.contains_key(&d.name) {
            return Err(format!(
                "Required custom attribute '{}' of the {entity} entity type is missing",
                d.name
            ));
        }
    }
    Ok(())
}

fn render_attrs(w: &mut W, db: &Db, wrapper: &str, attrs: &Attrs, entity: &str) {
    if attrs.is_empty() {
        return;
    }
    w.open(wrapper);
    for (name, v) in attrs {
        let elem = match db.attr_def(entity, name) {
            Some(d) => d.value_element(),
            None => match v {
                Value::Bool(_) => "booleanValue",
                Value::Number(_) => "integerValue",
                _ => "stringValue",
            },
        };
        w.open("attribute")
            .leaf("attributeName", name)
            .leaf(elem, &value_text(v))
            .close("attribute");
    }
    w.close(wrapper);
}

// ------------------------------------------------------------------ query helpers

fn simple_match(q: Option<&El>, v: Option<&str>) -> bool {
    let Some(q) = q else { return true };
    if q.nil {
        return true;
    }
    let want = q.text_at(&["value"]).unwrap_or_default();
    let Some(v) = v else { return false };
    let (lv, lw) = (v.to_lowercase(), want.to_lowercase());
    match q.text_at(&["searchType"]).as_deref() {
        Some("STARTS_WITH") => lv.starts_with(&lw),
        Some("CONTAINS") => lv.contains(&lw),
        Some("ENDS_WITH") => lv.ends_with(&lw),
        _ => v == want,
    }
}

fn datetime_match(q: Option<&El>, t: Option<DateTime<Utc>>) -> bool {
    let Some(q) = q else { return true };
    let Some(want) = q.text_at(&["value"]).as_deref().and_then(parse_dt) else {
        return true;
    };
    let Some(t) = t else { return false };
    match q.text_at(&["searchType"]).as_deref() {
        Some("BEFORE") => t < want,
        Some("AFTER") => t > want,
        _ => t.date_naive() == want.date_naive(),
    }
}

fn date_match(q: Option<&El>, t: Option<DateTime<Utc>>) -> bool {
    let Some(q) = q else { return true };
    let Some(want) = q
        .text_at(&["value"])
        .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
    else {
        return true;
    };
    let Some(t) = t.map(|t| t.date_naive()) else {
        return false;
    };
    match q.text_at(&["searchType"]).as_deref() {
        Some("BEFORE") => t < want,
        Some("AFTER") => t > want,
        _ => t == want,
    }
}

fn number_match(q: Option<&El>, n: i64) -> bool {
    let Some(q) = q else { return true };
    let Some(want) = q.int_at(&["value"]) else {
        return true;
    };
    match q.text_at(&["searchType"]).as_deref() {
        Some("GREATER_THAN") => n > want,
        Some("GREATER_THAN_EQUALS") => n >= want,
        Some("LESS_THAN") => n < want,
        Some("LESS_THAN_EQUALS") => n <= want,
        Some("NOT_EQUALS") => n != want,
        _ => n == want,
    }
}

fn state_match(q: Option<&El>, state: &str) -> bool {
    let Some(q) = q else { return true };
    if q.nil {
        return true;
    }
    q.text_at(&["value"]).is_none_or(|v| v == state)
}

/// (skip, take) from pageNumber / batchSize, or the FAILURE reason.
fn paging(req: &El) -> Result<(usize, usize), String> {
    let batch = req.int_at(&["batchSize"]).unwrap_or(MAX_READ);
    let page = req.int_at(&["pageNumber"]).unwrap_or(1);
    if batch > MAX_READ {
        return Err(format!(
            "batchSize {batch} exceeds the maximum of {MAX_READ} records per read"
        ));
    }
    if batch < 1 || page < 1 {
        return Err(format!(
            "batchSize ({batch}) and pageNumber ({page}) must be at least 1"
        ));
    }
    let skip = (page - 1).saturating_mul(batch);
    Ok((usize::try_from(skip).unwrap_or(usize::MAX), batch as usize))
}

fn paged<'a, T>(items: Vec<&'a T>, req: &El) -> Result<Vec<&'a T>, String> {
    let (skip, take) = paging(req)?;
    Ok(items.into_iter().skip(skip).take(take).collect())
}

fn acct_ident(w: &mut W, name: &str, a: &Account) {
    w.open(name)
        .leaf("uniqueId", &a.unique_id)
        .open("primaryKeys")
        .leaf("id", &a.id)
        .close("primaryKeys")
        .close(name);
}

fn ent_ident(w: &mut W, name: &str, e: &Entitlement) {
    w.open(name)
        .leaf("uniqueId", &e.unique_id)
        .open("primaryKeys")
        .leaf("entitlementId", &e.entitlement_id)
        .close("primaryKeys")
        .close(name);
}

fn line_ident(w: &mut W, name: &str, l: &LineItem) {
    w.open(name)
        .leaf("uniqueId", &l.unique_id)
        .open("primaryKeys")
        .leaf("activationId", &l.activation_id)
        .close("primaryKeys")
        .close(name);
}

const ADDRESS: &[&str] = &[
    "address1", "address2", "city", "state", "zipcode", "country", "region",
];

fn render_address(w: &mut W, a: &Account) {
    if a.address.is_empty() {
        return;
    }
    w.open("address");
    for k in ADDRESS {
        w.opt(k, a.address.get(*k).map(String::as_str));
    }
    w.close("address");
}

// ------------------------------------------------------------------ accounts (UAH v3)

fn fill_account(db: &Db, a: &mut Account, el: &El, creating: bool) -> Result<(), String> {
    if let Some(n) = el.text_at(&["name"]) {
        if n.is_empty() {
            return Err("The account name is required".into());
        }
        a.name = n;
    }
    if let Some(d) = el.text_at(&["description"]) {
        a.description = Some(d);
    }
    if let Some(addr) = el.child("address") {
        a.address = ADDRESS
            .iter()
            .filter_map(|k| addr.text_at(&[k]).map(|v| ((*k).to_owned(), v)))
            .collect();
    }
    if let Some(v) = el.bool_at(&["visible"]) {
        a.visible = Some(v);
    }
    if let Some(t) = el.text_at(&["accountType"]) {
        a.account_type = Some(t);
    }
    let attrs = parse_attrs(db, el.child("customAttributes"), "account")?;
    a.custom_attributes.extend(attrs);
    if creating {
        check_required(db, &a.custom_attributes, "account")?;
    }
    Ok(())
}

pub fn create_acct(db: &mut Db, req: &El) -> String {
    let items: Vec<&El> = req.all("account").collect();
    if let Some(f) = too_many(items.len()) {
        return f;
    }
    let op = op_type(req);
    let now = db.now();
    let mut results = Vec::new();
    for el in items {
        let r = (|| {
            let id = el.text_at(&["id"]).unwrap_or_default();
            if id.is_empty() {
                return Err("The account ID is required".to_owned());
            }
            let idx = match (db.account_idx(&id), op) {
                (Some(_), None) => {
                    return Err(format!("Account with ID '{id}' already exists"));
                }
                (Some(i), Some(Op::CreateOrIgnore)) => i,
                (Some(i), Some(Op::CreateOrUpdate)) => {
                    let mut a = db.t.accounts[i].clone();
                    fill_account(db, &mut a, el, false)?;
                    a.last_modified = Some(now);
                    db.t.accounts[i] = a;
                    i
                }
                (None, _) => {
                    let mut a = Account {
                        id: id.clone(),
                        ..Account::default()
                    };
                    fill_account(db, &mut a, el, true)?;
                    a.unique_id = db.uid();
                    a.created = Some(now);
                    a.last_modified = Some(now);
                    db.t.accounts.push(a);
                    db.t.accounts.len() - 1
                }
            };
            let mut w = W::default();
            acct_ident(&mut w, "account", &db.t.accounts[idx]);
            Ok(w.buf)
        })();
        results.push((el, r));
    }
    write_response(results, "failedAcct", Some("responseData"))
}

pub fn update_account(db: &mut Db, req: &El) -> String {
    let items: Vec<&El> = req.all("acctData").collect();
    if let Some(f) = too_many(items.len()) {
        return f;
    }
    let now = db.now();
    let mut results = Vec::new();
    for el in items {
        let r = (|| {
            let i = db.account_by_ident(el.child("account"))?;
            let mut a = db.t.accounts[i].clone();
            if let Some(new_id) = nonempty(el.text_at(&["id"])) {
                if new_id != a.id && db.account_idx(&new_id).is_some() {
                    return Err(format!("Account with ID '{new_id}' already exists"));
                }
                a.id = new_id;
            }
            fill_account(db, &mut a, el, false)?;
            a.last_modified = Some(now);
            db.t.accounts[i] = a;
            Ok(String::new())
        })();
        results.push((el, r));
    }
    write_response(results, "failedAccount", None)
}

pub fn get_accounts(db: &Db, req: &El) -> String {
    let q = req.child("queryParams");
    let qp = |n: &str| q.and_then(|q| q.child(n));
    let types: Vec<String> = qp("accountTypeList")
        .map(|l| {
            l.all("acctType")
                .map(|t| t.text.trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let matching: Vec<&Account> = db
        .t
        .accounts
        .iter()
        .filter(|a| {
            simple_match(qp("accountID"), Some(&a.id))
                && simple_match(qp("accountName"), Some(&a.name))
                && simple_match(qp("description"), a.description.as_deref())
                && simple_match(qp("city"), a.address.get("city").map(String::as_str))
                && simple_match(qp("country"), a.address.get("country").map(String::as_str))
                && qp("accountType")
                    .is_none_or(|t| a.account_type.as_deref() == Some(t.text.trim()))
                && (types.is_empty() || a.account_type.as_ref().is_some_and(|t| types.contains(t)))
                && datetime_match(qp("lastModifiedDateTime"), a.last_modified)
        })
        .collect();
    let page = match paged(matching, req) {
        Ok(p) => p,
        Err(e) => return failure(&e),
    };
    let mut w = W::default();
    status(&mut w, "SUCCESS", None);
    w.open("responseData");
    for a in page {
        w.open("acctData");
        acct_ident(&mut w, "account", a);
        w.leaf("name", &a.name);
        w.opt("description", a.description.as_deref());
        render_address(&mut w, a);
        w.opt("visible", a.visible.map(|v| v.to_string()).as_deref());
        w.opt("accountType", a.account_type.as_deref());
        render_attrs(
            &mut w,
            db,
            "customAttributes",
            &a.custom_attributes,
            "account",
        );
        w.opt(
            "dateLastModified",
            a.last_modified.as_ref().map(fmt_dt).as_deref(),
        );
        w.opt("createdDate", a.created.as_ref().map(fmt_dt).as_deref());
        w.close("acctData");
    }
    w.close("responseData");
    w.buf
}

// ------------------------------------------------------------------ users (UAH v3)

fn user_ident(w: &mut W, name: &str, u: &User) {
    w.open(name).leaf("uniqueId", &u.unique_id);
    w.opt("userName", u.user_name.as_deref());
    w.open("primaryKeys")
        .leaf("firstName", &u.first_name)
        .leaf("lastName", &u.last_name)
        .leaf("emailAddress", &u.email_address);
    w.opt(
        "phoneNumber",
        u.fields.get("phoneNumber").map(value_text).as_deref(),
    );
    w.close("primaryKeys").close(name);
}

/// Reads `acctRoles` entries, checking accounts and roles (R11: an unknown role fails the user).
fn parse_roles(db: &Db, list: Option<&El>) -> Result<Vec<AccountRoles>, String> {
    let mut out = Vec::new();
    let Some(list) = list else { return Ok(out) };
    for ar in list.all("acctRoles") {
        let ai = db.account_by_ident(ar.child("account"))?;
        let mut roles = Vec::new();
        if let Some(rs) = ar.child("roles") {
            for r in rs.all("role") {
                let name = r.text_at(&["primaryKeys", "name"]).unwrap_or_default();
                if !db.t.roles.contains(&name) {
                    return Err(format!("Role '{name}' does not exist"));
                }
                roles.push(name);
            }
        }
        out.push(AccountRoles {
            account_id: db.t.accounts[ai].id.clone(),
            roles,
            expiry_date: ar.text_at(&["expiryDate"]),
        });
    }
    Ok(out)
}

fn merge_roles(have: &mut Vec<AccountRoles>, new: Vec<AccountRoles>, mode: &str) {
    match mode {
        "REPLACE" => *have = new,
        "DELETE" => {
            for n in new {
                if let Some(h) = have.iter_mut().find(|h| h.account_id == n.account_id) {
                    if n.roles.is_empty() {
                        h.roles.clear();
                    } else {
                        h.roles.retain(|r| !n.roles.contains(r));
                    }
                }
            }
            have.retain(|h| !h.roles.is_empty());
        }
        _ => {
            for n in new {
                match have.iter_mut().find(|h| h.account_id == n.account_id) {
                    Some(h) => {
                        for r in n.roles {
                            if !h.roles.contains(&r) {
                                h.roles.push(r);
                            }
                        }
                        if n.expiry_date.is_some() {
                            h.expiry_date = n.expiry_date;
                        }
                    }
                    None => have.push(n),
                }
            }
        }
    }
}

fn fill_user_fields(db: &Db, u: &mut User, el: &El) -> Result<(), String> {
    for (k, target) in [
        ("firstName", &mut u.first_name),
        ("lastName", &mut u.last_name),
        ("emailAddress", &mut u.email_address),
    ] {
        if let Some(v) = el.text_at(&[k]) {
            *target = v;
        }
    }
    for k in USER_TEXT_FIELDS {
        if let Some(v) = el.text_at(&[k]) {
            let v = if matches!(*k, "optIn" | "shared") {
                Value::from(v == "true" || v == "1")
            } else {
                Value::from(v)
            };
            u.fields.insert((*k).to_owned(), v);
        }
    }
    let attrs = parse_attrs(db, el.child("customAttributes"), "user")?;
    u.custom_attributes.extend(attrs);
    Ok(())
}

fn check_user(u: &User) -> Result<(), String> {
    for (field, v) in [
        ("firstName", &u.first_name),
        ("lastName", &u.last_name),
        ("emailAddress", &u.email_address),
    ] {
        if v.trim().is_empty() {
            return Err(format!("The user's {field} is required"));
        }
    }
    if u.can_login && u.user_name.as_deref().is_none_or(str::is_empty) {
        return Err("userName is required when canLogin is true".into());
    }
    Ok(())
}

pub fn create_user(db: &mut Db, req: &El) -> String {
    let items: Vec<&El> = req.all("user").collect();
    if let Some(f) = too_many(items.len()) {
        return f;
    }
    let op = op_type(req);
    let now = db.now();
    let mut results = Vec::new();
    for el in items {
        let r = (|| {
            let mut cand = User {
                user_name: nonempty(el.text_at(&["userName"])),
                can_login: el.bool_at(&["canLogin"]).unwrap_or(false),
                ..User::default()
            };
            fill_user_fields(db, &mut cand, el)?;
            check_user(&cand)?;
            let roles = parse_roles(db, el.child("acctRolesList"))?;
            let key = cand.key();
            let existing = db.t.users.iter().position(|u| u.key() == key);
            let idx = match (existing, op) {
                (Some(_), None) => return Err(format!("User '{key}' already exists")),
                (Some(i), Some(Op::CreateOrIgnore)) => i,
                (Some(i), Some(Op::CreateOrUpdate)) => {
                    let mut u = db.t.users[i].clone();
                    fill_user_fields(db, &mut u, el)?;
                    u.can_login = cand.can_login;
                    merge_roles(&mut u.account_roles, roles, "ADD");
                    u.last_modified = Some(now);
                    db.t.users[i] = u;
                    i
                }
                (None, _) => {
                    check_required(db, &cand.custom_attributes, "user")?;
                    cand.account_roles = roles;
                    cand.unique_id = db.uid();
                    cand.created = Some(now);
                    cand.last_modified = Some(now);
                    db.t.users.push(cand);
                    db.t.users.len() - 1
                }
            };
            let mut w = W::default();
            user_ident(&mut w, "user", &db.t.users[idx]);
            Ok(w.buf)
        })();
        results.push((el, r));
    }
    write_response(results, "failedUser", Some("responseData"))
}

fn user_by_ident(db: &Db, el: Option<&El>) -> Result<usize, String> {
    let el = el.ok_or("user identifier missing")?;
    if let Some(u) = nonempty(el.text_at(&["uniqueId"])) {
        return db
            .t
            .users
            .iter()
            .position(|x| x.unique_id == u)
            .ok_or_else(|| format!("User with unique ID '{u}' does not exist"));
    }
    let key = nonempty(el.text_at(&["userName"]))
        .or_else(|| el.text_at(&["primaryKeys", "emailAddress"]))
        .unwrap_or_default()
        .to_lowercase();
    db.t.users
        .iter()
        .position(|x| x.key() == key || x.email_address.to_lowercase() == key)
        .ok_or_else(|| format!("User '{key}' does not exist"))
}

pub fn update_user(db: &mut Db, req: &El) -> String {
    let items: Vec<&El> = req.all("userData").collect();
    if let Some(f) = too_many(items.len()) {
        return f;
    }
    let now = db.now();
    let mut results = Vec::new();
    for el in items {
        let r = (|| {
            let i = user_by_ident(db, el.child("user"))?;
            let mut u = db.t.users[i].clone();
            fill_user_fields(db, &mut u, el)?;
            if let Some(list) = el.child("acctRolesList") {
                let roles = parse_roles(db, Some(list))?;
                let mode = list.text_at(&["opType"]).unwrap_or_else(|| "ADD".into());
                merge_roles(&mut u.account_roles, roles, &mode);
            }
            check_user(&u)?;
            u.last_modified = Some(now);
            db.t.users[i] = u;
            Ok(String::new())
        })();
        results.push((el, r));
    }
    write_response(results, "failedUser", None)
}

pub fn get_users(db: &Db, req: &El) -> String {
    let q = req.child("queryParams");
    let qp = |n: &str| q.and_then(|q| q.child(n));
    let role_names: Vec<String> = qp("roles")
        .map(|r| {
            r.all("roleName")
                .map(|x| x.text.trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let matching: Vec<&User> =
        db.t.users
            .iter()
            .filter(|u| {
                let f = |k: &str| u.fields.get(k).map(value_text);
                simple_match(qp("userName"), u.user_name.as_deref())
                    && simple_match(qp("firstName"), Some(&u.first_name))
                    && simple_match(qp("lastName"), Some(&u.last_name))
                    && simple_match(qp("emailAddress"), Some(&u.email_address))
                    && simple_match(qp("displayName"), f("displayName").as_deref())
                    && simple_match(qp("city"), f("city").as_deref())
                    && qp("isActive").is_none_or(|v| {
                        let active = f("status").is_none_or(|s| s == "Active");
                        (v.text.trim() == "true") == active
                    })
                    && qp("canLogIn").is_none_or(|v| (v.text.trim() == "true") == u.can_login)
                    && (qp("accountID").is_none()
                        || u.account_roles
                            .iter()
                            .any(|r| simple_match(qp("accountID"), Some(&r.account_id))))
                    && (role_names.is_empty()
                        || u.account_roles
                            .iter()
                            .any(|r| r.roles.iter().any(|x| role_names.contains(x))))
                    && datetime_match(qp("lastModifiedDateTime"), u.last_modified)
            })
            .collect();
    let page = match paged(matching, req) {
        Ok(p) => p,
        Err(e) => return failure(&e),
    };
    let mut w = W::default();
    status(&mut w, "SUCCESS", None);
    w.open("responseData");
    for u in page {
        w.open("user");
        user_ident(&mut w, "userIdentifier", u);
        for k in [
            "displayName",
            "optIn",
            "faxNumber",
            "street",
            "city",
            "state",
            "zipcode",
            "country",
            "status",
            "locale",
            "timezone",
            "shared",
        ] {
            w.opt(k, u.fields.get(k).map(value_text).as_deref());
        }
        w.opt("dateCreated", u.created.as_ref().map(fmt_dt).as_deref());
        w.opt(
            "dateLastModified",
            u.last_modified.as_ref().map(fmt_dt).as_deref(),
        );
        if !u.account_roles.is_empty() {
            w.open("accountRolesList");
            for r in &u.account_roles {
                w.open("acctRoles");
                match db.t.accounts.iter().find(|a| a.id == r.account_id) {
                    Some(a) => acct_ident(&mut w, "account", a),
                    None => {
                        w.open("account")
                            .open("primaryKeys")
                            .leaf("id", &r.account_id)
                            .close("primaryKeys")
                            .close("account");
                    }
                }
                if !r.roles.is_empty() {
                    w.open("roles");
                    for role in &r.roles {
                        w.leaf("roleName", role);
                    }
                    w.close("roles");
                }
                w.close("acctRoles");
            }
            w.close("accountRolesList");
        }
        render_attrs(&mut w, db, "customAttributes", &u.custom_attributes, "user");
        w.close("user");
    }
    w.close("responseData");
    w.buf
}

// ------------------------------------------------------------------ entitlements (EOS v4)

const BAD_ACTIVATION_CHARS: &[char] = &[
    ',', '"', '&', '%', '^', '(', ')', '#', '@', '!', '~', '/', '<', '>', '\\', '`', '}', '{', '=',
    '|', '.', '\'',
];

/// Explicit id of an `idType` (`None` = autoGenerate), or why it is unusable.
fn id_type(el: Option<&El>, what: &str) -> Result<Option<String>, String> {
    let el = el.ok_or_else(|| format!("{what} is required"))?;
    let auto = el.bool_at(&["autoGenerate"]).unwrap_or(false);
    match nonempty(el.text_at(&["id"])) {
        Some(id) if !auto => {
            if id.len() > 255 || id.contains(BAD_ACTIVATION_CHARS) {
                return Err(format!(
                    "{what} '{id}' contains invalid characters or is too long"
                ));
            }
            Ok(Some(id))
        }
        _ if auto => Ok(None),
        _ => Err(format!("{what}: give an id or set autoGenerate to true")),
    }
}

fn opt_set(target: &mut Option<String>, v: Option<String>) {
    if v.is_some() {
        *target = v;
    }
}

/// Applies a `createEntitlementLineItemDataType` (or `renewParameters`) element to `l`.
fn fill_line(db: &Db, l: &mut LineItem, el: &El, creating: bool) -> Result<(), String> {
    let part = nonempty(el.text_at(&["partNumber", "primaryKeys", "partId"]));
    let prod_name = nonempty(el.text_at(&["product", "primaryKeys", "name"]));
    if let Some(pn) = &part {
        let p = db
            .product_for_part(pn)
            .ok_or_else(|| format!("Part number '{pn}' does not exist"))?;
        if let Some(n) = &prod_name {
            if *n != p.name {
                return Err(format!(
                    "Part number '{pn}' is mapped to product '{}', not '{n}'",
                    p.name
                ));
            }
        }
        if p.state != "DEPLOYED" {
            return Err(format!(
                "Product '{}' (version {}) of part number '{pn}' is not deployed (state {})",
                p.name,
                p.version.as_deref().unwrap_or("-"),
                p.state
            ));
        }
        l.part_number = Some(pn.clone());
        l.product = Some(p.name.clone());
        l.product_version = p.version.clone();
        if l.license_model.is_none() {
            l.license_model = p.license_model.clone();
        }
    } else if let Some(n) = &prod_name {
        let v = el.text_at(&["product", "primaryKeys", "version"]);
        let p =
            db.t.products
                .iter()
                .find(|p| p.name == *n && (v.is_none() || p.version == v))
                .ok_or_else(|| format!("Product '{n}' does not exist"))?;
        if p.state != "DEPLOYED" {
            return Err(format!("Product '{n}' is not deployed (state {})", p.state));
        }
        l.product = Some(p.name.clone());
        l.product_version = p.version.clone();
        if l.license_model.is_none() {
            l.license_model = p.license_model.clone();
        }
    } else if creating && l.product.is_none() {
        return Err("A line item needs a product or a part number".into());
    }
    if let Some(m) = nonempty(el.text_at(&["licenseModel", "primaryKeys", "name"])) {
        check_license_model(db, l, &m)?;
        l.license_model = Some(m);
    }
    opt_set(
        &mut l.fnp_time_zone_value,
        nonempty(el.text_at(&["FNPTimeZoneValue"])),
    );
    fill_version_date(l, el)?;
    opt_set(&mut l.description, el.text_at(&["description"]));
    opt_set(&mut l.order_id, el.text_at(&["orderId"]));
    opt_set(&mut l.order_line_number, el.text_at(&["orderLineNumber"]));
    if let Some(n) = el.int_at(&["numberOfCopies"]) {
        if n < 0 {
            return Err(format!("numberOfCopies {n} must not be negative"));
        }
        if n < l.fulfilled_amount {
            return Err(format!(
                "numberOfCopies {n} is less than the fulfilled amount {}",
                l.fulfilled_amount
            ));
        }
        l.number_of_copies = n;
    }
    opt_set(&mut l.start_date, el.text_at(&["startDate"]));
    opt_set(&mut l.start_date_option, el.text_at(&["startDateOption"]));
    // the expiration group is replaced as a whole (flexnet-soap.md §4)
    let exp_root = el.child("expirationTerms").unwrap_or(el);
    let perm = el.bool_at(&["isPermanent"]);
    let term = exp_root.child("term").map(|t| Term {
        num_duration: t.int_at(&["numDuration"]).unwrap_or(0),
        duration_unit: t.text_at(&["durationUnit"]).unwrap_or_default(),
    });
    let exp = exp_root.text_at(&["expirationDate"]);
    if perm.is_some() || term.is_some() || exp.is_some() {
        if perm == Some(true) && (term.is_some() || exp.is_some()) {
            return Err("isPermanent is true: do not set term or expirationDate".into());
        }
        if term.is_some() && exp.is_some() {
            return Err("Set term or expirationDate, not both".into());
        }
        l.is_permanent = perm.or(Some(false));
        l.term = term;
        l.expiration_date = exp;
    }
    opt_set(&mut l.line_item_type, el.text_at(&["lineItemType"]));
    let attrs = parse_attrs(db, el.child("lineItemAttributes"), "lineitem")?;
    l.custom_attributes.extend(attrs);
    if creating {
        check_required(db, &l.custom_attributes, "lineitem")?;
    }
    l.number_of_remaining_copies = l.number_of_copies - l.fulfilled_amount;
    Ok(())
}

/// A named license model must be one the line item's product offers (`licenseModel` or
/// `licenseModels` of the fixture), when the product lists any.
fn check_license_model(db: &Db, l: &LineItem, model: &str) -> Result<(), String> {
    let product =
        db.t.products
            .iter()
            .find(|p| Some(&p.name) == l.product.as_ref() && p.version == l.product_version);
    let Some(p) = product else { return Ok(()) };
    let offered: Vec<&String> = p.license_model.iter().chain(&p.license_models).collect();
    if offered.is_empty() || offered.iter().any(|m| *m == model) {
        Ok(())
    } else {
        Err(format!(
            "License model '{model}' is not a license model of product '{}' (it has {})",
            p.name,
            offered
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// `versionDate` / `versionDateAttributes/versionOption`: DEFINE_NOW ("specify value now")
/// needs a version date; another option takes none (like startDate with startDateOption).
fn fill_version_date(l: &mut LineItem, el: &El) -> Result<(), String> {
    let date = nonempty(el.text_at(&["versionDate"]));
    let option = nonempty(el.text_at(&["versionDateAttributes", "versionOption"]));
    match (option.as_deref(), &date) {
        (Some("DEFINE_NOW"), None) => {
            return Err("versionOption DEFINE_NOW needs a versionDate".into());
        }
        (Some(o), Some(d)) if o != "DEFINE_NOW" => {
            return Err(format!(
                "versionDate {d} is only given with versionOption DEFINE_NOW, not {o}"
            ));
        }
        _ => {}
    }
    if option.is_some() || date.is_some() {
        l.version_option = option;
        l.version_date = date;
    }
    Ok(())
}

/// Adds or updates one line item of `cand`; returns its index there.
fn apply_line(
    db: &mut Db,
    cand: &mut Entitlement,
    el: &El,
    op: Option<Op>,
    auto_deploy: bool,
    now: DateTime<Utc>,
) -> Result<usize, String> {
    let explicit = id_type(el.child("activationId"), "activationId")?;
    if let Some(aid) = &explicit {
        if let Some(i) = cand.line_items.iter().position(|l| l.activation_id == *aid) {
            return match op {
                None => Err(format!(
                    "Line item with activation ID '{aid}' already exists"
                )),
                Some(Op::CreateOrIgnore) => Ok(i),
                Some(Op::CreateOrUpdate) => {
                    let mut l = cand.line_items[i].clone();
                    fill_line(db, &mut l, el, false)?;
                    l.last_modified = Some(now);
                    cand.line_items[i] = l;
                    Ok(i)
                }
            };
        }
        if let Some(owner) = db.activation_owner(aid) {
            return Err(format!(
                "Activation ID '{aid}' is already used by entitlement '{}'",
                owner.entitlement_id
            ));
        }
    }
    let mut l = LineItem::default();
    fill_line(db, &mut l, el, true)?;
    l.activation_id = match explicit {
        Some(a) => a,
        None => db.new_activation_id(cand),
    };
    l.unique_id = db.uid();
    l.state = if auto_deploy { "DEPLOYED" } else { "DRAFT" }.into();
    l.created = Some(now);
    l.last_modified = Some(now);
    cand.line_items.push(l);
    Ok(cand.line_items.len() - 1)
}

fn fill_entitlement(db: &Db, e: &mut Entitlement, el: &El, creating: bool) -> Result<(), String> {
    opt_set(&mut e.description, el.text_at(&["description"]));
    if let Some(s) = nonempty(el.text_at(&["soldTo"])) {
        if db.account_idx(&s).is_none() {
            return Err(format!("soldTo account '{s}' does not exist"));
        }
        e.sold_to = s;
    } else if creating {
        return Err("soldTo is required: the account the entitlement is sold to".into());
    }
    opt_set(&mut e.ship_to_email, el.text_at(&["shipToEmail"]));
    opt_set(&mut e.ship_to_address, el.text_at(&["shipToAddress"]));
    opt_set(
        &mut e.email_template_variation,
        el.text_at(&["emailTemplateVariation"]),
    );
    if let Some(v) = el.bool_at(&["allowPortalLogin"]) {
        e.allow_portal_login = Some(v);
    }
    if let Some(cps) = el.child("channelPartners") {
        let mut out = Vec::new();
        for cp in cps.all("channelPartner") {
            out.push(channel_partner(db, cp)?);
        }
        if out.iter().filter(|c| c.current_owner == Some(true)).count() > 1 {
            return Err("Only one channel partner can be the current owner".into());
        }
        e.channel_partners = out;
    }
    let attrs = parse_attrs(db, el.child("entitlementAttributes"), "entitlement")?;
    e.custom_attributes.extend(attrs);
    if creating {
        check_required(db, &e.custom_attributes, "entitlement")?;
    }
    if el.child("maintenanceLineItems").is_some() {
        return Err("maintenanceLineItems are not supported by this tenant simulator".into());
    }
    Ok(())
}

/// One `channelPartner`: its account must exist, and its `contact` (by user name, unique id
/// or email) must be a user with a role on that account.
fn channel_partner(db: &Db, cp: &El) -> Result<ChannelPartner, String> {
    let ai = db.account_by_ident(cp.child("accountUnit"))?;
    let account_id = db.t.accounts[ai].id.clone();
    let contact = match cp.child("contact") {
        None => None,
        Some(c) => {
            let ui = user_by_ident(db, Some(c))?;
            let u = &db.t.users[ui];
            if !u.account_roles.iter().any(|r| r.account_id == account_id) {
                return Err(format!(
                    "User '{}' is not a user of account '{account_id}', so it cannot be its channel partner contact",
                    u.key()
                ));
            }
            Some(u.key())
        }
    };
    Ok(ChannelPartner {
        tier_name: cp.text_at(&["tierName"]).unwrap_or_default(),
        account_id,
        contact,
        current_owner: cp.bool_at(&["currentOwner"]),
    })
}

fn render_created(w: &mut W, rec: usize, e: &Entitlement, lines: &[usize]) {
    w.open("createdSimpleEntitlement")
        .leaf("recordRefNo", &rec.to_string())
        .leaf("uniqueId", &e.unique_id)
        .leaf("entitlementId", &e.entitlement_id);
    for &i in lines {
        w.leaf("lineItemUniqueIds", &e.line_items[i].unique_id);
    }
    for &i in lines {
        line_ident(w, "lineItemIdentifiers", &e.line_items[i]);
    }
    w.close("createdSimpleEntitlement");
}

pub fn create_simple_entitlement(db: &mut Db, req: &El) -> String {
    let items: Vec<&El> = req.all("simpleEntitlement").collect();
    if let Some(f) = too_many(items.len()) {
        return f;
    }
    let op = op_type(req);
    let now = db.now();
    let mut results = Vec::new();
    for (n, el) in items.into_iter().enumerate() {
        let r = (|| {
            let explicit = id_type(el.child("entitlementId"), "entitlementId")?;
            let existing = explicit.as_ref().and_then(|id| {
                db.t.entitlements
                    .iter()
                    .position(|e| e.entitlement_id == *id)
            });
            let auto_deploy = el.bool_at(&["autoDeploy"]) == Some(true);
            let (idx, lines) = match (existing, op) {
                (Some(_), None) => {
                    return Err(format!(
                        "Entitlement '{}' already exists",
                        explicit.unwrap_or_default()
                    ))
                }
                (Some(i), Some(Op::CreateOrIgnore)) => {
                    (i, (0..db.t.entitlements[i].line_items.len()).collect())
                }
                (Some(i), Some(Op::CreateOrUpdate)) => {
                    let mut cand = db.t.entitlements[i].clone();
                    fill_entitlement(db, &mut cand, el, false)?;
                    let mut lines = Vec::new();
                    for li in el.all("lineItems") {
                        lines.push(apply_line(db, &mut cand, li, op, auto_deploy, now)?);
                    }
                    if auto_deploy {
                        set_state_all(&mut cand, "DEPLOYED", now);
                    }
                    cand.last_modified = Some(now);
                    db.t.entitlements[i] = cand;
                    (i, lines)
                }
                (None, _) => {
                    let mut cand = Entitlement::default();
                    fill_entitlement(db, &mut cand, el, true)?;
                    let mut lines = Vec::new();
                    for li in el.all("lineItems") {
                        lines.push(apply_line(db, &mut cand, li, op, auto_deploy, now)?);
                    }
                    cand.entitlement_id = match explicit {
                        Some(id) => id,
                        None => loop {
                            let id = format!("ENT-{}", db.hex_id());
                            if !db.t.entitlements.iter().any(|e| e.entitlement_id == id) {
                                break id;
                            }
                        },
                    };
                    cand.unique_id = db.uid();
                    cand.state = if auto_deploy { "DEPLOYED" } else { "DRAFT" }.into();
                    cand.created = Some(now);
                    cand.last_modified = Some(now);
                    db.t.entitlements.push(cand);
                    (db.t.entitlements.len() - 1, lines)
                }
            };
            let mut w = W::default();
            render_created(&mut w, n + 1, &db.t.entitlements[idx], &lines);
            Ok(w.buf)
        })();
        results.push((el, r));
    }
    write_response(results, "failedSimpleEntitlement", Some("responseData"))
}

fn set_state_all(e: &mut Entitlement, state: &str, now: DateTime<Utc>) {
    e.state = state.to_owned();
    e.last_modified = Some(now);
    for l in &mut e.line_items {
        if l.state != state {
            l.state = state.to_owned();
            l.last_modified = Some(now);
        }
    }
}

fn transition_ok(from: &str, to: &str) -> bool {
    from == to
        || matches!(
            (from, to),
            ("DRAFT", "DEPLOYED" | "TEST" | "OBSOLETE")
                | ("TEST", "DRAFT" | "DEPLOYED" | "OBSOLETE")
                | ("DEPLOYED" | "ACTIVE", "INACTIVE" | "OBSOLETE" | "ON_HOLD")
                | ("INACTIVE", "DEPLOYED" | "OBSOLETE")
                | ("ON_HOLD", "DEPLOYED" | "INACTIVE" | "OBSOLETE")
        )
}

pub fn set_entitlement_state(db: &mut Db, req: &El) -> String {
    let items: Vec<&El> = req.all("entitlement").collect();
    if let Some(f) = too_many(items.len()) {
        return f;
    }
    let now = db.now();
    let mut results = Vec::new();
    for el in items {
        let r = (|| {
            let i = db.ent_by_ident(el.child("entitlementIdentifier"))?;
            let to = el.text_at(&["stateToSet"]).unwrap_or_default();
            let e = &mut db.t.entitlements[i];
            if !transition_ok(&e.state, &to) {
                return Err(format!(
                    "Cannot change the state of entitlement '{}' from {} to {to}",
                    e.entitlement_id, e.state
                ));
            }
            set_state_all(e, &to, now);
            Ok(String::new())
        })();
        results.push((el, r));
    }
    write_response(results, "failedEntitlement", None)
}

/// setLineItemState: `lineItem+ {lineItemIdentifier, stateToSet}`, the same transitions as
/// an entitlement's; failures in `failedData/failedLineItem{lineItem, reason}`.
pub fn set_line_item_state(db: &mut Db, req: &El) -> String {
    let items: Vec<&El> = req.all("lineItem").collect();
    if let Some(f) = too_many(items.len()) {
        return f;
    }
    let now = db.now();
    let mut results = Vec::new();
    for el in items {
        let r = (|| {
            let (ei, li) = find_line(db, el.child("lineItemIdentifier"))?;
            let to = el.text_at(&["stateToSet"]).unwrap_or_default();
            let e = &mut db.t.entitlements[ei];
            let l = &mut e.line_items[li];
            if !transition_ok(&l.state, &to) {
                return Err(format!(
                    "Cannot change the state of line item '{}' from {} to {to}",
                    l.activation_id, l.state
                ));
            }
            l.state = to;
            l.last_modified = Some(now);
            e.last_modified = Some(now);
            Ok(String::new())
        })();
        results.push((el, r));
    }
    write_response(results, "failedLineItem", None)
}

pub fn create_line_items(db: &mut Db, req: &El) -> String {
    let items: Vec<&El> = req.all("lineItem").collect();
    if let Some(f) = too_many(items.len()) {
        return f;
    }
    let op = op_type(req);
    let now = db.now();
    let mut results = Vec::new();
    for el in items {
        let r = (|| {
            let i = db.ent_by_ident(el.child("entitlementIdentifier"))?;
            if el.child("maintenanceLineItems").is_some() {
                return Err(
                    "maintenanceLineItems are not supported by this tenant simulator".into(),
                );
            }
            let auto_deploy = el.bool_at(&["autoDeploy"]) == Some(true);
            let mut cand = db.t.entitlements[i].clone();
            let mut lines = Vec::new();
            for li in el.all("lineItems") {
                lines.push(apply_line(db, &mut cand, li, op, auto_deploy, now)?);
            }
            cand.last_modified = Some(now);
            db.t.entitlements[i] = cand;
            let e = &db.t.entitlements[i];
            let mut w = W::default();
            w.open("addedLineItems");
            ent_ident(&mut w, "entitlementIdentifier", e);
            for &x in &lines {
                w.leaf("lineItemUniqueIds", &e.line_items[x].unique_id);
            }
            for &x in &lines {
                line_ident(&mut w, "lineItemIdentifiers", &e.line_items[x]);
            }
            w.close("addedLineItems");
            Ok(w.buf)
        })();
        results.push((el, r));
    }
    write_response(results, "failedLineItemData", Some("responseData"))
}

fn find_line(db: &Db, ident: Option<&El>) -> Result<(usize, usize), String> {
    let ident = ident.ok_or("line item identifier missing")?;
    let uid = nonempty(ident.text_at(&["uniqueId"]));
    let aid = ident
        .text_at(&["primaryKeys", "activationId"])
        .unwrap_or_default();
    for (ei, e) in db.t.entitlements.iter().enumerate() {
        for (li, l) in e.line_items.iter().enumerate() {
            let hit = match &uid {
                Some(u) => l.unique_id == *u,
                None => l.activation_id == aid,
            };
            if hit {
                return Ok((ei, li));
            }
        }
    }
    Err(format!("Line item '{}' does not exist", uid.unwrap_or(aid)))
}

/// renewLicense: a new line item (lineItemType RENEWAL) copying its parent, with the
/// renewParameters applied; start date defaults to the parent's expiration date.
pub fn renew_license(db: &mut Db, req: &El) -> String {
    let items: Vec<&El> = req.all("entitlementData").collect();
    if let Some(f) = too_many(items.len()) {
        return f;
    }
    let now = db.now();
    let mut results = Vec::new();
    for (n, el) in items.into_iter().enumerate() {
        let r = (|| {
            let mut ent_idx: Option<usize> = match el.child("parentEntitlementIdentifier") {
                Some(p) => Some(db.ent_by_ident(Some(p))?),
                None => None,
            };
            let mut renewed = Vec::new();
            let mut cand: Option<Entitlement> = None;
            for (k, rl) in el.all("renewLineItemData").enumerate() {
                let (ei, li) = find_line(db, rl.child("parentLineItemIdentifier"))?;
                if *ent_idx.get_or_insert(ei) != ei {
                    return Err(
                        "All renewed line items must belong to the parent entitlement".into(),
                    );
                }
                let c = cand.get_or_insert_with(|| db.t.entitlements[ei].clone());
                let parent = c.line_items[li].clone();
                let params = rl
                    .child("renewParameters")
                    .ok_or("renewParameters missing")?;
                let explicit = id_type(params.child("activationId"), "activationId")?;
                if let Some(a) = &explicit {
                    if db.activation_owner(a).is_some()
                        || c.line_items.iter().any(|l| l.activation_id == *a)
                    {
                        return Err(format!("Activation ID '{a}' already exists"));
                    }
                }
                let mut l = LineItem {
                    part_number: parent.part_number.clone(),
                    product: parent.product.clone(),
                    product_version: parent.product_version.clone(),
                    license_model: parent.license_model.clone(),
                    number_of_copies: parent.number_of_copies,
                    order_id: parent.order_id.clone(),
                    start_date: parent.expiration_date.clone(),
                    line_item_type: Some("RENEWAL".into()),
                    parent_activation_id: Some(parent.activation_id.clone()),
                    ..LineItem::default()
                };
                if params.child("startDate").is_some() || params.child("startDateOption").is_some()
                {
                    l.start_date = None;
                }
                fill_line(db, &mut l, params, false)?;
                l.activation_id = match explicit {
                    Some(a) => a,
                    None => db.new_activation_id(c),
                };
                l.unique_id = db.uid();
                l.state = if rl.bool_at(&["autoDeploy"]) == Some(true) {
                    "DEPLOYED"
                } else {
                    "DRAFT"
                }
                .into();
                l.created = Some(now);
                l.last_modified = Some(now);
                renewed.push((k + 1, parent, l.clone()));
                c.line_items.push(l);
            }
            let mut c = cand.ok_or("renewLineItemData missing")?;
            c.last_modified = Some(now);
            let ei = ent_idx.ok_or("parent entitlement missing")?;
            db.t.entitlements[ei] = c;
            let e = &db.t.entitlements[ei];
            let mut w = W::default();
            w.open("entitlementData")
                .leaf("entitlementRecordRefNo", &(n + 1).to_string());
            ent_ident(&mut w, "parentEntitlementIdentifier", e);
            for (k, parent, l) in &renewed {
                w.open("renewedLineItem")
                    .leaf("lineItemRecordRefNo", &k.to_string());
                line_ident(&mut w, "parentLineItemIdentifier", parent);
                w.open("newLineItem")
                    .leaf("uniqueId", &l.unique_id)
                    .leaf("activationId", &l.activation_id)
                    .close("newLineItem");
                w.close("renewedLineItem");
            }
            w.close("entitlementData");
            Ok(w.buf)
        })();
        results.push((el, r));
    }
    write_response(results, "failedEntitlement", Some("responseData"))
}

fn product_ident(w: &mut W, db: &Db, name: &str, l: &LineItem) {
    if let Some(p) = &l.product {
        let uid =
            db.t.products
                .iter()
                .find(|x| x.name == *p && x.version == l.product_version)
                .map(|x| x.unique_id.clone());
        w.open(name);
        w.opt("uniqueId", uid.as_deref());
        w.open("primaryKeys")
            .leaf("name", p)
            .leaf("version", l.product_version.as_deref().unwrap_or(""))
            .close("primaryKeys")
            .close(name);
    }
}

fn part_ident(w: &mut W, name: &str, l: &LineItem) {
    if let Some(p) = &l.part_number {
        w.open(name)
            .open("primaryKeys")
            .leaf("partId", p)
            .close("primaryKeys")
            .close(name);
    }
}

fn model_ident(w: &mut W, name: &str, m: Option<&str>) {
    if let Some(m) = m {
        w.open(name)
            .open("primaryKeys")
            .leaf("name", m)
            .close("primaryKeys")
            .close(name);
    }
}

fn render_version_date(w: &mut W, l: &LineItem) {
    w.opt("versionDate", l.version_date.as_deref());
    if let Some(o) = &l.version_option {
        w.open("versionDateAttributes")
            .leaf("versionOption", o)
            .close("versionDateAttributes");
    }
}

fn render_term(w: &mut W, t: &Option<Term>) {
    if let Some(t) = t {
        w.open("term")
            .leaf("numDuration", &t.num_duration.to_string())
            .leaf("durationUnit", &t.duration_unit)
            .close("term");
    }
}

pub fn search_entitlements(db: &Db, req: &El) -> String {
    let q = req.child("entitlementSearchCriteria");
    let qp = |n: &str| q.and_then(|q| q.child(n));
    let matching: Vec<&Entitlement> =
        db.t.entitlements
            .iter()
            .filter(|e| {
                let any_line = |f: &dyn Fn(&LineItem) -> bool| e.line_items.iter().any(f);
                simple_match(qp("entitlementId"), Some(&e.entitlement_id))
                    && simple_match(qp("soldTo"), Some(&e.sold_to))
                    && simple_match(qp("description"), e.description.as_deref())
                    && simple_match(qp("entDescription"), e.description.as_deref())
                    && simple_match(qp("shipToEmail"), e.ship_to_email.as_deref())
                    && (qp("partNumber").is_none()
                        || any_line(&|l| simple_match(qp("partNumber"), l.part_number.as_deref())))
                    && (qp("productName").is_none()
                        || any_line(&|l| simple_match(qp("productName"), l.product.as_deref())))
                    && state_match(qp("state"), &e.state)
                    && date_match(qp("lastModifiedDate"), e.last_modified)
                    && date_match(qp("createdOn"), e.created)
                    && qp("isBulk").is_none_or(|b| b.text.trim() != "true")
            })
            .collect();
    let page = match paged(matching, req) {
        Ok(p) => p,
        Err(e) => return failure(&e),
    };
    let mut w = W::default();
    status(&mut w, "SUCCESS", None);
    for e in page {
        w.open("entitlement").open("simpleEntitlement");
        w.open("entitlementId")
            .leaf("id", &e.entitlement_id)
            .close("entitlementId");
        w.opt(
            "lastModifiedDateTime",
            e.last_modified.as_ref().map(fmt_dt).as_deref(),
        );
        w.opt("description", e.description.as_deref());
        w.leaf("soldTo", &e.sold_to);
        w.opt(
            "soldToName",
            db.t.accounts
                .iter()
                .find(|a| a.id == e.sold_to)
                .map(|a| a.name.as_str()),
        );
        w.opt("shipToEmail", e.ship_to_email.as_deref());
        w.opt("shipToAddress", e.ship_to_address.as_deref());
        w.opt(
            "emailTemplateVariation",
            e.email_template_variation.as_deref(),
        );
        w.leaf("state", &e.state);
        for l in &e.line_items {
            w.open("lineItems");
            w.open("activationId")
                .leaf("id", &l.activation_id)
                .close("activationId");
            w.opt("description", l.description.as_deref());
            product_ident(&mut w, db, "product", l);
            part_ident(&mut w, "partNumber", l);
            model_ident(&mut w, "licenseModel", l.license_model.as_deref());
            w.opt("FNPTimeZoneValue", l.fnp_time_zone_value.as_deref());
            w.opt("orderId", l.order_id.as_deref());
            w.opt("orderLineNumber", l.order_line_number.as_deref());
            w.leaf("numberOfCopies", &l.number_of_copies.to_string());
            w.opt("startDate", l.start_date.as_deref());
            w.opt("startDateOption", l.start_date_option.as_deref());
            w.opt(
                "isPermanent",
                l.is_permanent.map(|b| b.to_string()).as_deref(),
            );
            render_term(&mut w, &l.term);
            w.opt("expirationDate", l.expiration_date.as_deref());
            render_version_date(&mut w, l);
            w.opt("lineItemType", l.line_item_type.as_deref());
            render_attrs(
                &mut w,
                db,
                "lineItemAttributes",
                &l.custom_attributes,
                "lineitem",
            );
            w.leaf(
                "numberOfRemainingCopies",
                &l.number_of_remaining_copies.to_string(),
            );
            w.leaf("fulfilledCount", &l.fulfilled_amount.to_string());
            w.leaf("state", &l.state);
            if let Some(p) = &l.parent_activation_id {
                w.open("parentLineItem")
                    .open("primaryKeys")
                    .leaf("activationId", p)
                    .close("primaryKeys")
                    .close("parentLineItem");
            }
            w.opt(
                "createdOnDateTime",
                l.created.as_ref().map(fmt_dt).as_deref(),
            );
            w.opt(
                "lastModifiedDateTime",
                l.last_modified.as_ref().map(fmt_dt).as_deref(),
            );
            w.close("lineItems");
        }
        if !e.channel_partners.is_empty() {
            w.open("channelPartners");
            for cp in &e.channel_partners {
                w.open("channelPartner").leaf("tierName", &cp.tier_name);
                w.open("accountUnit")
                    .open("primaryKeys")
                    .leaf("id", &cp.account_id)
                    .close("primaryKeys")
                    .close("accountUnit");
                if let Some(c) = &cp.contact {
                    w.open("contact").leaf("userName", c).close("contact");
                }
                w.opt(
                    "currentOwner",
                    cp.current_owner.map(|b| b.to_string()).as_deref(),
                );
                w.close("channelPartner");
            }
            w.close("channelPartners");
        }
        w.opt(
            "allowPortalLogin",
            e.allow_portal_login.map(|b| b.to_string()).as_deref(),
        );
        render_attrs(
            &mut w,
            db,
            "entitlementAttributes",
            &e.custom_attributes,
            "entitlement",
        );
        w.close("simpleEntitlement").close("entitlement");
    }
    w.buf
}

pub fn search_line_items(db: &Db, req: &El) -> String {
    let q = req.child("queryParams");
    let qp = |n: &str| q.and_then(|q| q.child(n));
    let cfg = req.child("entitlementLineItemResponseConfig");
    let want = |n: &str| cfg.and_then(|c| c.bool_at(&[n])).unwrap_or(false);
    let mut matching: Vec<(&Entitlement, &LineItem)> = Vec::new();
    for e in &db.t.entitlements {
        for l in &e.line_items {
            if simple_match(qp("entitlementId"), Some(&e.entitlement_id))
                && simple_match(qp("activationId"), Some(&l.activation_id))
                && simple_match(qp("productName"), l.product.as_deref())
                && simple_match(qp("partNumber"), l.part_number.as_deref())
                && simple_match(qp("orderId"), l.order_id.as_deref())
                && simple_match(qp("orderLineNumber"), l.order_line_number.as_deref())
                && simple_match(qp("soldTo"), Some(&e.sold_to))
                && number_match(qp("fulfilledAmount"), l.fulfilled_amount)
                && qp("withNoOrderId")
                    .is_none_or(|v| (v.text.trim() == "true") == l.order_id.is_none())
                && datetime_match(qp("createdOnDateTime"), l.created)
                && datetime_match(qp("lastModifiedDateTime"), l.last_modified)
            {
                matching.push((e, l));
            }
        }
    }
    let refs: Vec<&(&Entitlement, &LineItem)> = matching.iter().collect();
    let page = match paged(refs, req) {
        Ok(p) => p,
        Err(e) => return failure(&e),
    };
    let mut w = W::default();
    status(&mut w, "SUCCESS", None);
    for (e, l) in page {
        w.open("entitlementLineItem");
        if want("activationId") {
            line_ident(&mut w, "activationId", l);
        }
        if want("description") {
            w.opt("description", l.description.as_deref());
        }
        if want("state") {
            w.leaf("state", &l.state);
        }
        if want("activatableItemType") {
            w.leaf("activatableItemType", "LINEITEM");
        }
        if want("orderId") {
            w.opt("orderId", l.order_id.as_deref());
        }
        if want("orderLineNumber") {
            w.opt("orderLineNumber", l.order_line_number.as_deref());
        }
        if want("entitlementId") {
            ent_ident(&mut w, "entitlementId", e);
        }
        if want("soldTo") {
            match db.t.accounts.iter().find(|a| a.id == e.sold_to) {
                Some(a) => acct_ident(&mut w, "soldTo", a),
                None => {
                    w.open("soldTo")
                        .open("primaryKeys")
                        .leaf("id", &e.sold_to)
                        .close("primaryKeys")
                        .close("soldTo");
                }
            }
        }
        if want("soldToDisplayName") {
            w.opt(
                "soldToDisplayName",
                db.t.accounts
                    .iter()
                    .find(|a| a.id == e.sold_to)
                    .map(|a| a.name.as_str()),
            );
        }
        if want("entitlementState") {
            w.leaf("entitlementState", &e.state);
        }
        if want("entitlementDescription") {
            w.opt("entitlementDescription", e.description.as_deref());
        }
        if want("allowPortalLogin") {
            w.opt(
                "allowPortalLogin",
                e.allow_portal_login.map(|b| b.to_string()).as_deref(),
            );
        }
        if want("shipToEmail") {
            w.opt("shipToEmail", e.ship_to_email.as_deref());
        }
        if want("shipToAddress") {
            w.opt("shipToAddress", e.ship_to_address.as_deref());
        }
        if want("product") {
            product_ident(&mut w, db, "product", l);
        }
        if want("partNumber") {
            part_ident(&mut w, "partNumber", l);
        }
        if want("licenseModel") {
            model_ident(&mut w, "licenseModel", l.license_model.as_deref());
        }
        if want("lineItemSupportAction") {
            w.opt("lineItemSupportAction", l.line_item_type.as_deref());
        }
        if want("parentLineItem") {
            if let Some(p) = &l.parent_activation_id {
                w.open("parentLineItem")
                    .open("primaryKeys")
                    .leaf("activationId", p)
                    .close("primaryKeys")
                    .close("parentLineItem");
            }
        }
        if want("startDate") {
            w.opt("startDate", l.start_date.as_deref());
        }
        if want("startDateOption") {
            w.opt("startDateOption", l.start_date_option.as_deref());
        }
        if want("isPermanent") {
            w.opt(
                "isPermanent",
                l.is_permanent.map(|b| b.to_string()).as_deref(),
            );
        }
        if want("term") {
            render_term(&mut w, &l.term);
        }
        if want("expirationDate") {
            w.opt("expirationDate", l.expiration_date.as_deref());
        }
        if want("versionDate") {
            w.opt("versionDate", l.version_date.as_deref());
        }
        if want("versionDateAttributes") {
            if let Some(o) = &l.version_option {
                w.open("versionDateAttributes")
                    .leaf("versionOption", o)
                    .close("versionDateAttributes");
            }
        }
        if want("numberOfCopies") {
            w.leaf("numberOfCopies", &l.number_of_copies.to_string());
        }
        if want("fulfilledAmount") {
            w.leaf("fulfilledAmount", &l.fulfilled_amount.to_string());
        }
        if want("numberOfRemainingCopies") {
            w.leaf(
                "numberOfRemainingCopies",
                &l.number_of_remaining_copies.to_string(),
            );
        }
        if want("FNPTimeZoneValue") {
            w.opt("FNPTimeZoneValue", l.fnp_time_zone_value.as_deref());
        }
        if want("createdOnDateTime") {
            w.opt(
                "createdOnDateTime",
                l.created.as_ref().map(fmt_dt).as_deref(),
            );
        }
        if want("lastModifiedDateTime") {
            w.opt(
                "lastModifiedDateTime",
                l.last_modified.as_ref().map(fmt_dt).as_deref(),
            );
        }
        if want("lineItemAttributes") {
            render_attrs(
                &mut w,
                db,
                "lineItemAttributes",
                &l.custom_attributes,
                "lineitem",
            );
        }
        w.close("entitlementLineItem");
    }
    w.buf
}

// ------------------------------------------------------------------ catalogue (PPS v2)

pub fn get_products(db: &Db, req: &El) -> String {
    let q = req.child("queryParams");
    let qp = |n: &str| q.and_then(|q| q.child(n));
    let contained = req.bool_at(&["returnContainedObjects"]).unwrap_or(false);
    let matching: Vec<&Product> =
        db.t.products
            .iter()
            .filter(|p| {
                simple_match(qp("productName"), Some(&p.name))
                    && simple_match(qp("version"), p.version.as_deref())
                    && simple_match(qp("description"), p.description.as_deref())
                    && (qp("partNumber").is_none()
                        || p.part_numbers
                            .iter()
                            .any(|x| simple_match(qp("partNumber"), Some(x))))
                    && state_match(qp("state"), &p.state)
                    && date_match(qp("lastModifiedDate"), p.last_modified)
            })
            .collect();
    let page = match paged(matching, req) {
        Ok(p) => p,
        Err(e) => return failure(&e),
    };
    let mut w = W::default();
    status(&mut w, "SUCCESS", None);
    w.open("responseData");
    for p in page {
        w.open("product")
            .leaf("uniqueId", &p.unique_id)
            .leaf("productName", &p.name);
        w.opt("version", p.version.as_deref());
        w.opt("description", p.description.as_deref());
        w.leaf("state", &p.state);
        if contained {
            if let Some(m) = &p.license_model {
                w.open("licenseModels");
                model_ident(&mut w, "licenseModel", Some(m));
                w.close("licenseModels");
            }
            if !p.part_numbers.is_empty() {
                w.open("partNumbers");
                for pn in &p.part_numbers {
                    w.open("partNumber")
                        .open("primaryKeys")
                        .leaf("partId", pn)
                        .close("primaryKeys");
                    model_ident(&mut w, "licenseModel", p.license_model.as_deref());
                    w.close("partNumber");
                }
                w.close("partNumbers");
            }
        }
        w.opt("creationDate", p.created.as_ref().map(fmt_dt).as_deref());
        w.opt(
            "lastModifiedDate",
            p.last_modified.as_ref().map(fmt_dt).as_deref(),
        );
        w.close("product");
    }
    w.close("responseData");
    w.buf
}

pub fn get_part_numbers(db: &Db, req: &El) -> String {
    let q = req.child("queryParams");
    let qp = |n: &str| q.and_then(|q| q.child(n));
    let mut all: Vec<(&str, &Product)> = Vec::new();
    for p in &db.t.products {
        for pn in &p.part_numbers {
            all.push((pn, p));
        }
    }
    let unmapped = qp("unmappedWithProduct").is_some_and(|v| v.text.trim() == "true");
    let matching: Vec<&(&str, &Product)> = all
        .iter()
        .filter(|(pn, p)| {
            !unmapped
                && simple_match(qp("partId"), Some(pn))
                && simple_match(qp("productName"), Some(&p.name))
                && simple_match(qp("licenseModel"), p.license_model.as_deref())
                && date_match(qp("lastModifiedDate"), p.last_modified)
        })
        .collect();
    let page = match paged(matching, req) {
        Ok(p) => p,
        Err(e) => return failure(&e),
    };
    let mut w = W::default();
    status(&mut w, "SUCCESS", None);
    w.open("responseData");
    for (pn, p) in page {
        w.open("partNumber");
        w.open("partNumberIdentifier")
            .open("primaryKeys")
            .leaf("partId", pn)
            .close("primaryKeys")
            .close("partNumberIdentifier");
        w.nil("description");
        let d = |t: &Option<DateTime<Utc>>| t.map(|t| t.date_naive().to_string());
        match d(&p.created) {
            Some(v) => w.leaf("creationDate", &v),
            None => w.nil("creationDate"),
        };
        match d(&p.last_modified) {
            Some(v) => w.leaf("lastModifiedDate", &v),
            None => w.nil("lastModifiedDate"),
        };
        w.open("mappedProduct")
            .leaf("uniqueId", &p.unique_id)
            .open("primaryKeys")
            .leaf("name", &p.name)
            .leaf("version", p.version.as_deref().unwrap_or(""))
            .close("primaryKeys")
            .close("mappedProduct");
        model_ident(&mut w, "mappedLicenseModel", p.license_model.as_deref());
        w.close("partNumber");
    }
    w.close("responseData");
    w.buf
}
