//! One contract suite for both object-store adapters: S3 (against LocalStack; `scripts/test`
//! starts it and sets `AWS_ENDPOINT_URL`) and files on disk. For S3 the browser's upload is a
//! real multipart POST to the presigned URL; for the local adapter it is `accept_upload`, the
//! check the local server's upload endpoint runs, with the same fields and bytes.

use std::collections::BTreeMap;
use std::time::Duration;

use shared::objects::local::{LocalObjects, UploadRejected};
use shared::objects::s3::S3Objects;
use shared::objects::{ObjectError, ObjectStore, PresignedPost, UploadPolicy};

const JPEG: &str = "image/jpeg";
const LOCAL_BASE: &str = "http://localhost:3000";

/// Rules the emulator does not enforce. Real S3 does; each gap is asserted to still exist so
/// the test fails (and the gap gets removed) once the emulator starts enforcing it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Gap {
    /// LocalStack 4.9.2 never checks a POST's `x-amz-signature` (provider.py `post_object`:
    /// "signature validation is not implemented for pre-signed POST").
    PostSignature,
    /// LocalStack 4.9.2 accepts form fields the policy does not name (presigned_url.py TODO 2).
    UnlistedFields,
}

#[derive(Debug)]
struct Rejection {
    status: u16,
    code: String,
}

enum Harness {
    S3 { objects: S3Objects, http: reqwest::Client },
    Local { objects: LocalObjects, _dir: tempfile::TempDir },
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Harness {
    fn store(&self) -> &dyn ObjectStore {
        match self {
            Self::S3 { objects, .. } => objects,
            Self::Local { objects, .. } => objects,
        }
    }

    fn gaps(&self) -> &'static [Gap] {
        match self {
            Self::S3 { .. } => &[Gap::PostSignature, Gap::UnlistedFields],
            Self::Local { .. } => &[],
        }
    }

    /// What a browser does with a presigned POST: every field, then the file as `file`.
    async fn upload(
        &self,
        post: &PresignedPost,
        fields: &BTreeMap<String, String>,
        file_type: &str,
        bytes: &[u8],
    ) -> Result<(), Rejection> {
        match self {
            Self::S3 { http, .. } => {
                let mut form = reqwest::multipart::Form::new();
                for (name, value) in fields {
                    form = form.text(name.clone(), value.clone());
                }
                let file =
                    reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("photo").mime_str(file_type).unwrap();
                let resp = http.post(&post.url).multipart(form.part("file", file)).send().await.unwrap();
                let status = resp.status().as_u16();
                let body = resp.text().await.unwrap();
                if (200..300).contains(&status) {
                    return Ok(());
                }
                let code = body.split_once("<Code>").and_then(|(_, rest)| rest.split_once("</Code>")).map(|(c, _)| c);
                Err(Rejection { status, code: code.unwrap_or("?").to_owned() })
            }
            Self::Local { objects, .. } => match objects.accept_upload(fields, Some(file_type), bytes, now()) {
                Ok(_) => Ok(()),
                Err(e) => {
                    let code = match e {
                        UploadRejected::AccessDenied(_) => "AccessDenied",
                        UploadRejected::EntityTooLarge => "EntityTooLarge",
                        UploadRejected::EntityTooSmall => "EntityTooSmall",
                        UploadRejected::Internal => "InternalError",
                    };
                    Err(Rejection { status: e.status(), code: code.into() })
                }
            },
        }
    }

    /// A plain GET of a presigned URL; Err(status) when refused.
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, u16> {
        match self {
            Self::S3 { http, .. } => {
                let resp = http.get(url).send().await.unwrap();
                match resp.status().as_u16() {
                    200 => Ok(resp.bytes().await.unwrap().to_vec()),
                    status => Err(status),
                }
            }
            // What the local server's `/_local/objects/<key>` route will do.
            Self::Local { objects, .. } => {
                let rest = url.strip_prefix(&format!("{LOCAL_BASE}/_local/objects/")).expect("local object URL");
                let (key, query) = rest.split_once('?').unwrap();
                let q: BTreeMap<_, _> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
                let expires = q.get("expires").and_then(|e| e.parse().ok()).unwrap_or(0);
                if !objects.verify_get(key, expires, q.get("signature").map_or("", |s| s), now()) {
                    return Err(403);
                }
                objects.get(key, u64::MAX).await.unwrap().map(|o| o.bytes).ok_or(404)
            }
        }
    }

