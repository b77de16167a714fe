//! `[cluster]`: absent means this daemon works alone; present, its lease timing with defaults,
//! located errors when renewals could not keep a lease, and a change needs a restart.

use std::time::Duration;

use warden_core::config::{Cluster, Config};

use crate::common::{Dir, assert_contains, with};

#[test]
fn cluster_is_off_unless_the_section_is_there_and_has_defaults() {
    let dir = Dir::new();
    assert_eq!(dir.load(&with("")).expect("valid").cluster, None);
    let config = dir.load(&with("[cluster]\n")).expect("valid");
    let c = config.cluster.clone().expect("cluster on");
    assert_eq!(c, Cluster::default());
    assert_eq!(
        (c.lease_ttl, c.renew_every, c.max_clock_skew),
        (
            Duration::from_secs(30),
            Duration::from_secs(10),
            Duration::from_secs(2)
        )
    );
    assert!(c.takeover_bound() < Duration::from_secs(60));
    assert!(config.render_effective().contains("[cluster]"));
    let c = dir
        .load(&with(
            "[cluster]\nlease_ttl = \"9s\"\nrenew_every = \"3s\"\nmax_clock_skew = \"1s\"\n",
        ))
        .expect("valid")
        .cluster
        .expect("on");
    assert_eq!(c.takeover_bound(), Duration::from_secs(13));
}

#[test]
fn timings_that_cannot_keep_a_lease_are_located_errors() {
    let dir = Dir::new();
    let (msg, n) = dir.errors(&with(
        "[cluster]\nlease_ttl = \"10s\"\nrenew_every = \"5s\"\n",
    ));
    assert_eq!(n, 1, "{msg}");
    assert_contains(
        &msg,
        &[
            "wardend.toml:",
            "`cluster.renew_every`",
            "at most a third of lease_ttl",
        ],
    );
    let (msg, n) = dir.errors(&with("[cluster]\nmax_clock_skew = \"20s\"\n"));
    assert_eq!(n, 1, "{msg}");
    assert_contains(
        &msg,
        &["`cluster.max_clock_skew`", "less than half of lease_ttl"],
    );
    let (msg, _) = dir.errors(&with("[cluster]\nlease_ttl = \"1s\"\n"));
    assert_contains(&msg, &["`cluster.lease_ttl`"]);
    let (msg, _) = dir.errors(&with("[cluster]\nttl = \"30s\"\n"));
    assert_contains(&msg, &["unknown field `ttl`"]);
}

#[test]
fn a_cluster_change_needs_a_restart() {
    let dir = Dir::new();
    let old = dir.load(&with("")).expect("valid");
    let new = dir.load(&with("[cluster]\n")).expect("valid");
    let diff = Config::diff(&old, &new);
    assert_eq!(diff.restart_required, ["cluster"]);
}
