//! Stale scope: Jamf gives a client's tokens the scope of the roles it held when its secret was
//! minted, so a client whose roles changed since keeps the old scope (a removed role keeps
//! working, an added one does not) until a new secret. Two kinds of evidence, best first:
//! - the `scope` of a token the stored secret got ([`TokenScope`]: role ids, so a renamed role
//!   is still covered and a role deleted and recreated under the same name is not);
//! - the role names the rotation engine recorded at mint ([`MintedScope`]).
//!
//! Either gives drift kind `scope_stale` and a `rotate_secret` step in the plan. A secret with
//! neither (rotated before Warden recorded its roles, and no token to ask) has an unknown
//! scope: no item (never a guess).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::matching::Renames;
use super::plan::{Action, Plan, PlanStep};
use super::{DriftItem, DriftKind, Live, ObjectKind, is_foreign_client};
use crate::config::DesiredState;
use crate::jamf::{ApiIntegration, AppType};
use crate::rotation::{MintedScope, TokenScope};

/// [`DriftItem::evidence`] of an item a token's scope confirmed.
pub const EVIDENCE_TOKEN: &str = "token scope";
/// [`DriftItem::evidence`] of an item from the roles recorded at mint.
pub const EVIDENCE_RECORDED: &str = "recorded at mint";

/// What is known of the scope of each declared client's current secret.
#[derive(Clone, Debug, Default)]
pub struct ScopeEvidence<'a> {
    /// The roles recorded at mint, by declared client name.
    pub minted: Option<&'a BTreeMap<String, MintedScope>>,
    /// The scope of a token the stored secret got, by declared client name; wins over
    /// `minted`.
    pub tokens: Option<&'a BTreeMap<String, TokenScope>>,
}

/// The declared clients whose scope is worth confirming with a token: those the recorded
/// roles call stale, and those rotated with no roles recorded (`rotated`). By declared name.
pub fn scope_candidates(
    desired: &DesiredState,
    live: &Live,
    minted: &BTreeMap<String, MintedScope>,
    rotated: &BTreeSet<String>,
) -> Vec<String> {
    let renames = Renames::find(desired, live);
    desired
        .clients
        .iter()
        .filter(|c| c.enabled)
        .filter_map(|client| {
            let (have, _) = renames.client(live, &client.name)?;
            if !has_scope(have) {
                return None;
            }
            let wanted = match minted.get(&client.name) {
                Some(scope) => !scope.matches(&have.authorization_scopes),
                None => rotated.contains(&client.name),
            };
            wanted.then(|| client.name.clone())
        })
        .collect()
}

/// One `scope_stale` item per enabled declared client with a secret whose live roles differ
/// from the roles its current secret covers. `before`: the roles the secret covers (by live
/// name; `api-role:ID (deleted)` for a role id no longer live; `{"digest": ...}` when only a
/// digest was recorded); `after`: the live roles it does not cover; `evidence`: which of the
/// two kinds of [`ScopeEvidence`] said so.
pub fn stale_scopes(
    desired: &DesiredState,
    live: &Live,
    known: &ScopeEvidence<'_>,
) -> Vec<DriftItem> {
    let renames = Renames::find(desired, live);
    let mut items = Vec::new();
    for client in desired.clients.iter().filter(|c| c.enabled) {
        let Some((have, _)) = renames.client(live, &client.name) else {
            continue;
        };
        if !has_scope(have) {
            continue;
        }
        let token = known.tokens.and_then(|t| t.get(&client.name));
        let found = match token {
            Some(token) => by_token(live, have, token),
            None => known
                .minted
                .and_then(|m| m.get(&client.name))
                .and_then(|scope| by_record(have, scope)),
        };
        let Some((before, not_covered)) = found else {
            continue;
        };
        items.push(DriftItem {
            kind: DriftKind::ScopeStale,
            object: ObjectKind::Client,
            name: client.name.clone(),
            field: Some("secret".to_owned()),
            before: Some(before),
            after: Some(json!(not_covered)),
            managed: true,
            evidence: Some(
                if token.is_some() {
                    EVIDENCE_TOKEN
                } else {
                    EVIDENCE_RECORDED
                }
                .to_owned(),
            ),
        });
    }
    items
}

/// A live client whose tokens carry a scope Warden manages.
fn has_scope(have: &ApiIntegration) -> bool {
    !is_foreign_client(have) && have.enabled && have.app_type == AppType::ClientCredentials
}

/// Covered roles and live roles not covered, by the token's role ids; `None`: not stale.
fn by_token(
    live: &Live,
    have: &ApiIntegration,
    token: &TokenScope,
) -> Option<(serde_json::Value, Vec<String>)> {
    let id_of = |name: &String| {
        live.roles
            .iter()
            .find(|r| &r.display_name == name)
            .map(|r| r.id.clone())
    };
    let live_ids: BTreeSet<String> = have.authorization_scopes.iter().filter_map(id_of).collect();
    if live_ids == token.role_ids && live_ids.len() == have.authorization_scopes.len() {
        return None;
    }
    let covered: Vec<String> = token
        .role_ids
        .iter()
        .map(|id| {
            live.roles
                .iter()
                .find(|r| &r.id == id)
                .map(|r| r.display_name.clone())
                .unwrap_or_else(|| format!("api-role:{id} (deleted)"))
        })
        .collect();
    let not_covered = have
        .authorization_scopes
        .iter()
        .filter(|name| id_of(name).is_none_or(|id| !token.role_ids.contains(&id)))
        .cloned()
        .collect();
    Some((json!(covered), not_covered))
}

/// Covered roles and live roles not covered, by the roles recorded at mint; `None`: not stale.
fn by_record(
    have: &ApiIntegration,
    scope: &MintedScope,
) -> Option<(serde_json::Value, Vec<String>)> {
    if scope.matches(&have.authorization_scopes) {
        return None;
    }
    Some(match scope.roles() {
        Some(covered) => (
            json!(covered),
            have.authorization_scopes
                .iter()
                .filter(|r| !covered.contains(r))
                .cloned()
                .collect(),
        ),
        None => (
            json!({ "digest": scope.encode() }),
            have.authorization_scopes.clone(),
        ),
    })
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
