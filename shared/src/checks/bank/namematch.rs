//! How well a bank's account-holder name matches the name the user declared.
//!
//! Both sides are folded with [`names::tokens`] (case, accents, punctuation, honorifics,
//! "LAST, First" order), then:
//!
//! 1. Runs written as one word on the other side are joined (`van der Berg` / `VANDERBERG`,
//!    `O Brien` / `O'Brien`, `Min-jun` / `Minjun`, `Te Whata` / `Tewhata`).
//! 2. Declared tokens are paired with holder tokens regardless of order (so `SMITH JANE` and
//!    `Jane Smith` agree), best pairs first: identical tokens, then small typos (Jaro-Winkler
//!    ≥ 0.85 between tokens of 3+ letters whose lengths differ by at most 2), then initials
//!    (`J` for `Jane`, given names first). Nicknames and variants (`Bob`/`Robert`,
//!    `Chris`/`Christopher`) are not matched: only the bank can say they are the same person.
//! 3. Each token scores 100 when identical, its similarity (at most 90: a typo is never exact)
//!    when misspelt, 70 as an initial of a given name, 50 as an initial of a family name.
//!    A compound matched only in part (`Smith-Jones` against `Jones`, either way round, or
//!    `García Márquez` against `Garcia`) keeps 75% of its score.
//! 4. Family name: the score of the family-name tokens together.
//!    Given name: the score of the first given name, or 75% of a middle name's when only a
//!    middle name matches; minus 3 per declared middle name the holder lacks (15 if the holder
//!    has a different name there), half the shortfall of a misspelt middle name, and 3 per
//!    holder token nobody declared (an undeclared middle name; at most 9).
//!
//! The outcome: **exact** when both components are ≥ 95; **partial** when both are ≥ 60, or
//! when one is ≥ 95 and the other matched by initial only (`Jane S`); **mismatch** otherwise.

use strsim::jaro_winkler;

use crate::checks::names;
use crate::decision::NameMatch;

/// Both components at or above this make an exact match.
pub const EXACT: u8 = 95;
/// Both components at or above this make at least a partial match.
pub const PARTIAL: u8 = 60;

const FUZZY_FLOOR: f64 = 0.85;
const FUZZY_MAX_LENGTH_GAP: usize = 2;
const FUZZY_CAP: f64 = 90.0;
const GIVEN_INITIAL: f64 = 70.0;
const FAMILY_INITIAL: f64 = 50.0;
const INCOMPLETE_COMPOUND: f64 = 0.75;
const MIDDLE_NAME_ONLY: f64 = 0.75;
const MISSING_MIDDLE: f64 = 3.0;
const CONFLICTING_MIDDLE: f64 = 15.0;
const EXTRA_TOKEN: f64 = 3.0;
const EXTRA_TOKENS_MAX: f64 = 9.0;
/// The longest run of tokens that may be written as one word elsewhere (`van der berg`).
const MAX_RUN: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameScore {
    /// 0..=100.
    pub given_name: u8,
    /// 0..=100.
    pub family_name: u8,
    pub outcome: NameMatch,
}

impl NameScore {
    const NONE: NameScore = NameScore { given_name: 0, family_name: 0, outcome: NameMatch::Mismatch };
}

/// Scores the declared name against one account holder's name.
pub fn score(given_name: &str, family_name: &str, holder: &str) -> NameScore {
    let mut given = words(given_name, false);
    // The family name is one compound, however it is written.
    let mut family: Vec<Token> = words(family_name, false).into_iter().map(|t| Token { part: 0, ..t }).collect();
    let mut holder = words(holder, true);
    join_runs(&mut family, &mut holder);
    join_runs(&mut given, &mut holder);
    let pairs = Pairs::new(&given, &family, &holder);

    let family_part = part_score(&family, &pairs.family, &holder, &pairs.holder_used, FAMILY_INITIAL);
    let family_score = family_part.map_or(0.0, |p| p.points);
    let (given_score, given_initial) = given_score(&given, &pairs, &holder);
    let (g, f) = (to_u8(given_score), to_u8(family_score));
    let family_initial = family_part.is_some_and(|p| p.initial_only);
    let outcome = if g >= EXACT && f >= EXACT {
        NameMatch::Exact
    } else if (g >= PARTIAL && f >= PARTIAL) || (g >= EXACT && family_initial) || (f >= EXACT && given_initial) {
        NameMatch::Partial
    } else {
        NameMatch::Mismatch
    };
    NameScore { given_name: g, family_name: f, outcome }
}

