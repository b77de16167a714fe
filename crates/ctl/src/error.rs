//! Error messages that say what to do.

use std::fmt;
use std::io;
use std::path::Path;

use warden_core::protocol::{ErrorCode, ProtocolError};

/// The systemd unit that runs `wardend` (`deploy/systemd/jamf-warden.service`).
pub(crate) const SERVICE: &str = "jamf-warden";

/// The daemon answered a request with [`Response::Error`](warden_core::protocol::Response).
///
/// Displayed as `<code>: <message>`, plus a hint for codes where the fix is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonError {
    /// The `wardenctl` command, e.g. `reload` or `log tail`.
    pub command: &'static str,
    /// The daemon's error code.
    pub code: ErrorCode,
    /// The daemon's message.
    pub message: String,
}

impl DaemonError {
    /// A daemon error for `command`.
    pub fn new(command: &'static str, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            command,
            code,
            message: message.into(),
        }
    }
}

impl std::error::Error for DaemonError {}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            command,
            code,
            message,
        } = self;
        if *code == ErrorCode::Unsupported {
            // The daemon's own message usually says this already.
            if message.contains("does not implement") {
                return write!(f, "{message}; upgrade the daemon");
            }
            return write!(
                f,
                "this wardend does not implement `{command}` yet ({code}: {message}); upgrade the daemon"
            );
        }
        write!(f, "{code}: {message}")?;
        match code {
            // Skipped when the daemon's message names the settings already.
            ErrorCode::PermissionDenied if !message.contains("admin_uids") => write!(
                f,
                "; only the users listed in daemon.admin_uids and the members of the groups in \
                 daemon.admin_gids of the wardend configuration may run `wardenctl {command}`"
            ),
            ErrorCode::ConfirmationRequired => write!(f, "; pass --yes to confirm"),
            ErrorCode::NotFound => write!(f, "; `wardenctl instances` lists the instances"),
            ErrorCode::Internal => write!(
                f,
                "; details are in the daemon's log (`journalctl -u {SERVICE}`)"
            ),
            _ => Ok(()),
        }
    }
}

/// Turns a failure to connect or to say hello to the daemon at `socket` into a message that
/// says what to do.
pub(crate) fn connect_failed(err: ProtocolError, socket: &Path) -> anyhow::Error {
    let at = format!("cannot reach wardend at {}", socket.display());
    match err {
        ProtocolError::DaemonNotRunning { source, .. } => {
            let why = match source.kind() {
                io::ErrorKind::NotFound => "no socket at that path",
                _ => "nothing listens on the socket",
            };
            anyhow::anyhow!(
                "{at}: the daemon is not running ({why}); start it with `systemctl start {SERVICE}`, \
                 or pass --socket (or set WARDEN_SOCKET) to the socket it listens on"
            )
        }
        ProtocolError::ConnectTimeout { after, .. } => anyhow::anyhow!(
            "{at}: connecting timed out after {}s; check that the daemon is healthy \
             (`systemctl status {SERVICE}`)",
            after.as_secs_f32()
        ),
        // Their messages name the socket and say what to do already.
        ProtocolError::PermissionDenied { .. }
        | ProtocolError::Connect { .. }
        | ProtocolError::NotTheDaemon { .. } => anyhow::Error::new(err),
        ProtocolError::VersionMismatch { .. } => {
            anyhow::Error::new(err).context(format!("incompatible wardend at {}", socket.display()))
        }
        other => request_failed(other).context(at),
    }
}

/// Turns a failed exchange (after the hello) into a message that says what to do.
pub(crate) fn request_failed(err: ProtocolError) -> anyhow::Error {
    match err {
        ProtocolError::Timeout { after } => anyhow::anyhow!(
            "wardend did not answer within {}s; it may be busy or stuck: check \
             `systemctl status {SERVICE}` and `journalctl -u {SERVICE}`, or retry with a longer --timeout",
            after.as_secs_f32()
        ),
        ProtocolError::ConnectionClosed => anyhow::anyhow!(
            "wardend closed the connection without answering; check its log (`journalctl -u {SERVICE}`)"
        ),
        other => anyhow::Error::new(other),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn daemon_error_hints() {
        let denied = DaemonError::new("reload", ErrorCode::PermissionDenied, "uid 1000 may not");
        let text = denied.to_string();
        assert!(
            text.starts_with("permission_denied: uid 1000 may not; "),
            "{text}"
        );
        assert!(text.contains("admin_uids") && text.contains("admin_gids"));
        assert!(text.contains("`wardenctl reload`"));

        let unsupported = DaemonError::new("drift", ErrorCode::Unsupported, "not yet");
        assert_eq!(
            unsupported.to_string(),
            "this wardend does not implement `drift` yet (unsupported: not yet); upgrade the daemon"
        );

        let worded = DaemonError::new(
            "drift",
            ErrorCode::Unsupported,
            "this wardend (0.1.0) does not implement `drift` yet",
        );
        assert_eq!(
            worded.to_string(),
            "this wardend (0.1.0) does not implement `drift` yet; upgrade the daemon"
        );
        let explained = DaemonError::new(
            "reload",
            ErrorCode::PermissionDenied,
            "uid 7 may not (reload); add it to daemon.admin_uids",
        );
        assert_eq!(
            explained.to_string(),
            "permission_denied: uid 7 may not (reload); add it to daemon.admin_uids"
        );

        let conflict = DaemonError::new("apply", ErrorCode::Conflict, "busy");
        assert_eq!(conflict.to_string(), "conflict: busy");
    }

    #[test]
    fn connect_messages() {
        let socket = Path::new("/run/x/wardend.sock");
        let err = connect_failed(
            ProtocolError::DaemonNotRunning {
                socket: socket.to_owned(),
                source: io::ErrorKind::NotFound.into(),
            },
            socket,
        );
        let text = format!("{err:#}");
        assert!(
            text.starts_with(
                "cannot reach wardend at /run/x/wardend.sock: the daemon is not running"
            ),
            "{text}"
        );
        assert!(text.contains("systemctl start jamf-warden"), "{text}");
        assert!(text.contains("--socket"), "{text}");

        let denied = connect_failed(
            ProtocolError::PermissionDenied {
                socket: socket.to_owned(),
                source: io::ErrorKind::PermissionDenied.into(),
            },
            socket,
        );
        assert!(format!("{denied:#}").contains("join the group"));

        let slow = request_failed(ProtocolError::Timeout {
            after: Duration::from_secs(3),
        });
        assert!(format!("{slow:#}").contains("--timeout"));
    }
}
