//! AAMVA DL/ID card data, as carried by the PDF417 on North American licence backs: the
//! file header, the subfile designators and the data elements we use (versions 1 to 10).

use chrono::NaiveDate;

use super::super::{DocumentKind, ExtractedDocument, FieldSource, Sex};

/// The subfile holding the identity elements: a driver licence or an ID card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AamvaSubfile {
    DriverLicence,
    IdCard,
}

impl AamvaSubfile {
    pub(super) fn designator(self) -> &'static str {
        match self {
            AamvaSubfile::DriverLicence => "DL",
            AamvaSubfile::IdCard => "ID",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AamvaCountry {
    Usa,
    Canada,
}

impl AamvaCountry {
    /// ISO 3166-1 alpha-3, as AAMVA writes it in DCG.
    pub fn alpha3(self) -> &'static str {
        match self {
            AamvaCountry::Usa => "USA",
            AamvaCountry::Canada => "CAN",
        }
    }
}

/// Issuer identification number: the six digits identifying the issuing jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iin(String);

impl Iin {
    pub fn parse(digits: &str) -> Result<Iin, AamvaError> {
        if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Iin(digits.to_owned()))
        } else {
            Err(AamvaError::Header("issuer identification number"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AamvaHeader {
    pub iin: Iin,
    pub version: u8,
    /// Absent in version 1 headers.
    pub jurisdiction_version: Option<u8>,
}

/// The identity elements of one DL or ID subfile. Names and numbers are personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AamvaFields {
    pub subfile: AamvaSubfile,
    /// DAQ, the customer id (licence number).
    pub licence_number: String,
    /// DCS (DAB or DAA in older versions).
    pub family_name: String,
    /// DAC (DCT or DAA in older versions).
    pub first_name: Option<String>,
    /// DAD (DCT or DAA in older versions).
    pub middle_names: Option<String>,
    pub birth_date: NaiveDate,
    pub expiry_date: Option<NaiveDate>,
    pub issue_date: Option<NaiveDate>,
    /// DAJ, the issuing state or province (`CA`, `ON`).
    pub jurisdiction: Option<String>,
    pub sex: Option<Sex>,
    /// DCG, or inferred from DAJ when an older record has no DCG.
    pub country: Option<AamvaCountry>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aamva {
    pub header: AamvaHeader,
    pub fields: AamvaFields,
}

/// Why a payload is not usable AAMVA data. Never carries element values (personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AamvaError {
    #[error("not AAMVA data: no ANSI file header")]
    NotAamva,
    #[error("malformed AAMVA header: {0}")]
    Header(&'static str),
    #[error("no DL or ID subfile")]
    NoIdentitySubfile,
    #[error("element {0} is missing")]
    MissingElement(&'static str),
    #[error("element {0} is not a valid date")]
    InvalidDate(&'static str),
    #[error("element {0} has an invalid value")]
    InvalidValue(&'static str),
}

/// File types seen in the header: "ANSI " from 2000 on, "AAMVA" on some earlier cards.
const FILE_TYPES: [&[u8]; 2] = [b"ANSI ", b"AAMVA"];

/// The compliance indicator and separators before the file type, "@\n\x1e\r".
/// Subfile offsets count them; readers that drop control characters leave fewer.
const PREAMBLE: &[u8] = b"@\n\x1e\r";

/// Province and territory codes (DAJ) that make a record Canadian when DCG is absent.
const PROVINCES: [&str; 13] = ["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"];

/// Element values meaning "no value" in the wild.
const NO_VALUE: [&str; 4] = ["NONE", "UNAVL", "UNAVAIL", "UNKNOWN"];

/// Every DL/ID element ID of versions 1 to 10, to split a subfile whose separators a reader
/// dropped.
const ELEMENT_IDS: [&str; 79] = [
    "DAA", "DAB", "DAC", "DAD", "DAE", "DAF", "DAG", "DAH", "DAI", "DAJ", "DAK", "DAL", "DAM", "DAN", "DAO", "DAP",
    "DAQ", "DAR", "DAS", "DAT", "DAU", "DAV", "DAW", "DAX", "DAY", "DAZ", "DBA", "DBB", "DBC", "DBD", "DBE", "DBF",
    "DBG", "DBH", "DBI", "DBJ", "DBK", "DBL", "DBM", "DBN", "DBO", "DBP", "DBQ", "DBR", "DBS", "DCA", "DCB", "DCD",
    "DCE", "DCF", "DCG", "DCH", "DCI", "DCJ", "DCK", "DCL", "DCM", "DCN", "DCO", "DCP", "DCQ", "DCR", "DCS", "DCT",
    "DCU", "DDA", "DDB", "DDC", "DDD", "DDE", "DDF", "DDG", "DDH", "DDI", "DDJ", "DDK", "DDL", "PAA", "PAB",
];

/// Reads AAMVA DL/ID data (the text of a licence-back PDF417). Tolerates readers that drop
/// control characters, subfile offsets that do not match, and missing optional elements;
/// requires a licence number, a family name and a valid birth date.
pub fn parse_aamva(text: &str) -> Result<Aamva, AamvaError> {
    let header = Header::parse(text.as_bytes())?;
    let designator = [AamvaSubfile::DriverLicence, AamvaSubfile::IdCard]
        .into_iter()
        .find_map(|kind| header.designators.iter().find(|d| d.kind == kind.designator().as_bytes()).map(|d| (kind, d)));
    let (subfile, designator) = designator.ok_or(AamvaError::NoIdentitySubfile)?;
    let body = header.body(text, designator).ok_or(AamvaError::NoIdentitySubfile)?;
    let elements = Elements::split(body, &header.designators, designator);
    let fields = elements.fields(subfile, header.parsed.version)?;
    Ok(Aamva { header: header.parsed, fields })
}

struct Designator<'a> {
    kind: &'a [u8],
    offset: usize,
}

struct Header<'a> {
    parsed: AamvaHeader,
    designators: Vec<Designator<'a>>,
    /// Where the subfile designators end and the subfiles begin.
    end: usize,
    /// Bytes the reader dropped (or added) before the file type.
    shift: isize,
}

impl<'a> Header<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Header<'a>, AamvaError> {
        let window = &bytes[..bytes.len().min(16)];
        let start = FILE_TYPES
            .iter()
            .filter_map(|t| window.windows(t.len()).position(|w| w == *t))
            .min()
            .ok_or(AamvaError::NotAamva)?;
        if !bytes[..start].iter().all(|b| PREAMBLE.contains(b) || *b == b' ') {
            return Err(AamvaError::NotAamva);
        }
        let mut cursor = Cursor { bytes, at: start + 5 };
        let iin = Iin::parse(cursor.take_str(6).unwrap_or_default())?;
        let version = cursor.number(2).ok_or(AamvaError::Header("version"))?;
        let jurisdiction_version = match version {
            0 | 1 => None,
            _ => Some(cursor.number(2).ok_or(AamvaError::Header("jurisdiction version"))?),
        };
        let entries = cursor.number(2).ok_or(AamvaError::Header("number of entries"))?;
        let mut designators = Vec::with_capacity(entries.into());
        for _ in 0..entries {
            let kind = cursor.take(2).filter(|k| k.iter().all(u8::is_ascii_alphanumeric));
            let offset = cursor.number(4);
            let length = cursor.number(4);
            match (kind, offset, length) {
                (Some(kind), Some(offset), Some(_)) => designators.push(Designator { kind, offset: offset.into() }),
                _ => return Err(AamvaError::Header("subfile designator")),
            }
        }
        let parsed =
            AamvaHeader { iin, version: version as u8, jurisdiction_version: jurisdiction_version.map(|v| v as u8) };
        Ok(Header { parsed, designators, end: cursor.at, shift: start as isize - PREAMBLE.len() as isize })
    }

    /// The subfile's elements, from just after its designator ("DL") to the end of the text.
    fn body(&self, text: &'a str, designator: &Designator<'_>) -> Option<&'a str> {
        let bytes = text.as_bytes();
        let kind = designator.kind;
        let at_offset = usize::try_from(designator.offset as isize + self.shift).ok().filter(|&at| at >= self.end);
        let start = at_offset.filter(|&at| bytes.get(at..at + 2) == Some(kind)).or_else(|| {
            // Offsets are often wrong in the wild: take the first designator after the header
            // that is followed by an element ID.
            (self.end..bytes.len().saturating_sub(4)).find(|&at| {
                &bytes[at..at + 2] == kind
                    && bytes[at + 2] == b'D'
                    && bytes[at + 3..at + 5].iter().all(u8::is_ascii_uppercase)
            })
        })?;
        text.get(start + 2..)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at + n)?;
        self.at += n;
        Some(taken)
    }

    fn take_str(&mut self, n: usize) -> Option<&'a str> {
        self.take(n).and_then(|b| std::str::from_utf8(b).ok())
    }

    fn number(&mut self, digits: usize) -> Option<u16> {
        self.take_str(digits).filter(|s| s.bytes().all(|b| b.is_ascii_digit())).and_then(|s| s.parse().ok())
    }
}

/// A subfile's elements as (ID, value), in order, values trimmed and never empty.
struct Elements<'a>(Vec<(&'a str, &'a str)>);

fn is_separator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\x1e')
}

