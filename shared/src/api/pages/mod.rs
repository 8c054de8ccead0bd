//! The hosted journey's pages: HTML, one stylesheet and one script of ours (no build step,
//! no third-party host), served by `serve-journey` and the local server alike.
//!
//! - `GET /j/{secret}`: the journey (or a page saying it expired, was cancelled, or is done);
//! - `POST /j/{secret}/handoff`: a single-use link to continue on a phone, with its QR code;
//! - `GET /h/{token}`: that link's landing page; `POST /h/{token}` opens it (once);
//! - `GET /assets/{name}`: the script and stylesheet.

mod assets;
mod headers;
mod qr;
mod render;
mod strings;

use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use self::headers::Csp;
use self::render::{Action, Brand, Page, message};
use self::strings::Strings;
use super::journey::{JourneyApi, upload_policy, view};
use super::{Request, Response, error_response, json_response};
use crate::artifacts::Artifact;
use crate::domain::{Session, SessionStatus};
use crate::error::{Error, ErrorKind};

pub use self::assets::serve as asset;

/// `?device=phone`: this browser opened a handoff link, so the computer finishes the journey.
fn on_phone(req: &Request) -> bool {
    url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "device" && v == "phone")
}

fn strings_for(session: Option<&Session>) -> &'static Strings {
    Strings::for_locale(session.and_then(|s| s.locale.as_ref()).map(|l| l.as_str()))
}

/// A page for a failure we cannot explain to the user (the store is down): never a trace.
fn trouble(e: &Error) -> Response {
    let status = if e.kind == ErrorKind::Unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    tracing::error!(code = e.code, "journey page failed");
    message(status, Strings::for_locale(None), &Brand::of(None), "error", Action::None)
}

async fn brand_of(api: &JourneyApi, session: &Session) -> Brand {
    let tenant = api.pipeline.identity().tenant(&session.tenant_id).await.ok().flatten();
    Brand::of(tenant.as_ref())
}

/// `GET /j/{secret}`.
pub async fn journey_page(api: &JourneyApi, secret: &str, req: &Request) -> Response {
    let identity = api.pipeline.identity();
    let session = match identity.journey_session(secret).await {
        Ok(s) => s,
        Err(e) if e.kind == ErrorKind::NotFound => {
            return message(StatusCode::NOT_FOUND, strings_for(None), &Brand::of(None), "not_found", Action::None);
        }
        Err(e) => return trouble(&e),
    };
    let strings = strings_for(Some(&session));
    let brand = brand_of(api, &session).await;
    let phone = on_phone(req);
    match session.status_at(identity.now()) {
        SessionStatus::Expired => message(StatusCode::GONE, strings, &brand, "expired", Action::None),
        SessionStatus::Cancelled => message(StatusCode::GONE, strings, &brand, "cancelled", Action::None),
        SessionStatus::Finished if phone => message(StatusCode::OK, strings, &brand, "phone_done", Action::None),
        SessionStatus::Finished => {
            let label = strings.with_name("finished_continue", &brand.name);
            let href = format!("/j/{secret}/finish");
            message(StatusCode::OK, strings, &brand, "finished", Action::Link { href, label })
        }
        _ => {
            let boot = json!({
                "page": "app",
                "base": format!("/j/{secret}"),
                "role": if phone { "phone" } else { "any" },
                "brand": brand.json(),
                "strings": strings.as_json(),
                "view": view(&api.pipeline, &session),
            });
            let main = format!(
                "<div class=\"card\"><h1>{}</h1><p>{}</p><noscript><p class=\"alert bad\">{}</p></noscript></div>",
                render::escape(strings.get("title")),
                render::escape(strings.get("loading")),
                render::escape(strings.get("noscript")),
            );
            let csp = Csp { upload_origin: upload_origin(api, &session).await, logo_origin: None };
            let title = strings.get("title").to_owned();
            Page { status: StatusCode::OK, strings, brand: &brand, title, main, boot, csp }.render()
        }
    }
}

/// The origin captures are POSTed to, learnt from a presigned policy (nothing is stored).
async fn upload_origin(api: &JourneyApi, session: &Session) -> Option<String> {
    let artifact = Artifact::ALL.into_iter().find(|&a| session.expects(a))?;
    let policy = upload_policy(session, artifact, "image/jpeg");
    let post = api.pipeline.signer().presign_post(&policy, api.pipeline.identity().now()).await.ok()?;
    url::Url::parse(&post.url).ok().map(|u| u.origin().ascii_serialization())
}

