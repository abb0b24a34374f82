//! # sim-flexnet: a FlexNet Operations tenant on 127.0.0.1
//!
//! Speaks SOAP 1.1 document/literal like a hosted FNO tenant (Apache Axis 1.4):
//!
//! | path | service | namespace |
//! |---|---|---|
//! | `/flexnet/services/v3/UserAcctHierarchyService` | accounts, users | `urn:v3.webservices.operations.flexnet.com` |
//! | `/flexnet/services/v4/EntitlementOrderService` | entitlements, line items | `urn:v4.webservices.operations.flexnet.com` |
//! | `/flexnet/services/v2/ProductPackagingService` | products, part numbers | `urn:v2.webservices.operations.flexnet.com` |
//!
//! `GET <path>?wsdl` serves the real WSDL (its `soap:address` rewritten to this simulator).
//! `POST <path>` dispatches on the first element of `soapenv:Body` (never on SOAPAction).
//! Every request is checked against the WSDL's schema (names, namespace, `xsd:sequence` order,
//! cardinality, enums) and every response the simulator renders is checked the same way
//! before it is sent, so a schema-driven client accepts it.
//!
//! Authentication: HTTP Basic against the fixture's `credentials` (or `Bearer <token>` when
//! the fixture sets `credentials.token`); anything else gets HTTP 401 with
//! `WWW-Authenticate: Basic realm="FlexNet"` and Tomcat's HTML status page.
//!
//! Operations: createAccount, updateAccount, getAccountsQuery, createUser, updateUser,
//! getUsersQuery (UAH v3); createSimpleEntitlement, createEntitlementLineItem,
//! setEntitlementState, setLineItemState, getEntitlementsQuery (`searchEntitlementRequest`),
//! getEntitlementLineItemPropertiesQuery (`searchEntitlementLineItemPropertiesRequest`),
//! renewLicense (EOS v4); getProductsQuery, getPartNumbersQuery (PPS v2).
//!
//! Test hooks outside the API paths: `GET /__sim/state` (the tenant as fixture-shaped JSON),
//! `GET /__sim/calls` (calls per operation and per endpoint), `POST /__sim/clock?now=ISO`,
//! `POST /__sim/fulfill?activationId=..&amount=N`.
//!
//! Fault injection ([`SimOptions`]): latency, HTTP 500, timeouts (the response is held longer
//! than a client waits), SOAP faults, `statusInfo` FAILURE, lost replies (the call is applied,
//! then the connection is closed before any response byte), credentials expiring after N
//! calls — rates drawn from a seeded RNG, optionally limited to some operations.

mod cut;
pub mod model;
pub mod ops;
pub mod schema;
pub mod xml;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use model::Tenant;

