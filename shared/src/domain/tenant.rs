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
    /// How long its sessions' records, personal data and captures are kept.
    #[serde(default)]
    pub retention: RetentionDays,
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
