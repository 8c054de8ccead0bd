//! Load from a second process: starts the release `total-identity` server and drives it
//! over loopback with concurrent clients, then prints latency percentiles and throughput.
//! Run: `cargo bench --bench create_session` (see README "Performance").
//! Knobs: BENCH_REQUESTS (default 4000 per scenario), BENCH_CONCURRENCY (default 16),
//! BENCH_STORES (`embedded` and/or `dynamodb`, comma separated; default `embedded`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use common::{KEY, start_server};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Stats {
    name: String,
    p50: f64,
    p95: f64,
    p99: f64,
    rps: f64,
}

#[derive(Clone, Copy)]
enum Scenario {
    Create,
    CreateIdempotent,
    Get,
    Unauthorized,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Create => "POST /identity (create)",
            Scenario::CreateIdempotent => "POST /identity + Idempotency-Key",
            Scenario::Get => "GET /identity/{id} (read)",
            Scenario::Unauthorized => "POST /identity, wrong key (401)",
        }
    }
}

async fn run(base: &str, scenario: Scenario, requests: usize, concurrency: usize, session: &str) -> Stats {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, base, session) = (client.clone(), next.clone(), base.to_owned(), session.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    break latencies;
                }
                let body = json!({
                    "reference": format!("bench_{i}"), "redirect_url": "https://yourapp.com/verified",
                    "steps": ["document", "liveness", "dvs"], "first_name": "Jane", "last_name": "Smith",
                    "birth_date": "1990-01-31"
                });
                let req = match scenario {
                    Scenario::Create => client.post(format!("{base}/identity")).bearer_auth(KEY).json(&body),
                    Scenario::CreateIdempotent => client
                        .post(format!("{base}/identity"))
                        .bearer_auth(KEY)
                        .header("Idempotency-Key", format!("bench-{i}-{}", std::process::id()))
                        .json(&body),
                    Scenario::Get => client.get(format!("{base}/identity/{session}")).bearer_auth(KEY),
                    Scenario::Unauthorized => {
                        client.post(format!("{base}/identity")).bearer_auth("ti_test_wrong_key_0000000000").json(&body)
                    }
                };
                let t = Instant::now();
                let resp = req.send().await.expect("request");
                let status = resp.status().as_u16();
                resp.bytes().await.expect("body");
                latencies.push(t.elapsed());
                let expected = match scenario {
                    Scenario::Create | Scenario::CreateIdempotent => 201,
                    Scenario::Get => 200,
                    Scenario::Unauthorized => 401,
                };
                assert_eq!(status, expected, "{}", scenario.name());
            }
        }));
    }
    let mut all: Vec<Duration> = Vec::with_capacity(requests);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    Stats {
        name: scenario.name().into(),
        p50: pct(0.50),
        p95: pct(0.95),
        p99: pct(0.99),
        rps: all.len() as f64 / elapsed,
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; a plain `cargo test` run of this target does nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let requests = env_usize("BENCH_REQUESTS", 4000);
    let concurrency = env_usize("BENCH_CONCURRENCY", 16);
    let stores = std::env::var("BENCH_STORES").unwrap_or_else(|_| "embedded".into());
    println!(
        "requests per scenario: {requests}, concurrent clients: {concurrency}, cores: {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    for store in stores.split(',') {
        let dir = tempfile::tempdir().unwrap();
        let (mut child, base) = start_server(store, dir.path());
        let client = reqwest::Client::new();
        let created: serde_json::Value = client
            .post(format!("{base}/identity"))
            .bearer_auth(KEY)
            .json(&json!({"reference": "bench_get", "redirect_url": "https://yourapp.com/verified"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["session_id"].as_str().unwrap().to_owned();
        // Warm-up: connections, caches, SQLite pages.
        run(&base, Scenario::Get, 200, concurrency, &session).await;
        let mut results = Vec::new();
        for scenario in [Scenario::Unauthorized, Scenario::Get, Scenario::Create, Scenario::CreateIdempotent] {
            results.push(run(&base, scenario, requests, concurrency, &session).await);
        }
        let baseline = results[0].p50;
        println!("\nstore: {store}");
        println!("| scenario | p50 ms | p95 ms | p99 ms | req/s | p50 vs 401 |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
        for s in &results {
            println!(
                "| {} | {:.2} | {:.2} | {:.2} | {:.0} | {:.1}x |",
                s.name,
                s.p50,
                s.p95,
                s.p99,
                s.rps,
                s.p50 / baseline
            );
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
