//! Security headers of the journey's pages and assets. The Content-Security-Policy allows no
//! inline script or style: pages load one script and one stylesheet of ours, and talk only
//! to us and to the upload host of the presigned POST (S3, or the local server itself).

use http::{HeaderValue, header};

use crate::api::Response;

/// Origins a page may reach beyond its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Csp {
    /// Where captures are POSTed (`connect-src`, `form-action`).
    pub upload_origin: Option<String>,
    /// Where the tenant's logo is (`img-src`).
    pub logo_origin: Option<String>,
}

impl Csp {
    pub fn header(&self) -> String {
        let extra =
            |o: &Option<String>| o.as_deref().filter(|o| is_origin(o)).map(|o| format!(" {o}")).unwrap_or_default();
        let upload = extra(&self.upload_origin);
        let logo = extra(&self.logo_origin);
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{logo}; \
             connect-src 'self'{upload}; media-src 'self' blob:; form-action 'self'{upload}; \
             frame-ancestors 'none'; base-uri 'none'"
        )
    }
}

/// `scheme://host[:port]` with nothing that could end or extend a CSP source list.
fn is_origin(o: &str) -> bool {
    (o.starts_with("https://") || o.starts_with("http://"))
        && o.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:/[]".contains(&b))
}

/// How long a response may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Pages carry a journey's state: never cached.
    NoStore,
    /// Assets have their content's digest in their name.
    Immutable,
}

pub fn secure(resp: &mut Response, csp: &Csp, caching: Caching) {
    let headers = resp.headers_mut();
    let csp = HeaderValue::from_str(&csp.header()).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    headers.insert("permissions-policy", HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    let cache = match caching {
        Caching::NoStore => "no-store",
        Caching::Immutable => "public, max-age=31536000, immutable",
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_code_and_names_the_upload_host() {
        let csp = Csp {
            upload_origin: Some("https://bucket.s3.ap-southeast-2.amazonaws.com".into()),
            logo_origin: Some("https://cdn.acme.com".into()),
        };
        let h = csp.header();
        assert!(!h.contains("unsafe"), "{h}");
        assert!(h.contains("script-src 'self';") && h.contains("style-src 'self';"), "{h}");
        assert!(h.contains("connect-src 'self' https://bucket.s3.ap-southeast-2.amazonaws.com;"), "{h}");
        assert!(h.contains("form-action 'self' https://bucket.s3.ap-southeast-2.amazonaws.com;"), "{h}");
        assert!(h.contains("img-src 'self' data: blob: https://cdn.acme.com;"), "{h}");
        assert!(h.contains("frame-ancestors 'none'"), "{h}");
        let sneaky = Csp { upload_origin: Some("https://x.com; script-src *".into()), logo_origin: None };
        assert!(!sneaky.header().contains("script-src *"), "an origin cannot extend the policy");
    }

    #[test]
    fn pages_and_assets_get_every_header() {
        let mut resp = Response::new(bytes::Bytes::new());
        secure(&mut resp, &Csp::default(), Caching::NoStore);
        let h = resp.headers();
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert!(h[header::STRICT_TRANSPORT_SECURITY].to_str().unwrap().starts_with("max-age="));
        assert!(h[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("frame-ancestors 'none'"));
    }
}
