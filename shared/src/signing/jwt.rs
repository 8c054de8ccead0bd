//! The result JWT put on the customer's redirect: ES256 with a `kid` by default (customers
//! verify against our JWKS), or HS256 with a per-tenant secret for tenants that want no JWKS.

use std::collections::HashSet;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};

use super::{KeyMaterial, SigningError, SigningKey};

/// Clock skew tolerated on `exp`, `nbf` and `iat`; tokens live minutes, so keep it small.
pub const CLOCK_SKEW_SECS: i64 = 30;
/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
const MIN_HS256_SECRET_LEN: usize = 32;

/// The registered claims we always set; they override same-named keys of the custom claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    /// Unix seconds.
    pub iat: i64,
    /// Unix seconds; must be after `iat`.
    pub exp: i64,
    pub jti: String,
    /// The customer's own reference for the verification.
    pub reference: String,
}

/// A key that can verify: the active one or an older one kept during rotation.
struct VerifyKey {
    /// ES256 only: the key id and the public point as base64url (x, y) for the JWKS.
    es256: Option<(String, String, String)>,
    key: DecodingKey,
}

/// Signs result tokens with one active key and verifies them against the active key plus any
/// older verification-only keys (so tokens already issued survive a key rotation).
pub struct ResultSigner {
    alg: Algorithm,
    kid: Option<String>,
    encoding: EncodingKey,
    verify_keys: Vec<VerifyKey>,
}

impl fmt::Debug for ResultSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.verify_keys.iter().filter_map(|k| k.es256.as_ref().map(|e| e.0.as_str())).collect();
        f.debug_struct("ResultSigner")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("verification_kids", &kids)
            .field("keys", &"[redacted]")
            .finish()
    }
}

impl ResultSigner {
    pub fn new(key: SigningKey) -> Result<Self, SigningError> {
        let (alg, kid, encoding) = match &key.0 {
            KeyMaterial::Es256 { kid, pkcs8, .. } => {
                (Algorithm::ES256, Some(kid.clone()), EncodingKey::from_ec_der(pkcs8))
            }
            KeyMaterial::Hs256 { secret } => (Algorithm::HS256, None, EncodingKey::from_secret(secret)),
        };
        let verify_keys = vec![verify_key(&key)?];
        Ok(Self { alg, kid, encoding, verify_keys })
    }

    /// Adds an older key that still verifies (and stays in the JWKS) but no longer signs.
    /// Only its public part is kept for ES256.
    pub fn with_verification_key(mut self, key: &SigningKey) -> Result<Self, SigningError> {
        let vk = verify_key(key)?;
        self.push_verify_key(vk)?;
        Ok(self)
    }

