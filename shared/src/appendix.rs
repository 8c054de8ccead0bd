//! Appendix links: the result's links to a session's evidence images. Stateless: a link's
//! token carries the session, the artifact and the expiry, sealed with an HMAC, so
//! serving one needs no lookup table and a customer cannot forge or retarget it.
//! Following a live link answers 302 to a presigned object-store GET of at most 60 s.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use sha2::Sha256;

use crate::api::{Response, error_response};
use crate::artifacts::Artifact;
use crate::domain::{Session, SessionId};
use crate::error::{Error, ErrorKind};
use crate::objects::{MAX_DOWNLOAD_TTL, ObjectSigner};

/// How long a link in a result stays valid unless configured otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

const VERSION: u8 = 1;
/// version | session id | artifact code | expiry (i64 big-endian).
const PAYLOAD_LEN: usize = 1 + 16 + 1 + 8;
/// Truncated HMAC-SHA256: 128 bits is ample against forgery and keeps URLs short.
const TAG_LEN: usize = 16;
// Keeps these MACs distinct from any other use of the same key.
const DOMAIN: &[u8] = b"ti-appendix\n";

/// Why a link cannot be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Malformed, forged or tampered: 404, indistinguishable from a link that never existed.
    #[error("no such appendix link")]
    NotFound,
    /// Genuine but past its expiry, or its session has been purged, redacted or is past
    /// retention: 410.
    #[error("appendix link expired")]
    Expired,
    /// The session store or object store failed; the link may work on retry: 503.
    #[error("appendix temporarily unavailable")]
    Unavailable,
}

/// One entry of a result's `appendix` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppendixEntry {
    pub url: String,
    /// Unix seconds.
    pub expiry: i64,
    pub filename: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// Issues and checks appendix links.
#[derive(Clone)]
pub struct AppendixLinks {
    /// HMAC key; a dedicated random secret.
    pub secret: [u8; 32],
    /// Our public base URL, e.g. `https://id.example.com`.
    pub base_url: String,
    pub ttl: Duration,
}

// Never print the key.
impl fmt::Debug for AppendixLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppendixLinks")
            .field("secret", &"[redacted]")
            .field("base_url", &self.base_url)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl AppendixLinks {
    /// Links valid for [`DEFAULT_TTL`].
    pub fn new(secret: [u8; 32], base_url: impl Into<String>) -> Self {
        Self { secret, base_url: base_url.into(), ttl: DEFAULT_TTL }
    }

    /// Fresh links for the artifacts present, in the order given, with `jpg` filenames.
    pub fn links(&self, session: &Session, present: &[Artifact], now: i64) -> Vec<AppendixEntry> {
        present.iter().map(|&a| self.entry(session.id, a, None, now)).collect()
    }

    /// One link; the filename's extension follows `content_type` when it is a known image type.
    pub fn entry(&self, session: SessionId, artifact: Artifact, content_type: Option<&str>, now: i64) -> AppendixEntry {
        let expiry = now.saturating_add(self.ttl.as_secs().try_into().unwrap_or(i64::MAX));
        let url = format!("{}/appendix/{}", self.base_url.trim_end_matches('/'), self.token(session, artifact, expiry));
        let filename = format!("{}.{}", artifact.as_str(), extension(content_type));
        AppendixEntry { url, expiry, filename, kind: "image" }
    }

    /// The opaque token: `base64url(payload) "." base64url(tag)`.
    pub fn token(&self, session: SessionId, artifact: Artifact, expiry: i64) -> String {
        let payload = payload(session, artifact, expiry);
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN]))
    }

    /// Which evidence a token names. The MAC is checked (in constant time) before the
    /// expiry is even read, so a forged token is always 404, never 410.
    pub fn resolve(&self, token: &str, now: i64) -> Result<(SessionId, Artifact), LinkError> {
        let (payload_b64, tag_b64) = token.split_once('.').ok_or(LinkError::NotFound)?;
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| LinkError::NotFound)?;
        let tag = URL_SAFE_NO_PAD.decode(tag_b64).map_err(|_| LinkError::NotFound)?;
        if payload.len() != PAYLOAD_LEN || tag.len() != TAG_LEN {
            return Err(LinkError::NotFound);
        }
        self.mac(&payload).verify_truncated_left(&tag).map_err(|_| LinkError::NotFound)?;
        // Authentic from here on; an unknown version or code is still a link we never made.
        if payload[0] != VERSION {
            return Err(LinkError::NotFound);
        }
        let session = session_from_bytes(&payload[1..17]).ok_or(LinkError::NotFound)?;
        let artifact = artifact_from_code(payload[17]).ok_or(LinkError::NotFound)?;
        let expiry = i64::from_be_bytes(payload[18..26].try_into().map_err(|_| LinkError::NotFound)?);
        if now >= expiry {
            return Err(LinkError::Expired);
        }
        Ok((session, artifact))
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(DOMAIN);
        mac.update(payload);
        mac
    }
}

