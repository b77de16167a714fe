//! Reading secret files (`*_file` settings) at daemon start.

use std::path::Path;

use secrecy::SecretString;
use zeroize::Zeroize;

use super::errors::ConfigError;

/// Reads a secret (Vault token, AppRole role id or secret id) from `path`.
///
/// - One trailing newline (`\n` or `\r\n`) is removed, as editors and `echo` add one.
/// - An empty file (after that) is an error.
/// - On unix, a file that other users may read **or write** (any of mode `0o006`) is an error:
///   such a secret must be treated as leaked, and a writable one lets any local user substitute
///   their own credentials. A group-readable file is accepted with a warning in the log, since
///   deployments commonly share secrets with a service group. systemd `LoadCredential=` files
///   are private to the service and always pass.
///
/// [`Config::load`](super::Config::load) never calls this: a missing or unreadable secret file
/// is a daemon start-up error, not a config error, so `--check-config` works without access to
/// the secrets.
pub fn read_secret_file(path: &Path) -> Result<SecretString, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Check the permissions of the file actually opened, not of whatever the path names later.
    // A regular file only (never blocking on a FIFO), at most 4 MiB.
    let (mut file, meta) = crate::files::open_regular(path).map_err(read_error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o006 != 0 {
            return Err(ConfigError::SecretWorldAccessible {
                path: path.to_path_buf(),
                mode,
            });
        }
        if mode & 0o040 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format_args!("{mode:04o}"),
                "secret file is readable by its group; prefer mode 0600 or 0400"
            );
        }
    }
    let bytes = crate::files::read_to_end_capped(&mut file, crate::files::MAX_CONFIG_FILE_BYTES)
        .map_err(read_error)?;
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let mut bytes = e.into_bytes();
        bytes.zeroize();
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it is not UTF-8 text",
        ))
    })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(ConfigError::SecretEmpty {
            path: path.to_path_buf(),
        });
    }
    // Copy into the secret's own allocation and wipe the buffer it was read into.
    let secret = SecretString::from(text.as_str());
    text.zeroize();
    Ok(secret)
}
