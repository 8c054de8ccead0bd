//! The service side of redaction: the request (mark `pending`, queue the erasure), the
//! completion, the `identity.session.redacted` webhook; and the deliverer's audit writer.

use std::sync::Arc;

use super::{Identity, update_session};
use crate::domain::{Progress, RedactionState, Session, SessionId, Tenant};
use crate::error::{Error, ErrorKind};
use crate::ports::{Clock, SessionStore};

impl Identity {
    /// Asks for a session's personal data to be erased: marks it `pending` (cancelling it if
    /// still open) and queues the erasure. Asking again is harmless: while still pending the
    /// erasure is queued again (its consumer is idempotent), so a lost message heals.
    pub async fn request_redaction(&self, tenant: &Tenant, id: &str) -> Result<Session, Error> {
        let Some(queue) = &self.erasure else {
            return Err(Error::internal("this function cannot queue erasures"));
        };
        let id = self.get_session(tenant, id).await?.id;
        let (session, _) = self.update(id, |session, now| session.request_redaction(now)).await?;
        if session.redaction.as_ref().is_some_and(|r| r.state == RedactionState::Pending) {
            let body = serde_json::to_string(&crate::pipeline::StepMessage::Erase { session_id: id })
                .map_err(|e| Error::internal(e.to_string()))?;
            queue.send(&body, std::time::Duration::ZERO).await.map_err(|e| {
                tracing::error!(session_id = %id, error = %e, "erasure not queued");
                Error::new(ErrorKind::Unavailable, "queue_unavailable", "please retry")
            })?;
        }
        // An open session was cancelled on the way: its cancelled webhook goes too.
        self.queue_terminal_webhook(&session).await?;
        Ok(session)
    }

    /// Records the erasure as done (personal data scrubbed in the same write).
    pub async fn complete_redaction(&self, id: SessionId, objects_deleted: u32) -> Result<(Session, Progress), Error> {
        self.update(id, |session, now| session.complete_redaction(objects_deleted, now)).await
    }

    /// Queues `identity.session.redacted` once the erasure is complete, at least once (an
    /// outbox flag, like the terminal webhooks; same event id on every retry).
    pub async fn queue_redaction_webhook(&self, session: &Session) -> Result<(), Error> {
        use crate::webhooks::{DeliveryJob, WebhookEvent, enqueue};
        let Some(queue) = &self.webhooks else { return Ok(()) };
        if !session.redaction_webhook_due() {
            return Ok(());
        }
        let now = self.now();
        let tenant = self.tenants.get_tenant(&session.tenant_id).await?;
        let job = tenant.and_then(|t| DeliveryJob::for_session(WebhookEvent::redacted(session, now), &t, session, now));
        if let Some(job) = job {
            enqueue(&**queue, &job).await.map_err(|e| {
                tracing::error!(session_id = %session.id, error = %e, "redaction webhook not queued");
                Error::new(ErrorKind::Unavailable, "queue_unavailable", "please retry")
            })?;
            tracing::info!(session_id = %session.id, "redaction webhook queued");
        }
        if let Err(e) = self.update(session.id, |s, now| s.mark_redaction_webhook_queued(now)).await {
            tracing::warn!(session_id = %session.id, code = e.code, "could not mark the redaction webhook as queued");
        }
        Ok(())
    }
}

/// Records webhook delivery attempts in the sessions' audit trails (the deliverer's view of
/// the session store: it needs nothing else from the service).
pub struct SessionAudit {
    pub sessions: Arc<dyn SessionStore>,
    pub clock: Arc<dyn Clock>,
}

#[async_trait::async_trait]
impl crate::webhooks::AttemptLog for SessionAudit {
    async fn record_attempt(
        &self,
        session: SessionId,
        event: &str,
        attempt: u32,
        status_code: Option<u16>,
    ) -> Result<(), Error> {
        let change = |s: &mut Session, now| s.record_webhook_attempt(event, attempt, status_code, now);
        update_session(&*self.sessions, &*self.clock, session, change).await.map(|_| ())
    }
}
