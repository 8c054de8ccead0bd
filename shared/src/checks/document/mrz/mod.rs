//! The machine-readable zone of passports, ID cards and visas (ICAO Doc 9303 parts 3 to 7):
//! TD1, TD2, TD3, MRV-A and MRV-B, every check digit verified, OCR confusions repaired only
//! where a check digit proves the repair.

mod check_digit;
mod fields;
mod find;
mod layout;
mod ocr;
#[cfg(test)]
mod tests;
mod verify;

use chrono::NaiveDate;

use super::{DocumentKind, ExtractedDocument, FieldSource, Sex};
use layout::{Cell, Span};
use verify::{Check, Grid, Repair, search};

pub use check_digit::check_digit;
pub use fields::{SpecialCode, StateCode};
pub use find::find;
pub use layout::MrzFormat;

/// A machine-readable zone whose check digits all hold (after any proven repair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mrz {
    pub format: MrzFormat,
    /// One or two letters: `P`, `I`, `ID`, `AC`, `V`...
    pub document_code: String,
    pub issuing_state: StateCode,
    /// The primary identifier, fillers turned into spaces; empty if the MRZ has none.
    pub family_name: String,
    /// The secondary identifier, fillers turned into spaces; empty if the MRZ has none.
    pub given_names: String,
    /// The name filled its field, so the issuer may have cut it short.
    pub names_truncated: bool,
    /// Including a TD1/TD2 long number's overflow into the optional data.
    pub document_number: String,
    pub nationality: StateCode,
    /// `None` when the MRZ marks the date of birth unknown.
    pub birth_date: Option<NaiveDate>,
    pub sex: Sex,
    pub expiry_date: NaiveDate,
    /// TD3: the personal number. TD1: line 1's optional data (after any long-number overflow).
    pub optional_data: String,
    /// TD1 only: line 2's optional data.
    pub optional_data_2: String,
    /// Fields in which misread characters were corrected, in the order they were.
    pub repaired: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    #[error("not an MRZ: {0}")]
    BadShape(&'static str),
    #[error("character not allowed in the MRZ field {field}")]
    BadCharacter { field: &'static str },
    #[error("document code not allowed in this MRZ format")]
    BadDocumentCode,
    #[error("MRZ check digits failed: {}", failed.join(", "))]
    CheckDigits { failed: Vec<&'static str> },
    #[error("invalid date in the MRZ field {field}")]
    BadDate { field: &'static str },
    #[error("invalid sex marker in the MRZ")]
    BadSex,
    #[error("invalid state code in the MRZ field {field}")]
    BadStateCode { field: &'static str },
    #[error("the MRZ field {field} is empty")]
    Missing { field: &'static str },
}

/// Parses and verifies MRZ lines. Spaces are ignored and letters upper-cased; anything else
/// outside `A-Z 0-9 <` is refused. `today` places two-digit years in their century.
pub fn parse(lines: &[&str], today: NaiveDate) -> Result<Mrz, MrzError> {
    let rows = lines.iter().map(|line| clean(line)).collect::<Result<Vec<_>, _>>()?;
    let first = rows.first().and_then(|row| row.first()).copied().ok_or(MrzError::BadShape("no lines"))?;
    if rows.iter().any(|row| row.len() != rows[0].len()) {
        return Err(MrzError::BadShape("lines of different lengths"));
    }
    let format = MrzFormat::of_shape(rows.len(), rows[0].len(), first)
        .ok_or(MrzError::BadShape("not 3 lines of 30, 2 of 36 or 2 of 44"))?;
    let layout = format.layout();
    let mut grid = Grid(rows);
    let mut repaired = Vec::new();

    let mut numeric = vec![
        (layout.document_number_check, "document_number"),
        (layout.birth_date, "birth_date"),
        (layout.birth_date_check, "birth_date"),
        (layout.expiry_date, "expiry_date"),
        (layout.expiry_date_check, "expiry_date"),
    ];
    numeric.extend(layout.optional_data_check.map(|span| (span, "optional_data")));
    numeric.extend(layout.composite.as_ref().map(|c| (c.digit, "composite")));
    for (span, field) in numeric {
        map_span(&mut grid, span, field, ocr::letter_as_digit, &mut repaired);
        if !grid.read(span.cells()).iter().all(|&c| c.is_ascii_digit() || c == b'<') {
            return Err(MrzError::BadCharacter { field });
        }
    }
    let alphabetic = [
        (layout.document_code, "document_code"),
        (layout.issuing_state, "issuing_state"),
        (layout.nationality, "nationality"),
        (layout.name, "names"),
    ];
    for (span, field) in alphabetic {
        map_span(&mut grid, span, field, ocr::digit_as_letter, &mut repaired);
        if !grid.read(span.cells()).iter().all(|&c| c.is_ascii_uppercase() || c == b'<') {
            return Err(MrzError::BadCharacter { field });
        }
    }
    let code = grid.read(layout.document_code.cells());
    if !format.allows_document_code(code[0]) {
        return Err(MrzError::BadDocumentCode);
    }

    let number = document_number(&mut grid, format, &mut repaired);
    verify_and_repair(&mut grid, format, &number, &mut repaired)?;
    dedup_in_order(&mut repaired);
    decode(&grid, format, &number, today, repaired)
}

/// Where the document number and its check digit are: TD1 and TD2 put a long number's
/// overflow and check digit at the start of the optional data, with `<` in the check digit's place.
struct NumberCells {
    data: Vec<Cell>,
    digit: Cell,
    /// Optional data cells after the overflow (all of them if there is none).
    optional_rest: Vec<Cell>,
}

fn document_number(grid: &mut Grid, format: MrzFormat, repaired: &mut Vec<&'static str>) -> NumberCells {
    let layout = format.layout();
    let mut data: Vec<Cell> = layout.document_number.cells().collect();
    let mut digit = (layout.document_number_check.line, layout.document_number_check.start);
    let optional: Vec<Cell> = layout.optional_data.cells().collect();
    let long = matches!(format, MrzFormat::Td1 | MrzFormat::Td2) && grid.get(digit) == b'<';
    let overflow_len = optional.iter().position(|&cell| grid.get(cell) == b'<').unwrap_or(optional.len());
    if !long || overflow_len < 2 {
        // Not long, or malformed: the check on the `<` fails and is reported.
        return NumberCells { data, digit, optional_rest: optional };
    }
    data.extend(&optional[..overflow_len - 1]);
    digit = optional[overflow_len - 1];
    let read = grid.get(digit);
    let mapped = ocr::letter_as_digit(read);
    if mapped != read {
        grid.set(digit, mapped);
        repaired.push("document_number");
    }
    // The overflow's check digit is followed by one filler.
    let rest = optional.get(overflow_len + 1..).unwrap_or_default().to_vec();
    NumberCells { data, digit, optional_rest: rest }
}

fn verify_and_repair(
    grid: &mut Grid,
    format: MrzFormat,
    number: &NumberCells,
    repaired: &mut Vec<&'static str>,
) -> Result<(), MrzError> {
    let layout = format.layout();
    let plain = |name, data: Span, digit: Span| Check {
        name,
        data: data.cells().collect(),
        digit: (digit.line, digit.start),
        filler_when_empty: false,
        repairable: Vec::new(),
    };
    let mut own = vec![
        Check {
            name: "document_number",
            data: number.data.clone(),
            digit: number.digit,
            filler_when_empty: false,
            repairable: number.data.iter().map(|&cell| (cell, "document_number")).collect(),
        },
        plain("birth_date", layout.birth_date, layout.birth_date_check),
        plain("expiry_date", layout.expiry_date, layout.expiry_date_check),
    ];
    if let Some(check) = layout.optional_data_check {
        let mut personal = plain("optional_data", layout.optional_data, check);
        personal.filler_when_empty = true;
        personal.repairable = layout.optional_data.cells().map(|cell| (cell, "optional_data")).collect();
        own.push(personal);
    }
    let composite = layout.composite.as_ref().map(|c| Check {
        name: "composite",
        data: c.covers.iter().flat_map(|span| span.cells()).collect(),
        digit: (c.digit.line, c.digit.start),
        filler_when_empty: false,
        // Only fields no other check digit covers.
        repairable: if layout.optional_data_check.is_some() {
            Vec::new()
        } else {
            let second = layout.optional_data_2.into_iter().flat_map(|span| span.cells());
            (number.optional_rest.iter().map(|&cell| (cell, "optional_data")))
                .chain(second.map(|cell| (cell, "optional_data_2")))
                .collect()
        },
    });

    let original = grid.clone();
    for check in &own {
        if !check.holds(grid) {
            let repair = search(grid, check, composite.as_ref());
            apply(grid, repair, repaired);
        }
    }
    if let Some(composite) = &composite
        && !composite.holds(grid)
        && own.iter().all(|check| check.holds(grid))
    {
        let repair = search(grid, composite, None);
        apply(grid, repair, repaired);
    }

    let all: Vec<&Check> = own.iter().chain(composite.as_ref()).collect();
    if all.iter().all(|check| check.holds(grid)) {
        return Ok(());
    }
    // Report what failed as read: a repair that did not make the whole zone valid is no repair.
    let failed = all.iter().filter(|check| !check.holds(&original) || !check.holds(grid)).map(|check| check.name);
    Err(MrzError::CheckDigits { failed: failed.collect() })
}

fn apply(grid: &mut Grid, repair: Repair, repaired: &mut Vec<&'static str>) {
    if let Repair::Unique(substitutions) = repair {
        for (cell, c, field) in substitutions {
            grid.set(cell, c);
            repaired.push(field);
        }
    }
}

fn decode(
    grid: &Grid,
    format: MrzFormat,
    number: &NumberCells,
    today: NaiveDate,
    repaired: Vec<&'static str>,
) -> Result<Mrz, MrzError> {
    let layout = format.layout();
    let text = |cells: &mut dyn Iterator<Item = Cell>| String::from_utf8(grid.read(cells)).unwrap_or_default();
    let trimmed = |cells: &mut dyn Iterator<Item = Cell>| text(cells).trim_end_matches('<').to_owned();
    let state = |span: Span, field| StateCode::parse(&text(&mut span.cells())).ok_or(MrzError::BadStateCode { field });
    let document_number = trimmed(&mut number.data.iter().copied());
    if document_number.is_empty() {
        return Err(MrzError::Missing { field: "document_number" });
    }
    let names = fields::names(&text(&mut layout.name.cells()));
    Ok(Mrz {
        format,
        document_code: trimmed(&mut layout.document_code.cells()),
        issuing_state: state(layout.issuing_state, "issuing_state")?,
        family_name: names.family,
        given_names: names.given,
        names_truncated: names.truncated,
        document_number,
        nationality: state(layout.nationality, "nationality")?,
        birth_date: fields::birth_date(&grid.read(layout.birth_date.cells()), today)
            .map_err(|()| MrzError::BadDate { field: "birth_date" })?,
        sex: fields::sex(grid.get((layout.sex.line, layout.sex.start))).ok_or(MrzError::BadSex)?,
        expiry_date: fields::expiry_date(&grid.read(layout.expiry_date.cells()), today)
            .map_err(|()| MrzError::BadDate { field: "expiry_date" })?,
        optional_data: trimmed(&mut number.optional_rest.iter().copied()),
        optional_data_2: layout.optional_data_2.map(|span| trimmed(&mut span.cells())).unwrap_or_default(),
        repaired,
    })
}

impl Mrz {
    pub fn kind(&self) -> DocumentKind {
        match self.document_code.as_bytes().first() {
            Some(b'P') => DocumentKind::Passport,
            Some(b'I' | b'A' | b'C') => DocumentKind::IdCard,
            _ => DocumentKind::Other,
        }
    }

    /// Every field the MRZ carries, each sourced to the MRZ. Only a verified [`Mrz`] exists,
    /// so nothing unverified reaches the document.
    pub fn to_extracted(&self) -> ExtractedDocument {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let doc = ExtractedDocument {
            kind: Some(self.kind()),
            issuing_country: Some(self.issuing_state.as_str().to_owned()),
            issuing_region: None,
            given_names: non_empty(&self.given_names),
            family_name: non_empty(&self.family_name),
            birth_date: self.birth_date,
            expiry_date: Some(self.expiry_date),
            document_number: Some(self.document_number.clone()),
            sex: Some(self.sex),
            nationality: Some(self.nationality.as_str().to_owned()),
            sources: Vec::new(),
        };
        let filled = [
            ("kind", doc.kind.is_some()),
            ("issuing_country", doc.issuing_country.is_some()),
            ("given_names", doc.given_names.is_some()),
            ("family_name", doc.family_name.is_some()),
            ("birth_date", doc.birth_date.is_some()),
            ("expiry_date", doc.expiry_date.is_some()),
            ("document_number", doc.document_number.is_some()),
            ("sex", doc.sex.is_some()),
            ("nationality", doc.nationality.is_some()),
        ];
        let sources = filled.iter().filter(|(_, is)| *is).map(|&(field, _)| (field, FieldSource::Mrz)).collect();
        ExtractedDocument { sources, ..doc }
    }
}

fn clean(line: &str) -> Result<Vec<u8>, MrzError> {
    line.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c.to_ascii_uppercase() {
            c @ ('A'..='Z' | '0'..='9' | '<') => Ok(c as u8),
            _ => Err(MrzError::BadShape("character outside the MRZ alphabet")),
        })
        .collect()
}

fn map_span(grid: &mut Grid, span: Span, field: &'static str, map: fn(u8) -> u8, repaired: &mut Vec<&'static str>) {
    for cell in span.cells() {
        let read = grid.get(cell);
        if map(read) != read {
            grid.set(cell, map(read));
            repaired.push(field);
        }
    }
}

fn dedup_in_order(fields: &mut Vec<&'static str>) {
    let mut seen = Vec::new();
    fields.retain(|field| {
        let first = !seen.contains(field);
        seen.push(field);
        first
    });
}
