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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::{Config, Instance, RotationStrategy};
use warden_core::drift::{self, CatalogueInfo, CheckSource, InstanceDrift, Live};
use warden_core::jamf::JamfError;
use warden_core::rotation::alternate_name;

use crate::jobs::management_client;
use crate::rotation::{MANAGEMENT_NAME, targets};
use crate::shared::{Catalogue, Shared};

/// A cached catalogue older than this is fetched again.
pub const CATALOGUE_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// A cached catalogue younger than this is not refetched because of an unknown privilege.
const CATALOGUE_MIN_AGE_FOR_RETRY: Duration = Duration::from_secs(600);
/// Which declared clients Warden has rotated is read from Vault again after this long.
const ROTATED_MAX_AGE: Duration = Duration::from_secs(3600);

/// File of [`DriftState`] in the state directory.
const STATE_FILE: &str = "drift-state.json";

/// What one fetch found.
pub struct Checked {
    /// Live roles and clients (Warden's own and the alternates excluded) and the catalogue.
    pub live: Live,
    /// Declared clients Warden has rotated.
    pub rotated: BTreeMap<String, DateTime<Utc>>,
    /// The catalogue's evidence.
    pub catalogue: CatalogueInfo,
    /// The live state as Jamf has it, Warden's own objects included; only for the audit
    /// ([`fetch_full`]), `None` otherwise (a drift check never reads it).
    pub full: Option<Live>,
    /// Names Warden keeps itself and `live` leaves out: its management client and the roles
    /// only it holds, and the `(alternate)` twins.
    pub warden_owned: BTreeSet<String>,
}

/// Fetches the live state of `inst` with the management client.
pub async fn fetch(
    shared: &Arc<Shared>,
    inst: &Instance,
    refresh: bool,
) -> Result<Checked, String> {
    fetch_with(shared, inst, refresh, false).await
}

/// [`fetch`], also keeping the full live state (Warden's own objects included) for the audit.
pub async fn fetch_full(shared: &Arc<Shared>, inst: &Instance) -> Result<Checked, String> {
    fetch_with(shared, inst, false, true).await
}

