//! The client's error type. No variant ever holds a token, a client secret or a private key.

use serde::{Deserialize, Serialize};

/// One entry of a REST error body: Salesforce always answers a failed data call with a JSON
/// array of `{"message","errorCode","fields"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorItem {
    #[serde(default)]
    pub message: String,
    #[serde(rename = "errorCode", default)]
    pub error_code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

impl std::fmt::Display for ApiErrorItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_code, self.message)?;
        if !self.fields.is_empty() {
            write!(f, " (fields: {})", self.fields.join(", "))?;
        }
        Ok(())
    }
}

fn list(errors: &[ApiErrorItem]) -> String {
    if errors.is_empty() {
        return "no error details".into();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Debug, thiserror::Error)]
pub enum SalesforceError {
    /// The token endpoint refused (`{"error","error_description"}`), e.g. `invalid_grant`,
    /// `invalid_client_id`. Check the connected app and its credentials (R25).
    #[error("Salesforce refused the login: {error}: {description}")]
    Auth { error: String, description: String },
    /// A data call answered 401 INVALID_SESSION_ID again right after a fresh token.
    #[error("Salesforce rejected a freshly minted session (401 INVALID_SESSION_ID after re-authenticating)")]
    SessionExpired,
    /// 403 REQUEST_LIMIT_EXCEEDED: the org's API quota is spent; the caller stops the run.
    #[error("Salesforce API limit exceeded: {message}")]
    LimitExceeded { message: String },
    /// Any other non-success answer, with Salesforce's error entries.
    #[error("Salesforce answered HTTP {status}: {}", list(.errors))]
    Api {
        status: u16,
        errors: Vec<ApiErrorItem>,
    },
    /// The request could not be completed (connection, timeout), after the retries.
    #[error("could not reach Salesforce")]
    Transport {
        #[source]
        source: reqwest::Error,
    },
    /// Salesforce's answer could not be read as expected.
    #[error("Salesforce's answer cannot be read: {what}")]
    Malformed {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// The connection settings, or the arguments of a call, are not usable.
    #[error("Salesforce client: {0}")]
    Config(String),
}

impl SalesforceError {
    /// The org's API quota is spent: stop calling Salesforce (retrying only burns more).
    pub fn is_quota(&self) -> bool {
        matches!(self, SalesforceError::LimitExceeded { .. })
    }

    /// Worth trying again later (a later run or a re-queued message may succeed): transport
    /// errors, 5xx, an expired session, and Salesforce's transient codes (row locks, query
    /// timeouts, concurrency limits).
    pub fn is_retryable(&self) -> bool {
        match self {
            SalesforceError::Transport { .. } | SalesforceError::SessionExpired => true,
            SalesforceError::Api { status, errors } => {
                *status >= 500
                    || *status == 429
                    || errors.iter().any(|e| {
                        matches!(
                            e.error_code.as_str(),
                            "UNABLE_TO_LOCK_ROW" | "QUERY_TIMEOUT" | "SERVER_UNAVAILABLE"
                        )
                    })
            }
            _ => false,
        }
    }

    /// A `Malformed` error built from a plain description (no serde error at hand).
    pub(crate) fn malformed(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        SalesforceError::Malformed {
            what: what.into(),
            source: <serde_json::Error as serde::de::Error>::custom(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_and_retryable_classification() {
        let quota = SalesforceError::LimitExceeded {
            message: "TotalRequests Limit exceeded.".into(),
        };
        assert!(quota.is_quota());
        assert!(!quota.is_retryable());
        let e500 = SalesforceError::Api {
            status: 500,
            errors: vec![],
        };
        assert!(e500.is_retryable() && !e500.is_quota());
        let lock = SalesforceError::Api {
            status: 400,
            errors: vec![ApiErrorItem {
                message: "unable to obtain exclusive access to this record".into(),
                error_code: "UNABLE_TO_LOCK_ROW".into(),
                fields: vec![],
            }],
        };
        assert!(lock.is_retryable());
        let bad = SalesforceError::Api {
            status: 400,
            errors: vec![ApiErrorItem {
                message: "No such column 'Foo' on entity 'Account'".into(),
                error_code: "INVALID_FIELD".into(),
                fields: vec!["Foo".into()],
            }],
        };
        assert!(!bad.is_retryable());
        assert_eq!(
            bad.to_string(),
            "Salesforce answered HTTP 400: INVALID_FIELD: No such column 'Foo' on entity 'Account' (fields: Foo)"
        );
        assert!(SalesforceError::SessionExpired.is_retryable());
        let auth = SalesforceError::Auth {
            error: "invalid_grant".into(),
            description: "audience is invalid".into(),
        };
        assert!(!auth.is_retryable());
        assert_eq!(
            auth.to_string(),
            "Salesforce refused the login: invalid_grant: audience is invalid"
        );
    }

    #[test]
    fn malformed_keeps_a_source() {
        let e =
            SalesforceError::malformed("query page", "done is false but nextRecordsUrl is missing");
        let src = std::error::Error::source(&e).expect("source kept");
        assert!(src.to_string().contains("nextRecordsUrl"));
    }
}
