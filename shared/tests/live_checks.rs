//! Every real (non-sandbox) provider through the whole pipeline: captures through the
//! quality gate, submission, the queued step, the decision. Algorithms run for real on
//! images and data the tests make; outside services are played by local HTTP servers, and
//! Textract by replayed responses through the real SDK.

mod common;

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::routing::post;
use chrono::NaiveDate;
use image::{DynamicImage, GrayImage, Luma};
use serde_json::{Value, json};
use shared::artifacts::Artifact;
use shared::checks::bank::http::{HttpBankConfig, HttpBankData};
use shared::checks::document::barcode::{self, AamvaCountry, AamvaFields, AamvaSubfile, Iin};
use shared::checks::document::textract::TextractReader;
use shared::checks::dvs::http::{DvsCredentials, HttpDvsConfig, HttpDvsGateway};
use shared::checks::live::{BankCheck, DocumentCheck, DvsCheck, FixedList, ScreeningCheck, StepProviders};
use shared::checks::screening::Screener;
use shared::domain::{CaptureResult, SessionId, SessionStatus};
use shared::pipeline::checks::CheckProvider;
use shared::pipeline::sandbox::SandboxChecks;
use shared::testing::noisy_png;

use common::{Rig, rig_with};

fn png(image: &DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A licence back as a camera sees it: a PDF417 with the AAMVA fields, printed dark-on-light
/// (no pure white, so no glare) on a slightly noisy card.
fn licence_back(fields: &AamvaFields) -> Vec<u8> {
    let text = barcode::aamva_text(&Iin::parse("636014").unwrap(), fields);
    let code = barcode::encode_pdf417(&text, 900, 300).unwrap();
    let mut seed = 7u32;
    let mut card = GrayImage::from_fn(1200, 760, |_, _| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        Luma([180 + (seed >> 16) as u8 % 24])
    });
    for (x, y, Luma([v])) in code.enumerate_pixels() {
        card.put_pixel(150 + x, 300 + y, Luma([if *v < 128 { 35 } else { 210 }]));
    }
    png(&DynamicImage::ImageLuma8(card))
}

fn licence(family: &str, first: &str, born: &str, expires: &str) -> AamvaFields {
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    AamvaFields {
        subfile: AamvaSubfile::DriverLicence,
        licence_number: "D1234567".into(),
        family_name: family.into(),
        first_name: Some(first.into()),
        middle_names: None,
        birth_date: date(born),
        expiry_date: Some(date(expires)),
        issue_date: Some(date("2022-01-10")),
        jurisdiction: Some("CA".into()),
        sex: None,
        country: Some(AamvaCountry::Usa),
        street: None,
        city: None,
        postal_code: None,
    }
}

fn providers(change: impl FnOnce(&mut StepProviders)) -> Arc<dyn CheckProvider> {
    let mut providers = StepProviders::all(Arc::new(SandboxChecks));
    change(&mut providers);
    Arc::new(providers)
}

async fn finish(rig: &Rig, id: SessionId) -> Value {
    rig.local.pipeline.submit(id).await.unwrap();
    assert!(rig.drain().await.iter().all(Vec::is_empty));
    let session = rig.session(id).await;
    assert_eq!(session.status, SessionStatus::Finished);
    Value::Object(session.assessment.unwrap().evidence)
}

/// Jane Smith (born 1990-01-31, at least 18) captures the front and a licence back expiring
/// on `expires`, submits, and gets the evidence.
async fn licence_holder_verified(rig: &Rig, expires: &str) -> Value {
    let person = json!({"first_name": "Jane", "last_name": "Smith", "birth_date": "1990-01-31", "min_age": 18,
                        "steps": ["document"]});
    let id = rig.create_with(person).await;
    rig.upload(id, Artifact::DocumentFront, "image/png", &noisy_png(1200, 760)).await;
    let back = licence_back(&licence("SMITH", "JANE", "1990-01-31", expires));
    rig.upload(id, Artifact::DocumentBack, "image/png", &back).await;
    rig.drain().await;
    finish(rig, id).await
}

