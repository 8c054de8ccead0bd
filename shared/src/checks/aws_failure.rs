//! How the AWS-backed check providers (Textract, Rekognition) read an SDK failure.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::pipeline::checks::CheckError;

/// The service's refusals of what was sent (`refused`: its error code and the step's outcome
/// code) and bad credentials are permanent; throttling, 5xx, timeouts and answers cut short are
/// retried; anything else is a provider error.
pub(crate) fn check_err<E: ProvideErrorMetadata>(
    op: &str,
    err: &SdkError<E, HttpResponse>,
    refused: &[(&str, &str)],
) -> CheckError {
    const TRANSIENT: &[&str] =
        &["ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError"];
    const ACCESS_DENIED: &[&str] =
        &["AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException"];
    let permanent = |code: &str| CheckError::Permanent { code: code.to_owned() };
    let code = err.code().unwrap_or_default();
    if let Some((_, outcome)) = refused.iter().find(|(service, _)| *service == code) {
        return permanent(outcome);
    }
    if ACCESS_DENIED.contains(&code) {
        return permanent("provider_access_denied");
    }
    match crate::sdk::retryable(op, err, TRANSIENT) {
        Some(why) => CheckError::Transient(why),
        // A response cut short is the usual reason it cannot be read.
        None if matches!(err, SdkError::ResponseError(_)) => CheckError::Transient(crate::sdk::described(op, err)),
        None => permanent("provider_error"),
    }
}
