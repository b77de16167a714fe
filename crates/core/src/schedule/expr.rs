//! Parsing schedule expressions and finding the next slot, DST included.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// How far a zone's UTC offset can jump at one transition, with room to spare (real transitions
/// are at most two hours). Bounds the wall-clock window searched around a time.
const MARGIN: TimeDelta = TimeDelta::hours(3);

/// Upper bound on wall-clock occurrences inspected by one [`Schedule::next_after`] call. Even a
/// `* * * * *` schedule needs only a few hundred.
const MAX_STEPS: usize = 10_000;

/// An error in a schedule expression or its time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The expression is empty.
    #[error(
        "schedule is empty; write 5 cron fields (minute hour day-of-month month day-of-week), \
         an alias such as @daily, or \"off\""
    )]
    Empty,
    /// The expression does not have exactly five fields.
    #[error(
        "schedule `{expr}` has {found} fields; write exactly 5 (minute hour day-of-month month \
         day-of-week), an alias such as @daily, or \"off\""
    )]
    FieldCount {
        /// The expression as written.
        expr: String,
        /// How many whitespace-separated fields it has.
        found: usize,
    },
    /// An `@alias` that is not supported.
    #[error(
        "unknown schedule alias `{alias}`; use one of @yearly, @annually, @monthly, @weekly, \
         @daily, @midnight, @hourly"
    )]
    UnknownAlias {
        /// The alias as written.
        alias: String,
    },
    /// The cron parser rejected the expression.
    #[error("invalid schedule `{expr}`: {reason}")]
    Invalid {
        /// The expression as written.
        expr: String,
        /// Which field is wrong and what it accepts.
        reason: String,
    },
    /// The expression parses but can never fire (for example February 30th).
    #[error("schedule `{expr}` never fires; check the day-of-month and month fields")]
    NeverFires {
        /// The expression as written.
        expr: String,
    },
    /// The time zone is not a known IANA name.
    #[error("unknown time zone `{tz}`; use an IANA name such as `Europe/Berlin` or `UTC`")]
    UnknownTimezone {
        /// The time zone as written.
        tz: String,
    },
}

/// A parsed schedule: when a job kind runs for one instance.
///
/// Accepted expressions:
/// - 5-field crontab `minute hour day-of-month month day-of-week`, with lists (`1,15`), ranges
///   (`1-5`), steps (`*/15`, `0-30/10`) and names (`MON-FRI`, `JAN,JUL`). When both
///   day-of-month and day-of-week are restricted, either may match (classic Vixie cron).
/// - aliases `@yearly @annually @monthly @weekly @daily @midnight @hourly`;
/// - `"off"`: the job never runs on its own ([`Schedule::next_after`] returns `None`).
///
/// Times are wall-clock times in the schedule's time zone (UTC when none is given).
///
/// # DST
///
/// A schedule whose hour field is explicit (not starting with `*`, e.g. `30 2 * * *`, `@daily`)
/// names wall-clock times of the day:
/// - **spring forward**: a slot inside the skipped hour runs once, at the first real instant
///   after the gap (a 02:30 job in `Europe/Berlin` runs at 03:00 CEST on that day); several
///   slots inside one gap collapse into that one run;
/// - **fall back**: a slot inside the repeated hour runs once, at its first occurrence (01:30 in
///   `America/New_York` runs at 01:30 EDT, not again at 01:30 EST).
///
/// A schedule whose hour field is `*` or `*/n` (e.g. `*/15 * * * *`, `@hourly`) is an interval:
/// slots inside a gap do not exist and are skipped, and slots inside a repeated hour run on both
/// passes, because they are distinct real times.
#[derive(Clone, Debug)]
pub struct Schedule {
    expr: String,
    tz: Option<Tz>,
    rule: Rule,
}

#[derive(Clone, Debug)]
enum Rule {
    Off,
    /// Shared: every client that inherits its instance's schedule holds the same parsed cron.
    Cron {
        cron: std::sync::Arc<Cron>,
        wall_clock: bool,
    },
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr && self.tz == other.tz
    }
}

