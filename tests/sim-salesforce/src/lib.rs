//! # sim-salesforce: a Salesforce org on 127.0.0.1
//!
//! Speaks the Salesforce REST API the way a real org does (wire facts:
//! shared/reference/salesforce-rest.md, §8 checklist):
//!
//! | method, path | kind (for [`RunningSim::calls`]) |
//! |---|---|
//! | `POST /services/oauth2/token` (client credentials, JWT bearer) | `token` |
//! | `GET /services/data` (versions) | `versions` |
//! | `GET /services/data/vXX.X/query?q=` and `GET …/query/<locator>-<offset>` | `query` |
//! | `GET /services/data/vXX.X/queryAll?q=` (soft-deleted rows too) | `queryAll` |
//! | `GET …/sobjects/{Type}/describe` | `describe` |
//! | `GET …/sobjects/{Type}/deleted/?start=&end=` | `deleted` |
//! | `GET …/sobjects/{Type}/{Id}` | `sobject_get` |
//! | `PATCH …/sobjects/{Type}/{Id}` (204) | `sobject_patch` |
//! | `PATCH …/composite/sobjects` (≤ 200 records, `allOrNone`) | `composite` |
//! | `POST …/composite` (≤ 25 subrequests, ≤ 5 of them queries; here only `GET` query, queryAll and query-more subrequests) | `composite_request` (one API call) |
//! | `GET …/limits` | `limits` |
//!
//! Every data call needs `Authorization: Bearer <token>` from the token endpoint (401
//! `INVALID_SESSION_ID` otherwise, or when the token is older than `token_ttl` (wall time), or after `expire_session_after` calls), counts against the daily quota (403
//! `REQUEST_LIMIT_EXCEEDED` past it) and carries `Sforce-Limit-Info: api-usage=N/M`.
//!
//! Test hooks outside the API paths: `GET /__sim/state`, `GET /__sim/calls` (calls by kind,
//! metered API calls, usage, records written),
//! `POST /__sim/clock?now=ISO`, `POST /__sim/quota?used=N` (the daily usage now reads N,
//! default 0: the quota resets), `POST /__sim/sessions/expire` (every issued token is refused
//! from now on: 401 mid-run).
//!
//! Fault injection ([`SimOptions`]): latency, HTTP 500 (`UNKNOWN_EXCEPTION`), timeouts (the
//! response is held for `timeout_delay`, then 503), session expiry, quota — rates drawn from
//! an RNG seeded with `seed`, optionally limited to some endpoint kinds.

pub mod jwt;
pub mod org;
pub mod out;
pub mod schema;
pub mod soql;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use org::Org;
use out::J;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("fixture: {0}")]
    Fixture(String),
    #[error("cannot bind 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS setup: {0}")]
    Tls(String),
}

/// Per-run behaviour, including fault injection.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Port to bind on 127.0.0.1 (0 = ephemeral).
    pub port: u16,
    /// Seeds the fault RNG and the generated tokens.
    pub seed: u64,
    /// Added to every API call (token and data).
    pub latency: Duration,
    /// HTTP 500 `UNKNOWN_EXCEPTION` per data call.
    pub http_500_rate: f64,
    /// Data calls held for `timeout_delay`, then answered 503.
    pub timeout_rate: f64,
    pub timeout_delay: Duration,
    /// Tokens older than this (wall time) are refused (401 INVALID_SESSION_ID).
    pub token_ttl: Duration,
    /// Every token dies after this many data calls made with it.
    pub expire_session_after: Option<u64>,
    /// Daily API request allocation; past it 403 REQUEST_LIMIT_EXCEEDED.
    pub daily_api_limit: u64,
    /// Requests already spent today (the usage counter starts here).
    pub api_usage_start: u64,
    /// Per record written (`sobject_patch`, each record of `composite`): the record is not
    /// written and fails with `UNABLE_TO_LOCK_ROW` (400 for a single PATCH, a failed result
    /// in a composite answer), as when another transaction holds the row.
    pub lock_row_rate: f64,
    /// Limit injected faults (500, timeout, row locks) to these endpoint kinds; empty = all.
    pub fault_endpoints: Vec<String>,
    /// Clock start (else the fixture's `now`, else system time); runs at wall speed.
    pub now: Option<DateTime<Utc>>,
    /// Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost.
    pub tls: bool,
    /// Page-size cap: pages hold `min(batchSize, max_batch_size)` records (child rows
    /// count); may be set below 200 in tests to force paging with few records.
    pub max_batch_size: u32,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            port: 0,
            seed: 42,
            latency: Duration::ZERO,
            http_500_rate: 0.0,
            timeout_rate: 0.0,
            timeout_delay: Duration::from_secs(30),
            lock_row_rate: 0.0,
            token_ttl: Duration::from_secs(2 * 3600),
            expire_session_after: None,
            daily_api_limit: 15_000,
            api_usage_start: 0,
            fault_endpoints: Vec::new(),
            now: None,
            tls: false,
            max_batch_size: 2000,
        }
    }
}

struct Token {
    issued: std::time::Instant,
    calls: u64,
}

/// Open query cursors kept for `nextRecordsUrl` (oldest dropped first).
const MAX_CURSORS: usize = 500;

struct Cursor {
    seq: u64,
    records: Vec<(J, usize)>,
    total: usize,
    batch: usize,
    kind: &'static str,
}

