//! Delivering webhook events from a queue: one POST per received message, retried by
//! re-queuing the job (SQS delays top out at 15 minutes, so long waits take several hops),
//! and handed to a dead-letter queue after three days of failures.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::backoff::next_attempt_at;
use super::event::WebhookEvent;
use super::{AttemptLog, SecretLookup, WebhookError};
use crate::domain::{Session, SessionId, Tenant, TenantId, WebhookUrl};
use crate::ports::Clock;
use crate::queue::{Delivery, MAX_DELAY, Queue};
use crate::signing::WebhookSigner;

/// Receivers should answer quickly and do their work later; a slow one costs us Lambda time.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The queue message: an event on its way to one endpoint.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub event: WebhookEvent,
    pub tenant_id: TenantId,
    pub url: Url,
    /// The number of the next attempt, from 1.
    pub attempt: u32,
    pub first_attempt_at: i64,
    /// No attempt before this time (unix seconds).
    pub not_before: i64,
    /// The session whose audit trail records each attempt (absent in jobs queued before
    /// attempts were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
}

// Hand-written: the URL may carry a customer's token and the event carries results.
impl std::fmt::Debug for DeliveryJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryJob")
            .field("event", &self.event)
            .field("tenant_id", &self.tenant_id)
            .field("host", &self.url.host_str())
            .field("attempt", &self.attempt)
            .field("first_attempt_at", &self.first_attempt_at)
            .field("not_before", &self.not_before)
            .field("session_id", &self.session_id)
            .finish()
    }
}

impl DeliveryJob {
    pub fn new(event: WebhookEvent, tenant_id: TenantId, url: &WebhookUrl, now: i64) -> Self {
        Self {
            event,
            tenant_id,
            url: url.url().clone(),
            attempt: 1,
            first_attempt_at: now,
            not_before: now,
            session_id: None,
        }
    }

    /// The job for a session's event: its own `webhook_url` wins over the tenant's; `None`
    /// when neither is set.
    pub fn for_session(event: WebhookEvent, tenant: &Tenant, session: &Session, now: i64) -> Option<Self> {
        let url = session.webhook_url.as_ref().or(tenant.webhook_url.as_ref())?;
        Some(Self { session_id: Some(session.id), ..Self::new(event, tenant.id.clone(), url, now) })
    }
}

/// Sends `job` to `queue`, due at once; its `not_before`, if later, is honoured on receipt.
pub async fn enqueue(queue: &dyn Queue, job: &DeliveryJob) -> Result<(), WebhookError> {
    queue.send(&serde_json::to_string(job)?, Duration::ZERO).await?;
    Ok(())
}

/// What to tell the queue about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handled (delivered, re-queued or dead-lettered): delete the message.
    Done,
    /// Leave the message for redelivery; nothing was safely recorded elsewhere.
    Retry,
}

pub struct Deliverer {
    http: reqwest::Client,
    queue: Arc<dyn Queue>,
    dead_letter: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretLookup>,
    attempts: Option<Arc<dyn AttemptLog>>,
}

impl Deliverer {
    /// Records every attempt in its session's audit trail.
    pub fn with_attempt_log(mut self, log: Arc<dyn AttemptLog>) -> Self {
        self.attempts = Some(log);
        self
    }

