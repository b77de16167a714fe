//! The `wardenctl` side: connect, say hello, send requests with a timeout.

use std::io;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixStream;

use super::request::{HelloRequest, Request};
use super::response::{ErrorCode, Response};
use super::{Message, PROTOCOL_VERSION, ProtocolError, Transport};

/// The user `wardend` runs as unless told otherwise (`deploy/systemd/jamf-warden.sysusers.conf`);
/// `wardenctl --daemon-user` / `WARDEN_DAEMON_USER` change it.
pub const DEFAULT_DAEMON_USER: &str = "jamf-warden";

/// How long connecting to the socket may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the daemon may take to answer the hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time the daemon may take to answer a request. Generous because `rotate` and `apply`
/// wait for Jamf Pro and Vault.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A connection to `wardend` that completed the hello.
#[derive(Debug)]
pub struct Connection<S = UnixStream> {
    transport: Transport<S>,
    timeout: Duration,
    daemon_version: String,
    /// An exchange was abandoned half-way; the stream may hold a stale answer.
    desynchronized: bool,
    /// A report is arriving in parts: [`next_part`](Connection::next_part) reads them.
    in_parts: bool,
}

/// Connects to the daemon's socket and says hello, as `wardenctl/<version>`.
///
/// Errors tell the user what to do: [`ProtocolError::DaemonNotRunning`] (no socket, or nothing
/// listening), [`ProtocolError::PermissionDenied`] (not in the socket's group),
/// [`ProtocolError::VersionMismatch`], or a protocol error.
pub async fn connect(socket: &Path) -> Result<Connection, ProtocolError> {
    let client = format!("wardenctl/{}", env!("CARGO_PKG_VERSION"));
    connect_as(socket, &client).await
}

/// [`connect`] with another client name for the daemon's log. The server must be wardend
/// running as root, [`DEFAULT_DAEMON_USER`] or this process's user ([`check_daemon_peer`]).
pub async fn connect_as(socket: &Path, client: &str) -> Result<Connection, ProtocolError> {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(socket)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return Err(connect_error(socket, err)),
        Err(_) => {
            return Err(ProtocolError::ConnectTimeout {
                socket: socket.to_owned(),
                after: CONNECT_TIMEOUT,
            });
        }
    };
    check_daemon_peer(&stream, socket, DEFAULT_DAEMON_USER)?;
    Connection::handshake(stream, client).await
}

/// Checks, before anything is sent, that the process serving `socket` may be wardend, so that
/// nothing (least of all a password) reaches an impostor that took the socket's path.
///
/// The kernel reports the uid of the process that listens on a Unix socket (`SO_PEERCRED`;
/// `LOCAL_PEERCRED` on macOS): a process of another user cannot fake it. That uid must be
///
/// - root (0), or
/// - the daemon user, `daemon_user` (a user name or a numeric uid; `wardenctl --daemon-user`,
///   `WARDEN_DAEMON_USER`, default [`DEFAULT_DAEMON_USER`]), or
/// - the uid this process runs as: a daemon started by the same user (development, a user
///   agent). A process of your own uid can already read everything you type.
///
/// Otherwise: [`ProtocolError::NotTheDaemon`].
pub fn check_daemon_peer(
    stream: &UnixStream,
    socket: &Path,
    daemon_user: &str,
) -> Result<(), ProtocolError> {
    use nix::unistd::{Uid, User};
    let uid = stream.peer_cred().map_err(ProtocolError::Io)?.uid();
    let daemon_uid = match daemon_user.parse::<u32>() {
        Ok(uid) => Some(uid),
        Err(_) => User::from_name(daemon_user)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw()),
    };
    if uid == 0 || Some(uid) == daemon_uid || uid == nix::unistd::geteuid().as_raw() {
        return Ok(());
    }
    Err(ProtocolError::NotTheDaemon {
        socket: socket.to_owned(),
        uid,
        user: User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name),
        daemon_user: daemon_user.to_owned(),
        daemon_uid,
    })
}

