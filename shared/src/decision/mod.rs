//! Turning step outcomes into a score, a decision and evidence.

pub mod engine;
pub mod outcome;

pub use engine::{Assessment, Decision, assess};
pub use outcome::{CheckOutcome, DocumentRank, DvsCode, NameMatch, Screening, ScreeningHit, StepOutcome, Verdict};