    pub fn new(
        queue: Arc<dyn Queue>,
        dead_letter: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        secrets: Arc<dyn SecretLookup>,
    ) -> Result<Self, WebhookError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            // A redirect could point our signed request anywhere, past the URL checks.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("TotalIdentity-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookError::Client(e.without_url().to_string()))?;
        Ok(Self { http, queue, dead_letter, clock, secrets, attempts: None })
    }

    /// A Lambda SQS batch: the ids of the messages to leave for redelivery.
    pub async fn handle_batch(&self, deliveries: &[Delivery]) -> Vec<String> {
        let mut failed = Vec::new();
        for delivery in deliveries {
            if self.handle(delivery).await == Outcome::Retry {
                failed.push(delivery.message_id.clone());
            }
        }
        failed
    }

    pub async fn handle(&self, delivery: &Delivery) -> Outcome {
        let Ok(mut job) = serde_json::from_str::<DeliveryJob>(&delivery.body) else {
            // Redrive moves it to the dead-letter queue once its receives run out.
            tracing::warn!(message_id = %delivery.message_id, "unreadable webhook job");
            return Outcome::Retry;
        };
        let now = self.clock.now();
        if now < job.not_before {
            let wait = Duration::from_secs((job.not_before - now) as u64).min(MAX_DELAY);
            return self.requeue(&self.queue, &job, wait).await;
        }
        let signer = match self.secrets.webhook_secret(&job.tenant_id).await {
            Ok(Some(secret)) => WebhookSigner::new(&secret).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(event_id = %job.event.id, error = %e, "webhook secret lookup failed");
                return Outcome::Retry;
            }
        };
        let Some(signer) = signer else {
            // Nothing can be signed, now or later: keep the job for an operator.
            tracing::warn!(event_id = %job.event.id, tenant = %job.tenant_id, "no usable webhook secret");
            crate::metrics::dlq_arrival("webhooks");
            return self.requeue(&self.dead_letter, &job, Duration::ZERO).await;
        };
        let status = self.post(&job, &signer, now).await;
        self.log_attempt(&job, status).await;
        if status.is_some_and(|s| (200..300).contains(&s)) {
            return Outcome::Done;
        }
        match next_attempt_at(job.first_attempt_at, now, job.attempt, rand::random()) {
            Some(at) => {
                job.attempt += 1;
                job.not_before = at;
                let wait = Duration::from_secs((at - now).max(0) as u64).min(MAX_DELAY);
                self.requeue(&self.queue, &job, wait).await
            }
            None => {
                let outcome = self.requeue(&self.dead_letter, &job, Duration::ZERO).await;
                if outcome == Outcome::Done {
                    crate::metrics::dlq_arrival("webhooks");
                    tracing::warn!(event_id = %job.event.id, tenant = %job.tenant_id, attempts = job.attempt,
                        "webhook given up after the retry window");
                }
                outcome
            }
        }
    }

    async fn log_attempt(&self, job: &DeliveryJob, status: Option<u16>) {
        let (Some(log), Some(session)) = (&self.attempts, job.session_id) else { return };
        if let Err(e) = log.record_attempt(session, &job.event.event_type, job.attempt, status).await {
            tracing::warn!(event_id = %job.event.id, %session, code = e.code, "webhook attempt not recorded");
        }
    }

    /// One signed POST; the receiver's status code, if it answered (2xx is a delivery).
    /// Logs never include the URL, body or signature.
    async fn post(&self, job: &DeliveryJob, signer: &WebhookSigner, now: i64) -> Option<u16> {
        let body = job.event.body();
        let mut request = self.http.post(job.url.clone()).header(http::header::CONTENT_TYPE, "application/json");
        // Same webhook-id on every attempt; timestamp and signature are fresh each time.
        for (name, value) in signer.sign(&job.event.id, now, body.as_bytes()) {
            request = request.header(name, value);
        }
        let (event_id, attempt, tenant) = (&job.event.id, job.attempt, &job.tenant_id);
        let delivered = match request.body(body).send().await {
            Ok(response) if response.status().is_success() => {
                tracing::info!(%event_id, attempt, %tenant, status = response.status().as_u16(), "webhook delivered");
                Some(response.status().as_u16())
            }
            Ok(response) => {
                tracing::info!(%event_id, attempt, %tenant, status = response.status().as_u16(), "webhook refused");
                Some(response.status().as_u16())
            }
            Err(e) => {
                tracing::info!(%event_id, attempt, %tenant, error = %e.without_url(), "webhook not delivered");
                None
            }
        };
        crate::metrics::webhook_attempt(delivered.is_some_and(|status| (200..300).contains(&status)));
        delivered
    }

    /// Puts the job on `queue`; if that fails the received message must stay, so: Retry.
    async fn requeue(&self, queue: &Arc<dyn Queue>, job: &DeliveryJob, wait: Duration) -> Outcome {
        let sent = match serde_json::to_string(job) {
            Ok(body) => queue.send(&body, wait).await.map_err(WebhookError::from),
            Err(e) => Err(e.into()),
        };
        match sent {
            Ok(()) => Outcome::Done,
            Err(e) => {
                tracing::warn!(event_id = %job.event.id, error = %e, "cannot re-queue webhook job");
                Outcome::Retry
            }
        }
    }
}
