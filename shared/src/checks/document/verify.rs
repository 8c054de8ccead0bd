//! The document step's judgement: what the readers extracted, held against what the
//! customer pre-filled and the session's age rule. Pure, so every rule has a test.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::{ExtractedDocument, FieldSource};
use crate::checks::bank;
use crate::decision::{CheckOutcome, NameMatch, StepOutcome};
use crate::domain::Person;

/// What the readers produced for one document.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub extracted: ExtractedDocument,
    /// An MRZ was seen but its check digits failed even after repair: a misread or a forgery.
    pub mrz_invalid: bool,
}

/// Per-field verdicts, as evidence: `match`, `partial`, `mismatch`, `valid`, `expired`,
/// `met`, `not_met`, `unreadable`, or `not_provided` when the customer pre-filled nothing.
pub fn judge(findings: &Findings, person: &Person, min_age: Option<u32>, today: NaiveDate) -> StepOutcome {
    let doc = &findings.extracted;
    let mut fields = BTreeMap::new();
    let mut reasons = Vec::new();
    let mut verdicts = Vec::new();

    let name_read = doc.given_names.is_some() || doc.family_name.is_some();
    match (&person.first_name, &person.last_name) {
        (Some(first), Some(last)) if name_read => {
            let written = [doc.given_names.as_deref(), doc.family_name.as_deref()].into_iter().flatten();
            let written = written.collect::<Vec<_>>().join(" ");
            let (verdict, field) = match bank::score(first.as_str(), last.as_str(), &written).outcome {
                NameMatch::Exact => (CheckOutcome::Passed, "match"),
                NameMatch::Partial => (CheckOutcome::Review, "partial"),
                NameMatch::Mismatch => (CheckOutcome::Failed, "mismatch"),
            };
            verdicts.push(verdict);
            fields.insert("name", field);
        }
        (Some(_), Some(_)) => {
            verdicts.push(CheckOutcome::Review);
            fields.insert("name", "unreadable");
        }
        _ => {
            fields.insert("name", "not_provided");
        }
    }

    match (person.birth_date, doc.birth_date) {
        (Some(given), Some(read)) if given.date() == read => {
            fields.insert("birth_date", "match");
        }
        (Some(_), Some(_)) => {
            verdicts.push(CheckOutcome::Failed);
            fields.insert("birth_date", "mismatch");
        }
        (Some(_), None) => {
            verdicts.push(CheckOutcome::Review);
            fields.insert("birth_date", "unreadable");
        }
        (None, _) => {
            fields.insert("birth_date", "not_provided");
        }
    }

    match doc.expiry_date {
        Some(expiry) if expiry >= today => {
            fields.insert("expiry", "valid");
        }
        Some(_) => {
            verdicts.push(CheckOutcome::Failed);
            fields.insert("expiry", "expired");
        }
        None => {
            verdicts.push(CheckOutcome::Review);
            fields.insert("expiry", "unreadable");
        }
    }

    if let Some(min_age) = min_age {
        // The document's own birth date decides the age; the pre-filled one only if unread.
        match doc.birth_date.or(person.birth_date.map(|b| b.date())) {
            Some(born) if age_on(born, today) >= min_age => {
                fields.insert("min_age", "met");
            }
            Some(_) => {
                verdicts.push(CheckOutcome::Failed);
                fields.insert("min_age", "not_met");
            }
            None => {
                verdicts.push(CheckOutcome::Review);
                fields.insert("min_age", "unreadable");
            }
        }
    }

    if findings.mrz_invalid {
        verdicts.push(CheckOutcome::Review);
        fields.insert("mrz", "invalid");
        reasons.push("mrz_check_digits".to_owned());
    } else if doc.sources.iter().any(|(_, s)| *s == FieldSource::Mrz) {
        fields.insert("mrz", "valid");
    }

    let read_anything = name_read || doc.birth_date.is_some() || doc.document_number.is_some();
    if !read_anything {
        reasons.push("document_unreadable".to_owned());
        verdicts.push(CheckOutcome::Review);
    }
    for (field, verdict) in &fields {
        if matches!(*verdict, "mismatch" | "expired" | "not_met" | "partial") {
            reasons.push(format!("{field}_{verdict}"));
        }
    }
    let outcome = if verdicts.contains(&CheckOutcome::Failed) {
        CheckOutcome::Failed
    } else if verdicts.contains(&CheckOutcome::Review) {
        CheckOutcome::Review
    } else {
        CheckOutcome::Passed
    };
    StepOutcome::Document {
        outcome,
        document: doc.kind.map_or("unknown", |k| k.as_str()).to_owned(),
        reasons,
        country: doc.issuing_country.clone(),
        fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
    }
}

