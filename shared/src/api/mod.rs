//! The HTTP API on plain `http` types, shared by the Lambda functions and the local server.
//! Routing, authentication, body limits and the mapping of errors to HTTP all live here.

pub mod journey;
mod pages;
mod views;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};
use crate::service::{Creation, Identity};

pub type Request = http::Request<Bytes>;
pub type Response = http::Response<Bytes>;

/// Larger bodies are refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const DEFAULT_LIST_LIMIT: usize = 20;
const MAX_LIST_LIMIT: usize = 100;

/// The server endpoints, each served by one Lambda function in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    CreateSession,
    ListSessions,
    GetSession(String),
    CancelSession(String),
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
    let response = match dispatch(app, endpoint, &req).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    // Route names, statuses and error codes only: never bodies, keys or tokens.
    let status = response.status().as_u16();
    if status >= 500 {
        tracing::error!(endpoint = name, status, "request failed");
    } else {
        tracing::info!(endpoint = name, status, "request");
    }
    response
}

async fn dispatch(app: &Identity, endpoint: Endpoint, req: &Request) -> Result<Response, Error> {
    let tenant = app.authenticate(header_str(req.headers(), header::AUTHORIZATION)).await?;
    match endpoint {
        Endpoint::CreateSession => {
            check_json_body(req)?;
            let idempotency_key = header_str(req.headers(), "idempotency-key");
            let (session, creation) = app.create_session(&tenant, req.body(), idempotency_key).await?;
            tracing::info!(session_id = %session.id, tenant_id = %tenant.id, replayed = creation == Creation::Replayed, "session created");
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
            Ok(json_response(StatusCode::OK, &views::session(app, &session)))
        }
        Endpoint::CancelSession(id) => {
            let session = app.cancel_session(&tenant, &id).await?;
            tracing::info!(session_id = %session.id, tenant_id = %tenant.id, "session cancelled");
            Ok(json_response(StatusCode::OK, &views::session(app, &session)))
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
}
