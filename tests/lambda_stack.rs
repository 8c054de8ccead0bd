//! The real function binaries under `cargo lambda watch`, as scripts/local-stack.sh runs them from
//! infra/template.yaml: the template's table, bucket and queues on DynamoDB Local and LocalStack,
//! its HTTP routes, and its SQS and DynamoDB stream event source mappings played by the local
//! pollers. A verification goes create → upload straight to S3 → S3 notification → process-step
//! → submit → decision → signed redirect → the table's stream (the outbox) → deliver-webhook
//! queues the webhook → deliver-webhook delivers it, over HTTP, SQS and the stream only. The poller itself is held to Lambda's rules:
//! reported failures come back after the visibility timeout and end in the dead-letter queue.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use shared::queue::sqs::{SqsQueue, create_queue_with_dlq, queue_arn};
use shared::signing::WebhookSigner;
use shared::testing::noisy_png;

struct Stack {
    outputs: Value,
    dir: PathBuf,
}

impl Stack {
    fn api(&self) -> &str {
        self.outputs["api_url"].as_str().unwrap()
    }
}

/// The running stack's outputs (`TI_LOCAL_STACK`, set by scripts/test), or `None` when the
/// LocalStack tests are deliberately skipped.
fn stack() -> Option<Stack> {
    let Ok(path) = std::env::var("TI_LOCAL_STACK") else {
        if std::env::var("TI_SKIP_LOCALSTACK").as_deref() == Ok("1") {
            eprintln!("skipping the local Lambda stack test: TI_SKIP_LOCALSTACK=1");
            return None;
        }
        panic!(
            "TI_LOCAL_STACK is not set: run `scripts/test`, or `scripts/local-stack.sh start` with \
             TI_LOCAL_STACK=.tools/local-stack/outputs.json, or set TI_SKIP_LOCALSTACK=1"
        );
    };
    let outputs: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read outputs")).unwrap();
    Some(Stack { outputs, dir: Path::new(&path).parent().unwrap().to_owned() })
}

