//! The daemon's identity: host name and a hash of its state directory, stable across restarts
//! of the same daemon, distinct for two daemons on one host. Rotation locks and markers carry
//! it (a restarted daemon takes over its own stale locks at once), and the change log's head
//! anchor and MAC key are kept per daemon id in Vault.

use sha2::{Digest, Sha256};

/// This daemon's id: `daemon.id` when set, else the implicit [`daemon_id`].
pub fn effective(config: &warden_core::config::Config) -> String {
    config
        .daemon
        .id
        .clone()
        .unwrap_or_else(|| daemon_id(&config.daemon.state_dir))
}

/// This daemon's implicit id. Path-safe (`[A-Za-z0-9._-]`).
pub fn daemon_id(state_dir: &std::path::Path) -> String {
    let host: String = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown-host".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let digest = Sha256::digest(state_dir.display().to_string().as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{host}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_id_is_stable_path_safe_and_per_state_dir() {
        let a = daemon_id(std::path::Path::new("/var/lib/jamf-warden"));
        assert_eq!(a, daemon_id(std::path::Path::new("/var/lib/jamf-warden")));
        assert_ne!(a, daemon_id(std::path::Path::new("/var/lib/other")));
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{a}"
        );
    }
}
