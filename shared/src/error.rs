//! The one error taxonomy of the service. Every failure a client can see is a
//! machine code, an optional offending field and a message; `api::respond`
//! is the single place that maps kinds to HTTP statuses.

use std::fmt;

/// What kind of failure this is; decides the HTTP status in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Invalid,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    Gone,
    /// Over the tenant's rate limit: 429 with `Retry-After` (whole seconds, at least 1).
    RateLimited {
        retry_after_secs: u64,
    },
    Unavailable,
    Internal,
}

/// A client-visible error: `{"status":"error","error":{"code","field","message"}}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct Error {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({field}): {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl Error {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, field: None, message: message.into() }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message).with_field(field)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorKind::Unauthorized,
            "unauthorized",
            "a valid API key is required as `Authorization: Bearer <key>`",
        )
        .with_field("Authorization")
    }

    pub fn session_not_found() -> Self {
        Self::new(ErrorKind::NotFound, "session_not_found", "no such session").with_field("session_id")
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let retry_after_secs = retry_after_secs.max(1);
        Self::new(
            ErrorKind::RateLimited { retry_after_secs },
            "rate_limited",
            format!("too many requests for this tenant; retry after {retry_after_secs} s"),
        )
        .with_field("tenant")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, "internal_error", message)
    }
}

/// A rejected value, before the request parser knows which field it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn at(self, field: impl Into<String>) -> Error {
        Error::invalid(self.code, field, self.message)
    }
}

/// Failures of a storage adapter, mapped from SDK or SQLite errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the item changed or already exists.
    #[error("conditional write failed")]
    ConditionFailed,
    /// The backend could not be reached or answered with a throttle / server error.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: corrupt item, unexpected answer.
    #[error("store error: {0}")]
    Backend(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed => {
                Error::new(ErrorKind::Conflict, "concurrent_update", "the session changed meanwhile; retry")
            }
            StoreError::Unavailable(_) => {
                Error::new(ErrorKind::Unavailable, "store_unavailable", "storage is temporarily unavailable; retry")
            }
            StoreError::Backend(_) => Error::internal("storage error"),
        }
    }
}
