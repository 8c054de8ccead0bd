//! Step processing: what the SQS-triggered function (and the local server's in-process
//! consumer) does with each message. Every record is handled on its own; the ids of the
//! records that should be retried are returned, as Lambda's partial batch responses want.
//! Messages are S3 `ObjectCreated` notifications for captures, or our own "run this
//! step" messages queued at submission.

pub mod checks;
mod erasure;
pub mod sandbox;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::artifacts::{self, Artifact};
use crate::checks::document::quality::{self, CaptureKind};
use crate::decision::StepOutcome;
use crate::domain::CaptureResult;
use crate::domain::{Progress, Session, SessionId, Step};
use crate::error::ErrorKind;
use crate::objects::{ObjectError, ObjectSigner, ObjectStore};
use crate::queue::{Delivery, Queue};
use crate::service::Identity;
use checks::{Capture, CheckError, CheckProvider, StepInput};

/// Our own messages: a step that runs after submission, or a redaction's erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepMessage {
    RunStep { session_id: SessionId, step: Step },
    Erase { session_id: SessionId },
}

/// The parts of an S3 event notification we read.
#[derive(Debug, Deserialize)]
struct S3Notification {
    #[serde(rename = "Records", default)]
    records: Vec<S3Record>,
    /// `s3:TestEvent`, sent once when notifications are configured.
    #[serde(rename = "Event")]
    event: Option<String>,
}

#[derive(Debug, Deserialize)]
struct S3Record {
    #[serde(rename = "eventName")]
    event_name: String,
    s3: S3Entity,
}

#[derive(Debug, Deserialize)]
struct S3Entity {
    object: S3Object,
}

#[derive(Debug, Deserialize)]
struct S3Object {
    key: String,
    #[serde(rename = "eTag")]
    etag: Option<String>,
}

/// An S3-shaped `ObjectCreated` notification, as the local server's upload endpoint
/// publishes it, so one parser serves S3 and the embedded store.
pub fn object_created_event(key: &str, etag: &str) -> String {
    serde_json::json!({
        "Records": [{
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Post",
            "s3": {"object": {"key": key, "eTag": etag}}
        }]
    })
    .to_string()
}

/// Why a record should be delivered again.
#[derive(Debug)]
struct Retry(String);

pub struct Pipeline {
    identity: Arc<Identity>,
    /// The URLs browsers use: upload slots and evidence links.
    signer: Arc<dyn ObjectSigner>,
    /// Where submission queues steps; `None` in the Lambda step consumer, which never submits.
    steps: Option<Arc<dyn Queue>>,
    /// `None` in functions that only queue steps (the journey): they never consume the queue,
    /// so they read no objects and run no checks.
    consumer: Option<Consumer>,
}

/// What consuming the step queue takes.
struct Consumer {
    objects: Arc<dyn ObjectStore>,
    checks: Arc<dyn CheckProvider>,
    /// The queue's maxReceiveCount: on the last delivery a failing step records an error
    /// outcome, so the session finishes even though the message goes to the DLQ.
    max_receives: u32,
}

impl Pipeline {
    /// The step consumer: reads uploads from `objects`, runs `checks`, and signs with the
    /// same store.
    pub fn new(
        identity: Arc<Identity>,
        objects: Arc<dyn ObjectStore>,
        steps: Arc<dyn Queue>,
        checks: Arc<dyn CheckProvider>,
        max_receives: u32,
    ) -> Self {
        Self { steps: Some(steps), ..Self::consuming_only(identity, objects, checks, max_receives) }
    }

    /// The step consumer alone (process-step): it runs steps but cannot submit.
    pub fn consuming_only(
        identity: Arc<Identity>,
        objects: Arc<dyn ObjectStore>,
        checks: Arc<dyn CheckProvider>,
        max_receives: u32,
    ) -> Self {
        let signer: Arc<dyn ObjectSigner> = objects.clone();
        Self { identity, signer, steps: None, consumer: Some(Consumer { objects, checks, max_receives }) }
    }

