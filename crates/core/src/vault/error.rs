//! Errors of the Vault (KV v2) store, shaped by what the caller does next.

use vaultrs::error::ClientError;

/// What went wrong talking to Vault. Messages never carry a secret, a token or a response body.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Vault could not be reached or answered 5xx: retry later; block new rotations meanwhile.
    #[error(
        "vault at {address} is unreachable or unavailable ({detail}); check that it runs and is unsealed"
    )]
    Unavailable { address: String, detail: String },
    /// The path (or the requested version) does not exist.
    #[error("vault path {path} not found")]
    NotFound { path: String },
    /// The KV mount itself does not exist (Vault answered "no handler for route"): the
    /// configured `vault.kv_mount` is wrong or the mount was moved or disabled. Not a missing
    /// secret: bootstrapping cannot fix it.
    #[error(
        "the vault kv mount `{mount}` does not exist (vault has no handler for {path}); mount a kv version 2 engine at `{mount}` or set vault.kv_mount to the mount that holds warden's secrets"
    )]
    MountMissing { mount: String, path: String },
    /// The KV mount exists but is not a KV version 2 engine.
    #[error(
        "the vault mount `{mount}` is not a kv version 2 engine (it is {found}); set vault.kv_mount to a kv-v2 mount"
    )]
    MountNotKv2 { mount: String, found: String },
    /// The token lacks a capability a later write needs (proved before anything changes).
    #[error(
        "the daemon's vault token lacks the `{capability}` capability on {path} (it has [{}]); add to the daemon's vault policy: path \"{path}\" {{ capabilities = [\"{capability}\"] }}",
        have.join(", ")
    )]
    MissingCapability {
        path: String,
        capability: &'static str,
        have: Box<[String]>,
    },
    /// A check-and-set write lost against another writer.
    #[error(
        "vault check-and-set conflict on {path}: another writer changed it first; re-read and decide again"
    )]
    CasConflict { path: String },
    /// The token (valid: checked with `lookup-self` after the refusal) lacks a policy for this
    /// operation. `path` is the API path (`<mount>/data/…` or `<mount>/metadata/…`) and
    /// `capability` the one the operation needs (`read`, `create`, `update`, `delete`, `list`),
    /// empty when unknown.
    #[error("{}", denied_message(path, capability))]
    Denied {
        path: String,
        capability: &'static str,
    },
    /// Logging in or looking up the token failed.
    #[error("vault authentication failed: {0}")]
    Auth(String),
    /// Settings that cannot work (bad address, unreadable CA file).
    #[error("vault configuration: {0}")]
    Config(String),
    /// Any other answer from Vault.
    #[error("vault answered {code} on {path}: {}", errors.join("; "))]
    Api {
        code: u16,
        path: String,
        errors: Vec<String>,
    },
    /// Data at the path is not what Warden wrote there.
    #[error("unexpected data at vault path {path}: {detail}")]
    Decode { path: String, detail: String },
}

/// The message of [`VaultError::Denied`]: the path, the capability refused and the policy line
/// that would allow it.
fn denied_message(path: &str, capability: &str) -> String {
    if capability.is_empty() {
        return format!(
            "vault denied access to {path} (403 permission denied); the daemon's token policy \
             does not allow this request on that path"
        );
    }
    format!(
        "vault refused `{capability}` on {path} (403 permission denied): the daemon's token is \
         valid but its policy does not grant `{capability}` there; add to the daemon's vault \
         policy: path \"{path}\" {{ capabilities = [\"{capability}\"] }} (or the policy in \
         docs/operations.md § Vault)"
    )
}

/// Vault's answer for a path no mount serves: `no handler for route "<path>"`.
pub(crate) fn no_route(errors: &[String]) -> bool {
    errors.iter().any(|e| e.contains("no handler for route"))
}

/// The first segment of the route Vault named in a "no handler for route" error.
fn mount_of(errors: &[String]) -> Option<String> {
    let e = errors.iter().find(|e| e.contains("no handler for route"))?;
    let route = e.split('"').nth(1)?;
    Some(route.split('/').next()?.to_string())
}

impl VaultError {
    /// True when retrying later can help (Vault down, sealed, overloaded).
    pub fn is_transient(&self) -> bool {
        matches!(self, VaultError::Unavailable { .. })
    }

