//! Redaction: erasing a session's personal data on the customer's request. Asked for with
//! one write (`pending`), carried out asynchronously (captures deleted, personal fields
//! scrubbed, `completed`), then announced by webhook. What remains is the minimal record:
//! ids, reference, timestamps, the decision and score, step outcomes without personal
//! values, capture verdicts and the audit trail (which never held personal data).

use serde::{Deserialize, Serialize};

use super::audit::AuditKind;
use super::details::Details;
use super::session::{Person, Progress, Refusal, Session, SessionStatus, StepStatus};
use super::text::Metadata;
use crate::decision::StepOutcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedactionState {
    Pending,
    Completed,
}

impl RedactionState {
    pub fn as_str(self) -> &'static str {
        match self {
            RedactionState::Pending => "pending",
            RedactionState::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    pub state: RedactionState,
    pub requested_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
    /// Outbox flag of the `identity.session.redacted` webhook.
    #[serde(default)]
    pub webhook_queued: bool,
}

impl Session {
    /// Whether redaction has been asked for (pending or done): such a session serves no
    /// personal data, no captures and no journey.
    pub fn is_redacted(&self) -> bool {
        self.redaction.is_some()
    }

    /// Asks for erasure. A session still open is cancelled in the same write (no further
    /// input can arrive to be erased later). Asking again changes nothing.
    pub fn request_redaction(&mut self, now: i64) -> Result<Progress, Refusal> {
        if self.redaction.is_some() {
            return Ok(Progress::Duplicate);
        }
        if !self.status_at(now).is_terminal() {
            self.status = SessionStatus::Cancelled;
            self.cancelled_at = Some(now);
            for step in &mut self.steps {
                if matches!(step.status, StepStatus::Pending | StepStatus::Processing) {
                    step.status = StepStatus::Skipped;
                }
            }
            self.note(now, AuditKind::Cancelled);
        }
        self.redaction = Some(Redaction {
            state: RedactionState::Pending,
            requested_at: now,
            completed_at: None,
            webhook_queued: false,
        });
        self.note(now, AuditKind::RedactionRequested);
        self.touch(now);
        Ok(Progress::Recorded)
    }

    /// Scrubs the personal data once the captures are gone (`objects_deleted` of them).
    pub fn complete_redaction(&mut self, objects_deleted: u32, now: i64) -> Result<Progress, Refusal> {
        let redaction = self.redaction.as_mut().ok_or(Refusal::RedactionNotRequested)?;
        if redaction.state == RedactionState::Completed {
            return Ok(Progress::Duplicate);
        }
        redaction.state = RedactionState::Completed;
        redaction.completed_at = Some(now);
        self.scrub();
        self.note(now, AuditKind::RedactionCompleted { objects_deleted });
        self.touch(now);
        Ok(Progress::Recorded)
    }

    /// Whether the `identity.session.redacted` webhook is still to be queued.
    pub fn redaction_webhook_due(&self) -> bool {
        self.redaction.as_ref().is_some_and(|r| r.state == RedactionState::Completed && !r.webhook_queued)
    }

    pub fn mark_redaction_webhook_queued(&mut self, now: i64) -> Result<Progress, Refusal> {
        let redaction = self.redaction.as_mut().ok_or(Refusal::RedactionNotRequested)?;
        if redaction.webhook_queued {
            return Ok(Progress::Duplicate);
        }
        redaction.webhook_queued = true;
        self.touch(now);
        Ok(Progress::Recorded)
    }

