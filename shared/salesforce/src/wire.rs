//! Salesforce REST wire shapes and their parsing (reference: shared/reference/salesforce-rest.md).

use crate::error::ApiErrorItem;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The org's daily API usage as the `Sforce-Limit-Info` header reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
}

/// `Sforce-Limit-Info: api-usage=N/M`, optionally followed by `; per-app-api-usage=…`.
pub fn parse_limit_info(header: &str) -> Option<ApiUsage> {
    header.split(';').find_map(|part| {
        let v = part.trim().strip_prefix("api-usage=")?;
        let (used, max) = v.split_once('/')?;
        Some(ApiUsage {
            used: used.trim().parse().ok()?,
            max: max.trim().parse().ok()?,
        })
    })
}

/// A REST error body: normally `[{"message","errorCode","fields"?}]`; a lone object is
/// accepted too. Anything else (an HTML 500 page, an empty body) becomes one entry holding
/// the start of the text.
pub fn parse_error_body(status: u16, body: &str) -> Vec<ApiErrorItem> {
    if let Ok(items) = serde_json::from_str::<Vec<ApiErrorItem>>(body) {
        return items;
    }
    if let Ok(item) = serde_json::from_str::<ApiErrorItem>(body) {
        if !item.error_code.is_empty() || !item.message.is_empty() {
            return vec![item];
        }
    }
    let text: String = body.trim().chars().take(300).collect();
    vec![ApiErrorItem {
        message: if text.is_empty() {
            format!("HTTP {status} with an empty body")
        } else {
            text
        },
        error_code: format!("HTTP_{status}"),
        fields: vec![],
    }]
}

/// The token endpoint's refusal: `{"error","error_description"}`.
#[derive(Debug, Deserialize)]
pub struct TokenError {
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// The token endpoint's answer (both flows). `issued_at`, `signature`, `scope`, `id` are
/// ignored; no `expires_in` or refresh token exists for these flows.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub instance_url: Option<String>,
}

/// One page of a query (`/query`, `/queryAll`, `nextRecordsUrl`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    pub total_size: u64,
    pub done: bool,
    #[serde(default)]
    pub next_records_url: Option<String>,
    pub records: Vec<Value>,
}

/// The answer of `POST /composite`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeAnswer {
    pub composite_response: Vec<CompositeResult>,
}

/// One subrequest's result in a [`CompositeAnswer`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeResult {
    #[serde(default)]
    pub body: Value,
    pub http_status_code: u16,
    #[serde(default)]
    pub reference_id: String,
}

/// One per-record error of an sObject Collections call (note: `statusCode`, not `errorCode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveError {
    #[serde(rename = "statusCode", default)]
    pub status_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// The result of one record of a composite update, in request order. `id` is the id that was
/// sent (Salesforce omits it for some failures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveResult {
    pub id: String,
    pub success: bool,
    pub errors: Vec<SaveError>,
}

#[derive(Deserialize)]
struct RawSaveResult {
    #[serde(default)]
    id: Option<String>,
    success: bool,
    #[serde(default)]
    errors: Vec<SaveError>,
}

/// Parses a composite/sobjects response and maps it back to the request's ids by position.
pub fn parse_save_results(body: &str, sent_ids: &[&str]) -> Result<Vec<SaveResult>, String> {
    let raw: Vec<RawSaveResult> = serde_json::from_str(body).map_err(|e| e.to_string())?;
    if raw.len() != sent_ids.len() {
        return Err(format!(
            "{} results for {} records sent",
            raw.len(),
            sent_ids.len()
        ));
    }
    raw.into_iter()
        .zip(sent_ids)
        .enumerate()
        .map(|(i, (r, sent))| {
            if let Some(id) = r.id.as_deref().filter(|s| !s.is_empty()) {
                if !same_id(id, sent) {
                    return Err(format!(
                        "result {i} is for {id} but record {i} sent was {sent}"
                    ));
                }
            }
            Ok(SaveResult {
                id: (*sent).to_owned(),
                success: r.success,
                errors: r.errors,
            })
        })
        .collect()
}