async fn fetch_with(
    shared: &Arc<Shared>,
    inst: &Instance,
    refresh: bool,
    keep_full: bool,
) -> Result<Checked, String> {
    let jamf = management_client(shared, &inst.name).await?;
    let cached = cached_catalogue(shared, &inst.name, refresh);
    let (roles, clients, fetched) =
        tokio::join!(jamf.list_roles(), jamf.list_integrations(), async {
            match cached {
                Some(_) => Ok(None),
                None => jamf.list_privileges().await.map(Some),
            }
        });
    let unreachable = |e: JamfError| {
        let mut runtime = shared.instances();
        let rt = runtime.entry(inst.name.clone()).or_default();
        rt.reachable = Some(!matches!(e, JamfError::Transport { .. }));
        rt.last_error = Some(e.to_string());
        e.to_string()
    };
    let (mut roles, mut clients) = (roles.map_err(unreachable)?, clients.map_err(unreachable)?);
    let full = keep_full.then(|| (roles.clone(), clients.clone()));
    let (roles_before, clients_before): (BTreeSet<String>, BTreeSet<String>) = (
        roles.iter().map(|r| r.display_name.clone()).collect(),
        clients.iter().map(|c| c.display_name.clone()).collect(),
    );
    let catalogue = match (cached, fetched.map_err(unreachable)?) {
        (Some(c), _) => c,
        (None, Some(privileges)) => store_catalogue(shared, &inst.name, privileges),
        (None, None) => return Err("internal: no catalogue".to_owned()),
    };
    // Warden's own management role and client, and the alternates it keeps for alternating
    // clients, are Warden's: neither drift nor, with prune, something to delete.
    if inst.desired_state.role(MANAGEMENT_NAME).is_none() {
        roles.retain(|r| r.display_name != MANAGEMENT_NAME);
    }
    if inst.desired_state.client(MANAGEMENT_NAME).is_none() {
        // Undeclared roles Warden's own client holds are Warden's too: not unmanaged drift,
        // and never pruned (Jamf refuses to delete a role in use, which would fail every apply).
        let own: BTreeSet<String> = clients
            .iter()
            .filter(|c| c.display_name == MANAGEMENT_NAME)
            .flat_map(|c| c.authorization_scopes.iter().cloned())
            .collect();
        roles.retain(|r| {
            !own.contains(&r.display_name) || inst.desired_state.role(&r.display_name).is_some()
        });
        clients.retain(|c| c.display_name != MANAGEMENT_NAME);
    }
    let twins: BTreeSet<String> = inst
        .desired_state
        .clients
        .iter()
        .filter(|c| c.rotation.strategy == RotationStrategy::Alternating)
        .map(|c| alternate_name(&c.name))
        .collect();
    clients.retain(|c| !twins.contains(&c.display_name));
    // set differences in n log n: live lists come from Jamf and may be as long as
    // `instance.max_list_objects` (a scan per name was quadratic)
    let (roles_after, clients_after): (BTreeSet<&str>, BTreeSet<&str>) = (
        roles.iter().map(|r| r.display_name.as_str()).collect(),
        clients.iter().map(|c| c.display_name.as_str()).collect(),
    );
    let mut warden_owned: BTreeSet<String> = roles_before
        .into_iter()
        .filter(|n| !roles_after.contains(n.as_str()))
        .collect();
    warden_owned.extend(
        clients_before
            .into_iter()
            .filter(|n| !clients_after.contains(n.as_str())),
    );
    {
        let mut runtime = shared.instances();
        let rt = runtime.entry(inst.name.clone()).or_default();
        rt.reachable = Some(true);
        rt.last_error = None;
        rt.live_roles = Some(roles.len());
        rt.live_clients = Some(clients.len());
    }
    let rotated = rotated(shared, inst).await;
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
        catalogue: catalogue.info,
        warden_owned,
    })
}

fn cached_catalogue(shared: &Shared, instance: &str, refresh: bool) -> Option<Catalogue> {
    if refresh {
        return None;
    }
    let runtime = shared.instances();
    let c = runtime.get(instance)?.catalogue.as_ref()?;
    (c.fetched.elapsed() < CATALOGUE_MAX_AGE).then(|| c.clone())
}

fn store_catalogue(shared: &Shared, instance: &str, privileges: Vec<String>) -> Catalogue {
    let info = CatalogueInfo::of(&privileges, shared.now());
    let privileges = {
        let mut interned = shared.catalogues.lock().unwrap_or_else(|p| p.into_inner());
        interned.retain(|_, weak| weak.strong_count() > 0);
        match interned
            .get(&info.sha256)
            .and_then(std::sync::Weak::upgrade)
        {
            // the hash covers every name in order: the same catalogue
            Some(same) if *same == privileges => same,
            _ => {
                let fresh = Arc::new(privileges);
                interned.insert(info.sha256.clone(), Arc::downgrade(&fresh));
                fresh
            }
        }
    };
    let catalogue = Catalogue {
        info,
        privileges,
        fetched: Instant::now(),
    };
    let mut runtime = shared.instances();
    runtime.entry(instance.to_owned()).or_default().catalogue = Some(catalogue.clone());
    catalogue
}

/// Declared clients Warden has rotated (cached; see [`ROTATED_MAX_AGE`]).
async fn rotated(shared: &Arc<Shared>, inst: &Instance) -> BTreeMap<String, DateTime<Utc>> {
    {
        let runtime = shared.instances();
        if let Some((set, at)) = runtime.get(&inst.name).and_then(|rt| rt.rotated.as_ref())
            && at.elapsed() < ROTATED_MAX_AGE
        {
            return set.clone();
        }
    }
    let mut set = BTreeMap::new();
    let mut complete = true;
    for target in targets(inst) {
        match shared.rotation.status(&target).await {
            Ok(s) => {
                if let Some(at) = s.rotated_at {
                    set.insert(target.client.name.clone(), at);
                }
            }
            Err(_) => complete = false,
        }
    }
    if complete {
        remember_rotated(shared, &inst.name, set.clone());
    }
    set
}

