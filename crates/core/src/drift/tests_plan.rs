//! Plan ordering rules, and plans applied to a simulated Jamf that enforces its rules.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::tests::{d_client, d_role, desired, l_client, l_role, matching_live, strings};
use super::*;
use crate::config::DesiredState;
use crate::jamf::{ApiIntegration, ApiRole, AppType};

/// Applies `plan` to `live` the way Jamf would, failing on what Jamf rejects (unknown role
/// names, deleting a role in use, rotating a disabled client). Returns the rotated clients.
fn apply(live: &mut Live, plan: &Plan) -> BTreeSet<String> {
    let mut rotated = BTreeSet::new();
    for step in &plan.steps {
        let name = step.name.as_str();
        match (&step.action, &step.body) {
            (Action::CreateRole | Action::UpdateRole, Some(PlanBody::Role(body))) => {
                if step.action == Action::CreateRole {
                    assert!(live.role(name).is_none(), "400: duplicate role {name}");
                    let id = (live.roles.len() + 100).to_string();
                    live.roles.push(ApiRole {
                        id,
                        display_name: name.into(),
                        privileges: vec![],
                    });
                }
                // an update finds the role by id (a rename changes its name), a create by name
                let role = live
                    .roles
                    .iter_mut()
                    .find(|r| match &step.id {
                        Some(id) => *id == r.id,
                        None => r.display_name == name,
                    })
                    .unwrap();
                let old = std::mem::replace(&mut role.display_name, body.display_name.clone());
                role.privileges = body.privileges.clone();
                // Jamf renders a client's scopes from its roles' current names
                for client in &mut live.clients {
                    for scope in &mut client.authorization_scopes {
                        if *scope == old {
                            scope.clone_from(&body.display_name);
                        }
                    }
                }
            }
            (Action::CreateClient | Action::UpdateClient, Some(PlanBody::Client(body))) => {
                for role in &body.authorization_scopes {
                    assert!(
                        live.role(role).is_some(),
                        "400: client {name} uses unknown role {role}"
                    );
                }
                assert!(!body.authorization_scopes.is_empty());
                if step.action == Action::CreateClient {
                    let id = i64::try_from(live.clients.len()).unwrap() + 100;
                    live.clients.push(ApiIntegration {
                        id,
                        authorization_scopes: vec![],
                        display_name: name.into(),
                        enabled: false,
                        access_token_lifetime_seconds: None,
                        app_type: AppType::None,
                        client_id: format!("uuid-{id}"),
                    });
                }
                let client = live
                    .clients
                    .iter_mut()
                    .find(|c| match &step.id {
                        Some(id) => *id == c.id.to_string(),
                        None => c.display_name == name,
                    })
                    .unwrap();
                assert_ne!(
                    client.app_type,
                    AppType::NativeAppOauth,
                    "foreign client touched"
                );
                client.display_name.clone_from(&body.display_name);
                client.authorization_scopes = body.authorization_scopes.clone();
                client.enabled = body.enabled.unwrap_or(false);
                client.access_token_lifetime_seconds = body.access_token_lifetime_seconds;
                if !client.enabled {
                    client.app_type = AppType::None;
                }
            }
            (Action::RotateSecret, None) => {
                let client = live
                    .clients
                    .iter_mut()
                    .find(|c| c.display_name == name)
                    .unwrap();
                assert!(client.enabled, "400: rotating disabled client {name}");
                client.app_type = AppType::ClientCredentials;
                rotated.insert(name.to_owned());
            }
            (Action::DeleteClient, None) => {
                let c = live.client(name).unwrap();
                assert_ne!(
                    c.app_type,
                    AppType::NativeAppOauth,
                    "foreign client deleted"
                );
                live.clients.retain(|c| c.display_name != name);
            }
            (Action::DeleteRole, None) => {
                let users: Vec<_> = live
                    .clients
                    .iter()
                    .filter(|c| c.authorization_scopes.iter().any(|r| r == name))
                    .collect();
                assert!(users.is_empty(), "409: role {name} in use by {users:?}");
                live.roles.retain(|r| r.display_name != name);
            }
            other => panic!("malformed step {other:?}"),
        }
    }
    rotated
}