pub const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The served services: (path, WSDL text).
pub const SERVICES: [(&str, &str); 3] = [
    (
        "/flexnet/services/v3/UserAcctHierarchyService",
        include_str!("../wsdl/UserAcctHierarchyService.v3.wsdl"),
    ),
    (
        "/flexnet/services/v4/EntitlementOrderService",
        include_str!("../wsdl/EntitlementOrderService.v4.wsdl"),
    ),
    (
        "/flexnet/services/v2/ProductPackagingService",
        include_str!("../wsdl/ProductPackagingService.v2.wsdl"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("fixture: {0}")]
    Fixture(String),
    #[error("WSDL schema: {0}")]
    Schema(String),
    #[error("cannot bind 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
}

/// Per-run behaviour, including fault injection. Rates are probabilities per SOAP call
/// (drawn once per call from an RNG seeded with `seed`, in the order timeout, HTTP 500, SOAP
/// fault, FAILURE status, lost reply).
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Port to bind on 127.0.0.1 (0 = ephemeral).
    pub port: u16,
    /// Seeds the fault RNG and the generated activation ids.
    pub seed: u64,
    /// Added to every SOAP call.
    pub latency: Duration,
    pub http_500_rate: f64,
    /// Calls that hang for `timeout_delay` before answering HTTP 504.
    pub timeout_rate: f64,
    pub timeout_delay: Duration,
    /// HTTP 500 with a SOAP 1.1 Fault envelope.
    pub soap_fault_rate: f64,
    /// HTTP 200 with `statusInfo` FAILURE and nothing processed.
    pub failure_rate: f64,
    /// The call is applied to the tenant (a write commits), then the connection is closed
    /// before any response byte: the client sees a reset / incomplete message, as when a
    /// proxy or the network drops FNO's reply.
    pub lost_reply_rate: f64,
    /// After this many authenticated SOAP calls the credentials are refused (HTTP 401), as
    /// when the integration user's password expires mid-run.
    pub expire_credentials_after: Option<u64>,
    /// Enforce the WSDL's `xsd:sequence` order in requests (names are always enforced).
    pub strict_order: bool,
    /// Limit injected faults to these operations (WSDL operation names); empty = all.
    pub fault_operations: Vec<String>,
    /// Overrides the fixture's `now`: the simulator's clock starts there and runs at wall
    /// speed (`None` and no fixture `now` = system time).
    pub now: Option<DateTime<Utc>>,
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
            soap_fault_rate: 0.0,
            failure_rate: 0.0,
            lost_reply_rate: 0.0,
            expire_credentials_after: None,
            strict_order: true,
            fault_operations: Vec::new(),
            now: None,
        }
    }
}

/// WSDL operation name for a request body element.
pub fn operation_name(body_element: &str) -> String {
    match body_element {
        "createAcctRequest" => "createAccount".into(),
        "searchEntitlementRequest" => "getEntitlementsQuery".into(),
        "searchEntitlementLineItemPropertiesRequest" => {
            "getEntitlementLineItemPropertiesQuery".into()
        }
        other => other.strip_suffix("Request").unwrap_or(other).to_owned(),
    }
}

struct Inner {
    db: Mutex<ops::Db>,
    opts: Mutex<SimOptions>,
    rng: Mutex<rand::rngs::StdRng>,
    calls: Mutex<BTreeMap<String, u64>>,
    endpoints: Mutex<BTreeMap<String, u64>>,
    /// Injected faults by kind ([`RunningSim::faults`]).
    faults: Mutex<BTreeMap<String, u64>>,
    authed_calls: AtomicU64,
    /// Authenticated calls being answered now, and the most ever at once
    /// ([`RunningSim::max_in_flight`]).
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    schemas: Vec<schema::Schema>,
    base_url: String,
}

pub struct FlexnetSim;

