//! # salesforce: the Salesforce REST client
//!
//! What flexbridge needs from an org, over the real wire format
//! (shared/reference/salesforce-rest.md):
//!
//! * OAuth 2.0 server-to-server login: client credentials or JWT bearer (RS256 assertion,
//!   iss = client id, sub = username, aud = audience or login URL, exp = now + 3 min). Neither
//!   flow returns an expiry or a refresh token, so the token is cached (shared by clones) and
//!   re-minted once when a data call answers 401 INVALID_SESSION_ID;
//! * SOQL through `/query` and `/queryAll`, following `nextRecordsUrl` until `done` (never
//!   trusting page sizes), `Sforce-Query-Options: batchSize=N`, child sub-query pages too;
//! * single-record `PATCH` (204) and sObject Collections `PATCH /composite/sobjects` in chunks
//!   of at most 200 records (at most 10 runs of one type each), `allOrNone=false`, results
//!   mapped back to the request by position;
//! * describe and `/limits`;
//! * bounded retries in place with the shared jittered backoff ([`retry::Backoff`]) on every
//!   transient failure ([`SalesforceError::kind`]): timeouts, connection errors, 5xx, 429,
//!   `UNABLE_TO_LOCK_ROW` (a single PATCH, and the records of a composite update that failed
//!   on a row lock, re-sent alone). Every call made here is idempotent (GETs and PATCHes of
//!   fixed values), so repeating one is always safe. 403 REQUEST_LIMIT_EXCEEDED stops at once
//!   ([`ErrorKind::Quota`]); refused credentials and other 4xx are permanent;
//! * an optional deadline ([`SalesforceClient::set_deadline`]): each call's timeout is cut to
//!   the time left, no retry sleeps past it, and a call that would start after it fails at
//!   once with [`SalesforceError::Deadline`] (transient);
//! * a running count of API calls, the last `Sforce-Limit-Info: api-usage=N/M`, and the last
//!   request/response as an [`Exchange`] for the transaction log.
//!
//! The client secret, the private key and the access token live in [`Secret`]s; they go on
//! the wire only and never into a log line, an error, an exchange or `Debug` (tests check).

pub mod config;
pub mod error;
pub mod wire;

pub use config::{SalesforceAuth, SalesforceConfig, DEFAULT_API_VERSION};
pub use error::{ApiErrorItem, SalesforceError};
pub use mapping::Secret;
pub use retry::ErrorKind;

use mapping::endpoint::{self, HostPattern};
pub use wire::{ApiUsage, Describe, DescribeField, SaveError, SaveResult};

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// sObject Collections accept at most 200 records per request.
pub const MAX_COMPOSITE_RECORDS: usize = 200;
/// …processed in chunks by consecutive type, at most 10 such chunks per request.
pub const MAX_COMPOSITE_TYPE_RUNS: usize = 10;
/// Salesforce honours `batchSize` between these bounds.
pub const BATCH_SIZE_RANGE: std::ops::RangeInclusive<u32> = 200..=2000;

const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const REDACTED: &str = "[redacted]";
/// Safety stop for a server that keeps answering `done:false`.
const MAX_PAGES: usize = 100_000;
/// Query subrequests a `POST /composite` call may hold (of its 25 subrequests).
pub const MAX_COMPOSITE_QUERIES: usize = 5;

/// Where a query's paging stands: its first page not yet handed out, the link to the next.
struct Pages {
    first: Option<Vec<Value>>,
    next: Option<String>,
    done: bool,
    /// Pages read so far.
    n: usize,
}

impl Pages {
    fn new(page: wire::QueryPage) -> Self {
        Pages {
            first: Some(page.records),
            next: page.next_records_url,
            done: page.done,
            n: 1,
        }
    }
}

/// One field change set for [`SalesforceClient::update_many`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordUpdate {
    pub sobject: String,
    pub id: String,
    pub fields: Map<String, Value>,
}

impl From<&mapping::SfUpdate> for RecordUpdate {
    /// An R20 write-back update as the composite call sends it.
    fn from(u: &mapping::SfUpdate) -> Self {
        RecordUpdate {
            sobject: u.sobject.api_name().to_owned(),
            id: u.id.clone(),
            fields: u.fields.clone(),
        }
    }
}

/// One HTTP exchange as the transaction log keeps it: never the `Authorization` header, the
/// client secret, the JWT assertion or the access token. Bodies are JSON as sent/received; a
/// body that is not JSON (an HTML error page) is kept as a JSON string. The token request is
/// shown as an object of its form fields with the credentials `[redacted]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_body: Option<Value>,
    pub status: Option<u16>,
    pub response_body: Option<Value>,
}

/// A body as the exchange keeps it: parsed JSON, else the text as a string; empty → None.
fn body_value(text: &str) -> Option<Value> {
    if text.trim().is_empty() {
        return None;
    }
    Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
}

/// A recorded body: JSON already built (token calls, redacted), or the raw text of a data call,
/// parsed only when someone asks for the exchange (the data path would otherwise parse every
/// query page twice).
#[derive(Clone)]
enum Body {
    Json(Value),
    Raw(String),
}

impl Body {
    fn into_value(self) -> Option<Value> {
        match self {
            Body::Json(v) => Some(v),
            Body::Raw(t) => body_value(&t),
        }
    }
}

/// The last exchange as recorded; [`SalesforceClient::last_exchange`] turns it into an
/// [`Exchange`].
#[derive(Clone)]
struct Recorded {
    method: String,
    url: String,
    request_body: Option<Body>,
    status: Option<u16>,
    response_body: Option<Body>,
}

#[derive(Clone)]
struct Token {
    access: Secret,
    instance_url: String,
    generation: u64,
}

enum Grant {
    ClientCredentials {
        client_secret: Secret,
    },
    Jwt {
        username: String,
        audience: String,
        key: jsonwebtoken::EncodingKey,
    },
}

