//! Tenants: the customers of the service, each with its own keys, origins and defaults.

use serde::{Deserialize, Serialize};

use url::Url;

use super::ids::TenantId;
use super::retention::RetentionDays;
use super::steps::{Step, Steps, Threshold};
use super::urls::{RedirectUrl, UrlPolicy, WebhookUrl, origin_of, parse_web_url};
use crate::error::Rejection;

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
    /// How the hosted journey presents this tenant.
    #[serde(default)]
    pub branding: Branding,
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

    /// The name the journey shows: the branding's display name, else the account name.
    pub fn display_name(&self) -> &str {
        self.branding.display_name.as_ref().map_or(&self.name, DisplayName::as_str)
    }

    pub fn standard_steps() -> Steps {
        Steps::new(vec![Step::Document, Step::Liveness]).expect("two distinct steps")
    }
}

/// How the hosted journey looks for a tenant's users. Every part is optional: the journey
/// falls back to the tenant's name and the default palette.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// Shown instead of the tenant's account name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<DisplayName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<LogoUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_colour: Option<Colour>,
}

/// A name for people to read: 1 to 60 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(s: &str) -> Result<Self, Rejection> {
        let s = s.trim();
        if s.is_empty() || s.chars().count() > 60 || s.chars().any(char::is_control) {
            return Err(Rejection::new(
                "invalid_display_name",
                "the display name must be 1 to 60 printable characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).map_err(|r| r.message)
    }
}

impl From<DisplayName> for String {
    fn from(n: DisplayName) -> String {
        n.0
    }
}

/// Where the journey loads the tenant's logo from: https (or http://localhost locally).
/// The page's Content-Security-Policy admits this URL's origin for images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogoUrl(Url);

impl LogoUrl {
    pub fn parse(s: &str, policy: UrlPolicy) -> Result<Self, Rejection> {
        parse_web_url(s, policy, "invalid_logo_url", "the logo URL").map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn origin(&self) -> String {
        origin_of(&self.0)
    }
}

/// An sRGB colour written `#rrggbb` (stored lower-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Colour([u8; 3]);

/// WCAG 2 AA for normal text.
pub const MIN_TEXT_CONTRAST: f64 = 4.5;

impl Colour {
    pub const WHITE: Colour = Colour([255, 255, 255]);
    pub const BLACK: Colour = Colour([0, 0, 0]);

    pub fn parse(s: &str) -> Result<Self, Rejection> {
        let bad = || Rejection::new("invalid_colour", "the colour must be written #rrggbb, e.g. #0a5cff");
        let hex = s.trim().strip_prefix('#').filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        let hex = hex.ok_or_else(bad)?;
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        Ok(Colour([channel(0)?, channel(2)?, channel(4)?]))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }

    /// WCAG relative luminance, 0 (black) to 1 (white).
    pub fn luminance(self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * linear(self.0[0]) + 0.7152 * linear(self.0[1]) + 0.0722 * linear(self.0[2])
    }

    /// WCAG contrast ratio, 1 to 21.
    pub fn contrast(self, other: Colour) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// Text on a background of this colour: white or black, whichever contrasts more (every
    /// colour reaches at least 4.58:1 with one of them).
    pub fn text_colour(self) -> Colour {
        if self.contrast(Colour::WHITE) >= self.contrast(Colour::BLACK) { Colour::WHITE } else { Colour::BLACK }
    }

    /// This colour, darkened until it reaches AA contrast as text on white (links, focus rings).
    pub fn on_white(self) -> Colour {
        let mut c = self;
        while c.contrast(Colour::WHITE) < MIN_TEXT_CONTRAST {
            c = Colour(c.0.map(|v| (f64::from(v) * 0.9) as u8));
        }
        c
    }
}

impl TryFrom<String> for Colour {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).map_err(|r| r.message)
    }
}

impl From<Colour> for String {
    fn from(c: Colour) -> String {
        c.hex()
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

    #[test]
    fn colours_parse_only_as_rrggbb() {
        assert_eq!(Colour::parse("#0A5CFF").unwrap().hex(), "#0a5cff");
        for bad in ["0a5cff", "#0a5cf", "#0a5cffa", "#ggg000", "red", "", "#fff"] {
            assert_eq!(Colour::parse(bad).unwrap_err().code, "invalid_colour", "{bad}");
        }
        let stored: Colour = serde_json::from_str("\"#112233\"").unwrap();
        assert_eq!(serde_json::to_string(&stored).unwrap(), "\"#112233\"");
        assert!(serde_json::from_str::<Colour>("\"#11223\"").is_err(), "stored values are re-validated");
    }

    #[test]
    fn text_on_a_brand_colour_always_reaches_aa() {
        assert_eq!(Colour::parse("#0a2540").unwrap().text_colour(), Colour::WHITE);
        assert_eq!(Colour::parse("#ffd400").unwrap().text_colour(), Colour::BLACK);
        for v in (0..=255).step_by(15) {
            for c in
                [Colour([v, 0, 0]), Colour([0, v, 0]), Colour([0, 0, v]), Colour([v, v, v]), Colour([v, 128, 255 - v])]
            {
                assert!(c.contrast(c.text_colour()) >= MIN_TEXT_CONTRAST, "{}", c.hex());
                assert!(c.on_white().contrast(Colour::WHITE) >= MIN_TEXT_CONTRAST, "{}", c.hex());
            }
        }
        let dark = Colour::parse("#0a2540").unwrap();
        assert_eq!(dark.on_white(), dark, "an already dark colour is kept");
    }

    #[test]
    fn branding_parts_are_validated() {
        assert!(DisplayName::parse("Acme Bank").is_ok());
        assert!(DisplayName::parse("  ").is_err());
        assert!(DisplayName::parse(&"x".repeat(61)).is_err());
        assert!(LogoUrl::parse("https://cdn.acme.com/logo.svg", UrlPolicy::HttpsOnly).is_ok());
        assert!(LogoUrl::parse("http://cdn.acme.com/logo.svg", UrlPolicy::HttpsOnly).is_err());
        assert!(LogoUrl::parse("javascript:alert(1)", UrlPolicy::AllowHttpLocalhost).is_err());
        assert!(LogoUrl::parse("http://localhost:3000/logo.png", UrlPolicy::AllowHttpLocalhost).is_ok());
        let old_tenant: Branding = serde_json::from_str("{}").unwrap();
        assert_eq!(old_tenant, Branding::default());
    }
}
