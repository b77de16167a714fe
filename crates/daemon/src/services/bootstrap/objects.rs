//! Step 3 of the bootstrap: find or create the management role and client in Jamf Pro, and
//! set them to exactly what Warden needs when they exist with other settings.

use std::collections::BTreeSet;

use serde_json::json;
use warden_core::changelog::{Action, ObjectKind, Outcome};
use warden_core::jamf::{
    ApiIntegration, ApiIntegrationRequest, ApiRole, ApiRoleRequest, JamfError,
};
use warden_core::protocol::ObjectChange;

use super::{Failure, MANAGEMENT_PRIVILEGES, Run, TOKEN_LIFETIME, list_or_none};
use crate::services::rotation::MANAGEMENT_NAME;

impl Run<'_> {
    /// Finds or creates the management role with exactly the eight privileges.
    pub(super) async fn ensure_role(&mut self) -> Result<(ApiRole, ObjectChange), Failure> {
        let wanted = ApiRoleRequest {
            display_name: MANAGEMENT_NAME.to_string(),
            privileges: MANAGEMENT_PRIVILEGES
                .iter()
                .map(|p| p.to_string())
                .collect(),
        };
        let found = self
            .client
            .find_role_by_name(MANAGEMENT_NAME)
            .await
            .map_err(|e| {
                self.jamf_failure(
                    "cannot look up the management role",
                    &e,
                    "nothing was changed",
                )
            })?;
        match found {
            None => {
                let role = self.client.create_role(&wanted).await.map_err(|e| {
                    let hint = if matches!(e, JamfError::Transport { .. }) {
                        "the role may or may not exist now; rerun bootstrap, it finds the role by name"
                    } else {
                        "nothing was changed"
                    };
                    self.jamf_failure("cannot create the management role", &e, hint)
                })?;
                let entry = self
                    .entry(
                        ObjectKind::Role,
                        Some(&role.id),
                        Action::Create,
                        Outcome::Ok,
                    )
                    .after(json!({ "privileges": wanted.privileges }));
                self.record(entry, "the management role was created")
                    .await?;
                tracing::info!(instance = %self.name(), role_id = %role.id, "created the management role");
                Ok((role, ObjectChange::Created))
            }
            Some(role) if role.same_privileges(&wanted.privileges) => {
                Ok((role, ObjectChange::Unchanged))
            }
            Some(role) => {
                let before = role.privileges.clone();
                let updated = self
                    .client
                    .update_role(&role.id, &wanted)
                    .await
                    .map_err(|e| {
                        self.jamf_failure(
                            "cannot set the privileges of the management role",
                            &e,
                            "rerun bootstrap",
                        )
                    })?;
                let entry = self
                    .entry(
                        ObjectKind::Role,
                        Some(&updated.id),
                        Action::Update,
                        Outcome::Ok,
                    )
                    .before(json!({ "privileges": before }))
                    .after(json!({ "privileges": wanted.privileges }));
                self.record(entry, "the management role was updated")
                    .await?;
                let wanted_set = wanted.privilege_set();
                let extra: Vec<&str> = role
                    .privilege_set()
                    .difference(&wanted_set)
                    .copied()
                    .collect();
                let missing: Vec<&str> = wanted_set
                    .difference(&role.privilege_set())
                    .copied()
                    .collect();
                self.notes.push(format!(
                    "role {MANAGEMENT_NAME} (id {}) existed with other privileges (removed: {}; added: {}); it now has exactly the eight",
                    updated.id,
                    list_or_none(&extra),
                    list_or_none(&missing)
                ));
                tracing::info!(instance = %self.name(), role_id = %updated.id, "reset the privileges of the management role");
                Ok((updated, ObjectChange::Updated))
            }
        }
    }

    /// Finds or creates the management client: enabled, the management role only, lifetime
    /// [`TOKEN_LIFETIME`].
    pub(super) async fn ensure_client(
        &mut self,
    ) -> Result<(ApiIntegration, ObjectChange), Failure> {
        let wanted = ApiIntegrationRequest {
            authorization_scopes: vec![MANAGEMENT_NAME.to_string()],
            display_name: MANAGEMENT_NAME.to_string(),
            enabled: Some(true),
            access_token_lifetime_seconds: Some(TOKEN_LIFETIME),
        };
        let found = self
            .client
            .find_integration_by_name(MANAGEMENT_NAME)
            .await
            .map_err(|e| {
                self.jamf_failure(
                    "cannot look up the management client",
                    &e,
                    "rerun bootstrap",
                )
            })?;
        match found {
            None => {
                let created = self.client.create_integration(&wanted).await.map_err(|e| {
                    let hint = if matches!(e, JamfError::Transport { .. }) {
                        "the client may or may not exist now; rerun bootstrap, it finds the client by name"
                    } else {
                        "rerun bootstrap"
                    };
                    self.jamf_failure("cannot create the management client", &e, hint)
                })?;
                let entry = self
                    .entry(
                        ObjectKind::Client,
                        Some(&created.client_id),
                        Action::Create,
                        Outcome::Ok,
                    )
                    .after(json!({
                        "integration_id": created.id,
                        "client_id": created.client_id,
                        "roles": created.authorization_scopes,
                        "enabled": created.enabled,
                        "access_token_lifetime_seconds": created.access_token_lifetime_seconds,
                    }));
                self.record(entry, "the management client was created")
                    .await?;
                tracing::info!(instance = %self.name(), client_id = %created.client_id, "created the management client");
                Ok((created, ObjectChange::Created))
            }
            Some(existing)
                if existing.enabled
                    && existing.scope_set() == BTreeSet::from([MANAGEMENT_NAME])
                    && existing
                        .access_token_lifetime_seconds
                        .unwrap_or(TOKEN_LIFETIME)
                        == TOKEN_LIFETIME =>
            {
                Ok((existing, ObjectChange::Unchanged))
            }
            Some(existing) => {
                let updated = self
                    .client
                    .update_integration(existing.id, &wanted)
                    .await
                    .map_err(|e| {
                        self.jamf_failure(
                            "cannot update the management client",
                            &e,
                            "rerun bootstrap",
                        )
                    })?;
                let entry = self
                    .entry(
                        ObjectKind::Client,
                        Some(&updated.client_id),
                        Action::Update,
                        Outcome::Ok,
                    )
                    .before(json!({
                        "roles": existing.authorization_scopes,
                        "enabled": existing.enabled,
                        "access_token_lifetime_seconds": existing.access_token_lifetime_seconds,
                    }))
                    .after(json!({
                        "roles": updated.authorization_scopes,
                        "enabled": updated.enabled,
                        "access_token_lifetime_seconds": updated.access_token_lifetime_seconds,
                    }));
                self.record(entry, "the management client was updated")
                    .await?;
                self.notes.push(format!(
                    "client {MANAGEMENT_NAME} (id {}) existed with other settings (roles {:?}, enabled {}, token lifetime {:?}); it is now enabled with role {MANAGEMENT_NAME} only and a {TOKEN_LIFETIME} s token lifetime",
                    existing.id,
                    existing.authorization_scopes,
                    existing.enabled,
                    existing.access_token_lifetime_seconds
                ));
                tracing::info!(instance = %self.name(), client_id = %updated.client_id, "updated the management client");
                Ok((updated, ObjectChange::Updated))
            }
        }
    }
}
