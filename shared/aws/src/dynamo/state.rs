//! [`StateStore`] on DynamoDB: watermark, runs, sales-order records, outstanding items,
//! account leases, configuration.
//!
//! Layout ([`crate::tables::STATE_TABLE`], generic `pk`/`sk`):
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | watermark (R21) | `watermark` | `scheduled` | `at` (moves forward only) |
//! | run | `run#<task id>` | `run` | kind, status, window, started, finished, counts (M of N), … ; `runs_pk`=`runs`, `runs_sk`=`<started>#<task id>` for GSI `runs-by-start` |
//! | sales order | `so#<opportunity id>` | `so` | account_id, entitlement_id, line_items (M of S), fingerprint, last_task_id, updated, `version`, withdrawn, removed_lines (M of S); `acct` = account id for GSI `by-account` |
//! | outstanding | `out#<record id>` | `out` | account_id, scope, reason, attempts, first_seen, last_attempt, next_attempt, last_task_id; `acct` = account id (GSI `by-account`); `runs_pk`=`outstanding`, `runs_sk`=`<next_attempt>#<record id>` (GSI `runs-by-start`) |
//! | lease | `lease#<account id>` | `lease` | account_id, owner, task_id, until |
//! | configuration | `config#<key>` | `config` | `doc` (JSON text) |
//!
//! Sales-order writes are conditional on `version` (optimistic concurrency): the idempotency
//! guard that keeps two workers from pushing the same order twice. Leases and the
//! watermark are conditional writes too. Reads through a GSI (`sales_orders_of_account`,
//! `outstanding_of_account`, `list_outstanding`) are eventually consistent, as every GSI read.

