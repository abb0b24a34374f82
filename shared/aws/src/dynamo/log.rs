//! [`TransactionLog`] on DynamoDB (R24).
//!
//! Layout ([`crate::tables::LOG_TABLE`]): one item per entry, partition `task_id`, sort
//! `log_no` (the digits of `TL-00042`), so "by run" is one Query in log-number order.
//! `status` + `created_key` feed GSI `by-status-time`; `day` + `created_key` feed GSI
//! `by-day-time`. `created_key` is the fixed-width creation time followed by the zero-padded
//! log number, so index order is time order and ties break by log number. Entries carry
//! `expires_at` (epoch seconds, TTL) = write time + retention.
//!
//! Reference items, `task_id = "#ref#<id>", log_no = N`, one per id an entry is about
//! ([`engine::txlog::related_ids`]: its record, account, log number, the ids in its payloads),
//! each holding `entry_task` (the entry's own partition) and the entry's TTL: "everything
//! about this id" is one Query of the id's partition (in log-number order) and a BatchGetItem
//! of the entries; "the entry with this log number" is the same with the log number as id.
//! They carry no `status` or `day`, so the indexes never see them.
//!
//! One extra item, `task_id = "#meta", log_no = 0`, holds the log-number counter (`next_log`,
//! advanced atomically with `UpdateItem ADD`) and the first/last day written, which bound
//! time queries that give no `from`/`to`.
//!
//! Query paths: a task id → the run's partition (status/time as filters), else a status → GSI
//! `by-status-time`, else → GSI `by-day-time`, one day after the other (days older than the
//! retention before the newest entry are not visited: TTL removes them). Pages are ordered by
//! log number on the run path and by creation time (then log number) on the index paths —
//! the same order, as log numbers are allocated in time order. Page size: default 100, cap
//! 100; the cursor is opaque (base64 JSON of the resume key) and tied to its path.

use super::{corrupt, n, opt_json, opt_s, put_opt, req_n, req_s, req_time, s, time_key, Item};
use crate::tables::{LOG_BY_DAY_TIME, LOG_BY_STATUS_TIME};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, WriteRequest};
use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use engine::ports::{LogEntry, LogPage, LogQuery, LogStatus, StoreError, TransactionLog};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const META_TASK: &str = "#meta";
/// Partition prefix of the reference items.
const REF_PREFIX: &str = "#ref#";
/// BatchGetItem takes at most this many keys.
const BATCH_GET_MAX: usize = 100;
/// Request/response payloads above this many bytes are stored truncated (items are ≤ 400 KB).
pub const MAX_PAYLOAD_BYTES: usize = 100 * 1024;
/// DynamoDB calls one `query` may make before it returns a short page with a cursor.
const MAX_CALLS_PER_PAGE: usize = 40;

/// The transaction log in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoTransactionLog {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retention: Duration,
    /// Day bounds this process already stored, so most appends skip the bounds update.
    known_days: std::sync::Arc<std::sync::Mutex<Option<(String, String)>>>,
}

