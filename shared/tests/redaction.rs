//! Redaction, retention and the audit trail end to end, in one process: the embedded
//! stores, the in-process step and webhook queues, a real webhook receiver on 127.0.0.1,
//! sandbox checks and a manual clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::api;
use shared::appendix::{self, AppendixLinks, LinkError};
use shared::artifacts::Artifact;
use shared::domain::{DeviceClass, RetentionDays, SessionId, Tenant, UrlPolicy};
use shared::objects::ObjectStore;
use shared::pipeline::object_created_event;
use shared::pipeline::sandbox::SandboxChecks;
use shared::ports::{Clock, ManualClock};
use shared::queue::local::{LocalQueue, QueueSettings};
use shared::queue::{Delivery, Queue, QueueError};
use shared::service::{Identity, SessionAudit, TenantSpec, create_tenant};
use shared::testing::{LocalPipeline, demo_with_clock, local_pipeline_around, noisy_png};
use shared::webhooks::{Deliverer, TenantSecrets};

const BASE: &str = "http://127.0.0.1:8080";

/// The receiver answers each webhook with the next status of its script (then 200).
#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<Vec<u16>>>,
    got: Arc<Mutex<Vec<String>>>,
}

async fn receive(State(r): State<Receiver>, body: Bytes) -> StatusCode {
    let body: Value = serde_json::from_slice(&body).unwrap();
    r.got.lock().unwrap().push(body["type"].as_str().unwrap().to_owned());
    let status = r.script.lock().unwrap().pop().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// A queue that takes every message at once, whatever its delay: the rig moves the clock.
struct NoDelay(Arc<LocalQueue>);

#[async_trait]
impl Queue for NoDelay {
    async fn send(&self, body: &str, _: Duration) -> Result<(), QueueError> {
        self.0.send(body, Duration::ZERO).await
    }
}

fn local_queue(name: &str) -> Arc<LocalQueue> {
    Arc::new(LocalQueue::new(name, QueueSettings { visibility_timeout: Duration::ZERO, max_receives: 5 }))
}

struct Rig {
    clock: Arc<ManualClock>,
    local: LocalPipeline,
    tenant: Tenant,
    key: String,
    hooks: Arc<LocalQueue>,
    deliverer: Deliverer,
    receiver: Receiver,
    links: AppendixLinks,
    _dir: tempfile::TempDir,
}

async fn rig(retention: Option<RetentionDays>) -> Rig {
    let clock = Arc::new(ManualClock::at(chrono::Utc::now().timestamp()));
    let demo = demo_with_clock(clock.clone()).await;
    let receiver = Receiver::default();
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let spec =
        TenantSpec { webhook_url: Some(hook_url), retention, ..TenantSpec::new("Redaction", &["https://yourapp.com"]) };
    let (tenant, key) = create_tenant(&*demo.store, UrlPolicy::AllowHttpLocalhost, spec, clock.now()).await.unwrap();
    let hooks = local_queue("webhooks");
    let links = AppendixLinks::new([3; 32], BASE);
    let dir = tempfile::tempdir().unwrap();
    let (store, settings, hook_queue, app_links) =
        (demo.store.clone(), demo.app.settings().clone(), hooks.clone(), links.clone());
    let app_clock = clock.clone();
    let identity = move |steps: Arc<LocalQueue>| {
        Identity::new(store.clone(), store, app_clock, settings)
            .with_webhooks(hook_queue)
            .with_erasure(steps)
            .with_appendix(app_links)
    };
    let local = local_pipeline_around(identity, dir.path(), 3, Arc::new(SandboxChecks));
    let audit = Arc::new(SessionAudit { sessions: demo.store.clone(), clock: clock.clone() });
    let deliverer = Deliverer::new(
        Arc::new(NoDelay(hooks.clone())),
        local_queue("webhooks-dlq"),
        clock.clone(),
        Arc::new(TenantSecrets(demo.store.clone())),
    )
    .unwrap()
    .with_attempt_log(audit);
    let key = key.expose().to_owned();
    Rig { clock, local, tenant, key, hooks, deliverer, receiver, links, _dir: dir }
}

impl Rig {
    fn app(&self) -> &Identity {
        self.local.pipeline.identity()
    }

    async fn create(&self, body: Value) -> SessionId {
        let (session, _) = self.app().create_session(&self.tenant, body.to_string().as_bytes(), None).await.unwrap();
        session.id
    }

    async fn upload(&self, id: SessionId, artifact: Artifact) {
        let key = artifact.key(id);
        self.local.store_capture(&key, "image/png", &noisy_png(640, 400)).await;
        self.local.queue.send(&object_created_event(&key, "etag-1"), Duration::ZERO).await.unwrap();
    }

    /// Runs the step consumer until its queue is empty.
    async fn drain_steps(&self) {
        while let batch = self.local.queue.receive(10, Duration::ZERO).await
            && !batch.is_empty()
        {
            let deliveries: Vec<Delivery> = batch.iter().map(|(d, _)| d.clone()).collect();
            let failed = self.local.pipeline.handle_batch(&deliveries).await;
            assert!(failed.is_empty(), "no step message should fail");
            for (_, receipt) in &batch {
                self.local.queue.ack(receipt).await;
            }
        }
    }

    /// Runs the webhook consumer until its queue is empty, an hour passing between rounds.
    async fn drain_hooks(&self) {
        while let batch = self.hooks.receive(10, Duration::ZERO).await
            && !batch.is_empty()
        {
            let deliveries: Vec<Delivery> = batch.iter().map(|(d, _)| d.clone()).collect();
            assert!(self.deliverer.handle_batch(&deliveries).await.is_empty());
            for (_, receipt) in &batch {
                self.hooks.ack(receipt).await;
            }
            self.clock.advance(3600);
        }
    }

    async fn call(&self, method: Method, path: &str, key: &str) -> (StatusCode, Value) {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .body(Bytes::new())
            .unwrap();
        let resp = api::handle(self.app(), req).await;
        (resp.status(), serde_json::from_slice(resp.body()).unwrap())
    }

    async fn serve_link(&self, url: &str) -> Result<String, LinkError> {
        let token = url.strip_prefix(&format!("{BASE}/appendix/")).unwrap();
        let app = self.app();
        appendix::serve(&self.links, &*self.local.objects, |id| app.load(id), token, app.now()).await
    }

    /// The stored record as the store holds it.
    async fn stored(&self, id: SessionId) -> String {
        serde_json::to_string(&self.app().load(id).await.unwrap().unwrap()).unwrap()
    }

    /// A finished journey: document, peps and bank; the finished webhook refused once (503).
    async fn full_journey(&self) -> SessionId {
        let id = self
            .create(json!({"reference": "cust_red", "redirect_url": "https://yourapp.com/done",
                "steps": ["document", "peps", "bank"], "first_name": "Janelle", "last_name": "Smithers",
                "birth_date": "1990-01-31", "metadata": {"note": "Janelle's file"}}))
            .await;
        let app = self.app();
        app.open_journey(id, DeviceClass::Desktop).await.unwrap();
        app.open_journey(id, DeviceClass::Mobile).await.unwrap();
        app.open_journey(id, DeviceClass::Mobile).await.unwrap(); // a poll: nothing new
        app.consent(id).await.unwrap();
        self.upload(id, Artifact::DocumentFront).await;
        self.drain_steps().await;
        let bank = json!({"bsb": "062-000", "account_number": "87654321"});
        let bank = shared::domain::BankDetails::parse(&bank).unwrap();
        app.set_details(id, shared::domain::Details { dvs: None, bank: Some(bank) }).await.unwrap();
        self.local.pipeline.submit(id).await.unwrap();
        self.drain_steps().await;
        self.receiver.script.lock().unwrap().push(503);
        self.drain_hooks().await;
        id
    }
}

fn types(events: &Value) -> Vec<String> {
    events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_timeline_of_a_full_journey_is_complete_and_in_order() {
    let rig = rig(None).await;
    let id = rig.full_journey().await;
    let (status, events) = rig.call(Method::GET, &format!("/identity/{id}/events"), &rig.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events["session_id"], id.to_string());
    assert_eq!(
        types(&events),
        [
            "session.created",
            "journey.opened",
            "journey.opened",
            "consent.given",
            "upload.received",
            "details.provided",
            "journey.submitted",
            "step.started",
            "step.completed",
            "step.started",
            "step.completed",
            "step.started",
            "step.completed",
            "decision.made",
            "webhook.attempted",
            "webhook.attempted",
        ]
    );
    let list = events["events"].as_array().unwrap();
    assert!(list.windows(2).all(|w| w[0]["at"].as_i64() <= w[1]["at"].as_i64()), "oldest first");
    assert_eq!((&list[1]["device"], &list[2]["device"]), (&json!("desktop"), &json!("mobile")));
    assert_eq!(
        list[4],
        json!({"at": list[4]["at"], "type": "upload.received", "artifact": "document-front", "outcome": "accepted"})
    );
    assert_eq!(list[7]["step"], "document");
    assert_eq!(
        list[8],
        json!({"at": list[8]["at"], "type": "step.completed", "step": "document", "outcome": "passed"})
    );
    assert_eq!(list[13]["decision"], "approved");
    let attempts: Vec<_> =
        list[14..].iter().map(|e| (e["event"].clone(), e["attempt"].clone(), e["status_code"].clone())).collect();
    let finished = json!("identity.session.finished");
    assert_eq!(attempts, [(finished.clone(), json!(1), json!(503)), (finished, json!(2), json!(200))]);
    let text = events.to_string();
    for pii in ["Janelle", "Smithers", "1990", "87654321", "062000"] {
        assert!(!text.contains(pii), "{pii} in the timeline");
    }

    // Another tenant's key sees the same 404 as a missing session.
    let (status, _) = rig.call(Method::GET, &format!("/identity/{id}/events"), shared::service::DEMO_API_KEY).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = rig.call(Method::GET, &format!("/identity/{}/events", SessionId::random()), &rig.key).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::NOT_FOUND, &json!("session_not_found")));
}

