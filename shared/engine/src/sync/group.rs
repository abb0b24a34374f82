//! Accounts synchronised together — an SQS batch, a slice of an in-process run — so the
//! Salesforce quota and FNO round trips are spent per group, not per account (issue 12):
//! one bulk Salesforce read for all of them, one FNO call per operation for all of them (the
//! client batches the list), and the write-back (R20) in composite calls of up to 200 records
//! across them. Each account keeps its own log entries (R24), outstanding items and outcome,
//! exactly as if it had been synchronised alone; push order R3 holds per account (every
//! account of the group, then every contact, then every entitlement, then every state).

use super::echo;
use super::*;
use crate::ports::AccountWork;
use mapping::plan::fingerprint_of;

/// One account of a group, from its bulk read to its outcome.
pub(super) struct Acct<'a> {
    /// Its place in the group (results come back in the group's order).
    pub slot: usize,
    pub bundle: AccountBundle,
    pub records: BTreeMap<String, SalesOrderRecord>,
    /// Withdrawn orders whose FNO change failed (tried again).
    pub unsettled: BTreeMap<String, String>,
    pub plan: AccountPlan,
    pub w: LogWriter<'a>,
    pub out: AccountOutcome,
    /// Salesforce Account Id → FNO account id, for accounts FNO holds (pushed now or unchanged).
    pub fno_accounts: BTreeMap<String, String>,
    /// Line items FNO just created (their activation ids and copies): no read-back needed.
    pub fresh_lines: BTreeMap<String, LineItemResult>,
    /// Orders whose FNO line items must be read back for the write-back.
    pub reread: BTreeSet<String>,
    /// Orders whose FNO line items changed in the run's window (planning's FNO query).
    pub fno_changed: BTreeSet<String>,
    /// The account's items on the outstanding list before this sync (read once: the
    /// read-back decision and the settling at the end both use them).
    pub owing: BTreeMap<String, crate::ports::OutstandingItem>,
    /// Fingerprints to store once the account is through: its records' content as read, and
    /// the FNO values written back to its line items ([`echo`]).
    pub echo: Vec<(String, String)>,
}

/// A sales order on its way to FNO within a group.
struct Prep {
    acct: usize,
    opp_id: String,
    opp_name: String,
    order: SalesOrder,
    fp: String,
    rec: SalesOrderRecord,
    drafts: Vec<Draft>,
    complete: bool,
    /// FNO held the entitlement before this push (an update).
    existed: bool,
    /// The Opportunity names a state for its entitlement (R13).
    explicit: bool,
}

/// A simple FNO object (account or user) to create or update for some accounts of a group.
struct Simple<T> {
    acct: usize,
    record_id: String,
    key: String,
    fp: String,
    model: T,
}

/// Texts of one kind of [`Simple`] object's log entries.
struct SimpleTexts<T> {
    name: &'static str,
    done: fn(&T) -> String,
    refused: fn(&T) -> String,
    failed: fn(&T) -> String,
}

/// The content fingerprints of an account's records as the bulk read saw them ([`echo`]).
fn record_fingerprints(
    bundle: &AccountBundle,
    seen: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let opps = bundle.opportunities.iter();
    let ids = std::iter::once(bundle.account.id.as_str())
        .chain(bundle.contacts.iter().map(|c| c.id.as_str()))
        .chain(opps.clone().map(|o| o.id.as_str()))
        .chain(opps.flat_map(|o| o.line_items()).map(|l| l.id.as_str()));
    ids.filter_map(|id| seen.get(id).map(|fp| (echo::record_key(id), fp.clone())))
        .collect()
}

fn is_renewal(bundle: &AccountBundle, opp_id: &str) -> bool {
    bundle.opportunities.iter().any(|o| {
        o.id == opp_id
            && o.fno_renewed_opportunity
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty())
    })
}

