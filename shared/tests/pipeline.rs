//! The step pipeline in one process: embedded object store, in-process queue (SQS
//! semantics), sandbox checks. Uploads go through the same policy check the local
//! server's upload endpoint uses.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use shared::artifacts::Artifact;
use shared::decision::Decision;
use shared::domain::{Progress, SessionId, SessionStatus, StepStatus};
use shared::objects::local::LocalObjects;
use shared::objects::{ObjectStore, UploadPolicy};
use shared::pipeline::sandbox::SandboxChecks;
use shared::pipeline::{Pipeline, object_created_event};
use shared::queue::local::{LocalQueue, QueueSettings};
use shared::queue::{Delivery, Queue};
use shared::testing::{Demo, demo};

const MAX_RECEIVES: u32 = 3;

struct Rig {
    demo: Demo,
    objects: Arc<LocalObjects>,
    queue: Arc<LocalQueue>,
    dlq: Arc<LocalQueue>,
    pipeline: Pipeline,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let demo = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let objects = Arc::new(LocalObjects::new(dir.path().to_path_buf(), "http://127.0.0.1:8080".into(), [7; 32]));
    let dlq =
        Arc::new(LocalQueue::new("steps-dlq", QueueSettings { visibility_timeout: Duration::ZERO, max_receives: 1 }));
    let settings = QueueSettings { visibility_timeout: Duration::ZERO, max_receives: MAX_RECEIVES };
    let queue = Arc::new(LocalQueue::new("steps", settings).with_dead_letter(dlq.clone()));
    let identity = Arc::new(demo_identity(&demo));
    let pipeline = Pipeline::new(identity, objects.clone(), queue.clone(), Arc::new(SandboxChecks), MAX_RECEIVES);
    Rig { demo, objects, queue, dlq, pipeline, _dir: dir }
}

/// A second service handle over the demo's store (the pipeline owns an `Arc<Identity>`).
fn demo_identity(demo: &Demo) -> shared::service::Identity {
    let settings = demo.app.settings().clone();
    shared::service::Identity::new(
        demo.store.clone(),
        demo.store.clone(),
        Arc::new(shared::ports::SystemClock),
        settings,
    )
}

fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let mut seed = 0x9e37_79b9_u32;
    let img = image::ImageBuffer::from_fn(width, height, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        image::Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
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
        let policy = UploadPolicy {
            key: artifact.key(id),
            content_type: content_type.into(),
            min_bytes: shared::artifacts::MIN_BYTES,
            max_bytes: shared::artifacts::MAX_BYTES,
            expires_in: Duration::from_secs(600),
        };
        let post = self.objects.presign_post(&policy, self.demo.app.now()).await.unwrap();
        let fields: BTreeMap<_, _> = post.fields.into_iter().collect();
        let key = self.objects.accept_upload(&fields, Some(content_type), bytes, self.demo.app.now()).unwrap();
        let etag = format!("{:x}", bytes.len() ^ bytes[bytes.len() / 2] as usize);
        self.queue.send(&object_created_event(&key, &etag), Duration::ZERO).await.unwrap();
    }

    /// Drains the queue like the event source mapping: batches of 10, failed ids redelivered.
    async fn drain(&self) -> Vec<Vec<String>> {
        let mut failures = Vec::new();
        loop {
            let batch = self.queue.receive(10, Duration::from_millis(20)).await;
            if batch.is_empty() {
                return failures;
            }
            let deliveries: Vec<Delivery> = batch.iter().map(|(d, _)| d.clone()).collect();
            let failed = self.pipeline.handle_batch(&deliveries).await;
            for (d, receipt) in &batch {
                if !failed.contains(&d.message_id) {
                    self.queue.ack(receipt).await;
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

    let (_, progress) = rig.pipeline.submit(id).await.unwrap();
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
    let (session, progress) = rig.pipeline.submit(id).await.unwrap();
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
    rig.queue.send(&object_created_event(&key, &etag), Duration::ZERO).await.unwrap();
    rig.drain().await;
    let version_after_capture = rig.session(id).await.version;

    rig.pipeline.submit(id).await.unwrap();
    // And our own run message may be delivered twice too.
    let run = json!({"kind": "run_step", "session_id": id.to_string(), "step": "peps"}).to_string();
    rig.queue.send(&run, Duration::ZERO).await.unwrap();
    rig.drain().await;
    let session = rig.session(id).await;
    assert_eq!(session.status, SessionStatus::Finished);
    // capture (1 write) + submit (1) + peps result (1): duplicates wrote nothing.
    assert_eq!(session.version, version_after_capture + 2);
    let finished_at = session.finished_at;
    rig.queue.send(&run, Duration::ZERO).await.unwrap();
    rig.drain().await;
    assert_eq!(rig.session(id).await.finished_at, finished_at);
}

#[tokio::test]
async fn one_bad_record_fails_alone_and_a_poison_step_ends_in_the_dlq() {
    let rig = rig().await;
    let good = rig.create("Smith", &["peps"]).await;
    let poisoned = rig.create("Unavailable", &["peps"]).await;
    rig.pipeline.submit(good).await.unwrap();
    rig.queue.send("this is not a message we know", Duration::ZERO).await.unwrap();
    rig.pipeline.submit(poisoned).await.unwrap();

    let failures = rig.drain().await;
    assert_eq!(failures[0].len(), 2, "only the unknown message and the poisoned step fail: {failures:?}");
    assert_eq!(rig.session(good).await.status, SessionStatus::Finished);

    // After maxReceiveCount deliveries both are in the DLQ, and the poisoned session is
    // finished with an error outcome instead of waiting forever.
    assert_eq!(rig.dlq.approximate_counts().await.0, 2);
    let session = rig.session(poisoned).await;
    assert_eq!(session.status, SessionStatus::Finished);
    let assessment = session.assessment.unwrap();
    assert_eq!(assessment.decision, Decision::Review);
    assert_eq!(assessment.reasons, vec!["peps_error_processing_failed"]);
}
