//! Plain request/response types for the API routes and the one place where errors become HTTP
//! statuses. Function crates convert API Gateway events to [`ApiRequest`] and back; the route
//! logic is tested by direct calls.

use serde::Serialize;
use std::collections::BTreeMap;

/// An API Gateway (HTTP API, payload 2.0) request reduced to what the routes need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiRequest {
    pub method: String,
    /// Path without stage prefix, e.g. `/accounts/001.../sync`.
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub body: Option<String>,
    /// The IAM principal that signed the request (from the authorizer context), for audit
    /// log lines; None in direct calls.
    pub caller: Option<String>,
}

impl ApiRequest {
    pub fn new(method: &str, path: &str) -> Self {
        ApiRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            ..Default::default()
        }
    }
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }
    pub fn with_query(mut self, key: &str, value: &str) -> Self {
        self.query.insert(key.to_owned(), value.to_owned());
        self
    }
    /// Path segments, empty ones dropped: `/a/b/` → `["a","b"]`.
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }
}

/// A route's answer: JSON (`body`), or a text document (`text`, e.g. the log as CSV).
///
/// JSON casing: every key the admin API reads or writes is snake_case (issue 14).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: serde_json::Value,
    /// When set, the body sent instead of `body`.
    pub text: Option<TextBody>,
    /// Extra response headers (lower-case names).
    pub headers: Vec<(&'static str, String)>,
}

/// A non-JSON response body.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBody {
    pub content_type: &'static str,
    pub text: String,
}

impl ApiResponse {
    pub fn json(status: u16, body: impl Serialize) -> Self {
        match serde_json::to_value(body) {
            Ok(body) => ApiResponse::from_value(status, body),
            Err(e) => ApiError::internal("serialising the response", e).into_response(),
        }
    }

    pub fn from_value(status: u16, body: serde_json::Value) -> Self {
        ApiResponse {
            status,
            body,
            text: None,
            headers: Vec::new(),
        }
    }

    pub fn text(status: u16, content_type: &'static str, text: String) -> Self {
        ApiResponse {
            text: Some(TextBody { content_type, text }),
            ..ApiResponse::from_value(status, serde_json::Value::Null)
        }
    }

    /// Adds a header when `value` is Some.
    pub fn with_header(mut self, name: &'static str, value: Option<String>) -> Self {
        if let Some(v) = value {
            self.headers.push((name, v));
        }
        self
    }
}

/// Everything a route can answer besides success. Mapped to a status in [`ApiError::status`]
/// and nowhere else; 5xx bodies are generic, the full chain goes to the logs.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request names a field that is wrong.
    #[error("{field}: {message}")]
    BadRequest { field: String, message: String },
    #[error("no route for {method} {path}")]
    NoRoute { method: String, path: String },
    /// 405: the path is a route, the method is not one of it.
    #[error("{path} does not take {method}; it takes {}", .allowed.join(", "))]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: &'static [&'static str],
    },
    #[error("{0} not found")]
    NotFound(String),
    /// 409: the state does not allow it (e.g. nothing runs before the connection is verified, R25).
    #[error("{0}")]
    Conflict(String),
    /// 502: Salesforce or FNO refused or failed; `message` is safe to show (no secrets).
    #[error("{system} answered with an error: {message}")]
    Upstream { system: String, message: String },
    /// 500: unexpected; `context` says what was being done.
    #[error("internal error while {context}")]
    Internal {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ApiError {
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: field.to_owned(),
            message: message.into(),
        }
    }
    pub fn internal(
        context: &str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ApiError::Internal {
            context: context.to_owned(),
            source: source.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest { .. } => 400,
            ApiError::NoRoute { .. } | ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) => 409,
            ApiError::Upstream { .. } => 502,
            ApiError::Internal { .. } => 500,
        }
    }

    pub fn into_response(self) -> ApiResponse {
        let status = self.status();
        let body = match &self {
            ApiError::BadRequest { field, message } => serde_json::json!({
                "error": "bad_request", "field": field, "message": message
            }),
            ApiError::NoRoute { .. } => {
                serde_json::json!({"error": "not_found", "field": "path", "message": self.to_string()})
            }
            ApiError::MethodNotAllowed { .. } => {
                serde_json::json!({"error": "method_not_allowed", "field": "method", "message": self.to_string()})
            }
            ApiError::NotFound(_) => {
                serde_json::json!({"error": "not_found", "message": self.to_string()})
            }
            ApiError::Conflict(m) => serde_json::json!({"error": "conflict", "message": m}),
            ApiError::Upstream { .. } => {
                serde_json::json!({"error": "upstream", "message": self.to_string()})
            }
            ApiError::Internal { .. } => {
                tracing::error!(error = %crate::sqs::error_chain(&self), "request failed");
                serde_json::json!({"error": "internal", "message": "internal error; see the function's logs"})
            }
        };
        ApiResponse::from_value(status, body)
    }
}

