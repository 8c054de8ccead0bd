//! The session API end to end: the real binary over the embedded store and over DynamoDB Local.

mod common;

use common::{DEMO_KEY, Storage, example};
use serde_json::{Value, json};

on_every_store!(
    create_read_and_cancel,
    every_bad_input_is_refused_and_changes_nothing,
    tenants_see_only_their_own_sessions,
    idempotency_keys_replay_or_conflict,
);

async fn create_read_and_cancel(storage: Storage) {
    let server = storage.start();
    let created = server.create(DEMO_KEY, &example("cust_flow"), None).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["status"], "success");
    let id = created.body["session_id"].as_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
    assert_eq!(created.headers["location"], format!("/identity/{id}"));

    // The journey URL carries its own secret (>= 128 bits), never the session id.
    let url = created.body["identity_url"].as_str().unwrap();
    let secret = url.rsplit('/').next().unwrap();
    assert!(url.starts_with(&format!("{}/j/", server.base)), "{url}");
    assert!(secret.len() >= 22 && !url.contains(&id), "{url}");
    let now = chrono_like_now();
    let expires_at = created.body["expires_at"].as_i64().unwrap();
    assert!((expires_at - now - 48 * 3600).abs() < 120, "default expiry is 48 h");

    let read = server.get(DEMO_KEY, &id).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["status"], "created");
    assert_eq!(read.body["reference"], "cust_flow");
    assert_eq!(read.body["identity_url"], url);
    let steps: Vec<_> = read.body["steps"].as_array().unwrap().iter().map(|s| s["name"].clone()).collect();
    assert_eq!(steps, vec![json!("document"), json!("liveness"), json!("dvs")]);
    assert!(read.body["steps"].as_array().unwrap().iter().all(|s| s["status"] == "pending"));
    assert!(read.body.get("first_name").is_none(), "pre-filled PII is not echoed");

    let cancelled = server.cancel(DEMO_KEY, &id).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    let read = server.get(DEMO_KEY, &id).await;
    assert_eq!(read.body["status"], "cancelled");
    assert!(read.body.get("identity_url").is_none(), "a cancelled journey has no link");
    assert!(read.body["steps"].as_array().unwrap().iter().all(|s| s["status"] == "skipped"));
    // Cancelling twice is harmless.
    assert_eq!(server.cancel(DEMO_KEY, &id).await.body["status"], "cancelled");

    // Optional fields, and http://localhost redirects in local mode for a registered origin.
    let mut full = example("cust_full");
    let extra = json!({
        "redirect_url": "http://localhost:3000/done?from=ti", "min_age": 18, "threshold": 0.9,
        "webhook_url": "http://127.0.0.1:9/hooks", "locale": "en-AU", "expires_in": 600,
        "metadata": {"plan": "gold", "user.id": "42"}
    });
    full.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let created = server.create(DEMO_KEY, &full, None).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let read = server.get(DEMO_KEY, created.body["session_id"].as_str().unwrap()).await;
    assert_eq!(read.body["threshold"], 0.9);
    assert_eq!(read.body["min_age"], 18);
    assert_eq!(read.body["locale"], "en-AU");
    assert_eq!(read.body["metadata"]["plan"], "gold");
    assert_eq!(read.body["expires_at"].as_i64().unwrap() - read.body["created_at"].as_i64().unwrap(), 600);
}

