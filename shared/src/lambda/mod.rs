//! The Lambda side: a cold start builds settings, one SDK configuration and the clients once;
//! HTTP invocations are converted to `http` types and handed to `api`, SQS batches to the
//! pipeline or the deliverer, and the table's stream batches to the webhook outbox, all with
//! partial batch responses.

use std::sync::Arc;

use aws_types::SdkConfig;

use bytes::Bytes;
use lambda_http::{Body, service_fn};
use tracing::Instrument;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;

use crate::api::journey::{self, JourneyApi, JourneyEndpoint};
use crate::api::{self, Endpoint};
use crate::appendix::AppendixLinks;
use crate::checks::config::Selection;
use crate::config::{ConfigError, Settings};
use crate::objects::s3::{S3Objects, S3Signer};
use crate::pipeline::Pipeline;
use crate::pipeline::checks::CheckProvider;
use crate::ports::SystemClock;
use crate::queue::Delivery;
use crate::queue::sqs::SqsQueue;
use crate::results::ResultTokens;
use crate::service::{Identity, SessionAudit};
use crate::signing::{ResultSigner, SigningKey};
use crate::store::dynamodb::DynamoStore;
use crate::webhooks::{Deliverer, TenantSecrets};

pub mod outbox;

/// Runs a function's event loop (`serve`, `serve_steps`...) on the thread that calls it, as
/// every function's `main` does. A Lambda environment hands its function one event at a time,
/// with one vCPU during init and less after it (up to 1,769 MB): the worker threads of tokio's
/// multi-threaded runtime only competed with the cold start for it (README "Cold start").
/// Blocking work still has tokio's blocking pool.
pub fn on_one_thread(serve: impl Future<Output = Result<(), lambda_http::Error>>) -> Result<(), lambda_http::Error> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(serve)
}

/// JSON logs without ANSI colours, filtered by `RUST_LOG` (default `info`): a level, and
/// `target=level` pairs, comma-separated. (`Targets` rather than `EnvFilter`: the span and
/// field filters a function never uses would link a regex engine into every cold start.)
pub fn init_tracing() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let setting = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    let parsed = setting.as_deref().map(str::parse::<Targets>);
    let filter = match &parsed {
        Some(Ok(targets)) => targets.clone(),
        _ => Targets::new().with_default(LevelFilter::INFO),
    };
    let capped = api::BODY_LOGGING_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, target| t.with_target(*target, LevelFilter::INFO));
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_ansi(false)
        .with_current_span(true)
        .with_span_list(false)
        .without_time();
    let _ = tracing_subscriber::registry().with(logs.with_filter(filter.and(capped))).try_init();
    if let Some(Err(e)) = parsed {
        tracing::warn!(error = %e, "RUST_LOG is not a list of levels and target=level pairs; logging at info");
    }
    crate::metrics::install(crate::metrics::Stdout);
}

/// Builds the service from the environment: `TI_MODE`, `TI_PUBLIC_URL`, `TI_TABLE`, and the
/// appendix links' `TI_APPENDIX_SECRET` (base64 of 32 random bytes, from Secrets Manager or
/// SSM) with `TI_APPENDIX_TTL_SECS` (default 7 days).
pub fn identity_from_env(aws: &SdkConfig) -> Result<Identity, ConfigError> {
    Ok(identity_and_store(aws)?.0)
}

/// The service and the table it is built on (one client for both).
fn identity_and_store(aws: &SdkConfig) -> Result<(Identity, Arc<DynamoStore>), ConfigError> {
    let settings = Settings::from_env()?;
    let store = Arc::new(DynamoStore::from_config(aws, env("TI_TABLE")?));
    let appendix = appendix_from_env(&settings)?;
    let identity = Identity::new(store.clone(), store.clone(), Arc::new(SystemClock), settings)
        .with_appendix(appendix)
        .with_rate_limiter(store.clone());
    Ok((identity, store))
}

