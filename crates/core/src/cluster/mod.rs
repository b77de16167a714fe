//! Several `wardend` sharing one fleet through Vault: heartbeats, instance leases with fencing
//! counters, and who should own what. Vault (OpenBao with integrated Raft storage) is the
//! consensus; Warden builds none of its own.
//!
//! # Records (KV v2, below the store's prefix, every write check-and-set)
//!
//! - `_warden/cluster/members`: one document, every daemon's heartbeat keyed by `daemon.id`
//!   ([`Member`]: incarnation, host, pid, version, started, renewed, expires). A daemon renews
//!   its own entry every `renew_every`; its leases stand until `expires_at` (`lease_ttl` after
//!   the renewal). One write per daemon per interval renews all of its leases at once:
//!   renewing 10,000 lease documents every few seconds would be hundreds of Raft writes a
//!   second.
//! - `_warden/cluster/leases/<instance>`: one [`Lease`] per instance: holder id and
//!   incarnation, fencing counter, when taken, released. Written only when the holder changes
//!   (taken, given back), with check-and-set, so two daemons racing for an instance cannot
//!   both win.
//!
//! # Conversation
//!
//! 1. Each tick a daemon writes its heartbeat and reads everyone's ([`heartbeat`]).
//! 2. From the live heartbeats (expired ones count as live for `max_clock_skew` more) every
//!    daemon computes the same owner for each instance ([`assign()`]: rendezvous hashing with
//!    bounded load, even to one instance).
//! 3. It takes the instances assigned to it ([`acquire`]: free, released, or the holder's
//!    heartbeat expired or belongs to an earlier incarnation → check-and-set write with the
//!    fencing counter raised by one) and gives back, when no job of its runs on them, the
//!    instances assigned elsewhere ([`release`]).
//! 4. Before a job writes (a rotation's marker and mint, a Jamf change) it confirms the lease
//!    still names it under the counter it started with ([`confirm`]), and a daemon whose own
//!    heartbeat could not be renewed for `lease_ttl` treats all its leases as lost at once,
//!    by its own monotonic clock, before anyone else may take them.
//!
//! # Why fenced
//!
//! A daemon paused (a long GC-like stall, SIGSTOP, a VM freeze) past its heartbeat's expiry
//! resumes believing it still owns its instances. Its next step re-reads the lease and finds a
//! higher counter and another holder; records it writes carry the counter they ran under, so
//! a new holder can tell a stale writer's marker from its own. Jamf itself cannot check a
//! counter: a pause that falls exactly between the last confirmation and the mint request is
//! the window no lease can close; `docs/ha.md` says what recovery does then.

mod assign;
mod lease;
mod store;

pub use assign::{assign, score};
pub use lease::{Claim, Identity, Lease, Member, Members, claim, still_held};
pub use store::{
    ClusterError, MEMBERS_PATH, Taken, acquire, confirm, heartbeat, lease_path, leave, members,
    read_lease, release,
};
