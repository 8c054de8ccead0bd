//! Characters OCR engines confuse in the OCR-B font of the MRZ.

/// In a field the spec makes numeric (dates, check digits), a letter can only be a misread digit.
pub(super) fn letter_as_digit(c: u8) -> u8 {
    match c {
        b'O' | b'Q' | b'D' => b'0',
        b'I' | b'L' => b'1',
        b'Z' => b'2',
        b'A' => b'4',
        b'S' => b'5',
        b'G' => b'6',
        b'T' => b'7',
        b'B' => b'8',
        other => other,
    }
}

/// In a field the spec makes alphabetic (names, codes), a digit can only be a misread letter.
pub(super) fn digit_as_letter(c: u8) -> u8 {
    match c {
        b'0' => b'O',
        b'1' => b'I',
        b'2' => b'Z',
        b'5' => b'S',
        b'6' => b'G',
        b'8' => b'B',
        other => other,
    }
}

/// Pairs either of which OCR may read as the other. Only used where a check digit decides.
const CONFUSABLE_PAIRS: [(u8, u8); 9] = [
    (b'0', b'O'),
    (b'0', b'Q'),
    (b'0', b'D'),
    (b'1', b'I'),
    (b'1', b'L'),
    (b'2', b'Z'),
    (b'5', b'S'),
    (b'6', b'G'),
    (b'8', b'B'),
];

/// What `c` may have been before OCR misread it, in an alphanumeric field.
pub(super) fn confusables(c: u8) -> impl Iterator<Item = u8> {
    CONFUSABLE_PAIRS.iter().filter_map(move |&(a, b)| {
        if a == c {
            Some(b)
        } else if b == c {
            Some(a)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusables_are_symmetric() {
        for c in (b'0'..=b'9').chain(b'A'..=b'Z') {
            for other in confusables(c) {
                assert!(confusables(other).any(|back| back == c), "{} -> {}", c as char, other as char);
            }
        }
        assert_eq!(confusables(b'0').collect::<Vec<_>>(), b"OQD".to_vec());
        assert_eq!(confusables(b'X').count(), 0);
    }

    #[test]
    fn field_type_maps_leave_valid_characters_alone() {
        for d in b'0'..=b'9' {
            assert_eq!(letter_as_digit(d), d);
        }
        for l in b'A'..=b'Z' {
            assert_eq!(digit_as_letter(l), l);
        }
        assert_eq!(letter_as_digit(b'<'), b'<');
        assert_eq!(letter_as_digit(b'O'), b'0');
        assert_eq!(digit_as_letter(b'0'), b'O');
    }
}