    /// Adds an older ES256 public key from its JWK (`kty` EC, `crv` P-256, `x`, `y`, `kid`).
    pub fn with_verification_jwk(mut self, jwk: &Value) -> Result<Self, SigningError> {
        let field = |name| jwk.get(name).and_then(Value::as_str);
        if field("kty") != Some("EC") || field("crv") != Some("P-256") {
            return Err(SigningError::InvalidKey("JWK is not an EC P-256 key"));
        }
        let (Some(kid), Some(x), Some(y)) = (field("kid"), field("x"), field("y")) else {
            return Err(SigningError::InvalidKey("JWK lacks kid, x or y"));
        };
        let mut point = vec![0x04];
        for c in [x, y] {
            let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| SigningError::InvalidKey("JWK x/y is not base64url"))?;
            if bytes.len() != 32 || kid.is_empty() {
                return Err(SigningError::InvalidKey("JWK x/y must be 32 bytes and kid non-empty"));
            }
            point.extend_from_slice(&bytes);
        }
        let vk = VerifyKey { es256: Some((kid.into(), x.into(), y.into())), key: DecodingKey::from_ec_der(&point) };
        self.push_verify_key(vk)?;
        Ok(self)
    }

    fn push_verify_key(&mut self, vk: VerifyKey) -> Result<(), SigningError> {
        if vk.es256.is_some() != (self.alg == Algorithm::ES256) {
            return Err(SigningError::InvalidKey("verification key algorithm differs from the signing key"));
        }
        if let Some((kid, ..)) = &vk.es256
            && self.find_es256(kid).is_some()
        {
            return Err(SigningError::InvalidKey("duplicate kid in key set"));
        }
        self.verify_keys.push(vk);
        Ok(())
    }

    fn find_es256(&self, kid: &str) -> Option<&VerifyKey> {
        self.verify_keys.iter().find(|k| k.es256.as_ref().is_some_and(|e| e.0 == kid))
    }

    /// `ES256` or `HS256`.
    pub fn algorithm(&self) -> &'static str {
        alg_name(self.alg)
    }

    /// The `kid` put in the header of new tokens (ES256 only).
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Signs `claims` plus the standard claims (which win over same-named keys in `claims`).
    pub fn sign(&self, claims: &Map<String, Value>, standard: StandardClaims) -> Result<String, SigningError> {
        if standard.exp <= standard.iat {
            return Err(SigningError::InvalidInput("exp must be after iat"));
        }
        let mut payload = claims.clone();
        let StandardClaims { iss, aud, sub, iat, exp, jti, reference } = standard;
        for (name, value) in [
            ("iss", json!(iss)),
            ("aud", json!(aud)),
            ("sub", json!(sub)),
            ("iat", json!(iat)),
            ("exp", json!(exp)),
            ("jti", json!(jti)),
            ("reference", json!(reference)),
        ] {
            payload.insert(name.to_owned(), value);
        }
        let mut header = Header::new(self.alg);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, &payload, &self.encoding).map_err(|_| SigningError::Backend)
    }

    /// The public JWK Set: every ES256 key of the set, the active one first. Empty for HS256.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .verify_keys
            .iter()
            .filter_map(|k| k.es256.as_ref())
            .map(|(kid, x, y)| {
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"})
            })
            .collect();
        json!({ "keys": keys })
    }

    /// Verifies signature, algorithm, `kid`, `iss`, `aud`, `exp` (required) and, when present,
    /// `nbf` and `iat`, at `now` (unix seconds) with [`CLOCK_SKEW_SECS`] of leeway.
    pub fn verify(
        &self,
        token: &str,
        expected_aud: &str,
        expected_iss: &str,
        now: i64,
    ) -> Result<Map<String, Value>, SigningError> {
        // Read alg and kid ourselves first, so each refusal has its own precise reason.
        let header = parse_header(token)?;
        match header.get("alg").and_then(Value::as_str) {
            None => return Err(SigningError::Malformed("header has no alg")),
            Some(alg) if alg != "ES256" && alg != "HS256" => return Err(SigningError::AlgorithmNotAllowed),
            Some(alg) if alg != alg_name(self.alg) => return Err(SigningError::AlgorithmMismatch),
            Some(_) => {}
        }
        // No `crit` extension is understood, so RFC 7515 §4.1.11 says reject.
        if header.contains_key("crit") {
            return Err(SigningError::Malformed("unsupported crit header"));
        }
        let candidates: Vec<&VerifyKey> = if self.alg == Algorithm::ES256 {
            let kid = header.get("kid").and_then(Value::as_str).ok_or(SigningError::UnknownKey)?;
            vec![self.find_es256(kid).ok_or(SigningError::UnknownKey)?]
        } else {
            self.verify_keys.iter().collect()
        };
        let mut validation = Validation::new(self.alg);
        // Time and audience are checked below against the caller's `now`, not the system clock.
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        let mut last = SigningError::BadSignature;
        for vk in candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &vk.key, &validation) {
                Ok(data) => return check_claims(data.claims, expected_aud, expected_iss, now),
                Err(e) => last = map_decode_error(e.kind()),
            }
        }
        Err(last)
    }
}

