//! The journey side of the API: what the end user's browser calls, authorised by the
//! secret in its journey URL (`/j/{secret}/...`), never by an API key.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use super::{Request, Response, check_json_body, error_response, json_response};
use crate::artifacts::{self, Artifact};
use crate::domain::request::parse_body;
use crate::domain::{CaptureResult, Session, SessionStatus};
use crate::error::{Error, ErrorKind};
use crate::objects::UploadPolicy;
use crate::pipeline::Pipeline;
use crate::results::{ResultTokens, redirect_with_token};

/// What the public (non-API-key) endpoints need.
pub struct JourneyApi {
    pub pipeline: Arc<Pipeline>,
    pub tokens: Arc<ResultTokens>,
}

/// Presigned uploads live this long (S3 allows up to 15 minutes; a capture takes one or two).
const UPLOAD_TTL: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JourneyEndpoint {
    Session(String),
    RequestUpload(String),
    Submit(String),
    /// The user's details for the dvs and bank steps.
    Details(String),
    /// The user agrees to the checks (recorded with its time).
    Consent(String),
    /// The journey's end: a redirect to `redirect_url` with the signed result.
    Finish(String),
    /// Public keys for verifying result tokens.
    Jwks,
    /// An appendix link: a redirect to a short-lived presigned GET of the evidence.
    Appendix(String),
    /// The OpenAPI document of every endpoint.
    OpenApi,
    /// The journey's page (HTML).
    Page(String),
    /// A new desktop-to-phone handoff link with its QR code.
    CreateHandoff(String),
    /// A handoff link's landing page (GET) and its opening (POST).
    HandoffPage(String),
    OpenHandoff(String),
    /// The pages' script and stylesheet.
    Asset(String),
}

