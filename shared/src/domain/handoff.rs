//! Desktop-to-phone handoff: a single-use, short-lived link (shown as a QR code) that opens
//! the same journey on the user's phone. The session keeps only a digest of the link's token;
//! opening it is a conditional write, so two phones racing for one link cannot both win.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::audit::AuditKind;
use super::ids::digest;
use super::session::{Progress, Refusal, Session, SessionStatus};

/// How long a handoff link can be opened.
pub const HANDOFF_TTL_SECS: i64 = 10 * 60;
/// Older links are forgotten beyond this many (each new one supersedes the earlier ones).
const KEPT: usize = 5;
/// base64url of the SHA-256 of the journey secret (the session's lookup key).
const LOOKUP_LEN: usize = 43;
/// base64url of 128 random bits.
const NONCE_LEN: usize = 22;

/// One handoff link the session issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// SHA-256 (hex) of the link's token; the token itself is never stored.
    pub token_digest: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// When a phone opened it (the handoff started); a link opens once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<i64>,
}

/// A handoff link's token: the session's lookup key (the digest of its journey secret, which
/// unlocks nothing by itself) and a random nonce.
#[derive(Clone, PartialEq, Eq)]
pub struct HandoffToken {
    token: String,
    /// Hex SHA-256 of the journey secret: finds the session.
    journey_digest: String,
}

impl std::fmt::Debug for HandoffToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandoffToken(..)")
    }
}

impl HandoffToken {
    /// A new token for the session whose journey secret has this hex digest.
    pub fn generate(journey_digest: &str) -> Self {
        let raw = hex::decode(journey_digest).unwrap_or_default();
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let token = format!("{}{}", URL_SAFE_NO_PAD.encode(raw), URL_SAFE_NO_PAD.encode(nonce));
        Self { token, journey_digest: journey_digest.to_owned() }
    }

    /// `None` for anything not shaped like one of our tokens.
    pub fn parse(token: &str) -> Option<Self> {
        if token.len() != LOOKUP_LEN + NONCE_LEN
            || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(&token[..LOOKUP_LEN]).ok()?;
        URL_SAFE_NO_PAD.decode(&token[LOOKUP_LEN..]).ok()?;
        Some(Self { token: token.to_owned(), journey_digest: hex::encode(raw) })
    }

    pub fn expose(&self) -> &str {
        &self.token
    }

    pub fn journey_digest(&self) -> &str {
        &self.journey_digest
    }

    pub fn digest(&self) -> String {
        digest(&self.token)
    }
}

/// Why a handoff link does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffRefusal {
    /// Opened before: links are single-use.
    Used,
    /// Past its expiry, or superseded by a newer link.
    Expired,
    /// Not a link of this session.
    Unknown,
}

impl Session {
    /// Issues a handoff link (by its token's digest); only while the user can still act.
    pub fn issue_handoff(&mut self, token_digest: String, now: i64) -> Result<Progress, Refusal> {
        let status = self.status_at(now);
        if !matches!(status, SessionStatus::Created | SessionStatus::InProgress) {
            return Err(Refusal::Closed(status));
        }
        let expires_at = (now + HANDOFF_TTL_SECS).min(self.expires_at);
        self.handoffs.push(Handoff { token_digest, created_at: now, expires_at, opened_at: None });
        if self.handoffs.len() > KEPT {
            self.handoffs.remove(0);
        }
        self.note(now, AuditKind::HandoffStarted);
        self.touch(now);
        Ok(Progress::Recorded)
    }

    /// Whether the link with this token digest would open now.
    pub fn check_handoff(&self, token_digest: &str, now: i64) -> Result<&Handoff, HandoffRefusal> {
        let index = self.handoffs.iter().position(|h| h.token_digest == token_digest).ok_or(HandoffRefusal::Unknown)?;
        let handoff = &self.handoffs[index];
        if handoff.opened_at.is_some() {
            return Err(HandoffRefusal::Used);
        }
        if now >= handoff.expires_at || index + 1 != self.handoffs.len() {
            return Err(HandoffRefusal::Expired);
        }
        Ok(handoff)
    }

    /// Opens the link: once, before its expiry, and only the latest one.
    pub fn open_handoff(&mut self, token_digest: &str, now: i64) -> Result<Progress, Refusal> {
        let status = self.status_at(now);
        if !matches!(status, SessionStatus::Created | SessionStatus::InProgress) {
            return Err(Refusal::Closed(status));
        }
        self.check_handoff(token_digest, now).map_err(Refusal::Handoff)?;
        if let Some(h) = self.handoffs.iter_mut().find(|h| h.token_digest == token_digest) {
            h.opened_at = Some(now);
        }
        self.note(now, AuditKind::HandoffCompleted);
        self.touch(now);
        Ok(Progress::Recorded)
    }