impl From<engine::ports::StoreError> for ApiError {
    fn from(e: engine::ports::StoreError) -> Self {
        ApiError::internal("using the store", e)
    }
}

impl From<engine::EngineError> for ApiError {
    fn from(e: engine::EngineError) -> Self {
        use engine::EngineError as E;
        match e {
            E::Store(s) => ApiError::internal("using the store", s),
            // the clients' errors never carry a credential (tested in their crates)
            E::Salesforce(f) => ApiError::Upstream {
                system: "Salesforce".into(),
                message: f.message,
            },
            E::Flexnet(f) => ApiError::Upstream {
                system: "FlexNet Operations".into(),
                message: f.message,
            },
            E::Config { .. } | E::Stopped(_) | E::Busy { .. } => ApiError::Conflict(e.to_string()),
        }
    }
}

/// Every API route (template.yaml's events, the OpenAPI document's paths) and its methods;
/// `{x}` is one path segment. A test keeps the three equal.
pub const ROUTES: [(&str, &[&str]); 25] = [
    ("/settings/connection", &["GET", "PUT"]),
    ("/settings/engine", &["GET", "PUT"]),
    ("/mappings", &["GET"]),
    ("/mappings/{object}", &["GET", "PUT", "DELETE"]),
    ("/filters", &["GET", "PUT"]),
    ("/logs", &["GET"]),
    ("/logs/{log_number}", &["GET"]),
    ("/runs", &["GET"]),
    ("/runs/{task_id}", &["GET"]),
    ("/outstanding", &["GET"]),
    ("/schedule", &["GET", "PUT", "DELETE"]),
    ("/licenses", &["GET", "POST"]),
    ("/licenses/ingest", &["POST"]),
    ("/licenses/task", &["GET", "PUT"]),
    ("/licenses/{id}/manual", &["PUT"]),
    ("/licenses/skus", &["GET"]),
    ("/licenses/skus/{name}", &["GET", "PUT", "DELETE"]),
    ("/licenses/users", &["GET"]),
    ("/licenses/{id}/users", &["GET"]),
    ("/licenses/{id}/history", &["GET"]),
    ("/licenses/org/history", &["GET"]),
    ("/licenses/unused", &["GET"]),
    ("/openapi.json", &["GET"]),
    ("/sync", &["POST"]),
    ("/accounts/{id}/sync", &["POST"]),
];

/// The OpenAPI 3 document of every route (`GET /openapi.json`).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The error for a request no handler took: 405 naming the method when the path is a route
/// that takes other methods, else 404 naming the path.
pub fn no_route(req: &ApiRequest) -> ApiError {
    let seg = req.segments();
    let route = ROUTES.iter().find(|(pattern, _)| {
        let p: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        p.len() == seg.len()
            && p.iter()
                .zip(&seg)
                .all(|(p, s)| p.starts_with('{') || p == s)
    });
    match route {
        Some((_, allowed)) if !allowed.contains(&req.method.as_str()) => {
            ApiError::MethodNotAllowed {
                method: req.method.clone(),
                path: req.path.clone(),
                allowed,
            }
        }
        _ => ApiError::NoRoute {
            method: req.method.clone(),
            path: req.path.clone(),
        },
    }
}