fn actions(plan: &Plan) -> Vec<(Action, &str)> {
    plan.steps
        .iter()
        .map(|s| (s.action, s.name.as_str()))
        .collect()
}

/// A live state that differs from [`desired`] in every way a plan handles.
fn drifted() -> (DesiredState, Live) {
    let mut desired = desired();
    desired.roles.push(d_role("C", &["Read Users"]));
    desired.clients.push(d_client("New", &["C"]));
    desired.clients.push(d_client("Off", &["B"]));
    desired.clients[2].enabled = false;
    desired.clients[0].roles = strings(&["B", "C"]);
    let mut live = matching_live();
    live.roles[1].privileges = strings(&["Read Computers"]);
    live.roles.push(l_role("5", "Stray", &["Read Users"]));
    live.clients
        .push(l_client(2, "Other", &["Stray"], AppType::ClientCredentials));
    live.clients
        .push(l_client(3, "Off", &["B"], AppType::ClientCredentials));
    // Sync drops A; A stays declared. Sync also used Stray, which prune removes.
    live.clients[0].authorization_scopes = strings(&["A", "Stray"]);
    (desired, live)
}

#[test]
fn plan_order_and_notes() {
    let (desired, live) = drifted();
    let plan = plan(&desired, &live, true);
    use Action::*;
    assert_eq!(
        actions(&plan),
        vec![
            (CreateRole, "C"),
            (UpdateRole, "B"),
            (CreateClient, "New"),
            (RotateSecret, "New"),
            (UpdateClient, "Sync"),
            (RotateSecret, "Sync"),
            (UpdateClient, "Off"),
            (DeleteClient, "Other"),
            (DeleteRole, "Stray"),
        ]
    );
    let note = |i: usize| plan.steps[i].note.clone().unwrap_or_default();
    assert!(note(5).contains("role change takes effect only with a new secret"));
    assert!(note(6).contains("disabling revokes"));
    assert_eq!(plan.steps[4].id.as_deref(), Some("1"));
    assert_eq!(plan.steps[8].id.as_deref(), Some("5"));
    let text = render_plan(&plan, false);
    for line in [
        "  1. + create role \"C\"",
        "  2. ~ update role \"B\" (id 2)",
        "  4. ~ rotate secret of client \"New\"",
        "       note: disabling revokes",
        "  9. - delete role \"Stray\" (id 5)",
        "Plan: 2 to create, 5 to change, 2 to delete.",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(render_plan(&plan, true).contains("\x1b[31m-\x1b[0m delete role"));
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["steps"][1]["action"], "update_role");
    assert_eq!(json["steps"][1]["body"]["role"]["displayName"], "B");
}

#[test]
fn without_prune_unmanaged_and_foreign_are_untouched() {
    let (desired, live) = drifted();
    let plan = plan(&desired, &live, false);
    assert!(
        plan.steps
            .iter()
            .all(|s| !matches!(s.action, Action::DeleteClient | Action::DeleteRole))
    );
    assert!(plan.steps.iter().all(|s| {
        !["Jamf Teacher", "Teacher", "Jamf Reset", "Other", "Stray"].contains(&s.name.as_str())
    }));
    let mut simulated = live.clone();
    let rotated = apply(&mut simulated, &plan);
    assert!(simulated.client("Other").is_some() && simulated.role("Stray").is_some());
    let all = |n: &str| rotated.contains(n) || n == "Sync" || n == "Off";
    let report = detect(&desired, &simulated, &all, false);
    assert_eq!(
        report.items.len(),
        2,
        "only the unmanaged remain: {report:?}"
    );
    assert!(
        report
            .items
            .iter()
            .all(|i| i.kind == DriftKind::Unmanaged && !i.managed)
    );
}

#[test]
fn applied_plan_leaves_no_drift_and_second_plan_is_empty() {
    let (desired, mut live) = drifted();
    let before = live.clone();
    let first = plan(&desired, &live, true);
    let rotated = apply(&mut live, &first);
    assert_eq!(
        rotated,
        BTreeSet::from(["New".to_owned(), "Sync".to_owned()])
    );
    let report = detect(&desired, &live, &|n: &str| rotated.contains(n), true);
    assert!(report.is_empty(), "{report:?}");
    assert!(plan(&desired, &live, true).is_empty());
    // Foreign objects survived unchanged.
    assert_eq!(live.client("Jamf Teacher"), before.client("Jamf Teacher"));
    assert_eq!(live.role("Teacher"), before.role("Teacher"));
    assert!(render_plan(&Plan::default(), false).starts_with("No changes"));
}

