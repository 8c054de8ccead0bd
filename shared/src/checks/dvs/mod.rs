//! The dvs step: the identity document the user typed in, checked against its issuer's
//! records through the Australian Document Verification Service (via a gateway provider).

pub mod body;
pub mod http;

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::decision::{DocumentRank, DvsCode, StepOutcome};
use crate::domain::DvsDetails;
use crate::domain::details::DvsDocument;
use crate::pipeline::checks::CheckError;

pub use body::request_body;
pub use http::{DvsCredentials, HttpDvsConfig, HttpDvsGateway};

/// One DVS lookup: the document, the name and birth date expected on it, and when the user
/// consented to the check (DVS requires that consent to have been given; the gateway receives
/// it as RFC 3339).
#[derive(Clone, Copy)]
pub struct DvsRequest<'a> {
    pub details: &'a DvsDetails,
    pub given_name: Option<&'a str>,
    pub family_name: Option<&'a str>,
    pub birth_date: Option<NaiveDate>,
    /// Unix seconds.
    pub consent_at: i64,
}

impl std::fmt::Debug for DvsRequest<'_> {
    // Document numbers, names and birth dates are PII: only the document type may be shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DvsRequest").field("document", &self.details.document_type.as_str()).finish_non_exhaustive()
    }
}

/// Answers DVS lookups.
#[async_trait]
pub trait DvsGateway: Send + Sync {
    /// A short name for logs and metrics.
    fn name(&self) -> &'static str;
    /// The DVS answer: Y verified, N not verified, D document error (to review, never read
    /// as N). A service error (`S`) that persists is `Err(CheckError::Transient)`.
    async fn verify(&self, request: &DvsRequest<'_>) -> Result<DvsCode, CheckError>;
}

/// How far a verified document goes towards identifying someone, after the AML/CTF Rules'
/// safe harbour (Chapter 4): documents issued to evidence identity (a licence or passport with
/// a photo, a birth or citizenship certificate, an ImmiCard) are primary; a Medicare card has
/// neither photo nor birth date and a visa is a grant recorded against a foreign passport, so
/// both only support a primary document.
pub fn rank(document: DvsDocument) -> DocumentRank {
    match document {
        DvsDocument::Driverslicence
        | DvsDocument::Passport
        | DvsDocument::Birthcertificate
        | DvsDocument::Citizenship
        | DvsDocument::Immicard => DocumentRank::Primary,
        DvsDocument::Medicare | DvsDocument::Visa => DocumentRank::Secondary,
    }
}

/// Runs the dvs step.
pub async fn check(gateway: &dyn DvsGateway, request: &DvsRequest<'_>) -> Result<StepOutcome, CheckError> {
    let document = request.details.document_type;
    let decision = gateway.verify(request).await?;
    tracing::info!(gateway = gateway.name(), document = document.as_str(), decision = ?decision, "dvs answered");
    Ok(StepOutcome::Dvs { rank: rank(document), decision, document: document.as_str().to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Answers(Result<DvsCode, &'static str>);

    #[async_trait]
    impl DvsGateway for Answers {
        fn name(&self) -> &'static str {
            "answers"
        }
        async fn verify(&self, _: &DvsRequest<'_>) -> Result<DvsCode, CheckError> {
            self.0.map_err(|code| CheckError::Permanent { code: code.into() })
        }
    }

    fn details(document_type: DvsDocument) -> DvsDetails {
        DvsDetails { document_type, number: "PA1234567".into(), state: None, card_number: None }
    }

    fn request(details: &DvsDetails) -> DvsRequest<'_> {
        DvsRequest { details, given_name: Some("Jane"), family_name: Some("Smith"), birth_date: None, consent_at: 0 }
    }

    #[test]
    fn photo_and_evidence_of_identity_documents_are_primary() {
        use DocumentRank::{Primary, Secondary};
        let ranks = [
            (DvsDocument::Driverslicence, Primary),
            (DvsDocument::Passport, Primary),
            (DvsDocument::Birthcertificate, Primary),
            (DvsDocument::Citizenship, Primary),
            (DvsDocument::Immicard, Primary),
            (DvsDocument::Medicare, Secondary),
            (DvsDocument::Visa, Secondary),
        ];
        for (document, expected) in ranks {
            assert_eq!(rank(document), expected, "{document:?}");
        }
    }

    #[tokio::test]
    async fn check_records_rank_decision_and_document() {
        let medicare = details(DvsDocument::Medicare);
        let outcome = check(&Answers(Ok(DvsCode::D)), &request(&medicare)).await.unwrap();
        assert_eq!(
            outcome,
            StepOutcome::Dvs { rank: DocumentRank::Secondary, decision: DvsCode::D, document: "medicare".into() }
        );
        let passport = details(DvsDocument::Passport);
        let err = check(&Answers(Err("dvs_request_rejected")), &request(&passport)).await.unwrap_err();
        assert!(matches!(err, CheckError::Permanent { code } if code == "dvs_request_rejected"));
    }

    #[test]
    fn requests_keep_pii_out_of_debug_output() {
        let passport = details(DvsDocument::Passport);
        let shown = format!("{:?}", request(&passport));
        assert!(shown.contains("passport") && !shown.contains("PA1234567") && !shown.contains("Smith"), "{shown}");
    }
}
