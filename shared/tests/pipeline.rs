//! The step pipeline in one process: embedded object store, in-process queue (SQS
//! semantics), sandbox checks. Uploads go through the same policy check the local
//! server's upload endpoint uses.

use std::time::Duration;

use serde_json::json;
use shared::artifacts::Artifact;
use shared::decision::Decision;
use shared::domain::{CaptureResult, Progress, SessionStatus, StepStatus};
use shared::pipeline::object_created_event;
use shared::queue::Queue;
use shared::testing::noisy_png;

mod common;

use common::rig;

#[tokio::test]
async fn captures_and_queued_steps_end_in_one_decision() {
    let rig = rig().await;
    let id = rig.create("Smith", &["document", "liveness", "peps", "bank"]).await;
    let challenge = rig.session(id).await.challenge;
    assert_eq!(challenge.len(), 2, "a liveness session gets its challenge poses");
    rig.upload(id, Artifact::DocumentFront, "image/png", &noisy_png(640, 400)).await;
    rig.upload(id, Artifact::Selfie, "image/png", &noisy_png(480, 640)).await;
    rig.drain().await;
    let err = rig.local.pipeline.submit(id).await.unwrap_err();
    assert_eq!((err.code, err.field.as_deref()), ("captures_missing", Some("captures")), "challenge frames missing");
    for frame in Artifact::CHALLENGE {
        rig.upload(id, frame, "image/png", &noisy_png(480, 640)).await;
    }
    rig.drain().await;
    let session = rig.session(id).await;
    assert_eq!(session.status, SessionStatus::InProgress);
    assert!(session.required_captures().iter().all(|&a| session.accepted(a)));
    assert!(session.steps.iter().all(|s| s.outcome.is_none()), "checks run only after submission");

    let err = rig.local.pipeline.submit(id).await.unwrap_err();
    assert_eq!((err.code, err.field.as_deref()), ("details_missing", Some("details")));
    let bank = json!({"bsb": "062-000", "account_number": "12345678"});
    let details = shared::domain::Details { dvs: None, bank: Some(shared::domain::BankDetails::parse(&bank).unwrap()) };
    rig.demo.app.set_details(id, details).await.unwrap();
    let (_, progress) = rig.local.pipeline.submit(id).await.unwrap();
    assert_eq!(progress, Progress::Recorded, "every step is queued");
    assert!(rig.drain().await.iter().all(Vec::is_empty));
    let session = rig.session(id).await;
    assert_eq!(session.status, SessionStatus::Finished);
    let assessment = session.assessment.unwrap();
    assert_eq!(assessment.decision, Decision::Approved);
    assert_eq!(assessment.evidence["peps"], json!({"count": 0, "outcome": "cleared"}));
    assert_eq!(assessment.evidence["bank"], json!({"outcome": "exact", "given_name": 100, "family_name": 100}));
    assert_eq!(assessment.evidence["document"]["outcome"], "passed");
}

#[tokio::test]
async fn a_bad_upload_is_rejected_with_its_reason_and_a_retake_replaces_it() {
    let rig = rig().await;
    let id = rig.create("Smith", &["document"]).await;
    let pdf = b"%PDF-1.7\n".repeat(4000);
    rig.upload(id, Artifact::DocumentFront, "image/jpeg", &pdf).await;
    assert!(rig.drain().await.iter().all(Vec::is_empty), "a bad upload is a result, not a retry");
    let capture = rig.session(id).await.captures[0].clone();
    let rejected = CaptureResult::Rejected { reason: "not_an_image".into() };
    assert_eq!((capture.artifact, capture.result), (Artifact::DocumentFront, rejected));
    assert_eq!(rig.local.pipeline.submit(id).await.unwrap_err().code, "captures_missing");

    rig.upload(id, Artifact::DocumentFront, "image/png", &noisy_png(640, 400)).await;
    rig.drain().await;
    assert!(rig.session(id).await.accepted(Artifact::DocumentFront));
    rig.local.pipeline.submit(id).await.unwrap();
    rig.drain().await;
    let session = rig.session(id).await;
    assert_eq!(session.steps[0].status, StepStatus::Completed);
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
    // And our own run messages may be delivered twice too.
    for step in ["document", "peps"] {
        let run = json!({"kind": "run_step", "session_id": id.to_string(), "step": step}).to_string();
        rig.local.queue.send(&run, Duration::ZERO).await.unwrap();
    }
    rig.drain().await;
    let session = rig.session(id).await;
    assert_eq!(session.status, SessionStatus::Finished);
    // submit (1) + document and peps starts (2) and results (2): duplicates wrote nothing.
    assert_eq!(session.version, version_after_capture + 5);
    let finished_at = session.finished_at;
    let run = json!({"kind": "run_step", "session_id": id.to_string(), "step": "peps"}).to_string();
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
