//! A verification session and its lifecycle.

use serde::{Deserialize, Serialize};

use super::audit::{AuditKind, AuditTrail, StepResult, UploadVerdict};
use super::captures::{CaptureResult, CaptureState, challenge_artifacts};
use super::dates::BirthDate;
use super::details::Details;
use super::ids::{JourneySecret, SessionId, TenantId};
use super::redaction::Redaction;
use super::retention::RetentionDays;
use super::steps::{MinAge, Step, Steps, Threshold};
use super::text::{Locale, Metadata, PersonName, Reference};
use super::urls::{RedirectUrl, WebhookUrl};
use crate::artifacts::Artifact;
use crate::checks::liveness::Pose;
use crate::decision::{Assessment, StepOutcome, assess};

/// What the store records. `Expired` is never stored: it is derived on read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Created,
    InProgress,
    Processing,
    Finished,
    Expired,
    Cancelled,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Created => "created",
            SessionStatus::InProgress => "in_progress",
            SessionStatus::Processing => "processing",
            SessionStatus::Finished => "finished",
            SessionStatus::Expired => "expired",
            SessionStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, SessionStatus::Finished | SessionStatus::Expired | SessionStatus::Cancelled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Processing,
    Completed,
    Error,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Processing => "processing",
            StepStatus::Completed => "completed",
            StepStatus::Error => "error",
            StepStatus::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub step: Step,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<StepOutcome>,
    /// What produced the outcome (an upload's ETag, a queued run): a redelivery of the same
    /// source is a duplicate, while a retake (a new upload) replaces the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The details the customer pre-filled about the person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub birth_date: Option<BirthDate>,
}

/// Everything a new session is made from, already parsed and authorised for its tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    pub reference: Reference,
    pub redirect_url: RedirectUrl,
    pub steps: Steps,
    pub person: Person,
    pub min_age: Option<MinAge>,
    pub threshold: Threshold,
    pub webhook_url: Option<WebhookUrl>,
    pub locale: Option<Locale>,
    pub expires_in: u32,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub tenant_id: TenantId,
    pub reference: Reference,
    /// The stored status; read it through [`Session::status_at`].
    pub status: SessionStatus,
    pub steps: Vec<StepState>,
    pub redirect_url: RedirectUrl,
    pub webhook_url: Option<WebhookUrl>,
    pub person: Person,
    pub min_age: Option<MinAge>,
    pub threshold: Threshold,
    pub locale: Option<Locale>,
    pub metadata: Metadata,
    pub journey_secret: JourneySecret,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
    pub cancelled_at: Option<i64>,
    /// What the user typed for the dvs and bank steps.
    #[serde(default)]
    pub details: Details,
    /// The poses the liveness frames must show, in order (chosen at random at creation).
    #[serde(default)]
    pub challenge: Vec<Pose>,
    /// Each artifact's latest upload and whether it passed the quality gate.
    #[serde(default)]
    pub captures: Vec<CaptureState>,
    /// When the end user agreed to the checks (the DVS requires it to be recorded and sent).
    #[serde(default)]
    pub consented_at: Option<i64>,
    /// When the end user submitted the journey; the session then waits only for its steps.
    #[serde(default)]
    pub submitted_at: Option<i64>,
    #[serde(default)]
    pub finished_at: Option<i64>,
    /// Set exactly once, by the write that completes the last step of a submitted session.
    #[serde(default)]
    pub assessment: Option<Assessment>,
    /// Set once the finished-event webhook is on its queue (an outbox flag: a redelivered
    /// step message re-queues it until this is recorded).
    #[serde(default)]
    pub webhook_queued: bool,
    /// The tenant's retention when the session was created: the record, its personal data and
    /// its captures are kept until [`Session::retain_until`].
    #[serde(default)]
    pub retention: RetentionDays,
    /// Set once the customer asked for the session's personal data to be erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<Redaction>,
    /// Append-only; written with the change each entry describes.
    #[serde(default)]
    pub(super) audit: AuditTrail,
    /// Desktop-to-phone handoff links, latest last (digests only; see `domain::handoff`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handoffs: Vec<super::handoff::Handoff>,
    /// Bumped on every write; stores only accept a write that names the version it read.
    pub version: u64,
}

