//! The role set a client's secret was minted with. Jamf gives a client's tokens the scope of
//! the roles it held when its secret was minted, so the engine records that set in the
//! marker at finalize (`scope_roles`) and drift compares it with the live roles (`scope_stale`).
//! A leaf: drift reads it without depending on the engine.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Vault limits a custom metadata value to 512 bytes; a longer role list is kept as a digest.
const MAX_LIST_CHARS: usize = 480;
const DIGEST_PREFIX: &str = "sha256:";

/// The roles a secret covers, as recorded when it was minted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MintedScope {
    /// The role names, sorted.
    Roles(Vec<String>),
    /// Only a digest of the sorted names (the list was too long for Vault's metadata).
    Digest(String),
}

impl MintedScope {
    /// The scope of a secret minted while the client held `roles`.
    pub fn of(roles: &[String]) -> MintedScope {
        let mut sorted = roles.to_vec();
        sorted.sort();
        sorted.dedup();
        let list = serde_json::to_string(&sorted).unwrap_or_default();
        if list.chars().count() <= MAX_LIST_CHARS {
            MintedScope::Roles(sorted)
        } else {
            MintedScope::Digest(digest(&sorted))
        }
    }

    /// The marker value: a JSON list of names, or `sha256:<hex>`.
    pub fn encode(&self) -> String {
        match self {
            MintedScope::Roles(roles) => serde_json::to_string(roles).unwrap_or_default(),
            MintedScope::Digest(hex) => format!("{DIGEST_PREFIX}{hex}"),
        }
    }

    /// Parses a marker value; `None` for anything else (a marker from an older Warden has
    /// none: the scope is unknown).
    pub fn decode(value: &str) -> Option<MintedScope> {
        if let Some(hex) = value.strip_prefix(DIGEST_PREFIX) {
            return (!hex.is_empty()).then(|| MintedScope::Digest(hex.to_owned()));
        }
        let mut roles: Vec<String> = serde_json::from_str(value).ok()?;
        roles.sort();
        roles.dedup();
        Some(MintedScope::Roles(roles))
    }

    /// Whether a client holding `live` now has exactly the roles the secret covers.
    pub fn matches(&self, live: &[String]) -> bool {
        let mut sorted = live.to_vec();
        sorted.sort();
        sorted.dedup();
        match self {
            MintedScope::Roles(roles) => *roles == sorted,
            MintedScope::Digest(hex) => *hex == digest(&sorted),
        }
    }

    /// The role names, when they were recorded (not only a digest).
    pub fn roles(&self) -> Option<&[String]> {
        match self {
            MintedScope::Roles(roles) => Some(roles),
            MintedScope::Digest(_) => None,
        }
    }
}

/// The roles a stored secret covers as Jamf says it: the `scope` of a token it got (role ids,
/// which survive a rename). Better evidence than [`MintedScope`], which was recorded by name
/// at mint, and the only evidence for a secret rotated before Warden recorded its roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenScope {
    /// The Vault version of the secret that got the token.
    pub version: u64,
    /// The role ids in the token's `scope`.
    pub role_ids: BTreeSet<String>,
}

fn digest(sorted: &[String]) -> String {
    let mut hasher = Sha256::new();
    for name in sorted {
        hasher.update(name.as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn round_trips_and_compares_as_sets() {
        let scope = MintedScope::of(&names(&["B", "A"]));
        assert_eq!(scope.encode(), r#"["A","B"]"#);
        assert_eq!(MintedScope::decode(&scope.encode()), Some(scope.clone()));
        assert!(scope.matches(&names(&["A", "B"])));
        assert!(scope.matches(&names(&["B", "A"])));
        assert!(!scope.matches(&names(&["A"])));
        assert_eq!(scope.roles(), Some(&names(&["A", "B"])[..]));
        assert_eq!(MintedScope::decode("not json"), None);
    }

    #[test]
    fn a_long_role_list_is_kept_as_a_digest() {
        let many: Vec<String> = (0..40)
            .map(|i| format!("A rather long role name {i}"))
            .collect();
        let scope = MintedScope::of(&many);
        assert!(matches!(scope, MintedScope::Digest(_)));
        assert!(scope.encode().len() < 512);
        let decoded = MintedScope::decode(&scope.encode()).unwrap();
        assert!(decoded.matches(&many));
        assert!(!decoded.matches(&many[1..]));
        assert_eq!(decoded.roles(), None);
    }
}
