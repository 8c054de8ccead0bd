//! The sandbox provider: deterministic outcomes chosen by magic values in the pre-filled
//! names, for tests and demos (documented in the README). Selected by configuration only.

use async_trait::async_trait;

use super::checks::{CheckError, CheckProvider, StepInput};
use crate::decision::{CheckOutcome, DocumentRank, DvsCode, NameMatch, Screening, StepOutcome};
use crate::domain::Step;

pub struct SandboxChecks;

/// The magic word is matched case-insensitively against the pre-filled last name.
fn last_name_is(input: &StepInput<'_>, magic: &str) -> bool {
    input.person.last_name.as_ref().is_some_and(|n| n.as_str().eq_ignore_ascii_case(magic))
}

#[async_trait]
impl CheckProvider for SandboxChecks {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn run(&self, input: StepInput<'_>) -> Result<StepOutcome, CheckError> {
        let magic = |word| last_name_is(&input, word);
        if magic("Unavailable") {
            return Err(CheckError::Transient("sandbox provider unavailable".into()));
        }
        Ok(match input.step {
            Step::Document if magic("Forged") => StepOutcome::Document {
                outcome: CheckOutcome::Failed,
                document: "passport".into(),
                reasons: vec!["document_tampered".into()],
            },
            Step::Document => {
                StepOutcome::Document { outcome: CheckOutcome::Passed, document: "passport".into(), reasons: vec![] }
            }
            Step::Liveness if magic("Spoof") => StepOutcome::Liveness {
                outcome: CheckOutcome::Failed,
                similarity: Some(12.0),
                reasons: vec!["face_mismatch".into()],
            },
            Step::Liveness => {
                StepOutcome::Liveness { outcome: CheckOutcome::Passed, similarity: Some(99.0), reasons: vec![] }
            }
            Step::Dvs => {
                let decision = if magic("Nomatch") {
                    DvsCode::N
                } else if magic("Docerror") {
                    DvsCode::D
                } else {
                    DvsCode::Y
                };
                StepOutcome::Dvs { rank: DocumentRank::Primary, decision, document: "driverslicence".into() }
            }
            Step::Peps if magic("Sanctioned") => StepOutcome::Peps { count: 1, outcome: Screening::Match },
            Step::Peps if magic("Pepper") => StepOutcome::Peps { count: 2, outcome: Screening::PotentialMatch },
            Step::Peps => StepOutcome::Peps { count: 0, outcome: Screening::Cleared },
            Step::Bank if magic("Mismatch") => {
                StepOutcome::Bank { outcome: NameMatch::Mismatch, given_name: 20, family_name: 0 }
            }
            Step::Bank if magic("Partial") => {
                StepOutcome::Bank { outcome: NameMatch::Partial, given_name: 100, family_name: 60 }
            }
            Step::Bank => StepOutcome::Bank { outcome: NameMatch::Exact, given_name: 100, family_name: 100 },
        })
    }
}
