//! The verification pipeline through the real binary: journey upload slots, direct uploads
//! to the (embedded) object store under a presigned policy, step processing on the
//! in-process queue, submission and the decision.

mod common;

use std::time::Duration;

use common::journey::*;
use common::{DEMO_KEY, Server, Storage};
use serde_json::{Value, json};
use shared::testing::noisy_png;

on_every_store!(
    a_journey_ends_in_a_decision,
    bad_uploads_are_refused_and_change_nothing,
    a_signed_webhook_reports_the_decision,
    details_feed_the_dvs_and_bank_steps
);

async fn start_session(server: &Server, steps: &[&str]) -> (String, String) {
    start_session_with(server, DEMO_KEY, json!({"steps": steps})).await
}

async fn start_session_with(server: &Server, key: &str, extra: Value) -> (String, String) {
    let mut body = json!({"reference": "cust_journey", "redirect_url": "https://yourapp.com/verified",
                          "first_name": "Jane", "last_name": "Smith", "birth_date": "1990-01-31"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let created = server.create(key, &body, None).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let url = created.body["identity_url"].as_str().unwrap();
    (created.body["session_id"].as_str().unwrap().to_owned(), url.rsplit('/').next().unwrap().to_owned())
}

async fn a_journey_ends_in_a_decision(storage: Storage) {
    let server = storage.start();
    let (id, secret) = start_session(&server, &["document", "liveness", "peps"]).await;
    assert_eq!(journey(&server, &secret).await["status"], "created");
    let unfinished = server.send(server.http.get(server.url(&format!("/j/{secret}/finish")))).await;
    unfinished.assert_error(409, "session_not_finished", "session");
    let early = server.send(server.http.post(server.url(&format!("/j/{secret}/submit")))).await;
    early.assert_error(409, "captures_missing", "captures");
    let view = journey(&server, &secret).await;
    assert_eq!(view["challenge"].as_array().unwrap().len(), 2, "{view}");
    let asked: Vec<&str> =
        view["captures"].as_array().unwrap().iter().map(|c| c["artifact"].as_str().unwrap()).collect();
    assert_eq!(asked, ["document-front", "document-back", "selfie", "challenge-1", "challenge-2"]);

    let front = noisy_png(800, 500);
    capture_everything(&server, &secret, &front).await;
    assert_eq!(step_status(&journey(&server, &secret).await, "document"), "pending", "checks wait for submission");

    let submitted = server.send(server.http.post(server.url(&format!("/j/{secret}/submit")))).await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    wait_for("the decision", async || server.get(DEMO_KEY, &id).await.body["status"] == "finished").await;
    let result = server.get(DEMO_KEY, &id).await.body;
    assert_eq!(result["decision"], "approved", "{result}");
    assert_eq!(result["score"], 1.0);
    assert_eq!(result["intent"], "journey_end");
    assert_eq!(result["evidence"]["peps"], json!({"count": 0, "outcome": "cleared"}));
    assert_eq!(result["evidence"]["liveness"]["outcome"], "passed");
    assert_signed_redirect(&server, &secret, &id).await;
    assert_appendix_serves_the_capture(&server, &result, &front).await;

    // The journey is over: no more uploads.
    slot(&server, &secret, "selfie", "image/png").await.assert_error(409, "session_closed", "session");
}

async fn bad_uploads_are_refused_and_change_nothing(storage: Storage) {
    let server = storage.start();
    let (_, secret) = start_session(&server, &["document"]).await;
    let png = noisy_png(800, 500);

    let s = slot(&server, &secret, "document-front", "image/png").await.body;
    let mut tampered = s["fields"].clone();
    let signature = tampered["signature"].as_str().unwrap().to_owned();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    tampered["signature"] = json!(format!("{flipped}{}", &signature[1..]));
    assert_eq!(post_file(&server, &s, &tampered, png.clone()).await.status(), 403);

    let mut retyped = s["fields"].clone();
    retyped["Content-Type"] = json!("image/jpeg");
    assert_eq!(post_file(&server, &s, &retyped, png.clone()).await.status(), 403);

    let mut rekeyed = s["fields"].clone();
    rekeyed["key"] = json!("sessions/other/document-front");
    assert_eq!(post_file(&server, &s, &rekeyed, png.clone()).await.status(), 403);

    let oversize = vec![0u8; 10 * 1024 * 1024 + 1];
    assert_eq!(post_file(&server, &s, &s["fields"], oversize).await.status(), 400);
    assert_eq!(post_file(&server, &s, &s["fields"], vec![0u8; 1000]).await.status(), 400);

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(capture_status(&journey(&server, &secret).await, "document-front"), "missing", "nothing was stored");

    // Bytes that are not an image, declared as one, are rejected with a reason the journey can show.
    let s = slot(&server, &secret, "document-front", "image/jpeg").await.body;
    let resp = post_file(&server, &s, &s["fields"], b"%PDF-1.7\n".repeat(4000)).await;
    assert_eq!(resp.status(), 204);
    let rejected = async || capture_status(&journey(&server, &secret).await, "document-front") == "rejected";
    wait_for("the rejection", rejected).await;
    let j = journey(&server, &secret).await;
    assert_eq!(j["captures"][0]["reason"], "not_an_image");
    let submit = server.send(server.http.post(server.url(&format!("/j/{secret}/submit")))).await;
    submit.assert_error(409, "captures_missing", "captures");

    // Journey-side refusals.
    slot(&server, &secret, "selfie", "image/png").await.assert_error(400, "artifact_not_requested", "artifact");
    slot(&server, &secret, "document-front", "image/gif").await.assert_error(
        400,
        "unsupported_content_type",
        "content_type",
    );
    slot(&server, &secret, "passport", "image/png").await.assert_error(400, "unknown_artifact", "artifact");
    let unknown = server.send(server.http.get(server.url(&format!("/j/{}/session", "x".repeat(43))))).await;
    unknown.assert_error(404, "journey_not_found", "secret");
}

/// The journey's end redirects to `redirect_url` with a result token that verifies against
/// the published JWKS (checked with the `jsonwebtoken` crate, not our own verifier).
async fn assert_signed_redirect(server: &Server, secret: &str, id: &str) {
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = no_redirects.get(server.url(&format!("/j/{secret}/finish"))).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(&location[..url::Position::AfterPath], "https://yourapp.com/verified");
    let token = location.query_pairs().find(|(k, _)| k == "token").unwrap().1.into_owned();

    let jwks: jsonwebtoken::jwk::JwkSet =
        server.http.get(server.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("kid is published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[&server.base]);
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(&token, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["reference"], "cust_journey");
    assert_eq!(claims["decision"], "approved");
    assert_eq!(claims["status"], "finished");
    assert!(claims["aud"].as_str().unwrap().starts_with("ten_"));
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    assert!(claims["jti"].as_str().is_some());

    // A tampered token does not verify.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let tampered = parts.join(".");
    assert!(
        jsonwebtoken::decode::<Value>(&tampered, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .is_err()
    );
}

/// Appendix links are opaque URLs on our host that redirect to a short-lived presigned GET.
async fn assert_appendix_serves_the_capture(server: &Server, result: &Value, uploaded: &[u8]) {
    let appendix = result["appendix"].as_array().unwrap();
    // The document front, the selfie and one frame per challenge pose.
    assert_eq!(appendix.len(), 4, "{result}");
    let front = appendix.iter().find(|a| a["filename"].as_str().unwrap().starts_with("document-front")).unwrap();
    assert_eq!(front["type"], "image");
    let expiry = front["expiry"].as_i64().unwrap();
    assert!((expiry - chrono_now() - 7 * 24 * 3600).abs() < 120, "links last 7 days");
    let url = front["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/appendix/", server.base)), "{url}");
    assert!(!url.contains("sessions/"), "the link is opaque: {url}");

    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = no_redirects.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let presigned = resp.headers()["location"].to_str().unwrap().to_owned();
    let image = server.http.get(&presigned).send().await.unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.bytes().await.unwrap().as_ref(), uploaded);

    let forged = no_redirects.get(format!("{}x", url)).send().await.unwrap();
    assert_eq!(forged.status(), 404);
}

async fn a_signed_webhook_reports_the_decision(storage: Storage) {
    let tenant = storage.create_tenant(&["https://yourapp.com"]);
    let key = tenant["api_key"].as_str().unwrap().to_owned();
    let secret_key = tenant["webhook_secret"].as_str().unwrap().to_owned();
    let server = storage.start();
    let (hook_url, seen) = webhook_receiver().await;
    let (id, secret) =
        start_session_with(&server, &key, json!({"steps": ["document"], "webhook_url": hook_url.clone()})).await;

    capture_everything(&server, &secret, &noisy_png(800, 500)).await;
    let submitted = server.send(server.http.post(server.url(&format!("/j/{secret}/submit")))).await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);

    // Down once, then delivered on a retry with the same webhook-id.
    wait_for("the webhook to be delivered", async || seen.lock().unwrap().len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = seen.clone();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "a 2xx ends the retries");
    let ids: Vec<_> = seen.iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    assert_eq!(ids[0], ids[1]);
    let signer = shared::signing::WebhookSigner::new(&secret_key).unwrap();
    for (headers, body) in &seen {
        signer.verify(headers, body, chrono_now()).expect("signature verifies");
    }
    let event: Value = serde_json::from_slice(&seen[1].1).unwrap();
    assert_eq!(event["type"], "identity.session.finished");
    assert_eq!(event["data"]["session_id"], id);
    assert_eq!(event["data"]["decision"], "approved");

    // Cancelling is a lifecycle event too.
    let (cancelled, _) =
        start_session_with(&server, &key, json!({"steps": ["document"], "webhook_url": hook_url})).await;
    assert_eq!(server.cancel(&key, &cancelled).await.status, 200);
    wait_for("the cancelled webhook", async || received.lock().unwrap().len() >= 3).await;
    let (headers, body) = received.lock().unwrap()[2].clone();
    signer.verify(&headers, &body, chrono_now()).expect("signature verifies");
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "identity.session.cancelled");
    assert_eq!(event["data"]["session_id"], cancelled);
}

