//! Golden tests on the shipped OFAC files (`data/ofac`), entries picked from the real list.

use std::sync::OnceLock;

use super::*;

fn screener() -> &'static Screener {
    static SCREENER: OnceLock<Screener> = OnceLock::new();
    SCREENER.get_or_init(|| Screener::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/data/ofac")).unwrap())
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn screen(name: &str, birth_date: Option<NaiveDate>) -> ScreeningResult {
    screener().screen(&ScreeningQuery::person(name, birth_date))
}

/// The entry's match in a result, if any.
fn find<'r>(result: &'r ScreeningResult, list_id: &str) -> Option<&'r ScreeningMatch> {
    result.matches.iter().find(|m| m.list_id == list_id)
}

fn top(result: &ScreeningResult) -> (&str, f64, Screening) {
    let first = result.matches.first().expect("a match");
    (first.list_id.as_str(), first.score, result.outcome)
}

#[test]
fn loads_every_entry_alias_and_date_of_the_shipped_list() {
    let s = screener();
    assert_eq!(s.entries().len(), 8976);
    assert_eq!(s.name_count(), 8976 + 11910);
    let sdn = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/ofac/sdn.csv")).unwrap();
    let listed_dobs = sdn.matches("DOB ").count();
    assert_eq!(s.entries().iter().map(|e| e.dobs.len()).sum::<usize>(), listed_dobs, "every DOB clause parses");
    let entry = |id: u32| s.entries().iter().find(|e| e.id == id).unwrap();
    let zawahiri = entry(2676);
    assert_eq!(zawahiri.kind, EntryKind::Individual);
    assert_eq!(zawahiri.programs, ["SDGT"]);
    assert_eq!(zawahiri.dobs, [DobSpan { from: date(1951, 6, 19).unwrap(), to: date(1951, 6, 19).unwrap() }]);
    assert!(zawahiri.names.iter().any(|n| n.text == "SALIM, Ahmad Fuad" && n.kind == NameKind::Aka));
    assert_eq!(entry(23214).dobs, [DobSpan { from: date(1967, 1, 1).unwrap(), to: date(1969, 12, 31).unwrap() }]);
    assert_eq!(entry(22790).programs, ["VENEZUELA", "IRAN-CON-ARMS-EO"]);
    assert_eq!(entry(36).kind, EntryKind::Entity);
    assert_eq!(entry(36).countries, ["Cuba"]);
}

#[test]
fn exact_name_matches_its_entry() {
    let result = screen("MADURO MOROS, Nicolas", None);
    assert_eq!(top(&result), ("22790", 1.0, Screening::Match));
    let found = &result.matches[0];
    assert_eq!((found.list.as_str(), found.name.as_str()), (OFAC_SDN, "MADURO MOROS, Nicolas"));
    assert_eq!((found.programs.len(), found.dob_match), (2, None));
}

#[test]
fn reordered_name_matches_its_entry() {
    assert_eq!(top(&screen("Nicolas Maduro Moros", None)), ("22790", 1.0, Screening::Match));
    assert_eq!(top(&screen("Viktor Vasiliyevich Zolotov", None)), ("24326", 1.0, Screening::Match));
}

#[test]
fn accented_variant_matches_its_entry() {
    assert_eq!(top(&screen("Víktor Vasíliyévich ZOLÓTOV", None)), ("24326", 1.0, Screening::Match));
    assert_eq!(top(&screen("Nicolás Maduro Morós", None)), ("22790", 1.0, Screening::Match));
}

#[test]
fn alias_from_alt_csv_matches_its_entry() {
    let result = screen("Ahmad Fuad Salim", None);
    assert_eq!(top(&result), ("2676", 1.0, Screening::Match));
    assert_eq!(result.matches[0].name, "SALIM, Ahmad Fuad");
}

#[test]
fn one_typo_still_matches_its_entry() {
    let result = screen("Ayman al-Zawahri", None);
    let (id, score, outcome) = top(&result);
    assert_eq!((id, outcome), ("2676", Screening::Match));
    assert!((MATCH_THRESHOLD..1.0).contains(&score), "{score}");
    assert_eq!(top(&screen("Viktor Vasiliyevich Zolotof", None)).0, "24326");
}

#[test]
fn clearly_different_common_names_stay_cleared() {
    for name in [
        "Jane Smith",
        "John Citizen",
        "Mary Johnson",
        "James Brown",
        "Robert Williams",
        "Patricia Jones",
        "Michael Miller",
        "Linda Davis",
        "David Wilson",
        "Elizabeth Taylor",
        "William Anderson",
        "Barbara Thomas",
        "Richard Jackson",
        "Susan White",
        "Joseph Harris",
        "Jessica Martin",
        "Sarah Moore",
        "Charles Clark",
        "Karen Lewis",
        "Christopher Lee",
        "Nancy Walker",
        "Daniel Hall",
        "Lisa Allen",
        "Matthew Young",
        "Emily King",
        "Anthony Wright",
        "Olivia Scott",
        "Mark Green",
        "Sophie Baker",
        "Jack Adams",
        "Chloe Nelson",
        "Liam Hill",
        "Charlotte Campbell",
        "Noah Mitchell",
        "Amelia Roberts",
        "Oliver Carter",
        "Lachlan Evans",
        "Ruby Turner",
        "Priya Sharma",
        "Raj Patel",
        "Anh Nguyen",
        "Olga Ivanova",
        "Hiroshi Tanaka",
        "Giuseppe Rossi",
    ] {
        let result = screen(name, date(1990, 1, 31));
        assert_eq!((result.outcome, result.count), (Screening::Cleared, 0), "{name}: {:?}", result.matches);
        assert!(result.matches.is_empty());
    }
    assert_eq!(screen("", None).outcome, Screening::Cleared);
    assert_eq!(screen(" ,.- ", None).count, 0);
}

