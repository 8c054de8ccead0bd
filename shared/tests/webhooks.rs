//! Webhook delivery end to end: a real HTTP receiver on 127.0.0.1, the local queue, and a
//! manual clock that the driver moves by each re-queue's delay, so days pass instantly.
//! The interop check needs tests/interop/node_modules (scripts/interop-deps.sh).

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::extract::State;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use shared::domain::{TenantId, UrlPolicy, WebhookUrl};
use shared::ports::{Clock, ManualClock};
use shared::queue::local::{LocalQueue, QueueSettings};
use shared::queue::{Delivery, MAX_DELAY, Queue, QueueError};
use shared::signing::WebhookSigner;
use shared::webhooks::{Deliverer, DeliveryJob, Outcome, RETRY_WINDOW_SECS, SESSION_FINISHED, WebhookEvent, enqueue};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/interop/verify.mjs");

/// One request as the receiver saw it, with the (manual) time it arrived.
#[derive(Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    at: i64,
}

#[derive(Clone)]
struct Receiver {
    status: Arc<AtomicU16>,
    log: Arc<Mutex<Vec<Received>>>,
    clock: Arc<ManualClock>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.log.lock().unwrap().push(Received { headers, body, at: r.clock.now() });
    StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap()
}

/// Forwards to the local queue at once, keeping the requested delays: the driver applies
/// them to the manual clock instead of waiting.
struct Delays {
    inner: Arc<LocalQueue>,
    pending: Mutex<Vec<Duration>>,
}

#[async_trait]
impl Queue for Delays {
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError> {
        assert!(delay <= MAX_DELAY, "delay over the SQS cap: {delay:?}");
        self.pending.lock().unwrap().push(delay);
        self.inner.send(body, Duration::ZERO).await
    }
}

struct Down;

#[async_trait]
impl Queue for Down {
    async fn send(&self, _: &str, _: Duration) -> Result<(), QueueError> {
        Err(QueueError::Unavailable("test".into()))
    }
}

struct Harness {
    receiver: Receiver,
    queue: Arc<LocalQueue>,
    delays: Arc<Delays>,
    dead: Arc<LocalQueue>,
    deliverer: Deliverer,
    secret: String,
    job: DeliveryJob,
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn local_queue(name: &str) -> Arc<LocalQueue> {
    let settings = QueueSettings { visibility_timeout: Duration::ZERO, max_receives: 5 };
    Arc::new(LocalQueue::new(name, settings))
}

async fn harness(status: u16) -> Harness {
    // Real time at the start, so the npm library's own clock check accepts early requests.
    let clock = Arc::new(ManualClock::at(unix_now()));
    let receiver =
        Receiver { status: Arc::new(AtomicU16::new(status)), log: Arc::default(), clock: Arc::clone(&clock) };
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook?token=abc", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (queue, dead) = (local_queue("webhooks"), local_queue("webhooks-dlq"));
    let delays = Arc::new(Delays { inner: Arc::clone(&queue), pending: Mutex::default() });
    let tenant = TenantId::random();
    let secret = WebhookSigner::generate_secret();
    let secrets: HashMap<TenantId, String> = [(tenant.clone(), secret.clone())].into();
    let deliverer = Deliverer::new(delays.clone(), dead.clone(), clock.clone(), Arc::new(secrets)).unwrap();
    let session = shared::domain::SessionId::random();
    let event = WebhookEvent {
        id: WebhookEvent::event_id(session, SESSION_FINISHED),
        event_type: SESSION_FINISHED.into(),
        created_at: clock.now(),
        data: json!({"session_id": session.to_string(), "reference": "cust_1", "name": "Zoë ✓"}),
    };
    let url = WebhookUrl::parse(&url, UrlPolicy::AllowHttpLocalhost).unwrap();
    let job = DeliveryJob::new(event, tenant, &url, clock.now());
    Harness { receiver, queue, delays, dead, deliverer, secret, job }
}

impl Harness {
    fn requests(&self) -> Vec<Received> {
        self.receiver.log.lock().unwrap().clone()
    }