impl JourneyEndpoint {
    /// `None` when the path is not a journey path at all.
    pub fn route(method: &Method, path: &str) -> Option<Result<Self, Error>> {
        if path == "/openapi.json" {
            return Some(if *method == Method::GET {
                Ok(JourneyEndpoint::OpenApi)
            } else {
                Err(method_not_allowed("GET"))
            });
        }
        if path == "/.well-known/jwks.json" {
            return Some(if *method == Method::GET {
                Ok(JourneyEndpoint::Jwks)
            } else {
                Err(method_not_allowed("GET"))
            });
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let only = |allow: Method, endpoint: JourneyEndpoint| {
            Some(if *method == allow { Ok(endpoint) } else { Err(method_not_allowed(allow.as_str())) })
        };
        let (secret, action) = match segments.as_slice() {
            ["j", secret, action] => ((*secret).to_owned(), *action),
            ["j", secret] if !secret.is_empty() => {
                return only(Method::GET, JourneyEndpoint::Page((*secret).to_owned()));
            }
            ["appendix", token] => return only(Method::GET, JourneyEndpoint::Appendix((*token).to_owned())),
            ["assets", name] if !name.is_empty() => {
                return only(Method::GET, JourneyEndpoint::Asset((*name).to_owned()));
            }
            ["h", token] if !token.is_empty() => {
                let token = (*token).to_owned();
                return Some(match *method {
                    Method::GET => Ok(JourneyEndpoint::HandoffPage(token)),
                    Method::POST => Ok(JourneyEndpoint::OpenHandoff(token)),
                    _ => Err(method_not_allowed("GET, POST")),
                });
            }
            _ => return None,
        };
        let (endpoint, allow) = match action {
            "session" => (JourneyEndpoint::Session(secret), Method::GET),
            "uploads" => (JourneyEndpoint::RequestUpload(secret), Method::POST),
            "submit" => (JourneyEndpoint::Submit(secret), Method::POST),
            "details" => (JourneyEndpoint::Details(secret), Method::PUT),
            "consent" => (JourneyEndpoint::Consent(secret), Method::POST),
            "finish" => (JourneyEndpoint::Finish(secret), Method::GET),
            "handoff" => (JourneyEndpoint::CreateHandoff(secret), Method::POST),
            _ => return None,
        };
        if *method != allow {
            return Some(Err(method_not_allowed(allow.as_str())));
        }
        Some(Ok(endpoint))
    }
}

fn method_not_allowed(allow: &str) -> Error {
    Error::new(ErrorKind::MethodNotAllowed, "method_not_allowed", format!("allowed methods: {allow}"))
        .with_field("method")
}

pub async fn handle(api: &JourneyApi, endpoint: JourneyEndpoint, req: &Request) -> Response {
    let pipeline = &*api.pipeline;
    let result = match endpoint {
        JourneyEndpoint::Session(secret) => session(pipeline, &secret, req).await,
        JourneyEndpoint::RequestUpload(secret) => request_upload(pipeline, &secret, req).await,
        JourneyEndpoint::Submit(secret) => submit(pipeline, &secret).await,
        JourneyEndpoint::Details(secret) => details(pipeline, &secret, req).await,
        JourneyEndpoint::Consent(secret) => consent(pipeline, &secret).await,
        JourneyEndpoint::Finish(secret) => finish(api, &secret).await,
        JourneyEndpoint::Page(secret) => Ok(super::pages::journey_page(api, &secret, req).await),
        JourneyEndpoint::CreateHandoff(secret) => super::pages::create_handoff(api, &secret).await,
        JourneyEndpoint::HandoffPage(token) => Ok(super::pages::handoff_page(api, &token).await),
        JourneyEndpoint::OpenHandoff(token) => Ok(super::pages::open_handoff(api, &token).await),
        JourneyEndpoint::Asset(name) => Ok(super::pages::asset_or_404(&name)),
        JourneyEndpoint::Appendix(token) => {
            let identity = pipeline.identity();
            let Some(links) = identity.appendix_links() else {
                return error_response(
                    &Error::new(ErrorKind::NotFound, "appendix_not_found", "no such appendix link").with_field("token"),
                );
            };
            let result =
                crate::appendix::serve(links, pipeline.signer(), |id| identity.load(id), &token, identity.now()).await;
            Ok(crate::appendix::response(result))
        }
        JourneyEndpoint::OpenApi => {
            let public_url = pipeline.identity().settings().public_url.as_str();
            Ok(json_response(StatusCode::OK, &super::openapi::document(public_url)))
        }
        JourneyEndpoint::Jwks => {
            let mut resp = json_response(StatusCode::OK, &api.tokens.signer().jwks());
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
            Ok(resp)
        }
    };
    result.unwrap_or_else(|e| error_response(&e))
}

/// The session as the journey's holder sees it (also the pages' boot data).
pub(crate) fn view(pipeline: &Pipeline, session: &Session) -> Value {
    let steps: Vec<Value> =
        session.steps.iter().map(|s| json!({"name": s.step.as_str(), "status": s.status.as_str()})).collect();
    // Each capture the session asks for: missing, accepted, or rejected with the reason, so
    // the page can ask for a retake before the user moves on.
    let captures: Vec<Value> = Artifact::ALL
        .into_iter()
        .filter(|&a| session.expects(a))
        .map(|a| {
            let required = session.required_captures().contains(&a);
            // `at` tells a retake's verdict from the previous one's.
            match session.captures.iter().find(|c| c.artifact == a) {
                None => json!({"artifact": a.as_str(), "required": required, "status": "missing"}),
                Some(c) => match &c.result {
                    CaptureResult::Accepted => {
                        json!({"artifact": a.as_str(), "required": required, "status": "accepted", "at": c.at})
                    }
                    CaptureResult::Rejected { reason } => json!({"artifact": a.as_str(), "required": required,
                        "status": "rejected", "reason": reason, "at": c.at}),
                },
            }
        })
        .collect();
    // Whether the details the dvs / bank steps need are in: flags only, never the values.
    let wants = |step| session.steps.iter().any(|s| s.step == step);
    let mut provided = serde_json::Map::new();
    if wants(crate::domain::Step::Dvs) {
        provided.insert("dvs".into(), json!(session.details.dvs.is_some()));
    }
    if wants(crate::domain::Step::Bank) {
        provided.insert("bank".into(), json!(session.details.bank.is_some()));
    }
    // The latest handoff link: whether a phone opened it (the computer then follows along).
    let handoff =
        session.current_handoff().map(|h| json!({"opened": h.opened_at.is_some(), "expires_at": h.expires_at}));
    json!({
        "handoff": handoff,
        "status": session.status_at(pipeline.identity().now()).as_str(),
        "steps": steps,
        "captures": captures,
        "challenge": session.challenge,
        "consented": session.consented_at.is_some(),
        "details_provided": provided,
        "expires_at": session.expires_at,
    })
}

async fn session(pipeline: &Pipeline, secret: &str, req: &Request) -> Result<Response, Error> {
    let session = pipeline.identity().journey_session(secret).await?;
    // The audit trail notes each device class the journey is opened on (once per class).
    let agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let device = crate::domain::DeviceClass::from_user_agent(agent);
    let session = match pipeline.identity().open_journey(session.id, device).await {
        Ok((session, _)) => session,
        Err(e) => {
            tracing::warn!(session_id = %session.id, code = e.code, "journey open not recorded");
            session
        }
    };
    Ok(json_response(StatusCode::OK, &view(pipeline, &session)))
}

async fn request_upload(pipeline: &Pipeline, secret: &str, req: &Request) -> Result<Response, Error> {
    check_json_body(req)?;
    let body = parse_body(req.body())?;
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    let artifact = Artifact::parse(field("artifact").unwrap_or_default()).map_err(|r| r.at("artifact"))?;
    let content_type = field("content_type").unwrap_or_default();
    artifacts::accepted_content_type(content_type).map_err(|r| r.at("content_type"))?;
    let session = pipeline.identity().journey_session(secret).await?;
    let status = session.status_at(pipeline.identity().now());
    if !matches!(status, SessionStatus::Created | SessionStatus::InProgress) {
        let message = format!("the session is {} and accepts no more uploads", status.as_str());
        return Err(Error::new(ErrorKind::Conflict, "session_closed", message).with_field("session"));
    }
    if !session.expects(artifact) {
        return Err(Error::invalid("artifact_not_requested", "artifact", "this session does not ask for that capture"));
    }
    let policy = upload_policy(&session, artifact, content_type);
    let post = pipeline.signer().presign_post(&policy, pipeline.identity().now()).await.map_err(|e| {
        tracing::error!(error = %e, "presigning an upload failed");
        Error::new(ErrorKind::Unavailable, "storage_unavailable", "uploads are temporarily unavailable; retry")
    })?;
    tracing::info!(session_id = %session.id, artifact = artifact.as_str(), "upload slot issued");
    let answer = json!({
        "url": post.url, "fields": post.fields, "expires_at": post.expires_at,
        "min_bytes": policy.min_bytes, "max_bytes": policy.max_bytes,
    });
    Ok(json_response(StatusCode::CREATED, &answer))
}

/// The presigned POST's policy for one capture of a session.
pub(crate) fn upload_policy(session: &Session, artifact: Artifact, content_type: &str) -> UploadPolicy {
    UploadPolicy {
        key: artifact.key(session.id),
        content_type: content_type.to_owned(),
        min_bytes: artifacts::MIN_BYTES,
        max_bytes: artifacts::MAX_BYTES,
        expires_in: UPLOAD_TTL,
    }
}

async fn submit(pipeline: &Pipeline, secret: &str) -> Result<Response, Error> {
    let session = pipeline.identity().journey_session(secret).await?;
    let (session, _) = pipeline.submit(session.id).await?;
    Ok(json_response(StatusCode::OK, &view(pipeline, &session)))
}

/// Redirects a finished journey to the customer's `redirect_url` with a freshly signed result.
async fn finish(api: &JourneyApi, secret: &str) -> Result<Response, Error> {
    let identity = api.pipeline.identity();
    let session = identity.journey_session(secret).await?;
    let status = session.status_at(identity.now());
    if status != SessionStatus::Finished {
        let code = if status.is_terminal() { "session_closed" } else { "session_not_finished" };
        let message = format!("the session is {}; there is no result to deliver", status.as_str());
        return Err(Error::new(ErrorKind::Conflict, code, message).with_field("session"));
    }
    let appendix = identity.appendix_for(&session);
    let tenant =
        identity.tenant(&session.tenant_id).await?.ok_or_else(|| Error::internal("session without a tenant"))?;
    let token = api.tokens.token(&session, &tenant, &appendix, identity.now()).map_err(|e| {
        tracing::error!(session_id = %session.id, error = %e, "signing the result failed");
        Error::internal("the result could not be signed")
    })?;
    let token = token.ok_or_else(|| Error::internal("finished session without an assessment"))?;
    let location = redirect_with_token(session.redirect_url.url(), &token);
    let mut resp = http::Response::new(bytes::Bytes::new());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    let headers = resp.headers_mut();
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(location.as_str()).map_err(|_| Error::internal("bad location"))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The token is in the URL: keep it out of Referer headers on the way.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    tracing::info!(session_id = %session.id, "journey finished; redirecting with the result");
    Ok(resp)
}

/// `PUT /j/{secret}/details` with `{"dvs": {...}, "bank": {...}}` (either or both).
async fn details(pipeline: &Pipeline, secret: &str, req: &Request) -> Result<Response, Error> {
    check_json_body(req)?;
    let body = parse_body(req.body())?;
    let Value::Object(map) = &body else {
        return Err(Error::invalid("invalid_json", "body", "body must be a JSON object"));
    };
    if let Some(unknown) = map.keys().find(|k| !matches!(k.as_str(), "dvs" | "bank")) {
        return Err(Error::invalid("unknown_field", unknown.clone(), format!("unknown field `{unknown}`")));
    }
    let details = crate::domain::Details {
        dvs: map.get("dvs").map(crate::domain::DvsDetails::parse).transpose()?,
        bank: map.get("bank").map(crate::domain::BankDetails::parse).transpose()?,
    };
    let session = pipeline.identity().journey_session(secret).await?;
    let (session, _) = pipeline.identity().set_details(session.id, details).await?;
    Ok(json_response(StatusCode::OK, &view(pipeline, &session)))
}

/// `POST /j/{secret}/consent`: the user agreed to the checks; repeating it changes nothing.
async fn consent(pipeline: &Pipeline, secret: &str) -> Result<Response, Error> {
    let session = pipeline.identity().journey_session(secret).await?;
    let (session, _) = pipeline.identity().consent(session.id).await?;
    Ok(json_response(StatusCode::OK, &view(pipeline, &session)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_handoff_and_assets_are_routed() {
        let route = |m: Method, p: &str| JourneyEndpoint::route(&m, p).expect("a journey path");
        assert_eq!(route(Method::GET, "/j/abc").unwrap(), JourneyEndpoint::Page("abc".into()));
        assert_eq!(route(Method::POST, "/j/abc/handoff").unwrap(), JourneyEndpoint::CreateHandoff("abc".into()));
        assert_eq!(route(Method::GET, "/h/t").unwrap(), JourneyEndpoint::HandoffPage("t".into()));
        assert_eq!(route(Method::POST, "/h/t").unwrap(), JourneyEndpoint::OpenHandoff("t".into()));
        assert_eq!(route(Method::GET, "/assets/a.js").unwrap(), JourneyEndpoint::Asset("a.js".into()));
        assert_eq!(route(Method::POST, "/j/abc").unwrap_err().kind, ErrorKind::MethodNotAllowed);
        assert_eq!(route(Method::DELETE, "/h/t").unwrap_err().kind, ErrorKind::MethodNotAllowed);
        assert_eq!(route(Method::GET, "/j/abc/handoff").unwrap_err().kind, ErrorKind::MethodNotAllowed);
        assert!(JourneyEndpoint::route(&Method::GET, "/j/").is_none());
        assert!(JourneyEndpoint::route(&Method::GET, "/assets/").is_none());
        assert!(JourneyEndpoint::route(&Method::GET, "/identity").is_none(), "server routes are not the journey's");
    }
}
