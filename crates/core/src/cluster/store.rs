//! The cluster's records in Vault KV v2, written with check-and-set through the same
//! [`SecretStore`] the rotation engine uses (paths relative to the store's prefix).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::lease::{Claim, Identity, Lease, Member, Members, claim, still_held};
use crate::config::values::slug;
use crate::rotation::SecretStore;
use crate::vault::VaultError;

/// The members document.
pub const MEMBERS_PATH: &str = "_warden/cluster/members";

/// Check-and-set tries of one heartbeat: every daemon writes the one document, so a write may
/// lose to another daemon's; retried after a short random pause.
const HEARTBEAT_TRIES: u32 = 12;

/// Heartbeats expired this long are dropped from the members document.
const FORGET_AFTER: TimeDelta = TimeDelta::hours(24);

/// The lease path of an instance: its slug and a hash of its exact name, so two names with the
/// same slug never share a lease.
pub fn lease_path(instance: &str) -> String {
    let s = slug(instance);
    let s = if s.is_empty() { "instance".into() } else { s };
    let h = super::assign::score("lease", instance);
    format!("_warden/cluster/leases/{s}-{:08x}", h >> 32)
}

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Vault refused or could not be reached: the daemon keeps trying; its leases lapse if it
    /// cannot renew in time.
    #[error("{0}")]
    Store(#[from] VaultError),
    /// A record is not what Warden writes: someone edited it by hand.
    #[error(
        "the cluster record at {path} cannot be read ({detail}); delete it with `bao kv delete` \
         if nothing else uses it, the daemons rewrite it"
    )]
    Corrupt {
        /// The store path.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// Another process on another host uses this daemon's id.
    #[error(
        "another wardend (on {host}, pid {pid}) uses the daemon id {daemon} and is live; give each \
         daemon its own daemon.id (or its own state directory) and restart this one"
    )]
    DuplicateId {
        /// The id.
        daemon: String,
        /// The other process's host.
        host: String,
        /// Its pid.
        pid: u32,
    },
    /// Writers kept changing the members document: retry at the next heartbeat.
    #[error("the members document kept changing under this daemon's heartbeat; retrying")]
    Contended,
    /// The lease is no longer this daemon's.
    #[error(
        "the lease of {instance} is no longer this daemon's (now {holder}); it stops working on it"
    )]
    LeaseLost {
        /// The instance.
        instance: String,
        /// Who holds it now (`nobody` when released or gone).
        holder: String,
    },
}

