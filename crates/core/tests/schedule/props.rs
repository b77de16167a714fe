//! Properties over random times.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use warden_core::schedule::{JobKind, Schedule, jitter_offset};

proptest! {
    #[test]
    fn next_after_is_strictly_later_and_skips_no_slot(
        secs in 946_684_800i64..4_102_444_800i64,
        which in 0usize..6,
        frac in 0.0f64..1.0,
    ) {
        let (expr, tz) = [
            ("*/7 * * * *", None),
            ("30 2 * * *", Some("Europe/Berlin")),
            ("30 1 * * *", Some("America/New_York")),
            ("0 */3 * * MON-FRI", Some("Australia/Lord_Howe")),
            ("@daily", Some("Asia/Kolkata")),
            ("15 2,3 1 * *", Some("America/Santiago")),
        ][which];
        let s = Schedule::parse(expr, tz).expect("valid");
        let t = DateTime::<Utc>::from_timestamp(secs, 0).expect("in range");
        let next = s.next_after(t).expect("fires");
        prop_assert!(next > t);
        // No slot between t and next: asking from any time in between finds `next` again.
        let gap_secs = (next - t).num_seconds();
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let between = t + TimeDelta::seconds((gap_secs as f64 * frac) as i64);
        if between < next {
            prop_assert_eq!(s.next_after(between), Some(next));
        }
    }

    #[test]
    fn jitter_stays_in_range(name in "[a-z0-9_-]{1,20}", millis in 1u64..10_000_000) {
        let jitter = Duration::from_millis(millis);
        prop_assert!(jitter_offset(&name, JobKind::Audit, jitter) < jitter);
    }
}
