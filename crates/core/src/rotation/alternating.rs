//! The `alternating` strategy: two Jamf clients with the same roles take turns, so the secret
//! consumers read is never the one being replaced.
//!
//! Slot `a` is the declared client, slot `b` its twin `<name> (alternate)` (created by the
//! engine, under the lock, with the primary's roles, lifetime and enabled flag). A rotation
//! mints the **idle** slot's secret, stores it at `<vault_path>/slots/<slot>`, verifies it, and
//! only then flips: `<vault_path>` gets the slot's credentials and the marker `current=<slot>`.
//! The previously current secret keeps working until its slot is rotated, one rotation later.

use secrecy::ExposeSecret;

use super::adopt::read_adoption;
use super::error::RotationError;
use super::hook::StepHook;
use super::marker::{Marker, Slot};
use super::preflight::{before_mint, check_live, jamf_before_mint};
use super::store::SecretStore;
use crate::jamf::ApiIntegrationRequest;

use super::flow::Run;

impl<S: SecretStore, H: StepHook> Run<'_, S, H> {
    /// Creates the `(alternate)` client if preflight did not find it. A create is never
    /// retried: if its answer is lost, the next run finds the client by name.
    pub(crate) async fn ensure_alternate(&mut self) -> Result<(), RotationError> {
        if self.prep.alternate.is_some() {
            return Ok(());
        }
        let name = self.target.alternate_name();
        // Another daemon may have created it between preflight and the lock.
        let found = self
            .jamf
            .find_integration_by_name(&name)
            .await
            .map_err(|e| jamf_before_mint(self.name(), e))?;
        let alt = match found {
            Some(alt) => alt,
            None => {
                let primary = &self.prep.primary;
                let request = ApiIntegrationRequest {
                    authorization_scopes: self.target.client.roles.clone(),
                    display_name: name.clone(),
                    enabled: Some(primary.enabled),
                    access_token_lifetime_seconds: primary
                        .access_token_lifetime_seconds
                        .or(Some(i64::from(self.target.client.token_lifetime))),
                };
                let created = self
                    .jamf
                    .create_integration(&request)
                    .await
                    .map_err(|e| jamf_before_mint(self.name(), e))?;
                tracing::info!(
                    alternate = %name,
                    jamf_id = created.id,
                    "created the alternate client for the alternating strategy"
                );
                self.alternate_created = true;
                created
            }
        };
        check_live(self.target, &alt)?;
        self.prep.alternate = Some(alt);
        Ok(())
    }

    /// The slot to work on: the interrupted rotation's slot, else the idle one (the one that
    /// is not current). Without a recorded `current`, the client id stored at `<vault_path>`
    /// tells (e.g. a secret of the declared client from the `single` strategy means `a` is
    /// current); with nothing stored, slot `a` comes first, unless the client was adopted and
    /// cut over (`wardenctl adopt --cutover`): then its consumers hold the declared client's
    /// secret, so the twin (`b`) comes first and that secret stays valid.
    pub(crate) async fn choose_slot(&self, marker: &Marker) -> Result<Slot, RotationError> {
        if marker.is_unfinished()
            && let Some(slot) = marker.slot
        {
            return Ok(slot);
        }
        let current = match marker.current {
            Some(current) => Some(current),
            None => self.infer_current().await?,
        };
        if let Some(current) = current {
            return Ok(current.other());
        }
        let adopted = read_adoption(&self.engine.store, self.target)
            .await
            .map_err(|e| before_mint(self.name(), e))?
            .is_some_and(|r| r.value.cutover_at.is_some());
        Ok(if adopted { Slot::B } else { Slot::A })
    }

    async fn infer_current(&self) -> Result<Option<Slot>, RotationError> {
        let stored = self
            .engine
            .store
            .read_secret(self.target.vault_path())
            .await
            .map_err(|e| before_mint(self.name(), e))?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let Some(id) = stored.value.get("client_id") else {
            return Ok(None);
        };
        let id = id.expose_secret();
        if id == self.prep.primary.client_id {
            return Ok(Some(Slot::A));
        }
        Ok(self
            .prep
            .alternate
            .as_ref()
            .filter(|alt| alt.client_id == id)
            .map(|_| Slot::B))
    }
}
