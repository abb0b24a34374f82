//! Connection settings (R25): the JSON kept in Secrets Manager, the routes that show and save
//! it (`GET/PUT /settings/connection`), and the [`Connector`] that builds the engine from it.
//!
//! ```json
//! {
//!   "salesforce": {"login_url": "https://acme.my.salesforce.com", "api_version": "v62.0",
//!                  "auth": {"flow": "client_credentials", "client_id": "3MVG9…", "client_secret": "…"}},
//!   "flexnet":    {"base_url": "https://acme-uat.flexnetoperations.com", "username": "flexbridge",
//!                  "password": "…"}
//! }
//! ```
//! `salesforce` is [`salesforce::SalesforceConfig`] (also `{"flow":"jwt_bearer","client_id",
//! "username","private_key_pem","audience"?}`, and optional `timeout_secs`, `max_retries`,
//! `batch_size`); `flexnet` is [`FlexnetSettings`].
//!
//! A `PUT` is verified against both systems before anything is stored (FNO with one cheap
//! authenticated query, Salesforce with a fresh login and `GET /limits`); a `GET` never shows
//! a secret, only whether it is set.

use crate::admin::{DescribedField, OrgDescribe};
use crate::endpoints::{require_secret_with_destination, EndpointPolicy};
use crate::http::{ApiError, ApiRequest, ApiResponse};
use crate::source::{EngineSource, SourceError};
use async_trait::async_trait;
use aws_adapters::{SecretsCache, SecretsError};
use engine::ports::{Clock, StateStore, TransactionLog};
use engine::{Engine, EngineParts};
use flexnet::{FlexnetClient, FlexnetError};
use mapping::Secret;
use salesforce::{SalesforceAuth, SalesforceClient, SalesforceConfig, SalesforceError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// FNO connection (R25: username, password, tenant URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct FlexnetSettings {
    /// `https://<siteID>-uat.flexnetoperations.com`, or without `-uat` for production.
    pub base_url: String,
    pub username: String,
    pub password: Secret,
    #[serde(default = "default_fno_timeout")]
    pub timeout_secs: u64,
    #[serde(default = "default_fno_retries")]
    pub max_retries: u32,
}

fn default_fno_timeout() -> u64 {
    60
}
fn default_fno_retries() -> u32 {
    3
}

/// The whole secret. `Debug` shows no secret (they are [`Secret`]s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct ConnectionSettings {
    pub salesforce: SalesforceConfig,
    pub flexnet: FlexnetSettings,
}

impl ConnectionSettings {
    /// Every secret value, for the engine's log scrubber (each is also remembered again by
    /// the process-wide scrubber, so that short-lived tokens cannot push it out).
    pub fn secret_values(&self) -> Vec<String> {
        let secret = match &self.salesforce.auth {
            SalesforceAuth::ClientCredentials { client_secret, .. } => client_secret,
            SalesforceAuth::JwtBearer {
                private_key_pem, ..
            } => private_key_pem,
        };
        let mut v = Vec::new();
        for s in [&self.flexnet.password, secret] {
            s.touch();
            if !s.is_empty() {
                v.push(s.expose().to_owned());
            }
        }
        v
    }

    /// What `GET /settings/connection` shows: every setting except the secrets, and for each
    /// secret only whether it is set (an allow-list: a new secret field stays hidden).
    pub fn view(&self) -> Value {
        let sf = &self.salesforce;
        let auth = match &sf.auth {
            SalesforceAuth::ClientCredentials {
                client_id,
                client_secret,
            } => json!({
                "flow": "client_credentials",
                "client_id": client_id,
                "client_secret_set": !client_secret.is_empty(),
            }),
            SalesforceAuth::JwtBearer {
                client_id,
                username,
                private_key_pem,
                audience,
            } => json!({
                "flow": "jwt_bearer",
                "client_id": client_id,
                "username": username,
                "audience": audience,
                "private_key_pem_set": !private_key_pem.is_empty(),
            }),
        };
        json!({
            "salesforce": {
                "login_url": sf.login_url,
                "api_version": sf.api_version,
                "auth": auth,
                "timeout_secs": sf.timeout_secs,
                "max_retries": sf.max_retries,
                "batch_size": sf.batch_size,
            },
            "flexnet": {
                "base_url": self.flexnet.base_url,
                "username": self.flexnet.username,
                "password_set": !self.flexnet.password.is_empty(),
                "timeout_secs": self.flexnet.timeout_secs,
                "max_retries": self.flexnet.max_retries,
            },
        })
    }

