//! The local server: every API route in one process, over the chosen store.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use bytes::Bytes;
use clap::Args;
use shared::api::journey::{self, JourneyApi, JourneyEndpoint};
use shared::api::{self, MAX_BODY_BYTES};
use shared::appendix::AppendixLinks;
use shared::checks::{self, config::Provider, config::Selection};
use shared::config::{Mode, Settings};
use shared::domain::Step;
use shared::objects::local::LocalObjects;
use shared::pipeline::Pipeline;
use shared::ports::{Clock, SystemClock};
use shared::queue::local::{LocalQueue, QueueSettings, run_consumer};
use shared::results::ResultTokens;
use shared::service::{DEMO_API_KEY, Identity, SessionAudit, ensure_demo_tenant};
use shared::signing::ResultSigner;
use shared::webhooks::{Deliverer, TenantSecrets};

use crate::stores::StoreArgs;
use crate::uploads::{self, Uploads};

/// The step queue's redrive: as the SAM template's (maxReceiveCount 5), with a short
/// visibility timeout so local retries are quick.
const STEP_QUEUE: QueueSettings = QueueSettings { visibility_timeout: Duration::from_secs(5), max_receives: 5 };

#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "TI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Public base URL for journey links (default: the listen address).
    #[arg(long, env = "TI_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Which provider runs each step: `sandbox` (made-up results chosen by magic values),
    /// `live`, or a default with overrides such as `sandbox,peps=live,bank=live`.
    #[arg(long, env = "TI_CHECKS", default_value = "sandbox")]
    pub checks: String,
    /// `text` for people, or `json`: one JSON object per line on stderr (with request and
    /// session ids), plus the CloudWatch EMF metric lines, as the Lambda functions write them.
    #[arg(long, env = "TI_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            checks: "sandbox".into(),
            log_format: LogFormat::Text,
            store: StoreArgs::default(),
        }
    }
}

