//! API role privileges: `/api/v1/api-role-privileges`.

use super::JamfClient;
use super::endpoint::Endpoint;
use super::error::JamfError;
use super::types::ApiRolePrivileges;

impl JamfClient {
    /// Every privilege this Jamf Pro version knows (read it live: it changes between
    /// versions). Needs "Read API Roles".
    pub async fn list_privileges(&self) -> Result<Vec<String>, JamfError> {
        let list: ApiRolePrivileges = self
            .fetch_json(&self.call(Endpoint::ListPrivileges, &[]))
            .await?;
        Ok(list.privileges)
    }

    /// Privileges whose name contains `name`; `limit` defaults to Jamf's 15. Needs
    /// "Read API Roles".
    pub async fn search_privileges(
        &self,
        name: &str,
        limit: Option<u32>,
    ) -> Result<Vec<String>, JamfError> {
        let mut call = self.call(Endpoint::SearchPrivileges, &[]);
        call.query.push(("name", name.to_owned()));
        if let Some(limit) = limit {
            call.query.push(("limit", limit.to_string()));
        }
        let list: ApiRolePrivileges = self.fetch_json(&call).await?;
        Ok(list.privileges)
    }
}
