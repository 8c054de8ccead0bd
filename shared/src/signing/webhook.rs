//! Standard Webhooks (https://www.standardwebhooks.com) signatures for the result webhook:
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
//! base64-decoded part of a `whsec_` secret, so customers can verify with any Standard
//! Webhooks library.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use rand::RngCore;
use sha2::Sha256;

use super::SigningError;

/// How far `webhook-timestamp` may be from the verifier's clock, either way (replay window).
pub const WEBHOOK_TOLERANCE_SECS: i64 = 5 * 60;
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";
const SECRET_PREFIX: &str = "whsec_";
/// The spec recommends 24 to 64 byte secrets; its own test vector uses 24.
const KEY_LEN: std::ops::RangeInclusive<usize> = 24..=64;
const GENERATED_KEY_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies webhooks with one endpoint secret. `Debug` never prints the key.
#[derive(Clone)]
pub struct WebhookSigner {
    key: Vec<u8>,
}

impl fmt::Debug for WebhookSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSigner").field("key", &"[redacted]").finish()
    }
}

impl WebhookSigner {
    /// Takes a `whsec_<base64>` secret; the HMAC key is the decoded base64 (24 to 64 bytes).
    pub fn new(secret: &str) -> Result<Self, SigningError> {
        let encoded =
            secret.strip_prefix(SECRET_PREFIX).ok_or(SigningError::InvalidKey("secret must start with whsec_"))?;
        let key =
            STANDARD.decode(encoded).map_err(|_| SigningError::InvalidKey("secret is not base64 after whsec_"))?;
        if !KEY_LEN.contains(&key.len()) {
            return Err(SigningError::InvalidKey("secret must decode to 24 to 64 bytes"));
        }
        Ok(Self { key })
    }

    /// A fresh `whsec_` secret with 32 random bytes, for a new webhook endpoint.
    pub fn generate_secret() -> String {
        let mut key = [0u8; GENERATED_KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
    }

    fn mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac
    }

