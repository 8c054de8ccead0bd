//! Tenants: the customers of the service, each with its own keys, origins and defaults.

use serde::{Deserialize, Serialize};

use super::ids::TenantId;
use super::retention::RetentionDays;
use super::steps::{Step, Steps, Threshold};
use super::urls::{RedirectUrl, WebhookUrl};

/// A customer account. Sessions belong to exactly one tenant and are invisible to others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// Origins (`scheme://host[:port]`) that `redirect_url` may point at.
    pub redirect_origins: Vec<String>,
    pub webhook_url: Option<WebhookUrl>,
    /// Standard Webhooks signing secret (`whsec_...`); needed in clear to sign.
    pub webhook_secret: String,
    pub default_steps: Steps,
    pub default_threshold: Threshold,
    pub created_at: i64,
    /// How result tokens for this tenant are signed.
    #[serde(default)]
    pub result_signing: ResultSigning,
    /// Token bucket for `POST /identity`; tenants stored before limits existed get the default.
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// How long its sessions' records, personal data and captures are kept.
    #[serde(default)]
    pub retention: RetentionDays,
}

/// A per-tenant token bucket: up to `burst` requests at once, refilled at `per_sec`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRateLimit")]
pub struct RateLimit {
    burst: u32,
    per_sec: f64,
}

#[derive(Deserialize)]
struct RawRateLimit {
    burst: u32,
    per_sec: f64,
}

impl TryFrom<RawRateLimit> for RateLimit {
    type Error = String;

    fn try_from(raw: RawRateLimit) -> Result<Self, String> {
        RateLimit::new(raw.burst, raw.per_sec).map_err(|r| r.message)
    }
}

impl RateLimit {
    pub const MAX_BURST: u32 = 1_000_000;
    pub const MIN_PER_SEC: f64 = 0.001;
    pub const MAX_PER_SEC: f64 = 1_000_000.0;
    /// 20 at once, 5 a second after that.
    pub const DEFAULT: RateLimit = RateLimit { burst: 20, per_sec: 5.0 };
    /// The local demo tenant's: high enough that examples and local load tests are never limited.
    pub const DEMO: RateLimit = RateLimit { burst: 100_000, per_sec: 100_000.0 };

    pub fn new(burst: u32, per_sec: f64) -> Result<Self, crate::error::Rejection> {
        if !(1..=Self::MAX_BURST).contains(&burst) {
            return Err(crate::error::Rejection::new("invalid_rate_limit", "burst must be from 1 to 1000000"));
        }
        if !(per_sec.is_finite() && (Self::MIN_PER_SEC..=Self::MAX_PER_SEC).contains(&per_sec)) {
            return Err(crate::error::Rejection::new(
                "invalid_rate_limit",
                "the refill rate must be from 0.001 to 1000000 a second",
            ));
        }
        Ok(Self { burst, per_sec })
    }

    pub const fn burst(&self) -> u32 {
        self.burst
    }

    pub const fn per_sec(&self) -> f64 {
        self.per_sec
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// ES256 with our published keys (the default), or HS256 with a secret shared with the tenant.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "alg", rename_all = "UPPERCASE")]
pub enum ResultSigning {
    #[default]
    Es256,
    /// `secret` is base64url of at least 32 random bytes.
    Hs256 { secret: String },
}

impl std::fmt::Debug for ResultSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResultSigning::Es256 => f.write_str("Es256"),
            ResultSigning::Hs256 { .. } => f.write_str("Hs256 { secret: .. }"),
        }
    }
}

impl ResultSigning {
    /// A new HS256 secret: 256 random bits, base64url.
    pub fn generate_hs256() -> Self {
        use base64::Engine;
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        ResultSigning::Hs256 { secret: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key) }
    }
}

impl Tenant {
    pub fn allows_redirect(&self, url: &RedirectUrl) -> bool {
        let origin = url.origin();
        self.redirect_origins.contains(&origin)
    }

    pub fn standard_steps() -> Steps {
        Steps::new(vec![Step::Document, Step::Liveness]).expect("two distinct steps")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_hold_only_usable_values() {
        assert!(RateLimit::new(0, 1.0).is_err());
        assert!(RateLimit::new(1, 0.0).is_err());
        assert!(RateLimit::new(1, 0.0001).is_err());
        assert!(RateLimit::new(1, f64::NAN).is_err());
        assert!(RateLimit::new(RateLimit::MAX_BURST + 1, 1.0).is_err());
        let limit = RateLimit::new(3, 0.5).unwrap();
        assert_eq!((limit.burst(), limit.per_sec()), (3, 0.5));
        let stored = serde_json::to_string(&limit).unwrap();
        assert_eq!(serde_json::from_str::<RateLimit>(&stored).unwrap(), limit);
        assert!(serde_json::from_str::<RateLimit>(r#"{"burst":0,"per_sec":1.0}"#).is_err());
    }
}