    /// True when `gap` applies: `out` must then show the rule is still unenforced.
    fn known_gap(&self, gap: Gap, out: &Result<(), Rejection>) -> bool {
        if !self.gaps().contains(&gap) {
            return false;
        }
        eprintln!(
            "KNOWN GAP {gap:?}: LocalStack does not enforce this S3 rule; checked against the local adapter only"
        );
        assert!(out.is_ok(), "the emulator now enforces {gap:?} ({out:?}): remove it from Harness::gaps");
        true
    }
}

fn photo_policy(expires_in: Duration) -> UploadPolicy {
    UploadPolicy {
        key: format!("sessions/{}/front.jpg", uuid::Uuid::new_v4().simple()),
        content_type: JPEG.into(),
        min_bytes: 4,
        max_bytes: 64,
        expires_in,
    }
}

async fn presign(h: &Harness) -> (UploadPolicy, PresignedPost) {
    let policy = photo_policy(Duration::from_secs(120));
    let post = h.store().presign_post(&policy, now()).await.unwrap();
    (policy, post)
}

async fn assert_absent(h: &Harness, key: &str) {
    assert_eq!(h.store().get(key, 1 << 20).await.unwrap(), None, "{key} must not be stored");
}

fn assert_rejected(out: Result<(), Rejection>, status: u16, code: Option<&str>) {
    let rejection = out.expect_err("upload must be rejected");
    assert_eq!(rejection.status, status, "{rejection:?}");
    if let Some(code) = code {
        assert_eq!(rejection.code, code, "{rejection:?}");
    }
}

async fn a_valid_upload_is_stored(h: Harness) {
    let (policy, post) = presign(&h).await;
    assert!(post.expires_at > now() + 100 && post.expires_at <= now() + 120);
    h.upload(&post, &post.fields, JPEG, b"front-photo").await.unwrap();
    let stored = h.store().get(&policy.key, 64).await.unwrap().expect("stored");
    assert_eq!(stored.bytes, b"front-photo");
    assert_eq!(stored.content_type.as_deref(), Some(JPEG));
}

async fn a_retake_replaces_the_object(h: Harness) {
    let (policy, post) = presign(&h).await;
    h.upload(&post, &post.fields, JPEG, b"blurry-photo").await.unwrap();
    h.upload(&post, &post.fields, JPEG, b"sharp").await.unwrap();
    assert_eq!(h.store().get(&policy.key, 64).await.unwrap().unwrap().bytes, b"sharp");
}

/// Swaps the first character of a hex or base64url value for another one of the same alphabet.
fn tamper(value: &str) -> String {
    let first = if value.starts_with('a') { "b" } else { "a" };
    format!("{first}{}", &value[1..])
}

async fn a_tampered_signature_is_refused(h: Harness) {
    let (policy, post) = presign(&h).await;
    let mut fields = post.fields.clone();
    let name = if fields.contains_key("x-amz-signature") { "x-amz-signature" } else { "signature" };
    fields.insert(name.into(), tamper(&fields[name]));
    let out = h.upload(&post, &fields, JPEG, b"front-photo").await;
    if h.known_gap(Gap::PostSignature, &out) {
        return;
    }
    assert_rejected(out, 403, None);
    assert_absent(&h, &policy.key).await;
}

async fn a_content_type_other_than_signed_is_refused(h: Harness) {
    let (policy, post) = presign(&h).await;
    let mut fields = post.fields.clone();
    fields.insert("Content-Type".into(), "text/html".into());
    assert_rejected(h.upload(&post, &fields, "text/html", b"<script>").await, 403, Some("AccessDenied"));
    assert_absent(&h, &policy.key).await;
}

async fn sizes_outside_the_range_are_refused(h: Harness) {
    let (policy, post) = presign(&h).await;
    let out = h.upload(&post, &post.fields, JPEG, &[0xff; 65]).await;
    assert_rejected(out, 400, Some("EntityTooLarge"));
    assert_rejected(h.upload(&post, &post.fields, JPEG, b"abc").await, 400, Some("EntityTooSmall"));
    assert_absent(&h, &policy.key).await;
    // The bounds themselves are allowed.
    h.upload(&post, &post.fields, JPEG, &[1; 64]).await.unwrap();
    h.upload(&post, &post.fields, JPEG, b"abcd").await.unwrap();
}

async fn an_expired_policy_is_refused(h: Harness) {
    let policy = photo_policy(Duration::from_secs(1));
    let post = h.store().presign_post(&policy, now()).await.unwrap();
    // Wait until the expiry second has fully passed.
    let wait = (post.expires_at + 1) * 1000 - chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64 + 50)).await;
    assert_rejected(h.upload(&post, &post.fields, JPEG, b"front-photo").await, 403, Some("AccessDenied"));
    assert_absent(&h, &policy.key).await;
}

