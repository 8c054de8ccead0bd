//! The embedded object store's HTTP side: the presigned-POST upload endpoint (enforcing the
//! same policy S3 would) and presigned GETs. An accepted upload publishes an S3-shaped
//! `ObjectCreated` event on the step queue, as S3 → SQS does in AWS.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use shared::artifacts::MAX_BYTES;
use shared::objects::ObjectStore;
use shared::objects::local::LocalObjects;
use shared::pipeline::object_created_event;
use shared::ports::{Clock, SystemClock};
use shared::queue::Queue;
use shared::queue::local::LocalQueue;
use shared::signing::SigningKey;

pub struct Uploads {
    pub objects: Arc<LocalObjects>,
    pub queue: Arc<LocalQueue>,
}

fn s3_error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!({"Error": {"Code": code, "Message": message}}))).into_response()
}

/// `POST /_local/upload`: multipart form fields, then the file (as S3 wants it, last).
pub async fn upload(State(uploads): State<Arc<Uploads>>, mut form: Multipart) -> Response {
    let mut fields = BTreeMap::new();
    let mut file = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                if name == "file" {
                    let content_type = field.content_type().map(str::to_owned);
                    match field.bytes().await {
                        Ok(bytes) => file = Some((bytes, content_type)),
                        Err(_) => return s3_error(400, "MalformedPOSTRequest", "the file part could not be read"),
                    }
                    // S3 ignores everything after the file.
                    break;
                }
                match field.text().await {
                    Ok(value) => {
                        fields.insert(name, value);
                    }
                    Err(_) => return s3_error(400, "MalformedPOSTRequest", "a form field could not be read"),
                }
            }
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return s3_error(400, "EntityTooLarge", "the upload exceeds the maximum allowed size");
            }
            Err(_) => return s3_error(400, "MalformedPOSTRequest", "the body is not a valid multipart form"),
        }
    }
    let Some((bytes, content_type)) = file else {
        return s3_error(400, "InvalidArgument", "the form has no file");
    };
    let key = match uploads.objects.accept_upload(&fields, content_type.as_deref(), &bytes, SystemClock.now()) {
        Ok(key) => key,
        Err(rejected) => {
            let code = format!("{rejected:?}");
            let code = code.split('(').next().unwrap_or("AccessDenied");
            return s3_error(rejected.status(), code, &rejected.to_string());
        }
    };
    // S3's ETag is the MD5 of a simple upload; any content digest serves as the same dedupe key.
    let etag = digest_bytes(&bytes);
    if let Err(e) = uploads.queue.send(&object_created_event(&key, &etag), std::time::Duration::ZERO).await {
        tracing::error!(error = %e, "could not publish the upload event");
        return s3_error(503, "ServiceUnavailable", "please retry the upload");
    }
    StatusCode::NO_CONTENT.into_response()
}

fn digest_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(bytes)[..16])
}

#[derive(Deserialize)]
pub struct GetQuery {
    expires: i64,
    signature: String,
}

/// `GET /_local/objects/{key}?expires=..&signature=..`: a presigned GET.
pub async fn download(
    State(uploads): State<Arc<Uploads>>,
    Path(key): Path<String>,
    Query(q): Query<GetQuery>,
) -> Response {
    if !uploads.objects.verify_get(&key, q.expires, &q.signature, SystemClock.now()) {
        return s3_error(403, "AccessDenied", "the link is invalid or has expired");
    }
    match uploads.objects.get(&key, MAX_BYTES).await {
        Ok(Some(object)) => {
            let mut resp = Response::new(Body::from(object.bytes));
            let headers = resp.headers_mut();
            let content_type = object.content_type.unwrap_or_else(|| "application/octet-stream".into());
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            resp
        }
        Ok(None) => s3_error(404, "NoSuchKey", "no such object"),
        Err(e) => {
            tracing::error!(error = %e, "local object read failed");
            s3_error(500, "InternalError", "the object could not be read")
        }
    }
}

/// A 256-bit secret kept beside the data (upload policies, download and appendix links),
/// so links survive a restart.
pub fn local_secret(data_dir: &std::path::Path, name: &str) -> std::io::Result<[u8; 32]> {
    let path = data_dir.join(name);
    if let Some(key) = std::fs::read(&path).ok().and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok()) {
        return Ok(key);
    }
    std::fs::create_dir_all(data_dir)?;
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    std::fs::write(&path, key)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(key)
}

/// The local server's ES256 result-signing key, generated once and kept beside the data.
pub fn local_result_key(data_dir: &std::path::Path) -> Result<SigningKey, Box<dyn std::error::Error>> {
    let path = data_dir.join("result-signing.pem");
    if let Ok(pem) = std::fs::read_to_string(&path) {
        let key = SigningKey::es256_from_pem(local_kid(&pem), &pem)?;
        return Ok(key);
    }
    let key = SigningKey::generate_es256()?;
    let pem = key.pkcs8_pem().ok_or("generated key has no PEM form")?;
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(&path, &pem)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    // Reload so the kid is derived the same way on every start.
    Ok(SigningKey::es256_from_pem(local_kid(&pem), &pem)?)
}

/// A stable key id for a PEM: the start of its SHA-256.
fn local_kid(pem: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("local-{}", hex::encode(&Sha256::digest(pem.as_bytes())[..8]))
}
