//! [`BankData`] over HTTP, for an open-banking (CDR-style) provider or a small adapter a
//! deployer puts in front of theirs.
//!
//! The contract:
//!
//! ```text
//! POST {base_url}/accounts/verify
//! Authorization: Bearer {token}
//! Content-Type: application/json
//!
//! {"bsb": "062000", "account_number": "12345678"}
//! ```
//!
//! - `200` with `{"account": {"holders": [{"name": "Jane Alice Smith"}, {"name": "John Citizen"}],
//!   "display_name": "J A SMITH & J CITIZEN"}}`: one entry per holder, the name as the bank
//!   holds it. `display_name` is optional and only read when `holders` is empty or absent, split
//!   on `&` into one holder each.
//! - `404`: no such account.
//! - `401`/`403`: the token is refused (error outcome `bank_provider_unauthorized`).
//! - other `4xx` except `429`: the request is refused (error outcome `bank_request_rejected`).
//! - `429`, `5xx`, a timeout, or a body that is not the JSON above: retried later.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use url::Url;

use super::{AccountHolder, BankData};
use crate::config::ConfigError;
use crate::domain::BankDetails;
use crate::pipeline::checks::CheckError;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Far more than any holder list; a larger answer is not the provider we were promised.
const MAX_BODY: usize = 64 * 1024;

#[derive(Clone)]
pub struct HttpBankConfig {
    /// The provider's base; `/accounts/verify` is appended to its path.
    pub base_url: Url,
    /// Sent as a bearer token; never logged.
    pub token: String,
    /// For the whole exchange, connection to last byte.
    pub timeout: Duration,
}

impl HttpBankConfig {
    pub fn new(base_url: Url, token: impl Into<String>) -> Self {
        Self { base_url, token: token.into(), timeout: DEFAULT_TIMEOUT }
    }
}

impl std::fmt::Debug for HttpBankConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBankConfig")
            .field("base_url", &self.base_url.as_str())
            .field("token", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

pub struct HttpBankData {
    http: reqwest::Client,
    endpoint: Url,
    token: String,
}

impl std::fmt::Debug for HttpBankData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBankData").field("endpoint", &self.endpoint.as_str()).finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct VerifyRequest<'a> {
    bsb: &'a str,
    account_number: &'a str,
}

#[derive(Deserialize)]
struct VerifyResponse {
    account: Account,
}

#[derive(Deserialize)]
struct Account {
    #[serde(default)]
    holders: Vec<Holder>,
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct Holder {
    name: String,
}

impl HttpBankData {
    pub fn new(config: HttpBankConfig) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { name: "bank provider", reason };
        let mut base = config.base_url;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("the base URL must be http or https".into()));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let endpoint = base.join("accounts/verify").map_err(|e| invalid(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            // A redirect would carry the token somewhere we did not configure.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("TotalIdentity-Bank/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(e.without_url().to_string()))?;
        Ok(Self { http, endpoint, token: config.token })
    }
}

fn transient(reason: impl Into<String>) -> CheckError {
    CheckError::Transient(reason.into())
}

/// The holder names of a 200 answer. Serde's messages can quote values, so none is kept.
fn holders(body: &[u8]) -> Result<AccountHolder, CheckError> {
    let answer: VerifyResponse =
        serde_json::from_slice(body).map_err(|_| transient("bank provider answer is not the documented JSON"))?;
    let mut names: Vec<String> =
        answer.account.holders.into_iter().map(|h| h.name.trim().to_owned()).filter(|n| !n.is_empty()).collect();
    if names.is_empty() {
        let display = answer.account.display_name.unwrap_or_default();
        names = display.split('&').map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect();
    }
    if names.is_empty() {
        return Err(transient("bank provider answer has no holder name"));
    }
    Ok(AccountHolder { names })
}

#[async_trait]
impl BankData for HttpBankData {
    fn name(&self) -> &'static str {
        "http"
    }

