//! The records in Vault and the pure decisions on them: who is live, and whether this daemon
//! holds, may take, or must leave an instance's lease. Time is passed in.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// One daemon's heartbeat in the members document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Random per process start: a restarted daemon is a new incarnation, and leases of the
    /// old one are no longer its.
    pub incarnation: String,
    /// The host it runs on (for people, and to tell a restart from a duplicate id).
    #[serde(default)]
    pub host: String,
    /// Its process id on that host.
    #[serde(default)]
    pub pid: u32,
    /// Its package version.
    #[serde(default)]
    pub version: String,
    /// When this incarnation joined.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub renewed_at: DateTime<Utc>,
    /// Until when its leases stand without another heartbeat.
    pub expires_at: DateTime<Utc>,
    /// How many instance leases it holds, as of its last heartbeat.
    #[serde(default)]
    pub instances: usize,
}

/// The members document: every daemon's heartbeat, keyed by daemon id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    /// Daemon id → heartbeat.
    #[serde(default)]
    pub members: BTreeMap<String, Member>,
}

impl Members {
    /// The ids of the daemons whose heartbeat has not expired at `now`, as seen by a reader
    /// whose clock may be `skew` ahead or behind: a heartbeat counts as live until `skew`
    /// after its expiry.
    pub fn live(&self, now: DateTime<Utc>, skew: TimeDelta) -> Vec<&str> {
        self.members
            .iter()
            .filter(|(_, m)| m.expires_at + skew > now)
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// Whether `daemon`'s incarnation `incarnation` is live at `now`.
    pub fn is_live(
        &self,
        daemon: &str,
        incarnation: &str,
        now: DateTime<Utc>,
        skew: TimeDelta,
    ) -> bool {
        self.members
            .get(daemon)
            .is_some_and(|m| m.incarnation == incarnation && m.expires_at + skew > now)
    }

    /// Drops heartbeats expired for longer than `keep`, so the document stays small.
    pub fn forget_older_than(&mut self, now: DateTime<Utc>, keep: TimeDelta) {
        self.members.retain(|_, m| m.expires_at + keep > now);
    }
}

/// The lease of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The instance's name.
    pub instance: String,
    /// The daemon id holding it.
    pub owner: String,
    /// The holder's incarnation: the lease stands while that incarnation's heartbeat does.
    pub incarnation: String,
    /// The fencing counter: one more at every change of holder. A job records the counter it
    /// ran under; a write under an older counter is refused.
    pub fence: u64,
    /// When the holder took it.
    pub acquired_at: DateTime<Utc>,
    /// Given back: anyone may take it.
    #[serde(default)]
    pub released: bool,
}

/// This daemon as the cluster knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `daemon.id`.
    pub daemon: String,
    /// Random per process start.
    pub incarnation: String,
}