impl FlexnetSim {
    /// Starts the simulator on 127.0.0.1 (`opts.port`, 0 = ephemeral). `fixture` is the whole
    /// fixture file (`{"flexnet": {...}, "now": ...}`) or just its `flexnet` section.
    pub async fn start(fixture: &Value, opts: SimOptions) -> Result<RunningSim, SimError> {
        let section = fixture.get("flexnet").unwrap_or(fixture);
        let tenant: Tenant = serde_json::from_value(section.clone())
            .map_err(|e| SimError::Fixture(format!("flexnet section: {e}")))?;
        let fixture_now = match fixture.get("now").and_then(Value::as_str) {
            Some(s) => Some(
                DateTime::parse_from_rfc3339(s)
                    .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
                    .map_err(|e| SimError::Fixture(format!("now {s:?}: {e}")))?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        let mut db = ops::Db {
            t: tenant,
            seq: 0,
            act_seq: 0,
            seed: opts.seed,
            clock: opts
                .now
                .or(fixture_now)
                .map(|t| (t, std::time::Instant::now())),
        };
        db.normalise_fixture();
        let schemas = SERVICES
            .iter()
            .map(|(_, w)| schema::Schema::from_wsdl(w))
            .collect::<Result<Vec<_>, _>>()
            .map_err(SimError::Schema)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .map_err(|source| SimError::Bind {
                port: opts.port,
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| SimError::Bind {
                port: opts.port,
                source,
            })?
            .port();
        let base_url = format!("http://127.0.0.1:{port}");
        let inner = Arc::new(Inner {
            db: Mutex::new(db),
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(opts.seed)),
            opts: Mutex::new(opts),
            calls: Mutex::new(BTreeMap::new()),
            endpoints: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(BTreeMap::new()),
            authed_calls: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            schemas,
            base_url: base_url.clone(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone())
            .into_make_service_with_connect_info::<cut::Cut>();
        let listener = cut::CutListener(listener);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // graceful: on stop, idle keep-alive connections are closed too, so a client's pooled
        // connection cannot reach a stopped simulator
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = stop_rx.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::error!(error = %e, "sim-flexnet server stopped");
            }
        });
        tracing::info!(%base_url, "sim-flexnet listening");
        Ok(RunningSim {
            base_url,
            inner,
            _task: task,
            stop: Some(stop_tx),
        })
    }
}

/// A started simulator; stops when dropped (or with [`RunningSim::shutdown`]).
pub struct RunningSim {
    base_url: String,
    inner: Arc<Inner>,
    _task: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RunningSim {
    /// `http://127.0.0.1:PORT`: the tenant URL (services under `/flexnet/services/...`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    /// The tenant as fixture-shaped JSON (same as `GET /__sim/state`).
    pub fn state(&self) -> Value {
        state_json(&self.inner)
    }
    /// Typed copy of the tenant.
    pub fn tenant(&self) -> Tenant {
        lock(&self.inner.db).t.clone()
    }
    /// SOAP calls per WSDL operation (e.g. `createAccount`, `getEntitlementsQuery`), counted
    /// on arrival, including refused and faulted ones.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.calls).clone()
    }
    /// SOAP calls per endpoint path (including unauthenticated ones).
    pub fn calls_by_endpoint(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.endpoints).clone()
    }
    /// Faults injected so far by kind: `timeout`, `http_500`, `soap_fault`, `failure`,
    /// `lost_reply`.
    pub fn faults(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.faults).clone()
    }
    /// The most calls ever held in the latency wait at once (counted only when a latency is
    /// set): how many requests a client had in flight together.
    pub fn max_in_flight(&self) -> u64 {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }
    pub fn total_calls(&self) -> u64 {
        lock(&self.inner.endpoints).values().sum()
    }
    /// Replaces the fault settings for the calls that follow (port and seed are ignored).
    pub fn set_options(&self, opts: SimOptions) {
        *lock(&self.inner.opts) = opts;
    }
    pub fn options(&self) -> SimOptions {
        lock(&self.inner.opts).clone()
    }
    /// Sets the simulator's clock to read `now` from this instant on, running at wall speed
    /// (`None` = system time); `lastModifiedDateTime` of later writes uses it.
    pub fn set_now(&self, now: Option<DateTime<Utc>>) {
        lock(&self.inner.db).set_clock(now);
    }
    /// Sets a product's state (e.g. `DEPLOYED`), as an FNO admin would; false if unknown.
    pub fn set_product_state(&self, name: &str, state: &str) -> bool {
        lock(&self.inner.db).set_product_state(name, state)
    }
    /// Sets a line item's fulfilled amount, as activations would; false if unknown.
    pub fn set_fulfilled(&self, activation_id: &str, amount: i64) -> bool {
        lock(&self.inner.db).set_fulfilled(activation_id, amount)
    }
    /// Stops accepting calls and closes idle connections (also done on drop).
    pub fn shutdown(mut self) {
        self.stop.take();
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

fn state_json(inner: &Inner) -> Value {
    let mut t = lock(&inner.db).t.clone();
    t.credentials.password = "[redacted]".into();
    if t.credentials.token.is_some() {
        t.credentials.token = Some("[redacted]".into());
    }
    serde_json::to_value(&t).unwrap_or(Value::Null)
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// An Axis-1.4-style SOAP 1.1 fault (HTTP 500).
pub fn soap_fault(code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{SOAP_ENV}\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <soapenv:Body><soapenv:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring>\
         <detail><ns1:hostname xmlns:ns1=\"http://xml.apache.org/axis/\">sim-flexnet</ns1:hostname></detail>\
         </soapenv:Fault></soapenv:Body></soapenv:Envelope>",
        xml::escape(code),
        xml::escape(message)
    );
    xml_response(StatusCode::INTERNAL_SERVER_ERROR, body)
}

fn envelope(ns: &str, resp: &str, content: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{SOAP_ENV}\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <soapenv:Body><ns:{resp} xmlns:ns=\"{ns}\">{content}</ns:{resp}></soapenv:Body></soapenv:Envelope>"
    )
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "Basic realm=\"FlexNet\""),
            (header::CONTENT_TYPE, "text/html;charset=utf-8"),
        ],
        // Tomcat's status page (HTML, not XML: a SOAP client sees a transport error)
        "<!doctype html><html lang=\"en\"><head><title>HTTP Status 401 - Unauthorized</title></head>\
         <body><h1>HTTP Status 401 - Unauthorized</h1><hr class=\"line\"><p><b>Type</b> Status Report</p>\
         <p><b>Description</b> The request has not been applied to the target resource because it lacks \
         valid authentication credentials for that resource.</p><hr class=\"line\"><h3>Apache Tomcat</h3></body></html>",
    )
        .into_response()
}

