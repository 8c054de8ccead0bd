//! Files-on-disk adapter for the object port, for the local server and tests. Its
//! presigned POSTs are HMAC-signed policies that [`LocalObjects::accept_upload`] checks
//! the way S3 checks a POST policy, so browser code behaves the same locally.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{
    ObjectError, ObjectSigner, ObjectStore, PresignedPost, StoredObject, UploadPolicy, check_download, valid_key,
    valid_prefix,
};

/// Why an upload was refused, with the status S3 answers for the same refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRejected {
    /// Bad or missing signature, expired policy, or a field the policy does not allow.
    #[error("access denied: {0}")]
    AccessDenied(&'static str),
    #[error("upload exceeds the maximum allowed size")]
    EntityTooLarge,
    #[error("upload is smaller than the minimum allowed size")]
    EntityTooSmall,
    /// The upload was acceptable but could not be stored.
    #[error("upload could not be stored")]
    Internal,
}

impl UploadRejected {
    pub fn status(&self) -> u16 {
        match self {
            Self::AccessDenied(_) => 403,
            Self::EntityTooLarge | Self::EntityTooSmall => 400,
            Self::Internal => 500,
        }
    }
}

/// The signed part of a local presigned POST.
#[derive(Debug, Serialize, Deserialize)]
struct LocalPolicy {
    key: String,
    content_type: String,
    min: u64,
    max: u64,
    expires_at: i64,
}

// Distinct message prefixes so a GET signature can never pass as a POST signature.
const POST_DOMAIN: &[u8] = b"ti-local-post\n";
const GET_DOMAIN: &[u8] = b"ti-local-get\n";

pub struct LocalObjects {
    dir: PathBuf,
    base_url: String,
    secret: [u8; 32],
}

impl LocalObjects {
    /// Objects live in `dir/objects/<key>`, their content types in `dir/types/<key>`.
    pub fn new(dir: PathBuf, base_url: String, secret: [u8; 32]) -> Self {
        Self { dir, base_url: base_url.trim_end_matches('/').to_owned(), secret }
    }

    fn sign(&self, domain: &[u8], message: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(domain);
        mac.update(message);
        mac
    }

    fn get_message(key: &str, expires: i64) -> String {
        format!("{key}|{expires}")
    }

    /// The upload endpoint's check: everything S3 enforces for our policies, then an
    /// atomic write (a retake replaces the object). Field names match case-insensitively,
    /// as in S3. `declared_content_type` is the file part's own header, which S3 ignores
    /// (the `Content-Type` field is what counts), so it is not consulted.
    pub fn accept_upload(
        &self,
        fields: &BTreeMap<String, String>,
        declared_content_type: Option<&str>,
        file: &[u8],
        now: i64,
    ) -> Result<String, UploadRejected> {
        let _ = declared_content_type;
        let field = |name: &str| fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let denied = UploadRejected::AccessDenied;
        let policy_b64 = field("policy").ok_or(denied("missing policy"))?;
        let signature =
            field("signature").and_then(|s| URL_SAFE_NO_PAD.decode(s).ok()).ok_or(denied("bad signature"))?;
        self.sign(POST_DOMAIN, policy_b64.as_bytes()).verify_slice(&signature).map_err(|_| denied("bad signature"))?;
        let policy: LocalPolicy = URL_SAFE_NO_PAD
            .decode(policy_b64)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(denied("bad policy"))?;
        if now >= policy.expires_at {
            return Err(denied("policy expired"));
        }
        // S3 refuses any field its policy does not name.
        let allowed = |k: &str| {
            ["key", "content-type", "policy", "signature"].iter().any(|a| k.eq_ignore_ascii_case(a))
                || k.to_ascii_lowercase().starts_with("x-ignore-")
        };
        if !fields.keys().all(|k| allowed(k)) {
            return Err(denied("field not allowed by policy"));
        }
        if field("key") != Some(policy.key.as_str()) || !valid_key(&policy.key) {
            return Err(denied("key not allowed by policy"));
        }
        if field("content-type") != Some(policy.content_type.as_str()) {
            return Err(denied("content type not allowed by policy"));
        }
        let size = file.len() as u64;
        if size < policy.min {
            return Err(UploadRejected::EntityTooSmall);
        }
        if size > policy.max {
            return Err(UploadRejected::EntityTooLarge);
        }
        self.write(&policy.key, &policy.content_type, file).map_err(|e| {
            tracing::error!(error = %e, "local object write failed");
            UploadRejected::Internal
        })?;
        Ok(policy.key)
    }