/// The best score over the holders of an account (joint accounts have several): best
/// outcome first, then the higher total. No holder is a mismatch.
pub fn score_best<S: AsRef<str>>(given_name: &str, family_name: &str, holders: &[S]) -> NameScore {
    let rank = |o: NameMatch| match o {
        NameMatch::Exact => 2,
        NameMatch::Partial => 1,
        NameMatch::Mismatch => 0,
    };
    holders
        .iter()
        .map(|h| score(given_name, family_name, h.as_ref()))
        .max_by_key(|s| (rank(s.outcome), u16::from(s.given_name) + u16::from(s.family_name)))
        .unwrap_or(NameScore::NONE)
}

fn to_u8(points: f64) -> u8 {
    points.round().clamp(0.0, 100.0) as u8
}

/// A folded name token and the written word it came from: `Smith-Jones` is one word of two
/// tokens, `J.A.` two words of one token each.
#[derive(Debug, Clone)]
struct Token {
    text: String,
    part: usize,
}

fn words(s: &str, reorder: bool) -> Vec<Token> {
    let reordered = match s.split_once(',') {
        Some((last, first)) if reorder && !first.trim().is_empty() => format!("{first} {last}"),
        _ => s.to_owned(),
    };
    reordered
        .split(|c: char| c.is_whitespace() || c == '.' || c == ',')
        .map(names::tokens)
        .filter(|t| !t.is_empty())
        .enumerate()
        .flat_map(|(part, tokens)| tokens.into_iter().map(move |text| Token { text, part }))
        .collect()
}

fn joined(tokens: &[Token]) -> String {
    tokens.iter().map(|t| t.text.as_str()).collect()
}

