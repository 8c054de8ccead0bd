//! The Lambda side of the HTTP API: a cold start builds settings and the DynamoDB
//! store once, then every invocation is converted to `http` types and handed to `api`.

use std::sync::Arc;

use bytes::Bytes;
use lambda_http::{Body, service_fn};

use crate::api::{self, Endpoint};
use crate::config::{ConfigError, Settings};
use crate::ports::SystemClock;
use crate::service::Identity;
use crate::store::dynamodb::DynamoStore;

/// JSON logs without ANSI colours, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_current_span(false)
        .without_time()
        .try_init();
}

/// Builds the service from the environment: `TI_MODE`, `TI_PUBLIC_URL`, `TI_TABLE`.
pub async fn identity_from_env() -> Result<Identity, ConfigError> {
    let settings = Settings::from_env()?;
    let table = std::env::var("TI_TABLE").map_err(|_| ConfigError::Missing("TI_TABLE"))?;
    let store = Arc::new(DynamoStore::from_env(&table).await);
    Ok(Identity::new(store.clone(), store, Arc::new(SystemClock), settings))
}

/// Runs a function that serves the endpoints `accept` admits.
pub async fn serve(accept: fn(&Endpoint) -> bool) -> Result<(), lambda_http::Error> {
    init_tracing();
    let app = Arc::new(identity_from_env().await?);
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
    let (parts, body) = req.into_parts();
    let body = match body {
        Body::Empty => Bytes::new(),
        Body::Text(s) => Bytes::from(s),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    let resp = api::handle_only(app, http::Request::from_parts(parts, body), accept).await;
    let (parts, body) = resp.into_parts();
    let body = match String::from_utf8(body.to_vec()) {
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    lambda_http::Response::from_parts(parts, body)
}
