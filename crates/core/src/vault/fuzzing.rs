//! Entry points for the fuzz tests (`crates/core/tests/fuzz/`): the decoding of Vault answers
//! Warden does itself (vaultrs parses the HTTP envelope). Not part of the API.

use serde_json::Value;

use super::VaultError;
use super::kv::SecretMap;

/// A secret's `data` as [`Vault::read_secret`](super::Vault::read_secret) turns it into a
/// [`SecretMap`]; returns the number of keys.
pub fn decode_secret_data(data: Value, path: &str) -> Result<usize, VaultError> {
    SecretMap::from_json(data, path).map(|m| m.0.len())
}
