//! URLs a customer gives us: where to send the user back, where to send webhooks.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::error::Rejection;

/// Whether plain-http localhost URLs are accepted (the local server only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPolicy {
    HttpsOnly,
    AllowHttpLocalhost,
}

const MAX_URL_LEN: usize = 2048;

fn is_localhost(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

pub(crate) fn parse_web_url(s: &str, policy: UrlPolicy, code: &'static str, what: &str) -> Result<Url, Rejection> {
    if s.len() > MAX_URL_LEN {
        return Err(Rejection::new(code, format!("{what} must be at most {MAX_URL_LEN} characters")));
    }
    let url = Url::parse(s).map_err(|_| Rejection::new(code, format!("{what} must be an absolute URL")))?;
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => policy == UrlPolicy::AllowHttpLocalhost && is_localhost(&url),
        _ => false,
    };
    if !scheme_ok {
        let hint = match policy {
            UrlPolicy::HttpsOnly => "https",
            UrlPolicy::AllowHttpLocalhost => "https (or http://localhost in local mode)",
        };
        return Err(Rejection::new(code, format!("{what} must use {hint}")));
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(Rejection::new(code, format!("{what} must have a host and no user name or password")));
    }
    Ok(url)
}

/// An origin as `scheme://host[:port]`, the unit tenants register for redirects.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Where the journey sends the user at its end; the tenant must have registered its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RedirectUrl(Url);

impl RedirectUrl {
    pub fn parse(s: &str, policy: UrlPolicy) -> Result<Self, Rejection> {
        parse_web_url(s, policy, "invalid_redirect_url", "redirect_url").map(Self)
    }

    pub fn origin(&self) -> String {
        origin_of(&self.0)
    }

    pub fn url(&self) -> &Url {
        &self.0
    }
}

/// Where lifecycle webhooks for a session go. Private and link-local addresses are refused
/// outside local mode so a customer cannot aim our delivery at internal services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    pub fn parse(s: &str, policy: UrlPolicy) -> Result<Self, Rejection> {
        let url = parse_web_url(s, policy, "invalid_webhook_url", "webhook_url")?;
        let internal = match url.host() {
            Some(Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
            Some(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost") || d.ends_with(".internal"),
            None => true,
        };
        if internal && policy == UrlPolicy::HttpsOnly {
            return Err(Rejection::new(
                "invalid_webhook_url",
                "webhook_url must not point at a private or local address",
            ));
        }
        Ok(Self(url))
    }

    pub fn url(&self) -> &Url {
        &self.0
    }
}

fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Parses an origin a tenant registers (`https://app.example.com`), normalising it.
pub fn parse_origin(s: &str, policy: UrlPolicy) -> Result<String, Rejection> {
    let url = parse_web_url(s, policy, "invalid_origin", "origin")?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(Rejection::new(
            "invalid_origin",
            "an origin is scheme, host and port only, e.g. https://app.example.com",
        ));
    }
    Ok(origin_of(&url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_https_unless_local_mode_localhost() {
        let strict = UrlPolicy::HttpsOnly;
        let local = UrlPolicy::AllowHttpLocalhost;
        assert!(RedirectUrl::parse("https://yourapp.com/verified?x=1", strict).is_ok());
        assert!(RedirectUrl::parse("http://yourapp.com/verified", strict).is_err());
        assert!(RedirectUrl::parse("http://localhost:3000/done", strict).is_err());
        assert!(RedirectUrl::parse("http://localhost:3000/done", local).is_ok());
        assert!(RedirectUrl::parse("http://evil.com/done", local).is_err());
        assert!(RedirectUrl::parse("javascript:alert(1)", local).is_err());
        assert!(RedirectUrl::parse("/relative", local).is_err());
        assert!(RedirectUrl::parse("https://user:pw@yourapp.com/", strict).is_err());
        assert_eq!(RedirectUrl::parse("https://YourApp.com:443/a", strict).unwrap().origin(), "https://yourapp.com");
    }

    #[test]
    fn webhooks_refuse_internal_addresses() {
        let strict = UrlPolicy::HttpsOnly;
        assert!(WebhookUrl::parse("https://hooks.example.com/ti", strict).is_ok());
        for bad in ["https://10.0.0.1/h", "https://169.254.169.254/latest", "https://[::1]/h", "https://localhost/h"] {
            assert!(WebhookUrl::parse(bad, strict).is_err(), "{bad}");
        }
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/h", UrlPolicy::AllowHttpLocalhost).is_ok());
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(parse_origin("https://App.example.com", UrlPolicy::HttpsOnly).unwrap(), "https://app.example.com");
        assert!(parse_origin("https://app.example.com/path", UrlPolicy::HttpsOnly).is_err());
    }
}
