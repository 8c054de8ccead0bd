//! A redaction's erasure, run by the step consumer: delete the session's captures, scrub
//! its personal data (one conditional write, with the audit entry), then queue the
//! `identity.session.redacted` webhook. Every part is idempotent, so a redelivered
//! message (or a second request while pending) only finishes what is left.

use super::{Pipeline, Retry};
use crate::domain::{RedactionState, SessionId};

impl Pipeline {
    pub(super) async fn erase(&self, session_id: SessionId) -> Result<(), Retry> {
        let Some(session) = self.open_session(session_id).await? else { return Ok(()) };
        let Some(redaction) = &session.redaction else {
            tracing::warn!(%session_id, "erasure for a session without a redaction request ignored");
            return Ok(());
        };
        let session = if redaction.state == RedactionState::Pending {
            let prefix = format!("sessions/{session_id}/");
            let deleted = self
                .consumer()?
                .objects
                .delete_prefix(&prefix)
                .await
                .map_err(|e| Retry(format!("object store: {e}")))?;
            let (session, _) =
                self.identity.complete_redaction(session_id, deleted).await.map_err(|e| Retry(e.code.into()))?;
            tracing::info!(%session_id, objects_deleted = deleted, "session redacted");
            session
        } else {
            session
        };
        self.identity.queue_redaction_webhook(&session).await.map_err(|e| Retry(e.code.into()))
    }
}