/// Caches which clients of `instance` Warden has rotated, as read from Vault just now.
pub fn remember_rotated(shared: &Shared, instance: &str, set: BTreeMap<String, DateTime<Utc>>) {
    let mut runtime = shared.instances();
    runtime.entry(instance.to_owned()).or_default().rotated = Some((set, Instant::now()));
}

/// Checks one instance now: fetch, validate, detect. Never fails: a failure is the report's
/// `error`.
pub async fn check(
    shared: &Arc<Shared>,
    inst: &Instance,
    source: CheckSource,
    refresh: bool,
) -> InstanceDrift {
    let mut out = InstanceDrift::never_checked(&inst.name);
    out.source = source;
    out.checked_at = Some(shared.now());
    let mut checked = match fetch(shared, inst, refresh).await {
        Ok(c) => c,
        Err(e) => {
            let mut runtime = shared.instances();
            let rt = runtime.entry(inst.name.clone()).or_default();
            rt.last_error = Some(e.clone());
            out.error = Some(e);
            return out;
        }
    };
    let mut invalid = drift::validate(&inst.desired_state, &checked.live.privileges).err();
    if invalid.is_some()
        && !refresh
        && catalogue_older_than(shared, &inst.name, CATALOGUE_MIN_AGE_FOR_RETRY)
    {
        // the catalogue may predate a Jamf upgrade that added the privilege: fetch it again once
        match fetch(shared, inst, true).await {
            Ok(c) => {
                checked = c;
                invalid = drift::validate(&inst.desired_state, &checked.live.privileges).err();
            }
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        }
    }
    out.invalid = invalid
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect();
    out.report = drift::detect(
        &inst.desired_state,
        &checked.live,
        &|name: &str| checked.rotated.contains_key(name),
        inst.prune,
    );
    out.catalogue = Some(checked.catalogue);
    out
}

fn catalogue_older_than(shared: &Shared, instance: &str, age: Duration) -> bool {
    let runtime = shared.instances();
    runtime
        .get(instance)
        .and_then(|rt| rt.catalogue.as_ref())
        .is_none_or(|c| c.fetched.elapsed() >= age)
}

/// Checks `instances` now, at most `daemon.max_concurrent_checks` at once, keeping each report
/// as the instance's last one; answers in the order given.
pub async fn check_many(
    shared: &Arc<Shared>,
    config: &Arc<Config>,
    selected: Vec<usize>,
    refresh: bool,
) -> Vec<InstanceDrift> {
    let mut tasks = tokio::task::JoinSet::new();
    for (n, index) in selected.into_iter().enumerate() {
        // the tasks share the config snapshot: copying an instance copies its desired state
        let (shared, config) = (Arc::clone(shared), Arc::clone(config));
        // a task starts only with a slot: a thousand parked check futures cost megabytes
        let slot = Arc::clone(&shared.check_slots).acquire_owned().await;
        tasks.spawn(async move {
            let _slot = slot;
            let inst = &config.instances[index];
            let report = check(&shared, inst, CheckSource::Now, refresh).await;
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
    let mut state = shared.drift_state();
    for r in &reports {
        state.keep(r.clone());
    }
    state.save();
    reports
}

/// The last report per instance and the fingerprint the scheduled check last recorded.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DriftState {
    #[serde(skip)]
    path: Option<PathBuf>,
    #[serde(default)]
    instances: BTreeMap<String, InstanceState>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct InstanceState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<InstanceDrift>,
    /// Fingerprint of the drift last recorded in the change log; `None`: no drift recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recorded: Option<String>,
}

/// What the scheduled check records about a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Drift where there was none.
    Appeared,
    /// Other drift than recorded.
    Changed,
    /// No drift where some was recorded.
    Resolved,
}

impl Transition {
    fn as_str(self) -> &'static str {
        match self {
            Transition::Appeared => "appeared",
            Transition::Changed => "changed",
            Transition::Resolved => "resolved",
        }
    }
}

