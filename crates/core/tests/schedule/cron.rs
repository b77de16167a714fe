//! Parsing, next slots and DST.

use std::time::Duration;

use chrono::TimeDelta;
use warden_core::schedule::{BackoffPolicy, Due, JobState, Schedule, ScheduleError, due};

use crate::common::{sched, slots, utc};

#[test]
fn five_fields_with_steps_ranges_and_names() {
    let s = sched("*/15 * * * *", None);
    assert_eq!(
        s.next_after(utc(2025, 1, 6, 10, 7)),
        Some(utc(2025, 1, 6, 10, 15))
    );
    assert_eq!(
        s.next_after(utc(2025, 1, 6, 10, 15)),
        Some(utc(2025, 1, 6, 10, 30))
    );

    // 2025-01-06 is a Monday.
    let s = sched("0 9-17/4 * * MON-FRI", None);
    let got = slots(&s, utc(2025, 1, 10, 12, 0), 4);
    assert_eq!(
        got,
        [
            utc(2025, 1, 10, 13, 0),
            utc(2025, 1, 10, 17, 0),
            utc(2025, 1, 13, 9, 0),
            utc(2025, 1, 13, 13, 0)
        ]
    );

    let s = sched("30 6 1 JAN,JUL *", None);
    assert_eq!(
        slots(&s, utc(2025, 2, 1, 0, 0), 2),
        [utc(2025, 7, 1, 6, 30), utc(2026, 1, 1, 6, 30)]
    );

    // Day-of-month OR day-of-week when both are restricted (Vixie cron).
    let s = sched("0 0 13 * FRI", None);
    assert_eq!(
        s.next_after(utc(2025, 6, 1, 0, 0)),
        Some(utc(2025, 6, 6, 0, 0))
    );
}

#[test]
fn aliases() {
    let t = utc(2025, 5, 14, 12, 0);
    for (alias, next) in [
        ("@yearly", utc(2026, 1, 1, 0, 0)),
        ("@annually", utc(2026, 1, 1, 0, 0)),
        ("@monthly", utc(2025, 6, 1, 0, 0)),
        ("@weekly", utc(2025, 5, 18, 0, 0)),
        ("@daily", utc(2025, 5, 15, 0, 0)),
        ("@midnight", utc(2025, 5, 15, 0, 0)),
        ("@hourly", utc(2025, 5, 14, 13, 0)),
    ] {
        assert_eq!(sched(alias, None).next_after(t), Some(next), "{alias}");
    }
}

#[test]
fn daily_in_a_time_zone() {
    let s = sched("@daily", Some("Europe/Berlin"));
    assert_eq!(s.timezone(), Some("Europe/Berlin"));
    // Midnight in Berlin is 23:00 UTC in winter and 22:00 UTC in summer.
    assert_eq!(
        s.next_after(utc(2025, 1, 10, 12, 0)),
        Some(utc(2025, 1, 10, 23, 0))
    );
    assert_eq!(
        s.next_after(utc(2025, 7, 10, 12, 0)),
        Some(utc(2025, 7, 10, 22, 0))
    );
}

#[test]
fn off_never_fires() {
    let s = sched("off", None);
    assert!(s.is_off());
    assert_eq!(s.next_after(utc(2025, 1, 1, 0, 0)), None);
    assert!(sched(" OFF ", Some("UTC")).is_off());
    let state = JobState::default();
    assert_eq!(
        due(
            &s,
            Duration::ZERO,
            &state,
            &BackoffPolicy::default(),
            utc(2025, 1, 1, 0, 0)
        ),
        Due::Off
    );
}