#[test]
fn agreeing_dob_turns_a_partial_name_into_a_match() {
    // The list adds a patronymic the query lacks: worth a look, not a match, by name alone.
    let by_name = screen("Viktor Zolotov", None);
    assert_eq!(by_name.outcome, Screening::PotentialMatch);
    assert_eq!(find(&by_name, "24326").unwrap().dob_match, None);
    let with_dob = screen("Viktor Zolotov", date(1954, 1, 27));
    assert_eq!(with_dob.outcome, Screening::Match);
    assert_eq!(find(&with_dob, "24326").unwrap().dob_match, Some(true));
}

#[test]
fn contradicting_dob_downgrades_or_clears() {
    let agreeing = screen("Ayman al-Zawahiri", date(1951, 6, 19));
    assert_eq!(agreeing.outcome, Screening::Match);
    assert_eq!(find(&agreeing, "2676").unwrap().dob_match, Some(true));
    // Three weeks off: perhaps a typo, so only a potential match.
    let near = screen("Ayman al-Zawahiri", date(1951, 7, 10));
    assert_eq!(near.outcome, Screening::PotentialMatch);
    assert_eq!(find(&near, "2676").unwrap().dob_match, Some(false));
    // Decades off: another person with the name.
    let far = screen("Ayman al-Zawahiri", date(1985, 3, 2));
    assert_eq!((far.outcome, far.count), (Screening::Cleared, 0));
}

#[test]
fn year_and_range_dobs_agree_anywhere_inside() {
    let year = screen("Abdullah Ahmed Abdullah", date(1963, 11, 30));
    assert_eq!(find(&year, "6915").unwrap().dob_match, Some(true));
    assert!(find(&screen("Abdullah Ahmed Abdullah", date(1975, 1, 1)), "6915").is_none());
    let range = screen("Kim Jong Sik", date(1968, 5, 5));
    assert_eq!((find(&range, "23214").unwrap().dob_match, range.outcome), (Some(true), Screening::Match));
    assert!(find(&screen("Kim Jong Sik", date(1990, 5, 5)), "23214").is_none());
}

#[test]
fn entities_are_screened_only_when_asked() {
    assert_eq!(screen("Banco Nacional de Cuba", None).outcome, Screening::Cleared);
    let query = ScreeningQuery { individuals_only: false, ..ScreeningQuery::person("Banco Nacional de Cuba", None) };
    assert_eq!(top(&screener().screen(&query)), ("306", 1.0, Screening::Match));
    let alias = ScreeningQuery { individuals_only: false, ..ScreeningQuery::person("National Bank of Cuba", None) };
    assert_eq!(top(&screener().screen(&alias)).0, "306");
}

#[test]
fn matches_are_capped_and_best_first() {
    let result = screen("Muhammad Ali", None);
    assert!(result.count as usize > MAX_MATCHES, "{}", result.count);
    assert_eq!(result.matches.len(), MAX_MATCHES);
    assert!(result.matches.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(result.matches.iter().all(|m| m.score >= POTENTIAL_MATCH_THRESHOLD && m.score <= 1.0));
    assert_eq!(result.outcome, Screening::Match);
}

/// Every third listed individual, queried given-name-first, with accents, and with one
/// letter of its longest word replaced, must come back among the potential matches.
#[test]
fn recall_over_the_listed_individuals() {
    let s = screener();
    let individuals = s.entries().iter().filter(|e| e.kind == EntryKind::Individual).step_by(3);
    let mut checked = 0;
    for entry in individuals {
        let listed = &entry.names[0].text;
        let mut words = names::tokens(listed);
        let reordered = words.iter().rev().cloned().collect::<Vec<_>>().join(" ");
        let accented: String = listed
            .chars()
            .map(|c| match c {
                'A' => 'Á',
                'E' => 'È',
                'O' => 'Ö',
                'a' => 'ã',
                'e' => 'ë',
                'u' => 'ü',
                c => c,
            })
            .collect();
        let longest = words.iter_mut().max_by_key(|w| w.len()).unwrap();
        if longest.len() < 4 {
            continue;
        }
        let mut typo = longest.clone().into_bytes();
        let middle = typo.len() / 2;
        typo[middle] = if typo[middle] == b'x' { b'z' } else { b'x' };
        *longest = String::from_utf8(typo).unwrap();
        let typo = words.join(" ");
        for (query, least) in [(reordered, 1.0), (accented, 1.0), (typo, POTENTIAL_MATCH_THRESHOLD)] {
            let found = s.all_matches(&ScreeningQuery::person(&query, None));
            let score = found.iter().find(|(m, _)| m.list_id == entry.id.to_string()).map(|(m, _)| m.score);
            assert!(score.is_some_and(|s| s >= least), "{query} → {listed}: {score:?}");
        }
        checked += 1;
    }
    assert!(checked > 1400, "{checked}");
}

#[test]
fn a_missing_folder_is_an_io_error() {
    assert!(matches!(Screener::from_dir("/nonexistent/ofac"), Err(ScreeningError::Io { .. })));
}
