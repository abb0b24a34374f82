//! The license store port and its embedded implementations: [`MemoryLicenseStore`] (tests) and
//! [`SqliteLicenseStore`] (the local runner: `<dir>/licenses.sqlite`). The DynamoDB one lives
//! in `shared/aws` (`aws_adapters::DynamoLicenseStore`).
//!
//! The captured part and the manual part of a license are stored apart (R27): an ingest writes
//! captured parts only ([`LicenseStore::put_captured`]) plus the R28 default effective date
//! where none is set; an admin writes manual parts only ([`LicenseStore::put_manual`]).
//!
//! Beside the records, a store keeps small JSON documents in named collections (SKUs, manual
//! licenses, per-user assignments, the usage history; see [`crate::docs`]): four generic
//! methods, ordered by key, so each store implements them once and the typed collections live
//! in one place.

use crate::model::{CapturedLicense, LicenseRecord, ManualFields, OrgUsage};
use async_trait::async_trait;
use chrono::NaiveDate;
use engine::ports::StoreError;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[async_trait]
pub trait LicenseStore: Send + Sync {
    /// Every license ever captured (inactive and missing ones included), ordered by id.
    async fn all(&self) -> Result<Vec<LicenseRecord>, StoreError>;
    async fn get(&self, id: &str) -> Result<Option<LicenseRecord>, StoreError>;
    /// Inserts or replaces captured parts; never touches a manual part (R27).
    async fn put_captured(&self, records: &[CapturedLicense]) -> Result<(), StoreError>;
    /// R28: sets the manual effective date to `date` only when it is empty.
    async fn default_effective_date(&self, id: &str, date: NaiveDate) -> Result<(), StoreError>;
    /// Replaces the manual part of `id` (validated by the caller, see `crate::set_manual`).
    async fn put_manual(&self, id: &str, manual: &ManualFields) -> Result<(), StoreError>;
    /// R29: whether the License Information task is enabled (default: enabled).
    async fn task_enabled(&self) -> Result<bool, StoreError>;
    async fn set_task_enabled(&self, enabled: bool) -> Result<(), StoreError>;
    /// R32: the org-wide usage of the last ingest.
    async fn org_usage(&self) -> Result<Option<OrgUsage>, StoreError>;
    async fn put_org_usage(&self, usage: &OrgUsage) -> Result<(), StoreError>;

    /// Inserts or replaces documents `(key, JSON text)` of collection `coll`.
    async fn docs_put(&self, coll: &str, docs: &[(String, String)]) -> Result<(), StoreError>;
    /// Documents of `coll` with `from <= key <= to` (each bound optional), ordered by key.
    async fn docs_range(
        &self,
        coll: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Deletes the documents `keys` of `coll` (absent ones are no error).
    async fn docs_delete(&self, coll: &str, keys: &[String]) -> Result<(), StoreError>;
}

/// Whether `key` lies within the optional inclusive bounds (string order).
pub fn key_in(key: &str, from: Option<&str>, to: Option<&str>) -> bool {
    from.is_none_or(|f| key >= f) && to.is_none_or(|t| key <= t)
}

// ----------------------------------------------------------------------------------- memory

#[derive(Debug, Default)]
struct Inner {
    captured: BTreeMap<String, CapturedLicense>,
    manual: BTreeMap<String, ManualFields>,
    enabled: Option<bool>,
    org: Option<OrgUsage>,
    docs: BTreeMap<String, BTreeMap<String, String>>,
}

/// In-memory [`LicenseStore`] for tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryLicenseStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryLicenseStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Backend {
            context: "memory license store".into(),
            source: "the mutex is poisoned".into(),
        })
    }
}