fn authorized(inner: &Inner, headers: &HeaderMap) -> bool {
    use base64::Engine;
    let Some(h) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(token) = h.strip_prefix("Bearer ") {
        let db = lock(&inner.db);
        return db
            .t
            .credentials
            .token
            .as_deref()
            .is_some_and(|t| !t.is_empty() && t == token.trim());
    }
    let Some(b64) = h.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let Ok(pair) = String::from_utf8(raw) else {
        return false;
    };
    let Some((u, p)) = pair.split_once(':') else {
        return false;
    };
    let db = lock(&inner.db);
    let c = &db.t.credentials;
    !c.username.is_empty() && u == c.username && p == c.password
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(cut): ConnectInfo<cut::Cut>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_owned();
    match (method.as_str(), path.as_str()) {
        ("GET", "/__sim/state") => return axum::Json(state_json(&inner)).into_response(),
        ("GET", "/__sim/calls") => {
            let v = serde_json::json!({
                "byOperation": *lock(&inner.calls),
                "byEndpoint": *lock(&inner.endpoints),
            });
            return axum::Json(v).into_response();
        }
        ("POST", "/__sim/clock") => {
            let now = query.get("now").and_then(|s| {
                DateTime::parse_from_rfc3339(s)
                    .ok()
                    .map(|d| d.with_timezone(&Utc))
            });
            lock(&inner.db).set_clock(now);
            return StatusCode::NO_CONTENT.into_response();
        }
        ("POST", "/__sim/fulfill") => {
            let aid = query.get("activationId").cloned().unwrap_or_default();
            let amount = query
                .get("amount")
                .and_then(|a| a.parse().ok())
                .unwrap_or(0);
            let ok = lock(&inner.db).set_fulfilled(&aid, amount);
            return if ok {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::NOT_FOUND
            }
            .into_response();
        }
        _ => {}
    }
    let Some(svc) = SERVICES.iter().position(|(p, _)| *p == path) else {
        return (StatusCode::NOT_FOUND, "no such service").into_response();
    };
    if method == Method::GET {
        if uri.query().is_some_and(|q| q.eq_ignore_ascii_case("wsdl")) {
            return xml_response(StatusCode::OK, served_wsdl(&inner.base_url, svc));
        }
        return (
            StatusCode::OK,
            format!(
                "{}: this is a SOAP endpoint; append ?wsdl for its WSDL",
                SERVICES[svc].0
            ),
        )
            .into_response();
    }
    if method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    *lock(&inner.endpoints).entry(path.clone()).or_default() += 1;
    soap_call(&inner, svc, &headers, &body, &cut).await
}