impl Session {
    pub fn open(id: SessionId, tenant_id: TenantId, new: NewSession, challenge: Vec<Pose>, now: i64) -> Self {
        let steps = new
            .steps
            .as_slice()
            .iter()
            .map(|&step| StepState { step, status: StepStatus::Pending, outcome: None, source: None })
            .collect();
        Self {
            id,
            tenant_id,
            reference: new.reference,
            status: SessionStatus::Created,
            steps,
            redirect_url: new.redirect_url,
            webhook_url: new.webhook_url,
            person: new.person,
            min_age: new.min_age,
            threshold: new.threshold,
            locale: new.locale,
            metadata: new.metadata,
            journey_secret: JourneySecret::random(),
            created_at: now,
            updated_at: now,
            expires_at: now + i64::from(new.expires_in),
            cancelled_at: None,
            details: Details::default(),
            challenge,
            captures: Vec::new(),
            consented_at: None,
            submitted_at: None,
            finished_at: None,
            assessment: None,
            webhook_queued: false,
            retention: RetentionDays::DEFAULT,
            redaction: None,
            audit: {
                let mut trail = AuditTrail::default();
                trail.record(now, AuditKind::SessionCreated);
                trail
            },
            handoffs: Vec::new(),
            version: 1,
        }
    }

    /// The audit trail as stored.
    pub fn audit(&self) -> &AuditTrail {
        &self.audit
    }

    /// Appends an audit entry (no other write is implied; the caller's write stores it).
    pub(crate) fn note(&mut self, now: i64, kind: AuditKind) {
        self.audit.record(now, kind);
    }

    /// The status as of `now`: a session the user has not submitted reads as expired past its
    /// expiry, even if the store still holds it as open.
    pub fn status_at(&self, now: i64) -> SessionStatus {
        // A submitted session is past the user's part: it finishes on its steps, not the clock.
        let open = matches!(self.status, SessionStatus::Created | SessionStatus::InProgress);
        if open && now >= self.expires_at { SessionStatus::Expired } else { self.status }
    }

    /// Whether the end user may still act on this session.
    pub fn is_open_at(&self, now: i64) -> bool {
        !self.status_at(now).is_terminal()
    }

    /// Cancels an open session. Cancelling an already cancelled session is a no-op.
    pub fn cancel(&mut self, now: i64) -> Result<Cancel, SessionStatus> {
        match self.status_at(now) {
            SessionStatus::Cancelled => Ok(Cancel::AlreadyCancelled),
            s if s.is_terminal() => Err(s),
            _ => {
                self.status = SessionStatus::Cancelled;
                self.cancelled_at = Some(now);
                self.audit.record(now, AuditKind::Cancelled);
                for step in &mut self.steps {
                    if matches!(step.status, StepStatus::Pending | StepStatus::Processing) {
                        step.status = StepStatus::Skipped;
                    }
                }
                self.touch(now);
                Ok(Cancel::Cancelled)
            }
        }
    }

    /// Records one step's outcome from `source`. The write that completes the last step of a
    /// submitted session also finishes it, so exactly one write ever aggregates.
    pub fn record_outcome(
        &mut self,
        step: Step,
        outcome: StepOutcome,
        source: &str,
        now: i64,
    ) -> Result<Progress, Refusal> {
        let status = self.status_at(now);
        let state = self.steps.iter_mut().find(|s| s.step == step).ok_or(Refusal::StepNotRequested)?;
        if state.source.as_deref() == Some(source) || state.outcome.is_some() {
            return Ok(Progress::Duplicate);
        }
        if status.is_terminal() {
            return Err(Refusal::Closed(status));
        }

        state.status =
            if matches!(outcome, StepOutcome::Error { .. }) { StepStatus::Error } else { StepStatus::Completed };
        let code = match &outcome {
            StepOutcome::Error { code } => Some(code.clone()),
            _ => None,
        };
        self.audit.record(now, AuditKind::StepCompleted { step, outcome: StepResult::of(&outcome), code });
        state.outcome = Some(outcome);
        state.source = Some(source.to_owned());
        if self.status == SessionStatus::Created {
            self.status = SessionStatus::InProgress;
        }
        Ok(self.finish_if_ready(now))
    }

