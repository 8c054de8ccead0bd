//! How long a tenant's session records (and their personal data and captures) are kept.

use serde::{Deserialize, Serialize};

use crate::error::Rejection;

const DAY: i64 = 24 * 3600;

/// Whole days, 1..=3650; 30 unless the tenant chose otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct RetentionDays(u16);

impl RetentionDays {
    pub const DEFAULT: RetentionDays = RetentionDays(30);
    pub const MAX: u16 = 3650;

    pub fn new(days: u16) -> Result<Self, Rejection> {
        if (1..=Self::MAX).contains(&days) {
            Ok(Self(days))
        } else {
            Err(Rejection::new("invalid_retention_days", "retention must be 1 to 3650 days"))
        }
    }

    pub fn days(self) -> u16 {
        self.0
    }

    pub const fn seconds(self) -> i64 {
        self.0 as i64 * DAY
    }
}

impl Default for RetentionDays {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u16> for RetentionDays {
    type Error = String;
    fn try_from(days: u16) -> Result<Self, String> {
        Self::new(days).map_err(|r| r.message)
    }
}

impl From<RetentionDays> for u16 {
    fn from(days: RetentionDays) -> u16 {
        days.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_default() {
        assert_eq!(RetentionDays::default().days(), 30);
        assert_eq!(RetentionDays::new(1).unwrap().seconds(), 86_400);
        assert!(RetentionDays::new(3650).is_ok());
        assert_eq!(RetentionDays::new(0).unwrap_err().code, "invalid_retention_days");
        assert!(RetentionDays::new(3651).is_err());
        assert!(serde_json::from_str::<RetentionDays>("0").is_err());
        assert_eq!(serde_json::from_str::<RetentionDays>("90").unwrap().days(), 90);
    }
}
