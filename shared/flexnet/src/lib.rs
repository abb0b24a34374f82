//! # flexnet: the FlexNet Operations SOAP client
//!
//! Renders the request models of `mapping::fno` to SOAP 1.1 document/literal bodies with
//! quick-xml's serde support (element order = the WSDL's `xsd:sequence`, see [`wire`]), posts
//! them with HTTP Basic authentication to the tenant's services (UAH v3, EOS v4, PPS v2 under
//! `<base_url>/flexnet/services/...`) and turns `statusInfo` into typed results:
//!
//! * writes are chunked to at most 25 items per call and return one [`Outcome`] per input
//!   item, in input order: `Ok(identifiers)` or `Err(FnoItemFailure { reason, item })` with
//!   FNO's reason;
//! * a whole-call FAILURE (nothing processed) is [`FlexnetError::Failure`]; SOAP faults,
//!   HTTP errors, 401 and transport errors have their own variants;
//! * reads page through everything (`pageNumber`/`batchSize`, default batch 1000, max 2000);
//! * transient failures ([`FlexnetError::kind`]: timeouts, connection errors, HTTP 5xx and
//!   429, server-side SOAP faults) are retried in place with the shared jittered backoff
//!   ([`retry::Backoff`]), **but a write is repeated only when it cannot have been applied
//!   twice**. Reads, updates, and creates with an `opType` whose line items all carry an
//!   explicit activation id are idempotent and retry on any transient failure. Every other
//!   write — a plain create, a CREATE_OR_UPDATE that lets FNO generate activation ids (a
//!   replay would add a second line item), renewals, setEntitlementState — is repeated only
//!   when the failure proves FNO did not process it ([`FlexnetError::is_unprocessed`]: the
//!   connection was refused, FNO answered 503 or 429, or it returned a SOAP fault, which Axis
//!   sends when the call threw and nothing was committed). A timeout, a reply cut off, or an
//!   HTTP 500/502/504 page after the request was sent may hide an applied write: that is
//!   returned (transient) for the caller to reconcile by reading FNO before sending again;
//! * an optional deadline ([`FlexnetClient::set_deadline`]): each call's timeout is cut to the
//!   time left, no retry sleeps past it, and a call that would start after it fails at once
//!   with [`FlexnetError::Deadline`] (transient, nothing sent);
//! * the password lives in [`mapping::Secret`] and is only put in the `Authorization` header;
//!   it never appears in a log line, an error or an [`Exchange`] (tests check this).
//!
//! Every SOAP call's rendered request and raw response are kept as an [`Exchange`] (attached
//! to each write outcome, and as [`FlexnetClient::last_exchange`]) for the transaction log.

pub mod wire;

use base64::Engine as _;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};
use mapping::fno;
use mapping::Secret;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wire::*;

pub use retry::ErrorKind;

/// FNO caps every write request at 25 top-level items.
pub const MAX_WRITE_BATCH: usize = 25;
/// FNO caps every read batch at 2000 records.
pub const MAX_READ_BATCH: u32 = 2000;
/// Write calls of one list operation in flight at once (each ≤ 25 items), unless
/// [`FlexnetClient::with_write_concurrency`] says otherwise.
pub const DEFAULT_WRITE_CONCURRENCY: usize = 4;
/// Records per read batch unless [`FlexnetClient::with_page_size`] says otherwise.
pub const DEFAULT_READ_BATCH: u32 = 1000;

const UAH: &str = "/flexnet/services/v3/UserAcctHierarchyService";
const EOS: &str = "/flexnet/services/v4/EntitlementOrderService";
const PPS: &str = "/flexnet/services/v2/ProductPackagingService";
const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// Connection settings (R25: username, password, tenant URL).
#[derive(Debug, Clone)]
pub struct FlexnetConfig {
    /// Tenant URL, e.g. `https://flex1234-uat.flexnetoperations.com` (or a simulator's).
    pub base_url: String,
    pub username: String,
    pub password: Secret,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Extra attempts after a transient failure (for writes: only when it was not applied).
    pub max_retries: u32,
    /// Allow plain `http://` to a loopback host (the simulator). Set in code only, by tests
    /// and the local runner; the stored connection settings have no such key (https only).
    pub allow_loopback_http: bool,
    /// Accept a self-signed certificate: for a TLS simulator on loopback only, set in code.
    pub accept_invalid_certs: bool,
}

impl FlexnetConfig {
    pub fn new(base_url: impl Into<String>, username: impl Into<String>, password: Secret) -> Self {
        FlexnetConfig {
            base_url: base_url.into(),
            username: username.into(),
            password,
            timeout: Duration::from_secs(60),
            max_retries: 3,
            allow_loopback_http: false,
            accept_invalid_certs: false,
        }
    }

    /// The test-only switches for a simulator on 127.0.0.1 (plain http or a self-signed
    /// certificate). Never derived from stored settings.
    pub fn for_loopback_simulator(mut self) -> Self {
        self.allow_loopback_http = true;
        self.accept_invalid_certs = true;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlexnetError {
    #[error("FNO connection settings are not usable: {0}")]
    Config(String),
    #[error("FNO refused the credentials (HTTP 401); check the FNO username and password (R25)")]
    Unauthorized,
    #[error("FNO answered {operation} with a SOAP fault {code}: {message}")]
    Fault {
        operation: String,
        code: String,
        message: String,
    },
    #[error("FNO answered {operation} with HTTP {status}")]
    Http { operation: String, status: u16 },
    #[error("could not complete the {operation} call to FNO")]
    Transport {
        operation: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("FNO's answer to {operation} cannot be read: {message}")]
    Malformed { operation: String, message: String },
    #[error("FNO {operation} failed: {reason}")]
    Failure { operation: String, reason: String },
    /// The invocation's deadline leaves no time for this call: it was not sent.
    #[error("no time left before the invocation's deadline for the FNO {operation} call")]
    Deadline { operation: String },
}

/// A fault FNO raised while processing (`soapenv:Server…`), as opposed to one about the request
/// itself (`soapenv:Client…`, or Axis's SAX errors for a request that does not match the WSDL).
fn server_fault(code: &str, message: &str) -> bool {
    let local = code.rsplit(':').next().unwrap_or(code);
    local.starts_with("Server")
        && !message.contains("SAXException")
        && !message.contains("SAXParseException")
}

impl FlexnetError {
    /// What this failure means for the caller (the client already retried in place what was
    /// safe to repeat):
    /// * `Transient`: timeouts, connection errors, HTTP 5xx and 429, server-side SOAP faults,
    ///   a deadline reached — try again later (after reading FNO, for a write that may have
    ///   been applied: see [`is_unprocessed`](Self::is_unprocessed));
    /// * `Permanent`: refused credentials, configuration errors, other HTTP 4xx, client-side
    ///   faults, a whole-call `statusInfo` FAILURE, answers that cannot be read.
    ///
    /// FNO documents no rate limit, so nothing here is `Quota`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FlexnetError::Transport { .. } | FlexnetError::Deadline { .. } => ErrorKind::Transient,
            FlexnetError::Fault { code, message, .. } if server_fault(code, message) => {
                ErrorKind::Transient
            }
            FlexnetError::Http { status, .. } if *status >= 500 || *status == 429 => {
                ErrorKind::Transient
            }
            _ => ErrorKind::Permanent,
        }
    }

    /// Worth retrying (in place when safe, then later): [`ErrorKind::Transient`].
    pub fn is_transient(&self) -> bool {
        self.kind() == ErrorKind::Transient
    }

    /// FNO cannot have processed the request: it was never sent (configuration, deadline), the
    /// connection was refused, FNO refused it before processing (401, 429, 503), raised a SOAP
    /// fault, or answered FAILURE ("nothing was processed"). False when a write may have been
    /// applied: a timeout or a reply lost after sending, an HTTP 500/502/504 page, an answer
    /// that could not be read.
    pub fn is_unprocessed(&self) -> bool {
        match self {
            FlexnetError::Config(_)
            | FlexnetError::Unauthorized
            | FlexnetError::Deadline { .. }
            | FlexnetError::Fault { .. }
            | FlexnetError::Failure { .. } => true,
            FlexnetError::Transport { source, .. } => source.is_connect(),
            FlexnetError::Http { status, .. } => matches!(status, 429 | 503),
            FlexnetError::Malformed { .. } => false,
        }
    }
}