struct Inner {
    org: Mutex<Org>,
    opts: Mutex<SimOptions>,
    rng: Mutex<rand::rngs::StdRng>,
    calls: Mutex<BTreeMap<String, u64>>,
    /// Refusals and injected faults by kind ([`RunningSim::faults`]).
    faults: Mutex<BTreeMap<String, u64>>,
    api_calls: AtomicU64,
    /// Records written ([`RunningSim::records_written`]).
    records_written: AtomicU64,
    /// `api_calls` when the usage was last set ([`RunningSim::set_api_usage`]).
    usage_base: AtomicU64,
    tokens: Mutex<HashMap<String, Token>>,
    cursors: Mutex<HashMap<String, Cursor>>,
    cursor_seq: AtomicU64,
    base_url: String,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct SalesforceSim;

impl SalesforceSim {
    /// Starts the simulator on 127.0.0.1. `fixture` is the whole fixture file
    /// (`{"salesforce": {...}, "now": ...}`) or just its `salesforce` section.
    pub async fn start(fixture: &Value, opts: SimOptions) -> Result<RunningSim, SimError> {
        let section = match fixture.get("salesforce") {
            Some(s) => Some(s),
            None if fixture.get("flexnet").is_some() || fixture.get("now").is_some() => None,
            None if fixture.is_object() => Some(fixture),
            None => None,
        };
        let fixture_now = match fixture.get("now").and_then(Value::as_str) {
            Some(s) => Some(
                org::parse_datetime(s)
                    .ok_or_else(|| SimError::Fixture(format!("now {s:?}: not an ISO date-time")))?,
            ),
            None => None,
        };
        let org = Org::load(section, opts.now.or(fixture_now))?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", opts.port)).map_err(|source| {
            SimError::Bind {
                port: opts.port,
                source,
            }
        })?;
        let bind_err = |source| SimError::Bind {
            port: opts.port,
            source,
        };
        listener.set_nonblocking(true).map_err(bind_err)?;
        let port = listener.local_addr().map_err(bind_err)?.port();
        let scheme = if opts.tls { "https" } else { "http" };
        let base_url = format!("{scheme}://127.0.0.1:{port}");
        let tls = if opts.tls {
            Some(tls_material()?)
        } else {
            None
        };
        let inner = Arc::new(Inner {
            org: Mutex::new(org),
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(opts.seed)),
            opts: Mutex::new(opts),
            calls: Mutex::new(BTreeMap::new()),
            api_calls: AtomicU64::new(0),
            records_written: AtomicU64::new(0),
            usage_base: AtomicU64::new(0),
            tokens: Mutex::new(HashMap::new()),
            cursors: Mutex::new(HashMap::new()),
            cursor_seq: AtomicU64::new(0),
            faults: Mutex::new(BTreeMap::new()),
            base_url: base_url.clone(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let handle = axum_server::Handle::new();
        let h2 = handle.clone();
        let cert_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let task = match tls {
            Some(t) => {
                let cfg = axum_server::tls_rustls::RustlsConfig::from_config(t.config);
                let server = axum_server::from_tcp_rustls(listener, cfg).handle(h2);
                tokio::spawn(async move {
                    if let Err(e) = server.serve(app.into_make_service()).await {
                        tracing::error!(error = %e, "sim-salesforce server stopped");
                    }
                })
            }
            None => {
                let server = axum_server::from_tcp(listener).handle(h2);
                tokio::spawn(async move {
                    if let Err(e) = server.serve(app.into_make_service()).await {
                        tracing::error!(error = %e, "sim-salesforce server stopped");
                    }
                })
            }
        };
        tracing::info!(%base_url, "sim-salesforce listening");
        Ok(RunningSim {
            base_url,
            inner,
            handle,
            _task: task,
            cert_pem,
        })
    }
}

struct TlsMaterial {
    config: Arc<rustls::ServerConfig>,
    ca_pem: String,
}

/// A throwaway CA and a leaf for 127.0.0.1 / localhost signed by it (clients trust the CA).
fn tls_material() -> Result<TlsMaterial, SimError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let e = |e: rcgen::Error| SimError::Tls(e.to_string());
    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sim-salesforce test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key).map_err(e)?;
    let leaf_key = KeyPair::generate().map_err(e)?;
    let mut lp =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).map_err(e)?;
    lp.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    lp.use_authority_key_identifier_extension = true;
    lp.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    lp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = lp.signed_by(&leaf_key, &ca, &ca_key).map_err(e)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SimError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
    .map_err(|e| SimError::Tls(e.to_string()))?;
    Ok(TlsMaterial {
        config: Arc::new(config),
        ca_pem: ca.pem(),
    })
}

/// A started simulator; stops when dropped (or with [`RunningSim::shutdown`]).
pub struct RunningSim {
    base_url: String,
    inner: Arc<Inner>,
    handle: axum_server::Handle,
    _task: tokio::task::JoinHandle<()>,
    cert_pem: Option<String>,
}