use super::{
    condition_failed, enum_from_name, enum_name, map_of_s, n, opt_s, opt_time, put_opt, req_n,
    req_s, req_time, s, s_map, time_key, Item,
};
use crate::tables::{STATE_BY_ACCOUNT, STATE_RUNS_BY_START};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, PutRequest, ReturnValue, WriteRequest,
};
use chrono::{DateTime, Utc};
use engine::ports::{
    Lease, OutstandingItem, OutstandingPage, RunPatch, RunRecord, RunStatus, SalesOrderRecord,
    StateStore, StoreError,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The largest page [`StateStore::list_outstanding`] returns.
pub const MAX_OUTSTANDING_PAGE: u32 = 500;
/// `runs_pk` of outstanding items (their partition of GSI `runs-by-start`).
const OUTSTANDING_PARTITION: &str = "outstanding";
/// Conditional lease writes retried when the holder vanished between the write and the read.
const LEASE_ATTEMPTS: u32 = 5;

/// The state table.
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn key(pk: String, sk: &str) -> Item {
    Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn run_key(task_id: &str) -> Item {
    key(format!("run#{task_id}"), "run")
}

fn sales_order_key(opportunity_id: &str) -> Item {
    key(format!("so#{opportunity_id}"), "so")
}

fn config_key(name: &str) -> Item {
    key(format!("config#{name}"), "config")
}

fn outstanding_key(record_id: &str) -> Item {
    key(format!("out#{record_id}"), "out")
}

fn lease_key(account_id: &str) -> Item {
    key(format!("lease#{account_id}"), "lease")
}

/// `runs_sk` of an outstanding item: due time first, so the GSI lists by next attempt.
fn outstanding_due_key(next_attempt: &DateTime<Utc>, record_id: &str) -> String {
    format!("{}#{record_id}", time_key(next_attempt))
}

fn run_to_item(run: &RunRecord) -> Item {
    let mut item = run_key(&run.task_id);
    item.extend([
        ("task_id".to_owned(), s(&run.task_id)),
        ("kind".to_owned(), s(enum_name(&run.kind))),
        ("status".to_owned(), s(enum_name(&run.status))),
        ("started".to_owned(), s(time_key(&run.started))),
        ("accounts_planned".to_owned(), n(run.accounts_planned)),
        (
            "counts".to_owned(),
            AttributeValue::M(run.counts.iter().map(|(k, v)| (k.clone(), n(v))).collect()),
        ),
        ("runs_pk".to_owned(), s("runs")),
        (
            "runs_sk".to_owned(),
            s(format!("{}#{}", time_key(&run.started), run.task_id)),
        ),
    ]);
    put_opt(
        &mut item,
        "window_from",
        run.window_from.as_ref().map(|t| s(time_key(t))),
    );
    put_opt(
        &mut item,
        "window_to",
        run.window_to.as_ref().map(|t| s(time_key(t))),
    );
    put_opt(
        &mut item,
        "finished",
        run.finished.as_ref().map(|t| s(time_key(t))),
    );
    put_opt(&mut item, "detail", run.detail.as_ref().map(s));
    put_opt(&mut item, "created_by", run.created_by.as_ref().map(s));
    item
}

fn item_to_run(item: &Item) -> Result<RunRecord, StoreError> {
    let task_id = req_s(item, "task_id", "run")?;
    let k = format!("run {task_id}");
    let k = k.as_str();
    let counts = match item.get("counts") {
        None => BTreeMap::new(),
        Some(AttributeValue::M(m)) => m
            .iter()
            .map(|(name, v)| match v {
                AttributeValue::N(x) => x
                    .parse::<u64>()
                    .map(|x| (name.clone(), x))
                    .map_err(|_| super::corrupt(k, format!("count {name} is not a whole number"))),
                _ => Err(super::corrupt(k, format!("count {name} is not a number"))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(super::corrupt(k, "attribute counts is not a map")),
    };
    Ok(RunRecord {
        kind: enum_from_name(item, "kind", k)?,
        status: enum_from_name(item, "status", k)?,
        window_from: opt_time(item, "window_from", k)?,
        window_to: opt_time(item, "window_to", k)?,
        started: req_time(item, "started", k)?,
        finished: opt_time(item, "finished", k)?,
        accounts_planned: req_n(item, "accounts_planned", k)?,
        counts,
        detail: opt_s(item, "detail", k)?,
        created_by: opt_s(item, "created_by", k)?,
        task_id,
    })
}

fn sales_order_to_item(r: &SalesOrderRecord, version: u64) -> Item {
    let mut item = sales_order_key(&r.opportunity_id);
    item.extend([
        ("opportunity_id".to_owned(), s(&r.opportunity_id)),
        ("account_id".to_owned(), s(&r.account_id)),
        ("acct".to_owned(), s(&r.account_id)),
        ("line_items".to_owned(), s_map(&r.line_items)),
        ("removed_lines".to_owned(), s_map(&r.removed_lines)),
        ("version".to_owned(), n(version)),
    ]);
    put_opt(&mut item, "withdrawn", r.withdrawn.as_ref().map(s));
    put_opt(
        &mut item,
        "entitlement_id",
        r.entitlement_id.as_ref().map(s),
    );
    put_opt(&mut item, "fingerprint", r.fingerprint.as_ref().map(s));
    put_opt(&mut item, "last_task_id", r.last_task_id.as_ref().map(s));
    put_opt(
        &mut item,
        "updated",
        r.updated.as_ref().map(|t| s(time_key(t))),
    );
    item
}

fn item_to_sales_order(item: &Item) -> Result<SalesOrderRecord, StoreError> {
    let opportunity_id = req_s(item, "opportunity_id", "sales order")?;
    let k = format!("sales order {opportunity_id}");
    let k = k.as_str();
    Ok(SalesOrderRecord {
        account_id: req_s(item, "account_id", k)?,
        entitlement_id: opt_s(item, "entitlement_id", k)?,
        line_items: map_of_s(item, "line_items", k, "activation id of line item")?,
        fingerprint: opt_s(item, "fingerprint", k)?,
        last_task_id: opt_s(item, "last_task_id", k)?,
        updated: opt_time(item, "updated", k)?,
        version: req_n(item, "version", k)?,
        // both absent on items written before withdrawn orders were tracked
        withdrawn: opt_s(item, "withdrawn", k)?,
        removed_lines: map_of_s(
            item,
            "removed_lines",
            k,
            "activation id of removed line item",
        )?,
        opportunity_id,
    })
}

fn outstanding_to_item(o: &OutstandingItem) -> Item {
    let mut item = outstanding_key(&o.record_id);
    item.extend([
        ("record_id".to_owned(), s(&o.record_id)),
        ("account_id".to_owned(), s(&o.account_id)),
        ("acct".to_owned(), s(&o.account_id)),
        ("scope".to_owned(), s(enum_name(&o.scope))),
        ("reason".to_owned(), s(&o.reason)),
        ("attempts".to_owned(), n(o.attempts)),
        ("first_seen".to_owned(), s(time_key(&o.first_seen))),
        ("next_attempt".to_owned(), s(time_key(&o.next_attempt))),
        ("runs_pk".to_owned(), s(OUTSTANDING_PARTITION)),
        (
            "runs_sk".to_owned(),
            s(outstanding_due_key(&o.next_attempt, &o.record_id)),
        ),
    ]);
    put_opt(
        &mut item,
        "last_attempt",
        o.last_attempt.as_ref().map(|t| s(time_key(t))),
    );
    put_opt(&mut item, "last_task_id", o.last_task_id.as_ref().map(s));
    item
}

fn item_to_outstanding(item: &Item) -> Result<OutstandingItem, StoreError> {
    let record_id = req_s(item, "record_id", "outstanding item")?;
    let k = format!("outstanding item {record_id}");
    let k = k.as_str();
    Ok(OutstandingItem {
        account_id: req_s(item, "account_id", k)?,
        scope: enum_from_name(item, "scope", k)?,
        reason: req_s(item, "reason", k)?,
        attempts: req_n(item, "attempts", k)?,
        first_seen: req_time(item, "first_seen", k)?,
        last_attempt: opt_time(item, "last_attempt", k)?,
        next_attempt: req_time(item, "next_attempt", k)?,
        last_task_id: opt_s(item, "last_task_id", k)?,
        record_id,
    })
}

fn lease_to_item(l: &Lease) -> Item {
    let mut item = lease_key(&l.account_id);
    item.extend([
        ("account_id".to_owned(), s(&l.account_id)),
        ("owner".to_owned(), s(&l.owner)),
        ("task_id".to_owned(), s(&l.task_id)),
        ("until".to_owned(), s(time_key(&l.until))),
    ]);
    item
}

fn item_to_lease(item: &Item) -> Result<Lease, StoreError> {
    let account_id = req_s(item, "account_id", "lease")?;
    let k = format!("lease of account {account_id}");
    let k = k.as_str();
    Ok(Lease {
        owner: req_s(item, "owner", k)?,
        task_id: req_s(item, "task_id", k)?,
        until: req_time(item, "until", k)?,
        account_id,
    })
}

/// The UpdateItem parts of a [`RunPatch`]: `SET` clauses with their names and values.
#[derive(Default)]
struct RunUpdate {
    sets: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl RunUpdate {
    /// Counters, `accounts_planned` and — with `with_status` — the status change with its
    /// `finished` and `detail`; without it, `detail` only when the patch changes no status
    /// (as [`RunPatch::apply`] does).
    fn of(patch: &RunPatch, with_status: bool) -> Self {
        let mut u = RunUpdate::default();
        for (i, (name, v)) in patch.add.iter().enumerate() {
            if patch.set.contains_key(name) {
                continue; // the set value wins, as in RunPatch::apply
            }
            u.sets.push(format!(
                "counts.#a{i} = if_not_exists(counts.#a{i}, :zero) + :a{i}"
            ));
            u.names.insert(format!("#a{i}"), name.clone());
            u.values.insert(format!(":a{i}"), n(v));
            u.values.insert(":zero".into(), n(0));
        }
        for (i, (name, v)) in patch.set.iter().enumerate() {
            u.sets.push(format!("counts.#s{i} = :s{i}"));
            u.names.insert(format!("#s{i}"), name.clone());
            u.values.insert(format!(":s{i}"), n(v));
        }
        if let Some(planned) = patch.accounts_planned {
            u.sets.push("accounts_planned = :planned".into());
            u.values.insert(":planned".into(), n(planned));
        }
        let status = patch.status.filter(|_| with_status);
        if let Some(st) = status {
            u.sets.push("#st = :st".into());
            u.names.insert("#st".into(), "status".into());
            u.values.insert(":st".into(), s(enum_name(&st)));
            if let Some(at) = &patch.finished {
                u.sets.push("finished = :fin".into());
                u.values.insert(":fin".into(), s(time_key(at)));
            }
        }
        if let Some(d) = patch
            .detail
            .as_ref()
            .filter(|_| patch.status.is_none() || status.is_some())
        {
            u.sets.push("detail = :detail".into());
            u.values.insert(":detail".into(), s(d));
        }
        u
    }
}

impl DynamoStateStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoStateStore {
            client,
            table: table.into(),
        }
    }

    /// Adds `delta` to a run's counters atomically (concurrent account-sync workers each add
    /// their account's counts) and, once `counts[done_key]` reaches `accounts_planned`, marks a
    /// still-running run completed at `at`. Returns the run afterwards; None when no such run.
    /// (Two [`StateStore::update_run`] calls: the counters, then the conditional completion.)
    pub async fn add_run_progress(
        &self,
        task_id: &str,
        delta: &BTreeMap<String, u64>,
        done_key: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        let add = RunPatch {
            add: delta.clone(),
            ..RunPatch::default()
        };
        let Some((run, _)) = self.update_run(task_id, &add).await? else {
            return Ok(None);
        };
        let done = run.counts.get(done_key).copied().unwrap_or(0);
        if run.status != RunStatus::Running || done < u64::from(run.accounts_planned) {
            return Ok(Some(run));
        }
        let complete = RunPatch {
            status: Some(RunStatus::Completed),
            only_if: Some(RunStatus::Running),
            finished: Some(at),
            ..RunPatch::default()
        };
        // another worker may have completed it first: then this one changes nothing
        Ok(self
            .update_run(task_id, &complete)
            .await?
            .map(|(run, _)| run)
            .or(Some(run)))
    }

    /// One UpdateItem of a run (`attribute_exists(pk)`, and `status = only_if` when
    /// `only_if` is given). Ok(None) when a condition refused it.
    async fn update_run_item(
        &self,
        task_id: &str,
        update: RunUpdate,
        only_if: Option<RunStatus>,
    ) -> Result<Option<RunRecord>, StoreError> {
        let mut condition = "attribute_exists(pk)".to_owned();
        let mut names = update.names;
        let mut values = update.values;
        if let Some(from) = only_if {
            condition.push_str(" AND #st = :only_if");
            names.insert("#st".into(), "status".into());
            values.insert(":only_if".into(), s(enum_name(&from)));
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(run_key(task_id)))
            .update_expression(format!("SET {}", update.sets.join(", ")))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => out.attributes.as_ref().map(item_to_run).transpose(),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(StoreError::backend("dynamodb UpdateItem run", e)),
        }
    }

    /// Every item of GSI `by-account` for `account_id` whose `pk` starts with `prefix`.
    async fn of_account(
        &self,
        account_id: &str,
        prefix: &str,
        what: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STATE_BY_ACCOUNT)
                .key_condition_expression("acct = :acct AND begins_with(pk, :prefix)")
                .expression_attribute_values(":acct", s(account_id))
                .expression_attribute_values(":prefix", s(prefix))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::backend(format!("dynamodb Query {what}"), e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        Ok(items)
    }

    async fn get(&self, key: Item, what: &str) -> Result<Option<Item>, StoreError> {
        super::get_item(&self.client, &self.table, key, what).await
    }

    async fn put(&self, item: Item, what: &str) -> Result<(), StoreError> {
        super::put_item(&self.client, &self.table, item, what).await
    }

    /// PutItem of `item` under `condition`; false when the condition refused it.
    async fn put_if(
        &self,
        item: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
        what: &str,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        for (k, v) in names {
            req = req.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            req = req.expression_attribute_values(*k, v.clone());
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(StoreError::backend(format!("dynamodb PutItem {what}"), e)),
        }
    }
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn watermark(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self
            .get(key("watermark".into(), "scheduled"), "watermark")
            .await?
        {
            None => Ok(None),
            Some(item) => opt_time(&item, "at", "watermark"),
        }
    }

    async fn set_watermark(&self, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut item = key("watermark".into(), "scheduled");
        item.insert("at".into(), s(time_key(&at)));
        // R21: forward only (fixed-width times compare as strings)
        self.put_if(
            item,
            "attribute_not_exists(#at) OR #at < :at",
            &[("#at", "at")],
            &[(":at", s(time_key(&at)))],
            "watermark",
        )
        .await
    }

    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.put(run_to_item(run), "run").await
    }

    async fn update_run(
        &self,
        task_id: &str,
        patch: &RunPatch,
    ) -> Result<Option<(RunRecord, bool)>, StoreError> {
        let conditional = patch.status.is_some() && patch.only_if.is_some();
        let full = RunUpdate::of(patch, true);
        if full.sets.is_empty() {
            return Ok(self.get_run(task_id).await?.map(|run| (run, false)));
        }
        let only_if = patch.only_if.filter(|_| conditional);
        if let Some(run) = self.update_run_item(task_id, full, only_if).await? {
            return Ok(Some((run, patch.status.is_some())));
        }
        if !conditional {
            return Ok(None); // no such run
        }
        // the status was not `only_if` (or there is no run): the counters are added anyway
        let counters = RunUpdate::of(patch, false);
        if counters.sets.is_empty() {
            return Ok(self.get_run(task_id).await?.map(|run| (run, false)));
        }
        Ok(self
            .update_run_item(task_id, counters, None)
            .await?
            .map(|run| (run, false)))
    }

    async fn get_run(&self, task_id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.get(run_key(task_id), "run")
            .await?
            .as_ref()
            .map(item_to_run)
            .transpose()
    }

    async fn list_runs(&self, limit: u32) -> Result<Vec<RunRecord>, StoreError> {
        let limit = limit.clamp(1, 1000) as usize;
        let mut runs = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STATE_RUNS_BY_START)
                .key_condition_expression("runs_pk = :runs")
                .expression_attribute_values(":runs", s("runs"))
                .scan_index_forward(false)
                .limit((limit - runs.len()) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::backend("dynamodb Query runs-by-start", e))?;
            for item in out.items.unwrap_or_default() {
                runs.push(item_to_run(&item)?);
            }
            match out.last_evaluated_key {
                Some(k) if runs.len() < limit => start = Some(k),
                _ => break,
            }
        }
        runs.truncate(limit);
        Ok(runs)
    }

    async fn sales_order(
        &self,
        opportunity_id: &str,
    ) -> Result<Option<SalesOrderRecord>, StoreError> {
        self.get(sales_order_key(opportunity_id), "sales order")
            .await?
            .as_ref()
            .map(item_to_sales_order)
            .transpose()
    }

    async fn put_sales_order(&self, record: &SalesOrderRecord) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(sales_order_to_item(record, record.version + 1)));
        req = if record.version == 0 {
            req.condition_expression("attribute_not_exists(pk)")
        } else {
            req.condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(record.version))
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict {
                key: format!("sales order {}", record.opportunity_id),
            }),
            Err(e) => Err(StoreError::backend("dynamodb PutItem sales order", e)),
        }
    }

    async fn sales_orders_of_account(
        &self,
        account_id: &str,
    ) -> Result<Vec<SalesOrderRecord>, StoreError> {
        let mut orders = self
            .of_account(account_id, "so#", "sales orders of account")
            .await?
            .iter()
            .map(item_to_sales_order)
            .collect::<Result<Vec<_>, _>>()?;
        orders.sort_by(|a, b| a.opportunity_id.cmp(&b.opportunity_id));
        Ok(orders)
    }

    async fn put_outstanding(&self, items: &[OutstandingItem]) -> Result<(), StoreError> {
        // one request per record id (a batch must not name a key twice): the last one wins
        let unique: BTreeMap<&str, &OutstandingItem> =
            items.iter().map(|o| (o.record_id.as_str(), o)).collect();
        let requests = unique
            .into_values()
            .map(|o| {
                PutRequest::builder()
                    .set_item(Some(outstanding_to_item(o)))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(|e| StoreError::backend("dynamodb BatchWriteItem outstanding", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        super::batch_write(&self.client, &self.table, requests, "outstanding").await
    }

    async fn remove_outstanding(&self, record_ids: &[String]) -> Result<(), StoreError> {
        let unique: BTreeSet<&String> = record_ids.iter().collect();
        let requests = unique
            .into_iter()
            .map(|id| {
                DeleteRequest::builder()
                    .set_key(Some(outstanding_key(id)))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(|e| StoreError::backend("dynamodb BatchWriteItem outstanding", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        super::batch_write(&self.client, &self.table, requests, "outstanding").await
    }

    async fn get_outstanding(
        &self,
        record_id: &str,
    ) -> Result<Option<OutstandingItem>, StoreError> {
        self.get(outstanding_key(record_id), "outstanding item")
            .await?
            .as_ref()
            .map(item_to_outstanding)
            .transpose()
    }

    async fn outstanding_of_account(
        &self,
        account_id: &str,
    ) -> Result<Vec<OutstandingItem>, StoreError> {
        let mut items = self
            .of_account(account_id, "out#", "outstanding of account")
            .await?
            .iter()
            .map(item_to_outstanding)
            .collect::<Result<Vec<_>, _>>()?;
        items.sort_by(|a, b| a.record_id.cmp(&b.record_id));
        Ok(items)
    }

    async fn list_outstanding(
        &self,
        due_by: Option<DateTime<Utc>>,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<OutstandingPage, StoreError> {
        let limit = limit.clamp(1, MAX_OUTSTANDING_PAGE) as usize;
        // the cursor is the last item's `runs_sk` (`<next_attempt>#<record id>`), which also
        // gives its table key, so it resumes the GSI query right after that item
        let mut start = match cursor {
            None => None,
            Some(c) => {
                let Some((_, record_id)) = c.split_once('#') else {
                    return Err(super::corrupt("outstanding cursor", format!("{c:?}")));
                };
                let mut k = outstanding_key(record_id);
                k.insert("runs_pk".into(), s(OUTSTANDING_PARTITION));
                k.insert("runs_sk".into(), s(&c));
                Some(k)
            }
        };
        let mut items = Vec::new();
        // one more than asked, to know whether another page follows
        while items.len() <= limit {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STATE_RUNS_BY_START)
                .expression_attribute_values(":out", s(OUTSTANDING_PARTITION))
                .limit((limit + 1 - items.len()) as i32)
                .set_exclusive_start_key(start.take());
            req = match &due_by {
                // `~` sorts after every record id, so items due exactly at `due_by` are in
                Some(due) => req
                    .key_condition_expression("runs_pk = :out AND runs_sk <= :due")
                    .expression_attribute_values(":due", s(format!("{}#~", time_key(due)))),
                None => req.key_condition_expression("runs_pk = :out"),
            };
            let out = req
                .send()
                .await
                .map_err(|e| StoreError::backend("dynamodb Query outstanding by due", e))?;
            for item in out.items.unwrap_or_default() {
                items.push(item_to_outstanding(&item)?);
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = items
            .last()
            .filter(|_| more)
            .map(|o| outstanding_due_key(&o.next_attempt, &o.record_id));
        Ok(OutstandingPage { items, next_cursor })
    }

    async fn acquire_lease(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Option<Lease>, StoreError> {
        for _ in 0..LEASE_ATTEMPTS {
            let taken = self
                .put_if(
                    lease_to_item(lease),
                    "attribute_not_exists(pk) OR #until < :now OR #owner = :owner",
                    &[("#until", "until"), ("#owner", "owner")],
                    &[(":now", s(time_key(&now))), (":owner", s(&lease.owner))],
                    "lease",
                )
                .await?;
            if taken {
                return Ok(None);
            }
            // held by another worker; read who (it may have been released meanwhile: retry)
            if let Some(holder) = self.lease(&lease.account_id).await? {
                if holder.until >= now && holder.owner != lease.owner {
                    return Ok(Some(holder));
                }
            }
        }
        Err(StoreError::Conflict {
            key: format!("lease of account {}", lease.account_id),
        })
    }

    /// Releases by ending the lease (an UpdateItem that sets `until` to the epoch, only if
    /// `owner` still holds it), so the functions need no DeleteItem on the state table.
    async fn release_lease(&self, account_id: &str, owner: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lease_key(account_id)))
            .update_expression("SET #until = :released")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":released", s(time_key(&DateTime::<Utc>::UNIX_EPOCH)))
            .send()
            .await;
        match out {
            // held by someone else now (or free): not ours to release
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(StoreError::backend("dynamodb UpdateItem lease release", e)),
        }
    }

    async fn lease(&self, account_id: &str) -> Result<Option<Lease>, StoreError> {
        let lease = self
            .get(lease_key(account_id), "lease")
            .await?
            .as_ref()
            .map(item_to_lease)
            .transpose()?;
        // a released lease ends at the epoch: nobody holds it
        Ok(lease.filter(|l| l.until > DateTime::<Utc>::UNIX_EPOCH))
    }

    async fn get_config(&self, name: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let Some(item) = self.get(config_key(name), "configuration").await? else {
            return Ok(None);
        };
        let k = format!("configuration {name}");
        let doc = req_s(&item, "doc", &k)?;
        serde_json::from_str(&doc).map(Some).map_err(|e| {
            super::corrupt(
                &k,
                format!("not JSON (line {}, column {})", e.line(), e.column()),
            )
        })
    }

    /// Config items read 100 a call (BatchGetItem), not one by one: planning compares
    /// thousands of record fingerprints.
    async fn fingerprints(&self, keys: &[String]) -> Result<BTreeMap<String, String>, StoreError> {
        let unique: BTreeSet<&String> = keys.iter().collect();
        let wanted = unique.into_iter().map(|k| config_key(k)).collect();
        let items = super::batch_get(&self.client, &self.table, wanted, "fingerprints").await?;
        let mut out = BTreeMap::new();
        for item in items {
            let pk = req_s(&item, "pk", "fingerprint")?;
            let key = pk.strip_prefix("config#").unwrap_or(&pk).to_owned();
            let doc = req_s(&item, "doc", &key)?;
            if let Ok(serde_json::Value::String(fp)) = serde_json::from_str(&doc) {
                out.insert(key, fp);
            }
        }
        Ok(out)
    }

    /// BatchWriteItem, 25 a call.
    async fn put_fingerprints(&self, items: &[(String, String)]) -> Result<(), StoreError> {
        let unique: BTreeMap<&String, &String> = items.iter().map(|(k, v)| (k, v)).collect();
        let now = time_key(&Utc::now());
        let requests = unique
            .into_iter()
            .map(|(k, fp)| {
                let mut item = config_key(k);
                item.insert(
                    "doc".into(),
                    s(serde_json::Value::String(fp.clone()).to_string()),
                );
                item.insert("updated".into(), s(now.clone()));
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(|e| StoreError::backend("dynamodb BatchWriteItem fingerprints", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        super::batch_write(&self.client, &self.table, requests, "fingerprints").await
    }

    async fn put_config(&self, name: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        let mut item = config_key(name);
        item.insert("doc".into(), s(value.to_string()));
        item.insert("updated".into(), s(time_key(&Utc::now())));
        self.put(item, "configuration").await
    }
}
