//! Outstanding orders and accounts ("Nothing lost, nothing twice"): a sales order that has not
//! reached FNO completely — or an account whose sync did not finish — stays on the list in the
//! state store, with its reason, attempts and next attempt time, until it completes or leaves
//! the sync stages. Every scheduled run re-plans the accounts of due items; the wait between
//! attempts doubles up to `retry_max_hours`, so a permanently broken order costs about one
//! Salesforce read a day. Also here: one worker per account (the lease).

use super::{Engine, EngineError, EngineSettings, PENDING};
use crate::ports::{
    AccountWork, Lease, LogEntry, LogStatus, OutstandingItem, OutstandingScope, SalesOrderRecord,
};
use crate::soql;
use chrono::{DateTime, Duration, Utc};
use mapping::AccountBundle;
use std::collections::BTreeMap;

/// The longest reason kept on an outstanding item.
const MAX_REASON: usize = 2_000;

/// How long an item waits after its `attempts`-th failed attempt: `retry_base_minutes`,
/// doubled per attempt, capped at `retry_max_hours`.
pub fn retry_delay(settings: &EngineSettings, attempts: u32) -> Duration {
    let base = settings.retry_base_minutes.max(1);
    let cap = settings.retry_max_hours.max(1).saturating_mul(60);
    let shift = attempts.saturating_sub(1).min(20);
    Duration::minutes(base.saturating_mul(1i64 << shift).min(cap))
}

/// Why an order is still outstanding after an account sync, and whether it is due at once.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct OrderDebt {
    pub reason: String,
    /// Nothing failed; only the write-back of a push-only sync (R23) is owed.
    pub due_now: bool,
}

