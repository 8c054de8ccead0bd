//! The checks a session runs, and the numbers that tune its decision.

use serde::{Deserialize, Serialize};

use crate::error::Rejection;

/// One verification check a customer can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Document,
    Liveness,
    Dvs,
    Peps,
    Bank,
}

impl Step {
    pub const ALL: [Step; 5] = [Step::Document, Step::Liveness, Step::Dvs, Step::Peps, Step::Bank];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Document => "document",
            Step::Liveness => "liveness",
            Step::Dvs => "dvs",
            Step::Peps => "peps",
            Step::Bank => "bank",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Rejection> {
        Self::ALL.into_iter().find(|step| step.as_str() == s).ok_or_else(|| {
            Rejection::new(
                "unknown_step",
                format!("unknown step `{s}`; known steps: document, liveness, dvs, peps, bank"),
            )
        })
    }
}

/// A non-empty list of distinct steps, in the order the customer asked for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Step>", into = "Vec<Step>")]
pub struct Steps(Vec<Step>);

impl Steps {
    pub fn new(steps: Vec<Step>) -> Result<Self, Rejection> {
        if steps.is_empty() {
            return Err(Rejection::new("empty_steps", "at least one step is required"));
        }
        for (i, step) in steps.iter().enumerate() {
            if steps[..i].contains(step) {
                return Err(Rejection::new("duplicate_step", format!("step `{}` is listed twice", step.as_str())));
            }
        }
        Ok(Self(steps))
    }

    pub fn as_slice(&self) -> &[Step] {
        &self.0
    }

    pub fn contains(&self, step: Step) -> bool {
        self.0.contains(&step)
    }
}

impl TryFrom<Vec<Step>> for Steps {
    type Error = String;
    fn try_from(v: Vec<Step>) -> Result<Self, String> {
        Self::new(v).map_err(|r| r.message)
    }
}

impl From<Steps> for Vec<Step> {
    fn from(s: Steps) -> Self {
        s.0
    }
}

/// The score at or above which a session is approved; a finite number in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Threshold(f64);

impl Threshold {
    pub const DEFAULT: Threshold = Threshold(0.8);

    pub fn new(v: f64) -> Result<Self, Rejection> {
        if v.is_finite() && (0.0..=1.0).contains(&v) {
            Ok(Self(v))
        } else {
            Err(Rejection::new("invalid_threshold", "threshold must be a number from 0 to 1"))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Threshold {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        Self::new(v).map_err(|r| r.message)
    }
}

impl From<Threshold> for f64 {
    fn from(t: Threshold) -> f64 {
        t.0
    }
}

/// The minimum age in whole years the person must have reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct MinAge(u32);

impl MinAge {
    pub const MAX: u32 = 125;

    pub fn new(v: u32) -> Result<Self, Rejection> {
        if (1..=Self::MAX).contains(&v) {
            Ok(Self(v))
        } else {
            Err(Rejection::new("invalid_min_age", "min_age must be a whole number of years from 1 to 125"))
        }
    }

    pub fn years(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for MinAge {
    type Error = String;
    fn try_from(v: u32) -> Result<Self, String> {
        Self::new(v).map_err(|r| r.message)
    }
}

impl From<MinAge> for u32 {
    fn from(m: MinAge) -> u32 {
        m.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_must_be_known_distinct_and_present() {
        assert_eq!(Step::parse("dvs").unwrap(), Step::Dvs);
        assert_eq!(Step::parse("selfie").unwrap_err().code, "unknown_step");
        assert_eq!(Steps::new(vec![]).unwrap_err().code, "empty_steps");
        assert_eq!(Steps::new(vec![Step::Dvs, Step::Dvs]).unwrap_err().code, "duplicate_step");
        let s = Steps::new(vec![Step::Liveness, Step::Document]).unwrap();
        assert_eq!(s.as_slice(), &[Step::Liveness, Step::Document]);
    }

    #[test]
    fn threshold_is_a_unit_interval() {
        assert!(Threshold::new(0.0).is_ok());
        assert!(Threshold::new(1.0).is_ok());
        assert!(Threshold::new(1.0001).is_err());
        assert!(Threshold::new(-0.1).is_err());
        assert!(Threshold::new(f64::NAN).is_err());
    }

    #[test]
    fn min_age_is_bounded() {
        assert!(MinAge::new(18).is_ok());
        assert!(MinAge::new(0).is_err());
        assert!(MinAge::new(126).is_err());
    }
}