/// One SOAP call as the transaction log keeps it. Never holds the `Authorization` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// WSDL operation name, e.g. `createAccount`.
    pub operation: String,
    /// Service path, e.g. `/flexnet/services/v3/UserAcctHierarchyService`.
    pub endpoint: String,
    pub request_xml: String,
    pub response_xml: Option<String>,
    pub http_status: Option<u16>,
}

/// FNO refused one item of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("FNO refused {item}: {reason}")]
pub struct FnoItemFailure {
    /// FNO's `reason` for this item.
    pub reason: String,
    /// Which item (e.g. `account 001XX…`, `entitlement 006XX…`).
    pub item: String,
}

/// The result for one input item, with the SOAP exchange that carried it.
#[derive(Debug, Clone)]
pub struct Outcome<T> {
    pub result: Result<T, FnoItemFailure>,
    pub exchange: Arc<Exchange>,
}

pub type ItemOutcome<T> = Outcome<T>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    pub id: String,
    pub unique_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub unique_id: Option<String>,
    pub user_name: Option<String>,
    pub email_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedLineItem {
    pub activation_id: String,
    pub unique_id: Option<String>,
    /// The line item's `orderLineNumber` (the Salesforce OpportunityLineItem Id).
    pub order_line_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedEntitlement {
    pub entitlement_id: String,
    pub unique_id: Option<String>,
    /// The request's line items in request order (for CREATE_OR_IGNORE of an existing
    /// entitlement: all its line items as FNO holds them).
    pub line_items: Vec<CreatedLineItem>,
}

/// renewLicense: one renewed line item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewedLineItem {
    pub parent_activation_id: String,
    pub activation_id: String,
    pub unique_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FnoAccount {
    pub unique_id: Option<String>,
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub account_type: Option<fno::AccountType>,
    /// Custom attributes as FNO returns them (name → value text).
    pub attributes: Vec<(String, String)>,
    pub last_modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FnoUser {
    pub unique_id: Option<String>,
    pub user_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_address: Option<String>,
    pub display_name: Option<String>,
    pub status: Option<String>,
    pub account_roles: Vec<fno::AccountRoles>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// One line item as read back (searchEntitlementLineItemProperties or getEntitlementsQuery).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItemProperties {
    pub activation_id: String,
    pub entitlement_id: Option<String>,
    pub sold_to: Option<String>,
    pub order_id: Option<String>,
    pub order_line_number: Option<String>,
    pub part_number: Option<String>,
    pub product_name: Option<String>,
    pub product_version: Option<String>,
    pub description: Option<String>,
    pub number_of_copies: Option<i64>,
    pub fulfilled_amount: Option<i64>,
    /// `numberOfRemainingCopies` (R20 Remaining Quantity).
    pub remaining_copies: Option<i64>,
    pub state: Option<fno::State>,
    pub entitlement_state: Option<fno::State>,
    pub start_date: Option<NaiveDate>,
    pub expiration_date: Option<NaiveDate>,
    pub is_permanent: Option<bool>,
    pub line_item_type: Option<String>,
    pub parent_activation_id: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FnoEntitlement {
    pub entitlement_id: String,
    pub sold_to: Option<String>,
    pub state: Option<fno::State>,
    pub description: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    pub line_items: Vec<LineItemProperties>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FnoProduct {
    pub unique_id: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    /// `None` for a state this client does not know.
    pub state: Option<fno::State>,
    pub part_numbers: Vec<String>,
    pub license_models: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FnoPartNumber {
    pub part_id: String,
    pub product_name: Option<String>,
    pub product_version: Option<String>,
    pub license_model: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    pub id: Option<String>,
    pub name: Option<String>,
    pub modified_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub user_name: Option<String>,
    pub email: Option<String>,
    pub account_id: Option<String>,
    pub modified_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct EntitlementQuery {
    pub entitlement_id: Option<String>,
    /// The soldTo account id.
    pub sold_to: Option<String>,
    pub part_number: Option<String>,
    pub state: Option<fno::State>,
    /// Changed at or after this instant.
    pub modified_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct LineItemQuery {
    pub entitlement_id: Option<String>,
    pub activation_id: Option<String>,
    pub order_id: Option<String>,
    pub order_line_number: Option<String>,
    pub sold_to: Option<String>,
    pub part_number: Option<String>,
    /// Changed at or after this instant.
    pub modified_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    pub name: Option<String>,
    pub part_number: Option<String>,
    pub state: Option<fno::State>,
}

/// The FNO SOAP client. Cheap to share (`&self` methods); clone the config to make another.
pub struct FlexnetClient {
    http: reqwest::Client,
    base_url: String,
    username: String,
    password: Secret,
    /// `Basic base64(username:password)`, built once (and so known to the log scrubber).
    authorization: Secret,
    page_size: u32,
    write_concurrency: usize,
    /// Per-request timeout (before the deadline cuts it).
    timeout: Duration,
    backoff: retry::Backoff,
    deadline: retry::Deadline,
    calls: AtomicU64,
    last: Mutex<Option<Arc<Exchange>>>,
}

impl std::fmt::Debug for FlexnetClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlexnetClient")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

enum Body {
    Element { name: String, xml: String },
    Fault { code: String, message: String },
}

/// A rendered SOAP request and what its answer must be called.
struct SoapCall<'a> {
    endpoint: &'static str,
    operation: &'a str,
    url: String,
    envelope: String,
    expected: String,
}

/// A SOAP answer read as `R`: a fault, an HTTP error, or the expected response element.
fn answer<R: DeserializeOwned>(
    c: &SoapCall<'_>,
    status: u16,
    text: &str,
) -> Result<R, FlexnetError> {
    let operation = c.operation.to_owned();
    let parsed = body_of(text);
    if let Ok(Body::Fault { code, message }) = parsed {
        return Err(FlexnetError::Fault {
            operation,
            code,
            message,
        });
    }
    if !(200..300).contains(&status) {
        tracing::warn!(operation, status, "FNO HTTP error");
        return Err(FlexnetError::Http { operation, status });
    }
    let malformed = |message: String| FlexnetError::Malformed {
        operation: operation.clone(),
        message,
    };
    let (name, xml) = match parsed {
        Ok(Body::Element { name, xml }) => (name, xml),
        Ok(Body::Fault { .. }) => unreachable!("handled above"),
        Err(e) => return Err(malformed(e)),
    };
    if name != c.expected {
        return Err(malformed(format!("expected {}, got {name}", c.expected)));
    }
    quick_xml::de::from_str(&xml).map_err(|e| malformed(e.to_string()))
}

/// The first element of `soapenv:Body`, re-rendered with local names only (prefixes and
/// namespace declarations dropped), or the SOAP Fault.
fn body_of(xml: &str) -> Result<Body, String> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut w = quick_xml::Writer::new(Vec::new());
    let mut depth = 0usize; // inside the captured element
    let mut in_body = false;
    let mut name = String::new();
    let mut stack: Vec<String> = Vec::new();
    loop {
        let ev = r.read_event().map_err(|e| format!("not XML: {e}"))?;
        match ev {
            Event::Start(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if depth > 0 {
                    depth += 1;
                    w.write_event(Event::Start(BytesStart::new(local.clone())))
                        .map_err(|e| e.to_string())?;
                } else if in_body {
                    depth = 1;
                    name = local.clone();
                    w.write_event(Event::Start(BytesStart::new(local.clone())))
                        .map_err(|e| e.to_string())?;
                } else if local == "Body" && stack.last().is_some_and(|p| p == "Envelope") {
                    in_body = true;
                }
                stack.push(local);
            }
            Event::Empty(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if depth > 0 {
                    w.write_event(Event::Empty(BytesStart::new(local)))
                        .map_err(|e| e.to_string())?;
                } else if in_body {
                    name = local.clone();
                    w.write_event(Event::Empty(BytesStart::new(local)))
                        .map_err(|e| e.to_string())?;
                    break;
                }
            }
            Event::End(_) => {
                let local = stack.pop().unwrap_or_default();
                if depth > 0 {
                    w.write_event(Event::End(BytesEnd::new(local)))
                        .map_err(|e| e.to_string())?;
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
            }
            Event::Text(t) if depth > 0 => {
                let raw = std::str::from_utf8(t.as_ref()).map_err(|e| e.to_string())?;
                w.write_event(Event::Text(BytesText::from_escaped(keep_edges(raw))))
                    .map_err(|e| e.to_string())?
            }
            Event::CData(t) if depth > 0 => {
                w.write_event(Event::CData(t)).map_err(|e| e.to_string())?
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if name.is_empty() {
        return Err("no SOAP Body element".into());
    }
    let out = String::from_utf8(w.into_inner()).map_err(|e| e.to_string())?;
    if name == "Fault" {
        #[derive(Deserialize)]
        struct Fault {
            #[serde(default)]
            faultcode: String,
            #[serde(default)]
            faultstring: String,
        }
        let f: Fault = quick_xml::de::from_str(&out).map_err(|e| e.to_string())?;
        return Ok(Body::Fault {
            code: f.faultcode,
            message: f.faultstring,
        });
    }
    Ok(Body::Element { name, xml: out })
}

/// quick-xml's deserializer trims text; a value's own leading/trailing whitespace is data
/// (R7: part numbers match exactly, spaces included), so it is kept as character references,
/// which survive the trim. Whitespace-only text (indentation) is left to be trimmed.
fn keep_edges(raw: &str) -> String {
    let body = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    if body.is_empty() {
        return raw.to_owned();
    }
    let start = raw.len()
        - raw
            .trim_start_matches(|c: char| c.is_ascii_whitespace())
            .len();
    let end = start + body.len();
    let enc = |s: &str| -> String { s.chars().map(|c| format!("&#x{:X};", c as u32)).collect() };
    format!("{}{}{}", enc(&raw[..start]), body, enc(&raw[end..]))
}

fn parse_dt(s: &Option<String>) -> Option<DateTime<Utc>> {
    let s = s.as_deref()?.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

fn parse_date(s: &Option<String>) -> Option<NaiveDate> {
    let s = s.as_deref()?.trim();
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()
}

fn parse_int(s: &Option<String>) -> Option<i64> {
    s.as_deref()?.trim().parse().ok()
}

fn parse_bool(s: &Option<String>) -> Option<bool> {
    match s.as_deref()?.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

fn sq(v: &Option<String>) -> Option<SimpleQuery> {
    v.as_deref().map(SimpleQuery::eq)
}

fn line_props(r: RLineProps) -> Option<LineItemProperties> {
    let activation_id = r
        .activation_id
        .as_ref()
        .and_then(RLineIdent::activation_id)?;
    let (product_name, product_version) = r
        .product
        .and_then(|p| p.primary_keys)
        .map(|p| (p.name, p.version))
        .unwrap_or_default();
    Some(LineItemProperties {
        activation_id,
        entitlement_id: r.entitlement_id.as_ref().and_then(REntIdent::id),
        sold_to: r.sold_to.as_ref().and_then(RAcctIdent::id),
        order_id: nonempty(r.order_id),
        order_line_number: nonempty(r.order_line_number),
        part_number: r.part_number.as_ref().and_then(RPartIdent::part_id),
        product_name,
        product_version,
        description: r.description,
        number_of_copies: parse_int(&r.number_of_copies),
        fulfilled_amount: parse_int(&r.fulfilled_amount),
        remaining_copies: parse_int(&r.number_of_remaining_copies),
        state: r.state.as_deref().and_then(parse_state),
        entitlement_state: r.entitlement_state.as_deref().and_then(parse_state),
        start_date: parse_date(&r.start_date),
        expiration_date: parse_date(&r.expiration_date),
        is_permanent: parse_bool(&r.is_permanent),
        line_item_type: r.line_item_support_action,
        parent_activation_id: r
            .parent_line_item
            .as_ref()
            .and_then(RLineIdent::activation_id),
        last_modified: parse_dt(&r.last_modified_date_time),
    })
}

impl FlexnetClient {
    pub fn new(config: FlexnetConfig) -> Result<Self, FlexnetError> {
        let url = url_check(&config.base_url, config.allow_loopback_http)?;
        if config.username.trim().is_empty() {
            return Err(FlexnetError::Config("the FNO username is empty".into()));
        }
        if config.password.is_empty() {
            return Err(FlexnetError::Config("the FNO password is empty".into()));
        }
        if config.timeout.is_zero() {
            return Err(FlexnetError::Config("the FNO timeout is zero".into()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .danger_accept_invalid_certs(config.accept_invalid_certs)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FlexnetError::Config(format!("HTTP client: {e}")))?;
        let authorization = Secret::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                config.username,
                config.password.expose()
            ))
        ));
        Ok(FlexnetClient {
            http,
            base_url: url,
            username: config.username,
            password: config.password,
            authorization,
            // Revenera suggests ~200 on hosted tenants; 1000 is the cap its EOS queries keep to
            // (ORA-01795) and a fifth of the calls — a no-change run reads its own echo in FNO
            // (every line item it wrote since the last run) in ⌈items/1000⌉ calls (issue 12).
            page_size: DEFAULT_READ_BATCH,
            write_concurrency: DEFAULT_WRITE_CONCURRENCY,
            timeout: config.timeout,
            backoff: retry::Backoff::new(
                Duration::from_millis(200),
                Duration::from_secs(5),
                config.max_retries,
            ),
            deadline: retry::Deadline::default(),
            calls: AtomicU64::new(0),
            last: Mutex::new(None),
        })
    }

    /// Write calls of one list operation sent at once (1..=16; default 4).
    pub fn with_write_concurrency(mut self, n: usize) -> Self {
        self.write_concurrency = n.clamp(1, 16);
        self
    }

    /// Records per read batch (1..=2000; Revenera recommends ~200 on hosted tenants).
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, MAX_READ_BATCH);
        self
    }

    /// Ceiling of the first retry delay (default 200 ms; the ceiling doubles per attempt up to
    /// 5 s, each delay drawn below it: [`retry::Backoff`]).
    pub fn with_backoff(mut self, d: Duration) -> Self {
        self.backoff.first = d;
        self
    }

    /// When the current invocation must be done (`None` = never): each call's timeout is cut
    /// to the time left, no retry sleeps past it, and a call that would start after it fails
    /// at once with [`FlexnetError::Deadline`].
    pub fn set_deadline(&self, at: Option<Instant>) {
        self.deadline.set(at);
    }

    /// The deadline set with [`set_deadline`](Self::set_deadline).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline.get()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// HTTP requests sent so far (retries included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The most recent SOAP exchange (request and response XML; never the credentials).
    pub fn last_exchange(&self) -> Option<Arc<Exchange>> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn remember(&self, ex: Exchange) -> Arc<Exchange> {
        let ex = Arc::new(ex);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(ex.clone());
        ex
    }

    /// One SOAP call: render, post (retrying what is safe to repeat, see the module docs),
    /// parse.
    async fn call<Q: Serialize, R: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        operation: &str,
        root: &str,
        request: &Q,
        idempotent: bool,
    ) -> Result<(R, Arc<Exchange>), FlexnetError> {
        let body = quick_xml::se::to_string_with_root(root, request).map_err(|e| {
            FlexnetError::Malformed {
                operation: operation.to_owned(),
                message: format!("cannot render the request: {e}"),
            }
        })?;
        let call = SoapCall {
            endpoint,
            operation,
            url: format!("{}{endpoint}", self.base_url),
            envelope: format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{SOAP_ENV}\">\
                 <soapenv:Header/><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
            ),
            expected: format!("{}Response", root.strip_suffix("Request").unwrap_or(root)),
        };
        let again = |e: &FlexnetError| {
            let again = e.is_transient() && (idempotent || e.is_unprocessed());
            if e.is_transient() {
                tracing::warn!(operation, error = %e, retry = again, "FNO call failed (transient)");
            }
            again
        };
        // boxed: keeps the callers' future types shallow (the engine's are deep already)
        Box::pin(retry::retry(
            self.backoff,
            self.deadline(),
            |attempt| self.post_once(&call, attempt),
            again,
        ))
        .await
    }

    /// One attempt of a SOAP call; every attempt is remembered as the last exchange.
    async fn post_once<R: DeserializeOwned>(
        &self,
        c: &SoapCall<'_>,
        attempt: u32,
    ) -> Result<(R, Arc<Exchange>), FlexnetError> {
        let operation = c.operation;
        let timeout = self
            .deadline
            .cap(self.timeout)
            .map_err(|_| FlexnetError::Deadline {
                operation: operation.to_owned(),
            })?;
        let mut ex = Exchange {
            operation: operation.to_owned(),
            endpoint: c.endpoint.to_owned(),
            request_xml: c.envelope.clone(),
            response_xml: None,
            http_status: None,
        };
        let transport = |source| FlexnetError::Transport {
            operation: operation.to_owned(),
            source,
        };
        self.calls.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(operation, endpoint = c.endpoint, attempt, "FNO SOAP call");
        let sent = self
            .http
            .post(&c.url)
            .header(reqwest::header::AUTHORIZATION, self.authorization.expose())
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .timeout(timeout)
            .body(c.envelope.clone())
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(source) => {
                self.remember(ex);
                return Err(transport(source));
            }
        };
        let status = resp.status().as_u16();
        ex.http_status = Some(status);
        if status == 401 || status == 403 {
            self.remember(ex);
            return Err(FlexnetError::Unauthorized);
        }
        let text = match resp.text().await {
            Ok(t) => t,
            Err(source) => {
                self.remember(ex);
                return Err(transport(source));
            }
        };
        tracing::trace!(operation, status, bytes = text.len(), "FNO response");
        ex.response_xml = Some(text);
        let ex = self.remember(ex);
        let text = ex.response_xml.as_deref().unwrap_or_default();
        Ok((answer(c, status, text)?, ex))
    }

    /// Sends `items` in chunks of ≤ 25 (FNO's write cap), up to `write_concurrency` chunks at
    /// once; the outcomes in input order. A chunk that fails as a whole fails the call — after
    /// every other chunk has had its answer, so none is left half-sent.
    async fn write_chunks<'a, T, R, F, Fut>(
        &self,
        items: &'a [T],
        send: F,
    ) -> Result<Vec<R>, FlexnetError>
    where
        F: Fn(&'a [T]) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<R>, FlexnetError>>,
    {
        use futures::StreamExt;
        // the futures made first, then polled a few at once (a stream that maps borrowed
        // chunks through a closure defeats the compiler's Send inference in spawned tasks)
        let calls: Vec<Fut> = items.chunks(MAX_WRITE_BATCH).map(send).collect();
        let answers: Vec<Result<Vec<R>, FlexnetError>> = futures::stream::iter(calls)
            .buffered(self.write_concurrency.max(1))
            .collect()
            .await;
        let mut out = Vec::with_capacity(items.len());
        for a in answers {
            out.extend(a?);
        }
        Ok(out)
    }

    /// Pages `fetch(page, size)` until a short page.
    async fn page_all<T, F, Fut>(&self, mut fetch: F) -> Result<Vec<T>, FlexnetError>
    where
        F: FnMut(u32, u32) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>, FlexnetError>>,
    {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let got = fetch(page, self.page_size).await?;
            let n = got.len();
            out.extend(got);
            if n < self.page_size as usize || page >= 100_000 {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// R25: a cheap authenticated call ("verified when saved").
    pub async fn verify(&self) -> Result<(), FlexnetError> {
        let req = GetAccountsQueryRequest {
            xmlns: NS_UAH,
            query_params: None,
            page_number: 1,
            batch_size: 1,
        };
        let (r, _): (QueryResponse<RAccounts>, _) = self
            .call(
                UAH,
                "getAccountsQuery",
                "getAccountsQueryRequest",
                &req,
                true,
            )
            .await?;
        query_ok("getAccountsQuery", &r.status_info)
    }

    // ------------------------------------------------------------------ accounts

    /// createAccount, ≤ 25 per call; one outcome per account in input order.
    pub async fn create_accounts(
        &self,
        accounts: &[fno::Account],
        op: impl Into<Option<fno::OpType>>,
    ) -> Result<Vec<ItemOutcome<AccountRef>>, FlexnetError> {
        let op = op.into();
        self.write_chunks(accounts, |chunk| async move {
            let mut out = Vec::with_capacity(chunk.len());
            let req = CreateAcctRequest {
                xmlns: NS_UAH,
                account: chunk.iter().map(AccountData::from).collect(),
                op_type: op.map(op_type),
            };
            let (r, ex): (WriteResponse<RCreatedAccounts>, _) = self
                .call(
                    UAH,
                    "createAccount",
                    "createAcctRequest",
                    &req,
                    op.is_some(),
                )
                .await?;
            let (failed, created) = split(r, "createAccount", |f| {
                f.account.as_ref().and_then(|a| a.id.clone())
            })?;
            let ok: HashMap<String, Option<String>> = created
                .map(|c| c.account)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|a| Some((a.id()?, a.unique_id)))
                .collect();
            for a in chunk {
                let result = match (failed.get(&a.id), ok.get(&a.id)) {
                    (Some(reason), _) => Err(item_failure(reason, format!("account {}", a.id))),
                    (None, Some(uid)) => Ok(AccountRef {
                        id: a.id.clone(),
                        unique_id: uid.clone(),
                    }),
                    (None, None) => Err(not_reported(format!("account {}", a.id))),
                };
                out.push(Outcome {
                    result,
                    exchange: ex.clone(),
                });
            }
            Ok(out)
        })
        .await
    }

    /// updateAccount (by account id): name, description, address, visible, attributes.
    pub async fn update_accounts(
        &self,
        accounts: &[fno::Account],
    ) -> Result<Vec<ItemOutcome<()>>, FlexnetError> {
        self.write_chunks(accounts, |chunk| async move {
            let mut out = Vec::with_capacity(chunk.len());
            let req = UpdateAccountRequest {
                xmlns: NS_UAH,
                acct_data: chunk.iter().map(UpdateAcctData::from).collect(),
            };
            let (r, ex): (WriteResponse<RNothing>, _) = self
                .call(UAH, "updateAccount", "updateAccountRequest", &req, true)
                .await?;
            let (failed, _) = split(r, "updateAccount", |f| {
                f.acct_data
                    .as_ref()
                    .and_then(|a| a.account.as_ref())
                    .and_then(RAcctIdent::id)
            })?;
            for a in chunk {
                let result = match failed.get(&a.id) {
                    Some(reason) => Err(item_failure(reason, format!("account {}", a.id))),
                    None => Ok(()),
                };
                out.push(Outcome {
                    result,
                    exchange: ex.clone(),
                });
            }
            Ok(out)
        })
        .await
    }

    /// getAccountsQuery, all pages.
    pub async fn get_accounts(&self, q: &AccountQuery) -> Result<Vec<FnoAccount>, FlexnetError> {
        self.page_all(|page, size| async move {
            let params = AccountQueryParams {
                account_id: sq(&q.id),
                account_name: sq(&q.name),
                last_modified: q.modified_since.map(after),
            };
            let has = params.account_id.is_some()
                || params.account_name.is_some()
                || params.last_modified.is_some();
            let req = GetAccountsQueryRequest {
                xmlns: NS_UAH,
                query_params: has.then_some(params),
                page_number: page,
                batch_size: size,
            };
            let (r, _): (QueryResponse<RAccounts>, _) = self
                .call(
                    UAH,
                    "getAccountsQuery",
                    "getAccountsQueryRequest",
                    &req,
                    true,
                )
                .await?;
            query_ok("getAccountsQuery", &r.status_info)?;
            Ok(r.response_data
                .unwrap_or_default()
                .acct_data
                .into_iter()
                .filter_map(|a| {
                    Some(FnoAccount {
                        id: a.account.id()?,
                        unique_id: a.account.unique_id,
                        name: a.name,
                        description: a.description,
                        account_type: a.account_type.as_deref().map(parse_account_type),
                        attributes: attr_pairs(a.custom_attributes),
                        last_modified: parse_dt(&a.date_last_modified),
                    })
                })
                .filter(|a| since_ok(q.modified_since, a.last_modified))
                .collect())
        })
        .await
    }

    // ------------------------------------------------------------------ users

    /// createUser (R11: with their account roles), ≤ 25 per call. A user without any account
    /// role is refused here (the schema requires `acctRolesList`), without a call.
    pub async fn create_users(
        &self,
        users: &[fno::User],
        op: impl Into<Option<fno::OpType>>,
    ) -> Result<Vec<ItemOutcome<UserRef>>, FlexnetError> {
        let op = op.into();
        let mut out: Vec<Option<ItemOutcome<UserRef>>> = vec![None; users.len()];
        let sendable: Vec<usize> = (0..users.len())
            .filter(|&i| !users[i].account_roles.is_empty())
            .collect();
        let answers = self
            .write_chunks(&sendable, |chunk| async move {
                let mut sent = Vec::with_capacity(chunk.len());
                let req = CreateUserRequest {
                    xmlns: NS_UAH,
                    user: chunk
                        .iter()
                        .map(|&i| CreateUserData::from(&users[i]))
                        .collect(),
                    op_type: op.map(op_type),
                };
                let (r, ex): (WriteResponse<RCreatedUsers>, _) = self
                    .call(UAH, "createUser", "createUserRequest", &req, op.is_some())
                    .await?;
                let (failed, created) = split(r, "createUser", |f| {
                    f.user
                        .as_ref()
                        .map(|u| user_key(u.user_name.as_deref(), u.email_address.as_deref()))
                })?;
                let ok: HashMap<String, RUserIdent> = created
                    .map(|c| c.user)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|u| {
                        let email = u
                            .primary_keys
                            .as_ref()
                            .and_then(|p| p.email_address.clone());
                        (user_key(u.user_name.as_deref(), email.as_deref()), u)
                    })
                    .collect();
                for &i in chunk {
                    let u = &users[i];
                    let key = user_key(u.user_name.as_deref(), Some(&u.email_address));
                    let result = match (failed.get(&key), ok.get(&key)) {
                        (Some(reason), _) => Err(item_failure(reason, format!("user {key}"))),
                        (None, Some(r)) => Ok(UserRef {
                            unique_id: r.unique_id.clone(),
                            user_name: r.user_name.clone(),
                            email_address: u.email_address.clone(),
                        }),
                        (None, None) => Err(not_reported(format!("user {key}"))),
                    };
                    sent.push((
                        i,
                        Outcome {
                            result,
                            exchange: ex.clone(),
                        },
                    ));
                }
                Ok(sent)
            })
            .await?;
        for (i, o) in answers {
            out[i] = Some(o);
        }
        let none = Arc::new(Exchange {
            operation: "createUser".into(),
            endpoint: UAH.into(),
            request_xml: String::new(),
            response_xml: None,
            http_status: None,
        });
        Ok(out
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.unwrap_or_else(|| Outcome {
                    result: Err(FnoItemFailure {
                        reason: "the user has no account role to create it with (R11); not sent"
                            .into(),
                        item: format!("user {}", users[i].email_address),
                    }),
                    exchange: none.clone(),
                })
            })
            .collect())
    }

    /// updateUser (by user name / email); account roles are ADDed.
    pub async fn update_users(
        &self,
        users: &[fno::User],
    ) -> Result<Vec<ItemOutcome<()>>, FlexnetError> {
        self.write_chunks(users, |chunk| async move {
            let mut out = Vec::with_capacity(chunk.len());
            let req = UpdateUserRequest {
                xmlns: NS_UAH,
                user_data: chunk.iter().map(UpdateUserData::from).collect(),
            };
            let (r, ex): (WriteResponse<RNothing>, _) = self
                .call(UAH, "updateUser", "updateUserRequest", &req, true)
                .await?;
            let (failed, _) = split(r, "updateUser", |f| {
                f.user_data.as_ref().and_then(|d| d.user.as_ref()).map(|u| {
                    let email = u
                        .primary_keys
                        .as_ref()
                        .and_then(|p| p.email_address.clone());
                    user_key(u.user_name.as_deref(), email.as_deref())
                })
            })?;
            for u in chunk {
                let key = user_key(u.user_name.as_deref(), Some(&u.email_address));
                let result = match failed.get(&key) {
                    Some(reason) => Err(item_failure(reason, format!("user {key}"))),
                    None => Ok(()),
                };
                out.push(Outcome {
                    result,
                    exchange: ex.clone(),
                });
            }
            Ok(out)
        })
        .await
    }

    /// getUsersQuery, all pages.
    pub async fn get_users(&self, q: &UserQuery) -> Result<Vec<FnoUser>, FlexnetError> {
        self.page_all(|page, size| async move {
            let params = UserQueryParams {
                user_name: sq(&q.user_name),
                email_address: sq(&q.email),
                account_id: sq(&q.account_id),
                last_modified: q.modified_since.map(after),
            };
            let has = params.user_name.is_some()
                || params.email_address.is_some()
                || params.account_id.is_some()
                || params.last_modified.is_some();
            let req = GetUsersQueryRequest {
                xmlns: NS_UAH,
                query_params: has.then_some(params),
                page_number: page,
                batch_size: size,
            };
            let (r, _): (QueryResponse<RUsers>, _) = self
                .call(UAH, "getUsersQuery", "getUsersQueryRequest", &req, true)
                .await?;
            query_ok("getUsersQuery", &r.status_info)?;
            Ok(r.response_data
                .unwrap_or_default()
                .user
                .into_iter()
                .map(|u| {
                    let pk = u.user_identifier.primary_keys.clone().unwrap_or_default();
                    FnoUser {
                        unique_id: u.user_identifier.unique_id,
                        user_name: u.user_identifier.user_name,
                        first_name: pk.first_name,
                        last_name: pk.last_name,
                        email_address: pk.email_address,
                        display_name: u.display_name,
                        status: u.status,
                        last_modified: parse_dt(&u.date_last_modified),
                        account_roles: u
                            .account_roles_list
                            .map(|l| l.acct_roles)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|r| fno::AccountRoles {
                                account_id: r.account.and_then(|a| a.id()).unwrap_or_default(),
                                roles: r.roles.map(|x| x.role_name).unwrap_or_default(),
                            })
                            .collect(),
                    }
                })
                .filter(|u| since_ok(q.modified_since, u.last_modified))
                .collect())
        })
        .await
    }

    // ------------------------------------------------------------------ entitlements

    /// createSimpleEntitlement, ≤ 25 per call. Each outcome carries the activation ids of
    /// the request's line items in request order, with their orderLineNumber.
    pub async fn create_entitlements(
        &self,
        entitlements: &[fno::Entitlement],
        op: impl Into<Option<fno::OpType>>,
    ) -> Result<Vec<ItemOutcome<CreatedEntitlement>>, FlexnetError> {
        let op = op.into();
        self.write_chunks(entitlements, |chunk| async move {
            let mut out = Vec::with_capacity(chunk.len());
            let idempotent = op.is_some()
                && chunk
                    .iter()
                    .all(|e| e.line_items.iter().all(|l| l.activation_id.is_some()));
            let req = CreateSimpleEntitlementRequest {
                xmlns: NS_EOS,
                simple_entitlement: chunk.iter().map(SimpleEntitlementData::from).collect(),
                op_type: op.map(op_type),
            };
            let (r, ex): (WriteResponse<RCreatedEntitlements>, _) = self
                .call(
                    EOS,
                    "createSimpleEntitlement",
                    "createSimpleEntitlementRequest",
                    &req,
                    idempotent,
                )
                .await?;
            let (failed, created) = split(r, "createSimpleEntitlement", |f| {
                f.simple_entitlement.as_ref().and_then(REntEcho::id)
            })?;
            let created = created.map(|c| c.created).unwrap_or_default();
            let ok: HashMap<String, RCreatedEntitlement> = created
                .iter()
                .filter_map(|c| Some((c.entitlement_id.clone()?, c.clone())))
                .collect();
            for (j, e) in chunk.iter().enumerate() {
                // recordRefNo is the item's 1-based position in the request: exact even when
                // one entitlement id occurs twice in a chunk; else match by entitlement id
                let by_position = created.iter().find(|c| {
                    c.record_ref_no.as_deref().map(str::trim) == Some(&(j + 1).to_string())
                        && c.entitlement_id.as_deref() == Some(e.entitlement_id.as_str())
                });
                let failure = match by_position {
                    Some(_) => None,
                    None => failed.get(&e.entitlement_id),
                };
                let found = by_position.or_else(|| ok.get(&e.entitlement_id));
                let result = match (failure, found) {
                    (Some(reason), _) => Err(item_failure(
                        reason,
                        format!("entitlement {}", e.entitlement_id),
                    )),
                    (None, Some(c)) => Ok(self
                        .created(
                            &e.entitlement_id,
                            c.unique_id.clone(),
                            &c.line_item_identifiers,
                            &e.line_items,
                        )
                        .await?),
                    (None, None) => Err(not_reported(format!("entitlement {}", e.entitlement_id))),
                };
                out.push(Outcome {
                    result,
                    exchange: ex.clone(),
                });
            }
            Ok(out)
        })
        .await
    }

    /// Maps the returned line identifiers to the request's line items (request order); when
    /// FNO returned a different number (CREATE_OR_IGNORE of an existing entitlement), reads
    /// the entitlement's line items back to get their orderLineNumber.
    async fn created(
        &self,
        entitlement_id: &str,
        unique_id: Option<String>,
        idents: &[RLineIdent],
        requested: &[fno::LineItem],
    ) -> Result<CreatedEntitlement, FlexnetError> {
        let line_items = if idents.len() == requested.len() {
            idents
                .iter()
                .zip(requested)
                .map(|(i, l)| CreatedLineItem {
                    activation_id: i.activation_id().unwrap_or_default(),
                    unique_id: i.unique_id.clone(),
                    order_line_number: l.order_line_number.clone(),
                })
                .collect()
        } else {
            let props = self
                .search_line_items(&LineItemQuery {
                    entitlement_id: Some(entitlement_id.to_owned()),
                    ..LineItemQuery::default()
                })
                .await?;
            let by_aid: HashMap<&str, &LineItemProperties> = props
                .iter()
                .map(|p| (p.activation_id.as_str(), p))
                .collect();
            idents
                .iter()
                .map(|i| {
                    let aid = i.activation_id().unwrap_or_default();
                    CreatedLineItem {
                        order_line_number: by_aid
                            .get(aid.as_str())
                            .and_then(|p| p.order_line_number.clone()),
                        activation_id: aid,
                        unique_id: i.unique_id.clone(),
                    }
                })
                .collect()
        };
        Ok(CreatedEntitlement {
            entitlement_id: entitlement_id.to_owned(),
            unique_id,
            line_items,
        })
    }

    /// createEntitlementLineItem: adds line items to an existing entitlement (renewal
    /// opportunities, new products on a known order).
    pub async fn add_line_items(
        &self,
        add: &fno::AddLineItems,
        op: impl Into<Option<fno::OpType>>,
    ) -> Result<ItemOutcome<CreatedEntitlement>, FlexnetError> {
        let op = op.into();
        let idempotent = op.is_some() && add.line_items.iter().all(|l| l.activation_id.is_some());
        let req = CreateEntitlementLineItemRequest {
            xmlns: NS_EOS,
            line_item: vec![AddLineItemData {
                entitlement_identifier: EntIdent::new(&add.entitlement_id),
                line_items: add.line_items.iter().map(LineItemData::from).collect(),
            }],
            op_type: op.map(op_type),
        };
        let (r, ex): (WriteResponse<RAddedList>, _) = self
            .call(
                EOS,
                "createEntitlementLineItem",
                "createEntitlementLineItemRequest",
                &req,
                idempotent,
            )
            .await?;
        let (failed, added) = split(r, "createEntitlementLineItem", |f| {
            f.line_item.as_ref().and_then(REntEcho::id)
        })?;
        let item = format!("line items of entitlement {}", add.entitlement_id);
        let result = match failed.get(&add.entitlement_id) {
            Some(reason) => Err(item_failure(reason, item)),
            None => match added.and_then(|a| a.added.into_iter().next()) {
                Some(a) => Ok(self
                    .created(
                        &add.entitlement_id,
                        a.entitlement_identifier.and_then(|e| e.unique_id),
                        &a.line_item_identifiers,
                        &add.line_items,
                    )
                    .await?),
                None => Err(not_reported(item)),
            },
        };
        Ok(Outcome {
            result,
            exchange: ex,
        })
    }

    /// renewLicense: renews line items of one entitlement. Each line item's
    /// `parent_activation_id` names the line item it renews; its other values are the renewal's
    /// (activation id auto-generated when `None`). Not idempotent (never retried).
    pub async fn renew_line_items(
        &self,
        renew: &fno::AddLineItems,
    ) -> Result<ItemOutcome<Vec<RenewedLineItem>>, FlexnetError> {
        let item = format!("renewal of entitlement {}", renew.entitlement_id);
        let mut lines = Vec::new();
        for l in &renew.line_items {
            let Some(parent) = &l.parent_activation_id else {
                return Err(FlexnetError::Config(format!(
                    "{item}: line item for part {} has no parent activation id",
                    l.part_number
                )));
            };
            lines.push(RenewLineItemData {
                parent: LineIdent {
                    primary_keys: LinePk {
                        activation_id: parent.clone(),
                    },
                },
                renew_parameters: RenewParameters::from_line(l),
            });
        }
        let req = RenewLicenseRequest {
            xmlns: NS_EOS,
            entitlement_data: vec![RenewEntitlementData {
                parent: EntIdent::new(&renew.entitlement_id),
                renew_line_item_data: lines,
            }],
        };
        let (r, ex): (WriteResponse<RRenewedList>, _) = self
            .call(EOS, "renewLicense", "renewLicenseRequest", &req, false)
            .await?;
        let (failed, data) = split(r, "renewLicense", |f| {
            f.entitlement_data.as_ref().and_then(REntEcho::id)
        })?;
        let result = match failed.get(&renew.entitlement_id) {
            Some(reason) => Err(item_failure(reason, item)),
            None => match data.and_then(|d| d.items.into_iter().next()) {
                Some(d) => Ok(d
                    .renewed
                    .into_iter()
                    .map(|x| RenewedLineItem {
                        parent_activation_id: x
                            .parent
                            .as_ref()
                            .and_then(RLineIdent::activation_id)
                            .unwrap_or_default(),
                        activation_id: x
                            .new_line_item
                            .as_ref()
                            .and_then(|n| n.activation_id.clone())
                            .unwrap_or_default(),
                        unique_id: x.new_line_item.and_then(|n| n.unique_id),
                    })
                    .collect()),
                None => Err(not_reported(item)),
            },
        };
        Ok(Outcome {
            result,
            exchange: ex,
        })
    }

    /// setEntitlementState (R13); line items follow the entitlement.
    pub async fn set_entitlement_state(
        &self,
        changes: &[fno::StateChange],
    ) -> Result<Vec<ItemOutcome<()>>, FlexnetError> {
        self.write_chunks(changes, |chunk| async move {
            let mut out = Vec::with_capacity(chunk.len());
            let req = SetEntitlementStateRequest {
                xmlns: NS_EOS,
                entitlement: chunk
                    .iter()
                    .map(|c| EntitlementState {
                        entitlement_identifier: EntIdent::new(&c.entitlement_id),
                        state_to_set: state(c.state),
                    })
                    .collect(),
            };
            let (r, ex): (WriteResponse<RNothing>, _) = self
                .call(
                    EOS,
                    "setEntitlementState",
                    "setEntitlementStateRequest",
                    &req,
                    false,
                )
                .await?;
            let (failed, _) = split(r, "setEntitlementState", |f| {
                f.entitlement.as_ref().and_then(REntEcho::id)
            })?;
            for c in chunk {
                let result = match failed.get(&c.entitlement_id) {
                    Some(reason) => Err(item_failure(
                        reason,
                        format!("state of entitlement {}", c.entitlement_id),
                    )),
                    None => Ok(()),
                };
                out.push(Outcome {
                    result,
                    exchange: ex.clone(),
                });
            }
            Ok(out)
        })
        .await
    }

    /// setLineItemState for line items by activation id (withdrawn orders).
    pub async fn set_line_item_states(
        &self,
        changes: &[(String, fno::State)],
    ) -> Result<Vec<ItemOutcome<()>>, FlexnetError> {
        self.write_chunks(changes, |chunk| async move {
            let mut out = Vec::with_capacity(chunk.len());
            let req = SetLineItemStateRequest {
                xmlns: NS_EOS,
                line_item: chunk
                    .iter()
                    .map(|(activation_id, s)| LineItemState {
                        line_item_identifier: LineIdent {
                            primary_keys: LinePk {
                                activation_id: activation_id.clone(),
                            },
                        },
                        state_to_set: state(*s),
                    })
                    .collect(),
            };
            let (r, ex): (WriteResponse<RNothing>, _) = self
                .call(
                    EOS,
                    "setLineItemState",
                    "setLineItemStateRequest",
                    &req,
                    true,
                )
                .await?;
            let (failed, _) = split(r, "setLineItemState", |f| {
                f.line_item
                    .as_ref()
                    .and_then(|l| l.line_item_identifier.as_ref())
                    .and_then(RLineIdent::activation_id)
            })?;
            for (activation_id, _) in chunk {
                let result = match failed.get(activation_id) {
                    Some(reason) => Err(item_failure(
                        reason,
                        format!("state of line item {activation_id}"),
                    )),
                    None => Ok(()),
                };
                out.push(Outcome {
                    result,
                    exchange: ex.clone(),
                });
            }
            Ok(out)
        })
        .await
    }

    /// getEntitlementsQuery (`searchEntitlementRequest`), all pages. `modified_since` is sent
    /// as a date (the schema's `lastModifiedDate` is `xsd:date`) and refined here on each
    /// entitlement's `lastModifiedDateTime`.
    pub async fn get_entitlements(
        &self,
        q: &EntitlementQuery,
    ) -> Result<Vec<FnoEntitlement>, FlexnetError> {
        let size = self.page_size.min(1000); // ORA-01795 on EOS above 1000
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let req = SearchEntitlementRequest {
                xmlns: NS_EOS,
                criteria: EntitlementSearchCriteria {
                    entitlement_id: sq(&q.entitlement_id),
                    part_number: sq(&q.part_number),
                    sold_to: sq(&q.sold_to),
                    last_modified_date: q.modified_since.map(|t| ValueQuery {
                        value: (t.date_naive() - ChronoDuration::days(1)).to_string(),
                        search_type: "AFTER",
                    }),
                    state: q.state.map(|s| ValueQuery {
                        value: state(s).into(),
                        search_type: "EQUALS",
                    }),
                },
                batch_size: size,
                page_number: page,
            };
            let (r, _): (SearchEntitlementResponse, _) = self
                .call(
                    EOS,
                    "getEntitlementsQuery",
                    "searchEntitlementRequest",
                    &req,
                    true,
                )
                .await?;
            query_ok("getEntitlementsQuery", &r.status_info)?;
            let n = r.entitlement.len();
            for e in r.entitlement {
                let Some(s) = e.simple_entitlement else {
                    continue;
                };
                let Some(id) = s.entitlement_id.and_then(|i| i.id) else {
                    continue;
                };
                let ent_state = s.state.as_deref().and_then(parse_state);
                let ent = FnoEntitlement {
                    last_modified: parse_dt(&s.last_modified_date_time),
                    line_items: s
                        .line_items
                        .into_iter()
                        .filter_map(|l| {
                            let (product_name, product_version) = l
                                .product
                                .and_then(|p| p.primary_keys)
                                .map(|p| (p.name, p.version))
                                .unwrap_or_default();
                            Some(LineItemProperties {
                                activation_id: l.activation_id.and_then(|a| a.id)?,
                                entitlement_id: Some(id.clone()),
                                sold_to: s.sold_to.clone(),
                                order_id: nonempty(l.order_id),
                                order_line_number: nonempty(l.order_line_number),
                                part_number: l.part_number.as_ref().and_then(RPartIdent::part_id),
                                product_name,
                                product_version,
                                description: l.description,
                                number_of_copies: parse_int(&l.number_of_copies),
                                fulfilled_amount: parse_int(&l.fulfilled_count),
                                remaining_copies: parse_int(&l.number_of_remaining_copies),
                                state: l.state.as_deref().and_then(parse_state),
                                entitlement_state: ent_state,
                                start_date: parse_date(&l.start_date),
                                expiration_date: parse_date(&l.expiration_date),
                                is_permanent: parse_bool(&l.is_permanent),
                                line_item_type: l.line_item_type,
                                parent_activation_id: l
                                    .parent_line_item
                                    .as_ref()
                                    .and_then(RLineIdent::activation_id),
                                last_modified: parse_dt(&l.last_modified_date_time),
                            })
                        })
                        .collect(),
                    entitlement_id: id,
                    sold_to: s.sold_to,
                    state: ent_state,
                    description: s.description,
                };
                if since_ok(q.modified_since, ent.last_modified) {
                    out.push(ent);
                }
            }
            if n < size as usize || page >= 100_000 {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// getEntitlementLineItemPropertiesQuery (`searchEntitlementLineItemPropertiesRequest`),
    /// all pages, with the response config asking for every field [`LineItemProperties`]
    /// holds. Includes draft line items.
    pub async fn search_line_items(
        &self,
        q: &LineItemQuery,
    ) -> Result<Vec<LineItemProperties>, FlexnetError> {
        let size = self.page_size.min(1000);
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let req = SearchLineItemsRequest {
                xmlns: NS_EOS,
                query_params: LineItemQueryParams {
                    entitlement_id: sq(&q.entitlement_id),
                    activation_id: sq(&q.activation_id),
                    part_number: sq(&q.part_number),
                    order_id: sq(&q.order_id),
                    order_line_number: sq(&q.order_line_number),
                    sold_to: sq(&q.sold_to),
                    last_modified: q.modified_since.map(after),
                },
                config: LineItemResponseConfig::all(),
                batch_size: size,
                page_number: page,
            };
            let (r, _): (SearchLineItemsResponse, _) = self
                .call(
                    EOS,
                    "getEntitlementLineItemPropertiesQuery",
                    "searchEntitlementLineItemPropertiesRequest",
                    &req,
                    true,
                )
                .await?;
            query_ok("getEntitlementLineItemPropertiesQuery", &r.status_info)?;
            let n = r.items.len();
            out.extend(
                r.items
                    .into_iter()
                    .filter_map(line_props)
                    .filter(|l| since_ok(q.modified_since, l.last_modified)),
            );
            if n < size as usize || page >= 100_000 {
                return Ok(out);
            }
            page += 1;
        }
    }

    // ------------------------------------------------------------------ catalogue

    /// getProductsQuery (with contained part numbers and license models), all pages.
    pub async fn get_products(&self, q: &ProductQuery) -> Result<Vec<FnoProduct>, FlexnetError> {
        self.page_all(|page, size| async move {
            let params = ProductQueryParams {
                product_name: sq(&q.name),
                part_number: sq(&q.part_number),
                state: q.state.map(|s| ValueQuery {
                    value: state(s).into(),
                    search_type: "EQUALS",
                }),
            };
            let has = params.product_name.is_some()
                || params.part_number.is_some()
                || params.state.is_some();
            let req = GetProductsQueryRequest {
                xmlns: NS_PPS,
                query_params: has.then_some(params),
                page_number: page,
                batch_size: size,
                return_contained_objects: true,
            };
            let (r, _): (QueryResponse<RProducts>, _) = self
                .call(
                    PPS,
                    "getProductsQuery",
                    "getProductsQueryRequest",
                    &req,
                    true,
                )
                .await?;
            query_ok("getProductsQuery", &r.status_info)?;
            Ok(r.response_data
                .unwrap_or_default()
                .product
                .into_iter()
                .map(|p| FnoProduct {
                    unique_id: p.unique_id,
                    state: parse_state(&p.state),
                    name: p.product_name,
                    version: p.version,
                    description: p.description,
                    part_numbers: p
                        .part_numbers
                        .map(|x| x.part_number)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(RPartIdent::part_id)
                        .collect(),
                    license_models: p
                        .license_models
                        .map(|x| x.license_model)
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|m| m.primary_keys.and_then(|k| k.name))
                        .collect(),
                })
                .collect())
        })
        .await
    }

    /// getPartNumbersQuery, all pages. `state` keeps only part numbers whose mapped product
    /// is in that state (part numbers have no state of their own; one products query tells).
    pub async fn get_part_numbers(
        &self,
        part_id: Option<&str>,
        state_filter: Option<fno::State>,
    ) -> Result<Vec<FnoPartNumber>, FlexnetError> {
        let part_id = part_id.map(str::to_owned);
        let parts = self
            .page_all(|page, size| {
                let part_id = part_id.clone();
                async move {
                    let req = GetPartNumbersQueryRequest {
                        xmlns: NS_PPS,
                        query_params: part_id.as_deref().map(|p| PartNumberQueryParams {
                            part_id: Some(SimpleQuery::eq(p)),
                            product_name: None,
                        }),
                        page_number: page,
                        batch_size: size,
                    };
                    let (r, _): (QueryResponse<RPartNumberList>, _) = self
                        .call(
                            PPS,
                            "getPartNumbersQuery",
                            "getPartNumbersQueryRequest",
                            &req,
                            true,
                        )
                        .await?;
                    query_ok("getPartNumbersQuery", &r.status_info)?;
                    Ok(r.response_data
                        .unwrap_or_default()
                        .part_number
                        .into_iter()
                        .filter_map(|p| {
                            let (product_name, product_version) = p
                                .mapped_product
                                .and_then(|m| m.primary_keys)
                                .map(|k| (k.name, k.version))
                                .unwrap_or_default();
                            Some(FnoPartNumber {
                                part_id: p.part_number_identifier.part_id()?,
                                product_name,
                                product_version,
                                license_model: p
                                    .mapped_license_model
                                    .and_then(|m| m.primary_keys)
                                    .and_then(|k| k.name),
                            })
                        })
                        .collect())
                }
            })
            .await?;
        let Some(want) = state_filter else {
            return Ok(parts);
        };
        let products = self
            .get_products(&ProductQuery {
                state: Some(want),
                ..ProductQuery::default()
            })
            .await?;
        Ok(parts
            .into_iter()
            .filter(|p| {
                products.iter().any(|x| {
                    Some(&x.name) == p.product_name.as_ref()
                        && (p.product_version.is_none()
                            || x.version.as_deref().unwrap_or("")
                                == p.product_version.as_deref().unwrap_or(""))
                })
            })
            .collect())
    }

    /// The catalogue the engine checks ProductCodes against (R5, R7): every part number of
    /// every product (optionally only products in `state`) → product name, version, state.
    pub async fn catalogue(
        &self,
        state_filter: Option<fno::State>,
    ) -> Result<mapping::Catalogue, FlexnetError> {
        let products = self
            .get_products(&ProductQuery {
                state: state_filter,
                ..ProductQuery::default()
            })
            .await?;
        let mut c = mapping::Catalogue::default();
        for p in products {
            let Some(st) = p.state else { continue };
            for pn in &p.part_numbers {
                c.insert(pn.clone(), p.name.clone(), p.version.as_deref(), st);
            }
        }
        Ok(c)
    }
}

/// The tenant URL: https (plain http only to a loopback host, and only when the code-only
/// switch allows it), a host, no credentials, query or fragment.
fn url_check(base: &str, allow_loopback_http: bool) -> Result<String, FlexnetError> {
    let trimmed = base.trim().trim_end_matches('/');
    let (https, rest) = match (
        trimmed.strip_prefix("https://"),
        trimmed.strip_prefix("http://"),
    ) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => {
            return Err(FlexnetError::Config(format!(
                "the tenant URL must start with https:// (got {trimmed:?})"
            )))
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(FlexnetError::Config("the tenant URL has no host".into()));
    }
    if authority.contains('@') || rest.contains(['?', '#', '\\']) {
        return Err(FlexnetError::Config(
            "the tenant URL must not carry credentials, a query or a fragment; use the username and password settings"
                .into(),
        ));
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let loopback_ok = allow_loopback_http && mapping::endpoint::is_loopback_host(host);
    if !https && !loopback_ok {
        return Err(FlexnetError::Config(format!(
            "the tenant URL must start with https:// (got {trimmed:?})"
        )));
    }
    Ok(trimmed.to_owned())
}

fn after(t: DateTime<Utc>) -> ValueQuery {
    ValueQuery {
        value: (t - ChronoDuration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        search_type: "AFTER",
    }
}

fn since_ok(since: Option<DateTime<Utc>>, t: Option<DateTime<Utc>>) -> bool {
    match (since, t) {
        (Some(s), Some(t)) => t >= s,
        _ => true,
    }
}

fn attr_pairs(a: Option<RAttrs>) -> Vec<(String, String)> {
    a.map(|a| a.attribute)
        .unwrap_or_default()
        .into_iter()
        .map(|x| {
            let v = x
                .string_value
                .or(x.date_value)
                .or(x.boolean_value)
                .or(x.integer_value)
                .unwrap_or_default();
            (x.name, v)
        })
        .collect()
}

fn user_key(user_name: Option<&str>, email: Option<&str>) -> String {
    user_name
        .filter(|s| !s.is_empty())
        .or(email)
        .unwrap_or_default()
        .to_lowercase()
}

fn query_ok(operation: &str, s: &StatusInfo) -> Result<(), FlexnetError> {
    if s.status == "SUCCESS" {
        Ok(())
    } else {
        Err(FlexnetError::Failure {
            operation: operation.to_owned(),
            reason: s
                .reason
                .clone()
                .unwrap_or_else(|| format!("status {}", s.status)),
        })
    }
}

fn item_failure(reason: &str, item: String) -> FnoItemFailure {
    FnoItemFailure {
        reason: reason.to_owned(),
        item,
    }
}

fn not_reported(item: String) -> FnoItemFailure {
    FnoItemFailure {
        reason: "FNO reported neither success nor failure for this item".into(),
        item,
    }
}

type Split<D> = (HashMap<String, String>, Option<D>);

/// Whole-call FAILURE without per-item data → `Failure`; otherwise (failed key → reason,
/// responseData).
fn split<D>(
    r: WriteResponse<D>,
    operation: &str,
    key: impl Fn(&RFailed) -> Option<String>,
) -> Result<Split<D>, FlexnetError> {
    let failed_items = r
        .failed_data
        .map(RFailedList::into_items)
        .unwrap_or_default();
    if r.status_info.status == "FAILURE" && failed_items.is_empty() {
        return Err(FlexnetError::Failure {
            operation: operation.to_owned(),
            reason: r
                .status_info
                .reason
                .unwrap_or_else(|| "status FAILURE without a reason".into()),
        });
    }
    let mut failed = HashMap::new();
    for f in &failed_items {
        let reason = f.reason.clone().unwrap_or_else(|| "no reason given".into());
        if let Some(k) = key(f) {
            failed.insert(k, reason);
        }
    }
    Ok((failed, r.response_data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_of_strips_prefixes_and_reads_faults() {
        let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ns1:createAcctResponse xmlns:ns1="urn:v3"><ns1:statusInfo><ns1:status>SUCCESS</ns1:status></ns1:statusInfo></ns1:createAcctResponse></s:Body></s:Envelope>"#;
        match body_of(xml).unwrap() {
            Body::Element { name, xml } => {
                assert_eq!(name, "createAcctResponse");
                assert!(
                    xml.contains("<statusInfo><status>SUCCESS</status></statusInfo>"),
                    "{xml}"
                );
            }
            Body::Fault { .. } => panic!("not a fault"),
        }
        let fault = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>boom &amp; co</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        match body_of(fault).unwrap() {
            Body::Fault { code, message } => {
                assert_eq!(code, "soapenv:Server");
                assert_eq!(message, "boom & co");
            }
            Body::Element { .. } => panic!("a fault"),
        }
    }

    #[test]
    fn eos_queries_put_batch_size_before_page_number_and_uah_the_reverse() {
        let eos = quick_xml::se::to_string_with_root(
            "searchEntitlementRequest",
            &SearchEntitlementRequest {
                xmlns: NS_EOS,
                criteria: EntitlementSearchCriteria::default(),
                batch_size: 10,
                page_number: 2,
            },
        )
        .unwrap();
        assert!(
            eos.find("<batchSize>").unwrap() < eos.find("<pageNumber>").unwrap(),
            "{eos}"
        );
        let uah = quick_xml::se::to_string_with_root(
            "getAccountsQueryRequest",
            &GetAccountsQueryRequest {
                xmlns: NS_UAH,
                query_params: None,
                page_number: 2,
                batch_size: 10,
            },
        )
        .unwrap();
        assert!(
            uah.find("<pageNumber>").unwrap() < uah.find("<batchSize>").unwrap(),
            "{uah}"
        );
        assert!(
            uah.starts_with(&format!("<getAccountsQueryRequest xmlns=\"{NS_UAH}\">")),
            "{uah}"
        );
    }

    #[test]
    fn r25_tenant_url_must_be_https_and_carry_no_credentials() {
        assert!(url_check("https://flex1234-uat.flexnetoperations.com/", false).is_ok());
        assert!(url_check("flex1234.flexnetoperations.com", false).is_err());
        assert!(url_check("https://user:pw@flex1234.flexnetoperations.com", false).is_err());
        assert!(url_check("https://flex1234.flexnetoperations.com?x=1", false).is_err());
        // plain http: never for a real tenant, only to loopback behind the code-only switch
        let e = url_check("http://flex1234.flexnetoperations.com", false).unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
        assert!(url_check("http://flex1234.flexnetoperations.com", true).is_err());
        assert!(url_check("http://127.0.0.1:8080", false).is_err());
        assert!(url_check("http://127.0.0.1:8080", true).is_ok());
        assert!(url_check("http://localhost:8080/", true).is_ok());
    }
}
