//! The client's error type. No variant ever holds a token, a client secret or a private key.

use retry::ErrorKind;
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
    /// The invocation's deadline leaves no time for this call: it was not sent.
    #[error("no time left before the invocation's deadline for the Salesforce call to {what}")]
    Deadline { what: String },
}

/// Salesforce codes that say "try again shortly": row locks, query timeouts, a busy server.
const TRANSIENT_CODES: [&str; 3] = ["UNABLE_TO_LOCK_ROW", "QUERY_TIMEOUT", "SERVER_UNAVAILABLE"];

/// A transport failure worth repeating (not a request that could not even be built).
fn transient_transport(e: &reqwest::Error) -> bool {
    e.is_timeout() || e.is_connect() || e.is_request() || e.is_body()
}

impl SalesforceError {
    /// What this failure means for the caller (the client has already retried transient
    /// failures in place):
    /// * `Transient`: timeouts and connection errors, HTTP 5xx and 429, `UNABLE_TO_LOCK_ROW`,
    ///   `QUERY_TIMEOUT`, `SERVER_UNAVAILABLE`, a deadline reached — try again later;
    /// * `Quota`: 403 `REQUEST_LIMIT_EXCEEDED` — wait until the quota allows;
    /// * `Permanent`: refused credentials (the token endpoint's `invalid_grant`,
    ///   `invalid_client`…, a 401 right after a fresh token), other 4xx, configuration
    ///   errors, answers that cannot be read.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SalesforceError::LimitExceeded { .. } => ErrorKind::Quota,
            SalesforceError::Deadline { .. } => ErrorKind::Transient,
            SalesforceError::Transport { source } if transient_transport(source) => {
                ErrorKind::Transient
            }
            SalesforceError::Api { status, errors }
                if *status >= 500
                    || *status == 429
                    || errors
                        .iter()
                        .any(|e| TRANSIENT_CODES.contains(&e.error_code.as_str())) =>
            {
                ErrorKind::Transient
            }
            _ => ErrorKind::Permanent,
        }
    }

    /// The org's API quota is spent: stop calling Salesforce (retrying only burns more).
    pub fn is_quota(&self) -> bool {
        self.kind() == ErrorKind::Quota
    }

    /// Worth trying again (in place, then later): [`ErrorKind::Transient`].
    pub fn is_retryable(&self) -> bool {
        self.kind() == ErrorKind::Transient
    }

    /// A 401: the session (or the token the call carried) was refused.
    pub(crate) fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            SalesforceError::SessionExpired | SalesforceError::Api { status: 401, .. }
        )
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
        assert_eq!(SalesforceError::SessionExpired.kind(), ErrorKind::Permanent);
        assert_eq!(quota.kind(), ErrorKind::Quota);
        assert_eq!(e500.kind(), ErrorKind::Transient);
        let e429 = SalesforceError::Api {
            status: 429,
            errors: vec![],
        };
        assert_eq!(e429.kind(), ErrorKind::Transient);
        assert_eq!(bad.kind(), ErrorKind::Permanent);
        let late = SalesforceError::Deadline {
            what: "/services/data/v62.0/query".into(),
        };
        assert_eq!(late.kind(), ErrorKind::Transient);
        assert!(late.to_string().contains("deadline"), "{late}");
        assert_eq!(
            SalesforceError::Config("x".into()).kind(),
            ErrorKind::Permanent
        );
        let auth = SalesforceError::Auth {
            error: "invalid_grant".into(),
            description: "audience is invalid".into(),
        };
        assert!(!auth.is_retryable());
        assert_eq!(auth.kind(), ErrorKind::Permanent);
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
