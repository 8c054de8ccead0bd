//! The signed result: the contract's result object as JWT claims, and the redirect that
//! carries it back to the customer's `redirect_url`.

use serde_json::{Map, Value, json};
use url::Url;

use crate::appendix::AppendixEntry;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::Session;
use crate::domain::tenant::{ResultSigning, Tenant};
use crate::signing::{ResultSigner, SigningError, SigningKey, StandardClaims};

/// Result tokens travel in a browser redirect and are read at once; they need not live long.
pub const TOKEN_TTL_SECS: i64 = 15 * 60;

/// The result object of the contract (`score`, `threshold`, `intent`, `status`, `decision`,
/// `evidence`, `appendix`), plus machine `reasons`. `None` until the session is finished.
pub fn result_claims(session: &Session, appendix: &[AppendixEntry]) -> Option<Map<String, Value>> {
    let a = session.assessment.as_ref()?;
    let claims = json!({
        "score": a.score,
        "threshold": a.threshold,
        "intent": "journey_end",
        "status": "finished",
        "decision": a.decision.as_str(),
        "reasons": a.reasons,
        "evidence": a.evidence,
        "appendix": appendix,
    });
    match claims {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

pub struct ResultTokens {
    signer: ResultSigner,
    issuer: String,
}

impl ResultTokens {
    /// `issuer` is our public base URL; the audience of every token is the tenant's id.
    pub fn new(signer: ResultSigner, issuer: impl Into<String>) -> Self {
        Self { signer, issuer: issuer.into() }
    }

    pub fn signer(&self) -> &ResultSigner {
        &self.signer
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A fresh token for a finished session, signed as its tenant chose.
    pub fn token(
        &self,
        session: &Session,
        tenant: &Tenant,
        appendix: &[AppendixEntry],
        now: i64,
    ) -> Result<Option<String>, SigningError> {
        let Some(claims) = result_claims(session, appendix) else { return Ok(None) };
        let standard = StandardClaims {
            iss: self.issuer.clone(),
            aud: session.tenant_id.to_string(),
            sub: session.id.to_string(),
            iat: now,
            exp: now + TOKEN_TTL_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
            reference: session.reference.as_str().to_owned(),
        };
        match &tenant.result_signing {
            ResultSigning::Es256 => self.signer.sign(&claims, standard).map(Some),
            ResultSigning::Hs256 { secret } => {
                let key = URL_SAFE_NO_PAD.decode(secret).map_err(|_| SigningError::InvalidInput("bad HS256 secret"))?;
                ResultSigner::new(SigningKey::hs256(key))?.sign(&claims, standard).map(Some)
            }
        }
    }
}

/// `redirect_url` with `token=<jwt>` added to its query; an existing query is kept and an
/// existing `token` parameter is replaced, so the customer reads exactly one.
pub fn redirect_with_token(redirect_url: &Url, token: &str) -> Url {
    let mut url = redirect_url.clone();
    let kept: Vec<(String, String)> = redirect_url
        .query_pairs()
        .filter(|(k, _)| k != "token")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(kept).append_pair("token", token);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Screening, StepOutcome};
    use crate::domain::{SessionId, Step};

    async fn finished_demo_session() -> (crate::testing::Demo, Session) {
        let demo = crate::testing::demo().await;
        let mut session = demo.seed_session(&SessionId::random().to_string()).await;
        session.steps.truncate(1);
        session.steps[0].step = Step::Peps;
        let outcome = StepOutcome::Peps { count: 0, outcome: Screening::Cleared, matches: vec![] };
        session.steps[0].outcome = Some(outcome);
        session.submit(demo.app.now()).unwrap();
        (demo, session)
    }

    #[tokio::test]
    async fn tenants_choose_es256_or_a_shared_hs256_secret() {
        let (demo, session) = finished_demo_session().await;
        let tokens =
            ResultTokens::new(ResultSigner::new(SigningKey::generate_es256().unwrap()).unwrap(), "https://v.example");
        let now = demo.app.now();
        let aud = demo.tenant.id.as_str();

        let es = tokens.token(&session, &demo.tenant, &[], now).unwrap().unwrap();
        assert_eq!(tokens.signer().verify(&es, aud, "https://v.example", now).unwrap()["sub"], session.id.to_string());

        let mut tenant = demo.tenant.clone();
        tenant.result_signing = ResultSigning::generate_hs256();
        let hs = tokens.token(&session, &tenant, &[], now).unwrap().unwrap();
        let ResultSigning::Hs256 { secret } = &tenant.result_signing else { unreachable!() };
        let shared = ResultSigner::new(SigningKey::hs256(URL_SAFE_NO_PAD.decode(secret).unwrap())).unwrap();
        assert_eq!(shared.verify(&hs, aud, "https://v.example", now).unwrap()["decision"], "approved");
        assert!(tokens.signer().verify(&hs, aud, "https://v.example", now).is_err(), "not accepted as ES256");
    }

    #[test]
    fn redirects_keep_the_query_and_carry_one_token() {
        let base = Url::parse("https://yourapp.com/verified?step=2&token=stale#top").unwrap();
        let url = redirect_with_token(&base, "abc.def.ghi");
        assert_eq!(url.as_str(), "https://yourapp.com/verified?step=2&token=abc.def.ghi#top");
        let plain = redirect_with_token(&Url::parse("https://yourapp.com/done").unwrap(), "t");
        assert_eq!(plain.as_str(), "https://yourapp.com/done?token=t");
    }
}
