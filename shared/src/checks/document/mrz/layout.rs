//! Where each field sits in each MRZ format (ICAO 9303 parts 4, 5, 6 and 7).

/// The MRZ formats of ICAO 9303.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzFormat {
    /// 3 lines of 30: ID cards (part 5).
    Td1,
    /// 2 lines of 36: ID cards and official travel documents (part 6).
    Td2,
    /// 2 lines of 44: passports (part 4).
    Td3,
    /// 2 lines of 44: full-size visas (part 7).
    MrvA,
    /// 2 lines of 36: small visas (part 7).
    MrvB,
}

impl MrzFormat {
    pub fn line_count(self) -> usize {
        match self {
            MrzFormat::Td1 => 3,
            _ => 2,
        }
    }

    pub fn line_len(self) -> usize {
        match self {
            MrzFormat::Td1 => 30,
            MrzFormat::Td2 | MrzFormat::MrvB => 36,
            MrzFormat::Td3 | MrzFormat::MrvA => 44,
        }
    }

    /// The format of lines with this shape; the first character tells visas from the rest.
    pub(super) fn of_shape(line_count: usize, line_len: usize, first: u8) -> Option<Self> {
        let visa = first == b'V';
        match (line_count, line_len, visa) {
            (3, 30, _) => Some(MrzFormat::Td1),
            (2, 36, false) => Some(MrzFormat::Td2),
            (2, 36, true) => Some(MrzFormat::MrvB),
            (2, 44, false) => Some(MrzFormat::Td3),
            (2, 44, true) => Some(MrzFormat::MrvA),
            _ => None,
        }
    }

    /// Document codes (first character) the format may carry.
    pub(super) fn allows_document_code(self, first: u8) -> bool {
        match self {
            MrzFormat::Td1 | MrzFormat::Td2 => matches!(first, b'I' | b'A' | b'C'),
            MrzFormat::Td3 => first == b'P',
            MrzFormat::MrvA | MrzFormat::MrvB => first == b'V',
        }
    }

    pub(super) fn layout(self) -> &'static Layout {
        match self {
            MrzFormat::Td1 => &TD1,
            MrzFormat::Td2 => &TD2,
            MrzFormat::Td3 => &TD3,
            MrzFormat::MrvA => &MRV_A,
            MrzFormat::MrvB => &MRV_B,
        }
    }
}

/// A run of characters on one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub line: usize,
    pub start: usize,
    pub len: usize,
}

impl Span {
    pub const fn new(line: usize, start: usize, len: usize) -> Self {
        Span { line, start, len }
    }

    pub fn cells(self) -> impl Iterator<Item = Cell> {
        (self.start..self.start + self.len).map(move |pos| (self.line, pos))
    }
}

/// One character position: (line, column).
pub(super) type Cell = (usize, usize);

pub(super) struct Layout {
    pub document_code: Span,
    pub issuing_state: Span,
    pub name: Span,
    pub document_number: Span,
    pub document_number_check: Span,
    pub nationality: Span,
    pub birth_date: Span,
    pub birth_date_check: Span,
    pub sex: Span,
    pub expiry_date: Span,
    pub expiry_date_check: Span,
    pub optional_data: Span,
    /// TD3's personal number has its own check digit.
    pub optional_data_check: Option<Span>,
    /// TD1's second optional field (line 2).
    pub optional_data_2: Option<Span>,
    pub composite: Option<Composite>,
}

pub(super) struct Composite {
    pub digit: Span,
    pub covers: &'static [Span],
}

const fn two_line(name_len: usize, optional_len: usize, optional_check: bool, composite: Option<Composite>) -> Layout {
    Layout {
        document_code: Span::new(0, 0, 2),
        issuing_state: Span::new(0, 2, 3),
        name: Span::new(0, 5, name_len),
        document_number: Span::new(1, 0, 9),
        document_number_check: Span::new(1, 9, 1),
        nationality: Span::new(1, 10, 3),
        birth_date: Span::new(1, 13, 6),
        birth_date_check: Span::new(1, 19, 1),
        sex: Span::new(1, 20, 1),
        expiry_date: Span::new(1, 21, 6),
        expiry_date_check: Span::new(1, 27, 1),
        optional_data: Span::new(1, 28, optional_len),
        optional_data_check: if optional_check { Some(Span::new(1, 28 + optional_len, 1)) } else { None },
        optional_data_2: None,
        composite,
    }
}

static TD3: Layout = two_line(
    39,
    14,
    true,
    Some(Composite {
        digit: Span::new(1, 43, 1),
        covers: &[Span::new(1, 0, 10), Span::new(1, 13, 7), Span::new(1, 21, 22)],
    }),
);

static TD2: Layout = two_line(
    31,
    7,
    false,
    Some(Composite {
        digit: Span::new(1, 35, 1),
        covers: &[Span::new(1, 0, 10), Span::new(1, 13, 7), Span::new(1, 21, 14)],
    }),
);

static MRV_A: Layout = two_line(39, 16, false, None);

static MRV_B: Layout = two_line(31, 8, false, None);

static TD1: Layout = Layout {
    document_code: Span::new(0, 0, 2),
    issuing_state: Span::new(0, 2, 3),
    document_number: Span::new(0, 5, 9),
    document_number_check: Span::new(0, 14, 1),
    optional_data: Span::new(0, 15, 15),
    birth_date: Span::new(1, 0, 6),
    birth_date_check: Span::new(1, 6, 1),
    sex: Span::new(1, 7, 1),
    expiry_date: Span::new(1, 8, 6),
    expiry_date_check: Span::new(1, 14, 1),
    nationality: Span::new(1, 15, 3),
    optional_data_2: Some(Span::new(1, 18, 11)),
    optional_data_check: None,
    composite: Some(Composite {
        digit: Span::new(1, 29, 1),
        covers: &[Span::new(0, 5, 25), Span::new(1, 0, 7), Span::new(1, 8, 7), Span::new(1, 18, 11)],
    }),
    name: Span::new(2, 0, 30),
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Every position of every line belongs to exactly one field.
    #[test]
    fn layouts_tile_every_line_exactly() {
        for format in [MrzFormat::Td1, MrzFormat::Td2, MrzFormat::Td3, MrzFormat::MrvA, MrzFormat::MrvB] {
            let l = format.layout();
            let mut spans = vec![
                l.document_code,
                l.issuing_state,
                l.name,
                l.document_number,
                l.document_number_check,
                l.nationality,
                l.birth_date,
                l.birth_date_check,
                l.sex,
                l.expiry_date,
                l.expiry_date_check,
                l.optional_data,
            ];
            spans.extend(l.optional_data_check);
            spans.extend(l.optional_data_2);
            spans.extend(l.composite.as_ref().map(|c| c.digit));
            let mut seen = vec![vec![0u8; format.line_len()]; format.line_count()];
            for (line, pos) in spans.iter().flat_map(|s| s.cells()) {
                seen[line][pos] += 1;
            }
            assert!(seen.iter().flatten().all(|&n| n == 1), "{format:?} does not tile: {seen:?}");
        }
    }
}
