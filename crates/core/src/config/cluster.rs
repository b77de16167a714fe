//! `[cluster]`: several `wardend` sharing this fleet through Vault (`docs/ha.md`). Absent: this
//! daemon works on every instance alone, as before.
//!
//! A daemon renews its heartbeat every `renew_every`; its instances stand until `lease_ttl`
//! after the last renewal, and the others take them once that expiry is `max_clock_skew` past
//! by their own clocks. A stopped or cut-off daemon's instances therefore move within
//! `lease_ttl + max_clock_skew + renew_every` (42 s with the defaults).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::ctx::Ctx;
use super::ser::ser_duration;

/// Default `lease_ttl`.
pub const LEASE_TTL_SECS: u64 = 30;
/// Default `renew_every`.
pub const RENEW_EVERY_SECS: u64 = 10;
/// Default `max_clock_skew`.
pub const MAX_CLOCK_SKEW_SECS: u64 = 2;

/// `[cluster]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCluster {
    pub(crate) lease_ttl: Option<Spanned<String>>,
    pub(crate) renew_every: Option<Spanned<String>>,
    pub(crate) max_clock_skew: Option<Spanned<String>>,
}

/// `[cluster]`: lease timing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cluster {
    /// How long a heartbeat stands.
    #[serde(serialize_with = "ser_duration")]
    pub lease_ttl: Duration,
    /// How often a daemon renews it.
    #[serde(serialize_with = "ser_duration")]
    pub renew_every: Duration,
    /// The most two daemons' clocks may differ.
    #[serde(serialize_with = "ser_duration")]
    pub max_clock_skew: Duration,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            lease_ttl: Duration::from_secs(LEASE_TTL_SECS),
            renew_every: Duration::from_secs(RENEW_EVERY_SECS),
            max_clock_skew: Duration::from_secs(MAX_CLOCK_SKEW_SECS),
        }
    }
}

impl Cluster {
    /// The longest an instance of a daemon that stopped renewing waits for a new owner.
    pub fn takeover_bound(&self) -> Duration {
        self.lease_ttl + self.max_clock_skew + self.renew_every
    }
}

/// Validates `[cluster]`: `None` when absent.
pub(crate) fn cluster(ctx: &mut Ctx<'_>, raw: Option<&Spanned<RawCluster>>) -> Option<Cluster> {
    let raw = raw?;
    let d = Cluster::default();
    let secs = Duration::from_secs;
    let r = raw.get_ref();
    let lease_ttl = ctx.duration_in(
        r.lease_ttl.as_ref(),
        "cluster.lease_ttl",
        secs(3)..=secs(600),
        d.lease_ttl,
    );
    let renew_every = ctx.duration_in(
        r.renew_every.as_ref(),
        "cluster.renew_every",
        secs(1)..=secs(200),
        d.renew_every,
    );
    let max_clock_skew = ctx.duration_in(
        r.max_clock_skew.as_ref(),
        "cluster.max_clock_skew",
        Duration::ZERO..=secs(60),
        d.max_clock_skew,
    );
    if renew_every * 3 > lease_ttl {
        let span = r
            .renew_every
            .as_ref()
            .or(r.lease_ttl.as_ref())
            .map_or_else(|| raw.span(), Spanned::span);
        ctx.invalid(
            &span,
            "cluster.renew_every",
            format!(
                "renewing every {} s with a lease of {} s leaves no room for a failed renewal; \
                 make renew_every at most a third of lease_ttl",
                renew_every.as_secs(),
                lease_ttl.as_secs()
            ),
        );
    }
    if max_clock_skew * 2 >= lease_ttl {
        let span = r
            .max_clock_skew
            .as_ref()
            .map_or_else(|| raw.span(), Spanned::span);
        ctx.invalid(
            &span,
            "cluster.max_clock_skew",
            "must be less than half of lease_ttl; keep the hosts' clocks in step (NTP) instead",
        );
    }
    Some(Cluster {
        lease_ttl,
        renew_every,
        max_clock_skew,
    })
}
