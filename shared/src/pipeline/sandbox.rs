//! The sandbox provider: deterministic outcomes chosen by magic values in the pre-filled
//! names, for tests and demos (documented in the README). Selected by configuration only.

use async_trait::async_trait;

use super::checks::{CheckError, CheckProvider, StepInput};
use crate::decision::{CheckOutcome, DocumentRank, DvsCode, NameMatch, Screening, ScreeningHit, StepOutcome};
use crate::domain::Step;

pub struct SandboxChecks;

/// The magic word is matched case-insensitively against the pre-filled last name.
fn last_name_is(input: &StepInput<'_>, magic: &str) -> bool {
    input.person().last_name.as_ref().is_some_and(|n| n.as_str().eq_ignore_ascii_case(magic))
}

#[async_trait]
impl CheckProvider for SandboxChecks {
    fn name(&self, _step: Step) -> &'static str {
        "sandbox"
    }

    async fn run(&self, input: StepInput<'_>) -> Result<StepOutcome, CheckError> {
        let magic = |word| last_name_is(&input, word);
        if magic("Unavailable") {
            return Err(CheckError::Transient("sandbox provider unavailable".into()));
        }
        Ok(match input.step {
            Step::Document if magic("Forged") => document(CheckOutcome::Failed, &["mrz", "invalid"]),
            Step::Document => document(CheckOutcome::Passed, &["mrz", "valid"]),
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
            Step::Peps if magic("Sanctioned") => peps(Screening::Match, &[1.0]),
            Step::Peps if magic("Pepper") => peps(Screening::PotentialMatch, &[0.91, 0.88]),
            Step::Peps => peps(Screening::Cleared, &[]),
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

/// A passport whose fields all agree with the pre-filled ones, or one whose MRZ does not add up.
fn document(outcome: CheckOutcome, mrz: &[&str; 2]) -> StepOutcome {
    let mut fields: std::collections::BTreeMap<String, String> =
        [("name", "match"), ("birth_date", "match"), ("expiry", "valid")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    fields.insert(mrz[0].to_owned(), mrz[1].to_owned());
    let reasons = if outcome == CheckOutcome::Passed { vec![] } else { vec!["mrz_check_digits".to_owned()] };
    StepOutcome::Document { outcome, document: "passport".into(), reasons, country: Some("AUS".into()), fields }
}

/// Screening hits on a made-up sandbox list entry, so the evidence has the real shape.
fn peps(outcome: Screening, scores: &[f64]) -> StepOutcome {
    let matches = scores
        .iter()
        .enumerate()
        .map(|(i, &score)| ScreeningHit {
            list: "SANDBOX".into(),
            list_id: format!("sandbox-{}", i + 1),
            name: "SANDBOX LISTED PERSON".into(),
            score,
            dob_match: None,
        })
        .collect::<Vec<_>>();
    StepOutcome::Peps { count: matches.len() as u32, outcome, matches }
}
