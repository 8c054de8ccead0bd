use chrono::NaiveDate;

use super::tests::{iin, licence_fields};
use super::*;
use crate::checks::document::{DocumentKind, FieldSource, Sex};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A record as issuers write it: preamble, header, designators with true offsets, the
/// identity subfile (`kind`) and a jurisdiction subfile after it.
fn record(version: u8, kind: &str, elements: &[&str]) -> String {
    let subfile = format!("{kind}{}\r", elements.join("\n"));
    let extra = "ZVZVA01\r";
    let jurisdiction_version = if version < 2 { String::new() } else { "00".to_owned() };
    let header_len = 4 + 5 + 6 + 2 + jurisdiction_version.len() + 2 + 20;
    format!(
        "@\n\x1e\rANSI 636000{version:02}{jurisdiction_version}02{kind}{header_len:04}{:04}ZV{:04}{:04}{subfile}{extra}",
        subfile.len(),
        header_len + subfile.len(),
        extra.len()
    )
}

const VERSION_1: &[&str] = &[
    "DAQ0123456789ABC",
    "DAASMITH,JOHN,QUINCY",
    "DAG123 MAIN STREET",
    "DAIANYTOWN",
    "DAJVA",
    "DAK123459999  ",
    "DBA20101231",
    "DBB19700101",
    "DBC1",
    "DBD20050101",
    "DAU510",
];

#[test]
fn a_version_1_record_reads_its_full_name_and_iso_dates() {
    let aamva = parse_aamva(&record(1, "DL", VERSION_1)).unwrap();
    assert_eq!(
        aamva.header,
        AamvaHeader { iin: Iin::parse("636000").unwrap(), version: 1, jurisdiction_version: None }
    );
    let f = aamva.fields;
    assert_eq!(f.licence_number, "0123456789ABC");
    assert_eq!(
        (f.family_name.as_str(), f.first_name.as_deref(), f.middle_names.as_deref()),
        ("SMITH", Some("JOHN"), Some("QUINCY"))
    );
    assert_eq!(
        (f.birth_date, f.expiry_date, f.issue_date),
        (date(1970, 1, 1), Some(date(2010, 12, 31)), Some(date(2005, 1, 1)))
    );
    assert_eq!((f.jurisdiction.as_deref(), f.country, f.sex), (Some("VA"), Some(AamvaCountry::Usa), Some(Sex::Male)));
    assert_eq!(
        (f.street.as_deref(), f.city.as_deref(), f.postal_code.as_deref()),
        (Some("123 MAIN STREET"), Some("ANYTOWN"), Some("123459999"))
    );
}

#[test]
fn a_version_3_record_splits_its_given_names() {
    let elements =
        ["DCSNGUYEN", "DCTTHI,MAI LAN", "DBB07041985", "DBA07042027", "DBC2", "DAJTX", "DAQ99887766", "DCGUSA"];
    let f = parse_aamva(&record(3, "DL", &elements)).unwrap().fields;
    assert_eq!(
        (f.family_name.as_str(), f.first_name.as_deref(), f.middle_names.as_deref()),
        ("NGUYEN", Some("THI"), Some("MAI LAN"))
    );
    assert_eq!(f.birth_date, date(1985, 7, 4));
    let spaced = parse_aamva(&record(3, "DL", &["DCSLEE", "DCTANN MARIE", "DBB07041985", "DAQ1"])).unwrap().fields;
    assert_eq!((spaced.first_name.as_deref(), spaced.middle_names.as_deref()), (Some("ANN"), Some("MARIE")));
}

#[test]
fn a_canadian_id_card_uses_ccyymmdd_and_maps_to_an_id_card() {
    let elements = [
        "DAQ A1234-56789-01234",
        "DCSTREMBLAY",
        "DACÉLODIE",
        "DADNONE",
        "DBB19900131",
        "DBA20300131",
        "DBCX",
        "DAJQC",
        "DCGCAN",
    ];
    let aamva = parse_aamva(&record(10, "ID", &elements)).unwrap();
    let f = &aamva.fields;
    assert_eq!(
        (f.subfile, f.country, f.birth_date),
        (AamvaSubfile::IdCard, Some(AamvaCountry::Canada), date(1990, 1, 31))
    );
    assert_eq!((f.middle_names.as_deref(), f.sex), (None, Some(Sex::Unspecified)));
    assert_eq!(f.licence_number, "A1234-56789-01234");
    let doc = aamva.to_extracted();
    assert_eq!(
        (doc.kind, doc.issuing_country.as_deref(), doc.issuing_region.as_deref()),
        (Some(DocumentKind::IdCard), Some("CAN"), Some("QC"))
    );
    assert_eq!((doc.given_names.as_deref(), doc.family_name.as_deref()), (Some("ÉLODIE"), Some("TREMBLAY")));
    assert_eq!(doc.nationality, None);
    let sourced = doc.sources.iter().map(|(name, _)| *name).collect::<Vec<_>>();
    assert_eq!(
        sourced,
        [
            "kind",
            "issuing_country",
            "issuing_region",
            "given_names",
            "family_name",
            "birth_date",
            "expiry_date",
            "document_number",
            "sex"
        ]
    );
    assert!(doc.sources.iter().all(|(_, s)| *s == FieldSource::Barcode));
}