    /// A pipeline that only queues steps and signs URLs (the journey).
    pub fn queuing_only(identity: Arc<Identity>, signer: Arc<dyn ObjectSigner>, steps: Arc<dyn Queue>) -> Self {
        Self { identity, signer, steps: Some(steps), consumer: None }
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn signer(&self) -> &dyn ObjectSigner {
        &*self.signer
    }

    fn consumer(&self) -> Result<&Consumer, Retry> {
        self.consumer.as_ref().ok_or_else(|| Retry("no check providers in this function".into()))
    }

    /// Handles a batch; returns the message ids to deliver again.
    pub async fn handle_batch(&self, deliveries: &[Delivery]) -> Vec<String> {
        let Some(consumer) = &self.consumer else {
            tracing::error!("a step message reached a function built without check providers");
            return deliveries.iter().map(|d| d.message_id.clone()).collect();
        };
        let mut failed = Vec::new();
        for delivery in deliveries {
            if let Err(Retry(why)) = self.handle(delivery).await {
                tracing::warn!(message_id = %delivery.message_id, receive_count = delivery.receive_count, reason = %why, "step message will be retried");
                if delivery.receive_count >= consumer.max_receives {
                    crate::metrics::dlq_arrival("steps");
                }
                failed.push(delivery.message_id.clone());
            }
        }
        failed
    }

    async fn handle(&self, delivery: &Delivery) -> Result<(), Retry> {
        let last_try = delivery.receive_count >= self.consumer()?.max_receives;
        match serde_json::from_str::<StepMessage>(&delivery.body) {
            Ok(StepMessage::RunStep { session_id, step }) => {
                let work = self.run_queued(session_id, step);
                return self.guard(session_id, step, last_try, &delivery.message_id, work).await;
            }
            Ok(StepMessage::Erase { session_id }) => return self.erase(session_id).await,
            Err(_) => {}
        }
        let notification: S3Notification =
            serde_json::from_str(&delivery.body).map_err(|_| Retry("unrecognised message".into()))?;
        if notification.event.as_deref() == Some("s3:TestEvent") {
            tracing::info!(message_id = %delivery.message_id, "S3 test event acknowledged");
            return Ok(());
        }
        for record in notification.records.iter().filter(|r| r.event_name.starts_with("ObjectCreated:")) {
            let Some((session_id, artifact)) = Artifact::from_key(&record.s3.object.key) else {
                tracing::warn!(message_id = %delivery.message_id, "object outside the session layout ignored");
                continue;
            };
            let source = record.s3.object.etag.clone().unwrap_or_else(|| delivery.message_id.clone());
            let result = self.run_capture(session_id, artifact, &record.s3.object.key, &source).await;
            if let (Err(_), true) = (&result, last_try) {
                // The user can retake: the journey shows the failure instead of waiting forever.
                let failed = CaptureResult::Rejected { reason: "processing_failed".into() };
                if let Err(e) = self.identity.record_capture(session_id, artifact, &source, failed).await {
                    tracing::error!(%session_id, artifact = artifact.as_str(), code = e.code, "could not record a failed capture");
                }
            }
            result?;
        }
        Ok(())
    }

    /// On the last delivery, a step that still fails records an error outcome (then the
    /// message still goes to the DLQ), so no session waits forever.
    async fn guard(
        &self,
        session_id: SessionId,
        step: Step,
        last_try: bool,
        message_id: &str,
        work: impl Future<Output = Result<(), Retry>>,
    ) -> Result<(), Retry> {
        let result = work.await;
        if let (Err(_), true) = (&result, last_try) {
            let outcome = StepOutcome::Error { code: "processing_failed".into() };
            let source = format!("failed:{message_id}");
            match self.identity.record_outcome(session_id, step, outcome, &source).await {
                // The message is bound for the DLQ anyway, so a webhook that cannot be queued
                // now is an operator's matter: logged as an error beside the DLQ alarm.
                Ok((session, _)) => {
                    if let Err(Retry(why)) = self.after(&session).await {
                        tracing::error!(%session_id, reason = %why, "finished webhook not queued");
                    }
                }
                Err(e) => {
                    tracing::error!(%session_id, step = step.as_str(), code = e.code, "could not record the error outcome")
                }
            }
        }
        result
    }

    /// Runs a step on the submitted session and the step's accepted captures.
    async fn run_queued(&self, session_id: SessionId, step: Step) -> Result<(), Retry> {
        let Some(session) = self.open_session(session_id).await? else { return Ok(()) };
        if session.steps.iter().any(|s| s.step == step && s.outcome.is_some()) {
            return Ok(());
        }
        // The start is recorded once (a retry is still the same run) before the check runs.
        let session = match self.identity.start_step(session_id, step).await {
            Ok((session, _)) => session,
            Err(e) if e.kind == ErrorKind::Conflict && e.code == "session_closed" => {
                tracing::info!(%session_id, step = step.as_str(), "step for a closed session ignored");
                return Ok(());
            }
            Err(e) => return Err(Retry(e.code.into())),
        };
        let outcome = match self.load_captures(&session, step).await? {
            Ok(captures) => {
                let input = StepInput { step, session: &session, captures: &captures, now: self.identity.now() };
                self.run_check(input).await?
            }
            Err(missing) => missing,
        };
        self.record(session_id, step, outcome, "queue").await
    }

    /// The accepted uploads a step reads. A required one that is gone from the bucket
    /// (purged, redacted) is an error outcome, not a retry.
    async fn load_captures(&self, session: &Session, step: Step) -> Result<Result<Vec<Capture>, StepOutcome>, Retry> {
        let wanted: &[Artifact] = match step {
            Step::Document => &[Artifact::DocumentFront, Artifact::DocumentBack],
            // The document front carries the portrait the selfie is matched against.
            Step::Liveness => &[Artifact::Selfie, Artifact::Challenge1, Artifact::Challenge2, Artifact::DocumentFront],
            _ => &[],
        };
        let mut captures = Vec::new();
        for &artifact in wanted.iter().filter(|&&a| session.accepted(a)) {
            match self.consumer()?.objects.get(&artifact.key(session.id), artifacts::MAX_BYTES).await {
                Ok(Some(object)) => captures.push(Capture { artifact, bytes: object.bytes }),
                Ok(None) if session.required_captures().contains(&artifact) => {
                    return Ok(Err(StepOutcome::Error { code: "capture_missing".into() }));
                }
                Ok(None) => {}
                Err(e) => return Err(Retry(format!("object store: {e}"))),
            }
        }
        Ok(Ok(captures))
    }

    /// The byte check and the quality gate on one upload, recorded so the journey can ask
    /// for a retake at once.
    async fn run_capture(
        &self,
        session_id: SessionId,
        artifact: Artifact,
        key: &str,
        source: &str,
    ) -> Result<(), Retry> {
        let Some(session) = self.open_session(session_id).await? else { return Ok(()) };
        if session.is_redacted() {
            // A late upload (its slot issued before the redaction) is erased on arrival.
            return self.consumer()?.objects.delete(key).await.map_err(|e| Retry(format!("object store: {e}")));
        }
        if !session.expects(artifact) {
            tracing::warn!(%session_id, artifact = artifact.as_str(), "upload the session did not ask for ignored");
            return Ok(());
        }
        let result = match self.consumer()?.objects.get(key, artifacts::MAX_BYTES).await {
            Ok(Some(object)) => judge(artifact, &object.bytes, object.content_type.as_deref()),
            Ok(None) => {
                tracing::info!(%session_id, artifact = artifact.as_str(), "object gone (replaced or redacted); nothing to do");
                return Ok(());
            }
            Err(ObjectError::TooLarge(_)) => CaptureResult::Rejected { reason: "file_too_large".into() },
            Err(e) => return Err(Retry(format!("object store: {e}"))),
        };
        match self.identity.record_capture(session_id, artifact, source, result).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::Conflict && e.code == "session_closed" => {
                tracing::info!(%session_id, artifact = artifact.as_str(), "upload for a closed session ignored");
                Ok(())
            }
            Err(e) => Err(Retry(e.code.into())),
        }
    }