#[async_trait]
impl LicenseStore for MemoryLicenseStore {
    async fn all(&self) -> Result<Vec<LicenseRecord>, StoreError> {
        let g = self.lock()?;
        Ok(g.captured
            .values()
            .map(|c| LicenseRecord {
                captured: c.clone(),
                manual: g.manual.get(&c.id).cloned().unwrap_or_default(),
            })
            .collect())
    }
    async fn get(&self, id: &str) -> Result<Option<LicenseRecord>, StoreError> {
        let g = self.lock()?;
        Ok(g.captured.get(id).map(|c| LicenseRecord {
            captured: c.clone(),
            manual: g.manual.get(id).cloned().unwrap_or_default(),
        }))
    }
    async fn put_captured(&self, records: &[CapturedLicense]) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        for r in records {
            g.captured.insert(r.id.clone(), r.clone());
        }
        Ok(())
    }
    async fn default_effective_date(&self, id: &str, date: NaiveDate) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        let m = g.manual.entry(id.to_owned()).or_default();
        if m.effective_date.is_none() {
            m.effective_date = Some(date);
        }
        Ok(())
    }
    async fn put_manual(&self, id: &str, manual: &ManualFields) -> Result<(), StoreError> {
        self.lock()?.manual.insert(id.to_owned(), manual.clone());
        Ok(())
    }
    async fn task_enabled(&self) -> Result<bool, StoreError> {
        Ok(self.lock()?.enabled.unwrap_or(true))
    }
    async fn set_task_enabled(&self, enabled: bool) -> Result<(), StoreError> {
        self.lock()?.enabled = Some(enabled);
        Ok(())
    }
    async fn org_usage(&self) -> Result<Option<OrgUsage>, StoreError> {
        Ok(self.lock()?.org.clone())
    }
    async fn put_org_usage(&self, usage: &OrgUsage) -> Result<(), StoreError> {
        self.lock()?.org = Some(usage.clone());
        Ok(())
    }
    async fn docs_put(&self, coll: &str, docs: &[(String, String)]) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        let c = g.docs.entry(coll.to_owned()).or_default();
        for (k, v) in docs {
            c.insert(k.clone(), v.clone());
        }
        Ok(())
    }
    async fn docs_range(
        &self,
        coll: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let g = self.lock()?;
        Ok(g.docs
            .get(coll)
            .map(|c| {
                c.iter()
                    .filter(|(k, _)| key_in(k, from, to))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }
    async fn docs_delete(&self, coll: &str, keys: &[String]) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        if let Some(c) = g.docs.get_mut(coll) {
            for k in keys {
                c.remove(k);
            }
        }
        Ok(())
    }
}

// ----------------------------------------------------------------------------------- sqlite

/// The SQLite store, behind the `embedded` feature: the local runner and tests enable it, the
/// Lambda builds do not (they would compile the bundled SQLite library for nothing).
#[cfg(feature = "embedded")]
mod sqlite {
    use super::*;
    use engine::embedded::SqliteDb;
    use rusqlite::{params, Connection, OptionalExtension};
    use std::path::Path;

    const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS license_captured (id TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS license_manual (id TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS license_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS license_docs (coll TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (coll, key));
    ";

    /// The file name [`SqliteLicenseStore::open_dir`] uses.
    pub const SQLITE_FILE: &str = "licenses.sqlite";

    /// Embedded [`LicenseStore`]: one SQLite file (bundled library), tables `license_captured`,
    /// `license_manual` (R27: apart), `license_meta` (task flag, org usage) and `license_docs`
    /// (the document collections); JSON bodies.
    #[derive(Clone, Debug)]
    pub struct SqliteLicenseStore {
        db: SqliteDb,
    }

    fn backend(context: &str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::backend(context, e)
    }

    fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            key: key.to_owned(),
            detail: e.to_string(),
        }
    }

    fn to_json<T: serde::Serialize>(key: &str, v: &T) -> Result<String, StoreError> {
        serde_json::to_string(v).map_err(|e| corrupt(key, e))
    }

    fn from_json<T: serde::de::DeserializeOwned>(key: &str, s: &str) -> Result<T, StoreError> {
        serde_json::from_str(s).map_err(|e| corrupt(key, e))
    }

    impl SqliteLicenseStore {
        /// Opens (creating if needed) `dir/licenses.sqlite`.
        pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
            Ok(SqliteLicenseStore {
                db: SqliteDb::open_dir(dir, SQLITE_FILE, SCHEMA)?,
            })
        }

        pub fn open(path: &Path) -> Result<Self, StoreError> {
            Ok(SqliteLicenseStore {
                db: SqliteDb::open(path, SCHEMA)?,
            })
        }

        pub fn in_memory() -> Result<Self, StoreError> {
            Ok(SqliteLicenseStore {
                db: SqliteDb::in_memory(SCHEMA)?,
            })
        }

        pub fn path(&self) -> Option<&Path> {
            self.db.path()
        }

        fn manual_of(conn: &Connection, id: &str) -> Result<Option<ManualFields>, StoreError> {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM license_manual WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| backend("read manual fields", e))?;
            body.map(|b| from_json(&format!("license_manual/{id}"), &b))
                .transpose()
        }

        fn meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
            conn.query_row(
                "SELECT value FROM license_meta WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| backend("read license meta", e))
        }

        fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
            conn.execute(
                "INSERT INTO license_meta(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(|e| backend("write license meta", e))?;
            Ok(())
        }
    }

    #[async_trait]
    impl LicenseStore for SqliteLicenseStore {
        async fn all(&self) -> Result<Vec<LicenseRecord>, StoreError> {
            self.db
                .with("read licenses", |conn| {
                    let mut stmt = conn
                        .prepare(
                            "SELECT c.id, c.body, m.body FROM license_captured c
                         LEFT JOIN license_manual m ON m.id = c.id ORDER BY c.id",
                        )
                        .map_err(|e| backend("read licenses", e))?;
                    let rows = stmt
                        .query_map([], |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, Option<String>>(2)?,
                            ))
                        })
                        .map_err(|e| backend("read licenses", e))?;
                    let mut out = Vec::new();
                    for row in rows {
                        let (id, c, m) = row.map_err(|e| backend("read licenses", e))?;
                        out.push(LicenseRecord {
                            captured: from_json(&format!("license_captured/{id}"), &c)?,
                            manual: match m {
                                Some(m) => from_json(&format!("license_manual/{id}"), &m)?,
                                None => ManualFields::default(),
                            },
                        });
                    }
                    Ok(out)
                })
                .await
        }

        async fn get(&self, id: &str) -> Result<Option<LicenseRecord>, StoreError> {
            let id = id.to_owned();
            self.db
                .with("read license", move |conn| {
                    let c: Option<String> = conn
                        .query_row(
                            "SELECT body FROM license_captured WHERE id = ?1",
                            params![id],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(|e| backend("read license", e))?;
                    let Some(c) = c else { return Ok(None) };
                    Ok(Some(LicenseRecord {
                        captured: from_json(&format!("license_captured/{id}"), &c)?,
                        manual: Self::manual_of(conn, &id)?.unwrap_or_default(),
                    }))
                })
                .await
        }

        async fn put_captured(&self, records: &[CapturedLicense]) -> Result<(), StoreError> {
            let rows = records
                .iter()
                .map(|r| Ok((r.id.clone(), to_json(&r.id, r)?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            self.db
                .with("write captured licenses", move |conn| {
                    let tx = conn.transaction().map_err(|e| backend("begin", e))?;
                    for (id, body) in rows {
                        tx.execute(
                            "INSERT INTO license_captured(id, body) VALUES (?1, ?2)
                         ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                            params![id, body],
                        )
                        .map_err(|e| backend("write captured license", e))?;
                    }
                    tx.commit().map_err(|e| backend("commit", e))
                })
                .await
        }

        async fn default_effective_date(
            &self,
            id: &str,
            date: NaiveDate,
        ) -> Result<(), StoreError> {
            let id = id.to_owned();
            self.db
                .with("default effective date", move |conn| {
                    let tx = conn
                        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                        .map_err(|e| backend("begin", e))?;
                    let mut m = Self::manual_of(&tx, &id)?.unwrap_or_default();
                    if m.effective_date.is_none() {
                        m.effective_date = Some(date);
                        tx.execute(
                            "INSERT INTO license_manual(id, body) VALUES (?1, ?2)
                         ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                            params![id, to_json(&id, &m)?],
                        )
                        .map_err(|e| backend("write manual fields", e))?;
                    }
                    tx.commit().map_err(|e| backend("commit", e))
                })
                .await
        }

        async fn put_manual(&self, id: &str, manual: &ManualFields) -> Result<(), StoreError> {
            let id = id.to_owned();
            let body = to_json(&id, manual)?;
            self.db
                .with("write manual fields", move |conn| {
                    conn.execute(
                        "INSERT INTO license_manual(id, body) VALUES (?1, ?2)
                     ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                        params![id, body],
                    )
                    .map_err(|e| backend("write manual fields", e))?;
                    Ok(())
                })
                .await
        }

        async fn task_enabled(&self) -> Result<bool, StoreError> {
            self.db
                .with("read task flag", |conn| {
                    match Self::meta(conn, "task_enabled")?.as_deref() {
                        None | Some("true") => Ok(true),
                        Some("false") => Ok(false),
                        Some(other) => Err(corrupt(
                            "license_meta/task_enabled",
                            format!("{other:?} is not a boolean"),
                        )),
                    }
                })
                .await
        }

        async fn set_task_enabled(&self, enabled: bool) -> Result<(), StoreError> {
            self.db
                .with("write task flag", move |conn| {
                    Self::set_meta(conn, "task_enabled", if enabled { "true" } else { "false" })
                })
                .await
        }

        async fn org_usage(&self) -> Result<Option<OrgUsage>, StoreError> {
            self.db
                .with("read org usage", |conn| {
                    Self::meta(conn, "org_usage")?
                        .map(|v| from_json("license_meta/org_usage", &v))
                        .transpose()
                })
                .await
        }

        async fn put_org_usage(&self, usage: &OrgUsage) -> Result<(), StoreError> {
            let body = to_json("org_usage", usage)?;
            self.db
                .with("write org usage", move |conn| {
                    Self::set_meta(conn, "org_usage", &body)
                })
                .await
        }

        async fn docs_put(&self, coll: &str, docs: &[(String, String)]) -> Result<(), StoreError> {
            let coll = coll.to_owned();
            let docs = docs.to_vec();
            self.db
                .with("write license documents", move |conn| {
                    let tx = conn.transaction().map_err(|e| backend("begin", e))?;
                    for (key, body) in docs {
                        tx.execute(
                            "INSERT INTO license_docs(coll, key, body) VALUES (?1, ?2, ?3)
                             ON CONFLICT(coll, key) DO UPDATE SET body = excluded.body",
                            params![coll, key, body],
                        )
                        .map_err(|e| backend("write license document", e))?;
                    }
                    tx.commit().map_err(|e| backend("commit", e))
                })
                .await
        }

        async fn docs_range(
            &self,
            coll: &str,
            from: Option<&str>,
            to: Option<&str>,
        ) -> Result<Vec<(String, String)>, StoreError> {
            let (coll, from, to) = (
                coll.to_owned(),
                from.map(str::to_owned),
                to.map(str::to_owned),
            );
            self.db
                .with("read license documents", move |conn| {
                    let mut stmt = conn
                        .prepare(
                            "SELECT key, body FROM license_docs WHERE coll = ?1
                             AND (?2 IS NULL OR key >= ?2) AND (?3 IS NULL OR key <= ?3) ORDER BY key",
                        )
                        .map_err(|e| backend("read license documents", e))?;
                    let rows = stmt
                        .query_map(params![coll, from, to], |r| Ok((r.get(0)?, r.get(1)?)))
                        .map_err(|e| backend("read license documents", e))?;
                    rows.collect::<Result<Vec<_>, _>>()
                        .map_err(|e| backend("read license documents", e))
                })
                .await
        }

        async fn docs_delete(&self, coll: &str, keys: &[String]) -> Result<(), StoreError> {
            let coll = coll.to_owned();
            let keys = keys.to_vec();
            self.db
                .with("delete license documents", move |conn| {
                    let tx = conn.transaction().map_err(|e| backend("begin", e))?;
                    for key in keys {
                        tx.execute(
                            "DELETE FROM license_docs WHERE coll = ?1 AND key = ?2",
                            params![coll, key],
                        )
                        .map_err(|e| backend("delete license document", e))?;
                    }
                    tx.commit().map_err(|e| backend("commit", e))
                })
                .await
        }
    }
}

#[cfg(feature = "embedded")]
pub use sqlite::{SqliteLicenseStore, SQLITE_FILE};

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::LicenseKind;
    use chrono::{DateTime, Utc};

    fn now() -> DateTime<Utc> {
        "2026-11-27T10:00:00Z".parse().unwrap()
    }

    pub(crate) fn captured(id: &str, name: &str) -> CapturedLicense {
        CapturedLicense {
            id: id.into(),
            kind: LicenseKind::UserLicense,
            name: name.into(),
            key: None,
            total: Some(5),
            used: 1,
            status: "Active".into(),
            active: true,
            expiration: None,
            active_users: 1,
            first_seen: now(),
            first_active: Some(now()),
            last_seen: now(),
            missing_since: None,
        }
    }

    /// The contract every store must keep; run against each implementation.
    pub(crate) async fn contract(store: &dyn LicenseStore) {
        assert!(store.all().await.unwrap().is_empty());
        assert!(
            store.task_enabled().await.unwrap(),
            "R29: enabled by default"
        );
        store
            .put_captured(&[captured("B", "Bee"), captured("A", "Ay")])
            .await
            .unwrap();
        let all = store.all().await.unwrap();
        assert_eq!(all.iter().map(|r| r.id()).collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(all[0].manual, ManualFields::default());
        // R28 default only when empty
        let d1: NaiveDate = "2026-11-27".parse().unwrap();
        store.default_effective_date("A", d1).await.unwrap();
        store
            .default_effective_date("A", "2030-01-01".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(
            store.get("A").await.unwrap().unwrap().manual.effective_date,
            Some(d1)
        );
        // R27: captured writes never touch the manual part
        let manual = ManualFields {
            name: Some("local".into()),
            currency: Some("USD".into()),
            effective_date: Some(d1),
            ..Default::default()
        };
        store.put_manual("A", &manual).await.unwrap();
        store
            .put_captured(&[captured("A", "Renamed")])
            .await
            .unwrap();
        let a = store.get("A").await.unwrap().unwrap();
        assert_eq!(a.manual, manual);
        assert_eq!(a.captured.name, "Renamed");
        assert!(store.get("Z").await.unwrap().is_none());
        // task flag and org usage
        store.set_task_enabled(false).await.unwrap();
        assert!(!store.task_enabled().await.unwrap());
        store.set_task_enabled(true).await.unwrap();
        assert!(store.task_enabled().await.unwrap());
        assert!(store.org_usage().await.unwrap().is_none());
        let org = OrgUsage {
            captured_at: now(),
            active_users: 3,
            inactive_users: 1,
            users_can_log_in: 2,
            active_sessions: Some(4),
            users_with_sessions: None,
        };
        store.put_org_usage(&org).await.unwrap();
        assert_eq!(store.org_usage().await.unwrap(), Some(org));
        docs_contract(store).await;
    }

    /// The document collections: put/replace, ordered inclusive ranges, delete, isolation.
    pub(crate) async fn docs_contract(store: &dyn LicenseStore) {
        let d = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert!(store.docs_range("c", None, None).await.unwrap().is_empty());
        store
            .docs_put("c", &[d("b", "2"), d("a", "1"), d("c", "3")])
            .await
            .unwrap();
        store.docs_put("other", &[d("a", "x")]).await.unwrap();
        store.docs_put("c", &[d("b", "22")]).await.unwrap();
        let all = store.docs_range("c", None, None).await.unwrap();
        assert_eq!(all, vec![d("a", "1"), d("b", "22"), d("c", "3")]);
        let mid = store.docs_range("c", Some("b"), Some("c")).await.unwrap();
        assert_eq!(mid, vec![d("b", "22"), d("c", "3")]);
        let upto = store.docs_range("c", None, Some("a")).await.unwrap();
        assert_eq!(upto, vec![d("a", "1")]);
        store
            .docs_delete("c", &["a".into(), "zz".into()])
            .await
            .unwrap();
        assert_eq!(store.docs_range("c", None, None).await.unwrap().len(), 2);
        assert_eq!(
            store.docs_range("other", None, None).await.unwrap(),
            vec![d("a", "x")]
        );
        assert!(store.all().await.unwrap().iter().all(|r| r.id() != "a"));
    }

    #[tokio::test]
    async fn memory_store_keeps_the_contract() {
        contract(&MemoryLicenseStore::new()).await;
    }

    #[cfg(feature = "embedded")]
    #[tokio::test]
    async fn sqlite_store_keeps_the_contract() {
        contract(&SqliteLicenseStore::in_memory().unwrap()).await;
    }

    #[cfg(feature = "embedded")]
    #[tokio::test]
    async fn sqlite_store_persists_in_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteLicenseStore::open_dir(dir.path()).unwrap();
        assert_eq!(s.path().unwrap(), dir.path().join("licenses.sqlite"));
        s.put_captured(&[captured("A", "Ay")]).await.unwrap();
        s.set_task_enabled(false).await.unwrap();
        drop(s);
        let s = SqliteLicenseStore::open_dir(dir.path()).unwrap();
        assert_eq!(s.all().await.unwrap().len(), 1);
        assert!(!s.task_enabled().await.unwrap());
    }
}
