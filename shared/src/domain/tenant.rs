//! Tenants: the customers of the service, each with its own keys, origins and defaults.

use serde::{Deserialize, Serialize};

use super::ids::TenantId;
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
