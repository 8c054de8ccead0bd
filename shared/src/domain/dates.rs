//! Calendar dates and durations from requests.

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::Rejection;

/// A real calendar date of birth, written `YYYY-MM-DD`, not in the future and not before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BirthDate(NaiveDate);

impl BirthDate {
    /// `now` is unix seconds; "the future" is judged in the furthest-ahead time zone (UTC+14)
    /// so that someone born today anywhere on Earth is accepted.
    pub fn parse(s: &str, now: i64) -> Result<Self, Rejection> {
        let shape_ok = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        let date = if shape_ok { NaiveDate::parse_from_str(s, "%Y-%m-%d").ok() } else { None };
        let Some(date) = date else {
            return Err(Rejection::new("invalid_birth_date", "birth_date must be a real date written YYYY-MM-DD"));
        };
        let latest = DateTime::from_timestamp(now + 14 * 3600, 0).map(|t| t.date_naive()).unwrap_or(NaiveDate::MAX);
        if date > latest {
            return Err(Rejection::new("birth_date_in_future", "birth_date must not be in the future"));
        }
        if date < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) {
            return Err(Rejection::new("invalid_birth_date", "birth_date must be on or after 1900-01-01"));
        }
        Ok(Self(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

impl Serialize for BirthDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.format("%Y-%m-%d"))
    }
}

impl<'de> Deserialize<'de> for BirthDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Stored dates were validated when accepted; only the shape is re-checked here.
        let s = String::deserialize(d)?;
        NaiveDate::parse_from_str(&s, "%Y-%m-%d").map(Self).map_err(serde::de::Error::custom)
    }
}

/// How long a session's journey stays open, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiresIn(u32);

impl ExpiresIn {
    pub const MIN: u32 = 10 * 60;
    pub const MAX: u32 = 7 * 24 * 3600;
    pub const DEFAULT: ExpiresIn = ExpiresIn(48 * 3600);

    pub fn new(seconds: u32) -> Result<Self, Rejection> {
        if (Self::MIN..=Self::MAX).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(Rejection::new(
                "invalid_expires_in",
                "expires_in must be a whole number of seconds from 600 (10 minutes) to 604800 (7 days)",
            ))
        }
    }

    pub fn seconds(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000; // 2025-11-24T16:00:00Z

    #[test]
    fn birth_dates_must_be_real_and_past() {
        assert!(BirthDate::parse("1990-01-31", NOW).is_ok());
        assert!(BirthDate::parse("2000-02-29", NOW).is_ok());
        for bad in ["1990-02-30", "1990-13-01", "1990-1-31", "31/01/1990", "1990-01-31T00:00:00Z", "", "1899-12-31"] {
            assert_eq!(BirthDate::parse(bad, NOW).unwrap_err().code, "invalid_birth_date", "{bad}");
        }
        assert_eq!(BirthDate::parse("2025-11-26", NOW).unwrap_err().code, "birth_date_in_future");
        // Already the 25th in Kiribati at 16:00 UTC on the 24th.
        assert!(BirthDate::parse("2025-11-25", NOW).is_ok());
    }

    #[test]
    fn expiry_is_bounded() {
        assert!(ExpiresIn::new(600).is_ok());
        assert!(ExpiresIn::new(599).is_err());
        assert!(ExpiresIn::new(604_801).is_err());
    }
}
