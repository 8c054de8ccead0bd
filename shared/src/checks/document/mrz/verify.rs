//! Check digits over the MRZ grid, and the bounded search that repairs OCR confusions
//! only when a check digit proves the repair.

use super::check_digit::compute;
use super::layout::Cell;
use super::ocr::confusables;

/// Most substitutions one repair may make: beyond two, some candidate passes by chance too often.
const MAX_SUBSTITUTIONS: usize = 2;

/// The MRZ lines as upper-case ASCII, all of the format's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Grid(pub Vec<Vec<u8>>);

impl Grid {
    pub fn get(&self, (line, pos): Cell) -> u8 {
        self.0[line][pos]
    }

    pub fn set(&mut self, (line, pos): Cell, c: u8) {
        self.0[line][pos] = c;
    }

    pub fn read(&self, cells: impl IntoIterator<Item = Cell>) -> Vec<u8> {
        cells.into_iter().map(|cell| self.get(cell)).collect()
    }
}

/// One check digit and the cells it covers.
pub(super) struct Check {
    pub name: &'static str,
    pub data: Vec<Cell>,
    pub digit: Cell,
    /// An unused TD3 personal number may carry `<` for its check digit.
    pub filler_when_empty: bool,
    /// Cells a repair may change, each with the field it belongs to.
    pub repairable: Vec<(Cell, &'static str)>,
}

impl Check {
    pub fn holds(&self, grid: &Grid) -> bool {
        let digit = grid.get(self.digit);
        if self.filler_when_empty && digit == b'<' {
            return self.data.iter().all(|&cell| grid.get(cell) == b'<');
        }
        compute(self.data.iter().map(|&cell| grid.get(cell))) == Some(digit)
    }
}

/// A set of substitutions: (cell, new character, field).
pub(super) type Substitutions = Vec<(Cell, u8, &'static str)>;

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Repair {
    /// Exactly one candidate with the fewest substitutions makes the check hold.
    Unique(Substitutions),
    /// Several candidates would; guessing between them is not a repair.
    Ambiguous,
    /// No candidate within the bound does.
    Impossible,
}

/// Searches substitutions of confusable characters in `check`'s repairable cells, fewest
/// first. Candidates must make `check` hold; when several do, `tiebreak` (the composite,
/// when it covers the cells at other weights) may single one out.
pub(super) fn search(grid: &Grid, check: &Check, tiebreak: Option<&Check>) -> Repair {
    let options: Vec<(Cell, &'static str, Vec<u8>)> = check
        .repairable
        .iter()
        .map(|&(cell, field)| (cell, field, confusables(grid.get(cell)).collect::<Vec<_>>()))
        .filter(|(_, _, alternatives)| !alternatives.is_empty())
        .collect();
    for count in 1..=MAX_SUBSTITUTIONS {
        let mut valid: Vec<(Substitutions, Grid)> = Vec::new();
        for_each_candidate(&options, count, &mut |substitutions| {
            let mut candidate = grid.clone();
            for &(cell, c, _) in substitutions {
                candidate.set(cell, c);
            }
            if check.holds(&candidate) {
                valid.push((substitutions.to_vec(), candidate));
            }
        });
        if valid.len() > 1
            && let Some(tiebreak) = tiebreak
        {
            valid.retain(|(_, candidate)| tiebreak.holds(candidate));
        }
        match valid.len() {
            0 => continue,
            1 => return Repair::Unique(valid.remove(0).0),
            _ => return Repair::Ambiguous,
        }
    }
    Repair::Impossible
}

/// Calls `visit` with every way of substituting exactly `count` distinct cells.
fn for_each_candidate(options: &[(Cell, &'static str, Vec<u8>)], count: usize, visit: &mut dyn FnMut(&Substitutions)) {
    fn walk(
        options: &[(Cell, &'static str, Vec<u8>)],
        from: usize,
        left: usize,
        chosen: &mut Substitutions,
        visit: &mut dyn FnMut(&Substitutions),
    ) {
        if left == 0 {
            visit(chosen);
            return;
        }
        for i in from..options.len() {
            let (cell, field, alternatives) = &options[i];
            for &c in alternatives {
                chosen.push((*cell, c, field));
                walk(options, i + 1, left - 1, chosen, visit);
                chosen.pop();
            }
        }
    }
    walk(options, 0, count, &mut Vec::with_capacity(count), visit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_line(text: &str) -> Grid {
        Grid(vec![text.as_bytes().to_vec()])
    }

    fn check_over(len: usize) -> Check {
        Check {
            name: "document_number",
            data: (0..len).map(|pos| (0, pos)).collect(),
            digit: (0, len),
            filler_when_empty: false,
            repairable: (0..len).map(|pos| ((0, pos), "document_number")).collect(),
        }
    }

    #[test]
    fn single_confusion_proved_by_the_check_digit_is_repaired() {
        // L898902C3 has check digit 6 (ICAO specimen); OCR read its 0 as O.
        let grid = one_line("L8989O2C36");
        let check = check_over(9);
        assert!(!check.holds(&grid));
        assert_eq!(search(&grid, &check, None), Repair::Unique(vec![((0, 5), b'0', "document_number")]));
    }

    fn with_check_digit(data: &str) -> Grid {
        let digit = compute(data.bytes()).unwrap();
        one_line(&format!("{data}{}", digit as char))
    }

    #[test]
    fn two_equally_good_repairs_are_refused() {
        // Positions 0 and 3 carry the same weight, so fixing either O proves equally well.
        let grid = with_check_digit("012O45X7X");
        assert_eq!(compute(b"012O45X7X".iter().copied()), compute(b"O12045X7X".iter().copied()));
        let mut read = grid;
        read.set((0, 0), b'O');
        assert_eq!(search(&read, &check_over(9), None), Repair::Ambiguous);
    }

    #[test]
    fn no_repair_without_confusable_characters() {
        let mut grid = with_check_digit("XY7W4V9KX");
        let right = grid.get((0, 9));
        grid.set((0, 9), if right == b'9' { b'0' } else { right + 1 });
        let check = check_over(9);
        assert!(!check.holds(&grid));
        assert_eq!(search(&grid, &check, None), Repair::Impossible);
    }

    #[test]
    fn candidates_of_exactly_n_distinct_cells() {
        let options = vec![((0, 0), "f", vec![b'A', b'B']), ((0, 1), "f", vec![b'C']), ((0, 2), "f", vec![b'D'])];
        let mut seen = Vec::new();
        for_each_candidate(&options, 2, &mut |s| seen.push(s.iter().map(|&(_, c, _)| c).collect::<Vec<_>>()));
        assert_eq!(seen, vec![b"AC".to_vec(), b"AD".to_vec(), b"BC".to_vec(), b"BD".to_vec(), b"CD".to_vec()]);
    }
}
