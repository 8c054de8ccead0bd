//! The pipeline's metrics, captured from real step processing: step durations, one decision
//! per finished session (even under redelivery), and DLQ arrivals for poisoned messages.

mod common;

use std::time::Duration;

use common::rig;
use serde_json::Value;
use shared::queue::Queue;

fn named<'a>(docs: &'a [Value], metric: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d[metric].is_number()).collect()
}

#[tokio::test]
async fn steps_decisions_and_dlq_arrivals_are_counted() {
    let rig = rig().await;
    let ((), docs) = shared::metrics::capture(async {
        let good = rig.create("Smith", &["peps"]).await;
        let poisoned = rig.create("Unavailable", &["peps"]).await;
        rig.local.pipeline.submit(good).await.unwrap();
        rig.local.queue.send("this is not a message we know", Duration::ZERO).await.unwrap();
        rig.local.pipeline.submit(poisoned).await.unwrap();
        rig.drain().await;
        // A duplicate submit of a finished session decides nothing again.
        rig.local.pipeline.submit(good).await.unwrap();
        rig.drain().await;
    })
    .await;

    let decisions = named(&docs, "Decisions");
    let mut outcomes: Vec<&str> = decisions.iter().map(|d| d["Decision"].as_str().unwrap()).collect();
    outcomes.sort();
    assert_eq!(outcomes, ["approved", "review"], "one per finished session");

    let durations = named(&docs, "StepDuration");
    assert!(durations.len() >= 2, "{durations:?}");
    assert!(durations.iter().all(|d| d["Step"] == "peps" && d["Provider"] == "sandbox"), "{durations:?}");

    // The unknown message and the poisoned step each reach the DLQ once.
    let arrivals = named(&docs, "DlqArrivals");
    assert_eq!(arrivals.len(), 2, "{arrivals:?}");
    assert!(arrivals.iter().all(|d| d["Queue"] == "steps"));
    assert_eq!(rig.local.dlq.approximate_counts().await.0, 2);
}

/// A receiver that always fails: every attempt is counted as a failure, and a job past the
/// retry window is counted into the webhook DLQ.
#[tokio::test]
async fn webhook_attempts_failures_and_dead_letters_are_counted() {
    use std::sync::Arc;

    use shared::domain::{UrlPolicy, WebhookUrl};
    use shared::ports::{Clock, ManualClock};
    use shared::queue::local::{LocalQueue, QueueSettings};
    use shared::webhooks::{Deliverer, DeliveryJob, TenantSecrets, WebhookEvent, enqueue};

    let app =
        axum::Router::new().route("/hook", axum::routing::post(|| async { http::StatusCode::SERVICE_UNAVAILABLE }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let rig = rig().await;
    let session = rig.session(rig.create("Smith", &["peps"]).await).await;
    let clock = Arc::new(ManualClock::at(rig.demo.app.now()));
    let settings = QueueSettings { visibility_timeout: Duration::ZERO, max_receives: 5 };
    let (queue, dead) = (Arc::new(LocalQueue::new("hooks", settings)), Arc::new(LocalQueue::new("dead", settings)));
    let secrets = Arc::new(TenantSecrets(rig.demo.store.clone()));
    let deliverer = Deliverer::new(queue.clone(), dead.clone(), clock.clone(), secrets).unwrap();
    let hook = WebhookUrl::parse(&url, UrlPolicy::AllowHttpLocalhost).unwrap();
    let event = WebhookEvent::cancelled(&session, clock.now());
    // One job in its first attempt, one whose three days of retries are over.
    enqueue(&*queue, &DeliveryJob::new(event.clone(), rig.demo.tenant.id.clone(), &hook, clock.now())).await.unwrap();
    let old = DeliveryJob::new(event, rig.demo.tenant.id.clone(), &hook, clock.now() - 4 * 24 * 3600);
    enqueue(&*queue, &old).await.unwrap();

    let ((), docs) = shared::metrics::capture(async {
        let batch = queue.receive(10, Duration::from_millis(20)).await;
        let deliveries: Vec<_> = batch.iter().map(|(d, _)| d.clone()).collect();
        assert!(deliverer.handle_batch(&deliveries).await.is_empty(), "both handled: re-queued or dead-lettered");
    })
    .await;
    let attempts = named(&docs, "WebhookAttempts");
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|d| d["WebhookFailures"] == 1.0), "{attempts:?}");
    let arrivals = named(&docs, "DlqArrivals");
    assert_eq!(arrivals.len(), 1, "{arrivals:?}");
    assert_eq!(arrivals[0]["Queue"], "webhooks");
    assert_eq!(dead.approximate_counts().await.0, 1);
}
