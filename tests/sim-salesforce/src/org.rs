//! The in-memory org: sObject tables loaded from the fixture, the schema (built-in plus
//! inferred), an id index, the clock, and the write path (validation in Salesforce's error
//! shapes, then SystemModstamp / LastModifiedDate bumps).

use crate::schema::{self, FType, FieldDef, ObjectDef};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

pub const DEFAULT_CLIENT_ID: &str = "flexbridge-demo";
pub const DEFAULT_CLIENT_SECRET: &str = "demo-secret";
pub const DEFAULT_USERNAME: &str = "integration@flexbridge.example";
pub const ORG_ID: &str = "00DDm0000000001MAA";

pub type Record = Map<String, Value>;

/// (table, full record id, converted values) of an update that passed the checks.
pub type CheckedUpdate = (String, String, Vec<(String, Value)>);

#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    /// PEM X.509 certificate whose public key verifies JWT bearer assertions.
    pub certificate: Option<String>,
    /// Alternative to `certificate`: a PEM `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY`.
    pub public_key: Option<String>,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: DEFAULT_CLIENT_SECRET.into(),
            username: DEFAULT_USERNAME.into(),
            certificate: None,
            public_key: None,
        }
    }
}

/// A write refused: top-level (`errorCode`) for the single-record PATCH, per record
/// (`statusCode`) in a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub fields: Vec<String>,
}

