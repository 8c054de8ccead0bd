//! The local server's AWS configuration. Unlike a function's (`shared::sdk::from_env`), it
//! resolves the SDK's whole default chain, since a developer's machine keeps its credentials
//! in profiles and SSO sessions rather than in the environment. It uses the same HTTPS client.

pub async fn sdk_config() -> Result<aws_config::SdkConfig, shared::config::ConfigError> {
    let http = shared::sdk::https_client(shared::sdk::TlsRoots::from_env()?);
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http).load().await)
}
