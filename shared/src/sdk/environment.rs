//! The SDK configuration from the process environment alone, which is how Lambda hands a
//! function its region and its role's credentials.
//!
//! The SDK's own loader (aws-config) also resolves profiles, SSO, web identity, containers and
//! instance metadata. A function never needs them, and linking and starting them was a
//! measurable part of every cold start (README "Cold start"). The settings read here keep the
//! SDK's names and meanings; anything else is left to the service clients' defaults (standard
//! retries, a 3.1 s connect timeout).

use std::collections::HashMap;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::config::ConfigError;

const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// The SDK settings a function reads from its environment.
#[derive(Debug)]
pub struct AwsEnvironment {
    region: Region,
    credentials: Credentials,
    endpoint_url: Option<String>,
    services: ServiceSettings,
    use_fips: Option<bool>,
    use_dual_stack: Option<bool>,
    retry: Option<RetryConfig>,
}

impl AwsEnvironment {
    /// Reads, from `vars`:
    /// - `AWS_REGION` (else `AWS_DEFAULT_REGION`);
    /// - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, for a role's session,
    ///   `AWS_SESSION_TOKEN`;
    /// - `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_<SERVICE>` (both ignored
    ///   when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`);
    /// - `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`;
    /// - `AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE` (`standard` or `adaptive`).
    ///
    /// A missing region or key, or a value the SDK would not accept, is an error here rather
    /// than a failed request later.
    pub fn parse(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let region =
            get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")).ok_or(ConfigError::Missing("AWS_REGION"))?;
        let key = get("AWS_ACCESS_KEY_ID").ok_or(ConfigError::Missing("AWS_ACCESS_KEY_ID"))?;
        let secret = get("AWS_SECRET_ACCESS_KEY").ok_or(ConfigError::Missing("AWS_SECRET_ACCESS_KEY"))?;
        let credentials =
            Credentials::new(key, secret, get("AWS_SESSION_TOKEN").map(str::to_owned), None, "environment");
        let use_fips = flag(get("AWS_USE_FIPS_ENDPOINT"), "AWS_USE_FIPS_ENDPOINT")?;
        let use_dual_stack = flag(get("AWS_USE_DUALSTACK_ENDPOINT"), "AWS_USE_DUALSTACK_ENDPOINT")?;
        let retry = retry(get("AWS_MAX_ATTEMPTS"), get("AWS_RETRY_MODE"))?;
        let ignore_endpoints =
            flag(get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.unwrap_or(false);
        let endpoint_url = match get(ENDPOINT_URL) {
            Some(url) if !ignore_endpoints => Some(endpoint(ENDPOINT_URL, url)?),
            _ => None,
        };
        let services = ServiceSettings::from_vars(&vars, ignore_endpoints)?;
        Ok(AwsEnvironment {
            region: Region::new(region.to_owned()),
            credentials,
            endpoint_url,
            services,
            use_fips,
            use_dual_stack,
            retry,
        })
    }

    /// The configuration every service client is built from, on `http`.
    pub fn sdk_config(self, http: SharedHttpClient) -> SdkConfig {
        let mut builder = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(self.region)
            .credentials_provider(SharedCredentialsProvider::new(self.credentials))
            .http_client(http)
            .service_config(self.services);
        builder.set_endpoint_url(self.endpoint_url);
        builder.set_use_fips(self.use_fips);
        builder.set_use_dual_stack(self.use_dual_stack);
        builder.set_retry_config(self.retry);
        builder.build()
    }
}

/// The process's environment as [`AwsEnvironment::parse`] reads it, with an HTTPS client
/// trusting the roots `TI_TLS_ROOTS` names.
pub fn from_env() -> Result<SdkConfig, ConfigError> {
    let vars = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let environment = AwsEnvironment::parse(vars.collect())?;
    Ok(environment.sdk_config(super::https_client(super::TlsRoots::from_env()?)))
}

fn flag(value: Option<&str>, name: &'static str) -> Result<Option<bool>, ConfigError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ConfigError::Invalid { name, reason: "must be true or false".into() }),
    }
}

fn retry(max_attempts: Option<&str>, mode: Option<&str>) -> Result<Option<RetryConfig>, ConfigError> {
    let config = match mode {
        None if max_attempts.is_none() => return Ok(None),
        None | Some("standard") => RetryConfig::standard(),
        Some("adaptive") => RetryConfig::adaptive(),
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "AWS_RETRY_MODE",
                reason: format!("{other:?} is not standard or adaptive"),
            });
        }
    };
    let Some(attempts) = max_attempts else { return Ok(Some(config)) };
    match attempts.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(Some(config.with_max_attempts(n))),
        _ => Err(ConfigError::Invalid { name: "AWS_MAX_ATTEMPTS", reason: "must be a whole number from 1".into() }),
    }
}

