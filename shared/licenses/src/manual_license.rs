//! Manual licenses (seed 000, R27, R29): a license entered by hand before (or without) any
//! ingest — kind, name, optional key and the manual fields. Shown with `source: manual` and
//! `origin: manual`; the task flag never touches them (kept when the task is disabled and
//! re-enabled).
//!
//! **Matching.** A manual license is matched to a captured one when an ingest captures a
//! license of the *same kind* whose *key* (LicenseDefinitionKey, PermissionSetLicenseKey,
//! NamespacePrefix or the User permission field) equals the manual license's key exactly. Names
//! are never used (R31), and a manual license without a key is never matched. On a match the
//! manual license's `allowed`, `amount`, `currency`, `effective_date`, `ending_date` and
//! `payment_frequency` are copied to the captured license's manual part where that part has
//! none (an edit made on the captured license is newer and wins; the entered effective date
//! wins over the R28 discovery default). The name is not copied: while the task is enabled the
//! captured name shows (seed 000). The manual license stays stored with `matched_to`, no longer
//! listed; its id keeps working as an alias of the captured license (SKUs, routes). Two
//! captured candidates for one key match neither and are a Failed log entry.

use crate::manual::{apply_manual_update, ManualFieldError};
use crate::model::{LicenseKind, LicenseRecord, ManualFields};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Prefix of every manual license id.
pub const MANUAL_ID_PREFIX: &str = "manual:";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManualLicense {
    /// `manual:<name in lower case, words joined by '-'>`.
    pub id: String,
    pub kind: LicenseKind,
    pub name: String,
    /// What a captured license is matched by (with the kind); `None`: never matched.
    pub key: Option<String>,
    pub manual: ManualFields,
    pub created: DateTime<Utc>,
    /// The captured license it was matched to, and when.
    pub matched_to: Option<String>,
    pub matched_at: Option<DateTime<Utc>>,
}

/// Body of `POST /licenses` (unknown fields refused).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewManualLicense {
    pub kind: LicenseKind,
    pub name: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub allowed: Option<Value>,
    #[serde(default)]
    pub amount: Option<Value>,
    #[serde(default)]
    pub currency: Option<Value>,
    #[serde(default)]
    pub effective_date: Option<Value>,
    #[serde(default)]
    pub ending_date: Option<Value>,
    #[serde(default)]
    pub payment_frequency: Option<Value>,
}

/// The id a manual license named `name` gets; `None` when the name has no letter or digit.
pub fn manual_id(name: &str) -> Option<String> {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    (!slug.is_empty()).then(|| format!("{MANUAL_ID_PREFIX}{slug}"))
}

impl NewManualLicense {
    /// The manual fields of the body (name and the spend fields) as a manual edit.
    pub fn fields(&self) -> Value {
        let mut fields = Map::new();
        fields.insert("name".into(), Value::String(self.name.trim().to_owned()));
        for (f, v) in [
            ("allowed", &self.allowed),
            ("amount", &self.amount),
            ("currency", &self.currency),
            ("effective_date", &self.effective_date),
            ("ending_date", &self.ending_date),
            ("payment_frequency", &self.payment_frequency),
        ] {
            if let Some(v) = v {
                fields.insert(f.into(), v.clone());
            }
        }
        Value::Object(fields)
    }

    /// Validates the body into a manual license at `now`: the name gives the id, the spend
    /// fields are checked like any manual edit (R27), errors name the field.
    pub fn build(self, now: DateTime<Utc>) -> Result<ManualLicense, ManualFieldError> {
        let name = self.name.trim().to_owned();
        let fields = self.fields();
        let id = manual_id(&name).ok_or_else(|| ManualFieldError {
            license_id: "(new manual license)".into(),
            field: "name".into(),
            message: format!(
                "{name:?} has no letter or digit; a manual license needs a name (R27)"
            ),
        })?;
        let key = self.key.map(|k| k.trim().to_owned());
        if key.as_deref() == Some("") {
            return Err(ManualFieldError {
                license_id: id,
                field: "key".into(),
                message: "a key is the license's key in Salesforce, or absent (R31)".into(),
            });
        }
        let manual = apply_manual_update(&id, &ManualFields::default(), &fields, now)?;
        Ok(ManualLicense {
            id,
            kind: self.kind,
            name,
            key,
            manual,
            created: now,
            matched_to: None,
            matched_at: None,
        })
    }
}