struct Inner {
    http: reqwest::Client,
    login_url: String,
    rules: UrlRules,
    api_version: String,
    client_id: String,
    grant: Grant,
    batch_size: Option<u32>,
    /// When the current invocation must be done (shared by clones).
    deadline: retry::Deadline,
    /// The cached token; held while minting so concurrent callers wait for one login.
    token: tokio::sync::Mutex<Option<Token>>,
    generations: AtomicU64,
    calls: AtomicU64,
    usage: Mutex<Option<ApiUsage>>,
    last: Mutex<Option<Recorded>>,
}

/// The Salesforce client. Cheap to clone; clones share the token, counters, deadline and last
/// exchange (timeout and backoff are copied).
#[derive(Clone)]
pub struct SalesforceClient {
    inner: Arc<Inner>,
    /// Per-request timeout (before the deadline cuts it).
    timeout: Duration,
    backoff: retry::Backoff,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        let flow = match &i.grant {
            Grant::ClientCredentials { .. } => "client_credentials",
            Grant::Jwt { .. } => "jwt_bearer",
        };
        f.debug_struct("SalesforceClient")
            .field("login_url", &i.login_url)
            .field("api_version", &i.api_version)
            .field("flow", &flow)
            .field("client_id", &i.client_id)
            .field("api_calls", &i.calls.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
}

/// One query subrequest's answer of a composite call: its first page, or its error.
fn composite_page(
    sub: wire::CompositeResult,
    soql: &str,
) -> Result<wire::QueryPage, SalesforceError> {
    let status = sub.http_status_code;
    if !(200..300).contains(&status) {
        let errors = wire::parse_error_body(status, &sub.body.to_string());
        tracing::warn!(status, "Salesforce refused a query of a composite call");
        return Err(SalesforceError::Api { status, errors });
    }
    serde_json::from_value(sub.body).map_err(|source| SalesforceError::Malformed {
        what: format!("page 1 of `{soql}` (composite)"),
        source,
    })
}

fn config_err(msg: impl Into<String>) -> SalesforceError {
    SalesforceError::Config(msg.into())
}

/// Where this client may send credentials and the session token (R25, "secrets stay put").
#[derive(Clone, Default)]
struct UrlRules {
    /// Code-only switch for the simulators: plain http (and any host) on loopback.
    allow_loopback_http: bool,
    /// `None` = any host (simulator setups); else the host must match one of these.
    allowed_hosts: Option<Vec<HostPattern>>,
}

impl UrlRules {
    fn check(&self, what: &str, raw: &str) -> Result<String, SalesforceError> {
        check_endpoint(
            what,
            raw,
            self.allow_loopback_http,
            self.allowed_hosts.as_deref(),
        )
        .map_err(config_err)
    }
}

/// R25, for any endpoint credentials go to: an https URL (plain http only to loopback when
/// `allow_loopback_http`, a code-only switch) with a host that matches `allowed` (`None` = any),
/// no credentials, query or fragment. Returns it without a trailing `/`, or the sentence that
/// says what is wrong (naming `what`, never quoting a password).
pub fn check_endpoint(
    what: &str,
    raw: &str,
    allow_loopback_http: bool,
    allowed: Option<&[HostPattern]>,
) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let u = url::Url::parse(trimmed)
        .map_err(|e| format!("the {what} is not a URL (https://host): {e} (R25)"))?;
    let host = u.host_str().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("the {what} has no host (R25)"));
    }
    let loopback_ok = allow_loopback_http && endpoint::is_loopback_host(host);
    if u.scheme() != "https" && !(u.scheme() == "http" && loopback_ok) {
        return Err(format!(
            "the {what} must start with https:// (plain http is never used for credentials) (R25)"
        ));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!("the {what} must not carry credentials (R25)"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!(
            "the {what} must not have a query or fragment (R25)"
        ));
    }
    if let Some(allowed) = allowed {
        if !loopback_ok && !allowed.iter().any(|p| p.matches(host)) {
            let list: Vec<&str> = allowed.iter().map(HostPattern::as_str).collect();
            return Err(format!(
                "the {what}'s host {host} is not allowed: use one of {} or a host the deployment adds with the ExtraAllowedHosts parameter (R25)",
                list.join(", ")
            ));
        }
    }
    Ok(trimmed.to_owned())
}

/// The scheme, host and port of a URL, for "same origin" checks.
fn origin(raw: &str) -> Option<url::Origin> {
    url::Url::parse(raw)
        .ok()
        .map(|u| u.origin())
        .filter(url::Origin::is_tuple)
}

/// `v62.0`-style version.
fn check_version(v: &str) -> Result<(), SalesforceError> {
    let ok = v.strip_prefix('v').is_some_and(|n| {
        n.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
    });
    if ok {
        Ok(())
    } else {
        Err(config_err(format!(
            "the API version must look like v62.0 (got {v:?})"
        )))
    }
}

/// An sObject API name (`Account`, `acme__Thing__c`).
fn check_sobject(name: &str) -> Result<(), SalesforceError> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(config_err(format!("{name:?} is not an sObject API name")))
    }
}

/// A record id: 15 or 18 ASCII letters and digits.
fn check_id(sobject: &str, id: &str) -> Result<(), SalesforceError> {
    if mapping::sf::is_id(id) {
        Ok(())
    } else {
        Err(config_err(format!(
            "{sobject} record id {id:?} is not a Salesforce Id (15 or 18 letters and digits)"
        )))
    }
}

/// The request a data call sends.
struct DataCall<'a> {
    method: &'a Method,
    path: &'a str,
    body: Option<&'a str>,
    query_options: bool,
    /// The path without its query string, for logs and errors.
    what: &'a str,
}

/// The token endpoint's request with every credential replaced, for the exchange.
fn redacted_form(form: &[(&str, &str)]) -> Value {
    Value::Object(
        form.iter()
            .map(|(k, v)| {
                let shown = match *k {
                    "client_secret" | "assertion" => REDACTED,
                    _ => *v,
                };
                ((*k).to_owned(), Value::String(shown.to_owned()))
            })
            .collect(),
    )
}