/// Longest query parameter name or value.
pub const MAX_QUERY_CHARS: usize = 256;
/// Longest `cursor` value: the paging cursors the API hands out (an encoded DynamoDB key of
/// the log's indexes) are longer than other parameters.
pub const MAX_CURSOR_CHARS: usize = 2048;

/// Query parameters: bounded, no control characters; the error names the parameter.
pub fn check_query(req: &ApiRequest) -> Result<(), ApiError> {
    for (k, v) in &req.query {
        let field = if k.chars().count() <= MAX_QUERY_CHARS && !k.contains(char::is_control) {
            k.as_str()
        } else {
            "query"
        };
        let max = if field == "cursor" {
            MAX_CURSOR_CHARS
        } else {
            MAX_QUERY_CHARS
        };
        if field == "query" || v.chars().count() > max || v.contains(char::is_control) {
            return Err(ApiError::bad_request(
                field,
                format!("query parameters have at most {max} characters and no control characters"),
            ));
        }
    }
    Ok(())
}

/// Largest admin request body (a connection body with a 4096-bit PEM key is ~5 kB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest string anywhere in an admin body, secrets aside (the connection route has its own
/// limits for those).
pub const MAX_STRING_CHARS: usize = 1024;

/// The request's body: present, not blank, at most [`MAX_BODY_BYTES`].
pub fn body_text(req: &ApiRequest) -> Result<&str, ApiError> {
    let body = req
        .body
        .as_deref()
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("body", "a JSON body is required"))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::bad_request(
            "body",
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    Ok(body)
}

