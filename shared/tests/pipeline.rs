//! The step pipeline in one process: embedded object store, in-process queue (SQS
//! semantics), sandbox checks. Uploads go through the same policy check the local
//! server's upload endpoint uses.

use std::time::Duration;

use serde_json::json;
use shared::artifacts::Artifact;
use shared::decision::Decision;
use shared::domain::{Progress, SessionId, SessionStatus, StepStatus};
use shared::pipeline::object_created_event;
use shared::queue::{Delivery, Queue};
use shared::testing::{Demo, LocalPipeline, demo, local_pipeline, noisy_png};

const MAX_RECEIVES: u32 = 3;

struct Rig {
    demo: Demo,
    local: LocalPipeline,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let demo = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let local = local_pipeline(&demo, dir.path(), MAX_RECEIVES);
    Rig { demo, local, _dir: dir }
}

impl Rig {
    async fn create(&self, last_name: &str, steps: &[&str]) -> SessionId {
        let body = json!({"reference": "cust_pipe", "redirect_url": "https://yourapp.com/done",
                          "first_name": "Jane", "last_name": last_name, "steps": steps});
        let (session, _) =
            self.demo.app.create_session(&self.demo.tenant, body.to_string().as_bytes(), None).await.unwrap();
        session.id
    }

    /// What a browser does: POST the file with the presigned fields; then S3's notification.
    async fn upload(&self, id: SessionId, artifact: Artifact, content_type: &str, bytes: &[u8]) {
        let key = artifact.key(id);
        self.local.store_capture(&key, content_type, bytes).await;
        let etag = format!("{:x}", bytes.len() ^ bytes[bytes.len() / 2] as usize);
        self.local.queue.send(&object_created_event(&key, &etag), Duration::ZERO).await.unwrap();
    }

    /// Drains the queue like the event source mapping: batches of 10, failed ids redelivered.
    async fn drain(&self) -> Vec<Vec<String>> {
        let mut failures = Vec::new();
        loop {
            let batch = self.local.queue.receive(10, Duration::from_millis(20)).await;
            if batch.is_empty() {
                return failures;
            }
            let deliveries: Vec<Delivery> = batch.iter().map(|(d, _)| d.clone()).collect();
            let failed = self.local.pipeline.handle_batch(&deliveries).await;
            for (d, receipt) in &batch {
                if !failed.contains(&d.message_id) {
                    self.local.queue.ack(receipt).await;
                }
            }
            failures.push(failed);
        }
    }

    async fn session(&self, id: SessionId) -> shared::domain::Session {
        self.demo.app.load(id).await.unwrap().unwrap()
    }
}

#[tokio::test]
async fn captures_and_queued_steps_end_in_one_decision() {
    let rig = rig().await;
    let id = rig.create("Smith", &["document", "liveness", "peps", "bank"]).await;
    rig.upload(id, Artifact::DocumentFront, "image/png", &noisy_png(640, 400)).await;
    rig.upload(id, Artifact::Selfie, "image/png", &noisy_png(480, 640)).await;
    rig.drain().await;
    let session = rig.session(id).await;
    assert_eq!(session.status, SessionStatus::InProgress);
    assert!(session.steps.iter().filter(|s| s.step.is_capture()).all(|s| s.status == StepStatus::Completed));

    let err = rig.local.pipeline.submit(id).await.unwrap_err();
    assert_eq!((err.code, err.field.as_deref()), ("details_missing", Some("details")));
    let bank = json!({"bsb": "062-000", "account_number": "12345678"});
    let details = shared::domain::Details { dvs: None, bank: Some(shared::domain::BankDetails::parse(&bank).unwrap()) };
    rig.demo.app.set_details(id, details).await.unwrap();
    let (_, progress) = rig.local.pipeline.submit(id).await.unwrap();
    assert_eq!(progress, Progress::Recorded, "peps and bank are still queued");
    assert!(rig.drain().await.iter().all(Vec::is_empty));
    let session = rig.session(id).await;
    assert_eq!(session.status, SessionStatus::Finished);
    let assessment = session.assessment.unwrap();
    assert_eq!((assessment.decision, assessment.score), (Decision::Approved, 1.0));
    assert_eq!(assessment.evidence["peps"], json!({"count": 0, "outcome": "cleared"}));
    assert_eq!(assessment.evidence["bank"], json!({"outcome": "exact", "given_name": 100, "family_name": 100}));
}

