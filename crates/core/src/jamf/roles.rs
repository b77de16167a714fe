//! API roles: `/api/v1/api-roles`.

use super::JamfClient;
use super::endpoint::Endpoint;
use super::error::JamfError;
use super::paging::display_name_filter;
use super::types::{ApiRole, ApiRoleRequest};

impl JamfClient {
    /// All API roles (every page), sorted by id. Needs "Read API Roles".
    pub async fn list_roles(&self) -> Result<Vec<ApiRole>, JamfError> {
        self.list_all(Endpoint::ListRoles, None, |r: &ApiRole| r.id.clone())
            .await
    }

    /// One API role. [`JamfError::NotFound`] if it does not exist (a 404 shortly after this
    /// client's own write is retried first). Needs "Read API Roles".
    pub async fn get_role(&self, id: &str) -> Result<ApiRole, JamfError> {
        self.fetch_json(&self.call(Endpoint::GetRole, &[id])).await
    }

    /// Creates an API role (Jamf answers 200, some versions 201). **Never retried**: on a
    /// transport error the caller must look the role up by name before trying again. Needs
    /// "Create API Roles".
    pub async fn create_role(&self, role: &ApiRoleRequest) -> Result<ApiRole, JamfError> {
        self.send_json(self.call(Endpoint::CreateRole, &[]), role)
            .await
    }

    /// Replaces an API role (name and the whole privilege list). Needs "Update API Roles".
    pub async fn update_role(&self, id: &str, role: &ApiRoleRequest) -> Result<ApiRole, JamfError> {
        self.send_json(self.call(Endpoint::UpdateRole, &[id]), role)
            .await
    }

    /// Deletes an API role. [`JamfError::Conflict`] if a client still uses it. Needs
    /// "Delete API Roles".
    pub async fn delete_role(&self, id: &str) -> Result<(), JamfError> {
        self.send_no_content(&self.call(Endpoint::DeleteRole, &[id]))
            .await
    }

    /// The role whose display name is exactly `name` (case-sensitive), if any. Jamf's filter
    /// is case-insensitive and globs `*`, so the matches are re-checked here.
    pub async fn find_role_by_name(&self, name: &str) -> Result<Option<ApiRole>, JamfError> {
        let matches = self
            .list_all(
                Endpoint::ListRoles,
                Some(display_name_filter(name)),
                |r: &ApiRole| r.id.clone(),
            )
            .await?;
        Ok(matches.into_iter().find(|r| r.display_name == name))
    }
}
