//! The session service: what every entry point (Lambda or local server) calls.

use std::sync::Arc;

use crate::appendix::{AppendixEntry, AppendixLinks};
use crate::artifacts::Artifact;
use crate::config::Settings;
use crate::decision::StepOutcome;
use crate::domain::handoff::HandoffToken;
use crate::domain::ids::{digest, new_webhook_secret};
use crate::domain::request::parse_body;
use crate::domain::urls::parse_origin;
use crate::domain::{
    ApiKey, Cancel, CaptureResult, CreateSessionRequest, DeviceClass, IdempotencyKey, KeyMode, Progress, Reference,
    Refusal, RetentionDays, Session, SessionId, Step, Steps, Tenant, TenantId, Threshold, UrlPolicy, WebhookUrl,
};
use crate::error::{Error, ErrorKind, StoreError};
use crate::ports::{Clock, IdempotencyRecord, Inserted, SessionStore, TenantStore};

/// How long a session's record outlives its journey by default (a tenant's `retention`).
pub const SESSION_RETENTION_SECS: i64 = crate::domain::RetentionDays::DEFAULT.seconds();

/// The well-known key of the local server's demo tenant. Only the local server and
/// `tenant create --demo` use it; it is documented in the README like LocalStack's `test` keys.
pub const DEMO_API_KEY: &str = "ti_test_local_demo_key_do_not_use_in_production";

/// Whether a create call made a new session or replayed an idempotent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    New,
    Replayed,
}

mod outbox;
mod redaction;

pub use redaction::SessionAudit;

/// How many times a write that lost a race is retried before answering 409.
const WRITE_ATTEMPTS: usize = 5;

pub struct Identity {
    sessions: Arc<dyn SessionStore>,
    tenants: Arc<dyn TenantStore>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    appendix: Option<AppendixLinks>,
    /// Where lifecycle webhooks are queued; `None` sends none (the admin command, tests).
    webhooks: Option<Arc<dyn crate::queue::Queue>>,
    /// Per-tenant limits on `POST /identity`; `None` limits nothing (tests).
    rate_limiter: Option<Arc<dyn crate::ports::RateLimiter>>,
    /// Where erasure work is queued (the step queue); needed to accept redaction requests.
    erasure: Option<Arc<dyn crate::queue::Queue>>,
}

