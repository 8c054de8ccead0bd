//! Dates of birth as OFAC writes them in an entry's remarks ("DOB 19 Jun 1951",
//! "DOB 1955", "DOB Dec 1950", "DOB circa 1955", "DOB 1960 to 1962",
//! "DOB 21 Mar 1950 to 20 Mar 1951"), each turned into the span of days it allows.

use chrono::{Months, NaiveDate};

/// How far "circa" widens a date: the list gives no bound, a year either side is the
/// usual reading and keeps a contradiction test meaningful.
const CIRCA_YEARS: u32 = 1;

/// The inclusive span of birth dates one listed DOB allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DobSpan {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DobSpan {
    /// Days from `date` to the nearest day of the span; 0 inside it.
    pub fn distance_days(&self, date: NaiveDate) -> i64 {
        if date < self.from {
            (self.from - date).num_days()
        } else if date > self.to {
            (date - self.to).num_days()
        } else {
            0
        }
    }
}

/// The text after "DOB " (trailing full stop allowed), or `None` when it is not a date.
pub fn parse_dob(text: &str) -> Option<DobSpan> {
    let text = text.trim().trim_end_matches('.').trim();
    let (circa, rest) = match text.strip_prefix("circa ") {
        Some(rest) => (true, rest.trim()),
        None => (false, text),
    };
    let (first, last) = match rest.split_once(" to ") {
        Some((a, b)) => (a, b),
        // "circa 1955-1957": a year range written with a dash.
        None => rest.split_once('-').unwrap_or((rest, rest)),
    };
    let from = parse_point(first)?.0;
    let to = parse_point(last)?.1;
    if from > to {
        return None;
    }
    if circa {
        let widen = Months::new(12 * CIRCA_YEARS);
        Some(DobSpan { from: from.checked_sub_months(widen)?, to: to.checked_add_months(widen)? })
    } else {
        Some(DobSpan { from, to })
    }
}

/// "19 Jun 1951", "Jun 1951" or "1951" as its first and last possible day.
fn parse_point(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    match parts.as_slice() {
        [day, month, year] => {
            let date = NaiveDate::from_ymd_opt(year_of(year)?, month_of(month)?, day.parse().ok()?)?;
            Some((date, date))
        }
        [month, year] => {
            let first = NaiveDate::from_ymd_opt(year_of(year)?, month_of(month)?, 1)?;
            let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
            Some((first, last))
        }
        [year] => {
            let year = year_of(year)?;
            Some((NaiveDate::from_ymd_opt(year, 1, 1)?, NaiveDate::from_ymd_opt(year, 12, 31)?))
        }
        _ => None,
    }
}

fn year_of(text: &str) -> Option<i32> {
    let year: i32 = text.parse().ok()?;
    (1000..=9999).contains(&year).then_some(year)
}

fn month_of(text: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let prefix = text.get(..3)?.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == prefix).map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn years(span: &DobSpan) -> (i32, i32) {
        (span.from.year(), span.to.year())
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn exact_month_and_year_dates_become_spans() {
        assert_eq!(parse_dob("19 Jun 1951"), Some(DobSpan { from: d(1951, 6, 19), to: d(1951, 6, 19) }));
        assert_eq!(parse_dob("Feb 1952."), Some(DobSpan { from: d(1952, 2, 1), to: d(1952, 2, 29) }));
        assert_eq!(parse_dob("1955"), Some(DobSpan { from: d(1955, 1, 1), to: d(1955, 12, 31) }));
    }

    #[test]
    fn ranges_and_circa_widen_the_span() {
        assert_eq!(parse_dob("21 Mar 1950 to 20 Mar 1951"), Some(DobSpan { from: d(1950, 3, 21), to: d(1951, 3, 20) }));
        assert_eq!(parse_dob("Mar 1950 to Feb 1951").map(|s| (s.from, s.to)), Some((d(1950, 3, 1), d(1951, 2, 28))));
        assert_eq!(parse_dob("1960 to 1962").map(|s| years(&s)), Some((1960, 1962)));
        assert_eq!(parse_dob("circa 1955").map(|s| years(&s)), Some((1954, 1956)));
        assert_eq!(parse_dob("circa 1955-1957").map(|s| years(&s)), Some((1954, 1958)));
        assert_eq!(parse_dob("circa 01 Jan 1950"), Some(DobSpan { from: d(1949, 1, 1), to: d(1951, 1, 1) }));
    }

    #[test]
    fn non_dates_are_refused() {
        assert_eq!(parse_dob("unknown"), None);
        assert_eq!(parse_dob("31 Feb 1950"), None);
        assert_eq!(parse_dob("1962 to 1960"), None);
        assert_eq!(parse_dob("12 Foo 1950"), None);
        assert_eq!(parse_dob(""), None);
    }

    #[test]
    fn distance_is_zero_inside_and_counts_days_outside() {
        let span = parse_dob("1955").unwrap();
        assert_eq!(span.distance_days(d(1955, 7, 1)), 0);
        assert_eq!(span.distance_days(d(1956, 1, 10)), 10);
        assert_eq!(span.distance_days(d(1954, 12, 30)), 2);
    }
}
