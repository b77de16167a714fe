//! The ctl-side helper: hello, timeouts, and connect errors.

use std::time::Duration;

use tokio::io::{DuplexStream, duplex};
use tokio::net::UnixListener;
use warden_core::protocol::{
    Connection, ErrorCode, HelloResponse, PROTOCOL_VERSION, ProtocolError, Request, Response,
    Transport, connect, connect_error,
};

/// A fake daemon on `io`: answers each request with `answer(request)`, or not at all on `None`.
async fn fake_daemon<S>(io: S, mut answer: impl FnMut(Request) -> Option<Response>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut transport = Transport::server(io);
    while let Ok(Some(request)) = transport.recv::<Request>().await {
        if let Some(response) = answer(request)
            && transport.send(&response).await.is_err()
        {
            return;
        }
    }
}

/// The answers of a well-behaved daemon.
fn daemon(request: Request) -> Option<Response> {
    Some(match request {
        Request::Hello(hello) => hello.answer("0.1.0-test"),
        Request::Status => Response::ok("status"),
        other => Response::error(ErrorCode::Unsupported, other.log_safe()),
    })
}

fn spawn_fake(answer: impl FnMut(Request) -> Option<Response> + Send + 'static) -> DuplexStream {
    let (client, server) = duplex(64 * 1024);
    tokio::spawn(fake_daemon(server, answer));
    client
}

#[tokio::test]
async fn hello_then_requests() {
    let io = spawn_fake(daemon);
    let mut connection = Connection::handshake(io, "test").await.unwrap();
    assert_eq!(connection.daemon_version(), "0.1.0-test");
    assert_eq!(
        connection.request(Request::Status).await.unwrap(),
        Response::ok("status")
    );
    let Response::Error { code, .. } = connection.request(Request::Reload).await.unwrap() else {
        panic!("expected an error response");
    };
    assert_eq!(code, ErrorCode::Unsupported);
}

#[tokio::test]
async fn version_mismatch_refused_by_the_daemon() {
    let io = spawn_fake(|_| {
        Some(Response::error(
            ErrorCode::VersionMismatch,
            "wardenctl speaks protocol 1, wardend 9.0.0 speaks protocol 2; use the wardenctl that ships with this wardend",
        ))
    });
    let err = Connection::handshake(io, "test").await.unwrap_err();
    assert!(
        matches!(err, ProtocolError::VersionMismatch { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("use the wardenctl that ships with this wardend"),
        "{err}"
    );
}

#[tokio::test]
async fn version_mismatch_detected_by_the_client() {
    let io = spawn_fake(|_| {
        Some(Response::Hello(HelloResponse {
            protocol_version: PROTOCOL_VERSION + 1,
            daemon_version: "9.0.0".to_owned(),
        }))
    });
    let err = Connection::handshake(io, "test").await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!("wardenctl speaks protocol {PROTOCOL_VERSION}")),
        "{message}"
    );
    assert!(
        message.contains("wardend 9.0.0 speaks protocol 2"),
        "{message}"
    );
}

#[tokio::test]
async fn unexpected_hello_answer() {
    let io = spawn_fake(|_| Some(Response::ok("hi")));
    let err = Connection::handshake(io, "test").await.unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::UnexpectedResponse {
                expected: "hello",
                got: "ok"
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn silent_daemon_times_out_and_the_connection_is_retired() {
    let io = spawn_fake(|request| match request {
        Request::Hello(hello) => Some(hello.answer("0.1.0")),
        _ => None,
    });
    let mut connection = Connection::handshake(io, "test").await.unwrap();
    connection.set_timeout(Duration::from_millis(50));
    let err = connection.request(Request::Status).await.unwrap_err();
    assert!(matches!(err, ProtocolError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("did not answer"), "{err}");
    let err = connection.request(Request::Status).await.unwrap_err();
    assert!(matches!(err, ProtocolError::Desynchronized), "{err}");
}

#[tokio::test]
async fn daemon_hanging_up_is_reported() {
    let (client, server) = duplex(1024);
    drop(server);
    let err = Connection::handshake(client, "test").await.unwrap_err();
    assert!(
        matches!(err, ProtocolError::ConnectionClosed | ProtocolError::Io(_)),
        "{err}"
    );
}

#[tokio::test]
async fn connect_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.sock");
    let err = connect(&missing).await.unwrap_err();
    assert!(
        matches!(err, ProtocolError::DaemonNotRunning { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(missing.to_str().unwrap()) && message.contains("start it"),
        "{message}"
    );

    // A stale socket file with nobody listening: ECONNREFUSED.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let err = connect(&stale).await.unwrap_err();
    assert!(
        matches!(err, ProtocolError::DaemonNotRunning { .. }),
        "{err}"
    );

    // EACCES cannot be provoked when the tests run as root; check the classification.
    let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    let err = connect_error(&stale, denied);
    assert!(
        matches!(err, ProtocolError::PermissionDenied { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("join the group that owns the socket"),
        "{err}"
    );
}

#[tokio::test]
async fn connect_over_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("w.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(fake_daemon(stream, daemon));
        }
    });
    let mut connection = connect(&socket).await.unwrap();
    assert_eq!(connection.daemon_version(), "0.1.0-test");
    assert_eq!(
        connection.request(Request::Status).await.unwrap(),
        Response::ok("status")
    );
}
