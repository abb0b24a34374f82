//! The engine's view of the two clients: the few calls it makes, with results reduced to what
//! the sync needs (per-item outcome, ids, request/response for the log). This is the only module
//! that touches `salesforce::` and `flexnet::` types, so a client API change stays here.

use chrono::{DateTime, Utc};
use mapping::fno;
use mapping::Catalogue;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

pub use crate::dryrun::Recorder;

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
    /// Worth trying again later (timeouts, 5xx, 429, lock contention); false = permanent
    /// (refused credentials, invalid requests) until someone fixes the cause.
    pub transient: bool,
}

impl CallFailure {
    /// A failure of the engine's own making (a response it cannot use), never transient.
    pub fn unexpected(component: &'static str, message: String) -> Self {
        CallFailure {
            unexpected: true,
            component,
            message,
            request: None,
            response: None,
            quota_exhausted: false,
            transient: false,
        }
    }
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
    /// A dry run's recorder: write-backs are recorded there and never sent (reads still are).
    pub dry: Option<Arc<Recorder>>,
}

/// FNO as the engine uses it.
pub struct Fno {
    /// Shared with a dry run's twin engine (its reads go through the same client).
    pub client: Arc<flexnet::FlexnetClient>,
    /// A dry run's recorder: every call that changes FNO is recorded there and answered with a
    /// synthesized success; none is sent (searches and the catalogue still are).
    pub dry: Option<Arc<Recorder>>,
}

pub use salesforce::SalesforceClient;

fn sf_failure(e: salesforce::SalesforceError, client: &SalesforceClient) -> CallFailure {
    use salesforce::SalesforceError as E;
    let unexpected = matches!(e, E::Malformed { .. } | E::Config(_));
    let exchange = client.last_exchange();
    CallFailure {
        unexpected,
        component: "salesforce",
        message: crate::txlog::error_chain(&e),
        request: exchange
            .as_ref()
            .map(|x| serde_json::json!({"method": x.method, "url": x.url, "body": x.request_body})),
        response: exchange
            .as_ref()
            .map(|x| serde_json::json!({"status": x.status, "body": x.response_body})),
        quota_exhausted: e.is_quota(),
        transient: e.kind() == salesforce::ErrorKind::Transient,
    }
}

impl Sf {
    /// Every record of a SOQL query (all pages).
    pub async fn query(&self, soql: &str) -> Result<Vec<Value>, CallFailure> {
        self.client
            .query(soql)
            .await
            .map_err(|e| sf_failure(e, &self.client))
    }

    /// Several queries `(soql, all)` in one composite call per five (each counts once against
    /// the org's quota); every page handed to `each(query index, records)` as it arrives.
    pub async fn query_many_pages(
        &self,
        q: &[(&str, bool)],
        each: &mut (dyn FnMut(usize, Vec<Value>) + Send),
    ) -> Result<(), CallFailure> {
        self.client
            .query_many_pages(q, each)
            .await
            .map_err(|e| sf_failure(e, &self.client))
    }

    /// R20 write-back: composite updates (≤200 a call), one outcome per record in order.
    pub async fn update(&self, u: &[mapping::SfUpdate]) -> Result<Vec<SaveOutcome>, CallFailure> {
        if let Some(dry) = &self.dry {
            return Ok(dry.writebacks(u));
        }
        let records: Vec<salesforce::RecordUpdate> =
            u.iter().map(salesforce::RecordUpdate::from).collect();
        let results = self
            .client
            .update_many(&records)
            .await
            .map_err(|e| sf_failure(e, &self.client))?;
        Ok(results
            .into_iter()
            .map(|r| SaveOutcome {
                id: r.id,
                ok: r.success,
                errors: r
                    .errors
                    .iter()
                    .map(|e| {
                        if e.fields.is_empty() {
                            format!("{}: {}", e.status_code, e.message)
                        } else {
                            format!("{}: {} ({})", e.status_code, e.message, e.fields.join(", "))
                        }
                    })
                    .collect(),
            })
            .collect())
    }