impl<'a> Elements<'a> {
    fn split(body: &'a str, designators: &[Designator<'_>], ours: &Designator<'_>) -> Elements<'a> {
        // Another subfile ("ZC…") starts where a line begins with its designator.
        let others: Vec<&[u8]> = designators.iter().map(|d| d.kind).filter(|k| *k != ours.kind).collect();
        let lines = body
            .split(is_separator)
            .take_while(|line| !others.iter().any(|k| line.as_bytes().starts_with(k)))
            .collect::<Vec<_>>();
        let pieces = if lines.len() == 1 && !body.contains(is_separator) { split_at_ids(lines[0]) } else { lines };
        Elements(
            pieces
                .into_iter()
                .filter_map(|line| {
                    let id = line.get(..3).filter(|id| id.bytes().all(|b| b.is_ascii_uppercase()))?;
                    let value = line[3..].trim();
                    (!value.is_empty()).then_some((id, value))
                })
                .collect(),
        )
    }

    /// The first value of `id`, "NONE" and the like counting as absent.
    fn get(&self, id: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| *v)
            .filter(|v| !NO_VALUE.iter().any(|none| v.eq_ignore_ascii_case(none)))
    }

    fn fields(&self, subfile: AamvaSubfile, version: u8) -> Result<AamvaFields, AamvaError> {
        let names = self.names()?;
        let jurisdiction = match self.get("DAJ") {
            Some(code) if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) => Some(code.to_owned()),
            Some(_) => return Err(AamvaError::InvalidValue("DAJ")),
            None => None,
        };
        let country = match self.get("DCG") {
            Some("USA") => Some(AamvaCountry::Usa),
            Some("CAN") => Some(AamvaCountry::Canada),
            Some(_) => return Err(AamvaError::InvalidValue("DCG")),
            None => jurisdiction
                .as_deref()
                .map(|j| if PROVINCES.contains(&j) { AamvaCountry::Canada } else { AamvaCountry::Usa }),
        };
        // Canada writes CCYYMMDD, the USA MMDDCCYY from version 2 on (CCYYMMDD before).
        let order = match (country, version) {
            (Some(AamvaCountry::Canada), _) | (None, 0 | 1) => DateOrder::Ymd,
            _ => DateOrder::Mdy,
        };
        let date = |id: &'static str| {
            self.get(id).map(|v| parse_date(v, order).ok_or(AamvaError::InvalidDate(id))).transpose()
        };
        let sex = match self.get("DBC") {
            Some("1" | "M") => Some(Sex::Male),
            Some("2" | "F") => Some(Sex::Female),
            Some("9" | "X") => Some(Sex::Unspecified),
            Some(_) => return Err(AamvaError::InvalidValue("DBC")),
            None => None,
        };
        Ok(AamvaFields {
            subfile,
            licence_number: self.get("DAQ").ok_or(AamvaError::MissingElement("DAQ"))?.to_owned(),
            family_name: names.family,
            first_name: names.first,
            middle_names: names.middle,
            birth_date: date("DBB")?.ok_or(AamvaError::MissingElement("DBB"))?,
            expiry_date: date("DBA")?,
            issue_date: date("DBD")?,
            jurisdiction,
            sex,
            country,
            street: self.get("DAG").map(str::to_owned),
            city: self.get("DAI").map(str::to_owned),
            postal_code: self.get("DAK").map(str::to_owned),
        })
    }

    /// DCS/DAC/DAD (version 4 on), DCS/DCT (versions 2-3), DAB/DAC/DAD or DAA (version 1).
    fn names(&self) -> Result<Names, AamvaError> {
        let full = self.get("DAA").map(split_full_name);
        let given = self.get("DCT").map(split_given_names);
        let family = match (self.get("DCS").or(self.get("DAB")), &full) {
            (Some(family), _) => family.to_owned(),
            (None, Some(Some(full))) => full.family.clone(),
            (None, Some(None)) => return Err(AamvaError::InvalidValue("DAA")),
            (None, None) => return Err(AamvaError::MissingElement("DCS")),
        };
        let full = full.flatten();
        let first = self
            .get("DAC")
            .map(str::to_owned)
            .or_else(|| given.as_ref().map(|g| g.0.clone()))
            .or_else(|| full.as_ref().and_then(|f| f.first.clone()));
        let middle = self
            .get("DAD")
            .map(str::to_owned)
            .or_else(|| given.and_then(|g| g.1))
            .or_else(|| full.and_then(|f| f.middle));
        Ok(Names { family, first, middle })
    }
}