impl Identity {
    pub fn new(
        sessions: Arc<dyn SessionStore>,
        tenants: Arc<dyn TenantStore>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Self {
        Self { sessions, tenants, clock, settings, appendix: None, webhooks: None, rate_limiter: None, erasure: None }
    }

    pub fn with_rate_limiter(mut self, limiter: Arc<dyn crate::ports::RateLimiter>) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Takes one of the tenant's `POST /identity` tokens: `rate_limited` (429) when none is
    /// left. Called before anything is parsed or stored, so a limited request changes nothing.
    pub async fn admit_create(&self, tenant: &Tenant) -> Result<(), Error> {
        let Some(limiter) = &self.rate_limiter else { return Ok(()) };
        match limiter.take(&tenant.id, &tenant.rate_limit, self.now()).await? {
            crate::ports::RateDecision::Allowed => Ok(()),
            crate::ports::RateDecision::Limited { retry_after_secs } => {
                tracing::info!(tenant_id = %tenant.id, retry_after_secs, "rate limited");
                Err(Error::rate_limited(retry_after_secs))
            }
        }
    }

    /// Accepts redaction requests, queuing the erasure on `queue` (process-step consumes it).
    pub fn with_erasure(mut self, queue: Arc<dyn crate::queue::Queue>) -> Self {
        self.erasure = Some(queue);
        self
    }

    pub fn with_webhooks(mut self, queue: Arc<dyn crate::queue::Queue>) -> Self {
        self.webhooks = Some(queue);
        self
    }

    /// Queues the webhook of a session that has ended (finished or cancelled), at least once:
    /// the outbox flag is set only after the queue took it, so a retry of whatever ended the
    /// session queues it again (same event id; receivers dedupe).
    pub async fn queue_terminal_webhook(&self, session: &Session) -> Result<(), Error> {
        use crate::webhooks::{DeliveryJob, WebhookEvent, enqueue};
        let Some(queue) = &self.webhooks else { return Ok(()) };
        let now = self.now();
        let event = match session.status {
            _ if !session.terminal_webhook_due() => return Ok(()),
            crate::domain::SessionStatus::Finished => WebhookEvent::finished(session, &self.appendix_for(session), now),
            crate::domain::SessionStatus::Cancelled => Some(WebhookEvent::cancelled(session, now)),
            _ => return Ok(()),
        };
        let tenant = self.tenants.get_tenant(&session.tenant_id).await?;
        let job = tenant.zip(event).and_then(|(tenant, event)| DeliveryJob::for_session(event, &tenant, session, now));
        if let Some(job) = job {
            enqueue(&**queue, &job).await.map_err(|e| {
                tracing::error!(session_id = %session.id, error = %e, "webhook not queued");
                Error::new(ErrorKind::Unavailable, "queue_unavailable", "please retry")
            })?;
            tracing::info!(session_id = %session.id, status = session.status.as_str(), "webhook queued");
        }
        if let Err(e) = self.mark_webhook_queued(session.id).await {
            // Harmless: a later retry may queue the same event id again; receivers dedupe.
            tracing::warn!(session_id = %session.id, code = e.code, "could not mark the webhook as queued");
        }
        Ok(())
    }

    /// Issues appendix links for finished sessions' evidence.
    pub fn with_appendix(mut self, links: AppendixLinks) -> Self {
        self.appendix = Some(links);
        self
    }

    pub fn appendix_links(&self) -> Option<&AppendixLinks> {
        self.appendix.as_ref()
    }

    /// Fresh appendix links for a session's stored captures (each call gives new expiries).
    pub fn appendix_for(&self, session: &Session) -> Vec<AppendixEntry> {
        let Some(links) = &self.appendix else { return Vec::new() };
        if session.is_redacted() || !session.retained_at(self.now()) {
            return Vec::new();
        }
        let present: Vec<Artifact> = session.captures.iter().filter(|c| c.accepted()).map(|c| c.artifact).collect();
        links.links(session, &present, self.now())
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Resolves `Authorization: Bearer <key>` to its tenant.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Tenant, Error> {
        let key = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|k| ApiKey::presented(k.trim()))
            .ok_or_else(Error::unauthorized)?;
        self.tenants.tenant_by_key(&key.hash()).await?.ok_or_else(Error::unauthorized)
    }

    pub async fn create_session(
        &self,
        tenant: &Tenant,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<(Session, Creation), Error> {
        let now = self.now();
        let idempotency_key =
            idempotency_key.map(|k| IdempotencyKey::parse(k).map_err(|r| r.at("Idempotency-Key"))).transpose()?;
        let value = parse_body(body)?;
        let new = CreateSessionRequest::from_value(&value, self.settings.url_policy(), now)?.for_tenant(tenant)?;
        let challenge = if new.steps.as_slice().contains(&Step::Liveness) {
            crate::checks::liveness::challenge::new_challenge(&mut rand::rng())
        } else {
            Vec::new()
        };
        let mut session = Session::open(SessionId::random(), tenant.id.clone(), new, challenge, now);
        session.retention = tenant.retention;
        let Some(key) = idempotency_key else {
            self.sessions.insert_session(&session, None, now).await?;
            return Ok((session, Creation::New));
        };
        let request_digest = digest(&canonical(&value).to_string());
        let record = IdempotencyRecord {
            tenant_id: tenant.id.clone(),
            key_digest: key.digest(),
            request_digest: request_digest.clone(),
            session_id: session.id,
            expires_at: now + IdempotencyRecord::LIFETIME_SECS,
        };
        for _ in 0..WRITE_ATTEMPTS {
            match self.sessions.insert_session(&session, Some(&record), now).await {
                Ok(Inserted::Created) => return Ok((session, Creation::New)),
                Ok(Inserted::IdempotencyHit { request_digest: earlier, session_id }) => {
                    if earlier != request_digest {
                        return Err(Error::new(
                            ErrorKind::Conflict,
                            "idempotency_key_reused",
                            "this Idempotency-Key was used with a different request body in the last 24 hours",
                        )
                        .with_field("Idempotency-Key"));
                    }
                    let earlier = self
                        .sessions
                        .get_session(session_id)
                        .await?
                        .ok_or_else(|| Error::internal("idempotency record points at a missing session"))?;
                    return Ok((earlier, Creation::Replayed));
                }
                // Lost a race with a concurrent request using the same key: read its outcome.
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::ConditionFailed.into())
    }

    /// A tenant's session. Another tenant's, a malformed id and a purged one all read as not found.
    pub async fn get_session(&self, tenant: &Tenant, id: &str) -> Result<Session, Error> {
        let id = SessionId::parse(id).map_err(|_| Error::session_not_found())?;
        match self.sessions.get_session(id).await? {
            Some(s) if s.tenant_id == tenant.id && s.retained_at(self.now()) => Ok(s),
            _ => Err(Error::session_not_found()),
        }
    }

    /// Cancels a session: no further steps are accepted. Idempotent.
    pub async fn cancel_session(&self, tenant: &Tenant, id: &str) -> Result<Session, Error> {
        let id = SessionId::parse(id).map_err(|_| Error::session_not_found())?;
        let (session, _) = self
            .update(id, |session, now| {
                // Another tenant's session, or one past its retention, reads as unknown.
                if session.tenant_id != tenant.id || !session.retained_at(now) {
                    return Err(Refusal::NotFound);
                }
                match session.cancel(now) {
                    Ok(Cancel::Cancelled) => Ok(Progress::Recorded),
                    Ok(Cancel::AlreadyCancelled) => Ok(Progress::Duplicate),
                    Err(status) => Err(Refusal::NotCancellable(status)),
                }
            })
            .await?;
        self.queue_terminal_webhook(&session).await?;
        Ok(session)
    }

    /// Records a step's outcome (idempotent). The call whose write completes a submitted
    /// session returns [`Progress::Finished`]: that is the one aggregation.
    pub async fn record_outcome(
        &self,
        id: SessionId,
        step: Step,
        outcome: StepOutcome,
        source: &str,
    ) -> Result<(Session, Progress), Error> {
        self.update(id, |session, now| session.record_outcome(step, outcome.clone(), source, now)).await
    }

    /// The session a journey URL's secret opens. Unknown secrets read as not found.
    pub async fn journey_session(&self, secret: &str) -> Result<Session, Error> {
        let not_found = || Error::new(ErrorKind::NotFound, "journey_not_found", "no such journey").with_field("secret");
        // Anything not shaped like our 256-bit secrets is refused before a lookup.
        if secret.len() != 43 || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(not_found());
        }
        let session = self.sessions.session_by_journey(&digest(secret)).await?.ok_or_else(not_found)?;
        crate::api::record_session(&session.id);
        // Past retention, or erased: there is no journey left to serve.
        if !session.retained_at(self.now()) || session.is_redacted() {
            return Err(not_found());
        }
        Ok(session)
    }

    /// Reads a session for internal work (no tenant check): the pipeline acts on ids it
    /// received from our own queues and bucket keys.
    pub async fn load(&self, id: SessionId) -> Result<Option<Session>, Error> {
        Ok(self.sessions.get_session(id).await?)
    }

    /// Stores the user's dvs / bank details (journey side).
    pub async fn set_details(
        &self,
        id: SessionId,
        details: crate::domain::Details,
    ) -> Result<(Session, Progress), Error> {
        self.update(id, |session, now| session.set_details(details.clone(), now)).await
    }

    pub async fn mark_webhook_queued(&self, id: SessionId) -> Result<(Session, Progress), Error> {
        self.update(id, |session, now| session.mark_webhook_queued(now)).await
    }

    /// A tenant by id, for internal work (webhook targets).
    pub async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, Error> {
        Ok(self.tenants.get_tenant(id).await?)
    }

    /// The quality-gate result of one upload.
    pub async fn record_capture(
        &self,
        id: SessionId,
        artifact: Artifact,
        source: &str,
        result: CaptureResult,
    ) -> Result<(Session, Progress), Error> {
        self.update(id, |session, now| session.record_capture(artifact, source, result.clone(), now)).await
    }

    /// The end user's consent to the checks.
    pub async fn consent(&self, id: SessionId) -> Result<(Session, Progress), Error> {
        self.update(id, |session, now| session.consent(now)).await
    }

    /// The end user's final submit.
    pub async fn submit(&self, id: SessionId) -> Result<(Session, Progress), Error> {
        self.update(id, |session, now| session.submit(now)).await
    }

    /// Issues a desktop-to-phone handoff link for an open journey; returns its token (once).
    pub async fn issue_handoff(&self, id: SessionId) -> Result<(Session, HandoffToken), Error> {
        let session = self.load(id).await?.ok_or_else(Error::session_not_found)?;
        let token = HandoffToken::generate(&session.journey_secret.digest());
        let (session, _) = self.update(id, |session, now| session.issue_handoff(token.digest(), now)).await?;
        Ok((session, token))
    }

    /// The session a handoff link belongs to (not opening it). Unknown links read as not found.
    pub async fn handoff_session(&self, token: &str) -> Result<(Session, HandoffToken), Error> {
        let not_found = || Refusal::Handoff(crate::domain::handoff::HandoffRefusal::Unknown);
        let token = HandoffToken::parse(token).ok_or_else(|| refused(not_found()))?;
        let session = self.sessions.session_by_journey(token.journey_digest()).await?;
        let session = session.filter(|s| s.handoffs.iter().any(|h| h.token_digest == token.digest()));
        Ok((session.ok_or_else(|| refused(not_found()))?, token))
    }

    /// Opens a handoff link, once (a conditional write: of two phones racing, one wins).
    pub async fn open_handoff(&self, token: &str) -> Result<Session, Error> {
        let (session, token) = self.handoff_session(token).await?;
        let (session, _) = self.update(session.id, |s, now| s.open_handoff(&token.digest(), now)).await?;
        Ok(session)
    }

    /// Read, change, conditionally write; re-read and retry when another writer won.
    async fn update(
        &self,
        id: SessionId,
        change: impl Fn(&mut Session, i64) -> Result<Progress, Refusal>,
    ) -> Result<(Session, Progress), Error> {
        update_session(&*self.sessions, &*self.clock, id, change).await
    }

    /// The journey page was opened on a device of this class (recorded once per class).
    pub async fn open_journey(&self, id: SessionId, device: DeviceClass) -> Result<(Session, Progress), Error> {
        self.update(id, |session, now| session.open_journey(device, now)).await
    }

    /// A queued step begins running (recorded once per step).
    pub async fn start_step(&self, id: SessionId, step: Step) -> Result<(Session, Progress), Error> {
        self.update(id, |session, now| session.start_step(step, now)).await
    }

    /// A tenant's sessions for one of its references, newest first.
    pub async fn list_sessions(&self, tenant: &Tenant, reference: &str, limit: usize) -> Result<Vec<Session>, Error> {
        let reference = Reference::parse(reference).map_err(|r| r.at("reference"))?;
        let now = self.now();
        let sessions = self.sessions.sessions_by_reference(&tenant.id, &reference, limit).await?;
        Ok(sessions.into_iter().filter(|s| s.retained_at(now)).collect())
    }

    /// The journey URL, while the end user can still use it.
    pub fn identity_url(&self, session: &Session) -> Option<String> {
        session.is_open_at(self.now()).then(|| self.settings.journey_url(session.journey_secret.expose()))
    }
}

/// Read, change, conditionally write; re-read and retry when another writer won. A change
/// that answers [`Progress::Duplicate`] writes nothing.
pub async fn update_session(
    store: &dyn SessionStore,
    clock: &dyn Clock,
    id: SessionId,
    change: impl Fn(&mut Session, i64) -> Result<Progress, Refusal>,
) -> Result<(Session, Progress), Error> {
    for _ in 0..WRITE_ATTEMPTS {
        let mut session = store.get_session(id).await?.ok_or_else(Error::session_not_found)?;
        let read_version = session.version;
        match change(&mut session, clock.now()) {
            Ok(Progress::Duplicate) => return Ok((session, Progress::Duplicate)),
            Ok(progress) => match store.replace_session(&session, read_version).await {
                Ok(()) => {
                    // The one write that aggregates: each decision is counted once.
                    if let (Progress::Finished, Some(a)) = (progress, &session.assessment) {
                        crate::metrics::decision(a.decision);
                    }
                    return Ok((session, progress));
                }
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e.into()),
            },
            Err(refusal) => return Err(refused(refusal)),
        }
    }
    Err(StoreError::ConditionFailed.into())
}

/// What an operator gives to create a tenant.
#[derive(Debug, Clone)]
pub struct TenantSpec {
    pub name: String,
    pub redirect_origins: Vec<String>,
    pub webhook_url: Option<String>,
    pub default_steps: Option<Steps>,
    pub default_threshold: Option<Threshold>,
    pub mode: KeyMode,
    /// Use [`DEMO_API_KEY`] instead of a random key (local demos and examples only).
    pub demo_key: bool,
    pub result_signing: crate::domain::tenant::ResultSigning,
    pub rate_limit: crate::domain::tenant::RateLimit,
    /// Default [`RetentionDays::DEFAULT`].
    pub retention: Option<RetentionDays>,
    /// How the hosted journey presents the tenant (already parsed).
    pub branding: crate::domain::tenant::Branding,
}

impl TenantSpec {
    /// A test-mode tenant with every other setting at its default.
    pub fn new(name: impl Into<String>, redirect_origins: &[&str]) -> Self {
        TenantSpec {
            name: name.into(),
            redirect_origins: redirect_origins.iter().map(|origin| origin.to_string()).collect(),
            webhook_url: None,
            default_steps: None,
            default_threshold: None,
            mode: KeyMode::Test,
            demo_key: false,
            result_signing: Default::default(),
            rate_limit: Default::default(),
            retention: None,
            branding: Default::default(),
        }
    }
}

/// Creates a tenant and its first API key. The key is returned once and stored only as a hash.
pub async fn create_tenant(
    tenants: &dyn TenantStore,
    policy: UrlPolicy,
    spec: TenantSpec,
    now: i64,
) -> Result<(Tenant, ApiKey), Error> {
    let name = spec.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid("invalid_name", "name", "tenant name must be 1 to 100 printable characters"));
    }
    if spec.redirect_origins.is_empty() {
        return Err(Error::invalid("missing_field", "redirect_origins", "at least one redirect origin is required"));
    }
    let redirect_origins = spec
        .redirect_origins
        .iter()
        .map(|o| parse_origin(o, policy).map_err(|r| r.at("redirect_origins")))
        .collect::<Result<Vec<_>, _>>()?;
    let webhook_url = spec
        .webhook_url
        .as_deref()
        .map(|u| WebhookUrl::parse(u, policy).map_err(|r| r.at("webhook_url")))
        .transpose()?;
    let key = if spec.demo_key {
        ApiKey::presented(DEMO_API_KEY).expect("demo key is well-formed")
    } else {
        ApiKey::generate(spec.mode)
    };
    let tenant = Tenant {
        id: TenantId::random(),
        name: name.to_owned(),
        redirect_origins,
        webhook_url,
        webhook_secret: new_webhook_secret(),
        default_steps: spec.default_steps.unwrap_or_else(Tenant::standard_steps),
        default_threshold: spec.default_threshold.unwrap_or(Threshold::DEFAULT),
        created_at: now,
        result_signing: spec.result_signing,
        rate_limit: spec.rate_limit,
        retention: spec.retention.unwrap_or_default(),
        branding: spec.branding,
    };
    tenants.insert_tenant(&tenant, &key.hash()).await?;
    Ok((tenant, key))
}