fn decode<T: DeserializeOwned>(path: &str, value: serde_json::Value) -> Result<T, ClusterError> {
    serde_json::from_value(value).map_err(|e| ClusterError::Corrupt {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

fn encode<T: Serialize>(path: &str, value: &T) -> Result<serde_json::Value, ClusterError> {
    serde_json::to_value(value).map_err(|e| ClusterError::Corrupt {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// Reads the members document (empty when never written).
pub async fn members<S: SecretStore>(store: &S) -> Result<(u64, Members), ClusterError> {
    match store.read_json(MEMBERS_PATH).await? {
        None => Ok((0, Members::default())),
        Some(v) => Ok((v.version, decode(MEMBERS_PATH, v.value)?)),
    }
}

/// What a change of the members document decided.
enum Change {
    /// Write the changed document.
    Write,
    /// Nothing to write.
    Keep,
}

/// Reads the members document, lets `change` edit it, drops heartbeats expired long ago and
/// writes it back with check-and-set; a write lost to another daemon's is retried after a
/// short random pause (every daemon writes this one document on the same period).
async fn update_members<S: SecretStore>(
    store: &S,
    now: DateTime<Utc>,
    mut change: impl FnMut(&mut Members) -> Result<Change, ClusterError>,
) -> Result<Members, ClusterError> {
    for attempt in 0..HEARTBEAT_TRIES {
        if attempt > 0 {
            let ms = rand::random_range(10..50 * u64::from(attempt));
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        let (version, mut doc) = members(store).await?;
        if let Change::Keep = change(&mut doc)? {
            return Ok(doc);
        }
        doc.forget_older_than(now, FORGET_AFTER);
        let value = encode(MEMBERS_PATH, &doc)?;
        match store.write_json_cas(MEMBERS_PATH, &value, version).await {
            Ok(_) => return Ok(doc),
            Err(VaultError::CasConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ClusterError::Contended)
}

/// Writes this daemon's heartbeat and returns the document as written. A live heartbeat of
/// another incarnation under the same id from another host is a
/// [`ClusterError::DuplicateId`]; one from this host is a previous run of this daemon and is
/// replaced.
pub async fn heartbeat<S: SecretStore>(
    store: &S,
    daemon: &str,
    me: &Member,
    now: DateTime<Utc>,
    skew: TimeDelta,
) -> Result<Members, ClusterError> {
    update_members(store, now, |doc| {
        if let Some(other) = doc.members.get(daemon)
            && other.incarnation != me.incarnation
            && other.host != me.host
            && other.expires_at + skew > now
        {
            return Err(ClusterError::DuplicateId {
                daemon: daemon.to_owned(),
                host: other.host.clone(),
                pid: other.pid,
            });
        }
        doc.members.insert(daemon.to_owned(), me.clone());
        Ok(Change::Write)
    })
    .await
}

/// Removes this daemon's heartbeat (a clean stop), so the others take its instances at once.
pub async fn leave<S: SecretStore>(
    store: &S,
    me: &Identity,
    now: DateTime<Utc>,
) -> Result<(), ClusterError> {
    update_members(store, now, |doc| match doc.members.get(&me.daemon) {
        Some(m) if m.incarnation == me.incarnation => {
            doc.members.remove(&me.daemon);
            Ok(Change::Write)
        }
        _ => Ok(Change::Keep),
    })
    .await
    .map(drop)
}

/// Reads an instance's lease with its version.
pub async fn read_lease<S: SecretStore>(
    store: &S,
    instance: &str,
) -> Result<Option<(u64, Lease)>, ClusterError> {
    let path = lease_path(instance);
    match store.read_json(&path).await? {
        None => Ok(None),
        Some(v) => Ok(Some((v.version, decode(&path, v.value)?))),
    }
}

/// The result of trying to take an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// This daemon holds it under `fence` (already, or now).
    Holding {
        /// The fencing counter.
        fence: u64,
        /// Whom it was taken from (`None`: it held it already, or nobody did).
        from: Option<String>,
        /// Whether this call took it.
        new: bool,
    },
    /// Another live daemon holds it, or won the race for it.
    Busy {
        /// That daemon.
        owner: String,
    },
}

/// Takes `instance`'s lease for `me` when it is free, released or its holder is gone (one
/// check-and-set write; a lost race is [`Taken::Busy`]).
pub async fn acquire<S: SecretStore>(
    store: &S,
    instance: &str,
    me: &Identity,
    members: &Members,
    now: DateTime<Utc>,
    skew: TimeDelta,
) -> Result<Taken, ClusterError> {
    let current = read_lease(store, instance).await?;
    match claim(
        current.as_ref().map(|(v, l)| (*v, l)),
        me,
        members,
        now,
        skew,
    ) {
        Claim::Held { fence } => Ok(Taken::Holding {
            fence,
            from: None,
            new: false,
        }),
        Claim::Busy { owner } => Ok(Taken::Busy { owner }),
        Claim::Take { cas, fence, from } => {
            let lease = Lease {
                instance: instance.to_owned(),
                owner: me.daemon.clone(),
                incarnation: me.incarnation.clone(),
                fence,
                acquired_at: now,
                released: false,
            };
            let path = lease_path(instance);
            let value = encode(&path, &lease)?;
            match store.write_json_cas(&path, &value, cas).await {
                Ok(_) => Ok(Taken::Holding {
                    fence,
                    from,
                    new: true,
                }),
                Err(VaultError::CasConflict { .. }) => {
                    let owner = read_lease(store, instance)
                        .await?
                        .map_or_else(|| "unknown".to_owned(), |(_, l)| l.owner);
                    Ok(Taken::Busy { owner })
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Checks that `me` still holds `instance` under `fence`: right before a job writes.
pub async fn confirm<S: SecretStore>(
    store: &S,
    instance: &str,
    me: &Identity,
    fence: u64,
) -> Result<(), ClusterError> {
    let current = read_lease(store, instance).await?;
    if still_held(current.as_ref().map(|(_, l)| l), me, fence) {
        return Ok(());
    }
    Err(ClusterError::LeaseLost {
        instance: instance.to_owned(),
        holder: match current {
            Some((_, l)) if !l.released => l.owner,
            _ => "nobody".to_owned(),
        },
    })
}

/// Gives `instance` back (check-and-set on the lease this daemon holds under `fence`): another
/// daemon may take it at once. Already lost: nothing to do.
pub async fn release<S: SecretStore>(
    store: &S,
    instance: &str,
    me: &Identity,
    fence: u64,
) -> Result<(), ClusterError> {
    let Some((version, lease)) = read_lease(store, instance).await? else {
        return Ok(());
    };
    if !still_held(Some(&lease), me, fence) {
        return Ok(());
    }
    let path = lease_path(instance);
    let value = encode(
        &path,
        &Lease {
            released: true,
            ..lease
        },
    )?;
    match store.write_json_cas(&path, &value, version).await {
        Ok(_) | Err(VaultError::CasConflict { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::MemoryStore;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap() + TimeDelta::seconds(s)
    }

    const SKEW: TimeDelta = TimeDelta::seconds(2);
    const TTL: TimeDelta = TimeDelta::seconds(30);

    fn id(daemon: &str, inc: &str) -> Identity {
        Identity {
            daemon: daemon.into(),
            incarnation: inc.into(),
        }
    }

    fn beat(inc: &str, host: &str, at: i64) -> Member {
        Member {
            incarnation: inc.into(),
            host: host.into(),
            pid: 42,
            version: "0.1.0".into(),
            started_at: t(0),
            renewed_at: t(at),
            expires_at: t(at) + TTL,
            instances: 0,
        }
    }

    /// A store where `host-a` and `host-b` both wrote a heartbeat at `t(0)`; the document.
    async fn two_daemons() -> (MemoryStore, Identity, Identity, Members) {
        let store = MemoryStore::new();
        heartbeat(&store, "host-a", &beat("a1", "ha", 0), t(0), SKEW)
            .await
            .unwrap();
        let doc = heartbeat(&store, "host-b", &beat("b1", "hb", 0), t(0), SKEW)
            .await
            .unwrap();
        (store, id("host-a", "a1"), id("host-b", "b1"), doc)
    }

    #[tokio::test]
    async fn two_daemons_race_for_an_instance_and_one_wins_then_a_dead_ones_lease_moves_with_a_higher_fence()
     {
        let (store, a, b, doc) = two_daemons().await;
        assert_eq!(doc.live(t(1), SKEW), ["host-a", "host-b"]);

        let first = acquire(&store, "alpha", &a, &doc, t(1), SKEW)
            .await
            .unwrap();
        assert_eq!(
            first,
            Taken::Holding {
                fence: 1,
                from: None,
                new: true
            }
        );
        let second = acquire(&store, "alpha", &b, &doc, t(1), SKEW)
            .await
            .unwrap();
        assert_eq!(
            second,
            Taken::Busy {
                owner: "host-a".into()
            }
        );
        confirm(&store, "alpha", &a, 1).await.unwrap();

        // host-a stops renewing; past its expiry and the skew host-b takes it, fence 2
        let (_, doc) = members(&store).await.unwrap();
        let late = t(0) + TTL + SKEW + TimeDelta::seconds(1);
        let moved = acquire(&store, "alpha", &b, &doc, late, SKEW)
            .await
            .unwrap();
        assert_eq!(
            moved,
            Taken::Holding {
                fence: 2,
                from: Some("host-a".into()),
                new: true
            }
        );
        // the old holder, resumed, finds out before it writes
        let err = confirm(&store, "alpha", &a, 1).await.unwrap_err();
        assert!(
            matches!(&err, ClusterError::LeaseLost { holder, .. } if holder == "host-b"),
            "{err}"
        );
        // and cannot release what it lost
        release(&store, "alpha", &a, 1).await.unwrap();
        confirm(&store, "alpha", &b, 2).await.unwrap();
    }

    #[tokio::test]
    async fn a_released_lease_is_taken_at_once_and_leaving_drops_the_heartbeat() {
        let (store, a, b, doc) = two_daemons().await;
        acquire(&store, "alpha", &a, &doc, t(1), SKEW)
            .await
            .unwrap();
        release(&store, "alpha", &a, 1).await.unwrap();
        let taken = acquire(&store, "alpha", &b, &doc, t(2), SKEW)
            .await
            .unwrap();
        assert_eq!(
            taken,
            Taken::Holding {
                fence: 2,
                from: None,
                new: true
            }
        );
        leave(&store, &a, t(3)).await.unwrap();
        let (_, doc) = members(&store).await.unwrap();
        assert_eq!(doc.live(t(3), SKEW), ["host-b"]);
    }

    #[tokio::test]
    async fn the_same_id_live_on_another_host_is_refused_and_a_restart_on_this_host_is_not() {
        let store = MemoryStore::new();
        heartbeat(&store, "host-a", &beat("a1", "ha", 0), t(0), SKEW)
            .await
            .unwrap();
        let err = heartbeat(&store, "host-a", &beat("x1", "elsewhere", 1), t(1), SKEW)
            .await
            .unwrap_err();
        assert!(matches!(err, ClusterError::DuplicateId { .. }), "{err}");
        assert!(err.to_string().contains("own daemon.id"), "{err}");
        // a restart of the daemon on its own host replaces its old heartbeat
        heartbeat(&store, "host-a", &beat("a2", "ha", 1), t(1), SKEW)
            .await
            .unwrap();
        // once the other host's heartbeat expired, the id is free again
        heartbeat(&store, "host-a", &beat("x1", "elsewhere", 40), t(40), SKEW)
            .await
            .unwrap();
    }

    #[test]
    fn lease_paths_differ_for_names_with_the_same_slug() {
        assert_ne!(lease_path("Prod A"), lease_path("prod-a"));
        assert!(lease_path("Prod A").starts_with("_warden/cluster/leases/prod-a-"));
        assert!(lease_path("!!!").starts_with("_warden/cluster/leases/instance-"));
    }
}