impl RunningSim {
    /// `http(s)://127.0.0.1:PORT`: the login URL and the `instance_url`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    /// `{"salesforce": {sObject: [records], "credentials": {...}}, "now": ...}` with the
    /// client secret shown as `[redacted]` (same as `GET /__sim/state`).
    pub fn state(&self) -> Value {
        state_json(&self.inner)
    }
    /// The records of one sObject table (soft-deleted ones included), as REST renders them.
    pub fn records(&self, sobject: &str) -> Vec<Value> {
        let org = lock(&self.inner.org);
        org.records(sobject)
            .iter()
            .map(|r| record_value(sobject, r))
            .collect()
    }
    pub fn record(&self, sobject: &str, id: &str) -> Option<Value> {
        let org = lock(&self.inner.org);
        org.by_id(id)
            .filter(|(t, _)| *t == sobject)
            .map(|(t, r)| record_value(t, r))
    }
    /// Test hook: inserts or replaces a record by `Id` (generated when absent; unknown
    /// fields get an inferred type). Bumps SystemModstamp to the clock unless the record
    /// gives one. Panics on a record the fixture loader would refuse (a test bug); see
    /// [`RunningSim::try_upsert_record`].
    pub fn upsert_record(&self, sobject: &str, record: Value) {
        if let Err(e) = self.try_upsert_record(sobject, record) {
            panic!("upsert_record({sobject}): {e}");
        }
    }
    /// [`RunningSim::upsert_record`] returning the record's id, or the refusal.
    pub fn try_upsert_record(&self, sobject: &str, record: Value) -> Result<String, SimError> {
        let Value::Object(rec) = record else {
            return Err(SimError::Fixture(format!(
                "{sobject}: a record must be a JSON object"
            )));
        };
        lock(&self.inner.org)
            .upsert(sobject, rec)
            .map_err(|e| SimError::Fixture(format!("{sobject}: {e}")))
    }
    /// Calls by endpoint kind (`token`, `query`, `queryAll`, `describe`, `sobject_get`,
    /// `sobject_patch`, `composite`, `limits`, `versions`), counted on arrival, including
    /// refused and faulted ones.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.calls).clone()
    }
    /// Data calls refused or faulted so far by kind: `session_invalid` (401),
    /// `request_limit` (403 REQUEST_LIMIT_EXCEEDED), `timeout`, `http_500`.
    pub fn faults(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.faults).clone()
    }
    /// Calls counted against the daily quota (authenticated data calls; not token calls).
    pub fn api_calls(&self) -> u64 {
        self.inner.api_calls.load(Ordering::SeqCst)
    }
    /// Records written so far: one per successful `sobject_patch`, one per record a
    /// `composite` call applied (failed and rolled-back records are not counted). With
    /// [`RunningSim::calls`]' `composite` count it shows how full the composite batches were
    /// (the budget floor counts ⌈records written / 200⌉ composite calls).
    pub fn records_written(&self) -> u64 {
        self.inner.records_written.load(Ordering::SeqCst)
    }
    /// Requests spent in the current 24 h window, as `Sforce-Limit-Info` reports them.
    pub fn api_usage(&self) -> u64 {
        api_usage(&self.inner, &lock(&self.inner.opts))
    }
    /// The daily usage now reads `used` (calls after count on from it): `0` is the quota
    /// resetting, `daily_api_limit` exhausts it mid-run (403 `REQUEST_LIMIT_EXCEEDED`).
    /// [`RunningSim::api_calls`] keeps counting every metered call.
    pub fn set_api_usage(&self, used: u64) {
        set_api_usage(&self.inner, used);
    }
    /// Every token issued so far is refused from now on (401 `INVALID_SESSION_ID`), as when
    /// an admin revokes the sessions mid-run; new tokens work.
    pub fn expire_sessions(&self) {
        lock(&self.inner.tokens).clear();
    }
    /// Replaces the options for the calls that follow (port, seed and tls are ignored).
    pub fn set_options(&self, o: SimOptions) {
        *lock(&self.inner.opts) = o;
    }
    pub fn options(&self) -> SimOptions {
        lock(&self.inner.opts).clone()
    }
    /// Sets the clock to read `now` from this instant on, running at wall speed (`None` =
    /// system time). Writes stamp SystemModstamp/LastModifiedDate with it (token age is
    /// wall time, so moving the clock keeps sessions alive).
    pub fn set_now(&self, now: Option<DateTime<Utc>>) {
        lock(&self.inner.org).set_clock(now);
    }
    pub fn now(&self) -> DateTime<Utc> {
        lock(&self.inner.org).now()
    }
    /// The CA certificate (PEM) clients must trust when `tls` is on.
    pub fn tls_cert_pem(&self) -> Option<String> {
        self.cert_pem.clone()
    }
    /// Stops accepting calls and closes connections (also done on drop).
    pub fn shutdown(self) {}
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.handle
            .graceful_shutdown(Some(Duration::from_millis(500)));
    }
}

fn record_value(sobject: &str, r: &org::Record) -> Value {
    let mut m = Map::new();
    let id = r.get("Id").and_then(Value::as_str).unwrap_or_default();
    m.insert(
        "attributes".into(),
        json!({"type": sobject, "url": format!("/services/data/v62.0/sobjects/{sobject}/{id}")}),
    );
    for (k, v) in r {
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m)
}

fn state_json(inner: &Inner) -> Value {
    let org = lock(&inner.org);
    let mut sf = Map::new();
    for (t, recs) in &org.tables {
        sf.insert(
            t.clone(),
            Value::Array(recs.iter().map(|r| record_value(t, r)).collect()),
        );
    }
    let c = &org.credentials;
    sf.insert(
        "credentials".into(),
        json!({
            "clientId": c.client_id,
            "clientSecret": "[redacted]",
            "username": c.username,
            "certificate": c.certificate,
            "publicKey": c.public_key,
        }),
    );
    json!({"salesforce": sf, "now": org::format_datetime(org.now())})
}

// ------------------------------------------------------------------ responses

fn json_body(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body,
    )
        .into_response()
}

fn j(status: StatusCode, v: &J) -> Response {
    json_body(status, v.render())
}

/// A REST error: always a JSON array of `{message, errorCode[, fields]}`.
fn rest_error(
    status: StatusCode,
    code: &str,
    message: &str,
    fields: Option<&[String]>,
) -> Response {
    let mut o = vec![
        ("message".to_owned(), J::str(message)),
        ("errorCode".to_owned(), J::str(code)),
    ];
    if let Some(f) = fields {
        o.push((
            "fields".to_owned(),
            J::A(f.iter().map(|s| J::str(s.clone())).collect()),
        ));
    }
    j(status, &J::A(vec![J::O(o)]))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_body(
        status,
        json!({"error": error, "error_description": description}).to_string(),
    )
}

fn not_found() -> Response {
    rest_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
        None,
    )
}

fn method_not_allowed(method: &Method, allowed: &str) -> Response {
    rest_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        &format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
        None,
    )
}

// ------------------------------------------------------------------ routing

