//! The document step: a quality gate on every capture, then fields read from the MRZ,
//! barcodes and OCR, cross-checked against what the customer pre-filled.

pub mod barcode;
pub mod mrz;
pub mod quality;
#[cfg(feature = "aws")]
pub mod textract;
pub mod verify;

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::pipeline::checks::CheckError;

/// The kind of identity document, as far as the readers can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Passport,
    DriverLicence,
    IdCard,
    /// A travel document or visa that is not one of the above.
    Other,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Passport => "passport",
            DocumentKind::DriverLicence => "driverslicence",
            DocumentKind::IdCard => "idcard",
            DocumentKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
    Unspecified,
}

/// Where a field was read from, most trusted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FieldSource {
    /// An MRZ whose check digits all hold.
    Mrz,
    /// A PDF417 (AAMVA) or QR barcode.
    Barcode,
    /// Printed text read by OCR (Textract, Tesseract).
    Ocr,
}

/// Everything the readers got off one document. Every field is optional: a reader fills
/// what it could read, and [`ExtractedDocument::merge`] keeps the most trusted value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtractedDocument {
    pub kind: Option<DocumentKind>,
    /// ISO 3166-1 alpha-3 as in the MRZ (`AUS`, `UTO`), or the AAMVA jurisdiction (`USA`).
    pub issuing_country: Option<String>,
    /// Issuing state or province where the document has one (AAMVA DAJ, `NSW`).
    pub issuing_region: Option<String>,
    pub given_names: Option<String>,
    pub family_name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub expiry_date: Option<NaiveDate>,
    pub document_number: Option<String>,
    pub sex: Option<Sex>,
    /// ISO 3166-1 alpha-3.
    pub nationality: Option<String>,
    /// The source of each field that was filled, for evidence.
    pub sources: Vec<(&'static str, FieldSource)>,
}

impl ExtractedDocument {
    /// Takes each of `other`'s fields where this one has none, or has it from a less
    /// trusted source (an MRZ beats a barcode beats OCR).
    pub fn merge(&mut self, other: ExtractedDocument) {
        fn take<T>(
            name: &'static str,
            mine: &mut Option<T>,
            theirs: Option<T>,
            sources: &mut Vec<(&'static str, FieldSource)>,
            their_sources: &[(&'static str, FieldSource)],
        ) {
            let Some(value) = theirs else { return };
            let their = their_sources.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
            let ours = sources.iter().position(|(n, _)| *n == name);
            let better = match (ours.map(|i| sources[i].1), their) {
                (None, _) => true,
                (Some(ours), Some(their)) => their < ours,
                (Some(_), None) => false,
            };
            if mine.is_none() || better {
                *mine = Some(value);
                sources.retain(|(n, _)| *n != name);
                if let Some(source) = their {
                    sources.push((name, source));
                }
            }
        }
        let theirs = other.sources;
        let s = &mut self.sources;
        take("kind", &mut self.kind, other.kind, s, &theirs);
        take("issuing_country", &mut self.issuing_country, other.issuing_country, s, &theirs);
        take("issuing_region", &mut self.issuing_region, other.issuing_region, s, &theirs);
        take("given_names", &mut self.given_names, other.given_names, s, &theirs);
        take("family_name", &mut self.family_name, other.family_name, s, &theirs);
        take("birth_date", &mut self.birth_date, other.birth_date, s, &theirs);
        take("expiry_date", &mut self.expiry_date, other.expiry_date, s, &theirs);
        take("document_number", &mut self.document_number, other.document_number, s, &theirs);
        take("sex", &mut self.sex, other.sex, s, &theirs);
        take("nationality", &mut self.nationality, other.nationality, s, &theirs);
    }
}

/// What an OCR reader got: its normalised fields, and the MRZ text if it saw one (our
/// own parser checks it, whoever read it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    pub fields: ExtractedDocument,
    pub mrz_text: Option<String>,
}

/// Reads printed text (and the MRZ) off document images: Textract in AWS, Tesseract
/// for self-hosting. Barcodes and the MRZ parser are ours and need no reader.
#[async_trait]
pub trait DocumentReader: Send + Sync {
    fn name(&self) -> &'static str;
    /// `back` is given when the user captured one.
    async fn read(&self, front: &[u8], back: Option<&[u8]>) -> Result<Reading, CheckError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_the_most_trusted_source_per_field() {
        let mut ocr = ExtractedDocument {
            family_name: Some("SM1TH".into()),
            document_number: Some("X1".into()),
            sources: vec![("family_name", FieldSource::Ocr), ("document_number", FieldSource::Ocr)],
            ..Default::default()
        };
        let mrz = ExtractedDocument {
            family_name: Some("SMITH".into()),
            given_names: Some("JANE".into()),
            sources: vec![("family_name", FieldSource::Mrz), ("given_names", FieldSource::Mrz)],
            ..Default::default()
        };
        ocr.merge(mrz);
        assert_eq!(ocr.family_name.as_deref(), Some("SMITH"));
        assert_eq!(ocr.given_names.as_deref(), Some("JANE"));
        assert_eq!(ocr.document_number.as_deref(), Some("X1"));
        let weaker = ExtractedDocument {
            family_name: Some("SMYTH".into()),
            sources: vec![("family_name", FieldSource::Ocr)],
            ..Default::default()
        };
        ocr.merge(weaker);
        assert_eq!(ocr.family_name.as_deref(), Some("SMITH"));
    }
}
