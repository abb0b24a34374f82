//! No self-echo (issue 12). flexbridge's own write-back moves the records' SystemModstamp, and
//! the FNO line items it created or updated are "modified" in FNO — so the next run's planning
//! finds them again. Planning therefore selects each changed record's content (the fields a
//! sync reads, less the fields flexbridge itself writes back) and compares its fingerprint with
//! the one stored when flexbridge last read the record; FNO line items are compared with the
//! values last written back for them. An account is planned only when something of it really
//! changed, so a run that finds nothing to do costs no bulk read, no catalogue read and no
//! per-order FNO read-back.
//!
//! Nothing is lost by the comparison: a record whose content differs, that has no stored
//! fingerprint, or that was deleted is planned as before; an edit made between flexbridge's
//! read and its write-back changes the content, so it is planned too (skipping records last
//! modified by the integration user would have hidden it).

use super::*;
use mapping::plan::fingerprint_of;
use mapping::SfObject as O;

/// The key of a Salesforce record's content fingerprint in the state store.
pub(super) fn record_key(id: &str) -> String {
    format!("fp#sf#{id}")
}

/// The key of the FNO values last written back to a Salesforce line item.
pub(super) fn line_key(line_item_id: &str) -> String {
    format!("fp#line#{line_item_id}")
}

/// The fingerprint of the FNO values of one line item (what the write-back carries, R20).
pub(super) fn line_fingerprint(r: &LineItemResult) -> String {
    fingerprint_of(&(&r.activation_id, r.remaining_copies))
}

/// The fields a sync reads of each object (the bulk read selects them), and the part of them
/// that is content: everything but the system stamps and the fields flexbridge writes back.
pub(super) struct Fields {
    read: BTreeMap<O, BTreeSet<String>>,
    content: BTreeMap<O, Vec<String>>,
}

impl Fields {
    pub fn new(config: &Config) -> Self {
        let mut read = BTreeMap::new();
        let mut content = BTreeMap::new();
        for o in [
            O::Account,
            O::Contact,
            O::Opportunity,
            O::OpportunityLineItem,
        ] {
            let mut f = config.fields_to_read(o);
            match o {
                O::Opportunity => f.extend(
                    [
                        "Name",
                        "StageName",
                        "FNO_Renewed_Opportunity__c",
                        "FNO_Entitlement_ID__c",
                        "FNO_SoldTo_Account__c",
                    ]
                    .map(str::to_owned),
                ),
                O::OpportunityLineItem => f.extend(
                    config
                        .fields_to_read(O::Product2)
                        .into_iter()
                        .map(|p| format!("Product2.{p}")),
                ),
                _ => {}
            }
            let written = config.writeback.fields_of(o);
            let c = f
                .iter()
                .filter(|n| !matches!(n.as_str(), "SystemModstamp" | "LastModifiedDate"))
                .filter(|n| !written.iter().any(|w| w.eq_ignore_ascii_case(n)))
                .cloned()
                .collect();
            content.insert(o, c);
            read.insert(o, f);
        }
        Fields { read, content }
    }

    /// The SELECT list of an object's bulk read.
    pub fn select(&self, o: O) -> String {
        let f = self.read.get(&o).cloned().unwrap_or_default();
        f.into_iter().collect::<Vec<_>>().join(", ")
    }

    /// The fingerprint of a record's content as Salesforce returned it (the field names are
    /// part of it, so a changed mapping plans every record once).
    pub fn fingerprint(&self, o: O, row: &Value) -> String {
        let fields = self.content.get(&o).map(Vec::as_slice).unwrap_or_default();
        let values: Vec<(&str, Option<&Value>)> = fields
            .iter()
            .map(|f| (f.as_str(), sf::get_path(row, f)))
            .collect();
        fingerprint_of(&values)
    }

    /// Fingerprints of a bulk-read account row and of the contacts and opportunities nested
    /// in it, by record id.
    pub fn of_account_row(&self, row: &Value, out: &mut BTreeMap<String, String>) {
        let mut add = |o: O, r: &Value| {
            if let Some(id) = r.get("Id").and_then(Value::as_str) {
                out.insert(id.to_owned(), self.fingerprint(o, r));
            }
        };
        add(O::Account, row);
        for (rel, o) in [("Contacts", O::Contact), ("Opportunities", O::Opportunity)] {
            let children = sf::get_path(row, rel)
                .and_then(|c| c.get("records"))
                .and_then(Value::as_array);
            for r in children.into_iter().flatten() {
                add(o, r);
            }
        }
    }
}