/// The captured licenses an unmatched manual license would match (same kind, same key).
pub fn candidates<'a>(ml: &ManualLicense, records: &'a [LicenseRecord]) -> Vec<&'a LicenseRecord> {
    let Some(key) = ml.key.as_deref() else {
        return Vec::new();
    };
    records
        .iter()
        .filter(|r| r.captured.kind == ml.kind && r.captured.key.as_deref() == Some(key))
        .collect()
}

/// The captured license's manual part after a match: each carried field where it had none.
pub fn carry_over(from: &ManualFields, onto: &ManualFields) -> ManualFields {
    let mut m = onto.clone();
    m.allowed = m.allowed.or(from.allowed);
    m.amount = m.amount.or(from.amount);
    m.currency = m.currency.clone().or(from.currency.clone());
    m.effective_date = m.effective_date.or(from.effective_date);
    m.ending_date = m.ending_date.or(from.ending_date);
    m.payment_frequency = m.payment_frequency.or(from.payment_frequency);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-01T10:00:00Z".parse().unwrap()
    }

    fn new(body: Value) -> Result<ManualLicense, String> {
        let b: NewManualLicense = serde_json::from_value(body).map_err(|e| e.to_string())?;
        b.build(now()).map_err(|e| e.to_string())
    }

    #[test]
    fn r27_a_manual_license_gets_an_id_from_its_name_and_checked_fields() {
        let ml = new(
            json!({"kind": "permission_set_license", "name": " CRM  User (EU) ",
            "key": "CRMUserPsl", "allowed": 20, "amount": "1200", "currency": "eur",
            "payment_frequency": "annual", "effective_date": "2026-01-01"}),
        )
        .unwrap();
        assert_eq!(ml.id, "manual:crm-user-eu");
        assert_eq!(ml.name, "CRM  User (EU)");
        assert_eq!(ml.manual.allowed, Some(20));
        assert_eq!(ml.manual.currency.as_deref(), Some("EUR"));
        assert_eq!(ml.matched_to, None);
    }

    #[test]
    fn r27_a_bad_manual_license_names_the_field() {
        let e = new(json!({"kind": "user_license", "name": "X", "amount": "-1"})).unwrap_err();
        assert!(e.contains("field amount"), "{e}");
        let e = new(json!({"kind": "user_license", "name": "--"})).unwrap_err();
        assert!(e.contains("field name"), "{e}");
        let e = new(json!({"kind": "user_license", "name": "X", "key": " "})).unwrap_err();
        assert!(e.contains("field key"), "{e}");
        let e = new(json!({"kind": "user_license", "name": "X", "total": 5})).unwrap_err();
        assert!(e.contains("unknown field `total`"), "{e}");
        let e = new(json!({"kind": "seat", "name": "X"})).unwrap_err();
        assert!(e.contains("unknown variant `seat`"), "{e}");
    }

    #[test]
    fn r31_carry_over_keeps_what_the_captured_license_already_has() {
        let from = ManualFields {
            allowed: Some(5),
            amount: Some(crate::Amount::from_cents(100)),
            currency: Some("USD".into()),
            effective_date: Some("2026-01-01".parse().unwrap()),
            name: Some("entered".into()),
            ..Default::default()
        };
        let onto = ManualFields {
            currency: Some("EUR".into()),
            ..Default::default()
        };
        let m = carry_over(&from, &onto);
        assert_eq!(m.currency.as_deref(), Some("EUR"), "the newer edit wins");
        assert_eq!(m.allowed, Some(5));
        assert_eq!(m.effective_date, from.effective_date);
        assert_eq!(m.name, None, "the name is not carried");
    }
}
