//! Warden's own Jamf client per instance, built from the management credentials in Vault and
//! rebuilt when their Vault version changes (after Warden rotates its own secret, or after an
//! operator replaces them).
//!
//! Vault is read only when the cached client would need its credentials: while its token is
//! fresh, a request uses the token and nothing else (Jamf keeps issued tokens valid until they
//! expire, even after a new secret), so a drift check of a fleet costs no Vault read per
//! instance. Once the token is due, Vault is read and a changed version rebuilds the client; a
//! token request refused with the old credentials leaves no token, so the next call reads
//! Vault again.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use warden_core::config::Instance;
use warden_core::jamf::{Credentials, JamfClient, JamfClientConfig};

use crate::shared::Shared;

/// The management client of `instance`, current with the credentials in Vault.
pub async fn management_client(shared: &Arc<Shared>, instance: &str) -> Result<JamfClient, String> {
    let config = shared.config();
    // borrowed from the config snapshot: cloning the instance would copy its desired state on
    // every call
    let inst = config
        .instance(instance)
        .ok_or_else(|| format!("instance {instance} is no longer configured"))?;
    let cached = shared
        .instances()
        .get(instance)
        .and_then(|rt| rt.client.clone());
    if let Some(client) = cached
        && client.has_fresh_token().await
    {
        return Ok(client);
    }
    let path = inst.credentials.clone();
    let full = shared.vault.settings().full_path(&path);
    // a missing mount is its own error (VaultError::MountMissing), never "no credentials":
    // bootstrap cannot fix it
    let secret = shared.vault.read_secret(&path).await.map_err(|e| {
        format!("cannot read the management credentials of {instance} from vault: {e}")
    })?;
    let Some(secret) = secret else {
        return Err(format!(
            "no management credentials for {instance} at vault path {full}: store client_id and client_secret there (wardenctl bootstrap {instance} does it)"
        ));
    };
    {
        let runtime = shared.instances();
        if let Some(rt) = runtime.get(instance)
            && rt.credentials_version == Some(secret.version)
            && let Some(client) = &rt.client
        {
            return Ok(client.clone());
        }
    }
    let (Some(id), Some(sec)) = (
        secret.value.get("client_id"),
        secret.value.get("client_secret"),
    ) else {
        return Err(format!(
            "the management credentials at vault path {full} lack client_id or client_secret"
        ));
    };
    let credentials = Credentials::ApiClient {
        client_id: id.expose_secret().to_string(),
        client_secret: SecretString::from(sec.expose_secret().to_string()),
    };
    if let Credentials::ApiClient { client_secret, .. } = &credentials {
        // read from vault: known to the scrubber before any request can echo it
        warden_core::changelog::remember_secret(
            &format!("vault:{instance}:management"),
            client_secret,
        );
    }
    let client = JamfClient::new(client_config(inst), credentials)
        .map_err(|e| format!("cannot build the jamf client of {instance}: {e}"))?;
    let mut runtime = shared.instances();
    let rt = runtime.entry(instance.to_string()).or_default();
    rt.client = Some(client.clone());
    rt.credentials_version = Some(secret.version);
    Ok(client)
}

/// The Jamf client settings of an instance.
pub fn client_config(inst: &Instance) -> JamfClientConfig {
    let mut c = JamfClientConfig::new(inst.name.clone(), inst.url.clone());
    c.allow_insecure_http = inst.allow_insecure_http;
    c.ca_file = inst.ca_file.clone();
    c.max_in_flight = inst.max_in_flight.max(1) as usize;
    c.connect_timeout = inst.connect_timeout;
    c.request_timeout = inst.request_timeout;
    c.max_list_objects = inst.max_list_objects as usize;
    c.list_timeout = inst.list_timeout;
    c
}
