//! Drift detection: what differs between the desired and the live state.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{
    DriftItem, DriftKind, DriftReport, Live, ObjectKind, Renames, is_foreign_client, lifetime,
};
use crate::config::DesiredState;
use crate::jamf::{AppType, privilege_set};

/// Compares `desired` with `live`. `rotated` says whether Warden has rotated a client's
/// secret (by client name); `prune` whether unmanaged objects would be deleted.
pub fn detect(
    desired: &DesiredState,
    live: &Live,
    rotated: &dyn Fn(&str) -> bool,
    prune: bool,
) -> DriftReport {
    let mut report = DriftReport::default();
    let renames = Renames::find(desired, live);
    let foreign_roles = live.foreign_roles(|n| renames.declares_role(n));

    for role in &desired.roles {
        let Some((have, renamed)) = renames.role(live, &role.name) else {
            report.items.push(item(
                DriftKind::Missing,
                ObjectKind::Role,
                &role.name,
                None,
                None,
                None,
                !role.external,
            ));
            continue;
        };
        if renamed {
            report.items.push(renamed_item(
                ObjectKind::Role,
                &role.name,
                &have.display_name,
            ));
        }
        if role.external {
            continue;
        }
        let want = privilege_set(&role.privileges);
        let got = have.privilege_set();
        let (added, removed) = set_diff(&want, &got);
        if !added.is_empty() {
            report.items.push(item(
                DriftKind::PrivilegesAdded,
                ObjectKind::Role,
                &role.name,
                Some("privileges"),
                None,
                Some(json!(added)),
                true,
            ));
        }
        if !removed.is_empty() {
            report.items.push(item(
                DriftKind::PrivilegesRemoved,
                ObjectKind::Role,
                &role.name,
                Some("privileges"),
                Some(json!(removed)),
                None,
                true,
            ));
        }
    }
    for role in &live.roles {
        let name = &role.display_name;
        if renames.declares_role(name) || renames.renames_role(name) {
            continue;
        }
        if foreign_roles.contains(name) {
            report.foreign.push(format!("role {name:?}"));
            continue;
        }
        report.items.push(unmanaged(ObjectKind::Role, name, prune));
    }

    for client in &desired.clients {
        let Some((have, renamed)) = renames.client(live, &client.name) else {
            report.items.push(item(
                DriftKind::Missing,
                ObjectKind::Client,
                &client.name,
                None,
                None,
                None,
                true,
            ));
            continue;
        };
        if is_foreign_client(have) {
            // Declared, but Jamf's own: leave it alone.
            continue;
        }
        if renamed {
            report.items.push(renamed_item(
                ObjectKind::Client,
                &client.name,
                &have.display_name,
            ));
        }
        client_drift(&mut report, client, have, &renames, rotated);
    }
    for client in &live.clients {
        let name = &client.display_name;
        if is_foreign_client(client) {
            report.foreign.push(format!("client {name:?}"));
        } else if !renames.declares_client(name) && !renames.renames_client(name) {
            report
                .items
                .push(unmanaged(ObjectKind::Client, name, prune));
        }
    }
    report
}

fn client_drift(
    report: &mut DriftReport,
    client: &crate::config::DesiredClient,
    have: &crate::jamf::ApiIntegration,
    renames: &Renames,
    rotated: &dyn Fn(&str) -> bool,
) {
    let name = &client.name;
    let want = privilege_set(&client.roles);
    // a role renamed by case is the same role: Jamf shows the client its new name
    let got = renames.scopes(have);
    let (added, removed) = set_diff(&want, &got);
    let obj = ObjectKind::Client;
    if !added.is_empty() {
        let after = Some(json!(added));
        let i = item(
            DriftKind::RolesAdded,
            obj,
            name,
            Some("roles"),
            None,
            after,
            true,
        );
        report.items.push(i);
    }
    if !removed.is_empty() {
        let before = Some(json!(removed));
        let i = item(
            DriftKind::RolesRemoved,
            obj,
            name,
            Some("roles"),
            before,
            None,
            true,
        );
        report.items.push(i);
    }
    if client.enabled != have.enabled {
        report.items.push(item(
            DriftKind::EnabledChanged,
            obj,
            name,
            Some("enabled"),
            Some(json!(have.enabled)),
            Some(json!(client.enabled)),
            true,
        ));
    }
    let want_lifetime = i64::from(client.token_lifetime);
    if lifetime(have) != want_lifetime {
        report.items.push(item(
            DriftKind::LifetimeChanged,
            obj,
            name,
            Some("token_lifetime"),
            Some(json!(lifetime(have))),
            Some(json!(want_lifetime)),
            true,
        ));
    }
    if have.app_type == AppType::None {
        // A disabled client has no secret by design; it gets one when enabled.
        if client.enabled {
            let before = Some(json!(have.app_type.as_str()));
            let i = item(
                DriftKind::NoSecret,
                obj,
                name,
                Some("secret"),
                before,
                None,
                true,
            );
            report.items.push(i);
        }
    } else if !rotated(name) && !rotated(&have.display_name) {
        let before = Some(json!(have.app_type.as_str()));
        let i = item(
            DriftKind::NeverRotated,
            obj,
            name,
            Some("secret"),
            before,
            None,
            true,
        );
        report.items.push(i);
    }
}

/// Members of `want` missing from `got`, and members of `got` not in `want`, sorted.
pub(crate) fn set_diff(want: &BTreeSet<&str>, got: &BTreeSet<&str>) -> (Vec<String>, Vec<String>) {
    let added = want.difference(got).map(|s| (*s).to_owned()).collect();
    let removed = got.difference(want).map(|s| (*s).to_owned()).collect();
    (added, removed)
}

fn renamed_item(object: ObjectKind, name: &str, live_name: &str) -> DriftItem {
    item(
        DriftKind::Renamed,
        object,
        name,
        Some("name"),
        Some(json!(live_name)),
        Some(json!(name)),
        true,
    )
}

fn unmanaged(object: ObjectKind, name: &str, prune: bool) -> DriftItem {
    item(DriftKind::Unmanaged, object, name, None, None, None, prune)
}

fn item(
    kind: DriftKind,
    object: ObjectKind,
    name: &str,
    field: Option<&str>,
    before: Option<Value>,
    after: Option<Value>,
    managed: bool,
) -> DriftItem {
    DriftItem {
        kind,
        object,
        name: name.to_owned(),
        field: field.map(str::to_owned),
        before,
        after,
        managed,
        evidence: None,
    }
}