fn check_claims(
    claims: Map<String, Value>,
    expected_aud: &str,
    expected_iss: &str,
    now: i64,
) -> Result<Map<String, Value>, SigningError> {
    if claims.get("iss").and_then(Value::as_str) != Some(expected_iss) {
        return Err(SigningError::InvalidClaim("iss"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expected_aud,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected_aud)),
        _ => false,
    };
    if !aud_ok {
        return Err(SigningError::InvalidClaim("aud"));
    }
    let time = |name: &'static str| match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or(SigningError::InvalidClaim(name)),
    };
    let (now, skew) = (now as f64, CLOCK_SKEW_SECS as f64);
    let exp = time("exp")?.ok_or(SigningError::InvalidClaim("exp"))?;
    // RFC 7519 §4.1.4: the current time must be before exp (plus the skew).
    if now >= exp + skew {
        return Err(SigningError::Expired);
    }
    for name in ["nbf", "iat"] {
        if time(name)?.is_some_and(|t| t > now + skew) {
            return Err(SigningError::NotYetValid);
        }
    }
    Ok(claims)
}

fn map_decode_error(kind: &ErrorKind) -> SigningError {
    match kind {
        ErrorKind::InvalidSignature | ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidKeyFormat => {
            SigningError::BadSignature
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => SigningError::AlgorithmMismatch,
        ErrorKind::UnsupportedAlgorithm => SigningError::AlgorithmNotAllowed,
        ErrorKind::Json(_) => SigningError::Malformed("payload is not a JSON object"),
        _ => SigningError::Malformed("not a compact JWS"),
    }
}

fn parse_header(token: &str) -> Result<Map<String, Value>, SigningError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(SigningError::Malformed("not three dot-separated parts"));
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| SigningError::Malformed("header is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| SigningError::Malformed("header is not a JSON object"))
}

fn verify_key(key: &SigningKey) -> Result<VerifyKey, SigningError> {
    match &key.0 {
        KeyMaterial::Es256 { kid, public_xy: (x, y), .. } => {
            if kid.is_empty() {
                return Err(SigningError::InvalidKey("kid must not be empty"));
            }
            let mut point = vec![0x04];
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            let es256 = Some((kid.clone(), URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y)));
            Ok(VerifyKey { es256, key: DecodingKey::from_ec_der(&point) })
        }
        KeyMaterial::Hs256 { secret } if secret.len() < MIN_HS256_SECRET_LEN => {
            Err(SigningError::InvalidKey("HS256 secret must be at least 32 bytes"))
        }
        KeyMaterial::Hs256 { secret } => Ok(VerifyKey { es256: None, key: DecodingKey::from_secret(secret) }),
    }
}

fn alg_name(alg: Algorithm) -> &'static str {
    if alg == Algorithm::ES256 { "ES256" } else { "HS256" }
}

