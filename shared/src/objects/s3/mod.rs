//! S3 adapter for the object port: reads and deletes through the SDK; the URLs browsers use
//! are signed by [`S3Signer`] without a client.

mod signer;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, Event, NotificationConfiguration, ObjectIdentifier,
    PublicAccessBlockConfiguration, QueueConfiguration,
};

pub use signer::S3Signer;

use super::{ObjectError, ObjectSigner, ObjectStore, PresignedPost, StoredObject, UploadPolicy, valid_prefix};

pub struct S3Objects {
    client: Client,
    signer: S3Signer,
}

impl S3Objects {
    /// An adapter on its own configuration ([`crate::sdk::from_env`]): for tools and tests.
    pub fn from_env(bucket: &str) -> Result<Self, ObjectError> {
        let config = crate::sdk::from_env().map_err(|e| ObjectError::Backend(e.to_string()))?;
        Self::from_config(&config, bucket)
    }

    /// An adapter on a shared SDK configuration, addressing the bucket the way
    /// [`S3Signer::from_config`] does: path-style under an endpoint override.
    pub fn from_config(config: &aws_types::SdkConfig, bucket: &str) -> Result<Self, ObjectError> {
        let endpoint = s3_endpoint(config);
        let signer = S3Signer::with_endpoint(config, bucket, endpoint.as_deref())?;
        let mut s3 = aws_sdk_s3::config::Builder::from(config);
        if let Some(endpoint) = endpoint {
            s3 = s3.endpoint_url(endpoint).force_path_style(true);
        }
        Ok(Self { client: Client::from_conf(s3.build()), signer })
    }

    pub fn bucket(&self) -> &str {
        self.signer.bucket()
    }

    /// Creates the bucket if missing, private and with public access blocked. For local
    /// runs and tests; production buckets come from infrastructure code.
    pub async fn create_bucket(&self) -> Result<(), ObjectError> {
        let mut create = self.client.create_bucket().bucket(self.bucket());
        // us-east-1 is the one region that refuses an explicit location constraint.
        if self.signer.region() != "us-east-1" {
            let location = BucketLocationConstraint::from(self.signer.region());
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder().location_constraint(location).build(),
            );
        }
        match create.send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => {}
            Err(e) => return Err(s3_err("CreateBucket", &e)),
        }
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        match self
            .client
            .put_public_access_block()
            .bucket(self.bucket())
            .public_access_block_configuration(block)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // An emulator without the API: the bucket is still private by default.
            Err(e) if is_not_implemented(&e) => {
                tracing::debug!("PutPublicAccessBlock not supported by this endpoint; skipped");
                Ok(())
            }
            Err(e) => Err(s3_err("PutPublicAccessBlock", &e)),
        }
    }

    /// Sends an SQS message to `queue_arn` for every object created in the bucket.
    pub async fn notify_queue(&self, queue_arn: &str) -> Result<(), ObjectError> {
        let queue = QueueConfiguration::builder()
            .queue_arn(queue_arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .build()
            .map_err(|e| ObjectError::Backend(format!("queue configuration: {e}")))?;
        let config = NotificationConfiguration::builder().queue_configurations(queue).build();
        self.client
            .put_bucket_notification_configuration()
            .bucket(self.bucket())
            .notification_configuration(config)
            .send()
            .await
            .map_err(|e| s3_err("PutBucketNotificationConfiguration", &e))?;
        Ok(())
    }
}

#[async_trait]
impl ObjectSigner for S3Objects {
    async fn presign_post(&self, policy: &UploadPolicy, now: i64) -> Result<PresignedPost, ObjectError> {
        self.signer.presign_post(policy, now).await
    }

    async fn presign_get(&self, key: &str, expires_in: Duration) -> Result<String, ObjectError> {
        self.signer.presign_get(key, expires_in).await
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<StoredObject>, ObjectError> {
        let out = match self.client.get_object().bucket(self.bucket()).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(s3_err("GetObject", &e)),
        };
        // Refuse before reading a byte when S3 already says it is too big.
        if out.content_length().is_some_and(|len| len < 0 || len as u64 > max_bytes) {
            return Err(ObjectError::TooLarge(max_bytes));
        }
        let content_type = out.content_type().map(str::to_owned);
        let mut body = out.body;
        let mut bytes = Vec::new();
        while let Some(chunk) =
            body.try_next().await.map_err(|_| ObjectError::Unavailable("GetObject: body read failed".into()))?
        {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(ObjectError::TooLarge(max_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(StoredObject { bytes, content_type }))
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        self.client
            .delete_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
            .map_err(|e| s3_err("DeleteObject", &e))?;
        Ok(())
    }

    /// Lists a page (at most 1,000 keys) and deletes it in one DeleteObjects call, until
    /// the prefix is empty.
    async fn delete_prefix(&self, prefix: &str) -> Result<u32, ObjectError> {
        if !valid_prefix(prefix) {
            return Err(ObjectError::Backend("invalid object prefix".into()));
        }
        let mut deleted = 0u32;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(self.bucket())
                .prefix(prefix)
                .send()
                .await
                .map_err(|e| s3_err("ListObjectsV2", &e))?;
            let ids = page
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| ObjectError::Backend("DeleteObjects: bad key".into()))?;
            if ids.is_empty() {
                return Ok(deleted);
            }
            let count = ids.len() as u32;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|_| ObjectError::Backend("DeleteObjects: bad request".into()))?;
            let out = self
                .client
                .delete_objects()
                .bucket(self.bucket())
                .delete(delete)
                .send()
                .await
                .map_err(|e| s3_err("DeleteObjects", &e))?;
            if let Some(error) = out.errors().first() {
                // Per-key failures come back in a 200: the code only, never the key.
                return Err(ObjectError::Unavailable(format!("DeleteObjects: {}", error.code().unwrap_or("unknown"))));
            }
            deleted += count;
        }
    }
}

/// The endpoint override the S3 client itself would use: the configuration's per-service
/// setting, else its global endpoint.
fn s3_endpoint(config: &aws_types::SdkConfig) -> Option<String> {
    let key = aws_types::service_config::ServiceConfigKey::builder()
        .service_id("S3")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .expect("every field is set");
    config
        .service_config()
        .and_then(|services| services.load_config(key))
        .or_else(|| config.endpoint_url().map(str::to_owned))
        .filter(|url| !url.is_empty())
}

fn is_not_implemented<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    err.code() == Some("NotImplemented") || err.raw_response().is_some_and(|r| r.status().as_u16() == 501)
}

/// Maps an SDK failure to the port's taxonomy. Only the operation and error code go into
/// the message: service messages may quote keys.
fn s3_err<E: ProvideErrorMetadata>(op: &str, err: &SdkError<E, HttpResponse>) -> ObjectError {
    const TRANSIENT: &[&str] = &["SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"];
    match crate::sdk::retryable(op, err, TRANSIENT) {
        Some(why) => ObjectError::Unavailable(why),
        None => ObjectError::Backend(crate::sdk::described(op, err)),
    }
}