/// The WSDL with its `soap:address` pointing at this simulator. Axis names the binding, service
/// and port `vN/ServiceName…`, which is not an XML NCName (lxml, hence zeep, refuses it); those
/// names never appear on the wire, so they are served as `vN_ServiceName…`.
pub fn served_wsdl(base_url: &str, svc: usize) -> String {
    let (path, wsdl) = SERVICES[svc];
    let mut fixed = wsdl.to_owned();
    for v in ["v2", "v3", "v4"] {
        fixed = fixed
            .replace(&format!("name=\"{v}/"), &format!("name=\"{v}_"))
            .replace(&format!(":{v}/"), &format!(":{v}_"));
    }
    let wsdl = fixed.as_str();
    let mut out = String::with_capacity(wsdl.len());
    let mut rest = wsdl;
    while let Some(i) = rest.find("address location=\"") {
        let start = i + "address location=\"".len();
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find('"').unwrap_or(0);
        out.push_str(base_url);
        out.push_str(path);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

async fn soap_call(
    inner: &Inner,
    svc: usize,
    headers: &HeaderMap,
    body: &[u8],
    cut: &cut::Cut,
) -> Response {
    // the container checks credentials before Axis reads the body
    let parsed = std::str::from_utf8(body)
        .map_err(|_| "request body is not UTF-8".to_owned())
        .and_then(xml::parse);
    let body_el = parsed.as_ref().ok().and_then(|env| {
        match (env.name.as_str(), env.ns.as_deref(), env.child("Body")) {
            ("Envelope", Some(SOAP_ENV), Some(b)) => b.children.first().cloned(),
            _ => None,
        }
    });
    let op = body_el
        .as_ref()
        .map_or_else(|| "(unparsable)".to_owned(), |r| operation_name(&r.name));
    *lock(&inner.calls).entry(op.clone()).or_default() += 1;
    let opts = lock(&inner.opts).clone();
    if !authorized(inner, headers) {
        tracing::debug!(%op, "sim-flexnet: refused credentials");
        return unauthorized();
    }
    let req = match (parsed, body_el) {
        (Err(e), _) => {
            return soap_fault(
                "soapenv:Server.userException",
                &format!("org.xml.sax.SAXParseException: {e}"),
            )
        }
        (Ok(_), None) => {
            return soap_fault(
                "soapenv:Client",
                "expected a SOAP 1.1 Envelope with a non-empty Body",
            )
        }
        (Ok(_), Some(r)) => r,
    };
    let n = inner.authed_calls.fetch_add(1, Ordering::SeqCst) + 1;
    if opts.expire_credentials_after.is_some_and(|max| n > max) {
        return unauthorized();
    }
    if !opts.latency.is_zero() {
        let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(opts.latency).await;
        inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    let fault = draw_fault(inner, &opts, &op);
    if let Some(f) = fault {
        *lock(&inner.faults).entry(f.name().to_owned()).or_default() += 1;
    }
    if let Some(r) = fault_response(fault, &opts, &inner.schemas[svc].ns, &req.name).await {
        return r;
    }
    let schema = &inner.schemas[svc];
    if let Err(e) = schema.validate(&req, opts.strict_order) {
        return soap_fault(
            "soapenv:Server.userException",
            &format!("org.xml.sax.SAXException: {e}"),
        );
    }
    let content = {
        let mut db = lock(&inner.db);
        match req.name.as_str() {
            "createAcctRequest" => ops::create_acct(&mut db, &req),
            "updateAccountRequest" => ops::update_account(&mut db, &req),
            "getAccountsQueryRequest" => ops::get_accounts(&db, &req),
            "createUserRequest" => ops::create_user(&mut db, &req),
            "updateUserRequest" => ops::update_user(&mut db, &req),
            "getUsersQueryRequest" => ops::get_users(&db, &req),
            "createSimpleEntitlementRequest" => ops::create_simple_entitlement(&mut db, &req),
            "setEntitlementStateRequest" => ops::set_entitlement_state(&mut db, &req),
            "setLineItemStateRequest" => ops::set_line_item_state(&mut db, &req),
            "createEntitlementLineItemRequest" => ops::create_line_items(&mut db, &req),
            "searchEntitlementRequest" => ops::search_entitlements(&db, &req),
            "searchEntitlementLineItemPropertiesRequest" => ops::search_line_items(&db, &req),
            "renewLicenseRequest" => ops::renew_license(&mut db, &req),
            "getProductsQueryRequest" => ops::get_products(&db, &req),
            "getPartNumbersQueryRequest" => ops::get_part_numbers(&db, &req),
            other => {
                return soap_fault(
                    "soapenv:Server.userException",
                    &format!("operation {other} is not implemented by sim-flexnet"),
                )
            }
        }
    };
    let resp = response_name(&req.name);
    let env = envelope(&schema.ns, &resp, &content);
    // self-check: never send what the WSDL does not allow
    let check = xml::parse(&env).and_then(|e| {
        let body = e
            .child("Body")
            .and_then(|b| b.children.first())
            .ok_or("no body")?
            .clone();
        schema.validate(&body, true)
    });
    if let Err(e) = check {
        tracing::error!(%op, error = %e, "sim-flexnet rendered a response its WSDL rejects");
        return soap_fault(
            "soapenv:Server",
            &format!("sim-flexnet bug: response does not match the WSDL: {e}"),
        );
    }
    if fault == Some(Fault::LostReply) {
        tracing::debug!(%op, "sim-flexnet: applied, reply lost (connection closed)");
        cut.cut();
    } else {
        tracing::debug!(%op, "sim-flexnet: answered");
    }
    xml_response(StatusCode::OK, env)
}

/// A fault drawn for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Timeout,
    Http500,
    Soap,
    Failure,
    LostReply,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Timeout => "timeout",
            Fault::Http500 => "http_500",
            Fault::Soap => "soap_fault",
            Fault::Failure => "failure",
            Fault::LostReply => "lost_reply",
        }
    }
}