#[cfg(test)]
mod tests {
    use super::SigningError::*;
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair};

    const NOW: i64 = 1_750_000_000;
    const AUD: &str = "tenant_1";
    const ISS: &str = "https://id.example";

    fn standard(exp: i64) -> StandardClaims {
        let (sub, jti, reference) = ("ses_1".into(), "jti_1".into(), "cust_1".into());
        StandardClaims { iss: ISS.into(), aud: AUD.into(), sub, iat: NOW - 60, exp, jti, reference }
    }
    fn es256() -> (SigningKey, ResultSigner) {
        let key = SigningKey::generate_es256().unwrap();
        (key.clone(), ResultSigner::new(key).unwrap())
    }
    fn token(signer: &ResultSigner) -> String {
        signer.sign(&Map::new(), standard(NOW + 300)).unwrap()
    }
    fn verify(signer: &ResultSigner, token: &str) -> Result<Map<String, Value>, SigningError> {
        signer.verify(token, AUD, ISS, NOW)
    }
    fn part(value: Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn es256_round_trip_where_standard_claims_win() {
        let (_, signer) = es256();
        let claims = json!({"status": "verified", "iss": "spoofed", "aud": "other"}).as_object().unwrap().clone();
        let token = signer.sign(&claims, standard(NOW + 300)).unwrap();
        let header = parse_header(&token).unwrap();
        assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("ES256"), signer.kid()));
        let got = verify(&signer, &token).unwrap();
        assert_eq!(
            (got["status"].as_str(), got["iss"].as_str(), got["aud"].as_str()),
            (Some("verified"), Some(ISS), Some(AUD))
        );
        assert_eq!((got["exp"].as_i64(), got["reference"].as_str()), (Some(NOW + 300), Some("cust_1")));
        assert_eq!(signer.sign(&claims, standard(NOW - 60)), Err(InvalidInput("exp must be after iat")));
    }

    #[test]
    fn refuses_alg_none_other_algs_and_alg_mismatch() {
        let (_, signer) = es256();
        let token = token(&signer);
        let payload = token.split('.').nth(1).unwrap();
        for alg in ["none", "None", "RS256"] {
            let forged = format!("{}.{payload}.", part(json!({"alg": alg, "kid": signer.kid()})));
            assert_eq!(verify(&signer, &forged), Err(AlgorithmNotAllowed), "{alg}");
        }
        // Key confusion: an HS256 token keyed with our public JWKS must not pass as ES256.
        let hs = ResultSigner::new(SigningKey::hs256(signer.jwks().to_string())).unwrap();
        assert_eq!(verify(&signer, &super::tests::token(&hs)), Err(AlgorithmMismatch));
        assert_eq!(verify(&hs, &token), Err(AlgorithmMismatch));
    }

    #[test]
    fn refuses_unknown_kid_and_bad_signatures() {
        let ((_, signer), (_, other)) = (es256(), es256());
        assert_eq!(verify(&signer, &token(&other)), Err(UnknownKey));
        let token = token(&signer);
        let [h, p, s]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
        let no_kid = format!("{}.{p}.{s}", part(json!({"alg": "ES256"})));
        assert_eq!(verify(&signer, &no_kid), Err(UnknownKey));
        let forged = part(json!({"iss": ISS, "aud": AUD, "exp": NOW + 9999, "sub": "someone_else"}));
        assert_eq!(verify(&signer, &format!("{h}.{forged}.{s}")), Err(BadSignature));
        let other_sig = super::tests::token(&other).rsplit('.').next().unwrap().to_owned();
        assert_eq!(verify(&signer, &format!("{h}.{p}.{other_sig}")), Err(BadSignature));
        assert_eq!(verify(&signer, &format!("{h}.{p}")), Err(Malformed("not three dot-separated parts")));
    }

    #[test]
    fn checks_audience_issuer_and_time_with_30s_skew() {
        let (_, signer) = es256();
        let token = token(&signer);
        assert_eq!(signer.verify(&token, "tenant_2", ISS, NOW), Err(InvalidClaim("aud")));
        assert_eq!(signer.verify(&token, AUD, "https://evil.example", NOW), Err(InvalidClaim("iss")));
        assert!(signer.verify(&token, AUD, ISS, NOW + 300 + 29).is_ok());
        assert_eq!(signer.verify(&token, AUD, ISS, NOW + 300 + 30), Err(Expired));
        assert_eq!(signer.verify(&token, AUD, ISS, NOW - 60 - 31), Err(NotYetValid));
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert!(check_claims(claims(json!({"iss": ISS, "aud": ["x", AUD], "exp": NOW + 1})), AUD, ISS, NOW).is_ok());
        assert_eq!(check_claims(claims(json!({"iss": ISS, "aud": AUD})), AUD, ISS, NOW), Err(InvalidClaim("exp")));
        let future_nbf = claims(json!({"iss": ISS, "aud": AUD, "exp": NOW + 99, "nbf": NOW + 31}));
        assert_eq!(check_claims(future_nbf, AUD, ISS, NOW), Err(NotYetValid));
    }

    #[test]
    fn hs256_per_tenant_secret() {
        let (old, new) = (SigningKey::hs256([7u8; 32]), SigningKey::hs256([8u8; 32]));
        let signer = ResultSigner::new(old.clone()).unwrap();
        let token = token(&signer);
        assert_eq!(parse_header(&token).unwrap()["alg"], "HS256");
        assert!(verify(&signer, &token).is_ok());
        assert_eq!(signer.jwks(), json!({"keys": []}));
        assert_eq!(verify(&ResultSigner::new(new.clone()).unwrap(), &token), Err(BadSignature));
        let rotated = ResultSigner::new(new).unwrap().with_verification_key(&old).unwrap();
        assert!(verify(&rotated, &token).is_ok());
        assert!(matches!(ResultSigner::new(SigningKey::hs256([7u8; 31])), Err(InvalidKey(_))));
    }

    #[test]
    fn rotation_verifies_and_publishes_older_keys() {
        let ((old_key, old), (new_key, _)) = (es256(), es256());
        let set = ResultSigner::new(new_key.clone()).unwrap().with_verification_key(&old_key).unwrap();
        assert!(verify(&set, &token(&old)).is_ok());
        let jwks = set.jwks();
        let kids: Vec<_> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str()).collect();
        assert_eq!(kids, [set.kid(), old.kid()]);
        assert_eq!(parse_header(&token(&set)).unwrap()["kid"].as_str(), set.kid());
        // The published JWK alone is enough once the old private key is destroyed.
        let from_jwk = ResultSigner::new(new_key).unwrap().with_verification_jwk(&old.jwks()["keys"][0]).unwrap();
        assert!(verify(&from_jwk, &token(&old)).is_ok());
        assert!(matches!(set.with_verification_key(&old_key), Err(InvalidKey("duplicate kid in key set"))));
        assert!(matches!(old.with_verification_key(&SigningKey::hs256([1; 32])), Err(InvalidKey(_))));
    }

    #[test]
    fn jwks_shape_and_pem_round_trip() {
        let (key, signer) = es256();
        let jwk = signer.jwks()["keys"][0].clone();
        let mut fields: Vec<_> = jwk.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        assert_eq!(fields, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
        assert_eq!((jwk["x"].as_str().unwrap().len(), jwk["y"].as_str().unwrap().len()), (43, 43));
        let pem = key.pkcs8_pem().unwrap();
        let loaded = ResultSigner::new(SigningKey::es256_from_pem("k1", &pem).unwrap()).unwrap();
        assert_eq!((loaded.kid(), &loaded.jwks()["keys"][0]["x"]), (Some("k1"), &jwk["x"]));
        let sec1 = pem.replace("PRIVATE KEY", "EC PRIVATE KEY");
        let p384 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let p384 = crate::signing::pkcs8_pem(p384.as_ref());
        for bad in [sec1.as_str(), &p384, "-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----", ""] {
            assert!(matches!(SigningKey::es256_from_pem("k", bad), Err(InvalidKey(_))));
        }
    }

    #[test]
    fn debug_output_redacts_key_material() {
        let (key, signer) = es256();
        let pem = key.pkcs8_pem().unwrap();
        let hs = SigningKey::hs256(b"tenant-secret-0123456789abcdefghij".to_vec());
        for shown in [format!("{key:?}"), format!("{signer:?}"), format!("{hs:?}")] {
            assert!(shown.contains("[redacted]"), "{shown}");
            assert!(!shown.contains(&pem.lines().nth(1).unwrap()[..16]) && !shown.contains("tenant-secret"));
            assert!(!shown.contains("pkcs8: [") && !shown.contains("secret: ["), "no byte arrays: {shown}");
        }
    }
}