    /// Records the quality-gate result of an upload. A new upload of an artifact replaces the
    /// earlier one (a retake) until the user submits.
    pub fn record_capture(
        &mut self,
        artifact: Artifact,
        source: &str,
        result: CaptureResult,
        now: i64,
    ) -> Result<Progress, Refusal> {
        if !self.expects(artifact) {
            return Err(Refusal::StepNotRequested);
        }
        let existing = self.captures.iter().position(|c| c.artifact == artifact);
        if existing.is_some_and(|i| self.captures[i].source == source) {
            return Ok(Progress::Duplicate);
        }
        let status = self.status_at(now);
        if !matches!(status, SessionStatus::Created | SessionStatus::InProgress) {
            return Err(Refusal::Closed(status));
        }
        let (outcome, reason) = match &result {
            CaptureResult::Accepted => (UploadVerdict::Accepted, None),
            CaptureResult::Rejected { reason } => (UploadVerdict::Rejected, Some(reason.clone())),
        };
        self.audit.record(now, AuditKind::UploadReceived { artifact, outcome, reason });
        let state = CaptureState { artifact, source: source.to_owned(), result, at: now };
        match existing {
            Some(i) => self.captures[i] = state,
            None => self.captures.push(state),
        }
        if self.status == SessionStatus::Created {
            self.status = SessionStatus::InProgress;
        }
        self.touch(now);
        Ok(Progress::Recorded)
    }

    /// Whether this session asks for this artifact at all (the back of a document is optional).
    pub fn expects(&self, artifact: Artifact) -> bool {
        artifact == Artifact::DocumentBack && self.wants(Step::Document) || self.required_captures().contains(&artifact)
    }

    /// The uploads that must have passed the quality gate before the user can submit.
    pub fn required_captures(&self) -> Vec<Artifact> {
        let mut required = Vec::new();
        if self.wants(Step::Document) {
            required.push(Artifact::DocumentFront);
        }
        if self.wants(Step::Liveness) {
            required.push(Artifact::Selfie);
            required.extend(challenge_artifacts(&self.challenge));
        }
        required
    }

    pub fn accepted(&self, artifact: Artifact) -> bool {
        self.captures.iter().any(|c| c.artifact == artifact && c.accepted())
    }

    fn wants(&self, step: Step) -> bool {
        self.steps.iter().any(|s| s.step == step)
    }

    /// Records the user's consent to the checks, once.
    pub fn consent(&mut self, now: i64) -> Result<Progress, Refusal> {
        let status = self.status_at(now);
        if !matches!(status, SessionStatus::Created | SessionStatus::InProgress) {
            return Err(Refusal::Closed(status));
        }
        if self.consented_at.is_some() {
            return Ok(Progress::Duplicate);
        }
        self.consented_at = Some(now);
        self.audit.record(now, AuditKind::ConsentGiven);
        if self.status == SessionStatus::Created {
            self.status = SessionStatus::InProgress;
        }
        self.touch(now);
        Ok(Progress::Recorded)
    }

    /// Whether a dvs or bank step still lacks the details it checks.
    pub fn missing_details(&self) -> bool {
        let wants = |step| self.steps.iter().any(|s| s.step == step);
        (wants(Step::Dvs) && self.details.dvs.is_none()) || (wants(Step::Bank) && self.details.bank.is_none())
    }

    /// Records the user's details; only while the journey is open.
    pub fn set_details(&mut self, details: Details, now: i64) -> Result<Progress, Refusal> {
        let status = self.status_at(now);
        if !matches!(status, SessionStatus::Created | SessionStatus::InProgress) {
            return Err(Refusal::Closed(status));
        }
        if details.dvs.is_some() && !self.steps.iter().any(|s| s.step == Step::Dvs)
            || details.bank.is_some() && !self.steps.iter().any(|s| s.step == Step::Bank)
        {
            return Err(Refusal::StepNotRequested);
        }
        let mut given = Vec::new();
        if details.dvs.is_some() {
            given.push(Step::Dvs);
        }
        if details.bank.is_some() {
            given.push(Step::Bank);
        }
        self.audit.record(now, AuditKind::DetailsProvided { steps: given });
        self.details =
            Details { dvs: details.dvs.or(self.details.dvs.take()), bank: details.bank.or(self.details.bank.take()) };
        if self.status == SessionStatus::Created {
            self.status = SessionStatus::InProgress;
        }
        self.touch(now);
        Ok(Progress::Recorded)
    }

