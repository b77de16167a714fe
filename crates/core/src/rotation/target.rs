//! The client to rotate, as declared, and the paths and names derived from it.

use super::error::RotationError;
use super::lock::lock_path;
use super::marker::Slot;
use crate::config::{DesiredClient, DesiredState};

/// A declared client of one instance. Only declared clients can be rotated: build one with
/// [`RotationTarget::declared`], which refuses an undeclared name with
/// [`RotationError::NotDeclared`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationTarget {
    /// Instance name.
    pub instance: String,
    /// The client as declared (name, roles, Vault path, rotation policy).
    pub client: DesiredClient,
}

impl RotationTarget {
    /// The declared client `name` of `instance`, or [`RotationError::NotDeclared`].
    pub fn declared(
        instance: &str,
        desired: &DesiredState,
        name: &str,
    ) -> Result<RotationTarget, RotationError> {
        desired
            .client(name)
            .map(|c| RotationTarget::new(instance, c.clone()))
            .ok_or_else(|| RotationError::NotDeclared {
                instance: instance.to_string(),
                client: name.to_string(),
            })
    }

    /// A target from an already declared client.
    pub fn new(instance: impl Into<String>, client: DesiredClient) -> RotationTarget {
        RotationTarget {
            instance: instance.into(),
            client,
        }
    }

    /// `<vault_path>`: where consumers read the current credentials (relative to the prefix).
    pub fn vault_path(&self) -> &str {
        self.client.vault_path.trim_matches('/')
    }

    /// `<vault_path>/slots/<a|b>` (alternating).
    pub fn slot_path(&self, slot: Slot) -> String {
        format!("{}/slots/{}", self.vault_path(), slot.as_str())
    }

    /// `_warden/locks/<instance>/<client-slug>`.
    pub fn lock_path(&self) -> String {
        lock_path(&self.instance, &self.client.name)
    }

    /// `<name> (alternate)`.
    pub fn alternate_name(&self) -> String {
        alternate_name(&self.client.name)
    }

    /// The Jamf display name of a slot's client.
    pub fn slot_client_name(&self, slot: Slot) -> String {
        match slot {
            Slot::A => self.client.name.clone(),
            Slot::B => self.alternate_name(),
        }
    }
}

/// The display name of the alternating twin of client `name`.
pub fn alternate_name(name: &str) -> String {
    format!("{name} (alternate)")
}