impl WriteError {
    fn new(status: u16, code: &str, message: impl Into<String>, fields: &[&str]) -> Self {
        WriteError {
            status,
            code: code.into(),
            message: message.into(),
            fields: fields.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

pub struct Org {
    pub objects: BTreeMap<String, ObjectDef>,
    pub tables: BTreeMap<String, Vec<Record>>,
    /// id → (table, position)
    index: HashMap<String, (String, usize)>,
    /// first 15 chars → full id
    index15: HashMap<String, String>,
    pub credentials: Credentials,
    clock: Option<(DateTime<Utc>, Instant)>,
    seq: u64,
}

/// `2025-06-04T11:02:25.000+0000`, what Salesforce returns.
pub fn format_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// Accepts `Z`, `+hh:mm` and `+hhmm` offsets, with or without fractions.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn fixture_err(msg: String) -> crate::SimError {
    crate::SimError::Fixture(msg)
}

impl Org {
    /// Loads the `salesforce` section (`section` is that object) with the clock start.
    pub fn load(
        section: Option<&Value>,
        clock_start: Option<DateTime<Utc>>,
    ) -> Result<Org, crate::SimError> {
        let mut org = Org {
            objects: schema::builtin(),
            tables: BTreeMap::new(),
            index: HashMap::new(),
            index15: HashMap::new(),
            credentials: Credentials::default(),
            clock: clock_start.map(|t| (t, Instant::now())),
            seq: 0,
        };
        let Some(section) = section else {
            return Ok(org);
        };
        let obj = section
            .as_object()
            .ok_or_else(|| fixture_err("salesforce: expected an object".into()))?;
        if let Some(c) = obj.get("credentials") {
            org.credentials = parse_credentials(c)?;
        }
        let names: Vec<String> = obj
            .keys()
            .filter(|k| *k != "credentials")
            .cloned()
            .collect();
        let mut all_tables: Vec<String> = org.objects.keys().cloned().collect();
        all_tables.extend(names.iter().cloned());
        // first pass: tables, schema inference
        let mut raw: Vec<(String, Vec<Record>)> = Vec::new();
        for (n, name) in names.iter().enumerate() {
            let arr = obj[name].as_array().ok_or_else(|| {
                fixture_err(format!(
                    "salesforce.{name}: expected an array of records (sObject table)"
                ))
            })?;
            if !org.objects.contains_key(name) {
                org.objects
                    .insert(name.clone(), schema::inferred_object(name, n));
            }
            let mut recs = Vec::new();
            for (i, r) in arr.iter().enumerate() {
                let mut rec = r
                    .as_object()
                    .cloned()
                    .ok_or_else(|| fixture_err(format!("salesforce.{name}[{i}]: not an object")))?;
                if let Some(t) = rec
                    .remove("attributes")
                    .as_ref()
                    .and_then(|a| a.get("type"))
                    .and_then(Value::as_str)
                {
                    if t != name {
                        return Err(fixture_err(format!(
                            "salesforce.{name}[{i}]: attributes.type is {t:?}, expected {name:?}"
                        )));
                    }
                }
                for (k, v) in &rec {
                    if org.objects[name].field(k).is_none() && !v.is_null() {
                        let f = schema::infer_field(k, v, &all_tables);
                        if let Some(o) = org.objects.get_mut(name) {
                            o.fields.push(f);
                        }
                    }
                }
                recs.push(rec);
            }
            raw.push((name.clone(), recs));
        }
        // fields only ever null: text
        for (name, recs) in &raw {
            for rec in recs {
                for k in rec.keys() {
                    if org.objects[name].field(k).is_none() {
                        let f = schema::infer_field(k, &Value::Null, &all_tables);
                        if let Some(o) = org.objects.get_mut(name) {
                            o.fields.push(f);
                        }
                    }
                }
            }
        }
        schema::add_children(&mut org.objects);
        // second pass: normalise and index
        for (name, recs) in raw {
            for (i, mut rec) in recs.into_iter().enumerate() {
                org.normalise(&name, &mut rec)
                    .map_err(|e| fixture_err(format!("salesforce.{name}[{i}]: {e}")))?;
                let id = rec.get("Id").and_then(Value::as_str).unwrap_or_default();
                if org.index.contains_key(id) {
                    return Err(fixture_err(format!(
                        "salesforce.{name}[{i}]: duplicate Id {id}"
                    )));
                }
                org.insert_new(&name, rec);
            }
            org.tables.entry(name).or_default();
        }
        org.resolve_inferred_targets();
        Ok(org)
    }

    /// Inferred lookups without a known target: the table of the first record they point to.
    fn resolve_inferred_targets(&mut self) {
        let mut found = Vec::new();
        for (oname, o) in &self.objects {
            for (i, f) in o.fields.iter().enumerate() {
                if f.ftype != FType::Reference || f.reference_to.is_some() {
                    continue;
                }
                let target = self.records(oname).iter().find_map(|r| {
                    let id = r.get(&f.name)?.as_str()?;
                    self.by_id(id).map(|(t, _)| t.to_owned())
                });
                if let Some(t) = target {
                    found.push((oname.clone(), i, t));
                }
            }
        }
        for (o, i, t) in found {
            if let Some(f) = self.objects.get_mut(&o).and_then(|o| o.fields.get_mut(i)) {
                f.reference_to = Some(t);
            }
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.clock {
            Some((t, at)) => {
                t + chrono::Duration::from_std(at.elapsed())
                    .unwrap_or_else(|_| chrono::Duration::zero())
            }
            None => Utc::now(),
        }
    }

    pub fn set_clock(&mut self, now: Option<DateTime<Utc>>) {
        self.clock = now.map(|t| (t, Instant::now()));
    }

    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.objects.get(name).or_else(|| {
            self.objects
                .values()
                .find(|o| o.name.eq_ignore_ascii_case(name))
        })
    }

    pub fn records(&self, table: &str) -> &[Record] {
        self.tables.get(table).map_or(&[], Vec::as_slice)
    }

    /// The record with this id (15 or 18 chars) and its table.
    pub fn by_id(&self, id: &str) -> Option<(&str, &Record)> {
        let full = if id.len() == 15 {
            self.index15.get(id)?.as_str()
        } else {
            id
        };
        let (t, i) = self.index.get(full)?;
        Some((t.as_str(), self.tables.get(t)?.get(*i)?))
    }

    /// The integration user's id (the `User` whose Username is the configured one).
    pub fn user_id(&self) -> String {
        self.records("User")
            .iter()
            .find(|u| {
                u.get("Username").and_then(Value::as_str)
                    == Some(self.credentials.username.as_str())
            })
            .and_then(|u| u.get("Id").and_then(Value::as_str))
            .unwrap_or("005Dm0000000001AAA")
            .to_owned()
    }

    fn new_id(&mut self, table: &str) -> String {
        self.seq += 1;
        let prefix = self
            .object(table)
            .map_or_else(|| "a00".to_owned(), |o| o.key_prefix.clone());
        schema::id18(&format!("{prefix}Sm{:010}", self.seq))
    }

    fn insert_new(&mut self, table: &str, rec: Record) {
        let id = rec
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let t = self.tables.entry(table.to_owned()).or_default();
        t.push(rec);
        let pos = t.len() - 1;
        if id.len() >= 15 {
            self.index15.insert(id[..15].to_owned(), id.clone());
        }
        self.index.insert(id, (table.to_owned(), pos));
    }

    /// Fills defaults (Id, IsDeleted, audit dates, Name, IsClosed/IsWon), checks and
    /// normalises typed values (date-times to `.000+0000`).
    fn normalise(&mut self, table: &str, rec: &mut Record) -> Result<(), String> {
        match rec.get("Id") {
            None | Some(Value::Null) => {
                let id = self.new_id(table);
                rec.insert("Id".into(), Value::String(id));
            }
            Some(Value::String(s)) if schema::is_id_like(s) => {
                if s.len() == 15 {
                    let full = schema::id18(s);
                    rec.insert("Id".into(), Value::String(full));
                }
            }
            Some(other) => return Err(format!("Id {other}: expected a 15/18-character id")),
        }
        let def = self.objects[table].clone();
        for (k, v) in rec.iter_mut() {
            let Some(f) = def.field(k) else { continue };
            *v = fixture_value(f, v).map_err(|e| format!("field {k}: {e}"))?;
        }
        // canonical field names
        let keys: Vec<String> = rec.keys().cloned().collect();
        for k in keys {
            if let Some(f) = def.field(&k) {
                if f.name != k {
                    if let Some(v) = rec.remove(&k) {
                        rec.insert(f.name.clone(), v);
                    }
                }
            }
        }
        let now = Value::String(format_datetime(self.now()));
        rec.entry("IsDeleted").or_insert(Value::Bool(false));
        let stamp = rec
            .get("SystemModstamp")
            .or_else(|| rec.get("LastModifiedDate"))
            .or_else(|| rec.get("CreatedDate"))
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(now);
        for k in ["SystemModstamp", "LastModifiedDate", "CreatedDate"] {
            if rec.get(k).is_none_or(Value::is_null) {
                rec.insert(k.into(), stamp.clone());
            }
        }
        if matches!(table, "Contact" | "User") && rec.get("Name").is_none_or(Value::is_null) {
            let first = rec.get("FirstName").and_then(Value::as_str).unwrap_or("");
            let last = rec.get("LastName").and_then(Value::as_str).unwrap_or("");
            let name = format!("{first} {last}").trim().to_owned();
            if !name.is_empty() {
                rec.insert("Name".into(), Value::String(name));
            }
        }
        if table == "Opportunity" {
            if let Some(stage) = rec
                .get("StageName")
                .and_then(Value::as_str)
                .map(str::to_owned)
            {
                rec.entry("IsClosed")
                    .or_insert(Value::Bool(stage.starts_with("Closed")));
                rec.entry("IsWon")
                    .or_insert(Value::Bool(stage == "Closed Won"));
            }
        }
        Ok(())
    }

    /// Test hook: insert or replace a record (by `Id`; generated when absent). Bumps
    /// SystemModstamp to the clock unless the record gives one.
    pub fn upsert(&mut self, table: &str, mut rec: Record) -> Result<String, String> {
        rec.remove("attributes");
        if !self.objects.contains_key(table) {
            let n = self.objects.len();
            self.objects
                .insert(table.to_owned(), schema::inferred_object(table, n));
        }
        let tables: Vec<String> = self.objects.keys().cloned().collect();
        for (k, v) in &rec {
            if self.objects[table].field(k).is_none() {
                let f = schema::infer_field(k, v, &tables);
                if let Some(o) = self.objects.get_mut(table) {
                    o.fields.push(f);
                }
            }
        }
        if rec.get("SystemModstamp").is_none_or(Value::is_null) {
            rec.insert(
                "SystemModstamp".into(),
                Value::String(format_datetime(self.now())),
            );
        }
        self.normalise(table, &mut rec)?;
        let id = rec
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match self.index.get(&id).cloned() {
            Some((t, i)) if t == table => {
                if let Some(slot) = self.tables.get_mut(&t).and_then(|v| v.get_mut(i)) {
                    *slot = rec;
                }
            }
            Some((t, _)) => return Err(format!("Id {id} already belongs to a {t} record")),
            None => self.insert_new(table, rec),
        }
        Ok(id)
    }

    /// Checks an update (`PATCH` body or a collection record without `attributes`/`id`);
    /// returns the converted values to apply.
    pub fn check_update(
        &self,
        sobject: &str,
        id: &str,
        fields: &Map<String, Value>,
    ) -> Result<CheckedUpdate, WriteError> {
        let def = self.object(sobject).ok_or_else(|| {
            WriteError::new(
                404,
                "NOT_FOUND",
                "The requested resource does not exist",
                &[],
            )
        })?;
        if !schema::is_id_like(id) {
            return Err(WriteError::new(
                400,
                "MALFORMED_ID",
                format!("{} ID: id value of incorrect type: {id}", def.name),
                &["Id"],
            ));
        }
        let Some((table, rec)) = self.by_id(id) else {
            return Err(WriteError::new(
                404,
                "NOT_FOUND",
                "The requested resource does not exist",
                &[],
            ));
        };
        if table != def.name {
            return Err(WriteError::new(
                400,
                "MALFORMED_ID",
                format!("{} ID: id value of incorrect type: {id}", def.name),
                &["Id"],
            ));
        }
        if rec.get("IsDeleted") == Some(&Value::Bool(true)) {
            return Err(WriteError::new(
                404,
                "ENTITY_IS_DELETED",
                "entity is deleted",
                &[],
            ));
        }
        let full_id = rec
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or(id)
            .to_owned();
        let mut out = Vec::new();
        let mut not_updateable = Vec::new();
        for (k, v) in fields {
            if k == "attributes" || k.eq_ignore_ascii_case("id") {
                continue;
            }
            let Some(f) = def.field(k) else {
                return Err(WriteError::new(
                    400,
                    "INVALID_FIELD",
                    format!("No such column '{k}' on sobject of type {}", def.name),
                    &[],
                ));
            };
            if !f.updateable {
                not_updateable.push(f.name.clone());
                continue;
            }
            out.push((f.name.clone(), write_value(f, v)?));
        }
        if !not_updateable.is_empty() {
            let names = not_updateable.join(", ");
            return Err(WriteError {
                status: 400,
                code: "INVALID_FIELD_FOR_INSERT_UPDATE".into(),
                message: format!(
                    "Unable to create/update fields: {names}. Please check the security settings of this field and verify that it is read/write for your profile or permission set."
                ),
                fields: not_updateable,
            });
        }
        Ok((def.name.clone(), full_id, out))
    }

    /// Applies checked values and bumps SystemModstamp, LastModifiedDate, LastModifiedById.
    pub fn apply_update(&mut self, table: &str, id: &str, values: Vec<(String, Value)>) {
        let now = Value::String(format_datetime(self.now()));
        let user = Value::String(self.user_id());
        let Some((_, i)) = self.index.get(id).cloned() else {
            return;
        };
        if let Some(rec) = self.tables.get_mut(table).and_then(|t| t.get_mut(i)) {
            for (k, v) in values {
                rec.insert(k, v);
            }
            rec.insert("SystemModstamp".into(), now.clone());
            rec.insert("LastModifiedDate".into(), now);
            rec.insert("LastModifiedById".into(), user);
        }
    }
}

fn parse_credentials(c: &Value) -> Result<Credentials, crate::SimError> {
    let o = c
        .as_object()
        .ok_or_else(|| fixture_err("salesforce.credentials: expected an object".into()))?;
    let get = |k: &str| -> Result<Option<String>, crate::SimError> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(fixture_err(format!(
                "salesforce.credentials.{k}: expected a string"
            ))),
        }
    };
    let d = Credentials::default();
    Ok(Credentials {
        client_id: get("clientId")?.unwrap_or(d.client_id),
        client_secret: get("clientSecret")?.unwrap_or(d.client_secret),
        username: get("username")?.unwrap_or(d.username),
        certificate: get("certificate")?,
        public_key: get("publicKey")?,
    })
}

