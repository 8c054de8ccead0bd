//! No PII, secret or token in the logs: a full journey through the real binary with JSON
//! logs at trace level, then a scan of every line for what the journey sent and received.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::Storage;
use common::journey::*;
use serde_json::{Value, json};
use shared::testing::noisy_png;

on_every_store!(a_full_journey_logs_no_personal_data_secrets_or_tokens);

const FIRST: &str = "Zebedee";
const LAST: &str = "Quillfeather";
const LICENCE: &str = "73920518";
const CARD: &str = "Q7781234";
const ACCOUNT: &str = "55501234";

async fn a_full_journey_logs_no_personal_data_secrets_or_tokens(storage: Storage) {
    let tenant = storage.create_tenant(&["https://yourapp.com"]);
    let key = tenant["api_key"].as_str().unwrap().to_owned();
    let webhook_secret = tenant["webhook_secret"].as_str().unwrap().to_owned();
    let log_path = storage.data_dir.path().join("server.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let env = [("RUST_LOG", "trace"), ("TI_LOG_FORMAT", "json")];
    let server = storage.start_with(&env, Stdio::from(log_file));
    let (hook_url, hooks) = webhook_receiver().await;

    let body = json!({"reference": "cust_logscan", "redirect_url": "https://yourapp.com/verified",
        "steps": ["document", "liveness", "dvs", "peps", "bank"], "first_name": FIRST, "last_name": LAST,
        "birth_date": "1983-07-14", "webhook_url": hook_url, "metadata": {"plan": "gold"}});
    let created = server.create(&key, &body, Some("logscan-idem-key-1")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["session_id"].as_str().unwrap().to_owned();
    let secret = created.body["identity_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();

    let mut secrets = vec![key.clone(), webhook_secret.clone(), secret.clone()];
    secrets.push(webhook_secret.trim_start_matches("whsec_").to_owned());
    // Every presigned upload's signature and policy.
    let slot = slot(&server, &secret, "document-front", "image/png").await;
    secrets.extend(["signature", "policy"].map(|f| slot.body["fields"][f].as_str().unwrap().to_owned()));
    capture_everything(&server, &secret, &noisy_png(800, 500)).await;

    let details = json!({"dvs": {"document_type": "driverslicence", "number": LICENCE, "state": "NSW", "card_number": CARD},
        "bank": {"bsb": "082-947", "account_number": ACCOUNT}});
    let put = server.send(server.http.put(server.url(&format!("/j/{secret}/details"))).json(&details)).await;
    assert_eq!(put.status, 200, "{}", put.body);
    // A refused detail is logged as a refusal, without the value.
    let bad = json!({"bank": {"bsb": "08X-947", "account_number": ACCOUNT}});
    let refused = server.send(server.http.put(server.url(&format!("/j/{secret}/details"))).json(&bad)).await;
    refused.assert_error(400, "invalid_bsb", "bank.bsb");
    for action in ["consent", "submit"] {
        let reply = server.send(server.http.post(server.url(&format!("/j/{secret}/{action}")))).await;
        assert_eq!(reply.status, 200, "{action}: {}", reply.body);
    }
    wait_for("the decision", async || server.get(&key, &id).await.body["status"] == "finished").await;
    let result = server.get(&key, &id).await.body;
    assert_eq!(result["decision"], "approved", "{result}");

    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let finish = no_redirects.get(server.url(&format!("/j/{secret}/finish"))).send().await.unwrap();
    assert_eq!(finish.status(), 303);
    let location = url::Url::parse(finish.headers()["location"].to_str().unwrap()).unwrap();
    let token = location.query_pairs().find(|(k, _)| k == "token").unwrap().1.into_owned();
    secrets.push(token.rsplit('.').next().unwrap().to_owned());
    secrets.push(token);
    // Appendix links and the presigned GETs they redirect to.
    for link in result["appendix"].as_array().unwrap() {
        let url = link["url"].as_str().unwrap();
        secrets.push(url.rsplit('/').next().unwrap().to_owned());
        let resp = no_redirects.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 302);
        let presigned = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
        secrets.push(presigned.query_pairs().find(|(k, _)| k == "signature").unwrap().1.into_owned());
    }
    // Wrong keys are refused without being logged.
    let wrong = "ti_test_wrongwrongwrongwrongwrongwrongwrongwrong0";
    assert_eq!(server.create(wrong, &body, None).await.status, 401);
    secrets.push(wrong.to_owned());
    wait_for("the webhook", async || !hooks.lock().unwrap().is_empty()).await;
    let hook = hooks.lock().unwrap()[0].0.clone();
    secrets.push(hook["webhook-signature"].to_str().unwrap().trim_start_matches("v1,").to_owned());
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(server);

    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert_logs_are_useful(&logs, &id);
    let personal = [
        FIRST,
        LAST,
        "1983-07-14",
        "14/07/1983",
        "19830714",
        "1983/07/14",
        "14.07.1983",
        LICENCE,
        CARD,
        "082-947",
        "082947",
        ACCOUNT,
    ];
    let lower = logs.to_lowercase();
    for value in personal.iter().map(|v| v.to_string()).chain(secrets) {
        assert!(value.len() >= 6, "too short to scan for: {value}");
        assert!(!lower.contains(&value.to_lowercase()), "the logs contain `{value}`:\n{}", lines_with(&logs, &value));
    }
}

/// The scan cannot pass vacuously: the logs are JSON lines at trace level, with request ids
/// and the session's id, and the metrics are there.
fn assert_logs_are_useful(logs: &str, session_id: &str) {
    let lines: Vec<Value> =
        logs.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(lines.len() > 50, "{} lines", lines.len());
    let request_ids: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|l| l["span"]["request_id"].as_str()).collect();
    assert!(request_ids.len() > 10, "{request_ids:?}");
    let about_session =
        lines.iter().filter(|l| l["span"]["session_id"] == session_id || l["fields"]["session_id"] == session_id);
    assert!(about_session.count() > 5, "the session's lines carry its id");
    assert!(lines.iter().any(|l| l["level"] == "TRACE"), "trace level was on");
    for metric in ["SessionsCreated", "Decisions", "StepDuration", "WebhookAttempts"] {
        assert!(lines.iter().any(|l| l["_aws"].is_object() && l[metric].is_number()), "no {metric} metric");
    }
}

fn lines_with(logs: &str, value: &str) -> String {
    let value = value.to_lowercase();
    logs.lines().filter(|l| l.to_lowercase().contains(&value)).take(5).collect::<Vec<_>>().join("\n")
}
