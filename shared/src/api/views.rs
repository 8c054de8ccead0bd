//! JSON shapes of sessions as clients see them. Pre-filled personal details are never echoed.

use serde_json::{Map, Value, json};

use crate::domain::Session;
use crate::service::Identity;

pub fn created(app: &Identity, session: &Session) -> Value {
    json!({
        "status": "success",
        "session_id": session.id.to_string(),
        "identity_url": app.identity_url(session),
        "expires_at": session.expires_at,
    })
}

pub fn session(app: &Identity, session: &Session) -> Value {
    let status = session.status_at(app.now());
    let steps: Vec<Value> =
        session.steps.iter().map(|s| json!({ "name": s.step.as_str(), "status": s.status.as_str() })).collect();
    let mut view = Map::new();
    view.insert("session_id".into(), json!(session.id.to_string()));
    view.insert("reference".into(), json!(session.reference.as_str()));
    view.insert("status".into(), json!(status.as_str()));
    view.insert("steps".into(), json!(steps));
    view.insert("threshold".into(), json!(session.threshold.value()));
    view.insert("created_at".into(), json!(session.created_at));
    view.insert("updated_at".into(), json!(session.updated_at));
    view.insert("expires_at".into(), json!(session.expires_at));
    view.insert("metadata".into(), json!(session.metadata.entries()));
    if let Some(url) = app.identity_url(session) {
        view.insert("identity_url".into(), json!(url));
    }
    if let Some(at) = session.cancelled_at {
        view.insert("cancelled_at".into(), json!(at));
    }
    if let Some(min_age) = session.min_age {
        view.insert("min_age".into(), json!(min_age.years()));
    }
    if let Some(a) = &session.assessment {
        // The result fields of the contract; appendix links are issued fresh on every read.
        view.insert("intent".into(), json!("journey_end"));
        view.insert("score".into(), json!(a.score));
        view.insert("decision".into(), json!(a.decision.as_str()));
        view.insert("reasons".into(), json!(a.reasons));
        view.insert("evidence".into(), Value::Object(a.evidence.clone()));
        view.insert("finished_at".into(), json!(session.finished_at));
        view.insert("appendix".into(), json!(app.appendix_for(session)));
    }
    if let Some(locale) = &session.locale {
        view.insert("locale".into(), json!(locale.as_str()));
    }
    if let Some(r) = &session.redaction {
        view.insert("redaction".into(), json!(r.state.as_str()));
        view.insert("redaction_requested_at".into(), json!(r.requested_at));
        if let Some(at) = r.completed_at {
            view.insert("redacted_at".into(), json!(at));
        }
    }
    Value::Object(view)
}

/// `GET /identity/{id}/events`: the timeline, oldest first; `dropped` counts the repeated
/// entries (uploads, webhook attempts) left out past their caps.
pub fn events(app: &Identity, session: &Session) -> Value {
    let mut view = json!({
        "status": "success",
        "session_id": session.id.to_string(),
        "events": session.timeline(app.now()),
    });
    if session.audit().dropped() > 0 {
        view["dropped"] = json!(session.audit().dropped());
    }
    view
}

/// `POST /identity/{id}/redact`: 202 with where the erasure stands.
pub fn redaction(session: &Session) -> Value {
    let state = session.redaction.as_ref().map_or("pending", |r| r.state.as_str());
    json!({"status": "success", "session_id": session.id.to_string(), "redaction": state})
}