fn query_params(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn is_version(s: &str) -> bool {
    s.strip_prefix('v').is_some_and(|n| {
        n.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
    })
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_owned();
    let params = query_params(&uri);
    match (method.as_str(), path.as_str()) {
        ("GET", "/__sim/state") => return axum::Json(state_json(&inner)).into_response(),
        ("GET", "/__sim/calls") => {
            let opts = lock(&inner.opts).clone();
            let v = json!({
                "byEndpoint": *lock(&inner.calls),
                "apiCalls": inner.api_calls.load(Ordering::SeqCst),
                "recordsWritten": inner.records_written.load(Ordering::SeqCst),
                "apiUsage": {"used": api_usage(&inner, &opts), "max": opts.daily_api_limit},
            });
            return axum::Json(v).into_response();
        }
        ("POST", "/__sim/quota") => {
            let Ok(used) = param(&params, "used").unwrap_or("0").parse() else {
                return (StatusCode::BAD_REQUEST, "used must be a whole number").into_response();
            };
            set_api_usage(&inner, used);
            return StatusCode::NO_CONTENT.into_response();
        }
        ("POST", "/__sim/sessions/expire") => {
            lock(&inner.tokens).clear();
            return StatusCode::NO_CONTENT.into_response();
        }
        ("POST", "/__sim/clock") => {
            let now = match param(&params, "now") {
                None | Some("") => None,
                Some(s) => match org::parse_datetime(s) {
                    Some(t) => Some(t),
                    None => {
                        return (
                            StatusCode::BAD_REQUEST,
                            format!("now={s:?} is not an ISO date-time"),
                        )
                            .into_response()
                    }
                },
            };
            lock(&inner.org).set_clock(now);
            return StatusCode::NO_CONTENT.into_response();
        }
        (_, "/services/oauth2/token") => {
            count(&inner, "token");
            if method != Method::POST {
                return method_not_allowed(&method, "POST");
            }
            let latency = lock(&inner.opts).latency;
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            return token(&inner, &headers, &params, &body);
        }
        (_, "/services/data") => {
            count(&inner, "versions");
            return versions();
        }
        _ => {}
    }
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    if segs.len() < 3 || segs[0] != "services" || segs[1] != "data" || !is_version(segs[2]) {
        return not_found();
    }
    let version = segs[2].to_owned();
    let rest: Vec<String> = segs[3..].iter().map(|s| (*s).to_owned()).collect();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let (kind, allowed): (&'static str, &str) = match rest.as_slice() {
        ["query"] | ["query", _] => ("query", "GET"),
        ["queryAll"] | ["queryAll", _] => ("queryAll", "GET"),
        ["sobjects", _, "describe"] => ("describe", "GET"),
        ["sobjects", _, "deleted"] => ("deleted", "GET"),
        ["sobjects", _, _] if method == Method::PATCH => ("sobject_patch", "GET,PATCH"),
        ["sobjects", _, _] => ("sobject_get", "GET,PATCH"),
        ["composite", "sobjects"] => ("composite", "PATCH"),
        ["composite"] => ("composite_request", "POST"),
        ["limits"] => ("limits", "GET"),
        _ => {
            count(&inner, "unknown");
            return not_found();
        }
    };
    // query-more of a queryAll cursor counts as queryAll
    let kind = match rest.as_slice() {
        ["query", loc] => lock(&inner.cursors)
            .get(loc.rsplit_once('-').map_or(*loc, |(l, _)| l))
            .map_or(kind, |c| c.kind),
        _ => kind,
    };
    count(&inner, kind);
    if !allowed.split(',').any(|m| m == method.as_str()) {
        return method_not_allowed(&method, allowed);
    }
    let opts = lock(&inner.opts).clone();
    // authentication before the quota and faults, as the real API does
    if !authenticate(&inner, &headers, &opts) {
        count_fault(&inner, "session_invalid");
        return session_invalid();
    }
    let used = api_usage(&inner, &opts);
    if used >= opts.daily_api_limit {
        count_fault(&inner, "request_limit");
        let mut r = rest_error(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
            None,
        );
        set_limit_header(&mut r, used, opts.daily_api_limit);
        return r;
    }
    let n = inner.api_calls.fetch_add(1, Ordering::SeqCst) + 1;
    let used = opts.api_usage_start + n.saturating_sub(inner.usage_base.load(Ordering::SeqCst));
    if !opts.latency.is_zero() {
        tokio::time::sleep(opts.latency).await;
    }
    let mut resp = 'r: {
        if opts.fault_endpoints.is_empty() || opts.fault_endpoints.iter().any(|k| k == kind) {
            let r: f64 = lock(&inner.rng).random();
            if r < opts.timeout_rate {
                count_fault(&inner, "timeout");
                tokio::time::sleep(opts.timeout_delay).await;
                break 'r rest_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVER_UNAVAILABLE",
                    "Server temporarily unavailable (simulated timeout)",
                    None,
                );
            }
            if r < opts.timeout_rate + opts.http_500_rate {
                count_fault(&inner, "http_500");
                break 'r rest_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN_EXCEPTION",
                    "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)",
                    None,
                );
            }
        }
        match (kind, rest.as_slice()) {
            ("query" | "queryAll", [_]) => {
                start_query(&inner, &opts, &version, kind, &params, &headers)
            }
            (_, ["query" | "queryAll", loc]) => query_more(&inner, &version, loc),
            ("describe", ["sobjects", t, _]) => describe(&inner, t, &version),
            ("deleted", ["sobjects", t, _]) => deleted(&inner, t, &params),
            ("sobject_get", ["sobjects", t, id]) => sobject_get(&inner, t, id, &version, &params),
            ("sobject_patch", ["sobjects", t, id]) => sobject_patch(&inner, &opts, t, id, &body),
            ("composite", _) => composite(&inner, &opts, &body),
            ("composite_request", _) => composite_request(&inner, &opts, &version, &body).await,
            ("limits", _) => limits(used, &opts),
            _ => not_found(),
        }
    };
    set_limit_header(&mut resp, used, opts.daily_api_limit);
    resp
}

/// Requests spent in the current window: the options' starting usage plus the metered calls
/// since the usage was last set.
fn api_usage(inner: &Inner, opts: &SimOptions) -> u64 {
    let since = inner
        .api_calls
        .load(Ordering::SeqCst)
        .saturating_sub(inner.usage_base.load(Ordering::SeqCst));
    opts.api_usage_start + since
}

fn set_api_usage(inner: &Inner, used: u64) {
    let mut opts = lock(&inner.opts);
    inner
        .usage_base
        .store(inner.api_calls.load(Ordering::SeqCst), Ordering::SeqCst);
    opts.api_usage_start = used;
}

fn count_fault(inner: &Inner, kind: &str) {
    *lock(&inner.faults).entry(kind.to_owned()).or_default() += 1;
}

fn count(inner: &Inner, kind: &str) {
    *lock(&inner.calls).entry(kind.to_owned()).or_default() += 1;
}

fn set_limit_header(r: &mut Response, used: u64, max: u64) {
    if let Ok(v) = HeaderValue::from_str(&format!("api-usage={used}/{max}")) {
        r.headers_mut().insert("Sforce-Limit-Info", v);
    }
}

fn session_invalid() -> Response {
    let mut r = rest_error(
        StatusCode::UNAUTHORIZED,
        "INVALID_SESSION_ID",
        "Session expired or invalid",
        None,
    );
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
    r
}

/// Bearer token check (and per-token call count); false → 401 INVALID_SESSION_ID.
fn authenticate(inner: &Inner, headers: &HeaderMap, opts: &SimOptions) -> bool {
    authenticate_inner(inner, headers, opts).is_some()
}