impl Eq for Schedule {}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.tz {
            Some(tz) => write!(f, "{} ({})", self.expr, tz.name()),
            None => f.write_str(&self.expr),
        }
    }
}

impl Schedule {
    /// Parses `expr` (see the type docs), interpreted in the IANA time zone `tz` (UTC if `None`).
    pub fn parse(expr: &str, tz: Option<&str>) -> Result<Schedule, ScheduleError> {
        let tz = tz
            .map(|name| {
                name.trim()
                    .parse::<Tz>()
                    .map_err(|_| ScheduleError::UnknownTimezone {
                        tz: name.to_owned(),
                    })
            })
            .transpose()?;
        let trimmed = expr.trim();
        if trimmed.is_empty() {
            return Err(ScheduleError::Empty);
        }
        let expr = trimmed.to_owned();
        if trimmed.eq_ignore_ascii_case("off") {
            return Ok(Schedule {
                expr,
                tz,
                rule: Rule::Off,
            });
        }
        let fields = if let Some(alias) = trimmed.strip_prefix('@') {
            expand_alias(alias)
                .ok_or_else(|| ScheduleError::UnknownAlias {
                    alias: trimmed.to_owned(),
                })?
                .to_owned()
        } else {
            let found = trimmed.split_whitespace().count();
            if found != 5 {
                return Err(ScheduleError::FieldCount { expr, found });
            }
            trimmed.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(&fields).map_err(|e| ScheduleError::Invalid {
            reason: explain(&parser, &fields)
                .unwrap_or_else(|| format!("{}; check each of the 5 fields", tidy_reason(&e))),
            expr: expr.clone(),
        })?;
        let wall_clock = fields
            .split_whitespace()
            .nth(1)
            .is_some_and(|hour| !hour.starts_with('*'));
        let schedule = Schedule {
            expr,
            tz,
            rule: Rule::Cron {
                cron: std::sync::Arc::new(cron),
                wall_clock,
            },
        };
        // Refuse schedules that can never fire, such as `0 0 30 2 *`: looking for the next slot
        // after a fixed date is enough, since every valid pattern fires within a few years.
        let probe = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(365 * 30);
        if schedule.next_after(probe).is_none() {
            return Err(ScheduleError::NeverFires {
                expr: schedule.expr,
            });
        }
        Ok(schedule)
    }

    /// The schedule that never fires (`"off"`).
    pub fn off() -> Schedule {
        Schedule {
            expr: "off".to_owned(),
            tz: None,
            rule: Rule::Off,
        }
    }

    /// The expression as written (trimmed).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The IANA time zone name, if one was given.
    pub fn timezone(&self) -> Option<&'static str> {
        self.tz.map(|tz| tz.name())
    }

    /// Whether this is the `"off"` schedule.
    pub fn is_off(&self) -> bool {
        matches!(self.rule, Rule::Off)
    }

    /// The first slot strictly after `t`, or `None` if the schedule is `"off"` (or has no slot
    /// left before the year 5000).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Rule::Cron { cron, wall_clock } = &self.rule else {
            return None;
        };
        let tz = self.tz.unwrap_or(Tz::UTC);
        // Any slot after `t` has a wall-clock time after `local(t) - MARGIN`, since an offset
        // change never exceeds MARGIN. Walk wall-clock occurrences from there, map each to its
        // real instant(s), and keep the earliest one after `t`.
        let mut cursor = t
            .with_timezone(&tz)
            .naive_local()
            .checked_sub_signed(MARGIN)?;
        let mut inclusive = true;
        let mut best: Option<DateTime<Utc>> = None;
        for _ in 0..MAX_STEPS {
            let naive = cron.find_next_occurrence(&cursor, inclusive).ok()?;
            inclusive = false;
            cursor = naive;
            if let Some(best) = best {
                // Occurrences this far past the best candidate's wall clock map to later
                // instants, for the same reason as above.
                let horizon = best
                    .with_timezone(&tz)
                    .naive_local()
                    .checked_add_signed(MARGIN)?;
                if naive > horizon {
                    return Some(best);
                }
            }
            for instant in instants(tz, naive, *wall_clock).into_iter().flatten() {
                if instant > t && best.is_none_or(|b| instant < b) {
                    best = Some(instant);
                }
            }
        }
        best
    }
}

