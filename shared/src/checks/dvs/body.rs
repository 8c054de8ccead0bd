//! The JSON a DVS gateway receives for one lookup:
//!
//! ```json
//! { "document_type": "driverslicence",
//!   "document": {"state": "NSW", "licence_number": "12345678", "card_number": "P1234567"},
//!   "given_name": "Jane", "family_name": "Smith", "birth_date": "1990-01-31",
//!   "consent": true, "consent_at": "2025-04-01T02:03:04Z" }
//! ```
//!
//! `document` by type, each field only when the user gave it:
//! - `driverslicence`: `state`, `licence_number`, `card_number`
//! - `passport` (Australian): `passport_number`
//! - `medicare`: `card_number` (the individual reference number, card colour and expiry are
//!   not collected yet)
//! - `visa`: `passport_number`, the foreign passport the visa is granted against
//! - `birthcertificate`: `registration_number`, `state` of registration
//! - `citizenship`: `stock_number` (the certificate's)
//! - `immicard`: `immicard_number`
//!
//! Names and the birth date are left out when unknown.

use chrono::{DateTime, SecondsFormat};
use serde_json::{Map, Value, json};

use super::DvsRequest;
use crate::domain::details::DvsDocument;
use crate::pipeline::checks::CheckError;

/// The gateway request body for `request`; fails only for a consent time chrono cannot place.
pub fn request_body(request: &DvsRequest<'_>) -> Result<Value, CheckError> {
    let consent_at = DateTime::from_timestamp(request.consent_at, 0)
        .ok_or_else(|| CheckError::Permanent { code: "dvs_invalid_consent_time".into() })?
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let details = request.details;
    let number = Some(details.number.as_str());
    let document: Vec<(&str, Option<&str>)> = match details.document_type {
        DvsDocument::Driverslicence => vec![
            ("state", details.state.as_deref()),
            ("licence_number", number),
            ("card_number", details.card_number.as_deref()),
        ],
        DvsDocument::Passport | DvsDocument::Visa => vec![("passport_number", number)],
        DvsDocument::Medicare => vec![("card_number", number)],
        DvsDocument::Birthcertificate => vec![("registration_number", number), ("state", details.state.as_deref())],
        DvsDocument::Citizenship => vec![("stock_number", number)],
        DvsDocument::Immicard => vec![("immicard_number", number)],
    };
    let mut body = Map::new();
    body.insert("document_type".into(), json!(details.document_type.as_str()));
    body.insert("document".into(), Value::Object(present(document)));
    let birth_date = request.birth_date.map(|d| d.format("%Y-%m-%d").to_string());
    let person = [
        ("given_name", request.given_name),
        ("family_name", request.family_name),
        ("birth_date", birth_date.as_deref()),
    ];
    body.extend(present(person));
    body.insert("consent".into(), json!(true));
    body.insert("consent_at".into(), json!(consent_at));
    Ok(Value::Object(body))
}

/// The fields that have a non-blank value.
fn present<'a>(fields: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Map<String, Value> {
    fields
        .into_iter()
        .filter_map(|(k, v)| v.map(str::trim).filter(|v| !v.is_empty()).map(|v| (k.to_owned(), json!(v))))
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::DvsDetails;

    const CONSENT: i64 = 1_743_472_984; // 2025-04-01T02:03:04Z

    fn body_for(document_type: DvsDocument, number: &str, state: Option<&str>, card: Option<&str>) -> Value {
        let details = DvsDetails {
            document_type,
            number: number.into(),
            state: state.map(Into::into),
            card_number: card.map(Into::into),
        };
        let request = DvsRequest {
            details: &details,
            given_name: Some("Jane"),
            family_name: Some("Smith"),
            birth_date: NaiveDate::from_ymd_opt(1990, 1, 31),
            consent_at: CONSENT,
        };
        request_body(&request).unwrap()
    }

    fn document(body: &Value) -> &Value {
        assert_eq!(body["consent"], true);
        assert_eq!(body["consent_at"], "2025-04-01T02:03:04Z");
        assert_eq!(
            (&body["given_name"], &body["family_name"], &body["birth_date"]),
            (&json!("Jane"), &json!("Smith"), &json!("1990-01-31"))
        );
        &body["document"]
    }

    #[test]
    fn driver_licence_sends_state_licence_and_card_numbers() {
        let body = body_for(DvsDocument::Driverslicence, "12345678", Some("NSW"), Some("P1234567"));
        assert_eq!(body["document_type"], "driverslicence");
        assert_eq!(document(&body), &json!({"state": "NSW", "licence_number": "12345678", "card_number": "P1234567"}));
        // Older licences have no card number: the field is left out, not sent empty.
        let body = body_for(DvsDocument::Driverslicence, "12345678", Some("VIC"), None);
        assert_eq!(document(&body), &json!({"state": "VIC", "licence_number": "12345678"}));
    }

    #[test]
    fn passport_sends_its_number() {
        let body = body_for(DvsDocument::Passport, "PA1234567", None, None);
        assert_eq!(
            (body["document_type"].as_str(), document(&body)),
            (Some("passport"), &json!({"passport_number": "PA1234567"}))
        );
    }

    #[test]
    fn medicare_sends_the_card_number() {
        let body = body_for(DvsDocument::Medicare, "2123456701", None, None);
        assert_eq!(document(&body), &json!({"card_number": "2123456701"}));
    }

    #[test]
    fn visa_sends_the_foreign_passport_number() {
        let body = body_for(DvsDocument::Visa, "X1234567", None, None);
        assert_eq!(
            (body["document_type"].as_str(), document(&body)),
            (Some("visa"), &json!({"passport_number": "X1234567"}))
        );
    }

    #[test]
    fn birth_certificate_sends_the_registration_number_and_any_state() {
        let body = body_for(DvsDocument::Birthcertificate, "1990123456", None, None);
        assert_eq!(document(&body), &json!({"registration_number": "1990123456"}));
        let body = body_for(DvsDocument::Birthcertificate, "1990123456", Some("QLD"), None);
        assert_eq!(document(&body), &json!({"registration_number": "1990123456", "state": "QLD"}));
    }

    #[test]
    fn citizenship_sends_the_stock_number() {
        let body = body_for(DvsDocument::Citizenship, "ACC123456", None, None);
        assert_eq!(document(&body), &json!({"stock_number": "ACC123456"}));
    }

    #[test]
    fn immicard_sends_its_number() {
        let body = body_for(DvsDocument::Immicard, "EIC123456", None, None);
        assert_eq!(document(&body), &json!({"immicard_number": "EIC123456"}));
    }

    #[test]
    fn unknown_person_fields_are_left_out() {
        let details =
            DvsDetails { document_type: DvsDocument::Passport, number: "PA1".into(), state: None, card_number: None };
        let request = DvsRequest {
            details: &details,
            given_name: Some("  "),
            family_name: None,
            birth_date: None,
            consent_at: 0,
        };
        let body = request_body(&request).unwrap();
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["consent", "consent_at", "document", "document_type"]);
        assert_eq!(body["consent_at"], "1970-01-01T00:00:00Z");
        let far = DvsRequest { consent_at: i64::MAX, ..request };
        assert!(matches!(request_body(&far), Err(CheckError::Permanent { .. })));
    }
}