async fn a_key_other_than_signed_is_refused(h: Harness) {
    let (policy, post) = presign(&h).await;
    let other = policy.key.replace("front", "back");
    let mut fields = post.fields.clone();
    fields.insert("key".into(), other.clone());
    assert_rejected(h.upload(&post, &fields, JPEG, b"front-photo").await, 403, Some("AccessDenied"));
    assert_absent(&h, &other).await;
    assert_absent(&h, &policy.key).await;
}

async fn a_field_the_policy_does_not_name_is_refused(h: Harness) {
    let (policy, post) = presign(&h).await;
    let mut fields = post.fields.clone();
    fields.insert("acl".into(), "public-read".into());
    let out = h.upload(&post, &fields, JPEG, b"front-photo").await;
    if h.known_gap(Gap::UnlistedFields, &out) {
        return;
    }
    assert_rejected(out, 403, Some("AccessDenied"));
    assert_absent(&h, &policy.key).await;
}

async fn presigned_gets_fetch_the_bytes_and_refuse_tampering(h: Harness) {
    let (policy, post) = presign(&h).await;
    h.upload(&post, &post.fields, JPEG, b"front-photo").await.unwrap();
    let url = h.store().presign_get(&policy.key, Duration::from_secs(30)).await.unwrap();
    assert_eq!(h.fetch(&url).await.unwrap(), b"front-photo");
    let (head, sig) = url.split_once("ignature=").expect("signature parameter");
    assert_eq!(h.fetch(&format!("{head}ignature={}", tamper(sig))).await, Err(403));
    // The same signature for another key is refused too.
    let other = url.replace("front.jpg", "back.jpg");
    assert_eq!(h.fetch(&other).await, Err(403));
}

async fn reads_are_bounded_and_missing_is_none(h: Harness) {
    let (policy, post) = presign(&h).await;
    h.upload(&post, &post.fields, JPEG, b"front-photo").await.unwrap();
    let out = h.store().get(&policy.key, 10).await;
    assert!(matches!(out, Err(ObjectError::TooLarge(10))), "{out:?}");
    assert_eq!(h.store().get(&policy.key, 11).await.unwrap().unwrap().bytes, b"front-photo");
    assert_absent(&h, &photo_policy(Duration::from_secs(60)).key).await;
}

async fn delete_removes_and_is_idempotent(h: Harness) {
    let (policy, post) = presign(&h).await;
    h.upload(&post, &post.fields, JPEG, b"front-photo").await.unwrap();
    h.store().delete(&policy.key).await.unwrap();
    assert_absent(&h, &policy.key).await;
    h.store().delete(&policy.key).await.unwrap();
}

/// Erasure: everything under a session's prefix goes, counted; a neighbour whose id
/// starts the same stays; a second erasure finds nothing.
async fn delete_prefix_removes_exactly_the_folder(h: Harness) {
    let session = uuid::Uuid::new_v4().simple().to_string();
    let keys: Vec<String> =
        ["front.jpg", "back.jpg", "frames/1.jpg"].iter().map(|f| format!("sessions/{session}/{f}")).collect();
    let neighbour = format!("sessions/{session}x/front.jpg");
    for key in keys.iter().chain([&neighbour]) {
        let policy = UploadPolicy { key: key.clone(), ..photo_policy(Duration::from_secs(120)) };
        let post = h.store().presign_post(&policy, now()).await.unwrap();
        h.upload(&post, &post.fields, JPEG, b"front-photo").await.unwrap();
    }
    let prefix = format!("sessions/{session}/");
    assert_eq!(h.store().delete_prefix(&prefix).await.unwrap(), 3);
    for key in &keys {
        assert_absent(&h, key).await;
    }
    assert!(h.store().get(&neighbour, 64).await.unwrap().is_some(), "only the folder is erased");
    assert_eq!(h.store().delete_prefix(&prefix).await.unwrap(), 0);
    for bad in [format!("sessions/{session}"), "sessions//".into(), "../".into()] {
        assert!(h.store().delete_prefix(&bad).await.is_err(), "{bad} is not a folder prefix");
    }
}

