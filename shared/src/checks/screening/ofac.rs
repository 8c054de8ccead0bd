//! The OFAC SDN list in its legacy CSV form: `sdn.csv` (one row per entry), `alt.csv`
//! (aliases) and `add.csv` (addresses). No header rows; `-0-` marks an empty field; the
//! files end with a DOS end-of-file byte.

use std::borrow::Cow;
use std::collections::HashMap;

use super::ScreeningError;
use super::dob::{DobSpan, parse_dob};

/// What a listed entry is (`SDN_Type`; entities have none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Individual,
    Entity,
    Vessel,
    Aircraft,
}

/// Where a name comes from: the entry's own row or one of its `alt.csv` aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Primary,
    /// Also known as.
    Aka,
    /// Formerly known as.
    Fka,
    /// Now known as.
    Nka,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListName {
    /// As the list writes it ("AL ZAWAHIRI, Dr. Ayman").
    pub text: String,
    pub kind: NameKind,
}

/// One SDN entry with its aliases, dates of birth and countries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `ent_num`, the list's identifier.
    pub id: u32,
    pub kind: EntryKind,
    /// The primary name first, then the aliases in list order.
    pub names: Vec<ListName>,
    pub programs: Vec<String>,
    pub dobs: Vec<DobSpan>,
    /// Address countries, without repeats.
    pub countries: Vec<String>,
    pub nationalities: Vec<String>,
}

/// Every entry of the three files, aliases and addresses attached, in `sdn.csv` order.
pub fn parse(sdn: &[u8], alt: &[u8], add: &[u8]) -> Result<Vec<Entry>, ScreeningError> {
    let mut entries = Vec::new();
    let mut by_id = HashMap::new();
    for_each_row("sdn.csv", sdn, 12, |row| {
        let entry = entry_of(row)?;
        if by_id.insert(entry.id, entries.len()).is_some() {
            return Err(row.malformed("repeated ent_num"));
        }
        entries.push(entry);
        Ok(())
    })?;
    for_each_row("alt.csv", alt, 4, |row| {
        let kind = match row.field(2).map(|k| k.to_ascii_lowercase()).as_deref() {
            Some("aka") | None => NameKind::Aka,
            Some("fka") => NameKind::Fka,
            Some("nka") => NameKind::Nka,
            Some(_) => return Err(row.malformed("unknown alias type")),
        };
        let text = row.field(3).ok_or_else(|| row.malformed("empty alias"))?.into_owned();
        entry_for(&mut entries, &by_id, row)?.names.push(ListName { text, kind });
        Ok(())
    })?;
    for_each_row("add.csv", add, 5, |row| {
        if let Some(country) = row.field(4) {
            let entry = entry_for(&mut entries, &by_id, row)?;
            if !entry.countries.iter().any(|c| *c == country) {
                entry.countries.push(country.into_owned());
            }
        }
        Ok(())
    })?;
    Ok(entries)
}

fn entry_of(row: &Row) -> Result<Entry, ScreeningError> {
    let id = row.ent_num()?;
    let name = row.field(1).ok_or_else(|| row.malformed("empty name"))?;
    let kind = match row.field(2).map(|k| k.to_ascii_lowercase()).as_deref() {
        None => EntryKind::Entity,
        Some("individual") => EntryKind::Individual,
        Some("vessel") => EntryKind::Vessel,
        Some("aircraft") => EntryKind::Aircraft,
        Some(_) => return Err(row.malformed("unknown SDN_Type")),
    };
    // "SDGT] [IFSR": several programs in one field.
    let programs = row
        .field(3)
        .map(|p| p.split("] [").map(|p| p.trim_matches(['[', ']', ' ']).to_owned()).filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let mut entry = Entry {
        id,
        kind,
        names: vec![ListName { text: name.into_owned(), kind: NameKind::Primary }],
        programs,
        dobs: Vec::new(),
        countries: Vec::new(),
        nationalities: Vec::new(),
    };
    for clause in row.field(11).unwrap_or_default().split(';') {
        let clause = clause.trim();
        let clause = clause.strip_prefix("alt. ").unwrap_or(clause);
        if let Some(date) = clause.strip_prefix("DOB ") {
            entry.dobs.extend(parse_dob(date));
        } else if let Some(country) = clause.strip_prefix("nationality ") {
            entry.nationalities.push(country.trim_end_matches('.').trim().to_owned());
        }
    }
    Ok(entry)
}

fn entry_for<'e>(
    entries: &'e mut [Entry],
    by_id: &HashMap<u32, usize>,
    row: &Row,
) -> Result<&'e mut Entry, ScreeningError> {
    let id = row.ent_num()?;
    match by_id.get(&id) {
        Some(&at) => Ok(&mut entries[at]),
        None => Err(ScreeningError::UnknownEntry { file: row.file, ent_num: id }),
    }
}

/// One CSV row; fields are read trimmed, `-0-` as empty.
struct Row<'r> {
    file: &'static str,
    line: u64,
    record: &'r csv::ByteRecord,
}