/// Follows a link: resolve the token, make sure the session still exists and is neither
/// redacted nor past its retention (otherwise 410), then presign a GET of at most [`MAX_DOWNLOAD_TTL`].
///
/// The object itself is not probed: the port has no cheap existence check, and a redacted or
/// replaced-then-deleted object simply makes the presigned URL answer the store's own 404, so
/// removed evidence is never served either way.
pub async fn serve<F, Fut>(
    links: &AppendixLinks,
    objects: &dyn ObjectSigner,
    load_session: F,
    token: &str,
    now: i64,
) -> Result<String, LinkError>
where
    F: FnOnce(SessionId) -> Fut,
    Fut: Future<Output = Result<Option<Session>, Error>>,
{
    let (session_id, artifact) = links.resolve(token, now)?;
    match load_session(session_id).await {
        // Erased, or past the tenant's retention: the evidence is gone for good.
        Ok(Some(session)) if session.is_redacted() || !session.retained_at(now) => return Err(LinkError::Expired),
        Ok(Some(_)) => {}
        Ok(None) => return Err(LinkError::Expired),
        Err(e) => {
            tracing::warn!(%session_id, code = e.code, "appendix: session lookup failed");
            return Err(LinkError::Unavailable);
        }
    }
    objects.presign_get(&artifact.key(session_id), MAX_DOWNLOAD_TTL).await.map_err(|e| {
        tracing::error!(%session_id, artifact = artifact.as_str(), error = %e, "appendix: presign failed");
        LinkError::Unavailable
    })
}