    /// Whether a presigned GET's `expires`/`signature` query parameters are valid for `key` at `now`.
    pub fn verify_get(&self, key: &str, expires: i64, signature: &str, now: i64) -> bool {
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else { return false };
        now < expires
            && self.sign(GET_DOMAIN, Self::get_message(key, expires).as_bytes()).verify_slice(&signature).is_ok()
    }

    fn paths(&self, key: &str) -> Result<(PathBuf, PathBuf), ObjectError> {
        if !valid_key(key) {
            return Err(ObjectError::Backend("invalid object key".into()));
        }
        Ok((self.dir.join("objects").join(key), self.dir.join("types").join(key)))
    }

    /// Temp file + rename, type first: a reader never sees a half-written object.
    fn write(&self, key: &str, content_type: &str, bytes: &[u8]) -> std::io::Result<()> {
        let (data, meta) = self.paths(key).map_err(std::io::Error::other)?;
        let tmp = self.dir.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        replace(&tmp, &meta, content_type.as_bytes())?;
        replace(&tmp, &data, bytes)
    }
}

fn replace(tmp_dir: &Path, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = tmp_dir.join(uuid::Uuid::new_v4().simple().to_string());
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, target).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn io_err(op: &str, e: std::io::Error) -> ObjectError {
    // The io error's kind, not its message: messages carry paths, which carry keys.
    ObjectError::Backend(format!("{op}: {:?}", e.kind()))
}

#[async_trait]
impl ObjectSigner for LocalObjects {
    async fn presign_post(&self, policy: &UploadPolicy, now: i64) -> Result<PresignedPost, ObjectError> {
        policy.check()?;
        let expires_at = now + policy.expires_in.as_secs() as i64;
        let signed = LocalPolicy {
            key: policy.key.clone(),
            content_type: policy.content_type.clone(),
            min: policy.min_bytes,
            max: policy.max_bytes,
            expires_at,
        };
        let json = serde_json::to_vec(&signed).map_err(|e| ObjectError::Backend(format!("policy encoding: {e}")))?;
        let encoded = URL_SAFE_NO_PAD.encode(json);
        let signature = URL_SAFE_NO_PAD.encode(self.sign(POST_DOMAIN, encoded.as_bytes()).finalize().into_bytes());
        let fields = BTreeMap::from([
            ("key".to_owned(), policy.key.clone()),
            ("Content-Type".to_owned(), policy.content_type.clone()),
            ("policy".to_owned(), encoded),
            ("signature".to_owned(), signature),
        ]);
        Ok(PresignedPost { url: format!("{}/_local/upload", self.base_url), fields, expires_at })
    }

    async fn presign_get(&self, key: &str, expires_in: Duration) -> Result<String, ObjectError> {
        check_download(key, expires_in)?;
        let now = chrono::Utc::now().timestamp();
        let expires = now + expires_in.as_secs() as i64;
        let mac = self.sign(GET_DOMAIN, Self::get_message(key, expires).as_bytes()).finalize().into_bytes();
        // Valid keys use only URL-safe characters, so the key goes into the path as is.
        Ok(format!(
            "{}/_local/objects/{key}?expires={expires}&signature={}",
            self.base_url,
            URL_SAFE_NO_PAD.encode(mac)
        ))
    }
}

