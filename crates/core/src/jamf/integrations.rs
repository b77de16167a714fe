//! API integrations (API clients): `/api/v1/api-integrations`.

use super::JamfClient;
use super::auth::ClientCredentials;
use super::endpoint::Endpoint;
use super::error::JamfError;
use super::paging::display_name_filter;
use super::types::{ApiIntegration, ApiIntegrationRequest};

impl JamfClient {
    /// All API integrations (every page), sorted by id. Needs "Read API Integrations".
    pub async fn list_integrations(&self) -> Result<Vec<ApiIntegration>, JamfError> {
        self.list_all(Endpoint::ListIntegrations, None, |i: &ApiIntegration| i.id)
            .await
    }

    /// One API integration. [`JamfError::NotFound`] if it does not exist (a 404 shortly after
    /// this client's own write is retried first). Needs "Read API Integrations".
    pub async fn get_integration(&self, id: i64) -> Result<ApiIntegration, JamfError> {
        let id = id.to_string();
        self.fetch_json(&self.call(Endpoint::GetIntegration, &[&id]))
            .await
    }

    /// Creates an API integration (200 or 201). **Never retried**: on a transport error the
    /// caller must look it up by name before trying again. Needs "Create API Integrations".
    pub async fn create_integration(
        &self,
        integration: &ApiIntegrationRequest,
    ) -> Result<ApiIntegration, JamfError> {
        self.send_json(self.call(Endpoint::CreateIntegration, &[]), integration)
            .await
    }

    /// Replaces an API integration (all fields). Disabling a client revokes its secret. Needs
    /// "Update API Integrations".
    pub async fn update_integration(
        &self,
        id: i64,
        integration: &ApiIntegrationRequest,
    ) -> Result<ApiIntegration, JamfError> {
        let id = id.to_string();
        self.send_json(self.call(Endpoint::UpdateIntegration, &[&id]), integration)
            .await
    }

    /// Deletes an API integration. Needs "Delete API Integrations".
    pub async fn delete_integration(&self, id: i64) -> Result<(), JamfError> {
        let id = id.to_string();
        self.send_no_content(&self.call(Endpoint::DeleteIntegration, &[&id]))
            .await
    }

    /// The integration whose display name is exactly `name` (case-sensitive), if any.
    pub async fn find_integration_by_name(
        &self,
        name: &str,
    ) -> Result<Option<ApiIntegration>, JamfError> {
        let matches = self
            .list_all(
                Endpoint::ListIntegrations,
                Some(display_name_filter(name)),
                |i: &ApiIntegration| i.id,
            )
            .await?;
        Ok(matches.into_iter().find(|i| i.display_name == name))
    }

    /// Generates a new client secret (`POST .../client-credentials`, no body). The previous
    /// secret stops working at once. Needs "Create API Integrations".
    ///
    /// **Never retried** on a transport error, 429 or 5xx: a retried call would rotate the
    /// secret again and lose this one. If it fails with [`JamfError::Transport`] the outcome
    /// is unknown: probe the old secret with
    /// [`verify_client_credentials`](JamfClient::verify_client_credentials) before rotating
    /// again. (A 401 is replayed once with a fresh token: a 401 means Jamf did not process it.)
    pub async fn generate_client_credentials(
        &self,
        id: i64,
    ) -> Result<ClientCredentials, JamfError> {
        let id = id.to_string();
        let minted: ClientCredentials = self
            .fetch_json(&self.call(Endpoint::GenerateClientCredentials, &[&id]))
            .await?;
        self.remember("client", &minted.client_id, &minted.client_secret);
        Ok(minted)
    }
}
