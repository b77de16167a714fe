//! The per-record MAC: HMAC-SHA-256 with a key that only the daemon (and Vault) holds.
//!
//! A hash chain shows edits, but anyone who can write the log file can also append records
//! that chain correctly: SHA-256 needs no key. A record's `mac` proves that it was written by a
//! holder of the daemon's key, which lives only in Vault and in the daemon's memory (never on
//! disk, never logged; `Debug` prints nothing of it).
//!
//! The MAC covers the record's bytes without its `mac` and `hash` members (see
//! `docs/changelog-format.md`), so it also covers `seq` and `prev`: a MAC'd record cannot be
//! moved to another place in the chain.

use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

/// Length of a key in bytes.
pub const MAC_KEY_BYTES: usize = 32;

/// The bytes that precede the hex MAC, right before the `hash` member.
pub(crate) const MAC_MEMBER_PREFIX: &[u8] = b",\"mac\":\"";

/// Length of the `,"mac":"<64 hex>"` member: 8 bytes of prefix, 64 hex digits and the quote.
pub(crate) const MAC_MEMBER_LEN: usize = MAC_MEMBER_PREFIX.len() + 64 + 1;

/// The change log's MAC key (32 random bytes), held as a secret.
pub struct MacKey(SecretBox<[u8; MAC_KEY_BYTES]>);

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(<redacted>)")
    }
}

/// A key that cannot be decoded.
#[derive(Debug, thiserror::Error)]
#[error(
    "the change-log MAC key is not {MAC_KEY_BYTES} bytes of lowercase hex; restore it from a \
     backup of Vault"
)]
pub struct BadMacKey;

impl MacKey {
    /// A new random key from the thread-local CSPRNG (seeded by the OS).
    pub fn generate() -> MacKey {
        MacKey(SecretBox::init_with_mut(
            |bytes: &mut [u8; MAC_KEY_BYTES]| rand::rng().fill_bytes(bytes),
        ))
    }

    /// Decodes a key from its 64 hex digits (as stored in Vault).
    pub fn from_hex(hex_key: &SecretString) -> Result<MacKey, BadMacKey> {
        let text = hex_key.expose_secret().trim();
        let mut failed = false;
        let key = SecretBox::init_with_mut(|bytes: &mut [u8; MAC_KEY_BYTES]| {
            failed = hex::decode_to_slice(text, bytes).is_err();
        });
        if failed {
            return Err(BadMacKey);
        }
        Ok(MacKey(key))
    }

    /// The key as 64 lowercase hex digits, to store it in Vault.
    pub fn to_hex(&self) -> SecretString {
        SecretString::from(hex::encode(self.0.expose_secret()))
    }

    fn hmac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret())
            .expect("HMAC accepts a key of any length")
    }

    /// Lowercase hex HMAC-SHA-256 of `message`.
    pub fn mac_hex(&self, message: &[u8]) -> String {
        let mut mac = self.hmac();
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `mac_hex` is the MAC of `message`, compared in constant time.
    pub fn verify(&self, message: &[u8], mac_hex: &str) -> bool {
        let mut expected = [0u8; 32];
        if hex::decode_to_slice(mac_hex, &mut expected).is_err() {
            return false;
        }
        let mut mac = self.hmac();
        mac.update(message);
        mac.verify_slice(&expected).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 ("Jefe"), to show this is plain HMAC-SHA-256 that `openssl` can
    /// recompute.
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let key_hex = hex::encode(b"Jefe");
        // A 4-byte key does not fit `MacKey`; check the primitive the same way it is used.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&hex::decode(key_hex).unwrap()).unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_round_trip_through_hex_and_never_print() {
        let key = MacKey::generate();
        let again = MacKey::from_hex(&key.to_hex()).unwrap();
        let tag = key.mac_hex(b"record");
        assert!(again.verify(b"record", &tag));
        assert!(!again.verify(b"recorD", &tag));
        assert!(!again.verify(b"record", "zz"));
        assert!(!MacKey::generate().verify(b"record", &tag));
        assert_eq!(format!("{key:?}"), "MacKey(<redacted>)");
        assert!(MacKey::from_hex(&SecretString::from("00ff")).is_err());
        assert!(MacKey::from_hex(&SecretString::from("x".repeat(64))).is_err());
    }
}