#[tokio::test]
async fn non_image_bytes_give_an_error_outcome_and_a_retake_replaces_it() {
    let rig = rig().await;
    let id = rig.create("Smith", &["document"]).await;
    let pdf = b"%PDF-1.7\n".repeat(4000);
    rig.upload(id, Artifact::DocumentFront, "image/jpeg", &pdf).await;
    assert!(rig.drain().await.iter().all(Vec::is_empty), "a bad upload is a result, not a retry");
    let step = rig.session(id).await.steps[0].clone();
    assert_eq!(step.status, StepStatus::Error);
    assert_eq!(step.outcome.unwrap().evidence()["code"], "not_an_image");

    rig.upload(id, Artifact::DocumentFront, "image/png", &noisy_png(640, 400)).await;
    rig.drain().await;
    assert_eq!(rig.session(id).await.steps[0].status, StepStatus::Completed);
    let (session, progress) = rig.local.pipeline.submit(id).await.unwrap();
    assert_eq!(progress, Progress::Finished);
    assert_eq!(session.assessment.unwrap().decision, Decision::Approved);
}

#[tokio::test]
async fn duplicate_deliveries_record_once_and_aggregate_once() {
    let rig = rig().await;
    let id = rig.create("Smith", &["document", "peps"]).await;
    let png = noisy_png(640, 400);
    rig.upload(id, Artifact::DocumentFront, "image/png", &png).await;
    // S3 may deliver the same notification twice.
    let key = Artifact::DocumentFront.key(id);
    let etag = format!("{:x}", png.len() ^ png[png.len() / 2] as usize);
    rig.local.queue.send(&object_created_event(&key, &etag), Duration::ZERO).await.unwrap();
    rig.drain().await;
    let version_after_capture = rig.session(id).await.version;

    rig.local.pipeline.submit(id).await.unwrap();
    // And our own run message may be delivered twice too.
    let run = json!({"kind": "run_step", "session_id": id.to_string(), "step": "peps"}).to_string();
    rig.local.queue.send(&run, Duration::ZERO).await.unwrap();
    rig.drain().await;
    let session = rig.session(id).await;
    assert_eq!(session.status, SessionStatus::Finished);
    // capture (1 write) + submit (1) + peps result (1): duplicates wrote nothing.
    assert_eq!(session.version, version_after_capture + 2);
    let finished_at = session.finished_at;
    rig.local.queue.send(&run, Duration::ZERO).await.unwrap();
    rig.drain().await;
    assert_eq!(rig.session(id).await.finished_at, finished_at);
}

#[tokio::test]
async fn one_bad_record_fails_alone_and_a_poison_step_ends_in_the_dlq() {
    let rig = rig().await;
    let good = rig.create("Smith", &["peps"]).await;
    let poisoned = rig.create("Unavailable", &["peps"]).await;
    rig.local.pipeline.submit(good).await.unwrap();
    rig.local.queue.send("this is not a message we know", Duration::ZERO).await.unwrap();
    rig.local.pipeline.submit(poisoned).await.unwrap();

    let failures = rig.drain().await;
    assert_eq!(failures[0].len(), 2, "only the unknown message and the poisoned step fail: {failures:?}");
    assert_eq!(rig.session(good).await.status, SessionStatus::Finished);

    // After maxReceiveCount deliveries both are in the DLQ, and the poisoned session is
    // finished with an error outcome instead of waiting forever.
    assert_eq!(rig.local.dlq.approximate_counts().await.0, 2);
    let session = rig.session(poisoned).await;
    assert_eq!(session.status, SessionStatus::Finished);
    let assessment = session.assessment.unwrap();
    assert_eq!(assessment.decision, Decision::Review);
    assert_eq!(assessment.reasons, vec!["peps_error_processing_failed"]);
}