/// Maps a wall-clock occurrence to the real instants at which it runs (see the DST rules on
/// [`Schedule`]).
fn instants(tz: Tz, naive: NaiveDateTime, wall_clock: bool) -> [Option<DateTime<Utc>>; 2] {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => [Some(dt.with_timezone(&Utc)), None],
        LocalResult::Ambiguous(earlier, later) => {
            let later = (!wall_clock).then(|| later.with_timezone(&Utc));
            [Some(earlier.with_timezone(&Utc)), later]
        }
        LocalResult::None if wall_clock => [first_instant_at_or_after(tz, naive), None],
        LocalResult::None => [None, None],
    }
}

/// The first real instant whose wall-clock time in `tz` is at or after `naive`. For a time inside
/// a DST gap, that is the instant the gap ends.
fn first_instant_at_or_after(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    let local = |secs: i64| {
        DateTime::<Utc>::from_timestamp(secs, 0).map(|u| u.with_timezone(&tz).naive_local())
    };
    let base = naive.and_utc().timestamp();
    // UTC offsets are within ±1 day, so local(lo) < naive <= local(hi).
    let (mut lo, mut hi) = (base - 86_400, base + 86_400);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local(mid)? >= naive {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::<Utc>::from_timestamp(hi, 0)
}

/// The 5-field form of a supported `@alias` (without the `@`).
fn expand_alias(alias: &str) -> Option<&'static str> {
    Some(match alias.to_ascii_lowercase().as_str() {
        "yearly" | "annually" => "0 0 1 1 *",
        "monthly" => "0 0 1 * *",
        "weekly" => "0 0 * * 0",
        "daily" | "midnight" => "0 0 * * *",
        "hourly" => "0 * * * *",
        _ => return None,
    })
}

/// Names, in order, of the five fields and the values each accepts.
const FIELDS: [(&str, &str); 5] = [
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 or SUN-SAT (0 and 7 are Sunday)"),
];

/// Finds the first field that is invalid on its own and says what it accepts.
fn explain(parser: &CronParser, fields: &str) -> Option<String> {
    let fields: Vec<&str> = fields.split_whitespace().collect();
    FIELDS.iter().enumerate().find_map(|(i, (name, allowed))| {
        let value = *fields.get(i)?;
        let probe: Vec<&str> = (0..FIELDS.len())
            .map(|j| if j == i { value } else { "*" })
            .collect();
        let error = parser.parse(&probe.join(" ")).err()?;
        Some(format!(
            "{name} field `{value}`: {}; it accepts {allowed}, with lists (`1,15`), ranges \
             (`1-5`) and steps (`*/10`)",
            tidy_reason(&error)
        ))
    })
}

/// Turns croner's capitalised, full-stop-terminated messages into a lowercase phrase.
fn tidy_reason(error: &croner::errors::CronError) -> String {
    let reason = error.to_string();
    let mut trimmed = reason.trim().trim_end_matches('.');
    for prefix in ["Component error: ", "Invalid pattern: "] {
        trimmed = trimmed.strip_prefix(prefix).unwrap_or(trimmed);
    }
    let mut chars = trimmed.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_reason_lowercases_and_strips_prefix_and_period() {
        let error = croner::errors::CronError::ComponentError("Number out of bounds.".into());
        assert_eq!(tidy_reason(&error), "number out of bounds");
    }

    #[test]
    fn invalid_fields_are_named() {
        let err = Schedule::parse("0 24 * * *", None).unwrap_err().to_string();
        assert!(
            err.contains("hour field `24`") && err.contains("0-23"),
            "{err}"
        );
        let err = Schedule::parse("* * * * FUNDAY", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("day-of-week field `FUNDAY`"), "{err}");
    }

    #[test]
    fn gap_end_is_found_to_the_second() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let naive = chrono::NaiveDate::from_ymd_opt(2025, 3, 30)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        let got = first_instant_at_or_after(tz, naive).unwrap();
        assert_eq!(got, Utc.with_ymd_and_hms(2025, 3, 30, 1, 0, 0).unwrap());
    }
}
