//! The hosted journey in a real browser: the local server binary, a branded tenant, and
//! tests/browser/journey.spec.mjs driving headless Chromium (phone with a fake camera,
//! desktop-to-phone handoff by QR code, error pages, headers). Needs /usr/bin/chromium and
//! tests/browser/node_modules: run scripts/browser-deps.sh (scripts/test does).
//! Screenshots land in tests/browser/screenshots/ (git-ignored).

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{Backend, Storage};
use serde_json::json;
use shared::domain::SessionId;
use shared::ports::{Clock, SessionStore, SystemClock};
use shared::store::sqlite::SqliteStore;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");
const REDIRECT_ORIGIN: &str = "http://localhost:3000";

#[tokio::test(flavor = "multi_thread")]
async fn the_hosted_journey_works_in_chromium() {
    for needed in ["node_modules/playwright-core", "node_modules/jose", "node_modules/jsqr", "node_modules/pngjs"] {
        assert!(Path::new(DIR).join(needed).exists(), "tests/browser/{needed} is missing: run scripts/browser-deps.sh");
    }
    assert!(Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: run scripts/browser-deps.sh");

    let storage = Storage::new(Backend::Embedded).expect("embedded storage");
    let tenant = storage.create_tenant_with(&[
        "--name",
        "Acme Holdings Pty Ltd",
        "--display-name",
        "Acme Bank",
        "--primary-colour",
        "#0A5CFF",
        "--logo-url",
        &format!("{REDIRECT_ORIGIN}/logo.svg"),
        "--redirect-origin",
        REDIRECT_ORIGIN,
    ]);
    assert_eq!(tenant["branding"]["primary_colour"], "#0a5cff", "{tenant}");
    let key = tenant["api_key"].as_str().unwrap();
    let server = storage.start();

    // A session past its expiry: created through the API, then aged in the store (the
    // shortest journey lasts 10 minutes).
    let created = server
        .create(
            key,
            &json!({"reference": "expired", "redirect_url": format!("{REDIRECT_ORIGIN}/done"), "steps": ["document"]}),
            None,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let store = Arc::new(SqliteStore::open(&storage.data_dir.path().join("identity.sqlite3")).unwrap());
    let id = SessionId::parse(created.body["session_id"].as_str().unwrap()).unwrap();
    let mut session = store.get_session(id).await.unwrap().unwrap();
    let version = session.version;
    session.expires_at = SystemClock.now() - 60;
    session.version += 1;
    store.replace_session(&session, version).await.unwrap();

    // Each test gets 5 minutes, the whole run 12: a hang fails here, named, not at CI's limit.
    let mut node = Command::new("node");
    node.args(["--test", "--test-concurrency=1", "--test-timeout=300000", "--test-force-exit", "journey.spec.mjs"])
        .current_dir(DIR)
        .env("TI_BASE", &server.base)
        .env("TI_API_KEY", key)
        .env("TI_TENANT_ID", tenant["tenant_id"].as_str().unwrap())
        .env("TI_REDIRECT", format!("{REDIRECT_ORIGIN}/done?from=journey"))
        .env("TI_EXPIRED_URL", created.body["identity_url"].as_str().unwrap())
        .env("TI_SCREENSHOTS", Path::new(DIR).join("screenshots"));
    let status = common::status_within(&mut node, Duration::from_secs(12 * 60), "node journey.spec.mjs");
    assert!(status.success(), "the browser tests failed (node's output above)");
}
