//! What one step concluded, in the evidence shapes of the contract
//! (`dvs: {outcome, decision, document}`, `bank: {outcome, given_name, family_name}`,
//! `peps: {count, outcome}`, `liveness: {outcome}`), plus the error outcome a poisoned step records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::Step;

/// How one step's evidence weighs on the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Pass,
    /// A person should look: not a failure, not a pass.
    Review,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    Passed,
    Review,
    Failed,
}

/// DVS answer codes: Y verified, N not verified, D document error, S server error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DvsCode {
    Y,
    N,
    D,
    S,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentRank {
    Primary,
    Secondary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameMatch {
    Exact,
    Partial,
    Mismatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Screening {
    Cleared,
    PotentialMatch,
    Match,
}

/// One list entry a screened name resembled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningHit {
    /// `OFAC-SDN`.
    pub list: String,
    /// The entry's id on that list (OFAC's ent_num).
    pub list_id: String,
    /// The listed name (or alias) that matched.
    pub name: String,
    /// 0..=1.
    pub score: f64,
    /// Whether the list's date of birth agrees, where it has one.
    pub dob_match: Option<bool>,
}

/// One step's result as stored on the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepOutcome {
    Document {
        outcome: CheckOutcome,
        document: String,
        reasons: Vec<String>,
        /// Issuing country (ISO 3166-1 alpha-3) when it could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        country: Option<String>,
        /// Per-field verdicts (`name: match`, `expiry: valid`...), never the values themselves.
        #[serde(default)]
        fields: BTreeMap<String, String>,
    },
    Liveness {
        outcome: CheckOutcome,
        similarity: Option<f64>,
        reasons: Vec<String>,
    },
    Dvs {
        rank: DocumentRank,
        decision: DvsCode,
        document: String,
    },
    Bank {
        outcome: NameMatch,
        given_name: u8,
        family_name: u8,
    },
    Peps {
        count: u32,
        outcome: Screening,
        /// The list entries that scored, best first.
        #[serde(default)]
        matches: Vec<ScreeningHit>,
    },
    /// The step could not run (bad upload, poison message, provider down for good).
    Error {
        code: String,
    },
}

impl StepOutcome {
    pub fn verdict(&self) -> Verdict {
        match self {
            StepOutcome::Document { outcome, .. } | StepOutcome::Liveness { outcome, .. } => match outcome {
                CheckOutcome::Passed => Verdict::Pass,
                CheckOutcome::Review => Verdict::Review,
                CheckOutcome::Failed => Verdict::Fail,
            },
            StepOutcome::Dvs { decision, .. } => match decision {
                DvsCode::Y => Verdict::Pass,
                DvsCode::N => Verdict::Fail,
                // A document or server error is never a "no match".
                DvsCode::D | DvsCode::S => Verdict::Review,
            },
            StepOutcome::Bank { outcome, .. } => match outcome {
                NameMatch::Exact => Verdict::Pass,
                NameMatch::Partial => Verdict::Review,
                NameMatch::Mismatch => Verdict::Fail,
            },
            StepOutcome::Peps { outcome, .. } => match outcome {
                Screening::Cleared => Verdict::Pass,
                Screening::PotentialMatch => Verdict::Review,
                Screening::Match => Verdict::Fail,
            },
            StepOutcome::Error { .. } => Verdict::Review,
        }
    }

    /// This step's contribution to the score, in 0..=1.
    pub fn score(&self) -> f64 {
        match self {
            StepOutcome::Bank { given_name, family_name, .. } => {
                (f64::from(*given_name) + f64::from(*family_name)) / 200.0
            }
            StepOutcome::Liveness { similarity: Some(s), outcome: CheckOutcome::Passed, .. } => {
                (s / 100.0).clamp(0.0, 1.0)
            }
            other => match other.verdict() {
                Verdict::Pass => 1.0,
                Verdict::Review => 0.5,
                Verdict::Fail => 0.0,
            },
        }
    }

