//! Golden tests on the ICAO 9303 specimens (Utopia, ERIKSSON ANNA MARIA) and variations of them.

use super::*;

const TD3: [&str; 2] = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];
const TD2: [&str; 2] = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"];
const TD1: [&str; 3] =
    ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"];
const MRV_A: [&str; 2] =
    ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"];
const MRV_B: [&str; 2] = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<"];

fn today() -> NaiveDate {
    day(2024, 6, 1)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn with_check(data: &str) -> String {
    format!("{data}{}", check_digit(data).unwrap())
}

/// TD3 line 2 with every check digit computed.
fn td3_line2(number: &str, nationality: &str, birth: &str, sex: char, expiry: &str, personal: &str) -> String {
    let (number, birth, expiry) = (with_check(&format!("{number:<<9}")), with_check(birth), with_check(expiry));
    let personal = with_check(&format!("{personal:<<14}"));
    let composite = check_digit(&format!("{number}{birth}{expiry}{personal}")).unwrap();
    format!("{number}{nationality}{birth}{sex}{expiry}{personal}{composite}")
}

/// TD1 line 2 (29 characters given) completed with the composite over both lines.
fn td1_line2(line1: &str, line2: &str) -> String {
    let covered = format!("{}{}{}{}", &line1[5..30], &line2[0..7], &line2[8..15], &line2[18..29]);
    format!("{line2}{}", check_digit(&covered).unwrap())
}

fn replace(line: &str, at: usize, with: &str) -> String {
    format!("{}{with}{}", &line[..at], &line[at + with.len()..])
}

fn failed(result: Result<Mrz, MrzError>) -> Vec<&'static str> {
    match result {
        Err(MrzError::CheckDigits { failed }) => failed,
        other => panic!("expected failed check digits, got {other:?}"),
    }
}

#[test]
fn specimen_check_digits_match_the_spec_algorithm() {
    let l = TD3[1];
    assert_eq!(td3_line2("L898902C3", "UTO", "740812", 'F', "120415", "ZE184226B"), l);
    let covered = format!("{}{}{}", &TD2[1][0..10], &TD2[1][13..20], &TD2[1][21..35]);
    assert_eq!(check_digit(&covered), TD2[1].chars().last());
    assert_eq!(td1_line2(TD1[0], &TD1[1][..29]), TD1[1]);
    assert_eq!(with_check("D23145890"), &TD1[0][5..15]);
    assert_eq!(with_check("L8988901C"), &MRV_A[1][..10]);
    assert_eq!(with_check("400907"), &MRV_A[1][13..20]);
    assert_eq!(with_check("961210"), &MRV_B[1][21..28]);
}

#[test]
fn td3_specimen_parses_to_its_fields() {
    let mrz = parse(&TD3, today()).unwrap();
    assert_eq!(mrz.format, MrzFormat::Td3);
    assert_eq!(mrz.document_code, "P");
    assert_eq!(mrz.issuing_state.as_str(), "UTO");
    assert_eq!(mrz.issuing_state.special(), Some(SpecialCode::Utopia));
    assert_eq!((mrz.family_name.as_str(), mrz.given_names.as_str()), ("ERIKSSON", "ANNA MARIA"));
    assert!(!mrz.names_truncated);
    assert_eq!(mrz.document_number, "L898902C3");
    assert_eq!(mrz.nationality.as_str(), "UTO");
    assert_eq!(mrz.birth_date, Some(day(1974, 8, 12)));
    assert_eq!(mrz.sex, Sex::Female);
    assert_eq!(mrz.expiry_date, day(2012, 4, 15));
    assert_eq!(mrz.optional_data, "ZE184226B");
    assert_eq!(mrz.optional_data_2, "");
    assert!(mrz.repaired.is_empty());
}

#[test]
fn td2_specimen_parses_to_its_fields() {
    let mrz = parse(&TD2, today()).unwrap();
    assert_eq!((mrz.format, mrz.document_code.as_str(), mrz.kind()), (MrzFormat::Td2, "I", DocumentKind::IdCard));
    assert_eq!((mrz.family_name.as_str(), mrz.given_names.as_str()), ("ERIKSSON", "ANNA MARIA"));
    assert_eq!(mrz.document_number, "D23145890");
    assert_eq!((mrz.birth_date, mrz.expiry_date), (Some(day(1974, 8, 12)), day(2012, 4, 15)));
    assert_eq!((mrz.sex, mrz.optional_data.as_str()), (Sex::Female, ""));
}

