//! Name similarity in the spirit of moov-io/watchman's best-pairs Jaro-Winkler: every
//! query token is paired with at most one list token, best pairs first; the paired
//! scores are averaged by length, and tokens left unpaired on either side cost coverage.

use strsim::jaro_winkler;

/// Below this, two tokens are different words, not spellings of one word. Jaro-Winkler
/// gives unrelated short names 0.6–0.8 ("jane"/"john" 0.70, "king"/"konig" 0.805) and
/// one-letter typos in words of four letters or more 0.85+.
pub const TOKEN_FLOOR: f64 = 0.82;

/// Jaro-Winkler forgives a different first letter too easily; names rarely change theirs,
/// except between letters of one sound class (see [`sound_class`]).
const FIRST_LETTER_PENALTY: f64 = 0.9;

/// Jaro-Winkler is lenient on length: "ali" is 0.91 like "alia". A one-letter insertion
/// or deletion is a typo and costs nothing extra; two or more letters cost this weight
/// times the shortfall of the length ratio.
const LENGTH_PENALTY_WEIGHT: f64 = 0.3;

/// Two spellings with the same consonants ("mohamed", "muhammad": m-h-m-d) are one name
/// transliterated, as good as a one-letter typo even when Jaro-Winkler thinks less of them.
const TRANSLITERATION_SIMILARITY: f64 = 0.9;

/// Fewer consonants than this say too little: "hasan" and "husayn" share h-s-n but are
/// different names.
const TRANSLITERATION_MIN_CONSONANTS: usize = 4;

/// An initial ("J") against a name starting with that letter: good, not proof.
const INITIAL_SIMILARITY: f64 = 0.9;

/// Scale for the uncovered share of the better-covered side. One side (query or list
/// name) must be covered entirely for a name to score high: "Ali Hassan Smith" is not
/// "KHALIL, Ali Hassan" although two of three words agree.
const UNCOVERED_BEST_SIDE_WEIGHT: f64 = 1.0;

/// Scale for the uncovered share of the other side: a list name with middle names the
/// query lacks ("John Smith" against "John Michael Smith") is still a likely match, only
/// less than an exact one.
const UNCOVERED_OTHER_SIDE_WEIGHT: f64 = 0.15;

/// Ceiling when a word of either name is left unpaired: the rest may agree exactly, but
/// the names are not the same name, so only a DOB can make it a match.
pub const PARTIAL_NAME_CEILING: f64 = 0.94;

/// Ceiling when a single word is all that agrees between names of two or more words:
/// one shared given name or surname is not evidence about a person, and this keeps such
/// pairs below the potential-match threshold.
pub const ONE_WORD_CEILING: f64 = 0.80;

/// Particles and generic words: they carry little identity, so they neither select
/// candidates nor count as an agreeing word, and they only match exactly.
const WEAK_WORDS: &[&str] = &[
    "al",
    "el",
    "ul",
    "ad",
    "ar",
    "as",
    "at",
    "az",
    "bin",
    "ibn",
    "bint",
    "abu",
    "de",
    "da",
    "di",
    "do",
    "dos",
    "das",
    "del",
    "della",
    "der",
    "den",
    "van",
    "von",
    "la",
    "le",
    "du",
    "y",
    "the",
    "of",
    "and",
    "for",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "inc",
    "corp",
    "corporation",
    "sa",
    "sl",
    "srl",
    "gmbh",
    "ag",
    "jsc",
    "ooo",
    "oao",
    "zao",
    "pjsc",
    "ltda",
];

/// Whether a folded token is a particle, a generic word or an initial.
pub fn is_weak(token: &str) -> bool {
    token.len() == 1 || WEAK_WORDS.contains(&token)
}

/// Similarity of two folded tokens (0..=1) before the floor is applied.
pub fn token_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    let mut score = jaro_winkler(a, b);
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) >= 2 {
        let ratio = la.min(lb) as f64 / la.max(lb) as f64;
        score *= 1.0 - (1.0 - ratio) * LENGTH_PENALTY_WEIGHT;
    }
    if a.as_bytes().first().map(|&c| sound_class(c)) != b.as_bytes().first().map(|&c| sound_class(c)) {
        score *= FIRST_LETTER_PENALTY;
    }
    if score < TRANSLITERATION_SIMILARITY && same_consonants(a, b) {
        score = TRANSLITERATION_SIMILARITY;
    }
    score
}

/// Whether two tokens have the same consonant outline of at least
/// [`TRANSLITERATION_MIN_CONSONANTS`] letters.
fn same_consonants(a: &str, b: &str) -> bool {
    consonant_outline(a).eq(consonant_outline(b)) && consonant_outline(a).count() >= TRANSLITERATION_MIN_CONSONANTS
}