    /// This error with the API path and capability of the refused operation, when it is a
    /// [`VaultError::Denied`].
    pub(crate) fn denied_as(self, api_path: &str, capability: &'static str) -> VaultError {
        match self {
            VaultError::Denied { .. } => VaultError::Denied {
                path: api_path.to_string(),
                capability,
            },
            other => other,
        }
    }

    /// Maps a vaultrs error for an operation on `path`. Response bodies are never copied into the
    /// message: a body may hold secret data.
    pub(crate) fn from_client(err: ClientError, address: &str, path: &str) -> VaultError {
        use rustify::errors::ClientError as Rest;
        let path = path.to_string();
        match err {
            ClientError::APIError { code: 404, errors } if no_route(&errors) => {
                VaultError::MountMissing {
                    mount: mount_of(&errors).unwrap_or_default(),
                    path,
                }
            }
            ClientError::APIError { code: 404, .. } => VaultError::NotFound { path },
            ClientError::APIError { code: 403, .. } => VaultError::Denied {
                path,
                capability: "",
            },
            ClientError::APIError { code: 400, errors }
                if errors.iter().any(|e| e.contains("check-and-set")) =>
            {
                VaultError::CasConflict { path }
            }
            ClientError::APIError { code, errors } if code >= 500 => VaultError::Unavailable {
                address: address.to_string(),
                detail: format!("status {code}: {}", errors.join("; ")),
            },
            ClientError::APIError { code, errors } => VaultError::Api { code, path, errors },
            ClientError::RestClientError { source } => match source {
                Rest::ServerResponseError {
                    code: 404,
                    content: Some(body),
                } if body.contains("no handler for route") => VaultError::MountMissing {
                    mount: String::new(),
                    path,
                },
                Rest::ServerResponseError { code: 404, .. } => VaultError::NotFound { path },
                Rest::ServerResponseError { code: 403, .. } => VaultError::Denied {
                    path,
                    capability: "",
                },
                Rest::ServerResponseError { code, .. } if code >= 500 => VaultError::Unavailable {
                    address: address.to_string(),
                    detail: format!("status {code}"),
                },
                Rest::ServerResponseError { code, .. } => VaultError::Api {
                    code,
                    path,
                    errors: vec![],
                },
                Rest::RequestError { source, .. } | Rest::ResponseError { source } => {
                    VaultError::Unavailable {
                        address: address.to_string(),
                        detail: source.root_cause().to_string(),
                    }
                }
                Rest::ResponseParseError { .. } | Rest::ResponseConversionError { .. } => {
                    VaultError::Decode {
                        path,
                        detail: "the response could not be parsed".into(),
                    }
                }
                other => VaultError::Unavailable {
                    address: address.to_string(),
                    detail: other.to_string(),
                },
            },
            ClientError::JsonParseError { .. } => VaultError::Decode {
                path,
                detail: "the secret's data has an unexpected shape".into(),
            },
            other => VaultError::Api {
                code: 0,
                path,
                errors: vec![other.to_string()],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 404 from a path no mount serves is a missing mount, not a missing secret, whichever
    /// way vaultrs reports it; any other 404 is a missing secret.
    #[test]
    fn no_route_is_a_missing_mount() {
        let no_route = vec!["no handler for route \"moved/data/x\". route entry not found.".into()];
        let e = VaultError::from_client(
            ClientError::APIError {
                code: 404,
                errors: no_route,
            },
            "http://v",
            "x",
        );
        assert!(
            matches!(&e, VaultError::MountMissing { mount, .. } if mount == "moved"),
            "{e:?}"
        );
        assert!(e.to_string().contains("mount a kv version 2 engine"), "{e}");
        assert!(!e.to_string().contains("bootstrap"), "{e}");
        let e = VaultError::from_client(
            ClientError::APIError {
                code: 404,
                errors: vec![],
            },
            "http://v",
            "x",
        );
        assert!(matches!(e, VaultError::NotFound { .. }), "{e:?}");
        let raw = |content: &str| ClientError::RestClientError {
            source: rustify::errors::ClientError::ServerResponseError {
                code: 404,
                content: Some(content.into()),
            },
        };
        assert!(matches!(
            VaultError::from_client(
                raw(r#"{"errors":["no handler for route \"m/x\""]}"#),
                "a",
                "x"
            ),
            VaultError::MountMissing { .. }
        ));
        assert!(matches!(
            VaultError::from_client(raw(r#"{"errors":[]}"#), "a", "x"),
            VaultError::NotFound { .. }
        ));
    }
}