    pub fn api_calls(&self) -> u64 {
        self.client.api_calls()
    }

    pub fn api_usage(&self) -> Option<(u64, u64)> {
        self.client.api_usage().map(|u| (u.used, u.max))
    }
}

fn fno_failure(e: flexnet::FlexnetError, client: &flexnet::FlexnetClient) -> CallFailure {
    use flexnet::FlexnetError as E;
    let unexpected = matches!(e, E::Malformed { .. } | E::Config(_));
    let response = client.last_exchange().map(|x| exchange_json(&x));
    CallFailure {
        unexpected,
        component: "flexnet",
        message: crate::txlog::error_chain(&e),
        request: None,
        response,
        quota_exhausted: false,
        transient: e.kind() == flexnet::ErrorKind::Transient,
    }
}

/// The response side of a SOAP exchange, for the log (the request is logged as its model).
fn exchange_json(x: &flexnet::Exchange) -> Value {
    serde_json::json!({
        "operation": x.operation,
        "endpoint": x.endpoint,
        "http_status": x.http_status,
        "response_xml": x.response_xml,
    })
}

fn item<T: Serialize>(o: flexnet::Outcome<T>) -> ItemOutcome {
    let ex = exchange_json(&o.exchange);
    match o.result {
        Ok(v) => ItemOutcome {
            ok: true,
            reason: None,
            response: serde_json::json!({"result": to_json(&v), "exchange": ex}),
        },
        Err(f) => ItemOutcome {
            ok: false,
            reason: Some(f.reason.clone()),
            response: serde_json::json!({"exchange": ex}),
        },
    }
}

fn entitlement(o: flexnet::Outcome<flexnet::CreatedEntitlement>) -> EntitlementOutcome {
    let ex = exchange_json(&o.exchange);
    match o.result {
        Ok(c) => EntitlementOutcome {
            ok: true,
            reason: None,
            activation_ids: c
                .line_items
                .iter()
                .map(|l| Some(l.activation_id.clone()))
                .collect(),
            response: serde_json::json!({"result": to_json(&c), "exchange": ex}),
        },
        Err(f) => EntitlementOutcome {
            ok: false,
            reason: Some(f.reason.clone()),
            activation_ids: Vec::new(),
            response: serde_json::json!({"exchange": ex}),
        },
    }
}

fn line(p: flexnet::LineItemProperties) -> FnoLineItem {
    FnoLineItem {
        activation_id: p.activation_id,
        entitlement_id: p.entitlement_id,
        order_id: p.order_id,
        order_line_number: p.order_line_number,
        number_of_copies: p.number_of_copies,
        fulfilled_amount: p.fulfilled_amount,
        remaining_copies: p.remaining_copies,
        state: p.state.map(|s| format!("{s:?}")),
        last_modified: p.last_modified,
    }
}

impl Fno {
    pub fn calls(&self) -> u64 {
        self.client.calls()
    }

    pub async fn create_accounts(
        &self,
        a: &[fno::Account],
    ) -> Result<Vec<ItemOutcome>, CallFailure> {
        if let Some(dry) = &self.dry {
            return Ok(dry.items("createAccount", |r| &mut r.accounts, a));
        }
        let r = self
            .client
            .create_accounts(a, fno::OpType::CreateOrUpdate)
            .await;
        r.map(|v| v.into_iter().map(item).collect())
            .map_err(|e| fno_failure(e, &self.client))
    }

    pub async fn create_users(&self, u: &[fno::User]) -> Result<Vec<ItemOutcome>, CallFailure> {
        if let Some(dry) = &self.dry {
            return Ok(dry.items("createUser", |r| &mut r.users, u));
        }
        let r = self
            .client
            .create_users(u, fno::OpType::CreateOrUpdate)
            .await;
        r.map(|v| v.into_iter().map(item).collect())
            .map_err(|e| fno_failure(e, &self.client))
    }

