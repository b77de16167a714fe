//! Errors of the control protocol, on both sides of the socket.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::response::{ErrorCode, Response};

/// Errors of framing, decoding, connecting and the client helper.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Nothing listens on the socket (ENOENT or ECONNREFUSED).
    #[error(
        "wardend is not running: nothing listens on `{}` ({source}); start it (`systemctl start jamf-warden`) or pass the socket it uses with --socket",
        socket.display()
    )]
    DaemonNotRunning {
        /// The socket path tried.
        socket: PathBuf,
        /// The connect error.
        source: io::Error,
    },
    /// The socket exists but this user may not connect (EACCES).
    #[error(
        "permission denied on `{}`: join the group that owns the socket (see `ls -l {}`), log in again, and retry",
        socket.display(),
        socket.display()
    )]
    PermissionDenied {
        /// The socket path tried.
        socket: PathBuf,
        /// The connect error.
        source: io::Error,
    },
    /// Connecting failed for another reason.
    #[error("failed to connect to `{}`: {source}", socket.display())]
    Connect {
        /// The socket path tried.
        socket: PathBuf,
        /// The connect error.
        source: io::Error,
    },
    /// Connecting took too long.
    #[error(
        "connecting to `{}` timed out after {}s; check that wardend is healthy (`systemctl status jamf-warden`)",
        socket.display(),
        after.as_secs_f32()
    )]
    ConnectTimeout {
        /// The socket path tried.
        socket: PathBuf,
        /// The timeout.
        after: Duration,
    },
    /// The process listening on the socket is not wardend (see
    /// [`check_daemon_peer`](super::check_daemon_peer)); nothing was sent to it.
    #[error(
        "refusing to talk to `{}`: the process listening there runs as uid {uid}{}, which is not \
         root, the daemon user `{daemon_user}`{} or you; it may be an impostor waiting for your \
         credentials, and nothing was sent to it. Check who listens there (`ss -xlp`) and who \
         can write `{}`; if wardend really runs as that user, pass --daemon-user (or set \
         WARDEN_DAEMON_USER)",
        socket.display(),
        user.as_deref().map(|u| format!(" ({u})")).unwrap_or_default(),
        daemon_uid.map(|u| format!(" (uid {u})")).unwrap_or_else(|| " (no such user here)".into()),
        socket.parent().unwrap_or(socket).display()
    )]
    NotTheDaemon {
        /// The socket path.
        socket: PathBuf,
        /// The uid of the process that listens there.
        uid: u32,
        /// That uid's user name, if it has one.
        user: Option<String>,
        /// The daemon user that was expected.
        daemon_user: String,
        /// Its uid, if it exists on this host.
        daemon_uid: Option<u32>,
    },
    /// Reading or writing the socket failed.
    #[error("i/o error on the control socket: {0}")]
    Io(#[from] io::Error),
    /// The peer announced a frame over the limit; nothing of it was read.
    #[error("the peer sent a frame over the {max}-byte limit; closing the connection")]
    FrameTooLarge {
        /// The limit for incoming frames.
        max: usize,
    },
    /// A message to send is over the frame limit; nothing was sent.
    #[error(
        "a {len}-byte {kind} exceeds the {max}-byte frame limit; ask for less (e.g. a smaller `log tail -n`)"
    )]
    MessageTooLarge {
        /// "request" or "response".
        kind: &'static str,
        /// Its size.
        len: usize,
        /// The limit for outgoing frames.
        max: usize,
    },
    /// The connection closed in the middle of a frame.
    #[error(
        "the connection closed in the middle of a frame ({received} bytes received); the peer crashed or does not speak the warden protocol"
    )]
    TruncatedFrame {
        /// Bytes of the incomplete frame that arrived (header included if it was complete).
        received: usize,
    },
    /// A frame is not JSON.
    #[error("malformed json in a frame ({0}); the peer does not speak the warden protocol")]
    MalformedJson(#[source] serde_json::Error),
    /// A frame names a message type this build does not know.
    #[error(
        "unknown {kind} type `{type_name}`: the peer is newer than this build; use the wardenctl that ships with this wardend"
    )]
    UnknownType {
        /// "request" or "response".
        kind: &'static str,
        /// The `type` member received.
        type_name: String,
    },
    /// A frame is JSON with a known (or missing) type but the wrong shape.
    #[error("invalid {kind}{}: {source}", type_name.as_deref().map(|t| format!(" `{t}`")).unwrap_or_default())]
    InvalidMessage {
        /// "request" or "response".
        kind: &'static str,
        /// The `type` member received, if any.
        type_name: Option<String>,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// Encoding a message failed.
    #[error("failed to encode a message: {0}")]
    Encode(#[source] serde_json::Error),
    /// The daemon did not answer in time.
    #[error(
        "wardend did not answer within {}s; it may be busy or stuck: check `systemctl status jamf-warden` and its log, or retry with a longer --timeout",
        after.as_secs_f32()
    )]
    Timeout {
        /// The timeout.
        after: Duration,
    },
    /// The daemon closed the connection instead of answering.
    #[error(
        "wardend closed the connection without answering; check its log (`journalctl -u jamf-warden`)"
    )]
    ConnectionClosed,
    /// An earlier request on this connection failed half-way; its answer may still arrive.
    #[error("this connection is out of step after an earlier timeout or error; open a new one")]
    Desynchronized,
    /// Client and daemon speak different protocol versions.
    #[error("{message}")]
    VersionMismatch {
        /// What to do, e.g. "wardenctl speaks protocol 2, wardend speaks 1; …".
        message: String,
    },
    /// The daemon refused the hello for another reason.
    #[error("wardend refused the connection ({code}): {message}")]
    Refused {
        /// The daemon's error code.
        code: ErrorCode,
        /// The daemon's message.
        message: String,
    },
    /// The daemon answered with a response of the wrong type.
    #[error(
        "wardend answered {expected} with `{got}`; use the wardenctl that ships with this wardend"
    )]
    UnexpectedResponse {
        /// What was asked.
        expected: &'static str,
        /// The response type received.
        got: &'static str,
    },
}

impl ProtocolError {
    /// The error code to answer a peer with, for errors caused by what the peer sent.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Self::MalformedJson(_) | Self::UnknownType { .. } | Self::InvalidMessage { .. } => {
                Some(ErrorCode::BadRequest)
            }
            Self::FrameTooLarge { .. } => Some(ErrorCode::FrameTooLarge),
            _ => None,
        }
    }

    /// The [`Response::Error`] to send back for errors caused by what the peer sent.
    pub fn to_response(&self) -> Option<Response> {
        self.error_code()
            .map(|code| Response::error(code, self.to_string()))
    }

    /// Whether the connection stays usable: the bad frame was consumed whole, so the next frame
    /// can be read (true for malformed JSON, unknown types and invalid messages). After any
    /// other error, close the connection.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            Self::MalformedJson(_)
                | Self::UnknownType { .. }
                | Self::InvalidMessage { .. }
                | Self::MessageTooLarge { .. }
        )
    }
}