/// The token endpoint's answer without the access token (non-JSON success bodies are dropped).
fn redacted_token_body(status: u16, body: &str) -> Option<Value> {
    match serde_json::from_str::<Value>(body) {
        Ok(mut v) => {
            if let Some(o) = v.as_object_mut() {
                for k in ["access_token", "refresh_token", "id_token"] {
                    if o.contains_key(k) {
                        o.insert(k.into(), Value::String(REDACTED.into()));
                    }
                }
            }
            Some(v)
        }
        Err(_) if (200..300).contains(&status) => None,
        Err(_) => Some(Value::String(body.chars().take(500).collect())),
    }
}

impl SalesforceClient {
    pub fn new(config: SalesforceConfig) -> Result<Self, SalesforceError> {
        let rules = UrlRules {
            allow_loopback_http: config.allow_loopback_http,
            allowed_hosts: config.allowed_hosts.clone(),
        };
        let login_url = rules.check("Salesforce login URL", &config.login_url)?;
        check_version(&config.api_version)?;
        if config.timeout_secs == 0 {
            return Err(config_err("the timeout must be at least 1 second"));
        }
        if let Some(n) = config.batch_size {
            if !BATCH_SIZE_RANGE.contains(&n) {
                return Err(config_err(format!(
                    "batchSize {n} is outside what Salesforce honours ({}..={})",
                    BATCH_SIZE_RANGE.start(),
                    BATCH_SIZE_RANGE.end()
                )));
            }
        }
        let (client_id, grant) = match config.auth {
            SalesforceAuth::ClientCredentials {
                client_id,
                client_secret,
            } => {
                if client_secret.is_empty() {
                    return Err(config_err("the client secret is empty (R25)"));
                }
                (client_id, Grant::ClientCredentials { client_secret })
            }
            SalesforceAuth::JwtBearer {
                client_id,
                username,
                private_key_pem,
                audience,
            } => {
                if username.trim().is_empty() {
                    return Err(config_err("the JWT bearer username is empty (R25)"));
                }
                let key =
                    jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.expose().as_bytes())
                        .map_err(|e| {
                            config_err(format!(
                                "the JWT private key is not a PEM RSA private key: {e} (R25)"
                            ))
                        })?;
                let audience = audience
                    .map(|a| a.trim().trim_end_matches('/').to_owned())
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| login_url.clone());
                let grant = Grant::Jwt {
                    username,
                    audience,
                    key,
                };
                // ring only parses the key when signing: fail now, not at the first login.
                sign_assertion(&client_id, &grant)?;
                (client_id, grant)
            }
        };
        if client_id.trim().is_empty() {
            return Err(config_err("the client id (consumer key) is empty (R25)"));
        }
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(config.accept_invalid_certs)
            // a redirect would carry the token or the form elsewhere: follow none
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(config.timeout_secs.min(10)))
            .build()
            .map_err(|e| config_err(format!("HTTP client: {e}")))?;
        Ok(SalesforceClient {
            timeout: Duration::from_secs(config.timeout_secs),
            backoff: retry::Backoff::new(
                Duration::from_millis(200),
                Duration::from_secs(10),
                config.max_retries,
            ),
            inner: Arc::new(Inner {
                http,
                login_url,
                rules,
                api_version: config.api_version,
                client_id,
                grant,
                batch_size: config.batch_size,
                deadline: retry::Deadline::default(),
                token: tokio::sync::Mutex::new(None),
                generations: AtomicU64::new(0),
                calls: AtomicU64::new(0),
                usage: Mutex::new(None),
                last: Mutex::new(None),
            }),
        })
    }

    /// Ceiling of the first retry delay (default 200 ms; the ceiling doubles per attempt up to
    /// 10 s, each delay drawn below it: [`retry::Backoff`]).
    pub fn with_backoff(mut self, first: Duration) -> Self {
        self.backoff.first = first;
        self
    }

    /// Per-request timeout finer than `timeout_secs` (tests).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// When the current invocation must be done (`None` = never), for this client and its
    /// clones: each call's timeout is cut to the time left, no retry sleeps past it, and a call
    /// that would start after it fails at once with [`SalesforceError::Deadline`].
    pub fn set_deadline(&self, at: Option<Instant>) {
        self.inner.deadline.set(at);
    }

    /// The deadline set with [`set_deadline`](Self::set_deadline).
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline.get()
    }

    /// Data requests sent so far (token requests excluded), retries and re-sends included.
    pub fn api_calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    /// The org's daily usage from the last `Sforce-Limit-Info` header seen.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        *self.inner.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The most recent HTTP exchange (token calls included, with every credential redacted).
    pub fn last_exchange(&self) -> Option<Exchange> {
        let r = self
            .inner
            .last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        Some(Exchange {
            method: r.method,
            url: r.url,
            request_body: r.request_body.and_then(Body::into_value),
            status: r.status,
            response_body: r.response_body.and_then(Body::into_value),
        })
    }

    fn remember(&self, ex: Recorded) {
        *self.inner.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(ex);
    }

    /// The timeout for a call starting now, or `Deadline` when none may start.
    fn call_timeout(&self, what: &str) -> Result<Duration, SalesforceError> {
        self.inner
            .deadline
            .cap(self.timeout)
            .map_err(|_| SalesforceError::Deadline { what: what.into() })
    }

    /// Runs `op` with the client's backoff and deadline, repeating transient failures.
    async fn retrying<T, Fut>(
        &self,
        what: &str,
        op: impl FnMut(u32) -> Fut,
    ) -> Result<T, SalesforceError>
    where
        Fut: std::future::Future<Output = Result<T, SalesforceError>>,
    {
        let again = |e: &SalesforceError| {
            let transient = e.is_retryable();
            if transient {
                tracing::warn!(what, error = %e, "Salesforce call failed (transient)");
            }
            transient
        };
        // boxed: keeps the callers' future types shallow (the engine's are deep already)
        Box::pin(retry::retry(self.backoff, self.deadline(), op, again)).await
    }

    fn data_path(&self, rest: &str) -> String {
        format!("/services/data/{}{rest}", self.inner.api_version)
    }

    // ------------------------------------------------------------------ login

    /// Mints a fresh token now (R25 "verified when saved"); later calls reuse it.
    pub async fn authenticate(&self) -> Result<(), SalesforceError> {
        let mut slot = self.inner.token.lock().await;
        *slot = None;
        *slot = Some(self.mint().await?);
        Ok(())
    }

    async fn token(&self) -> Result<Token, SalesforceError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        let t = self.mint().await?;
        *slot = Some(t.clone());
        Ok(t)
    }

    /// Drops the cached token if it is still the one that failed.
    async fn invalidate(&self, generation: u64) {
        let mut slot = self.inner.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.generation == generation) {
            *slot = None;
        }
    }

    /// `POST {login_url}/services/oauth2/token`, retried like data calls on transient failures.
    async fn mint(&self) -> Result<Token, SalesforceError> {
        self.retrying("log in", |attempt| self.mint_once(attempt))
            .await
    }

    async fn mint_once(&self, attempt: u32) -> Result<Token, SalesforceError> {
        let i = &self.inner;
        let timeout = self.call_timeout("log in")?;
        let url = format!("{}/services/oauth2/token", i.login_url);
        let assertion;
        let form: Vec<(&str, &str)> = match &i.grant {
            Grant::ClientCredentials { client_secret } => vec![
                ("grant_type", "client_credentials"),
                ("client_id", i.client_id.as_str()),
                ("client_secret", client_secret.expose()),
            ],
            Grant::Jwt { .. } => {
                assertion = sign_assertion(&i.client_id, &i.grant)?;
                vec![("grant_type", JWT_GRANT), ("assertion", assertion.expose())]
            }
        };
        let mut ex = Recorded {
            method: "POST".into(),
            url: url.clone(),
            request_body: Some(Body::Json(redacted_form(&form))),
            status: None,
            response_body: None,
        };
        tracing::debug!(url = %url, attempt, "Salesforce token request");
        let sent = i
            .http
            .post(&url)
            .header(ACCEPT, "application/json")
            .timeout(timeout)
            .form(&form)
            .send()
            .await;
        let got = match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                r.text().await.map(|t| (status, t))
            }
            Err(e) => Err(e),
        };
        let (status, text) = match got {
            Ok(x) => x,
            Err(source) => {
                self.remember(ex);
                return Err(SalesforceError::Transport { source });
            }
        };
        ex.status = Some(status);
        ex.response_body = redacted_token_body(status, &text).map(Body::Json);
        self.remember(ex);
        self.token_answer(status, &text)
    }

    /// The token endpoint's answer: a token, a refusal (`Auth`), or a failure of the endpoint
    /// itself (5xx, 429: `Api`, transient).
    fn token_answer(&self, status: u16, text: &str) -> Result<Token, SalesforceError> {
        let i = &self.inner;
        if (200..300).contains(&status) {
            let t: wire::TokenResponse =
                serde_json::from_str(text).map_err(|source| SalesforceError::Malformed {
                    what: "the token endpoint's answer".into(),
                    source,
                })?;
            let instance_url = match t.instance_url.as_deref() {
                Some(u) if !u.trim().is_empty() => i.rules.check("instance URL", u)?,
                _ => i.login_url.clone(),
            };
            let generation = i.generations.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::info!(instance_url = %instance_url, generation, "Salesforce session established");
            return Ok(Token {
                access: Secret::new(t.access_token),
                instance_url,
                generation,
            });
        }
        if status >= 500 || status == 429 {
            // the token endpoint failed rather than refused: not an `Auth` verdict
            return Err(SalesforceError::Api {
                status,
                errors: wire::parse_error_body(status, text),
            });
        }
        let (error, description) = match serde_json::from_str::<wire::TokenError>(text) {
            Ok(e) => (e.error, e.error_description),
            Err(_) => (
                format!("http_{status}"),
                text.trim().chars().take(300).collect(),
            ),
        };
        tracing::warn!(status, error = %error, "Salesforce refused the login");
        Err(SalesforceError::Auth { error, description })
    }

    // ------------------------------------------------------------------ data calls

    /// One data call with re-auth on 401, retries on transient failures, quota → stop.
    /// `path` is `/services/…` (relative to the instance URL) or an absolute URL.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        query_options: bool,
    ) -> Result<String, SalesforceError> {
        let call = DataCall {
            method: &method,
            path,
            body: body.as_deref(),
            query_options,
            what: path.split('?').next().unwrap_or(path),
        };
        self.retrying(call.what, |attempt| self.send_authed(&call, attempt))
            .await
    }

    /// One attempt. No expiry is ever announced: a 401 re-mints the token once and re-sends
    /// (not a retry); a second 401 is permanent.
    async fn send_authed(
        &self,
        call: &DataCall<'_>,
        attempt: u32,
    ) -> Result<String, SalesforceError> {
        let token = self.token().await?;
        match self.send_once(call, &token, attempt).await {
            Err(e) if e.is_unauthorized() => {
                tracing::info!(path = %call.what, "Salesforce session expired; re-authenticating");
                self.invalidate(token.generation).await;
                let token = self.token().await?;
                self.send_once(call, &token, attempt).await
            }
            other => other,
        }
    }

    async fn send_once(
        &self,
        call: &DataCall<'_>,
        token: &Token,
        attempt: u32,
    ) -> Result<String, SalesforceError> {
        let i = &self.inner;
        let timeout = self.call_timeout(call.what)?;
        // the bearer token goes only to the instance's own origin
        let url = self.instance_url(token, call.path)?;
        let mut rb = i
            .http
            .request(call.method.clone(), &url)
            .bearer_auth(token.access.expose())
            .header(ACCEPT, "application/json")
            .timeout(timeout);
        if let Some(b) = call.body {
            rb = rb
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_owned());
        }
        if let (true, Some(n)) = (call.query_options, i.batch_size) {
            rb = rb.header("Sforce-Query-Options", format!("batchSize={n}"));
        }
        let mut ex = Recorded {
            method: call.method.to_string(),
            url: url.clone(),
            request_body: call.body.map(|b| Body::Raw(b.to_owned())),
            status: None,
            response_body: None,
        };
        i.calls.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(method = %call.method, path = %call.what, attempt, "Salesforce call");
        tracing::trace!(url = %url, "Salesforce call URL");
        let (status, text) = match self.exchange(rb, &mut ex).await {
            Ok(got) => got,
            Err(source) => {
                self.remember(ex);
                return Err(SalesforceError::Transport { source });
            }
        };
        tracing::trace!(status, bytes = text.len(), "Salesforce response");
        ex.response_body = Some(Body::Raw(text.clone()));
        self.remember(ex);
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let errors = wire::parse_error_body(status, &text);
        let code = |c: &str| errors.iter().any(|e| e.error_code == c);
        if status == 401 && code("INVALID_SESSION_ID") {
            return Err(SalesforceError::SessionExpired);
        }
        if status == 403 && code("REQUEST_LIMIT_EXCEEDED") {
            let message = errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            tracing::warn!(message = %message, "Salesforce API limit exceeded; stopping");
            return Err(SalesforceError::LimitExceeded { message });
        }
        tracing::warn!(path = %call.what, status, "Salesforce error answer");
        Err(SalesforceError::Api { status, errors })
    }

    /// Sends `rb` and reads the whole answer, noting the status and `Sforce-Limit-Info`.
    async fn exchange(
        &self,
        rb: reqwest::RequestBuilder,
        ex: &mut Recorded,
    ) -> Result<(u16, String), reqwest::Error> {
        let resp = rb.send().await?;
        let status = resp.status().as_u16();
        ex.status = Some(status);
        if let Some(u) = resp
            .headers()
            .get("Sforce-Limit-Info")
            .and_then(|v| v.to_str().ok())
            .and_then(wire::parse_limit_info)
        {
            *self.inner.usage.lock().unwrap_or_else(|p| p.into_inner()) = Some(u);
        }
        Ok((status, resp.text().await?))
    }

    /// `path` under the instance URL; an absolute URL (a `nextRecordsUrl`) only when it is on
    /// the instance's own origin — the bearer token goes nowhere else.
    fn instance_url(&self, token: &Token, path: &str) -> Result<String, SalesforceError> {
        if path.starts_with('/') && !path.starts_with("//") {
            return Ok(format!("{}{path}", token.instance_url));
        }
        match (origin(path), origin(&token.instance_url)) {
            (Some(a), Some(b)) if a == b => Ok(path.to_owned()),
            _ => Err(SalesforceError::malformed(
                "a link in Salesforce's answer",
                format!(
                    "{:?} is not on the instance's origin {}: the session token is not sent there (R25)",
                    path.split('?').next().unwrap_or(path),
                    token.instance_url
                ),
            )),
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        what: impl FnOnce() -> String,
        query_options: bool,
    ) -> Result<T, SalesforceError> {
        let text = self.send(Method::GET, path, None, query_options).await?;
        serde_json::from_str(&text).map_err(|source| SalesforceError::Malformed {
            what: what(),
            source,
        })
    }

    // ------------------------------------------------------------------ queries

    /// Runs a SOQL query and returns every record of every page.
    pub async fn query(&self, soql: &str) -> Result<Vec<Value>, SalesforceError> {
        self.query_resource("query", soql).await
    }

    /// Like [`query`](Self::query) but through `/queryAll`: soft-deleted rows included
    /// (`IsDeleted = true`).
    pub async fn query_all(&self, soql: &str) -> Result<Vec<Value>, SalesforceError> {
        self.query_resource("queryAll", soql).await
    }

    /// [`query`](Self::query), each record deserialised as `T`.
    pub async fn query_as<T: DeserializeOwned>(
        &self,
        soql: &str,
    ) -> Result<Vec<T>, SalesforceError> {
        let rows = self.query(soql).await?;
        rows.into_iter()
            .enumerate()
            .map(|(n, r)| {
                let id = r
                    .get("Id")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                serde_json::from_value(r).map_err(|source| SalesforceError::Malformed {
                    what: format!(
                        "record {n} (Id {id}) of `{soql}` as {}",
                        std::any::type_name::<T>()
                    ),
                    source,
                })
            })
            .collect()
    }

    /// Several queries, `(soql, all)` (`all`: through `/queryAll`), in one `POST /composite`
    /// call per five — Salesforce counts a composite request as one API call and takes at most
    /// five query subrequests in it. Further pages are read as for [`query`](Self::query).
    /// One result per query, in order; a query Salesforce refused fails the call with its error.
    pub async fn query_many(
        &self,
        queries: &[(&str, bool)],
    ) -> Result<Vec<Vec<Value>>, SalesforceError> {
        let mut out: Vec<Vec<Value>> = queries.iter().map(|_| Vec::new()).collect();
        self.query_many_pages(queries, &mut |i, rows| out[i].extend(rows))
            .await?;
        Ok(out)
    }

    /// [`query_many`](Self::query_many), each page handed to `each(query index, records)` as
    /// it arrives instead of collected: planning reads tens of thousands of rows and keeps
    /// only what it needs of each.
    pub async fn query_many_pages(
        &self,
        queries: &[(&str, bool)],
        each: &mut (dyn FnMut(usize, Vec<Value>) + Send),
    ) -> Result<(), SalesforceError> {
        let resource = |all: bool| if all { "queryAll" } else { "query" };
        for (c, chunk) in queries.chunks(MAX_COMPOSITE_QUERIES).enumerate() {
            let base = c * MAX_COMPOSITE_QUERIES;
            if let [(soql, all)] = chunk {
                let first = self.query_path(resource(*all), soql)?;
                let page: wire::QueryPage = self
                    .get_json(&first, || format!("page 1 of `{soql}`"), true)
                    .await?;
                self.each_page(page, soql, &mut |rows| each(base, rows))
                    .await?;
                continue;
            }
            let mut subs = Vec::with_capacity(chunk.len());
            for (n, (soql, all)) in chunk.iter().enumerate() {
                let mut sub = serde_json::json!({
                    "method": "GET",
                    "url": self.query_path(resource(*all), soql)?,
                    "referenceId": format!("q{n}"),
                });
                if let Some(b) = self.inner.batch_size {
                    sub["httpHeaders"] =
                        serde_json::json!({"Sforce-Query-Options": format!("batchSize={b}")});
                }
                subs.push(sub);
            }
            let body = serde_json::json!({"allOrNone": false, "compositeRequest": subs});
            let path = self.data_path("/composite");
            let text = self
                .send(Method::POST, &path, Some(body.to_string()), false)
                .await?;
            let answer: wire::CompositeAnswer =
                serde_json::from_str(&text).map_err(|source| SalesforceError::Malformed {
                    what: "the composite answer".into(),
                    source,
                })?;
            if answer.composite_response.len() != chunk.len() {
                return Err(SalesforceError::malformed(
                    "the composite answer",
                    format!(
                        "{} results for {} queries",
                        answer.composite_response.len(),
                        chunk.len()
                    ),
                ));
            }
            for (j, ((soql, _), sub)) in chunk.iter().zip(answer.composite_response).enumerate() {
                let page = composite_page(sub, soql)?;
                self.each_page(page, soql, &mut |rows| each(base + j, rows))
                    .await?;
            }
        }
        Ok(())
    }

    /// `/services/data/vXX.X/{resource}?q=…`
    fn query_path(&self, resource: &str, soql: &str) -> Result<String, SalesforceError> {
        if soql.trim().is_empty() {
            return Err(config_err("the SOQL query is empty"));
        }
        let q = serde_urlencoded::to_string([("q", soql)])
            .map_err(|e| config_err(format!("cannot encode the SOQL query: {e}")))?;
        Ok(self.data_path(&format!("/{resource}?{q}")))
    }

    async fn query_resource(
        &self,
        resource: &str,
        soql: &str,
    ) -> Result<Vec<Value>, SalesforceError> {
        let first = self.query_path(resource, soql)?;
        let page: wire::QueryPage = self
            .get_json(&first, || format!("page 1 of `{soql}`"), true)
            .await?;
        self.finish_query(page, soql).await
    }

    /// The pages after `page`, every child sub-query completed; checks the total.
    async fn finish_query(
        &self,
        page: wire::QueryPage,
        soql: &str,
    ) -> Result<Vec<Value>, SalesforceError> {
        let mut out = Vec::new();
        self.each_page(page, soql, &mut |rows| out.extend(rows))
            .await?;
        Ok(out)
    }

    /// Hands `page`'s records and those of every page after it to `each`, one page at a time
    /// (their child sub-queries completed), so a caller need not hold them all; checks the
    /// total.
    async fn each_page(
        &self,
        page: wire::QueryPage,
        soql: &str,
        each: &mut (dyn FnMut(Vec<Value>) + Send),
    ) -> Result<(), SalesforceError> {
        let total = page.total_size;
        let mut cursor = Pages::new(page);
        let mut received = 0u64;
        while let Some(mut records) = self.next_page(&mut cursor, soql).await? {
            for rec in records.iter_mut() {
                self.complete_children(rec, soql).await?;
            }
            received += records.len() as u64;
            each(records);
        }
        if received != total {
            tracing::warn!(
                total_size = total,
                received,
                "Salesforce query returned a different number of records than its totalSize"
            );
        }
        Ok(())
    }

    /// Follows `nextRecordsUrl` from `page` until `done`; returns (totalSize, records).
    async fn pages(
        &self,
        page: wire::QueryPage,
        soql: &str,
    ) -> Result<(u64, Vec<Value>), SalesforceError> {
        let total = page.total_size;
        let mut cursor = Pages::new(page);
        let mut out = Vec::new();
        while let Some(records) = self.next_page(&mut cursor, soql).await? {
            out.extend(records);
        }
        Ok((total, out))
    }

    /// The next page's records of a query (`None` after the last).
    async fn next_page(
        &self,
        cursor: &mut Pages,
        soql: &str,
    ) -> Result<Option<Vec<Value>>, SalesforceError> {
        if let Some(first) = cursor.first.take() {
            return Ok(Some(first));
        }
        if cursor.done {
            return Ok(None);
        }
        let n = cursor.n;
        let next = match cursor.next.take() {
            Some(u) if !u.trim().is_empty() => u,
            _ => {
                // A truncated result must not pass as complete (jsforce#445).
                return Err(SalesforceError::malformed(
                    format!("page {n} of `{soql}`"),
                    "done is false but nextRecordsUrl is missing",
                ));
            }
        };
        if n >= MAX_PAGES {
            return Err(SalesforceError::malformed(
                format!("`{soql}`"),
                format!("more than {MAX_PAGES} pages"),
            ));
        }
        let page: wire::QueryPage = self
            .get_json(&next, || format!("page {} of `{soql}`", n + 1), true)
            .await?;
        cursor.n += 1;
        cursor.done = page.done;
        cursor.next = page.next_records_url;
        Ok(Some(page.records))
    }

    /// A child sub-query result with `done:false` gets its remaining pages appended.
    async fn complete_children(&self, rec: &mut Value, soql: &str) -> Result<(), SalesforceError> {
        let Some(obj) = rec.as_object_mut() else {
            return Ok(());
        };
        for (rel, v) in obj.iter_mut() {
            let Some(child) = v.as_object_mut() else {
                continue;
            };
            let unfinished = child.get("done") == Some(&Value::Bool(false))
                && child.get("records").is_some_and(Value::is_array);
            if !unfinished {
                continue;
            }
            let next = child
                .get("nextRecordsUrl")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    SalesforceError::malformed(
                        format!("child {rel} of `{soql}`"),
                        "done is false but nextRecordsUrl is missing",
                    )
                })?;
            let first: wire::QueryPage = self
                .get_json(&next, || format!("child {rel} of `{soql}`"), true)
                .await?;
            let (_, more) = self.pages(first, soql).await?;
            if let Some(Value::Array(rs)) = child.get_mut("records") {
                rs.extend(more);
            }
            child.insert("done".into(), Value::Bool(true));
            child.remove("nextRecordsUrl");
        }
        Ok(())
    }

    // ------------------------------------------------------------------ writes

    /// `PATCH /sobjects/{sobject}/{id}` with only the given fields (204 on success).
    pub async fn update(
        &self,
        sobject: &str,
        id: &str,
        fields: &Map<String, Value>,
    ) -> Result<(), SalesforceError> {
        check_sobject(sobject)?;
        check_id(sobject, id)?;
        let body = Value::Object(fields.clone()).to_string();
        self.send(
            Method::PATCH,
            &self.data_path(&format!("/sobjects/{sobject}/{id}")),
            Some(body),
            false,
        )
        .await?;
        Ok(())
    }

    /// sObject Collections update (`allOrNone=false`): one [`SaveResult`] per input record, in
    /// input order. Sent in chunks of at most 200 records and 10 runs of one type; records that
    /// failed on a row lock (`UNABLE_TO_LOCK_ROW`) are re-sent alone with the backoff. A
    /// call-level failure (quota, 5xx after retries, 400) fails the whole call; chunks before
    /// it were written (re-sending them is harmless: the same values).
    pub async fn update_many(
        &self,
        records: &[RecordUpdate],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        for r in records {
            check_sobject(&r.sobject)?;
            check_id(&r.sobject, &r.id)?;
        }
        let mut out = Vec::with_capacity(records.len());
        for chunk in composite_chunks(records) {
            out.extend(self.update_chunk(chunk).await?);
        }
        Ok(out)
    }

    /// One composite call, then the row-locked records again until they pass or the backoff
    /// (retries, deadline) says stop.
    async fn update_chunk(
        &self,
        chunk: &[RecordUpdate],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let mut results = self.composite(&chunk.iter().collect::<Vec<_>>()).await?;
        let mut retrier = self.backoff.start(self.deadline());
        loop {
            let locked: Vec<usize> = (0..results.len())
                .filter(|&n| row_locked(&results[n]))
                .collect();
            if locked.is_empty() || !retrier.again().await {
                return Ok(results);
            }
            tracing::warn!(
                records = locked.len(),
                "Salesforce rows locked; re-sending them"
            );
            let again: Vec<&RecordUpdate> = locked.iter().map(|&n| &chunk[n]).collect();
            let redo = self.composite(&again).await?;
            for (n, r) in locked.into_iter().zip(redo) {
                results[n] = r;
            }
        }
    }

    /// `PATCH /composite/sobjects` of `records` (≤ 200, ≤ 10 type runs).
    async fn composite(
        &self,
        records: &[&RecordUpdate],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let body = serde_json::json!({
            "allOrNone": false,
            "records": records.iter().map(|r| {
                let mut o: Map<String, Value> = r
                    .fields
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("id") && k.as_str() != "attributes")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                o.insert("attributes".into(), serde_json::json!({"type": r.sobject}));
                o.insert("id".into(), Value::String(r.id.clone()));
                Value::Object(o)
            }).collect::<Vec<_>>()
        })
        .to_string();
        let text = self
            .send(
                Method::PATCH,
                &self.data_path("/composite/sobjects"),
                Some(body),
                false,
            )
            .await?;
        let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        wire::parse_save_results(&text, &ids)
            .map_err(|e| SalesforceError::malformed("the composite update results", e))
    }

    // ------------------------------------------------------------------ metadata

    /// `GET /sobjects/{sobject}/describe`.
    pub async fn describe(&self, sobject: &str) -> Result<Describe, SalesforceError> {
        check_sobject(sobject)?;
        let text = self
            .send(
                Method::GET,
                &self.data_path(&format!("/sobjects/{sobject}/describe")),
                None,
                false,
            )
            .await?;
        wire::parse_describe(&text).map_err(|source| SalesforceError::Malformed {
            what: format!("the describe of {sobject}"),
            source,
        })
    }

    /// `GET /limits` as Salesforce returns it (`{"DailyApiRequests":{"Max","Remaining"},…}`).
    pub async fn limits(&self) -> Result<Value, SalesforceError> {
        self.get_json(
            &self.data_path("/limits"),
            || "the org limits".into(),
            false,
        )
        .await
    }
}

