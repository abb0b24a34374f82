//! Withdrawn orders: a synced order that left the sync stages, was deleted, or lost a line
//! item gets a log entry naming the entitlement and what changed. The filter setting
//! `withdrawn_action` chooses what else happens: `log` (nothing in FNO) or `inactivate` (the
//! entitlement, or the removed line items, set INACTIVE). Won again later, the order updates
//! the same entitlement — never a second one.

use super::{failure_draft, Engine, EngineError};
use crate::io;
use crate::ports::SalesOrderRecord;
use crate::txlog::{names, Draft, LogWriter};
use mapping::{fno, AccountBundle, Config, WithdrawnAction};
use std::collections::BTreeMap;

/// Prefix of [`SalesOrderRecord::withdrawn`] when the entitlement was set INACTIVE.
pub(super) const INACTIVATED: &str = "inactivated: ";

/// What changed for a synced order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Change {
    /// Not in the account any more: deleted (or moved to another account).
    Deleted,
    /// Still there, in a stage that is not a sync stage.
    LeftStages(String),
    /// Line items that reached FNO and are gone from the order: (line item id, activation id).
    LinesRemoved(Vec<(String, String)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Withdrawal {
    pub opportunity_id: String,
    pub entitlement_id: String,
    pub change: Change,
    /// A renewal adds line items to its original's entitlement: only its own lines go.
    pub renewal: bool,
}

impl Withdrawal {
    fn describe(&self) -> String {
        match &self.change {
            Change::Deleted => format!(
                "Opportunity {} was deleted (or moved to another account)",
                self.opportunity_id
            ),
            Change::LeftStages(stage) => format!(
                "Opportunity {} moved to stage '{stage}', which is not a sync stage",
                self.opportunity_id
            ),
            Change::LinesRemoved(lines) => format!(
                "line item(s) {} were removed from Opportunity {}",
                lines
                    .iter()
                    .map(|(l, a)| format!("{l} (activation id {a})"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.opportunity_id
            ),
        }
    }

    /// The FNO line items this withdrawal concerns.
    fn lines<'a>(&'a self, rec: &'a SalesOrderRecord) -> Vec<(&'a str, &'a str)> {
        match &self.change {
            Change::LinesRemoved(l) => l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect(),
            _ => rec
                .line_items
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect(),
        }
    }
}

/// The synced orders of `records` (the account's) that were withdrawn since their last sync.
pub(super) fn withdrawals(
    bundle: &AccountBundle,
    records: &BTreeMap<String, SalesOrderRecord>,
    config: &Config,
) -> Vec<Withdrawal> {
    let mut out = Vec::new();
    for rec in records.values() {
        let Some(ent) = rec.entitlement_id.clone() else {
            continue;
        };
        if rec.account_id != bundle.account.id
            || rec.line_items.is_empty()
            || rec.withdrawn.is_some()
        {
            continue;
        }
        let opp = bundle
            .opportunities
            .iter()
            .find(|o| o.id == rec.opportunity_id);
        let change = match opp {
            None => Change::Deleted,
            Some(o) => {
                let stage = o.stage_name.clone().unwrap_or_default();
                if !config.filters.sync_stages.contains(&stage) {
                    Change::LeftStages(stage)
                } else {
                    let removed: Vec<(String, String)> = rec
                        .line_items
                        .iter()
                        .filter(|(l, _)| !o.line_items().iter().any(|li| &li.id == *l))
                        .map(|(l, a)| (l.clone(), a.clone()))
                        .collect();
                    if removed.is_empty() {
                        continue;
                    }
                    Change::LinesRemoved(removed)
                }
            }
        };
        let renewal = opp.map_or(ent != rec.opportunity_id, |o| {
            o.fno_renewed_opportunity
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty())
        });
        out.push(Withdrawal {
            opportunity_id: rec.opportunity_id.clone(),
            entitlement_id: ent,
            change,
            renewal,
        });
    }
    out
}

impl Engine {
    /// Logs each withdrawal and, with `inactivate`, sets the entitlement or the line items
    /// INACTIVE; the record remembers it so it is logged once. Returns the orders whose FNO
    /// change failed (they stay outstanding and are tried again).
    pub(super) async fn withdraw(
        &self,
        withdrawals: Vec<Withdrawal>,
        config: &Config,
        records: &mut BTreeMap<String, SalesOrderRecord>,
        w: &mut LogWriter<'_>,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        let mut failed = BTreeMap::new();
        for wd in withdrawals {
            let Some(mut rec) = records.get(&wd.opportunity_id).cloned() else {
                continue;
            };
            let what = wd.describe();
            let (draft, ok, inactivated) = match config.filters.withdrawn_action {
                WithdrawnAction::Log => (
                    Draft::completed(
                        names::WITHDRAWN,
                        &wd.opportunity_id,
                        format!(
                            "Sales order withdrawn: {what}; entitlement {} left as it is in FlexNet Operations (withdrawn action 'log')",
                            wd.entitlement_id
                        ),
                    ),
                    true,
                    false,
                ),
                WithdrawnAction::Inactivate => {
                    let (d, ok) = self.inactivate(&wd, &rec, &what).await;
                    (d, ok, true)
                }
            };
            w.write(vec![draft], self.clock.now()).await?;
            if !ok {
                failed.insert(wd.opportunity_id.clone(), what);
                continue;
            }
            match &wd.change {
                Change::LinesRemoved(lines) => {
                    for (l, a) in lines {
                        rec.line_items.remove(l);
                        rec.removed_lines.insert(l.clone(), a.clone());
                    }
                }
                _ => {
                    let prefix = if inactivated && !wd.renewal {
                        INACTIVATED
                    } else {
                        ""
                    };
                    rec.withdrawn = Some(format!("{prefix}{what}"));
                }
            }
            // pushed again in full when it is won again (an update of the same entitlement)
            rec.fingerprint = None;
            rec.updated = Some(self.clock.now());
            let rec = self.put_record(rec).await?;
            records.insert(wd.opportunity_id.clone(), rec);
        }
        Ok(failed)
    }

    /// `inactivate`: the whole entitlement for an order of its own, else its line items.
    async fn inactivate(
        &self,
        wd: &Withdrawal,
        rec: &SalesOrderRecord,
        what: &str,
    ) -> (Draft, bool) {
        let whole = !wd.renewal && !matches!(wd.change, Change::LinesRemoved(_));
        let (target, result) = if whole {
            let change = fno::StateChange {
                entitlement_id: wd.entitlement_id.clone(),
                state: fno::State::Inactive,
            };
            let r = self.fno.set_state(&change).await;
            (
                format!("entitlement {}", wd.entitlement_id),
                r.map(|o| (vec![o], io::to_json(&change))),
            )
        } else {
            let ids: Vec<String> = wd.lines(rec).iter().map(|(_, a)| (*a).to_owned()).collect();
            let r = self.fno.set_line_states(&ids, fno::State::Inactive).await;
            (
                format!(
                    "line item(s) {} of entitlement {}",
                    ids.join(", "),
                    wd.entitlement_id
                ),
                r.map(|o| {
                    (
                        o,
                        serde_json::json!({"activationIds": ids, "state": "INACTIVE"}),
                    )
                }),
            )
        };
        match result {
            Ok((outcomes, request)) => {
                let refused: Vec<String> = outcomes
                    .iter()
                    .filter(|o| !o.ok)
                    .filter_map(|o| o.reason.clone())
                    .collect();
                let response =
                    serde_json::json!(outcomes.iter().map(|o| &o.response).collect::<Vec<_>>());
                let d = if refused.is_empty() {
                    Draft::completed(
                        names::WITHDRAWN,
                        &wd.opportunity_id,
                        format!("Sales order withdrawn: {what}; {target} set INACTIVE in FlexNet Operations"),
                    )
                } else {
                    Draft::failed(
                        names::WITHDRAWN,
                        &wd.opportunity_id,
                        format!(
                            "Sales order withdrawn: {what}; FNO refused to set {target} INACTIVE"
                        ),
                        refused.join("; "),
                    )
                    .component("flexnet")
                };
                (
                    d.request(Some(request)).response(Some(response)),
                    refused.is_empty(),
                )
            }
            Err(f) => (
                failure_draft(
                    names::WITHDRAWN,
                    &wd.opportunity_id,
                    format!("Sales order withdrawn: {what}; {target} could not be set INACTIVE"),
                    &f,
                    None,
                ),
                false,
            ),
        }
    }
}