    /// `createSimpleEntitlement` for many entitlements (batched by the client); one outcome
    /// per entitlement, in order — FNO's `failedData` fails only its own item.
    pub async fn create_entitlements(
        &self,
        e: &[fno::Entitlement],
    ) -> Result<Vec<EntitlementOutcome>, CallFailure> {
        if let Some(dry) = &self.dry {
            return Ok(dry.entitlements(e));
        }
        let r = self
            .client
            .create_entitlements(e, fno::OpType::CreateOrUpdate)
            .await;
        r.map(|v| v.into_iter().map(entitlement).collect())
            .map_err(|err| fno_failure(err, &self.client))
    }

    /// `setEntitlementState` for many entitlements; one outcome per change, in order.
    pub async fn set_states(
        &self,
        s: &[fno::StateChange],
    ) -> Result<Vec<ItemOutcome>, CallFailure> {
        if let Some(dry) = &self.dry {
            return Ok(dry.items("setEntitlementState", |r| &mut r.entitlement_states, s));
        }
        let r = self.client.set_entitlement_state(s).await;
        r.map(|v| v.into_iter().map(item).collect())
            .map_err(|e| fno_failure(e, &self.client))
    }

    pub async fn add_line_items(
        &self,
        a: &fno::AddLineItems,
    ) -> Result<EntitlementOutcome, CallFailure> {
        if let Some(dry) = &self.dry {
            return Ok(dry.add_line_items(a));
        }
        let r = self
            .client
            .add_line_items(a, fno::OpType::CreateOrUpdate)
            .await;
        r.map(entitlement).map_err(|e| fno_failure(e, &self.client))
    }

    /// [`Fno::set_states`] for one change.
    pub async fn set_state(&self, s: &fno::StateChange) -> Result<ItemOutcome, CallFailure> {
        let mut v = self.set_states(std::slice::from_ref(s)).await?;
        Ok(v.pop().unwrap_or(ItemOutcome {
            ok: true,
            reason: None,
            response: Value::Null,
        }))
    }

    /// `setLineItemState` for line items by activation id (withdrawn orders).
    pub async fn set_line_states(
        &self,
        activation_ids: &[String],
        state: fno::State,
    ) -> Result<Vec<ItemOutcome>, CallFailure> {
        let changes: Vec<(String, fno::State)> =
            activation_ids.iter().map(|a| (a.clone(), state)).collect();
        if let Some(dry) = &self.dry {
            let changes: Vec<Value> = changes
                .iter()
                .map(|(a, s)| serde_json::json!({"activation_id": a, "state": s}))
                .collect();
            return Ok(dry.items("setLineItemState", |r| &mut r.line_item_states, &changes));
        }
        self.client
            .set_line_item_states(&changes)
            .await
            .map(|v| v.into_iter().map(item).collect())
            .map_err(|e| fno_failure(e, &self.client))
    }

    pub async fn line_items_of_entitlement(
        &self,
        id: &str,
    ) -> Result<Vec<FnoLineItem>, CallFailure> {
        let q = flexnet::LineItemQuery {
            entitlement_id: Some(id.to_owned()),
            ..Default::default()
        };
        let r = self.client.search_line_items(&q).await;
        let items: Vec<FnoLineItem> = r
            .map(|v| v.into_iter().map(line).collect())
            .map_err(|e| fno_failure(e, &self.client))?;
        // a dry run reads back what it would have written, as FNO would then answer
        Ok(match &self.dry {
            Some(dry) => dry.with_lines(id, items),
            None => items,
        })
    }

    pub async fn line_items_modified_since(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<FnoLineItem>, CallFailure> {
        let q = flexnet::LineItemQuery {
            modified_since: since,
            ..Default::default()
        };
        let r = self.client.search_line_items(&q).await;
        r.map(|v| v.into_iter().map(line).collect())
            .map_err(|e| fno_failure(e, &self.client))
    }

    /// R5/R7: every part number of every product, whatever its state (the planner reports
    /// a product that is not DEPLOYED by name).
    pub async fn catalogue(&self) -> Result<Catalogue, CallFailure> {
        self.client
            .catalogue(None)
            .await
            .map_err(|e| fno_failure(e, &self.client))
    }
}

/// Render a request model for the log.
pub fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}