/// A record a composite update left unwritten because another transaction held its row.
fn row_locked(r: &SaveResult) -> bool {
    !r.success
        && r.errors
            .iter()
            .any(|e| e.status_code == "UNABLE_TO_LOCK_ROW")
}

/// Signs a fresh JWT bearer assertion (exp = now + 3 min, Salesforce's allowed skew).
fn sign_assertion(client_id: &str, grant: &Grant) -> Result<Secret, SalesforceError> {
    let Grant::Jwt {
        username,
        audience,
        key,
    } = grant
    else {
        return Err(config_err("not a JWT bearer login"));
    };
    let claims = Claims {
        iss: client_id,
        sub: username,
        aud: audience,
        exp: chrono::Utc::now().timestamp() + 180,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        key,
    )
    .map(Secret::new)
    .map_err(|e| {
        config_err(format!(
            "cannot sign the JWT assertion with the private key: {e} (R25)"
        ))
    })
}

/// Splits into requests of ≤200 records with ≤10 runs of consecutive same-type records.
fn composite_chunks(records: &[RecordUpdate]) -> Vec<&[RecordUpdate]> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut runs = 0usize;
    for (i, r) in records.iter().enumerate() {
        let new_run = i == start || records[i - 1].sobject != r.sobject;
        if i > start
            && (i - start == MAX_COMPOSITE_RECORDS || (new_run && runs == MAX_COMPOSITE_TYPE_RUNS))
        {
            chunks.push(&records[start..i]);
            start = i;
            runs = 0;
        }
        if i == start || new_run {
            runs += 1;
        }
    }
    if start < records.len() {
        chunks.push(&records[start..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upd(sobject: &str, n: usize) -> RecordUpdate {
        RecordUpdate {
            sobject: sobject.into(),
            id: format!("001{n:015}"),
            fields: Map::new(),
        }
    }

    #[test]
    fn r20_writeback_updates_convert_to_record_updates() {
        let mut fields = Map::new();
        fields.insert(
            "FNO_Entitlement_ID__c".into(),
            Value::String("ENT-1".into()),
        );
        let u = mapping::SfUpdate {
            sobject: mapping::SfObject::Opportunity,
            id: "006000000000001AAA".into(),
            fields: fields.clone(),
        };
        let r = RecordUpdate::from(&u);
        assert_eq!(r.sobject, "Opportunity");
        assert_eq!(r.id, u.id);
        assert_eq!(r.fields, fields);
    }

    #[test]
    fn composite_chunks_cap_records_and_type_runs() {
        let many: Vec<_> = (0..450).map(|n| upd("Account", n)).collect();
        let sizes: Vec<usize> = composite_chunks(&many).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![200, 200, 50]);
        assert!(composite_chunks(&[]).is_empty());
        // 12 alternating runs → the 11th run starts a new request
        let mixed: Vec<_> = (0..24)
            .map(|n| {
                upd(
                    if (n / 2) % 2 == 0 {
                        "Account"
                    } else {
                        "Opportunity"
                    },
                    n,
                )
            })
            .collect();
        let sizes: Vec<usize> = composite_chunks(&mixed).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![20, 4]);
        let total: usize = sizes.iter().sum();
        assert_eq!(total, 24);
    }

    #[test]
    fn r25_urls_versions_and_ids_are_checked() {
        let any = UrlRules::default();
        let check_url = |what: &str, raw: &str| any.check(what, raw);
        assert_eq!(
            check_url("login URL", "https://acme.my.salesforce.com/").unwrap(),
            "https://acme.my.salesforce.com"
        );
        assert!(check_url("login URL", "acme.my.salesforce.com").is_err());
        assert!(check_url("login URL", "ftp://x.example").is_err());
        let e = check_url("login URL", "https://u:p@x.example").unwrap_err();
        assert!(!e.to_string().contains(":p@"), "{e}");
        // plain http: never to a real org; to loopback only behind the code-only switch
        let e = check_url("login URL", "http://acme.my.salesforce.com").unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
        assert!(check_url("login URL", "http://127.0.0.1:9000").is_err());
        let sim = UrlRules {
            allow_loopback_http: true,
            allowed_hosts: Some(endpoint::builtin(&endpoint::SALESFORCE_DOMAINS)),
        };
        assert!(sim.check("login URL", "http://127.0.0.1:9000").is_ok());
        assert!(sim
            .check("login URL", "http://acme.my.salesforce.com")
            .is_err());
        let real = UrlRules {
            allow_loopback_http: false,
            allowed_hosts: Some(endpoint::builtin(&endpoint::SALESFORCE_DOMAINS)),
        };
        assert!(real
            .check("instance URL", "https://acme.my.salesforce.com")
            .is_ok());
        let e = real
            .check("instance URL", "https://evil.example")
            .unwrap_err();
        assert!(e.to_string().contains("ExtraAllowedHosts"), "{e}");
        assert!(real.check("instance URL", "https://127.0.0.1").is_err());
        assert!(check_version("v62.0").is_ok());
        assert!(check_version("62.0").is_err() && check_version("v62").is_err());
        assert!(check_sobject("acme__Thing__c").is_ok());
        assert!(check_sobject("Account/../x").is_err());
        assert!(check_id("Account", "001000000000001AAA").is_ok());
        let e = check_id("Account", "001/../limits").unwrap_err();
        assert!(e.to_string().contains("Account record id"), "{e}");
    }

    #[test]
    fn token_exchange_bodies_are_redacted() {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", "3MVG9"),
            ("client_secret", "s3cr3t"),
        ];
        let shown = redacted_form(&form);
        assert_eq!(
            shown,
            serde_json::json!({"grant_type": "client_credentials", "client_id": "3MVG9",
                               "client_secret": "[redacted]"})
        );
        let body = r#"{"access_token":"00D!ARtok","instance_url":"https://x.example","token_type":"Bearer"}"#;
        let shown = redacted_token_body(200, body).unwrap().to_string();
        assert!(
            !shown.contains("00D!ARtok") && shown.contains("instance_url"),
            "{shown}"
        );
        assert_eq!(redacted_token_body(200, "access_token=00D!ARtok"), None);
        let err = r#"{"error":"invalid_grant","error_description":"audience is invalid"}"#;
        assert_eq!(
            redacted_token_body(400, err).unwrap()["error_description"],
            "audience is invalid"
        );
        assert_eq!(
            redacted_token_body(502, "<html>x</html>"),
            Some(Value::String("<html>x</html>".into()))
        );
        assert_eq!(body_value(""), None);
        assert_eq!(body_value("[1]"), Some(serde_json::json!([1])));
    }

    #[test]
    fn client_debug_shows_no_secret() {
        let c = SalesforceClient::new(SalesforceConfig::new(
            "https://acme.my.salesforce.com",
            SalesforceAuth::ClientCredentials {
                client_id: "3MVG9".into(),
                client_secret: Secret::new("s3cr3t-value"),
            },
        ))
        .unwrap();
        let d = format!("{c:?}");
        assert!(d.contains("3MVG9") && !d.contains("s3cr3t-value"), "{d}");
        let e = SalesforceClient::new(SalesforceConfig::new(
            "https://acme.my.salesforce.com",
            SalesforceAuth::JwtBearer {
                client_id: "3MVG9".into(),
                username: "u@x.example".into(),
                private_key_pem: Secret::new(
                    "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
                ),
                audience: None,
            },
        ))
        .unwrap_err();
        assert!(matches!(e, SalesforceError::Config(_)), "{e:?}");
        assert!(!e.to_string().contains("bm90IGEga2V5"), "{e}");
    }
}
