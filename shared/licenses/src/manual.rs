//! Admin edits of the manual fields (R27): a JSON object of fields to change, each validated,
//! errors naming the license id, the field and the rule.

use crate::model::{Amount, ManualFields, PaymentFrequency};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

/// The fields an admin may set (R27, R31 for `name`).
pub const MANUAL_FIELDS: [&str; 7] = [
    "name",
    "allowed",
    "amount",
    "currency",
    "effective_date",
    "ending_date",
    "payment_frequency",
];

/// A refused manual edit: which license, which field, why (with the rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("license {license_id}: field {field}: {message}")]
pub struct ManualFieldError {
    pub license_id: String,
    pub field: String,
    pub message: String,
}

/// Applies `body` (a JSON object; a field set to `null` is cleared, absent fields are kept) to
/// `current`, returning the new manual fields. Every value is checked; the first bad one is
/// refused and nothing changes.
pub fn apply_manual_update(
    license_id: &str,
    current: &ManualFields,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<ManualFields, ManualFieldError> {
    let err = |field: &str, message: String| ManualFieldError {
        license_id: license_id.to_owned(),
        field: field.to_owned(),
        message,
    };
    let Value::Object(map) = body else {
        return Err(err(
            "body",
            format!(
                "expected a JSON object with any of {} (R27)",
                MANUAL_FIELDS.join(", ")
            ),
        ));
    };
    let mut m = current.clone();
    for (field, value) in map {
        let null = value.is_null();
        match field.as_str() {
            "name" => {
                m.name = if null {
                    None
                } else {
                    let s = value.as_str().ok_or_else(|| {
                        err(field, "a local name is a string, or null to clear it (R31)".into())
                    })?;
                    let s = s.trim();
                    if s.is_empty() || s.chars().count() > 255 {
                        return Err(err(
                            field,
                            "a local name has 1 to 255 characters, or is null to clear it (R31)"
                                .into(),
                        ));
                    }
                    Some(s.to_owned())
                }
            }
            "allowed" => {
                m.allowed = if null {
                    None
                } else {
                    Some(value.as_u64().ok_or_else(|| {
                        err(
                            field,
                            format!("# allowed is a whole number 0 or more, got {value} (R27)"),
                        )
                    })?)
                }
            }
            "amount" => {
                m.amount = if null {
                    None
                } else {
                    Some(Amount::from_json(value).map_err(|e| err(field, format!("{e} (R27)")))?)
                }
            }
            "currency" => {
                m.currency = if null {
                    None
                } else {
                    let s = value.as_str().map(str::trim).unwrap_or_default();
                    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_alphabetic()) {
                        return Err(err(
                            field,
                            format!(
                                "a currency is a three-letter ISO 4217 code such as USD, got {value} (R27)"
                            ),
                        ));
                    }
                    Some(s.to_ascii_uppercase())
                }
            }
            "effective_date" | "ending_date" => {
                let date = if null {
                    None
                } else {
                    Some(
                        value
                            .as_str()
                            .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
                            .ok_or_else(|| {
                                err(
                                    field,
                                    format!("a date is written YYYY-MM-DD, got {value} (R27)"),
                                )
                            })?,
                    )
                };
                if field == "effective_date" {
                    m.effective_date = date;
                } else {
                    m.ending_date = date;
                }
            }
            "payment_frequency" => {
                m.payment_frequency = if null {
                    None
                } else {
                    Some(
                        value
                            .as_str()
                            .and_then(PaymentFrequency::parse)
                            .ok_or_else(|| {
                                err(
                                    field,
                                    format!(
                                        "expected one of {}, got {value} (R27)",
                                        PaymentFrequency::NAMES.join(", ")
                                    ),
                                )
                            })?,
                    )
                }
            }
            other => {
                return Err(err(
                    other,
                    format!(
                        "not a manual field; the manual fields are {} (captured fields are never edited) (R27)",
                        MANUAL_FIELDS.join(", ")
                    ),
                ))
            }
        }
    }
    if let (Some(from), Some(to)) = (m.effective_date, m.ending_date) {
        if to < from {
            return Err(err(
                "ending_date",
                format!("the ending date {to} is before the effective date {from} (R27)"),
            ));
        }
    }
    m.updated = Some(now);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-27T10:00:00Z".parse().unwrap()
    }

    fn apply(body: Value) -> Result<ManualFields, ManualFieldError> {
        apply_manual_update("0PL000000000001AAA", &ManualFields::default(), &body, now())
    }

    #[test]
    fn r27_every_manual_field_can_be_set() {
        let m = apply(json!({
            "name": " Sales Cloud (local) ", "allowed": 25, "amount": "1200.50", "currency": "eur",
            "effective_date": "2026-01-01", "ending_date": "2026-12-31",
            "payment_frequency": "Quarterly"
        }))
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("Sales Cloud (local)"));
        assert_eq!(m.allowed, Some(25));
        assert_eq!(m.amount.unwrap().cents(), 120_050);
        assert_eq!(m.currency.as_deref(), Some("EUR"));
        assert_eq!(m.effective_date.unwrap().to_string(), "2026-01-01");
        assert_eq!(m.ending_date.unwrap().to_string(), "2026-12-31");
        assert_eq!(m.payment_frequency, Some(PaymentFrequency::Quarterly));
        assert_eq!(m.updated, Some(now()));
    }

    #[test]
    fn r27_null_clears_and_absent_keeps() {
        let current = ManualFields {
            amount: Some(Amount::from_cents(100)),
            currency: Some("USD".into()),
            ..Default::default()
        };
        let m = apply_manual_update("x", &current, &json!({"amount": null}), now()).unwrap();
        assert_eq!(m.amount, None);
        assert_eq!(m.currency.as_deref(), Some("USD"));
    }

    #[test]
    fn r27_bad_values_name_the_license_and_field() {
        for (body, field) in [
            (json!({"amount": "-5"}), "amount"),
            (json!({"amount": "1.234"}), "amount"),
            (json!({"currency": "DOLLARS"}), "currency"),
            (json!({"currency": 12}), "currency"),
            (json!({"effective_date": "27/11/2026"}), "effective_date"),
            (json!({"ending_date": 5}), "ending_date"),
            (json!({"payment_frequency": "weekly"}), "payment_frequency"),
            (json!({"allowed": -1}), "allowed"),
            (json!({"allowed": 2.5}), "allowed"),
            (json!({"name": ""}), "name"),
            (json!({"total": 5}), "total"),
            (json!([1]), "body"),
            (
                json!({"effective_date": "2026-05-01", "ending_date": "2026-04-30"}),
                "ending_date",
            ),
        ] {
            let e = apply(body.clone()).unwrap_err();
            assert_eq!(e.field, field, "{body}: {e}");
            assert_eq!(e.license_id, "0PL000000000001AAA");
            let text = e.to_string();
            assert!(
                text.contains("0PL000000000001AAA") && text.contains(field),
                "{text}"
            );
            assert!(
                text.contains("(R2") || text.contains("(R3"),
                "names the rule: {text}"
            );
        }
    }
}
