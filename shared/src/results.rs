//! The signed result: the contract's result object as JWT claims, and the redirect that
//! carries it back to the customer's `redirect_url`.

use serde_json::{Map, Value, json};
use url::Url;

use crate::appendix::AppendixEntry;
use crate::domain::Session;
use crate::signing::{ResultSigner, SigningError, StandardClaims};

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

    /// A fresh token for a finished session.
    pub fn token(
        &self,
        session: &Session,
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
        self.signer.sign(&claims, standard).map(Some)
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

    #[test]
    fn redirects_keep_the_query_and_carry_one_token() {
        let base = Url::parse("https://yourapp.com/verified?step=2&token=stale#top").unwrap();
        let url = redirect_with_token(&base, "abc.def.ghi");
        assert_eq!(url.as_str(), "https://yourapp.com/verified?step=2&token=abc.def.ghi#top");
        let plain = redirect_with_token(&Url::parse("https://yourapp.com/done").unwrap(), "t");
        assert_eq!(plain.as_str(), "https://yourapp.com/done?token=t");
    }
}