#[tokio::test]
async fn a_licence_barcode_is_read_and_held_against_the_prefilled_person() {
    let rig = rig_with(providers(|p| p.document = Arc::new(DocumentCheck { reader: None }))).await;
    let evidence = licence_holder_verified(&rig, "2031-01-31").await;
    let document = &evidence["document"];
    assert_eq!(document["outcome"], "passed", "{evidence}");
    assert_eq!(document["document"], "driverslicence");
    assert_eq!(document["country"], "USA");
    assert_eq!(
        document["fields"],
        json!({"name": "match", "birth_date": "match", "expiry": "valid", "min_age": "met"})
    );

    // The same person with an expired licence fails.
    let evidence = licence_holder_verified(&rig, "2024-01-31").await;
    assert_eq!(evidence["document"]["outcome"], "failed");
    assert_eq!(evidence["document"]["fields"]["expiry"], "expired");
}

#[tokio::test]
async fn a_blurred_capture_fails_the_quality_gate_with_its_reason() {
    let rig = rig_with(providers(|_| {})).await;
    let id = rig.create("Smith", &["document"]).await;
    let sharp = image::load_from_memory(&licence_back(&licence("SMITH", "JANE", "1990-01-31", "2031-01-31"))).unwrap();
    let blurred = png(&sharp.blur(4.0));
    rig.upload(id, Artifact::DocumentFront, "image/png", &blurred).await;
    rig.drain().await;
    let capture = rig.session(id).await.captures[0].clone();
    assert_eq!(capture.result, CaptureResult::Rejected { reason: "too_blurry".into() });
    rig.upload(id, Artifact::DocumentFront, "image/png", &png(&sharp)).await;
    rig.drain().await;
    assert!(rig.session(id).await.accepted(Artifact::DocumentFront));
}

/// Textract's AnalyzeID answer for a passport, replayed through the real SDK client.
fn textract_passport(mrz: &str) -> TextractReader {
    use aws_sdk_textract::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
    let body = json!({"DocumentMetadata": {"Pages": 1}, "AnalyzeIDModelVersion": "1.0",
        "IdentityDocuments": [{"DocumentIndex": 1, "IdentityDocumentFields": [
            {"Type": {"Text": "ID_TYPE"}, "ValueDetection": {"Text": "PASSPORT", "Confidence": 99.0}},
            {"Type": {"Text": "MRZ_CODE"}, "ValueDetection": {"Text": mrz, "Confidence": 97.0}}]}]});
    let rule = mock!(aws_sdk_textract::Client::analyze_id)
        .sequence()
        .http_status(200, Some(body.to_string()))
        .repeatedly()
        .build();
    let config = aws_sdk_textract::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("ap-southeast-2"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny).with_rule(&rule))
        .build();
    TextractReader::new(aws_sdk_textract::Client::from_conf(config))
}

#[tokio::test]
async fn a_passport_mrz_read_by_textract_is_checked_digit_by_digit() {
    // The ICAO 9303 specimen: Anna Maria Eriksson, born 1974-08-12, passport expiring 2012
    // (so the specimen itself is expired), and a copy with a tampered birth date.
    let specimen = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
    let tampered = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408132F1204159ZE184226B<<<<<10";
    let person = json!({"first_name": "Anna", "last_name": "Eriksson", "birth_date": "1974-08-12",
                        "steps": ["document"]});
    for (mrz, outcome, field, verdict) in
        [(specimen, "failed", "expiry", "expired"), (tampered, "review", "mrz", "invalid")]
    {
        let reader = Arc::new(textract_passport(mrz));
        let rig = rig_with(providers(|p| p.document = Arc::new(DocumentCheck { reader: Some(reader) }))).await;
        let id = rig.create_with(person.clone()).await;
        rig.upload(id, Artifact::DocumentFront, "image/png", &noisy_png(1200, 760)).await;
        rig.drain().await;
        let evidence = finish(&rig, id).await;
        assert_eq!(evidence["document"]["outcome"], outcome, "{evidence}");
        assert_eq!(evidence["document"]["fields"][field], verdict, "{evidence}");
        if mrz == specimen {
            assert_eq!(evidence["document"]["fields"]["name"], "match");
            assert_eq!(evidence["document"]["fields"]["birth_date"], "match");
            assert_eq!(evidence["document"]["fields"]["mrz"], "valid");
            assert_eq!(evidence["document"]["country"], "UTO");
        }
    }
}