fn authenticate_inner(inner: &Inner, headers: &HeaderMap, opts: &SimOptions) -> Option<()> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("OAuth "))
        })
        .map(str::trim)?;
    let mut tokens = lock(&inner.tokens);
    let t = tokens.get_mut(token)?;
    // wall time: moving the sim clock (set_now) does not kill sessions
    if t.issued.elapsed() >= opts.token_ttl {
        return None;
    }
    if opts.expire_session_after.is_some_and(|n| t.calls >= n) {
        return None;
    }
    t.calls += 1;
    Some(())
}

fn versions() -> Response {
    let list: Vec<Value> = (55..=62)
        .map(|v| {
            json!({"label": format!("API v{v}.0"), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0")})
        })
        .collect();
    json_body(StatusCode::OK, Value::Array(list).to_string())
}

// ------------------------------------------------------------------ OAuth

fn token(inner: &Inner, headers: &HeaderMap, params: &[(String, String)], body: &[u8]) -> Response {
    let mut form: Vec<(String, String)> = match serde_urlencoded::from_bytes(body) {
        Ok(f) => f,
        Err(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "request body is not application/x-www-form-urlencoded",
            )
        }
    };
    form.extend(params.iter().cloned());
    let grant = param(&form, "grant_type").unwrap_or_default().to_owned();
    let creds = lock(&inner.org).credentials.clone();
    match grant.as_str() {
        "client_credentials" => {
            let (mut id, mut secret) = (
                param(&form, "client_id").map(str::to_owned),
                param(&form, "client_secret").map(str::to_owned),
            );
            if let Some((u, p)) = basic_auth(headers) {
                id.get_or_insert(u);
                secret.get_or_insert(p);
            }
            if id.as_deref() != Some(creds.client_id.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client_id",
                    "client identifier invalid",
                );
            }
            if secret.as_deref() != Some(creds.client_secret.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client",
                    "invalid client credentials",
                );
            }
            issue_token(inner)
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let Some(assertion) = param(&form, "assertion") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "assertion is required",
                );
            };
            match jwt::verify(assertion, &creds, &inner.base_url, Utc::now().timestamp()) {
                Ok(_) => issue_token(inner),
                Err((e, d)) => oauth_error(StatusCode::BAD_REQUEST, e, d),
            }
        }
        "" => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant type not supported",
        ),
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant type not supported",
        ),
    }
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(h.strip_prefix("Basic ")?.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

fn random_alnum(inner: &Inner, n: usize) -> String {
    const CH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = lock(&inner.rng);
    (0..n)
        .map(|_| CH[rng.random_range(0..CH.len())] as char)
        .collect()
}

fn issue_token(inner: &Inner) -> Response {
    use base64::Engine;
    let token = format!("{}!AQ{}", &org::ORG_ID[..15], random_alnum(inner, 96));
    let sig_bytes: Vec<u8> = random_alnum(inner, 32).into_bytes();
    let signature = base64::engine::general_purpose::STANDARD.encode(sig_bytes);
    let (now, user_id) = {
        let org = lock(&inner.org);
        (org.now(), org.user_id())
    };
    lock(&inner.tokens).insert(
        token.clone(),
        Token {
            issued: std::time::Instant::now(),
            calls: 0,
        },
    );
    let body = J::O(vec![
        ("access_token".into(), J::str(token)),
        ("signature".into(), J::str(signature)),
        ("scope".into(), J::str("api")),
        ("instance_url".into(), J::str(inner.base_url.clone())),
        (
            "id".into(),
            J::str(format!("{}/id/{}/{}", inner.base_url, org::ORG_ID, user_id)),
        ),
        ("token_type".into(), J::str("Bearer")),
        (
            "issued_at".into(),
            J::str(now.timestamp_millis().to_string()),
        ),
    ]);
    j(StatusCode::OK, &body)
}

// ------------------------------------------------------------------ query

/// `Sforce-Query-Options: batchSize=N`, clamped to 200..=2000, then capped by the option.
fn batch_size(headers: &HeaderMap, opts: &SimOptions) -> usize {
    let asked = headers
        .get("Sforce-Query-Options")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            h.split([';', ','])
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        })
        .map_or(2000, |n| n.clamp(200, 2000));
    asked.min(opts.max_batch_size.max(1) as usize)
}

fn start_query(
    inner: &Inner,
    opts: &SimOptions,
    version: &str,
    kind: &'static str,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> Response {
    let Some(q) = param(params, "q").filter(|q| !q.trim().is_empty()) else {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "A query string has to be specified",
            None,
        );
    };
    let result = {
        let org = lock(&inner.org);
        soql::execute(&org, q, kind == "queryAll", version)
    };
    let exec = match result {
        Ok(e) => e,
        Err(e) => return rest_error(StatusCode::BAD_REQUEST, e.code, &e.message, None),
    };
    let seq = inner.cursor_seq.fetch_add(1, Ordering::SeqCst) + 1;
    let locator = schema::id18(&format!("01gSm{seq:010}"));
    let cursor = Cursor {
        seq,
        records: exec.records,
        total: exec.total,
        batch: batch_size(headers, opts),
        kind,
    };
    let resp = page(&cursor, &locator, 0, version);
    let mut cursors = lock(&inner.cursors);
    // keep the most recent cursors only (a long-running binary must not grow forever)
    if cursors.len() >= MAX_CURSORS {
        let oldest = cursors
            .iter()
            .min_by_key(|(_, c)| c.seq)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            cursors.remove(&k);
        }
    }
    cursors.insert(locator, cursor);
    resp
}

fn page(c: &Cursor, locator: &str, offset: usize, version: &str) -> Response {
    let mut end = offset;
    let mut cost = 0;
    while end < c.records.len() {
        let k = c.records[end].1;
        // child rows count toward the batch: a page may be short
        if end > offset && cost + k > c.batch {
            break;
        }
        cost += k;
        end += 1;
    }
    let done = end >= c.records.len();
    let mut body = vec![
        ("totalSize".to_owned(), J::V(c.total.into())),
        ("done".to_owned(), J::V(done.into())),
    ];
    if !done {
        body.push((
            "nextRecordsUrl".to_owned(),
            J::str(format!("/services/data/{version}/query/{locator}-{end}")),
        ));
    }
    body.push((
        "records".to_owned(),
        J::A(
            c.records[offset..end]
                .iter()
                .map(|(r, _)| r.clone())
                .collect(),
        ),
    ));
    j(StatusCode::OK, &J::O(body))
}

