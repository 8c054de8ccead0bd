//! Interop: our result JWTs and webhooks must verify with libraries we did not write (npm
//! `jose` and `standardwebhooks`, run by tests/interop/verify.mjs), and what those libraries
//! sign must pass our verifiers. Needs Node and tests/interop/node_modules:
//! run scripts/interop-deps.sh (scripts/test does).

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use shared::signing::{ResultSigner, SigningError, SigningKey, StandardClaims, WebhookSigner};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/interop/verify.mjs");
const NODE_MODULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/interop/node_modules");
const ISS: &str = "https://verify.totalidentity.example";
const AUD: &str = "ten_acme";

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Writes the case file, runs verify.mjs on it and returns its JSON verdicts.
fn run_node(cases: &Value) -> Value {
    for package in ["jose", "standardwebhooks"] {
        assert!(
            Path::new(NODE_MODULES).join(package).is_dir(),
            "tests/interop/node_modules/{package} is missing: run scripts/interop-deps.sh first"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.json");
    std::fs::write(&path, serde_json::to_vec(cases).unwrap()).unwrap();
    let out = Command::new("node")
        .arg(SCRIPT)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): run scripts/interop-deps.sh first"));
    assert!(out.status.success(), "verify.mjs failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("verify.mjs prints JSON")
}

fn standard(aud: &str, iss: &str, iat: i64, exp: i64) -> StandardClaims {
    let (sub, jti, reference) = ("ses_1".into(), "jti_1".into(), "cust_00123".into());
    StandardClaims { iss: iss.into(), aud: aud.into(), sub, iat, exp, jti, reference }
}

/// The jose verdict expected for a token: `Ok` or the error code (and claim, if any).
enum Jose {
    Ok,
    Err(&'static str, Option<&'static str>),
}

/// Name, token, key it is checked with ("jwks" or "hs256"), jose's verdict, our verdict.
type JwtCase = (&'static str, String, &'static str, Jose, Result<(), SigningError>);
/// Name, secret, body, headers, standardwebhooks' rejection message (`None`: accepted).
type WebhookCase<'a> = (&'static str, &'a str, &'a str, Map<String, Value>, Option<&'static str>);

#[test]
fn result_jwts_agree_with_jose() {
    let now = unix_now();
    let (old_key, active_key) = (SigningKey::generate_es256().unwrap(), SigningKey::generate_es256().unwrap());
    let signer = ResultSigner::new(active_key.clone()).unwrap().with_verification_key(&old_key).unwrap();
    let old = ResultSigner::new(old_key.clone()).unwrap();
    let stranger = ResultSigner::new(SigningKey::generate_es256().unwrap()).unwrap();
    let hs_secret: [u8; 32] = rand::random();
    let hs = ResultSigner::new(SigningKey::hs256(hs_secret.to_vec())).unwrap();

    let claims = json!({"status": "verified", "checks": {"document": "pass"}, "iss": "spoofed"});
    let claims = claims.as_object().unwrap();
    let ok = |s: &ResultSigner| s.sign(claims, standard(AUD, ISS, now - 60, now + 300)).unwrap();
    let valid = ok(&signer);
    let [h, p, s]: [&str; 3] = valid.split('.').collect::<Vec<_>>().try_into().unwrap();
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!("{}.{p}.", part(json!({"alg": "none", "kid": signer.kid(), "typ": "JWT"})));
    let forged = part(json!({"iss": ISS, "aud": AUD, "exp": now + 300, "sub": "ses_2", "status": "verified"}));
    let hs_token = ok(&hs);

    use SigningError::*;
    #[rustfmt::skip]
    let cases: Vec<JwtCase> = vec![
        ("valid", valid.clone(), "jwks", Jose::Ok, Ok(())),
        ("signed_by_retired_key", ok(&old), "jwks", Jose::Ok, Ok(())),
        ("expired_within_30s_skew", signer.sign(claims, standard(AUD, ISS, now - 600, now - 10)).unwrap(), "jwks",
            Jose::Ok, Ok(())),
        ("expired", signer.sign(claims, standard(AUD, ISS, now - 600, now - 120)).unwrap(), "jwks",
            Jose::Err("ERR_JWT_EXPIRED", Some("exp")), Err(Expired)),
        ("wrong_aud", signer.sign(claims, standard("ten_other", ISS, now, now + 300)).unwrap(), "jwks",
            Jose::Err("ERR_JWT_CLAIM_VALIDATION_FAILED", Some("aud")), Err(InvalidClaim("aud"))),
        ("wrong_iss", signer.sign(claims, standard(AUD, "https://evil.example", now, now + 300)).unwrap(), "jwks",
            Jose::Err("ERR_JWT_CLAIM_VALIDATION_FAILED", Some("iss")), Err(InvalidClaim("iss"))),
        ("alg_none", alg_none, "jwks", Jose::Err("ERR_JOSE_NOT_SUPPORTED", None), Err(AlgorithmNotAllowed)),
        ("unknown_kid", ok(&stranger), "jwks", Jose::Err("ERR_JWKS_NO_MATCHING_KEY", None), Err(UnknownKey)),
        ("tampered_payload", format!("{h}.{forged}.{s}"), "jwks",
            Jose::Err("ERR_JWS_SIGNATURE_VERIFICATION_FAILED", None), Err(BadSignature)),
        ("hs256_against_jwks", hs_token.clone(), "jwks", Jose::Err("ERR_JOSE_NOT_SUPPORTED", None),
            Err(AlgorithmMismatch)),
        ("hs256_with_tenant_secret", hs_token, "hs256", Jose::Ok, Ok(())),
    ];

    // Tokens jose signs with our keys, for our verifier.
    let jose_claims = |exp: i64| json!({"iss": ISS, "aud": AUD, "sub": "ses_1", "iat": now - 5, "exp": exp});
    let es = |name, key: &SigningKey, kid: Option<&str>, exp| json!({"name": name, "alg": "ES256", "kid": kid, "pkcs8_pem": key.pkcs8_pem(), "claims": jose_claims(exp)});
    let jwks = signer.jwks();
    let verdicts = run_node(&json!({
        "now": now, "issuer": ISS, "audience": AUD, "jwks": jwks, "keygen": true,
        "hs256_secret": URL_SAFE_NO_PAD.encode(hs_secret),
        "jwt": cases.iter().map(|(name, token, key, ..)| json!({"name": name, "token": token, "key": key}))
            .collect::<Vec<_>>(),
        "jwt_sign": [
            es("es256", &active_key, signer.kid(), now + 300),
            es("es256_retired", &old_key, old.kid(), now + 300),
            es("es256_expired", &active_key, signer.kid(), now - 60),
            {"name": "hs256", "alg": "HS256", "claims": jose_claims(now + 300)},
        ],
    }));

    for (name, token, key, jose, ours) in &cases {
        let got = &verdicts["jwt"][name];
        match jose {
            Jose::Ok => {
                assert_eq!(got["ok"], true, "jose rejected {name}: {got}");
                assert_eq!((&got["payload"]["status"], &got["payload"]["iss"]), (&json!("verified"), &json!(ISS)));
                assert_eq!(got["payload"]["reference"], "cust_00123", "{name}");
            }
            Jose::Err(code, claim) => {
                assert_eq!(got["ok"], false, "jose accepted {name}: {got}");
                assert_eq!(got["code"], *code, "{name}: {got}");
                assert_eq!(got["claim"].as_str(), *claim, "{name}: {got}");
            }
        }
        let verifier = if *key == "hs256" { &hs } else { &signer };
        assert_eq!(verifier.verify(token, AUD, ISS, now).map(|_| ()), *ours, "our verdict on {name}");
    }
    assert_eq!(verdicts["jwt"]["valid"]["header"], json!({"alg": "ES256", "kid": signer.kid(), "typ": "JWT"}));

    // Our generated kids are RFC 7638 thumbprints, as jose computes them.
    for kid in [signer.kid().unwrap(), old.kid().unwrap()] {
        assert_eq!(verdicts["thumbprints"][kid], kid);
    }

    let signed = |name: &str| verdicts["jwt_sign"][name].as_str().unwrap().to_owned();
    for (name, verifier) in [("es256", &signer), ("es256_retired", &signer), ("hs256", &hs)] {
        let payload = verifier.verify(&signed(name), AUD, ISS, now).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(payload["sub"], "ses_1");
    }
    assert_eq!(signer.verify(&signed("es256_expired"), AUD, ISS, now), Err(Expired));
    assert_eq!(old.verify(&signed("es256"), AUD, ISS, now), Err(UnknownKey));

    // A PKCS#8 PEM made by jose (WebCrypto) loads, and publishes the same public key.
    let pem = verdicts["keygen"]["pkcs8_pem"].as_str().unwrap();
    let external = ResultSigner::new(SigningKey::es256_from_pem("ops-2026-01", pem).unwrap()).unwrap();
    let jwk = &external.jwks()["keys"][0];
    assert_eq!((&jwk["x"], &jwk["y"]), (&verdicts["keygen"]["jwk"]["x"], &verdicts["keygen"]["jwk"]["y"]));
}

#[test]
fn webhooks_agree_with_standardwebhooks() {
    let now = unix_now();
    let (secret, other_secret) = (WebhookSigner::generate_secret(), WebhookSigner::generate_secret());
    let (ours, other) = (WebhookSigner::new(&secret).unwrap(), WebhookSigner::new(&other_secret).unwrap());
    // Non-ASCII on purpose: both sides must MAC the UTF-8 bytes.
    let body = r#"{"type":"verification.completed","data":{"session_id":"ses_1","name":"Zoë Ó'Brien ✓"}}"#;
    let headers = |signer: &WebhookSigner, ts: i64| -> Map<String, Value> {
        signer.sign("msg_1", ts, body.as_bytes()).into_iter().map(|(k, v)| (k.to_owned(), v.into())).collect()
    };
    let mut rotating = headers(&ours, now);
    let both = format!(
        "{} {}",
        other.signature("msg_1", now, body.as_bytes()),
        rotating["webhook-signature"].as_str().unwrap()
    );
    rotating.insert("webhook-signature".into(), both.into());

    #[rustfmt::skip]
    let cases: Vec<WebhookCase> = vec![
        ("valid", &secret, body, headers(&ours, now), None),
        ("rotation_new_secret", &secret, body, rotating.clone(), None),
        ("rotation_old_secret", &other_secret, body, rotating, None),
        ("stale", &secret, body, headers(&ours, now - 600), Some("Message timestamp too old")),
        ("future", &secret, body, headers(&ours, now + 600), Some("Message timestamp too new")),
        ("tampered_body", &secret, r#"{"type":"verification.completed"}"#, headers(&ours, now),
            Some("No matching signature found")),
        ("wrong_secret", &other_secret, body, headers(&ours, now), Some("No matching signature found")),
    ];
    let spec = (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        r#"{"test": 2432232314}"#,
    );
    let verdicts = run_node(&json!({
        "now": now,
        "webhook_verify": cases.iter().map(|(name, secret, body, headers, _)| {
            json!({"name": name, "secret": secret, "body": body, "headers": headers})
        }).collect::<Vec<_>>(),
        "webhook_sign": [
            {"name": "spec_vector", "secret": spec.0, "id": spec.1, "timestamp": spec.2, "body": spec.3},
            {"name": "utf8", "secret": secret, "id": "msg_2", "timestamp": now, "body": body},
        ],
    }));

    for (name, secret, body, headers, rejection) in &cases {
        let got = &verdicts["webhook_verify"][name];
        match rejection {
            None => assert_eq!(got["payload"], serde_json::from_str::<Value>(body).unwrap(), "{name}: {got}"),
            Some(message) => assert_eq!((&got["ok"], &got["message"]), (&json!(false), &json!(message)), "{name}"),
        }
        // Our verifier gives the same verdict on the same request.
        let map: http::HeaderMap =
            headers.iter().map(|(k, v)| (k.parse().unwrap(), v.as_str().unwrap().parse().unwrap())).collect();
        let ours = WebhookSigner::new(secret).unwrap().verify(&map, body.as_bytes(), now);
        assert_eq!(ours.is_ok(), rejection.is_none(), "our verdict on {name}: {ours:?}");
    }

    let spec_signer = WebhookSigner::new(spec.0).unwrap();
    assert_eq!(verdicts["webhook_sign"]["spec_vector"], spec_signer.signature(spec.1, spec.2, spec.3.as_bytes()));
    assert_eq!(verdicts["webhook_sign"]["spec_vector"], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_eq!(verdicts["webhook_sign"]["utf8"], ours.signature("msg_2", now, body.as_bytes()));
}