#[test]
fn role_in_use_by_kept_client_is_not_deleted() {
    // A role that a client keeps after the plan is never deleted, even with prune: here a
    // (not validated) desired client still references the undeclared role.
    let mut desired = desired();
    desired.clients[0].roles = strings(&["A", "Stray"]);
    let mut live = matching_live();
    live.roles.push(l_role("5", "Stray", &["Read Users"]));
    live.clients[0].authorization_scopes.push("Stray".into());
    let plan = plan(&desired, &live, true);
    assert!(plan.is_empty(), "{plan:?}");
    // A role used by a Jamf app client is foreign, never deleted.
    let mut live = matching_live();
    live.roles.push(l_role("5", "Stray", &["Read Users"]));
    live.clients[1].authorization_scopes.push("Stray".into());
    assert!(super::plan(&self::desired(), &live, true).is_empty());
}

#[test]
fn enabling_a_disabled_client_rotates_after_update() {
    let desired = desired();
    let mut live = matching_live();
    live.clients[0].enabled = false;
    live.clients[0].app_type = AppType::None;
    let p = plan(&desired, &live, false);
    assert_eq!(
        actions(&p),
        vec![
            (Action::UpdateClient, "Sync"),
            (Action::RotateSecret, "Sync")
        ]
    );
    assert!(
        p.steps[1]
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("no secret")
    );
    live.clients[0].enabled = true;
    let p = plan(&desired, &live, false);
    assert_eq!(actions(&p), vec![(Action::RotateSecret, "Sync")]);
}

#[test]
fn names_that_differ_in_case_alone_are_renamed_in_place() {
    let desired = DesiredState {
        roles: vec![d_role("Inventory Read", &["Read Computers"])],
        clients: vec![d_client("Sync", &["Inventory Read"])],
    };
    let mut live = Live {
        roles: vec![l_role("7", "inventory read", &["Read Computers"])],
        clients: vec![
            l_client(3, "SYNC", &["inventory read"], AppType::ClientCredentials),
            l_client(4, "Other", &["inventory read"], AppType::ClientCredentials),
        ],
        privileges: Arc::new(strings(&["Read Computers"])),
    };
    let report = detect(&desired, &live, &|_| true, true);
    let kinds: Vec<_> = report
        .items
        .iter()
        .map(|i| (i.kind, i.object, i.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (DriftKind::Renamed, ObjectKind::Role, "Inventory Read"),
            (DriftKind::Renamed, ObjectKind::Client, "Sync"),
            (DriftKind::Unmanaged, ObjectKind::Client, "Other"),
        ],
        "no missing, no unmanaged twin, no scope change: {report:?}"
    );
    assert_eq!(
        report.items[0].before,
        Some(serde_json::json!("inventory read"))
    );

    let plan = plan(&desired, &live, true);
    assert_eq!(
        actions(&plan),
        vec![
            (Action::UpdateRole, "Inventory Read"),
            (Action::UpdateClient, "Sync"),
            (Action::DeleteClient, "Other"),
        ],
        "updated in place by id, no rotation (the scope is the same role), the renamed role kept"
    );
    assert_eq!(plan.steps[0].id.as_deref(), Some("7"));
    assert_eq!(plan.steps[1].id.as_deref(), Some("3"));
    assert!(
        plan.steps[0]
            .note
            .as_deref()
            .unwrap()
            .contains("\"inventory read\"")
    );
    assert!(apply(&mut live, &plan).is_empty());
    assert!(detect(&desired, &live, &|_| true, true).items.is_empty());
    assert!(super::plan(&desired, &live, true).is_empty());
}