fn chrono_like_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Each case: a request, the reply it must get, and proof that nothing was stored.
async fn every_bad_input_is_refused_and_changes_nothing(storage: Storage) {
    let server = storage.start();
    let with = |reference: &str, patch: Value| {
        let mut body = example(reference);
        let map = body.as_object_mut().unwrap();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                map.remove(k)
            } else {
                map.insert(k.clone(), v.clone())
            };
        }
        body
    };
    let json_cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        ("r_unknown", with("r_unknown", json!({"colour": "red"})), 400, "unknown_field", "colour"),
        ("r_missing", with("r_missing", json!({"reference": null})), 400, "missing_field", "reference"),
        ("r_empty", with("r_empty", json!({"steps": []})), 400, "empty_steps", "steps"),
        (
            "r_unknown_step",
            with("r_unknown_step", json!({"steps": ["document", "selfie"]})),
            400,
            "unknown_step",
            "steps[1]",
        ),
        ("r_dup", with("r_dup", json!({"steps": ["dvs", "dvs"]})), 400, "duplicate_step", "steps[1]"),
        (
            "r_http",
            with("r_http", json!({"redirect_url": "http://yourapp.com/verified"})),
            400,
            "invalid_redirect_url",
            "redirect_url",
        ),
        (
            "r_origin",
            with("r_origin", json!({"redirect_url": "https://evil.example/verified"})),
            400,
            "redirect_origin_not_allowed",
            "redirect_url",
        ),
        (
            "r_port",
            with("r_port", json!({"redirect_url": "http://localhost:4000/x"})),
            400,
            "redirect_origin_not_allowed",
            "redirect_url",
        ),
        ("r_ctrl", with("r_ctrl", json!({"first_name": "Ja\u{0007}ne"})), 400, "invalid_name", "first_name"),
        ("r_long", with("r_long", json!({"last_name": "S".repeat(101)})), 400, "invalid_name", "last_name"),
        ("r_date", with("r_date", json!({"birth_date": "1990-02-30"})), 400, "invalid_birth_date", "birth_date"),
        ("r_future", with("r_future", json!({"birth_date": "2999-01-01"})), 400, "birth_date_in_future", "birth_date"),
        ("r_threshold", with("r_threshold", json!({"threshold": 1.01})), 400, "invalid_threshold", "threshold"),
        ("r_expires", with("r_expires", json!({"expires_in": 31_536_000})), 400, "invalid_expires_in", "expires_in"),
        ("r_meta", with("r_meta", json!({"metadata": {"k": {"nested": true}}})), 400, "invalid_type", "metadata.k"),
    ];
    for (i, (reference, body, status, code, field)) in json_cases.into_iter().enumerate() {
        let key = format!("bad-{i}");
        server.create(DEMO_KEY, &body, Some(&key)).await.assert_error(status, code, field);
        assert_nothing_stored(&server, reference, &key).await;
    }

    // Raw bodies and headers.
    let post = || server.http.post(server.url("/identity")).bearer_auth(DEMO_KEY);
    let raw_cases = vec![
        (
            "r_malformed",
            post().header("content-type", "application/json").body("{\"reference\": \"r_malformed\","),
            400,
            "invalid_json",
            "body",
        ),
        (
            "r_type",
            post().header("content-type", "text/plain").body(example("r_type").to_string()),
            415,
            "unsupported_media_type",
            "Content-Type",
        ),
        ("r_notype", post().body(example("r_notype").to_string()), 415, "unsupported_media_type", "Content-Type"),
        (
            "r_big",
            post().header("content-type", "application/json").body(format!(
                "{}{}",
                " ".repeat(64 * 1024),
                example("r_big")
            )),
            413,
            "payload_too_large",
            "body",
        ),
        (
            "r_nokey",
            server.http.post(server.url("/identity")).json(&example("r_nokey")),
            401,
            "unauthorized",
            "Authorization",
        ),
        (
            "r_badkey",
            server
                .http
                .post(server.url("/identity"))
                .bearer_auth("ti_test_not_a_real_key_at_all_000")
                .json(&example("r_badkey")),
            401,
            "unauthorized",
            "Authorization",
        ),
        (
            "r_basic",
            server.http.post(server.url("/identity")).basic_auth("u", Some("p")).json(&example("r_basic")),
            401,
            "unauthorized",
            "Authorization",
        ),
    ];
    for (i, (reference, req, status, code, field)) in raw_cases.into_iter().enumerate() {
        let key = format!("raw-{i}");
        let reply = server.send(req.header("Idempotency-Key", &key)).await;
        reply.assert_error(status, code, field);
        if status == 401 {
            assert_eq!(reply.headers["www-authenticate"], "Bearer");
        }
        assert_nothing_stored(&server, reference, &key).await;
    }

    let bad_idem = server.create(DEMO_KEY, &example("r_idem"), Some("has space")).await;
    bad_idem.assert_error(400, "invalid_idempotency_key", "Idempotency-Key");
    assert!(server.list(DEMO_KEY, "r_idem").await.is_empty());

    // Unknown sessions, malformed ids and wrong methods.
    let missing = uuid::Uuid::new_v4().to_string();
    server.get(DEMO_KEY, &missing).await.assert_error(404, "session_not_found", "session_id");
    server.get(DEMO_KEY, "not-a-uuid").await.assert_error(404, "session_not_found", "session_id");
    server.cancel(DEMO_KEY, &missing).await.assert_error(404, "session_not_found", "session_id");
    server.get("ti_test_wrong_key_000000000000", &missing).await.assert_error(401, "unauthorized", "Authorization");
    let put = server.send(server.http.put(server.url("/identity")).bearer_auth(DEMO_KEY).json(&example("r_put"))).await;
    put.assert_error(405, "method_not_allowed", "method");
    assert_eq!(put.headers["allow"], "GET, POST");
    let patch = server.send(server.http.patch(server.url(&format!("/identity/{missing}"))).bearer_auth(DEMO_KEY)).await;
    patch.assert_error(405, "method_not_allowed", "method");
    server.send(server.http.get(server.url("/nowhere"))).await.assert_error(404, "route_not_found", "path");
    let list = server.send(server.http.get(server.url("/identity")).bearer_auth(DEMO_KEY)).await;
    list.assert_error(400, "missing_field", "reference");
}