#[test]
fn td1_specimen_parses_to_its_fields() {
    let mrz = parse(&TD1, today()).unwrap();
    assert_eq!((mrz.format, mrz.document_code.as_str()), (MrzFormat::Td1, "I"));
    assert_eq!((mrz.issuing_state.as_str(), mrz.nationality.as_str()), ("UTO", "UTO"));
    assert_eq!((mrz.family_name.as_str(), mrz.given_names.as_str()), ("ERIKSSON", "ANNA MARIA"));
    assert_eq!(mrz.document_number, "D23145890");
    assert_eq!((mrz.birth_date, mrz.expiry_date), (Some(day(1974, 8, 12)), day(2012, 4, 15)));
    assert_eq!((mrz.optional_data.as_str(), mrz.optional_data_2.as_str()), ("", ""));
}

#[test]
fn td1_long_document_number_overflows_into_the_optional_data() {
    // Part 5's example: D23145890734, `<` in the check digit's place, the rest and its check digit after.
    let line1 = format!("I<UTOD23145890<{}<ABC<<<<<<<", with_check("D23145890734").split_off(9));
    assert_eq!(&line1[..20], "I<UTOD23145890<7349<");
    let line2 = td1_line2(&line1, "7408122F1204159UTO<<<<<<<<<<<");
    let mrz = parse(&[&line1, &line2, TD1[2]], today()).unwrap();
    assert_eq!(mrz.document_number, "D23145890734");
    assert_eq!(mrz.optional_data, "ABC");

    let wrong = replace(&line1, 18, "8");
    let line2 = td1_line2(&wrong, "7408122F1204159UTO<<<<<<<<<<<");
    assert_eq!(failed(parse(&[&wrong, &line2, TD1[2]], today())), ["document_number"]);
}

#[test]
fn visa_specimens_parse_without_a_composite() {
    let a = parse(&MRV_A, today()).unwrap();
    assert_eq!((a.format, a.kind()), (MrzFormat::MrvA, DocumentKind::Other));
    assert_eq!((a.document_number.as_str(), a.optional_data.as_str()), ("L8988901C", "6ZE184226B"));
    assert_eq!(a.nationality.special(), Some(SpecialCode::UnspecifiedNationality));
    assert_eq!((a.birth_date, a.expiry_date), (Some(day(1940, 9, 7)), day(1996, 12, 10)));
    let b = parse(&MRV_B, today()).unwrap();
    assert_eq!((b.format, b.given_names.as_str(), b.optional_data.as_str()), (MrzFormat::MrvB, "ANNA MARIA", ""));
}

#[test]
fn a_corrupted_check_digit_is_reported_by_name() {
    let birth = replace(TD3[1], 19, "3");
    assert_eq!(failed(parse(&[TD3[0], &birth], today())), ["birth_date", "composite"]);
    let expiry = replace(TD2[1], 27, "0");
    assert_eq!(failed(parse(&[TD2[0], &expiry], today())), ["expiry_date", "composite"]);
    let personal = replace(TD3[1], 42, "2");
    assert_eq!(failed(parse(&[TD3[0], &personal], today())), ["optional_data", "composite"]);
}

#[test]
fn a_corrupted_composite_is_reported() {
    assert_eq!(failed(parse(&[TD3[0], &replace(TD3[1], 43, "1")], today())), ["composite"]);
    assert_eq!(failed(parse(&[TD1[0], &replace(TD1[1], 29, "7"), TD1[2]], today())), ["composite"]);
}

#[test]
fn a_misread_check_digit_is_not_repaired_into_a_wrong_number() {
    // The number is right and its check digit wrong: whatever number would match it, the composite refuses it.
    let line = replace(TD3[1], 9, "7");
    assert_eq!(failed(parse(&[TD3[0], &line], today())), ["document_number", "composite"]);
}

#[test]
fn ocr_o_for_zero_in_the_document_number_is_repaired_when_the_check_digit_proves_it() {
    let line = replace(TD3[1], 5, "O");
    let mrz = parse(&[TD3[0], &line], today()).unwrap();
    assert_eq!(mrz.document_number, "L898902C3");
    assert_eq!(mrz.repaired, ["document_number"]);
}

