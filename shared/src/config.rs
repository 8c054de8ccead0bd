//! Settings read once per process (per Lambda cold start).

use url::Url;

use crate::domain::UrlPolicy;

/// Where the service runs. Local mode is the one-process server on a developer's machine:
/// it accepts http://localhost redirect and webhook URLs, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Local,
    Cloud,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    /// Base URL of the hosted journey; identity URLs are `<public_url>/j/<secret>`.
    pub public_url: Url,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Settings {
    pub fn new(mode: Mode, public_url: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { name: "TI_PUBLIC_URL", reason };
        let public_url = Url::parse(public_url).map_err(|e| invalid(e.to_string()))?;
        let secure = public_url.scheme() == "https";
        if !secure && mode == Mode::Cloud {
            return Err(invalid("must be https outside local mode".into()));
        }
        if public_url.query().is_some() || public_url.fragment().is_some() {
            return Err(invalid("must not have a query or fragment".into()));
        }
        Ok(Self { mode, public_url })
    }

    /// `TI_MODE` (`local` or `cloud`, default cloud) and `TI_PUBLIC_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mode = match std::env::var("TI_MODE").as_deref() {
            Ok("local") => Mode::Local,
            Ok("cloud") | Err(_) => Mode::Cloud,
            Ok(other) => {
                return Err(ConfigError::Invalid {
                    name: "TI_MODE",
                    reason: format!("`{other}` is not local or cloud"),
                });
            }
        };
        let public_url = std::env::var("TI_PUBLIC_URL").map_err(|_| ConfigError::Missing("TI_PUBLIC_URL"))?;
        Self::new(mode, &public_url)
    }

    pub fn url_policy(&self) -> UrlPolicy {
        match self.mode {
            Mode::Local => UrlPolicy::AllowHttpLocalhost,
            Mode::Cloud => UrlPolicy::HttpsOnly,
        }
    }

    /// The journey URL for a secret, on the public host.
    pub fn journey_url(&self, secret: &str) -> String {
        format!("{}/j/{secret}", self.public_url.as_str().trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_mode_needs_https() {
        assert!(Settings::new(Mode::Cloud, "http://verify.example.com").is_err());
        let s = Settings::new(Mode::Cloud, "https://verify.example.com/").unwrap();
        assert_eq!(s.journey_url("abc"), "https://verify.example.com/j/abc");
        assert_eq!(
            Settings::new(Mode::Local, "http://127.0.0.1:8080").unwrap().url_policy(),
            UrlPolicy::AllowHttpLocalhost
        );
    }
}