#[tokio::test]
async fn redaction_erases_captures_and_personal_data_once_and_links_then_answer_410() {
    let rig = rig(None).await;
    let id = rig.full_journey().await;
    let session = rig.app().load(id).await.unwrap().unwrap();
    let link = rig.app().appendix_for(&session)[0].url.clone();
    assert!(rig.serve_link(&link).await.is_ok(), "the evidence is served before redaction");
    let key = Artifact::DocumentFront.key(id);
    assert!(rig.local.objects.get(&key, 1 << 24).await.unwrap().is_some());

    let (status, body) = rig.call(Method::POST, &format!("/identity/{id}/redact"), &rig.key).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body, json!({"status": "success", "session_id": id.to_string(), "redaction": "pending"}));
    rig.drain_steps().await;

    assert!(rig.local.objects.get(&key, 1 << 24).await.unwrap().is_none(), "the capture is gone");
    let stored = rig.stored(id).await;
    for pii in ["Janelle", "Smithers", "1990-01-31", "87654321", "062000"] {
        assert!(!stored.contains(pii), "{pii} is still stored");
    }
    let (status, view) = rig.call(Method::GET, &format!("/identity/{id}"), &rig.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&view["redaction"], &view["decision"], &view["status"]),
        (&json!("completed"), &json!("approved"), &json!("finished"))
    );
    assert_eq!((&view["metadata"], &view["appendix"]), (&json!({}), &json!([])));
    assert!(view["redacted_at"].is_i64());
    assert_eq!(rig.serve_link(&link).await, Err(LinkError::Expired));
    assert_eq!(appendix::response(rig.serve_link(&link).await).status(), StatusCode::GONE);

    // Asking again changes nothing and queues nothing; a redelivered erasure changes nothing.
    let version = rig.app().load(id).await.unwrap().unwrap().version;
    let (status, body) = rig.call(Method::POST, &format!("/identity/{id}/redact"), &rig.key).await;
    assert_eq!((status, &body["redaction"]), (StatusCode::ACCEPTED, &json!("completed")));
    assert!(rig.local.queue.receive(10, Duration::ZERO).await.is_empty(), "no second erasure");
    let erase = json!({"kind": "erase", "session_id": id.to_string()}).to_string();
    rig.local.queue.send(&erase, Duration::ZERO).await.unwrap();
    rig.drain_steps().await;
    rig.drain_hooks().await;
    assert_eq!(rig.app().load(id).await.unwrap().unwrap().version, version + 1, "only the webhook attempt");
    let got = rig.receiver.got.lock().unwrap().clone();
    let redacted = got.iter().filter(|t| *t == "identity.session.redacted").count();
    assert_eq!(redacted, 1, "one redacted webhook: {got:?}");

    let (_, events) = rig.call(Method::GET, &format!("/identity/{id}/events"), &rig.key).await;
    let tail: Vec<Value> = events["events"].as_array().unwrap().iter().rev().take(3).rev().cloned().collect();
    assert_eq!(
        (&tail[0]["type"], &tail[1]["type"], &tail[1]["objects_deleted"], &tail[2]["event"], &tail[2]["status_code"]),
        (
            &json!("redaction.requested"),
            &json!("redaction.completed"),
            &json!(1),
            &json!("identity.session.redacted"),
            &json!(200)
        )
    );
}

