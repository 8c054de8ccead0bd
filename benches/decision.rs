//! Time from the journey's final submit to the stored decision, on the local server with
//! the sandbox provider (load from a second process; the server runs its in-process queue).
//! Run: `cargo bench --bench decision`. Knobs: BENCH_SESSIONS (default 200).

mod common;

use std::time::{Duration, Instant};

use common::{KEY, start_server};
use serde_json::{Value, json};
use shared::testing::noisy_png;

/// A session with its capture uploaded and through the quality gate, ready to submit.
/// Returns (id, secret).
async fn prepared(http: &reqwest::Client, base: &str, png: &[u8]) -> (String, String) {
    let body = json!({"reference": "bench", "redirect_url": "https://yourapp.com/done",
                      "steps": ["document", "peps", "bank"], "last_name": "Smith"});
    let created: Value =
        http.post(format!("{base}/identity")).bearer_auth(KEY).json(&body).send().await.unwrap().json().await.unwrap();
    let secret = created["identity_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let slot: Value = http
        .post(format!("{base}/j/{secret}/uploads"))
        .json(&json!({"artifact": "document-front", "content_type": "image/png"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in slot["fields"].as_object().unwrap() {
        form = form.text(k.clone(), v.as_str().unwrap().to_owned());
    }
    form = form.part("file", reqwest::multipart::Part::bytes(png.to_vec()).file_name("c.png"));
    assert_eq!(http.post(slot["url"].as_str().unwrap()).multipart(form).send().await.unwrap().status(), 204);
    let details = json!({"bank": {"bsb": "062-000", "account_number": "12345678"}});
    assert_eq!(http.put(format!("{base}/j/{secret}/details")).json(&details).send().await.unwrap().status(), 200);
    loop {
        let j: Value = http.get(format!("{base}/j/{secret}/session")).send().await.unwrap().json().await.unwrap();
        if j["captures"][0]["status"] == "accepted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    (created["session_id"].as_str().unwrap().to_owned(), secret)
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sessions: usize = std::env::var("BENCH_SESSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = start_server("embedded", dir.path());
    let http = reqwest::Client::new();
    let png = noisy_png(640, 400);
    let mut latencies = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let (id, secret) = prepared(&http, &base, &png).await;
        let started = Instant::now();
        let resp = http.post(format!("{base}/j/{secret}/submit")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        loop {
            let s: Value =
                http.get(format!("{base}/identity/{id}")).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
            if s["status"] == "finished" {
                break;
            }
            // Poll every millisecond: fine-grained, without starving the server of CPU.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64() * 1000.0;
    println!("submit → stored decision over {sessions} sessions (document + peps + bank, sandbox provider)");
    println!("| p50 ms | p95 ms | p99 ms | max ms |");
    println!("| ---: | ---: | ---: | ---: |");
    println!("| {:.2} | {:.2} | {:.2} | {:.2} |", pct(0.5), pct(0.95), pct(0.99), pct(1.0));
    let _ = child.kill();
    let _ = child.wait();
}