/// An endpoint URL, checked here so a typo fails the cold start rather than every request.
fn endpoint(name: &str, url: &str) -> Result<String, ConfigError> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(url.to_owned()),
        _ => Err(ConfigError::Invalid { name: ENDPOINT_URL, reason: format!("{name} is not an http(s) URL") }),
    }
}

/// Per-service settings, such as `AWS_ENDPOINT_URL_DYNAMODB`: the SDK asks for a setting's
/// variable and its service id, and the service's own variable wins over the global one.
/// Credentials are not kept here, and `Debug` shows names only, since the SDK configuration
/// that holds this can be printed.
struct ServiceSettings {
    vars: HashMap<String, String>,
    ignore_endpoints: bool,
}

impl ServiceSettings {
    fn from_vars(vars: &HashMap<String, String>, ignore_endpoints: bool) -> Result<Self, ConfigError> {
        let mut kept = HashMap::new();
        let secret = |name: &str| ["SECRET", "TOKEN", "ACCESS_KEY"].iter().any(|part| name.contains(part));
        for (name, value) in vars.iter().filter(|(name, value)| name.starts_with("AWS_") && !value.is_empty()) {
            if secret(name) {
                continue;
            }
            if name.starts_with(ENDPOINT_URL) && name != ENDPOINT_URL {
                if ignore_endpoints {
                    continue;
                }
                endpoint(name, value)?;
            }
            kept.insert(name.clone(), value.clone());
        }
        Ok(ServiceSettings { vars: kept, ignore_endpoints })
    }
}

impl std::fmt::Debug for ServiceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.vars.keys().collect();
        names.sort();
        f.debug_struct("ServiceSettings")
            .field("names", &names)
            .field("ignore_endpoints", &self.ignore_endpoints)
            .finish()
    }
}

impl LoadServiceConfig for ServiceSettings {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.env() == ENDPOINT_URL && self.ignore_endpoints {
            return None;
        }
        let service = key.service_id().to_uppercase().replace(' ', "_");
        self.vars.get(&format!("{}_{service}", key.env())).or_else(|| self.vars.get(key.env())).cloned()
    }
}