fn appendix_from_env(settings: &Settings) -> Result<AppendixLinks, ConfigError> {
    use base64::Engine;
    let invalid = |reason: &str| ConfigError::Invalid { name: "TI_APPENDIX_SECRET", reason: reason.into() };
    let secret = base64::engine::general_purpose::STANDARD
        .decode(env("TI_APPENDIX_SECRET")?.trim())
        .map_err(|_| invalid("not base64"))?;
    let secret: [u8; 32] = secret.try_into().map_err(|_| invalid("must decode to exactly 32 bytes"))?;
    let mut links = AppendixLinks::new(secret, settings.public_url.as_str().trim_end_matches('/'));
    if let Ok(ttl) = std::env::var("TI_APPENDIX_TTL_SECS") {
        let secs: u64 = ttl.parse().map_err(|_| ConfigError::Invalid { name: "TI_APPENDIX_TTL_SECS", reason: ttl })?;
        links.ttl = std::time::Duration::from_secs(secs);
    }
    Ok(links)
}

/// The step queue, `TI_STEP_QUEUE_URL`.
fn step_queue(aws: &SdkConfig) -> Result<Arc<SqsQueue>, ConfigError> {
    Ok(Arc::new(SqsQueue::from_config(aws, env("TI_STEP_QUEUE_URL")?)))
}

/// Like [`serve`], for the redaction function: it also queues erasures on the step queue.
pub async fn serve_redaction(accept: fn(&Endpoint) -> bool) -> Result<(), lambda_http::Error> {
    init_tracing();
    let aws = crate::sdk::from_env()?;
    let app = Arc::new(identity_from_env(&aws)?.with_erasure(step_queue(&aws)?));
    run_http(app, accept).await
}

/// Runs a function that serves the endpoints `accept` admits. Functions that end sessions
/// queue no webhooks: deliver-webhook queues them from the table's stream (see [`outbox`]).
pub async fn serve(accept: fn(&Endpoint) -> bool) -> Result<(), lambda_http::Error> {
    init_tracing();
    let aws = crate::sdk::from_env()?;
    run_http(Arc::new(identity_from_env(&aws)?), accept).await
}

async fn run_http(app: Arc<Identity>, accept: fn(&Endpoint) -> bool) -> Result<(), lambda_http::Error> {
    lambda_http::run(service_fn(move |req: lambda_http::Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, std::convert::Infallible>(handle(&app, req, accept).await) }
    }))
    .await
}

/// One invocation: convert, serve, convert back.
pub async fn handle(
    app: &Identity,
    req: lambda_http::Request,
    accept: fn(&Endpoint) -> bool,
) -> lambda_http::Response<Body> {
    let request_id = invocation_id(&req);
    let req = from_lambda(req);
    let (method, path, started) = (req.method().clone(), req.uri().path().to_owned(), std::time::Instant::now());
    let span = api::request_span(&request_id);
    let mut resp = api::handle_only(app, req, accept).instrument(span.clone()).await;
    span.in_scope(|| api::log_request(&method, &path, resp.status(), started));
    api::set_request_id(&mut resp, &request_id);
    to_lambda(resp)
}

/// Lambda's request id for this invocation (what its own log lines and X-Ray name).
fn invocation_id(req: &lambda_http::Request) -> String {
    use lambda_http::RequestExt;
    req.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_default()
}

