//! Stale scope: Jamf gives a client's tokens the scope of the roles it held when its secret was
//! minted, so a client whose roles changed since keeps the old scope (a removed role keeps
//! working, an added one does not) until a new secret. The rotation engine records the role
//! set at mint ([`MintedScope`]); this compares it with the live roles: drift kind
//! `scope_stale`, and a `rotate_secret` step in the plan. A secret rotated before Warden
//! recorded its roles has an unknown scope: no item (never a guess).

use std::collections::BTreeMap;

use serde_json::json;

use super::matching::Renames;
use super::plan::{Action, Plan, PlanStep};
use super::{DriftItem, DriftKind, Live, ObjectKind, is_foreign_client};
use crate::config::DesiredState;
use crate::jamf::AppType;
use crate::rotation::MintedScope;

/// One `scope_stale` item per enabled declared client with a secret whose live roles differ
/// from the roles its current secret covers (`minted`, by declared client name). `before`:
/// the roles the secret covers (`{"digest": ...}` when only a digest was recorded); `after`:
/// the live roles it does not cover.
pub fn stale_scopes(
    desired: &DesiredState,
    live: &Live,
    minted: &BTreeMap<String, MintedScope>,
) -> Vec<DriftItem> {
    let renames = Renames::find(desired, live);
    let mut items = Vec::new();
    for client in desired.clients.iter().filter(|c| c.enabled) {
        let Some(scope) = minted.get(&client.name) else {
            continue;
        };
        let Some((have, _)) = renames.client(live, &client.name) else {
            continue;
        };
        if is_foreign_client(have)
            || !have.enabled
            || have.app_type != AppType::ClientCredentials
            || scope.matches(&have.authorization_scopes)
        {
            continue;
        }
        let (before, not_covered) = match scope.roles() {
            Some(covered) => (
                json!(covered),
                have.authorization_scopes
                    .iter()
                    .filter(|r| !covered.contains(r))
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
            None => (
                json!({ "digest": scope.encode() }),
                have.authorization_scopes.clone(),
            ),
        };
        items.push(DriftItem {
            kind: DriftKind::ScopeStale,
            object: ObjectKind::Client,
            name: client.name.clone(),
            field: Some("secret".to_owned()),
            before: Some(before),
            after: Some(json!(not_covered)),
            managed: true,
        });
    }
    items
}

/// Adds a `rotate_secret` step for every `scope_stale` item of `items` the plan does not
/// rotate already, after the role and client updates and before any deletion.
pub fn rotate_stale_scopes(plan: &mut Plan, items: &[DriftItem], live: &Live) {
    let at = plan
        .steps
        .iter()
        .position(|s| matches!(s.action, Action::DeleteClient | Action::DeleteRole))
        .unwrap_or(plan.steps.len());
    let mut added = Vec::new();
    for item in items.iter().filter(|i| i.kind == DriftKind::ScopeStale) {
        let rotated = plan
            .steps
            .iter()
            .any(|s| s.action == Action::RotateSecret && s.name == item.name);
        if rotated {
            continue;
        }
        let id = live
            .clients
            .iter()
            .find(|c| c.display_name.eq_ignore_ascii_case(&item.name))
            .map(|c| c.id.to_string());
        added.push(PlanStep {
            action: Action::RotateSecret,
            name: item.name.clone(),
            id,
            body: None,
            diff: None,
            note: Some(
                "the secret was minted with other roles: its tokens keep that scope until a new \
                 secret (scope_stale)"
                    .to_owned(),
            ),
        });
    }
    plan.steps.splice(at..at, added);
}
