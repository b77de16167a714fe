//! What a refused start says about recovering the state directory (`wardend --recover-state`).

use warden_core::config::Config;

/// The command that recovers the state of the daemon configured by `config`.
pub fn command(config: &Config) -> String {
    format!("wardend --config {} --recover-state", config.path.display())
}

/// The sentence a refused start appends: when and how to recover.
pub fn hint(config: &Config) -> String {
    format!(
        "if the state directory was lost or damaged (and no backup of it is to be restored), \
         rebuild it from vault with `{}` (see docs/operations.md, Backup and recovery)",
        command(config)
    )
}