#[tokio::test]
async fn redacting_an_open_session_cancels_it_and_a_late_upload_is_erased_on_arrival() {
    let rig = rig(None).await;
    let id = rig
        .create(json!({"reference": "cust_open", "redirect_url": "https://yourapp.com/done", "steps": ["document"],
                       "first_name": "Janelle"}))
        .await;
    let (status, _) = rig.call(Method::POST, &format!("/identity/{id}/redact"), &rig.key).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    rig.drain_steps().await;
    // The upload slot was issued before the redaction; the file lands after it.
    rig.upload(id, Artifact::DocumentFront).await;
    rig.drain_steps().await;
    assert!(rig.local.objects.get(&Artifact::DocumentFront.key(id), 1 << 24).await.unwrap().is_none());
    let session = rig.app().load(id).await.unwrap().unwrap();
    assert_eq!(session.status.as_str(), "cancelled");
    assert!(session.captures.is_empty(), "the late upload is not recorded");
    rig.drain_hooks().await;
    let got = rig.receiver.got.lock().unwrap().clone();
    assert_eq!(got, ["identity.session.cancelled", "identity.session.redacted"]);
    let secret = session.journey_secret.expose().to_owned();
    assert_eq!(rig.app().journey_session(&secret).await.unwrap_err().code, "journey_not_found");
}

