//! Candidate selection over every listed name, aliases included. Names are stored as ids
//! into a vocabulary of distinct folded tokens (about 17k for the SDN list); a query token
//! is compared only with the vocabulary tokens sharing a blocking key with it (see
//! [`blocking_keys`]), so a reordered name, an accented variant, a one-letter typo or a
//! vowel-swapped transliteration still reaches its entry, and only names that agree on
//! enough words are scored.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::score::{ONE_WORD_CEILING, Pair, TokenShape, consonant_outline, name_score, pair_similarity};

/// Longest query read, in tokens: no person's name has more, and it bounds the work.
pub const MAX_QUERY_TOKENS: usize = 16;

/// Longest list name read, in tokens (the scorer's limit).
const MAX_NAME_TOKENS: usize = 64;

/// One scored list name: the best-scoring name of its owner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub owner: u32,
    pub alias: u16,
    pub score: f64,
}

#[derive(Debug, Clone, Copy)]
struct IndexedName {
    owner: u32,
    alias: u16,
    start: u32,
    len: u8,
}

#[derive(Debug, Default)]
pub struct NameIndex {
    vocabulary: Vec<Box<str>>,
    shapes: Vec<TokenShape>,
    ids: HashMap<Box<str>, u32>,
    /// (blocking key, vocabulary token having it) while building; sorted by key.
    keyed_tokens: Vec<(u64, u32)>,
    /// Blocking key → its run in `keyed_tokens` (start, length).
    keys: HashMap<u64, (u32, u32), BuildHasherDefault<PreHashed>>,
    /// Vocabulary token → names it selects.
    postings: Vec<Vec<u32>>,
    name_tokens: Vec<u32>,
    names: Vec<IndexedName>,
}