    async fn run_check(&self, input: StepInput<'_>) -> Result<StepOutcome, Retry> {
        let checks = &self.consumer()?.checks;
        let (step, started) = (input.step, std::time::Instant::now());
        let result = checks.run(input).await;
        let ms = started.elapsed().as_millis() as u64;
        crate::metrics::step_duration(step, checks.name(step), ms);
        tracing::info!(
            step = step.as_str(),
            provider = checks.name(step),
            duration_ms = ms,
            ok = result.is_ok(),
            "check ran"
        );
        match result {
            Ok(outcome) => Ok(outcome),
            Err(CheckError::Permanent { code }) => Ok(StepOutcome::Error { code }),
            Err(CheckError::Transient(why)) => Err(Retry(why)),
        }
    }

    async fn open_session(&self, id: SessionId) -> Result<Option<Session>, Retry> {
        let session = self.identity.load(id).await.map_err(|e| Retry(e.code.into()))?;
        if session.is_none() {
            tracing::warn!(session_id = %id, "message for an unknown session ignored");
        }
        Ok(session)
    }

    async fn record(&self, id: SessionId, step: Step, outcome: StepOutcome, source: &str) -> Result<(), Retry> {
        match self.identity.record_outcome(id, step, outcome, source).await {
            Ok((session, _)) => self.after(&session).await,
            Err(e) if e.kind == ErrorKind::Conflict && e.code == "session_closed" => {
                tracing::info!(session_id = %id, step = step.as_str(), "result for a closed session ignored");
                Ok(())
            }
            Err(e) => Err(Retry(e.code.into())),
        }
    }

