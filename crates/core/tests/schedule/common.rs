//! Test helpers.

use chrono::{DateTime, TimeZone, Utc};
use warden_core::schedule::Schedule;

pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("valid test time")
}

pub fn sched(expr: &str, tz: Option<&str>) -> Schedule {
    Schedule::parse(expr, tz).expect("valid schedule")
}

/// The first `n` slots after `t`.
pub fn slots(s: &Schedule, mut t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    for _ in 0..n {
        t = s.next_after(t).expect("schedule fires");
        out.push(t);
    }
    out
}