/// Classifies a connect error on `socket`.
pub fn connect_error(socket: &Path, source: io::Error) -> ProtocolError {
    let socket = socket.to_owned();
    match source.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
            ProtocolError::DaemonNotRunning { socket, source }
        }
        io::ErrorKind::PermissionDenied => ProtocolError::PermissionDenied { socket, source },
        _ => ProtocolError::Connect { socket, source },
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Says hello over an already connected stream (tests use `tokio::io::duplex`).
    pub async fn handshake(io: S, client: &str) -> Result<Self, ProtocolError> {
        let mut connection = Self {
            transport: Transport::client(io),
            timeout: HELLO_TIMEOUT,
            daemon_version: String::new(),
            desynchronized: false,
            in_parts: false,
        };
        let hello = Request::Hello(HelloRequest::new(client));
        match connection.request(hello).await? {
            Response::Hello(hello) if hello.protocol_version == PROTOCOL_VERSION => {
                connection.daemon_version = hello.daemon_version;
            }
            Response::Hello(hello) => {
                return Err(ProtocolError::VersionMismatch {
                    message: format!(
                        "wardenctl speaks protocol {PROTOCOL_VERSION}, wardend {} speaks protocol {}; use the wardenctl that ships with this wardend",
                        hello.daemon_version, hello.protocol_version
                    ),
                });
            }
            Response::Error {
                code: ErrorCode::VersionMismatch,
                message,
            } => return Err(ProtocolError::VersionMismatch { message }),
            Response::Error { code, message } => {
                return Err(ProtocolError::Refused { code, message });
            }
            other => {
                return Err(ProtocolError::UnexpectedResponse {
                    expected: "hello",
                    got: other.type_name(),
                });
            }
        }
        connection.timeout = DEFAULT_REQUEST_TIMEOUT;
        Ok(connection)
    }

    /// The daemon's version, from its hello.
    pub fn daemon_version(&self) -> &str {
        &self.daemon_version
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Changes the per-request timeout (e.g. from `wardenctl --timeout`).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends `request` and waits for its response, at most [`timeout`](Self::timeout).
    ///
    /// A [`Response::Error`] is returned as `Ok`; `Err` means the exchange itself failed. After a
    /// timeout or an I/O error the connection refuses further requests
    /// ([`ProtocolError::Desynchronized`]): open a new one.
    pub async fn request(
        &mut self,
        request: impl Into<Request>,
    ) -> Result<Response, ProtocolError> {
        if self.desynchronized || self.in_parts {
            return Err(ProtocolError::Desynchronized);
        }
        let request = request.into();
        let timeout = self.timeout;
        self.desynchronized = true;
        let exchange = async {
            self.transport.send(&request).await?;
            self.transport
                .recv::<Response>()
                .await?
                .ok_or(ProtocolError::ConnectionClosed)
        };
        let result = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ProtocolError::Timeout { after: timeout }),
        };
        // A request that was not sent, or a response that was read whole, leaves the stream
        // in step.
        if result.is_ok() || result.as_ref().is_err_and(|err| err.is_recoverable()) {
            self.desynchronized = false;
        }
        self.in_parts = matches!(result, Ok(Response::ReportStart(_)));
        result
    }

    /// The next frame of a report answered in parts ([`super::stream`]), after
    /// [`request`](Self::request) returned [`Response::ReportStart`]: a
    /// [`Response::ReportPart`], then [`Response::ReportEnd`] (or a [`Response::Error`] that
    /// ends the answer). Each frame waits at most [`timeout`](Self::timeout). Once the end or an
    /// error arrived, the connection takes requests again.
    pub async fn next_part(&mut self) -> Result<Response, ProtocolError> {
        if !self.in_parts || self.desynchronized {
            return Err(ProtocolError::Desynchronized);
        }
        let timeout = self.timeout;
        let received = match tokio::time::timeout(timeout, self.transport.recv::<Response>()).await
        {
            Ok(Ok(Some(response))) => Ok(response),
            Ok(Ok(None)) => Err(ProtocolError::ConnectionClosed),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ProtocolError::Timeout { after: timeout }),
        };
        match &received {
            Ok(Response::ReportPart(_)) => {}
            Ok(Response::ReportEnd(_) | Response::Error { .. }) => self.in_parts = false,
            Ok(_) | Err(_) => {
                // anything else inside a report is out of step
                self.in_parts = false;
                self.desynchronized = true;
            }
        }
        received
    }
}
