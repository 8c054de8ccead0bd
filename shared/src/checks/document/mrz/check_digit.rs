//! The ICAO 9303 part 3 check digit: weights 7, 3, 1 repeating, sum modulo 10.

const WEIGHTS: [u32; 3] = [7, 3, 1];

/// The value of an MRZ character: digits as themselves, A..Z as 10..35, the filler `<` as 0.
fn value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The check digit over `data`, or `None` if it holds a character outside the MRZ alphabet.
pub(super) fn compute(data: impl IntoIterator<Item = u8>) -> Option<u8> {
    let mut sum = 0;
    for (i, c) in data.into_iter().enumerate() {
        sum += value(c)? * WEIGHTS[i % 3];
    }
    Some(b'0' + (sum % 10) as u8)
}

/// The check digit (`'0'..='9'`) of an MRZ field, or `None` if it holds a character outside
/// the MRZ alphabet (`A-Z`, `0-9`, `<`).
pub fn check_digit(data: &str) -> Option<char> {
    compute(data.bytes()).map(char::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_3_worked_examples() {
        // ICAO 9303 part 3, 4.9: date 520727 gives 3, and document number AB2134<<< gives 5.
        assert_eq!(check_digit("520727"), Some('3'));
        assert_eq!(check_digit("AB2134<<<"), Some('5'));
    }

    #[test]
    fn fillers_count_as_zero_and_other_characters_are_refused() {
        assert_eq!(check_digit("<<<<<<<<<<<<<<"), Some('0'));
        assert_eq!(check_digit("A<"), check_digit("A0"));
        assert_eq!(check_digit("a1"), None);
        assert_eq!(check_digit("1 2"), None);
    }
}
