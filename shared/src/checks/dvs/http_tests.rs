//! [`HttpDvsGateway`] against a local axum server playing the gateway.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::*;
use crate::domain::DvsDetails;
use crate::domain::details::DvsDocument;

/// Answers from a script, the last answer repeating; records every request.
#[derive(Default)]
struct Gateway {
    script: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<(HeaderMap, Value)>>,
}

#[derive(Clone)]
enum Reply {
    Code(&'static str),
    Status(StatusCode),
    Body(&'static str),
    Hang,
}

impl Gateway {
    fn attempts(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn answer(State(gateway): State<Arc<Gateway>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    gateway.seen.lock().unwrap().push((headers, body));
    let reply = {
        let mut script = gateway.script.lock().unwrap();
        if script.len() > 1 { script.pop_front() } else { script.front().cloned() }
    };
    match reply.expect("a scripted reply") {
        Reply::Code(code) => Json(json!({"verification_result_code": code})).into_response(),
        Reply::Status(status) => status.into_response(),
        Reply::Body(body) => body.into_response(),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Json(json!({"verification_result_code": "Y"})).into_response()
        }
    }
}

fn client_secret() -> DvsCredentials {
    DvsCredentials::ClientSecret { client_id: "ti-client".into(), client_secret: "s3cret-9d1".into() }
}

async fn serve(script: Vec<Reply>, credentials: DvsCredentials) -> (HttpDvsGateway, Arc<Gateway>) {
    let gateway = Arc::new(Gateway { script: Mutex::new(script.into()), ..Gateway::default() });
    let app = axum::Router::new().route("/dvs/verify", axum::routing::post(answer)).with_state(Arc::clone(&gateway));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/dvs/verify", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = HttpDvsConfig {
        timeout: Duration::from_millis(200),
        retry_delays: vec![Duration::from_millis(2), Duration::from_millis(8)],
        ..HttpDvsConfig::new(url, credentials)
    };
    (HttpDvsGateway::new(config).unwrap(), gateway)
}

fn licence() -> DvsDetails {
    DvsDetails {
        document_type: DvsDocument::Driverslicence,
        number: "12345678".into(),
        state: Some("NSW".into()),
        card_number: Some("P1234567".into()),
    }
}

fn request(details: &DvsDetails) -> DvsRequest<'_> {
    DvsRequest {
        details,
        given_name: Some("Jane"),
        family_name: Some("Smith"),
        birth_date: chrono::NaiveDate::from_ymd_opt(1990, 1, 31),
        consent_at: 1_743_472_984,
    }
}

async fn verify(script: Vec<Reply>) -> (Result<DvsCode, CheckError>, usize) {
    let (dvs, gateway) = serve(script, client_secret()).await;
    let result = dvs.verify(&request(&licence())).await;
    (result, gateway.attempts())
}

#[tokio::test]
async fn y_n_and_d_are_answered_as_given_at_the_first_attempt() {
    for (code, expected) in [("Y", DvsCode::Y), ("N", DvsCode::N), ("D", DvsCode::D)] {
        let (result, attempts) = verify(vec![Reply::Code(code)]).await;
        assert_eq!((result.unwrap(), attempts), (expected, 1), "{code}");
    }
}

#[tokio::test]
async fn s_is_retried_until_an_answer_comes() {
    let (result, attempts) = verify(vec![Reply::Code("S"), Reply::Code("S"), Reply::Code("Y")]).await;
    assert_eq!((result.unwrap(), attempts), (DvsCode::Y, 3));
}

#[tokio::test]
async fn s_every_time_is_transient_after_three_attempts() {
    let (result, attempts) = verify(vec![Reply::Code("S")]).await;
    assert!(matches!(result, Err(CheckError::Transient(_))), "{result:?}");
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn server_errors_throttling_and_timeouts_are_retried() {
    let script = vec![Reply::Status(StatusCode::BAD_GATEWAY), Reply::Status(StatusCode::TOO_MANY_REQUESTS)];
    let (result, attempts) = verify([script, vec![Reply::Code("N")]].concat()).await;
    assert_eq!((result.unwrap(), attempts), (DvsCode::N, 3));
    let (result, attempts) = verify(vec![Reply::Hang, Reply::Code("Y")]).await;
    assert_eq!((result.unwrap(), attempts), (DvsCode::Y, 2));
    let (result, attempts) = verify(vec![Reply::Hang]).await;
    assert!(matches!(result, Err(CheckError::Transient(_))), "{result:?}");
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn refused_requests_are_permanent_and_not_retried() {
    for status in [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::BAD_REQUEST] {
        let (result, attempts) = verify(vec![Reply::Status(status)]).await;
        assert!(matches!(&result, Err(CheckError::Permanent { code }) if code == "dvs_request_rejected"), "{result:?}");
        assert_eq!(attempts, 1, "{status}");
    }
}

#[tokio::test]
async fn malformed_answers_are_transient() {
    for body in [r#"{"verification_result_code": "X"}"#, "{}", "<html>down</html>"] {
        let (result, attempts) = verify(vec![Reply::Body(body)]).await;
        match result {
            Err(CheckError::Transient(reason)) => assert!(!reason.contains("down"), "{reason}"),
            other => panic!("{body}: {other:?}"),
        }
        assert_eq!(attempts, 1);
    }
}

#[tokio::test]
async fn each_document_type_reaches_the_gateway_in_its_shape() {
    let (dvs, gateway) = serve(vec![Reply::Code("Y")], client_secret()).await;
    let types = [
        (
            DvsDocument::Driverslicence,
            Some("VIC"),
            json!({"state": "VIC", "licence_number": "A1", "card_number": "C1"}),
        ),
        (DvsDocument::Passport, None, json!({"passport_number": "A1"})),
        (DvsDocument::Medicare, None, json!({"card_number": "A1"})),
        (DvsDocument::Visa, None, json!({"passport_number": "A1"})),
        (DvsDocument::Birthcertificate, None, json!({"registration_number": "A1"})),
        (DvsDocument::Citizenship, None, json!({"stock_number": "A1"})),
        (DvsDocument::Immicard, None, json!({"immicard_number": "A1"})),
    ];
    for (document_type, state, _) in &types {
        let card_number = (*document_type == DvsDocument::Driverslicence).then(|| "C1".to_owned());
        let details = DvsDetails {
            document_type: *document_type,
            number: "A1".into(),
            state: state.map(Into::into),
            card_number,
        };
        assert_eq!(dvs.verify(&request(&details)).await.unwrap(), DvsCode::Y);
    }
    let seen = gateway.seen.lock().unwrap();
    assert_eq!(seen.len(), types.len());
    for ((headers, body), (document_type, _, document)) in seen.iter().zip(&types) {
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body["document_type"], document_type.as_str());
        assert_eq!(&body["document"], document, "{document_type:?}");
        assert_eq!((&body["given_name"], &body["family_name"]), (&json!("Jane"), &json!("Smith")));
        assert_eq!(body["birth_date"], "1990-01-31");
        assert_eq!((&body["consent"], &body["consent_at"]), (&json!(true), &json!("2025-04-01T02:03:04Z")));
    }
}

#[tokio::test]
async fn credentials_travel_as_headers() {
    let (dvs, gateway) = serve(vec![Reply::Code("Y")], client_secret()).await;
    dvs.verify(&request(&licence())).await.unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode("ti-client:s3cret-9d1");
    assert_eq!(gateway.seen.lock().unwrap()[0].0["authorization"], format!("Basic {basic}"));

    let (dvs, gateway) = serve(vec![Reply::Code("Y")], DvsCredentials::ApiKey("key-77ab".into())).await;
    dvs.verify(&request(&licence())).await.unwrap();
    let headers = &gateway.seen.lock().unwrap()[0].0;
    assert_eq!(headers["x-api-key"], "key-77ab");
    assert!(!headers.contains_key("authorization"));
}

#[test]
fn credentials_stay_out_of_debug_output() {
    let config = HttpDvsConfig::new(Url::parse("https://dvs.example/verify").unwrap(), client_secret());
    let api_key = DvsCredentials::ApiKey("key-77ab".into());
    let shown = format!("{:?} {api_key:?}", HttpDvsGateway::new(config).unwrap());
    assert!(!shown.contains("s3cret") && !shown.contains("ti-client") && !shown.contains("key-77ab"), "{shown}");
    let ftp = HttpDvsConfig::new(Url::parse("ftp://dvs.example/").unwrap(), client_secret());
    assert!(HttpDvsGateway::new(ftp).is_err());
}

#[test]
fn jitter_stays_within_a_quarter() {
    for _ in 0..200 {
        let d = jittered(Duration::from_millis(800));
        assert!((Duration::from_millis(600)..=Duration::from_millis(1000)).contains(&d), "{d:?}");
    }
}
