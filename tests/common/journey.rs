//! What a browser and a customer's webhook endpoint do during a journey, for black-box tests.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::testing::noisy_png;

use super::{Reply, Server};

pub async fn slot(server: &Server, secret: &str, artifact: &str, content_type: &str) -> Reply {
    let body = json!({"artifact": artifact, "content_type": content_type});
    server.send(server.http.post(server.url(&format!("/j/{secret}/uploads"))).json(&body)).await
}

/// What the browser does with a slot: a multipart POST of every field, then the file.
pub async fn post_file(server: &Server, slot: &Value, fields: &Value, bytes: Vec<u8>) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields.as_object().unwrap() {
        form = form.text(k.clone(), v.as_str().unwrap().to_owned());
    }
    form = form.part("file", reqwest::multipart::Part::bytes(bytes).file_name("capture.png"));
    server.http.post(slot["url"].as_str().unwrap()).multipart(form).send().await.unwrap()
}

pub async fn journey(server: &Server, secret: &str) -> Value {
    let reply = server.send(server.http.get(server.url(&format!("/j/{secret}/session")))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

pub async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn capture_status(journey: &Value, artifact: &str) -> String {
    let captures = journey["captures"].as_array().unwrap();
    captures.iter().find(|c| c["artifact"] == artifact).unwrap()["status"].as_str().unwrap().to_owned()
}

/// Uploads every capture the journey asks for (document front, selfie, one frame per
/// challenge pose) and waits until each has passed the quality gate.
pub async fn capture_everything(server: &Server, secret: &str, front: &[u8]) {
    let view = journey(server, secret).await;
    let required: Vec<String> = view["captures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["required"] == true)
        .map(|c| c["artifact"].as_str().unwrap().to_owned())
        .collect();
    for artifact in &required {
        let bytes = if artifact == "document-front" { front.to_vec() } else { noisy_png(480, 640) };
        let s = slot(server, secret, artifact, "image/png").await;
        assert_eq!(s.status, 201, "{}", s.body);
        assert!(s.body["expires_at"].as_i64().unwrap() <= chrono_now() + 15 * 60);
        let resp = post_file(server, &s.body, &s.body["fields"], bytes).await;
        assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
    }
    wait_for("captures to pass the quality gate", async || {
        let j = journey(server, secret).await;
        required.iter().all(|a| capture_status(&j, a) == "accepted")
    })
    .await;
}

pub fn step_status(journey: &Value, name: &str) -> String {
    let steps = journey["steps"].as_array().unwrap();
    steps.iter().find(|s| s["name"] == name).unwrap()["status"].as_str().unwrap().to_owned()
}

pub fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A receiver that is down for its first request, then up; it keeps what it was sent.
pub async fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<(http::HeaderMap, bytes::Bytes)>>>) {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(http::HeaderMap, bytes::Bytes)>>> = Arc::default();
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: http::HeaderMap, body: bytes::Bytes| {
            let store = store.clone();
            async move {
                let mut seen = store.lock().unwrap();
                seen.push((headers, body));
                if seen.len() == 1 { http::StatusCode::SERVICE_UNAVAILABLE } else { http::StatusCode::OK }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}
