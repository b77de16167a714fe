//! Keeping secrets out of the change log.

use serde_json::Value;

/// Value that [`redact_secrets`] puts in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// Key fragments that mark a value as secret (compared after lowercasing and dropping
/// everything but letters and digits, so `client_secret`, `clientSecret` and `Client-Secret`
/// all match).
pub const SECRET_KEY_FRAGMENTS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "passphrase",
    "token",
    "privatekey",
    "apikey",
    "credential",
];

/// Endings that mark a key as metadata about a secret rather than the secret itself, e.g.
/// `secret_version`, `secret_path`, `accessTokenLifetimeSeconds`.
pub const SECRET_METADATA_SUFFIXES: &[&str] = &[
    "version",
    "versions",
    "path",
    "mount",
    "id",
    "ids",
    "name",
    "lifetime",
    "seconds",
    "ttl",
    "expiry",
    "expires",
    "expiresat",
    "rotatedat",
    "count",
    "length",
    "type",
    "kind",
];

/// Whether a JSON object key names a secret (see [`SECRET_KEY_FRAGMENTS`] and
/// [`SECRET_METADATA_SUFFIXES`]).
pub fn is_secret_key(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_KEY_FRAGMENTS.iter().any(|frag| norm.contains(frag))
        && !SECRET_METADATA_SUFFIXES
            .iter()
            .any(|suffix| norm.ends_with(suffix))
}

/// Replaces, recursively, the value of every object member whose key names a secret
/// ([`is_secret_key`]) with `"[redacted]"`; `null` values stay `null`.
///
/// This is a safety net applied on every append, not a licence to pass secrets: a secret under
/// an innocent key (`{"name": "client_secret", "value": "…"}`) is not recognised.
pub fn redact_secrets(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = if is_secret_key(&key) && !value.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact_secrets(value)
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_secrets).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_are_recognised() {
        for key in [
            "secret",
            "client_secret",
            "clientSecret",
            "Client-Secret",
            "password",
            "vault_token",
            "X-Vault-Token",
            "access_token",
            "private_key",
            "credentials",
        ] {
            assert!(is_secret_key(key), "{key} should be secret");
        }
        for key in [
            "client_id",
            "clientId",
            "vault_path",
            "secret_path",
            "secret_version",
            "accessTokenLifetimeSeconds",
            "token_ttl",
            "displayName",
            "privileges",
        ] {
            assert!(!is_secret_key(key), "{key} should not be secret");
        }
    }

    #[test]
    fn redaction_is_recursive_and_keeps_metadata() {
        let value = json!({
            "client_id": "abc",
            "clientSecret": "hunter2",
            "nested": [{"password": "p", "vault_path": "kv/jamf/prod"}, {"token": null}],
            "secret_version": 4,
        });
        let redacted = redact_secrets(value);
        assert_eq!(
            redacted,
            json!({
                "client_id": "abc",
                "clientSecret": REDACTED,
                "nested": [{"password": REDACTED, "vault_path": "kv/jamf/prod"}, {"token": null}],
                "secret_version": 4,
            })
        );
    }
}
