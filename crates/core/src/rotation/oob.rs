//! The out-of-band check before a fresh mint: the secret this rotation is about to replace
//! must still get a token. If Jamf refuses it, someone changed it outside Warden (rotated it in
//! the Jamf console, or restored an old Vault version): its consumers may hold a secret Warden
//! does not, and minting would break them a second time. The rotation stops before the mint,
//! the refusal is kept in the marker (`refused_at`, `refused`) so that `wardenctl secrets` shows
//! it and the schedule does not retry it, and only `wardenctl rotate --yes
//! --accept-out-of-band` rotates it (the next successful rotation clears the refusal).

use super::error::RotationError;
use super::hook::StepHook;
use super::marker::{Slot, fmt_time, keys};
use super::persist::{Patch, update_marker};
use super::preflight::{before_mint, jamf_before_mint};
use super::store::SecretStore;
use super::verify::credentials_from;
use crate::jamf::JamfError;

use super::flow::Run;

impl<S: SecretStore, H: StepHook> Run<'_, S, H> {
    /// One client-credentials token request with the secret stored at `path` (the token is
    /// invalidated at once). Nothing stored, or stored data that is not this client's: nothing
    /// to check. Refused by Jamf: [`RotationError::OutOfBand`], recorded in the marker.
    pub(crate) async fn check_out_of_band(
        &self,
        slot: Option<Slot>,
        path: &str,
    ) -> Result<(), RotationError> {
        let store = &self.engine.store;
        let Some(stored) = store
            .read_secret(path)
            .await
            .map_err(|e| before_mint(self.name(), e))?
        else {
            return Ok(());
        };
        let client_id = self.slot_client(slot).client_id.clone();
        let Ok(creds) = credentials_from(&stored.value, &client_id) else {
            tracing::info!(
                path = %store.full_path(path),
                "the data stored there is not the live client's credentials: nothing to check before the mint"
            );
            return Ok(());
        };
        let cause = match self.jamf.verify_client_credentials(&creds, None).await {
            Ok(_) => return Ok(()),
            Err(e @ (JamfError::OAuth { .. } | JamfError::Unauthorized { .. })) => e.to_string(),
            Err(e) => return Err(jamf_before_mint(self.name(), e)),
        };
        drop(creds);
        let engine = self.engine;
        let now = engine.now();
        let cause = format!(
            "the secret stored at {} version {} no longer gets a token ({cause})",
            store.full_path(path),
            stored.version
        );
        let patch: Patch = vec![
            (keys::REFUSED_AT, Some(fmt_time(now))),
            (keys::REFUSED, Some(cause.clone())),
            (
                keys::LAST_ERROR,
                Some(format!(
                    "rotation refused at {}: out of band",
                    fmt_time(now)
                )),
            ),
        ];
        if let Err(f) = update_marker(store, None, self.target.vault_path(), &patch).await {
            tracing::warn!(error = %f.source, "could not record the refused rotation in the marker");
        }
        Err(RotationError::OutOfBand {
            instance: self.target.instance.as_str().into(),
            client: self.name().to_string(),
            cause,
        })
    }
}
