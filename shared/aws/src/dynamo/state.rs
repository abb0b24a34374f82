//! [`StateStore`] on DynamoDB: watermark, runs, sales-order records, configuration.
//!
//! Layout ([`crate::tables::STATE_TABLE`], generic `pk`/`sk`):
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | watermark (R21) | `watermark` | `scheduled` | `at` |
//! | run | `run#<task id>` | `run` | kind, status, window, started, finished, counts (M of N), … ; `runs_pk`=`runs`, `runs_sk`=`<started>#<task id>` for GSI `runs-by-start` |
//! | sales order | `so#<opportunity id>` | `so` | account_id, entitlement_id, line_items (M of S), fingerprint, last_task_id, updated, `version` |
//! | configuration | `config#<key>` | `config` | `doc` (JSON text) |
//!
//! Sales-order writes are conditional on `version` (optimistic concurrency): the idempotency
//! guard that keeps two workers from pushing the same order twice.

use super::{
    enum_from_name, enum_name, n, opt_s, opt_time, put_opt, req_n, req_s, req_time, s, time_key,
    Item,
};
use crate::tables::STATE_RUNS_BY_START;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use engine::ports::{RunRecord, RunStatus, SalesOrderRecord, StateStore, StoreError};
use std::collections::{BTreeMap, HashMap};

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
        task_id,
    })
}

fn sales_order_to_item(r: &SalesOrderRecord, version: u64) -> Item {
    let mut item = sales_order_key(&r.opportunity_id);
    item.extend([
        ("opportunity_id".to_owned(), s(&r.opportunity_id)),
        ("account_id".to_owned(), s(&r.account_id)),
        (
            "line_items".to_owned(),
            AttributeValue::M(
                r.line_items
                    .iter()
                    .map(|(k, v)| (k.clone(), s(v)))
                    .collect(),
            ),
        ),
        ("version".to_owned(), n(version)),
    ]);
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
    let line_items = match item.get("line_items") {
        None => BTreeMap::new(),
        Some(AttributeValue::M(m)) => m
            .iter()
            .map(|(line, v)| match v {
                AttributeValue::S(x) => Ok((line.clone(), x.clone())),
                _ => Err(super::corrupt(
                    k,
                    format!("activation id of line item {line} is not a string"),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(super::corrupt(k, "attribute line_items is not a map")),
    };
    Ok(SalesOrderRecord {
        account_id: req_s(item, "account_id", k)?,
        entitlement_id: opt_s(item, "entitlement_id", k)?,
        line_items,
        fingerprint: opt_s(item, "fingerprint", k)?,
        last_task_id: opt_s(item, "last_task_id", k)?,
        updated: opt_time(item, "updated", k)?,
        version: req_n(item, "version", k)?,
        opportunity_id,
    })
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
    pub async fn add_run_progress(
        &self,
        task_id: &str,
        delta: &BTreeMap<String, u64>,
        done_key: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        if delta.is_empty() {
            return self.get_run(task_id).await;
        }
        let mut sets = Vec::new();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(run_key(task_id)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":zero", n(0))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        for (i, (name, v)) in delta.iter().enumerate() {
            sets.push(format!(
                "counts.#c{i} = if_not_exists(counts.#c{i}, :zero) + :v{i}"
            ));
            req = req
                .expression_attribute_names(format!("#c{i}"), name)
                .expression_attribute_values(format!(":v{i}"), n(v));
        }
        let out = match req
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(StoreError::backend("dynamodb UpdateItem run counts", e)),
        };
        let Some(item) = out.attributes else {
            return Ok(None);
        };
        let mut run = item_to_run(&item)?;
        let done = run.counts.get(done_key).copied().unwrap_or(0);
        if run.status != RunStatus::Running || done < u64::from(run.accounts_planned) {
            return Ok(Some(run));
        }
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(run_key(task_id)))
            .update_expression("SET #st = :completed, finished = :at")
            .condition_expression("#st = :running")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":completed", s(enum_name(&RunStatus::Completed)))
            .expression_attribute_values(":running", s(enum_name(&RunStatus::Running)))
            .expression_attribute_values(":at", s(time_key(&at)))
            .send()
            .await;
        match r {
            Ok(_) => {
                run.status = RunStatus::Completed;
                run.finished = Some(at);
            }
            // another worker completed it first
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(StoreError::backend("dynamodb UpdateItem run status", e)),
        }
        Ok(Some(run))
    }

    async fn get(&self, key: Item, what: &str) -> Result<Option<Item>, StoreError> {
        super::get_item(&self.client, &self.table, key, what).await
    }

    async fn put(&self, item: Item, what: &str) -> Result<(), StoreError> {
        super::put_item(&self.client, &self.table, item, what).await
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

    async fn set_watermark(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut item = key("watermark".into(), "scheduled");
        item.insert("at".into(), s(time_key(&at)));
        self.put(item, "watermark").await
    }

    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.put(run_to_item(run), "run").await
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
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict {
                    key: format!("sales order {}", record.opportunity_id),
                })
            }
            Err(e) => Err(StoreError::backend("dynamodb PutItem sales order", e)),
        }
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

    async fn put_config(&self, name: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        let mut item = config_key(name);
        item.insert("doc".into(), s(value.to_string()));
        item.insert("updated".into(), s(time_key(&Utc::now())));
        self.put(item, "configuration").await
    }
}
