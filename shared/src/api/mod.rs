//! The HTTP API on plain `http` types, shared by the Lambda functions and the local server.
//! Routing, authentication, body limits and the mapping of errors to HTTP all live here.

pub mod journey;
pub mod openapi;
mod pages;
mod views;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};
use crate::service::{Creation, Identity};

pub type Request = http::Request<Bytes>;
pub type Response = http::Response<Bytes>;

/// The response header that names the request; every log line of the request carries it.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The span a request's log lines carry: `request_id`, and `session_id` once known.
pub fn request_span(request_id: &str) -> tracing::Span {
    tracing::info_span!("request", request_id = %request_id, session_id = tracing::field::Empty)
}

/// Names the session the current request is about on its span (an id, never PII).
pub fn record_session(id: &crate::domain::SessionId) {
    tracing::Span::current().record("session_id", tracing::field::display(id));
}

/// Log targets capped at `info` whatever `RUST_LOG` says: at debug and trace the AWS SDK
/// and the Lambda runtime log whole request and response bodies (sessions with names,
/// journey secrets), and a log level must never decide whether PII is written.
pub const BODY_LOGGING_TARGETS: &[&str] = &[
    "aws_config",
    "aws_runtime",
    "aws_sdk_dynamodb",
    "aws_sdk_rekognition",
    "aws_sdk_s3",
    "aws_sdk_sqs",
    "aws_sdk_textract",
    "aws_sigv4",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_types",
    "lambda_http",
    "lambda_runtime",
    "lambda_runtime_api_client",
];

/// The route template (`/j/{secret}/session`) a path matches, so logs never carry the
/// secrets and ids inside paths.
pub fn route_template(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    ROUTES
        .iter()
        .map(|(_, template)| *template)
        .find(|template| {
            let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(p, s)| p.starts_with('{') && !s.is_empty() || p == s)
        })
        .unwrap_or("unknown")
}

/// One line per request: method, route template, status and time taken; never the path,
/// query, headers or body.
pub fn log_request(method: &Method, path: &str, status: StatusCode, started: std::time::Instant) {
    let (route, status, ms) = (route_template(path), status.as_u16(), started.elapsed().as_millis() as u64);
    if status >= 500 {
        tracing::error!(method = %method, route, status, duration_ms = ms, "request failed");
    } else {
        tracing::info!(method = %method, route, status, duration_ms = ms, "request");
    }
}

/// Echoes the request id to the client, for support requests.
pub fn set_request_id<B>(resp: &mut http::Response<B>, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
}

/// Larger bodies are refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const DEFAULT_LIST_LIMIT: usize = 20;
const MAX_LIST_LIMIT: usize = 100;

/// Every route the routers serve, as (method, OpenAPI path template). The OpenAPI document
/// must list exactly these, and each must route (tests in `openapi`): a new endpoint is an
/// entry here plus its operation in `openapi.rs`. Local-only helpers (`/_local/…`, the
/// embedded object store standing in for S3) are not part of the API.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/identity"),
    ("GET", "/identity"),
    ("GET", "/identity/{session_id}"),
    ("DELETE", "/identity/{session_id}"),
    ("GET", "/identity/{session_id}/events"),
    ("POST", "/identity/{session_id}/redact"),
    ("GET", "/j/{secret}"),
    ("POST", "/j/{secret}/handoff"),
    ("GET", "/h/{token}"),
    ("POST", "/h/{token}"),
    ("GET", "/assets/{file}"),
    ("GET", "/j/{secret}/session"),
    ("POST", "/j/{secret}/uploads"),
    ("PUT", "/j/{secret}/details"),
    ("POST", "/j/{secret}/consent"),
    ("POST", "/j/{secret}/submit"),
    ("GET", "/j/{secret}/finish"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/appendix/{token}"),
    ("GET", "/openapi.json"),
];

/// The server endpoints, each served by one Lambda function in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    CreateSession,
    ListSessions,
    GetSession(String),
    CancelSession(String),
    /// `GET /identity/{id}/events`: the session's audit timeline.
    SessionEvents(String),
    /// `POST /identity/{id}/redact`: erase the session's personal data (asynchronous).
    RedactSession(String),
}