/// Whole years between `born` and `today`.
pub fn age_on(born: NaiveDate, today: NaiveDate) -> u32 {
    let mut years = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::document::DocumentKind;
    use crate::domain::{BirthDate, PersonName};

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn today() -> NaiveDate {
        date("2026-11-25")
    }

    fn person(first: &str, last: &str, born: &str) -> Person {
        Person {
            first_name: Some(PersonName::parse(first).unwrap()),
            last_name: Some(PersonName::parse(last).unwrap()),
            birth_date: Some(BirthDate::parse(born, 1_800_000_000).unwrap()),
        }
    }

    fn licence(given: &str, family: &str, born: &str, expires: &str) -> Findings {
        Findings {
            extracted: ExtractedDocument {
                kind: Some(DocumentKind::DriverLicence),
                issuing_country: Some("USA".into()),
                given_names: Some(given.into()),
                family_name: Some(family.into()),
                birth_date: Some(date(born)),
                expiry_date: Some(date(expires)),
                document_number: Some("D1234567".into()),
                sources: vec![("family_name", FieldSource::Barcode)],
                ..Default::default()
            },
            mrz_invalid: false,
        }
    }

    fn verdict(outcome: &StepOutcome) -> (CheckOutcome, Vec<String>) {
        match outcome {
            StepOutcome::Document { outcome, reasons, .. } => (*outcome, reasons.clone()),
            other => panic!("not a document outcome: {other:?}"),
        }
    }

    #[test]
    fn a_matching_valid_document_passes_with_per_field_evidence() {
        let found = licence("JANE ALICE", "SMITH", "1990-01-31", "2030-05-01");
        let outcome = judge(&found, &person("Jane", "Smith", "1990-01-31"), Some(18), today());
        assert_eq!(verdict(&outcome).0, CheckOutcome::Passed);
        let evidence = outcome.evidence();
        assert_eq!(evidence["document"], "driverslicence");
        assert_eq!(evidence["country"], "USA");
        assert_eq!(evidence["fields"]["birth_date"], "match");
        assert_eq!(evidence["fields"]["min_age"], "met");
        assert_eq!(evidence["fields"]["expiry"], "valid");
    }

    #[test]
    fn names_compare_across_case_accents_and_order() {
        let found = licence("ZOE", "MULLER", "1990-01-31", "2030-05-01");
        let outcome = judge(&found, &person("Zoë", "Müller", "1990-01-31"), None, today());
        assert_eq!(verdict(&outcome).0, CheckOutcome::Passed);
    }

    #[test]
    fn a_different_birth_date_an_expired_document_or_an_under_age_holder_fails() {
        let p = person("Jane", "Smith", "1990-01-31");
        let wrong_dob = judge(&licence("JANE", "SMITH", "1990-01-30", "2030-05-01"), &p, None, today());
        assert_eq!(verdict(&wrong_dob), (CheckOutcome::Failed, vec!["birth_date_mismatch".to_owned()]));
        let expired = judge(&licence("JANE", "SMITH", "1990-01-31", "2026-11-24"), &p, None, today());
        assert_eq!(verdict(&expired), (CheckOutcome::Failed, vec!["expiry_expired".to_owned()]));
        let young = person("Jane", "Smith", "2010-01-31");
        let minor = judge(&licence("JANE", "SMITH", "2010-01-31", "2030-05-01"), &young, Some(18), today());
        assert_eq!(verdict(&minor), (CheckOutcome::Failed, vec!["min_age_not_met".to_owned()]));
        let other = judge(&licence("PETER", "JONES", "1990-01-31", "2030-05-01"), &p, None, today());
        assert_eq!(verdict(&other).0, CheckOutcome::Failed);
    }

    #[test]
    fn an_unreadable_document_or_a_bad_mrz_goes_to_review() {
        let p = person("Jane", "Smith", "1990-01-31");
        let nothing = judge(&Findings::default(), &p, None, today());
        assert_eq!(verdict(&nothing).0, CheckOutcome::Review);
        assert!(verdict(&nothing).1.contains(&"document_unreadable".to_owned()));
        let mut bad_mrz = licence("JANE", "SMITH", "1990-01-31", "2030-05-01");
        bad_mrz.mrz_invalid = true;
        assert_eq!(verdict(&judge(&bad_mrz, &p, None, today())).0, CheckOutcome::Review);
    }

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(date("2008-11-25"), today()), 18);
        assert_eq!(age_on(date("2008-11-26"), today()), 17);
        assert_eq!(age_on(date("2008-02-29"), date("2026-02-28")), 17);
    }
}
