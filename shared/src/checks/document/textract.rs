//! Amazon Textract AnalyzeID adapter for the document reader port. AnalyzeID answers with
//! normalised fields (`FIRST_NAME`, `DATE_OF_BIRTH`, ...) per page; we keep the confident ones.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_textract::Client;
use aws_sdk_textract::config::http::HttpResponse;
use aws_sdk_textract::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_textract::primitives::Blob;
use aws_sdk_textract::types::{AnalyzeIdDetections, Document, IdentityDocument, ValueType};
use chrono::NaiveDate;

use super::{DocumentKind, DocumentReader, ExtractedDocument, FieldSource, Reading};
use crate::pipeline::checks::CheckError;

/// Textract's confidences run 0..=100; below this a value is more guess than reading.
pub const DEFAULT_MIN_CONFIDENCE: f32 = 80.0;

/// What AnalyzeID read: the fields, and the MRZ text for our MRZ parser (whose check
/// digits are a better judge of it than Textract's confidence). County and place of birth
/// have no slot in [`ExtractedDocument`]; they are kept here for whoever needs them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextractResult {
    pub extracted: ExtractedDocument,
    pub mrz_text: Option<String>,
    pub county: Option<String>,
    pub place_of_birth: Option<String>,
}

#[derive(Clone)]
pub struct TextractReader {
    client: Client,
    min_confidence: f32,
}

impl TextractReader {
    pub fn new(client: Client) -> Self {
        Self { client, min_confidence: DEFAULT_MIN_CONFIDENCE }
    }

    pub fn from_config(config: &aws_types::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    /// Fields Textract is less sure of than this (0..=100) are dropped.
    pub fn with_min_confidence(mut self, min_confidence: f32) -> Self {
        self.min_confidence = min_confidence;
        self
    }

    pub async fn analyze(&self, front: &[u8], back: Option<&[u8]>) -> Result<TextractResult, CheckError> {
        let page = |bytes: &[u8]| Document::builder().bytes(Blob::new(bytes)).build();
        let mut request = self.client.analyze_id().document_pages(page(front));
        if let Some(back) = back {
            request = request.document_pages(page(back));
        }
        let output = request.send().await.map_err(|e| textract_err("AnalyzeID", &e))?;
        Ok(read_fields(output.identity_documents(), self.min_confidence))
    }
}

#[async_trait]
impl DocumentReader for TextractReader {
    fn name(&self) -> &'static str {
        "textract"
    }

    async fn read(&self, front: &[u8], back: Option<&[u8]>) -> Result<Reading, CheckError> {
        let result = self.analyze(front, back).await?;
        Ok(Reading { fields: result.extracted, mrz_text: result.mrz_text })
    }
}

/// One confident value: its text, and Textract's normalised form when it gave one.
struct Value {
    text: String,
    normalized_date: Option<NaiveDate>,
}