async fn wait_for(what: &str, secs: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A webhook receiver on loopback: the deliver-webhook function posts here.
async fn receiver() -> (String, Arc<Mutex<Vec<(http::HeaderMap, Bytes)>>>) {
    let received: Arc<Mutex<Vec<(http::HeaderMap, Bytes)>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: http::HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move { sink.lock().unwrap().push((headers, body)) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// The operator's first step: a tenant in the stack's table, through the admin command.
fn create_tenant(stack: &Stack, webhook_url: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_total-identity"))
        .args(["tenant", "create", "--store", "dynamodb", "--json", "--local", "--name", "Stack E2E"])
        .args(["--table", stack.outputs["table"].as_str().unwrap()])
        .args(["--redirect-origin", "https://yourapp.com", "--webhook-url", webhook_url])
        .output()
        .expect("run tenant create");
    assert!(out.status.success(), "tenant create: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The end user's part, through the journey API only: each capture straight to S3 with its
/// presigned POST, then submit, retried while captures are still being processed.
async fn complete_journey(http: &reqwest::Client, identity_url: &str, captures: &[(&str, Vec<u8>)]) {
    for (artifact, bytes) in captures {
        let resp = http
            .post(format!("{identity_url}/uploads"))
            .json(&json!({"artifact": artifact, "content_type": "image/png"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "upload slot for {artifact}");
        let slot: Value = resp.json().await.unwrap();
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in slot["fields"].as_object().unwrap() {
            form = form.text(k.clone(), v.as_str().unwrap().to_owned());
        }
        let file = reqwest::multipart::Part::bytes(bytes.clone()).file_name("capture.png").mime_str("image/png");
        let resp = http.post(slot["url"].as_str().unwrap()).multipart(form.part("file", file.unwrap())).send().await;
        let resp = resp.unwrap();
        assert!(resp.status().is_success(), "S3 refused {artifact}: {}", resp.text().await.unwrap());
    }
    wait_for("submit to be accepted", 90, async || {
        let resp = http.post(format!("{identity_url}/submit")).send().await.unwrap();
        match resp.status().as_u16() {
            200 => true,
            409 => {
                let body: Value = resp.json().await.unwrap();
                assert_eq!(body["error"]["code"], "captures_missing", "{body}");
                false
            }
            other => panic!("submit answered {other}: {}", resp.text().await.unwrap()),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_runs_through_the_function_binaries() {
    let Some(stack) = stack() else { return };
    let api = stack.api();
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().unwrap();
    let (hook_url, received) = receiver().await;
    let tenant = create_tenant(&stack, &hook_url);
    let key = tenant["api_key"].as_str().unwrap();

    let resp = http
        .post(format!("{api}/identity"))
        .bearer_auth(key)
        .json(&json!({"reference": "cust_stack", "redirect_url": "https://yourapp.com/verified",
                      "steps": ["document", "peps"], "last_name": "Smith"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let id = created["session_id"].as_str().unwrap().to_owned();
    let identity_url = created["identity_url"].as_str().unwrap().to_owned();
    assert!(identity_url.starts_with(&format!("{api}/j/")), "{identity_url}");

    let front = noisy_png(800, 500);
    complete_journey(&http, &identity_url, &[("document-front", front.clone())]).await;

    let mut session = Value::Null;
    wait_for("the decision", 90, async || {
        let resp = http.get(format!("{api}/identity/{id}")).bearer_auth(key).send().await.unwrap();
        session = resp.json().await.unwrap();
        session["status"] == "finished"
    })
    .await;
    assert_eq!(session["decision"], "approved", "{session}");
    assert_eq!(session["evidence"]["peps"]["outcome"], "cleared");
    let listed: Value = http
        .get(format!("{api}/identity?reference=cust_stack"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["session_id"], id.as_str());

    // The signed redirect, checked against the published JWKS.
    let no_redirects =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let finish = no_redirects.get(format!("{identity_url}/finish")).send().await.unwrap();
    assert_eq!(finish.status(), 303);
    let location = url::Url::parse(finish.headers()["location"].to_str().unwrap()).unwrap();
    let token = location.query_pairs().find(|(k, _)| k == "token").unwrap().1.into_owned();
    let jwks: jsonwebtoken::jwk::JwkSet =
        http.get(format!("{api}/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("kid is published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[api]);
    validation.set_audience(&[tenant["tenant_id"].as_str().unwrap()]);
    let key_of = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let claims = jsonwebtoken::decode::<Value>(&token, &key_of, &validation).unwrap().claims;
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["decision"], "approved");

    // The appendix link serves the capture from S3.
    let link = claims["appendix"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["filename"].as_str().unwrap().starts_with("document-front"));
    let redirect = no_redirects.get(link.unwrap()["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(redirect.status(), 302);
    let image = http.get(redirect.headers()["location"].to_str().unwrap()).send().await.unwrap();
    assert_eq!(image.bytes().await.unwrap().as_ref(), front.as_slice());

    // The webhook: queued by deliver-webhook from the table's stream, then delivered from its queue.
    wait_for("the webhook", 90, async || !received.lock().unwrap().is_empty()).await;
    let (headers, body) = received.lock().unwrap()[0].clone();
    let signer = WebhookSigner::new(tenant["webhook_secret"].as_str().unwrap()).unwrap();
    signer.verify(&headers, &body, now()).unwrap();
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "identity.session.finished");
    assert_eq!(event["data"]["session_id"], id.as_str());
    assert_eq!(event["data"]["decision"], "approved");
}

struct Poller(Child);

impl Drop for Poller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_deletes_successes_and_leaves_reported_failures_for_the_dead_letter_queue() {
    let Some(stack) = stack() else { return };
    let config = shared::sdk::from_env().expect("the AWS settings in the environment");
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = format!("poller-{}", uuid::Uuid::new_v4().simple());
    // One-second visibility and two receives, so that a failure reaches the DLQ in seconds.
    let (url, dlq_url) = create_queue_with_dlq(&sqs, &name, 1, 2).await.unwrap();
    let queue = SqsQueue::new(sqs.clone(), url.clone());
    let dlq = SqsQueue::new(sqs.clone(), dlq_url);
    let good = json!({"kind": "run_step", "session_id": uuid::Uuid::new_v4(), "step": "peps"}).to_string();
    let poison = "not a message process-step knows";
    use shared::queue::Queue;
    queue.send(&good, Duration::ZERO).await.unwrap();
    queue.send(poison, Duration::ZERO).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mappings = dir.path().join("mappings.json");
    let journal = dir.path().join("journal.jsonl");
    let mapping = json!([{"queue_url": url, "queue_arn": queue_arn(&sqs, &url).await.unwrap(),
        "function": "process-step", "timeout": 60, "batch_size": 5,
        "report_batch_item_failures": true, "maximum_concurrency": 2}]);
    std::fs::write(&mappings, mapping.to_string()).unwrap();
    let poller = Poller(
        Command::new(stack.outputs["python"].as_str().unwrap())
            .arg(stack.outputs["tool"].as_str().unwrap())
            .args(["poll", "--concurrency", "1", "--invoke-url", stack.api()])
            .arg("--out")
            .arg(&stack.dir)
            .arg("--mappings")
            .arg(&mappings)
            .arg("--journal")
            .arg(&journal)
            .spawn()
            .expect("start the poller"),
    );

    let mut dead = Vec::new();
    wait_for("the poison message in the DLQ", 60, async || {
        dead.extend(dlq.receive(10, Duration::from_secs(1)).await.unwrap());
        !dead.is_empty()
    })
    .await;
    drop(poller);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].0.body, poison);
    assert_eq!(queue.approximate_counts().await.unwrap(), (0, 0, 0), "the good message was deleted");

    let mut seen: Vec<(String, u64, bool)> = Vec::new();
    for line in std::fs::read_to_string(&journal).unwrap().lines() {
        let batch: Value = serde_json::from_str(line).unwrap();
        assert_eq!(batch["invoked_ok"], true);
        for m in batch["messages"].as_array().unwrap() {
            seen.push((
                m["body"].as_str().unwrap().to_owned(),
                m["receive_count"].as_u64().unwrap(),
                m["failed"] == true,
            ));
        }
    }
    assert_eq!(seen.iter().filter(|s| s.0 == good).collect::<Vec<_>>(), [&(good.clone(), 1, false)]);
    let poisoned: Vec<_> = seen.iter().filter(|s| s.0 == poison).map(|s| (s.1, s.2)).collect();
    assert_eq!(poisoned, [(1, true), (2, true)], "redelivered after the visibility timeout, then dead-lettered");
}

#[test]
fn the_local_stack_follows_lambdas_rules() {
    let Some(stack) = stack() else { return };
    let out = Command::new(stack.outputs["python"].as_str().unwrap())
        .args(["-m", "unittest", "test_local_stack"])
        .current_dir(stack.outputs["tool"].as_str().unwrap())
        .output()
        .expect("run the local stack's unit tests");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
