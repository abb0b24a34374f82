//! Connection settings in Secrets Manager (R25): one JSON secret, fetched once per cold start,
//! cached, fetched again with [`SecretsCache::refresh`] when a remote system refuses the
//! cached credentials (rotated or re-saved by an admin), written by the admin API with
//! [`SecretsCache::put`].
//!
//! Neither the cache's `Debug` nor any error carries a value of the secret: parse errors keep
//! only the line and column, never serde's message (which may quote the input).

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The secret exists without a value, or holds the template's placeholder `{}`.
    #[error("the connection settings in {secret_id} are not saved yet: an admin must save them first (R25)")]
    NotSet { secret_id: String },
    /// The value is not the JSON the settings type expects (no part of the value is shown).
    #[error("the connection settings in {secret_id} are not valid ({detail}): save them again through the admin API")]
    Malformed { secret_id: String, detail: String },
    #[error("Secrets Manager {operation} on {secret_id} failed")]
    Backend {
        operation: &'static str,
        secret_id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A JSON secret of type `T`, cached for the life of the process.
pub struct SecretsCache<T> {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    cached: Mutex<Option<Arc<T>>>,
    fetches: AtomicU64,
}

impl<T> fmt::Debug for SecretsCache<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.cached.try_lock().map(|c| c.is_some()).ok();
        f.debug_struct("SecretsCache")
            .field("secret_id", &self.secret_id)
            .field("cached", &cached)
            .field("value", &"[redacted]")
            .finish()
    }
}

impl<T> SecretsCache<T>
where
    T: DeserializeOwned + Serialize + Send + Sync,
{
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        SecretsCache {
            client,
            secret_id: secret_id.into(),
            cached: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// GetSecretValue calls made so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The cached value, fetched on first use. Concurrent callers share one fetch.
    pub async fn get(&self) -> Result<Arc<T>, SecretsError> {
        let mut cached = self.cached.lock().await;
        if let Some(v) = cached.as_ref() {
            return Ok(Arc::clone(v));
        }
        let v = Arc::new(self.fetch().await?);
        *cached = Some(Arc::clone(&v));
        Ok(v)
    }

    /// Fetches again (call this when a remote system refused the cached credentials).
    pub async fn refresh(&self) -> Result<Arc<T>, SecretsError> {
        let mut cached = self.cached.lock().await;
        *cached = None;
        let v = Arc::new(self.fetch().await?);
        *cached = Some(Arc::clone(&v));
        Ok(v)
    }

    /// Stores a new value (admin API, after verifying it) and caches it.
    pub async fn put(&self, value: T) -> Result<(), SecretsError> {
        let text = serde_json::to_string(&value).map_err(|e| SecretsError::Malformed {
            secret_id: self.secret_id.clone(),
            detail: format!("cannot serialise the settings ({:?})", e.classify()),
        })?;
        let mut cached = self.cached.lock().await;
        self.client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(text)
            .send()
            .await
            .map_err(|e| SecretsError::Backend {
                operation: "PutSecretValue",
                secret_id: self.secret_id.clone(),
                source: Box::new(e),
            })?;
        *cached = Some(Arc::new(value));
        Ok(())
    }

    async fn fetch(&self) -> Result<T, SecretsError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // a secret declared without a value has no AWSCURRENT version yet
            Err(e)
                if e.as_service_error()
                    .is_some_and(GetSecretValueError::is_resource_not_found_exception) =>
            {
                let exists = self
                    .client
                    .describe_secret()
                    .secret_id(&self.secret_id)
                    .send()
                    .await
                    .is_ok();
                if exists {
                    return Err(SecretsError::NotSet {
                        secret_id: self.secret_id.clone(),
                    });
                }
                return Err(SecretsError::Backend {
                    operation: "GetSecretValue",
                    secret_id: self.secret_id.clone(),
                    source: Box::new(e),
                });
            }
            Err(e) => {
                return Err(SecretsError::Backend {
                    operation: "GetSecretValue",
                    secret_id: self.secret_id.clone(),
                    source: Box::new(e),
                })
            }
        };
        let Some(text) = out.secret_string else {
            return Err(SecretsError::NotSet {
                secret_id: self.secret_id.clone(),
            });
        };
        parse_secret(&self.secret_id, &text)
    }
}

/// Parses the secret's JSON; `{}` or blank means "not saved yet".
fn parse_secret<T: DeserializeOwned>(secret_id: &str, text: &str) -> Result<T, SecretsError> {
    let malformed = |e: serde_json::Error| SecretsError::Malformed {
        secret_id: secret_id.to_owned(),
        detail: format!(
            "{:?} error at line {}, column {}",
            e.classify(),
            e.line(),
            e.column()
        ),
    };
    let value: serde_json::Value = if text.trim().is_empty() {
        serde_json::Value::Object(Default::default())
    } else {
        serde_json::from_str(text).map_err(malformed)?
    };
    if value.as_object().is_some_and(|o| o.is_empty()) {
        return Err(SecretsError::NotSet {
            secret_id: secret_id.to_owned(),
        });
    }
    serde_json::from_value(value).map_err(|e| SecretsError::Malformed {
        secret_id: secret_id.to_owned(),
        // serde's message may quote a value: keep only which field it was about, if any
        detail: match e.to_string() {
            m if m.starts_with("missing field") => m,
            _ => "a field has the wrong type".to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mapping::secret::Secret;

    #[derive(Debug, serde::Deserialize, serde::Serialize)]
    struct Conn {
        username: String,
        password: Secret,
    }

    #[test]
    fn r25_placeholder_and_blank_mean_not_saved() {
        assert!(matches!(
            parse_secret::<Conn>("arn:x", "{}"),
            Err(SecretsError::NotSet { .. })
        ));
        assert!(matches!(
            parse_secret::<Conn>("arn:x", "  "),
            Err(SecretsError::NotSet { .. })
        ));
    }

    #[test]
    fn r25_parse_errors_never_quote_the_secret() {
        let bad_type = r#"{"username": "admin", "password": 12345678}"#;
        let err = parse_secret::<Conn>("arn:x", bad_type).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("12345678"), "{err:?}");
        let not_json = r#"{"username": "admin", "password": "hunter2-leak"#;
        let err = parse_secret::<Conn>("arn:x", not_json).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
        let missing = r#"{"password": "hunter2-leak"}"#;
        let err = parse_secret::<Conn>("arn:x", missing).unwrap_err();
        assert!(
            err.to_string().contains("username") && !format!("{err:?}").contains("hunter2"),
            "{err:?}"
        );
    }
}