/// One draw from the seeded RNG per call (when `op` is among `fault_operations`, or all).
fn draw_fault(inner: &Inner, opts: &SimOptions, op: &str) -> Option<Fault> {
    if !(opts.fault_operations.is_empty() || opts.fault_operations.iter().any(|o| o == op)) {
        return None;
    }
    let r: f64 = lock(&inner.rng).random();
    let mut edge = 0.0;
    [
        (opts.timeout_rate, Fault::Timeout),
        (opts.http_500_rate, Fault::Http500),
        (opts.soap_fault_rate, Fault::Soap),
        (opts.failure_rate, Fault::Failure),
        (opts.lost_reply_rate, Fault::LostReply),
    ]
    .into_iter()
    .find_map(|(rate, f)| {
        edge += rate;
        (r < edge).then_some(f)
    })
}

/// The response a fault answers with instead of processing the call; `None` = process it
/// (no fault, or a lost reply, which is applied first).
async fn fault_response(
    fault: Option<Fault>,
    opts: &SimOptions,
    ns: &str,
    req_name: &str,
) -> Option<Response> {
    Some(match fault? {
        Fault::Timeout => {
            tokio::time::sleep(opts.timeout_delay).await;
            (StatusCode::GATEWAY_TIMEOUT, "timed out").into_response()
        }
        Fault::Http500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>HTTP Status 500 - Internal Server Error</h1></body></html>",
        )
            .into_response(),
        Fault::Soap => soap_fault(
            "soapenv:Server.userException",
            "java.rmi.RemoteException: simulated server fault",
        ),
        Fault::Failure => xml_response(
            StatusCode::OK,
            envelope(
                ns,
                &response_name(req_name),
                &ops::failure("Simulated FAILURE (fault injection): nothing was processed"),
            ),
        ),
        Fault::LostReply => return None,
    })
}

fn response_name(req: &str) -> String {
    match req.strip_suffix("Request") {
        Some(stem) => format!("{stem}Response"),
        None => format!("{req}Response"),
    }
}
