//! S3 adapter for the object port. Browsers upload through presigned POSTs signed here
//! with AWS Signature V4 (the SDK only presigns GET/PUT); reads go through the SDK.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, Event, NotificationConfiguration, ObjectIdentifier,
    PublicAccessBlockConfiguration, QueueConfiguration,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{MAX_DOWNLOAD_TTL, ObjectError, ObjectStore, PresignedPost, StoredObject, UploadPolicy, valid_prefix};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

pub struct S3Objects {
    client: Client,
    bucket: String,
    /// Resolved per signature: Lambda's credentials rotate.
    credentials: SharedCredentialsProvider,
    region: String,
    /// Where browsers POST; the same bucket URL the client uses.
    post_url: String,
}

impl S3Objects {
    /// An adapter on its own configuration ([`crate::sdk::from_env`]): for tools and tests.
    pub fn from_env(bucket: &str) -> Result<Self, ObjectError> {
        let config = crate::sdk::from_env().map_err(|e| ObjectError::Backend(e.to_string()))?;
        Self::from_config(&config, bucket)
    }

    /// An adapter on a shared SDK configuration. An endpoint override (`AWS_ENDPOINT_URL_S3`,
    /// then `AWS_ENDPOINT_URL`, found the way the S3 client finds them, so
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` applies) switches to path-style addressing, which
    /// LocalStack needs.
    pub fn from_config(config: &aws_types::SdkConfig, bucket: &str) -> Result<Self, ObjectError> {
        let region = config.region().ok_or_else(|| ObjectError::Backend("no AWS region configured".into()))?;
        let region = region.as_ref().to_owned();
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| ObjectError::Backend("no AWS credentials provider configured".into()))?;
        let endpoint = s3_endpoint(config);
        let mut s3 = aws_sdk_s3::config::Builder::from(config);
        let post_url = match &endpoint {
            Some(endpoint) => {
                s3 = s3.endpoint_url(endpoint).force_path_style(true);
                format!("{}/{bucket}", endpoint.trim_end_matches('/'))
            }
            None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
        };
        Ok(Self { client: Client::from_conf(s3.build()), bucket: bucket.to_owned(), credentials, region, post_url })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket if missing, private and with public access blocked. For local
    /// runs and tests; production buckets come from infrastructure code.
    pub async fn create_bucket(&self) -> Result<(), ObjectError> {
        let mut create = self.client.create_bucket().bucket(&self.bucket);
        // us-east-1 is the one region that refuses an explicit location constraint.
        if self.region != "us-east-1" {
            let location = BucketLocationConstraint::from(self.region.as_str());
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
            .bucket(&self.bucket)
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
            .bucket(&self.bucket)
            .notification_configuration(config)
            .send()
            .await
            .map_err(|e| s3_err("PutBucketNotificationConfiguration", &e))?;
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn presign_post(&self, policy: &UploadPolicy, now: i64) -> Result<PresignedPost, ObjectError> {
        policy.check()?;
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|_| ObjectError::Unavailable("credentials could not be resolved".into()))?;
        let signed_at =
            DateTime::<Utc>::from_timestamp(now, 0).ok_or_else(|| ObjectError::InvalidPolicy("bad clock".into()))?;
        let expires_at = now + policy.expires_in.as_secs() as i64;
        let expiration = DateTime::<Utc>::from_timestamp(expires_at, 0)
            .ok_or_else(|| ObjectError::InvalidPolicy("bad expiry".into()))?;
        let date = signed_at.format("%Y%m%d").to_string();
        let amz_date = signed_at.format("%Y%m%dT%H%M%SZ").to_string();
        let credential = format!("{}/{date}/{}/s3/aws4_request", creds.access_key_id(), self.region);

        let mut fields = BTreeMap::from([
            ("key".to_owned(), policy.key.clone()),
            ("Content-Type".to_owned(), policy.content_type.clone()),
            ("x-amz-algorithm".to_owned(), ALGORITHM.to_owned()),
            ("x-amz-credential".to_owned(), credential.clone()),
            ("x-amz-date".to_owned(), amz_date.clone()),
        ]);
        let mut conditions: Vec<Value> = vec![
            json!({ "bucket": self.bucket }),
            json!(["eq", "$key", policy.key]),
            json!(["eq", "$Content-Type", policy.content_type]),
            json!(["content-length-range", policy.min_bytes, policy.max_bytes]),
            json!({ "x-amz-algorithm": ALGORITHM }),
            json!({ "x-amz-credential": credential }),
            json!({ "x-amz-date": amz_date }),
        ];
        if let Some(token) = creds.session_token() {
            conditions.push(json!({ "x-amz-security-token": token }));
            fields.insert("x-amz-security-token".to_owned(), token.to_owned());
        }
        let document = json!({
            "expiration": expiration.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "conditions": conditions,
        });
        let encoded = STANDARD.encode(document.to_string());
        let key = signing_key(creds.secret_access_key(), &date, &self.region);
        let signature = hex::encode(hmac(&key, encoded.as_bytes()));
        fields.insert("policy".to_owned(), encoded);
        fields.insert("x-amz-signature".to_owned(), signature);
        Ok(PresignedPost { url: self.post_url.clone(), fields, expires_at })
    }

    async fn presign_get(&self, key: &str, expires_in: Duration) -> Result<String, ObjectError> {
        if expires_in > MAX_DOWNLOAD_TTL {
            return Err(ObjectError::InvalidPolicy(format!("download expiry over {} s", MAX_DOWNLOAD_TTL.as_secs())));
        }
        let config = PresigningConfig::expires_in(expires_in)
            .map_err(|e| ObjectError::InvalidPolicy(format!("presigning: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| s3_err("GetObject presign", &e))?;
        Ok(request.uri().to_owned())
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<StoredObject>, ObjectError> {
        let out = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
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
            .bucket(&self.bucket)
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
                .bucket(&self.bucket)
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
                .bucket(&self.bucket)
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

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The SigV4 signing key for S3 on `date` (yyyymmdd).
fn signing_key(secret: &str, date: &str, region: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    hmac(&k_service, b"aws4_request")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example from AWS's "Browser-Based Uploads Using POST" SigV4 example.
    #[test]
    fn signing_key_matches_the_aws_example() {
        let key = signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20151229", "us-east-1");
        let policy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
        assert_eq!(
            hex::encode(hmac(&key, policy.as_bytes())),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
    }

    fn objects_under(vars: &[(&str, &str)]) -> S3Objects {
        let vars = crate::sdk::test_vars("ap-southeast-2", vars);
        let http = crate::sdk::https_client(crate::sdk::TlsRoots::Aws);
        let config = crate::sdk::AwsEnvironment::parse(vars).unwrap().sdk_config(http);
        S3Objects::from_config(&config, "uploads").unwrap()
    }

    #[test]
    fn browsers_post_where_the_s3_client_sends() {
        assert_eq!(objects_under(&[]).post_url, "https://uploads.s3.ap-southeast-2.amazonaws.com/");
        let local = [("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/")];
        assert_eq!(objects_under(&local).post_url, "http://127.0.0.1:4566/uploads", "path-style, for LocalStack");
        let own = [("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"), ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")];
        assert_eq!(objects_under(&own).post_url, "http://127.0.0.1:9000/uploads", "S3's own setting wins");
        let ignored =
            [("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")];
        assert_eq!(objects_under(&ignored).post_url, "https://uploads.s3.ap-southeast-2.amazonaws.com/");
    }

    /// Lambda's credentials carry a session token: it must be a field and a policy condition.
    #[tokio::test]
    async fn a_post_policy_pins_everything_and_carries_the_session_token() {
        let creds = aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", Some("tok".into()), None, "test");
        let conf = aws_sdk_s3::Config::builder().behavior_version_latest().build();
        let objects = S3Objects {
            client: Client::from_conf(conf),
            bucket: "b".into(),
            credentials: SharedCredentialsProvider::new(creds),
            region: "ap-southeast-2".into(),
            post_url: "https://b.s3.ap-southeast-2.amazonaws.com/".into(),
        };
        let policy = UploadPolicy {
            key: "s/1/front.jpg".into(),
            content_type: "image/jpeg".into(),
            min_bytes: 1,
            max_bytes: 10,
            expires_in: Duration::from_secs(600),
        };
        // 2025-11-24T16:00:00Z
        let post = objects.presign_post(&policy, 1_764_000_000).await.unwrap();
        assert_eq!(post.expires_at, 1_764_000_600);
        let f = &post.fields;
        assert_eq!(f["x-amz-credential"], "AKIDEXAMPLE/20251124/ap-southeast-2/s3/aws4_request");
        assert_eq!(f["x-amz-date"], "20251124T160000Z");
        assert_eq!(f["x-amz-security-token"], "tok");
        let doc: Value = serde_json::from_slice(&STANDARD.decode(&f["policy"]).unwrap()).unwrap();
        assert_eq!(doc["expiration"], "2025-11-24T16:10:00.000Z");
        let conditions = doc["conditions"].as_array().unwrap();
        for expected in [
            json!({"bucket": "b"}),
            json!(["eq", "$key", "s/1/front.jpg"]),
            json!(["eq", "$Content-Type", "image/jpeg"]),
            json!(["content-length-range", 1, 10]),
            json!({"x-amz-security-token": "tok"}),
            json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"}),
        ] {
            assert!(conditions.contains(&expected), "missing {expected}");
        }
        let key = signing_key("secret", "20251124", "ap-southeast-2");
        assert_eq!(f["x-amz-signature"], hex::encode(hmac(&key, f["policy"].as_bytes())));
        let too_long = UploadPolicy { expires_in: crate::objects::MAX_UPLOAD_TTL + Duration::from_secs(1), ..policy };
        assert!(matches!(objects.presign_post(&too_long, 1_764_000_000).await, Err(ObjectError::InvalidPolicy(_))));
    }
}