    /// Steps that have no outcome yet: all of them run from the queue after submission.
    pub fn queued_steps(&self) -> Vec<Step> {
        self.steps.iter().filter(|s| s.outcome.is_none()).map(|s| s.step).collect()
    }

    /// The end user is done: no more input; the session finishes when its last step lands.
    pub fn submit(&mut self, now: i64) -> Result<Progress, Refusal> {
        match self.status_at(now) {
            SessionStatus::Processing => Ok(Progress::Duplicate),
            s if s.is_terminal() => Err(Refusal::Closed(s)),
            _ if self.required_captures().iter().any(|&a| !self.accepted(a)) => Err(Refusal::CapturesMissing),
            _ if self.missing_details() => Err(Refusal::DetailsMissing),
            // The DVS may only be asked with the person's recorded consent.
            _ if self.wants(Step::Dvs) && self.consented_at.is_none() => Err(Refusal::ConsentMissing),
            _ => {
                self.status = SessionStatus::Processing;
                self.submitted_at = Some(now);
                self.audit.record(now, AuditKind::Submitted);
                Ok(self.finish_if_ready(now))
            }
        }
    }

    fn finish_if_ready(&mut self, now: i64) -> Progress {
        let all_done = self.steps.iter().all(|s| s.outcome.is_some());
        if self.submitted_at.is_none() || !all_done {
            self.touch(now);
            return Progress::Recorded;
        }
        let outcomes: Vec<_> = self.steps.iter().filter_map(|s| Some((s.step, s.outcome.clone()?))).collect();
        let assessment = assess(&outcomes, self.threshold);
        self.audit.record(now, AuditKind::DecisionMade { decision: assessment.decision, score: assessment.score });
        self.assessment = Some(assessment);
        self.status = SessionStatus::Finished;
        self.finished_at = Some(now);
        self.touch(now);
        Progress::Finished
    }

    /// Whether the finished or cancelled webhook is still to be queued (its outbox flag unset).
    pub fn terminal_webhook_due(&self) -> bool {
        matches!(self.status, SessionStatus::Finished | SessionStatus::Cancelled) && !self.webhook_queued
    }

    /// Whether any lifecycle webhook is still to be queued: what the table's stream is
    /// filtered on, so the outbox reader wakes only for these writes.
    pub fn webhook_due(&self) -> bool {
        self.terminal_webhook_due() || self.redaction_webhook_due()
    }

    pub fn mark_webhook_queued(&mut self, now: i64) -> Result<Progress, Refusal> {
        if self.webhook_queued {
            return Ok(Progress::Duplicate);
        }
        self.webhook_queued = true;
        self.touch(now);
        Ok(Progress::Recorded)
    }

    pub(crate) fn touch(&mut self, now: i64) {
        self.updated_at = now;
        self.version += 1;
    }
}

/// What a recorded outcome or a submission did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Recorded,
    /// This write aggregated: the session is now finished with its assessment.
    Finished,
    /// Already recorded (redelivery); nothing changed.
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    StepNotRequested,
    /// A required capture has not passed the quality gate yet.
    CapturesMissing,
    /// The dvs step needs the user's recorded consent.
    ConsentMissing,
    /// A dvs or bank step has no details yet.
    DetailsMissing,
    Closed(SessionStatus),
    /// A handoff link that does not open.
    Handoff(super::handoff::HandoffRefusal),
    /// Erasure was asked for a session whose redaction was never requested.
    RedactionNotRequested,
    /// Not the caller's session, or past its retention: answered as if it did not exist.
    NotFound,
    /// Cancelling a session already in this terminal state.
    NotCancellable(SessionStatus),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    Cancelled,
    AlreadyCancelled,
}
