//! Jamf upgrades: what changed between two privilege catalogues of one instance
//! ([`CatalogueChange`]), and which declared roles it affects: a declared privilege that
//! disappeared (renamed?), with "did you mean" among the added names, and added privileges of
//! a family a role already holds (a new `Read Foo` next to the role's other `Read ...`
//! privileges) as hints. Pure: the daemon's drift service detects the change, records it and
//! shows it in drift and audit reports.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::suggest::suggest;
use crate::config::DesiredState;

/// A change of an instance's privilege catalogue between two fetches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueChange {
    /// When Warden first saw the new catalogue.
    pub seen_at: DateTime<Utc>,
    /// SHA-256 of the previous catalogue (as in [`CatalogueInfo`](super::CatalogueInfo)).
    pub from_sha256: String,
    /// SHA-256 of the new one.
    pub to_sha256: String,
    /// Names in the new catalogue only, sorted.
    pub added: Vec<String>,
    /// Names in the previous catalogue only, sorted.
    pub removed: Vec<String>,
    /// Declared roles the change affects (computed against a desired state; see
    /// [`CatalogueChange::affecting`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<AffectedRole>,
}

/// A declared role a catalogue change affects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedRole {
    /// The role.
    pub role: String,
    /// Privileges the role declares that the new catalogue no longer has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<RemovedPrivilege>,
    /// Added privileges of a family the role already holds: worth a look, never applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

/// A declared privilege that disappeared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedPrivilege {
    /// The name the role declares.
    pub privilege: String,
    /// Added names that look like its new name, best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
}

impl CatalogueChange {
    /// The change from `old` to `new` (names in any order), seen at `seen_at`, with the roles
    /// of `desired` it affects. `None` when both hold the same names.
    pub fn between(
        old: &[String],
        new: &[String],
        from_sha256: &str,
        to_sha256: &str,
        seen_at: DateTime<Utc>,
        desired: &DesiredState,
    ) -> Option<CatalogueChange> {
        let old: BTreeSet<&str> = old.iter().map(String::as_str).collect();
        let new: BTreeSet<&str> = new.iter().map(String::as_str).collect();
        let added: Vec<String> = new.difference(&old).map(|s| (*s).to_owned()).collect();
        let removed: Vec<String> = old.difference(&new).map(|s| (*s).to_owned()).collect();
        if added.is_empty() && removed.is_empty() {
            return None;
        }
        let change = CatalogueChange {
            seen_at,
            from_sha256: from_sha256.to_owned(),
            to_sha256: to_sha256.to_owned(),
            added,
            removed,
            affected: Vec::new(),
        };
        Some(change.affecting(desired))
    }

    /// The change with `affected` computed against `desired` (managed roles only): roles that
    /// declare a removed privilege, and roles holding a privilege of the same family (first
    /// word) as an added one.
    #[must_use]
    pub fn affecting(mut self, desired: &DesiredState) -> CatalogueChange {
        let removed: BTreeSet<&str> = self.removed.iter().map(String::as_str).collect();
        let mut affected = Vec::new();
        for role in desired.roles.iter().filter(|r| !r.external) {
            let held: BTreeSet<&str> = role.privileges.iter().map(String::as_str).collect();
            let gone: Vec<RemovedPrivilege> = role
                .privileges
                .iter()
                .filter(|p| removed.contains(p.as_str()))
                .map(|p| RemovedPrivilege {
                    privilege: p.clone(),
                    suggestions: renamed_to(p, &self.added),
                })
                .collect();
            let families: BTreeSet<&str> = held.iter().map(|p| family(p)).collect();
            let hints: Vec<String> = self
                .added
                .iter()
                .filter(|a| !held.contains(a.as_str()) && families.contains(family(a)))
                .cloned()
                .collect();
            if !gone.is_empty() || !hints.is_empty() {
                affected.push(AffectedRole {
                    role: role.name.clone(),
                    removed: gone,
                    hints,
                });
            }
        }
        self.affected = affected;
        self
    }

    /// Whether a declared role still names a privilege the change removed.
    pub fn breaks_a_role(&self) -> bool {
        self.affected.iter().any(|a| !a.removed.is_empty())
    }
}

/// A privilege's family: its first word (`Read`, `Create`, `Update`, `Delete`, `View`,
/// `Send`, ...), which is how Jamf names the action a privilege allows.
pub fn family(privilege: &str) -> &str {
    privilege.split_whitespace().next().unwrap_or(privilege)
}

/// Added names that look like a new name of `removed`: close by edit distance, else names that
/// contain it or that it contains (case-insensitive; `Read Foo` → `Read Foo Settings`).
fn renamed_to(removed: &str, added: &[String]) -> Vec<String> {
    let close = suggest(removed, added);
    if !close.is_empty() {
        return close;
    }
    let wanted = removed.to_lowercase();
    added
        .iter()
        .filter(|a| {
            let a = a.to_lowercase();
            a.contains(&wanted) || wanted.contains(&a)
        })
        .take(3)
        .cloned()
        .collect()
}

