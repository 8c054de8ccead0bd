//! Domain types: once a value is one of these, it is valid.

pub mod audit;
pub mod captures;
pub mod dates;
pub mod details;
pub mod handoff;
pub mod ids;
pub mod redaction;
pub mod request;
pub mod retention;
pub mod session;
pub mod steps;
pub mod tenant;
pub mod text;
pub mod timeline;
pub mod urls;

pub use audit::{AuditEvent, AuditKind, AuditTrail, DeviceClass};
pub use captures::{CaptureResult, CaptureState};
pub use dates::{BirthDate, ExpiresIn};
pub use details::{BankDetails, Details, DvsDetails};
pub use ids::{ApiKey, ApiKeyHash, IdempotencyKey, JourneySecret, KeyMode, SessionId, TenantId};
pub use redaction::{Redaction, RedactionState};
pub use request::CreateSessionRequest;
pub use retention::RetentionDays;
pub use session::{Cancel, NewSession, Person, Progress, Refusal, Session, SessionStatus, StepState, StepStatus};
pub use steps::{MinAge, Step, Steps, Threshold};
pub use tenant::Tenant;
pub use text::{Locale, Metadata, PersonName, Reference};
pub use urls::{RedirectUrl, UrlPolicy, WebhookUrl};
