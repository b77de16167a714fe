//! The client to rotate, as declared, and the paths and names derived from it.

use super::error::RotationError;
use super::lock::lock_path;
use super::marker::Slot;
use crate::config::{DesiredClient, DesiredState};
use crate::schedule::Schedule;

/// A declared client of one instance. Only declared clients can be rotated: build one with
/// [`RotationTarget::declared`], which refuses an undeclared name with
/// [`RotationError::NotDeclared`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationTarget {
    /// Instance name.
    pub instance: String,
    /// The client as declared (name, roles, rotation policy), with the instance's defaults
    /// filled in: `vault_path` and `rotation.schedule` are always `Some`.
    pub client: DesiredClient,
}

impl RotationTarget {
    /// The declared client `name` of `instance`, or [`RotationError::NotDeclared`].
    pub fn declared(
        instance: &str,
        instance_schedule: &Schedule,
        desired: &DesiredState,
        name: &str,
    ) -> Result<RotationTarget, RotationError> {
        desired
            .client(name)
            .map(|c| RotationTarget::new(instance, instance_schedule, c.clone()))
            .ok_or_else(|| RotationError::NotDeclared {
                instance: instance.to_string(),
                client: name.to_string(),
            })
    }

    /// A target from an already declared client of `instance`, whose rotation schedule
    /// applies unless the client has its own.
    pub fn new(
        instance: impl Into<String>,
        instance_schedule: &Schedule,
        mut client: DesiredClient,
    ) -> RotationTarget {
        let instance = instance.into();
        client.vault_path = Some(client.vault_path_in(&instance));
        if client.rotation.schedule.is_none() {
            client.rotation.schedule = Some(instance_schedule.clone());
        }
        RotationTarget { instance, client }
    }

    /// `<vault_path>`: where consumers read the current credentials (relative to the prefix).
    pub fn vault_path(&self) -> &str {
        // always `Some` in a target (see `new`)
        self.client
            .vault_path
            .as_deref()
            .unwrap_or_default()
            .trim_matches('/')
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
