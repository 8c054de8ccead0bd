//! Redaction and the timeline through the real binary, over the embedded store and over
//! DynamoDB Local: the local server queues the erasure on its in-process step queue.

mod common;

use std::time::{Duration, Instant};

use common::{DEMO_KEY, Storage, example};
use serde_json::Value;

on_every_store!(a_redaction_through_the_server_erases_once_and_is_logged);

async fn a_redaction_through_the_server_erases_once_and_is_logged(storage: Storage) {
    let other = storage.create_tenant(&["https://second.example"]);
    let other_key = other["api_key"].as_str().unwrap().to_owned();
    assert_eq!(other["retention_days"], 30, "the default retention");
    let server = storage.start();
    let created = server.create(DEMO_KEY, &example("cust_redact"), None).await;
    let id = created.body["session_id"].as_str().unwrap().to_owned();
    let journey = created.body["identity_url"].as_str().unwrap().to_owned();
    let redact = |key: &str| server.http.post(server.url(&format!("/identity/{id}/redact"))).bearer_auth(key);

    server.send(redact(&other_key)).await.assert_error(404, "session_not_found", "session_id");
    let first = server.send(redact(DEMO_KEY)).await;
    assert_eq!((first.status, &first.body["redaction"]), (202, &Value::from("pending")), "{}", first.body);

    let deadline = Instant::now() + Duration::from_secs(20);
    let done = loop {
        let read = server.get(DEMO_KEY, &id).await;
        if read.body["redaction"] == "completed" {
            break read;
        }
        assert!(Instant::now() < deadline, "the erasure never completed: {}", read.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done.body["status"], "cancelled", "an open session is cancelled by its redaction");
    assert!(done.body.get("identity_url").is_none());
    let again = server.send(redact(DEMO_KEY)).await;
    assert_eq!((again.status, &again.body["redaction"]), (202, &Value::from("completed")));
    let opened = server.send(server.http.get(format!("{journey}/session"))).await;
    opened.assert_error(404, "journey_not_found", "secret");

    let events =
        server.send(server.http.get(server.url(&format!("/identity/{id}/events"))).bearer_auth(DEMO_KEY)).await;
    assert_eq!(events.status, 200);
    let types: Vec<&str> =
        events.body["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["session.created", "session.cancelled", "redaction.requested", "redaction.completed"]);
    let theirs =
        server.send(server.http.get(server.url(&format!("/identity/{id}/events"))).bearer_auth(&other_key)).await;
    theirs.assert_error(404, "session_not_found", "session_id");
}