#[test]
fn an_exact_match_wins_over_a_case_twin() {
    let desired = DesiredState {
        roles: vec![d_role("A", &["Read Computers"])],
        clients: vec![],
    };
    let live = Live {
        roles: vec![
            l_role("1", "a", &["Read Computers"]),
            l_role("2", "A", &["Read Computers"]),
        ],
        clients: vec![],
        privileges: Arc::new(strings(&["Read Computers"])),
    };
    let report = detect(&desired, &live, &|_| true, false);
    assert_eq!(report.items.len(), 1, "{report:?}");
    assert_eq!(
        (report.items[0].kind, report.items[0].name.as_str()),
        (DriftKind::Unmanaged, "a")
    );
    let plan = plan(&desired, &live, true);
    assert_eq!(actions(&plan), vec![(Action::DeleteRole, "a")]);
}

#[test]
fn updates_carry_the_members_they_add_and_remove() {
    let mut live = matching_live();
    live.roles[0].privileges = strings(&["Read Computers", "View Local Admin Password"]);
    live.clients[0].authorization_scopes = strings(&["B"]);
    let plan = plan(&desired(), &live, false);
    let role = plan
        .steps
        .iter()
        .find(|s| s.action == Action::UpdateRole)
        .unwrap();
    assert_eq!(
        role.diff,
        Some(SetDiff {
            added: strings(&["Read Mobile Devices"]),
            removed: strings(&["View Local Admin Password"]),
        })
    );
    let client = plan
        .steps
        .iter()
        .find(|s| s.action == Action::UpdateClient)
        .unwrap();
    assert_eq!(
        client.diff,
        Some(SetDiff {
            added: strings(&["A"]),
            removed: strings(&["B"]),
        })
    );
    let text = render_plan(&plan, false);
    assert!(
        text.contains("       + privilege \"Read Mobile Devices\"\n"),
        "{text}"
    );
    assert!(
        text.contains("       - privilege \"View Local Admin Password\"\n"),
        "{text}"
    );
    assert!(
        text.contains("       + role \"A\"\n       - role \"B\"\n"),
        "{text}"
    );
    // creates list the full set, without a diff
    let created = super::plan(&desired(), &Live::default(), false);
    assert!(created.steps.iter().all(|s| s.diff.is_none()));
}

#[test]
fn fingerprints_ignore_jamf_order_and_see_every_change() {
    let live = matching_live();
    let p = plan(&desired(), &live, false);
    let base = PlanFingerprints::of(&desired(), false, &live, &p);
    // Jamf lists objects and members in another order: same fingerprints
    let mut shuffled = live.clone();
    shuffled.roles.reverse();
    shuffled.clients.reverse();
    shuffled.roles[0].privileges.reverse();
    assert_eq!(PlanFingerprints::of(&desired(), false, &shuffled, &p), base);
    // a live change, a desired change and prune each show
    let mut changed = live.clone();
    changed.roles[0].privileges.pop();
    let moved = PlanFingerprints::of(&desired(), false, &changed, &p);
    assert_eq!(base.differences(&moved), ["the live state in Jamf"]);
    let mut other = desired();
    other.roles[1].privileges.push("Read Computers".into());
    let moved = PlanFingerprints::of(&other, false, &live, &p);
    assert_eq!(base.differences(&moved), ["the loaded desired state"]);
    assert_ne!(
        desired_fingerprint(&desired(), true),
        desired_fingerprint(&desired(), false)
    );
}

#[test]
fn fleet_summary_counts_steps_by_kind() {
    let mut live = matching_live();
    live.roles[0].privileges.pop();
    let doc = |instance: &str, plan: Plan| PlanDocument {
        schema: PLAN_SCHEMA.into(),
        instance: instance.into(),
        checked_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
        plan,
        unresolved: 0,
        fingerprints: None,
        proposed: Vec::new(),
        drift: None,
    };
    let fleet = FleetPlanDocument::new(vec![
        FleetPlanEntry {
            instance: "a".into(),
            error: None,
            plan: Some(doc("a", plan(&desired(), &live, false))),
        },
        FleetPlanEntry {
            instance: "b".into(),
            error: None,
            plan: Some(doc("b", plan(&desired(), &Live::default(), false))),
        },
        FleetPlanEntry {
            instance: "c".into(),
            error: Some("unreachable".into()),
            plan: None,
        },
    ]);
    let s = &fleet.summary;
    assert_eq!((s.instances, s.with_changes, s.failed), (3, 2, 1));
    // a: one role update; b: two role creates, one client create and its first secret
    assert_eq!((s.creates, s.updates, s.deletes, s.rotations), (3, 1, 0, 1));
    let text = render_fleet_plan(&fleet, false);
    assert!(
        text.contains("# instance c\n! cannot plan: unreachable\n"),
        "{text}"
    );
    assert!(text.ends_with(
        "Fleet: 2 of 3 instance(s) with changes, 1 could not be planned; 3 to create, 1 to \
         update, 0 to delete, 1 secret(s) to rotate.\n"
    ));
}