/// Salesforce ids are the same record in their 15- and 18-character forms.
pub fn same_id(a: &str, b: &str) -> bool {
    a == b || mapping::sf::id18(a) == mapping::sf::id18(b)
}

/// `GET /sobjects/{Type}/describe`, reduced to what flexbridge checks (mappings, FLS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Describe {
    pub name: String,
    pub fields: Vec<DescribeField>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescribeField {
    pub name: String,
    /// Salesforce's `type`: `string`, `picklist`, `reference`, `double`, `date`, …
    pub field_type: String,
    pub updateable: bool,
    /// Active picklist values (`value`, not `label`).
    pub picklist_values: Vec<String>,
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    pub nillable: bool,
}

impl Describe {
    pub fn field(&self, name: &str) -> Option<&DescribeField> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Deserialize)]
struct RawDescribe {
    name: String,
    fields: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    field_type: String,
    #[serde(default)]
    updateable: bool,
    #[serde(default)]
    nillable: bool,
    #[serde(default)]
    picklist_values: Vec<RawPicklist>,
    #[serde(default)]
    reference_to: Vec<String>,
    #[serde(default)]
    relationship_name: Option<String>,
}

#[derive(Deserialize)]
struct RawPicklist {
    value: String,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

pub fn parse_describe(body: &str) -> Result<Describe, serde_json::Error> {
    let raw: RawDescribe = serde_json::from_str(body)?;
    Ok(Describe {
        name: raw.name,
        fields: raw
            .fields
            .into_iter()
            .map(|f| DescribeField {
                name: f.name,
                field_type: f.field_type,
                updateable: f.updateable,
                picklist_values: f
                    .picklist_values
                    .into_iter()
                    .filter(|p| p.active)
                    .map(|p| p.value)
                    .collect(),
                reference_to: f.reference_to,
                relationship_name: f.relationship_name,
                nillable: f.nillable,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limit_info_plain_and_with_per_app_part() {
        assert_eq!(
            parse_limit_info("api-usage=10018/100000"),
            Some(ApiUsage {
                used: 10018,
                max: 100000
            })
        );
        assert_eq!(
            parse_limit_info(
                "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)"
            ),
            Some(ApiUsage {
                used: 25,
                max: 5000
            })
        );
        assert_eq!(
            parse_limit_info("per-app-api-usage=17/250(appName=x); api-usage=3/15000"),
            Some(ApiUsage {
                used: 3,
                max: 15000
            })
        );
        assert_eq!(parse_limit_info("api-usage=abc/100"), None);
        assert_eq!(parse_limit_info("api-usage=12"), None);
        assert_eq!(parse_limit_info(""), None);
    }

    #[test]
    fn error_bodies_array_object_and_garbage() {
        let items = parse_error_body(
            401,
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
        );
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].error_code, "INVALID_SESSION_ID");
        assert!(items[0].fields.is_empty());
        let items = parse_error_body(
            400,
            r#"[{"message":"Unable to create/update fields: IsClosedOnCreate.","errorCode":"INVALID_FIELD_FOR_INSERT_UPDATE","fields":["IsClosedOnCreate"]},
                {"message":"second","errorCode":"REQUIRED_FIELD_MISSING","fields":[]}]"#,
        );
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].fields, vec!["IsClosedOnCreate"]);
        assert_eq!(items[1].error_code, "REQUIRED_FIELD_MISSING");
        let items = parse_error_body(
            400,
            r#"{"fields":["Id"],"message":"Account ID: id value of incorrect type","errorCode":"MALFORMED_ID"}"#,
        );
        assert_eq!(items[0].error_code, "MALFORMED_ID");
        let items = parse_error_body(502, "<html>Bad Gateway</html>");
        assert_eq!(items[0].error_code, "HTTP_502");
        assert_eq!(items[0].message, "<html>Bad Gateway</html>");
        let items = parse_error_body(500, "");
        assert_eq!(items[0].message, "HTTP 500 with an empty body");
    }