#[test]
fn two_equally_valid_repairs_are_refused() {
    // 012O45X7X and O12045X7X: the two O/0 positions weigh the same, so either fix proves equally well.
    let truth = td3_line2("012O45X7X", "UTO", "740812", 'F', "120415", "");
    assert_eq!(check_digit("012O45X7X"), check_digit("O12045X7X"));
    let line = replace(&truth, 0, "O");
    assert_eq!(failed(parse(&[TD3[0], &line], today())), ["document_number", "composite"]);
}

#[test]
fn no_repair_when_no_confusion_explains_the_error() {
    // Y read as V: no confusable substitution within the bound makes the check digit hold.
    let truth = td3_line2("X7Y4W9K3A", "UTO", "740812", 'F', "120415", "");
    let line = replace(&truth, 2, "V");
    assert_eq!(failed(parse(&[TD3[0], &line], today())), ["document_number", "composite"]);
    // Three confusions exceed the bound even though undoing them would be valid. (The O/0s sit
    // at weight 7, so no one or two of them make the check digit hold by chance.)
    let truth = td3_line2("0XY0W40K3", "UTO", "740812", 'F', "120415", "");
    let line = replace(&replace(&replace(&truth, 0, "O"), 3, "O"), 6, "O");
    assert_eq!(failed(parse(&[TD3[0], &line], today())), ["document_number", "composite"]);
}

#[test]
fn optional_data_without_its_own_check_digit_is_repaired_through_the_composite() {
    let line2 = td1_line2(TD1[0], "7408122F1204159UTOXK754<<<<<<");
    let read = replace(&line2, 21, "S");
    let mrz = parse(&[TD1[0], &read, TD1[2]], today()).unwrap();
    assert_eq!((mrz.optional_data_2.as_str(), mrz.repaired.as_slice()), ("XK754", &["optional_data_2"][..]));
}

#[test]
fn letters_in_numeric_fields_and_digits_in_names_are_mapped() {
    let line2 = replace(&replace(TD3[1], 15, "O"), 42, "I");
    let line1 = replace(&replace(TD3[0], 9, "5"), 11, "0");
    let mrz = parse(&[&line1, &line2], today()).unwrap();
    assert_eq!((mrz.birth_date, mrz.family_name.as_str()), (Some(day(1974, 8, 12)), "ERIKSSON"));
    assert_eq!(mrz.repaired, ["birth_date", "optional_data", "names"]);
}

#[test]
fn centuries_are_inferred_from_today() {
    let line = td3_line2("L898902C3", "UTO", "240602", 'M', "730101", "");
    let mrz = parse(&[TD3[0], &line], today()).unwrap();
    assert_eq!((mrz.birth_date, mrz.expiry_date), (Some(day(1924, 6, 2)), day(2073, 1, 1)));
    let mrz = parse(&[TD3[0], &line], day(2024, 6, 2)).unwrap();
    assert_eq!(mrz.birth_date, Some(day(2024, 6, 2)));
    let mrz = parse(&TD3, today()).unwrap();
    assert_eq!((mrz.birth_date, mrz.expiry_date), (Some(day(1974, 8, 12)), day(2012, 4, 15)));
}

#[test]
fn invalid_calendar_dates_and_markers_are_errors() {
    let bad_birth = td3_line2("L898902C3", "UTO", "740230", 'F', "120415", "");
    assert_eq!(parse(&[TD3[0], &bad_birth], today()), Err(MrzError::BadDate { field: "birth_date" }));
    let bad_expiry = td3_line2("L898902C3", "UTO", "740812", 'F', "121315", "");
    assert_eq!(parse(&[TD3[0], &bad_expiry], today()), Err(MrzError::BadDate { field: "expiry_date" }));
    let bad_sex = replace(TD3[1], 20, "W");
    assert_eq!(parse(&[TD3[0], &bad_sex], today()), Err(MrzError::BadSex));
    let bad_state = replace(TD3[1], 10, "U<O");
    assert_eq!(parse(&[TD3[0], &bad_state], today()), Err(MrzError::BadStateCode { field: "nationality" }));
    assert_eq!(parse(&[&replace(TD3[0], 0, "X"), TD3[1]], today()), Err(MrzError::BadDocumentCode));
    assert!(matches!(parse(&[TD3[0], &TD3[1][..43]], today()), Err(MrzError::BadShape(_))));
    assert!(matches!(parse(&[TD3[0]], today()), Err(MrzError::BadShape(_))));
}

