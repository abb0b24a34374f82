//! Where license data is read from: a small SOQL port, implemented over the Salesforce client
//! and over a fixture (`{"salesforce": {"UserLicense": [...], ...}, "now": "..."}`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// Why a query failed (the Salesforce client's error, or a fixture's refusal), source kept.
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Runs one SOQL query and returns every record of every page.
#[async_trait]
pub trait LicenseSource: Send + Sync {
    async fn query(&self, soql: &str) -> Result<Vec<Value>, SourceError>;
}

/// Answers queries from a fixture's `salesforce` tables: `SELECT … FROM <Object> …` returns
/// every record of `<Object>` (an absent table is an empty one). Queries containing a text given
/// to [`FixtureSource::fail_when`] fail, to test unreadable objects and fields.
#[derive(Debug, Clone, Default)]
pub struct FixtureSource {
    tables: BTreeMap<String, Vec<Value>>,
    fail_when: Vec<String>,
}

/// A fixture that is not shaped like the contract's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fixture: {0}")]
pub struct FixtureError(pub String);

impl FixtureSource {
    /// From a whole fixture (`{"salesforce": {...}}`); non-array entries (e.g. `credentials`)
    /// are ignored.
    pub fn from_fixture(fixture: &Value) -> Result<Self, FixtureError> {
        let sf = fixture
            .get("salesforce")
            .and_then(Value::as_object)
            .ok_or_else(|| FixtureError("the fixture has no \"salesforce\" object".into()))?;
        let tables = sf
            .iter()
            .filter_map(|(k, v)| v.as_array().map(|a| (k.clone(), a.clone())))
            .collect();
        Ok(FixtureSource {
            tables,
            fail_when: Vec::new(),
        })
    }

    /// Every later query whose text contains `needle` fails.
    pub fn fail_when(mut self, needle: &str) -> Self {
        self.fail_when.push(needle.to_owned());
        self
    }
}

/// The fixture's `now`, if it has one.
pub fn fixture_now(fixture: &Value) -> Option<DateTime<Utc>> {
    fixture
        .get("now")
        .and_then(Value::as_str)
        .and_then(crate::capture::parse_sf_datetime)
}

/// The object a simple `SELECT … FROM Object …` reads.
pub fn from_object(soql: &str) -> Option<&str> {
    let mut words = soql.split_whitespace();
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case("FROM") {
            return words.next();
        }
    }
    None
}

#[async_trait]
impl LicenseSource for FixtureSource {
    async fn query(&self, soql: &str) -> Result<Vec<Value>, SourceError> {
        if let Some(n) = self.fail_when.iter().find(|n| soql.contains(n.as_str())) {
            return Err(format!("fixture refuses queries containing {n:?} (INVALID_FIELD)").into());
        }
        let object =
            from_object(soql).ok_or_else(|| FixtureError(format!("no FROM in {soql:?}")))?;
        Ok(self.tables.get(object).cloned().unwrap_or_default())
    }
}

/// The real org: paged SOQL through the Salesforce client (all pages via `nextRecordsUrl`).
#[async_trait]
impl LicenseSource for salesforce::SalesforceClient {
    async fn query(&self, soql: &str) -> Result<Vec<Value>, SourceError> {
        salesforce::SalesforceClient::query(self, soql)
            .await
            .map_err(|e| Box::new(e) as SourceError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn fixture_source_answers_by_object_and_fails_on_request() {
        let f = json!({"salesforce": {"UserLicense": [{"Id": "1"}], "credentials": {"clientId": "x"}}, "now": "2026-11-27T10:00:00Z"});
        let src = FixtureSource::from_fixture(&f).unwrap();
        assert_eq!(
            src.query("SELECT Id FROM UserLicense").await.unwrap().len(),
            1
        );
        assert!(src
            .query("SELECT Id FROM PackageLicense")
            .await
            .unwrap()
            .is_empty());
        let src = src.fail_when("FROM PackageLicense");
        assert!(src.query("SELECT Id FROM PackageLicense").await.is_err());
        assert_eq!(
            fixture_now(&f),
            Some("2026-11-27T10:00:00Z".parse().unwrap())
        );
        assert!(FixtureSource::from_fixture(&json!({})).is_err());
    }
}
