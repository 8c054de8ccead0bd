//! [`DvsGateway`] over HTTP, for a DVS gateway service provider or a small adapter a deployer
//! puts in front of theirs.
//!
//! The contract:
//!
//! ```text
//! POST {url}
//! Authorization: Basic base64({client_id}:{client_secret})   (client credentials), or
//! X-API-Key: {api_key}                                        (an API key)
//! Content-Type: application/json
//!
//! {the body described in `dvs::body`}
//! ```
//!
//! - `200` with `{"verification_result_code": "Y" | "N" | "D" | "S"}`.
//! - `S` (the service failed), `429`, `5xx`, a timeout or no connection: the lookup is tried
//!   again after each of `retry_delays` (±25% jitter), then handed back to the queue as
//!   transient. `D` is answered as `D`, for review.
//! - any other `4xx`: the request is refused (error outcome `dvs_request_rejected`).
//! - a `200` whose body is not the JSON above: transient, without retrying here.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{DvsGateway, DvsRequest, request_body};
use crate::config::ConfigError;
use crate::decision::DvsCode;
use crate::pipeline::checks::CheckError;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(800)];
const MAX_BODY: usize = 16 * 1024;

/// How the gateway knows us; never logged.
#[derive(Clone)]
pub enum DvsCredentials {
    /// Sent as HTTP Basic authentication.
    ClientSecret { client_id: String, client_secret: String },
    /// Sent as `X-API-Key`.
    ApiKey(String),
}

impl std::fmt::Debug for DvsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DvsCredentials::ClientSecret { .. } => "ClientSecret(<redacted>)",
            DvsCredentials::ApiKey(_) => "ApiKey(<redacted>)",
        })
    }
}

#[derive(Debug, Clone)]
pub struct HttpDvsConfig {
    pub url: Url,
    pub credentials: DvsCredentials,
    /// For each attempt, connection to last byte.
    pub timeout: Duration,
    /// The waits between attempts: one more attempt than there are delays.
    pub retry_delays: Vec<Duration>,
}

impl HttpDvsConfig {
    /// Ten-second attempts, three of them, 200 ms and 800 ms apart.
    pub fn new(url: Url, credentials: DvsCredentials) -> Self {
        Self { url, credentials, timeout: DEFAULT_TIMEOUT, retry_delays: DEFAULT_RETRY_DELAYS.to_vec() }
    }
}

#[derive(Debug)]
pub struct HttpDvsGateway {
    http: reqwest::Client,
    config: HttpDvsConfig,
}

/// What one attempt came to, short of an error that ends the lookup.
enum Attempt {
    Answer(DvsCode),
    /// Worth another try; the reason names no personal data.
    Again(String),
}

#[derive(Deserialize)]
struct Answer {
    verification_result_code: String,
}

impl HttpDvsGateway {
    pub fn new(config: HttpDvsConfig) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { name: "dvs gateway", reason };
        if !matches!(config.url.scheme(), "http" | "https") {
            return Err(invalid("the URL must be http or https".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            // A redirect would carry the credentials somewhere we did not configure.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("TotalIdentity-DVS/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(e.without_url().to_string()))?;
        Ok(Self { http, config })
    }

    async fn attempt(&self, body: &Value) -> Result<Attempt, CheckError> {
        let request = self.http.post(self.config.url.clone()).header(reqwest::header::ACCEPT, "application/json");
        let request = match &self.config.credentials {
            DvsCredentials::ClientSecret { client_id, client_secret } => {
                request.basic_auth(client_id, Some(client_secret))
            }
            DvsCredentials::ApiKey(key) => request.header("x-api-key", key),
        };
        let response = match request.json(body).send().await {
            Ok(response) => response,
            Err(e) => return Ok(Attempt::Again(format!("no answer: {}", e.without_url()))),
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Ok(Attempt::Again(format!("answered {}", status.as_u16())));
        }
        if !status.is_success() {
            tracing::warn!(status = status.as_u16(), "dvs gateway refused the request");
            return Err(CheckError::Permanent { code: "dvs_request_rejected".into() });
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return Ok(Attempt::Again(format!("answer cut short: {}", e.without_url()))),
        };
        let malformed = || CheckError::Transient("dvs gateway answer is not the documented JSON".into());
        if body.len() > MAX_BODY {
            return Err(malformed());
        }
        // Serde's messages can quote the body, so none is kept.
        let answer: Answer = serde_json::from_slice(&body).map_err(|_| malformed())?;
        Ok(match answer.verification_result_code.as_str() {
            "Y" => Attempt::Answer(DvsCode::Y),
            "N" => Attempt::Answer(DvsCode::N),
            "D" => Attempt::Answer(DvsCode::D),
            "S" => Attempt::Again("answered S (service error)".into()),
            _ => return Err(malformed()),
        })
    }
}

/// `delay` spread by ±25%, so lookups that failed together do not retry together.
fn jittered(delay: Duration) -> Duration {
    delay.mul_f64(0.75 + rand::random::<f64>() / 2.0)
}

#[async_trait]
impl DvsGateway for HttpDvsGateway {
    fn name(&self) -> &'static str {
        "http"
    }

    async fn verify(&self, request: &DvsRequest<'_>) -> Result<DvsCode, CheckError> {
        let body = request_body(request)?;
        let document = request.details.document_type.as_str();
        let attempts = self.config.retry_delays.len() + 1;
        let mut delays = self.config.retry_delays.iter();
        let mut reason = String::new();
        for attempt in 1..=attempts {
            match self.attempt(&body).await? {
                Attempt::Answer(code) => return Ok(code),
                Attempt::Again(why) => reason = why,
            }
            tracing::info!(document, attempt, reason = %reason, "dvs lookup failed");
            if let Some(delay) = delays.next() {
                tokio::time::sleep(jittered(*delay)).await;
            }
        }
        Err(CheckError::Transient(format!("dvs gateway gave no answer in {attempts} attempts; last: {reason}")))
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
