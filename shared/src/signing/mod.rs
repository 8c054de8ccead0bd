//! Signing of verification results: the redirect carries a signed JWT (`jwt`), the webhook
//! carries Standard Webhooks signature headers (`webhook`). Both are checked against
//! third-party libraries in `shared/tests/signing_interop.rs`. The JWT key material,
//! [`SigningKey`], lives here.
//!
//! Errors name what failed, never the key, secret, token or signature involved.

pub mod jwt;
pub mod webhook;

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

pub use jwt::{CLOCK_SKEW_SECS, ResultSigner, StandardClaims};
pub use webhook::{WEBHOOK_TOLERANCE_SECS, WebhookSigner};

/// Why signing or verifying failed. Carries no secret material and nothing echoed from a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The key or secret given to build a signer is unusable.
    #[error("invalid signing key: {0}")]
    InvalidKey(&'static str),
    /// The claims given to `sign` are inconsistent.
    #[error("cannot sign: {0}")]
    InvalidInput(&'static str),
    /// The crypto backend failed; not caused by the input.
    #[error("signing backend failure")]
    Backend,
    /// The token is not a well-formed compact JWS with a JSON object payload.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `alg: none` (or an algorithm we never accept).
    #[error("token algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// The token's `alg` is not the one this key set verifies (e.g. HS256 against ES256 keys).
    #[error("token algorithm does not match the key set")]
    AlgorithmMismatch,
    /// No key in the set has the token's `kid` (or the token has none).
    #[error("token key id is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    BadSignature,
    /// A required claim is missing or has another value than expected.
    #[error("token claim `{0}` is missing or does not match")]
    InvalidClaim(&'static str),
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    /// A Standard Webhooks header is absent.
    #[error("webhook header `{0}` is missing")]
    MissingHeader(&'static str),
    #[error("webhook timestamp is not a unix time in seconds")]
    InvalidTimestamp,
    #[error("webhook timestamp is outside the tolerance window")]
    TimestampOutOfTolerance,
    #[error("no webhook signature matches")]
    NoMatchingSignature,
}

const PKCS8_PEM_LABEL: &str = "PRIVATE KEY";

/// Key material for a [`jwt::ResultSigner`]. `Debug` never prints the private part. Built
/// only by the constructors below, so an ES256 key's public point always matches its private
/// key.
#[derive(Clone)]
pub struct SigningKey(KeyMaterial);

#[derive(Clone)]
enum KeyMaterial {
    /// An ECDSA P-256 private key as PKCS#8 DER, published in the JWKS under `kid`, with its
    /// public point's x and y (32 bytes each), found once when the key is parsed: each parse
    /// checks the pair with scalar multiplications, a measurable part of a cold start.
    Es256 { kid: String, pkcs8: Vec<u8>, public_xy: (Vec<u8>, Vec<u8>) },
    /// A per-tenant shared secret (at least 32 bytes).
    Hs256 { secret: Vec<u8> },
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            KeyMaterial::Es256 { kid, .. } => {
                f.debug_struct("Es256").field("kid", kid).field("pkcs8", &"[redacted]").finish()
            }
            KeyMaterial::Hs256 { .. } => f.debug_struct("Hs256").field("secret", &"[redacted]").finish(),
        }
    }
}

impl SigningKey {
    /// A fresh P-256 key (local server, tests); its `kid` is its RFC 7638 JWK thumbprint.
    pub fn generate_es256() -> Result<Self, SigningError> {
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|_| SigningError::Backend)?;
        let pkcs8 = doc.as_ref().to_vec();
        let public_xy = public_xy(&pkcs8)?;
        let kid = jwk_thumbprint(&public_xy.0, &public_xy.1);
        Ok(Self(KeyMaterial::Es256 { kid, pkcs8, public_xy }))
    }

    /// Loads a P-256 key from a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn es256_from_pem(kid: impl Into<String>, pem: &str) -> Result<Self, SigningError> {
        let kid = kid.into();
        if kid.is_empty() {
            return Err(SigningError::InvalidKey("kid must not be empty"));
        }
        let pkcs8 = decode_pem(pem)?;
        let public_xy = public_xy(&pkcs8)?;
        Ok(Self(KeyMaterial::Es256 { kid, pkcs8, public_xy }))
    }

    pub fn hs256(secret: impl Into<Vec<u8>>) -> Self {
        Self(KeyMaterial::Hs256 { secret: secret.into() })
    }

    /// The ES256 private key as PKCS#8 PEM, to persist a generated key; `None` for HS256.
    pub fn pkcs8_pem(&self) -> Option<String> {
        let KeyMaterial::Es256 { pkcs8, .. } = &self.0 else { return None };
        Some(pkcs8_pem(pkcs8))
    }
}

/// PKCS#8 DER as PEM.
pub(crate) fn pkcs8_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let body: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {PKCS8_PEM_LABEL}-----\n{}\n-----END {PKCS8_PEM_LABEL}-----\n", body.join("\n"))
}

/// Parses the PKCS#8 as a P-256 key and returns its public point's (x, y).
fn public_xy(pkcs8: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SigningError> {
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
        .map_err(|_| SigningError::InvalidKey("not a PKCS#8 P-256 private key"))?;
    // Uncompressed SEC1 point: 0x04 || x || y.
    match pair.public_key().as_ref() {
        [0x04, xy @ ..] if xy.len() == 64 => Ok((xy[..32].to_vec(), xy[32..].to_vec())),
        _ => Err(SigningError::Backend),
    }
}

/// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no spaces.
fn jwk_thumbprint(x: &[u8], y: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(x),
        URL_SAFE_NO_PAD.encode(y)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn decode_pem(pem: &str) -> Result<Vec<u8>, SigningError> {
    let begin = format!("-----BEGIN {PKCS8_PEM_LABEL}-----");
    let end = format!("-----END {PKCS8_PEM_LABEL}-----");
    let Some(rest) = pem.trim().strip_prefix(begin.as_str()) else {
        // SEC1 "EC PRIVATE KEY" is common; `openssl pkcs8 -topk8 -nocrypt` converts it.
        return Err(SigningError::InvalidKey("expected a PKCS#8 PEM (BEGIN PRIVATE KEY)"));
    };
    let body = rest.strip_suffix(end.as_str()).ok_or(SigningError::InvalidKey("PEM has no END line"))?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(b64).map_err(|_| SigningError::InvalidKey("PEM body is not base64"))
}