/// A fixture value checked against its field type (date-times normalised).
fn fixture_value(f: &FieldDef, v: &Value) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    match f.ftype {
        FType::Boolean if !v.is_boolean() => Err(format!("{v} is not a boolean")),
        t if t.is_number() && !v.is_number() => Err(format!("{v} is not a number")),
        FType::Date => match v.as_str().and_then(parse_date) {
            Some(_) => Ok(v.clone()),
            None => Err(format!("{v} is not a date (YYYY-MM-DD)")),
        },
        FType::DateTime => match v.as_str().and_then(parse_datetime) {
            Some(t) => Ok(Value::String(format_datetime(t))),
            None => Err(format!("{v} is not a date-time")),
        },
        t if t.is_text() && !v.is_string() => Err(format!("{v} is not a string")),
        _ => Ok(v.clone()),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "VALUE_STRING",
        Value::Number(n) if n.is_f64() => "VALUE_NUMBER_FLOAT",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    }
}

fn parser_error(f: &FieldDef, what: &str, v: &Value) -> WriteError {
    WriteError::new(
        400,
        "JSON_PARSER_ERROR",
        format!(
            "Cannot deserialize instance of {what} from {} value {v} or request may be missing a required field",
            json_kind(v)
        ),
        &[f.name.as_str()],
    )
}

