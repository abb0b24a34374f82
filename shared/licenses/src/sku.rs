//! SKUs (seed 000, R30): a name and the licenses it includes, each given by unique id (a
//! captured id, `feature:<field>`, or a manual license id) or by key (LicenseDefinitionKey,
//! PermissionSetLicenseKey, NamespacePrefix, the permission field). Only SKU-configured
//! licenses are reported per user (R30). Pure.

use crate::manual_license::ManualLicense;
use crate::model::LicenseRecord;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sku {
    pub name: String,
    /// License ids or keys, as entered.
    pub licenses: Vec<String>,
    pub updated: DateTime<Utc>,
}

/// Body of `PUT /licenses/skus/{name}` (unknown fields refused).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkuBody {
    pub licenses: Vec<String>,
}

/// A refused SKU: which SKU, which field, why (with the rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SKU {sku}: field {field}: {message}")]
pub struct SkuError {
    pub sku: String,
    pub field: String,
    pub message: String,
}

/// What a SKU's licenses can be resolved against.
pub struct Known<'a> {
    pub records: &'a [LicenseRecord],
    pub manual: &'a [ManualLicense],
}

impl Known<'_> {
    /// The license ids `entry` stands for: an id (a matched manual id stands for its captured
    /// license), else every license with that key; empty when unknown.
    pub fn resolve(&self, entry: &str) -> BTreeSet<String> {
        if self.records.iter().any(|r| r.id() == entry) {
            return BTreeSet::from([entry.to_owned()]);
        }
        if let Some(ml) = self.manual.iter().find(|m| m.id == entry) {
            return BTreeSet::from([ml.matched_to.clone().unwrap_or_else(|| ml.id.clone())]);
        }
        let captured = self
            .records
            .iter()
            .filter(|r| r.captured.key.as_deref() == Some(entry))
            .map(|r| r.id().to_owned());
        let manual = self
            .manual
            .iter()
            .filter(|m| m.matched_to.is_none() && m.key.as_deref() == Some(entry))
            .map(|m| m.id.clone());
        captured.chain(manual).collect()
    }

    /// Every license id a SKU includes now.
    pub fn license_ids(&self, sku: &Sku) -> BTreeSet<String> {
        sku.licenses.iter().flat_map(|e| self.resolve(e)).collect()
    }
}

/// Validates a SKU named `name` with `body`: the name is 1–80 letters, digits, `-`, `_`, `.`;
/// at least one license; every entry a known license id or key (R30).
pub fn validate(
    name: &str,
    body: SkuBody,
    known: &Known<'_>,
    now: DateTime<Utc>,
) -> Result<Sku, SkuError> {
    let err = |field: &str, message: String| SkuError {
        sku: name.to_owned(),
        field: field.to_owned(),
        message,
    };
    let name_ok = (1..=80).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        return Err(err(
            "name",
            "a SKU name has 1 to 80 letters, digits, '-', '_' or '.' (R30)".into(),
        ));
    }
    if body.licenses.is_empty() {
        return Err(err(
            "licenses",
            "a SKU includes at least one license id or key (R30)".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut licenses = Vec::new();
    for entry in body.licenses {
        let entry = entry.trim().to_owned();
        if known.resolve(&entry).is_empty() {
            return Err(err(
                "licenses",
                format!("unknown license {entry:?}: not the id or key of any stored license (R30)"),
            ));
        }
        if seen.insert(entry.clone()) {
            licenses.push(entry);
        }
    }
    Ok(Sku {
        name: name.to_owned(),
        licenses,
        updated: now,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{LicenseKind, ManualFields};

    fn now() -> DateTime<Utc> {
        "2026-11-27T10:00:00Z".parse().unwrap()
    }

    pub(crate) fn record(id: &str, kind: LicenseKind, key: &str) -> LicenseRecord {
        let mut captured = crate::store::tests::captured(id, id);
        captured.kind = kind;
        captured.key = Some(key.into());
        LicenseRecord {
            captured,
            manual: ManualFields::default(),
        }
    }

    fn body(entries: &[&str]) -> SkuBody {
        SkuBody {
            licenses: entries.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn r30_a_sku_resolves_ids_and_keys_and_refuses_unknown_ones_by_name() {
        let records = [
            record("100A", LicenseKind::UserLicense, "SFDC"),
            record("0PLA", LicenseKind::PermissionSetLicense, "CRMUserPsl"),
        ];
        let manual = [ManualLicense {
            id: "manual:x".into(),
            kind: LicenseKind::PackageLicense,
            name: "x".into(),
            key: Some("acme".into()),
            manual: ManualFields::default(),
            created: now(),
            matched_to: None,
            matched_at: None,
        }];
        let known = Known {
            records: &records,
            manual: &manual,
        };
        let sku = validate(
            "Sales",
            body(&["SFDC", "0PLA", "acme", "SFDC"]),
            &known,
            now(),
        )
        .unwrap();
        assert_eq!(sku.licenses, ["SFDC", "0PLA", "acme"], "duplicates folded");
        let ids: Vec<String> = known.license_ids(&sku).into_iter().collect();
        assert_eq!(ids, ["0PLA", "100A", "manual:x"]);
        let e = validate("Sales", body(&["SFDC", "Nope"]), &known, now()).unwrap_err();
        assert_eq!(e.field, "licenses");
        assert!(
            e.to_string().contains("\"Nope\"") && e.to_string().contains("(R30)"),
            "{e}"
        );
        assert_eq!(
            validate("Sales", body(&[]), &known, now())
                .unwrap_err()
                .field,
            "licenses"
        );
        assert_eq!(
            validate("a b", body(&["SFDC"]), &known, now())
                .unwrap_err()
                .field,
            "name"
        );
    }

    #[test]
    fn r31_a_matched_manual_id_stands_for_its_captured_license() {
        let records = [record(
            "0PLA",
            LicenseKind::PermissionSetLicense,
            "CRMUserPsl",
        )];
        let manual = [ManualLicense {
            id: "manual:crm".into(),
            kind: LicenseKind::PermissionSetLicense,
            name: "crm".into(),
            key: Some("CRMUserPsl".into()),
            manual: ManualFields::default(),
            created: now(),
            matched_to: Some("0PLA".into()),
            matched_at: Some(now()),
        }];
        let known = Known {
            records: &records,
            manual: &manual,
        };
        assert_eq!(
            known.resolve("manual:crm"),
            BTreeSet::from(["0PLA".to_owned()])
        );
        assert_eq!(
            known.resolve("CRMUserPsl"),
            BTreeSet::from(["0PLA".to_owned()])
        );
    }
}