    /// The `webhook-signature` value: `v1,<base64>`.
    pub fn signature(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(msg_id, timestamp, body).finalize().into_bytes()))
    }

    /// The three headers to send with `body`; `timestamp` is unix seconds.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
        vec![
            (HEADER_ID, msg_id.to_owned()),
            (HEADER_TIMESTAMP, timestamp.to_string()),
            (HEADER_SIGNATURE, self.signature(msg_id, timestamp, body)),
        ]
    }

    /// Checks the headers against the raw `body` at `now` (unix seconds): timestamp within
    /// [`WEBHOOK_TOLERANCE_SECS`], and any one of the space-separated `v1` signatures matching
    /// (several are sent while a secret is being rotated).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), SigningError> {
        let header = |name: &'static str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .ok_or(SigningError::MissingHeader(name))
        };
        let msg_id = header(HEADER_ID)?;
        let timestamp: i64 = header(HEADER_TIMESTAMP)?.parse().map_err(|_| SigningError::InvalidTimestamp)?;
        header(HEADER_SIGNATURE)?;
        if now.abs_diff(timestamp) > WEBHOOK_TOLERANCE_SECS.unsigned_abs() {
            return Err(SigningError::TimestampOutOfTolerance);
        }
        let mac = self.mac(msg_id, timestamp, body);
        let entries =
            headers.get_all(HEADER_SIGNATURE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(' '));
        for entry in entries {
            let Some(("v1", encoded)) = entry.split_once(',') else { continue };
            let Ok(candidate) = STANDARD.decode(encoded) else { continue };
            // verify_slice compares in constant time.
            if mac.clone().verify_slice(&candidate).is_ok() {
                return Ok(());
            }
        }
        Err(SigningError::NoMatchingSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SigningError::*;

    // The published vector of the Standard Webhooks reference libraries (TestWebhookSign).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1614265330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn header_map(pairs: &[(&'static str, String)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }
    fn spec() -> (WebhookSigner, HeaderMap) {
        let signer = WebhookSigner::new(SPEC_SECRET).unwrap();
        let headers = header_map(&signer.sign(SPEC_ID, SPEC_TS, SPEC_BODY));
        (signer, headers)
    }
    fn with(mut headers: HeaderMap, name: &'static str, value: &str) -> HeaderMap {
        headers.insert(name, value.parse().unwrap());
        headers
    }

    #[test]
    fn matches_the_spec_test_vector() {
        let (signer, headers) = spec();
        assert_eq!(signer.signature(SPEC_ID, SPEC_TS, SPEC_BODY), SPEC_SIGNATURE);
        let names: Vec<_> = signer.sign(SPEC_ID, SPEC_TS, SPEC_BODY).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE]);
        assert_eq!(
            (&headers[HEADER_ID], &headers[HEADER_TIMESTAMP]),
            (&SPEC_ID.parse().unwrap(), &"1614265330".parse().unwrap())
        );
        assert_eq!(signer.verify(&headers, SPEC_BODY, SPEC_TS), Ok(()));
    }

    #[test]
    fn timestamp_tolerance_is_five_minutes_either_way() {
        let (signer, headers) = spec();
        for now in [SPEC_TS - 300, SPEC_TS + 300] {
            assert_eq!(signer.verify(&headers, SPEC_BODY, now), Ok(()));
        }
        for now in [SPEC_TS - 301, SPEC_TS + 301, i64::MIN, i64::MAX] {
            assert_eq!(signer.verify(&headers, SPEC_BODY, now), Err(TimestampOutOfTolerance));
        }
    }

    #[test]
    fn accepts_any_one_matching_v1_signature() {
        let (signer, headers) = spec();
        let junk = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
        let multi = format!("{junk} v2,{} {SPEC_SIGNATURE} v1,%%%", &SPEC_SIGNATURE[3..]);
        assert_eq!(signer.verify(&with(headers.clone(), HEADER_SIGNATURE, &multi), SPEC_BODY, SPEC_TS), Ok(()));
        // A right MAC under another version tag does not count.
        let others = format!("{junk} v2,{}", &SPEC_SIGNATURE[3..]);
        let result = signer.verify(&with(headers, HEADER_SIGNATURE, &others), SPEC_BODY, SPEC_TS);
        assert_eq!(result, Err(NoMatchingSignature));
    }

    #[test]
    fn rejects_tampering_and_other_secrets() {
        let (signer, headers) = spec();
        assert_eq!(signer.verify(&headers, br#"{"test": 2432232315}"#, SPEC_TS), Err(NoMatchingSignature));
        assert_eq!(
            signer.verify(&with(headers.clone(), HEADER_ID, "msg_2"), SPEC_BODY, SPEC_TS),
            Err(NoMatchingSignature)
        );
        let moved = with(headers.clone(), HEADER_TIMESTAMP, "1614265331");
        assert_eq!(signer.verify(&moved, SPEC_BODY, SPEC_TS), Err(NoMatchingSignature));
        let other = WebhookSigner::new(&WebhookSigner::generate_secret()).unwrap();
        assert_eq!(other.verify(&headers, SPEC_BODY, SPEC_TS), Err(NoMatchingSignature));
    }

    #[test]
    fn reports_missing_and_malformed_headers() {
        let (signer, headers) = spec();
        for name in [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE] {
            let mut without = headers.clone();
            without.remove(name);
            assert_eq!(signer.verify(&without, SPEC_BODY, SPEC_TS), Err(MissingHeader(name)));
        }
        let bad = with(headers, HEADER_TIMESTAMP, "2021-02-25T15:02:10Z");
        assert_eq!(signer.verify(&bad, SPEC_BODY, SPEC_TS), Err(InvalidTimestamp));
    }

    #[test]
    fn validates_the_secret_format() {
        let too_short = format!("whsec_{}", STANDARD.encode([1u8; 23]));
        let too_long = format!("whsec_{}", STANDARD.encode([1u8; 65]));
        for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not*base64!", &too_short, &too_long] {
            assert!(matches!(WebhookSigner::new(bad), Err(InvalidKey(_))), "{bad}");
        }
        let secret = WebhookSigner::generate_secret();
        assert_eq!(STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap().len(), 32);
        assert_ne!(secret, WebhookSigner::generate_secret());
        let shown = format!("{:?}", WebhookSigner::new(&secret).unwrap());
        assert!(shown.contains("[redacted]") && !shown.contains(&secret[6..]) && !shown.contains("key: ["));
    }
}