struct Names {
    family: String,
    first: Option<String>,
    middle: Option<String>,
}

/// DAA, "LAST,FIRST,MIDDLE" (some issuers separate with `$`); None without a separator,
/// since "FIRST LAST" and "LAST FIRST" cannot be told apart.
fn split_full_name(full: &str) -> Option<Names> {
    let mut parts = full.split([',', '$']).map(str::trim);
    let family = parts.next().filter(|f| !f.is_empty())?.to_owned();
    let first = parts.next().filter(|f| !f.is_empty()).map(str::to_owned);
    first.as_ref()?;
    let middle = parts.filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    Some(Names { family, first, middle: (!middle.is_empty()).then_some(middle) })
}

/// DCT, "FIRST,MIDDLE" or "FIRST MIDDLE".
fn split_given_names(given: &str) -> (String, Option<String>) {
    let (first, middle) = given.split_once(',').or_else(|| given.split_once(' ')).unwrap_or((given, ""));
    let middle = middle.trim().replace(',', " ");
    (first.trim().to_owned(), (!middle.is_empty()).then_some(middle))
}

/// Splits a subfile whose separators were dropped at every known element ID. A value that
/// happens to contain one (a name like "DADDARIO") is cut; the separated form is unaffected.
fn split_at_ids(line: &str) -> Vec<&str> {
    let bytes = line.as_bytes();
    let starts: Vec<usize> = (0..bytes.len().saturating_sub(2))
        .filter(|&i| ELEMENT_IDS.iter().any(|id| &bytes[i..i + 3] == id.as_bytes()))
        .fold(Vec::new(), |mut starts, i| {
            // An ID cannot start inside the previous one.
            if starts.last().is_none_or(|&last| i >= last + 3) {
                starts.push(i);
            }
            starts
        });
    starts
        .iter()
        .enumerate()
        .filter_map(|(n, &s)| line.get(s..starts.get(n + 1).copied().unwrap_or(line.len())))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateOrder {
    /// MMDDCCYY (USA).
    Mdy,
    /// CCYYMMDD (Canada).
    Ymd,
}

/// Plausible years on a licence: birth dates from 1900, expiries this side of 2200.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// Eight digits in `order`, or in the other order when that is the only real date (some
/// issuers ignore the country convention). The ranges leave no ambiguity: a year read from
/// MMDD would be below 1300, a month read from CCYY above 12.
fn parse_date(value: &str, order: DateOrder) -> Option<NaiveDate> {
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |range: std::ops::Range<usize>| value[range].parse::<u32>().ok();
    let ymd = |(y, m, d): (u32, u32, u32)| {
        let year = i32::try_from(y).ok().filter(|y| YEARS.contains(y))?;
        NaiveDate::from_ymd_opt(year, m, d)
    };
    let mdy = || ymd((n(4..8)?, n(0..2)?, n(2..4)?));
    let iso = || ymd((n(0..4)?, n(4..6)?, n(6..8)?));
    match order {
        DateOrder::Mdy => mdy().or_else(iso),
        DateOrder::Ymd => iso().or_else(mdy),
    }
}

pub(super) fn format_date(date: NaiveDate, order: DateOrder) -> String {
    match order {
        DateOrder::Mdy => date.format("%m%d%Y").to_string(),
        DateOrder::Ymd => date.format("%Y%m%d").to_string(),
    }
}

impl Aamva {
    /// The fields as the document step sees them, every one sourced from the barcode.
    pub fn to_extracted(&self) -> ExtractedDocument {
        let f = &self.fields;
        let given = [f.first_name.as_deref(), f.middle_names.as_deref()].into_iter().flatten().collect::<Vec<_>>();
        let mut doc = ExtractedDocument {
            kind: Some(match f.subfile {
                AamvaSubfile::DriverLicence => DocumentKind::DriverLicence,
                AamvaSubfile::IdCard => DocumentKind::IdCard,
            }),
            issuing_country: f.country.map(|c| c.alpha3().to_owned()),
            issuing_region: f.jurisdiction.clone(),
            given_names: (!given.is_empty()).then(|| given.join(" ")),
            family_name: Some(f.family_name.clone()),
            birth_date: Some(f.birth_date),
            expiry_date: f.expiry_date,
            document_number: Some(f.licence_number.clone()),
            sex: f.sex,
            nationality: None,
            sources: Vec::new(),
        };
        let filled = [
            ("kind", doc.kind.is_some()),
            ("issuing_country", doc.issuing_country.is_some()),
            ("issuing_region", doc.issuing_region.is_some()),
            ("given_names", doc.given_names.is_some()),
            ("family_name", true),
            ("birth_date", true),
            ("expiry_date", doc.expiry_date.is_some()),
            ("document_number", true),
            ("sex", doc.sex.is_some()),
        ];
        doc.sources = filled.into_iter().filter(|(_, is)| *is).map(|(name, _)| (name, FieldSource::Barcode)).collect();
        doc
    }
}