/// The first letter by sound class, then the consonants other than w and y, repeats
/// collapsed: what transliterations of one name keep ("muhammad", "mohamed" → m-h-m-d).
pub fn consonant_outline(token: &str) -> impl Iterator<Item = u8> + '_ {
    let bytes = token.as_bytes();
    let rest = bytes.iter().skip(1).copied().filter(|b| !matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'w' | b'y'));
    let mut last = None;
    bytes.first().copied().into_iter().chain(rest).map(sound_class).filter(move |&c| {
        let repeat = last == Some(c);
        last = Some(c);
        !repeat
    })
}

/// Letters that transliterations swap at the start of a name ("Usama"/"Osama",
/// "Qasim"/"Kassem") map to one letter.
pub fn sound_class(letter: u8) -> u8 {
    match letter {
        b'a' | b'e' | b'i' | b'o' | b'u' => b'a',
        b'c' | b'q' => b'k',
        other => other,
    }
}

/// Similarity of a query token and a list token as the scorer uses it: initials and weak
/// words by their own rules, other words by [`token_similarity`] cut at [`TOKEN_FLOOR`].
pub fn pair_similarity(query: &str, listed: &str) -> f64 {
    if query.len() == 1 || listed.len() == 1 {
        let same_initial = query.as_bytes().first() == listed.as_bytes().first();
        return match (same_initial, query.len() == listed.len()) {
            (true, true) => 1.0,
            (true, false) => INITIAL_SIMILARITY,
            (false, _) => 0.0,
        };
    }
    if is_weak(query) || is_weak(listed) {
        return if query == listed { 1.0 } else { 0.0 };
    }
    let score = token_similarity(query, listed);
    if score >= TOKEN_FLOOR { score } else { 0.0 }
}

/// What the scorer needs to know of one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenShape {
    pub len: u32,
    pub strong: bool,
}

impl TokenShape {
    pub fn of(token: &str) -> Self {
        Self { len: token.len() as u32, strong: !is_weak(token) }
    }
}

/// A candidate pairing: similarity, query token index, list token index.
pub type Pair = (f64, u8, u8);

/// Score (0..=1) of a list name against a query, given each side's token shapes and the
/// pair similarity of query token `i` with list token `j`. `pairs` is scratch space.
/// At most 64 tokens a side are read.
pub fn name_score(
    query: &[TokenShape],
    listed: &[TokenShape],
    similarity: impl Fn(usize, usize) -> f64,
    pairs: &mut Vec<Pair>,
) -> f64 {
    let (query, listed) = (&query[..query.len().min(64)], &listed[..listed.len().min(64)]);
    pairs.clear();
    for i in 0..query.len() {
        for j in 0..listed.len() {
            let s = similarity(i, j);
            if s > 0.0 {
                pairs.push((s, i as u8, j as u8));
            }
        }
    }
    // Best pairs first; ties in index order so that scores are deterministic.
    pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut used_q, mut used_l) = (0u64, 0u64);
    let (mut weighted, mut weight, mut covered_q, mut covered_l) = (0.0, 0u32, 0u32, 0u32);
    let (mut strong_pairs, mut strong_q, mut strong_l) = (0, 0, 0);
    for &(s, i, j) in pairs.iter() {
        let (bit_q, bit_l) = (1u64 << i, 1u64 << j);
        if used_q & bit_q != 0 || used_l & bit_l != 0 {
            continue;
        }
        used_q |= bit_q;
        used_l |= bit_l;
        let (q, l) = (query[i as usize], listed[j as usize]);
        weighted += s * f64::from(q.len + l.len);
        weight += q.len + l.len;
        covered_q += q.len;
        covered_l += l.len;
        strong_pairs += usize::from(q.strong && l.strong);
        strong_q += usize::from(q.strong);
        strong_l += usize::from(l.strong);
    }
    if weight == 0 {
        return 0.0;
    }
    let total = |side: &[TokenShape]| side.iter().map(|t| t.len).sum::<u32>().max(1);
    let cover_q = f64::from(covered_q) / f64::from(total(query));
    let cover_l = f64::from(covered_l) / f64::from(total(listed));
    let (best, other) = (cover_q.max(cover_l), cover_q.min(cover_l));
    let mut score = weighted / f64::from(weight)
        * (1.0 - (1.0 - best) * UNCOVERED_BEST_SIDE_WEIGHT)
        * (1.0 - (1.0 - other) * UNCOVERED_OTHER_SIDE_WEIGHT);
    let strong = |side: &[TokenShape]| side.iter().filter(|t| t.strong).count();
    let (all_q, all_l) = (strong(query), strong(listed));
    if strong_q < all_q || strong_l < all_l {
        score = score.min(PARTIAL_NAME_CEILING);
    }
    if strong_pairs < all_q.max(all_l).min(2) {
        score = score.min(ONE_WORD_CEILING);
    }
    score.clamp(0.0, 1.0)
}

