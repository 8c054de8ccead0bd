//! The pipeline on the AWS adapters against LocalStack (S3 with presigned-URL signature
//! checks, SQS with redrive) and DynamoDB Local: create → upload three images straight to
//! S3 → S3 notification → SQS → steps → submit → decision, signed redirect, webhook, and an
//! appendix link that serves the image; then redaction: the captures deleted from S3, the
//! personal data gone from the DynamoDB item, a second request a no-op, the link 410, one
//! redacted webhook, and the timeline with each delivery attempt. The SQS consumer here plays Lambda's event source
//! mapping (partial batch responses: failed messages stay for redelivery).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use shared::api::journey::{self, JourneyApi, JourneyEndpoint};
use shared::appendix::AppendixLinks;
use shared::config::{Mode, Settings};
use shared::domain::{SessionStatus, UrlPolicy};
use shared::objects::s3::S3Objects;
use shared::pipeline::Pipeline;
use shared::pipeline::sandbox::SandboxChecks;
use shared::ports::SystemClock;
use shared::queue::Delivery;
use shared::queue::sqs::{SqsQueue, create_queue_with_dlq, queue_arn};
use shared::results::ResultTokens;
use shared::service::{Identity, SessionAudit, TenantSpec, create_tenant};
use shared::signing::{ResultSigner, SigningKey, WebhookSigner};
use shared::store::dynamodb::DynamoStore;
use shared::testing::noisy_png;
use shared::webhooks::{Deliverer, TenantSecrets};

fn emulators_configured() -> bool {
    let set = std::env::var("AWS_ENDPOINT_URL").is_ok() && std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok();
    if !set && std::env::var("TI_SKIP_LOCALSTACK").as_deref() == Ok("1") {
        eprintln!("skipping the AWS pipeline test: TI_SKIP_LOCALSTACK=1");
        return false;
    }
    assert!(
        set,
        "AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_DYNAMODB are not set: run `scripts/test`, or set TI_SKIP_LOCALSTACK=1"
    );
    true
}

/// Receives SQS messages and hands them to `handler` until `done` or a deadline.
async fn drain(
    queue: &SqsQueue,
    mut done: impl AsyncFnMut() -> bool,
    handler: impl AsyncFn(&[Delivery]) -> Vec<String>,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out draining {}", queue.queue_url());
        let batch = queue.receive(10, Duration::from_secs(1)).await.unwrap();
        let deliveries: Vec<Delivery> = batch.iter().map(|(d, _)| d.clone()).collect();
        if deliveries.is_empty() {
            continue;
        }
        let failed = handler(&deliveries).await;
        for (d, receipt) in &batch {
            if !failed.contains(&d.message_id) {
                queue.delete(receipt).await.unwrap();
            }
        }
    }
}

async fn call(api: &JourneyApi, method: &str, path: &str, body: Option<Value>) -> http::Response<Bytes> {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
        .unwrap();
    let endpoint = JourneyEndpoint::route(req.method(), req.uri().path()).unwrap().unwrap();
    journey::handle(api, endpoint, &req).await
}

