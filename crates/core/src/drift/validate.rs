//! Checks of a desired state against an instance's live privilege catalogue.

use std::collections::BTreeSet;

use super::suggest::suggest;
use crate::config::DesiredState;

/// A problem that stops drift detection and planning.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A role lists a privilege the instance does not know (Jamf matches them exactly).
    #[error("role `{role}`: unknown privilege `{privilege}`{}", did_you_mean(.suggestions))]
    UnknownPrivilege {
        /// The role.
        role: String,
        /// The unknown name.
        privilege: String,
        /// Up to 3 catalogue names that look alike, best first.
        suggestions: Vec<String>,
    },
    /// A client holds no role (Jamf requires at least one).
    #[error("client `{client}` has no roles; give it at least one")]
    ClientWithoutRoles {
        /// The client.
        client: String,
    },
    /// A client references a role the desired state does not define.
    #[error(
        "client `{client}`: role `{role}` is not defined; define it (or declare it with `external = true`)"
    )]
    UnknownRole {
        /// The client.
        client: String,
        /// The missing role.
        role: String,
    },
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
    format!("; did you mean {}?", quoted.join(" or "))
}

/// Checks that every privilege of a managed role is in `catalogue`, that every client holds a
/// role and that the roles clients reference are defined. Returns every problem found.
pub fn validate(desired: &DesiredState, catalogue: &[String]) -> Result<(), Vec<ValidationError>> {
    let known: BTreeSet<&str> = catalogue.iter().map(String::as_str).collect();
    let mut errors = Vec::new();
    for role in desired.roles.iter().filter(|r| !r.external) {
        for privilege in &role.privileges {
            if !known.contains(privilege.as_str()) {
                errors.push(ValidationError::UnknownPrivilege {
                    role: role.name.clone(),
                    privilege: privilege.clone(),
                    suggestions: suggest(privilege, catalogue),
                });
            }
        }
    }
    for client in &desired.clients {
        if client.roles.is_empty() {
            errors.push(ValidationError::ClientWithoutRoles {
                client: client.name.clone(),
            });
        }
        for role in &client.roles {
            if desired.role(role).is_none() {
                errors.push(ValidationError::UnknownRole {
                    client: client.name.clone(),
                    role: role.clone(),
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
