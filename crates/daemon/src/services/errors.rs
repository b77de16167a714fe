//! The protocol error codes of the errors services pass on from Jamf and Vault: what the
//! caller of `wardenctl` can do about each cause.

use warden_core::jamf::JamfError;
use warden_core::protocol::ErrorCode;
use warden_core::vault::VaultError;

/// The code for a Jamf error met with Warden's management client.
pub fn jamf_code(e: &JamfError) -> ErrorCode {
    match e {
        // the object is not there, or was changed by someone else meanwhile
        JamfError::NotFound { .. } => ErrorCode::NotFound,
        JamfError::Conflict { .. } => ErrorCode::Conflict,
        // Jamf refused what was asked (a desired state Jamf does not accept) or the instance's
        // settings are wrong: fix the request or the configuration, retrying will not help
        JamfError::Validation { .. } | JamfError::InsecureUrl { .. } | JamfError::Config(_) => {
            ErrorCode::BadRequest
        }
        // down, slow, refusing Warden's credentials, or answering what Warden cannot use:
        // Jamf is not usable now; the message says what to check
        _ => ErrorCode::Unavailable,
    }
}

/// The code for a Vault error met by the daemon.
pub fn vault_code(e: &VaultError) -> ErrorCode {
    match e {
        VaultError::CasConflict { .. } => ErrorCode::Conflict,
        VaultError::NotFound { .. } => ErrorCode::NotFound,
        VaultError::Config(_) => ErrorCode::BadRequest,
        // down, sealed, the daemon's token or policy, a missing mount: Vault is not usable
        // for this now; the message says what to grant or fix
        _ => ErrorCode::Unavailable,
    }
}

/// The lowercase wire name of a code, as the change log's `error_kind` carries it.
pub fn kind_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{code:?}").to_lowercase())
}