impl DriftState {
    /// Loads the state from `state_dir`; a missing or unreadable file starts empty (logged).
    pub fn load(state_dir: &Path) -> DriftState {
        let path = state_dir.join(STATE_FILE);
        let mut state: DriftState = crate::state_json::load(&path, "drift state");
        state.path = Some(path);
        state
    }

    /// The last report of `instance`.
    pub fn last(&self, instance: &str) -> Option<InstanceDrift> {
        self.instances.get(instance)?.last.clone()
    }

    /// Keeps `report` as its instance's last one.
    pub fn keep(&mut self, report: InstanceDrift) {
        let entry = self.instances.entry(report.instance.clone()).or_default();
        entry.last = Some(report);
    }

    /// What the scheduled check must record about `report` (a failed check records nothing).
    pub fn transition(&self, report: &InstanceDrift) -> Option<Transition> {
        if report.error.is_some() {
            return None;
        }
        let recorded = self
            .instances
            .get(&report.instance)
            .and_then(|s| s.recorded.as_deref());
        match (recorded, report.has_drift()) {
            (None, true) => Some(Transition::Appeared),
            (Some(fp), true) if fp != report.fingerprint() => Some(Transition::Changed),
            (Some(_), false) => Some(Transition::Resolved),
            _ => None,
        }
    }

    /// Notes that the change log now holds `report`'s drift (or its absence).
    pub fn recorded(&mut self, report: &InstanceDrift) {
        let entry = self.instances.entry(report.instance.clone()).or_default();
        entry.recorded = report.has_drift().then(|| report.fingerprint());
    }

    /// Forgets instances no longer configured.
    pub fn retain(&mut self, configured: &BTreeSet<String>) {
        self.instances.retain(|name, _| configured.contains(name));
    }

    /// Writes the state atomically; errors are logged (the next save retries).
    pub fn save(&self) {
        if let Some(path) = &self.path {
            crate::state_json::save(path, self, "drift state");
        }
    }
}

/// The scheduled check of one instance: check, keep the report, and record in the change log
/// when drift appeared, changed or was resolved. Returns the report.
pub async fn scheduled_check(
    shared: &Arc<Shared>,
    inst: &Instance,
) -> Result<InstanceDrift, String> {
    let report = {
        let _slot = shared.check_slots.acquire().await;
        check(shared, inst, CheckSource::Scheduled, false).await
    };
    record_transition(shared, &report, &format!("drift:{}", inst.name)).await?;
    Ok(report)
}

/// Keeps `report` and writes the change-log record its transition calls for.
pub async fn record_transition(
    shared: &Arc<Shared>,
    report: &InstanceDrift,
    job: &str,
) -> Result<(), String> {
    let transition = {
        let mut state = shared.drift_state();
        state.keep(report.clone());
        state.transition(report)
    };
    if let Some(t) = transition {
        let kinds: BTreeMap<&str, usize> =
            report
                .report
                .items
                .iter()
                .fold(BTreeMap::new(), |mut m, i| {
                    *m.entry(i.kind.as_str()).or_default() += 1;
                    m
                });
        let entry = ChangeEntry::new(
            Actor::Schedule {
                job: job.to_owned(),
            },
            ObjectRef::named(ObjectKind::Instance, &report.instance),
            Action::Drift,
            Outcome::Ok,
        )
        .instance(&report.instance)
        .after(json!({
            "status": t.as_str(),
            "fingerprint": report.fingerprint(),
            "items": report.report.items,
            "by_kind": kinds,
            "invalid": report.invalid,
        }));
        shared.record(entry).await?;
        shared.drift_state().recorded(report);
    }
    shared.drift_state().save();
    Ok(())
}
