//! The document step: a quality gate on every capture, then fields read from the MRZ,
//! barcodes and OCR, cross-checked against what the customer pre-filled.

pub mod barcode;
pub mod mrz;
pub mod quality;
#[cfg(feature = "aws")]
pub mod textract;

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

/// Reads printed text (and the MRZ) off document images: Textract in AWS, Tesseract
/// for self-hosting. Barcodes and the MRZ parser are ours and need no reader.
#[async_trait]
pub trait DocumentReader: Send + Sync {
    fn name(&self) -> &'static str;
    /// `back` is given when the user captured one.
    async fn read(&self, front: &[u8], back: Option<&[u8]>) -> Result<ExtractedDocument, CheckError>;
}
