//! The check-provider port: runs one verification step. Real providers (Textract,
//! Rekognition, DVS, screening, bank data) implement it beside the sandbox.

use async_trait::async_trait;

use crate::artifacts::{Artifact, ImageFacts};
use crate::decision::StepOutcome;
use crate::domain::{Person, Step};

/// What a step gets to look at. Capture steps get their artifact's verified bytes.
#[derive(Debug, Clone)]
pub struct StepInput<'a> {
    pub step: Step,
    pub person: &'a Person,
    pub capture: Option<Capture<'a>>,
}

#[derive(Debug, Clone, Copy)]
pub struct Capture<'a> {
    pub artifact: Artifact,
    pub bytes: &'a [u8],
    pub facts: ImageFacts,
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
    /// A short name for logs and metrics (`sandbox`, `aws`).
    fn name(&self) -> &'static str;
    async fn run(&self, input: StepInput<'_>) -> Result<StepOutcome, CheckError>;
}