impl Row<'_> {
    fn field(&self, at: usize) -> Option<Cow<'_, str>> {
        let bytes = trim(self.record.get(at)?);
        (!bytes.is_empty() && bytes != b"-0-").then(|| text(bytes))
    }

    fn ent_num(&self) -> Result<u32, ScreeningError> {
        self.field(0).and_then(|f| f.parse().ok()).ok_or_else(|| self.malformed("ent_num is not a number"))
    }

    fn malformed(&self, reason: &'static str) -> ScreeningError {
        ScreeningError::Malformed { file: self.file, line: self.line, reason }
    }
}

/// Calls `each` with every row of one file, which must have at least `columns` fields;
/// blank rows (the end-of-file byte) are skipped. One record buffer serves every row.
fn for_each_row(
    file: &'static str,
    bytes: &[u8],
    columns: usize,
    mut each: impl FnMut(&Row) -> Result<(), ScreeningError>,
) -> Result<(), ScreeningError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|source| ScreeningError::Csv { file, source })? {
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| trim(f).is_empty()) {
            continue;
        }
        if record.len() < columns {
            return Err(ScreeningError::Malformed { file, line, reason: "too few columns" });
        }
        each(&Row { file, line, record: &record })?;
    }
    Ok(())
}

fn trim(bytes: &[u8]) -> &[u8] {
    let is_blank = |b: &u8| *b == b' ' || *b == 0x1a;
    let start = bytes.iter().position(|b| !is_blank(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !is_blank(b)).map_or(start, |at| at + 1);
    &bytes[start..end]
}

/// UTF-8 when it is; otherwise Latin-1, which older list files used.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDN: &[u8] = b"36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\
        2676,\"AL ZAWAHIRI, Dr. Ayman\",\"individual\",\"SDGT] [IFSR\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\
        \"DOB 19 Jun 1951; alt. DOB 1950; POB Giza, Egypt; nationality Egypt.\"\r\n\
        9,\"ALPHA\",\"vessel\",\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\x1a";
    const ALT: &[u8] = b"2676,4760,\"aka\",\"AL-ZAWAHIRI, Ayman\",-0- \r\n36,12,\"fka\",\"AERO-CARIBBEAN\",-0- \r\n";
    const ADD: &[u8] = b"36,25,-0- ,\"Havana\",\"Cuba\",-0- \r\n36,26,-0- ,\"Havana\",\"Cuba\",-0- \r\n\
        2676,1834,-0- ,-0- ,-0- ,-0- \r\n";

    #[test]
    fn parses_entries_aliases_programs_dobs_and_countries() {
        let entries = parse(SDN, ALT, ADD).unwrap();
        assert_eq!(entries.len(), 3);
        let airline = &entries[0];
        assert_eq!((airline.id, airline.kind), (36, EntryKind::Entity));
        assert_eq!(airline.names[1], ListName { text: "AERO-CARIBBEAN".into(), kind: NameKind::Fka });
        assert_eq!(airline.countries, vec!["Cuba"]);
        let person = &entries[1];
        assert_eq!(person.kind, EntryKind::Individual);
        assert_eq!(
            person.names.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(),
            ["AL ZAWAHIRI, Dr. Ayman", "AL-ZAWAHIRI, Ayman"]
        );
        assert_eq!(person.programs, ["SDGT", "IFSR"]);
        assert_eq!(person.dobs, [parse_dob("19 Jun 1951").unwrap(), parse_dob("1950").unwrap()]);
        assert_eq!(person.nationalities, ["Egypt"]);
        assert!(person.countries.is_empty());
        assert_eq!(entries[2].kind, EntryKind::Vessel);
    }

    #[test]
    fn refuses_inconsistent_or_malformed_files() {
        let orphan = parse(SDN, b"77,1,\"aka\",\"NOBODY\",-0- \r\n", b"");
        assert!(matches!(orphan, Err(ScreeningError::UnknownEntry { file: "alt.csv", ent_num: 77 })));
        let bad_id = parse(b"x1,\"A\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n", b"", b"");
        assert!(matches!(bad_id, Err(ScreeningError::Malformed { file: "sdn.csv", line: 1, .. })));
        let short = parse(b"1,\"A\"\r\n", b"", b"");
        assert!(matches!(short, Err(ScreeningError::Malformed { reason: "too few columns", .. })));
        let kind = parse(b"1,\"A\",\"robot\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n", b"", b"");
        assert!(matches!(kind, Err(ScreeningError::Malformed { reason: "unknown SDN_Type", .. })));
    }

    #[test]
    fn reads_latin1_names_and_trims_fields() {
        assert_eq!(text(b"M\xdcLLER"), "MÜLLER");
        assert_eq!(text("MÜLLER".as_bytes()), "MÜLLER");
        assert_eq!(trim(b" -0- \x1a"), b"-0-");
        assert_eq!(trim(b" \x1a "), b"");
    }
}
