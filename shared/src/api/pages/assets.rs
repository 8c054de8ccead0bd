//! The journey's static files, embedded in the binary. Each is served under a name with a
//! digest of its content, so it can be cached for a year and a new build is never stale.

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};

use super::headers::{Caching, Csp, secure};
use crate::api::Response;

struct Asset {
    stem: &'static str,
    ext: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// The journey script, kept in parts by concept and joined here into one strict-mode
/// function: one request, and the parts share its helpers without globals.
const JOURNEY_JS: &str = concat!(
    "(() => {\n  'use strict';\n",
    include_str!("assets/journey/core.js"),
    include_str!("assets/journey/start.js"),
    include_str!("assets/journey/capture.js"),
    include_str!("assets/journey/details.js"),
    include_str!("assets/journey/finish.js"),
    "\n  try { next(); } catch (err) { fail(err); }\n})();\n",
);

const FILES: [Asset; 2] = [
    Asset { stem: "journey", ext: "js", content_type: "text/javascript; charset=utf-8", body: JOURNEY_JS },
    Asset {
        stem: "journey",
        ext: "css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/journey.css"),
    },
];

/// `journey-<10 hex digits of SHA-256>.<ext>` for each file.
fn names() -> &'static [String; 2] {
    static NAMES: OnceLock<[String; 2]> = OnceLock::new();
    NAMES.get_or_init(|| {
        FILES.each_ref().map(|a| {
            let digest = hex::encode(Sha256::digest(a.body.as_bytes()));
            format!("{}-{}.{}", a.stem, &digest[..10], a.ext)
        })
    })
}

/// The path of the script or stylesheet, for pages to link.
pub fn path(ext: &str) -> String {
    let i = FILES.iter().position(|a| a.ext == ext).expect("a known asset");
    format!("/assets/{}", names()[i])
}

/// The file called `name`, or `None` (an old or unknown name).
pub fn serve(name: &str) -> Option<Response> {
    let i = names().iter().position(|n| n == name)?;
    let mut resp = Response::new(Bytes::from_static(FILES[i].body.as_bytes()));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(FILES[i].content_type));
    secure(&mut resp, &Csp::default(), Caching::Immutable);
    Some(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_served_by_their_digest_name_only() {
        let js = path("js");
        assert!(js.starts_with("/assets/journey-") && js.ends_with(".js"), "{js}");
        let resp = serve(js.trim_start_matches("/assets/")).unwrap();
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert!(resp.headers()[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
        assert!(serve("journey.js").is_none(), "an unversioned name is not served");
        assert!(serve("journey-0000000000.css").is_none());
    }
}
