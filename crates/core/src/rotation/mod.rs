//! Secret rotation: rotate a managed Jamf Pro API client's secret and store it in Vault (KV v2)
//! so that consumers always find a working secret there, even if the daemon is killed at any
//! instant, Vault or Jamf fails midway, or two daemons run by mistake.
//!
//! Jamf mints a secret, shows it once and invalidates the previous one at that moment, so a
//! retried mint is a second rotation. Everything below follows from that.
//!
//! # Protocol ([`RotationEngine::rotate`])
//!
//! 1. **Preflight** ([`Step::Preflight`]): Vault is reachable (the secret's metadata and
//!    current version are read) and every write the rotation will make is allowed
//!    (`sys/capabilities-self` on the exact data, metadata, slot and lock paths:
//!    [`RotationError::WriteNotAllowed`] otherwise, so nothing is minted that could not be
//!    stored); the client exists, is enabled, has exactly the declared roles
//!    (as sets) and is not foreign (`appType` `NATIVE_APP_OAUTH`); the declared roles exist.
//!    Nothing changes before this passes.
//! 2. **Intent** ([`Step::Intent`]): take the lock (below), re-read the marker under it, then
//!    write `state=pending` (time, daemon id, attempt, expiry, base version) into the secret's
//!    custom metadata. An unexpired `pending`/`stored` marker of another daemon means stop
//!    ([`RotationError::Locked`]).
//!    Before a fresh mint, the secret about to be replaced (at `<vault_path>`, or the slot's
//!    path) must still get a token (one token request, invalidated at once): if Jamf refuses
//!    it, it was changed out of band and the rotation stops, nothing minted
//!    ([`RotationError::OutOfBand`], kept in the marker until an operator accepts it with
//!    [`RotationEngine::rotate_with`]).
//! 3. **Mint** ([`Step::Mint`]): `POST /api/v1/api-integrations/{id}/client-credentials`,
//!    exactly once, never retried automatically.
//! 4. **Store** ([`Step::Store`], fired right after the mint returned: the critical window):
//!    write `client_id`, `client_secret`, `jamf_url` and `token_url`
//!    (`<jamf_url>/api/v1/oauth/token`) as a new KV v2 version with check-and-set on the
//!    version read under the lock. Every failure is retried with exponential backoff for
//!    [`RotationConfig::store_retry_budget`] while the secret exists only in memory (in
//!    `SecretString`s, zeroized when dropped). A check-and-set conflict while we hold the lock
//!    means someone wrote by hand (or our own timed-out attempt landed, which is recognised and
//!    adopted): the just-minted secret is the only valid one, so the path is re-read and the
//!    secret written on top, recorded as an [`Anomaly`]. Budget exhausted:
//!    [`RotationError::SecretLost`]. Then `state=stored`.
//! 5. **Verify** ([`Step::Verify`]): get an OAuth token with the new secret, check that its
//!    scope is exactly the declared roles (names mapped to live role ids), make one harmless
//!    read the roles allow if there is one (`Read API Roles` → a roles page, `Read API
//!    Integrations` → an integrations page), invalidate the token.
//! 6. **Finalize** ([`Step::Finalize`]): (alternating: flip, below) `state=ok`, `rotated_at`,
//!    `next_due` (from the [policy](next_due)), `version`; release the lock; return a
//!    [`RotationOutcome`], from which the caller writes the change-log record
//!    ([`RotationOutcome::change_entry`]: client id, Vault path and version, never the secret).
//!
//! # The lock, and a deviation from "the marker is the lock"
//!
//! KV v2 metadata writes have **no** check-and-set, so the `pending` marker cannot exclude a
//! second daemon. The lock is therefore a KV v2 **data** write with check-and-set on
//! `_warden/locks/<instance>/<client-slug>`: read its version `v` (absent → `cas=0`) and write
//! `{daemon, since, attempt, expires_at, token}` with `cas=v`; a conflict means another daemon
//! won ([`RotationError::Locked`]). It is released by a `released` record written with `cas` =
//! our version (so a lock taken over after expiry is never released by its old holder). An
//! expired lock, or one left by the same daemon id (a killed previous run), is taken over. The
//! metadata marker records the intent for recovery and for people (`wardenctl secrets`). The
//! lock lives [`RotationConfig::effective_lock_ttl`], longer than any rotation can take.
//!
//! # Recovery ([`RotationEngine::recover`], also run by `rotate` first)
//!
//! The daemon runs it on its own for every interrupted or unconfirmed rotation it sees (a
//! failed mint whose answer may have been lost, a secret that could not be stored, a stored
//! secret not yet verified), after [`RecoveryBackoff`] delays driven by its clock, independent
//! of the client's schedule; operators can run it now with `wardenctl rotate --recover
//! INSTANCE/CLIENT`.
//!
//! - `pending` and no newer version of the written path: a secret may have been minted and
//!   lost; nobody can hold it, so rotate again ([`Recovery::PendingWithoutNewerVersion`]).
//! - `pending` with a newer version (killed between store and marker), or `stored`: verify that
//!   version, no mint ([`RotationAction::Verified`]); if Jamf rejects it (or its data is not for
//!   the live client), rotate again ([`Recovery::StoredSecretRejected`]).
//! - A failed mint whose old secret still works changed nothing: the marker is put back. If the
//!   old secret is dead (the mint happened, its answer was lost) or that cannot be told, the
//!   marker stays `pending` and recovery rotates again.
//!
//! # Strategies
//!
//! - `single`: one Jamf client; `<vault_path>` holds its credentials. Jamf invalidates the old
//!   secret the instant the new one is minted, so a consumer holding the old secret fails from
//!   the mint until it re-reads Vault after the store (milliseconds to seconds; up to the retry
//!   budget if Vault is down then). Jamf imposes this outage; use `alternating` to avoid it.
//! - `alternating` (zero downtime): two Jamf clients with the same roles, the declared one
//!   (slot `a`) and `<name> (alternate)` (slot `b`, created by the engine when missing, with the
//!   same roles, lifetime and enabled flag). Layout: `<vault_path>` always holds the CURRENT
//!   credentials (one read gives a working secret), `<vault_path>/slots/a` and `/slots/b` each
//!   slot's, and the metadata of `<vault_path>` says `current=a|b`. Warden rotates the IDLE slot,
//!   verifies it, then flips `<vault_path>` and `current`. The previously current secret stays
//!   valid until its slot is rotated next time, so a consumer that re-reads Vault at least once
//!   per rotation period never holds a dead secret.
//!
//! # Guardrails
//!
//! One rotation per client at a time across all daemons (the lock, plus an in-process guard);
//! foreign clients are never rotated ([`RotationError::Foreign`]); only declared clients can be
//! targeted ([`RotationTarget::declared`] → [`RotationError::NotDeclared`]).
//!
//! See `docs/rotation.md` for the consumer's side.