/// The change for people: one line per added or removed name is too much after a big
/// upgrade, so counts, then the affected roles.
pub fn render_catalogue_change(change: &CatalogueChange) -> String {
    let mut out = format!(
        "~ privilege catalogue changed (seen {}): {} added, {} removed\n",
        change.seen_at.format("%Y-%m-%dT%H:%M:%SZ"),
        change.added.len(),
        change.removed.len()
    );
    for name in &change.removed {
        let _ = writeln!(out, "    - {name:?}");
    }
    if change.added.len() <= 20 {
        for name in &change.added {
            let _ = writeln!(out, "    + {name:?}");
        }
    }
    for role in &change.affected {
        for gone in &role.removed {
            let hint = if gone.suggestions.is_empty() {
                String::new()
            } else {
                let quoted: Vec<String> =
                    gone.suggestions.iter().map(|s| format!("{s:?}")).collect();
                format!("; did you mean {}?", quoted.join(" or "))
            };
            let _ = writeln!(
                out,
                "  ! role {:?} declares {:?}, which Jamf no longer offers{hint}",
                role.role, gone.privilege
            );
        }
        if !role.hints.is_empty() {
            let quoted: Vec<String> = role.hints.iter().map(|s| format!("{s:?}")).collect();
            let _ = writeln!(
                out,
                "  ? role {:?}: new privileges of families it holds (review, not applied): {}",
                role.role,
                quoted.join(", ")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::config::DesiredRole;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_765_000_000, 0).unwrap()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn role(name: &str, privileges: &[&str], external: bool) -> DesiredRole {
        DesiredRole {
            name: name.to_owned(),
            privileges: names(privileges),
            description: None,
            external,
            source: Arc::from(Path::new("d.toml")),
        }
    }

    fn desired() -> DesiredState {
        DesiredState {
            roles: vec![
                role(
                    "Inventory",
                    &["Read Computers", "Read Computer Check-In"],
                    false,
                ),
                role("Writer", &["Update Computers"], false),
                role("Ext", &[], true),
            ],
            clients: Vec::new(),
        }
    }

    #[test]
    fn same_names_are_no_change() {
        let a = names(&["Read Computers", "Update Computers"]);
        let b = names(&["Update Computers", "Read Computers"]);
        assert!(CatalogueChange::between(&a, &b, "x", "y", t0(), &desired()).is_none());
    }

    #[test]
    fn a_removed_declared_privilege_with_its_new_name_and_family_hints() {
        let old = names(&[
            "Read Computers",
            "Read Computer Check-In",
            "Update Computers",
            "Delete Computers",
        ]);
        let new = names(&[
            "Read Computers",
            "Read Computer Check-In Settings",
            "Update Computers",
            "Read Blueprints",
            "Create Blueprints",
        ]);
        let change = CatalogueChange::between(&old, &new, "old", "new", t0(), &desired()).unwrap();
        assert_eq!(
            change.added,
            names(&[
                "Create Blueprints",
                "Read Blueprints",
                "Read Computer Check-In Settings"
            ])
        );
        assert_eq!(
            change.removed,
            names(&["Delete Computers", "Read Computer Check-In"])
        );
        assert_eq!(change.affected.len(), 1, "{:#?}", change.affected);
        let inventory = &change.affected[0];
        assert_eq!(inventory.role, "Inventory");
        assert_eq!(
            inventory.removed,
            vec![RemovedPrivilege {
                privilege: "Read Computer Check-In".into(),
                suggestions: names(&["Read Computer Check-In Settings"]),
            }]
        );
        // `Read` is a family Inventory holds; `Create` is not; Writer holds only `Update`.
        assert_eq!(
            inventory.hints,
            names(&["Read Blueprints", "Read Computer Check-In Settings"])
        );
        assert!(change.breaks_a_role());
        let text = render_catalogue_change(&change);
        assert!(text.contains("3 added, 2 removed"), "{text}");
        assert!(
            text.contains(
                "role \"Inventory\" declares \"Read Computer Check-In\", which Jamf no longer \
                 offers; did you mean \"Read Computer Check-In Settings\"?"
            ),
            "{text}"
        );
        assert!(text.contains("? role \"Inventory\""), "{text}");
    }

    #[test]
    fn affecting_follows_the_desired_state() {
        let old = names(&["Read Computers", "Read Computer Check-In"]);
        let new = names(&["Read Computers"]);
        let change = CatalogueChange::between(&old, &new, "a", "b", t0(), &desired()).unwrap();
        assert!(change.breaks_a_role());
        // the role was fixed: the change no longer breaks it
        let mut fixed = desired();
        fixed.roles[0].privileges = names(&["Read Computers"]);
        let again = change.affecting(&fixed);
        assert!(!again.breaks_a_role());
        assert!(again.affected.is_empty());
    }

    #[test]
    fn family_is_the_first_word() {
        assert_eq!(family("Read Computers"), "Read");
        assert_eq!(
            family("CLEAR_TEACHER_PROFILE_PRIVILEGE"),
            "CLEAR_TEACHER_PROFILE_PRIVILEGE"
        );
    }
}
