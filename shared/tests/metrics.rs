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