    /// Consumes the queue like the Lambda event source until it is empty (or `rounds` pass),
    /// moving the clock by each pending delay first. Returns the rounds used.
    async fn drain(&self, rounds: usize) -> usize {
        for round in 0..rounds {
            let waited: Duration = self.delays.pending.lock().unwrap().drain(..).sum();
            self.receiver.clock.advance(waited.as_secs() as i64);
            let batch = self.queue.receive(10, Duration::ZERO).await;
            if batch.is_empty() {
                return round;
            }
            let (deliveries, receipts): (Vec<Delivery>, Vec<_>) = batch.into_iter().unzip();
            let failed = self.deliverer.handle_batch(&deliveries).await;
            for (delivery, receipt) in deliveries.iter().zip(&receipts) {
                if !failed.contains(&delivery.message_id) {
                    self.queue.ack(receipt).await;
                }
            }
        }
        rounds
    }
}

/// Checks every request's signature with our verifier and, through verify.mjs, with npm
/// `standardwebhooks` (which also checks the timestamp against the real clock).
fn assert_signatures(h: &Harness, requests: &[Received], with_npm: bool) {
    let ours = WebhookSigner::new(&h.secret).unwrap();
    for r in requests {
        assert_eq!(ours.verify(&r.headers, &r.body, r.at), Ok(()));
        assert_eq!(r.headers["content-type"], "application/json");
    }
    if !with_npm {
        return;
    }
    let cases: Vec<Value> = requests.iter().enumerate().map(|(i, r)| {
        let headers: serde_json::Map<String, Value> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
            .iter().map(|&k| (k.to_owned(), r.headers[k].to_str().unwrap().into())).collect();
        json!({"name": i.to_string(), "secret": h.secret, "body": std::str::from_utf8(&r.body).unwrap(), "headers": headers})
    }).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.json");
    std::fs::write(&path, serde_json::to_vec(&json!({"now": unix_now(), "webhook_verify": cases})).unwrap()).unwrap();
    let out = Command::new("node").arg(SCRIPT).arg(&path).output().expect("node: run scripts/interop-deps.sh");
    assert!(out.status.success(), "verify.mjs: {}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (i, r) in requests.iter().enumerate() {
        let got = &verdicts["webhook_verify"][i.to_string()];
        assert_eq!(got["payload"], serde_json::from_slice::<Value>(&r.body).unwrap(), "request {i}: {got}");
    }
}

fn ids(requests: &[Received]) -> Vec<&str> {
    requests.iter().map(|r| r.headers["webhook-id"].to_str().unwrap()).collect()
}

#[tokio::test]
async fn retries_until_the_receiver_recovers_then_stops() {
    let h = harness(503).await;
    enqueue(h.delays.as_ref(), &h.job).await.unwrap();
    h.drain(1).await;
    assert_eq!(h.requests().len(), 1, "first attempt refused");
    h.receiver.status.store(200, Ordering::SeqCst);
    h.drain(100).await;

    let requests = h.requests();
    assert_eq!(requests.len(), 2, "a 2xx ends the retries");
    assert_eq!(ids(&requests), [h.job.event.id.as_str(); 2], "same webhook-id on every attempt");
    assert!(requests[1].at > requests[0].at && requests[1].at - requests[0].at <= 5, "first backoff is up to 5 s");
    assert_ne!(requests[0].headers["webhook-signature"], requests[1].headers["webhook-signature"]);
    assert_eq!(requests[0].body, requests[1].body);
    let body: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!((&body["type"], &body["data"]), (&json!(SESSION_FINISHED), &h.job.event.data));
    assert_signatures(&h, &requests, true);
    assert_eq!(h.queue.approximate_counts().await, (0, 0, 0));
    assert_eq!(h.dead.approximate_counts().await, (0, 0, 0));
}

#[tokio::test]
async fn a_receiver_that_never_recovers_ends_in_the_dead_letter_queue() {
    let h = harness(500).await;
    enqueue(h.delays.as_ref(), &h.job).await.unwrap();
    let rounds = h.drain(10_000).await;
    assert!(rounds < 10_000, "the queue drained");

    let requests = h.requests();
    let span = requests.last().unwrap().at - requests[0].at;
    assert_eq!(span, RETRY_WINDOW_SECS, "retried for exactly three days");
    assert!(requests.len() >= 18, "{} attempts", requests.len());
    assert!(ids(&requests).iter().all(|id| *id == h.job.event.id));
    assert!(requests.windows(2).all(|w| w[1].at > w[0].at));
    assert_signatures(&h, &requests, false);

    let dead = h.dead.receive(10, Duration::ZERO).await;
    assert_eq!(dead.len(), 1);
    let job: DeliveryJob = serde_json::from_str(&dead[0].0.body).unwrap();
    assert_eq!(
        (job.attempt as usize, &job.event, job.first_attempt_at),
        (requests.len(), &h.job.event, h.job.first_attempt_at)
    );
}

#[tokio::test]
async fn a_future_not_before_is_requeued_not_sent() {
    let h = harness(200).await;
    let job = DeliveryJob { not_before: h.job.not_before + 2 * 3600, ..h.job.clone() };
    enqueue(h.delays.as_ref(), &job).await.unwrap();
    h.delays.pending.lock().unwrap().clear();
    let (delivery, receipt) = h.queue.receive(1, Duration::ZERO).await.remove(0);
    assert_eq!(h.deliverer.handle(&delivery).await, Outcome::Done);
    assert!(h.requests().is_empty(), "not sent early");
    assert_eq!(*h.delays.pending.lock().unwrap(), [MAX_DELAY], "waits hop at the 15-minute cap");
    h.queue.ack(&receipt).await;
    // The driver waits out each hop: eight of 15 minutes in all, then the POST.
    assert_eq!(h.drain(100).await, 8);
    let requests = h.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].at, job.not_before);
}

#[tokio::test]
async fn queue_failures_and_unreadable_jobs_leave_the_message_for_redelivery() {
    let h = harness(503).await;
    let secrets: HashMap<TenantId, String> = [(h.job.tenant_id.clone(), h.secret.clone())].into();
    let clock = Arc::new(ManualClock::at(h.job.not_before));
    let stuck = Deliverer::new(Arc::new(Down), Arc::new(Down), clock.clone(), Arc::new(secrets)).unwrap();
    let delivery = |body: String| Delivery { message_id: "m1".into(), body, receive_count: 1 };
    let job = serde_json::to_string(&h.job).unwrap();
    // A refused POST whose retry cannot be queued, and a wait that cannot be queued.
    assert_eq!(stuck.handle(&delivery(job.clone())).await, Outcome::Retry);
    assert_eq!(h.requests().len(), 1);
    clock.advance(-60);
    assert_eq!(stuck.handle_batch(&[delivery(job)]).await, ["m1"]);
    assert_eq!(h.requests().len(), 1, "nothing sent before not_before");
    assert_eq!(h.deliverer.handle(&delivery("{not json".into())).await, Outcome::Retry);
    let job = DeliveryJob { tenant_id: TenantId::random(), ..h.job.clone() };
    let unknown = delivery(serde_json::to_string(&job).unwrap());
    assert_eq!(h.deliverer.handle(&unknown).await, Outcome::Done, "unknown tenant: dead-lettered");
    assert_eq!(h.dead.approximate_counts().await.0, 1);
}