/// Joins a run on one side with a run on the other when they spell the same word.
fn join_runs(declared: &mut Vec<Token>, holder: &mut Vec<Token>) {
    'again: loop {
        for a in 1..=MAX_RUN.min(declared.len()) {
            for b in 1..=MAX_RUN.min(holder.len()) {
                if a == 1 && b == 1 {
                    continue;
                }
                for i in 0..=declared.len() - a {
                    for k in 0..=holder.len() - b {
                        let word = joined(&declared[i..i + a]);
                        if word == joined(&holder[k..k + b]) {
                            let (dp, hp) = (declared[i].part, holder[k].part);
                            declared.splice(i..i + a, [Token { text: word.clone(), part: dp }]);
                            holder.splice(k..k + b, [Token { text: word, part: hp }]);
                            continue 'again;
                        }
                    }
                }
            }
        }
        return;
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Link {
    Same,
    Typo(f64),
    Initial,
}

impl Link {
    fn between(a: &str, b: &str) -> Option<Link> {
        if a == b {
            return Some(Link::Same);
        }
        if (a.len() == 1 && b.starts_with(a)) || (b.len() == 1 && a.starts_with(b)) {
            return Some(Link::Initial);
        }
        if a.len() < 3 || b.len() < 3 || a.len().abs_diff(b.len()) > FUZZY_MAX_LENGTH_GAP {
            return None;
        }
        let similarity = jaro_winkler(a, b);
        (similarity >= FUZZY_FLOOR).then_some(Link::Typo(similarity))
    }

    fn points(self, initial: f64) -> f64 {
        match self {
            Link::Same => 100.0,
            Link::Typo(s) => (s * 100.0).min(FUZZY_CAP),
            Link::Initial => initial,
        }
    }

    /// Pairing order: identical, then typos by similarity, then initials.
    fn strength(self) -> f64 {
        match self {
            Link::Same => 3.0,
            Link::Typo(s) => 1.0 + s,
            Link::Initial => 0.0,
        }
    }
}

/// For every declared token, the holder token it is paired with.
struct Pairs {
    given: Vec<Option<(usize, Link)>>,
    family: Vec<Option<(usize, Link)>>,
    holder_used: Vec<bool>,
}

impl Pairs {
    fn new(given: &[Token], family: &[Token], holder: &[Token]) -> Self {
        let mut candidates = Vec::new();
        for (is_family, side) in [(false, given), (true, family)] {
            for (d, token) in side.iter().enumerate() {
                for (h, held) in holder.iter().enumerate() {
                    if let Some(link) = Link::between(&token.text, &held.text) {
                        candidates.push((is_family, d, h, link));
                    }
                }
            }
        }
        // Stable: on equal strength given names (pushed first) pair first.
        candidates.sort_by(|x, y| y.3.strength().total_cmp(&x.3.strength()));
        let mut pairs = Pairs {
            given: vec![None; given.len()],
            family: vec![None; family.len()],
            holder_used: vec![false; holder.len()],
        };
        for (is_family, d, h, link) in candidates {
            let slot = if is_family { &mut pairs.family[d] } else { &mut pairs.given[d] };
            if slot.is_none() && !pairs.holder_used[h] {
                *slot = Some((h, link));
                pairs.holder_used[h] = true;
            }
        }
        pairs
    }
}

#[derive(Debug, Clone, Copy)]
struct PartScore {
    points: f64,
    initial_only: bool,
}

/// The score of one declared word (or the whole family name); None when nothing matched.
fn part_score(
    tokens: &[Token],
    links: &[Option<(usize, Link)>],
    holder: &[Token],
    holder_used: &[bool],
    initial: f64,
) -> Option<PartScore> {
    let matched: Vec<(usize, Link)> = links.iter().flatten().copied().collect();
    if matched.is_empty() {
        return None;
    }
    let mean = matched.iter().map(|(_, l)| l.points(initial)).sum::<f64>() / matched.len() as f64;
    let holder_word_left_over = matched
        .iter()
        .any(|&(h, _)| holder.iter().zip(holder_used).any(|(other, used)| other.part == holder[h].part && !used));
    let incomplete = matched.len() < tokens.len() || holder_word_left_over;
    Some(PartScore {
        points: if incomplete { mean * INCOMPLETE_COMPOUND } else { mean },
        initial_only: matched.iter().all(|(_, l)| *l == Link::Initial),
    })
}

/// The given-name component and whether its first name matched by initial only.
fn given_score(given: &[Token], pairs: &Pairs, holder: &[Token]) -> (f64, bool) {
    let mut parts: Vec<usize> = given.iter().map(|t| t.part).collect();
    parts.dedup();
    let scores: Vec<Option<PartScore>> = parts
        .iter()
        .map(|&part| {
            let indices: Vec<usize> = (0..given.len()).filter(|&i| given[i].part == part).collect();
            let tokens: Vec<Token> = indices.iter().map(|&i| given[i].clone()).collect();
            let links: Vec<_> = indices.iter().map(|&i| pairs.given[i]).collect();
            part_score(&tokens, &links, holder, &pairs.holder_used, GIVEN_INITIAL)
        })
        .collect();
    // Holder words with no token paired: names the user did not declare.
    let extra_words = {
        let mut unpaired: Vec<usize> = holder
            .iter()
            .filter(|t| holder.iter().zip(&pairs.holder_used).all(|(o, used)| o.part != t.part || !used))
            .map(|t| t.part)
            .collect();
        unpaired.dedup();
        unpaired.len()
    };

    let (base, base_index, initial_only) = match scores.first() {
        None => return (0.0, false),
        Some(Some(first)) => (first.points, 0, first.initial_only),
        Some(None) => match scores
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (i, s)))
            .max_by(|a, b| a.1.points.total_cmp(&b.1.points))
        {
            Some((i, middle)) => (middle.points * MIDDLE_NAME_ONLY, i, false),
            None => return (0.0, false),
        },
    };
    let mut penalty = 0.0;
    let mut middle_missing = false;
    for (_, s) in scores.iter().enumerate().skip(1).filter(|(i, _)| *i != base_index) {
        penalty += match s {
            Some(s) if s.initial_only || s.points >= 100.0 => 0.0,
            Some(s) => (100.0 - s.points) / 2.0,
            None if extra_words > 0 => {
                middle_missing = true;
                CONFLICTING_MIDDLE
            }
            None => {
                middle_missing = true;
                MISSING_MIDDLE
            }
        };
    }
    if !middle_missing {
        penalty += (extra_words as f64 * EXTRA_TOKEN).min(EXTRA_TOKENS_MAX);
    }
    ((base - penalty).max(0.0), initial_only)
}

#[cfg(test)]
mod tests {
    use super::*;
    use NameMatch::{Exact, Mismatch, Partial};

    struct Case {
        given: &'static str,
        family: &'static str,
        holder: &'static str,
        outcome: NameMatch,
        given_range: (u8, u8),
        family_range: (u8, u8),
    }

    const fn case(
        given: &'static str,
        family: &'static str,
        holder: &'static str,
        outcome: NameMatch,
        given_range: (u8, u8),
        family_range: (u8, u8),
    ) -> Case {
        Case { given, family, holder, outcome, given_range, family_range }
    }

    const FULL: (u8, u8) = (100, 100);
    const NONE: (u8, u8) = (0, 0);

