//! The connection to `wardend`: connect, hello, then one request at a time.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use warden_core::protocol::{
    Assembler, CONNECT_TIMEOUT, Connection, Message, ProtocolError, Request, Response,
    check_daemon_peer, connect_error,
};

use crate::error::{DaemonError, connect_failed, request_failed};

/// A connection to `wardend` that completed the hello.
#[derive(Debug)]
pub struct Client {
    conn: Connection<Recording>,
    /// Bytes read from the socket since the current request was sent.
    received: Arc<Mutex<Vec<u8>>>,
}

impl Client {
    /// Connects to `socket`, checks that the process listening there may be wardend (root,
    /// `daemon_user` or this user: [`check_daemon_peer`]) before sending anything, and says
    /// hello as `wardenctl/<version>`.
    pub async fn connect(socket: &Path, daemon_user: &str) -> anyhow::Result<Self> {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(socket)).await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => return Err(connect_failed(connect_error(socket, err), socket)),
            Err(_) => {
                let err = ProtocolError::ConnectTimeout {
                    socket: PathBuf::from(socket),
                    after: CONNECT_TIMEOUT,
                };
                return Err(connect_failed(err, socket));
            }
        };
        // Before the hello: nothing at all goes to an impostor.
        check_daemon_peer(&stream, socket, daemon_user)
            .map_err(|err| connect_failed(err, socket))?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let stream = Recording {
            inner: stream,
            received: Arc::clone(&received),
        };
        let name = format!("wardenctl/{}", env!("CARGO_PKG_VERSION"));
        let conn = Connection::handshake(stream, &name)
            .await
            .map_err(|err| connect_failed(err, socket))?;
        Ok(Self { conn, received })
    }

    /// The daemon's version, from its hello.
    pub fn daemon_version(&self) -> &str {
        self.conn.daemon_version()
    }

    /// Changes how long the daemon may take to answer.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.conn.set_timeout(timeout);
    }

    /// Sends `request` for `command` (for messages, e.g. `log tail`) and returns the answer. A
    /// [`Response::Error`] becomes a [`DaemonError`].
    pub async fn call(
        &mut self,
        command: &'static str,
        request: impl Into<Request>,
    ) -> anyhow::Result<Response> {
        self.call_raw(command, request)
            .await
            .map(|(response, _)| response)
    }

    /// [`call`](Self::call), also returning the response's JSON exactly as received.
    pub async fn call_raw(
        &mut self,
        command: &'static str,
        request: impl Into<Request>,
    ) -> anyhow::Result<(Response, Vec<u8>)> {
        self.lock_received().clear();
        let response = self.conn.request(request).await.map_err(request_failed)?;
        let raw = frame_payload(&self.lock_received());
        match response {
            Response::Error { code, message } => {
                Err(DaemonError::new(command, code, message).into())
            }
            response => Ok((response, raw)),
        }
    }

    /// After [`call`](Self::call) answered [`Response::ReportStart`]: reads the parts that
    /// follow, hands each part's items to `each` as it arrives (so the answer is never held
    /// whole, encoded), and checks the end. An error frame in place of a part becomes a
    /// [`DaemonError`].
    pub async fn parts<I: serde::de::DeserializeOwned>(
        &mut self,
        command: &'static str,
        mut each: impl FnMut(Vec<I>),
    ) -> anyhow::Result<()> {
        let mut assembler = Assembler::default();
        loop {
            self.lock_received().clear();
            let next = self.conn.next_part().await.map_err(request_failed)?;
            match next {
                Response::ReportPart(part) => each(assembler.part(&part)?),
                Response::ReportEnd(end) => {
                    assembler.end(&end)?;
                    self.lock_received().clear();
                    return Ok(());
                }
                Response::Error { code, message } => {
                    return Err(DaemonError::new(command, code, message).into());
                }
                other => return Err(unexpected("report_part", &other)),
            }
        }
    }

    fn lock_received(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The error for a response of the wrong type.
pub(crate) fn unexpected(expected: &'static str, got: &Response) -> anyhow::Error {
    ProtocolError::UnexpectedResponse {
        expected,
        got: got.type_name(),
    }
    .into()
}

/// The payload of the first frame in `bytes` (a u32 big-endian length, then the payload).
fn frame_payload(bytes: &[u8]) -> Vec<u8> {
    let Some((header, rest)) = bytes.split_first_chunk::<4>() else {
        return Vec::new();
    };
    let len = usize::try_from(u32::from_be_bytes(*header)).unwrap_or(usize::MAX);
    rest[..len.min(rest.len())].to_vec()
}

/// A socket that keeps a copy of what it reads, so `log tail --json` can print records exactly
/// as the daemon sent them.
#[derive(Debug)]
struct Recording {
    inner: UnixStream,
    received: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Recording {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            self.received
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(&buf.filled()[before..]);
        }
        poll
    }
}

impl AsyncWrite for Recording {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_of_first_frame() {
        assert_eq!(frame_payload(&[0, 0, 0, 2, b'{', b'}', 0, 0]), b"{}");
        assert_eq!(frame_payload(&[0, 0]), b"");
        assert_eq!(frame_payload(&[0, 0, 0, 9, b'{']), b"{");
    }
}