/// What planning found changed: per candidate, its account and — when it can be an echo —
/// the stored fingerprint to compare with. In discovery order.
pub(super) struct Candidates {
    items: Vec<(String, Option<(String, String)>)>,
    /// False: every candidate is planned (an admin's immediate run re-examines its window).
    pub filter: bool,
}

impl Candidates {
    pub fn new(filter: bool) -> Self {
        Candidates {
            items: Vec::new(),
            filter,
        }
    }

    /// A candidate that is planned whatever is stored (deleted records, product changes).
    pub fn always(&mut self, account: &str) {
        if soql::is_id(account) {
            self.items.push((account.to_owned(), None));
        }
    }

    /// A candidate planned unless `key` holds `fingerprint`.
    pub fn unless(&mut self, account: &str, key: String, fingerprint: String) {
        if soql::is_id(account) {
            self.items
                .push((account.to_owned(), Some((key, fingerprint))));
        }
    }
}

impl Engine {
    /// The stored fingerprints of `keys` (missing ones left out), in one store call: the
    /// store batches its own reads (DynamoDB 100 keys a call).
    pub(super) async fn stored_fingerprints(
        &self,
        keys: &BTreeSet<String>,
        filter: bool,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        if !filter || keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        let keys: Vec<String> = keys.iter().cloned().collect();
        Ok(self.state.fingerprints(&keys).await?)
    }

    /// The accounts of `candidates` with a real change, each once, in discovery order.
    pub(super) async fn changed_accounts(
        &self,
        candidates: Candidates,
    ) -> Result<Vec<String>, EngineError> {
        let keys: BTreeSet<String> = candidates
            .items
            .iter()
            .filter_map(|(_, k)| k.as_ref().map(|(key, _)| key.clone()))
            .collect();
        let stored = self.stored_fingerprints(&keys, candidates.filter).await?;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (account, key) in candidates.items {
            let echo = key.is_some_and(|(k, fp)| stored.get(&k) == Some(&fp));
            if !echo && seen.insert(account.clone()) {
                out.push(account);
            }
        }
        Ok(out)
    }

    /// The pull side of planning: FNO line items changed in the window whose values differ
    /// from what was last written back → their orders, by account (one FNO query; one
    /// Salesforce query per 200 such orders, none when nothing really changed).
    pub(super) async fn fno_window(
        &self,
        from: Option<DateTime<Utc>>,
        to: DateTime<Utc>,
        candidates: &mut Candidates,
    ) -> Result<FnoChanged, EngineError> {
        let items = self
            .fno
            .line_items_modified_since(from)
            .await
            .map_err(EngineError::Flexnet)?;
        let items: Vec<(String, Option<(String, String)>)> = items
            .into_iter()
            .filter(|li| li.last_modified.is_none_or(|t| t < to))
            .filter_map(|li| {
                let o = li.order_id.clone().filter(|o| soql::is_id(o))?;
                let key = li.order_line_number.as_deref().map(line_key);
                Some((o, key.map(|k| (k, line_fingerprint(&line_result(&li))))))
            })
            .collect();
        let keys = items
            .iter()
            .filter_map(|(_, k)| k.as_ref().map(|(k, _)| k.clone()));
        let stored = self
            .stored_fingerprints(&keys.collect(), candidates.filter)
            .await?;
        let opps: BTreeSet<String> = items
            .into_iter()
            .filter(|(_, k)| k.as_ref().is_none_or(|(k, fp)| stored.get(k) != Some(fp)))
            .map(|(o, _)| o)
            .collect();
        let opps: Vec<String> = opps.into_iter().collect();
        let mut changed = FnoChanged::new();
        for chunk in opps.chunks(200) {
            let q = format!(
                "SELECT Id, AccountId FROM Opportunity WHERE Id IN {}",
                soql::in_list(chunk)
            );
            for r in self.sf.query(&q).await.map_err(EngineError::Salesforce)? {
                let account = r.get("AccountId").and_then(Value::as_str);
                if let (Some(a), Some(o)) = (account, r.get("Id").and_then(Value::as_str)) {
                    candidates.always(a);
                    changed
                        .entry(a.to_owned())
                        .or_default()
                        .insert(o.to_owned());
                }
            }
        }
        Ok(changed)
    }
}
