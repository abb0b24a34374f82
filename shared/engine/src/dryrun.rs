//! Dry runs (issue 14): a run planned and mapped exactly as a real one, that writes nothing.
//!
//! [`Engine::dry_run`](crate::Engine::dry_run) builds a twin of an engine: the same clients
//! (Salesforce queries, FNO searches and catalogue are really made), the same settings and
//! clock, but
//! * every call that would change FNO or Salesforce goes to a [`Recorder`] instead: the
//!   request is kept (scrubbed like a log payload) and a success is synthesized, FNO's new
//!   activation ids as placeholders `DRYRUN-<OpportunityLineItem Id>` ([`PLACEHOLDER`]);
//! * the state store and the transaction log are [`crate::overlay`]s: reads see the real store
//!   and then what the dry run would have written; writes stay in memory (watermark, runs,
//!   sales-order records, outstanding list, fingerprints, leases, log entries).
//!
//! What comes out is a [`DryRunReport`]: the accounts, the FNO requests by operation, the
//! Salesforce write-backs, every entry the run would log (rule failures among them, numbered
//! `DRY-00001`…), and counts.

use crate::io::{EntitlementOutcome, FnoLineItem, ItemOutcome, SaveOutcome};
use crate::ports::{LogEntry, LogStatus, OutstandingItem, RunKind};
use crate::redact::Redactor;
use chrono::{DateTime, Utc};
use mapping::{fno, Skipped};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Prefix of the ids a dry run makes up where FNO would assign one (activation ids).
pub const PLACEHOLDER: &str = "DRYRUN-";

/// What every dry-run report says about itself.
pub const NOTE: &str = "Dry run: nothing was sent to FlexNet Operations, nothing was written to Salesforce, the sync state or the transaction log. Ids starting DRYRUN- stand for ids FNO would assign; log numbers DRY-… are not in the transaction log.";

/// The FNO requests a dry run would have sent, by operation (the request models the log
/// holds, secrets removed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FnoRequests {
    /// `createAccount` (R10, R12): the accounts and sold-to accounts.
    pub accounts: Vec<Value>,
    /// `createUser` (R11): the contacts as users.
    pub users: Vec<Value>,
    /// `createSimpleEntitlement` (R14–R19): the entitlements with their line items.
    pub entitlements: Vec<Value>,
    /// `createEntitlementLineItem`: renewal line items added to an existing entitlement.
    pub line_items: Vec<Value>,
    /// `setEntitlementState` (R13).
    pub entitlement_states: Vec<Value>,
    /// `setLineItemState`: line items of withdrawn orders.
    pub line_item_states: Vec<Value>,
}