/// The body as a JSON object (not an array, a number, …).
pub fn body_object(req: &ApiRequest) -> Result<serde_json::Value, ApiError> {
    let v: serde_json::Value = serde_json::from_str(body_text(req)?).map_err(|e| {
        ApiError::bad_request(
            "body",
            format!(
                "the body is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "body",
            "the body must be a JSON object",
        ));
    }
    Ok(v)
}

/// Parse a JSON object body into `T`: unknown keys, wrong types, over-long strings and control
/// characters are a 400 naming the field by its path (`fields[0].required`); the message never
/// quotes the value.
pub fn parse_body<T: serde::de::DeserializeOwned>(req: &ApiRequest) -> Result<T, ApiError> {
    let v = body_object(req)?;
    check_strings(&v, "", MAX_STRING_CHARS)?;
    from_value(v)
}

/// Every string (and key) of `v` is at most `max` characters and holds no control character.
pub fn check_strings(v: &serde_json::Value, path: &str, max: usize) -> Result<(), ApiError> {
    let check = |field: &str, s: &str| {
        if s.chars().count() > max {
            return Err(ApiError::bad_request(
                field_or_body(field),
                format!("is longer than {max} characters"),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                field_or_body(field),
                "must not contain control characters",
            ));
        }
        Ok(())
    };
    match v {
        serde_json::Value::String(s) => check(path, s),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .try_for_each(|(i, x)| check_strings(x, &format!("{path}[{i}]"), max)),
        serde_json::Value::Object(o) => o.iter().try_for_each(|(k, x)| {
            let p = join_path(path, k);
            check(&p, k)?;
            check_strings(x, &p, max)
        }),
        _ => Ok(()),
    }
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `path` ending in `key` (serde_path_to_error already ends an unknown key's path with it).
fn with_key(path: &str, key: &str) -> String {
    if path == key || path.ends_with(&format!(".{key}")) {
        path.to_owned()
    } else {
        join_path(path, key)
    }
}

fn field_or_body(path: &str) -> &str {
    if path.is_empty() {
        "body"
    } else {
        path
    }
}

/// `T` from a JSON value; the error names the field by its path and never quotes a value.
pub fn from_value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let text = e.inner().to_string();
        let quoted = text.split('`').nth(1).unwrap_or_default();
        let expected = text.rsplit_once(", expected ").map(|(_, x)| x);
        let (field, message) = if let Some(rest) = text.strip_prefix("unknown field") {
            let known = rest.rsplit_once(", expected ").map(|(_, x)| x);
            let message = match known {
                Some(k) => format!("unknown key; expected {k}"),
                None => "unknown key".to_owned(),
            };
            (with_key(&path, quoted), message)
        } else if text.starts_with("missing field") {
            (with_key(&path, quoted), "is required".to_owned())
        } else if text.starts_with("unknown variant") {
            let k = expected.unwrap_or("another value");
            (
                path,
                format!("is not one of the allowed values; expected {k}"),
            )
        } else {
            let k = expected.unwrap_or("another shape");
            (path, format!("has the wrong type or value; expected {k}"))
        };
        ApiError::bad_request(field_or_body(&field), message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_mapped_in_one_place() {
        assert_eq!(ApiError::bad_request("hours", "x").status(), 400);
        assert_eq!(ApiError::NotFound("mapping".into()).status(), 404);
        assert_eq!(ApiError::Conflict("x".into()).status(), 409);
        assert_eq!(
            ApiError::Upstream {
                system: "FNO".into(),
                message: "x".into()
            }
            .status(),
            502
        );
        let internal = ApiError::internal("doing x", std::io::Error::other("secret-detail"));
        let r = internal.into_response();
        assert_eq!(r.status, 500);
        assert!(
            !r.body.to_string().contains("secret-detail"),
            "5xx bodies stay generic"
        );
    }

    #[test]
    fn body_errors_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct B {
            hours: u32,
        }
        let e = parse_body::<B>(&ApiRequest::new("POST", "/sync").with_body(r#"{"hourz":3}"#))
            .unwrap_err();
        assert!(
            matches!(&e, ApiError::BadRequest { field, .. } if field == "hourz"),
            "{e:?}"
        );
        let e = parse_body::<B>(&ApiRequest::new("POST", "/sync")).unwrap_err();
        assert!(matches!(&e, ApiError::BadRequest { field, .. } if field == "body"));
    }

    #[test]
    fn wrong_types_long_strings_and_nested_keys_are_named_by_path_without_the_value() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Row {
            name: String,
            on: bool,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct B {
            rows: Vec<Row>,
        }
        let field_of =
            |body: &str| match parse_body::<B>(&ApiRequest::new("PUT", "/x").with_body(body)) {
                Err(ApiError::BadRequest { field, message }) => {
                    assert!(!message.contains("s3cr3t"), "{message}");
                    field
                }
                other => panic!("{other:?}"),
            };
        assert_eq!(
            field_of(r#"{"rows": [{"name": "a", "on": "s3cr3t"}]}"#),
            "rows[0].on"
        );
        assert_eq!(
            field_of(r#"{"rows": [{"name": "a", "on": true, "x": 1}]}"#),
            "rows[0].x"
        );
        assert_eq!(field_of(r#"{"rows": [{"on": true}]}"#), "rows[0].name");
        assert_eq!(field_of(r#"{"rows": 5}"#), "rows");
        assert_eq!(field_of(r#"[1, 2]"#), "body");
        assert_eq!(
            field_of(r#"{"rows": [{"name": "a\u0000", "on": true}]}"#),
            "rows[0].name"
        );
        let long = format!(
            r#"{{"rows": [{{"name": "{}", "on": true}}]}}"#,
            "x".repeat(2000)
        );
        assert_eq!(field_of(&long), "rows[0].name");
        let huge = format!(r#"{{"rows": [], "pad": "{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert_eq!(field_of(&huge), "body");
    }
}
