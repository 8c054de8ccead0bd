//! Appendix links end to end over the embedded object store and session store: a link
//! in a result leads, through a 302, to a short-lived presigned GET of the evidence.

use std::collections::BTreeMap;
use std::time::Duration;

use http::{StatusCode, header};
use serde_json::json;
use shared::appendix::{self, AppendixLinks, LinkError};
use shared::artifacts::Artifact;
use shared::domain::SessionId;
use shared::objects::local::LocalObjects;
use shared::objects::{MAX_DOWNLOAD_TTL, ObjectSigner, ObjectStore, UploadPolicy};
use shared::testing::{Demo, demo};

const BYTES: &[u8] = b"not really a jpeg, but the store does not care";

struct Rig {
    demo: Demo,
    objects: LocalObjects,
    links: AppendixLinks,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let demo = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let objects = LocalObjects::new(dir.path().to_path_buf(), "http://127.0.0.1:8080".into(), [7; 32]);
    let links = AppendixLinks::new([3; 32], "http://127.0.0.1:8080");
    Rig { demo, objects, links, _dir: dir }
}

impl Rig {
    async fn session_with(&self, artifact: Artifact) -> SessionId {
        let body = json!({"reference": "cust_app", "redirect_url": "https://yourapp.com/done",
                          "first_name": "Jane", "last_name": "Smith", "steps": ["document", "liveness"]});
        let (session, _) =
            self.demo.app.create_session(&self.demo.tenant, body.to_string().as_bytes(), None).await.unwrap();
        let policy = UploadPolicy {
            key: artifact.key(session.id),
            content_type: "image/jpeg".into(),
            min_bytes: 1,
            max_bytes: 1024,
            expires_in: Duration::from_secs(600),
        };
        let now = self.demo.app.now();
        let post = self.objects.presign_post(&policy, now).await.unwrap();
        let fields: BTreeMap<_, _> = post.fields.into_iter().collect();
        self.objects.accept_upload(&fields, Some("image/jpeg"), BYTES, now).unwrap();
        session.id
    }

    async fn serve(&self, token: &str, now: i64) -> Result<String, LinkError> {
        appendix::serve(&self.links, &self.objects, |id| self.demo.app.load(id), token, now).await
    }
}

fn token(url: &str) -> &str {
    url.strip_prefix("http://127.0.0.1:8080/appendix/").expect("link under our host")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `(key, expires, signature)` from a local presigned GET URL.
fn parse_presigned(url: &str) -> (String, i64, String) {
    let url = url::Url::parse(url).unwrap();
    let key = url.path().strip_prefix("/_local/objects/").unwrap().to_owned();
    let query: BTreeMap<_, _> = url.query_pairs().into_owned().collect();
    (key, query["expires"].parse().unwrap(), query["signature"].clone())
}

#[tokio::test]
async fn a_link_redirects_to_a_short_lived_presigned_get_of_the_evidence() {
    let rig = rig().await;
    let id = rig.session_with(Artifact::DocumentFront).await;
    let session = rig.demo.app.load(id).await.unwrap().unwrap();
    let entries = rig.links.links(&session, &[Artifact::DocumentFront], now());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].filename, "document-front.jpg");

    let before = now();
    let location = rig.serve(token(&entries[0].url), now()).await.unwrap();
    let (key, expires, signature) = parse_presigned(&location);
    assert_eq!(key, Artifact::DocumentFront.key(id));
    assert!(expires > before && expires <= now() + MAX_DOWNLOAD_TTL.as_secs() as i64, "lives at most 60 s");
    assert!(rig.objects.verify_get(&key, expires, &signature, now()));
    assert!(!rig.objects.verify_get(&Artifact::Selfie.key(id), expires, &signature, now()));
    assert_eq!(rig.objects.get(&key, 1024).await.unwrap().unwrap().bytes, BYTES);

    let resp = appendix::response(Ok(location.clone()));
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(resp.headers()[header::LOCATION], location.as_str());
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn expired_links_are_gone_and_unknown_ones_not_found() {
    let rig = rig().await;
    let id = rig.session_with(Artifact::Selfie).await;
    let session = rig.demo.app.load(id).await.unwrap().unwrap();
    let issued = now() - 8 * 24 * 3600;
    let stale = rig.links.links(&session, &[Artifact::Selfie], issued).remove(0);

    let expired = rig.serve(token(&stale.url), now()).await;
    assert_eq!(expired, Err(LinkError::Expired));
    let resp = appendix::response(expired);
    assert_eq!(resp.status(), StatusCode::GONE);
    let body: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(body["error"]["code"], "appendix_expired");
    assert_eq!(body["error"]["field"], "token");

    // The same session's links issued now still work: each read of a session gets fresh ones.
    let fresh = rig.links.links(&session, &[Artifact::Selfie], now()).remove(0);
    assert!(rig.serve(token(&fresh.url), now()).await.is_ok());

    for unknown in ["nope", "AAAA.BBBB", &token(&fresh.url).replace('.', "")] {
        let result = rig.serve(unknown, now()).await;
        assert_eq!(result, Err(LinkError::NotFound), "{unknown}");
        let resp = appendix::response(result);
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let body: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(body["error"]["code"], "appendix_not_found");
    }
}

#[tokio::test]
async fn a_link_to_a_session_that_no_longer_exists_is_gone() {
    let rig = rig().await;
    // A genuine token for a session the store does not hold (purged).
    let purged = SessionId::random();
    let url = rig.links.entry(purged, Artifact::DocumentBack, None, now()).url;
    assert_eq!(rig.serve(token(&url), now()).await, Err(LinkError::Expired));
}