impl FnoRequests {
    /// `(counter name, requests)` per operation.
    pub fn counts(&self) -> [(&'static str, u64); 6] {
        let n = |v: &Vec<Value>| v.len() as u64;
        [
            ("fno_accounts", n(&self.accounts)),
            ("fno_users", n(&self.users)),
            ("fno_entitlements", n(&self.entitlements)),
            ("fno_line_items", n(&self.line_items)),
            ("fno_entitlement_states", n(&self.entitlement_states)),
            ("fno_line_item_states", n(&self.line_item_states)),
        ]
    }
}

#[derive(Default)]
struct Recorded {
    fno: FnoRequests,
    writebacks: Vec<Value>,
    /// Entitlement id → the line items this dry run would have created or updated in it.
    lines: BTreeMap<String, Vec<FnoLineItem>>,
}

/// Takes the writes of a dry run: keeps each request and answers it as a success, without a
/// network call. Shared by the twin engine's Salesforce and FNO sides.
pub struct Recorder {
    redactor: Redactor,
    recorded: Mutex<Recorded>,
}

/// The response a dry run logs for a request it did not send.
fn not_sent(operation: &str) -> Value {
    json!({"dry_run": format!("{operation} not sent (dry run)")})
}

impl Recorder {
    pub fn new(redactor: Redactor) -> Self {
        Recorder {
            redactor,
            recorded: Mutex::new(Recorded::default()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Recorded) -> R) -> R {
        f(&mut self.recorded.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn scrubbed<T: Serialize>(&self, v: &T) -> Value {
        self.redactor.scrub(&crate::io::to_json(v))
    }

    /// Records one batch call's items under `group`; one success per item.
    pub fn items<T: Serialize>(
        &self,
        operation: &str,
        group: fn(&mut FnoRequests) -> &mut Vec<Value>,
        items: &[T],
    ) -> Vec<ItemOutcome> {
        let values: Vec<Value> = items.iter().map(|i| self.scrubbed(i)).collect();
        self.with(|r| group(&mut r.fno).extend(values));
        items
            .iter()
            .map(|_| ItemOutcome {
                ok: true,
                reason: None,
                response: not_sent(operation),
            })
            .collect()
    }

    /// `createSimpleEntitlement`: each entitlement recorded; its new line items get
    /// placeholder activation ids (known ones keep theirs).
    pub fn entitlements(&self, e: &[fno::Entitlement]) -> Vec<EntitlementOutcome> {
        e.iter()
            .map(|ent| {
                let request = self.scrubbed(ent);
                self.with(|r| r.fno.entitlements.push(request));
                self.created(
                    &ent.entitlement_id,
                    &ent.line_items,
                    "createSimpleEntitlement",
                )
            })
            .collect()
    }

    /// `createEntitlementLineItem` (renewals).
    pub fn add_line_items(&self, a: &fno::AddLineItems) -> EntitlementOutcome {
        let request = self.scrubbed(a);
        self.with(|r| r.fno.line_items.push(request));
        self.created(
            &a.entitlement_id,
            &a.line_items,
            "createEntitlementLineItem",
        )
    }

    /// The answer FNO would give for line items written to `entitlement_id`; remembers them
    /// for [`Recorder::with_lines`].
    fn created(
        &self,
        entitlement_id: &str,
        items: &[fno::LineItem],
        operation: &str,
    ) -> EntitlementOutcome {
        let ids: Vec<Option<String>> = items
            .iter()
            .enumerate()
            .map(|(i, li)| {
                Some(li.activation_id.clone().unwrap_or_else(|| {
                    let key = li.order_line_number.clone();
                    format!(
                        "{PLACEHOLDER}{}",
                        key.unwrap_or(format!("{entitlement_id}-{i}"))
                    )
                }))
            })
            .collect();
        let lines: Vec<FnoLineItem> = items
            .iter()
            .zip(&ids)
            .map(|(li, id)| FnoLineItem {
                activation_id: id.clone().unwrap_or_default(),
                entitlement_id: Some(entitlement_id.to_owned()),
                order_id: li.order_id.clone(),
                order_line_number: li.order_line_number.clone(),
                number_of_copies: Some(i64::from(li.number_of_copies)),
                fulfilled_amount: Some(0),
                remaining_copies: Some(i64::from(li.number_of_copies)),
                state: None,
                last_modified: None,
            })
            .collect();
        self.with(|r| {
            r.lines
                .entry(entitlement_id.to_owned())
                .or_default()
                .extend(lines)
        });
        let mut response = not_sent(operation);
        response["activation_ids"] = json!(ids);
        EntitlementOutcome {
            ok: true,
            reason: None,
            activation_ids: ids,
            response,
        }
    }

    /// R20 write-back: each record recorded, each a success.
    pub fn writebacks(&self, updates: &[mapping::SfUpdate]) -> Vec<SaveOutcome> {
        let values: Vec<Value> = updates
            .iter()
            .map(|u| {
                self.redactor
                    .scrub(&json!({"sobject": u.sobject, "id": u.id, "fields": u.fields}))
            })
            .collect();
        self.with(|r| r.writebacks.extend(values));
        updates
            .iter()
            .map(|u| SaveOutcome {
                id: u.id.clone(),
                ok: true,
                errors: Vec::new(),
            })
            .collect()
    }

    /// FNO's line items of `entitlement_id` as they would be after this dry run's writes: a
    /// line it would update has its new copies (remaining = copies − fulfilled), one it would
    /// create is added.
    pub fn with_lines(&self, entitlement_id: &str, mut real: Vec<FnoLineItem>) -> Vec<FnoLineItem> {
        let written = self.with(|r| r.lines.get(entitlement_id).cloned().unwrap_or_default());
        for w in written {
            let same = real.iter_mut().find(|l| {
                l.activation_id == w.activation_id
                    || (w.order_line_number.is_some() && l.order_line_number == w.order_line_number)
            });
            match same {
                Some(l) => {
                    l.number_of_copies = w.number_of_copies;
                    l.remaining_copies = w
                        .number_of_copies
                        .map(|n| n - l.fulfilled_amount.unwrap_or(0));
                }
                None => real.push(w),
            }
        }
        real
    }

    /// What was recorded: the FNO requests and the Salesforce write-backs.
    pub fn take(&self) -> (FnoRequests, Vec<Value>) {
        self.with(|r| {
            (
                std::mem::take(&mut r.fno),
                std::mem::take(&mut r.writebacks),
            )
        })
    }
}

/// One account of a dry run: what its sync would do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DryRunAccount {
    pub account_id: String,
    pub account_name: Option<String>,
    /// Sales orders that would be pushed (created or updated).
    pub orders_pushed: u32,
    /// Sales orders unchanged since their last push (no FNO call).
    pub orders_unchanged: u32,
    /// Salesforce records that would be written back (R20).
    pub records_written_back: u32,
    /// Its log entries by status.
    pub completed: u32,
    pub failed: u32,
    pub error: u32,
    /// Records deliberately not pushed, with the rule (R1, R2, R4).
    pub skipped: Vec<Skipped>,
    /// What would stay on the outstanding list after the sync.
    pub outstanding: Vec<OutstandingItem>,
}

/// A Failed or Error entry the run would log, in short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRunFailure {
    pub log_number: String,
    pub name: String,
    pub status: LogStatus,
    pub account_id: Option<String>,
    pub record_id: Option<String>,
    pub message: String,
    pub reason: Option<String>,
    pub component: Option<String>,
}

impl From<&LogEntry> for DryRunFailure {
    fn from(e: &LogEntry) -> Self {
        DryRunFailure {
            log_number: e.log_number.clone(),
            name: e.name.clone(),
            status: e.status,
            account_id: e.account_id.clone(),
            record_id: e.record_id.clone(),
            message: e.message.clone(),
            reason: e.reason.clone(),
            component: e.component.clone(),
        }
    }
}

/// What a run would do, written nowhere (the answer of `flexbridge run --dry-run`,
/// `POST /sync {"dry_run": true}` and `POST /accounts/{id}/sync?dry_run=true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRunReport {
    /// Always true.
    pub dry_run: bool,
    /// The dry run's own task id (`dry-…`); no run of that id is stored.
    pub task_id: String,
    pub kind: RunKind,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    /// [`NOTE`].
    pub note: String,
    /// The run's counters as a real run would record them, plus the requests by operation
    /// (`fno_accounts`, …, `salesforce_writebacks`) and the entries (`log_entries`).
    pub counts: BTreeMap<String, u64>,
    pub accounts: Vec<DryRunAccount>,
    pub fno_requests: FnoRequests,
    /// R20: `{"sobject", "id", "fields"}` per Salesforce record that would be updated.
    pub salesforce_writebacks: Vec<Value>,
    /// The Failed and Error entries among `log_entries` (rule failures name the rule).
    pub failures: Vec<DryRunFailure>,
    /// Every entry the run would write to the transaction log, in order.
    pub log_entries: Vec<LogEntry>,
}

impl DryRunAccount {
    pub fn from_outcome(o: &crate::AccountOutcome) -> Self {
        let count = |s: LogStatus| o.count(s) as u32;
        DryRunAccount {
            account_id: o.account_id.clone(),
            account_name: o.account_name.clone(),
            orders_pushed: o.pushed_orders,
            orders_unchanged: o.unchanged_orders,
            records_written_back: o.written_back,
            completed: count(LogStatus::Completed),
            failed: count(LogStatus::Failed),
            error: count(LogStatus::Error),
            skipped: o.skipped.clone(),
            outstanding: o.outstanding.clone(),
        }
    }
}