/// The HTTP answer to `GET /appendix/{token}`.
pub fn response(result: Result<String, LinkError>) -> Response {
    let error = match result {
        Ok(location) => return redirect(&location),
        Err(LinkError::NotFound) => {
            Error::new(ErrorKind::NotFound, "appendix_not_found", "no such appendix link").with_field("token")
        }
        Err(LinkError::Expired) => Error::new(
            ErrorKind::Gone,
            "appendix_expired",
            "this appendix link has expired; fetch the session again for fresh links",
        )
        .with_field("token"),
        Err(LinkError::Unavailable) => {
            Error::new(ErrorKind::Unavailable, "appendix_unavailable", "the appendix is temporarily unavailable; retry")
        }
    };
    let mut resp = error_response(&error);
    resp.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

fn redirect(location: &str) -> Response {
    let Ok(location) = HeaderValue::from_str(location) else {
        tracing::error!("appendix: presigned URL is not a valid header value");
        return error_response(&Error::internal("could not build the download link"));
    };
    let mut resp = http::Response::new(Bytes::new());
    *resp.status_mut() = StatusCode::FOUND;
    let headers = resp.headers_mut();
    headers.insert(header::LOCATION, location);
    // The target is a short-lived credential: never cache it, never leak it onward.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

fn extension(content_type: Option<&str>) -> &'static str {
    match content_type {
        Some("image/png") => "png",
        Some("image/webp") => "webp",
        _ => "jpg",
    }
}

fn payload(session: SessionId, artifact: Artifact, expiry: i64) -> [u8; PAYLOAD_LEN] {
    let mut out = [0u8; PAYLOAD_LEN];
    out[0] = VERSION;
    out[1..17].copy_from_slice(&session_bytes(session));
    out[17] = artifact_code(artifact);
    out[18..26].copy_from_slice(&expiry.to_be_bytes());
    out
}

// SessionId keeps its UUID private; its canonical text form is the public way in and out.
fn session_bytes(session: SessionId) -> [u8; 16] {
    uuid::Uuid::try_parse(&session.to_string()).map(|u| *u.as_bytes()).expect("SessionId displays as a UUID")
}

fn session_from_bytes(bytes: &[u8]) -> Option<SessionId> {
    let uuid = uuid::Uuid::from_slice(bytes).ok()?;
    SessionId::parse(&uuid.hyphenated().to_string()).ok()
}

// Stable wire codes: never renumber, tokens in results depend on them.
fn artifact_code(artifact: Artifact) -> u8 {
    match artifact {
        Artifact::DocumentFront => 1,
        Artifact::DocumentBack => 2,
        Artifact::Selfie => 3,
        Artifact::Challenge1 => 4,
        Artifact::Challenge2 => 5,
    }
}

fn artifact_from_code(code: u8) -> Option<Artifact> {
    Artifact::ALL.into_iter().find(|&a| artifact_code(a) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn links() -> AppendixLinks {
        AppendixLinks::new([9; 32], "https://id.example.com/")
    }

    fn token_of(entry: &AppendixEntry) -> &str {
        entry.url.strip_prefix("https://id.example.com/appendix/").unwrap()
    }

    #[test]
    fn round_trips_every_artifact_and_serialises_to_the_contract() {
        let links = links();
        let id = SessionId::random();
        for artifact in Artifact::ALL {
            let entry = links.entry(id, artifact, None, NOW);
            assert_eq!(entry.expiry, NOW + 7 * 24 * 3600);
            assert_eq!(links.resolve(token_of(&entry), NOW + 3600), Ok((id, artifact)));
            assert!(!entry.url.contains(&id.to_string()), "the token is opaque");
        }
        let entry = links.entry(id, Artifact::Selfie, Some("image/png"), NOW);
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["filename"], "selfie.png");
        assert_eq!(json["type"], "image");
        assert_eq!(json["expiry"], NOW + 7 * 24 * 3600);
        assert_eq!(json.as_object().unwrap().len(), 4);
        assert_eq!(links.entry(id, Artifact::DocumentFront, None, NOW).filename, "document-front.jpg");
    }

    #[test]
    fn tampered_truncated_or_foreign_tokens_are_not_found() {
        let links = links();
        let token = links.token(SessionId::random(), Artifact::DocumentFront, NOW + 60);
        let (payload, tag) = token.split_once('.').unwrap();
        let mut bad = vec![
            String::new(),
            "garbage".into(),
            payload.into(),
            format!("{payload}."),
            format!("{payload}.{}", &tag[..tag.len() - 2]),
            format!("{}.{tag}", &payload[..payload.len() - 1]),
            format!("{token}AA"),
            format!("{payload}.{tag}.{tag}"),
        ];
        // Flip one character of the payload and one of the tag.
        for (i, c) in token.char_indices().filter(|&(_, c)| c != '.').step_by(7) {
            let swapped = if c == 'A' { 'B' } else { 'A' };
            bad.push(format!("{}{swapped}{}", &token[..i], &token[i + 1..]));
        }
        for t in &bad {
            assert_eq!(links.resolve(t, NOW), Err(LinkError::NotFound), "{t:?}");
        }
        let other = AppendixLinks::new([8; 32], "https://id.example.com");
        assert_eq!(other.resolve(&token, NOW), Err(LinkError::NotFound), "another key's token");
    }

    #[test]
    fn expiry_is_checked_only_for_genuine_tokens() {
        let links = links();
        let token = links.token(SessionId::random(), Artifact::Selfie, NOW);
        assert!(links.resolve(&token, NOW - 1).is_ok());
        assert_eq!(links.resolve(&token, NOW), Err(LinkError::Expired));
        assert_eq!(links.resolve(&token, NOW + 1_000_000), Err(LinkError::Expired));
        // Forged and expired: the MAC fails first.
        let forged = AppendixLinks::new([1; 32], "x").token(SessionId::random(), Artifact::Selfie, NOW - 10);
        assert_eq!(links.resolve(&forged, NOW), Err(LinkError::NotFound));
    }

    #[test]
    fn a_token_cannot_be_retargeted_or_extended() {
        let links = links();
        let id = SessionId::random();
        let token = links.token(id, Artifact::Selfie, NOW + 60);
        let (payload_b64, tag) = token.split_once('.').unwrap();
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).unwrap();
        let edit = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut p = payload.clone();
            f(&mut p);
            format!("{}.{tag}", URL_SAFE_NO_PAD.encode(p))
        };
        let retargeted = edit(&|p| p[17] = artifact_code(Artifact::DocumentFront));
        let extended = edit(&|p| p[18..26].copy_from_slice(&(NOW + 10_000_000).to_be_bytes()));
        let other_session = edit(&|p| p[1..17].copy_from_slice(&session_bytes(SessionId::random())));
        for t in [retargeted, extended, other_session] {
            assert_eq!(links.resolve(&t, NOW), Err(LinkError::NotFound));
        }
        assert_eq!(links.resolve(&token, NOW), Ok((id, Artifact::Selfie)));
    }

    #[test]
    fn responses_follow_the_contract() {
        let ok = response(Ok("https://bucket.example/obj?sig=1".into()));
        assert_eq!(ok.status(), StatusCode::FOUND);
        assert_eq!(ok.headers()[header::LOCATION], "https://bucket.example/obj?sig=1");
        assert_eq!(ok.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(ok.headers()[header::REFERRER_POLICY], "no-referrer");
        for (err, status, code) in [
            (LinkError::NotFound, StatusCode::NOT_FOUND, "appendix_not_found"),
            (LinkError::Expired, StatusCode::GONE, "appendix_expired"),
            (LinkError::Unavailable, StatusCode::SERVICE_UNAVAILABLE, "appendix_unavailable"),
        ] {
            let resp = response(Err(err));
            assert_eq!(resp.status(), status);
            let body: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
            assert_eq!(body["status"], "error");
            assert_eq!(body["error"]["code"], code);
        }
        let body: serde_json::Value = serde_json::from_slice(response(Err(LinkError::Expired)).body()).unwrap();
        assert_eq!(body["error"]["field"], "token");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let shown = format!("{:?}", AppendixLinks::new([0xab; 32], "https://id.example.com"));
        assert!(shown.contains("[redacted]") && !shown.contains("171"), "{shown}");
    }
}
