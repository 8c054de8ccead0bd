//! The object-store port: private objects that browsers upload to directly through
//! presigned POSTs and that our code reads by key. S3 in AWS; files on disk locally.
//!
//! Two roles: [`ObjectSigner`] only signs the URLs a browser uses, with no I/O, so a
//! function that only hands out URLs (the journey) builds no storage client;
//! [`ObjectStore`] also reads and deletes.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

#[cfg(feature = "embedded")]
pub mod local;
#[cfg(feature = "aws")]
pub mod s3;

/// Presigned uploads and downloads never live longer than these.
pub const MAX_UPLOAD_TTL: Duration = Duration::from_secs(15 * 60);
pub const MAX_DOWNLOAD_TTL: Duration = Duration::from_secs(60);

/// What a presigned POST pins: the exact key, the content type, a size range and an expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPolicy {
    pub key: String,
    pub content_type: String,
    pub min_bytes: u64,
    pub max_bytes: u64,
    /// At most [`MAX_UPLOAD_TTL`].
    pub expires_in: Duration,
}

/// A browser POSTs `multipart/form-data` to `url` with every field in `fields` and then the file
/// (as the last part, named `file`), exactly like an S3 presigned POST.
impl UploadPolicy {
    /// The rules both adapters enforce, so a policy valid in one is valid in both.
    pub fn check(&self) -> Result<(), ObjectError> {
        let invalid = |why: &str| Err(ObjectError::InvalidPolicy(why.to_owned()));
        if self.expires_in > MAX_UPLOAD_TTL {
            return invalid("upload expiry over 15 minutes");
        }
        if self.expires_in.as_secs() == 0 {
            return invalid("upload expiry under 1 s");
        }
        if self.min_bytes > self.max_bytes {
            return invalid("min_bytes over max_bytes");
        }
        if !valid_key(&self.key) {
            return invalid("bad key");
        }
        if self.content_type.is_empty() || !self.content_type.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return invalid("bad content type");
        }
        Ok(())
    }
}

/// The rules both adapters enforce on a presigned GET, beside [`UploadPolicy::check`].
pub fn check_download(key: &str, expires_in: Duration) -> Result<(), ObjectError> {
    if expires_in > MAX_DOWNLOAD_TTL {
        return Err(ObjectError::InvalidPolicy(format!("download expiry over {} s", MAX_DOWNLOAD_TTL.as_secs())));
    }
    if !valid_key(key) {
        return Err(ObjectError::InvalidPolicy("bad key".into()));
    }
    Ok(())
}

/// S3's "safe" key characters, relative, without `.`/`..` or empty segments: such keys
/// are also safe file paths (no traversal, no absolute paths, no backslashes) and need no URL escaping.
pub fn valid_key(key: &str) -> bool {
    key.len() <= 1024
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"/!-_.*'()".contains(&b))
        && !key.contains("..")
        && key.split('/').all(|seg| !seg.is_empty() && seg != ".")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPost {
    pub url: String,
    pub fields: BTreeMap<String, String>,
    /// Unix seconds.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub bytes: Vec<u8>,
    /// What the uploader declared; never trusted without checking the bytes.
    pub content_type: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    /// The object is larger than the caller is willing to read.
    #[error("object larger than {0} bytes")]
    TooLarge(u64),
    #[error("object store unavailable: {0}")]
    Unavailable(String),
    #[error("object store error: {0}")]
    Backend(String),
}

#[async_trait]
pub trait ObjectSigner: Send + Sync {
    /// A presigned POST enforcing `policy`. `now` is unix seconds.
    async fn presign_post(&self, policy: &UploadPolicy, now: i64) -> Result<PresignedPost, ObjectError>;
    /// A presigned GET for `key`, valid for `expires_in` (at most [`MAX_DOWNLOAD_TTL`]).
    async fn presign_get(&self, key: &str, expires_in: Duration) -> Result<String, ObjectError>;
}

#[async_trait]
pub trait ObjectStore: ObjectSigner {
    /// Reads an object, refusing to read more than `max_bytes`. `None` if it does not exist.
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<StoredObject>, ObjectError>;
    /// Deletes an object; deleting a missing object succeeds.
    async fn delete(&self, key: &str) -> Result<(), ObjectError>;
    /// Deletes every object under `prefix` (a valid key followed by `/`); returns how many
    /// there were. Deleting an empty prefix succeeds with 0.
    async fn delete_prefix(&self, prefix: &str) -> Result<u32, ObjectError>;
}

/// A folder-like prefix: a valid key and a trailing `/`, so `sessions/a/` never matches
/// `sessions/ab/...`.
pub fn valid_prefix(prefix: &str) -> bool {
    prefix.strip_suffix('/').is_some_and(valid_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_restricted_to_safe_relative_paths() {
        for ok in ["sessions/abc/front.jpg", "a", "a/b-c_d.e"] {
            assert!(valid_key(ok), "{ok}");
        }
        for bad in ["", "/abs", "a//b", "a/", "../x", "a/../b", "a\\b", "./a", "a b", "${filename}", "a\u{0}"] {
            assert!(!valid_key(bad), "{bad:?}");
        }
        assert!(valid_prefix("sessions/abc/"));
        for bad in ["sessions/abc", "/", "", "sessions//", "../"] {
            assert!(!valid_prefix(bad), "{bad:?}");
        }
    }
}
