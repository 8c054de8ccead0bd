//! A session's audit trail: what happened to it and when, written in the same conditional
//! write as the change it describes. Entries carry no personal data (no names, dates of
//! birth, document or account numbers, images), so redaction keeps them.
//!
//! Append-only by construction: [`AuditTrail`] has no way to remove or edit an entry. Its
//! size is bounded: repeatable entries (uploads, journey opens, webhook attempts) stop being
//! recorded after [`MAX_REPEATABLE`] in all, and at most [`MAX_WEBHOOK_ATTEMPTS`] failed
//! attempts are kept per webhook event (its delivery is always recorded); what is left out
//! is counted in `dropped`. Lifecycle entries (created, consent, steps, decision,
//! cancellation, redaction) are always recorded; each happens a bounded number of times.

use serde::{Deserialize, Serialize};

use super::captures::artifact_name;
use super::steps::Step;
use crate::artifacts::Artifact;
use crate::decision::{Decision, StepOutcome, Verdict};

/// Repeatable entries recorded per session, in all.
pub const MAX_REPEATABLE: usize = 200;
/// Failed delivery attempts recorded per webhook event (retries run for three days).
pub const MAX_WEBHOOK_ATTEMPTS: usize = 10;

/// The kind of device a journey was opened on, from its `User-Agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceClass {
    Mobile,
    Tablet,
    Desktop,
}

impl DeviceClass {
    /// A coarse class from a `User-Agent` header; unknown or missing agents count as desktop.
    pub fn from_user_agent(agent: Option<&str>) -> Self {
        let ua = agent.unwrap_or_default().to_ascii_lowercase();
        if ua.contains("ipad") || ua.contains("tablet") || (ua.contains("android") && !ua.contains("mobile")) {
            DeviceClass::Tablet
        } else if ua.contains("mobi") || ua.contains("iphone") || ua.contains("ipod") {
            DeviceClass::Mobile
        } else {
            DeviceClass::Desktop
        }
    }
}

/// How a step ended, without its evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    Passed,
    Review,
    Failed,
    Error,
}

impl StepResult {
    pub fn of(outcome: &StepOutcome) -> Self {
        match (outcome, outcome.verdict()) {
            (StepOutcome::Error { .. }, _) => StepResult::Error,
            (_, Verdict::Pass) => StepResult::Passed,
            (_, Verdict::Review) => StepResult::Review,
            (_, Verdict::Fail) => StepResult::Failed,
        }
    }
}

/// Whether an upload passed the quality gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadVerdict {
    Accepted,
    Rejected,
}

