//! Presigned S3 URLs, signed here with SigV4 and no S3 client: building one is a measurable
//! part of a cold start (README "Cold start"), and the journey, which only hands out URLs,
//! needs none. POST policies are signed by hand (the SDK only presigns GET and PUT); GETs
//! through `aws-sigv4`, the signer the S3 client itself uses, with the S3 presigner's settings.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::objects::{ObjectError, ObjectSigner, PresignedPost, UploadPolicy, check_download};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

pub struct S3Signer {
    bucket: String,
    /// Resolved per signature: Lambda's credentials rotate.
    credentials: SharedCredentialsProvider,
    region: String,
    /// Where browsers POST; the bucket URL the S3 client would use.
    post_url: String,
}

impl S3Signer {
    /// A signer on a shared SDK configuration. An endpoint override (`AWS_ENDPOINT_URL_S3`,
    /// then `AWS_ENDPOINT_URL`, found the way the S3 client finds them, so
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` applies) means path-style addressing, which
    /// LocalStack needs.
    pub fn from_config(config: &aws_types::SdkConfig, bucket: &str) -> Result<Self, ObjectError> {
        Self::with_endpoint(config, bucket, super::s3_endpoint(config).as_deref())
    }

    /// A signer for the bucket behind `endpoint` (the override [`super::s3_endpoint`] found).
    pub(super) fn with_endpoint(
        config: &aws_types::SdkConfig,
        bucket: &str,
        endpoint: Option<&str>,
    ) -> Result<Self, ObjectError> {
        let region = config.region().ok_or_else(|| ObjectError::Backend("no AWS region configured".into()))?;
        let region = region.as_ref().to_owned();
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| ObjectError::Backend("no AWS credentials provider configured".into()))?;
        let post_url = match endpoint {
            Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
        };
        Ok(Self { bucket: bucket.to_owned(), credentials, region, post_url })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub(super) fn region(&self) -> &str {
        &self.region
    }

    async fn credentials(&self) -> Result<Credentials, ObjectError> {
        self.credentials
            .provide_credentials()
            .await
            .map_err(|_| ObjectError::Unavailable("credentials could not be resolved".into()))
    }

    /// The query-signed GET for `key` at `time`, with no limit on `expires_in`.
    fn sign_get(
        &self,
        creds: Credentials,
        key: &str,
        expires_in: Duration,
        time: SystemTime,
    ) -> Result<String, ObjectError> {
        let failed = |e: &dyn std::fmt::Display| ObjectError::Backend(format!("GetObject presign: {e}"));
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires_in);
        // S3 checks the path as sent: no double encoding, no normalisation.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| failed(&e))?
            .into();
        // Valid keys need no escaping, so the key goes into the path as is.
        let url = format!("{}/{key}", self.post_url.trim_end_matches('/'));
        let signable = SignableRequest::new("GET", url.as_str(), std::iter::empty(), SignableBody::UnsignedPayload)
            .map_err(|e| failed(&e))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| failed(&e))?.into_parts();
        let mut request = http::Request::get(url.as_str()).body(()).map_err(|e| failed(&e))?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request.uri().to_string())
    }
}

#[async_trait]
impl ObjectSigner for S3Signer {
    async fn presign_post(&self, policy: &UploadPolicy, now: i64) -> Result<PresignedPost, ObjectError> {
        policy.check()?;
        let creds = self.credentials().await?;
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
        check_download(key, expires_in)?;
        let creds = self.credentials().await?;
        self.sign_get(creds, key, expires_in, SystemTime::now())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::MAX_DOWNLOAD_TTL;

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

    fn signer(bucket: &str, region: &str, post_url: &str, token: Option<&str>) -> S3Signer {
        let creds = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "test",
        );
        S3Signer {
            bucket: bucket.into(),
            credentials: SharedCredentialsProvider::new(creds),
            region: region.into(),
            post_url: post_url.into(),
        }
    }

    fn signer_under(vars: &[(&str, &str)]) -> S3Signer {
        let vars = crate::sdk::test_vars("ap-southeast-2", vars);
        let http = crate::sdk::https_client(crate::sdk::TlsRoots::Aws);
        let config = crate::sdk::AwsEnvironment::parse(vars).unwrap().sdk_config(http);
        S3Signer::from_config(&config, "uploads").unwrap()
    }

    #[test]
    fn browsers_post_where_the_s3_client_sends() {
        assert_eq!(signer_under(&[]).post_url, "https://uploads.s3.ap-southeast-2.amazonaws.com/");
        let local = [("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/")];
        assert_eq!(signer_under(&local).post_url, "http://127.0.0.1:4566/uploads", "path-style, for LocalStack");
        let own = [("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"), ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")];
        assert_eq!(signer_under(&own).post_url, "http://127.0.0.1:9000/uploads", "S3's own setting wins");
        let ignored =
            [("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")];
        assert_eq!(signer_under(&ignored).post_url, "https://uploads.s3.ap-southeast-2.amazonaws.com/");
    }

    /// The worked example from AWS's "Authenticating Requests: Using Query Parameters".
    #[tokio::test]
    async fn a_presigned_get_matches_the_aws_example() {
        let s = signer("examplebucket", "us-east-1", "https://examplebucket.s3.amazonaws.com/", None);
        let creds = s.credentials().await.unwrap();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24T00:00:00Z
        let url = s.sign_get(creds, "test.txt", Duration::from_secs(86_400), at).unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        assert_eq!(parsed.host_str(), Some("examplebucket.s3.amazonaws.com"));
        assert_eq!(parsed.path(), "/test.txt");
        let query: BTreeMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(query["X-Amz-Algorithm"], ALGORITHM);
        assert_eq!(query["X-Amz-Credential"], "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request");
        assert_eq!(query["X-Amz-Date"], "20130524T000000Z");
        assert_eq!(query["X-Amz-Expires"], "86400");
        assert_eq!(query["X-Amz-SignedHeaders"], "host");
        assert_eq!(query["X-Amz-Signature"], "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    }

    /// Lambda's credentials carry a session token, which S3 wants signed into the query.
    #[tokio::test]
    async fn a_presigned_get_is_path_style_under_an_override_and_carries_the_session_token() {
        let s = signer("uploads", "ap-southeast-2", "http://127.0.0.1:4566/uploads", Some("tok"));
        let url = s.presign_get("sessions/1/front", Duration::from_secs(60)).await.unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        assert_eq!(parsed.path(), "/uploads/sessions/1/front");
        let query: BTreeMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(query["X-Amz-Security-Token"], "tok");
        assert_eq!(query["X-Amz-Expires"], "60");
        assert!(matches!(s.presign_get("../etc", Duration::from_secs(60)).await, Err(ObjectError::InvalidPolicy(_))));
        let too_long = s.presign_get("a/b", MAX_DOWNLOAD_TTL + Duration::from_secs(1)).await;
        assert!(matches!(too_long, Err(ObjectError::InvalidPolicy(_))));
    }

    /// Lambda's credentials carry a session token: it must be a field and a policy condition.
    #[tokio::test]
    async fn a_post_policy_pins_everything_and_carries_the_session_token() {
        let s = signer("b", "ap-southeast-2", "https://b.s3.ap-southeast-2.amazonaws.com/", Some("tok"));
        let policy = UploadPolicy {
            key: "s/1/front.jpg".into(),
            content_type: "image/jpeg".into(),
            min_bytes: 1,
            max_bytes: 10,
            expires_in: Duration::from_secs(600),
        };
        // 2025-11-24T16:00:00Z
        let post = s.presign_post(&policy, 1_764_000_000).await.unwrap();
        assert_eq!(post.expires_at, 1_764_000_600);
        let f = &post.fields;
        assert_eq!(f["x-amz-credential"], "AKIAIOSFODNN7EXAMPLE/20251124/ap-southeast-2/s3/aws4_request");
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
        let key = signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20251124", "ap-southeast-2");
        assert_eq!(f["x-amz-signature"], hex::encode(hmac(&key, f["policy"].as_bytes())));
        let too_long = UploadPolicy { expires_in: crate::objects::MAX_UPLOAD_TTL + Duration::from_secs(1), ..policy };
        assert!(matches!(s.presign_post(&too_long, 1_764_000_000).await, Err(ObjectError::InvalidPolicy(_))));
    }
}