/// Score of two names given as folded tokens, computing every pair directly. The index
/// reaches the same scores from cached similarities; this is its reference.
#[cfg(test)]
pub fn score_tokens(query: &[String], listed: &[String]) -> f64 {
    let shapes = |t: &[String]| t.iter().map(|t| TokenShape::of(t)).collect::<Vec<_>>();
    name_score(&shapes(query), &shapes(listed), |i, j| pair_similarity(&query[i], &listed[j]), &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::names::tokens;

    fn score(query: &str, listed: &str) -> f64 {
        score_tokens(&tokens(query), &tokens(listed))
    }

    #[test]
    fn identical_reordered_and_accented_names_score_one() {
        assert_eq!(score("Ayman al Zawahiri", "AL ZAWAHIRI, Dr. Ayman"), 1.0);
        assert_eq!(score("Zawahiri Ayman al", "AL ZAWAHIRI, Ayman"), 1.0);
        assert_eq!(score("Nicolás Maduro Moros", "MADURO MOROS, Nicolas"), 1.0);
    }

    #[test]
    fn one_typo_stays_high() {
        assert!(score("Ayman al Zawahri", "AL ZAWAHIRI, Ayman") > 0.95);
        assert!(score("Nicolas Madura Moros", "MADURO MOROS, Nicolas") > 0.95);
        assert!(score("Vikter Zolotov", "ZOLOTOV, Viktor") > 0.9);
    }

    #[test]
    fn missing_middle_names_cost_a_little() {
        let s = score("Ayman Zawahiri", "AL-ZAWAHIRI, Aiman Muhammad Rabi");
        assert!(s > 0.85 && s < 0.95, "{s}");
        let s = score("John Michael Smith", "SMITH, John");
        assert!(s > 0.85 && s < 0.95, "{s}");
    }

    #[test]
    fn an_unpaired_word_keeps_a_name_below_match() {
        assert_eq!(score("Mohamed Ahmed", "ALI, Ahmed Mohamed"), PARTIAL_NAME_CEILING);
        assert!(score("Viktor Zolotov", "ZOLOTOV, Viktor Vasiliyevich") <= PARTIAL_NAME_CEILING);
        // Particles and initials may go unpaired.
        let expected = 1.0 - 2.0 / 15.0 * UNCOVERED_OTHER_SIDE_WEIGHT;
        assert!((score("Ayman Zawahiri", "AL ZAWAHIRI, Ayman") - expected).abs() < 1e-9);
    }

    #[test]
    fn one_shared_word_is_not_a_match() {
        assert!(score("Jane Smith", "SMITH, John") <= ONE_WORD_CEILING);
        assert!(score("Ali Smith", "ATWA, Ali") <= ONE_WORD_CEILING);
        assert!(score("Zawahiri", "AL ZAWAHIRI, Ayman") <= ONE_WORD_CEILING);
        assert!(score("Ali Hassan Smith", "KHALIL, Ali Hassan") < 0.7);
    }

    #[test]
    fn particles_and_initials_do_not_carry_a_match() {
        // "al" agrees exactly, the real words do not.
        assert!(score("Al Smith", "AL ZAWAHIRI, Ayman") < 0.5);
        assert!(score("J Smith", "SMITH, John") <= ONE_WORD_CEILING);
        assert!(score("John A Smith", "SMITH, John Andrew") > 0.9);
    }

    #[test]
    fn token_similarity_penalises_length_and_first_letter() {
        assert_eq!(token_similarity("smith", "smith"), 1.0);
        assert!(token_similarity("zawahri", "zawahiri") > 0.9);
        assert_eq!(token_similarity("usama", "osama"), jaro_winkler("usama", "osama"));
        assert!(token_similarity("ali", "alibaba") < jaro_winkler("ali", "alibaba"));
        assert!(token_similarity("sawahiri", "zawahiri") < jaro_winkler("sawahiri", "zawahiri"));
        assert_eq!(pair_similarity("jane", "john"), 0.0);
        assert_eq!(pair_similarity("al", "el"), 0.0);
        assert_eq!(pair_similarity("mohamed", "muhammad"), TRANSLITERATION_SIMILARITY);
        assert_eq!(pair_similarity("hasan", "husayn"), 0.0);
        assert_eq!(pair_similarity("king", "konig"), 0.0);
        assert_eq!(pair_similarity("j", "john"), INITIAL_SIMILARITY);
    }

    #[test]
    fn unrelated_names_score_low() {
        assert_eq!(score("", "SMITH, John"), 0.0);
        assert!(score("Mary Johnson", "KIM, Jong Un") < 0.5);
    }
}