fn from_lambda(req: lambda_http::Request) -> api::Request {
    let (parts, body) = req.into_parts();
    let body = match body {
        Body::Empty => Bytes::new(),
        Body::Text(s) => Bytes::from(s),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    http::Request::from_parts(parts, body)
}

fn to_lambda(resp: api::Response) -> lambda_http::Response<Body> {
    let (parts, body) = resp.into_parts();
    let body = match String::from_utf8(body.to_vec()) {
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    lambda_http::Response::from_parts(parts, body)
}

fn env(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name).map_err(|_| ConfigError::Missing(name))
}

/// The step consumer's pipeline, reading uploads from `TI_BUCKET` and running `checks`.
/// `TI_STEP_MAX_RECEIVES` is the queue's maxReceiveCount (default 5). It sends no messages
/// (the finished webhook goes through the table's stream), so it builds no SQS client.
pub fn pipeline_from_env(aws: &SdkConfig, checks: Arc<dyn CheckProvider>) -> Result<Pipeline, lambda_http::Error> {
    let identity = Arc::new(identity_from_env(aws)?);
    let objects = Arc::new(S3Objects::from_config(aws, &env("TI_BUCKET")?)?);
    let max_receives = match std::env::var("TI_STEP_MAX_RECEIVES") {
        Ok(v) => v.parse().map_err(|_| ConfigError::Invalid { name: "TI_STEP_MAX_RECEIVES", reason: v })?,
        Err(_) => 5,
    };
    Ok(Pipeline::consuming_only(identity, objects, checks, max_receives))
}

/// The journey's pipeline: it queues steps on `TI_STEP_QUEUE_URL` and signs upload and
/// evidence URLs for `TI_BUCKET`, so it builds no S3 client, and the check providers (image
/// decoding, barcode reading, the HTTP gateways) stay out of its binary.
pub fn journey_pipeline_from_env(aws: &SdkConfig) -> Result<Pipeline, lambda_http::Error> {
    let identity = Arc::new(identity_from_env(aws)?);
    let signer = Arc::new(S3Signer::from_config(aws, &env("TI_BUCKET")?)?);
    Ok(Pipeline::queuing_only(identity, signer, step_queue(aws)?))
}

/// The check providers, chosen explicitly by `TI_CHECKS` (see [`crate::checks::config`]): an
/// unknown choice, or a live provider without its settings, stops the cold start rather than
/// falling back to the sandbox.
async fn checks_from_env(aws: &SdkConfig) -> Result<Arc<dyn CheckProvider>, lambda_http::Error> {
    let selection = Selection::parse(&env("TI_CHECKS")?)?;
    let providers = crate::checks::config::providers(selection, &|name| std::env::var(name).ok(), Some(aws)).await?;
    tracing::info!(checks = %selection, "check providers chosen");
    Ok(Arc::new(providers))
}

/// The result signer: `TI_RESULT_KEY_PEM` (PKCS#8 ES256, injected from Secrets Manager or
/// SSM at deploy time) and `TI_RESULT_KEY_ID`.
pub fn result_tokens_from_env(settings: &Settings) -> Result<ResultTokens, lambda_http::Error> {
    let key = SigningKey::es256_from_pem(env("TI_RESULT_KEY_ID")?, &env("TI_RESULT_KEY_PEM")?)?;
    Ok(ResultTokens::new(ResultSigner::new(key)?, settings.public_url.as_str().trim_end_matches('/')))
}

/// Runs the journey function: the public endpoints under `/j/{secret}/...` and the JWKS.
pub async fn serve_journey() -> Result<(), lambda_http::Error> {
    init_tracing();
    let aws = crate::sdk::from_env()?;
    let pipeline = Arc::new(journey_pipeline_from_env(&aws)?);
    let tokens = Arc::new(result_tokens_from_env(pipeline.identity().settings())?);
    let api = Arc::new(JourneyApi { pipeline, tokens });
    lambda_http::run(service_fn(move |req: lambda_http::Request| {
        let api = Arc::clone(&api);
        async move { Ok::<_, std::convert::Infallible>(handle_journey(&api, req).await) }
    }))
    .await
}

pub async fn handle_journey(api: &JourneyApi, req: lambda_http::Request) -> lambda_http::Response<Body> {
    let request_id = invocation_id(&req);
    let req = from_lambda(req);
    let (method, path, started) = (req.method().clone(), req.uri().path().to_owned(), std::time::Instant::now());
    let span = api::request_span(&request_id);
    let mut resp = journey_response(api, req).instrument(span.clone()).await;
    span.in_scope(|| api::log_request(&method, &path, resp.status(), started));
    api::set_request_id(&mut resp, &request_id);
    to_lambda(resp)
}

async fn journey_response(api: &JourneyApi, req: api::Request) -> api::Response {
    match JourneyEndpoint::route(req.method(), req.uri().path()) {
        Some(Ok(endpoint)) => journey::handle(api, endpoint, &req).await,
        Some(Err(e)) => api::error_response(&e),
        None => api::error_response(
            &crate::error::Error::new(crate::error::ErrorKind::NotFound, "route_not_found", "no such endpoint")
                .with_field("path"),
        ),
    }
}

/// Runs the step function: SQS batches in, the ids to retry out.
pub async fn serve_steps() -> Result<(), lambda_http::Error> {
    init_tracing();
    let aws = crate::sdk::from_env()?;
    let checks = checks_from_env(&aws).await?;
    let pipeline = Arc::new(pipeline_from_env(&aws, checks)?);
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<SqsEvent>| {
        let pipeline = Arc::clone(&pipeline);
        let span = api::request_span(&event.context.request_id);
        async move { Ok::<_, std::convert::Infallible>(handle_steps(&pipeline, event.payload).instrument(span).await) }
    }))
    .await
}

