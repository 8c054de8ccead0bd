//! Identifiers and secrets. Secrets are random, at least 128 bits, and only their
//! SHA-256 digests are used as storage keys.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Rejection;

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Lowercase hex SHA-256 of a secret; what the stores keep instead of the secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A session's public id: a random UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(uuid::Uuid);

impl SessionId {
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// Accepts only the canonical hyphenated form, so one session has one spelling.
    pub fn parse(s: &str) -> Result<Self, Rejection> {
        let id = uuid::Uuid::try_parse(s)
            .ok()
            .filter(|u| u.hyphenated().to_string() == s)
            .ok_or_else(|| Rejection::new("invalid_session_id", "session ids are lowercase hyphenated UUIDs"))?;
        Ok(Self(id))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A tenant's id, `ten_` followed by 20 hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    pub fn random() -> Self {
        let mut buf = [0u8; 10];
        rand::rng().fill_bytes(&mut buf);
        Self(format!("ten_{}", hex::encode(buf)))
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The secret in a journey URL (256 bits). It authorises the end user's browser for one session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JourneySecret(String);

impl JourneySecret {
    pub fn random() -> Self {
        Self(random_token(32))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

impl fmt::Debug for JourneySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JourneySecret(..)")
    }
}

/// Whether a key works against sandbox providers or real ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyMode {
    Test,
    Live,
}

/// An API key as shown once to its owner: `ti_live_...` or `ti_test_...` with 256 random bits.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn generate(mode: KeyMode) -> Self {
        let prefix = match mode {
            KeyMode::Test => "ti_test_",
            KeyMode::Live => "ti_live_",
        };
        Self(format!("{prefix}{}", random_token(32)))
    }

    /// A key presented by a client. Anything not shaped like a key is refused before any lookup.
    pub fn presented(s: &str) -> Option<Self> {
        let well_formed = (s.starts_with("ti_test_") || s.starts_with("ti_live_"))
            && (16..=128).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        well_formed.then(|| Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash(digest(&self.0))
    }

    /// The first characters, safe to show in listings and logs.
    pub fn hint(&self) -> String {
        self.0.chars().take(12).collect()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}..)", self.hint())
    }
}

/// SHA-256 of an API key. Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's `Idempotency-Key` header: 1..=255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(s: &str) -> Result<Self, Rejection> {
        if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Rejection::new(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 printable ASCII characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

/// A Standard Webhooks signing secret, `whsec_` followed by base64 of 32 random bytes.
pub fn new_webhook_secret() -> String {
    let mut buf = [0u8; 32];
    rand::rng().fill_bytes(&mut buf);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_presentation_and_hash() {
        let key = ApiKey::generate(KeyMode::Live);
        assert!(key.expose().starts_with("ti_live_"));
        assert!(key.expose().len() >= 8 + 43);
        let again = ApiKey::presented(key.expose()).unwrap();
        assert_eq!(again.hash(), key.hash());
        assert_ne!(key.hash().as_str(), key.expose());
        assert!(ApiKey::presented("Bearer x").is_none());
        assert!(ApiKey::presented("ti_live_short").is_none());
        assert!(!format!("{key:?}").contains(&key.expose()[12..]));
    }

    #[test]
    fn journey_secrets_are_long_and_distinct() {
        let a = JourneySecret::random();
        let b = JourneySecret::random();
        assert_ne!(a, b);
        assert!(a.expose().len() >= 43);
        assert_eq!(format!("{a:?}"), "JourneySecret(..)");
    }

    #[test]
    fn session_ids_have_one_spelling() {
        let id = SessionId::random();
        assert_eq!(SessionId::parse(&id.to_string()).unwrap(), id);
        assert!(SessionId::parse(&id.to_string().to_uppercase()).is_err());
        assert!(SessionId::parse("not-a-uuid").is_err());
    }

    #[test]
    fn idempotency_keys_are_printable() {
        assert!(IdempotencyKey::parse("order-42").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