/// `POST /composite` (one API call): each subrequest runs as its own request would, and
/// answers `{"compositeResponse": [{body, httpHeaders, httpStatusCode, referenceId}]}` in
/// request order. Only read subrequests are supported (query, queryAll, query-more), at most
/// 25 and at most 5 of them queries, as Salesforce allows; `allOrNone` turns every answer
/// into a 400 when one subrequest failed.
async fn composite_request(
    inner: &Inner,
    opts: &SimOptions,
    version: &str,
    body: &[u8],
) -> Response {
    let bad = |m: &str| rest_error(StatusCode::BAD_REQUEST, "INVALID_BATCH_REQUEST", m, None);
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "the request body is not JSON",
            None,
        );
    };
    let Some(subs) = req.get("compositeRequest").and_then(Value::as_array) else {
        return bad("compositeRequest is required");
    };
    if subs.is_empty() || subs.len() > 25 {
        return bad("a composite request takes 1 to 25 subrequests");
    }
    if subs.len() > 5 {
        return bad("a composite request takes at most 5 query subrequests");
    }
    let all_or_none = req.get("allOrNone").and_then(Value::as_bool) == Some(true);
    let mut answers = Vec::new();
    for sub in subs {
        let reference = sub
            .get("referenceId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let resp = composite_sub(inner, opts, version, sub);
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        answers.push(json!({"body": body, "httpHeaders": {}, "httpStatusCode": status, "referenceId": reference}));
    }
    if all_or_none
        && answers
            .iter()
            .any(|a| a["httpStatusCode"].as_u64().is_none_or(|c| c >= 300))
    {
        for a in &mut answers {
            if a["httpStatusCode"].as_u64().is_some_and(|c| c < 300) {
                a["httpStatusCode"] = json!(400);
                a["body"] = json!([{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}]);
            }
        }
    }
    (
        StatusCode::OK,
        axum::Json(json!({"compositeResponse": answers})),
    )
        .into_response()
}

/// One subrequest of [`composite_request`]: a `GET` of `/services/data/<version>/query?q=`,
/// `…/queryAll?q=` or `…/query/<locator>-<offset>`, with its own `Sforce-Query-Options`.
fn composite_sub(inner: &Inner, opts: &SimOptions, version: &str, sub: &Value) -> Response {
    let bad = |m: String| rest_error(StatusCode::BAD_REQUEST, "INVALID_BATCH_REQUEST", &m, None);
    let method = sub
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let url = sub.get("url").and_then(Value::as_str).unwrap_or_default();
    if method != "GET" {
        return bad(format!(
            "the simulator's composite takes GET subrequests only, not {method:?}"
        ));
    }
    let Ok(uri) = url.parse::<Uri>() else {
        return bad(format!("{url:?} is not a URL"));
    };
    let params = query_params(&uri);
    let mut headers = HeaderMap::new();
    if let Some(Value::Object(h)) = sub.get("httpHeaders") {
        for (k, v) in h {
            if let (Ok(name), Some(Ok(value))) = (
                axum::http::HeaderName::from_bytes(k.as_bytes()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    let prefix = format!("/services/data/{version}/");
    let rest = uri.path().strip_prefix(&prefix).unwrap_or_default();
    match rest
        .trim_end_matches('/')
        .split('/')
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["query"] => start_query(inner, opts, version, "query", &params, &headers),
        ["queryAll"] => start_query(inner, opts, version, "queryAll", &params, &headers),
        ["query" | "queryAll", loc] => query_more(inner, version, loc),
        _ => bad(format!(
            "{url:?} is not a query subrequest of API {version}"
        )),
    }
}

fn query_more(inner: &Inner, version: &str, loc: &str) -> Response {
    let bad = || {
        rest_error(
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
            None,
        )
    };
    let Some((locator, offset)) = loc.rsplit_once('-') else {
        return bad();
    };
    let Ok(offset) = offset.parse::<usize>() else {
        return bad();
    };
    let cursors = lock(&inner.cursors);
    match cursors.get(locator) {
        Some(c) if offset < c.records.len() => page(c, locator, offset, version),
        _ => bad(),
    }
}

// ------------------------------------------------------------------ sObjects

fn describe(inner: &Inner, sobject: &str, version: &str) -> Response {
    let org = lock(&inner.org);
    let Some(def) = org.object(sobject) else {
        return not_found();
    };
    let name = def.name.clone();
    let fields: Vec<J> = def
        .fields
        .iter()
        .map(|f| {
            J::O(vec![
                ("name".into(), J::str(f.name.clone())),
                ("label".into(), J::str(label(&f.name))),
                ("type".into(), J::str(f.ftype.name())),
                ("length".into(), J::V(f.length.into())),
                ("custom".into(), J::V(f.custom.into())),
                ("nillable".into(), J::V(f.nillable.into())),
                ("updateable".into(), J::V(f.updateable.into())),
                (
                    "createable".into(),
                    J::V((f.updateable || f.name.ends_with("Id") && f.name != "Id").into()),
                ),
                ("calculated".into(), J::V(false.into())),
                ("filterable".into(), J::V(true.into())),
                ("sortable".into(), J::V(true.into())),
                ("restrictedPicklist".into(), J::V(f.restricted.into())),
                (
                    "picklistValues".into(),
                    J::A(
                        f.picklist
                            .iter()
                            .map(|p| {
                                J::O(vec![
                                    ("active".into(), J::V(true.into())),
                                    ("defaultValue".into(), J::V(false.into())),
                                    ("label".into(), J::str(p.clone())),
                                    ("validFor".into(), J::null()),
                                    ("value".into(), J::str(p.clone())),
                                ])
                            })
                            .collect(),
                    ),
                ),
                (
                    "referenceTo".into(),
                    J::A(f.reference_to.iter().map(|r| J::str(r.clone())).collect()),
                ),
                (
                    "relationshipName".into(),
                    f.relationship_name.clone().map_or(J::null(), J::str),
                ),
            ])
        })
        .collect();
    let children: Vec<J> = def
        .children
        .iter()
        .map(|c| {
            J::O(vec![
                ("childSObject".into(), J::str(c.child.clone())),
                ("field".into(), J::str(c.field.clone())),
                ("relationshipName".into(), J::str(c.name.clone())),
                ("cascadeDelete".into(), J::V(false.into())),
            ])
        })
        .collect();
    let all_ro = def.fields.iter().all(|f| !f.updateable);
    let base = format!("/services/data/{version}/sobjects/{name}");
    let body = J::O(vec![
        ("name".into(), J::str(name.clone())),
        ("label".into(), J::str(label(&name))),
        ("keyPrefix".into(), J::str(def.key_prefix.clone())),
        ("custom".into(), J::V(name.ends_with("__c").into())),
        ("queryable".into(), J::V(true.into())),
        ("retrieveable".into(), J::V(true.into())),
        ("updateable".into(), J::V((!all_ro).into())),
        ("createable".into(), J::V((!all_ro).into())),
        ("deletable".into(), J::V((!all_ro).into())),
        ("childRelationships".into(), J::A(children)),
        ("fields".into(), J::A(fields)),
        (
            "urls".into(),
            J::O(vec![
                ("sobject".into(), J::str(base.clone())),
                ("describe".into(), J::str(format!("{base}/describe"))),
                ("rowTemplate".into(), J::str(format!("{base}/{{ID}}"))),
            ]),
        ),
    ]);
    j(StatusCode::OK, &body)
}

/// `FNO_Account_ID__c` → `FNO Account ID`, `ShippingCity` → `Shipping City`.
fn label(api: &str) -> String {
    let base = api.strip_suffix("__c").unwrap_or(api).replace('_', " ");
    let mut out = String::new();
    let chars: Vec<char> = base.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() && chars[i - 1].is_ascii_lowercase() {
            out.push(' ');
        }
        out.push(*c);
    }
    out
}

fn sobject_get(
    inner: &Inner,
    sobject: &str,
    id: &str,
    version: &str,
    params: &[(String, String)],
) -> Response {
    let org = lock(&inner.org);
    let Some(def) = org.object(sobject) else {
        return not_found();
    };
    let Some((t, rec)) = org.by_id(id) else {
        return not_found();
    };
    if t != def.name {
        return not_found();
    }
    let wanted: Option<Vec<String>> =
        param(params, "fields").map(|f| f.split(',').map(|s| s.trim().to_owned()).collect());
    let mut o = vec![(
        "attributes".to_owned(),
        J::O(vec![
            ("type".into(), J::str(t)),
            (
                "url".into(),
                J::str(format!(
                    "/services/data/{version}/sobjects/{t}/{}",
                    rec.get("Id").and_then(Value::as_str).unwrap_or(id)
                )),
            ),
        ]),
    )];
    match wanted {
        Some(list) => {
            for f in list {
                let Some(fd) = def.field(&f) else {
                    return rest_error(
                        StatusCode::BAD_REQUEST,
                        "INVALID_FIELD",
                        &format!("No such column '{f}' on sobject of type {}", def.name),
                        None,
                    );
                };
                o.push((
                    fd.name.clone(),
                    J::V(rec.get(&fd.name).cloned().unwrap_or(Value::Null)),
                ));
            }
        }
        None => {
            for fd in &def.fields {
                o.push((
                    fd.name.clone(),
                    J::V(rec.get(&fd.name).cloned().unwrap_or(Value::Null)),
                ));
            }
        }
    }
    j(StatusCode::OK, &J::O(o))
}

fn parse_body(body: &[u8]) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(rest_error(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            &format!("The request body is not valid JSON: {e}"),
            None,
        ))
    })
}