/// The sales orders of `bundle` that did not reach FNO completely in this sync, with why:
/// their own Failed/Error entries (the order, its line items, their write-back), the
/// account-wide ones (the account, its contacts, sold-to accounts), or a record FNO has not
/// confirmed. A push-only sync (R23) leaves the write-back owed, due at once.
pub(super) fn order_debts(
    bundle: &AccountBundle,
    sales_orders: &[String],
    records: &BTreeMap<String, SalesOrderRecord>,
    entries: &[LogEntry],
    push_only: bool,
) -> BTreeMap<String, OrderDebt> {
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for o in &bundle.opportunities {
        owner.insert(&o.id, &o.id);
        for li in o.line_items() {
            owner.insert(&li.id, &o.id);
        }
    }
    let mut account_wide: Vec<String> = Vec::new();
    let mut per_order: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.status != LogStatus::Completed) {
        let text = format!(
            "{} {}: {}",
            e.log_number,
            e.name,
            e.reason.as_deref().unwrap_or(&e.message)
        );
        match e.record_id.as_deref().and_then(|r| owner.get(r)) {
            Some(opp) => per_order.entry(opp).or_default().push(text),
            None => account_wide.push(text),
        }
    }
    let mut out = BTreeMap::new();
    for opp in sales_orders {
        let mut why = per_order.remove(opp.as_str()).unwrap_or_default();
        why.extend(account_wide.iter().cloned());
        let confirmed = records
            .get(opp)
            .and_then(|r| r.fingerprint.as_deref())
            .is_some_and(|f| !f.starts_with(PENDING));
        if why.is_empty() && !confirmed {
            why.push("FlexNet Operations has not confirmed every line item of the order yet; it is asked again on the next attempt".into());
        }
        let debt = if !why.is_empty() {
            OrderDebt {
                reason: clip(why.join("; ")),
                due_now: false,
            }
        } else if push_only {
            OrderDebt {
                reason: "pushed by a single-account sync (push only, R23): the FNO ids are written back to Salesforce by the next scheduled sync".into(),
                due_now: true,
            }
        } else {
            continue;
        };
        out.insert(opp.clone(), debt);
    }
    out
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_REASON {
        let mut end = MAX_REASON;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// `prev` carried forward with one more attempt, or a new item.
fn next_item(
    prev: Option<&OutstandingItem>,
    (account_id, record_id, scope): (&str, &str, OutstandingScope),
    reason: String,
    task_id: &str,
    now: DateTime<Utc>,
    next_attempt: impl FnOnce(u32) -> DateTime<Utc>,
) -> OutstandingItem {
    let attempts = prev.map_or(0, |p| p.attempts) + 1;
    OutstandingItem {
        record_id: record_id.to_owned(),
        account_id: account_id.to_owned(),
        scope,
        reason,
        attempts,
        first_seen: prev.map_or(now, |p| p.first_seen),
        last_attempt: Some(now),
        next_attempt: next_attempt(attempts),
        last_task_id: Some(task_id.to_owned()),
    }
}

impl Engine {
    /// One worker per account: takes the account's lease (a conditional write) for
    /// `lease_seconds`; returns the owner token to release it with.
    pub(super) async fn take_lease(
        &self,
        task_id: &str,
        account_id: &str,
    ) -> Result<String, EngineError> {
        let now = self.clock.now();
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let lease = Lease {
            account_id: account_id.to_owned(),
            owner: format!("{task_id}#{}", &suffix[..12]),
            task_id: task_id.to_owned(),
            until: now + Duration::seconds(self.settings().lease_seconds.max(1)),
        };
        match self.state.acquire_lease(&lease, now).await? {
            None => Ok(lease.owner),
            Some(held) => Err(EngineError::Busy {
                account_id: account_id.to_owned(),
                task_id: held.task_id,
                until: held.until,
            }),
        }
    }

    pub(super) async fn release_lease(&self, account_id: &str, owner: &str) {
        if let Err(e) = self.state.release_lease(account_id, owner).await {
            // it expires by itself; the next worker waits at most lease_seconds
            tracing::warn!(account_id, error = %crate::txlog::error_chain(&e), "account lease not released");
        }
    }

    /// Accounts queued for a run are outstanding until their sync finishes, so a message that
    /// is lost or dead-lettered is re-planned by a later scheduled run (and moving the
    /// watermark can never strand it). An account already on the list keeps its history.
    pub async fn mark_queued(&self, work: &[AccountWork]) -> Result<(), EngineError> {
        let now = self.clock.now();
        let due = now + Duration::seconds(self.settings().lease_seconds.max(1));
        let mut items = Vec::with_capacity(work.len());
        for w in work {
            let account_id = soql::id18(&w.account_id);
            let item = match self.state.get_outstanding(&account_id).await? {
                Some(mut p) => {
                    p.next_attempt = p.next_attempt.max(due);
                    p.last_task_id = Some(w.task_id.clone());
                    p
                }
                None => OutstandingItem {
                    record_id: account_id.clone(),
                    account_id,
                    scope: OutstandingScope::Account,
                    reason: format!("queued by run {}; not synchronised yet", w.task_id),
                    attempts: 0,
                    first_seen: now,
                    last_attempt: None,
                    next_attempt: due,
                    last_task_id: Some(w.task_id.clone()),
                },
            };
            items.push(item);
        }
        for chunk in items.chunks(100) {
            self.state.put_outstanding(chunk).await?;
        }
        Ok(())
    }

    /// An account whose sync failed as a whole stays outstanding with the reason; it is due
    /// after the backoff, or when the quota allows.
    pub(super) async fn account_failed(
        &self,
        work: &AccountWork,
        error: &EngineError,
    ) -> Result<(), EngineError> {
        let account_id = soql::id18(&work.account_id);
        let now = self.clock.now();
        let prev = self.state.get_outstanding(&account_id).await?;
        let settings = self.settings();
        let wait = match error.disposition(&settings) {
            super::Disposition::Wait(d) => Some(Duration::from_std(d).unwrap_or_default()),
            _ => None,
        };
        let item = next_item(
            prev.as_ref(),
            (&account_id, &account_id, OutstandingScope::Account),
            clip(crate::txlog::error_chain(error)),
            &work.task_id,
            now,
            |attempts| now + wait.unwrap_or_else(|| retry_delay(&settings, attempts)),
        );
        self.state.put_outstanding(&[item]).await?;
        Ok(())
    }

    /// After an account's sync: orders that did not reach FNO completely are (or stay) on the
    /// list with their reasons; every other item of the account — the account itself, orders
    /// that completed or left the sync stages — leaves it. `existing` is the account's list as
    /// read at the start of its sync (under its lease). Returns the account's items now.
    pub(super) async fn settle_account(
        &self,
        task_id: &str,
        account_id: &str,
        existing: BTreeMap<String, OutstandingItem>,
        debts: BTreeMap<String, OrderDebt>,
    ) -> Result<Vec<OutstandingItem>, EngineError> {
        let now = self.clock.now();
        let settings = self.settings();
        let items: Vec<OutstandingItem> = debts
            .into_iter()
            .map(|(opp, debt)| {
                next_item(
                    existing.get(&opp),
                    (account_id, &opp, OutstandingScope::Order),
                    debt.reason,
                    task_id,
                    now,
                    |attempts| {
                        if debt.due_now {
                            now
                        } else {
                            now + retry_delay(&settings, attempts)
                        }
                    },
                )
            })
            .collect();
        let gone: Vec<String> = existing
            .keys()
            .filter(|k| !items.iter().any(|i| &i.record_id == *k))
            .cloned()
            .collect();
        if !items.is_empty() {
            self.state.put_outstanding(&items).await?;
        }
        if !gone.is_empty() {
            self.state.remove_outstanding(&gone).await?;
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_from_the_base_up_to_the_cap() {
        let s = EngineSettings::default();
        let mins: Vec<i64> = (1..=9).map(|a| retry_delay(&s, a).num_minutes()).collect();
        assert_eq!(mins, [15, 30, 60, 120, 240, 480, 960, 1440, 1440]);
        assert_eq!(retry_delay(&s, u32::MAX).num_minutes(), 1440);
    }

    #[test]
    fn reasons_are_clipped_on_a_character_boundary() {
        let long = "é".repeat(MAX_REASON);
        let c = clip(long);
        assert!(c.len() <= MAX_REASON + '…'.len_utf8());
        assert!(c.ends_with('…'));
    }
}
