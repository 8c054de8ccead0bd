//! The decision engine: step outcomes in, score, decision, reasons and evidence out.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::outcome::{StepOutcome, Verdict};
use crate::domain::{Step, Threshold};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approved,
    Declined,
    Review,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Declined => "declined",
            Decision::Review => "review",
        }
    }
}

/// The aggregated result stored on a finished session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub score: f64,
    pub threshold: f64,
    pub decision: Decision,
    pub reasons: Vec<String>,
    pub evidence: Map<String, Value>,
}

/// Decides. Any failed check declines; otherwise anything needing a person goes to review;
/// otherwise the mean step score must reach the threshold.
pub fn assess(outcomes: &[(Step, StepOutcome)], threshold: Threshold) -> Assessment {
    let score = if outcomes.is_empty() {
        0.0
    } else {
        let mean = outcomes.iter().map(|(_, o)| o.score()).sum::<f64>() / outcomes.len() as f64;
        // Two decimals: scores are compared and displayed, not computed with further.
        (mean * 100.0).round() / 100.0
    };
    let worst = outcomes.iter().map(|(_, o)| o.verdict()).max().unwrap_or(Verdict::Review);
    let mut reasons: Vec<String> = outcomes.iter().filter_map(|(step, o)| o.reason(*step)).collect();
    let decision = match worst {
        Verdict::Fail => Decision::Declined,
        Verdict::Review => Decision::Review,
        Verdict::Pass if score >= threshold.value() => Decision::Approved,
        Verdict::Pass => {
            reasons.push("score_below_threshold".into());
            Decision::Declined
        }
    };
    if outcomes.is_empty() {
        reasons.push("no_steps_completed".into());
    }
    let evidence = outcomes.iter().map(|(step, o)| (step.as_str().to_owned(), o.evidence())).collect();
    Assessment { score, threshold: threshold.value(), decision, reasons, evidence }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::outcome::*;

    fn t(v: f64) -> Threshold {
        Threshold::new(v).unwrap()
    }

    fn dvs(code: DvsCode) -> (Step, StepOutcome) {
        (Step::Dvs, StepOutcome::Dvs { rank: DocumentRank::Primary, decision: code, document: "driverslicence".into() })
    }

    fn peps(outcome: Screening) -> (Step, StepOutcome) {
        (Step::Peps, StepOutcome::Peps { count: u32::from(outcome != Screening::Cleared), outcome, matches: vec![] })
    }

    fn bank(given: u8, family: u8, outcome: NameMatch) -> (Step, StepOutcome) {
        (Step::Bank, StepOutcome::Bank { outcome, given_name: given, family_name: family })
    }

    #[test]
    fn all_clear_is_approved_with_full_score() {
        let a = assess(&[dvs(DvsCode::Y), peps(Screening::Cleared), bank(100, 100, NameMatch::Exact)], t(0.8));
        assert_eq!((a.decision, a.score, a.reasons.len()), (Decision::Approved, 1.0, 0));
        assert_eq!(a.evidence["dvs"]["decision"], "Y");
        assert_eq!(a.evidence["peps"]["outcome"], "cleared");
    }

    #[test]
    fn any_failure_declines_whatever_the_score() {
        let a = assess(&[dvs(DvsCode::Y), peps(Screening::Match), bank(100, 100, NameMatch::Exact)], t(0.0));
        assert_eq!(a.decision, Decision::Declined);
        assert_eq!(a.reasons, vec!["peps_match"]);
    }

    #[test]
    fn uncertainty_goes_to_review() {
        let a = assess(&[dvs(DvsCode::S), peps(Screening::Cleared)], t(0.5));
        assert_eq!(a.decision, Decision::Review);
        assert_eq!(a.reasons, vec!["dvs_service_error"]);
        let e = assess(&[(Step::Document, StepOutcome::Error { code: "not_an_image".into() })], t(0.5));
        assert_eq!(e.decision, Decision::Review);
        assert_eq!(e.evidence["document"]["outcome"], "error");
    }

    #[test]
    fn passing_checks_below_threshold_decline() {
        // Exact bank outcome but weak per-name scores: passes, yet the mean is 0.9 < 0.95.
        let a = assess(&[dvs(DvsCode::Y), bank(80, 80, NameMatch::Exact)], t(0.95));
        assert_eq!(a.score, 0.9);
        assert_eq!(a.decision, Decision::Declined);
        assert_eq!(a.reasons, vec!["score_below_threshold"]);
        assert_eq!(assess(&[dvs(DvsCode::Y), bank(80, 80, NameMatch::Exact)], t(0.9)).decision, Decision::Approved);
    }

    #[test]
    fn nothing_completed_is_review() {
        let a = assess(&[], t(0.8));
        assert_eq!(a.decision, Decision::Review);
        assert_eq!(a.reasons, vec!["no_steps_completed"]);
    }
}