/// Nothing under the reference, and the Idempotency-Key was not consumed: a different
/// valid body with the same key creates a fresh session instead of conflicting.
async fn assert_nothing_stored(server: &common::Server, reference: &str, key: &str) {
    assert!(server.list(DEMO_KEY, reference).await.is_empty(), "{reference} stored a session");
    let fresh = server.create(DEMO_KEY, &example(&format!("{reference}_after")), Some(key)).await;
    assert_eq!(fresh.status, 201, "{key} was consumed: {}", fresh.body);
    assert!(fresh.headers.get("idempotent-replayed").is_none());
}

async fn tenants_see_only_their_own_sessions(storage: Storage) {
    let other = storage.create_tenant(&["https://second.example"]);
    let other_key = other["api_key"].as_str().unwrap().to_owned();
    assert!(other_key.starts_with("ti_test_"));
    let server = storage.start();

    let mine = server.create(DEMO_KEY, &example("cust_shared_ref"), None).await;
    let id = mine.body["session_id"].as_str().unwrap().to_owned();

    // Another tenant's session answers exactly like a missing one.
    let theirs = server.get(&other_key, &id).await;
    let missing = server.get(&other_key, &uuid::Uuid::new_v4().to_string()).await;
    theirs.assert_error(404, "session_not_found", "session_id");
    assert_eq!(theirs.body, missing.body);
    server.cancel(&other_key, &id).await.assert_error(404, "session_not_found", "session_id");
    assert_eq!(server.get(DEMO_KEY, &id).await.body["status"], "created");
    assert!(server.list(&other_key, "cust_shared_ref").await.is_empty());

    // Redirect origins are per tenant too.
    server.create(&other_key, &example("cust_x"), None).await.assert_error(
        400,
        "redirect_origin_not_allowed",
        "redirect_url",
    );
    let mut body = example("cust_shared_ref");
    body["redirect_url"] = json!("https://second.example/back");
    let second = server.create(&other_key, &body, None).await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!(server.list(&other_key, "cust_shared_ref").await.len(), 1);
    assert_eq!(server.list(DEMO_KEY, "cust_shared_ref").await.len(), 1);
}

async fn idempotency_keys_replay_or_conflict(storage: Storage) {
    let other = storage.create_tenant(&["https://yourapp.com"]);
    let other_key = other["api_key"].as_str().unwrap().to_owned();
    let server = storage.start();

    let first = server.create(DEMO_KEY, &example("cust_idem"), Some("order-1")).await;
    assert_eq!(first.status, 201);
    // Same body with keys reordered: the same session, marked as a replay.
    let reordered: Value = serde_json::from_str(
        r#"{"birth_date":"1990-01-31","last_name":"Smith","first_name":"Jane","steps":["document","liveness","dvs"],
            "redirect_url":"https://yourapp.com/verified","reference":"cust_idem"}"#,
    )
    .unwrap();
    let again = server.create(DEMO_KEY, &reordered, Some("order-1")).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");

    let mut changed = example("cust_idem");
    changed["first_name"] = json!("Janet");
    server.create(DEMO_KEY, &changed, Some("order-1")).await.assert_error(
        409,
        "idempotency_key_reused",
        "Idempotency-Key",
    );
    assert_eq!(server.list(DEMO_KEY, "cust_idem").await.len(), 1);

    // Another tenant's identical key is independent.
    let theirs = server.create(&other_key, &example("cust_idem"), Some("order-1")).await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["session_id"], first.body["session_id"]);

    // Concurrent first uses of one key make one session.
    let race = example("cust_race");
    let attempts = (0..6).map(|_| server.create(DEMO_KEY, &race, Some("race-1")));
    let replies = futures::future::join_all(attempts).await;
    let ids: std::collections::HashSet<_> =
        replies.iter().map(|r| (r.status, r.body["session_id"].as_str().unwrap_or_default().to_owned())).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(server.list(DEMO_KEY, "cust_race").await.len(), 1);
}