    #[test]
    fn composite_results_are_mapped_back_by_position() {
        let body = json!([
            {"id": "001000000000001AAA", "success": true, "errors": []},
            {"success": false, "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                            "message": "Remaining must be >= 0", "fields": []}]},
            {"id": "001000000000003", "success": false,
             "errors": [{"statusCode": "STRING_TOO_LONG", "message": "too long", "fields": ["Description"]}]}
        ])
        .to_string();
        let sent = [
            "001000000000001AAA",
            "001000000000002AAA",
            "001000000000003AAA",
        ];
        let r = parse_save_results(&body, &sent).unwrap();
        assert_eq!(r.len(), 3);
        assert!(r[0].success && r[0].errors.is_empty());
        assert_eq!(r[1].id, "001000000000002AAA", "id taken from the request");
        assert!(!r[1].success);
        assert_eq!(
            r[1].errors[0].status_code,
            "FIELD_CUSTOM_VALIDATION_EXCEPTION"
        );
        assert_eq!(r[2].id, "001000000000003AAA", "15-char id matched by stem");
        assert_eq!(r[2].errors[0].fields, vec!["Description"]);

        let e = parse_save_results(&body, &sent[..2]).unwrap_err();
        assert!(e.contains("3 results for 2 records"), "{e}");
        let swapped = ["001000000000009AAA", "x", "001000000000003AAA"];
        let e = parse_save_results(&body, &swapped).unwrap_err();
        assert!(e.contains("result 0 is for 001000000000001AAA"), "{e}");
        assert!(parse_save_results("{\"not\":\"an array\"}", &sent).is_err());
    }

    #[test]
    fn query_page_and_token_shapes() {
        let p: QueryPage = serde_json::from_value(json!({
            "totalSize": 3222, "done": false,
            "nextRecordsUrl": "/services/data/v56.0/query/01gRO0000016PIAYA2-500",
            "records": [{"attributes": {"type": "Contact"}, "Id": "003RO0000035WQgYAM"}]
        }))
        .unwrap();
        assert_eq!(p.total_size, 3222);
        assert!(!p.done);
        assert_eq!(p.records.len(), 1);
        let t: TokenResponse = serde_json::from_value(json!({
            "access_token": "00D!AR", "instance_url": "https://eu6.salesforce.com",
            "id": "https://login.salesforce.com/id/00D/005", "token_type": "Bearer",
            "issued_at": "4564564565767", "signature": "abc=", "scope": "api"
        }))
        .unwrap();
        assert_eq!(
            t.instance_url.as_deref(),
            Some("https://eu6.salesforce.com")
        );
        let e: TokenError = serde_json::from_value(
            json!({"error": "invalid_grant", "error_description": "audience is invalid"}),
        )
        .unwrap();
        assert_eq!(e.error, "invalid_grant");
    }

    #[test]
    fn describe_keeps_active_picklist_values_and_references() {
        let d = parse_describe(
            &json!({
                "name": "Opportunity", "label": "Opportunity",
                "fields": [
                    {"name": "StageName", "type": "picklist", "updateable": true, "nillable": false,
                     "picklistValues": [{"value": "Closed Won", "label": "Closed Won", "active": true},
                                        {"value": "Old", "label": "Old", "active": false}],
                     "referenceTo": [], "relationshipName": null},
                    {"name": "AccountId", "type": "reference", "updateable": true, "nillable": true,
                     "picklistValues": [], "referenceTo": ["Account"], "relationshipName": "Account"},
                    {"name": "IsWon", "type": "boolean"}
                ]
            })
            .to_string(),
        )
        .unwrap();
        assert_eq!(d.name, "Opportunity");
        assert_eq!(
            d.field("stagename").unwrap().picklist_values,
            vec!["Closed Won"]
        );
        let acc = d.field("AccountId").unwrap();
        assert_eq!(acc.reference_to, vec!["Account"]);
        assert_eq!(acc.relationship_name.as_deref(), Some("Account"));
        assert!(acc.nillable && acc.updateable);
        assert!(!d.field("IsWon").unwrap().updateable);
        assert!(parse_describe("{\"fields\": []}").is_err());
    }
}