#[test]
fn unknown_birth_dates_unspecified_sex_germany_and_an_unused_personal_number() {
    for filler in ["<", "0"] {
        let mut line = td3_line2("C01X00T47", "D<<", "64<<<<", '<', "340601", "");
        line = replace(&line, 42, filler);
        let line = replace(
            &line,
            43,
            &check_digit(&format!("{}{}{}", &line[..10], &line[13..20], &line[21..43])).unwrap().to_string(),
        );
        let line1 = format!("{:<<44}", "P<D<<MUSTERMANN<<ERIKA");
        let mrz = parse(&[&line1, &line], today()).unwrap();
        assert_eq!((mrz.nationality.as_str(), mrz.issuing_state.special()), ("D", Some(SpecialCode::Germany)));
        assert_eq!((mrz.birth_date, mrz.sex, mrz.optional_data.as_str()), (None, Sex::Unspecified, ""));
        assert!(mrz.to_extracted().birth_date.is_none());
    }
}

#[test]
fn to_extracted_fills_every_field_from_the_mrz() {
    let doc = parse(&TD3, today()).unwrap().to_extracted();
    assert_eq!(doc.kind, Some(DocumentKind::Passport));
    assert_eq!(doc.issuing_country.as_deref(), Some("UTO"));
    assert_eq!((doc.family_name.as_deref(), doc.given_names.as_deref()), (Some("ERIKSSON"), Some("ANNA MARIA")));
    assert_eq!((doc.birth_date, doc.expiry_date), (Some(day(1974, 8, 12)), Some(day(2012, 4, 15))));
    assert_eq!((doc.document_number.as_deref(), doc.sex), (Some("L898902C3"), Some(Sex::Female)));
    assert_eq!((doc.nationality.as_deref(), doc.issuing_region), (Some("UTO"), None));
    let fields: Vec<&str> = doc.sources.iter().map(|&(field, _)| field).collect();
    assert_eq!(fields.len(), 9);
    assert!(doc.sources.iter().all(|&(_, source)| source == FieldSource::Mrz));
    assert_eq!(parse(&TD1, today()).unwrap().to_extracted().kind, Some(DocumentKind::IdCard));
    assert_eq!(parse(&MRV_B, today()).unwrap().to_extracted().kind, Some(DocumentKind::Other));
}

#[test]
fn find_locates_an_mrz_in_noisy_ocr_text() {
    let text = "REPUBLIC OF UTOPIA\nPassport / Passeport\n\nSurname ERIKSSON\n\
        p<uto eriksson«anna<maria <<<<<<<<<<<<<<< <<< .\n\n\
        L898902C36 UTO 7408122 F 1204159 ZE184226B <<<<< 10\n";
    let mrz = find(text, today()).unwrap().unwrap();
    assert_eq!((mrz.document_number.as_str(), mrz.given_names.as_str()), ("L898902C3", "ANNA MARIA"));

    let text = format!("IDENTITY CARD\n{}\n{}\n{}\nsignature", TD1[0].replace("<<<<<", "<<<< "), TD1[1], TD1[2]);
    assert_eq!(find(&text, today()).unwrap().unwrap().format, MrzFormat::Td1);

    // A dropped filler in the optional data and a stray character are put right.
    let text = format!("{}\n{}|", TD2[0], TD2[1].replacen("<<", "<", 1));
    assert_eq!(find(&text, today()).unwrap().unwrap().format, MrzFormat::Td2);
}

#[test]
fn find_reports_a_broken_mrz_and_nothing_without_one() {
    assert_eq!(find("DRIVER LICENCE\nNSW 12345678\n", today()), None);
    let broken = format!("{}\n{}", TD3[0], replace(TD3[1], 43, "1"));
    assert_eq!(find(&broken, today()), Some(Err(MrzError::CheckDigits { failed: vec!["composite"] })));
}