mod stale_scope {
    use std::collections::BTreeMap;

    use super::*;
    use crate::rotation::MintedScope;

    fn minted(roles: &[&str]) -> BTreeMap<String, MintedScope> {
        BTreeMap::from([("Sync".to_owned(), MintedScope::of(&strings(roles)))])
    }

    /// By the roles recorded at mint only.
    fn stale_scopes(
        desired: &DesiredState,
        live: &Live,
        minted: &BTreeMap<String, MintedScope>,
    ) -> Vec<DriftItem> {
        super::stale_scopes(
            desired,
            live,
            &ScopeEvidence {
                minted: Some(minted),
                tokens: None,
            },
        )
    }

    #[test]
    fn a_secret_minted_with_other_roles_is_stale_and_the_plan_rotates_it() {
        // desired and live agree on ["A", "B"]; the secret was minted when Sync held ["A"]
        let mut desired = desired();
        desired.clients[0].roles = strings(&["A", "B"]);
        let mut live = matching_live();
        live.clients[0].authorization_scopes = strings(&["B", "A"]);
        let items = stale_scopes(&desired, &live, &minted(&["A"]));
        assert_eq!(items.len(), 1, "{items:#?}");
        let item = &items[0];
        assert_eq!(
            (item.kind, item.name.as_str()),
            (DriftKind::ScopeStale, "Sync")
        );
        assert_eq!(item.kind.as_str(), "scope_stale");
        assert_eq!(
            item.before,
            Some(serde_json::json!(["A"])),
            "what the secret covers"
        );
        assert_eq!(
            item.after,
            Some(serde_json::json!(["B"])),
            "what it does not cover"
        );
        let text = render_report(
            &DriftReport {
                items: items.clone(),
                foreign: Vec::new(),
                held: Vec::new(),
            },
            false,
        );
        assert!(
            text.contains("scope stale: minted for roles [\"A\"], does not cover [\"B\"]"),
            "{text}"
        );

        let mut plan = plan(&desired, &live, false);
        assert!(plan.is_empty(), "nothing else differs: {plan:#?}");
        rotate_stale_scopes(&mut plan, &items, &live);
        assert_eq!(plan.steps.len(), 1);
        let step = &plan.steps[0];
        assert_eq!(step.action, Action::RotateSecret);
        assert_eq!(step.id.as_deref(), Some("1"));
        assert!(step.note.as_deref().unwrap().contains("scope_stale"));
    }

    #[test]
    fn the_same_roles_an_unknown_scope_or_a_planned_rotation_add_nothing() {
        let live = matching_live();
        let desired = desired();
        assert!(stale_scopes(&desired, &live, &minted(&["A"])).is_empty());
        // rotated before Warden recorded the roles: unknown, never guessed
        assert!(stale_scopes(&desired, &live, &BTreeMap::new()).is_empty());
        // a role change in the plan rotates already: no second rotation
        let mut changed = live.clone();
        changed.clients[0].authorization_scopes = strings(&["B"]);
        let items = stale_scopes(&desired, &changed, &minted(&["A"]));
        assert_eq!(items.len(), 1);
        let mut plan = plan(&desired, &changed, false);
        let before = plan.steps.len();
        rotate_stale_scopes(&mut plan, &items, &changed);
        assert_eq!(plan.steps.len(), before, "{plan:#?}");
        let rotations = plan
            .steps
            .iter()
            .filter(|s| s.action == Action::RotateSecret)
            .count();
        assert_eq!(rotations, 1);
    }

    #[test]
    fn a_disabled_or_secretless_client_is_not_stale() {
        let mut desired = desired();
        desired.clients[0].roles = strings(&["A", "B"]);
        let mut live = matching_live();
        live.clients[0].authorization_scopes = strings(&["A", "B"]);
        live.clients[0].app_type = AppType::None;
        assert!(stale_scopes(&desired, &live, &minted(&["A"])).is_empty());
        desired.clients[0].enabled = false;
        live.clients[0].app_type = AppType::ClientCredentials;
        assert!(stale_scopes(&desired, &live, &minted(&["A"])).is_empty());
    }

