//! The rate limiter on the embedded store: one row per tenant, read and written in one
//! IMMEDIATE transaction, so concurrent takers (threads or processes) serialise.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::rate_limit::Bucket;
use super::sqlite::{SqliteStore, from_sqlite};
use crate::domain::TenantId;
use crate::domain::tenant::RateLimit;
use crate::error::StoreError;
use crate::ports::{RateDecision, RateLimiter};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS rate_buckets (
    tenant_id TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    updated_at INTEGER NOT NULL);
";

#[async_trait]
impl RateLimiter for SqliteStore {
    async fn take(&self, tenant: &TenantId, limit: &RateLimit, now: i64) -> Result<RateDecision, StoreError> {
        let (tenant, limit) = (tenant.to_string(), *limit);
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
            let stored = tx
                .query_row("SELECT tokens, updated_at FROM rate_buckets WHERE tenant_id = ?1", params![tenant], |row| {
                    Ok(Bucket { tokens: row.get(0)?, updated_at: row.get(1)? })
                })
                .optional()
                .map_err(from_sqlite)?;
            let bucket = match Bucket::take(stored, &limit, now) {
                Ok(bucket) => bucket,
                // Nothing written: the transaction rolls back on drop.
                Err(limited) => return Ok(limited),
            };
            tx.execute(
                "INSERT INTO rate_buckets (tenant_id, tokens, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant_id) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at",
                params![tenant, bucket.tokens, bucket.updated_at],
            )
            .map_err(from_sqlite)?;
            tx.commit().map_err(from_sqlite)?;
            Ok(RateDecision::Allowed)
        })
        .await
    }
}