impl Endpoint {
    /// Matches a method and path. Unknown paths are 404; known paths with another method are 405.
    pub fn route(method: &Method, path: &str) -> Result<Self, Error> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (endpoint, allow) = match segments.as_slice() {
            ["identity"] => match *method {
                Method::POST => (Some(Endpoint::CreateSession), ""),
                Method::GET => (Some(Endpoint::ListSessions), ""),
                _ => (None, "GET, POST"),
            },
            ["identity", id] if !id.is_empty() => match *method {
                Method::GET => (Some(Endpoint::GetSession((*id).to_owned())), ""),
                Method::DELETE => (Some(Endpoint::CancelSession((*id).to_owned())), ""),
                _ => (None, "GET, DELETE"),
            },
            ["identity", id, "events"] if !id.is_empty() => match *method {
                Method::GET => (Some(Endpoint::SessionEvents((*id).to_owned())), ""),
                _ => (None, "GET"),
            },
            ["identity", id, "redact"] if !id.is_empty() => match *method {
                Method::POST => (Some(Endpoint::RedactSession((*id).to_owned())), ""),
                _ => (None, "POST"),
            },
            _ => return Err(Error::new(ErrorKind::NotFound, "route_not_found", "no such endpoint").with_field("path")),
        };
        endpoint.ok_or_else(|| {
            Error::new(ErrorKind::MethodNotAllowed, "method_not_allowed", format!("allowed methods: {allow}"))
                .with_field("method")
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Endpoint::CreateSession => "create-session",
            Endpoint::ListSessions => "list-sessions",
            Endpoint::GetSession(_) => "get-session",
            Endpoint::CancelSession(_) => "cancel-session",
            Endpoint::SessionEvents(_) => "session-events",
            Endpoint::RedactSession(_) => "redact-session",
        }
    }
}

/// Serves every endpoint (the local server).
pub async fn handle(app: &Identity, req: Request) -> Response {
    handle_only(app, req, |_| true).await
}

/// Serves only the endpoints `accept` admits; others answer 404 (a Lambda serving one route).
pub async fn handle_only(app: &Identity, req: Request, accept: impl Fn(&Endpoint) -> bool) -> Response {
    let endpoint = match Endpoint::route(req.method(), req.uri().path()) {
        Ok(e) if accept(&e) => e,
        Ok(_) => {
            return error_response(
                &Error::new(ErrorKind::NotFound, "route_not_found", "no such endpoint").with_field("path"),
            );
        }
        Err(e) => return error_response(&e),
    };
    let name = endpoint.name();
    match dispatch(app, endpoint, &req).await {
        Ok(r) => r,
        Err(e) => {
            // Error codes and fields only: never bodies, keys or tokens.
            tracing::info!(endpoint = name, code = e.code, field = e.field.as_deref(), "request refused");
            error_response(&e)
        }
    }
}

async fn dispatch(app: &Identity, endpoint: Endpoint, req: &Request) -> Result<Response, Error> {
    let tenant = app.authenticate(header_str(req.headers(), header::AUTHORIZATION)).await?;
    match endpoint {
        Endpoint::CreateSession => {
            // Before any parsing or storage: a limited request changes nothing.
            app.admit_create(&tenant).await?;
            check_json_body(req)?;
            let idempotency_key = header_str(req.headers(), "idempotency-key");
            let (session, creation) = app.create_session(&tenant, req.body(), idempotency_key).await?;
            record_session(&session.id);
            tracing::info!(session_id = %session.id, tenant_id = %tenant.id, replayed = creation == Creation::Replayed, "session created");
            if creation == Creation::New {
                crate::metrics::session_created(&tenant.id);
            }
            let body = views::created(app, &session);
            let mut resp = json_response(StatusCode::CREATED, &body);
            let headers = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&format!("/identity/{}", session.id)) {
                headers.insert(header::LOCATION, v);
            }
            if creation == Creation::Replayed {
                headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            Ok(resp)
        }
        Endpoint::GetSession(id) => {
            let session = app.get_session(&tenant, &id).await?;
            record_session(&session.id);
            Ok(json_response(StatusCode::OK, &views::session(app, &session)))
        }
        Endpoint::CancelSession(id) => {
            let session = app.cancel_session(&tenant, &id).await?;
            record_session(&session.id);
            tracing::info!(session_id = %session.id, tenant_id = %tenant.id, "session cancelled");
            Ok(json_response(StatusCode::OK, &views::session(app, &session)))
        }
        Endpoint::SessionEvents(id) => {
            let session = app.get_session(&tenant, &id).await?;
            Ok(json_response(StatusCode::OK, &views::events(app, &session)))
        }
        Endpoint::RedactSession(id) => {
            let session = app.request_redaction(&tenant, &id).await?;
            tracing::info!(session_id = %session.id, tenant_id = %tenant.id, "redaction requested");
            Ok(json_response(StatusCode::ACCEPTED, &views::redaction(&session)))
        }
        Endpoint::ListSessions => {
            let (reference, limit) = list_query(req.uri().query())?;
            let sessions = app.list_sessions(&tenant, &reference, limit).await?;
            let data: Vec<Value> = sessions.iter().map(|s| views::session(app, s)).collect();
            Ok(json_response(StatusCode::OK, &json!({ "status": "success", "data": data })))
        }
    }
}