    fn token(ids: &[&str]) -> BTreeMap<String, crate::rotation::TokenScope> {
        BTreeMap::from([(
            "Sync".to_owned(),
            crate::rotation::TokenScope {
                version: 3,
                role_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            },
        )])
    }

    fn by_both(
        desired: &DesiredState,
        live: &Live,
        minted: &BTreeMap<String, MintedScope>,
        tokens: &BTreeMap<String, crate::rotation::TokenScope>,
    ) -> Vec<DriftItem> {
        super::stale_scopes(
            desired,
            live,
            &ScopeEvidence {
                minted: Some(minted),
                tokens: Some(tokens),
            },
        )
    }

    #[test]
    fn a_token_scope_confirms_and_wins_over_the_recorded_roles() {
        let mut desired = desired();
        desired.clients[0].roles = strings(&["A", "B"]);
        let mut live = matching_live();
        live.clients[0].authorization_scopes = strings(&["A", "B"]);
        // recorded: minted for ["A"]; the token of the stored secret agrees (role id 1 = A)
        let items = by_both(&desired, &live, &minted(&["A"]), &token(&["1"]));
        assert_eq!(items.len(), 1, "{items:#?}");
        assert_eq!(items[0].before, Some(serde_json::json!(["A"])));
        assert_eq!(items[0].after, Some(serde_json::json!(["B"])));
        assert_eq!(items[0].evidence.as_deref(), Some(EVIDENCE_TOKEN));
        let text = render_report(
            &DriftReport {
                items: items.clone(),
                foreign: Vec::new(),
                held: Vec::new(),
            },
            false,
        );
        assert!(
            text.contains(
                "scope stale: a token of the stored secret covers roles [\"A\"], does not cover [\"B\"]"
            ),
            "{text}"
        );
        // the token covers both: the record was wrong (or the role was renamed), no item
        assert!(by_both(&desired, &live, &minted(&["A"]), &token(&["1", "2"])).is_empty());
        // recorded alone says so, with its own evidence
        let recorded = stale_scopes(&desired, &live, &minted(&["A"]));
        assert_eq!(recorded[0].evidence.as_deref(), Some(EVIDENCE_RECORDED));
    }

    #[test]
    fn a_token_scope_sees_a_rename_and_a_recreated_role_by_id() {
        let mut live = matching_live();
        let desired = desired();
        // role A was deleted and recreated under the same name (id 7); the secret covers id 1
        live.roles[0].id = "7".into();
        let items = by_both(&desired, &live, &minted(&["A"]), &token(&["1"]));
        assert_eq!(
            items.len(),
            1,
            "the names match, the ids do not: {items:#?}"
        );
        assert_eq!(
            items[0].before,
            Some(serde_json::json!(["api-role:1 (deleted)"]))
        );
        assert_eq!(items[0].after, Some(serde_json::json!(["A"])));
        // minted when role 1 was called "Old A", renamed "A" since: the id is still covered,
        // while the record by name calls it stale
        let renamed = matching_live();
        assert!(by_both(&desired, &renamed, &minted(&["Old A"]), &token(&["1"])).is_empty());
        assert_eq!(
            stale_scopes(&desired, &renamed, &minted(&["Old A"])).len(),
            1
        );
    }

    #[test]
    fn candidates_are_the_recorded_stale_and_the_rotated_without_a_record() {
        let desired = desired();
        let live = matching_live();
        let none = BTreeSet::new();
        assert!(scope_candidates(&desired, &live, &minted(&["A"]), &none).is_empty());
        assert_eq!(
            scope_candidates(&desired, &live, &minted(&["B"]), &none),
            vec!["Sync".to_owned()]
        );
        let rotated = BTreeSet::from(["Sync".to_owned()]);
        assert_eq!(
            scope_candidates(&desired, &live, &BTreeMap::new(), &rotated),
            vec!["Sync".to_owned()]
        );
        assert!(scope_candidates(&desired, &live, &BTreeMap::new(), &none).is_empty());
    }
}