impl NameIndex {
    /// Indexes list names given as (owner, alias number, tokens).
    pub fn new<'t>(names: impl IntoIterator<Item = (u32, u16, &'t [String])>) -> Self {
        let mut index = Self::default();
        for (owner, alias, tokens) in names {
            index.add(owner, alias, tokens);
        }
        index.keyed_tokens.sort_unstable();
        index.keyed_tokens.dedup();
        index.keys.reserve(index.keyed_tokens.len());
        let mut start = 0;
        for run in index.keyed_tokens.chunk_by(|a, b| a.0 == b.0) {
            index.keys.insert(run[0].0, (start, run.len() as u32));
            start += run.len() as u32;
        }
        index
    }

    fn add(&mut self, owner: u32, alias: u16, tokens: &[String]) {
        let tokens = &tokens[..tokens.len().min(MAX_NAME_TOKENS)];
        if tokens.is_empty() {
            return;
        }
        let name = self.names.len() as u32;
        let start = self.name_tokens.len() as u32;
        // A name made only of weak words ("AL QAIDA" is not one; "THE CO" would be) must
        // still be findable, so its weak words select it.
        let all_weak = tokens.iter().all(|t| !TokenShape::of(t).strong);
        for token in tokens {
            let id = self.intern(token);
            self.name_tokens.push(id);
            if (self.shapes[id as usize].strong || all_weak) && self.postings[id as usize].last() != Some(&name) {
                if self.postings[id as usize].is_empty() {
                    self.keyed_tokens.extend(blocking_keys(token).map(|key| (key, id)));
                }
                self.postings[id as usize].push(name);
            }
        }
        self.names.push(IndexedName { owner, alias, start, len: tokens.len() as u8 });
    }

    fn intern(&mut self, token: &str) -> u32 {
        if let Some(&id) = self.ids.get(token) {
            return id;
        }
        let id = self.vocabulary.len() as u32;
        self.vocabulary.push(token.into());
        self.shapes.push(TokenShape::of(token));
        self.ids.insert(token.into(), id);
        self.postings.push(Vec::new());
        id
    }

    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    /// The best hit per owner scoring at least `min_score`, for owners `accept` keeps.
    /// `min_score` must exceed [`ONE_WORD_CEILING`]: names agreeing on one word only are
    /// never scored.
    pub fn search(&self, query: &[String], min_score: f64, accept: impl Fn(u32) -> bool) -> Vec<Hit> {
        debug_assert!(min_score > ONE_WORD_CEILING);
        let query = &query[..query.len().min(MAX_QUERY_TOKENS)];
        let shapes: Vec<TokenShape> = query.iter().map(|t| TokenShape::of(t)).collect();
        let selecting_weak = shapes.iter().all(|s| !s.strong);
        let similar: Vec<Vec<(u32, f64)>> = query
            .iter()
            .zip(&shapes)
            .map(|(token, shape)| if shape.strong || selecting_weak { self.similar_tokens(token) } else { Vec::new() })
            .collect();
        // The scorer holds names with fewer than two agreeing strong words (one, if the query
        // has one) below `min_score`; those words are found only through `similar`.
        let strong_words = shapes.iter().filter(|s| s.strong).count();
        let required = if selecting_weak { 1 } else { strong_words.min(2) as u32 };
        let mut masks = vec![0u16; self.names.len()];
        let mut touched = Vec::new();
        for (i, tokens) in similar.iter().enumerate() {
            for &(token, _) in tokens {
                for &name in &self.postings[token as usize] {
                    let mask = &mut masks[name as usize];
                    if *mask == 0 {
                        touched.push(name);
                    }
                    *mask |= 1 << i;
                }
            }
        }
        let mut pairs: Vec<Pair> = Vec::new();
        let mut name_shapes = Vec::new();
        let mut hits: Vec<Hit> = Vec::new();
        for name in touched {
            let indexed = self.names[name as usize];
            if masks[name as usize].count_ones() < required || !accept(indexed.owner) {
                continue;
            }
            let tokens = &self.name_tokens[indexed.start as usize..][..usize::from(indexed.len)];
            name_shapes.clear();
            name_shapes.extend(tokens.iter().map(|&t| self.shapes[t as usize]));
            let similarity = |i: usize, j: usize| {
                let token = tokens[j];
                if query[i].len() == 1 || self.shapes[token as usize].len == 1 || !shapes[i].strong {
                    return pair_similarity(&query[i], &self.vocabulary[token as usize]);
                }
                similar[i].binary_search_by_key(&token, |&(t, _)| t).map_or(0.0, |at| similar[i][at].1)
            };
            let score = name_score(&shapes, &name_shapes, similarity, &mut pairs);
            if score >= min_score {
                hits.push(Hit { owner: indexed.owner, alias: indexed.alias, score });
            }
        }
        hits.sort_unstable_by(|a, b| {
            a.owner.cmp(&b.owner).then(b.score.total_cmp(&a.score)).then(a.alias.cmp(&b.alias))
        });
        hits.dedup_by_key(|h| h.owner);
        hits
    }

    /// Vocabulary tokens sharing a blocking key with `token` and similar enough to pair
    /// with it, sorted by id.
    fn similar_tokens(&self, token: &str) -> Vec<(u32, f64)> {
        let mut candidates = Vec::new();
        for key in blocking_keys(token) {
            if let Some(&(start, len)) = self.keys.get(&key) {
                let run = &self.keyed_tokens[start as usize..][..len as usize];
                candidates.extend(run.iter().map(|&(_, id)| id));
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter_map(|id| {
                let s = pair_similarity(token, &self.vocabulary[id as usize]);
                (s > 0.0).then_some((id, s))
            })
            .collect()
    }
}

/// A token's blocking keys: its first three letters; the first four letters of its
/// consonant outline ("muhammad", "mohamed" → "mhmd"; "usama", "osama" → "asm"); and from
/// three letters on, the token itself and each way of deleting one letter from it, so
/// that any two tokens one edit apart share a key. Each is hashed with its kind.
fn blocking_keys(token: &str) -> impl Iterator<Item = u64> {
    let bytes = token.as_bytes();
    let prefix = key(0, &[&bytes[..bytes.len().min(3)]]);
    let outline: Vec<u8> = consonant_outline(token).take(4).collect();
    let outline = key(1, &[&outline]);
    let deletions = if (3..=MAX_DELETION_LEN).contains(&bytes.len()) { bytes.len() + 1 } else { 0 };
    let deletions = (0..deletions).map(move |at| match at {
        0 => key(2, &[bytes]),
        at => key(2, &[&bytes[..at - 1], &bytes[at..]]),
    });
    [prefix, outline].into_iter().chain(deletions)
}

/// Longer tokens are rare and keep their other keys; this bounds the index size.
const MAX_DELETION_LEN: usize = 20;

/// FNV-1a of the kind and the concatenated parts. A collision only adds a candidate that
/// the similarity check then drops.
fn key(kind: u8, parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in std::iter::once(&kind).chain(parts.iter().flat_map(|p| p.iter())) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Blocking keys are hashes already: the key map uses them as they are.
#[derive(Debug, Default, Clone, Copy)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = key(0, &[bytes]);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::names::tokens;
    use crate::checks::screening::score::score_tokens;

    fn index(names: &[&str]) -> NameIndex {
        let tokenised: Vec<Vec<String>> = names.iter().map(|n| tokens(n)).collect();
        NameIndex::new(tokenised.iter().enumerate().map(|(owner, t)| (owner as u32, 0, t.as_slice())))
    }

    fn best(index: &NameIndex, query: &str) -> Option<(u32, f64)> {
        let mut hits = index.search(&tokens(query), 0.85, |_| true);
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.first().map(|h| (h.owner, h.score))
    }

    const NAMES: &[&str] = &[
        "AL ZAWAHIRI, Dr. Ayman",
        "BIN LADIN, Usama bin Muhammad bin Awad",
        "MADURO MOROS, Nicolas",
        "ZOLOTOV, Viktor Vasiliyevich",
        "KIM, Jong Un",
        "KIM, Jong Man",
    ];

    #[test]
    fn finds_reordered_accented_typo_and_transliterated_names() {
        let index = index(NAMES);
        assert_eq!(best(&index, "Ayman al-Zawahiri").map(|h| h.0), Some(0));
        assert_eq!(best(&index, "Nicolás Maduro Moros").map(|h| h.0), Some(2));
        assert_eq!(best(&index, "Viktor Vasiliyevich Zolotof").map(|h| h.0), Some(3));
        assert_eq!(best(&index, "Sawahiri Ayman").map(|h| h.0), Some(0));
        assert_eq!(best(&index, "Nicolas Madxro Moros").map(|h| h.0), Some(2));
        assert_eq!(best(&index, "Nicolas Mdauro Moros").map(|h| h.0), Some(2));
        assert_eq!(best(&index, "Osama bin Mohamed bin Awad bin Ladin").map(|h| h.0), Some(1));
        assert_eq!(best(&index, "Jong Un Kim"), Some((4, 1.0)));
    }

    #[test]
    fn common_words_alone_select_nothing() {
        let index = index(NAMES);
        assert_eq!(best(&index, "Kim Smith"), None);
        assert_eq!(best(&index, "Al Bin"), None);
        assert_eq!(best(&index, "Jane Citizen"), None);
    }

    #[test]
    fn index_scores_agree_with_direct_scoring() {
        let index = index(NAMES);
        for query in ["Ayman Zawahiri", "Usama bin Laden", "Nicolas Maduro", "Jong Kim Man", "Viktor Zolotov"] {
            let q = tokens(query);
            for hit in index.search(&q, 0.81, |_| true) {
                let direct = score_tokens(&q, &tokens(NAMES[hit.owner as usize]));
                assert!((hit.score - direct).abs() < 1e-12, "{query}: {} vs {direct}", hit.score);
            }
        }
    }

    #[test]
    fn weak_only_names_stay_findable_and_owners_can_be_filtered() {
        let index = index(&["THE CO", "KIM, Jong Un"]);
        assert_eq!(best(&index, "the co").map(|h| h.0), Some(0));
        assert!(index.search(&tokens("Kim Jong Un"), 0.85, |owner| owner != 1).is_empty());
    }

    #[test]
    fn transliterations_and_one_edit_share_a_key() {
        let shared = |a: &str, b: &str| blocking_keys(a).any(|k| blocking_keys(b).any(|l| l == k));
        assert!(shared("muhammad", "mohamed"));
        assert!(shared("usama", "osama"));
        assert!(shared("qasim", "kassem"));
        assert!(shared("zaric", "zaxic"));
        assert!(shared("zaric", "zarci"));
        assert!(shared("zaric", "zaic"));
        assert!(!shared("zaric", "ahmad"));
        assert_ne!(key(0, &[b"abc"]), key(1, &[b"abc"]));
        assert_eq!(key(2, &[b"ab", b"c"]), key(2, &[b"abc"]));
    }
}