    /// Machine reason code for a step that did not pass, e.g. `dvs_not_verified`.
    pub fn reason(&self, step: Step) -> Option<String> {
        let code = match (self, self.verdict()) {
            (_, Verdict::Pass) => return None,
            (StepOutcome::Error { code }, _) => return Some(format!("{}_error_{code}", step.as_str())),
            (StepOutcome::Dvs { decision: DvsCode::N, .. }, _) => "not_verified",
            (StepOutcome::Dvs { decision: DvsCode::D, .. }, _) => "document_error",
            (StepOutcome::Dvs { decision: DvsCode::S, .. }, _) => "service_error",
            (StepOutcome::Peps { outcome: Screening::Match, .. }, _) => "match",
            (StepOutcome::Peps { .. }, _) => "potential_match",
            (StepOutcome::Bank { outcome: NameMatch::Mismatch, .. }, _) => "name_mismatch",
            (StepOutcome::Bank { .. }, _) => "name_partial",
            (_, Verdict::Fail) => "failed",
            (_, Verdict::Review) => "review",
        };
        Some(format!("{}_{code}", step.as_str()))
    }

    /// The evidence object for the result, in the contract's shape.
    pub fn evidence(&self) -> Value {
        let outcome_str = |o: &CheckOutcome| match o {
            CheckOutcome::Passed => "passed",
            CheckOutcome::Review => "review",
            CheckOutcome::Failed => "failed",
        };
        match self {
            StepOutcome::Document { outcome, document, reasons, country, fields } => json!({
                "outcome": outcome_str(outcome), "document": document, "country": country,
                "fields": fields, "reasons": reasons,
            }),
            StepOutcome::Liveness { outcome, similarity, reasons } => {
                json!({"outcome": outcome_str(outcome), "similarity": similarity, "reasons": reasons})
            }
            StepOutcome::Dvs { rank, decision, document } => {
                json!({"outcome": rank, "decision": decision, "document": document})
            }
            StepOutcome::Bank { outcome, given_name, family_name } => {
                json!({"outcome": outcome, "given_name": given_name, "family_name": family_name})
            }
            StepOutcome::Peps { count, outcome, matches } => {
                let mut evidence = json!({"count": count, "outcome": outcome});
                if !matches.is_empty() {
                    evidence["matches"] = json!(matches);
                }
                evidence
            }
            StepOutcome::Error { code } => json!({"outcome": "error", "code": code}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_has_the_contract_shape() {
        let dvs =
            StepOutcome::Dvs { rank: DocumentRank::Primary, decision: DvsCode::Y, document: "driverslicence".into() };
        assert_eq!(dvs.evidence(), json!({"outcome": "primary", "decision": "Y", "document": "driverslicence"}));
        let bank = StepOutcome::Bank { outcome: NameMatch::Exact, given_name: 100, family_name: 100 };
        assert_eq!(bank.evidence(), json!({"outcome": "exact", "given_name": 100, "family_name": 100}));
        let peps = StepOutcome::Peps { count: 0, outcome: Screening::Cleared, matches: vec![] };
        assert_eq!(peps.evidence(), json!({"count": 0, "outcome": "cleared"}));
        let live = StepOutcome::Liveness { outcome: CheckOutcome::Failed, similarity: None, reasons: vec![] };
        assert_eq!(live.evidence()["outcome"], "failed");
    }

    #[test]
    fn dvs_errors_are_never_a_no_match() {
        for code in [DvsCode::D, DvsCode::S] {
            let o = StepOutcome::Dvs { rank: DocumentRank::Primary, decision: code, document: "passport".into() };
            assert_eq!(o.verdict(), Verdict::Review);
        }
    }

    #[test]
    fn reasons_name_step_and_cause() {
        let o = StepOutcome::Peps { count: 1, outcome: Screening::Match, matches: vec![] };
        assert_eq!(o.reason(Step::Peps).as_deref(), Some("peps_match"));
        let e = StepOutcome::Error { code: "unreadable_image".into() };
        assert_eq!(e.reason(Step::Document).as_deref(), Some("document_error_unreadable_image"));
        let ok = StepOutcome::Bank { outcome: NameMatch::Exact, given_name: 100, family_name: 100 };
        assert_eq!(ok.reason(Step::Bank), None);
    }
}
