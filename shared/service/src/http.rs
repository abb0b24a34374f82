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

#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: serde_json::Value,
}

impl ApiResponse {
    pub fn json(status: u16, body: impl Serialize) -> Self {
        match serde_json::to_value(body) {
            Ok(body) => ApiResponse { status, body },
            Err(e) => ApiError::internal("serialising the response", e).into_response(),
        }
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
                serde_json::json!({"error": "not_found", "message": self.to_string()})
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
        ApiResponse { status, body }
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

/// Parse a JSON body into `T`, naming the offending field on error.
pub fn parse_body<T: serde::de::DeserializeOwned>(req: &ApiRequest) -> Result<T, ApiError> {
    let body = req
        .body
        .as_deref()
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("body", "a JSON body is required"))?;
    serde_json::from_str(body).map_err(|e| {
        // serde_json says "unknown field `x`" / "missing field `y`" / "invalid type ... at line"
        let text = e.to_string();
        let field = text
            .split('`')
            .nth(1)
            .filter(|_| text.contains("field"))
            .unwrap_or("body")
            .to_owned();
        ApiError::BadRequest {
            field,
            message: text,
        }
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
}