/// The local server's demo tenant: the documented demo key, and redirect origins that the
/// README's examples use.
pub fn demo_tenant_spec() -> TenantSpec {
    TenantSpec {
        demo_key: true,
        rate_limit: crate::domain::tenant::RateLimit::DEMO,
        ..TenantSpec::new("Demo tenant", &["https://yourapp.com", "http://localhost:3000"])
    }
}

/// Makes sure the demo tenant exists; returns it.
pub async fn ensure_demo_tenant(tenants: &dyn TenantStore, settings: &Settings, now: i64) -> Result<Tenant, Error> {
    let key = ApiKey::presented(DEMO_API_KEY).expect("demo key is well-formed");
    if let Some(tenant) = tenants.tenant_by_key(&key.hash()).await? {
        return Ok(tenant);
    }
    match create_tenant(tenants, settings.url_policy(), demo_tenant_spec(), now).await {
        Ok((tenant, _)) => Ok(tenant),
        // Created concurrently by another process.
        Err(e) if e.kind == ErrorKind::Conflict => {
            tenants.tenant_by_key(&key.hash()).await?.ok_or_else(|| Error::internal("demo tenant vanished"))
        }
        Err(e) => Err(e),
    }
}

/// The one place a domain refusal becomes an API error.
fn refused(refusal: Refusal) -> Error {
    match refusal {
        Refusal::DetailsMissing => Error::new(
            ErrorKind::Conflict,
            "details_missing",
            "the dvs and bank steps need their details before submitting",
        )
        .with_field("details"),
        Refusal::CapturesMissing => Error::new(
            ErrorKind::Conflict,
            "captures_missing",
            "every required capture must be uploaded and pass the quality checks before submitting",
        )
        .with_field("captures"),
        Refusal::ConsentMissing => {
            Error::new(ErrorKind::Conflict, "consent_missing", "the user must consent to the checks before submitting")
                .with_field("consent")
        }
        Refusal::StepNotRequested => {
            Error::invalid("step_not_requested", "step", "this session did not ask for that step")
        }
        Refusal::RedactionNotRequested => {
            Error::new(ErrorKind::Conflict, "redaction_not_requested", "no redaction was requested for this session")
                .with_field("session_id")
        }
        Refusal::Handoff(refusal) => {
            use crate::domain::handoff::HandoffRefusal;
            let (kind, code, message) = match refusal {
                HandoffRefusal::Used => (ErrorKind::Gone, "handoff_used", "this link has already been used"),
                HandoffRefusal::Expired => (ErrorKind::Gone, "handoff_expired", "this link has expired"),
                HandoffRefusal::Unknown => (ErrorKind::NotFound, "handoff_not_found", "no such link"),
            };
            Error::new(kind, code, message).with_field("token")
        }
        Refusal::NotFound => Error::session_not_found(),
        Refusal::NotCancellable(status) => Error::new(
            ErrorKind::Conflict,
            "session_not_cancellable",
            format!("the session is {} and can no longer be cancelled", status.as_str()),
        )
        .with_field("session_id"),
        Refusal::Closed(status) => Error::new(
            ErrorKind::Conflict,
            "session_closed",
            format!("the session is {} and accepts no more input", status.as_str()),
        )
        .with_field("session_id"),
    }
}

/// The same JSON with every object's keys sorted, so key order and spacing never change a
/// digest (serde_json keeps insertion order when any crate enables `preserve_order`).
fn canonical(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}