    async fn account_holder(&self, account: &BankDetails) -> Result<Option<AccountHolder>, CheckError> {
        let request = VerifyRequest { bsb: &account.bsb, account_number: &account.account_number };
        let response = self
            .http
            .post(self.endpoint.clone())
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&request)
            .send()
            .await
            .map_err(|e| transient(format!("bank provider unreachable: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            let body = response
                .bytes()
                .await
                .map_err(|e| transient(format!("bank provider answer cut short: {}", e.without_url())))?;
            if body.len() > MAX_BODY {
                return Err(transient("bank provider answer is too large"));
            }
            return holders(&body).map(Some);
        }
        tracing::info!(provider = "http", status = status.as_u16(), "bank provider refused the lookup");
        match status {
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(CheckError::Permanent { code: "bank_provider_unauthorized".into() })
            }
            StatusCode::TOO_MANY_REQUESTS => Err(transient("bank provider is throttling")),
            s if s.is_client_error() => Err(CheckError::Permanent { code: "bank_request_rejected".into() }),
            s => Err(transient(format!("bank provider answered {}", s.as_u16()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Json;
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};
    use serde_json::{Value, json};

    const TOKEN: &str = "test-token-5f2a";

    /// Plays the provider: the account number picks the answer.
    async fn provider(headers: HeaderMap, Json(body): Json<Value>) -> Response {
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        if body["bsb"] != "062000" {
            return StatusCode::BAD_REQUEST.into_response();
        }
        let joint = json!({"account": {"holders": [{"name": "Jane Smith"}, {"name": " John Citizen "}],
                                        "display_name": "J SMITH & J CITIZEN"}});
        match body["account_number"].as_str().unwrap_or_default() {
            "11111111" => Json(joint).into_response(),
            "22222222" => Json(json!({"account": {"display_name": "MS JANE SMITH & MR JOHN CITIZEN"}})).into_response(),
            "33333333" => "<html>maintenance</html>".into_response(),
            "44444444" => Json(json!({"account": {"holders": []}})).into_response(),
            "50000000" => StatusCode::BAD_GATEWAY.into_response(),
            "42900000" => StatusCode::TOO_MANY_REQUESTS.into_response(),
            "40300000" => StatusCode::FORBIDDEN.into_response(),
            "77777777" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Json(joint).into_response()
            }
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }

    async fn serve() -> Url {
        let app = axum::Router::new().route("/v1/accounts/verify", axum::routing::post(provider));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Url::parse(&base).unwrap()
    }

    async fn bank(token: &str) -> HttpBankData {
        let config =
            HttpBankConfig { timeout: Duration::from_millis(300), ..HttpBankConfig::new(serve().await, token) };
        HttpBankData::new(config).unwrap()
    }

    async fn lookup(bank: &HttpBankData, number: &str) -> Result<Option<AccountHolder>, CheckError> {
        bank.account_holder(&BankDetails { bsb: "062000".into(), account_number: number.into() }).await
    }

    fn names(holder: Option<AccountHolder>) -> Vec<String> {
        holder.expect("an account").names
    }

    fn permanent_code(result: Result<Option<AccountHolder>, CheckError>) -> String {
        match result {
            Err(CheckError::Permanent { code }) => code,
            other => panic!("expected a permanent error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn found_accounts_give_every_holder_name() {
        let bank = bank(TOKEN).await;
        assert_eq!(names(lookup(&bank, "11111111").await.unwrap()), ["Jane Smith", "John Citizen"]);
        // No holder list: the display name, one holder per `&`.
        assert_eq!(names(lookup(&bank, "22222222").await.unwrap()), ["MS JANE SMITH", "MR JOHN CITIZEN"]);
    }

    #[tokio::test]
    async fn unknown_accounts_are_none() {
        assert_eq!(lookup(&bank(TOKEN).await, "99999999").await.unwrap(), None);
    }

    #[tokio::test]
    async fn refused_credentials_and_requests_are_permanent() {
        assert_eq!(permanent_code(lookup(&bank("wrong").await, "11111111").await), "bank_provider_unauthorized");
        let bank = bank(TOKEN).await;
        assert_eq!(permanent_code(lookup(&bank, "40300000").await), "bank_provider_unauthorized");
        let other_bsb = BankDetails { bsb: "999999".into(), account_number: "11111111".into() };
        let rejected = bank.account_holder(&other_bsb).await;
        assert_eq!(permanent_code(rejected), "bank_request_rejected");
    }

    #[tokio::test]
    async fn provider_trouble_is_transient_and_names_no_data() {
        let bank = bank(TOKEN).await;
        for number in ["50000000", "42900000", "33333333", "44444444", "77777777"] {
            match lookup(&bank, number).await {
                Err(CheckError::Transient(reason)) => {
                    assert!(!reason.contains(number) && !reason.contains("maintenance"), "{reason}")
                }
                other => panic!("{number}: expected transient, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn unreachable_provider_is_transient() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let bank = HttpBankData::new(HttpBankConfig::new(base, TOKEN)).unwrap();
        assert!(matches!(lookup(&bank, "11111111").await, Err(CheckError::Transient(_))));
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let config = HttpBankConfig::new(Url::parse("https://bank.example/api").unwrap(), TOKEN);
        let bank = HttpBankData::new(config.clone()).unwrap();
        assert_eq!(bank.endpoint.as_str(), "https://bank.example/api/accounts/verify");
        assert!(!format!("{config:?}{bank:?}").contains(TOKEN));
        let ftp = HttpBankConfig::new(Url::parse("ftp://bank.example/").unwrap(), TOKEN);
        assert!(HttpBankData::new(ftp).is_err());
    }
}