mod adopt;
mod alternating;
mod confirm;
mod engine;
mod error;
mod finalize;
mod flow;
#[doc(hidden)]
pub mod fuzzing;
mod heal;
mod hook;
mod lock;
mod marker;
mod memory;
mod oob;
mod outcome;
mod persist;
mod policy;
mod preflight;
mod report;
mod scope;
mod status;
mod store;
mod target;
mod verify;

pub use adopt::{
    Adoption, AdoptionFacts, AdoptionRecord, adoption_path, read_adoption, write_adoption,
};
pub use confirm::ScopeCheck;
pub use engine::{Clock, LeaseGuard, LeaseRefused, RotationConfig, RotationEngine};
pub use error::{PreflightFailure, RotationError, VerifyFailure};
pub use heal::RecoveryBackoff;
pub use hook::{NoHook, Step, StepContext, StepHook};
pub use lock::lock_path;
pub use marker::{SecretState, Slot, keys};
pub use memory::{Faults, FaultyStore, MemoryStore};
pub use outcome::{Anomaly, Recovery, RotationAction, RotationOutcome};
pub use persist::RetryBudget;
pub use policy::{is_due, next_due};
pub use report::{SECRETS_SCHEMA, SecretRow, SecretsDocument, fmt_when, render_secrets};
pub use scope::{MintedScope, TokenScope};
pub use status::{Refusal, SecretStatus, fmt_age, secret_status};
pub use store::{SecretStore, WriteArea, WriteNeed, grants};
pub use target::{RotationTarget, alternate_name};
pub use verify::token_url;
