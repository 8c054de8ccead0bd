//! Screening of a person's name (and date of birth) against the OFAC SDN list, aliases
//! included, with fuzzy name matching (see `score`) over a blocking index (see `index`).
//!
//! Outcome of one listed entry, from its best name score and its dates of birth:
//! - score below [`POTENTIAL_MATCH_THRESHOLD`]: cleared;
//! - the query's DOB lies within a listed DOB (exact day, month, year, range, or a year
//!   either side of a "circa"): match — name and date agree;
//! - no DOB on one side: match from [`MATCH_THRESHOLD`], potential match below;
//! - the DOB differs by at most [`DOB_NEAR_DAYS`] from every listed DOB: potential match
//!   at most (a mistyped or differently recorded date should still be looked at);
//! - the DOB differs by more: cleared — the same name on someone born years apart.
//!
//! The overall outcome is the strongest of the entries'.

mod dob;
mod index;
mod ofac;
mod score;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::checks::names;
use crate::decision::Screening;

pub use dob::DobSpan;
pub use ofac::{Entry, EntryKind, ListName, NameKind};

use index::NameIndex;

/// The list's name in results.
pub const OFAC_SDN: &str = "OFAC-SDN";

/// A match on the name alone. Reordering, accents and punctuation score 1.0; one letter
/// changed in the longest word of a listed individual's name scores 0.92–0.99 (0.95 or
/// more for nine in ten, measured over the list). A word left unpaired on either side
/// caps a name at 0.94 (`score::PARTIAL_NAME_CEILING`): a partial name needs an agreeing
/// DOB to be a match.
pub const MATCH_THRESHOLD: f64 = 0.95;

/// Worth a look: the query is part of a listed name or the reverse (middle names or a
/// second surname missing on one side: about 0.85–0.94), or it has a typo. Names agreeing on one
/// word only are held at 0.80 (`score::ONE_WORD_CEILING`) and words pair only from
/// Jaro-Winkler 0.82, so "Jane Smith" against "SMITH, John" stays at 0.80.
pub const POTENTIAL_MATCH_THRESHOLD: f64 = 0.85;

/// A DOB this close to a listed one (a year) may be a typo or another record of the same
/// person; further away, it is another person.
pub const DOB_NEAR_DAYS: i64 = 366;

/// Matches reported at most; `count` still counts them all.
pub const MAX_MATCHES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum ScreeningError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{file}: {source}")]
    Csv { file: &'static str, source: csv::Error },
    #[error("{file} line {line}: {reason}")]
    Malformed { file: &'static str, line: u64, reason: &'static str },
    #[error("{file} refers to ent_num {ent_num}, which sdn.csv does not list")]
    UnknownEntry { file: &'static str, ent_num: u32 },
}

/// Who to screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreeningQuery<'a> {
    /// Full name in any order ("Jane Smith", "SMITH, Jane").
    pub name: &'a str,
    pub birth_date: Option<NaiveDate>,
    /// Compare with listed individuals only, not entities, vessels or aircraft.
    pub individuals_only: bool,
}

impl<'a> ScreeningQuery<'a> {
    pub fn person(name: &'a str, birth_date: Option<NaiveDate>) -> Self {
        Self { name, birth_date, individuals_only: true }
    }
}