    /// A finished session's webhook, queued at least once: a failure here fails the
    /// message, whose redelivery (a duplicate for the step) comes back to queue it. (In Lambda
    /// the identity has no webhook queue, and the table's stream queues it: `lambda::outbox`.)
    async fn after(&self, session: &Session) -> Result<(), Retry> {
        self.identity.queue_terminal_webhook(session).await.map_err(|e| Retry(e.code.into()))
    }

    /// The end user's final submit: queue the steps that run now, then mark the session
    /// submitted. Queuing first means a crash in between leaves runnable work, never a
    /// session waiting for messages that were never sent (the runs are idempotent).
    pub async fn submit(&self, id: SessionId) -> Result<(Session, Progress), crate::error::Error> {
        let unavailable = |Retry(why): Retry| {
            tracing::error!(session_id = %id, reason = %why, "finished webhook not queued");
            crate::error::Error::new(ErrorKind::Unavailable, "queue_unavailable", "please retry")
        };
        let session = self.identity.load(id).await?.ok_or_else(crate::error::Error::session_not_found)?;
        if session.status == crate::domain::SessionStatus::Finished {
            // A repeated submit of a finished session only makes sure its webhook is queued.
            self.after(&session).await.map_err(unavailable)?;
            return Ok((session, Progress::Duplicate));
        }
        let captured = session.required_captures().iter().all(|&a| session.accepted(a));
        if session.is_open_at(self.identity.now()) && captured {
            let steps =
                self.steps.as_ref().ok_or_else(|| crate::error::Error::internal("this function cannot queue steps"))?;
            for step in session.queued_steps() {
                let body = serde_json::to_string(&StepMessage::RunStep { session_id: id, step })
                    .map_err(|e| crate::error::Error::internal(e.to_string()))?;
                steps.send(&body, Duration::ZERO).await.map_err(|e| {
                    tracing::error!(session_id = %id, error = %e, "could not queue a step");
                    crate::error::Error::new(ErrorKind::Unavailable, "queue_unavailable", "please retry")
                })?;
            }
        }
        let (session, progress) = self.identity.submit(id).await?;
        self.after(&session).await.map_err(unavailable)?;
        Ok((session, progress))
    }
}

/// An upload's verdict: the byte check (size, type, decode, resolution), then the quality
/// gate for its kind of picture.
fn judge(artifact: Artifact, bytes: &[u8], declared: Option<&str>) -> CaptureResult {
    let kind = match artifact {
        Artifact::DocumentFront | Artifact::DocumentBack => CaptureKind::Document,
        Artifact::Selfie | Artifact::Challenge1 | Artifact::Challenge2 => CaptureKind::Face,
    };
    match artifacts::decode(bytes, declared) {
        Err(rejection) => CaptureResult::Rejected { reason: rejection.code.into() },
        Ok((_, image)) => match quality::assess(&image, kind).issues.first() {
            Some(issue) => CaptureResult::Rejected { reason: issue.code().into() },
            None => CaptureResult::Accepted,
        },
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;

    /// The journey's pipeline never consumes the queue; a message that reaches it anyway is
    /// kept for redelivery (and, past maxReceiveCount, the DLQ), never dropped.
    #[tokio::test]
    async fn a_pipeline_without_a_consumer_keeps_every_message() {
        let demo = crate::testing::demo().await;
        let dir = tempfile::tempdir().unwrap();
        let local = crate::testing::local_pipeline(&demo, dir.path(), 5);
        let identity = Arc::new(Identity::new(
            demo.store.clone(),
            demo.store.clone(),
            Arc::new(crate::ports::SystemClock),
            demo.app.settings().clone(),
        ));
        let journey = Pipeline::queuing_only(identity, local.objects.clone(), local.queue.clone());
        let run = StepMessage::RunStep { session_id: SessionId::random(), step: Step::Dvs };
        let deliveries = [
            Delivery { message_id: "m1".into(), body: serde_json::to_string(&run).unwrap(), receive_count: 1 },
            Delivery {
                message_id: "m2".into(),
                body: object_created_event("sessions/x/selfie", "e"),
                receive_count: 5,
            },
        ];
        assert_eq!(journey.handle_batch(&deliveries).await, ["m1", "m2"]);
        assert_eq!(local.pipeline.handle_batch(&deliveries[..1]).await, Vec::<String>::new(), "the consumer takes it");
    }
}