impl DynamoTransactionLog {
    /// Same default as the embedded log; the cap is lower (Lambda responses are ≤ 6 MB).
    pub const DEFAULT_PAGE: u32 = 100;
    pub const MAX_PAGE: u32 = 100;

    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        retention_days: u32,
    ) -> Self {
        DynamoTransactionLog {
            client,
            table: table.into(),
            retention: Duration::days(i64::from(retention_days.max(1))),
            known_days: Default::default(),
        }
    }

    fn meta_key() -> Item {
        Item::from([
            ("task_id".to_owned(), s(META_TASK)),
            ("log_no".to_owned(), n(0)),
        ])
    }

    /// Extends the first/last day bounds on the meta item (conditional; a lost race is fine,
    /// the winner wrote a wider bound).
    async fn widen_day_bounds(&self, first: &str, last: &str) -> Result<(), StoreError> {
        {
            let known = self.known_days.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((lo, hi)) = known.as_ref() {
                if lo.as_str() <= first && last <= hi.as_str() {
                    return Ok(());
                }
            }
        }
        for (attr, cmp, day) in [("first_day", ">", first), ("last_day", "<", last)] {
            let res = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::meta_key()))
                .update_expression("SET #a = :d")
                .condition_expression(format!("attribute_not_exists(#a) OR #a {cmp} :d"))
                .expression_attribute_names("#a", attr)
                .expression_attribute_values(":d", s(day))
                .send()
                .await;
            match res {
                Ok(_) => {}
                Err(e) if super::condition_failed(&e) => {}
                Err(e) => {
                    return Err(StoreError::backend(
                        "dynamodb UpdateItem transaction-log day bounds",
                        e,
                    ))
                }
            }
        }
        let mut known = self.known_days.lock().unwrap_or_else(|p| p.into_inner());
        let (lo, hi) = match known.take() {
            Some((lo, hi)) => (lo.min(first.to_owned()), hi.max(last.to_owned())),
            None => (first.to_owned(), last.to_owned()),
        };
        *known = Some((lo, hi));
        Ok(())
    }

    async fn day_bounds(&self) -> Result<Option<(NaiveDate, NaiveDate)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::meta_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::backend("dynamodb GetItem transaction-log meta", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let (Some(first), Some(last)) = (
            opt_s(&item, "first_day", "log meta")?,
            opt_s(&item, "last_day", "log meta")?,
        ) else {
            return Ok(None);
        };
        Ok(Some((parse_day(&first)?, parse_day(&last)?)))
    }

    /// One DynamoDB Query of the plan; returns the raw items and the LastEvaluatedKey.
    async fn query_once(
        &self,
        plan: &Plan,
        day: Option<&str>,
        start: Option<Item>,
        limit: i32,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .set_exclusive_start_key(start)
            .limit(limit);
        let range = |q: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
                     base: &str| {
            let (cond, q) = match (&plan.from_key, &plan.to_key) {
                (Some(f), Some(t)) => (
                    format!("{base} AND created_key BETWEEN :from AND :to"),
                    q.expression_attribute_values(":from", s(f))
                        .expression_attribute_values(":to", s(t)),
                ),
                (Some(f), None) => (
                    format!("{base} AND created_key >= :from"),
                    q.expression_attribute_values(":from", s(f)),
                ),
                (None, Some(t)) => (
                    format!("{base} AND created_key < :to"),
                    q.expression_attribute_values(":to", s(t)),
                ),
                (None, None) => (base.to_owned(), q),
            };
            q.key_condition_expression(cond)
        };
        match &plan.access {
            Access::Run(task) => {
                q = q
                    .key_condition_expression("task_id = :task")
                    .expression_attribute_values(":task", s(task));
                let mut filters = Vec::new();
                if let Some(st) = plan.status {
                    filters.push("#st = :st");
                    q = q
                        .expression_attribute_names("#st", "status")
                        .expression_attribute_values(":st", s(status_name(st)));
                }
                if let Some(f) = &plan.from_key {
                    filters.push("created_key >= :from");
                    q = q.expression_attribute_values(":from", s(f));
                }
                if let Some(t) = &plan.to_key {
                    filters.push("created_key < :to");
                    q = q.expression_attribute_values(":to", s(t));
                }
                if !filters.is_empty() {
                    q = q.filter_expression(filters.join(" AND "));
                }
            }
            Access::Status(st) => {
                q = q
                    .index_name(LOG_BY_STATUS_TIME)
                    .expression_attribute_names("#st", "status")
                    .expression_attribute_values(":st", s(status_name(*st)));
                q = range(q, "#st = :st");
            }
            Access::Days => {
                q = q
                    .index_name(LOG_BY_DAY_TIME)
                    .expression_attribute_names("#d", "day")
                    .expression_attribute_values(":d", s(day.unwrap_or_default()));
                q = range(q, "#d = :d");
            }
        }
        let out = q
            .send()
            .await
            .map_err(|e| StoreError::backend("dynamodb Query transaction log", e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }
}

impl DynamoTransactionLog {
    /// One Query of an id's reference partition, in log-number order: (entry task, log_no).
    async fn refs_once(
        &self,
        id: &str,
        start: Option<Item>,
        limit: i32,
    ) -> Result<(Vec<(String, u64)>, Option<Item>), StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("task_id = :r")
            .expression_attribute_values(":r", s(format!("{REF_PREFIX}{id}")))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(|e| StoreError::backend("dynamodb Query transaction-log references", e))?;
        let refs = out
            .items
            .unwrap_or_default()
            .iter()
            .map(|i| {
                Ok((
                    req_s(i, "entry_task", "log reference")?,
                    req_n(i, "log_no", "log reference")?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((refs, out.last_evaluated_key))
    }

    /// The entries of `refs` (BatchGetItem, unprocessed keys retried), in the order given.
    async fn entries_of(&self, refs: &[(String, u64)]) -> Result<Vec<LogEntry>, StoreError> {
        let mut found: BTreeMap<u64, LogEntry> = BTreeMap::new();
        for chunk in refs.chunks(BATCH_GET_MAX) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|(task, no)| {
                    Item::from([
                        ("task_id".to_owned(), s(task)),
                        ("log_no".to_owned(), n(*no)),
                    ])
                })
                .collect();
            let mut pending = Some(
                aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .build()
                    .map_err(|e| StoreError::backend("dynamodb BatchGetItem transaction log", e))?,
            );
            for attempt in 0..8u32 {
                let Some(ka) = pending.take() else { break };
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(5)))
                        .await;
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, ka)
                    .send()
                    .await
                    .map_err(|e| StoreError::backend("dynamodb BatchGetItem transaction log", e))?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    let e = item_to_entry(&item)?;
                    if let Some(no) = parse_log_number(&e.log_number) {
                        found.insert(no, e);
                    }
                }
                pending = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.table)
                    .filter(|k| !k.keys.is_empty());
            }
            if pending.is_some() {
                return Err(corrupt(
                    "transaction log",
                    "DynamoDB left keys unprocessed after 8 attempts",
                ));
            }
        }
        Ok(refs.iter().filter_map(|(_, no)| found.remove(no)).collect())
    }

    /// `GET /logs?record=<id>`: the id's references in log-number order, the entries fetched
    /// and filtered by the query's other conditions.
    async fn query_record(&self, id: &str, query: &LogQuery) -> Result<LogPage, StoreError> {
        let limit = query
            .limit
            .unwrap_or(Self::DEFAULT_PAGE)
            .clamp(1, Self::MAX_PAGE) as usize;
        let mut start = match &query.cursor {
            Some(raw) => {
                let c = Cursor::decode(raw)?;
                if c.a != "record" {
                    return Err(corrupt(
                        "cursor",
                        "the paging cursor belongs to a different query",
                    ));
                }
                c.start_key()
            }
            None => None,
        };
        let keep = |e: &LogEntry| {
            query.task_id.as_ref().is_none_or(|t| &e.task_id == t)
                && query.status.is_none_or(|st| e.status == st)
                && query.from.is_none_or(|f| e.created >= f)
                && query.to.is_none_or(|t| e.created < t)
        };
        let mut entries: Vec<LogEntry> = Vec::new();
        let mut next = None;
        for _ in 0..MAX_CALLS_PER_PAGE {
            let want = (limit - entries.len()) as i32;
            let (refs, lek) = self.refs_once(id, start.take(), want).await?;
            let last = refs.last().cloned();
            entries.extend(self.entries_of(&refs).await?.into_iter().filter(keep));
            match lek {
                None => {
                    next = None;
                    break;
                }
                Some(k) => {
                    next = last.map(|(_, no)| {
                        Cursor::key_to_map(&Item::from([
                            ("task_id".to_owned(), s(format!("{REF_PREFIX}{id}"))),
                            ("log_no".to_owned(), n(no)),
                        ]))
                    });
                    start = Some(k);
                }
            }
            if entries.len() >= limit {
                break;
            }
        }
        Ok(LogPage {
            entries,
            next_cursor: next.map(|k| {
                Cursor {
                    a: "record".to_owned(),
                    d: None,
                    k: Some(k),
                }
                .encode()
            }),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Access {
    Run(String),
    Status(LogStatus),
    Days,
}

impl Access {
    fn tag(&self) -> &'static str {
        match self {
            Access::Run(_) => "run",
            Access::Status(_) => "status",
            Access::Days => "days",
        }
    }
}

#[derive(Debug)]
struct Plan {
    access: Access,
    /// Status filter for the by-run access (the status index needs none).
    status: Option<LogStatus>,
    from_key: Option<String>,
    to_key: Option<String>,
    has_filter: bool,
}

/// The paging cursor: which access path, which day (by-time), and where to resume.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    a: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<BTreeMap<String, (String, String)>>,
}

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(raw: &str) -> Result<Self, StoreError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw.trim())
            .map_err(|_| corrupt("cursor", "the paging cursor is not one this log handed out"))?;
        serde_json::from_slice(&bytes)
            .map_err(|_| corrupt("cursor", "the paging cursor is not one this log handed out"))
    }

    fn key_to_map(item: &Item) -> BTreeMap<String, (String, String)> {
        item.iter()
            .filter_map(|(k, v)| match v {
                AttributeValue::S(x) => Some((k.clone(), ("S".to_owned(), x.clone()))),
                AttributeValue::N(x) => Some((k.clone(), ("N".to_owned(), x.clone()))),
                _ => None,
            })
            .collect()
    }

    fn start_key(&self) -> Option<Item> {
        self.k.as_ref().map(|m| {
            m.iter()
                .map(|(k, (t, v))| (k.clone(), if t == "N" { n(v) } else { s(v) }))
                .collect()
        })
    }
}