/// `POST /j/{secret}/handoff`: `{url, qr_svg, expires_at}` for a new single-use link.
pub async fn create_handoff(api: &JourneyApi, secret: &str) -> Result<Response, Error> {
    let identity = api.pipeline.identity();
    let session = identity.journey_session(secret).await?;
    let (session, token) = identity.issue_handoff(session.id).await?;
    let base = identity.settings().public_url.as_str().trim_end_matches('/').to_owned();
    let url = format!("{base}/h/{}", token.expose());
    let qr_svg = qr::svg(&url).map_err(|_| Error::internal("the handoff link does not fit a QR code"))?;
    let expires_at = session.current_handoff().map(|h| h.expires_at);
    tracing::info!(session_id = %session.id, "handoff link issued");
    Ok(json_response(StatusCode::CREATED, &json!({"url": url, "qr_svg": qr_svg, "expires_at": expires_at})))
}

/// `GET /h/{token}`: a page with one button that opens the link. Opening takes a POST so
/// that link scanners and previews, which only GET, cannot use up the single use.
pub async fn handoff_page(api: &JourneyApi, token: &str) -> Response {
    let identity = api.pipeline.identity();
    let session = match identity.handoff_session(token).await {
        Ok((session, _)) => session,
        Err(e) => return handoff_refused(api, None, &e).await,
    };
    let digest = crate::domain::handoff::HandoffToken::parse(token).map(|t| t.digest()).unwrap_or_default();
    if let Err(e) = closed(&session, identity.now()) {
        return handoff_refused(api, Some(&session), &e).await;
    }
    let strings = strings_for(Some(&session));
    let brand = brand_of(api, &session).await;
    match session.check_handoff(&digest, identity.now()) {
        Ok(_) => {
            let label = strings.get("continue").to_owned();
            message(
                StatusCode::OK,
                strings,
                &brand,
                "handoff_open",
                Action::Post { action: format!("/h/{token}"), label },
            )
        }
        Err(refusal) => {
            let e = refused_page_kind(refusal);
            message(StatusCode::GONE, strings, &brand, e, Action::None)
        }
    }
}

/// `POST /h/{token}`: opens the link once and sends this browser to the journey as the phone.
pub async fn open_handoff(api: &JourneyApi, token: &str) -> Response {
    let identity = api.pipeline.identity();
    match identity.open_handoff(token).await {
        Ok(session) => {
            tracing::info!(session_id = %session.id, "handoff link opened");
            let location = format!("/j/{}?device=phone", session.journey_secret.expose());
            let mut resp = Response::new(bytes::Bytes::new());
            *resp.status_mut() = StatusCode::SEE_OTHER;
            match HeaderValue::from_str(&location) {
                Ok(v) => resp.headers_mut().insert(header::LOCATION, v),
                Err(_) => return trouble(&Error::internal("bad location")),
            };
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
            resp
        }
        Err(e) => {
            let session = identity.handoff_session(token).await.ok().map(|(s, _)| s);
            handoff_refused(api, session.as_ref(), &e).await
        }
    }
}

fn closed(session: &Session, now: i64) -> Result<(), Error> {
    match session.status_at(now) {
        SessionStatus::Created | SessionStatus::InProgress => Ok(()),
        s => Err(Error::new(ErrorKind::Conflict, "session_closed", s.as_str())),
    }
}

fn refused_page_kind(refusal: crate::domain::handoff::HandoffRefusal) -> &'static str {
    use crate::domain::handoff::HandoffRefusal;
    match refusal {
        HandoffRefusal::Used => "handoff_used",
        HandoffRefusal::Expired => "handoff_expired",
        HandoffRefusal::Unknown => "not_found",
    }
}

/// The page for a handoff link that does not open, in words.
async fn handoff_refused(api: &JourneyApi, session: Option<&Session>, e: &Error) -> Response {
    let strings = strings_for(session);
    let brand = match session {
        Some(s) => brand_of(api, s).await,
        None => Brand::of(None),
    };
    let (status, kind) = match (e.code, session.map(|s| s.status_at(api.pipeline.identity().now()))) {
        ("handoff_used", _) => (StatusCode::GONE, "handoff_used"),
        ("handoff_expired", _) => (StatusCode::GONE, "handoff_expired"),
        (_, Some(SessionStatus::Expired)) => (StatusCode::GONE, "expired"),
        (_, Some(SessionStatus::Cancelled)) => (StatusCode::GONE, "cancelled"),
        (_, Some(SessionStatus::Processing | SessionStatus::Finished)) => (StatusCode::GONE, "handoff_used"),
        _ if e.kind == ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        _ => return trouble(e),
    };
    message(status, strings, &brand, kind, Action::None)
}

/// An asset by name, or a 404 in the API's error shape.
pub fn asset_or_404(name: &str) -> Response {
    asset(name).unwrap_or_else(|| {
        error_response(&Error::new(ErrorKind::NotFound, "route_not_found", "no such file").with_field("path"))
    })
}

#[cfg(test)]
mod tests;
