//! Overlays of the state store and the transaction log for dry runs ([`crate::dryrun`]):
//! reads go to the real store, then to what the dry run wrote; writes stay in memory and are
//! dropped with the overlay. Nothing reaches the real store, not even a lease or a log number.

use crate::ports::{
    Lease, LogEntry, LogPage, LogQuery, OutstandingItem, OutstandingPage, RunPatch, RunRecord,
    SalesOrderRecord, StateStore, StoreError, TransactionLog,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What a dry run wrote to the state store. `None` = removed (outstanding items, leases).
#[derive(Default)]
struct Written {
    watermark: Option<DateTime<Utc>>,
    runs: BTreeMap<String, RunRecord>,
    orders: BTreeMap<String, SalesOrderRecord>,
    outstanding: BTreeMap<String, Option<OutstandingItem>>,
    leases: BTreeMap<String, Option<Lease>>,
    config: BTreeMap<String, Value>,
}

/// A [`StateStore`] that reads through to `real` and keeps its own writes in memory.
pub struct OverlayState {
    real: Arc<dyn StateStore>,
    written: Mutex<Written>,
}

impl OverlayState {
    pub fn new(real: Arc<dyn StateStore>) -> Self {
        OverlayState {
            real,
            written: Mutex::new(Written::default()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Written) -> R) -> R {
        f(&mut self.written.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The real items with the overlay's changes (replaced, removed, added).
    fn merge_outstanding(
        &self,
        real: Vec<OutstandingItem>,
        keep: impl Fn(&OutstandingItem) -> bool,
    ) -> Vec<OutstandingItem> {
        self.with(|w| {
            let mut out: Vec<OutstandingItem> = real
                .into_iter()
                .filter(|i| !w.outstanding.contains_key(&i.record_id))
                .collect();
            out.extend(w.outstanding.values().flatten().cloned());
            out.retain(keep);
            out
        })
    }

    /// Every real item (all pages), for a merged listing.
    async fn all_real_outstanding(
        &self,
        due_by: Option<DateTime<Utc>>,
    ) -> Result<Vec<OutstandingItem>, StoreError> {
        let (mut out, mut cursor) = (Vec::new(), None);
        loop {
            let page = self.real.list_outstanding(due_by, 1000, cursor).await?;
            out.extend(page.items);
            cursor = page.next_cursor;
            if cursor.is_none() {
                return Ok(out);
            }
        }
    }
}

#[async_trait]
impl StateStore for OverlayState {
    async fn watermark(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.with(|w| w.watermark) {
            Some(w) => Ok(Some(w)),
            None => self.real.watermark().await,
        }
    }

    async fn set_watermark(&self, at: DateTime<Utc>) -> Result<bool, StoreError> {
        // R21: forward only, as the real store
        if self.watermark().await?.is_some_and(|w| at <= w) {
            return Ok(false);
        }
        self.with(|w| w.watermark = Some(at));
        Ok(true)
    }

    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.with(|w| w.runs.insert(run.task_id.clone(), run.clone()));
        Ok(())
    }

    async fn update_run(
        &self,
        task_id: &str,
        patch: &RunPatch,
    ) -> Result<Option<(RunRecord, bool)>, StoreError> {
        let Some(mut run) = self.get_run(task_id).await? else {
            return Ok(None);
        };
        let applied = patch.apply(&mut run);
        self.put_run(&run).await?;
        Ok(Some((run, applied)))
    }

    async fn get_run(&self, task_id: &str) -> Result<Option<RunRecord>, StoreError> {
        match self.with(|w| w.runs.get(task_id).cloned()) {
            Some(r) => Ok(Some(r)),
            None => self.real.get_run(task_id).await,
        }
    }

    async fn list_runs(&self, limit: u32) -> Result<Vec<RunRecord>, StoreError> {
        let mut runs = self.real.list_runs(limit).await?;
        self.with(|w| {
            runs.retain(|r| !w.runs.contains_key(&r.task_id));
            runs.extend(w.runs.values().cloned());
        });
        runs.sort_by_key(|r| std::cmp::Reverse(r.started));
        runs.truncate(limit as usize);
        Ok(runs)
    }

    async fn sales_order(&self, id: &str) -> Result<Option<SalesOrderRecord>, StoreError> {
        match self.with(|w| w.orders.get(id).cloned()) {
            Some(r) => Ok(Some(r)),
            None => self.real.sales_order(id).await,
        }
    }

    async fn put_sales_order(&self, record: &SalesOrderRecord) -> Result<(), StoreError> {
        let stored = self.sales_order(&record.opportunity_id).await?;
        if stored.map_or(0, |s| s.version) != record.version {
            return Err(StoreError::Conflict {
                key: record.opportunity_id.clone(),
            });
        }
        let mut next = record.clone();
        next.version += 1;
        self.with(|w| w.orders.insert(next.opportunity_id.clone(), next));
        Ok(())
    }

    async fn sales_orders_of_account(
        &self,
        account_id: &str,
    ) -> Result<Vec<SalesOrderRecord>, StoreError> {
        let mut out = self.real.sales_orders_of_account(account_id).await?;
        self.with(|w| {
            out.retain(|r| !w.orders.contains_key(&r.opportunity_id));
            out.extend(
                w.orders
                    .values()
                    .filter(|r| r.account_id == account_id)
                    .cloned(),
            );
        });
        Ok(out)
    }

    async fn put_outstanding(&self, items: &[OutstandingItem]) -> Result<(), StoreError> {
        self.with(|w| {
            for i in items {
                w.outstanding.insert(i.record_id.clone(), Some(i.clone()));
            }
        });
        Ok(())
    }

    async fn remove_outstanding(&self, record_ids: &[String]) -> Result<(), StoreError> {
        self.with(|w| {
            for id in record_ids {
                w.outstanding.insert(id.clone(), None);
            }
        });
        Ok(())
    }

    async fn get_outstanding(&self, id: &str) -> Result<Option<OutstandingItem>, StoreError> {
        match self.with(|w| w.outstanding.get(id).cloned()) {
            Some(mine) => Ok(mine),
            None => self.real.get_outstanding(id).await,
        }
    }

    async fn outstanding_of_account(
        &self,
        account_id: &str,
    ) -> Result<Vec<OutstandingItem>, StoreError> {
        let real = self.real.outstanding_of_account(account_id).await?;
        Ok(self.merge_outstanding(real, |i| i.account_id == account_id))
    }

    async fn list_outstanding(
        &self,
        due_by: Option<DateTime<Utc>>,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<OutstandingPage, StoreError> {
        if self.with(|w| w.outstanding.is_empty()) {
            return self.real.list_outstanding(due_by, limit, cursor).await;
        }
        // merged: one page with everything (a dry run's list is small next to a page of 1000)
        let real = self.all_real_outstanding(due_by).await?;
        let mut items =
            self.merge_outstanding(real, |i| due_by.is_none_or(|d| i.next_attempt <= d));
        items.sort_by(|a, b| (a.next_attempt, &a.record_id).cmp(&(b.next_attempt, &b.record_id)));
        Ok(OutstandingPage {
            items,
            next_cursor: None,
        })
    }

    async fn acquire_lease(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Option<Lease>, StoreError> {
        // a real worker's lease is respected (the run would wait for it), never taken
        match self.lease(&lease.account_id).await? {
            Some(held) if held.until >= now && held.owner != lease.owner => Ok(Some(held)),
            _ => {
                self.with(|w| {
                    w.leases
                        .insert(lease.account_id.clone(), Some(lease.clone()))
                });
                Ok(None)
            }
        }
    }

    async fn release_lease(&self, account_id: &str, owner: &str) -> Result<(), StoreError> {
        if self
            .lease(account_id)
            .await?
            .is_some_and(|l| l.owner == owner)
        {
            self.with(|w| w.leases.insert(account_id.to_owned(), None));
        }
        Ok(())
    }

    async fn lease(&self, account_id: &str) -> Result<Option<Lease>, StoreError> {
        match self.with(|w| w.leases.get(account_id).cloned()) {
            Some(mine) => Ok(mine),
            None => self.real.lease(account_id).await,
        }
    }

    async fn get_config(&self, key: &str) -> Result<Option<Value>, StoreError> {
        match self.with(|w| w.config.get(key).cloned()) {
            Some(v) => Ok(Some(v)),
            None => self.real.get_config(key).await,
        }
    }

    async fn fingerprints(&self, keys: &[String]) -> Result<BTreeMap<String, String>, StoreError> {
        let (mine, rest): (Vec<String>, Vec<String>) =
            self.with(|w| keys.iter().cloned().partition(|k| w.config.contains_key(k)));
        let mut out = if rest.is_empty() {
            BTreeMap::new()
        } else {
            self.real.fingerprints(&rest).await?
        };
        self.with(|w| {
            for k in mine {
                if let Some(Value::String(fp)) = w.config.get(&k) {
                    out.insert(k, fp.clone());
                }
            }
        });
        Ok(out)
    }

    async fn put_fingerprints(&self, items: &[(String, String)]) -> Result<(), StoreError> {
        self.with(|w| {
            for (k, fp) in items {
                w.config.insert(k.clone(), Value::String(fp.clone()));
            }
        });
        Ok(())
    }

    async fn put_config(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        self.with(|w| w.config.insert(key.to_owned(), value.clone()));
        Ok(())
    }
}

/// A [`TransactionLog`] that numbers and keeps a dry run's entries in memory (`DRY-00001`…);
/// queries and look-ups of other entries go to `real`.
pub struct OverlayLog {
    real: Arc<dyn TransactionLog>,
    next: AtomicU64,
    entries: Mutex<Vec<LogEntry>>,
}

/// Prefix of a dry run's log numbers.
pub const DRY_LOG_PREFIX: &str = "DRY-";

impl OverlayLog {
    pub fn new(real: Arc<dyn TransactionLog>) -> Self {
        OverlayLog {
            real,
            next: AtomicU64::new(1),
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The entries the dry run wrote, in log-number order.
    pub fn entries(&self) -> Vec<LogEntry> {
        let mut v = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        v.sort_by(|a, b| {
            (a.log_number.len(), &a.log_number).cmp(&(b.log_number.len(), &b.log_number))
        });
        v
    }
}

#[async_trait]
impl TransactionLog for OverlayLog {
    async fn allocate_log_numbers(&self, count: u32) -> Result<u64, StoreError> {
        Ok(self.next.fetch_add(u64::from(count), Ordering::SeqCst))
    }

    async fn append(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(entries);
        Ok(())
    }

    async fn query(&self, query: &LogQuery) -> Result<LogPage, StoreError> {
        self.real.query(query).await
    }

    async fn get(&self, log_number: &str) -> Result<Option<LogEntry>, StoreError> {
        let mine = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|e| e.log_number == log_number)
            .cloned();
        match mine {
            Some(e) => Ok(Some(e)),
            None => self.real.get(log_number).await,
        }
    }

    fn format_number(&self, n: u64) -> String {
        format!("{DRY_LOG_PREFIX}{n:05}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::SqliteStore;
    use crate::ports::{OutstandingScope, StateStore, TransactionLog};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn item(id: &str, next: &str) -> OutstandingItem {
        OutstandingItem {
            record_id: id.into(),
            account_id: "001A".into(),
            scope: OutstandingScope::Order,
            reason: "why".into(),
            attempts: 1,
            first_seen: t(next),
            last_attempt: None,
            next_attempt: t(next),
            last_task_id: None,
        }
    }

    async fn seeded() -> (Arc<SqliteStore>, OverlayState) {
        let real = Arc::new(SqliteStore::in_memory().unwrap());
        real.set_watermark(t("2026-11-20T09:00:00Z")).await.unwrap();
        real.put_outstanding(&[
            item("006A", "2026-11-20T10:00:00Z"),
            item("006B", "2026-11-20T11:00:00Z"),
        ])
        .await
        .unwrap();
        let rec = SalesOrderRecord {
            opportunity_id: "006A".into(),
            account_id: "001A".into(),
            ..Default::default()
        };
        real.put_sales_order(&rec).await.unwrap();
        real.put_fingerprints(&[("fp#account#001A".into(), "old".into())])
            .await
            .unwrap();
        let overlay = OverlayState::new(real.clone());
        (real, overlay)
    }

    #[tokio::test]
    async fn reads_see_the_store_then_the_overlay_and_writes_stay_in_memory() {
        let (real, o) = seeded().await;
        // R21: forward only, against the real watermark
        assert!(!o.set_watermark(t("2026-11-19T00:00:00Z")).await.unwrap());
        assert!(o.set_watermark(t("2026-11-21T00:00:00Z")).await.unwrap());
        assert_eq!(
            o.watermark().await.unwrap(),
            Some(t("2026-11-21T00:00:00Z"))
        );
        // outstanding: one removed, one added; the list and the account's view agree
        o.remove_outstanding(&["006A".into()]).await.unwrap();
        o.put_outstanding(&[item("006C", "2026-11-20T09:30:00Z")])
            .await
            .unwrap();
        let ids = |v: Vec<OutstandingItem>| v.into_iter().map(|i| i.record_id).collect::<Vec<_>>();
        let page = o.list_outstanding(None, 10, None).await.unwrap();
        assert_eq!(ids(page.items), ["006C", "006B"]);
        let due = o
            .list_outstanding(Some(t("2026-11-20T10:30:00Z")), 10, None)
            .await
            .unwrap();
        assert_eq!(ids(due.items), ["006C"]);
        assert!(o.get_outstanding("006A").await.unwrap().is_none());
        let mut of_account = ids(o.outstanding_of_account("001A").await.unwrap());
        of_account.sort();
        assert_eq!(of_account, ["006B", "006C"]);
        // sales-order records keep their optimistic version
        let mut rec = o.sales_order("006A").await.unwrap().unwrap();
        rec.fingerprint = Some("new".into());
        o.put_sales_order(&rec).await.unwrap();
        assert!(matches!(
            o.put_sales_order(&rec).await,
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(
            o.sales_orders_of_account("001A").await.unwrap()[0]
                .fingerprint
                .as_deref(),
            Some("new")
        );
        // fingerprints: the overlay's over the store's
        o.put_fingerprints(&[("fp#user#003A".into(), "u".into())])
            .await
            .unwrap();
        let keys = ["fp#account#001A".to_owned(), "fp#user#003A".to_owned()];
        assert_eq!(o.fingerprints(&keys).await.unwrap().len(), 2);
        // the store saw none of it
        assert_eq!(
            real.watermark().await.unwrap(),
            Some(t("2026-11-20T09:00:00Z"))
        );
        assert_eq!(
            real.list_outstanding(None, 10, None)
                .await
                .unwrap()
                .items
                .len(),
            2
        );
        assert_eq!(
            real.sales_order("006A").await.unwrap().unwrap().fingerprint,
            None
        );
        assert_eq!(real.fingerprints(&keys).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_real_lease_is_respected_never_taken_and_the_log_numbers_its_own() {
        let (real, o) = seeded().await;
        let now = t("2026-11-20T09:00:00Z");
        let lease = |owner: &str| Lease {
            account_id: "001A".into(),
            owner: owner.into(),
            task_id: "run".into(),
            until: now + chrono::Duration::minutes(5),
        };
        assert!(real
            .acquire_lease(&lease("worker"), now)
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            o.acquire_lease(&lease("dry"), now).await.unwrap(),
            Some(lease("worker"))
        );
        // once it expires, the dry run takes it — in memory
        let later = now + chrono::Duration::minutes(10);
        assert!(o
            .acquire_lease(&lease("dry"), later)
            .await
            .unwrap()
            .is_none());
        assert_eq!(real.lease("001A").await.unwrap(), Some(lease("worker")));

        let log = OverlayLog::new(real.clone());
        let first = log.allocate_log_numbers(2).await.unwrap();
        assert_eq!(log.format_number(first), "DRY-00001");
        assert_eq!(
            real.allocate_log_numbers(1).await.unwrap(),
            1,
            "the log's counter untouched"
        );
    }
}