fn header_str<K: header::AsHeaderName>(headers: &HeaderMap, name: K) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn check_json_body(req: &Request) -> Result<(), Error> {
    let content_type = header_str(req.headers(), header::CONTENT_TYPE).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Error::new(
            ErrorKind::UnsupportedMediaType,
            "unsupported_media_type",
            "send the body as application/json",
        )
        .with_field("Content-Type"));
    }
    if req.body().len() > MAX_BODY_BYTES {
        return Err(payload_too_large());
    }
    Ok(())
}

pub fn payload_too_large() -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        "payload_too_large",
        format!("the body must be at most {MAX_BODY_BYTES} bytes"),
    )
    .with_field("body")
}

fn list_query(query: Option<&str>) -> Result<(String, usize), Error> {
    let mut reference = None;
    let mut limit = DEFAULT_LIST_LIMIT;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "reference" => reference = Some(value.into_owned()),
            "limit" => {
                limit = value.parse().ok().filter(|n| (1..=MAX_LIST_LIMIT).contains(n)).ok_or_else(|| {
                    Error::invalid(
                        "invalid_limit",
                        "limit",
                        format!("limit must be a whole number from 1 to {MAX_LIST_LIMIT}"),
                    )
                })?
            }
            other => {
                return Err(Error::invalid(
                    "unknown_parameter",
                    other.to_owned(),
                    format!("unknown query parameter `{other}`"),
                ));
            }
        }
    }
    let reference = reference
        .ok_or_else(|| Error::invalid("missing_field", "reference", "the `reference` query parameter is required"))?;
    Ok((reference, limit))
}

fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The one place errors become HTTP responses.
pub fn error_response(e: &Error) -> Response {
    let body = json!({
        "status": "error",
        "error": { "code": e.code, "field": e.field, "message": e.message },
    });
    let mut resp = json_response(status_of(e.kind), &body);
    let headers = resp.headers_mut();
    match e.kind {
        ErrorKind::Unauthorized => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        ErrorKind::MethodNotAllowed => {
            let allow = e.message.trim_start_matches("allowed methods: ").to_owned();
            if let Ok(v) = HeaderValue::from_str(&allow) {
                headers.insert(header::ALLOW, v);
            }
        }
        ErrorKind::Unavailable => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        ErrorKind::RateLimited { retry_after_secs } => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
        }
        _ => {}
    }
    resp
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = http::Response::new(Bytes::from(body.to_string()));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_methods() {
        assert_eq!(Endpoint::route(&Method::POST, "/identity").unwrap(), Endpoint::CreateSession);
        assert_eq!(Endpoint::route(&Method::GET, "/identity/abc").unwrap(), Endpoint::GetSession("abc".into()));
        assert_eq!(Endpoint::route(&Method::DELETE, "/identity/abc").unwrap(), Endpoint::CancelSession("abc".into()));
        assert_eq!(Endpoint::route(&Method::PUT, "/identity").unwrap_err().kind, ErrorKind::MethodNotAllowed);
        assert_eq!(Endpoint::route(&Method::POST, "/identity/abc").unwrap_err().kind, ErrorKind::MethodNotAllowed);
        assert_eq!(Endpoint::route(&Method::GET, "/nope").unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(Endpoint::route(&Method::GET, "/identity/a/b").unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(
            Endpoint::route(&Method::GET, "/identity/abc/events").unwrap(),
            Endpoint::SessionEvents("abc".into())
        );
        assert_eq!(
            Endpoint::route(&Method::POST, "/identity/abc/redact").unwrap(),
            Endpoint::RedactSession("abc".into())
        );
        let wrong = Endpoint::route(&Method::GET, "/identity/abc/redact").unwrap_err();
        assert_eq!((wrong.kind, wrong.message.as_str()), (ErrorKind::MethodNotAllowed, "allowed methods: POST"));
        let wrong = Endpoint::route(&Method::DELETE, "/identity/abc/events").unwrap_err();
        assert_eq!((wrong.kind, wrong.message.as_str()), (ErrorKind::MethodNotAllowed, "allowed methods: GET"));
        assert_eq!(Endpoint::route(&Method::GET, "/identity//events").unwrap_err().kind, ErrorKind::NotFound);
    }

    #[test]
    fn logs_name_route_templates_never_paths() {
        assert_eq!(route_template("/j/Xo3secret/session"), "/j/{secret}/session");
        assert_eq!(route_template("/identity/0b6f"), "/identity/{session_id}");
        assert_eq!(route_template("/identity"), "/identity");
        assert_eq!(route_template("/appendix/t0ken"), "/appendix/{token}");
        assert_eq!(route_template("/identity/"), "unknown");
        assert_eq!(route_template("/j/secret/other"), "unknown");
    }

    #[test]
    fn errors_carry_code_field_and_allow() {
        let resp = error_response(&Endpoint::route(&Method::PATCH, "/identity/x").unwrap_err());
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()[header::ALLOW], "GET, DELETE");
        let body: Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(body["status"], "error");
        assert_eq!(body["error"]["code"], "method_not_allowed");
        assert_eq!(body["error"]["field"], "method");
    }

    /// A tenant limited to 3 creates at once and 1 a second, on a clock the test moves.
    #[cfg(feature = "embedded")]
    async fn limited_app() -> (Identity, std::sync::Arc<crate::ports::ManualClock>, String) {
        use crate::ports::Clock;
        use std::sync::Arc;
        let clock = Arc::new(crate::ports::ManualClock::at(1_764_000_000));
        let settings = crate::config::Settings::new(crate::config::Mode::Local, "http://127.0.0.1:8080").unwrap();
        let store = Arc::new(crate::store::sqlite::SqliteStore::in_memory().unwrap());
        let spec = crate::service::TenantSpec {
            rate_limit: crate::domain::tenant::RateLimit::new(3, 1.0).unwrap(),
            demo_key: false,
            ..crate::service::demo_tenant_spec()
        };
        let (_, key) = crate::service::create_tenant(&*store, settings.url_policy(), spec, clock.now()).await.unwrap();
        let app = Identity::new(store.clone(), store.clone(), clock.clone(), settings).with_rate_limiter(store);
        (app, clock, key.expose().to_owned())
    }

    #[cfg(feature = "embedded")]
    fn create_request(key: &str, body: &str) -> Request {
        http::Request::post("/identity")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    }

    #[cfg(feature = "embedded")]
    #[tokio::test]
    async fn a_burst_over_the_rate_limit_gets_429_and_stores_nothing() {
        let (app, clock, key) = limited_app().await;
        let body = r#"{"reference":"cust_burst","redirect_url":"https://yourapp.com/done"}"#;
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let resp = handle(&app, create_request(&key, body)).await;
            if resp.status() == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
                let error: Value = serde_json::from_slice(resp.body()).unwrap();
                assert_eq!(error["status"], "error");
                assert_eq!(
                    (error["error"]["code"].as_str(), error["error"]["field"].as_str()),
                    (Some("rate_limited"), Some("tenant"))
                );
            }
            statuses.push(resp.status().as_u16());
        }
        assert_eq!(statuses, [201, 201, 201, 429, 429, 429]);
        // The limit comes before validation: a bad body is refused for the rate, not parsed.
        assert_eq!(handle(&app, create_request(&key, "{")).await.status(), StatusCode::TOO_MANY_REQUESTS);
        let tenant = app.authenticate(Some(&format!("Bearer {key}"))).await.unwrap();
        assert_eq!(app.list_sessions(&tenant, "cust_burst", 100).await.unwrap().len(), 3, "one session per 201");

        clock.advance(1);
        assert_eq!(handle(&app, create_request(&key, body)).await.status(), StatusCode::CREATED);
        assert_eq!(handle(&app, create_request(&key, body)).await.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(app.list_sessions(&tenant, "cust_burst", 100).await.unwrap().len(), 4);
        // Reads are not limited.
        let list = http::Request::get("/identity?reference=cust_burst")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Bytes::new())
            .unwrap();
        assert_eq!(handle(&app, list).await.status(), StatusCode::OK);
    }
}
