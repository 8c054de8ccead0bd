//! Exactly one aggregation per session, under duplicate delivery and concurrent step completions.

use std::sync::Arc;

use shared::decision::{Decision, DocumentRank, DvsCode, NameMatch, Screening, StepOutcome};
use shared::domain::{Progress, SessionId, SessionStatus, Step, Steps};
use shared::testing::{Demo, demo};

fn outcome(step: Step) -> StepOutcome {
    match step {
        Step::Dvs => {
            StepOutcome::Dvs { rank: DocumentRank::Primary, decision: DvsCode::Y, document: "passport".into() }
        }
        Step::Peps => StepOutcome::Peps { count: 0, outcome: Screening::Cleared, matches: vec![] },
        Step::Bank => StepOutcome::Bank { outcome: NameMatch::Exact, given_name: 100, family_name: 100 },
        Step::Document => StepOutcome::Error { code: "not_an_image".into() },
        Step::Liveness => StepOutcome::Error { code: "no_face".into() },
    }
}

async fn session_with(demo: &Demo, steps: &[Step]) -> SessionId {
    let mut session = demo.seed_session(&SessionId::random().to_string()).await;
    let read = session.version;
    session.steps = Steps::new(steps.to_vec())
        .unwrap()
        .as_slice()
        .iter()
        .map(|&step| shared::domain::StepState {
            step,
            status: shared::domain::StepStatus::Pending,
            outcome: None,
            source: None,
        })
        .collect();
    session.details = shared::domain::Details {
        dvs: Some(
            shared::domain::DvsDetails::parse(&serde_json::json!({"document_type": "passport", "number": "PA1234567"}))
                .unwrap(),
        ),
        bank: Some(
            shared::domain::BankDetails::parse(&serde_json::json!({"bsb": "062-000", "account_number": "12345678"}))
                .unwrap(),
        ),
    };
    session.consented_at = Some(demo.app.now());
    session.version += 1;
    use shared::ports::SessionStore;
    demo.store.replace_session(&session, read).await.unwrap();
    session.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_completions_aggregate_once() {
    let demo = Arc::new(demo().await);
    let steps = [Step::Dvs, Step::Peps, Step::Bank];
    let id = session_with(&demo, &steps).await;
    demo.app.submit(id).await.unwrap();

    // Every step delivered three times, all at once.
    let mut tasks = Vec::new();
    for _ in 0..3 {
        for step in steps {
            let demo = Arc::clone(&demo);
            tasks.push(tokio::spawn(async move { demo.app.record_outcome(id, step, outcome(step), "run").await }));
        }
    }
    let mut finished = 0;
    for t in tasks {
        let (_, progress) = t.await.unwrap().expect("recorded");
        finished += usize::from(progress == Progress::Finished);
    }
    assert_eq!(finished, 1, "exactly one write aggregates");
    let session = demo.app.get_session(&demo.tenant, &id.to_string()).await.unwrap();
    assert_eq!(session.status, SessionStatus::Finished);
    let assessment = session.assessment.unwrap();
    assert_eq!((assessment.decision, assessment.score), (Decision::Approved, 1.0));
    assert_eq!(assessment.evidence["dvs"]["decision"], "Y");
}

#[tokio::test]
async fn results_before_submit_wait_for_it() {
    let demo = demo().await;
    let id = session_with(&demo, &[Step::Document, Step::Peps]).await;
    let front = shared::artifacts::Artifact::DocumentFront;
    demo.app.record_capture(id, front, "etag-0", shared::domain::CaptureResult::Accepted).await.unwrap();
    assert_eq!(
        demo.app.record_outcome(id, Step::Document, outcome(Step::Document), "etag-1").await.unwrap().1,
        Progress::Recorded
    );
    assert_eq!(
        demo.app.record_outcome(id, Step::Peps, outcome(Step::Peps), "run").await.unwrap().1,
        Progress::Recorded
    );
    let (session, progress) = demo.app.submit(id).await.unwrap();
    assert_eq!(progress, Progress::Finished, "the submit completes it");
    // A poisoned document step ends as an error outcome and sends the session to review.
    let assessment = session.assessment.unwrap();
    assert_eq!(assessment.decision, Decision::Review);
    assert_eq!(assessment.reasons, vec!["document_error_not_an_image"]);
    assert_eq!(demo.app.submit(id).await.unwrap_err().code, "session_closed");
    assert_eq!(
        demo.app.record_outcome(id, Step::Peps, outcome(Step::Peps), "run").await.unwrap().1,
        Progress::Duplicate
    );
}

#[tokio::test]
async fn cancelled_sessions_take_no_results() {
    let demo = demo().await;
    let id = session_with(&demo, &[Step::Peps]).await;
    demo.app.cancel_session(&demo.tenant, &id.to_string()).await.unwrap();
    let err = demo.app.record_outcome(id, Step::Peps, outcome(Step::Peps), "run").await.unwrap_err();
    assert_eq!(err.code, "session_closed");
    let err = demo.app.record_outcome(id, Step::Bank, outcome(Step::Bank), "run").await.unwrap_err();
    assert_eq!(err.code, "step_not_requested");
}

#[tokio::test]
async fn a_retake_replaces_a_capture_until_submission() {
    use shared::artifacts::Artifact;
    use shared::domain::CaptureResult;
    let demo = demo().await;
    let id = session_with(&demo, &[Step::Document]).await;
    assert_eq!(demo.app.submit(id).await.unwrap_err().code, "captures_missing");
    let blurry = CaptureResult::Rejected { reason: "too_blurry".into() };
    let front = Artifact::DocumentFront;
    assert_eq!(demo.app.record_capture(id, front, "etag-1", blurry.clone()).await.unwrap().1, Progress::Recorded);
    // Redelivery of the same upload changes nothing; a rejected capture cannot be submitted.
    assert_eq!(demo.app.record_capture(id, front, "etag-1", blurry).await.unwrap().1, Progress::Duplicate);
    assert_eq!(demo.app.submit(id).await.unwrap_err().code, "captures_missing");
    // A new upload replaces it.
    let (_, progress) = demo.app.record_capture(id, front, "etag-2", CaptureResult::Accepted).await.unwrap();
    assert_eq!(progress, Progress::Recorded);
    let (session, progress) = demo.app.submit(id).await.unwrap();
    assert_eq!(progress, Progress::Recorded);
    assert_eq!(session.status, SessionStatus::Processing);
    // After submission the captures are final.
    let late = demo.app.record_capture(id, front, "etag-3", CaptureResult::Accepted).await.unwrap_err();
    assert_eq!(late.code, "session_closed");
    let good = StepOutcome::Document {
        outcome: shared::decision::CheckOutcome::Passed,
        document: "passport".into(),
        reasons: vec![],
        country: None,
        fields: Default::default(),
    };
    let (session, progress) = demo.app.record_outcome(id, Step::Document, good, "queue").await.unwrap();
    assert_eq!(progress, Progress::Finished);
    assert_eq!(session.assessment.unwrap().decision, Decision::Approved);
}
