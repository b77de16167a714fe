//! Drift checks: fetch an instance's live roles and clients (catalogue cached), validate the
//! desired state against the catalogue, detect drift, and keep the last report per instance.
//!
//! Requests per check in steady state: the live roles and the live clients (fetched at once);
//! the management token is reused until it expires, the privilege catalogue is refetched only
//! when older than [`CATALOGUE_MAX_AGE`], on demand, or when the desired state names a
//! privilege the cached catalogue lacks (Jamf may have been upgraded since).
//!
//! The scheduled check writes a change-log record only when drift appears, changes or is
//! resolved: [`DriftState`] remembers the fingerprint it last recorded per instance, in the
//! state directory, so a restart does not record the same drift again.

mod alert;
mod plan;
mod proposed;
mod scope;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::{Config, Instance};
use warden_core::drift::{
    self, CatalogueChange, CatalogueInfo, CheckSource, DriftItem, InstanceDrift, Live,
};
use warden_core::protocol::ErrorCode;

pub use plan::awaiting_review;
pub use proposed::{Substituted, substitute};
pub use state::DriftState;

use super::ServiceError;
use super::changes::{Changes, ChangesError};
use super::instances::{Catalogue, InstanceError, Instances};
use super::rotation::{Rotation, targets};
use crate::runtime::lifecycle::Lifecycle;
use warden_core::rotation::{MintedScope, TokenScope};

/// A cached catalogue older than this is fetched again.
pub const CATALOGUE_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// A cached catalogue younger than this is not refetched because of an unknown privilege.
const CATALOGUE_MIN_AGE_FOR_RETRY: Duration = Duration::from_secs(600);
/// A catalogue change is shown in drift and audit reports this long after it was seen (and
/// for as long as a declared role still names a privilege it removed).
const CATALOGUE_CHANGE_SHOWN: chrono::Duration = chrono::Duration::days(14);
/// Which declared clients Warden has rotated is read from Vault again after this long.
const ROTATED_MAX_AGE: Duration = Duration::from_secs(3600);

/// Why the live state of an instance could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error(transparent)]
    Instance(#[from] InstanceError),
    #[error(
        "the desired state of {instance} is invalid; fix it first (nothing was changed):\n{}",
        problems.join("\n")
    )]
    Invalid {
        instance: String,
        problems: Vec<String>,
    },
    #[error("the check of {instance} failed: {message}")]
    Check { instance: String, message: String },
    #[error(transparent)]
    Record(#[from] ChangesError),
}

impl ServiceError for DriftError {
    fn code(&self) -> ErrorCode {
        match self {
            DriftError::Instance(e) => e.code(),
            DriftError::Invalid { .. } => ErrorCode::BadRequest,
            DriftError::Check { .. } => ErrorCode::Unavailable,
            DriftError::Record(e) => e.code(),
        }
    }
}

/// What one fetch found.
pub struct Checked {
    /// Live roles and clients (Warden's own and the alternates excluded) and the catalogue.
    pub live: Live,
    /// Declared clients Warden has rotated.
    pub rotated: BTreeMap<String, DateTime<Utc>>,
    /// Declared clients adopted and held until a cutover, with the reason.
    pub adopted: BTreeMap<String, String>,
    /// The roles each declared client's current secret was minted with (absent: unknown).
    pub scopes: BTreeMap<String, MintedScope>,
    /// What tokens of the stored secrets showed they cover (better evidence than `scopes`);
    /// filled by a drift check ([`Drift::check`]), from the cache otherwise.
    pub tokens: BTreeMap<String, TokenScope>,
    /// The catalogue's evidence.
    pub catalogue: CatalogueInfo,
    /// The live state as Jamf has it, Warden's own objects included; only for the audit
    /// ([`Drift::fetch_full`]), `None` otherwise (a drift check never reads it).
    pub full: Option<Live>,
    /// Names Warden keeps itself and `live` leaves out: its management client and the roles
    /// only it holds, and the `(alternate)` twins.
    pub warden_owned: BTreeSet<String>,
}