    /// The latest link, if any.
    pub fn current_handoff(&self) -> Option<&Handoff> {
        self.handoffs.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{SessionId, TenantId};
    use crate::domain::session::NewSession;
    use crate::domain::steps::{Step, Steps, Threshold};
    use crate::domain::text::{Metadata, Reference};
    use crate::domain::urls::{RedirectUrl, UrlPolicy};

    fn session(now: i64) -> Session {
        let new = NewSession {
            reference: Reference::parse("r1").unwrap(),
            redirect_url: RedirectUrl::parse("https://yourapp.com/done", UrlPolicy::HttpsOnly).unwrap(),
            steps: Steps::new(vec![Step::Document]).unwrap(),
            person: Default::default(),
            min_age: None,
            threshold: Threshold::DEFAULT,
            webhook_url: None,
            locale: None,
            expires_in: 3600,
            metadata: Metadata::default(),
        };
        Session::open(SessionId::random(), TenantId::random(), new, Vec::new(), now)
    }

    #[test]
    fn tokens_round_trip_and_find_their_session() {
        let s = session(0);
        let token = HandoffToken::generate(&s.journey_secret.digest());
        assert_eq!(token.expose().len(), 65);
        let parsed = HandoffToken::parse(token.expose()).unwrap();
        assert_eq!(parsed.journey_digest(), s.journey_secret.digest());
        assert_eq!(parsed.digest(), token.digest());
        assert_ne!(HandoffToken::generate(&s.journey_secret.digest()), token, "each link is new");
        for bad in ["", "short", &format!("{}!", &token.expose()[..64]), &format!("{}a", token.expose())] {
            assert!(HandoffToken::parse(bad).is_none(), "{bad}");
        }
        assert!(!format!("{token:?}").contains(token.expose()), "never printed");
    }

    #[test]
    fn a_link_opens_once_before_expiry() {
        let mut s = session(100);
        let token = HandoffToken::generate(&s.journey_secret.digest());
        s.issue_handoff(token.digest(), 100).unwrap();
        assert_eq!(s.current_handoff().unwrap().expires_at, 100 + HANDOFF_TTL_SECS);
        assert_eq!(s.open_handoff("other", 101), Err(Refusal::Handoff(HandoffRefusal::Unknown)));
        let version = s.version;
        assert_eq!(s.open_handoff(&token.digest(), 101), Ok(Progress::Recorded));
        assert_eq!(s.version, version + 1, "opening is a write");
        assert_eq!(s.open_handoff(&token.digest(), 102), Err(Refusal::Handoff(HandoffRefusal::Used)));

        let mut late = session(100);
        late.issue_handoff(token.digest(), 100).unwrap();
        let at = 100 + HANDOFF_TTL_SECS;
        assert_eq!(late.open_handoff(&token.digest(), at), Err(Refusal::Handoff(HandoffRefusal::Expired)));
    }

    #[test]
    fn a_new_link_supersedes_the_old_and_links_end_with_the_session() {
        let mut s = session(100);
        let (old, new) = (HandoffToken::generate("00"), HandoffToken::generate("00"));
        s.issue_handoff(old.digest(), 100).unwrap();
        s.issue_handoff(new.digest(), 110).unwrap();
        assert_eq!(s.check_handoff(&old.digest(), 111).unwrap_err(), HandoffRefusal::Expired);
        assert!(s.check_handoff(&new.digest(), 111).is_ok());
        for _ in 0..10 {
            s.issue_handoff(HandoffToken::generate("00").digest(), 120).unwrap();
        }
        assert_eq!(s.handoffs.len(), KEPT, "old links are forgotten");
        // A link never outlives its journey.
        let mut short = session(100);
        short.expires_at = 160;
        short.issue_handoff(new.digest(), 100).unwrap();
        assert_eq!(short.current_handoff().unwrap().expires_at, 160);
        assert_eq!(short.issue_handoff(old.digest(), 200), Err(Refusal::Closed(SessionStatus::Expired)));
        assert_eq!(short.open_handoff(&new.digest(), 200), Err(Refusal::Closed(SessionStatus::Expired)));
    }

    #[test]
    fn the_timeline_records_the_link_offered_and_the_phone_taking_over() {
        let mut s = session(100);
        let token = HandoffToken::generate("00");
        s.issue_handoff(token.digest(), 100).unwrap();
        s.open_handoff(&token.digest(), 130).unwrap();
        let handoff: Vec<(i64, AuditKind)> = s
            .timeline(140)
            .into_iter()
            .filter(|e| matches!(e.kind, AuditKind::HandoffStarted | AuditKind::HandoffCompleted))
            .map(|e| (e.at, e.kind))
            .collect();
        assert_eq!(handoff, [(100, AuditKind::HandoffStarted), (130, AuditKind::HandoffCompleted)]);
    }
}
