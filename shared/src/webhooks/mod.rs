//! Result webhooks: lifecycle events signed the Standard Webhooks way and delivered through a
//! queue with retries over three days, so a receiver that is down for a while still gets them.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::domain::{SessionId, TenantId};
use crate::error::StoreError;
use crate::queue::QueueError;

pub mod backoff;
pub mod delivery;
pub mod event;

pub use backoff::{RETRY_WINDOW_SECS, backoff_ceiling, jittered, next_attempt_at};
pub use delivery::{Deliverer, DeliveryJob, Outcome, enqueue};
pub use event::{SESSION_CANCELLED, SESSION_FINISHED, SESSION_REDACTED, WebhookEvent};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("http client: {0}")]
    Client(String),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("cannot encode the delivery job: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Where the deliverer finds a tenant's `whsec_` secret at send time (not in the queued job,
/// so secrets never sit in SQS and a rotated secret applies to pending retries).
#[async_trait]
pub trait SecretLookup: Send + Sync {
    /// `Ok(None)`: the tenant (or its secret) no longer exists.
    async fn webhook_secret(&self, tenant: &TenantId) -> Result<Option<String>, StoreError>;
}

/// A fixed map, for tests and the local server.
#[async_trait]
impl SecretLookup for HashMap<TenantId, String> {
    async fn webhook_secret(&self, tenant: &TenantId) -> Result<Option<String>, StoreError> {
        Ok(self.get(tenant).cloned())
    }
}

/// Secrets from the tenant store, read per delivery so a rotated secret applies at once.
pub struct TenantSecrets(pub std::sync::Arc<dyn crate::ports::TenantStore>);

#[async_trait]
impl SecretLookup for TenantSecrets {
    async fn webhook_secret(&self, tenant: &TenantId) -> Result<Option<String>, StoreError> {
        Ok(self.0.get_tenant(tenant).await?.map(|t| t.webhook_secret))
    }
}

/// Where the deliverer records each attempt in the session's audit trail. Best effort: a
/// failure to record never re-sends a webhook (that would be a second delivery).
#[async_trait]
pub trait AttemptLog: Send + Sync {
    /// `status_code` is the receiver's answer; `None` when none came (timeout, refused).
    async fn record_attempt(
        &self,
        session: SessionId,
        event: &str,
        attempt: u32,
        status_code: Option<u16>,
    ) -> Result<(), crate::error::Error>;
}