#[tokio::test]
async fn screening_on_the_shipped_ofac_list() {
    let screener = Arc::new(Screener::from_dir(shared::checks::config::SHIPPED_SCREENING_DIR).unwrap());
    let list = Arc::new(FixedList(screener));
    let rig = rig_with(providers(|p| p.peps = Arc::new(ScreeningCheck { list }))).await;
    // "ABBAS, Abu" (ent_num 2674), DOB 10 Dec 1948, written first-name first.
    let listed = rig
        .create_with(json!({"first_name": "Abu", "last_name": "Abbas", "birth_date": "1948-12-10", "steps": ["peps"]}))
        .await;
    let evidence = finish(&rig, listed).await;
    assert_eq!(evidence["peps"]["outcome"], "match", "{evidence}");
    assert_eq!(evidence["peps"]["matches"][0]["list_id"], "2674");
    let cleared = rig.create_with(json!({"first_name": "Jane", "last_name": "Smith", "steps": ["peps"]})).await;
    assert_eq!(finish(&rig, cleared).await["peps"], json!({"count": 0, "outcome": "cleared"}));
}

/// A local HTTP server standing in for a provider: answers `reply(body)`, keeps the bodies.
async fn provider(reply: fn(&Value) -> Value) -> (url::Url, Arc<Mutex<Vec<(http::HeaderMap, Value)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(post(move |headers: http::HeaderMap, Json(body): Json<Value>| {
        let log = log.clone();
        async move {
            let answer = reply(&body);
            log.lock().unwrap().push((headers, body));
            Json(answer)
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url::Url::parse(&format!("http://{addr}/")).unwrap(), seen)
}

#[tokio::test]
async fn bank_and_dvs_through_their_http_gateways() {
    let (bank_url, _) = provider(|_| json!({"account": {"holders": [{"name": "MRS J A SMITH-JONES"}]}})).await;
    let (dvs_url, dvs_seen) = provider(|_| json!({"verification_result_code": "Y"})).await;
    let bank = HttpBankData::new(HttpBankConfig::new(bank_url, "bank-token")).unwrap();
    let dvs = HttpDvsGateway::new(HttpDvsConfig::new(dvs_url, DvsCredentials::ApiKey("dvs-key".into()))).unwrap();
    let rig = rig_with(providers(|p| {
        p.bank = Arc::new(BankCheck { data: Arc::new(bank) });
        p.dvs = Arc::new(DvsCheck { gateway: Arc::new(dvs) });
    }))
    .await;
    let id = rig
        .create_with(json!({"first_name": "Jane", "last_name": "Smith-Jones", "birth_date": "1990-01-31",
                            "steps": ["dvs", "bank"]}))
        .await;
    let details = json!({"dvs": {"document_type": "driverslicence", "number": "12345678", "state": "NSW",
                                 "card_number": "P1234567"},
                         "bank": {"bsb": "062-000", "account_number": "12345678"}});
    let details = shared::domain::Details {
        dvs: Some(shared::domain::DvsDetails::parse(&details["dvs"]).unwrap()),
        bank: Some(shared::domain::BankDetails::parse(&details["bank"]).unwrap()),
    };
    rig.demo.app.set_details(id, details).await.unwrap();
    assert_eq!(rig.local.pipeline.submit(id).await.unwrap_err().code, "consent_missing");
    rig.demo.app.consent(id).await.unwrap();
    let evidence = finish(&rig, id).await;
    assert_eq!(evidence["dvs"], json!({"outcome": "primary", "decision": "Y", "document": "driverslicence"}));
    // An initial for the given name: the family name matches, the given name only partly.
    assert_eq!(evidence["bank"]["outcome"], "partial", "{evidence}");
    assert_eq!(evidence["bank"]["family_name"], 100);
    let (headers, body) = dvs_seen.lock().unwrap()[0].clone();
    assert_eq!(headers["x-api-key"], "dvs-key");
    assert!(body.to_string().contains("P1234567"), "the card number is sent: {body}");
}