/// Builds the result from every page, front first: a field read on both keeps the front's.
fn read_fields(documents: &[IdentityDocument], min_confidence: f32) -> TextractResult {
    let mut pages: Vec<&IdentityDocument> = documents.iter().collect();
    pages.sort_by_key(|d| d.document_index().unwrap_or(i32::MAX));
    let mut values: HashMap<String, Value> = HashMap::new();
    let mut mrz_text = None;
    for field in pages.iter().flat_map(|d| d.identity_document_fields()) {
        let (Some(kind), Some(detection)) = (field.r#type(), field.value_detection()) else { continue };
        let kind = kind.text().trim().to_uppercase().replace(' ', "_");
        let text = collapse_whitespace(detection.text());
        if text.is_empty() {
            continue;
        }
        if kind == "MRZ_CODE" {
            // Lines stay apart: the MRZ parser needs them.
            mrz_text.get_or_insert_with(|| detection.text().trim().to_owned());
            continue;
        }
        if detection.confidence().unwrap_or(0.0) < min_confidence {
            continue;
        }
        values.entry(kind).or_insert_with(|| Value { normalized_date: normalized_date(detection), text });
    }
    let county = values.remove("COUNTY").map(|v| v.text);
    let place_of_birth = values.remove("PLACE_OF_BIRTH").map(|v| v.text);
    TextractResult { extracted: extracted(&values), mrz_text, county, place_of_birth }
}

fn extracted(values: &HashMap<String, Value>) -> ExtractedDocument {
    let text = |kind: &str| values.get(kind).map(|v| v.text.clone());
    let date = |kind: &str| {
        let value = values.get(kind)?;
        value.normalized_date.or_else(|| parse_printed_date(&value.text))
    };
    let given_names = match (text("FIRST_NAME"), text("MIDDLE_NAME")) {
        (Some(first), Some(middle)) => Some(format!("{first} {middle}")),
        (first, _) => first,
    };
    // The address's state is an abbreviation like the AAMVA one (`MA`); the state name
    // printed as the issuer (`MASSACHUSETTS`) is the fallback.
    let region = text("STATE_IN_ADDRESS").or_else(|| text("STATE_NAME"));
    let mut s = Vec::new();
    ExtractedDocument {
        kind: noted(&mut s, "kind", text("ID_TYPE").map(|t| document_kind(&t))),
        issuing_region: noted(&mut s, "issuing_region", region),
        given_names: noted(&mut s, "given_names", given_names),
        family_name: noted(&mut s, "family_name", text("LAST_NAME")),
        birth_date: noted(&mut s, "birth_date", date("DATE_OF_BIRTH")),
        expiry_date: noted(&mut s, "expiry_date", date("EXPIRATION_DATE")),
        document_number: noted(&mut s, "document_number", text("DOCUMENT_NUMBER")),
        sources: s,
        ..ExtractedDocument::default()
    }
}

/// Records that a field was read by OCR.
fn noted<T>(sources: &mut Vec<(&'static str, FieldSource)>, name: &'static str, value: Option<T>) -> Option<T> {
    if value.is_some() {
        sources.push((name, FieldSource::Ocr));
    }
    value
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `NormalizedValue` of a date is ISO with a time part: `1974-08-12T00:00:00`.
fn normalized_date(detection: &AnalyzeIdDetections) -> Option<NaiveDate> {
    let normalized = detection.normalized_value()?;
    if normalized.value_type().is_some_and(|t| *t != ValueType::Date) {
        return None;
    }
    let value = normalized.value()?;
    NaiveDate::parse_from_str(value.get(..10)?, "%Y-%m-%d").ok()
}

/// Only unambiguous printed forms: `03/04/2030` could be either month first or day first.
fn parse_printed_date(text: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%d %b %Y", "%d-%b-%Y", "%d %B %Y"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
}

/// `ID_TYPE` values: `DRIVER LICENSE FRONT`, `PASSPORT`, ...
fn document_kind(id_type: &str) -> DocumentKind {
    let id_type = id_type.to_uppercase();
    if id_type.contains("PASSPORT") {
        DocumentKind::Passport
    } else if id_type.contains("DRIVER") || id_type.contains("LICENCE") {
        DocumentKind::DriverLicence
    } else if id_type.contains("ID CARD") || id_type.contains("IDENTIFICATION") {
        DocumentKind::IdCard
    } else {
        DocumentKind::Other
    }
}

/// The service's refusals of what was sent, as the step's outcome codes.
const REFUSED: &[(&str, &str)] = &[
    ("BadDocumentException", "document_unreadable"),
    ("InvalidParameterException", "document_unreadable"),
    ("UnsupportedDocumentException", "document_unreadable"),
    ("DocumentTooLargeException", "document_too_large"),
];

fn textract_err<E: ProvideErrorMetadata>(op: &str, err: &SdkError<E, HttpResponse>) -> CheckError {
    crate::checks::aws_failure::check_err(op, err, REFUSED)
}

#[cfg(test)]
mod tests {
    use aws_sdk_textract::config::retry::RetryConfig;
    use aws_sdk_textract::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_textract::operation::analyze_id::AnalyzeIdInput;
    use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
    use serde_json::{Value as Json, json};

    use super::*;

    /// A real SDK client whose HTTP exchanges are replayed: responses go through the SDK's
    /// own deserialisation and error parsing.
    fn replaying(rule: &Rule) -> Client {
        let interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny).with_rule(rule);
        let config = aws_sdk_textract::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("ap-southeast-2"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .retry_config(RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    fn answering(status: u16, body: Json) -> Rule {
        mock!(Client::analyze_id).sequence().http_status(status, Some(body.to_string())).repeatedly().build()
    }

    fn field(kind: &str, text: &str, confidence: f32) -> Json {
        json!({"Type": {"Text": kind}, "ValueDetection": {"Text": text, "Confidence": confidence}})
    }

    fn date_field(kind: &str, printed: &str, normalized: &str) -> Json {
        json!({"Type": {"Text": kind}, "ValueDetection": {"Text": printed, "Confidence": 98.7,
            "NormalizedValue": {"Value": normalized, "ValueType": "DATE"}}})
    }

    fn response(documents: Vec<(i32, Vec<Json>)>) -> Json {
        let documents: Vec<Json> = documents
            .into_iter()
            .map(|(index, fields)| json!({"DocumentIndex": index, "IdentityDocumentFields": fields, "Blocks": []}))
            .collect();
        let pages = documents.len();
        json!({"IdentityDocuments": documents, "DocumentMetadata": {"Pages": pages}, "AnalyzeIDModelVersion": "1.0"})
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[tokio::test]
    async fn maps_a_licence_front_and_back_keeping_the_front_values() {
        let body = response(vec![
            // The back is listed first on purpose: pages are ordered by DocumentIndex.
            (2, vec![field("DOCUMENT_NUMBER", "BACK-999", 99.0), field("ID_TYPE", "DRIVER LICENSE BACK", 99.0)]),
            (
                1,
                vec![
                    field("FIRST_NAME", "GARCIA", 99.2),
                    field("MIDDLE_NAME", "MARIA  ISABEL", 97.1),
                    field("LAST_NAME", "SAMPLE", 99.9),
                    date_field("DATE_OF_BIRTH", "08/12/1974", "1974-08-12T00:00:00"),
                    date_field("EXPIRATION_DATE", "01/20/2028", "2028-01-20T00:00:00"),
                    field("DOCUMENT_NUMBER", "736HDV7874JSB", 99.5),
                    field("ID_TYPE", "DRIVER LICENSE FRONT", 99.8),
                    field("STATE_IN_ADDRESS", "MA", 99.0),
                    field("STATE_NAME", "MASSACHUSETTS", 99.0),
                    field("COUNTY", "SUFFOLK", 91.0),
                    field("SUFFIX", "", 99.0),
                ],
            ),
        ]);
        let rule = mock!(Client::analyze_id)
            .match_requests(|input: &AnalyzeIdInput| {
                let pages: Vec<_> = input.document_pages().iter().map(|p| p.bytes().map(|b| b.as_ref())).collect();
                pages == [Some(&b"front"[..]), Some(&b"back"[..])]
            })
            .sequence()
            .http_status(200, Some(body.to_string()))
            .build();
        let reader = TextractReader::new(replaying(&rule));

        let result = reader.analyze(b"front", Some(b"back")).await.unwrap();

        let doc = &result.extracted;
        assert_eq!(doc.given_names.as_deref(), Some("GARCIA MARIA ISABEL"));
        assert_eq!(doc.family_name.as_deref(), Some("SAMPLE"));
        assert_eq!(doc.birth_date, Some(date(1974, 8, 12)));
        assert_eq!(doc.expiry_date, Some(date(2028, 1, 20)));
        assert_eq!(doc.document_number.as_deref(), Some("736HDV7874JSB"));
        assert_eq!(doc.kind, Some(DocumentKind::DriverLicence));
        assert_eq!(doc.issuing_region.as_deref(), Some("MA"));
        assert_eq!((doc.issuing_country.as_deref(), doc.sex, doc.nationality.as_deref()), (None, None, None));
        assert_eq!(result.county.as_deref(), Some("SUFFOLK"));
        assert_eq!(result.mrz_text, None);
        let mut sources: Vec<_> = doc.sources.iter().map(|(name, source)| (*name, *source)).collect();
        sources.sort();
        let expected =
            ["birth_date", "document_number", "expiry_date", "family_name", "given_names", "issuing_region", "kind"];
        assert_eq!(sources, expected.map(|name| (name, FieldSource::Ocr)));
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn fields_below_the_confidence_floor_are_dropped() {
        let body = response(vec![(
            1,
            vec![
                field("FIRST_NAME", "JANE", 95.0),
                field("LAST_NAME", "SMITH", 42.0),
                field("STATE_IN_ADDRESS", "NS", 60.0),
                field("STATE_NAME", "NEW SOUTH WALES", 90.0),
            ],
        )]);
        let rule = answering(200, body);
        let client = replaying(&rule);

        let strict = TextractReader::new(client.clone()).read(b"front", None).await.unwrap().fields;
        assert_eq!(strict.given_names.as_deref(), Some("JANE"));
        assert_eq!(strict.family_name, None);
        assert_eq!(strict.issuing_region.as_deref(), Some("NEW SOUTH WALES"));
        assert!(!strict.sources.iter().any(|(name, _)| *name == "family_name"));

        let lenient = TextractReader::new(client).with_min_confidence(40.0).read(b"front", None).await.unwrap().fields;
        assert_eq!(lenient.family_name.as_deref(), Some("SMITH"));
        assert_eq!(lenient.issuing_region.as_deref(), Some("NS"));
    }

    #[tokio::test]
    async fn a_passport_keeps_its_mrz_lines_whatever_their_confidence() {
        let mrz = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
        let body = response(vec![(
            1,
            vec![
                field("ID_TYPE", "PASSPORT", 99.0),
                field("MRZ_CODE", mrz, 55.0),
                field("PLACE_OF_BIRTH", "ZENITH", 93.0),
                // No normalised value: only an unambiguous printed date is read.
                field("DATE_OF_BIRTH", "12 AUG 1974", 97.0),
                field("EXPIRATION_DATE", "04/15/2012", 97.0),
            ],
        )]);
        let rule = answering(200, body);

        let result = TextractReader::new(replaying(&rule)).analyze(b"front", None).await.unwrap();

        assert_eq!(result.mrz_text.as_deref(), Some(mrz));
        assert_eq!(result.place_of_birth.as_deref(), Some("ZENITH"));
        assert_eq!(result.extracted.kind, Some(DocumentKind::Passport));
        assert_eq!(result.extracted.birth_date, Some(date(1974, 8, 12)));
        assert_eq!(result.extracted.expiry_date, None);
    }

    #[tokio::test]
    async fn service_errors_are_classified() {
        // `None`: transient; otherwise the permanent code.
        let cases = [
            (400, "ThrottlingException", None),
            (400, "com.amazonaws.textract#ProvisionedThroughputExceededException", None),
            (500, "InternalServerError", None),
            (503, "SomethingNew", None),
            (400, "InvalidParameterException", Some("document_unreadable")),
            (400, "UnsupportedDocumentException", Some("document_unreadable")),
            (400, "BadDocumentException", Some("document_unreadable")),
            (400, "DocumentTooLargeException", Some("document_too_large")),
            (400, "AccessDeniedException", Some("provider_access_denied")),
            (400, "SomethingNew", Some("provider_error")),
        ];
        for (status, code, expected) in cases {
            let rule = answering(status, json!({"__type": code, "Message": "the service's words"}));
            let err = TextractReader::new(replaying(&rule)).read(b"front", None).await.unwrap_err();
            match (expected, &err) {
                (None, CheckError::Transient(_)) => {}
                (Some(want), CheckError::Permanent { code }) if code == want => {}
                _ => panic!("{status} {code}: expected {expected:?}, got {err:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_garbled_answer_is_a_provider_error_not_an_empty_document() {
        let rule = mock!(Client::analyze_id).sequence().http_status(200, Some("{not json".into())).build();
        let err = TextractReader::new(replaying(&rule)).read(b"front", None).await.unwrap_err();
        assert!(matches!(err, CheckError::Permanent { ref code } if code == "provider_error"), "{err:?}");
    }

    #[test]
    fn printed_dates_are_read_only_when_unambiguous() {
        assert_eq!(parse_printed_date("1974-08-12"), Some(date(1974, 8, 12)));
        assert_eq!(parse_printed_date("12 Aug 1974"), Some(date(1974, 8, 12)));
        assert_eq!(parse_printed_date("12-AUG-1974"), Some(date(1974, 8, 12)));
        assert_eq!(parse_printed_date("08/12/1974"), None);
        assert_eq!(parse_printed_date("12/08/1974"), None);
    }

    #[test]
    fn id_types_map_to_document_kinds() {
        assert_eq!(document_kind("DRIVER LICENSE FRONT"), DocumentKind::DriverLicence);
        assert_eq!(document_kind("Passport"), DocumentKind::Passport);
        assert_eq!(document_kind("STATE ID CARD"), DocumentKind::IdCard);
        assert_eq!(document_kind("VISA"), DocumentKind::Other);
    }
}