/// A written value checked like Salesforce does: JSON shape errors are JSON_PARSER_ERROR,
/// unconvertible text is INVALID_TYPE_ON_FIELD_IN_RECORD, plus STRING_TOO_LONG,
/// INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST and REQUIRED_FIELD_MISSING.
pub fn write_value(f: &FieldDef, v: &Value) -> Result<Value, WriteError> {
    let name = f.name.as_str();
    if v.is_null() {
        if !f.nillable {
            return Err(WriteError::new(
                400,
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{name}]"),
                &[name],
            ));
        }
        if f.restricted {
            return Ok(Value::Null);
        }
        return Ok(Value::Null);
    }
    if v.is_array() || v.is_object() {
        return Err(parser_error(f, f.ftype.name(), v));
    }
    match f.ftype {
        FType::Boolean => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(parser_error(f, "boolean", v)),
        },
        t if t.is_number() => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(serde_json::json!(n)),
                _ => Err(WriteError::new(
                    400,
                    "INVALID_TYPE_ON_FIELD_IN_RECORD",
                    format!("{name}: value not of required type: {s}"),
                    &[name],
                )),
            },
            _ => Err(parser_error(f, "double", v)),
        },
        FType::Date => match v.as_str() {
            Some(s) if parse_date(s).is_some() => Ok(v.clone()),
            Some(s) => match parse_datetime(s) {
                // Salesforce accepts a date-time for a date field and keeps the date
                Some(t) => Ok(Value::String(t.format("%Y-%m-%d").to_string())),
                None => Err(parser_error(f, "date", v)),
            },
            None => Err(parser_error(f, "date", v)),
        },
        FType::DateTime => match v.as_str().and_then(parse_datetime) {
            Some(t) => Ok(Value::String(format_datetime(t))),
            None => Err(parser_error(f, "datetime", v)),
        },
        _ => {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if f.ftype == FType::Reference && !s.is_empty() && !schema::is_id_like(&s) {
                return Err(WriteError::new(
                    400,
                    "MALFORMED_ID",
                    format!("{name}: id value of incorrect type: {s}"),
                    &[name],
                ));
            }
            if f.length > 0 && s.chars().count() > f.length as usize {
                return Err(WriteError::new(
                    400,
                    "STRING_TOO_LONG",
                    format!(
                        "{name}: data value too large: {} (max length={})",
                        s.chars().take(40).collect::<String>(),
                        f.length
                    ),
                    &[name],
                ));
            }
            if f.restricted && !f.picklist.iter().any(|p| p == &s) {
                return Err(WriteError::new(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!("{name}: bad value for restricted picklist field: {s}"),
                    &[name],
                ));
            }
            Ok(Value::String(s))
        }
    }
}