/// One batch of step messages.
pub async fn handle_steps(pipeline: &Pipeline, event: SqsEvent) -> SqsBatchResponse {
    handle_sqs(event, async |deliveries| pipeline.handle_batch(deliveries).await).await
}

/// Runs the webhook function on its two event sources: its own queue, `TI_WEBHOOK_QUEUE_URL`
/// (deliveries, and retries with delays; `TI_WEBHOOK_DLQ_URL` is where the ones that never
/// succeed end), and the table's stream (the outbox: it queues the webhooks sessions owe).
pub async fn serve_webhooks() -> Result<(), lambda_http::Error> {
    init_tracing();
    let aws = crate::sdk::from_env()?;
    let queue = Arc::new(SqsQueue::from_config(&aws, env("TI_WEBHOOK_QUEUE_URL")?));
    let dead_letter = Arc::new(queue.sibling(env("TI_WEBHOOK_DLQ_URL")?));
    let (identity, tenants) = identity_and_store(&aws)?;
    let outbox = Arc::new(identity.with_webhooks(queue.clone()));
    let audit = Arc::new(SessionAudit { sessions: tenants.clone(), clock: Arc::new(SystemClock) });
    let deliverer = Arc::new(
        Deliverer::new(queue, dead_letter, Arc::new(SystemClock), Arc::new(TenantSecrets(tenants)))?
            .with_attempt_log(audit),
    );
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<outbox::WebhookTrigger>| {
        let (deliverer, outbox) = (Arc::clone(&deliverer), Arc::clone(&outbox));
        async move {
            let span = api::request_span(&event.context.request_id);
            let response = outbox::handle_webhook_trigger(&deliverer, &outbox, event.payload).instrument(span).await;
            Ok::<_, std::convert::Infallible>(response)
        }
    }))
    .await
}

/// Lambda's SQS contract: the handler gets the batch and names the failed message ids. A
/// record without an id cannot be reported on its own, so it fails the whole batch
/// (everything is redelivered; every consumer is idempotent).
pub async fn handle_sqs(event: SqsEvent, handler: impl AsyncFnOnce(&[Delivery]) -> Vec<String>) -> SqsBatchResponse {
    let mut deliveries = Vec::with_capacity(event.records.len());
    let mut unidentified = false;
    for record in event.records {
        let Some(message_id) = record.message_id else {
            unidentified = true;
            continue;
        };
        let receive_count = record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
        deliveries.push(Delivery { message_id, body: record.body.unwrap_or_default(), receive_count });
    }
    let failed = if unidentified {
        tracing::error!("an SQS record had no message id; failing the whole batch");
        deliveries.iter().map(|d| d.message_id.clone()).collect()
    } else {
        handler(&deliveries).await
    };
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_function_runs_on_the_calling_thread_with_timers_and_sockets() {
        let caller = std::thread::current().id();
        let result = super::on_one_thread(async move {
            let task_thread = tokio::spawn(async { std::thread::current().id() }).await?;
            assert_eq!(task_thread, caller, "spawned tasks run on the calling thread");
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            tokio::net::TcpStream::connect(listener.local_addr()?).await?;
            Err("the event loop ended".into())
        });
        assert_eq!(result.unwrap_err().to_string(), "the event loop ended", "its result is the function's");
    }
}
