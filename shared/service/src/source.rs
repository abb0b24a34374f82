//! Where the handlers get their [`Engine`] from.
//!
//! The engine needs the Salesforce and FNO clients, which are built from the connection
//! settings an admin saved (R25). Those may not exist yet on a fresh stack, and they may be
//! re-saved while functions are warm, so the handlers ask an [`EngineSource`] for the engine at
//! each invocation instead of holding one: [`crate::connection::Connector`] builds it from the
//! Secrets Manager secret once per cold start (and again after a remote system refused the
//! credentials).

use async_trait::async_trait;
use engine::Engine;
use std::sync::Arc;

/// Why no engine can be had right now.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// R25: nothing runs before the connection settings are saved (and verified).
    #[error("the connection settings are not saved yet: save them with PUT /settings/connection first (R25)")]
    NotConnected,
    /// The stored settings cannot be read or used (the message names what to fix, no secret).
    #[error("the stored connection settings cannot be used: {0}")]
    Unusable(String),
    /// Secrets Manager or the state store failed.
    #[error("loading the connection settings failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[async_trait]
pub trait EngineSource: Send + Sync {
    /// The engine built from the current connection settings.
    async fn engine(&self) -> Result<Arc<Engine>, SourceError>;
    /// A remote system refused or failed with the current engine's credentials: the next
    /// [`EngineSource::engine`] re-reads the settings (and rebuilds only if they changed).
    fn refused(&self) {}
}

impl From<SourceError> for crate::http::ApiError {
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::NotConnected | SourceError::Unusable(_) => {
                crate::http::ApiError::Conflict(e.to_string())
            }
            SourceError::Backend(source) => crate::http::ApiError::Internal {
                context: "loading the connection settings".into(),
                source,
            },
        }
    }
}