    #[rustfmt::skip]
    const CASES: &[Case] = &[
        // Case, accents, honorifics, order.
        case("Jane", "Smith", "JANE SMITH", Exact, FULL, FULL),
        case("Zoë", "Müller", "ZOE MULLER", Exact, FULL, FULL),
        case("Jane", "Smith", "Smith, Jane", Exact, FULL, FULL),
        case("Jane", "Smith", "SMITH JANE", Exact, FULL, FULL),
        case("Jane", "Smith", "Mrs Jane Smith", Exact, FULL, FULL),
        case("Jane Alice", "Smith", "SMITH, DR JANE A", Exact, FULL, FULL),
        // Initials: high, never full.
        case("Jane Alice", "Smith", "J A Smith", Partial, (65, 75), FULL),
        case("Jane Alice", "Smith", "J. Smith", Partial, (60, 70), FULL),
        case("Pieter", "van der Berg", "P VANDERBERG", Partial, (65, 75), FULL),
        case("Jane", "Smith", "Jane S", Partial, FULL, (45, 55)),
        // Tamil style: the father's name as an initial.
        case("Priya", "Ramanathan", "R PRIYA", Partial, FULL, (45, 55)),
        // Middle names on one side only; a different or only a middle name.
        case("Jane", "Smith", "Jane Alice Smith", Exact, (95, 99), FULL),
        case("Jane Alice", "Smith", "Jane Smith", Exact, (95, 99), FULL),
        case("Jane Alice", "Smith", "Jane Mary Smith", Partial, (80, 90), FULL),
        case("Jane Alice", "Smith", "Alice Smith", Partial, (70, 80), FULL),
        // Compound family names.
        case("Jane", "Smith-Jones", "JANE SMITH JONES", Exact, FULL, FULL),
        case("Jane", "Smith Jones", "Jane Smith-Jones", Exact, FULL, FULL),
        case("Jane", "Smith-Jones", "Jane Jones", Partial, FULL, (70, 80)),
        case("Jane", "Jones", "Jane Smith-Jones", Partial, FULL, (70, 80)),
        case("María José", "García Márquez", "MARIA JOSE GARCIA", Partial, FULL, (70, 80)),
        case("Siobhán", "O'Brien", "SIOBHAN O BRIEN", Exact, FULL, FULL),
        case("Aroha", "Te Whata", "AROHA TEWHATA", Exact, FULL, FULL),
        case("Mohammed", "Al-Farsi", "MOHAMMED AL FARSI", Exact, FULL, FULL),
        // Family name first, joined given names.
        case("Wei", "Zhang", "ZHANG WEI", Exact, FULL, FULL),
        case("Van Anh", "Nguyen", "NGUYEN VAN ANH", Exact, FULL, FULL),
        case("Min-jun", "Kim", "KIM MINJUN", Exact, FULL, FULL),
        // Small typos and transliterations: close, never exact.
        case("Jane", "Smith", "Jane Smyth", Partial, FULL, (85, 90)),
        case("Jon", "Smith", "John Smith", Partial, (85, 90), FULL),
        case("Mohammed", "Al-Farsi", "MOHAMED AL FARSI", Partial, (85, 90), FULL),
        case("Anna", "Kowalska", "ANNA KOWALSKI", Partial, FULL, (85, 90)),
        // Nicknames, short forms and different people.
        case("Bob", "Smith", "Robert Smith", Mismatch, NONE, FULL),
        case("Chris", "Taylor", "Christopher Taylor", Mismatch, NONE, FULL),
        case("Jane", "Smith", "John Citizen", Mismatch, NONE, NONE),
        // The unpaired holder word counts as an undeclared middle name: a small deduction.
        case("Jane", "Smith", "Jane Citizen", Mismatch, (95, 100), NONE),
        case("Jane", "Smith", "", Mismatch, NONE, NONE),
    ];

    #[test]
    fn scores_the_table() {
        let mut failures = Vec::new();
        for c in CASES {
            let s = score(c.given, c.family, c.holder);
            let within = |v: u8, (lo, hi): (u8, u8)| (lo..=hi).contains(&v);
            if s.outcome != c.outcome || !within(s.given_name, c.given_range) || !within(s.family_name, c.family_range)
            {
                failures.push(format!("{} / {} vs {:?}: {s:?}", c.given, c.family, c.holder));
            }
        }
        assert!(failures.is_empty(), "{} of {} cases:\n{}", failures.len(), CASES.len(), failures.join("\n"));
    }

    #[test]
    fn best_holder_of_a_joint_account_wins() {
        let s = score_best("Jane", "Smith", &["John Citizen", "J Smith", "Jane Smith"]);
        assert_eq!(s, NameScore { given_name: 100, family_name: 100, outcome: Exact });
        let s = score_best("Jane", "Smith", &["John Citizen", "J Smith"]);
        assert_eq!(s.outcome, Partial);
        assert_eq!(score_best::<&str>("Jane", "Smith", &[]), NameScore::NONE);
    }

    #[test]
    fn scores_are_symmetric_in_order_and_case() {
        assert_eq!(score("jane", "smith", "Jane Smith"), score("JANE", "SMITH", "smith, jane"));
    }
}
