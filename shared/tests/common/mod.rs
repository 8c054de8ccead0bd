//! The step pipeline in one process, for integration tests: embedded object store,
//! in-process queue with SQS semantics, and chosen check providers.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use shared::artifacts::Artifact;
use shared::domain::SessionId;
use shared::pipeline::checks::CheckProvider;
use shared::pipeline::object_created_event;
use shared::pipeline::sandbox::SandboxChecks;
use shared::queue::{Delivery, Queue};
use shared::testing::{Demo, LocalPipeline, demo, local_pipeline_with};

pub const MAX_RECEIVES: u32 = 3;

pub struct Rig {
    pub demo: Demo,
    pub local: LocalPipeline,
    _dir: tempfile::TempDir,
}

pub async fn rig() -> Rig {
    rig_with(Arc::new(SandboxChecks)).await
}

/// A rig whose steps run on the given providers.
pub async fn rig_with(checks: Arc<dyn CheckProvider>) -> Rig {
    let demo = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let local = local_pipeline_with(&demo, dir.path(), MAX_RECEIVES, checks);
    Rig { demo, local, _dir: dir }
}

impl Rig {
    pub async fn create(&self, last_name: &str, steps: &[&str]) -> SessionId {
        self.create_with(json!({"first_name": "Jane", "last_name": last_name, "steps": steps})).await
    }

    /// A session from these fields plus a reference and redirect URL.
    pub async fn create_with(&self, mut body: serde_json::Value) -> SessionId {
        body["reference"] = json!("cust_pipe");
        body["redirect_url"] = json!("https://yourapp.com/done");
        let (session, _) =
            self.demo.app.create_session(&self.demo.tenant, body.to_string().as_bytes(), None).await.unwrap();
        session.id
    }

    /// What a browser does: POST the file with the presigned fields; then S3's notification.
    pub async fn upload(&self, id: SessionId, artifact: Artifact, content_type: &str, bytes: &[u8]) {
        let key = artifact.key(id);
        self.local.store_capture(&key, content_type, bytes).await;
        let etag = format!("{:x}", bytes.len() ^ bytes[bytes.len() / 2] as usize);
        self.local.queue.send(&object_created_event(&key, &etag), Duration::ZERO).await.unwrap();
    }

    /// Drains the queue like the event source mapping: batches of 10, failed ids redelivered.
    pub async fn drain(&self) -> Vec<Vec<String>> {
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

    pub async fn session(&self, id: SessionId) -> shared::domain::Session {
        self.demo.app.load(id).await.unwrap().unwrap()
    }
}