impl Identity {
    /// `daemon` with a new random incarnation (one per process start).
    pub fn new(daemon: impl Into<String>) -> Identity {
        Identity {
            daemon: daemon.into(),
            incarnation: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// What a daemon may do about an instance's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It holds the lease under `fence`.
    Held {
        /// The fencing counter it holds.
        fence: u64,
    },
    /// The lease is free, released, or its holder's heartbeat expired: write it with
    /// check-and-set on `cas` and the fencing counter `fence`.
    Take {
        /// The version the write must replace (0: none yet).
        cas: u64,
        /// The new fencing counter.
        fence: u64,
        /// The daemon that held it, if any (for the change log and the logs).
        from: Option<String>,
    },
    /// Another live daemon holds it.
    Busy {
        /// That daemon's id.
        owner: String,
    },
}

/// The decision for `me` about a lease read as `current` (its version and record; `None`: never
/// written), given the members document read at `now`.
pub fn claim(
    current: Option<(u64, &Lease)>,
    me: &Identity,
    members: &Members,
    now: DateTime<Utc>,
    skew: TimeDelta,
) -> Claim {
    let Some((version, lease)) = current else {
        return Claim::Take {
            cas: 0,
            fence: 1,
            from: None,
        };
    };
    let take = || Claim::Take {
        cas: version,
        fence: lease.fence + 1,
        from: (!lease.released).then(|| lease.owner.clone()),
    };
    if lease.released {
        return take();
    }
    if lease.owner == me.daemon && lease.incarnation == me.incarnation {
        return Claim::Held { fence: lease.fence };
    }
    if lease.owner == me.daemon {
        // an earlier run of this daemon: its jobs are gone with it
        return take();
    }
    if members.is_live(&lease.owner, &lease.incarnation, now, skew) {
        return Claim::Busy {
            owner: lease.owner.clone(),
        };
    }
    take()
}

/// Whether a lease read now still stands for `me` under `fence` (checked right before a job
/// writes: a mint, a marker, a Jamf change).
pub fn still_held(current: Option<&Lease>, me: &Identity, fence: u64) -> bool {
    current.is_some_and(|l| {
        !l.released && l.owner == me.daemon && l.incarnation == me.incarnation && l.fence == fence
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap() + TimeDelta::seconds(s)
    }

    fn me() -> Identity {
        Identity {
            daemon: "host-a".into(),
            incarnation: "a1".into(),
        }
    }

    fn member(incarnation: &str, expires: i64) -> Member {
        Member {
            incarnation: incarnation.into(),
            host: "h".into(),
            pid: 1,
            version: "0".into(),
            started_at: t(-100),
            renewed_at: t(expires - 30),
            expires_at: t(expires),
            instances: 0,
        }
    }

    fn lease(owner: &str, incarnation: &str, fence: u64) -> Lease {
        Lease {
            instance: "alpha".into(),
            owner: owner.into(),
            incarnation: incarnation.into(),
            fence,
            acquired_at: t(-50),
            released: false,
        }
    }

    fn members() -> Members {
        let mut m = Members::default();
        m.members.insert("host-a".into(), member("a1", 30));
        m.members.insert("host-b".into(), member("b1", 10));
        m
    }

    const SKEW: TimeDelta = TimeDelta::seconds(2);

    #[test]
    fn a_heartbeat_is_live_until_the_skew_after_its_expiry() {
        let m = members();
        assert_eq!(m.live(t(0), SKEW), ["host-a", "host-b"]);
        assert_eq!(m.live(t(11), SKEW), ["host-a", "host-b"]);
        assert_eq!(m.live(t(12), SKEW), ["host-a"]);
        assert!(
            !m.is_live("host-b", "b0", t(0), SKEW),
            "another incarnation"
        );
    }

    #[test]
    fn a_never_written_lease_is_taken_with_fence_one() {
        assert_eq!(
            claim(None, &me(), &members(), t(0), SKEW),
            Claim::Take {
                cas: 0,
                fence: 1,
                from: None
            }
        );
    }

    #[test]
    fn a_live_holder_keeps_it_and_an_expired_one_loses_it_with_the_fence_raised() {
        let l = lease("host-b", "b1", 7);
        assert_eq!(
            claim(Some((3, &l)), &me(), &members(), t(0), SKEW),
            Claim::Busy {
                owner: "host-b".into()
            }
        );
        assert_eq!(
            claim(Some((3, &l)), &me(), &members(), t(12), SKEW),
            Claim::Take {
                cas: 3,
                fence: 8,
                from: Some("host-b".into())
            }
        );
        // a holder that restarted (new incarnation) no longer holds its old leases
        let old = lease("host-b", "b0", 7);
        assert!(matches!(
            claim(Some((3, &old)), &me(), &members(), t(0), SKEW),
            Claim::Take { fence: 8, .. }
        ));
        // a holder missing from the members document holds nothing
        let gone = lease("host-z", "z1", 2);
        assert!(matches!(
            claim(Some((1, &gone)), &me(), &members(), t(0), SKEW),
            Claim::Take { fence: 3, .. }
        ));
    }

    #[test]
    fn my_own_lease_is_held_and_an_earlier_run_of_mine_is_taken_over() {
        let mine = lease("host-a", "a1", 4);
        assert_eq!(
            claim(Some((9, &mine)), &me(), &members(), t(0), SKEW),
            Claim::Held { fence: 4 }
        );
        let earlier = lease("host-a", "a0", 4);
        assert_eq!(
            claim(Some((9, &earlier)), &me(), &members(), t(0), SKEW),
            Claim::Take {
                cas: 9,
                fence: 5,
                from: Some("host-a".into())
            }
        );
        let released = Lease {
            released: true,
            ..lease("host-b", "b1", 6)
        };
        assert_eq!(
            claim(Some((2, &released)), &me(), &members(), t(0), SKEW),
            Claim::Take {
                cas: 2,
                fence: 7,
                from: None
            }
        );
    }

    #[test]
    fn a_lease_stands_only_for_its_holder_under_its_fence() {
        let l = lease("host-a", "a1", 4);
        assert!(still_held(Some(&l), &me(), 4));
        assert!(!still_held(Some(&l), &me(), 3), "an older fence");
        assert!(!still_held(Some(&lease("host-b", "b1", 4)), &me(), 4));
        assert!(!still_held(Some(&lease("host-a", "a0", 4)), &me(), 4));
        let released = Lease {
            released: true,
            ..l.clone()
        };
        assert!(!still_held(Some(&released), &me(), 4));
        assert!(!still_held(None, &me(), 4));
    }

    #[test]
    fn old_heartbeats_are_forgotten() {
        let mut m = members();
        m.forget_older_than(t(3611), TimeDelta::hours(1));
        assert_eq!(m.members.keys().collect::<Vec<_>>(), ["host-a"]);
    }
}
