//! The engine's view of the two clients: the few calls it makes, with results reduced to what
//! the sync needs (per-item outcome, ids, request/response for the log). This is the only module
//! that touches `salesforce::` and `flexnet::` types, so a client API change stays here.

use chrono::{DateTime, Utc};
use mapping::fno;
use mapping::Catalogue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A call that did not work. `unexpected` = an Error entry (a bug, a response we cannot read);
/// otherwise a Failed entry (API/data/external problem, R24).
#[derive(Debug, Clone)]
pub struct CallFailure {
    pub unexpected: bool,
    /// Which component raised it (`salesforce`, `flexnet`).
    pub component: &'static str,
    /// The full error chain, in words.
    pub message: String,
    pub request: Option<Value>,
    pub response: Option<Value>,
    /// The Salesforce daily quota is spent: stop the run (not just this account).
    pub quota_exhausted: bool,
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.component, self.message)
    }
}

impl std::error::Error for CallFailure {}

/// The outcome of one item of a batch call (one account, one user, one state change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemOutcome {
    pub ok: bool,
    /// FNO's reason when it refused the item.
    pub reason: Option<String>,
    /// What to keep in the log as the response.
    pub response: Value,
}

/// The outcome of createSimpleEntitlement / createEntitlementLineItem for one entitlement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitlementOutcome {
    pub ok: bool,
    pub reason: Option<String>,
    /// Activation ids in the order of the request's line items (when FNO returned them).
    pub activation_ids: Vec<Option<String>>,
    pub response: Value,
}

/// One FNO line item as read back (pull, crash recovery).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FnoLineItem {
    pub activation_id: String,
    pub entitlement_id: Option<String>,
    pub order_id: Option<String>,
    pub order_line_number: Option<String>,
    pub number_of_copies: Option<i64>,
    pub fulfilled_amount: Option<i64>,
    pub remaining_copies: Option<i64>,
    pub state: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// The result of one record of a Salesforce composite update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveOutcome {
    pub id: String,
    pub ok: bool,
    pub errors: Vec<String>,
}

/// Salesforce as the engine uses it.
pub struct Sf {
    pub client: SalesforceClient,
}

/// FNO as the engine uses it.
pub struct Fno {
    pub client: FlexnetClient,
}

// TEMPORARY placeholders until the clients land.
pub struct SalesforceClient;
pub struct FlexnetClient;

fn pending_client() -> CallFailure {
    CallFailure {
        unexpected: true,
        component: "engine",
        message: "client not wired".into(),
        request: None,
        response: None,
        quota_exhausted: false,
    }
}

impl Sf {
    pub async fn query(&self, _soql: &str) -> Result<Vec<Value>, CallFailure> {
        Err(pending_client())
    }
    pub async fn update(&self, _u: &[mapping::SfUpdate]) -> Result<Vec<SaveOutcome>, CallFailure> {
        Err(pending_client())
    }
    pub fn api_calls(&self) -> u64 {
        0
    }
}

impl Fno {
    pub async fn create_accounts(
        &self,
        _a: &[fno::Account],
    ) -> Result<Vec<ItemOutcome>, CallFailure> {
        Err(pending_client())
    }
    pub async fn create_users(&self, _a: &[fno::User]) -> Result<Vec<ItemOutcome>, CallFailure> {
        Err(pending_client())
    }
    pub async fn create_entitlement(
        &self,
        _a: &fno::Entitlement,
    ) -> Result<EntitlementOutcome, CallFailure> {
        Err(pending_client())
    }
    pub async fn add_line_items(
        &self,
        _a: &fno::AddLineItems,
    ) -> Result<EntitlementOutcome, CallFailure> {
        Err(pending_client())
    }
    pub async fn set_state(&self, _a: &fno::StateChange) -> Result<ItemOutcome, CallFailure> {
        Err(pending_client())
    }
    pub async fn line_items_of_entitlement(
        &self,
        _e: &str,
    ) -> Result<Vec<FnoLineItem>, CallFailure> {
        Err(pending_client())
    }
    pub async fn line_items_modified_since(
        &self,
        _s: Option<DateTime<Utc>>,
    ) -> Result<Vec<FnoLineItem>, CallFailure> {
        Err(pending_client())
    }
    pub async fn catalogue(&self) -> Result<Catalogue, CallFailure> {
        Err(pending_client())
    }
    pub fn calls(&self) -> u64 {
        0
    }
}

/// Render a request model for the log.
pub fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}