    fn fingerprint(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        serde_json::to_string(self).unwrap_or_default().hash(&mut h);
        h.finish()
    }
}

// ---------------------------------------------------------------------------------- store

/// Where the connection settings live: Secrets Manager in the cloud, memory in tests.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// The saved settings, None while nothing is saved (R25). `refresh` = fetch again
    /// instead of using the copy of this cold start.
    async fn load(&self, refresh: bool) -> Result<Option<Arc<ConnectionSettings>>, SourceError>;
    async fn save(&self, settings: ConnectionSettings) -> Result<(), SourceError>;
}

fn from_secrets_error(e: SecretsError) -> Result<Option<Arc<ConnectionSettings>>, SourceError> {
    match e {
        SecretsError::NotSet { .. } => Ok(None),
        SecretsError::Malformed { .. } => Err(SourceError::Unusable(e.to_string())),
        SecretsError::Backend { .. } => Err(SourceError::Backend(Box::new(e))),
    }
}

#[async_trait]
impl ConnectionStore for SecretsCache<ConnectionSettings> {
    async fn load(&self, refresh: bool) -> Result<Option<Arc<ConnectionSettings>>, SourceError> {
        let r = if refresh {
            self.refresh().await
        } else {
            self.get().await
        };
        match r {
            Ok(s) => Ok(Some(s)),
            Err(e) => from_secrets_error(e),
        }
    }

    async fn save(&self, settings: ConnectionSettings) -> Result<(), SourceError> {
        self.put(settings)
            .await
            .map_err(|e| SourceError::Backend(Box::new(e)))
    }
}

// ---------------------------------------------------------------------------------- connector

/// The two clients and the engine built from one version of the settings.
#[derive(Clone)]
pub struct Connected {
    pub engine: Arc<Engine>,
    pub salesforce: SalesforceClient,
    fingerprint: u64,
}

/// Builds the engine from the stored settings once per cold start, again after a remote
/// system refused (only if the settings changed meanwhile), and after an admin saved new ones.
pub struct Connector {
    pub store: Arc<dyn ConnectionStore>,
    pub log: Arc<dyn TransactionLog>,
    pub state: Arc<dyn StateStore>,
    pub clock: Arc<dyn Clock>,
    /// Where the stored credentials may go (https, allowed hosts; loopback only in code).
    pub policy: EndpointPolicy,
    cached: tokio::sync::Mutex<Option<Connected>>,
    stale: AtomicBool,
}

impl Connector {
    pub fn new(
        store: Arc<dyn ConnectionStore>,
        log: Arc<dyn TransactionLog>,
        state: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
        policy: EndpointPolicy,
    ) -> Self {
        Connector {
            store,
            log,
            state,
            clock,
            policy,
            cached: tokio::sync::Mutex::new(None),
            stale: AtomicBool::new(false),
        }
    }

    /// The current clients and engine (R25: `NotConnected` until settings are saved).
    pub async fn connected(&self) -> Result<Connected, SourceError> {
        let mut cached = self.cached.lock().await;
        let refresh = self.stale.swap(false, Ordering::SeqCst);
        if !refresh {
            if let Some(c) = cached.as_ref() {
                return Ok(c.clone());
            }
        }
        let settings = self
            .store
            .load(refresh)
            .await?
            .ok_or(SourceError::NotConnected)?;
        let fingerprint = settings.fingerprint();
        if let Some(c) = cached.as_ref().filter(|c| c.fingerprint == fingerprint) {
            return Ok(c.clone());
        }
        let c = self.build(&settings).await?;
        *cached = Some(c.clone());
        Ok(c)
    }

    async fn build(&self, settings: &ConnectionSettings) -> Result<Connected, SourceError> {
        // settings written to the secret directly skipped the admin API's checks: same rules
        self.policy
            .check(settings)
            .map_err(|e| SourceError::Unusable(e.to_string()))?;
        let salesforce = SalesforceClient::new(self.policy.salesforce_config(&settings.salesforce))
            .map_err(|e| SourceError::Unusable(e.to_string()))?;
        let flexnet = FlexnetClient::new(self.policy.flexnet_config(&settings.flexnet))
            .map_err(|e| SourceError::Unusable(e.to_string()))?;
        let engine = Engine::new(EngineParts {
            salesforce: salesforce.clone(),
            flexnet,
            // every entry carries its run's Created By (issue 14)
            log: Arc::new(engine::txlog::CreatedByLog::new(
                Arc::clone(&self.log),
                Arc::clone(&self.state),
            )),
            state: Arc::clone(&self.state),
            clock: Arc::clone(&self.clock),
            secrets: settings.secret_values(),
        });
        Ok(Connected {
            engine: Arc::new(engine),
            salesforce,
            fingerprint: settings.fingerprint(),
        })
    }

