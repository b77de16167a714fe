//! Text output helpers: aligned tables and times. Functions that depend on the current time
//! take it as `now`.

use chrono::{DateTime, SecondsFormat, Utc};

/// Placeholder for an empty cell.
pub const NONE: &str = "-";

/// A table of left-aligned columns separated by two spaces, with a header row.
#[derive(Debug, Clone, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<I, S>(headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            rows: vec![headers.into_iter().map(Into::into).collect()],
        }
    }

    /// Adds a row; missing cells are empty.
    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// Whether only the header is there.
    pub fn is_empty(&self) -> bool {
        self.rows.len() <= 1
    }

    /// The table, one line per row, each ending in a newline, without trailing spaces.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|col| {
                self.rows
                    .iter()
                    .filter_map(|row| row.get(col))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (col, cell) in row.iter().enumerate() {
                if col > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = widths[col].saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `time` as RFC 3339 in UTC, to the second, e.g. `2026-05-01T10:04:00Z`.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// How far `time` is from `now`, in the largest unit, rounded: `in 4m`, `2h ago`, `now`.
pub fn relative(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (time - now).num_seconds();
    if secs == 0 {
        return "now".to_owned();
    }
    let span = span(secs.unsigned_abs());
    if secs > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// `time` as RFC 3339 followed by the relative time: `2026-05-01T10:04:00Z (in 4m)`.
pub fn when(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ({})", rfc3339(time), relative(time, now))
}

/// A length of time in its largest unit, rounded to the nearest: `42s`, `4m`, `3h`, `2d`.
pub fn span(secs: u64) -> String {
    // Round half up: (secs + unit / 2) / unit. A value that rounds up to the next unit's size
    // moves to that unit (59m40s is `1h`, not `60m`).
    let round = |unit: u64| (secs + unit / 2) / unit;
    if secs < 60 {
        return format!("{secs}s");
    }
    if round(60) < 60 {
        return format!("{}m", round(60));
    }
    if round(3_600) < 24 {
        return format!("{}h", round(3_600));
    }
    format!("{}d", round(86_400))
}

/// A length of time in its two largest units: `42s`, `4m 2s`, `2h 5m`, `3d 4h`.
pub fn duration(secs: u64) -> String {
    let (days, hours, mins) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60);
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{mins}m {}s", secs % 60),
        3_600..86_400 => format!("{hours}h {mins}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// `text`, or [`NONE`] when it is absent or empty.
pub fn or_none(text: Option<&str>) -> String {
    match text {
        Some(text) if !text.is_empty() => text.to_owned(),
        _ => NONE.to_owned(),
    }
}

/// `n` and the noun, plural unless `n` is 1: `1 record`, `3 records`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_780_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn relative_times() {
        let now = at(0);
        assert_eq!(relative(at(0), now), "now");
        assert_eq!(relative(at(5), now), "in 5s");
        assert_eq!(relative(at(4 * 60 + 29), now), "in 4m");
        assert_eq!(relative(at(4 * 60 + 59), now), "in 5m");
        assert_eq!(relative(at(-(3 * 3600 - 1)), now), "3h ago");
        assert_eq!(relative(at(59 * 60 + 40), now), "in 1h");
        assert_eq!(relative(at(23 * 3600 + 40 * 60), now), "in 1d");
        assert_eq!(relative(at(-2 * 3600), now), "2h ago");
        assert_eq!(relative(at(-3 * 86_400 - 10), now), "3d ago");
        assert_eq!(relative(at(-59), now), "59s ago");
    }

    #[test]
    fn absolute_and_relative() {
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap();
        let next = Utc.with_ymd_and_hms(2026, 5, 1, 10, 4, 0).unwrap();
        assert_eq!(when(next, now), "2026-05-01T10:04:00Z (in 4m)");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(4 * 60 + 2), "4m 2s");
        assert_eq!(duration(2 * 3600 + 5 * 60 + 9), "2h 5m");
        assert_eq!(duration(3 * 86_400 + 4 * 3600 + 7), "3d 4h");
    }

    #[test]
    fn tables_align_and_trim() {
        let mut table = Table::new(["NAME", "URL", "NOTE"]);
        assert!(table.is_empty());
        table.row(["prod", "https://prod.example", ""]);
        table.row(["lab-ünï", "https://lab", "parked"]);
        assert_eq!(
            table.render(),
            "NAME     URL                   NOTE\n\
             prod     https://prod.example\n\
             lab-ünï  https://lab           parked\n"
        );
    }

    #[test]
    fn small_helpers() {
        assert_eq!(or_none(None), "-");
        assert_eq!(or_none(Some("")), "-");
        assert_eq!(or_none(Some("x")), "x");
        assert_eq!(count(1, "record"), "1 record");
        assert_eq!(count(0, "record"), "0 records");
    }
}