impl Default for ScreeningQuery<'_> {
    fn default() -> Self {
        Self::person("", None)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningMatch {
    pub list: String,
    /// The list's entry number (`ent_num`).
    pub list_id: String,
    /// The listed name (primary or alias) that matched best.
    pub name: String,
    /// Name similarity, 0..=1, three decimals.
    pub score: f64,
    pub programs: Vec<String>,
    /// Whether the query's DOB agrees with a listed one; `None` when either has none.
    pub dob_match: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningResult {
    /// Entries at potential match or above.
    pub count: u32,
    pub outcome: Screening,
    /// Best first, at most [`MAX_MATCHES`].
    pub matches: Vec<ScreeningMatch>,
}

/// The list in memory with its name index; cheap to share across threads.
#[derive(Debug)]
pub struct Screener {
    entries: Vec<Entry>,
    index: NameIndex,
}

impl Screener {
    /// Loads OFAC's legacy CSV files (`sdn.csv`, `alt.csv`, `add.csv`).
    pub fn from_ofac(sdn: &[u8], alt: &[u8], add: &[u8]) -> Result<Self, ScreeningError> {
        let entries = ofac::parse(sdn, alt, add)?;
        let tokenised: Vec<(u32, u16, Vec<String>)> = entries
            .iter()
            .enumerate()
            .flat_map(|(owner, entry)| {
                let aliases = entry.names.iter().enumerate().take(usize::from(u16::MAX));
                aliases.map(move |(alias, name)| (owner as u32, alias as u16, names::tokens(&name.text)))
            })
            .collect();
        let index = NameIndex::new(tokenised.iter().map(|(owner, alias, tokens)| (*owner, *alias, tokens.as_slice())));
        Ok(Self { entries, index })
    }

    /// Loads `sdn.csv`, `alt.csv` and `add.csv` from a folder (the shipped `data/ofac`).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, ScreeningError> {
        let read = |file: &str| {
            let path = dir.as_ref().join(file);
            std::fs::read(&path).map_err(|source| ScreeningError::Io { path, source })
        };
        Self::from_ofac(&read("sdn.csv")?, &read("alt.csv")?, &read("add.csv")?)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Names indexed, primary names and aliases.
    pub fn name_count(&self) -> usize {
        self.index.name_count()
    }

    pub fn screen(&self, query: &ScreeningQuery) -> ScreeningResult {
        let found = self.all_matches(query);
        let outcome = found.iter().map(|(_, o)| *o).max_by_key(|o| rank(*o)).unwrap_or(Screening::Cleared);
        let count = found.len() as u32;
        let matches = found.into_iter().take(MAX_MATCHES).map(|(m, _)| m).collect();
        ScreeningResult { count, outcome, matches }
    }

    /// Every entry at potential match or above with its outcome, best score first.
    fn all_matches(&self, query: &ScreeningQuery) -> Vec<(ScreeningMatch, Screening)> {
        let tokens = names::tokens(query.name);
        // Scores are compared once rounded, as reported.
        let floor = POTENTIAL_MATCH_THRESHOLD - 0.0005;
        let hits = self.index.search(&tokens, floor, |owner| {
            !query.individuals_only || self.entries[owner as usize].kind == EntryKind::Individual
        });
        let mut found: Vec<(ScreeningMatch, Screening)> = hits
            .into_iter()
            .filter_map(|hit| {
                let entry = &self.entries[hit.owner as usize];
                let score = (hit.score * 1000.0).round() / 1000.0;
                let dob = DobEvidence::of(entry, query.birth_date);
                let outcome = dob.outcome(score);
                (outcome != Screening::Cleared).then(|| {
                    let found = ScreeningMatch {
                        list: OFAC_SDN.to_owned(),
                        list_id: entry.id.to_string(),
                        name: entry.names[usize::from(hit.alias)].text.clone(),
                        score,
                        programs: entry.programs.clone(),
                        dob_match: dob.agrees(),
                    };
                    (found, outcome)
                })
            })
            .collect();
        // Equal scores in list order; ids are decimal numbers, so shorter is smaller.
        found.sort_by(|(a, _), (b, _)| {
            b.score.total_cmp(&a.score).then_with(|| (a.list_id.len(), &a.list_id).cmp(&(b.list_id.len(), &b.list_id)))
        });
        found
    }
}

fn rank(outcome: Screening) -> u8 {
    match outcome {
        Screening::Cleared => 0,
        Screening::PotentialMatch => 1,
        Screening::Match => 2,
    }
}

/// What an entry's dates of birth say about the query's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DobEvidence {
    Unknown,
    Agrees,
    NearMiss,
    Contradicts,
}

impl DobEvidence {
    fn of(entry: &Entry, birth_date: Option<NaiveDate>) -> Self {
        let Some(date) = birth_date else { return Self::Unknown };
        match entry.dobs.iter().map(|span| span.distance_days(date)).min() {
            None => Self::Unknown,
            Some(0) => Self::Agrees,
            Some(days) if days <= DOB_NEAR_DAYS => Self::NearMiss,
            Some(_) => Self::Contradicts,
        }
    }

    fn agrees(self) -> Option<bool> {
        match self {
            Self::Unknown => None,
            Self::Agrees => Some(true),
            Self::NearMiss | Self::Contradicts => Some(false),
        }
    }

    /// The rule in the module comment.
    fn outcome(self, score: f64) -> Screening {
        if score < POTENTIAL_MATCH_THRESHOLD {
            return Screening::Cleared;
        }
        match self {
            Self::Agrees => Screening::Match,
            Self::Unknown if score >= MATCH_THRESHOLD => Screening::Match,
            Self::Unknown | Self::NearMiss => Screening::PotentialMatch,
            Self::Contradicts => Screening::Cleared,
        }
    }
}
