//! Time-dependent behaviour through the HTTP API, with a clock the test moves.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};
use shared::api;
use shared::ports::ManualClock;
use shared::service::{DEMO_API_KEY, SESSION_RETENTION_SECS};
use shared::testing::demo_with_clock;

const NOW: i64 = 1_795_600_000;

async fn call(
    app: &shared::service::Identity,
    method: &str,
    path: &str,
    body: Option<Value>,
    idem: Option<&str>,
) -> (u16, Value) {
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {DEMO_API_KEY}"))
        .header("content-type", "application/json");
    if let Some(k) = idem {
        req = req.header("idempotency-key", k);
    }
    let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let resp = api::handle(app, req.body(body).unwrap()).await;
    (resp.status().as_u16(), serde_json::from_slice(resp.body()).unwrap())
}

fn body(reference: &str, expires_in: u32) -> Value {
    json!({"reference": reference, "redirect_url": "https://yourapp.com/verified", "expires_in": expires_in})
}

#[tokio::test]
async fn an_expired_session_reads_as_expired_everywhere() {
    let clock = Arc::new(ManualClock::at(NOW));
    let demo = demo_with_clock(clock.clone()).await;
    let (status, created) = call(&demo.app, "POST", "/identity", Some(body("cust_exp", 600)), None).await;
    assert_eq!(status, 201);
    let path = format!("/identity/{}", created["session_id"].as_str().unwrap());

    clock.advance(599);
    assert_eq!(call(&demo.app, "GET", &path, None, None).await.1["status"], "created");

    clock.advance(1);
    let (_, read) = call(&demo.app, "GET", &path, None, None).await;
    assert_eq!(read["status"], "expired");
    assert!(read.get("identity_url").is_none());
    let (_, listed) = call(&demo.app, "GET", "/identity?reference=cust_exp", None, None).await;
    assert_eq!(listed["data"][0]["status"], "expired");
    let (status, refused) = call(&demo.app, "DELETE", &path, None, None).await;
    assert_eq!(status, 409);
    assert_eq!(refused["error"]["code"], "session_not_cancellable");

    // Past retention the record is gone even if the store has not purged it yet.
    clock.advance(SESSION_RETENTION_SECS);
    assert_eq!(call(&demo.app, "GET", &path, None, None).await.0, 404);
    assert_eq!(call(&demo.app, "GET", "/identity?reference=cust_exp", None, None).await.1["data"], json!([]));
}

#[tokio::test]
async fn idempotency_keys_last_24_hours() {
    let clock = Arc::new(ManualClock::at(NOW));
    let demo = demo_with_clock(clock.clone()).await;
    let (_, first) = call(&demo.app, "POST", "/identity", Some(body("cust_a", 3600)), Some("k1")).await;
    clock.advance(24 * 3600 - 1);
    let (status, _) = call(&demo.app, "POST", "/identity", Some(body("cust_b", 3600)), Some("k1")).await;
    assert_eq!(status, 409);
    clock.advance(1);
    let (status, second) = call(&demo.app, "POST", "/identity", Some(body("cust_b", 3600)), Some("k1")).await;
    assert_eq!(status, 201);
    assert_ne!(first["session_id"], second["session_id"]);
}
