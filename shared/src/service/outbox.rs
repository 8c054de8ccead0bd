//! The outbox reader's side: a write that ends a session (or completes its erasure) leaves a
//! lifecycle webhook due; whatever reads the table's changes calls [`Identity::queue_due_webhooks`]
//! for that session. In AWS that is deliver-webhook on the table's stream, so the functions
//! that end sessions need no webhook queue.

use super::Identity;
use crate::domain::SessionId;
use crate::error::Error;

impl Identity {
    /// Queues whatever lifecycle webhook the session still owes, read afresh (a change record
    /// may be stale or replayed). Idempotent: each webhook's outbox flag is set once it is queued,
    /// and a session that is gone (past its retention) owes nothing.
    pub async fn queue_due_webhooks(&self, id: SessionId) -> Result<(), Error> {
        if self.webhooks.is_none() {
            return Err(Error::internal("this function cannot queue webhooks"));
        }
        let Some(session) = self.load(id).await? else {
            tracing::info!(session_id = %id, "change for a session that is gone; nothing to queue");
            return Ok(());
        };
        self.queue_terminal_webhook(&session).await?;
        if session.redaction_webhook_due() {
            // The terminal flag's write (if any) bumped the version: read it again.
            let session = self.load(id).await?.unwrap_or(session);
            self.queue_redaction_webhook(&session).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::SessionId;
    use crate::testing::{demo, outbox_reader};
    use crate::webhooks::{SESSION_CANCELLED, SESSION_REDACTED};

    #[tokio::test]
    async fn a_cancelled_session_s_webhook_is_queued_once_however_often_its_change_is_read() {
        let demo = demo().await;
        let reader = outbox_reader(&demo, SessionId::random()).await;
        let id = reader.session;
        // Cancelled by an identity without a webhook queue (cancel-session in AWS): it is owed.
        assert!(demo.app.cancel_session(&reader.tenant, &id.to_string()).await.unwrap().webhook_due());

        reader.identity.queue_due_webhooks(id).await.unwrap();
        reader.identity.queue_due_webhooks(id).await.unwrap();
        assert_eq!(reader.queued().await, [SESSION_CANCELLED]);
        assert!(!reader.identity.load(id).await.unwrap().unwrap().webhook_due());
    }

    #[tokio::test]
    async fn an_erased_session_owes_both_its_cancelled_and_its_redacted_webhook() {
        let demo = demo().await;
        let reader = outbox_reader(&demo, SessionId::random()).await;
        let id = reader.session;
        // Redacting the open session cancels it; the erasure then completes.
        demo.app.request_redaction(&reader.tenant, &id.to_string()).await.unwrap();
        demo.app.complete_redaction(id, 2).await.unwrap();

        reader.identity.queue_due_webhooks(id).await.unwrap();
        reader.identity.queue_due_webhooks(id).await.unwrap();
        assert_eq!(reader.queued().await, [SESSION_CANCELLED, SESSION_REDACTED]);
        assert!(!reader.identity.load(id).await.unwrap().unwrap().webhook_due());
    }

    #[tokio::test]
    async fn an_open_or_unknown_session_owes_nothing() {
        let demo = demo().await;
        let reader = outbox_reader(&demo, SessionId::random()).await;
        reader.identity.queue_due_webhooks(reader.session).await.unwrap();
        reader.identity.queue_due_webhooks(SessionId::random()).await.unwrap();
        assert!(reader.queued().await.is_empty());
    }

    #[tokio::test]
    async fn a_function_without_a_webhook_queue_refuses_rather_than_dropping_the_change() {
        let demo = demo().await;
        let reader = outbox_reader(&demo, SessionId::random()).await;
        assert!(demo.app.queue_due_webhooks(reader.session).await.is_err());
    }
}
