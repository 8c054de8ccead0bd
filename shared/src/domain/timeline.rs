//! The session's side of the audit trail: the entries written by their own small writes
//! (journey opens, step starts, webhook attempts), the timeline as read, and
//! retention. Entries written with other changes are recorded in those changes' methods.

use super::audit::{AuditEvent, AuditKind, DeviceClass};
use super::session::{Progress, Refusal, Session, SessionStatus, StepStatus};
use super::steps::Step;

impl Session {
    /// The timeline as of `now`: the stored entries, plus the journey's expiry at
    /// `expires_at` once it has passed (expiry is derived on read, never written).
    pub fn timeline(&self, now: i64) -> Vec<AuditEvent> {
        let mut events = self.audit.events().to_vec();
        if self.status_at(now) == SessionStatus::Expired {
            let at = self.expires_at;
            let position = events.iter().position(|e| e.at > at).unwrap_or(events.len());
            events.insert(position, AuditEvent { at, kind: AuditKind::Expired });
        }
        events
    }

    /// When the record, its personal data and its captures stop being kept: the retention
    /// period after the later of the journey's expiry and the session's end.
    pub fn retain_until(&self) -> i64 {
        let ended = self.expires_at.max(self.finished_at.unwrap_or(0)).max(self.cancelled_at.unwrap_or(0));
        ended.saturating_add(self.retention.seconds())
    }

    /// Whether the session may still be served at all at `now`.
    pub fn retained_at(&self, now: i64) -> bool {
        now < self.retain_until()
    }

    /// The journey was opened on a device of this class; recorded once per class, and only
    /// while the journey is open, so polling costs no writes.
    pub fn open_journey(&mut self, device: DeviceClass, now: i64) -> Result<Progress, Refusal> {
        let status = self.status_at(now);
        if status.is_terminal() || self.audit.any(|k| *k == AuditKind::JourneyOpened { device }) {
            return Ok(Progress::Duplicate);
        }
        self.audit.record(now, AuditKind::JourneyOpened { device });
        self.touch(now);
        Ok(Progress::Recorded)
    }

    /// A queued step begins running: the step reads `processing`. Once per step.
    pub fn start_step(&mut self, step: Step, now: i64) -> Result<Progress, Refusal> {
        let status = self.status_at(now);
        let state = self.steps.iter_mut().find(|s| s.step == step).ok_or(Refusal::StepNotRequested)?;
        if state.outcome.is_some() || state.status != StepStatus::Pending {
            return Ok(Progress::Duplicate);
        }
        if status.is_terminal() {
            return Err(Refusal::Closed(status));
        }
        state.status = StepStatus::Processing;
        self.audit.record(now, AuditKind::StepStarted { step });
        self.touch(now);
        Ok(Progress::Recorded)
    }

    /// One delivery attempt of a webhook event, with the receiver's status code if it
    /// answered. A redelivered report of the same attempt is a duplicate.
    pub fn record_webhook_attempt(
        &mut self,
        event: &str,
        attempt: u32,
        status_code: Option<u16>,
        now: i64,
    ) -> Result<Progress, Refusal> {
        let seen = self.audit.any(
            |k| matches!(k, AuditKind::WebhookAttempted { event: e, attempt: a, .. } if e == event && *a == attempt),
        );
        if seen {
            return Ok(Progress::Duplicate);
        }
        let delivered = status_code.is_some_and(|c| (200..300).contains(&c));
        self.audit
            .record(now, AuditKind::WebhookAttempted { event: event.to_owned(), attempt, status_code, delivered });
        self.touch(now);
        Ok(Progress::Recorded)
    }
}
