//! Small JSON state files in the state directory (the kept drift reports and audits): read at
//! start (a missing or unreadable file starts afresh, logged), written atomically (temporary
//! file, then rename; a failure is logged and the next save retries).

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use warden_core::changelog::ScrubWriter;

/// Reads `path` as `T`; `what` names the state in the log (e.g. "drift state").
pub fn load<T: DeserializeOwned + Default>(path: &Path, what: &str) -> T {
    match std::fs::read(path) {
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
    let write = || -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        // the kept reports quote servers' errors: no known secret is written
        let mut out = ScrubWriter::new(std::io::BufWriter::new(std::fs::File::create(&tmp)?));
        serde_json::to_writer(&mut out, value).map_err(std::io::Error::other)?;
        let file = out.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    let result = write();
    if let Err(e) = result {
        tracing::error!(file = %path.display(), error = %e, "cannot save the {what}");
    }
}
