//! SQS-triggered: one verification step per message (S3 upload notifications and queued
//! runs), with partial batch responses so only failed records are retried.

fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::on_one_thread(shared::lambda::serve_steps())
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::sqs::SqsEvent;
    use shared::artifacts::Artifact;
    use shared::domain::SessionId;

    const EVENT: &str = include_str!("../../../events/process-step.json");
    const SESSION: &str = "9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11";

    #[tokio::test]
    async fn the_sample_batch_processes_the_upload_and_fails_only_the_bad_record() {
        let demo = shared::testing::demo().await;
        demo.seed_session(SESSION).await;
        let dir = tempfile::tempdir().unwrap();
        let local = shared::testing::local_pipeline(&demo, dir.path(), 5);
        let key = Artifact::DocumentFront.key(SessionId::parse(SESSION).unwrap());
        local.store_capture(&key, "image/png", &shared::testing::noisy_png(800, 500)).await;

        let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
        let response = shared::lambda::handle_steps(&local.pipeline, event).await;
        let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, ["0a3c7bd2-2222-4e57-9d0f-5a1e7c5b0002"]);
        let session = demo.app.load(SessionId::parse(SESSION).unwrap()).await.unwrap().unwrap();
        assert!(session.accepted(Artifact::DocumentFront), "the upload passed the byte check and quality gate");

        // Redelivering the same batch changes nothing and fails the same record.
        let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
        assert_eq!(shared::lambda::handle_steps(&local.pipeline, event).await.batch_item_failures.len(), 1);
        let again = demo.app.load(SessionId::parse(SESSION).unwrap()).await.unwrap().unwrap();
        assert_eq!(again.version, session.version);
    }
}
