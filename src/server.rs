//! The local server: every API route in one process, over the chosen store.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use bytes::Bytes;
use clap::Args;
use shared::api::{self, MAX_BODY_BYTES};
use shared::config::{Mode, Settings};
use shared::ports::{Clock, SystemClock};
use shared::service::{DEMO_API_KEY, Identity, ensure_demo_tenant};

use crate::stores::StoreArgs;

#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "TI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Public base URL for journey links (default: the listen address).
    #[arg(long, env = "TI_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 8080)), public_url: None, store: StoreArgs::default() }
    }
}

pub async fn run(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let settings = Settings::new(Mode::Local, args.public_url.as_deref().unwrap_or(&base))?;
    let stores = args.store.open().await?;
    ensure_demo_tenant(&*stores.tenants, &settings, SystemClock.now()).await?;
    let app = Arc::new(Identity::new(stores.sessions, stores.tenants, Arc::new(SystemClock), settings));

    println!("Total Identity local server");
    println!("  API:      {base}");
    println!("  API key:  {DEMO_API_KEY}  (demo tenant, test mode)");
    println!("  Storage:  {}", stores.description);
    println!("  Try:      curl -s {base}/identity -H 'Authorization: Bearer {DEMO_API_KEY}' \\");
    println!("              -H 'Content-Type: application/json' \\");
    println!("              -d '{{\"reference\":\"cust_00123\",\"redirect_url\":\"https://yourapp.com/verified\"}}'");
    println!("listening on {base}");

    let router = axum::Router::new().fallback(serve_api).with_state(app);
    axum::serve(listener, router).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn serve_api(State(app): State<Arc<Identity>>, req: http::Request<Body>) -> http::Response<Body> {
    let (parts, body) = req.into_parts();
    // Read one byte past the limit so an oversize body is refused, not truncated.
    let response = match axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(bytes) => api::handle(&app, http::Request::from_parts(parts, bytes)).await,
        Err(_) => api::error_response(&api::payload_too_large()),
    };
    response.map(|b: Bytes| Body::from(b))
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
