//! Webhook events and their wire body, `{"type", "timestamp", "data"}` (the Standard Webhooks
//! payload convention).

use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::appendix::AppendixEntry;
use crate::domain::{Session, SessionId};
use crate::results::result_claims;

pub const SESSION_FINISHED: &str = "identity.session.finished";
pub const SESSION_CANCELLED: &str = "identity.session.cancelled";
pub const SESSION_REDACTED: &str = "identity.session.redacted";

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The `webhook-id`: one per (session, event type), so receivers can dedupe.
    pub id: String,
    pub event_type: String,
    /// Unix seconds.
    pub created_at: i64,
    pub data: Value,
}

// Hand-written so the data (results, references) never reaches a log line.
impl std::fmt::Debug for WebhookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEvent")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl WebhookEvent {
    /// `msg_` + 24 hex chars of SHA-256(`<session_id>:<event_type>`): a duplicate
    /// aggregation or redelivery produces the same id rather than a second event.
    pub fn event_id(session: SessionId, event_type: &str) -> String {
        let digest = Sha256::digest(format!("{session}:{event_type}").as_bytes());
        format!("msg_{}", &hex::encode(digest)[..24])
    }

    fn for_session(session: &Session, event_type: &str, created_at: i64, extra: Map<String, Value>) -> Self {
        let mut data = Map::new();
        data.insert("session_id".into(), session.id.to_string().into());
        data.insert("reference".into(), session.reference.as_str().into());
        data.extend(extra);
        Self {
            id: Self::event_id(session.id, event_type),
            event_type: event_type.into(),
            created_at,
            data: data.into(),
        }
    }

    /// The result of a finished session, the same object as its result token (`appendix`
    /// included); `None` while it has no assessment. Timed at the session's finish so that a
    /// duplicate produces the same body, not only the same id.
    pub fn finished(session: &Session, appendix: &[AppendixEntry], now: i64) -> Option<Self> {
        let claims = result_claims(session, appendix)?;
        Some(Self::for_session(session, SESSION_FINISHED, session.finished_at.unwrap_or(now), claims))
    }

    pub fn cancelled(session: &Session, now: i64) -> Self {
        let extra = match json!({"status": "cancelled"}) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self::for_session(session, SESSION_CANCELLED, session.cancelled_at.unwrap_or(now), extra)
    }

    /// The session's personal data and captures are erased. Timed at the erasure, so a
    /// retry produces the same body.
    pub fn redacted(session: &Session, now: i64) -> Self {
        let redacted_at = session.redaction.as_ref().and_then(|r| r.completed_at).unwrap_or(now);
        let extra = match json!({"redaction": "completed", "redacted_at": redacted_at}) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self::for_session(session, SESSION_REDACTED, redacted_at, extra)
    }

    /// The request body. serde_json's maps are sorted, so the same event always yields the
    /// same bytes.
    pub fn body(&self) -> String {
        let timestamp =
            DateTime::from_timestamp(self.created_at, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true);
        json!({"type": self.event_type, "timestamp": timestamp, "data": self.data}).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_per_session_and_type() {
        let (a, b) = (SessionId::random(), SessionId::random());
        let id = WebhookEvent::event_id(a, SESSION_FINISHED);
        assert_eq!(id, WebhookEvent::event_id(a, SESSION_FINISHED));
        assert!(id.starts_with("msg_") && id.len() == 28 && id[4..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, WebhookEvent::event_id(a, SESSION_CANCELLED));
        assert_ne!(id, WebhookEvent::event_id(b, SESSION_FINISHED));
    }

    #[test]
    fn body_follows_the_standard_webhooks_payload_shape() {
        let event = WebhookEvent {
            id: "msg_1".into(),
            event_type: SESSION_FINISHED.into(),
            created_at: 1_795_802_400,
            data: json!({"session_id": "s", "score": 90}),
        };
        let body: Value = serde_json::from_str(&event.body()).unwrap();
        assert_eq!(
            body,
            json!({"type": SESSION_FINISHED, "timestamp": "2026-11-27T18:00:00Z", "data": {"session_id": "s", "score": 90}})
        );
        assert_eq!(event.body(), event.clone().body());
        assert!(!format!("{event:?}").contains("score"));
    }
}