    /// Drops every personal value: pre-filled names and birth date, typed details, the
    /// customer's metadata (free text that may name the person), the liveness poses, an
    /// issuing country and screening-list matches (which name who the person resembled).
    fn scrub(&mut self) {
        self.person = Person::default();
        self.details = Details::default();
        self.metadata = Metadata::default();
        self.challenge.clear();
        for step in &mut self.steps {
            match &mut step.outcome {
                Some(StepOutcome::Document { country, .. }) => *country = None,
                Some(StepOutcome::Peps { matches, .. }) => matches.clear(),
                _ => {}
            }
        }
        if let Some(assessment) = &mut self.assessment {
            // The evidence is rebuilt from the scrubbed outcomes; score and decision stay.
            assessment.evidence = self
                .steps
                .iter()
                .filter_map(|s| Some((s.step.as_str().to_owned(), s.outcome.as_ref()?.evidence())))
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{CheckOutcome, Screening, ScreeningHit};
    use crate::domain::details::{BankDetails, DvsDetails, DvsDocument};
    use crate::domain::{
        BirthDate, ExpiresIn, NewSession, PersonName, RedirectUrl, Reference, SessionId, Step, Steps, TenantId,
        Threshold, UrlPolicy,
    };

    const NOW: i64 = 1_800_000_000;

    fn session(steps: Vec<Step>) -> Session {
        let metadata = std::collections::BTreeMap::from([("name".to_owned(), "Jane Smith".to_owned())]);
        let new = NewSession {
            reference: Reference::parse("cust_1").unwrap(),
            redirect_url: RedirectUrl::parse("https://yourapp.com/done", UrlPolicy::HttpsOnly).unwrap(),
            steps: Steps::new(steps).unwrap(),
            person: Person {
                first_name: Some(PersonName::parse("Jane").unwrap()),
                last_name: Some(PersonName::parse("Smith").unwrap()),
                birth_date: Some(BirthDate::parse("1990-01-31", NOW).unwrap()),
            },
            min_age: None,
            threshold: Threshold::DEFAULT,
            webhook_url: None,
            locale: None,
            expires_in: ExpiresIn::DEFAULT.seconds(),
            metadata: Metadata::from_entries(metadata).unwrap(),
        };
        Session::open(SessionId::random(), TenantId::random(), new, Vec::new(), NOW)
    }

    fn finished() -> Session {
        let mut s = session(vec![Step::Document, Step::Peps, Step::Dvs, Step::Bank]);
        s.set_details(
            Details {
                dvs: Some(DvsDetails {
                    document_type: DvsDocument::Passport,
                    number: "PA1234567".into(),
                    state: None,
                    card_number: None,
                }),
                bank: Some(BankDetails { bsb: "062000".into(), account_number: "12345678".into() }),
            },
            NOW,
        )
        .unwrap();
        s.consent(NOW).unwrap();
        s.submit(NOW).unwrap_err(); // the document capture is missing: nothing recorded
        s.submitted_at = Some(NOW);
        s.status = SessionStatus::Processing;
        let hit = ScreeningHit {
            list: "OFAC-SDN".into(),
            list_id: "1".into(),
            name: "SMITH, Jane".into(),
            score: 0.9,
            dob_match: Some(true),
        };
        let outcomes = [
            (
                Step::Document,
                StepOutcome::Document {
                    outcome: CheckOutcome::Passed,
                    document: "passport".into(),
                    reasons: vec![],
                    country: Some("AUS".into()),
                    fields: Default::default(),
                },
            ),
            (Step::Peps, StepOutcome::Peps { count: 1, outcome: Screening::PotentialMatch, matches: vec![hit] }),
            (
                Step::Dvs,
                StepOutcome::Dvs {
                    rank: crate::decision::DocumentRank::Primary,
                    decision: crate::decision::DvsCode::Y,
                    document: "passport".into(),
                },
            ),
            (
                Step::Bank,
                StepOutcome::Bank { outcome: crate::decision::NameMatch::Exact, given_name: 100, family_name: 100 },
            ),
        ];
        for (step, outcome) in outcomes {
            s.record_outcome(step, outcome, "queue", NOW + 1).unwrap();
        }
        assert_eq!(s.status, SessionStatus::Finished);
        s
    }

    #[test]
    fn redaction_scrubs_personal_data_and_keeps_the_minimal_record() {
        let mut s = finished();
        let decision = s.assessment.clone().unwrap();
        assert_eq!(s.request_redaction(NOW + 10), Ok(Progress::Recorded));
        assert_eq!(s.status, SessionStatus::Finished, "a finished session stays finished");
        assert_eq!(s.complete_redaction(2, NOW + 11), Ok(Progress::Recorded));

        let stored = serde_json::to_string(&s).unwrap();
        for pii in ["Jane", "Smith", "1990", "PA1234567", "12345678", "062000", "AUS"] {
            assert!(!stored.contains(pii), "{pii} survived redaction: {stored}");
        }
        let after = s.assessment.as_ref().unwrap();
        assert_eq!(
            (after.decision, after.score, &after.reasons),
            (decision.decision, decision.score, &decision.reasons)
        );
        assert_eq!(after.evidence["peps"], serde_json::json!({"count": 1, "outcome": "potential_match"}));
        assert!(s.steps.iter().all(|st| st.outcome.is_some()));
        let r = s.redaction.as_ref().unwrap();
        assert_eq!((r.state, r.requested_at, r.completed_at), (RedactionState::Completed, NOW + 10, Some(NOW + 11)));
    }

    #[test]
    fn redaction_is_idempotent_and_cancels_an_open_session() {
        let mut s = session(vec![Step::Document]);
        assert_eq!(s.request_redaction(NOW + 5), Ok(Progress::Recorded));
        assert_eq!((s.status, s.cancelled_at), (SessionStatus::Cancelled, Some(NOW + 5)));
        let version = s.version;
        assert_eq!(s.request_redaction(NOW + 6), Ok(Progress::Duplicate));
        assert_eq!(s.complete_redaction(0, NOW + 7), Ok(Progress::Recorded));
        assert_eq!(s.complete_redaction(0, NOW + 8), Ok(Progress::Duplicate));
        assert_eq!(s.version, version + 1);
        let kinds: Vec<_> = s.audit().events().iter().map(|e| e.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                AuditKind::SessionCreated,
                AuditKind::Cancelled,
                AuditKind::RedactionRequested,
                AuditKind::RedactionCompleted { objects_deleted: 0 }
            ]
        );
    }

    #[test]
    fn a_webhook_is_due_from_the_write_that_ends_a_session_until_its_flag_is_set() {
        let mut s = session(vec![Step::Document]);
        assert!(!s.webhook_due(), "an open session owes nothing");
        s.cancel(NOW + 1).unwrap();
        assert!(s.terminal_webhook_due() && s.webhook_due());
        s.mark_webhook_queued(NOW + 2).unwrap();
        assert!(!s.webhook_due());

        s.request_redaction(NOW + 3).unwrap();
        assert!(!s.webhook_due(), "a pending erasure owes nothing yet");
        s.complete_redaction(1, NOW + 4).unwrap();
        assert!(s.redaction_webhook_due() && !s.terminal_webhook_due() && s.webhook_due());
        s.mark_redaction_webhook_queued(NOW + 5).unwrap();
        assert!(!s.webhook_due());

        let mut done = finished();
        assert!(done.terminal_webhook_due(), "finishing owes the finished webhook");
        done.mark_webhook_queued(NOW + 2).unwrap();
        assert!(!done.webhook_due());
    }

    #[test]
    fn erasure_needs_a_request() {
        let mut s = session(vec![Step::Document]);
        assert_eq!(s.complete_redaction(0, NOW), Err(Refusal::RedactionNotRequested));
        assert_eq!(s.mark_redaction_webhook_queued(NOW), Err(Refusal::RedactionNotRequested));
    }
}