/// The key attributes of `item` for `access` (what an ExclusiveStartKey needs).
fn key_of(item: &Item, access: &Access) -> Item {
    let names: &[&str] = match access {
        Access::Run(_) => &["task_id", "log_no"],
        Access::Status(_) => &["status", "created_key", "task_id", "log_no"],
        Access::Days => &["day", "created_key", "task_id", "log_no"],
    };
    names
        .iter()
        .filter_map(|k| item.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect()
}

fn status_name(st: LogStatus) -> &'static str {
    match st {
        LogStatus::Completed => "Completed",
        LogStatus::Failed => "Failed",
        LogStatus::Error => "Error",
    }
}

fn parse_status(raw: &str, key: &str) -> Result<LogStatus, StoreError> {
    match raw {
        "Completed" => Ok(LogStatus::Completed),
        "Failed" => Ok(LogStatus::Failed),
        "Error" => Ok(LogStatus::Error),
        other => Err(corrupt(key, format!("unknown status {other:?}"))),
    }
}

fn parse_day(raw: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| corrupt("log meta", format!("bad day {raw:?}")))
}

fn day_of(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The number in `TL-00042` (the trailing digits), or None.
pub fn parse_log_number(log_number: &str) -> Option<u64> {
    let digits: String = log_number
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.is_empty() {
        return None;
    }
    digits.chars().rev().collect::<String>().parse().ok()
}

fn created_key(created: &DateTime<Utc>, log_no: u64) -> String {
    format!("{}#{log_no:012}", time_key(created))
}

/// A payload as stored: JSON text, truncated (and said so) when above [`MAX_PAYLOAD_BYTES`].
fn payload_attr(v: &serde_json::Value) -> AttributeValue {
    let text = v.to_string();
    if text.len() <= MAX_PAYLOAD_BYTES {
        return s(text);
    }
    let mut cut = MAX_PAYLOAD_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    s(serde_json::json!({ "truncated": true, "original_bytes": text.len(), "head": &text[..cut] }).to_string())
}

fn entry_to_item(
    e: &LogEntry,
    now: DateTime<Utc>,
    retention: Duration,
) -> Result<Item, StoreError> {
    let log_no = parse_log_number(&e.log_number).ok_or_else(|| {
        corrupt(
            &e.log_number,
            "a log number must end in digits, like TL-00042 (R24)",
        )
    })?;
    let expires = e.created.max(now) + retention;
    let mut item = Item::from([
        ("task_id".to_owned(), s(&e.task_id)),
        ("log_no".to_owned(), n(log_no)),
        ("log_number".to_owned(), s(&e.log_number)),
        ("created".to_owned(), s(time_key(&e.created))),
        ("created_key".to_owned(), s(created_key(&e.created, log_no))),
        ("day".to_owned(), s(day_of(&e.created))),
        ("status".to_owned(), s(status_name(e.status))),
        ("name".to_owned(), s(&e.name)),
        ("message".to_owned(), s(&e.message)),
        ("expires_at".to_owned(), n(expires.timestamp())),
    ]);
    put_opt(&mut item, "record_id", e.record_id.as_ref().map(s));
    put_opt(&mut item, "account_id", e.account_id.as_ref().map(s));
    put_opt(&mut item, "reason", e.reason.as_ref().map(s));
    put_opt(&mut item, "component", e.component.as_ref().map(s));
    put_opt(&mut item, "request", e.request.as_ref().map(payload_attr));
    put_opt(&mut item, "response", e.response.as_ref().map(payload_attr));
    put_opt(&mut item, "created_by", e.created_by.as_ref().map(s));
    Ok(item)
}

/// The reference items of an entry (see the module's doc).
fn ref_items(e: &LogEntry, now: DateTime<Utc>, retention: Duration) -> Vec<Item> {
    let Some(log_no) = parse_log_number(&e.log_number) else {
        return Vec::new();
    };
    let expires = e.created.max(now) + retention;
    engine::txlog::related_ids(e)
        .into_iter()
        .map(|id| {
            Item::from([
                ("task_id".to_owned(), s(format!("{REF_PREFIX}{id}"))),
                ("log_no".to_owned(), n(log_no)),
                ("entry_task".to_owned(), s(&e.task_id)),
                ("expires_at".to_owned(), n(expires.timestamp())),
            ])
        })
        .collect()
}

fn item_to_entry(item: &Item) -> Result<LogEntry, StoreError> {
    let key = match item.get("log_number") {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => "transaction-log entry".to_owned(),
    };
    let key = key.as_str();
    Ok(LogEntry {
        task_id: req_s(item, "task_id", key)?,
        log_number: req_s(item, "log_number", key)?,
        created: req_time(item, "created", key)?,
        name: req_s(item, "name", key)?,
        status: parse_status(&req_s(item, "status", key)?, key)?,
        record_id: opt_s(item, "record_id", key)?,
        account_id: opt_s(item, "account_id", key)?,
        message: req_s(item, "message", key)?,
        reason: opt_s(item, "reason", key)?,
        component: opt_s(item, "component", key)?,
        request: opt_json(item, "request", key)?,
        response: opt_json(item, "response", key)?,
        created_by: opt_s(item, "created_by", key)?,
    })
}

#[async_trait]
impl TransactionLog for DynamoTransactionLog {
    async fn allocate_log_numbers(&self, count: u32) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::meta_key()))
            .update_expression("ADD next_log :c")
            .expression_attribute_values(":c", n(count))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| StoreError::backend("dynamodb UpdateItem log-number counter", e))?;
        let attrs = out.attributes.unwrap_or_default();
        let last: u64 = req_n(&attrs, "next_log", "log-number counter")?;
        // the counter holds the last number handed out; this call reserved (last-count, last]
        Ok(last + 1 - u64::from(count))
    }

    async fn append(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let mut items = entries
            .iter()
            .map(|e| entry_to_item(e, now, self.retention))
            .collect::<Result<Vec<_>, _>>()?;
        items.extend(
            entries
                .iter()
                .flat_map(|e| ref_items(e, now, self.retention)),
        );
        let requests = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(|e| StoreError::backend("dynamodb BatchWriteItem transaction log", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        super::batch_write(&self.client, &self.table, requests, "transaction log").await?;
        let first = entries
            .iter()
            .map(|e| e.created)
            .min()
            .map(|t| day_of(&t))
            .unwrap_or_default();
        let last = entries
            .iter()
            .map(|e| e.created)
            .max()
            .map(|t| day_of(&t))
            .unwrap_or_default();
        self.widen_day_bounds(&first, &last).await
    }

    async fn get(&self, log_number: &str) -> Result<Option<LogEntry>, StoreError> {
        if parse_log_number(log_number).is_none() {
            return Ok(None);
        }
        let (refs, _) = self.refs_once(log_number, None, 1).await?;
        Ok(self.entries_of(&refs).await?.into_iter().next())
    }

    async fn query(&self, query: &LogQuery) -> Result<LogPage, StoreError> {
        if let Some(record) = &query.record {
            return self.query_record(record, query).await;
        }
        let limit = query
            .limit
            .unwrap_or(Self::DEFAULT_PAGE)
            .clamp(1, Self::MAX_PAGE) as usize;
        let access = match (&query.task_id, query.status) {
            (Some(task), _) => Access::Run(task.clone()),
            (None, Some(st)) => Access::Status(st),
            (None, None) => Access::Days,
        };
        let run_status = if matches!(access, Access::Run(_)) {
            query.status
        } else {
            None
        };
        let plan = Plan {
            has_filter: matches!(access, Access::Run(_))
                && (run_status.is_some() || query.from.is_some() || query.to.is_some()),
            status: run_status,
            from_key: query.from.as_ref().map(time_key),
            to_key: query.to.as_ref().map(time_key),
            access,
        };
        if let (Some(f), Some(t)) = (query.from, query.to) {
            if f >= t {
                return Ok(LogPage::default());
            }
        }
        let cursor = match &query.cursor {
            Some(raw) => {
                let c = Cursor::decode(raw)?;
                if c.a != plan.access.tag() {
                    return Err(corrupt(
                        "cursor",
                        "the paging cursor belongs to a different query",
                    ));
                }
                Some(c)
            }
            None => None,
        };

        // by-time: the days to visit
        let mut days: Option<(NaiveDate, NaiveDate)> = None;
        if plan.access == Access::Days {
            let bounds = self.day_bounds().await?;
            let Some((first, last)) = bounds else {
                return Ok(LogPage::default());
            };
            // entries older than the retention are gone (TTL): do not walk empty days
            let horizon = last - Duration::days(self.retention.num_days() + 1);
            // only days that can hold entries: within [first, last] and the retention
            let lowest = first.max(horizon);
            let start = query
                .from
                .map(|f| f.date_naive())
                .map_or(lowest, |d| d.max(lowest));
            let end = query
                .to
                .map(|t| (t - Duration::nanoseconds(1)).date_naive())
                .map_or(last, |d| d.min(last));
            if start > end {
                return Ok(LogPage::default());
            }
            days = Some((start, end));
        }
        let mut day = match (&cursor, days) {
            (Some(Cursor { d: Some(d), .. }), Some(_)) => Some(parse_day(d)?),
            (_, Some((start, _))) => Some(start),
            _ => None,
        };
        let mut start = cursor.as_ref().and_then(Cursor::start_key);

        let mut items: Vec<Item> = Vec::new();
        let mut next: Option<Cursor> = None;
        let mut calls = 0;
        loop {
            calls += 1;
            let want = limit - items.len();
            let page_limit = if plan.has_filter {
                Self::MAX_PAGE as usize
            } else {
                want
            };
            let day_s = day.map(|d| d.format("%Y-%m-%d").to_string());
            let (got, lek) = self
                .query_once(&plan, day_s.as_deref(), start.take(), page_limit as i32)
                .await?;
            items.extend(got);
            if items.len() >= limit {
                let more_here = items.len() > limit || lek.is_some();
                let more_days = matches!((day, days), (Some(d), Some((_, end))) if d < end);
                items.truncate(limit);
                if more_here || more_days {
                    let last = items
                        .last()
                        .map(|i| key_of(i, &plan.access))
                        .unwrap_or_default();
                    let last_day = items
                        .last()
                        .and_then(|i| opt_s(i, "day", "cursor").ok().flatten());
                    next = Some(Cursor {
                        a: plan.access.tag().to_owned(),
                        d: last_day.or(day_s),
                        k: Some(Cursor::key_to_map(&last)),
                    });
                }
                break;
            }
            if let Some(k) = lek {
                start = Some(k);
            } else if let (Some(d), Some((_, end))) = (day, days) {
                if d >= end {
                    break;
                }
                day = d.succ_opt();
                start = None;
            } else {
                break;
            }
            if calls >= MAX_CALLS_PER_PAGE {
                // a short page; resume exactly where this one stopped
                next = Some(Cursor {
                    a: plan.access.tag().to_owned(),
                    d: day.map(|d| d.format("%Y-%m-%d").to_string()),
                    k: start.as_ref().map(Cursor::key_to_map),
                });
                break;
            }
        }
        let entries = items
            .iter()
            .map(item_to_entry)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LogPage {
            entries,
            next_cursor: next.map(|c| c.encode()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r24_log_number_digits_are_the_sort_key() {
        assert_eq!(parse_log_number("TL-00042"), Some(42));
        assert_eq!(parse_log_number("TL-1234567"), Some(1_234_567));
        assert_eq!(parse_log_number("TL-"), None);
        assert_eq!(parse_log_number("banana"), None);
    }

    #[test]
    fn created_key_orders_by_time_then_number() {
        let t1: DateTime<Utc> = "2026-01-02T03:04:05.5Z".parse().unwrap();
        let t2: DateTime<Utc> = "2026-01-02T03:04:05.25Z".parse().unwrap();
        let t3: DateTime<Utc> = "2026-01-02T03:04:06Z".parse().unwrap();
        assert!(created_key(&t2, 9) < created_key(&t1, 1));
        assert!(created_key(&t1, 1) < created_key(&t1, 2));
        assert!(created_key(&t1, 99) < created_key(&t3, 1));
        // `to` is exclusive: an entry created exactly at `to` sorts after the bound
        assert!(created_key(&t3, 1).as_str() > time_key(&t3).as_str());
    }

    #[test]
    fn oversized_payloads_are_stored_truncated_and_say_so() {
        let big = serde_json::json!({ "blob": "é".repeat(MAX_PAYLOAD_BYTES) });
        let AttributeValue::S(text) = payload_attr(&big) else {
            panic!("not a string")
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["truncated"], true);
        assert!(text.len() < MAX_PAYLOAD_BYTES + 1024);
        let small = serde_json::json!({ "a": 1 });
        assert_eq!(payload_attr(&small), s("{\"a\":1}"));
    }

    #[test]
    fn a_cursor_that_is_not_ours_is_refused() {
        assert!(Cursor::decode("not base64 !!").is_err());
        let c = Cursor {
            a: "run".into(),
            d: None,
            k: Some(BTreeMap::from([(
                "log_no".into(),
                ("N".into(), "7".into()),
            )])),
        };
        let back = Cursor::decode(&c.encode()).unwrap();
        assert_eq!(back.start_key().unwrap().get("log_no"), Some(&n(7)));
    }
}
