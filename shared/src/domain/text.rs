//! Validated text values: references, person names, locales, metadata.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Rejection;

/// Characters that are invisible or reorder text; never allowed in names or references.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || is_invisible(c))
}

/// The customer's own reference for a session (e.g. their user id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(String);

impl Reference {
    pub const MAX_CHARS: usize = 128;

    pub fn parse(s: &str) -> Result<Self, Rejection> {
        if s.trim().is_empty() {
            return Err(Rejection::new("invalid_reference", "reference must not be empty"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(Rejection::new("invalid_reference", "reference must be at most 128 characters"));
        }
        if has_control(s) {
            return Err(Rejection::new("invalid_reference", "reference must not contain control characters"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A given or family name as typed by a person: trimmed, 1..=100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(s: &str) -> Result<Self, Rejection> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(Rejection::new("invalid_name", "name must not be empty"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(Rejection::new("invalid_name", "name must be at most 100 characters"));
        }
        if has_control(trimmed) {
            return Err(Rejection::new("invalid_name", "name must not contain control or invisible characters"));
        }
        if !trimmed.chars().any(char::is_alphabetic) {
            return Err(Rejection::new("invalid_name", "name must contain at least one letter"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A BCP 47 language tag such as `en` or `en-AU`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    pub fn parse(s: &str) -> Result<Self, Rejection> {
        let bad = || Rejection::new("invalid_locale", "locale must be a language tag such as `en` or `en-AU`");
        if s.len() > 35 {
            return Err(bad());
        }
        let mut parts = s.split('-');
        let language = parts.next().unwrap_or_default();
        if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(bad());
        }
        for part in parts {
            if !(1..=8).contains(&part.len()) || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(bad());
            }
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A small map of the customer's own strings, echoed back in results and webhooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, String>", into = "BTreeMap<String, String>")]
pub struct Metadata(BTreeMap<String, String>);

impl Metadata {
    pub const MAX_KEYS: usize = 20;
    pub const MAX_KEY_CHARS: usize = 40;
    pub const MAX_VALUE_CHARS: usize = 500;

    /// Checks one entry; the error names the key so the parser can report `metadata.<key>`.
    pub fn check_entry(key: &str, value: &str) -> Result<(), Rejection> {
        let key_ok = !key.is_empty()
            && key.len() <= Self::MAX_KEY_CHARS
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !key_ok {
            return Err(Rejection::new(
                "invalid_metadata",
                "metadata keys are 1 to 40 characters of A-Z, a-z, 0-9, `_`, `-` and `.`",
            ));
        }
        if value.chars().count() > Self::MAX_VALUE_CHARS || has_control(value) {
            return Err(Rejection::new(
                "invalid_metadata",
                "metadata values are strings of at most 500 characters without control characters",
            ));
        }
        Ok(())
    }

    pub fn from_entries(entries: BTreeMap<String, String>) -> Result<Self, Rejection> {
        if entries.len() > Self::MAX_KEYS {
            return Err(Rejection::new("invalid_metadata", "metadata holds at most 20 keys"));
        }
        for (k, v) in &entries {
            Self::check_entry(k, v)?;
        }
        Ok(Self(entries))
    }

    pub fn entries(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

macro_rules! string_conversions {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s).map_err(|r| r.message)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    )*};
}
string_conversions!(Reference, PersonName, Locale);

impl TryFrom<BTreeMap<String, String>> for Metadata {
    type Error = String;
    fn try_from(m: BTreeMap<String, String>) -> Result<Self, String> {
        Self::from_entries(m).map_err(|r| r.message)
    }
}

impl From<Metadata> for BTreeMap<String, String> {
    fn from(m: Metadata) -> Self {
        m.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Jane ").unwrap().as_str(), "Jane");
        assert_eq!(PersonName::parse("Zoë-Ann O'Brien").unwrap().as_str(), "Zoë-Ann O'Brien");
        assert!(PersonName::parse(&"a".repeat(100)).is_ok());
        assert_eq!(PersonName::parse(&"a".repeat(101)).unwrap_err().code, "invalid_name");
        assert!(PersonName::parse("Ja\u{0}ne").is_err());
        assert!(PersonName::parse("Ja\nne").is_err());
        assert!(PersonName::parse("Jane\u{202E}").is_err());
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse("123").is_err());
    }

    #[test]
    fn references_reject_control_and_length() {
        assert!(Reference::parse("cust_00123").is_ok());
        assert!(Reference::parse("").is_err());
        assert!(Reference::parse("a\tb").is_err());
        assert!(Reference::parse(&"r".repeat(129)).is_err());
    }

    #[test]
    fn locales_are_language_tags() {
        for ok in ["en", "en-AU", "zh-Hant-TW", "fil"] {
            assert!(Locale::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "E", "english", "en_AU", "en-", "EN"] {
            assert!(Locale::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_bounds() {
        let ok: BTreeMap<_, _> = [("plan".to_owned(), "gold".to_owned())].into();
        assert!(Metadata::from_entries(ok).is_ok());
        let too_many: BTreeMap<_, _> = (0..21).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        assert!(Metadata::from_entries(too_many).is_err());
        assert!(Metadata::check_entry("bad key", "v").is_err());
        assert!(Metadata::check_entry("k", &"v".repeat(501)).is_err());
    }
}