/// The change-log record of a drift transition (`after`).
#[derive(Serialize)]
struct DriftRecord<'a> {
    status: &'static str,
    fingerprint: String,
    items: &'a [DriftItem],
    by_kind: BTreeMap<&'a str, usize>,
    invalid: &'a [String],
}

/// The drift service.
pub struct Drift {
    instances: Arc<Instances>,
    rotation: Arc<Rotation>,
    changes: Arc<Changes>,
    lifecycle: Arc<Lifecycle>,
    /// Bounds the instances checked at once (`daemon.max_concurrent_checks`); the audit,
    /// plan and import take their slots here too.
    slots: Arc<Semaphore>,
    state: Mutex<DriftState>,
    /// One catalogue comparison at a time, so a change seen by two fetches is recorded once.
    catalogue_seen: tokio::sync::Mutex<()>,
}

impl Drift {
    pub fn new(
        config: &Config,
        instances: Arc<Instances>,
        rotation: Arc<Rotation>,
        changes: Arc<Changes>,
        lifecycle: Arc<Lifecycle>,
    ) -> Drift {
        Drift {
            instances,
            rotation,
            changes,
            lifecycle,
            slots: Arc::new(Semaphore::new(config.daemon.max_concurrent_checks as usize)),
            state: Mutex::new(DriftState::load(&config.daemon.state_dir)),
            catalogue_seen: tokio::sync::Mutex::new(()),
        }
    }

