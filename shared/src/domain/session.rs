//! A verification session and its lifecycle.

use serde::{Deserialize, Serialize};

use super::dates::BirthDate;
use super::ids::{JourneySecret, SessionId, TenantId};
use super::steps::{MinAge, Step, Steps, Threshold};
use super::text::{Locale, Metadata, PersonName, Reference};
use super::urls::{RedirectUrl, WebhookUrl};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepState {
    pub step: Step,
    pub status: StepStatus,
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
    /// Bumped on every write; stores only accept a write that names the version it read.
    pub version: u64,
}

impl Session {
    pub fn open(id: SessionId, tenant_id: TenantId, new: NewSession, now: i64) -> Self {
        let steps = new.steps.as_slice().iter().map(|&step| StepState { step, status: StepStatus::Pending }).collect();
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
            version: 1,
        }
    }

    /// The status as of `now`: an open session past its expiry reads as expired even if
    /// the store still holds it as open.
    pub fn status_at(&self, now: i64) -> SessionStatus {
        if !self.status.is_terminal() && now >= self.expires_at { SessionStatus::Expired } else { self.status }
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

    fn touch(&mut self, now: i64) {
        self.updated_at = now;
        self.version += 1;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    Cancelled,
    AlreadyCancelled,
}
