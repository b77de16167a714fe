//! Small JSON state files in the state directory (the kept drift reports and audits): read at
//! start (a missing or unreadable file starts afresh, logged), written atomically (a unique
//! temporary file, then rename; a failure is logged and the next save retries). Neither the file nor its
//! temporary file is ever opened through a symbolic link
//! ([`private_fs`](warden_core::private_fs)).

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use warden_core::changelog::ScrubWriter;
use warden_core::private_fs;

/// The largest kept report file read back (a large fleet's reports are megabytes).
const MAX_STATE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads `path` as `T`; `what` names the state in the log (e.g. "drift state").
pub fn load<T: DeserializeOwned + Default>(path: &Path, what: &str) -> T {
    match private_fs::read_file(path, MAX_STATE_BYTES) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(file = %path.display(), error = %e, "{what} unreadable; starting afresh (current results are recorded again)");
            T::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => T::default(),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot read the {what}; starting afresh");
            T::default()
        }
    }
}

/// Writes `value` to `path` atomically, encoding straight into the file (the kept reports of
/// a large fleet are megabytes; no copy of them is built in memory).
pub fn save<T: Serialize>(path: &Path, value: &T, what: &str) {
    let result = private_fs::write_atomic(path, 0o600, |file| {
        // the kept reports quote servers' errors: no known secret is written
        let mut out = ScrubWriter::new(std::io::BufWriter::new(file));
        serde_json::to_writer(&mut out, value).map_err(std::io::Error::other)?;
        std::io::Write::flush(&mut out.finish()?)
    });
    if let Err(e) = result {
        tracing::error!(file = %path.display(), error = %e, "cannot save the {what}");
    }
}