    /// A check slot: at most `daemon.max_concurrent_checks` instances are read at once.
    pub async fn slot(&self) -> Option<SemaphorePermit<'_>> {
        self.slots.acquire().await.ok()
    }

    /// A check slot a spawned task can own.
    pub async fn owned_slot(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.slots).acquire_owned().await.ok()
    }

    /// The drift state (last reports, recorded fingerprints).
    pub fn state(&self) -> MutexGuard<'_, DriftState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last drift report of `instance`, or one saying it was never checked.
    pub fn last(&self, instance: &str) -> InstanceDrift {
        self.state()
            .last(instance)
            .unwrap_or_else(|| InstanceDrift::never_checked(instance))
    }

    /// Fetches the live state of `inst` with the management client.
    pub async fn fetch(&self, inst: &Instance, refresh: bool) -> Result<Checked, DriftError> {
        self.fetch_with(inst, refresh, false, true).await
    }

    /// [`fetch`](Self::fetch), also keeping the full live state (Warden's own objects
    /// included) for the audit.
    pub async fn fetch_full(&self, inst: &Instance) -> Result<Checked, DriftError> {
        self.fetch_with(inst, false, true, true).await
    }

    /// `rotated_cache`: use and keep the per-instance cache of which declared clients Warden
    /// has rotated; off for a proposed desired state, whose clients are not the loaded ones.
    async fn fetch_with(
        &self,
        inst: &Instance,
        refresh: bool,
        keep_full: bool,
        rotated_cache: bool,
    ) -> Result<Checked, DriftError> {
        let name = inst.name.as_str();
        let jamf = self.instances.management_client(name).await?;
        let cached = (!refresh)
            .then(|| self.instances.catalogue(name, CATALOGUE_MAX_AGE))
            .flatten();
        let (roles, clients, fetched) =
            tokio::join!(jamf.list_roles(), jamf.list_integrations(), async {
                match cached {
                    Some(_) => Ok(None),
                    None => jamf.list_privileges().await.map(Some),
                }
            });
        let unreachable = |e| self.instances.note_error(name, e);
        let (mut roles, mut clients) = (roles.map_err(unreachable)?, clients.map_err(unreachable)?);
        let full = keep_full.then(|| (roles.clone(), clients.clone()));
        let catalogue = match (cached, fetched.map_err(unreachable)?) {
            (Some(c), _) => c,
            (None, Some(privileges)) => {
                let catalogue = self.instances.store_catalogue(name, privileges);
                self.observe_catalogue(inst, &catalogue).await;
                catalogue
            }
            (None, None) => {
                return Err(DriftError::Check {
                    instance: inst.name.clone(),
                    message: "no privilege catalogue was fetched; retry the check".to_owned(),
                });
            }
        };
        // Warden's own management role and client, and the alternates it keeps for
        // alternating clients, are Warden's: neither drift nor, with prune, something to delete.
        let warden_owned = warden_core::management::split_warden_owned(
            &inst.desired_state,
            &mut roles,
            &mut clients,
        );
        self.instances.note_reachable(name);
        let (rotated, scopes) = self.rotated(inst, rotated_cache).await;
        let adopted = self.adopted(inst, &rotated, rotated_cache).await;
        let tokens = if rotated_cache {
            self.instances.token_scopes(name)
        } else {
            BTreeMap::new()
        };
        let privileges = catalogue.privileges;
        Ok(Checked {
            full: full.map(|(roles, clients)| Live {
                roles,
                clients,
                privileges: privileges.clone(),
            }),
            live: Live {
                roles,
                clients,
                privileges,
            },
            rotated,
            adopted,
            scopes,
            tokens,
            catalogue: catalogue.info,
            warden_owned,
        })
    }

    /// Compares a freshly fetched catalogue with the one the instance was last seen with (kept
    /// in the drift state, across restarts); a different one is a Jamf upgrade: recorded once
    /// in the change log (`catalogue_changed`, added and removed names, declared roles
    /// affected) and kept for the drift and audit reports. A failed record is retried at the
    /// next fetch (nothing is noted until it is written).
    async fn observe_catalogue(&self, inst: &Instance, catalogue: &Catalogue) {
        let name = inst.name.as_str();
        let _one = self.catalogue_seen.lock().await;
        let change = {
            let state = self.state();
            if state.catalogue_known(name, &catalogue.info.sha256) {
                return;
            }
            state.catalogue_change(
                name,
                &catalogue.info,
                &catalogue.privileges,
                &inst.desired_state,
            )
        };
        if let Some(change) = &change {
            let entry = ChangeEntry::new(
                Actor::Daemon,
                ObjectRef::named(ObjectKind::Instance, name),
                Action::CatalogueChanged,
                Outcome::Ok,
            )
            .instance(name)
            .after(serde_json::to_value(change).unwrap_or_default());
            if let Err(e) = self.changes.record(entry).await {
                tracing::warn!(instance = name, error = %e, "cannot record a catalogue change; retried at the next fetch");
                return;
            }
            tracing::warn!(
                instance = name,
                added = change.added.len(),
                removed = change.removed.len(),
                roles_affected = change.affected.len(),
                "the privilege catalogue changed (Jamf upgrade?)"
            );
        }
        let mut state = self.state();
        state.catalogue_seen(name, &catalogue.info, &catalogue.privileges, change);
        state.save();
    }

    /// The last catalogue change of `inst`, as drift and audit reports show it.
    pub fn catalogue_change(&self, inst: &Instance) -> Option<CatalogueChange> {
        self.state().shown_catalogue_change(
            &inst.name,
            &inst.desired_state,
            self.lifecycle.now(),
            CATALOGUE_CHANGE_SHOWN,
        )
    }

    /// Declared clients Warden has rotated, and the roles their current secrets were minted
    /// with (cached; see [`ROTATED_MAX_AGE`]).
    async fn rotated(
        &self,
        inst: &Instance,
        cached: bool,
    ) -> (
        BTreeMap<String, DateTime<Utc>>,
        BTreeMap<String, MintedScope>,
    ) {
        let name = inst.name.as_str();
        if cached
            && let (Some(set), Some(scopes)) = (
                self.instances.rotated(name, ROTATED_MAX_AGE),
                self.instances.scopes(name, ROTATED_MAX_AGE),
            )
        {
            return (set, scopes);
        }
        let mut set = BTreeMap::new();
        let mut scopes = BTreeMap::new();
        let mut complete = true;
        for target in targets(inst) {
            match self.rotation.status(&target).await {
                Ok(s) => {
                    if let Some(at) = s.rotated_at {
                        set.insert(target.client.name.clone(), at);
                    }
                    if let Some(scope) = s.scope {
                        scopes.insert(target.client.name.clone(), scope);
                    }
                }
                Err(_) => complete = false,
            }
        }
        if complete && cached {
            self.instances.remember_rotated(name, set.clone());
            self.instances.remember_scopes(name, scopes.clone());
        }
        (set, scopes)
    }

    /// The drift of `inst` in `checked`: desired against live, plus `scope_stale` for
    /// clients whose secret was minted with other roles than they hold now.
    pub fn detect(inst: &Instance, checked: &Checked) -> drift::DriftReport {
        let mut report = drift::detect(
            &inst.desired_state,
            &checked.live,
            &|name: &str| checked.rotated.contains_key(name),
            inst.prune,
        );
        report.items.extend(drift::stale_scopes(
            &inst.desired_state,
            &checked.live,
            &checked.evidence(),
        ));
        report
    }

    /// The plan for `inst` from `checked`, rotating clients whose scope is stale.
    pub fn plan(inst: &Instance, checked: &Checked) -> drift::Plan {
        let mut plan = drift::plan(&inst.desired_state, &checked.live, inst.prune);
        let stale = drift::stale_scopes(&inst.desired_state, &checked.live, &checked.evidence());
        drift::rotate_stale_scopes(&mut plan, &stale, &checked.live);
        plan
    }

    /// Declared clients not rotated by Warden that are adopted and held, with the reason
    /// (cached like the rotated set; a cutover, a switch, a rotation or a reload drops the
    /// cache, so only a cutover time passing shows up to [`ROTATED_MAX_AGE`] late here, never
    /// in the rotation job, which reads Vault).
    async fn adopted(
        &self,
        inst: &Instance,
        rotated: &BTreeMap<String, DateTime<Utc>>,
        cached: bool,
    ) -> BTreeMap<String, String> {
        if cached && let Some(held) = self.instances.adopted(&inst.name, ROTATED_MAX_AGE) {
            return held;
        }
        let mut out = BTreeMap::new();
        let mut complete = true;
        for target in targets(inst) {
            if rotated.contains_key(&target.client.name) {
                continue;
            }
            match self.rotation.status(&target).await {
                Ok(s) => {
                    if let Some(a) = s.adoption {
                        out.insert(target.client.name.clone(), a.reason().to_owned());
                    }
                }
                Err(_) => complete = false,
            }
        }
        if complete && cached {
            self.instances.remember_adopted(&inst.name, out.clone());
        }
        out
    }

    /// Checks one instance now: fetch, validate, detect. Never fails: a failure is the
    /// report's `error`.
    pub async fn check(
        &self,
        inst: &Instance,
        source: CheckSource,
        refresh: bool,
    ) -> InstanceDrift {
        let mut out = InstanceDrift::never_checked(&inst.name);
        out.source = source;
        out.checked_at = Some(self.lifecycle.now());
        let mut checked = match self.fetch(inst, refresh).await {
            Ok(c) => c,
            Err(e) => {
                let message = e.to_string();
                self.instances.note_failure(&inst.name, message.clone());
                out.error = Some(message);
                return out;
            }
        };
        let mut invalid = drift::validate(&inst.desired_state, &checked.live.privileges).err();
        if invalid.is_some()
            && !refresh
            && self
                .instances
                .catalogue_older_than(&inst.name, CATALOGUE_MIN_AGE_FOR_RETRY)
        {
            // the catalogue may predate a Jamf upgrade that added the privilege: fetch it
            // again once
            match self.fetch(inst, true).await {
                Ok(c) => {
                    checked = c;
                    invalid = drift::validate(&inst.desired_state, &checked.live.privileges).err();
                }
                Err(e) => {
                    out.error = Some(e.to_string());
                    return out;
                }
            }
        }
        self.confirm_scopes(inst, &mut checked).await;
        out.invalid = invalid
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        out.report = Self::detect(inst, &checked);
        out.report.hold_adopted(&checked.adopted);
        out.catalogue = Some(checked.catalogue);
        out.catalogue_change = self.catalogue_change(inst);
        out
    }

    /// Checks `selected` instances of `config` now, at most `daemon.max_concurrent_checks` at
    /// once, keeping each report as the instance's last one; answers in the order given.
    pub async fn check_many(
        self: &Arc<Self>,
        config: &Arc<Config>,
        selected: Vec<usize>,
        refresh: bool,
    ) -> Vec<InstanceDrift> {
        let mut tasks = tokio::task::JoinSet::new();
        for (n, index) in selected.into_iter().enumerate() {
            // the tasks share the config snapshot: copying an instance copies its desired state
            let (drift, config) = (Arc::clone(self), Arc::clone(config));
            // a task starts only with a slot: a thousand parked check futures cost megabytes
            let slot = self.owned_slot().await;
            tasks.spawn(async move {
                let _slot = slot;
                let inst = &config.instances[index];
                let report = drift.check(inst, CheckSource::Now, refresh).await;
                (n, report)
            });
        }
        let mut out = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(pair) => out.push(pair),
                Err(e) => tracing::error!(error = %e, "a drift check task failed"),
            }
        }
        out.sort_by_key(|(n, _)| *n);
        let reports: Vec<InstanceDrift> = out.into_iter().map(|(_, r)| r).collect();
        let mut state = self.state();
        for r in &reports {
            state.keep(r.clone());
        }
        state.save();
        reports
    }

    /// The scheduled check of one instance: check, keep the report, and record in the change
    /// log when drift appeared, changed or was resolved. Returns the report.
    pub async fn scheduled_check(&self, inst: &Instance) -> Result<InstanceDrift, DriftError> {
        let report = {
            let _slot = self.slot().await;
            self.check(inst, CheckSource::Scheduled, false).await
        };
        self.record_transition(&report, &format!("drift:{}", inst.name))
            .await?;
        Ok(report)
    }

    /// Keeps `report` and writes the change-log record its transition calls for.
    pub async fn record_transition(
        &self,
        report: &InstanceDrift,
        job: &str,
    ) -> Result<(), DriftError> {
        let transition = {
            let mut state = self.state();
            state.keep(report.clone());
            state.transition(report)
        };
        if let Some(t) = transition {
            let by_kind = report
                .report
                .items
                .iter()
                .fold(BTreeMap::new(), |mut m, i| {
                    *m.entry(i.kind.as_str()).or_default() += 1;
                    m
                });
            let after = DriftRecord {
                status: t.as_str(),
                fingerprint: report.fingerprint(),
                items: &report.report.items,
                by_kind,
                invalid: &report.invalid,
            };
            let entry = ChangeEntry::new(
                Actor::Schedule {
                    job: job.to_owned(),
                },
                ObjectRef::named(ObjectKind::Instance, &report.instance),
                Action::Drift,
                Outcome::Ok,
            )
            .instance(&report.instance)
            .after(serde_json::to_value(&after).unwrap_or_default());
            self.changes.record(entry).await?;
            self.state().recorded(report);
            self.alert(report, t);
        }
        self.state().save();
        Ok(())
    }

    /// Fetches the live state with a check slot, for a read-only request (plan, import).
    pub async fn fetch_for_request(
        &self,
        inst: &Instance,
        refresh: bool,
    ) -> Result<Checked, DriftError> {
        let _slot = self.slot().await;
        self.fetch(inst, refresh).await
    }

    /// Fails with [`DriftError::Invalid`] when the desired state of `inst` names privileges
    /// the catalogue in `checked` lacks.
    pub fn validate(inst: &Instance, checked: &Checked) -> Result<(), DriftError> {
        drift::validate(&inst.desired_state, &checked.live.privileges).map_err(|errors| {
            DriftError::Invalid {
                instance: inst.name.clone(),
                problems: errors.iter().map(ToString::to_string).collect(),
            }
        })
    }
}
