//! How a failed invocation is reported to Lambda: an error type naming the kind of failure and
//! the full error chain as the message (no secret is ever in a chain: the clients and the
//! secrets cache keep them out). Scheduler retries and dead-letters such invocations.

use crate::router::LicenseInfoError;
use crate::runs::{AccountSyncError, ScheduledError};
use crate::sqs::error_chain;
use lambda_runtime::Diagnostic;

fn diagnostic(kind: &str, e: &dyn std::error::Error) -> Diagnostic {
    tracing::error!(error_type = kind, error = %error_chain(e), "invocation failed");
    Diagnostic {
        error_type: format!("flexbridge.{kind}"),
        error_message: error_chain(e),
    }
}

impl From<ScheduledError> for Diagnostic {
    fn from(e: ScheduledError) -> Self {
        let kind = match &e {
            ScheduledError::BadEvent(_) => "BadEvent",
            ScheduledError::Source(_) => "Connection",
            ScheduledError::Engine(_) => "Sync",
            ScheduledError::Enqueue(_) => "Enqueue",
            ScheduledError::Store(_) => "Store",
        };
        diagnostic(kind, &e)
    }
}

impl From<AccountSyncError> for Diagnostic {
    fn from(e: AccountSyncError) -> Self {
        let kind = match &e {
            AccountSyncError::BadEvent(_) => "BadEvent",
            AccountSyncError::Batch(_) => "Batch",
            AccountSyncError::Serialise(_) => "Internal",
        };
        diagnostic(kind, &e)
    }
}

impl From<LicenseInfoError> for Diagnostic {
    fn from(e: LicenseInfoError) -> Self {
        let kind = match &e {
            LicenseInfoError::BadEvent(_) => "BadEvent",
            LicenseInfoError::Serialise(_) => "Internal",
            LicenseInfoError::Failed(_) => "IngestFailed",
        };
        diagnostic(kind, &e)
    }
}
