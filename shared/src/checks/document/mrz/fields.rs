//! Decoding single MRZ fields: dates, state codes, names, sex.

use chrono::{Datelike, NaiveDate};

use super::super::Sex;

/// A date of birth: never after `today`, so the latest century that is not in the future.
/// `None` when the MRZ marks it unknown (any part filled with `<`, part 3 of 9303).
pub(super) fn birth_date(yymmdd: &[u8], today: NaiveDate) -> Result<Option<NaiveDate>, ()> {
    if yymmdd.contains(&b'<') {
        return Ok(None);
    }
    let (yy, month, day) = split_date(yymmdd)?;
    let this_century = today.year() - today.year().rem_euclid(100);
    let year = if this_century + yy <= today.year() { this_century + yy } else { this_century - 100 + yy };
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(())?;
    if date <= today {
        Ok(Some(date))
    } else {
        // This year's birthday still to come: a hundred years ago.
        NaiveDate::from_ymd_opt(year - 100, month, day).map(Some).ok_or(())
    }
}

/// Years either side of `today` an expiry date may fall in.
const EXPIRY_WINDOW_YEARS: i32 = 50;

/// A date of expiry: the century that puts it within 50 years either side of `today`.
pub(super) fn expiry_date(yymmdd: &[u8], today: NaiveDate) -> Result<NaiveDate, ()> {
    let (yy, month, day) = split_date(yymmdd)?;
    let earliest = today.year() - EXPIRY_WINDOW_YEARS;
    let year = earliest + (yy - earliest).rem_euclid(100);
    NaiveDate::from_ymd_opt(year, month, day).ok_or(())
}

fn split_date(yymmdd: &[u8]) -> Result<(i32, u32, u32), ()> {
    if yymmdd.len() != 6 || !yymmdd.iter().all(u8::is_ascii_digit) {
        return Err(());
    }
    let pair = |i: usize| u32::from(yymmdd[i] - b'0') * 10 + u32::from(yymmdd[i + 1] - b'0');
    Ok((pair(0) as i32, pair(2), pair(4)))
}

pub(super) fn sex(c: u8) -> Option<Sex> {
    match c {
        b'M' => Some(Sex::Male),
        b'F' => Some(Sex::Female),
        b'X' | b'<' => Some(Sex::Unspecified),
        _ => None,
    }
}

/// An issuing state or nationality as the MRZ writes it: one to three letters, then fillers
/// (`UTO`, `D<<` for Germany). Holds the letters only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCode(String);