async fn overlong_or_inconsistent_policies_are_refused(h: Harness) {
    let long = photo_policy(Duration::from_secs(15 * 60 + 1));
    let out = h.store().presign_post(&long, now()).await;
    assert!(matches!(out, Err(ObjectError::InvalidPolicy(_))), "{out:?}");
    let mut inverted = photo_policy(Duration::from_secs(60));
    (inverted.min_bytes, inverted.max_bytes) = (10, 9);
    let out = h.store().presign_post(&inverted, now()).await;
    assert!(matches!(out, Err(ObjectError::InvalidPolicy(_))), "{out:?}");
    let mut traversal = photo_policy(Duration::from_secs(60));
    traversal.key = "../etc/passwd".into();
    let out = h.store().presign_post(&traversal, now()).await;
    assert!(matches!(out, Err(ObjectError::InvalidPolicy(_))), "{out:?}");
    h.store().presign_post(&photo_policy(Duration::from_secs(15 * 60)), now()).await.unwrap();
    let out = h.store().presign_get("a/b.jpg", Duration::from_secs(61)).await;
    assert!(matches!(out, Err(ObjectError::InvalidPolicy(_))), "{out:?}");
}

macro_rules! contract {
    ($adapter:ident, $make:expr) => {
        mod $adapter {
            use super::*;
            contract!(@tests $make;
                a_valid_upload_is_stored,
                a_retake_replaces_the_object,
                a_tampered_signature_is_refused,
                a_content_type_other_than_signed_is_refused,
                sizes_outside_the_range_are_refused,
                an_expired_policy_is_refused,
                a_key_other_than_signed_is_refused,
                a_field_the_policy_does_not_name_is_refused,
                presigned_gets_fetch_the_bytes_and_refuse_tampering,
                reads_are_bounded_and_missing_is_none,
                delete_removes_and_is_idempotent,
                delete_prefix_removes_exactly_the_folder,
                overlong_or_inconsistent_policies_are_refused);
        }
    };
    (@tests $make:expr; $($name:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            if let Some(harness) = $make.await {
                super::$name(harness).await;
            }
        }
    )*};
}

async fn local_harness() -> Option<Harness> {
    let dir = tempfile::tempdir().unwrap();
    let objects = LocalObjects::new(dir.path().to_path_buf(), LOCAL_BASE.into(), rand::random());
    Some(Harness::Local { objects, _dir: dir })
}

/// LocalStack must be running unless `TI_SKIP_LOCALSTACK=1` says to skip on purpose.
fn localstack_configured() -> bool {
    if std::env::var("AWS_ENDPOINT_URL").is_ok() {
        return true;
    }
    if std::env::var("TI_SKIP_LOCALSTACK").as_deref() == Ok("1") {
        eprintln!("skipping S3 contract test: TI_SKIP_LOCALSTACK=1");
        return false;
    }
    panic!("AWS_ENDPOINT_URL is not set: run `scripts/test` (it starts LocalStack), or set TI_SKIP_LOCALSTACK=1");
}

/// A fresh bucket per test, so tests never see each other's objects.
async fn s3_objects() -> Option<S3Objects> {
    if !localstack_configured() {
        return None;
    }
    let bucket = format!("ti-objects-{}", uuid::Uuid::new_v4().simple());
    let objects = S3Objects::from_env(&bucket).expect("S3 adapter");
    objects.create_bucket().await.expect("create bucket");
    // Idempotent: a second create is fine.
    objects.create_bucket().await.expect("create bucket again");
    Some(objects)
}

async fn s3_harness() -> Option<Harness> {
    let objects = s3_objects().await?;
    // No proxy: the presigned URLs point at the local emulator.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Some(Harness::S3 { objects, http })
}

contract!(local, local_harness());
contract!(s3, s3_harness());

/// S3-only: uploads announce themselves on the queue the workers consume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_uploads_notify_the_queue() {
    let Some(objects) = s3_objects().await else { return };
    let config = shared::sdk::from_env().expect("the AWS settings in the environment");
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = format!("ti-uploads-{}", uuid::Uuid::new_v4().simple());
    let url = sqs.create_queue().queue_name(&queue).send().await.unwrap().queue_url.unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    objects.notify_queue(&arn).await.unwrap();

    let harness = Harness::S3 { objects, http: reqwest::Client::builder().no_proxy().build().unwrap() };
    let (policy, post) = presign(&harness).await;
    harness.upload(&post, &post.fields, JPEG, b"front-photo").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let out = sqs.receive_message().queue_url(&url).wait_time_seconds(2).send().await.unwrap();
        // S3 first sends an s3:TestEvent; look for the ObjectCreated record for our key.
        if out
            .messages()
            .iter()
            .filter_map(|m| m.body())
            .any(|b| b.contains("ObjectCreated") && b.contains(&policy.key))
        {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no ObjectCreated notification for the upload");
    }
}
