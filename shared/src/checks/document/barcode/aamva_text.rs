//! Builds AAMVA payloads, so tests and demos can print a licence back.

use super::aamva::{AamvaCountry, AamvaFields, DateOrder, Iin, format_date};
use crate::checks::document::Sex;

/// The AAMVA version the builder writes (the 2020 card design standard).
const VERSION: u8 = 10;

/// A version 10 AAMVA payload with one DL or ID subfile holding `fields`: compliance
/// indicator, separators, "ANSI " header and a designator whose offset and length match.
/// Elements the parser does not model (vehicle class, physical description, document
/// discriminator) are left out; truncation flags say "not truncated". AAMVA data is
/// upper-case ASCII, so callers pass names as they would be printed on the card.
pub fn aamva_text(iin: &Iin, fields: &AamvaFields) -> String {
    let order = match fields.country {
        Some(AamvaCountry::Canada) => DateOrder::Ymd,
        _ => DateOrder::Mdy,
    };
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| format_date(d, order));
    let sex = fields.sex.map(|s| {
        match s {
            Sex::Male => "1",
            Sex::Female => "2",
            Sex::Unspecified => "9",
        }
        .to_owned()
    });
    // The order of the standard's example record.
    let elements = [
        ("DBA", date(fields.expiry_date)),
        ("DCS", Some(fields.family_name.clone())),
        ("DAC", fields.first_name.clone()),
        ("DAD", fields.middle_names.clone()),
        ("DBD", date(fields.issue_date)),
        ("DBB", date(Some(fields.birth_date))),
        ("DBC", sex),
        ("DAG", fields.street.clone()),
        ("DAI", fields.city.clone()),
        ("DAJ", fields.jurisdiction.clone()),
        ("DAK", fields.postal_code.clone()),
        ("DAQ", Some(fields.licence_number.clone())),
        ("DCG", fields.country.map(|c| c.alpha3().to_owned())),
        ("DDE", Some("N".to_owned())),
        ("DDF", Some("N".to_owned())),
        ("DDG", Some("N".to_owned())),
    ];
    let body = elements.into_iter().filter_map(|(id, value)| Some(format!("{id}{}", value?))).collect::<Vec<_>>();
    let subfile = format!("{}{}\r", fields.subfile.designator(), body.join("\n"));
    // "@\n\x1e\r" + "ANSI " + IIN + version + jurisdiction version + entries, then one designator.
    let header_len = 4 + 5 + 6 + 2 + 2 + 2 + 10;
    format!(
        "@\n\x1e\rANSI {}{VERSION:02}0001{}{header_len:04}{:04}{subfile}",
        iin.as_str(),
        fields.subfile.designator(),
        subfile.len()
    )
}