/// The `lock_row_rate` draw for one record written through `kind`.
fn row_locked(inner: &Inner, opts: &SimOptions, kind: &str) -> bool {
    opts.lock_row_rate > 0.0
        && (opts.fault_endpoints.is_empty() || opts.fault_endpoints.iter().any(|k| k == kind))
        && lock(&inner.rng).random::<f64>() < opts.lock_row_rate
}

const LOCKED: &str = "unable to obtain exclusive access to this record or 1 records";

fn sobject_patch(
    inner: &Inner,
    opts: &SimOptions,
    sobject: &str,
    id: &str,
    body: &[u8],
) -> Response {
    let v = match parse_body(body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Value::Object(fields) = v else {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of SObject from a non-object JSON value",
            None,
        );
    };
    let mut org = lock(&inner.org);
    match org.check_update(sobject, id, &fields) {
        Ok(_) if row_locked(inner, opts, "sobject_patch") => rest_error(
            StatusCode::BAD_REQUEST,
            "UNABLE_TO_LOCK_ROW",
            &format!("{LOCKED}: {id}"),
            None,
        ),
        Ok((table, full_id, values)) => {
            org.apply_update(&table, &full_id, values);
            inner.records_written.fetch_add(1, Ordering::SeqCst);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => rest_error(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            &e.code,
            &e.message,
            if e.fields.is_empty() {
                None
            } else {
                Some(&e.fields)
            },
        ),
    }
}

fn save_error(code: &str, message: &str, fields: &[String]) -> J {
    J::O(vec![
        ("statusCode".into(), J::str(code)),
        ("message".into(), J::str(message)),
        (
            "fields".into(),
            J::A(fields.iter().map(|f| J::str(f.clone())).collect()),
        ),
    ])
}

/// `PATCH /composite/sobjects`: ≤ 200 records, results in request order, allOrNone.
fn composite(inner: &Inner, opts: &SimOptions, body: &[u8]) -> Response {
    let v = match parse_body(body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let all_or_none = match v.get("allOrNone") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return rest_error(
                StatusCode::BAD_REQUEST,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of boolean from allOrNone",
                None,
            )
        }
    };
    let Some(records) = v.get("records").and_then(Value::as_array) else {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "records: expected a JSON array of sObjects",
            None,
        );
    };
    if records.len() > 200 {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
            None,
        );
    }
    // mixed types are processed in chunks of consecutive records of one type, at most 10
    // (the limit is documented; the refusal's code is the sim's choice: UNCONFIRMED)
    let types: Vec<Option<&str>> = records
        .iter()
        .map(|r| r.pointer("/attributes/type").and_then(Value::as_str))
        .collect();
    let chunks = types.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(!types.is_empty());
    if chunks > 10 {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "INVALID_BATCH_REQUEST",
            "Cannot have more than 10 chunks in a single operation. Please rearrange the data to reduce chunking.",
            None,
        );
    }
    let mut org = lock(&inner.org);
    type Checked = Result<(String, String, Vec<(String, Value)>), (Option<String>, J)>;
    let checked: Vec<Checked> = records
        .iter()
        .map(|r| {
            let Some(obj) = r.as_object() else {
                return Err((
                    None,
                    save_error("JSON_PARSER_ERROR", "record is not a JSON object", &[]),
                ));
            };
            let id = obj
                .get("id")
                .or_else(|| obj.get("Id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let Some(t) = obj
                .get("attributes")
                .and_then(|a| a.get("type"))
                .and_then(Value::as_str)
            else {
                return Err((
                    id,
                    save_error("INVALID_TYPE", "Must send a concrete entity type.", &[]),
                ));
            };
            let Some(rid) = id.clone() else {
                return Err((
                    None,
                    save_error(
                        "MISSING_ARGUMENT",
                        "Id not specified in an update call",
                        &[],
                    ),
                ));
            };
            org.check_update(t, &rid, obj)
                .map_err(|e| {
                    let code = if e.code == "NOT_FOUND" {
                        "INVALID_CROSS_REFERENCE_KEY"
                    } else {
                        e.code.as_str()
                    };
                    let msg = if e.code == "NOT_FOUND" {
                        "invalid cross reference id".to_owned()
                    } else {
                        e.message.clone()
                    };
                    (Some(rid.clone()), save_error(code, &msg, &e.fields))
                })
                .and_then(|ok| {
                    if row_locked(inner, opts, "composite") {
                        let msg = format!("{LOCKED}: {rid}");
                        return Err((Some(rid), save_error("UNABLE_TO_LOCK_ROW", &msg, &[])));
                    }
                    Ok(ok)
                })
        })
        .collect();
    let any_failed = checked.iter().any(Result::is_err);
    let mut results = Vec::new();
    for c in checked {
        let item = match c {
            Err((id, err)) => J::O(vec![
                ("id".into(), id.map_or(J::null(), J::str)),
                ("success".into(), J::V(false.into())),
                ("errors".into(), J::A(vec![err])),
            ]),
            Ok((_, id, _)) if all_or_none && any_failed => J::O(vec![
                ("id".into(), J::str(id)),
                ("success".into(), J::V(false.into())),
                (
                    "errors".into(),
                    J::A(vec![save_error(
                        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "Record rolled back because not all records were valid and the request was using AllOrNone header",
                        &[],
                    )]),
                ),
            ]),
            Ok((table, id, values)) => {
                org.apply_update(&table, &id, values);
                inner.records_written.fetch_add(1, Ordering::SeqCst);
                J::O(vec![
                    ("id".into(), J::str(id)),
                    ("success".into(), J::V(true.into())),
                    ("errors".into(), J::A(Vec::new())),
                ])
            }
        };
        results.push(item);
    }
    j(StatusCode::OK, &J::A(results))
}

/// `GET /sobjects/{Type}/deleted/?start=&end=`: soft-deleted rows whose SystemModstamp (the
/// deletion time here) lies in [start, end].
fn deleted(inner: &Inner, sobject: &str, params: &[(String, String)]) -> Response {
    let org = lock(&inner.org);
    let Some(def) = org.object(sobject) else {
        return not_found();
    };
    let bound = |k: &str| param(params, k).and_then(org::parse_datetime);
    let (Some(start), Some(end)) = (bound("start"), bound("end")) else {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "MISSING_ARGUMENT",
            "start and end are required ISO date-times (e.g. 2026-05-05T00:00:00+00:00)",
            None,
        );
    };
    if end < start {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REPLICATION_DATE",
            "end date must be after start date",
            None,
        );
    }
    let mut found: Vec<(DateTime<Utc>, String)> = org
        .records(&def.name)
        .iter()
        .filter(|r| r.get("IsDeleted") == Some(&Value::Bool(true)))
        .filter_map(|r| {
            let t = r
                .get("SystemModstamp")
                .and_then(Value::as_str)
                .and_then(org::parse_datetime)?;
            let id = r.get("Id").and_then(Value::as_str)?.to_owned();
            (t >= start && t <= end).then_some((t, id))
        })
        .collect();
    found.sort();
    let earliest = org
        .records(&def.name)
        .iter()
        .filter(|r| r.get("IsDeleted") == Some(&Value::Bool(true)))
        .filter_map(|r| r.get("SystemModstamp").and_then(Value::as_str))
        .filter_map(org::parse_datetime)
        .min()
        .unwrap_or(start);
    let latest = end.min(org.now());
    let body = J::O(vec![
        (
            "deletedRecords".into(),
            J::A(
                found
                    .into_iter()
                    .map(|(t, id)| {
                        J::O(vec![
                            ("id".into(), J::str(id)),
                            ("deletedDate".into(), J::str(org::format_datetime(t))),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "earliestDateAvailable".into(),
            J::str(org::format_datetime(earliest)),
        ),
        (
            "latestDateCovered".into(),
            J::str(org::format_datetime(latest)),
        ),
    ]);
    j(StatusCode::OK, &body)
}

fn limits(used: u64, opts: &SimOptions) -> Response {
    let max = opts.daily_api_limit;
    let body = J::O(vec![
        (
            "DailyApiRequests".into(),
            J::O(vec![
                ("Max".into(), J::V(max.into())),
                ("Remaining".into(), J::V(max.saturating_sub(used).into())),
            ]),
        ),
        (
            "DailyBulkApiBatches".into(),
            J::O(vec![
                ("Max".into(), J::V(15000.into())),
                ("Remaining".into(), J::V(15000.into())),
            ]),
        ),
        (
            "DailyBulkV2QueryJobs".into(),
            J::O(vec![
                ("Max".into(), J::V(10000.into())),
                ("Remaining".into(), J::V(10000.into())),
            ]),
        ),
        (
            "DailyBulkV2QueryFileStorageMB".into(),
            J::O(vec![
                ("Max".into(), J::V(976_562.into())),
                ("Remaining".into(), J::V(976_562.into())),
            ]),
        ),
    ]);
    j(StatusCode::OK, &body)
}