impl StateCode {
    pub fn parse(field: &str) -> Option<Self> {
        let letters = field.trim_end_matches('<');
        let shaped = field.len() == 3 && !letters.is_empty() && letters.bytes().all(|c| c.is_ascii_uppercase());
        shaped.then(|| StateCode(letters.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The codes 9303 part 3 reserves for something other than an ISO 3166-1 state.
    pub fn special(&self) -> Option<SpecialCode> {
        SPECIAL_CODES.iter().find(|(code, _)| *code == self.0).map(|&(_, special)| special)
    }
}

/// Codes that do not name an ISO 3166-1 state, or name one unusually.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialCode {
    /// `UTO`: the fictional state of ICAO's specimens. Never on a real document.
    Utopia,
    /// `D`: Germany (not `DEU`).
    Germany,
    /// `EUE`: the European Union.
    EuropeanUnion,
    /// `UNO`: the United Nations Organization or one of its officials.
    UnitedNations,
    /// `UNA`: a specialized agency of the United Nations or one of its officials.
    UnitedNationsAgency,
    /// `UNK`: a resident of Kosovo documented by UNMIK.
    Kosovo,
    /// `XOM`: the Sovereign Military Order of Malta.
    OrderOfMalta,
    /// `XPO`: Interpol.
    Interpol,
    /// `XXA`: a stateless person (1954 Convention).
    Stateless,
    /// `XXB`: a refugee (1951 Convention).
    Refugee,
    /// `XXC`: a refugee other than under the 1951 Convention.
    OtherRefugee,
    /// `XXX`: a person of unspecified nationality.
    UnspecifiedNationality,
}

const SPECIAL_CODES: [(&str, SpecialCode); 12] = [
    ("UTO", SpecialCode::Utopia),
    ("D", SpecialCode::Germany),
    ("EUE", SpecialCode::EuropeanUnion),
    ("UNO", SpecialCode::UnitedNations),
    ("UNA", SpecialCode::UnitedNationsAgency),
    ("UNK", SpecialCode::Kosovo),
    ("XOM", SpecialCode::OrderOfMalta),
    ("XPO", SpecialCode::Interpol),
    ("XXA", SpecialCode::Stateless),
    ("XXB", SpecialCode::Refugee),
    ("XXC", SpecialCode::OtherRefugee),
    ("XXX", SpecialCode::UnspecifiedNationality),
];

/// The holder's name: primary identifier `<<` secondary identifier, `<` between components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Names {
    pub family: String,
    pub given: String,
    /// The name filled the whole field, so the issuer may have cut it short.
    pub truncated: bool,
}

pub(super) fn names(field: &str) -> Names {
    let truncated = !field.ends_with('<');
    let (primary, secondary) = field.split_once("<<").unwrap_or((field, ""));
    let words = |part: &str| part.split('<').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    Names { family: words(primary), given: words(secondary), truncated }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn birth_dates_are_never_in_the_future() {
        let today = day(2024, 6, 1);
        assert_eq!(birth_date(b"740812", today), Ok(Some(day(1974, 8, 12))));
        assert_eq!(birth_date(b"240601", today), Ok(Some(day(2024, 6, 1))));
        assert_eq!(birth_date(b"240602", today), Ok(Some(day(1924, 6, 2))));
        assert_eq!(birth_date(b"250101", today), Ok(Some(day(1925, 1, 1))));
        assert_eq!(birth_date(b"000229", today), Ok(Some(day(2000, 2, 29))));
        assert_eq!(birth_date(b"25<<<<", today), Ok(None));
    }

    #[test]
    fn invalid_calendar_dates_are_refused() {
        let today = day(2024, 6, 1);
        assert_eq!(birth_date(b"740230", today), Err(()));
        assert_eq!(birth_date(b"741301", today), Err(()));
        assert_eq!(birth_date(b"740800", today), Err(()));
        assert_eq!(expiry_date(b"230229", today), Err(()));
        assert_eq!(expiry_date(b"24O229", today), Err(()));
    }

    #[test]
    fn expiry_dates_fall_within_fifty_years_of_today() {
        let today = day(2024, 6, 1);
        assert_eq!(expiry_date(b"120415", today), Ok(day(2012, 4, 15)));
        assert_eq!(expiry_date(b"961210", today), Ok(day(1996, 12, 10)));
        assert_eq!(expiry_date(b"730101", today), Ok(day(2073, 1, 1)));
        assert_eq!(expiry_date(b"740101", today), Ok(day(1974, 1, 1)));
        assert_eq!(expiry_date(b"340601", today), Ok(day(2034, 6, 1)));
    }

    #[test]
    fn state_codes_are_letters_then_fillers() {
        assert_eq!(StateCode::parse("UTO").unwrap().as_str(), "UTO");
        let germany = StateCode::parse("D<<").unwrap();
        assert_eq!((germany.as_str(), germany.special()), ("D", Some(SpecialCode::Germany)));
        assert_eq!(StateCode::parse("XXA").unwrap().special(), Some(SpecialCode::Stateless));
        assert_eq!(StateCode::parse("AUS").unwrap().special(), None);
        for bad in ["<<<", "U<O", "<UT", "UT0", "UTOP", "ut<"] {
            assert_eq!(StateCode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_split_on_the_double_filler() {
        let n = names("ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<");
        assert_eq!((n.family.as_str(), n.given.as_str(), n.truncated), ("ERIKSSON", "ANNA MARIA", false));
        let n = names("VAN<DER<BERG<<JAN<<<<");
        assert_eq!((n.family.as_str(), n.given.as_str()), ("VAN DER BERG", "JAN"));
        let n = names("SUKARNO<<<<<<<<");
        assert_eq!((n.family.as_str(), n.given.as_str()), ("SUKARNO", ""));
    }

    #[test]
    fn a_full_name_field_is_flagged_truncated() {
        // Part 3's example of a truncated name.
        let n = names("STEVENSON<<PETER<JOHN<MARGARET<CHRIS<JOHNSO");
        assert!(n.truncated);
        assert_eq!(n.given, "PETER JOHN MARGARET CHRIS JOHNSO");
        assert!(!names("STEVENSON<<PETER<<").truncated);
    }

    #[test]
    fn sex_markers() {
        assert_eq!(sex(b'F'), Some(Sex::Female));
        assert_eq!(sex(b'M'), Some(Sex::Male));
        assert_eq!(sex(b'X'), Some(Sex::Unspecified));
        assert_eq!(sex(b'<'), Some(Sex::Unspecified));
        assert_eq!(sex(b'W'), None);
    }
}