    /// Use `settings` from now on (the admin API just verified and saved them).
    pub async fn replace(&self, settings: &ConnectionSettings) -> Result<(), SourceError> {
        let c = self.build(settings).await?;
        *self.cached.lock().await = Some(c);
        self.stale.store(false, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl EngineSource for Connector {
    async fn engine(&self) -> Result<Arc<Engine>, SourceError> {
        let engine = self.connected().await?.engine;
        // The engine settings are re-read per invocation (one state read), so an admin's
        // PUT /settings/engine reaches warm functions without rebuilding the clients.
        engine
            .load_settings()
            .await
            .map_err(|e| SourceError::Backend(Box::new(e)))?;
        Ok(engine)
    }
    fn refused(&self) {
        self.stale.store(true, Ordering::SeqCst);
    }
}

fn salesforce_api_error(e: SalesforceError) -> ApiError {
    ApiError::Upstream {
        system: "Salesforce".into(),
        message: e.to_string(),
    }
}

#[async_trait]
impl OrgDescribe for Connector {
    async fn describe(&self, sobject: &str) -> Result<Vec<DescribedField>, ApiError> {
        let c = self.connected().await?;
        let d = c.salesforce.describe(sobject).await.map_err(|e| {
            self.refused();
            salesforce_api_error(e)
        })?;
        Ok(d.fields
            .into_iter()
            .map(|f| DescribedField {
                name: f.name,
                field_type: f.field_type,
                picklist_values: f.picklist_values,
            })
            .collect())
    }
}

/// License ingestion reads the org through the same client (R26).
#[async_trait]
impl licenses::LicenseSource for Connector {
    async fn query(&self, soql: &str) -> Result<Vec<Value>, licenses::SourceError> {
        let c = self.connected().await.map_err(Box::new)?;
        c.salesforce.query(soql).await.map_err(|e| {
            self.refused();
            Box::new(e) as licenses::SourceError
        })
    }
}

// ---------------------------------------------------------------------------------- routes

/// `GET/PUT /settings/connection`.
pub struct ConnectionRoutes {
    pub store: Arc<dyn ConnectionStore>,
    pub connector: Arc<Connector>,
}

impl ConnectionRoutes {
    pub async fn route(&self, req: &ApiRequest) -> Option<Result<ApiResponse, ApiError>> {
        match (req.method.as_str(), req.segments().as_slice()) {
            ("GET", ["settings", "connection"]) => Some(self.get().await),
            ("PUT", ["settings", "connection"]) => Some(self.put(req).await),
            _ => None,
        }
    }

    async fn get(&self) -> Result<ApiResponse, ApiError> {
        match self.store.load(true).await {
            Ok(None) => Ok(ApiResponse::json(
                200,
                json!({"saved": false, "message": "nothing is saved yet: PUT /settings/connection (R25)"}),
            )),
            Ok(Some(s)) => {
                let mut v = s.view();
                v["saved"] = json!(true);
                Ok(ApiResponse::json(200, v))
            }
            Err(SourceError::Unusable(m)) => Ok(ApiResponse::json(
                200,
                json!({"saved": false, "problem": m}),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Merge the body into the saved settings (so a password can be changed alone), check it
    /// (a new destination carries its secret, allowed https hosts, bounds), verify against both
    /// systems (R25), then store. Nothing is sent when a check fails; nothing is stored when
    /// either system refuses.
    async fn put(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let body = crate::http::body_object(req)?;
        check_strings(&body)?;
        let saved = match self.store.load(true).await {
            Ok(s) => s,
            Err(SourceError::Unusable(_)) => None, // being replaced
            Err(e) => return Err(e.into()),
        };
        let merged = match saved {
            Some(s) => {
                let saved = serde_json::to_value(&*s)
                    .map_err(|e| ApiError::internal("reading the saved settings", e))?;
                require_secret_with_destination(&saved, &body)?;
                merge_settings(saved, body)
            }
            None => body,
        };
        let settings = parse_settings(merged)?;
        let policy = &self.connector.policy;
        policy.check(&settings)?;
        let verified = verify(&settings, policy).await?;
        self.store.save(settings.clone()).await?;
        if let Err(e) = self.connector.replace(&settings).await {
            tracing::warn!(error = %crate::sqs::error_chain(&e), "saved settings not usable for the engine yet");
        }
        tracing::info!("connection settings verified and saved (R25)");
        let mut v = settings.view();
        v["saved"] = json!(true);
        v["verified"] = verified;
        Ok(ApiResponse::json(200, v))
    }
}

/// Strings of a connection body: bounded (secrets up to 16 kB, a PEM key has newlines).
fn check_strings(body: &Value) -> Result<(), ApiError> {
    let mut rest = body.clone();
    if let Some(pem) = rest.pointer_mut("/salesforce/auth/private_key_pem") {
        if pem
            .as_str()
            .is_some_and(|p| p.len() > crate::endpoints::MAX_SECRET)
        {
            return Err(ApiError::bad_request(
                "salesforce.auth.private_key_pem",
                format!(
                    "is longer than {} bytes (R25)",
                    crate::endpoints::MAX_SECRET
                ),
            ));
        }
        *pem = Value::Null; // its newlines are checked by the key parser
    }
    crate::http::check_strings(&rest, "", crate::endpoints::MAX_TEXT)
}

/// Deep-merge `patch` into `base`: objects merge key by key, anything else replaces, `null`
/// removes. A different Salesforce auth flow replaces the whole `auth` object.
pub fn merge_settings(mut base: Value, patch: Value) -> Value {
    let flow_changed = match (
        base.pointer("/salesforce/auth/flow"),
        patch.pointer("/salesforce/auth/flow"),
    ) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    };
    if flow_changed {
        if let Some(sf) = base.get_mut("salesforce").and_then(Value::as_object_mut) {
            sf.remove("auth");
        }
    }
    merge(&mut base, patch);
    base
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

/// The settings from JSON; errors name the field and never quote a value (it may be a secret).
pub fn parse_settings(v: Value) -> Result<ConnectionSettings, ApiError> {
    crate::http::from_value(v).map_err(|e| match e {
        ApiError::BadRequest { field, message } => ApiError::BadRequest {
            field,
            message: format!("{message} (R25)"),
        },
        other => other,
    })
}

/// R25: verify both systems with the new settings. Refused credentials and unreachable URLs
/// are 400s naming the side; an outage on their side is a 502. Errors never carry a secret.
pub async fn verify(
    settings: &ConnectionSettings,
    policy: &EndpointPolicy,
) -> Result<Value, ApiError> {
    let fno = FlexnetClient::new(policy.flexnet_config(&settings.flexnet))
        .map_err(|e| ApiError::bad_request("flexnet", format!("{e} (R25)")))?;
    let sf = SalesforceClient::new(policy.salesforce_config(&settings.salesforce))
        .map_err(|e| ApiError::bad_request("salesforce", format!("{e} (R25)")))?;
    let (f, s) = tokio::join!(fno.verify(), async {
        sf.authenticate().await?;
        sf.limits().await
    });
    let mut problems: Vec<ApiError> = Vec::new();
    if let Err(e) = f {
        problems.push(fno_problem(e, &settings.flexnet.base_url));
    }
    let limits = match s {
        Ok(l) => Some(l),
        Err(e) => {
            problems.push(salesforce_problem(e, &settings.salesforce.login_url));
            None
        }
    };
    if !problems.is_empty() {
        if problems.len() == 1 {
            return Err(problems.remove(0));
        }
        // both failed: name the first, say both
        let message = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(match problems.remove(0) {
            ApiError::BadRequest { field, .. } => ApiError::BadRequest { field, message },
            other => other,
        });
    }
    let daily = limits
        .as_ref()
        .and_then(|l| l.get("DailyApiRequests"))
        .cloned()
        .unwrap_or(Value::Null);
    Ok(json!({
        "flexnet": "ok",
        "salesforce": {"status": "ok", "daily_api_requests": daily},
    }))
}

fn fno_problem(e: FlexnetError, url: &str) -> ApiError {
    match &e {
        FlexnetError::Unauthorized => ApiError::bad_request("flexnet.password", format!("{e}")),
        FlexnetError::Config(_) => ApiError::bad_request("flexnet", format!("{e} (R25)")),
        FlexnetError::Transport { .. } => ApiError::bad_request(
            "flexnet.base_url",
            format!(
                "could not reach FNO at {url}: {} (R25)",
                crate::sqs::error_chain(&e)
            ),
        ),
        FlexnetError::Http { status, .. } if *status == 404 || *status == 403 => {
            ApiError::bad_request(
                "flexnet.base_url",
                format!("{url} does not serve the FNO SOAP services: {e} (R25)"),
            )
        }
        _ => ApiError::Upstream {
            system: "FlexNet Operations".into(),
            message: e.to_string(),
        },
    }
}

fn salesforce_problem(e: SalesforceError, url: &str) -> ApiError {
    match &e {
        SalesforceError::Auth { .. } => {
            ApiError::bad_request("salesforce.auth", format!("{e} (R25)"))
        }
        SalesforceError::Config(_) => ApiError::bad_request("salesforce", format!("{e} (R25)")),
        SalesforceError::Transport { .. } => ApiError::bad_request(
            "salesforce.login_url",
            format!(
                "could not reach Salesforce at {url}: {} (R25)",
                crate::sqs::error_chain(&e)
            ),
        ),
        _ => salesforce_api_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ConnectionSettings {
        parse_settings(json!({
            "salesforce": {"login_url": "https://acme.my.salesforce.com",
                           "auth": {"flow": "client_credentials", "client_id": "3MVG9", "client_secret": "sf-secret-1"}},
            "flexnet": {"base_url": "https://acme-uat.flexnetoperations.com", "username": "fb", "password": "fno-secret-1"}
        }))
        .unwrap()
    }

    #[test]
    fn r25_the_view_shows_which_secrets_are_set_and_never_their_values() {
        let s = settings();
        let v = s.view().to_string();
        assert!(
            !v.contains("sf-secret-1") && !v.contains("fno-secret-1"),
            "{v}"
        );
        assert!(
            v.contains(r#""client_secret_set":true"#) && v.contains(r#""password_set":true"#),
            "{v}"
        );
        assert!(!format!("{s:?}").contains("secret-1"));
        assert_eq!(s.secret_values(), ["fno-secret-1", "sf-secret-1"]);
    }

    #[test]
    fn r25_a_patch_changes_one_value_and_a_new_flow_replaces_auth() {
        let base = serde_json::to_value(settings()).unwrap();
        let m = merge_settings(base.clone(), json!({"flexnet": {"password": "new-pass"}}));
        let s = parse_settings(m).unwrap();
        assert_eq!(s.flexnet.password.expose(), "new-pass");
        assert_eq!(s.flexnet.username, "fb");
        let m = merge_settings(
            base,
            json!({"salesforce": {"auth": {"flow": "jwt_bearer", "client_id": "c", "username": "u@x", "private_key_pem": "k"}}}),
        );
        let s = parse_settings(m).unwrap();
        assert!(matches!(
            s.salesforce.auth,
            SalesforceAuth::JwtBearer { .. }
        ));
    }

    #[test]
    fn r25_bad_settings_name_the_field_and_never_quote_a_value() {
        let e = parse_settings(json!({"salesforce": {"login_url": "x", "auth": {"flow": "client_credentials", "client_id": "c", "client_secret": "s"}},
                                      "flexnet": {"base_url": "u", "username": "fb"}}))
        .unwrap_err();
        assert!(
            matches!(&e, ApiError::BadRequest { field, .. } if field == "flexnet.password"),
            "{e:?}"
        );
        let e = parse_settings(json!({"salesforce": {"login_url": "x", "auth": {"flow": "client_credentials", "client_id": "c", "client_secret": "s"}},
                                      "flexnet": {"base_url": "u", "username": "fb", "password": 987654321}}))
        .unwrap_err();
        assert!(!format!("{e} {e:?}").contains("987654321"), "{e:?}");
        let e = parse_settings(json!({"salesforce": {"login_url": "x", "auth": {"flow": "password", "client_id": "c"}},
                                      "flexnet": {"base_url": "u", "username": "fb", "password": "p"}}))
        .unwrap_err();
        assert!(e.to_string().contains("jwt_bearer"), "{e}");
        let e = parse_settings(json!({"salesforce": {"login_url": "x", "auth": {"flow": "client_credentials", "client_id": "c", "client_secret": "s"}},
                                      "flexnet": {"base_url": "u", "username": "fb", "password": "p", "pasword": "p"}}))
        .unwrap_err();
        assert!(
            matches!(&e, ApiError::BadRequest { field, .. } if field == "flexnet.pasword"),
            "{e:?}"
        );
        let e = parse_settings(json!({"salesforce": {"login_url": "x", "auth": {"flow": "client_credentials", "client_id": "c", "client_secret": "s", "extra": 1}},
                                      "flexnet": {"base_url": "u", "username": "fb", "password": "p"}}))
        .unwrap_err();
        assert!(
            matches!(&e, ApiError::BadRequest { field, .. } if field == "salesforce.auth.extra"),
            "{e:?}"
        );
    }
}
