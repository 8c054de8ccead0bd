//! Person-name normalisation shared by screening, the bank name match and the document
//! cross-check: ASCII transliteration, case, punctuation, honorifics and "LAST, First" order.

/// Titles and honorifics dropped before names are compared.
const HONORIFICS: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lord", "lady", "rev", "hon", "jr", "sr", "ii",
    "iii", "iv", "esq", "phd", "md",
];

/// Lower-case ASCII with accents transliterated (`Zoë` → `zoe`, `Łukasz` → `lukasz`,
/// `Müller` → `muller`); every run of punctuation or space becomes one space, except that
/// apostrophes vanish (`O'Brien` → `obrien`).
pub fn fold(s: &str) -> String {
    let ascii = deunicode::deunicode(s).to_ascii_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if c == '\'' || c == '`' {
            continue;
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

/// A name's tokens in reading order: folded, honorifics removed, and a "LAST, First"
/// written name turned round to "First LAST".
pub fn tokens(s: &str) -> Vec<String> {
    let reordered = match s.split_once(',') {
        Some((last, first)) if !first.trim().is_empty() => format!("{first} {last}"),
        _ => s.to_owned(),
    };
    fold(&reordered).split(' ').filter(|t| !t.is_empty() && !HONORIFICS.contains(t)).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_case_and_punctuation() {
        assert_eq!(fold("  Zoë  Müller-Lüdenscheidt "), "zoe muller ludenscheidt");
        assert_eq!(fold("O'Brien"), "obrien");
        assert_eq!(fold("ŁUKASZ Żółć"), "lukasz zolc");
        assert_eq!(fold("Мария Иванова"), "mariia ivanova");
    }

    #[test]
    fn tokens_drop_honorifics_and_reorder_last_first() {
        assert_eq!(tokens("SMITH, Dr. Jane"), vec!["jane", "smith"]);
        assert_eq!(tokens("Mr John  Paul Jones Jr."), vec!["john", "paul", "jones"]);
        assert_eq!(tokens(""), Vec::<String>::new());
    }
}
