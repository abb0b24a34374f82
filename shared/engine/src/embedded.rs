//! Embedded adapters for the local runner (and the hand-written fakes of the handlers' tests):
//! [`SqliteStore`] (transaction log + sync state in one SQLite file, rusqlite with the bundled
//! library, so nothing needs installing) and [`MemoryQueue`] (an in-process work queue).
//!
//! Tables: `meta` (watermark, log counter), `log_entries`, `runs`, `sales_orders`, `config`,
//! `outstanding`, `leases`.
//! Every operation runs on a blocking thread with the connection behind a mutex; log-number
//! allocation runs in an `IMMEDIATE` transaction, so it is atomic across processes sharing the
//! file too.

use crate::ports::{
    AccountWork, Lease, LogEntry, LogPage, LogQuery, OutstandingItem, OutstandingPage, RunPatch,
    RunRecord, SalesOrderRecord, StateStore, StoreError, TransactionLog, WorkQueue,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The largest page [`TransactionLog::query`] returns.
pub const MAX_PAGE: u32 = 500;
/// The page size when a query gives none.
pub const DEFAULT_PAGE: u32 = 100;

pub use crate::txlog::format_log_number;

/// Parses `TL-00042` → 42.
pub fn parse_log_number(s: &str) -> Option<u64> {
    s.strip_prefix("TL-")?.parse().ok()
}

/// SQLite-backed [`TransactionLog`] + [`StateStore`].
#[derive(Clone, Debug)]
pub struct SqliteStore {
    db: SqliteDb,
}

/// One SQLite database (bundled library) behind a mutex, used from async code through
/// [`SqliteDb::with`] on the blocking pool. The embedded stores (this crate's [`SqliteStore`],
/// the license store) are built on it, each with its own schema.
#[derive(Clone)]
pub struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteDb {
    /// Opens (creating if needed) `dir/file` and applies `schema` (idempotent DDL).
    pub fn open_dir(dir: &Path, file: &str, schema: &str) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| backend("create data directory", e))?;
        Self::open(&dir.join(file), schema)
    }

    /// Opens (creating if needed) one file and applies `schema`.
    pub fn open(path: &Path, schema: &str) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|e| backend("open sqlite file", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| backend("set busy timeout", e))?;
        // WAL is faster and lets readers run beside the writer; not fatal if refused.
        let _ignored_if_unsupported = conn.pragma_update(None, "journal_mode", "WAL");
        conn.execute_batch(schema)
            .map_err(|e| backend("create schema", e))?;
        Ok(SqliteDb {
            conn: Arc::new(Mutex::new(conn)),
            path: Some(path.to_path_buf()),
        })
    }

    /// A private in-memory database with `schema` (tests, fakes, one-off runs).
    pub fn in_memory(schema: &str) -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| backend("open in-memory sqlite", e))?;
        conn.execute_batch(schema)
            .map_err(|e| backend("create schema", e))?;
        Ok(SqliteDb {
            conn: Arc::new(Mutex::new(conn)),
            path: None,
        })
    }

    /// The file behind the database (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `f` on the connection on the blocking pool; `context` names the step in errors.
    pub async fn with<R, F>(&self, context: &'static str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Backend {
                context: context.to_owned(),
                source: "the sqlite connection mutex is poisoned".into(),
            })?;
            f(&mut guard)
        })
        .await
        .map_err(|e| backend(context, e))?
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_entries (
    num INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    created TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_entries_task ON log_entries(task_id, num);
CREATE TABLE IF NOT EXISTS log_refs (ref TEXT NOT NULL, num INTEGER NOT NULL, PRIMARY KEY (ref, num));
CREATE TABLE IF NOT EXISTS runs (task_id TEXT PRIMARY KEY, started TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sales_orders (opportunity_id TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outstanding (record_id TEXT PRIMARY KEY, next_attempt TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outstanding_due ON outstanding(next_attempt, record_id);
CREATE INDEX IF NOT EXISTS outstanding_account ON outstanding(json_extract(body, '$.account_id'));
CREATE INDEX IF NOT EXISTS sales_orders_account ON sales_orders(json_extract(body, '$.account_id'));
CREATE TABLE IF NOT EXISTS leases (account_id TEXT PRIMARY KEY, body TEXT NOT NULL);
";

fn backend(context: &str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::backend(context, e)
}

fn corrupt(key: impl Into<String>, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key.into(),
        detail: e.to_string(),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/flexbridge.sqlite3`.
    pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        Ok(SqliteStore {
            db: SqliteDb::open_dir(dir, "flexbridge.sqlite3", SCHEMA)?,
        })
    }

    /// Opens (creating if needed) the store in one file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqliteStore {
            db: SqliteDb::open(path, SCHEMA)?,
        })
    }

    /// A private in-memory store (tests, fakes).
    pub fn in_memory() -> Result<Self, StoreError> {
        Ok(SqliteStore {
            db: SqliteDb::in_memory(SCHEMA)?,
        })
    }

    /// The file behind the store (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.db.path()
    }

    /// The JSON bodies `sql` selects (`key, body` columns) for one key parameter.
    async fn bodies<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        context: &'static str,
        sql: &'static str,
        key: &str,
        what: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        let key = key.to_owned();
        self.db
            .with(context, move |conn| {
                read_bodies(conn, sql, params![key], what)
            })
            .await
    }

    fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| backend("read meta", e))
    }
}

fn ts(d: &DateTime<Utc>) -> String {
    // Fixed-width RFC 3339 so lexical order = time order.
    d.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[async_trait]
impl TransactionLog for SqliteStore {
    async fn allocate_log_numbers(&self, count: u32) -> Result<u64, StoreError> {
        self.db
            .with("allocate log numbers", move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| backend("begin", e))?;
                let last: u64 = match Self::get_meta(&tx, "log_counter")? {
                    Some(v) => v.parse().map_err(|e| corrupt("meta/log_counter", e))?,
                    None => 0,
                };
                let next_last = last + u64::from(count);
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES('log_counter', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![next_last.to_string()],
                )
                .map_err(|e| backend("bump log counter", e))?;
                tx.commit().map_err(|e| backend("commit", e))?;
                Ok(last + 1)
            })
            .await
    }

    async fn append(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        let rows = entries
            .iter()
            .map(|e| {
                let num = parse_log_number(&e.log_number).ok_or_else(|| StoreError::Corrupt {
                    key: e.log_number.clone(),
                    detail: "a log number looks like TL-00001".into(),
                })?;
                let body = serde_json::to_string(e).map_err(|err| corrupt(&e.log_number, err))?;
                let refs = crate::txlog::related_ids(e);
                Ok((
                    num,
                    e.task_id.clone(),
                    ts(&e.created),
                    status_str(e),
                    body,
                    refs,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.db.with("append log entries", move |conn| {
            let tx = conn.transaction().map_err(|e| backend("begin", e))?;
            for (num, task, created, status, body, refs) in rows {
                tx.execute(
                    "INSERT INTO log_entries(num, task_id, created, status, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![num as i64, task, created, status, body],
                )
                .map_err(|e| backend("insert log entry", e))?;
                for r in refs {
                    tx.execute(
                        "INSERT OR IGNORE INTO log_refs(ref, num) VALUES (?1, ?2)",
                        params![r, num as i64],
                    )
                    .map_err(|e| backend("insert log reference", e))?;
                }
            }
            tx.commit().map_err(|e| backend("commit", e))
        })
        .await
    }

    async fn query(&self, query: &LogQuery) -> Result<LogPage, StoreError> {
        let q = query.clone();
        self.db
            .with("query log entries", move |conn| {
                let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
                let after: i64 = match &q.cursor {
                    Some(c) => c.parse().map_err(|e| corrupt("log cursor", e))?,
                    None => 0,
                };
                let mut sql = String::from("SELECT num, body FROM log_entries WHERE num > ?1");
                let mut args: Vec<rusqlite::types::Value> = vec![after.into()];
                if let Some(t) = &q.task_id {
                    args.push(t.clone().into());
                    sql.push_str(&format!(" AND task_id = ?{}", args.len()));
                }
                if let Some(r) = &q.record {
                    args.push(r.clone().into());
                    sql.push_str(&format!(
                        " AND num IN (SELECT num FROM log_refs WHERE ref = ?{})",
                        args.len()
                    ));
                }
                if let Some(s) = q.status {
                    args.push(status_name(s).to_owned().into());
                    sql.push_str(&format!(" AND status = ?{}", args.len()));
                }
                if let Some(f) = &q.from {
                    args.push(ts(f).into());
                    sql.push_str(&format!(" AND created >= ?{}", args.len()));
                }
                if let Some(t) = &q.to {
                    args.push(ts(t).into());
                    sql.push_str(&format!(" AND created < ?{}", args.len()));
                }
                args.push(i64::from(limit + 1).into());
                sql.push_str(&format!(" ORDER BY num ASC LIMIT ?{}", args.len()));
                let mut stmt = conn
                    .prepare(&sql)
                    .map_err(|e| backend("prepare log query", e))?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(args), |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(|e| backend("run log query", e))?;
                let mut entries = Vec::new();
                let mut last = None;
                let mut more = false;
                for row in rows {
                    let (num, body) = row.map_err(|e| backend("read log row", e))?;
                    if entries.len() as u32 == limit {
                        more = true;
                        break;
                    }
                    let entry: LogEntry = serde_json::from_str(&body)
                        .map_err(|e| corrupt(format_log_number(num as u64), e))?;
                    entries.push(entry);
                    last = Some(num);
                }
                Ok(LogPage {
                    entries,
                    next_cursor: if more {
                        last.map(|n| n.to_string())
                    } else {
                        None
                    },
                })
            })
            .await
    }

    async fn get(&self, log_number: &str) -> Result<Option<LogEntry>, StoreError> {
        self.log_entry(log_number).await
    }
}

impl SqliteStore {
    /// `TransactionLog::get` for the embedded log.
    async fn log_entry(&self, log_number: &str) -> Result<Option<LogEntry>, StoreError> {
        let Some(num) = parse_log_number(log_number) else {
            return Ok(None);
        };
        self.db
            .with("read a log entry", move |conn| {
                let body: Option<String> = conn
                    .query_row(
                        "SELECT body FROM log_entries WHERE num = ?1",
                        params![num as i64],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| backend("read log entry", e))?;
                body.map(|b| {
                    serde_json::from_str(&b).map_err(|e| corrupt(format_log_number(num), e))
                })
                .transpose()
            })
            .await
    }
}

fn status_name(s: crate::ports::LogStatus) -> &'static str {
    match s {
        crate::ports::LogStatus::Completed => "Completed",
        crate::ports::LogStatus::Failed => "Failed",
        crate::ports::LogStatus::Error => "Error",
    }
}

fn status_str(e: &LogEntry) -> String {
    status_name(e.status).to_owned()
}

#[async_trait]
impl StateStore for SqliteStore {
    async fn watermark(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.db
            .with("read watermark", |conn| {
                match Self::get_meta(conn, "watermark")? {
                    None => Ok(None),
                    Some(s) => DateTime::parse_from_rfc3339(&s)
                        .map(|d| Some(d.with_timezone(&Utc)))
                        .map_err(|e| corrupt("meta/watermark", e)),
                }
            })
            .await
    }

    async fn set_watermark(&self, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let v = ts(&at);
        self.db
            .with("set watermark", move |conn| {
                // R21: forward only (fixed-width times compare as text)
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('watermark', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE meta.value < excluded.value",
                    params![v],
                )
                .map(|n| n > 0)
                .map_err(|e| backend("write watermark", e))
            })
            .await
    }

    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let body = serde_json::to_string(run).map_err(|e| corrupt(&run.task_id, e))?;
        let (id, started) = (run.task_id.clone(), ts(&run.started));
        self.db.with("put run", move |conn| {
            conn.execute(
                "INSERT INTO runs(task_id, started, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(task_id) DO UPDATE SET started = excluded.started, body = excluded.body",
                params![id, started, body],
            )
            .map(|_| ())
            .map_err(|e| backend("write run", e))
        })
        .await
    }

    async fn get_run(&self, task_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let id = task_id.to_owned();
        self.db
            .with("get run", move |conn| {
                let body: Option<String> = conn
                    .query_row(
                        "SELECT body FROM runs WHERE task_id = ?1",
                        params![id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| backend("read run", e))?;
                body.map(|b| serde_json::from_str(&b).map_err(|e| corrupt(format!("run/{id}"), e)))
                    .transpose()
            })
            .await
    }

    async fn list_runs(&self, limit: u32) -> Result<Vec<RunRecord>, StoreError> {
        self.db
            .with("list runs", move |conn| {
                let mut stmt = conn
                    .prepare(
                        "SELECT task_id, body FROM runs ORDER BY started DESC, rowid DESC LIMIT ?1",
                    )
                    .map_err(|e| backend("prepare list runs", e))?;
                let rows = stmt
                    .query_map(params![i64::from(limit)], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(|e| backend("list runs", e))?;
                let mut out = Vec::new();
                for row in rows {
                    let (id, body) = row.map_err(|e| backend("read run row", e))?;
                    out.push(
                        serde_json::from_str(&body).map_err(|e| corrupt(format!("run/{id}"), e))?,
                    );
                }
                Ok(out)
            })
            .await
    }

    async fn sales_order(
        &self,
        opportunity_id: &str,
    ) -> Result<Option<SalesOrderRecord>, StoreError> {
        let id = opportunity_id.to_owned();
        self.db
            .with("get sales order", move |conn| {
                let body: Option<String> = conn
                    .query_row(
                        "SELECT body FROM sales_orders WHERE opportunity_id = ?1",
                        params![id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| backend("read sales order", e))?;
                body.map(|b| {
                    serde_json::from_str(&b).map_err(|e| corrupt(format!("sales-order/{id}"), e))
                })
                .transpose()
            })
            .await
    }

    async fn put_sales_order(&self, record: &SalesOrderRecord) -> Result<(), StoreError> {
        let mut stored = record.clone();
        stored.version = record.version + 1;
        let body =
            serde_json::to_string(&stored).map_err(|e| corrupt(&record.opportunity_id, e))?;
        let (id, expected, new_version) = (
            record.opportunity_id.clone(),
            record.version as i64,
            stored.version as i64,
        );
        self.db.with("put sales order", move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| backend("begin", e))?;
            let current: Option<i64> = tx
                .query_row(
                    "SELECT version FROM sales_orders WHERE opportunity_id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| backend("read sales order version", e))?;
            let ok = match current {
                None => expected == 0,
                Some(v) => v == expected,
            };
            if !ok {
                return Err(StoreError::Conflict { key: format!("sales-order/{id}") });
            }
            tx.execute(
                "INSERT INTO sales_orders(opportunity_id, version, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(opportunity_id) DO UPDATE SET version = excluded.version, body = excluded.body",
                params![id, new_version, body],
            )
            .map_err(|e| backend("write sales order", e))?;
            tx.commit().map_err(|e| backend("commit", e))
        })
        .await
    }

    async fn update_run(
        &self,
        task_id: &str,
        patch: &RunPatch,
    ) -> Result<Option<(RunRecord, bool)>, StoreError> {
        let (id, patch) = (task_id.to_owned(), patch.clone());
        self.db
            .with("update run", move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| backend("begin", e))?;
                let body: Option<String> = tx
                    .query_row(
                        "SELECT body FROM runs WHERE task_id = ?1",
                        params![id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| backend("read run", e))?;
                let Some(body) = body else { return Ok(None) };
                let mut run: RunRecord =
                    serde_json::from_str(&body).map_err(|e| corrupt(format!("run/{id}"), e))?;
                let applied = patch.apply(&mut run);
                let body = serde_json::to_string(&run).map_err(|e| corrupt(&id, e))?;
                tx.execute(
                    "UPDATE runs SET body = ?2 WHERE task_id = ?1",
                    params![id, body],
                )
                .map_err(|e| backend("write run", e))?;
                tx.commit().map_err(|e| backend("commit", e))?;
                Ok(Some((run, applied)))
            })
            .await
    }

    async fn sales_orders_of_account(
        &self,
        account_id: &str,
    ) -> Result<Vec<SalesOrderRecord>, StoreError> {
        let sql = "SELECT opportunity_id, body FROM sales_orders WHERE json_extract(body, '$.account_id') = ?1 ORDER BY opportunity_id";
        self.bodies("sales orders of account", sql, account_id, "sales-order")
            .await
    }

    async fn put_outstanding(&self, items: &[OutstandingItem]) -> Result<(), StoreError> {
        let rows = items
            .iter()
            .map(|o| {
                let body = serde_json::to_string(o).map_err(|e| corrupt(&o.record_id, e))?;
                Ok((o.record_id.clone(), ts(&o.next_attempt), body))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.db
            .with("put outstanding", move |conn| {
                let tx = conn.transaction().map_err(|e| backend("begin", e))?;
                for (id, next, body) in rows {
                    tx.execute(
                        "INSERT INTO outstanding(record_id, next_attempt, body) VALUES (?1, ?2, ?3)
                         ON CONFLICT(record_id) DO UPDATE SET next_attempt = excluded.next_attempt, body = excluded.body",
                        params![id, next, body],
                    )
                    .map_err(|e| backend("write outstanding", e))?;
                }
                tx.commit().map_err(|e| backend("commit", e))
            })
            .await
    }

    async fn remove_outstanding(&self, record_ids: &[String]) -> Result<(), StoreError> {
        let ids = record_ids.to_vec();
        self.db
            .with("remove outstanding", move |conn| {
                let tx = conn.transaction().map_err(|e| backend("begin", e))?;
                for id in ids {
                    tx.execute("DELETE FROM outstanding WHERE record_id = ?1", params![id])
                        .map_err(|e| backend("delete outstanding", e))?;
                }
                tx.commit().map_err(|e| backend("commit", e))
            })
            .await
    }

    async fn get_outstanding(
        &self,
        record_id: &str,
    ) -> Result<Option<OutstandingItem>, StoreError> {
        let sql = "SELECT record_id, body FROM outstanding WHERE record_id = ?1";
        Ok(self
            .bodies("get outstanding", sql, record_id, "outstanding")
            .await?
            .pop())
    }

    async fn outstanding_of_account(
        &self,
        account_id: &str,
    ) -> Result<Vec<OutstandingItem>, StoreError> {
        let sql = "SELECT record_id, body FROM outstanding WHERE json_extract(body, '$.account_id') = ?1 ORDER BY record_id";
        self.bodies("outstanding of account", sql, account_id, "outstanding")
            .await
    }

    async fn list_outstanding(
        &self,
        due_by: Option<DateTime<Utc>>,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<OutstandingPage, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let due = due_by.map(|d| ts(&d)).unwrap_or_else(|| "~".into());
        // the cursor is the last item's "<next_attempt>|<record_id>"
        let after = cursor.unwrap_or_default();
        self.db
            .with("list outstanding", move |conn| {
                let sql = "SELECT record_id, body FROM outstanding
                    WHERE next_attempt <= ?1 AND (next_attempt || '|' || record_id) > ?2
                    ORDER BY next_attempt, record_id LIMIT ?3";
                let items: Vec<OutstandingItem> = read_bodies(
                    conn,
                    sql,
                    params![due, after, i64::from(limit) + 1],
                    "outstanding",
                )?;
                Ok(page_of(items, limit as usize, |o| {
                    format!("{}|{}", ts(&o.next_attempt), o.record_id)
                }))
            })
            .await
    }

    async fn acquire_lease(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Option<Lease>, StoreError> {
        let lease = lease.clone();
        self.db
            .with("acquire lease", move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| backend("begin", e))?;
                let sql = "SELECT account_id, body FROM leases WHERE account_id = ?1";
                let held: Option<Lease> =
                    read_bodies(&tx, sql, params![lease.account_id], "lease")?.pop();
                if let Some(h) = held.filter(|h| h.until >= now && h.owner != lease.owner) {
                    return Ok(Some(h));
                }
                let body = serde_json::to_string(&lease).map_err(|e| corrupt("lease", e))?;
                tx.execute(
                    "INSERT INTO leases(account_id, body) VALUES (?1, ?2)
                     ON CONFLICT(account_id) DO UPDATE SET body = excluded.body",
                    params![lease.account_id, body],
                )
                .map_err(|e| backend("write lease", e))?;
                tx.commit().map_err(|e| backend("commit", e))?;
                Ok(None)
            })
            .await
    }

    async fn release_lease(&self, account_id: &str, owner: &str) -> Result<(), StoreError> {
        let (id, owner) = (account_id.to_owned(), owner.to_owned());
        self.db
            .with("release lease", move |conn| {
                conn.execute(
                    "DELETE FROM leases WHERE account_id = ?1 AND json_extract(body, '$.owner') = ?2",
                    params![id, owner],
                )
                .map(|_| ())
                .map_err(|e| backend("delete lease", e))
            })
            .await
    }

    async fn lease(&self, account_id: &str) -> Result<Option<Lease>, StoreError> {
        let sql = "SELECT account_id, body FROM leases WHERE account_id = ?1";
        Ok(self
            .bodies("read lease", sql, account_id, "lease")
            .await?
            .pop())
    }

    async fn get_config(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let k = key.to_owned();
        self.db
            .with("get config", move |conn| {
                let body: Option<String> = conn
                    .query_row("SELECT body FROM config WHERE key = ?1", params![k], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(|e| backend("read config", e))?;
                body.map(|b| {
                    serde_json::from_str(&b).map_err(|e| corrupt(format!("config/{k}"), e))
                })
                .transpose()
            })
            .await
    }

    async fn put_config(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        let (k, body) = (key.to_owned(), value.to_string());
        self.db
            .with("put config", move |conn| {
                conn.execute(
                    "INSERT INTO config(key, body) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET body = excluded.body",
                    params![k, body],
                )
                .map(|_| ())
                .map_err(|e| backend("write config", e))
            })
            .await
    }
}

/// Rows of `(key, JSON body)` read into `T` (a corrupt body names its table and key).
fn read_bodies<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    what: &str,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare(sql).map_err(|e| backend("prepare", e))?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(|e| backend("query", e))?;
    let mut out = Vec::new();
    for row in rows {
        let (key, body) = row.map_err(|e| backend("read row", e))?;
        out.push(serde_json::from_str(&body).map_err(|e| corrupt(format!("{what}/{key}"), e))?);
    }
    Ok(out)
}

/// The first `limit` of `items` (read with one extra to know whether more follow) and the
/// cursor after the last one kept.
pub fn page_of(
    mut items: Vec<OutstandingItem>,
    limit: usize,
    cursor: impl Fn(&OutstandingItem) -> String,
) -> OutstandingPage {
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = if more {
        items.last().map(&cursor)
    } else {
        None
    };
    OutstandingPage { items, next_cursor }
}

/// An in-process [`WorkQueue`]: enqueued items wait in memory until [`MemoryQueue::drain`].
#[derive(Debug, Default, Clone)]
pub struct MemoryQueue {
    items: Arc<Mutex<Vec<AccountWork>>>,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes every queued item, in enqueue order.
    pub fn drain(&self) -> Vec<AccountWork> {
        match self.items.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    pub fn len(&self) -> usize {
        self.items.lock().map(|g| g.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl WorkQueue for MemoryQueue {
    async fn enqueue(&self, items: &[AccountWork]) -> Result<(), StoreError> {
        let mut g = self.items.lock().map_err(|_| StoreError::Backend {
            context: "enqueue".into(),
            source: "the queue mutex is poisoned".into(),
        })?;
        g.extend_from_slice(items);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{LogStatus, RunKind, RunStatus, ACCOUNT_WORK_VERSION};
    use chrono::TimeZone;
    use std::collections::BTreeMap;

    fn entry(n: u64, task: &str, status: LogStatus, minute: u32) -> LogEntry {
        LogEntry {
            task_id: task.into(),
            log_number: format_log_number(n),
            created: Utc.with_ymd_and_hms(2026, 1, 1, 0, minute, 0).unwrap(),
            name: "Account Creation/Update".into(),
            status,
            record_id: Some("001000000000001AAA".into()),
            account_id: Some("001000000000001AAA".into()),
            message: "m".into(),
            reason: None,
            component: None,
            request: Some(serde_json::json!({"a": 1})),
            response: None,
            created_by: None,
        }
    }

    #[test]
    fn r24_log_numbers_format_and_parse() {
        assert_eq!(format_log_number(1), "TL-00001");
        assert_eq!(format_log_number(123456), "TL-123456");
        assert_eq!(parse_log_number("TL-00042"), Some(42));
        assert_eq!(parse_log_number("X-1"), None);
    }

    #[tokio::test]
    async fn r24_log_numbers_are_monotonic_and_consecutive_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open_dir(dir.path()).unwrap();
        assert_eq!(s.allocate_log_numbers(3).await.unwrap(), 1);
        assert_eq!(s.allocate_log_numbers(2).await.unwrap(), 4);
        drop(s);
        let s = SqliteStore::open_dir(dir.path()).unwrap();
        assert_eq!(s.allocate_log_numbers(1).await.unwrap(), 6);
    }

    #[tokio::test]
    async fn r24_concurrent_allocations_never_overlap() {
        let s = SqliteStore::in_memory().unwrap();
        let mut handles = Vec::new();
        for _ in 0..8 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                s.allocate_log_numbers(5).await.unwrap()
            }));
        }
        let mut starts = Vec::new();
        for h in handles {
            starts.push(h.await.unwrap());
        }
        starts.sort();
        for (i, s) in starts.iter().enumerate() {
            assert_eq!(*s, 1 + 5 * i as u64);
        }
    }

    #[tokio::test]
    async fn r24_query_filters_by_task_status_time_and_pages() {
        let s = SqliteStore::in_memory().unwrap();
        let mut es = Vec::new();
        for n in 1..=7 {
            let task = if n <= 5 { "t1" } else { "t2" };
            let st = if n % 2 == 0 {
                LogStatus::Failed
            } else {
                LogStatus::Completed
            };
            es.push(entry(n, task, st, n as u32));
        }
        s.append(&es).await.unwrap();
        let all = s.query(&LogQuery::default()).await.unwrap();
        assert_eq!(all.entries.len(), 7);
        assert_eq!(all.entries[0], es[0]);
        let t1 = s
            .query(&LogQuery {
                task_id: Some("t1".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(t1.entries.len(), 5);
        let failed = s
            .query(&LogQuery {
                status: Some(LogStatus::Failed),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            failed
                .entries
                .iter()
                .map(|e| e.log_number.as_str())
                .collect::<Vec<_>>(),
            ["TL-00002", "TL-00004", "TL-00006"]
        );
        let window = s
            .query(&LogQuery {
                from: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 3, 0).unwrap()),
                to: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 5, 0).unwrap()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(window.entries.len(), 2);
        // paging
        let p1 = s
            .query(&LogQuery {
                limit: Some(3),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(p1.entries.len(), 3);
        let p2 = s
            .query(&LogQuery {
                limit: Some(3),
                cursor: p1.next_cursor.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(p2.entries[0].log_number, "TL-00004");
        let p3 = s
            .query(&LogQuery {
                limit: Some(3),
                cursor: p2.next_cursor.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(p3.entries.len(), 1);
        assert_eq!(p3.next_cursor, None);
    }

    #[tokio::test]
    async fn duplicate_log_numbers_are_refused() {
        let s = SqliteStore::in_memory().unwrap();
        s.append(&[entry(1, "t", LogStatus::Completed, 0)])
            .await
            .unwrap();
        assert!(s
            .append(&[entry(1, "t", LogStatus::Completed, 0)])
            .await
            .is_err());
    }

    #[tokio::test]
    async fn r21_watermark_round_trips() {
        let s = SqliteStore::in_memory().unwrap();
        assert_eq!(s.watermark().await.unwrap(), None);
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap()
            + chrono::Duration::microseconds(123);
        assert!(s.set_watermark(at).await.unwrap());
        assert_eq!(s.watermark().await.unwrap(), Some(at));
        // R21: forward only — an older time changes nothing
        assert!(!s
            .set_watermark(at - chrono::Duration::hours(1))
            .await
            .unwrap());
        assert_eq!(s.watermark().await.unwrap(), Some(at));
        let later = at + chrono::Duration::seconds(1);
        assert!(s.set_watermark(later).await.unwrap());
        assert_eq!(s.watermark().await.unwrap(), Some(later));
    }

    #[tokio::test]
    async fn run_updates_add_counters_and_move_the_status_only_from_the_expected_one() {
        let s = SqliteStore::in_memory().unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        s.put_run(&RunRecord {
            task_id: "r".into(),
            kind: RunKind::Scheduled,
            status: RunStatus::Running,
            window_from: None,
            window_to: None,
            started: t0,
            finished: None,
            accounts_planned: 2,
            counts: BTreeMap::new(),
            detail: None,
            created_by: None,
        })
        .await
        .unwrap();
        let add = |n: u64| crate::ports::RunPatch {
            add: BTreeMap::from([("completed".to_owned(), n)]),
            ..Default::default()
        };
        // concurrent workers' counts all land
        let (three, four) = (add(3), add(4));
        let (a, b) = tokio::join!(s.update_run("r", &three), s.update_run("r", &four));
        a.unwrap();
        b.unwrap();
        let complete = |from| crate::ports::RunPatch {
            status: Some(RunStatus::Completed),
            only_if: Some(from),
            finished: Some(t0),
            ..add(1)
        };
        let (run, applied) = s
            .update_run("r", &complete(RunStatus::Running))
            .await
            .unwrap()
            .unwrap();
        assert!(applied);
        assert_eq!(
            (run.status, run.counts["completed"]),
            (RunStatus::Completed, 8)
        );
        // a late worker cannot move a finished run back, but its counts still add
        let late = crate::ports::RunPatch {
            status: Some(RunStatus::Aborted),
            only_if: Some(RunStatus::Running),
            ..add(1)
        };
        let (run, applied) = s.update_run("r", &late).await.unwrap().unwrap();
        assert!(!applied);
        assert_eq!(
            (run.status, run.counts["completed"]),
            (RunStatus::Completed, 9)
        );
        assert!(s.update_run("nope", &add(1)).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn leases_admit_one_owner_until_they_expire_or_are_released() {
        let s = SqliteStore::in_memory().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let lease = |owner: &str, mins: i64| crate::ports::Lease {
            account_id: "001A".into(),
            owner: owner.into(),
            task_id: format!("task-{owner}"),
            until: now + chrono::Duration::minutes(mins),
        };
        assert!(s
            .acquire_lease(&lease("a", 15), now)
            .await
            .unwrap()
            .is_none());
        let held = s.acquire_lease(&lease("b", 15), now).await.unwrap();
        assert_eq!(held.unwrap().task_id, "task-a");
        assert!(
            s.acquire_lease(&lease("a", 20), now)
                .await
                .unwrap()
                .is_none(),
            "owner renews"
        );
        s.release_lease("001A", "b").await.unwrap(); // not b's: ignored
        assert!(s.lease("001A").await.unwrap().is_some());
        // expired: taken over
        let later = now + chrono::Duration::minutes(21);
        assert!(s
            .acquire_lease(&lease("b", 40), later)
            .await
            .unwrap()
            .is_none());
        s.release_lease("001A", "b").await.unwrap();
        assert!(s.lease("001A").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn outstanding_items_page_by_due_time_and_are_found_by_account() {
        let s = SqliteStore::in_memory().unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let items: Vec<crate::ports::OutstandingItem> = (0..7)
            .map(|i| crate::ports::OutstandingItem {
                record_id: format!("006{i}"),
                account_id: format!("001{}", i % 2),
                scope: crate::ports::OutstandingScope::Order,
                reason: "r".into(),
                attempts: 1,
                first_seen: t0,
                last_attempt: None,
                next_attempt: t0 + chrono::Duration::minutes(i),
                last_task_id: None,
            })
            .collect();
        s.put_outstanding(&items).await.unwrap();
        let (mut seen, mut cursor) = (Vec::new(), None);
        loop {
            let page = s.list_outstanding(None, 3, cursor).await.unwrap();
            seen.extend(page.items.into_iter().map(|o| o.record_id));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, (0..7).map(|i| format!("006{i}")).collect::<Vec<_>>());
        let due = s
            .list_outstanding(Some(t0 + chrono::Duration::minutes(2)), 10, None)
            .await
            .unwrap();
        assert_eq!(due.items.len(), 3, "due at or before the time");
        assert_eq!(s.outstanding_of_account("0011").await.unwrap().len(), 3);
        s.remove_outstanding(&["0061".into(), "nope".into()])
            .await
            .unwrap();
        assert_eq!(s.outstanding_of_account("0011").await.unwrap().len(), 2);
        assert!(s.get_outstanding("0061").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn sales_order_records_use_optimistic_versions() {
        let s = SqliteStore::in_memory().unwrap();
        let mut r = SalesOrderRecord {
            opportunity_id: "006000000000001AAA".into(),
            account_id: "001000000000001AAA".into(),
            ..Default::default()
        };
        s.put_sales_order(&r).await.unwrap();
        let stored = s.sales_order(&r.opportunity_id).await.unwrap().unwrap();
        assert_eq!(stored.version, 1);
        // a writer holding the old version loses
        assert!(matches!(
            s.put_sales_order(&r).await,
            Err(StoreError::Conflict { .. })
        ));
        r = stored;
        r.entitlement_id = Some("ENT-1".into());
        r.line_items
            .insert("00k000000000001AAA".into(), "ACT-1".into());
        s.put_sales_order(&r).await.unwrap();
        let again = s.sales_order(&r.opportunity_id).await.unwrap().unwrap();
        assert_eq!(again.version, 2);
        assert_eq!(
            again
                .line_items
                .get("00k000000000001AAA")
                .map(String::as_str),
            Some("ACT-1")
        );
        assert_eq!(s.sales_order("006000000000002AAA").await.unwrap(), None);
    }

    #[tokio::test]
    async fn runs_and_config_round_trip() {
        let s = SqliteStore::in_memory().unwrap();
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            s.put_run(&RunRecord {
                task_id: (*id).into(),
                kind: RunKind::Scheduled,
                status: RunStatus::Running,
                window_from: None,
                window_to: None,
                started: Utc.with_ymd_and_hms(2026, 1, 1, i as u32, 0, 0).unwrap(),
                finished: None,
                accounts_planned: 0,
                counts: BTreeMap::new(),
                detail: None,
                created_by: None,
            })
            .await
            .unwrap();
        }
        let mut b = s.get_run("b").await.unwrap().unwrap();
        b.status = RunStatus::Completed;
        s.put_run(&b).await.unwrap();
        assert_eq!(
            s.get_run("b").await.unwrap().unwrap().status,
            RunStatus::Completed
        );
        let runs = s.list_runs(2).await.unwrap();
        assert_eq!(
            runs.iter().map(|r| r.task_id.as_str()).collect::<Vec<_>>(),
            ["c", "b"]
        );
        assert_eq!(s.get_config("config").await.unwrap(), None);
        s.put_config("config", &serde_json::json!({"x": 1}))
            .await
            .unwrap();
        assert_eq!(
            s.get_config("config").await.unwrap(),
            Some(serde_json::json!({"x": 1}))
        );
    }

    #[tokio::test]
    async fn memory_queue_keeps_order() {
        let q = MemoryQueue::new();
        let w = |a: &str| AccountWork {
            v: ACCOUNT_WORK_VERSION,
            task_id: "t".into(),
            account_id: a.into(),
            kind: RunKind::Scheduled,
            window_from: None,
            window_to: None,
            fno_changed: Vec::new(),
        };
        q.enqueue(&[w("a"), w("b")]).await.unwrap();
        q.enqueue(&[w("c")]).await.unwrap();
        assert_eq!(q.len(), 3);
        let got: Vec<_> = q.drain().into_iter().map(|w| w.account_id).collect();
        assert_eq!(got, ["a", "b", "c"]);
        assert!(q.is_empty());
    }
}