pub async fn run(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    init_tracing(args.log_format);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let settings = Settings::new(Mode::Local, args.public_url.as_deref().unwrap_or(&base))?;
    let stores = args.store.open().await?;
    ensure_demo_tenant(&*stores.tenants, &settings, SystemClock.now()).await?;
    let data_dir = &args.store.data_dir;
    let appendix = AppendixLinks::new(uploads::local_secret(data_dir, "appendix.key")?, base.clone());
    let hooks_dlq = Arc::new(LocalQueue::new(
        "webhooks-dlq",
        QueueSettings { visibility_timeout: Duration::ZERO, max_receives: 1 },
    ));
    let hooks = Arc::new(LocalQueue::new("webhooks", STEP_QUEUE).with_dead_letter(hooks_dlq.clone()));
    let dlq =
        Arc::new(LocalQueue::new("steps-dlq", QueueSettings { visibility_timeout: Duration::ZERO, max_receives: 1 }));
    let queue = Arc::new(LocalQueue::new("steps", STEP_QUEUE).with_dead_letter(dlq));
    let audit = Arc::new(SessionAudit { sessions: stores.sessions.clone(), clock: Arc::new(SystemClock) });
    let app = Arc::new(
        Identity::new(stores.sessions, stores.tenants.clone(), Arc::new(SystemClock), settings)
            .with_appendix(appendix)
            .with_webhooks(hooks.clone())
            .with_rate_limiter(stores.rate_limiter)
            .with_erasure(queue.clone()),
    );
    let objects = Arc::new(LocalObjects::new(
        data_dir.clone(),
        base.clone(),
        uploads::local_secret(data_dir, "local-signing.key")?,
    ));
    let selection = Selection::parse(&args.checks)?;
    // AWS-backed providers (Textract, Rekognition, an S3 list) read the usual AWS settings.
    let aws = if selection == Selection::SANDBOX { None } else { Some(crate::aws::sdk_config().await?) };
    let env = |name: &str| std::env::var(name).ok();
    let checks: Arc<dyn shared::pipeline::checks::CheckProvider> =
        Arc::new(checks::config::providers(selection, &env, aws.as_ref()).await?);
    let pipeline =
        Arc::new(Pipeline::new(app.clone(), objects.clone(), queue.clone(), checks, STEP_QUEUE.max_receives));
    let deliverer = Arc::new(
        Deliverer::new(
            hooks.clone(),
            hooks_dlq,
            Arc::new(SystemClock),
            Arc::new(TenantSecrets(stores.tenants.clone())),
        )?
        .with_attempt_log(audit),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let webhook_consumer = tokio::spawn(run_consumer(
        hooks,
        10,
        move |batch| {
            let deliverer = deliverer.clone();
            async move { deliverer.handle_batch(&batch).await }
        },
        stopped.clone(),
    ));
    let consumer_pipeline = pipeline.clone();
    let consumer = tokio::spawn(run_consumer(
        queue.clone(),
        10,
        move |batch| {
            let pipeline = consumer_pipeline.clone();
            async move { pipeline.handle_batch(&batch).await }
        },
        stopped,
    ));

    println!("Total Identity local server");
    println!("  API:      {base}");
    println!("  API key:  {DEMO_API_KEY}  (demo tenant, test mode)");
    println!("  Storage:  {}; uploads in {}", stores.description, data_dir.join("objects").display());
    let sandboxed = Step::ALL.iter().any(|&s| selection.get(s) == Provider::Sandbox);
    let note = if sandboxed { " (sandbox: made-up results, magic values in the README)" } else { "" };
    println!("  Checks:   {selection}{note}; steps run on an in-process queue");
    println!("  Try:      curl -s {base}/identity -H 'Authorization: Bearer {DEMO_API_KEY}' \\");
    println!("              -H 'Content-Type: application/json' \\");
    println!("              -d '{{\"reference\":\"cust_00123\",\"redirect_url\":\"https://yourapp.com/verified\"}}'");
    println!("listening on {base}");

    let signer = ResultSigner::new(uploads::local_result_key(data_dir)?)?;
    let journey = Arc::new(JourneyApi { pipeline, tokens: Arc::new(ResultTokens::new(signer, base.clone())) });
    let uploads = Arc::new(Uploads { objects, queue });
    let local = axum::Router::new()
        .route("/_local/upload", post(uploads::upload))
        .route("/_local/objects/{*key}", get(uploads::download))
        // Multipart overhead on top of the largest accepted image.
        .layer(DefaultBodyLimit::max(shared::artifacts::MAX_BYTES as usize + 64 * 1024))
        .with_state(uploads);
    let router = axum::Router::new()
        .fallback(serve_api)
        .with_state(journey)
        .merge(local)
        .layer(axum::middleware::from_fn(request_context));
    axum::serve(listener, router).with_graceful_shutdown(shutdown()).await?;
    let _ = stop.send(true);
    let _ = consumer.await;
    let _ = webhook_consumer.await;
    Ok(())
}

/// Every API route, server-side (API key) and journey-side (journey secret).
async fn serve_api(State(journey): State<Arc<JourneyApi>>, req: http::Request<Body>) -> http::Response<Body> {
    let (parts, body) = req.into_parts();
    // Read one byte past the limit so an oversize body is refused, not truncated.
    let response = match axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(bytes) => {
            let req = http::Request::from_parts(parts, bytes);
            match JourneyEndpoint::route(req.method(), req.uri().path()) {
                Some(Ok(endpoint)) => journey::handle(&journey, endpoint, &req).await,
                Some(Err(e)) => api::error_response(&e),
                None => api::handle(journey.pipeline.identity(), req).await,
            }
        }
        Err(_) => api::error_response(&api::payload_too_large()),
    };
    response.map(|b: Bytes| Body::from(b))
}

/// Every request runs in a span with a fresh request id, echoed as `X-Request-Id`. A
/// client's own `X-Request-Id` is not trusted into the logs.
async fn request_context(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use tracing::Instrument;
    let request_id = hex::encode(rand::random::<[u8; 16]>());
    let (method, path, started) = (req.method().clone(), req.uri().path().to_owned(), std::time::Instant::now());
    let span = api::request_span(&request_id);
    let mut response = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| api::log_request(&method, &path, response.status(), started));
    api::set_request_id(&mut response, &request_id);
    response
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let capped = api::BODY_LOGGING_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, target| t.with_target(*target, LevelFilter::INFO));
    let filter = filter.and(capped);
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => tracing_subscriber::registry().with(logs.with_filter(filter)).try_init(),
        LogFormat::Json => {
            shared::metrics::install(shared::metrics::Stderr);
            let logs = logs.json().with_current_span(true).with_span_list(false);
            tracing_subscriber::registry().with(logs.with_filter(filter)).try_init()
        }
    };
}
