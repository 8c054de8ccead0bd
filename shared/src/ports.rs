//! Ports: the small async traits the domain needs from the outside world.
//! Each has an embedded adapter (SQLite) and an AWS adapter (DynamoDB); one
//! contract suite (`shared/tests/store_contract.rs`) runs against both.

use async_trait::async_trait;

use crate::domain::tenant::RateLimit;
use crate::domain::{ApiKeyHash, Reference, Session, SessionId, Tenant, TenantId};
use crate::error::StoreError;

/// Remembers which session an `Idempotency-Key` created, for 24 hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub tenant_id: TenantId,
    /// SHA-256 of the client's key.
    pub key_digest: String,
    /// SHA-256 of the canonical request body.
    pub request_digest: String,
    pub session_id: SessionId,
    pub expires_at: i64,
}

impl IdempotencyRecord {
    pub const LIFETIME_SECS: i64 = 24 * 3600;
}

/// What `insert_session` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The session (and its idempotency record, if any) were written.
    Created,
    /// An unexpired record for the same tenant and key already exists; nothing was written.
    IdempotencyHit { request_digest: String, session_id: SessionId },
}

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Writes a new tenant with its first API key. Fails with `ConditionFailed` if the id exists.
    async fn insert_tenant(&self, tenant: &Tenant, key: &ApiKeyHash) -> Result<(), StoreError>;
    async fn tenant_by_key(&self, key: &ApiKeyHash) -> Result<Option<Tenant>, StoreError>;
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Writes a new session, atomically with its idempotency record. `now` decides
    /// whether an existing record for the same key has lapsed and may be replaced.
    async fn insert_session(
        &self,
        session: &Session,
        idempotency: Option<&IdempotencyRecord>,
        now: i64,
    ) -> Result<Inserted, StoreError>;

    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError>;

    /// Looks a session up by the SHA-256 of its journey secret.
    async fn session_by_journey(&self, secret_digest: &str) -> Result<Option<Session>, StoreError>;

    /// Replaces a session only if the stored version is `expected_version`; otherwise `ConditionFailed`.
    async fn replace_session(&self, session: &Session, expected_version: u64) -> Result<(), StoreError>;

    /// A tenant's sessions for one reference, newest first.
    async fn sessions_by_reference(
        &self,
        tenant: &TenantId,
        reference: &Reference,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError>;
}

/// What a rate-limited call may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// No token left: try again in this many seconds (at least 1).
    Limited {
        retry_after_secs: u64,
    },
}

/// Per-tenant token buckets, kept in the store so every Lambda instance shares them.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Refills the tenant's bucket to `now` (unix seconds) under `limit` and takes one token.
    /// A limited call writes nothing; concurrent calls never hand out the same token.
    async fn take(&self, tenant: &TenantId, limit: &RateLimit, now: i64) -> Result<RateDecision, StoreError>;
}

/// Unix seconds. A port so tests can move time.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// A clock tests set by hand.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn at(now: i64) -> Self {
        Self(std::sync::atomic::AtomicI64::new(now))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
