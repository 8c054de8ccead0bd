//! What an AWS SDK failure says, for each adapter to map onto its port's errors. Messages name
//! only the operation and the service's error code: service messages may quote what was sent
//! (keys, items, receipt handles).

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Why the failure is worth retrying, or `None`: one of the service's throttling or internal
/// error `codes`, a timeout, a request that never left, or any 5xx answer.
pub(crate) fn retryable<E: ProvideErrorMetadata>(
    op: &str,
    err: &SdkError<E, HttpResponse>,
    codes: &[&str],
) -> Option<String> {
    let code = err.code().unwrap_or("unknown");
    if codes.contains(&code) {
        return Some(format!("{op}: {code}"));
    }
    match err {
        SdkError::TimeoutError(_) => Some(format!("{op}: timeout")),
        SdkError::DispatchFailure(_) => Some(format!("{op}: dispatch failure")),
        _ if err.raw_response().is_some_and(|r| r.status().is_server_error()) => {
            Some(format!("{op}: {code} (server error)"))
        }
        _ => None,
    }
}

/// A failure that retrying will not mend, described.
pub(crate) fn described<E: ProvideErrorMetadata>(op: &str, err: &SdkError<E, HttpResponse>) -> String {
    match err {
        SdkError::ConstructionFailure(_) => format!("{op}: request construction failed"),
        SdkError::ResponseError(_) => format!("{op}: unreadable response"),
        _ => format!("{op}: {}", err.code().unwrap_or("unknown")),
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn service(status: u16, code: &str, message: &str) -> SdkError<ErrorMetadata, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(meta, raw)
    }

    #[test]
    fn throttling_codes_timeouts_lost_requests_and_5xx_are_retryable() {
        let throttled = service(400, "SlowDown", "the key k/1 is hot");
        assert_eq!(retryable("PutObject", &throttled, &["SlowDown"]).as_deref(), Some("PutObject: SlowDown"));
        let unlisted = service(503, "Mystery", "");
        assert_eq!(retryable("Get", &unlisted, &[]).as_deref(), Some("Get: Mystery (server error)"));
        let timeout: SdkError<ErrorMetadata, HttpResponse> = SdkError::timeout_error("slow");
        assert_eq!(retryable("Get", &timeout, &[]).as_deref(), Some("Get: timeout"));
        let lost: SdkError<ErrorMetadata, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("reset".into()));
        assert_eq!(retryable("Get", &lost, &[]).as_deref(), Some("Get: dispatch failure"));
    }

    #[test]
    fn client_errors_are_described_without_the_services_message() {
        let refused = service(400, "ValidationException", "the item {\"name\": \"Jane\"} is invalid");
        assert_eq!(retryable("PutItem", &refused, &["ThrottlingException"]), None);
        assert_eq!(described("PutItem", &refused), "PutItem: ValidationException");
        let unbuilt: SdkError<ErrorMetadata, HttpResponse> = SdkError::construction_failure("no region");
        assert_eq!(described("PutItem", &unbuilt), "PutItem: request construction failed");
    }
}