/// What happened. The wire name is the entry's `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AuditKind {
    #[serde(rename = "session.created")]
    SessionCreated,
    /// Recorded once per device class, not per poll.
    #[serde(rename = "journey.opened")]
    JourneyOpened { device: DeviceClass },
    #[serde(rename = "consent.given")]
    ConsentGiven,
    #[serde(rename = "handoff.started")]
    HandoffStarted,
    #[serde(rename = "handoff.completed")]
    HandoffCompleted,
    #[serde(rename = "upload.received")]
    UploadReceived {
        #[serde(with = "artifact_name")]
        artifact: Artifact,
        outcome: UploadVerdict,
        /// The quality gate's reason code for a rejection (`too_blurry`...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Which steps' details were given; never the details.
    #[serde(rename = "details.provided")]
    DetailsProvided { steps: Vec<Step> },
    #[serde(rename = "journey.submitted")]
    Submitted,
    #[serde(rename = "step.started")]
    StepStarted { step: Step },
    #[serde(rename = "step.completed")]
    StepCompleted {
        step: Step,
        outcome: StepResult,
        /// The machine code of an error outcome.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    #[serde(rename = "decision.made")]
    DecisionMade { decision: Decision, score: f64 },
    #[serde(rename = "session.cancelled")]
    Cancelled,
    /// One delivery attempt of a webhook; `status_code` is absent when no response came.
    #[serde(rename = "webhook.attempted")]
    WebhookAttempted {
        event: String,
        attempt: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status_code: Option<u16>,
        delivered: bool,
    },
    #[serde(rename = "redaction.requested")]
    RedactionRequested,
    #[serde(rename = "redaction.completed")]
    RedactionCompleted { objects_deleted: u32 },
    /// Never stored: the journey's expiry is derived from `expires_at`, so the timeline
    /// shows it, at `expires_at`, when read after it (see [`crate::domain::Session::timeline`]).
    #[serde(rename = "session.expired")]
    Expired,
}

impl AuditKind {
    /// Entries that can repeat without bound and so count against [`MAX_REPEATABLE`].
    fn repeatable(&self) -> bool {
        matches!(
            self,
            AuditKind::JourneyOpened { .. }
                | AuditKind::UploadReceived { .. }
                | AuditKind::WebhookAttempted { .. }
                | AuditKind::HandoffStarted
                | AuditKind::HandoffCompleted
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unix seconds.
    pub at: i64,
    #[serde(flatten)]
    pub kind: AuditKind,
}

/// The append-only list of a session's entries, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditTrail {
    events: Vec<AuditEvent>,
    /// Repeatable entries left out once their cap was reached.
    #[serde(default, skip_serializing_if = "is_zero")]
    dropped: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl AuditTrail {
    /// Appends an entry, or counts it as dropped when its cap is reached.
    pub fn record(&mut self, at: i64, kind: AuditKind) {
        if self.over_cap(&kind) {
            self.dropped = self.dropped.saturating_add(1);
        } else {
            self.events.push(AuditEvent { at, kind });
        }
    }

    fn over_cap(&self, kind: &AuditKind) -> bool {
        if !kind.repeatable() {
            return false;
        }
        if let AuditKind::WebhookAttempted { event, delivered: false, .. } = kind {
            let failed = self
                .events
                .iter()
                .filter(|e| matches!(&e.kind, AuditKind::WebhookAttempted { event: ev, delivered: false, .. } if ev == event))
                .count();
            if failed >= MAX_WEBHOOK_ATTEMPTS {
                return true;
            }
        }
        // A delivery is recorded even past the cap: it happens once per event.
        let delivered = matches!(kind, AuditKind::WebhookAttempted { delivered: true, .. });
        !delivered && self.events.iter().filter(|e| e.kind.repeatable()).count() >= MAX_REPEATABLE
    }

    pub fn events(&self) -> &[AuditEvent] {
        &self.events
    }

    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    pub fn any(&self, matches: impl Fn(&AuditKind) -> bool) -> bool {
        self.events.iter().any(|e| matches(&e.kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attempt(n: u32, delivered: bool) -> AuditKind {
        let status_code = Some(if delivered { 200 } else { 503 });
        AuditKind::WebhookAttempted { event: "identity.session.finished".into(), attempt: n, status_code, delivered }
    }

    #[test]
    fn entries_serialise_flat_with_their_type() {
        let e = AuditEvent {
            at: 10,
            kind: AuditKind::UploadReceived {
                artifact: Artifact::Selfie,
                outcome: UploadVerdict::Rejected,
                reason: Some("too_dark".into()),
            },
        };
        let value = serde_json::to_value(&e).unwrap();
        assert_eq!(
            value,
            json!({"at": 10, "type": "upload.received", "artifact": "selfie", "outcome": "rejected", "reason": "too_dark"})
        );
        assert_eq!(serde_json::from_value::<AuditEvent>(value).unwrap(), e);
        let step = AuditEvent { at: 11, kind: AuditKind::StepStarted { step: Step::Dvs } };
        assert_eq!(serde_json::to_value(&step).unwrap(), json!({"at": 11, "type": "step.started", "step": "dvs"}));
    }

    #[test]
    fn webhook_attempts_are_capped_per_event_but_the_delivery_is_kept() {
        let mut trail = AuditTrail::default();
        for n in 1..=15 {
            trail.record(n.into(), attempt(n, false));
        }
        trail.record(16, attempt(16, true));
        assert_eq!(trail.events().len(), MAX_WEBHOOK_ATTEMPTS + 1);
        assert_eq!(trail.dropped(), 5);
        assert!(matches!(trail.events().last().unwrap().kind, AuditKind::WebhookAttempted { attempt: 16, .. }));
    }

    #[test]
    fn repeatable_entries_are_capped_lifecycle_entries_are_not() {
        let mut trail = AuditTrail::default();
        for n in 0..(MAX_REPEATABLE as i64 + 50) {
            let kind = AuditKind::UploadReceived {
                artifact: Artifact::DocumentFront,
                outcome: UploadVerdict::Rejected,
                reason: Some("glare".into()),
            };
            trail.record(n, kind);
        }
        trail.record(1000, AuditKind::Submitted);
        assert_eq!(trail.events().len(), MAX_REPEATABLE + 1);
        assert_eq!(trail.dropped(), 50);
        assert_eq!(trail.events().last().unwrap().kind, AuditKind::Submitted);
    }

    fn session(now: i64) -> crate::domain::Session {
        use crate::domain::*;
        let new = NewSession {
            reference: Reference::parse("cust_1").unwrap(),
            redirect_url: RedirectUrl::parse("https://yourapp.com/done", UrlPolicy::HttpsOnly).unwrap(),
            steps: Steps::new(vec![Step::Peps]).unwrap(),
            person: Person::default(),
            min_age: None,
            threshold: Threshold::DEFAULT,
            webhook_url: None,
            locale: None,
            expires_in: 600,
            metadata: Metadata::default(),
        };
        Session::open(SessionId::random(), TenantId::random(), new, Vec::new(), now)
    }

    fn kinds(s: &crate::domain::Session, now: i64) -> Vec<AuditKind> {
        s.timeline(now).into_iter().map(|e| e.kind).collect()
    }

    #[test]
    fn session_writes_record_their_entry_once() {
        use crate::domain::{Progress, StepStatus};
        let mut s = session(100);
        assert_eq!(s.open_journey(DeviceClass::Mobile, 101), Ok(Progress::Recorded));
        assert_eq!(s.open_journey(DeviceClass::Mobile, 102), Ok(Progress::Duplicate), "a poll writes nothing");
        assert_eq!(s.start_step(Step::Peps, 103), Ok(Progress::Recorded));
        assert_eq!(s.steps[0].status, StepStatus::Processing);
        assert_eq!(s.start_step(Step::Peps, 104), Ok(Progress::Duplicate), "a retry is the same run");
        assert_eq!(s.record_webhook_attempt("identity.session.finished", 1, Some(503), 105), Ok(Progress::Recorded));
        assert_eq!(s.record_webhook_attempt("identity.session.finished", 1, Some(503), 106), Ok(Progress::Duplicate));
        assert_eq!(s.record_webhook_attempt("identity.session.finished", 2, None, 107), Ok(Progress::Recorded));
        assert_eq!(
            kinds(&s, 108),
            [
                AuditKind::SessionCreated,
                AuditKind::JourneyOpened { device: DeviceClass::Mobile },
                AuditKind::StepStarted { step: Step::Peps },
                attempt(1, false),
                AuditKind::WebhookAttempted {
                    event: "identity.session.finished".into(),
                    attempt: 2,
                    status_code: None,
                    delivered: false
                },
            ]
        );
    }

    #[test]
    fn expiry_is_derived_at_expires_at_and_closes_the_journey_log() {
        let mut s = session(100);
        s.open_journey(DeviceClass::Desktop, 650).unwrap();
        assert_eq!(kinds(&s, 699).last(), Some(&AuditKind::JourneyOpened { device: DeviceClass::Desktop }));
        let timeline = s.timeline(700);
        assert_eq!(timeline.last().map(|e| (e.at, e.kind.clone())), Some((700, AuditKind::Expired)));
        assert_eq!(s.open_journey(DeviceClass::Mobile, 701), Ok(crate::domain::Progress::Duplicate));
        s.request_redaction(800).unwrap();
        let after = kinds(&s, 900);
        assert_eq!(after[2..], [AuditKind::Expired, AuditKind::RedactionRequested], "expiry placed by its time");
    }

    #[test]
    fn device_classes_from_user_agents() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
        let pixel = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36";
        let tab = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";
        let ipad = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
        let mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15";
        assert_eq!(DeviceClass::from_user_agent(Some(iphone)), DeviceClass::Mobile);
        assert_eq!(DeviceClass::from_user_agent(Some(pixel)), DeviceClass::Mobile);
        assert_eq!(DeviceClass::from_user_agent(Some(tab)), DeviceClass::Tablet);
        assert_eq!(DeviceClass::from_user_agent(Some(ipad)), DeviceClass::Tablet);
        assert_eq!(DeviceClass::from_user_agent(Some(mac)), DeviceClass::Desktop);
        assert_eq!(DeviceClass::from_user_agent(None), DeviceClass::Desktop);
    }
}
