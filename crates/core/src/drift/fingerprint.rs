//! The fingerprints a saved plan carries, so `apply --plan` can refuse a plan the live or
//! desired state has moved away from.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::catalogue::hex;
use super::{Live, Plan};
use crate::config::DesiredState;

/// What a plan was made from, as SHA-256 digests (hex). Two plans with the same fingerprints
/// have the same steps; none of them reveals anything secret (no secret is an input).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFingerprints {
    /// The live roles and clients the plan was made against (Warden's own left out; order,
    /// which Jamf does not keep, ignored).
    pub live: String,
    /// The merged desired state and `prune` the plan was made from.
    pub desired: String,
    /// The plan's steps.
    pub plan: String,
}

impl PlanFingerprints {
    /// The fingerprints of `plan`, made from `desired` (with `prune`) against `live`.
    pub fn of(desired: &DesiredState, prune: bool, live: &Live, plan: &Plan) -> PlanFingerprints {
        PlanFingerprints {
            live: live_fingerprint(live),
            desired: desired_fingerprint(desired, prune),
            plan: digest(&plan.steps),
        }
    }

    /// What differs from `other`, in words (`the live state`, `the desired state`, `the
    /// plan`); empty when nothing does.
    pub fn differences(&self, other: &PlanFingerprints) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.live != other.live {
            out.push("the live state in Jamf");
        }
        if self.desired != other.desired {
            out.push("the loaded desired state");
        }
        if self.plan != other.plan && out.is_empty() {
            out.push("the plan");
        }
        out
    }
}

/// The fingerprint of a desired state and its instance's `prune` setting.
pub fn desired_fingerprint(desired: &DesiredState, prune: bool) -> String {
    digest(&(desired, prune))
}

/// The fingerprint of the live roles and clients, independent of the order Jamf lists them
/// and their members in.
pub fn live_fingerprint(live: &Live) -> String {
    let mut roles: Vec<_> = live
        .roles
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.privileges.sort();
            r
        })
        .collect();
    roles.sort_by(|a, b| (&a.id, &a.display_name).cmp(&(&b.id, &b.display_name)));
    let mut clients: Vec<_> = live
        .clients
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.authorization_scopes.sort();
            c
        })
        .collect();
    clients.sort_by(|a, b| (a.id, &a.display_name).cmp(&(b.id, &b.display_name)));
    digest(&(roles, clients))
}

fn digest<T: Serialize + ?Sized>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    hex(&Sha256::digest(json.as_bytes()))
}