/// A Lambda-like environment for tests: region, a key pair, then `pairs` (later pairs replace
/// earlier ones, as in an environment).
#[cfg(test)]
pub(crate) fn test_vars(region: &str, pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let base = [("AWS_REGION", region), ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "s")];
    base.iter().chain(pairs).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_runtime_api::shared::IntoShared;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        test_vars("us-east-1", pairs)
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<AwsEnvironment, ConfigError> {
        AwsEnvironment::parse(vars(pairs))
    }

    fn invalid_name(result: Result<AwsEnvironment, ConfigError>) -> &'static str {
        match result {
            Err(ConfigError::Invalid { name, .. }) => name,
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    /// Records each request as sent (endpoint resolved, signed) and fails it.
    #[derive(Debug, Clone, Default)]
    struct Capture(Arc<Mutex<Vec<http::Request<()>>>>);

    impl HttpConnector for Capture {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let mut seen = http::Request::builder().uri(request.uri());
            for (name, value) in request.headers() {
                seen = seen.header(name, value);
            }
            self.0.lock().unwrap().push(seen.body(()).unwrap());
            HttpConnectorFuture::ready(Err(ConnectorError::user("captured, not sent".into())))
        }
    }

    impl HttpClient for Capture {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            self.clone().into_shared()
        }
    }

    /// The request an SQS and a DynamoDB client send under `pairs`.
    async fn sent(pairs: &[(&str, &str)]) -> (http::Request<()>, http::Request<()>) {
        let capture = Capture::default();
        let config = parse(pairs).unwrap().sdk_config(capture.clone().into_shared());
        let _ = aws_sdk_sqs::Client::new(&config).list_queues().send().await;
        let _ = aws_sdk_dynamodb::Client::new(&config).list_tables().send().await;
        let mut seen = std::mem::take(&mut *capture.0.lock().unwrap());
        assert_eq!(seen.len(), 2, "one attempt each");
        let dynamodb = seen.pop().unwrap();
        (seen.pop().unwrap(), dynamodb)
    }

    fn host(request: &http::Request<()>) -> String {
        let uri = request.uri();
        format!("{}://{}", uri.scheme_str().unwrap(), uri.authority().unwrap())
    }

    #[tokio::test]
    async fn requests_are_signed_with_the_environments_session_credentials() {
        let (sqs, _) = sent(&[("AWS_SECRET_ACCESS_KEY", "s3cr3t-value"), ("AWS_SESSION_TOKEN", "t0ken-value")]).await;
        assert_eq!(host(&sqs), "https://sqs.us-east-1.amazonaws.com");
        let authorization = sqs.headers()["authorization"].to_str().unwrap();
        assert!(authorization.contains("Credential=AKIDEXAMPLE/"), "{authorization}");
        assert!(authorization.contains("/us-east-1/sqs/aws4_request"), "{authorization}");
        assert_eq!(sqs.headers()["x-amz-security-token"], "t0ken-value");
    }

    #[test]
    fn the_configuration_does_not_print_credentials() {
        let env = parse(&[("AWS_SECRET_ACCESS_KEY", "s3cr3t-value"), ("AWS_SESSION_TOKEN", "t0ken-value")]).unwrap();
        let printed = format!("{env:?}");
        let printed = format!("{printed} {:?}", env.sdk_config(Capture::default().into_shared()));
        assert!(!printed.contains("s3cr3t-value") && !printed.contains("t0ken-value"), "{printed}");
    }

    #[test]
    fn the_region_and_both_keys_are_required() {
        let mut no_region = vars(&[]);
        no_region.remove("AWS_REGION");
        assert!(matches!(AwsEnvironment::parse(no_region.clone()), Err(ConfigError::Missing("AWS_REGION"))));
        no_region.insert("AWS_DEFAULT_REGION".into(), "eu-west-1".into());
        assert_eq!(AwsEnvironment::parse(no_region).unwrap().region.as_ref(), "eu-west-1");
        for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let mut half = vars(&[]);
            half.insert(key.into(), String::new());
            assert!(matches!(AwsEnvironment::parse(half), Err(ConfigError::Missing(name)) if name == key));
        }
    }

    #[tokio::test]
    async fn a_service_endpoint_wins_over_the_global_one() {
        let (sqs, dynamodb) = sent(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ])
        .await;
        assert_eq!(host(&sqs), "http://127.0.0.1:4566");
        assert_eq!(host(&dynamodb), "http://127.0.0.1:8000");
        let (sqs, dynamodb) = sent(&[("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9324")]).await;
        assert_eq!(host(&sqs), "http://127.0.0.1:9324");
        assert_eq!(host(&dynamodb), "https://dynamodb.us-east-1.amazonaws.com");
    }

    #[tokio::test]
    async fn configured_endpoints_can_be_ignored() {
        let (sqs, dynamodb) = sent(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ])
        .await;
        assert_eq!(host(&sqs), "https://sqs.us-east-1.amazonaws.com");
        assert_eq!(host(&dynamodb), "https://dynamodb.us-east-1.amazonaws.com");
    }

    #[tokio::test]
    async fn fips_and_dual_stack_endpoints_follow_the_sdk_variables() {
        let (sqs, _) = sent(&[("AWS_USE_FIPS_ENDPOINT", "true")]).await;
        assert_eq!(host(&sqs), "https://sqs-fips.us-east-1.amazonaws.com");
        let (sqs, _) = sent(&[("AWS_USE_DUALSTACK_ENDPOINT", "TRUE"), ("AWS_USE_FIPS_ENDPOINT", "false")]).await;
        assert_eq!(host(&sqs), "https://sqs.us-east-1.api.aws");
    }

    #[test]
    fn retries_follow_the_sdk_variables() {
        let retry = |pairs| {
            let config = parse(pairs).unwrap().sdk_config(Capture::default().into_shared());
            aws_sdk_sqs::Config::from(&config).retry_config().cloned()
        };
        assert!(retry(&[]).is_none(), "unset: the client's default (standard, 3 attempts)");
        let adaptive = retry(&[("AWS_MAX_ATTEMPTS", "5"), ("AWS_RETRY_MODE", "adaptive")]).unwrap();
        assert_eq!((adaptive.max_attempts(), adaptive.mode()), (5, aws_smithy_types::retry::RetryMode::Adaptive));
        let standard = retry(&[("AWS_MAX_ATTEMPTS", "2")]).unwrap();
        assert_eq!((standard.max_attempts(), standard.mode()), (2, aws_smithy_types::retry::RetryMode::Standard));
    }

    #[test]
    fn values_the_sdk_would_not_accept_stop_the_start() {
        assert_eq!(invalid_name(parse(&[("AWS_USE_FIPS_ENDPOINT", "yes")])), "AWS_USE_FIPS_ENDPOINT");
        assert_eq!(invalid_name(parse(&[("AWS_MAX_ATTEMPTS", "0")])), "AWS_MAX_ATTEMPTS");
        assert_eq!(invalid_name(parse(&[("AWS_MAX_ATTEMPTS", "three")])), "AWS_MAX_ATTEMPTS");
        assert_eq!(invalid_name(parse(&[("AWS_RETRY_MODE", "legacy")])), "AWS_RETRY_MODE");
        assert_eq!(invalid_name(parse(&[("AWS_ENDPOINT_URL", "localhost:4566")])), "AWS_ENDPOINT_URL");
        assert_eq!(invalid_name(parse(&[("AWS_ENDPOINT_URL_S3", "ftp://x")])), "AWS_ENDPOINT_URL");
        assert!(parse(&[("AWS_ENDPOINT_URL_S3", "ftp://x"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]).is_ok());
    }
}
