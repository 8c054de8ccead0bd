//! Finding an MRZ in the free text an OCR engine returns for a whole document.

use chrono::NaiveDate;

use super::{Mrz, MrzError, MrzFormat, parse};

/// How many fillers OCR may have dropped or doubled in one line and still be put right.
const MAX_LENGTH_SLACK: usize = 3;

/// Shapes to look for, in the order tried at each line: (lines, characters per line).
const SHAPES: [MrzFormat; 3] = [MrzFormat::Td3, MrzFormat::Td2, MrzFormat::Td1];

/// Finds consecutive lines of `text` that form an MRZ and parses them. Lines are normalised
/// first: case folded, spaces and stray punctuation dropped, `«` and other chevrons read as
/// fillers, a short or long run of fillers fitted to the format's length.
///
/// The first window that parses wins; failing that, the first window shaped like an MRZ gives
/// its error. `None` when nothing in the text is shaped like an MRZ.
pub fn find(text: &str, today: NaiveDate) -> Option<Result<Mrz, MrzError>> {
    let lines: Vec<Vec<String>> = text.lines().map(readings).filter(|r| !r[0].is_empty()).collect();
    let mut first_error = None;
    for start in 0..lines.len() {
        for format in SHAPES {
            let Some(window) = lines.get(start..start + format.line_count()) else {
                continue;
            };
            let Some(fitted) = window.iter().map(|r| fit_any(r, format.line_len())).collect::<Option<Vec<_>>>() else {
                continue;
            };
            if !fitted[0].contains('<') {
                continue;
            }
            let fitted: Vec<&str> = fitted.iter().map(String::as_str).collect();
            match parse(&fitted, today) {
                Ok(mrz) => return Some(Ok(mrz)),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
    }
    first_error.map(Err)
}

/// The line in the MRZ alphabet. OCR writes `<<` as `«`, sometimes a single `<`: when the
/// line has one, both readings are returned, the double first.
fn readings(line: &str) -> Vec<String> {
    let mut double = String::with_capacity(line.len());
    let mut single = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '«' => {
                double.push_str("<<");
                single.push('<');
            }
            '<' | '‹' | '〈' | '＜' => {
                double.push('<');
                single.push('<');
            }
            c if c.is_ascii_alphanumeric() => {
                double.push(c.to_ascii_uppercase());
                single.push(c.to_ascii_uppercase());
            }
            _ => {}
        }
    }
    if double == single { vec![single] } else { vec![double, single] }
}

/// The first reading that has the length exactly, else the first that can be fitted to it.
fn fit_any(readings: &[String], len: usize) -> Option<String> {
    readings.iter().find(|r| r.len() == len).cloned().or_else(|| readings.iter().find_map(|r| fit(r, len)))
}

/// Lengthens or shortens the line's last run of fillers (trailing fillers in name lines,
/// the optional data's in the others) so the line has `len` characters.
fn fit(line: &str, len: usize) -> Option<String> {
    if line.len() == len {
        return Some(line.to_owned());
    }
    if line.len().abs_diff(len) > MAX_LENGTH_SLACK {
        return None;
    }
    let end = line.rfind('<')? + 1;
    let start = line[..end].rfind(|c| c != '<').map_or(0, |i| i + 1);
    let run = end - start;
    let at_end = end == line.len();
    let new_run = (run + len).checked_sub(line.len())?;
    if new_run == 0 && !at_end {
        return None;
    }
    Some(format!("{}{}{}", &line[..start], "<".repeat(new_run), &line[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_fold_case_and_drop_noise() {
        assert_eq!(readings(" p<uto  eriksson<<anna ."), vec!["P<UTOERIKSSON<<ANNA"]);
        assert_eq!(readings("ERIKSSON«ANNA‹"), vec!["ERIKSSON<<ANNA<", "ERIKSSON<ANNA<"]);
        assert!(readings(" | , ").concat().is_empty());
    }

    #[test]
    fn fit_adjusts_only_the_last_run_of_fillers() {
        assert_eq!(fit("AB<<CD<<<", 10).as_deref(), Some("AB<<CD<<<<"));
        assert_eq!(fit("AB<<CD<<<", 7).as_deref(), Some("AB<<CD<"));
        assert_eq!(fit("AB<<CD<<<", 6).as_deref(), Some("AB<<CD"));
        assert_eq!(fit("AB<<C<12", 7), None, "a single inner filler is never removed");
        assert_eq!(fit("AB<<CD<<<", 13), None);
        assert_eq!(fit("ABCD", 5), None);
        assert_eq!(fit("ABC", 3).as_deref(), Some("ABC"));
    }
}
