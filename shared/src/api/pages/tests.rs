//! The pages through the journey router, on the embedded store and the local object store.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode, header};
use serde_json::Value;

use crate::api::Response;
use crate::api::journey::{JourneyApi, JourneyEndpoint, handle};
use crate::domain::Session;
use crate::results::ResultTokens;
use crate::signing::{ResultSigner, SigningKey};
use crate::testing::{Demo, demo, local_pipeline};

async fn api(demo: &Demo, dir: &std::path::Path) -> JourneyApi {
    let local = local_pipeline(demo, dir, 5);
    let signer = ResultSigner::new(SigningKey::generate_es256().unwrap()).unwrap();
    JourneyApi {
        pipeline: Arc::new(local.pipeline),
        tokens: Arc::new(ResultTokens::new(signer, "http://127.0.0.1:8080")),
    }
}

async fn call(api: &JourneyApi, method: Method, uri: &str) -> Response {
    let req = http::Request::builder().method(method.clone()).uri(uri).body(Bytes::new()).unwrap();
    let endpoint = JourneyEndpoint::route(&method, req.uri().path()).expect("a journey path").expect("routed");
    handle(api, endpoint, &req).await
}

fn text(resp: &Response) -> &str {
    std::str::from_utf8(resp.body()).unwrap()
}

async fn open_session(demo: &Demo) -> (Session, String) {
    let session = demo.seed_session("6f1c2a7e-3d4b-4c5a-9e8f-0a1b2c3d4e5f").await;
    let secret = session.journey_secret.expose().to_owned();
    (session, secret)
}

#[tokio::test]
async fn the_journey_page_boots_the_script_and_allows_the_upload_host() {
    let (demo, dir) = (demo().await, tempfile::tempdir().unwrap());
    let api = api(&demo, dir.path()).await;
    let (_, secret) = open_session(&demo).await;
    let resp = call(&api, Method::GET, &format!("/j/{secret}")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let csp = resp.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("connect-src 'self' http://127.0.0.1:8080;"), "{csp}");
    assert!(csp.contains("form-action 'self' http://127.0.0.1:8080;"), "{csp}");
    let html = text(&resp);
    assert!(html.contains("\"page\":\"app\"") && html.contains(&format!("\"base\":\"/j/{secret}\"")), "{html}");
    assert!(html.contains("\"challenge\""), "the session view is the boot data");
    let unknown = call(&api, Method::GET, &format!("/j/{}", "x".repeat(43))).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(text(&unknown).contains("We can&#39;t find this page"));
}

#[tokio::test]
async fn a_handoff_link_opens_once_and_only_its_digest_is_stored() {
    let (demo, dir) = (demo().await, tempfile::tempdir().unwrap());
    let api = api(&demo, dir.path()).await;
    let (session, secret) = open_session(&demo).await;
    let created = call(&api, Method::POST, &format!("/j/{secret}/handoff")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = serde_json::from_slice(created.body()).unwrap();
    let url = body["url"].as_str().unwrap();
    let token = url.strip_prefix("http://127.0.0.1:8080/h/").expect("a link on our host");
    assert!(body["qr_svg"].as_str().unwrap().starts_with("<?xml") || body["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(body["expires_at"].as_i64().unwrap() > demo.app.now());
    let stored = demo.app.load(session.id).await.unwrap().unwrap();
    assert!(!serde_json::to_string(&stored).unwrap().contains(token), "only a digest is stored");

    let landing = call(&api, Method::GET, &format!("/h/{token}")).await;
    assert_eq!(landing.status(), StatusCode::OK);
    assert!(text(&landing).contains(&format!("action=\"/h/{token}\"")), "a GET does not use the link up");
    // Two phones race for one link: one wins, the other is told it was used.
    let open = format!("/h/{token}");
    let (a, b) = tokio::join!(call(&api, Method::POST, &open), call(&api, Method::POST, &open));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::GONE]);
    let winner = if a.status() == StatusCode::SEE_OTHER { &a } else { &b };
    assert_eq!(winner.headers()[header::LOCATION], format!("/j/{secret}?device=phone").as_str());
    let loser = if a.status() == StatusCode::GONE { &a } else { &b };
    assert!(text(loser).contains("This link has already been used"));
    let again = call(&api, Method::GET, &format!("/h/{token}")).await;
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(text(&again).contains("This link has already been used"));

    let view = call(&api, Method::GET, &format!("/j/{secret}/session")).await;
    let view: Value = serde_json::from_slice(view.body()).unwrap();
    assert_eq!(view["handoff"]["opened"], true);
    let unknown = call(&api, Method::GET, &format!("/h/{}", "A".repeat(65))).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn closed_journeys_get_their_own_pages() {
    let (demo, dir) = (demo().await, tempfile::tempdir().unwrap());
    let api = api(&demo, dir.path()).await;
    let (session, secret) = open_session(&demo).await;
    let link: Value =
        serde_json::from_slice(call(&api, Method::POST, &format!("/j/{secret}/handoff")).await.body()).unwrap();
    let token = link["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    demo.app.cancel_session(&demo.tenant, &session.id.to_string()).await.unwrap();
    let page = call(&api, Method::GET, &format!("/j/{secret}")).await;
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(text(&page).contains("This verification was cancelled"));
    let handoff = call(&api, Method::POST, &format!("/h/{token}")).await;
    assert_eq!(handoff.status(), StatusCode::GONE);
    assert!(text(&handoff).contains("This verification was cancelled"));
    let refused = call(&api, Method::POST, &format!("/j/{secret}/handoff")).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT, "no new links for a closed journey");
}