async fn details_feed_the_dvs_and_bank_steps(storage: Storage) {
    let server = storage.start();
    let (id, secret) = start_session(&server, &["dvs", "bank"]).await;
    let put = |body: Value| server.http.put(server.url(&format!("/j/{secret}/details"))).json(&body);
    let submit = || server.http.post(server.url(&format!("/j/{secret}/submit")));
    server.send(submit()).await.assert_error(409, "details_missing", "details");

    let licence =
        json!({"document_type": "driverslicence", "number": "12345678", "state": "NSW", "card_number": "P1234567"});
    server
        .send(put(json!({"dvs": licence, "bank": {"bsb": "62-000", "account_number": "12345678"}})))
        .await
        .assert_error(400, "invalid_bsb", "bank.bsb");
    server.send(put(json!({"dvs": {"document_type": "driverslicence", "number": "1"}}))).await.assert_error(
        400,
        "missing_field",
        "dvs.state",
    );
    server.send(put(json!({"passport": {}}))).await.assert_error(400, "unknown_field", "passport");
    let j = journey(&server, &secret).await;
    assert_eq!(j["details_provided"], json!({"dvs": false, "bank": false}), "refused details change nothing");

    let ok = server.send(put(json!({"dvs": licence, "bank": {"bsb": "062-000", "account_number": "12345678"}}))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["details_provided"], json!({"dvs": true, "bank": true}));
    assert!(!ok.body.to_string().contains("12345678"), "details are never echoed");

    // The DVS is only asked with the person's recorded consent.
    server.send(submit()).await.assert_error(409, "consent_missing", "consent");
    let consent = || server.http.post(server.url(&format!("/j/{secret}/consent")));
    let consented = server.send(consent()).await;
    assert_eq!((consented.status, &consented.body["consented"]), (200, &json!(true)), "{}", consented.body);
    assert_eq!(server.send(consent()).await.status, 200, "consenting again changes nothing");
    assert_eq!(server.send(submit()).await.status, 200);
    wait_for("the decision", async || server.get(DEMO_KEY, &id).await.body["status"] == "finished").await;
    let result = server.get(DEMO_KEY, &id).await.body;
    assert_eq!(result["decision"], "approved", "{result}");
    assert_eq!(result["evidence"]["dvs"], json!({"outcome": "primary", "decision": "Y", "document": "driverslicence"}));
    assert_eq!(result["evidence"]["bank"], json!({"outcome": "exact", "given_name": 100, "family_name": 100}));
}