impl Engine {
    /// Syncs the accounts of one group (18-character ids): push (R3) and, unless `kind` is
    /// [`RunKind::Account`] (R23), pull (R20). One result per account, in order; an error of
    /// the whole group (store down, Salesforce or FNO unreadable) is returned as such.
    #[tracing::instrument(name = "group", skip_all, fields(task_id = %task_id, accounts = work.len()))]
    pub(super) async fn sync_group(
        &self,
        task_id: &str,
        kind: RunKind,
        work: &[(String, BTreeSet<String>)],
    ) -> Result<Vec<Result<AccountOutcome, EngineError>>, EngineError> {
        let config = self.load_config().await?;
        let ids: Vec<String> = work.iter().map(|(id, _)| id.clone()).collect();
        let mut seen = BTreeMap::new();
        let mut bundles = self.read_bundles(&ids, &config, &mut seen).await?;
        let catalogue = self.catalogue().await?;
        let mut results: Vec<Option<Result<AccountOutcome, EngineError>>> =
            work.iter().map(|_| None).collect();
        let mut accts = Vec::new();
        for (slot, (id, fno_changed)) in work.iter().enumerate() {
            let w = LogWriter::new(&*self.log, &self.redactor, task_id, Some(id));
            match bundles.remove(id) {
                None => results[slot] = Some(self.account_not_found(id, w).await),
                Some(Err(e)) => results[slot] = Some(Err(e)),
                Some(Ok(bundle)) => {
                    let mut a = self
                        .open_account(slot, bundle, w, &config, &catalogue)
                        .await?;
                    a.fno_changed = fno_changed.clone();
                    if kind != RunKind::Account {
                        // a push-only sync (R23) writes nothing back: the next run still pulls
                        a.echo = record_fingerprints(&a.bundle, &seen);
                    }
                    accts.push(a);
                }
            }
        }
        self.push_accounts(&mut accts).await?;
        self.push_users(&mut accts).await?;
        self.push_orders(task_id, &mut accts, None).await?;
        self.push_orders(task_id, &mut accts, Some((&catalogue, &config)))
            .await?;
        if kind != RunKind::Account {
            self.pull(&mut accts, &config).await?;
        }
        for a in accts {
            let slot = a.slot;
            results[slot] = Some(self.close_account(task_id, kind, a).await);
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(EngineError::Stopped("account not synced".into()))))
            .collect())
    }

    async fn account_not_found(
        &self,
        account_id: &str,
        mut w: LogWriter<'_>,
    ) -> Result<AccountOutcome, EngineError> {
        let d = Draft::failed(
            names::ACCOUNT_SYNC,
            account_id,
            format!("Account {account_id} was not found in Salesforce"),
            format!("Account {account_id} does not exist or is not visible to the integration user (R4)"),
        );
        w.write(vec![d], self.clock.now()).await?;
        Ok(AccountOutcome {
            account_id: account_id.to_owned(),
            entries: w.into_entries(),
            ..Default::default()
        })
    }

    /// Before any FNO write: the account's records (recovering half-done ones), its withdrawn
    /// orders, and its plan.
    #[tracing::instrument(name = "account", skip_all, fields(account_id = w.account_id.unwrap_or_default(), task_id = w.task_id))]
    async fn open_account<'a>(
        &self,
        slot: usize,
        mut bundle: AccountBundle,
        mut w: LogWriter<'a>,
        config: &Config,
        catalogue: &Catalogue,
    ) -> Result<Acct<'a>, EngineError> {
        let account_id = w.account_id.unwrap_or_default().to_owned();
        let mut records = self.load_records(&bundle).await?;
        self.recover_pending(&mut records).await?;
        let withdrawn = withdrawn::withdrawals(&bundle, &records, config);
        let unsettled = self
            .withdraw(withdrawn, config, &mut records, &mut w)
            .await?;
        bundle.known = known_from(&records, &bundle);
        let plan = plan_account(&bundle, catalogue, config);
        let owing = self
            .state
            .outstanding_of_account(&account_id)
            .await?
            .into_iter()
            .map(|o| (o.record_id.clone(), o))
            .collect();
        let out = AccountOutcome {
            account_id,
            account_name: bundle.account.name.clone(),
            skipped: plan.skipped.clone(),
            ..Default::default()
        };
        Ok(Acct {
            slot,
            bundle,
            records,
            unsettled,
            plan,
            w,
            out,
            fno_accounts: BTreeMap::new(),
            fresh_lines: BTreeMap::new(),
            reread: BTreeSet::new(),
            fno_changed: BTreeSet::new(),
            owing,
            echo: Vec::new(),
        })
    }

    /// After the writes: what the account still owes stays outstanding (or leaves the list).
    #[tracing::instrument(name = "account", skip_all, fields(account_id = %a.out.account_id, task_id = %task_id))]
    async fn close_account(
        &self,
        task_id: &str,
        kind: RunKind,
        a: Acct<'_>,
    ) -> Result<AccountOutcome, EngineError> {
        let Acct {
            bundle,
            records,
            unsettled,
            plan,
            w,
            mut out,
            owing,
            echo,
            ..
        } = a;
        let sales_orders: Vec<String> = plan
            .sales_orders
            .iter()
            .map(|o| o.opportunity_id.clone())
            .collect();
        let mut debts = outstanding::order_debts(
            &bundle,
            &sales_orders,
            &records,
            &w.written,
            kind == RunKind::Account,
        );
        for (opp, what) in unsettled {
            let reason = format!("withdrawn ({what}) but its FNO change failed; tried again");
            debts.entry(opp).or_insert(outstanding::OrderDebt {
                reason,
                due_now: false,
            });
        }
        out.outstanding = self
            .settle_account(task_id, &out.account_id, owing, debts)
            .await?;
        // an account that still owes something is planned again by its window, as before
        let echo = if out.outstanding.is_empty() {
            echo
        } else {
            Vec::new()
        };
        if let Err(e) = self.state.put_fingerprints(&echo).await {
            // only an economy is lost: the next run reads the account once more
            tracing::warn!(account = %out.account_id, error = %error_chain(&e), "record fingerprints not stored");
        }
        out.entries = w.into_entries();
        Ok(out)
    }

    /// R3, accounts first: every account (and sold-to account) of the group in one
    /// `createAccount` list; those FNO already holds unchanged are not sent again.
    async fn push_accounts(&self, accts: &mut [Acct<'_>]) -> Result<(), EngineError> {
        let mut drafts: Vec<Vec<Draft>> = accts.iter().map(|_| Vec::new()).collect();
        let mut items = Vec::new();
        for (k, a) in accts.iter().enumerate() {
            for p in &a.plan.accounts {
                match &p.outcome {
                    Ok(acc) => items.push(Simple {
                        acct: k,
                        record_id: p.sf_account_id.clone(),
                        key: format!("fp#account#{}", p.sf_account_id),
                        fp: fingerprint_of(acc),
                        model: acc.clone(),
                    }),
                    Err(errs) => drafts[k].push(
                        Draft::failed(
                            names::ACCOUNT,
                            &p.sf_account_id,
                            format!(
                                "Account {} was not pushed to FlexNet Operations",
                                p.sf_account_id
                            ),
                            join_reasons(errs),
                        )
                        .component("mapping"),
                    ),
                }
            }
        }
        let texts = SimpleTexts {
            name: names::ACCOUNT,
            done: |a: &fno::Account| {
                format!("FNO account '{}' ({}) created or updated", a.name, a.id)
            },
            refused: |a| format!("FNO refused account '{}' ({})", a.name, a.id),
            failed: |a| format!("FNO account {} was not created or updated", a.id),
        };
        let accepted = self
            .push_simple(items, &texts, &mut drafts, |m| async move {
                self.fno.create_accounts(&m).await
            })
            .await?;
        for (k, sf_id, acc) in accepted {
            accts[k].fno_accounts.insert(sf_id, acc.id);
        }
        for (a, d) in accts.iter_mut().zip(drafts) {
            a.w.write(d, self.clock.now()).await?;
        }
        Ok(())
    }

    /// R3, contacts next: every contact of the group in one `createUser` list.
    async fn push_users(&self, accts: &mut [Acct<'_>]) -> Result<(), EngineError> {
        let mut drafts: Vec<Vec<Draft>> = accts.iter().map(|_| Vec::new()).collect();
        let mut items = Vec::new();
        for (k, a) in accts.iter().enumerate() {
            for u in &a.plan.users {
                match &u.outcome {
                    Ok(user) => items.push(Simple {
                        acct: k,
                        record_id: u.contact_id.clone(),
                        key: format!("fp#user#{}", u.contact_id),
                        fp: fingerprint_of(user),
                        model: user.clone(),
                    }),
                    Err(errs) => drafts[k].push(
                        Draft::failed(
                            names::CONTACT,
                            &u.contact_id,
                            format!("Contact {} was not pushed as an FNO user", u.contact_id),
                            join_reasons(errs),
                        )
                        .component("mapping"),
                    ),
                }
            }
        }
        let texts = SimpleTexts {
            name: names::CONTACT,
            done: |u: &fno::User| {
                let roles = u
                    .account_roles
                    .iter()
                    .map(|a| format!("{} on {}", a.roles.join(", "), a.account_id))
                    .collect::<Vec<_>>()
                    .join("; ");
                format!(
                    "FNO user {} {} <{}> created or updated with role {roles}",
                    u.first_name, u.last_name, u.email_address
                )
            },
            refused: |u| format!("FNO refused user <{}>", u.email_address),
            failed: |u| format!("FNO user <{}> was not created or updated", u.email_address),
        };
        self.push_simple(items, &texts, &mut drafts, |m| async move {
            self.fno.create_users(&m).await
        })
        .await?;
        for (a, d) in accts.iter_mut().zip(drafts) {
            a.w.write(d, self.clock.now()).await?;
        }
        Ok(())
    }

    /// Sends the items FNO does not hold unchanged (by fingerprint) in one list call, each
    /// distinct object once; one entry per item and account (none for unchanged ones).
    /// Returns `(account slot, record id, model)` of every item FNO holds now.
    async fn push_simple<T, F, Fut>(
        &self,
        items: Vec<Simple<T>>,
        texts: &SimpleTexts<T>,
        drafts: &mut [Vec<Draft>],
        send: F,
    ) -> Result<Vec<(usize, String, T)>, EngineError>
    where
        T: Serialize + Clone,
        F: FnOnce(Vec<T>) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<io::ItemOutcome>, CallFailure>>,
    {
        let keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
        let known = self.state.fingerprints(&keys).await?;
        let (same, changed): (Vec<_>, Vec<_>) = items
            .into_iter()
            .partition(|i| known.get(&i.key) == Some(&i.fp));
        let mut accepted: Vec<(usize, String, T)> = same
            .into_iter()
            .map(|i| (i.acct, i.record_id, i.model))
            .collect();
        // each distinct object once, even when several accounts of the group name it
        let mut distinct: Vec<usize> = Vec::new();
        let mut index_of: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (n, i) in changed.iter().enumerate() {
            index_of
                .entry((i.key.clone(), i.fp.clone()))
                .or_insert_with(|| {
                    distinct.push(n);
                    distinct.len() - 1
                });
        }
        if changed.is_empty() {
            return Ok(accepted);
        }
        let models: Vec<T> = distinct.iter().map(|&n| changed[n].model.clone()).collect();
        let result = send(models).await;
        let mut stored: Vec<(String, String)> = Vec::new();
        for i in changed {
            let at = index_of[&(i.key.clone(), i.fp.clone())];
            let request = Some(io::to_json(&i.model));
            let d = match &result {
                Ok(outcomes) => match outcomes.get(at) {
                    Some(r) if r.ok => {
                        stored.push((i.key.clone(), i.fp.clone()));
                        Draft::completed(texts.name, &i.record_id, (texts.done)(&i.model))
                            .request(request)
                            .response(Some(r.response.clone()))
                    }
                    Some(r) => Draft::failed(
                        texts.name,
                        &i.record_id,
                        (texts.refused)(&i.model),
                        r.reason
                            .clone()
                            .unwrap_or_else(|| "FlexNet Operations gave no reason".into()),
                    )
                    .component("flexnet")
                    .request(request)
                    .response(Some(r.response.clone())),
                    None => Draft::new(
                        texts.name,
                        LogStatus::Error,
                        Some(&i.record_id),
                        (texts.failed)(&i.model),
                    )
                    .reason("FlexNet Operations returned no outcome for this item")
                    .component("flexnet")
                    .request(request),
                },
                Err(f) => failure_draft(
                    texts.name,
                    &i.record_id,
                    (texts.failed)(&i.model),
                    f,
                    request,
                ),
            };
            if d.status == LogStatus::Completed {
                accepted.push((i.acct, i.record_id.clone(), i.model.clone()));
            }
            drafts[i.acct].push(d);
        }
        stored.sort();
        stored.dedup();
        self.state.put_fingerprints(&stored).await?;
        Ok(accepted)
    }

    /// R3, entitlements last: the group's changed sales orders in one `createSimpleEntitlement`
    /// list and their states in one `setEntitlementState` list; renewals (`replan` set) after
    /// their originals, planned again with what FNO now holds, one `createEntitlementLineItem`
    /// each. Failures are log entries; only store trouble is returned.
    async fn push_orders(
        &self,
        task_id: &str,
        accts: &mut [Acct<'_>],
        replan: Option<(&Catalogue, &Config)>,
    ) -> Result<(), EngineError> {
        let mut preps: Vec<Prep> = Vec::new();
        for (k, a) in accts.iter_mut().enumerate() {
            let orders: Vec<mapping::SalesOrderPlan> = match replan {
                None => a
                    .plan
                    .sales_orders
                    .iter()
                    .filter(|o| !is_renewal(&a.bundle, &o.opportunity_id))
                    .cloned()
                    .collect(),
                Some((catalogue, config)) => {
                    if !a
                        .plan
                        .sales_orders
                        .iter()
                        .any(|o| is_renewal(&a.bundle, &o.opportunity_id))
                    {
                        continue;
                    }
                    a.bundle.known = known_from(&a.records, &a.bundle);
                    plan_account(&a.bundle, catalogue, config)
                        .sales_orders
                        .into_iter()
                        .filter(|o| is_renewal(&a.bundle, &o.opportunity_id))
                        .collect()
                }
            };
            for o in orders {
                if let Some(p) = self.prepare_order(task_id, k, a, o).await? {
                    preps.push(p);
                }
            }
        }
        self.create_entitlements(&mut preps).await;
        for p in preps.iter_mut() {
            if let SalesOrder::Renewal { add } = &p.order {
                let r = self.fno.add_line_items(add).await;
                renewal_result(p, add.clone(), r);
            }
        }
        for p in preps {
            self.finish_order(p, accts).await?;
        }
        Ok(())
    }

    /// One sales order before FNO: a mapping failure or an account FNO does not hold is its
    /// entry; an unchanged one is counted; else its record is marked pending (a crash from here
    /// on is recovered by asking FNO) and it is returned to be sent.
    async fn prepare_order(
        &self,
        task_id: &str,
        k: usize,
        a: &mut Acct<'_>,
        plan: mapping::SalesOrderPlan,
    ) -> Result<Option<Prep>, EngineError> {
        let opp_id = plan.opportunity_id;
        let name = if is_renewal(&a.bundle, &opp_id) {
            names::RENEWAL_LINE_ITEM
        } else {
            names::ENTITLEMENT
        };
        let not_pushed = format!("Sales order {opp_id} was not pushed to FlexNet Operations");
        let order = match plan.outcome {
            Err(errs) => {
                let d = Draft::failed(name, &opp_id, not_pushed, join_reasons(&errs))
                    .component("mapping");
                a.w.write(vec![d], self.clock.now()).await?;
                return Ok(None);
            }
            Ok(o) => o,
        };
        if !a.fno_accounts.contains_key(&a.out.account_id) {
            let d = Draft::failed(
                name,
                &opp_id,
                not_pushed,
                format!(
                    "its Account {} could not be created or updated in FlexNet Operations, so its orders wait for the next sync (R3)",
                    a.bundle.account.id
                ),
            )
            .component("engine");
            a.w.write(vec![d], self.clock.now()).await?;
            return Ok(None);
        }
        let fp = order.fingerprint();
        let mut rec = a
            .records
            .get(&opp_id)
            .cloned()
            .unwrap_or_else(|| SalesOrderRecord {
                opportunity_id: opp_id.clone(),
                account_id: a.bundle.account.id.clone(),
                ..Default::default()
            });
        if rec.fingerprint.as_deref() == Some(fp.as_str()) {
            a.out.unchanged_orders += 1;
            if self.needs_reread(a, &opp_id) {
                a.reread.insert(opp_id);
            }
            return Ok(None);
        }
        rec.entitlement_id = Some(order.entitlement_id().to_owned());
        rec.fingerprint = Some(format!("{PENDING}{fp}"));
        rec.last_task_id = Some(task_id.to_owned());
        rec.updated = Some(self.clock.now());
        let rec = self.put_record(rec).await?;
        let opp_name = a
            .bundle
            .opportunities
            .iter()
            .find(|o| o.id == opp_id)
            .and_then(|o| o.name.clone())
            .unwrap_or_default();
        let explicit = a.bundle.opportunities.iter().any(|o| {
            o.id == opp_id
                && o.fno_entitlement_state
                    .as_deref()
                    .is_some_and(|s| !s.trim().is_empty())
        });
        Ok(Some(Prep {
            acct: k,
            explicit,
            existed: a.bundle.known.entitlements.contains_key(&opp_id),
            opp_id,
            opp_name,
            order,
            fp,
            rec,
            drafts: Vec::new(),
            complete: false,
        }))
    }

    /// An unchanged order's FNO line items are read back only when the write-back may be owed:
    /// FNO changed them in the window, the order is outstanding, or Salesforce does not show
    /// the ids flexbridge recorded.
    fn needs_reread(&self, a: &Acct<'_>, opp_id: &str) -> bool {
        if a.fno_changed.contains(opp_id) || a.owing.contains_key(opp_id) {
            return true;
        }
        let Some(rec) = a.records.get(opp_id) else {
            return true;
        };
        let Some(opp) = a.bundle.opportunities.iter().find(|o| o.id == opp_id) else {
            return false;
        };
        let blank = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").is_empty();
        if !blank(&rec.entitlement_id) && opp.fno_entitlement_id != rec.entitlement_id {
            return true;
        }
        opp.line_items().iter().any(|li| {
            rec.line_items
                .get(&li.id)
                .is_some_and(|act| li.fno_activation_id.as_deref() != Some(act))
                || blank(&li.fno_activation_id)
        })
    }

    /// The group's entitlements in one list call, then the states they need in another.
    async fn create_entitlements(&self, preps: &mut [Prep]) {
        let ents: Vec<usize> = (0..preps.len())
            .filter(|&i| matches!(preps[i].order, SalesOrder::Entitlement { .. }))
            .collect();
        if ents.is_empty() {
            return;
        }
        let models: Vec<fno::Entitlement> = ents
            .iter()
            .filter_map(|&i| match &preps[i].order {
                SalesOrder::Entitlement { entitlement, .. } => Some(entitlement.clone()),
                SalesOrder::Renewal { .. } => None,
            })
            .collect();
        let created = self.fno.create_entitlements(&models).await;
        let mut states: Vec<(usize, fno::StateChange)> = Vec::new();
        for (j, &i) in ents.iter().enumerate() {
            let outcome = match &created {
                Ok(v) => v.get(j).cloned().ok_or_else(|| {
                    CallFailure::unexpected(
                        "flexnet",
                        "FlexNet Operations returned no outcome for this entitlement".into(),
                    )
                }),
                Err(f) => Err(f.clone()),
            };
            if let Some(change) = entitlement_result(&mut preps[i], outcome) {
                states.push((i, change));
            }
        }
        if states.is_empty() {
            return;
        }
        let changes: Vec<fno::StateChange> = states.iter().map(|(_, s)| s.clone()).collect();
        let set = self.fno.set_states(&changes).await;
        for (j, (i, change)) in states.into_iter().enumerate() {
            let outcome = match &set {
                Ok(v) => v.get(j).cloned().ok_or_else(|| {
                    CallFailure::unexpected(
                        "flexnet",
                        "FlexNet Operations returned no outcome for this state change".into(),
                    )
                }),
                Err(f) => Err(f.clone()),
            };
            state_result(&mut preps[i], &change, outcome);
        }
    }

    /// Records what FNO confirmed: the fingerprint once every line item has its activation id
    /// (else the record stays pending and the order outstanding), and the order's entries.
    async fn finish_order(&self, mut p: Prep, accts: &mut [Acct<'_>]) -> Result<(), EngineError> {
        let a = &mut accts[p.acct];
        let lines = p.order.line_items();
        if lines
            .iter()
            .filter_map(|li| li.order_line_number.as_deref())
            .any(|l| !p.rec.line_items.contains_key(l))
        {
            p.complete = false;
        }
        if p.complete {
            p.rec.fingerprint = Some(p.fp.clone());
            p.rec.withdrawn = None;
            a.out.pushed_orders += 1;
            if p.existed && matches!(p.order, SalesOrder::Entitlement { .. }) {
                // an update: fulfilments may exist, so FNO's remaining copies are read back
                a.reread.insert(p.opp_id.clone());
            } else {
                for li in lines {
                    let (Some(line), Some(act)) = (
                        li.order_line_number.clone(),
                        li.order_line_number
                            .as_deref()
                            .and_then(|l| p.rec.line_items.get(l).cloned()),
                    ) else {
                        continue;
                    };
                    a.fresh_lines.insert(
                        line,
                        LineItemResult {
                            activation_id: Some(act),
                            remaining_copies: Some(i64::from(li.number_of_copies)),
                        },
                    );
                }
            }
        }
        p.rec.updated = Some(self.clock.now());
        let rec = self.put_record(p.rec).await?;
        a.records.insert(p.opp_id, rec);
        a.w.write(p.drafts, self.clock.now()).await?;
        Ok(())
    }

    /// R20: FNO's line items of the group's orders (those FNO just created come from its
    /// answer; updated or possibly owed ones are read back), and the write-back of what changed
    /// in composite calls of up to 200 records across the group; one "Salesforce Write-back"
    /// entry per record.
    async fn pull(&self, accts: &mut [Acct<'_>], config: &Config) -> Result<(), EngineError> {
        let mut updates: Vec<(usize, mapping::SfUpdate)> = Vec::new();
        let mut lines: Vec<Vec<(String, String)>> = Vec::new();
        for (k, a) in accts.iter_mut().enumerate() {
            let results = self.fno_results(a).await;
            for u in writeback(&a.bundle, &results, config) {
                updates.push((k, u));
            }
            lines.push(
                results
                    .line_items
                    .iter()
                    .map(|(id, r)| (id.clone(), echo::line_fingerprint(r)))
                    .collect(),
            );
        }
        // one object type after the other: a composite call holds at most 10 runs of one type,
        // so interleaved accounts would cut a 200-record call short
        updates.sort_by_key(|(_, u)| u.sobject);
        let mut drafts: Vec<Vec<Draft>> = accts.iter().map(|_| Vec::new()).collect();
        let mut stop = None;
        for chunk in updates.chunks(200) {
            let records: Vec<mapping::SfUpdate> = chunk.iter().map(|(_, u)| u.clone()).collect();
            match self.sf.update(&records).await {
                Ok(saved) => {
                    for ((k, u), s) in chunk.iter().zip(saved) {
                        if s.ok {
                            accts[*k].out.written_back += 1;
                        }
                        drafts[*k].push(writeback_draft(u, Ok(&s)));
                    }
                }
                Err(f) => {
                    for (k, u) in chunk {
                        drafts[*k].push(writeback_draft(u, Err(&f)));
                    }
                    if f.quota_exhausted {
                        stop = Some(f);
                        break;
                    }
                }
            }
        }
        for ((a, d), lines) in accts.iter_mut().zip(drafts).zip(lines) {
            // the FNO values Salesforce now shows (its write-back went through, or none was needed)
            let failed: BTreeSet<&str> = d
                .iter()
                .filter(|d| d.status != LogStatus::Completed)
                .filter_map(|d| d.record_id.as_deref())
                .collect();
            a.echo.extend(
                lines
                    .into_iter()
                    .filter(|(id, _)| !failed.contains(id.as_str()))
                    .map(|(id, fp)| (echo::line_key(&id), fp)),
            );
            a.w.write(d, self.clock.now()).await?;
        }
        match stop {
            Some(f) => Err(EngineError::Salesforce(f)),
            None => Ok(()),
        }
    }

    /// What FNO holds for one account's orders: the FNO account ids, the entitlements it
    /// confirmed, and the line items (fresh from this push, or read back).
    async fn fno_results(&self, a: &mut Acct<'_>) -> FnoResults {
        let mut results = FnoResults {
            account_ids: a.fno_accounts.clone(),
            ..Default::default()
        };
        let line_ids: BTreeSet<&str> = a
            .bundle
            .opportunities
            .iter()
            .flat_map(|o| o.line_items())
            .map(|li| li.id.as_str())
            .collect();
        let mut drafts = Vec::new();
        for o in &a.bundle.opportunities {
            let rec = a.records.get(&o.id);
            let ent = rec.and_then(|r| r.entitlement_id.clone()).or_else(|| {
                o.fno_entitlement_id
                    .clone()
                    .filter(|s| !s.trim().is_empty())
            });
            // only orders FNO really holds: a complete or recovered record, or a written-back id
            let known =
                rec.is_some_and(|r| !r.line_items.is_empty()) || o.fno_entitlement_id.is_some();
            let Some(ent) = ent.filter(|_| known) else {
                continue;
            };
            results.entitlements.insert(o.id.clone(), ent.clone());
            if !a.reread.contains(&o.id) {
                continue;
            }
            match self.fno.line_items_of_entitlement(&ent).await {
                Ok(items) => {
                    for li in items {
                        add_line_result(&mut results, &li, &line_ids);
                    }
                }
                Err(f) => drafts.push(failure_draft(
                    names::WRITEBACK,
                    &a.bundle.account.id,
                    format!("The line items of entitlement {ent} could not be read from FlexNet Operations"),
                    &f,
                    None,
                )),
            }
        }
        for (line, r) in &a.fresh_lines {
            results
                .line_items
                .entry(line.clone())
                .or_insert_with(|| r.clone());
        }
        if !drafts.is_empty() {
            if let Err(e) = a.w.write(drafts, self.clock.now()).await {
                tracing::warn!(error = %error_chain(&e), "read-back failures not logged");
            }
        }
        results
    }
}

/// The entitlement's own entries and line items from FNO's answer; returns the state change
/// the order still needs (R13), if any.
fn entitlement_result(
    p: &mut Prep,
    outcome: Result<io::EntitlementOutcome, CallFailure>,
) -> Option<fno::StateChange> {
    let SalesOrder::Entitlement { entitlement, state } = &p.order else {
        return None;
    };
    let (entitlement, state) = (entitlement.clone(), state.clone());
    let r = match outcome {
        Err(f) => {
            p.drafts.push(failure_draft(
                names::ENTITLEMENT,
                &p.opp_id,
                format!(
                    "Entitlement {} for '{}' was not created or updated",
                    entitlement.entitlement_id, p.opp_name
                ),
                &f,
                Some(io::to_json(&entitlement)),
            ));
            return None;
        }
        Ok(r) => r,
    };
    if !r.ok {
        p.drafts.push(
            Draft::failed(
                names::ENTITLEMENT,
                &p.opp_id,
                format!(
                    "FNO refused entitlement {} for '{}'",
                    entitlement.entitlement_id, p.opp_name
                ),
                r.reason
                    .unwrap_or_else(|| "FlexNet Operations gave no reason".into()),
            )
            .component("flexnet")
            .request(Some(io::to_json(&entitlement)))
            .response(Some(r.response)),
        );
        return None;
    }
    p.drafts.push(
        Draft::completed(
            names::ENTITLEMENT,
            &p.opp_id,
            format!(
                "Entitlement {} for '{}' created or updated (sold to {}, {} line item(s))",
                entitlement.entitlement_id,
                p.opp_name,
                entitlement.sold_to,
                entitlement.line_items.len()
            ),
        )
        .request(Some(io::to_json(&entitlement)))
        .response(Some(r.response.clone())),
    );
    line_drafts(
        &mut p.drafts,
        names::LINE_ITEM,
        &entitlement.line_items,
        &r.activation_ids,
        &mut p.rec,
    );
    // R13: the entitlement's state — on an update only when the Opportunity asks for one
    // (FNO refuses DEPLOYED → DRAFT, and an entitlement deployed in FNO stays deployed).
    // Won again after `inactivate`: made usable again (INACTIVE cannot go back to DRAFT).
    let revived = p
        .rec
        .withdrawn
        .as_deref()
        .is_some_and(|w| w.starts_with(withdrawn::INACTIVATED));
    if p.existed && !p.explicit && !revived {
        p.complete = true;
        return None;
    }
    if revived && state.state == fno::State::Draft {
        return Some(fno::StateChange {
            entitlement_id: state.entitlement_id,
            state: fno::State::Deployed,
        });
    }
    Some(state)
}

/// The state change's entry (none when FNO had nothing to say), and the order complete.
fn state_result(
    p: &mut Prep,
    state: &fno::StateChange,
    outcome: Result<io::ItemOutcome, CallFailure>,
) {
    let what = |verb: &str| {
        format!(
            "Entitlement {} {verb} {:?}",
            state.entitlement_id, state.state
        )
    };
    match outcome {
        Ok(s) if s.ok && s.response.is_null() => p.complete = true,
        Ok(s) if s.ok => {
            p.complete = true;
            p.drafts.push(
                Draft::completed(names::ENTITLEMENT_STATE, &p.opp_id, what("set to"))
                    .request(Some(io::to_json(state)))
                    .response(Some(s.response)),
            );
        }
        Ok(s) => p.drafts.push(
            Draft::failed(
                names::ENTITLEMENT_STATE,
                &p.opp_id,
                what("could not be set to"),
                s.reason
                    .unwrap_or_else(|| "FlexNet Operations gave no reason".into()),
            )
            .component("flexnet")
            .request(Some(io::to_json(state)))
            .response(Some(s.response)),
        ),
        Err(f) => p.drafts.push(failure_draft(
            names::ENTITLEMENT_STATE,
            &p.opp_id,
            what("could not be set to"),
            &f,
            Some(io::to_json(state)),
        )),
    }
}

/// A renewal's line items added to the original's entitlement, or why not.
fn renewal_result(
    p: &mut Prep,
    add: fno::AddLineItems,
    r: Result<io::EntitlementOutcome, CallFailure>,
) {
    match r {
        Ok(r) if r.ok => {
            p.complete = true;
            line_drafts(
                &mut p.drafts,
                names::RENEWAL_LINE_ITEM,
                &add.line_items,
                &r.activation_ids,
                &mut p.rec,
            );
            if let Some(first) = p.drafts.first_mut() {
                first.request = Some(io::to_json(&add));
                first.response = Some(r.response);
            }
        }
        Ok(r) => p.drafts.push(
            Draft::failed(
                names::RENEWAL_LINE_ITEM,
                &p.opp_id,
                format!(
                    "FNO refused the renewal line items of '{}' on entitlement {}",
                    p.opp_name, add.entitlement_id
                ),
                r.reason
                    .unwrap_or_else(|| "FlexNet Operations gave no reason".into()),
            )
            .component("flexnet")
            .request(Some(io::to_json(&add)))
            .response(Some(r.response)),
        ),
        Err(f) => p.drafts.push(failure_draft(
            names::RENEWAL_LINE_ITEM,
            &p.opp_id,
            format!(
                "The renewal line items of '{}' were not added to entitlement {}",
                p.opp_name, add.entitlement_id
            ),
            &f,
            Some(io::to_json(&add)),
        )),
    }
}

/// One "Salesforce Write-back" entry.
fn writeback_draft(u: &mapping::SfUpdate, r: Result<&io::SaveOutcome, &CallFailure>) -> Draft {
    let fields = u.fields.keys().cloned().collect::<Vec<_>>().join(", ");
    let request = Some(json!({"sobject": u.sobject, "id": u.id, "fields": u.fields}));
    match r {
        Ok(s) if s.ok => Draft::completed(
            names::WRITEBACK,
            &u.id,
            format!("{} {} updated: {fields}", u.sobject, u.id),
        )
        .request(request)
        .response(Some(io::to_json(s))),
        Ok(s) => Draft::failed(
            names::WRITEBACK,
            &u.id,
            format!("{} {} was not updated ({fields})", u.sobject, u.id),
            s.errors.join("; "),
        )
        .component("salesforce")
        .request(request)
        .response(Some(io::to_json(s))),
        Err(f) => failure_draft(
            names::WRITEBACK,
            &u.id,
            format!("{} {} was not updated", u.sobject, u.id),
            f,
            request,
        ),
    }
}

/// The group's work: 18-character account ids with the orders whose FNO line items changed.
pub(super) fn group_work(work: &[AccountWork]) -> Vec<(String, BTreeSet<String>)> {
    work.iter()
        .map(|w| {
            (
                soql::id18(&w.account_id),
                w.fno_changed.iter().cloned().collect(),
            )
        })
        .collect()
}

/// The work item is one this engine can process (schema version, account id).
fn check_work(w: &AccountWork) -> Result<(), EngineError> {
    if w.v != ACCOUNT_WORK_VERSION {
        return Err(EngineError::Config {
            key: "AccountWork.v".into(),
            detail: format!("version {} is not {}", w.v, ACCOUNT_WORK_VERSION),
        });
    }
    if !soql::is_id(&w.account_id) {
        return Err(EngineError::Config {
            key: "account_id".into(),
            detail: format!("'{}' is not a Salesforce Id", w.account_id),
        });
    }
    Ok(())
}

/// The same error for another account of a failed group (a store failure is not copied: its
/// accounts are tried one by one instead).
fn replicate(e: &EngineError) -> Option<EngineError> {
    Some(match e {
        EngineError::Salesforce(f) => EngineError::Salesforce(f.clone()),
        EngineError::Flexnet(f) => EngineError::Flexnet(f.clone()),
        EngineError::Config { key, detail } => EngineError::Config {
            key: key.clone(),
            detail: detail.clone(),
        },
        EngineError::Stopped(s) => EngineError::Stopped(s.clone()),
        EngineError::Busy {
            account_id,
            task_id,
            until,
        } => EngineError::Busy {
            account_id: account_id.clone(),
            task_id: task_id.clone(),
            until: *until,
        },
        EngineError::Store(_) => return None,
    })
}

impl Engine {
    /// [`Engine::process`] for several work items at once (an SQS batch, a slice of an
    /// in-process run): each account's lease, then one group sync per run and kind among
    /// them. One result per item, in order.
    pub async fn process_group(
        &self,
        work: &[AccountWork],
    ) -> Vec<Result<AccountOutcome, EngineError>> {
        let mut results: Vec<Option<Result<AccountOutcome, EngineError>>> =
            work.iter().map(|_| None).collect();
        let mut leased: Vec<(usize, String)> = Vec::new();
        for (i, w) in work.iter().enumerate() {
            if let Err(e) = check_work(w) {
                results[i] = Some(Err(e));
            } else if let Err(e) = self.quota_guard() {
                results[i] = Some(self.settle_failure(w, e).await);
            } else {
                match self
                    .take_lease(&w.task_id, &soql::id18(&w.account_id))
                    .await
                {
                    Err(e) => results[i] = Some(Err(e)),
                    Ok(owner) => leased.push((i, owner)),
                }
            }
        }
        let mut runs: Vec<(&str, RunKind)> = Vec::new();
        for (i, _) in &leased {
            let key = (work[*i].task_id.as_str(), work[*i].kind);
            if !runs.contains(&key) {
                runs.push(key);
            }
        }
        for (task_id, kind) in runs {
            let members: Vec<usize> = leased
                .iter()
                .map(|(i, _)| *i)
                .filter(|&i| work[i].task_id == task_id && work[i].kind == kind)
                .collect();
            let items: Vec<AccountWork> = members.iter().map(|&i| work[i].clone()).collect();
            let outcomes = self.sync_members(task_id, kind, &items).await;
            for (&i, r) in members.iter().zip(outcomes) {
                results[i] = Some(match r {
                    Ok(o) => Ok(o),
                    Err(e) => self.settle_failure(&work[i], e).await,
                });
            }
        }
        for (i, owner) in &leased {
            self.release_lease(&soql::id18(&work[*i].account_id), owner)
                .await;
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(EngineError::Stopped("not processed".into()))))
            .collect()
    }

    /// One group sync; when the whole group fails, every account gets the error — or, for a
    /// store failure, is tried alone.
    async fn sync_members(
        &self,
        task_id: &str,
        kind: RunKind,
        items: &[AccountWork],
    ) -> Vec<Result<AccountOutcome, EngineError>> {
        let work = group_work(items);
        let e = match self.sync_group(task_id, kind, &work).await {
            Ok(r) => return r,
            Err(e) if items.len() == 1 => return vec![Err(e)],
            Err(e) => e,
        };
        if let Some(first) = replicate(&e) {
            // every member gets the group's error (a store failure is tried per account below)
            let mut out: Vec<_> = items[1..]
                .iter()
                .filter_map(|_| replicate(&e).map(Err))
                .collect();
            out.insert(0, Err(first));
            return out;
        }
        let mut out = Vec::with_capacity(items.len());
        for one in work.chunks(1) {
            out.push(match self.sync_group(task_id, kind, one).await {
                Ok(mut r) => r
                    .pop()
                    .unwrap_or_else(|| Err(EngineError::Stopped("no outcome".into()))),
                Err(e) => Err(e),
            });
        }
        out
    }
}