fn json_of(resp: &http::Response<Bytes>) -> Value {
    serde_json::from_slice(resp.body()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_runs_on_localstack_and_dynamodb_local() {
    if !emulators_configured() {
        return;
    }
    let run = uuid::Uuid::new_v4().simple().to_string();
    let config = shared::sdk::from_env().expect("the AWS settings in the environment");
    let sqs = aws_sdk_sqs::Client::new(&config);

    let store = Arc::new(DynamoStore::from_env(&format!("e2e-{run}")).unwrap());
    store.create_table().await.unwrap();
    let objects = Arc::new(S3Objects::from_env(&format!("e2e-{run}")).unwrap());
    objects.create_bucket().await.unwrap();
    let (steps_url, _) = create_queue_with_dlq(&sqs, &format!("steps-{run}"), 2, 3).await.unwrap();
    objects.notify_queue(&queue_arn(&sqs, &steps_url).await.unwrap()).await.unwrap();
    let (hooks_url, hooks_dlq_url) = create_queue_with_dlq(&sqs, &format!("hooks-{run}"), 2, 5).await.unwrap();
    let steps = Arc::new(SqsQueue::new(sqs.clone(), steps_url));
    let hooks = Arc::new(SqsQueue::new(sqs.clone(), hooks_url));

    // A webhook receiver on loopback.
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
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let spec = TenantSpec { webhook_url: Some(hook_url), ..TenantSpec::new("E2E", &["https://yourapp.com"]) };
    let now = shared::ports::Clock::now(&SystemClock);
    let (tenant, _) = create_tenant(&*store, UrlPolicy::AllowHttpLocalhost, spec, now).await.unwrap();
    let settings = Settings::new(Mode::Local, "http://127.0.0.1:8080").unwrap();
    let identity = Arc::new(
        Identity::new(store.clone(), store.clone(), Arc::new(SystemClock), settings)
            .with_appendix(AppendixLinks::new([9; 32], "http://127.0.0.1:8080"))
            .with_webhooks(hooks.clone())
            .with_erasure(steps.clone()),
    );
    let pipeline =
        Arc::new(Pipeline::new(identity.clone(), objects.clone(), steps.clone(), Arc::new(SandboxChecks), 3));
    let signer = ResultSigner::new(SigningKey::generate_es256().unwrap()).unwrap();
    let api =
        JourneyApi { pipeline: pipeline.clone(), tokens: Arc::new(ResultTokens::new(signer, "http://127.0.0.1:8080")) };

    let body = json!({"reference": "cust_e2e", "redirect_url": "https://yourapp.com/verified?x=1",
                      "steps": ["document", "liveness", "peps"], "last_name": "Smith"});
    let (session, _) = identity.create_session(&tenant, body.to_string().as_bytes(), None).await.unwrap();
    let secret = session.journey_secret.expose().to_owned();

    // Every capture straight to S3 through presigned POSTs.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let front = noisy_png(800, 500);
    let frames = [("challenge-1", noisy_png(480, 640)), ("challenge-2", noisy_png(480, 640))];
    let captures =
        [("document-front", front.clone()), ("document-back", noisy_png(800, 500)), ("selfie", noisy_png(480, 640))];
    for (artifact, bytes) in captures.into_iter().chain(frames) {
        let slot = json_of(
            &call(
                &api,
                "POST",
                &format!("/j/{secret}/uploads"),
                Some(json!({"artifact": artifact, "content_type": "image/png"})),
            )
            .await,
        );
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in slot["fields"].as_object().unwrap() {
            form = form.text(k.clone(), v.as_str().unwrap().to_owned());
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("capture.png").mime_str("image/png").unwrap(),
        );
        let resp = http.post(slot["url"].as_str().unwrap()).multipart(form).send().await.unwrap();
        assert!(resp.status().is_success(), "S3 refused the upload: {}", resp.text().await.unwrap());
    }

    let id = session.id;
    let captured = async || {
        let s = identity.load(id).await.unwrap().unwrap();
        s.required_captures().iter().all(|&a| s.accepted(a))
    };
    drain(&steps, captured, async |batch| pipeline.handle_batch(batch).await).await;
    assert_eq!(call(&api, "POST", &format!("/j/{secret}/submit"), None).await.status(), 200);
    let finished = async || identity.load(id).await.unwrap().unwrap().status == SessionStatus::Finished;
    drain(&steps, finished, async |batch| pipeline.handle_batch(batch).await).await;
    let done = identity.load(id).await.unwrap().unwrap();
    let assessment = done.assessment.as_ref().unwrap();
    assert_eq!(assessment.decision.as_str(), "approved", "{:?}", assessment.reasons);

    // The signed redirect.
    let finish = call(&api, "GET", &format!("/j/{secret}/finish"), None).await;
    assert_eq!(finish.status(), 303);
    let location = url::Url::parse(finish.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.query_pairs().find(|(k, _)| k == "x").unwrap().1, "1", "the existing query is kept");
    let token = location.query_pairs().find(|(k, _)| k == "token").unwrap().1.into_owned();
    let claims = api.tokens.signer().verify(&token, tenant.id.as_str(), "http://127.0.0.1:8080", now + 5).unwrap();
    assert_eq!(claims["sub"], id.to_string());
    assert_eq!(claims["evidence"]["peps"]["outcome"], "cleared");

    // The webhook, through its own queue and the deliverer.
    let deliverer = Deliverer::new(
        hooks.clone(),
        Arc::new(SqsQueue::new(sqs.clone(), hooks_dlq_url)),
        Arc::new(SystemClock),
        Arc::new(TenantSecrets(store.clone())),
    )
    .unwrap()
    .with_attempt_log(Arc::new(SessionAudit { sessions: store.clone(), clock: Arc::new(SystemClock) }));
    let delivered = async || !received.lock().unwrap().is_empty();
    drain(&hooks, delivered, async |batch| deliverer.handle_batch(batch).await).await;
    let (headers, body) = received.lock().unwrap()[0].clone();
    WebhookSigner::new(&tenant.webhook_secret).unwrap().verify(&headers, &body, now + 5).unwrap();
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["data"]["decision"], "approved");

    // An appendix link: our opaque URL → a presigned S3 GET that serves the image.
    let appendix = claims["appendix"].as_array().unwrap();
    let link = appendix.iter().find(|a| a["filename"].as_str().unwrap().starts_with("document-front")).unwrap();
    let path = url::Url::parse(link["url"].as_str().unwrap()).unwrap().path().to_owned();
    let redirect = call(&api, "GET", &path, None).await;
    assert_eq!(redirect.status(), 302);
    let presigned = redirect.headers()["location"].to_str().unwrap().to_owned();
    let image = http.get(&presigned).send().await.unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.bytes().await.unwrap().as_ref(), front.as_slice());

    // Redaction: pending at once, carried out by the step consumer.
    let pending = identity.request_redaction(&tenant, &id.to_string()).await.unwrap();
    assert_eq!(pending.redaction.unwrap().state.as_str(), "pending");
    let redacted = async || {
        let s = identity.load(id).await.unwrap().unwrap();
        s.redaction.is_some_and(|r| r.state.as_str() == "completed")
    };
    drain(&steps, redacted, async |batch| pipeline.handle_batch(batch).await).await;
    for artifact in shared::artifacts::Artifact::ALL {
        let gone = shared::objects::ObjectStore::get(&*objects, &artifact.key(id), u64::MAX).await.unwrap();
        assert!(gone.is_none(), "{} is still in S3", artifact.as_str());
    }
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let item = dynamodb
        .get_item()
        .table_name(store.table_name())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("SESSION#{id}")))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("SESSION".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let doc = item["doc"].as_s().unwrap();
    assert!(!doc.contains("Smith"), "the name is still in DynamoDB");
    assert!(doc.contains("\"decision\":\"approved\""), "the decision is kept");

    let version = identity.load(id).await.unwrap().unwrap().version;
    let again = identity.request_redaction(&tenant, &id.to_string()).await.unwrap();
    assert_eq!((again.redaction.unwrap().state.as_str(), again.version), ("completed", version), "a no-op");
    assert_eq!(call(&api, "GET", &path, None).await.status(), 410);

    let redacted_hook = async || received.lock().unwrap().len() == 2;
    drain(&hooks, redacted_hook, async |batch| deliverer.handle_batch(batch).await).await;
    let event: Value = serde_json::from_slice(&received.lock().unwrap()[1].1).unwrap();
    assert_eq!(
        (&event["type"], &event["data"]["session_id"]),
        (&json!("identity.session.redacted"), &json!(id.to_string()))
    );
    let timeline = identity.load(id).await.unwrap().unwrap().timeline(now + 5);
    let attempts: Vec<Value> = timeline
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .filter(|e| e["type"] == "webhook.attempted")
        .map(|e| json!([e["event"], e["status_code"]]))
        .collect();
    assert_eq!(attempts, [json!(["identity.session.finished", 200]), json!(["identity.session.redacted", 200])]);
}