#[test]
fn a_province_without_dcg_makes_the_record_canadian() {
    let f = parse_aamva(&record(2, "DL", &["DAQ1", "DCSROY", "DBB20000229", "DAJON"])).unwrap().fields;
    assert_eq!((f.country, f.birth_date), (Some(AamvaCountry::Canada), date(2000, 2, 29)));
}

#[test]
fn malformed_dates_are_errors() {
    for (bad, element) in [
        ("DBB13311990", "DBB"),
        ("DBB02301990", "DBB"),
        ("DBB0131199", "DBB"),
        ("DBB01-31-1990", "DBB"),
        ("DBAABCDEFGH", "DBA"),
        ("DBD00000000", "DBD"),
        ("DBA12311800", "DBA"),
    ] {
        let mut elements = vec!["DAQ1", "DCSSMITH", "DBB01311990", "DCGUSA"];
        elements.retain(|e| !e.starts_with(&bad[..3]));
        elements.push(bad);
        let err = parse_aamva(&record(10, "DL", &elements)).unwrap_err();
        assert_eq!(err, AamvaError::InvalidDate(element), "{bad}");
        assert!(!err.to_string().contains(&bad[3..]), "errors never carry values");
    }
}

#[test]
fn missing_required_elements_are_named() {
    let cases: [(&[&str], AamvaError); 4] = [
        (&["DCSSMITH", "DBB01311990"], AamvaError::MissingElement("DAQ")),
        (&["DAQ1", "DCSSMITH"], AamvaError::MissingElement("DBB")),
        (&["DAQ1", "DACJANE", "DBB01311990"], AamvaError::MissingElement("DCS")),
        (&["DAQ1", "DAAJANE SMITH", "DBB01311990"], AamvaError::InvalidValue("DAA")),
    ];
    for (elements, expected) in cases {
        assert_eq!(parse_aamva(&record(10, "DL", elements)), Err(expected));
    }
}

#[test]
fn invalid_codes_are_errors() {
    let base = ["DAQ1", "DCSSMITH", "DBB01311990"];
    for (extra, element) in [("DBC7", "DBC"), ("DCGMEX", "DCG"), ("DAJCALIFORNIA", "DAJ")] {
        let elements = [&base[..], &[extra]].concat();
        assert_eq!(parse_aamva(&record(10, "DL", &elements)), Err(AamvaError::InvalidValue(element)));
    }
}

#[test]
fn what_is_not_aamva_is_told_apart() {
    assert_eq!(parse_aamva(""), Err(AamvaError::NotAamva));
    assert_eq!(parse_aamva("https://example.test/ANSI 636000"), Err(AamvaError::NotAamva));
    assert_eq!(parse_aamva("@\n\x1e\rANSI 63X000"), Err(AamvaError::Header("issuer identification number")));
    assert_eq!(parse_aamva("@\n\x1e\rANSI 6360001000"), Err(AamvaError::Header("number of entries")));
    assert_eq!(parse_aamva("@\n\x1e\rANSI 636000100001DL00"), Err(AamvaError::Header("subfile designator")));
    let only_jurisdiction = record(10, "ZC", &["ZCAX"]);
    assert_eq!(parse_aamva(&only_jurisdiction), Err(AamvaError::NoIdentitySubfile));
}

#[test]
fn readers_that_drop_control_characters_still_parse() {
    let text = aamva_text(&iin(), &licence_fields());
    // Preamble lost: offsets are off by four.
    assert_eq!(parse_aamva(text.trim_start_matches(['@', '\n', '\x1e', '\r'])).unwrap().fields, licence_fields());
    // Preamble as spaces, separators as CR LF.
    let spaced = format!("@   {}", &text[4..]).replace('\n', "\r\n");
    assert_eq!(parse_aamva(&spaced).unwrap().fields, licence_fields());
    // Every control character gone: elements are split at their IDs.
    let bare = text.replace(['\n', '\r', '\x1e'], "");
    assert_eq!(parse_aamva(&bare).unwrap().fields, licence_fields());
}

#[test]
fn wrong_offsets_fall_back_to_finding_the_subfile() {
    let text = aamva_text(&iin(), &licence_fields()).replacen("DL0031", "DL0047", 1);
    assert_eq!(parse_aamva(&text).unwrap().fields, licence_fields());
}

#[test]
fn the_builder_round_trips_a_canadian_id_card_without_optional_fields() {
    let fields = AamvaFields {
        subfile: AamvaSubfile::IdCard,
        first_name: None,
        middle_names: None,
        expiry_date: None,
        issue_date: None,
        sex: None,
        street: None,
        city: None,
        postal_code: None,
        jurisdiction: Some("BC".into()),
        country: Some(AamvaCountry::Canada),
        ..licence_fields()
    };
    let text = aamva_text(&iin(), &fields);
    assert!(text.contains("DBB19900131"), "Canadian dates are CCYYMMDD");
    assert_eq!(parse_aamva(&text).unwrap().fields, fields);
    assert!(aamva_text(&iin(), &licence_fields()).contains("DBB01311990"), "US dates are MMDDCCYY");
}

#[test]
fn an_iin_is_six_digits() {
    assert!(Iin::parse("636014").is_ok());
    for bad in ["63601", "6360140", "63601A", ""] {
        assert_eq!(Iin::parse(bad), Err(AamvaError::Header("issuer identification number")));
    }
}
