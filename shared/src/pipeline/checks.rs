//! The check-provider port: runs one verification step on what the user submitted.
//! Real providers (shared/src/checks) implement it beside the sandbox.

use async_trait::async_trait;

use crate::artifacts::Artifact;
use crate::decision::StepOutcome;
use crate::domain::{Person, Session, Step};

/// What a step gets to look at: the submitted session and the step's accepted captures.
#[derive(Debug, Clone, Copy)]
pub struct StepInput<'a> {
    pub step: Step,
    pub session: &'a Session,
    pub captures: &'a [Capture],
    /// Unix seconds: expiry and age are judged as of this moment.
    pub now: i64,
}

impl StepInput<'_> {
    pub fn person(&self) -> &Person {
        &self.session.person
    }

    pub fn capture(&self, artifact: Artifact) -> Option<&[u8]> {
        self.captures.iter().find(|c| c.artifact == artifact).map(|c| c.bytes.as_slice())
    }
}

/// One accepted upload's bytes (they passed the byte check and the quality gate).
#[derive(Debug, Clone)]
pub struct Capture {
    pub artifact: Artifact,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Worth retrying (provider timeout, throttling, a DVS `S` answer).
    #[error("transient check failure: {0}")]
    Transient(String),
    /// Will not get better by retrying (an image the provider refuses, a misconfiguration):
    /// the step records an error outcome with this code.
    #[error("check failed: {code}")]
    Permanent { code: String },
}

#[async_trait]
pub trait CheckProvider: Send + Sync {
    /// A short name for logs and metrics (`sandbox`, `textract`, `ofac`...), per step.
    fn name(&self, step: Step) -> &'static str;
    async fn run(&self, input: StepInput<'_>) -> Result<StepOutcome, CheckError>;
}