#[async_trait]
impl ObjectStore for LocalObjects {
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<StoredObject>, ObjectError> {
        let (data, meta) = self.paths(key)?;
        let file = match std::fs::File::open(&data) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("open", e)),
        };
        let len = file.metadata().map_err(|e| io_err("stat", e))?.len();
        if len > max_bytes {
            return Err(ObjectError::TooLarge(max_bytes));
        }
        // The file may grow after the stat (a retake is a rename, but be sure): read one byte past the limit.
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| io_err("read", e))?;
        if bytes.len() as u64 > max_bytes {
            return Err(ObjectError::TooLarge(max_bytes));
        }
        let content_type = std::fs::read_to_string(meta).ok();
        Ok(Some(StoredObject { bytes, content_type }))
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        let (data, meta) = self.paths(key)?;
        for path in [data, meta] {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", e)),
            }
        }
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u32, ObjectError> {
        if !valid_prefix(prefix) {
            return Err(ObjectError::Backend("invalid object prefix".into()));
        }
        let folder = prefix.trim_end_matches('/');
        let deleted = remove_tree(&self.dir.join("objects").join(folder))?;
        remove_tree(&self.dir.join("types").join(folder))?;
        Ok(deleted)
    }
}

/// Removes a folder and everything in it; returns how many files it held.
fn remove_tree(dir: &Path) -> Result<u32, ObjectError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_err("list", e)),
    };
    let mut files = 0;
    for entry in entries {
        let path = entry.map_err(|e| io_err("list", e))?.path();
        if path.is_dir() {
            files += remove_tree(&path)?;
        } else {
            match std::fs::remove_file(&path) {
                Ok(()) => files += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", e)),
            }
        }
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(files),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(files),
        Err(e) => Err(io_err("remove", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> LocalObjects {
        LocalObjects::new(dir.to_path_buf(), "http://localhost:3000/".into(), [7; 32])
    }

    #[tokio::test]
    async fn presigned_gets_expire_and_are_bound_to_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let objects = store(dir.path());
        let url = objects.presign_get("a/b.jpg", Duration::from_secs(30)).await.unwrap();
        let (path, query) = url.split_once('?').unwrap();
        assert!(path.starts_with("http://localhost:3000/_local/objects/a/b.jpg"), "{url}");
        let params: BTreeMap<_, _> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let expires: i64 = params["expires"].parse().unwrap();
        let signature = &params["signature"];
        assert!(objects.verify_get("a/b.jpg", expires, signature, expires - 1));
        assert!(!objects.verify_get("a/b.jpg", expires, signature, expires), "expired");
        assert!(!objects.verify_get("a/c.jpg", expires, signature, expires - 1), "other key");
        assert!(!objects.verify_get("a/b.jpg", expires + 60, signature, expires - 1), "extended expiry");
        assert!(!objects.verify_get("a/b.jpg", expires, "not-base64!", expires - 1));
    }

    #[tokio::test]
    async fn an_upload_needs_exactly_the_signed_fields() {
        let dir = tempfile::tempdir().unwrap();
        let objects = store(dir.path());
        let policy = UploadPolicy {
            key: "a/front.jpg".into(),
            content_type: "image/jpeg".into(),
            min_bytes: 1,
            max_bytes: 10,
            expires_in: Duration::from_secs(60),
        };
        let post = objects.presign_post(&policy, 1_000).await.unwrap();
        assert_eq!(post.url, "http://localhost:3000/_local/upload");
        let mut extra = post.fields.clone();
        extra.insert("acl".into(), "public-read".into());
        assert_eq!(
            objects.accept_upload(&extra, None, b"x", 1_001),
            Err(UploadRejected::AccessDenied("field not allowed by policy"))
        );
        let mut missing = post.fields.clone();
        missing.remove("Content-Type");
        assert_eq!(objects.accept_upload(&missing, None, b"x", 1_001).unwrap_err().status(), 403);
        let mut ignored = post.fields.clone();
        ignored.insert("X-Ignore-Submit".into(), "Upload".into());
        let mut lower = BTreeMap::new();
        for (k, v) in &ignored {
            lower.insert(k.to_ascii_lowercase(), v.clone());
        }
        assert_eq!(objects.accept_upload(&lower, Some("image/png"), b"x", 1_001).unwrap(), "a/front.jpg");
        let stored = objects.get("a/front.jpg", 10).await.unwrap().unwrap();
        assert_eq!(stored.content_type.as_deref(), Some("image/jpeg"));
        assert!(matches!(objects.get("../x", 10).await, Err(ObjectError::Backend(_))));
    }
}
