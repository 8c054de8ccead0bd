//! Domain types: once a value is one of these, it is valid.

pub mod captures;
pub mod dates;
pub mod details;
pub mod handoff;
pub mod ids;
pub mod request;
pub mod session;
pub mod steps;
pub mod tenant;
pub mod text;
pub mod urls;

pub use captures::{CaptureResult, CaptureState};
pub use dates::{BirthDate, ExpiresIn};
pub use details::{BankDetails, Details, DvsDetails};
pub use ids::{ApiKey, ApiKeyHash, IdempotencyKey, JourneySecret, KeyMode, SessionId, TenantId};
pub use request::CreateSessionRequest;
pub use session::{Cancel, NewSession, Person, Progress, Refusal, Session, SessionStatus, StepState, StepStatus};
pub use steps::{MinAge, Step, Steps, Threshold};
pub use tenant::Tenant;
pub use text::{Locale, Metadata, PersonName, Reference};
pub use urls::{RedirectUrl, UrlPolicy, WebhookUrl};