#[tokio::test]
async fn retention_expiry_is_honoured_on_read() {
    let rig = rig(Some(RetentionDays::new(2).unwrap())).await;
    let id = rig.full_journey().await;
    let session = rig.app().load(id).await.unwrap().unwrap();
    let link = rig.app().appendix_for(&session)[0].url.clone();
    let secret = session.journey_secret.expose().to_owned();
    assert_eq!(session.retain_until(), session.expires_at.max(session.finished_at.unwrap()) + 2 * 86_400);

    rig.clock.advance(session.retain_until() - rig.clock.now() - 1);
    let (status, _) = rig.call(Method::GET, &format!("/identity/{id}"), &rig.key).await;
    assert_eq!(status, StatusCode::OK, "still within retention");

    rig.clock.advance(1);
    for path in [format!("/identity/{id}"), format!("/identity/{id}/events")] {
        let (status, body) = rig.call(Method::GET, &path, &rig.key).await;
        assert_eq!((status, &body["error"]["code"]), (StatusCode::NOT_FOUND, &json!("session_not_found")), "{path}");
    }
    let (_, list) = rig.call(Method::GET, "/identity?reference=cust_red", &rig.key).await;
    assert_eq!(list["data"], json!([]));
    assert_eq!(rig.serve_link(&link).await, Err(LinkError::Expired));
    assert_eq!(rig.app().journey_session(&secret).await.unwrap_err().code, "journey_not_found");
    let (status, _) = rig.call(Method::POST, &format!("/identity/{id}/redact"), &rig.key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The embedded store's TTL: the next insert deletes the record for good.
    rig.create(json!({"reference": "cust_next", "redirect_url": "https://yourapp.com/done"})).await;
    assert!(rig.app().load(id).await.unwrap().is_none());
}

#[tokio::test]
async fn an_expired_journey_shows_its_expiry_in_the_timeline() {
    let rig = rig(None).await;
    let id = rig
        .create(json!({"reference": "cust_exp", "redirect_url": "https://yourapp.com/done", "expires_in": 600}))
        .await;
    rig.app().open_journey(id, DeviceClass::Tablet).await.unwrap();
    let (_, events) = rig.call(Method::GET, &format!("/identity/{id}/events"), &rig.key).await;
    assert_eq!(types(&events), ["session.created", "journey.opened"]);
    rig.clock.advance(601);
    let (_, events) = rig.call(Method::GET, &format!("/identity/{id}/events"), &rig.key).await;
    assert_eq!(types(&events), ["session.created", "journey.opened", "session.expired"]);
    let expires_at = rig.app().load(id).await.unwrap().unwrap().expires_at;
    assert_eq!(events["events"][2]["at"], expires_at);
    // Opening an expired journey records nothing.
    rig.app().open_journey(id, DeviceClass::Mobile).await.unwrap();
    let (_, events) = rig.call(Method::GET, &format!("/identity/{id}/events"), &rig.key).await;
    assert_eq!(types(&events).len(), 3);
}
