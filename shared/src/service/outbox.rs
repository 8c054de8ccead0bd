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
    use std::sync::Arc;
    use std::time::Duration;

    use crate::domain::SessionId;
    use crate::ports::{SessionStore, SystemClock};
    use crate::queue::local::{LocalQueue, QueueSettings};
    use crate::service::{Identity, TenantSpec, create_tenant};
    use crate::testing::{Demo, demo, open_session};

    /// A tenant with a webhook URL, one open session of it, and an outbox reader: an
    /// identity on the same store whose webhooks go to the returned queue.
    async fn reader(demo: &Demo) -> (Identity, Arc<LocalQueue>, SessionId) {
        let spec = TenantSpec {
            webhook_url: Some("http://127.0.0.1:9/hooks".into()),
            ..TenantSpec::new("Outbox", &["https://yourapp.com"])
        };
        let settings = demo.app.settings().clone();
        let (tenant, _) = create_tenant(&*demo.store, settings.url_policy(), spec, demo.app.now()).await.unwrap();
        let session = open_session(SessionId::random(), &tenant, demo.app.now());
        demo.store.insert_session(&session, None, demo.app.now()).await.unwrap();
        let hooks = Arc::new(LocalQueue::new(
            "webhooks",
            QueueSettings { visibility_timeout: Duration::from_secs(60), max_receives: 5 },
        ));
        let identity = Identity::new(demo.store.clone(), demo.store.clone(), Arc::new(SystemClock), settings)
            .with_webhooks(hooks.clone());
        (identity, hooks, session.id)
    }

    async fn event_types(queue: &LocalQueue) -> Vec<String> {
        let got = queue.receive(10, Duration::ZERO).await;
        got.iter()
            .map(|(d, _)| serde_json::from_str::<crate::webhooks::DeliveryJob>(&d.body).unwrap().event.event_type)
            .collect()
    }

    #[tokio::test]
    async fn a_cancelled_session_s_webhook_is_queued_once_however_often_its_change_is_read() {
        let demo = demo().await;
        let (reader, hooks, id) = reader(&demo).await;
        // Cancelled by an identity without a webhook queue (cancel-session in AWS): it is owed.
        let tenant = demo.app.load(id).await.unwrap().unwrap().tenant_id;
        let tenant = demo.app.tenant(&tenant).await.unwrap().unwrap();
        assert!(demo.app.cancel_session(&tenant, &id.to_string()).await.unwrap().webhook_due());

        reader.queue_due_webhooks(id).await.unwrap();
        reader.queue_due_webhooks(id).await.unwrap();
        assert_eq!(event_types(&hooks).await, [crate::webhooks::SESSION_CANCELLED]);
        assert!(!reader.load(id).await.unwrap().unwrap().webhook_due());
    }

    #[tokio::test]
    async fn an_erased_session_owes_both_its_cancelled_and_its_redacted_webhook() {
        let demo = demo().await;
        let (reader, hooks, id) = reader(&demo).await;
        let tenant = demo.app.load(id).await.unwrap().unwrap().tenant_id;
        let tenant = demo.app.tenant(&tenant).await.unwrap().unwrap();
        // Redacting the open session cancels it; the erasure then completes.
        demo.app.request_redaction(&tenant, &id.to_string()).await.unwrap();
        demo.app.complete_redaction(id, 2).await.unwrap();

        reader.queue_due_webhooks(id).await.unwrap();
        reader.queue_due_webhooks(id).await.unwrap();
        let expected = [crate::webhooks::SESSION_CANCELLED, crate::webhooks::SESSION_REDACTED];
        assert_eq!(event_types(&hooks).await, expected);
        assert!(!reader.load(id).await.unwrap().unwrap().webhook_due());
    }

    #[tokio::test]
    async fn an_open_or_unknown_session_owes_nothing() {
        let demo = demo().await;
        let (reader, hooks, open) = reader(&demo).await;
        reader.queue_due_webhooks(open).await.unwrap();
        reader.queue_due_webhooks(SessionId::random()).await.unwrap();
        assert!(event_types(&hooks).await.is_empty());
    }

    #[tokio::test]
    async fn a_function_without_a_webhook_queue_refuses_rather_than_dropping_the_change() {
        let demo = demo().await;
        let (_, _, id) = reader(&demo).await;
        assert!(demo.app.queue_due_webhooks(id).await.is_err());
    }
}
