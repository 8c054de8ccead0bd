//! Embedded, durable store on SQLite for the local server: data survives a restart.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::domain::{ApiKeyHash, Reference, Session, SessionId, Tenant, TenantId};
use crate::error::StoreError;
use crate::ports::{IdempotencyRecord, Inserted, SessionStore, TenantStore};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id));
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    journey_digest TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_reference ON sessions (tenant_id, reference, created_at);
CREATE TABLE IF NOT EXISTS idempotency (
    tenant_id TEXT NOT NULL,
    key_digest TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    session_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key_digest));
";

/// Databases made before retention existed get the column; their rows are kept until
/// their next write sets it (reads enforce retention from the document either way).
fn add_retention_column(conn: &Connection) -> Result<(), StoreError> {
    let has: bool = conn
        .query_row("SELECT COUNT(*) FROM pragma_table_info('sessions') WHERE name = 'retain_until'", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n > 0)
        .map_err(from_sqlite)?;
    if !has {
        conn.execute_batch(
            "ALTER TABLE sessions ADD COLUMN retain_until INTEGER NOT NULL DEFAULT 9223372036854775807;",
        )
        .map_err(from_sqlite)?;
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS sessions_by_retention ON sessions (retain_until);")
        .map_err(from_sqlite)
}

/// One connection behind a mutex; calls run on the blocking pool.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(super) fn from_sqlite(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::ConditionFailed,
        _ => backend(e),
    }
}

fn decode<T: serde::de::DeserializeOwned>(doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(backend)
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(backend)
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(backend)?;
        }
        Self::setup(Connection::open(path).map_err(from_sqlite)?)
    }

    pub fn in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory().map_err(from_sqlite)?)
    }

    fn setup(conn: Connection) -> Result<Self, StoreError> {
        // Another process (the admin command) may hold the write lock for a moment.
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(from_sqlite)?;
        conn.execute_batch(SCHEMA).map_err(from_sqlite)?;
        conn.execute_batch(super::rate_limit_sqlite::SCHEMA).map_err(from_sqlite)?;
        add_retention_column(&conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| backend("sqlite connection poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(backend)?
    }
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn insert_tenant(&self, tenant: &Tenant, key: &ApiKeyHash) -> Result<(), StoreError> {
        let (id, doc, hash) = (tenant.id.to_string(), encode(tenant)?, key.as_str().to_owned());
        self.run(move |conn| {
            let tx = conn.transaction().map_err(from_sqlite)?;
            tx.execute("INSERT INTO tenants (id, doc) VALUES (?1, ?2)", params![id, doc]).map_err(from_sqlite)?;
            tx.execute("INSERT INTO api_keys (hash, tenant_id) VALUES (?1, ?2)", params![hash, id])
                .map_err(from_sqlite)?;
            tx.commit().map_err(from_sqlite)
        })
        .await
    }

    async fn tenant_by_key(&self, key: &ApiKeyHash) -> Result<Option<Tenant>, StoreError> {
        let hash = key.as_str().to_owned();
        self.run(move |conn| {
            let doc: Option<String> = conn
                .query_row(
                    "SELECT t.doc FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.hash = ?1",
                    params![hash],
                    |row| row.get(0),
                )
                .optional()
                .map_err(from_sqlite)?;
            doc.map(|d| decode(&d)).transpose()
        })
        .await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            let doc: Option<String> = conn
                .query_row("SELECT doc FROM tenants WHERE id = ?1", params![id], |row| row.get(0))
                .optional()
                .map_err(from_sqlite)?;
            doc.map(|d| decode(&d)).transpose()
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(
        &self,
        session: &Session,
        idempotency: Option<&IdempotencyRecord>,
        now: i64,
    ) -> Result<Inserted, StoreError> {
        let session = session.clone();
        let record = idempotency.cloned();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
            if let Some(rec) = &record {
                let existing: Option<(String, String)> = tx
                    .query_row(
                        "SELECT request_digest, session_id FROM idempotency
                         WHERE tenant_id = ?1 AND key_digest = ?2 AND expires_at > ?3",
                        params![rec.tenant_id.as_str(), rec.key_digest, now],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()
                    .map_err(from_sqlite)?;
                if let Some((request_digest, session_id)) = existing {
                    let session_id = SessionId::parse(&session_id).map_err(|r| backend(r.message))?;
                    return Ok(Inserted::IdempotencyHit { request_digest, session_id });
                }
                tx.execute(
                    "INSERT OR REPLACE INTO idempotency (tenant_id, key_digest, request_digest, session_id, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        rec.tenant_id.as_str(),
                        rec.key_digest,
                        rec.request_digest,
                        rec.session_id.to_string(),
                        rec.expires_at
                    ],
                )
                .map_err(from_sqlite)?;
            }
            // The embedded store's TTL: each insert first deletes the sessions past retention.
            tx.execute("DELETE FROM sessions WHERE retain_until <= ?1", params![now]).map_err(from_sqlite)?;
            tx.execute(
                "INSERT INTO sessions (id, tenant_id, reference, journey_digest, created_at, version, doc, retain_until)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    session.id.to_string(),
                    session.tenant_id.as_str(),
                    session.reference.as_str(),
                    session.journey_secret.digest(),
                    session.created_at,
                    session.version as i64,
                    encode(&session)?,
                    session.retain_until()
                ],
            )
            .map_err(from_sqlite)?;
            tx.commit().map_err(from_sqlite)?;
            Ok(Inserted::Created)
        })
        .await
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.select_one("SELECT doc FROM sessions WHERE id = ?1", id.to_string()).await
    }

    async fn session_by_journey(&self, secret_digest: &str) -> Result<Option<Session>, StoreError> {
        self.select_one("SELECT doc FROM sessions WHERE journey_digest = ?1", secret_digest.to_owned()).await
    }

    async fn replace_session(&self, session: &Session, expected_version: u64) -> Result<(), StoreError> {
        let (id, version, doc) = (session.id.to_string(), session.version as i64, encode(session)?);
        let retain_until = session.retain_until();
        self.run(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE sessions SET doc = ?1, version = ?2, retain_until = ?5 WHERE id = ?3 AND version = ?4",
                    params![doc, version, id, expected_version as i64, retain_until],
                )
                .map_err(from_sqlite)?;
            if changed == 1 { Ok(()) } else { Err(StoreError::ConditionFailed) }
        })
        .await
    }

    async fn sessions_by_reference(
        &self,
        tenant: &TenantId,
        reference: &Reference,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        let (tenant, reference) = (tenant.to_string(), reference.as_str().to_owned());
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT doc FROM sessions WHERE tenant_id = ?1 AND reference = ?2
                     ORDER BY created_at DESC, id DESC LIMIT ?3",
                )
                .map_err(from_sqlite)?;
            let docs = stmt
                .query_map(params![tenant, reference, limit as i64], |row| row.get::<_, String>(0))
                .map_err(from_sqlite)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(from_sqlite)?;
            docs.iter().map(|d| decode(d)).collect()
        })
        .await
    }
}

impl SqliteStore {
    async fn select_one(&self, sql: &'static str, key: String) -> Result<Option<Session>, StoreError> {
        self.run(move |conn| {
            let doc: Option<String> =
                conn.query_row(sql, params![key], |row| row.get(0)).optional().map_err(from_sqlite)?;
            doc.map(|d| decode(&d)).transpose()
        })
        .await
    }
}