#[test]
fn parse_errors_say_what_to_do() {
    let err = Schedule::parse("0 3 * *", None).unwrap_err();
    assert_eq!(
        err,
        ScheduleError::FieldCount {
            expr: "0 3 * *".into(),
            found: 4
        }
    );
    assert!(err.to_string().contains("write exactly 5"), "{err}");
    assert!(matches!(
        Schedule::parse("0 0 3 * * *", None),
        Err(ScheduleError::FieldCount { found: 6, .. })
    ));
    assert!(matches!(
        Schedule::parse("@fortnightly", None),
        Err(ScheduleError::UnknownAlias { .. })
    ));
    assert!(matches!(
        Schedule::parse("61 * * * *", None),
        Err(ScheduleError::Invalid { .. })
    ));
    assert!(matches!(
        Schedule::parse("* * * * FUNDAY", None),
        Err(ScheduleError::Invalid { .. })
    ));
    assert!(matches!(
        Schedule::parse("", None),
        Err(ScheduleError::Empty)
    ));
    assert!(matches!(
        Schedule::parse("0 0 30 2 *", None),
        Err(ScheduleError::NeverFires { .. })
    ));
    let err = Schedule::parse("@daily", Some("Mars/Olympus")).unwrap_err();
    assert!(err.to_string().contains("IANA"), "{err}");
}

#[test]
fn dst_spring_forward_berlin_runs_once_at_the_end_of_the_gap() {
    // 2025-03-30: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist.
    let s = sched("30 2 * * *", Some("Europe/Berlin"));
    let got = slots(&s, utc(2025, 3, 28, 12, 0), 3);
    assert_eq!(
        got,
        [
            utc(2025, 3, 29, 1, 30), // 02:30 CET
            utc(2025, 3, 30, 1, 0),  // 03:00 CEST: the first instant after the gap
            utc(2025, 3, 31, 0, 30), // 02:30 CEST
        ]
    );
    // Several slots inside one gap collapse into one run.
    let s = sched("0,30 2 * * *", Some("Europe/Berlin"));
    let got = slots(&s, utc(2025, 3, 29, 12, 0), 2);
    assert_eq!(got, [utc(2025, 3, 30, 1, 0), utc(2025, 3, 31, 0, 0)]);
}

#[test]
fn dst_fall_back_berlin_runs_once() {
    // 2025-10-26: 03:00 CEST goes back to 02:00 CET, so 02:30 happens twice.
    let s = sched("30 2 * * *", Some("Europe/Berlin"));
    let got = slots(&s, utc(2025, 10, 25, 12, 0), 2);
    assert_eq!(got, [utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)]);
    // Asking from inside the repeated hour (after the first run) does not run it again.
    assert_eq!(
        s.next_after(utc(2025, 10, 26, 1, 10)),
        Some(utc(2025, 10, 27, 1, 30))
    );
}

#[test]
fn dst_new_york_spring_and_fall() {
    let s = sched("30 2 * * *", Some("America/New_York"));
    // 2025-03-09: 02:00 EST jumps to 03:00 EDT.
    assert_eq!(
        slots(&s, utc(2025, 3, 8, 12, 0), 2),
        [utc(2025, 3, 9, 7, 0), utc(2025, 3, 10, 6, 30)]
    );
    // 2025-11-02: 02:00 EDT goes back to 01:00 EST; 01:30 happens twice.
    let s = sched("30 1 * * *", Some("America/New_York"));
    assert_eq!(
        slots(&s, utc(2025, 11, 1, 12, 0), 2),
        [utc(2025, 11, 2, 5, 30), utc(2025, 11, 3, 6, 30)]
    );
}

#[test]
fn dst_interval_schedules_keep_real_intervals() {
    // Every 30 minutes stays every 30 real minutes through the New York fall-back (the repeated
    // hour runs twice, as it is real time) and the Berlin spring-forward (the gap is skipped).
    let s = sched("*/30 * * * *", Some("America/New_York"));
    let got = slots(&s, utc(2025, 11, 2, 3, 50), 8);
    for pair in got.windows(2) {
        assert_eq!(pair[1] - pair[0], TimeDelta::minutes(30), "{got:?}");
    }
    let s = sched("*/30 * * * *", Some("Europe/Berlin"));
    let got = slots(&s, utc(2025, 3, 29, 23, 50), 6);
    for pair in got.windows(2) {
        assert_eq!(pair[1] - pair[0], TimeDelta::minutes(30), "{got:?}");
    }
}
