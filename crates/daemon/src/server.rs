//! The control socket's accept loop and per-connection protocol handling.
//!
//! Every connection: peer credentials read on accept; a hello with the protocol version first;
//! then one response per request. A client that stalls (no complete frame within the client
//! timeout), sends an oversized frame or breaks the framing is dropped without affecting anyone
//! else. Changing requests are served only to the configured admin uids/gids.
//!
//! At most `daemon.max_connections` connections are served at once (lowered to fit the
//! open-file limit, see [`limits`](crate::limits)); the last eighth of them only to admins.
//! A connection over the cap is not queued: its hello is answered with an `unavailable` error
//! saying the daemon is busy, within a second, and it is closed. At most [`REFUSALS`] such
//! answers are pending at once; beyond that a connection is closed without one.

use std::sync::Arc;
use std::time::Duration;

use std::time::Instant;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use tokio_util::task::TaskTracker;
use warden_core::clock;
use warden_core::protocol::{ErrorCode, ProtocolError, Request, Response, Transport};

use crate::handlers::{self, Reply, ReportParts};
use crate::runtime::limits;
use crate::runtime::socket::Peer;
use crate::services::Services;

/// "Busy" answers to connections over the cap that may be pending at once.
const REFUSALS: usize = 16;

/// How long a connection over the cap may take to send its hello before it is closed.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// The connection slots: `general` for everyone, `admin` (the reserve) for admins only.
struct Slots {
    cap: u32,
    general: Arc<Semaphore>,
    admin: Arc<Semaphore>,
    refusals: Arc<Semaphore>,
    refused: u64,
    last_warned: Option<Instant>,
}

impl Slots {
    fn new(cap: u32) -> Slots {
        let reserve = limits::admin_reserve(cap);
        Slots {
            cap,
            general: Arc::new(Semaphore::new((cap - reserve) as usize)),
            admin: Arc::new(Semaphore::new(reserve as usize)),
            refusals: Arc::new(Semaphore::new(REFUSALS)),
            refused: 0,
            last_warned: None,
        }
    }

    /// A slot for `peer`: a general one, else (admins only) one of the reserve.
    fn acquire(&self, peer: &Peer, s: &Services) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = Arc::clone(&self.general).try_acquire_owned() {
            return Some(permit);
        }
        let config = s.config.get();
        if peer.may_change(&config.daemon.admin_uids, &config.daemon.admin_gids) {
            return Arc::clone(&self.admin).try_acquire_owned().ok();
        }
        None
    }

    /// Notes a refusal; warns at most every 10 s, with the count since the last warning.
    fn note_refused(&mut self, peer: &Peer) {
        self.refused += 1;
        let now = clock::instant();
        if self
            .last_warned
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(10))
        {
            tracing::warn!(
                cap = self.cap,
                refused = self.refused,
                uid = peer.uid,
                pid = peer.pid,
                "control connections at the cap (daemon.max_connections); refusing new ones"
            );
            self.refused = 0;
            self.last_warned = Some(now);
        }
    }
}

/// Accepts connections until shutdown, then waits briefly for open ones to finish.
pub async fn serve(listener: UnixListener, s: Arc<Services>, client_timeout: Duration) {
    let connections = TaskTracker::new();
    let cap = limits::connection_cap(s.config.get().daemon.max_connections, limits::nofile_soft());
    let mut slots = Slots::new(cap);
    tracing::info!(
        cap,
        admin_reserve = limits::admin_reserve(cap),
        open_file_limit = limits::nofile_soft(),
        "control connections capped"
    );
    loop {
        tokio::select! {
            _ = s.lifecycle.shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let peer = match Peer::of(&stream) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read peer credentials; dropping connection");
                            continue;
                        }
                    };
                    match slots.acquire(&peer, &s) {
                        Some(permit) => {
                            let s = Arc::clone(&s);
                            connections.spawn(async move {
                                handle_connection(stream, peer, s, client_timeout).await;
                                drop(permit);
                            });
                        }
                        None => {
                            slots.note_refused(&peer);
                            if let Ok(permit) = Arc::clone(&slots.refusals).try_acquire_owned() {
                                connections.spawn(async move {
                                    refuse_busy(stream, cap).await;
                                    drop(permit);
                                });
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
    drop(listener);
    connections.close();
    // Requests are short; give answers in progress a moment, then go on stopping.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), connections.wait()).await;
}

/// Answers the hello of a connection over the cap with "busy", then closes it; at most
/// [`REFUSAL_TIMEOUT`] in all.
async fn refuse_busy(stream: UnixStream, cap: u32) {
    let mut transport = Transport::server(stream);
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        // Read the hello first: a client that is still writing it would otherwise get EPIPE
        // instead of the answer.
        let _ = transport.recv::<Request>().await;
        let busy = Response::error(
            ErrorCode::Unavailable,
            format!(
                "wardend is busy: all {cap} control connections are in use \
                 (daemon.max_connections); retry shortly, or close idle connections"
            ),
        );
        let _ = transport.send(&busy).await;
    })
    .await;
}

async fn handle_connection(stream: UnixStream, peer: Peer, s: Arc<Services>, timeout: Duration) {
    let mut transport = Transport::server(stream);
    let mut greeted = false;
    loop {
        let received = tokio::select! {
            _ = s.lifecycle.shutdown.cancelled() => return,
            r = tokio::time::timeout(timeout, transport.recv::<Request>()) => r,
        };
        let request = match received {
            Err(_) => {
                tracing::info!(
                    uid = peer.uid,
                    pid = peer.pid,
                    "client stalled; dropping it"
                );
                return;
            }
            Ok(Ok(None)) => return,
            Ok(Ok(Some(r))) => r,
            Ok(Err(err)) => {
                tracing::info!(uid = peer.uid, pid = peer.pid, error = %err, "bad message from client");
                match err.to_response() {
                    Some(resp) if err.is_recoverable() && greeted => {
                        if transport.send(&resp).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Some(resp) => {
                        let _ = transport.send(&resp).await;
                        return;
                    }
                    None => return,
                }
            }
        };
        let response = match request {
            Request::Hello(hello) => {
                let resp = hello.answer(env!("CARGO_PKG_VERSION"));
                let ok = matches!(resp, Response::Hello(_));
                if transport.send(&resp).await.is_err() || !ok {
                    return;
                }
                greeted = true;
                continue;
            }
            _ if !greeted => {
                let _ = transport
                    .send(&Response::error(
                        ErrorCode::BadRequest,
                        "send a hello with the protocol version first",
                    ))
                    .await;
                return;
            }
            request => respond(&s, &peer, request).await,
        };
        if !answer(&mut transport, response, peer.uid).await {
            return;
        }
    }
}

/// Sends `reply`: one response, or a report's parts frame by frame. False when the connection
/// is no longer usable.
async fn answer<S>(transport: &mut Transport<S>, reply: Reply, uid: u32) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let sent = match reply {
        Reply::One(response) => return answer_one(transport, response, uid).await,
        Reply::Parts(parts) => answer_parts(transport, parts).await,
    };
    crate::runtime::trim::release_free_memory();
    match sent {
        Ok(()) => true,
        Err(e) => {
            if !matches!(e, ProtocolError::ConnectionClosed) {
                tracing::info!(uid, error = %e, "cannot answer client");
            }
            false
        }
    }
}

/// Sends a report in parts: the start, each part as it is encoded, the end; an item that
/// cannot be encoded ends the answer with an error frame (the connection stays in step).
async fn answer_parts<S>(
    transport: &mut Transport<S>,
    parts: ReportParts,
) -> Result<(), ProtocolError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let ReportParts { start, mut parts } = parts;
    transport.send(&Response::ReportStart(start)).await?;
    for part in parts.by_ref() {
        match part {
            Ok(part) => transport.send(&Response::ReportPart(part)).await?,
            Err(e) => {
                tracing::warn!(error = %e, "cannot send a report part");
                return transport
                    .send(&Response::error(ErrorCode::Internal, e.to_string()))
                    .await;
            }
        }
    }
    transport.send(&Response::ReportEnd(parts.end())).await
}

/// Sends `response`; an answer over the protocol's size limit is replaced by an error saying
/// so. False when the connection is no longer usable.
async fn answer_one<S>(transport: &mut Transport<S>, response: Response, uid: u32) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // a report (a fleet's drift or audit) is the big allocation: give it back once sent
    let report = matches!(response, Response::Report(_));
    let sent = transport.send(&response).await;
    drop(response);
    if report {
        crate::runtime::trim::release_free_memory();
    }
    match sent {
        Ok(()) => true,
        Err(ProtocolError::MessageTooLarge { len, max, .. }) => {
            // nothing was sent: say why instead of closing without an answer
            let refusal = Response::error(
                ErrorCode::Internal,
                format!(
                    "the answer is {} MiB, over the control protocol's limit of {} MiB; ask \
                     for fewer instances at a time (e.g. wardenctl audit INSTANCE...)",
                    len.div_ceil(1024 * 1024),
                    max.div_ceil(1024 * 1024)
                ),
            );
            tracing::warn!(uid, bytes = len, "answer over the protocol limit");
            transport.send(&refusal).await.is_ok()
        }
        Err(e) => {
            if !matches!(e, ProtocolError::ConnectionClosed) {
                tracing::info!(uid, error = %e, "cannot answer client");
            }
            false
        }
    }
}

/// Authorizes, logs and dispatches one request.
async fn respond(s: &Services, peer: &Peer, request: Request) -> Reply {
    let summary = request.log_safe();
    let config = s.config.get();
    if request.is_mutating()
        && !peer.may_change(&config.daemon.admin_uids, &config.daemon.admin_gids)
    {
        tracing::warn!(
            uid = peer.uid,
            user = peer.user.as_deref().unwrap_or("?"),
            pid = peer.pid,
            groups = %peer.groups().iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            request = %summary,
            "refused a changing request"
        );
        return Response::error(
            ErrorCode::PermissionDenied,
            format!(
                "uid {} may not send changing requests ({}); add it to daemon.admin_uids or one of its groups to daemon.admin_gids",
                peer.uid,
                request_name(&summary)
            ),
        )
        .into();
    }
    tracing::info!(
        uid = peer.uid,
        user = peer.user.as_deref().unwrap_or("?"),
        pid = peer.pid,
        request = %summary,
        "request"
    );
    handlers::handle(s, peer, request).await
}

fn request_name(summary: &str) -> &str {
    summary.split_whitespace().next().unwrap_or(summary)
}

#[cfg(test)]
mod tests {
    use warden_core::protocol::{Message as _, ReportFormat, ReportKind, ReportResponse};

    use super::*;

    fn report(bytes: usize) -> Response {
        Response::Report(ReportResponse {
            kind: ReportKind::Audit,
            instance: None,
            format: ReportFormat::Markdown,
            findings: 1,
            body: "x".repeat(bytes).into(),
        })
    }

    #[tokio::test]
    async fn an_answer_over_the_limit_becomes_an_error_and_the_connection_goes_on() {
        let (daemon_side, client_side) = tokio::io::duplex(1 << 20);
        // the daemon may send at most 4 KiB here (256 MiB in production)
        let mut daemon = Transport::new(daemon_side, 1 << 20, 4096);
        let mut client = Transport::client(client_side);

        assert!(
            answer(&mut daemon, report(8192).into(), 0).await,
            "still usable"
        );
        match client.recv::<Response>().await.unwrap() {
            Some(Response::Error { code, message }) => {
                assert_eq!(code, ErrorCode::Internal);
                assert!(
                    message.contains("over the control protocol's limit")
                        && message.contains("ask for fewer instances"),
                    "{message}"
                );
            }
            other => panic!("expected the refusal, got {other:?}"),
        }

        // the next answer that fits arrives whole on the same connection
        assert!(answer(&mut daemon, report(100).into(), 0).await);
        match client.recv::<Response>().await.unwrap() {
            Some(Response::Report(r)) => assert_eq!(r.findings, 1),
            other => panic!("expected the report, got {other:?}"),
        }
    }

    /// An item that cannot be sent ends a report in parts with an error frame; what came
    /// before arrived whole and the connection goes on.
    #[tokio::test]
    async fn a_part_that_cannot_be_sent_ends_the_answer_with_an_error() {
        use warden_core::protocol::{Parts, ReportBody, ReportStart};

        let (daemon_side, client_side) = tokio::io::duplex(1 << 20);
        let mut daemon = Transport::new(daemon_side, 1 << 20, 1 << 20);
        let mut client = Transport::client(client_side);
        let items = vec!["a".to_owned(), "b".repeat(8192), "c".to_owned()];
        let parts = ReportParts {
            start: ReportStart {
                kind: ReportKind::Audit,
                instance: None,
                format: ReportFormat::Json,
                findings: 0,
                split: "instances".to_owned(),
                body: ReportBody::encode(&serde_json::json!({"instances": []})).unwrap(),
            },
            parts: Box::new(Parts::with_limits(items, 1, 1 << 20, 4096)),
        };
        assert!(answer(&mut daemon, Reply::Parts(parts), 0).await);
        let mut kinds = Vec::new();
        for _ in 0..3 {
            let frame = client.recv::<Response>().await.unwrap().unwrap();
            if let Response::Error { message, .. } = &frame {
                assert!(message.contains("item 1 of the report"), "{message}");
            }
            kinds.push(frame.type_name());
        }
        assert_eq!(kinds, ["report_start", "report_part", "error"]);

        assert!(answer(&mut daemon, report(100).into(), 0).await);
        match client.recv::<Response>().await.unwrap() {
            Some(Response::Report(r)) => assert_eq!(r.findings, 1),
            other => panic!("expected the report, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_closed_connection_ends_the_session() {
        let (daemon_side, client_side) = tokio::io::duplex(64);
        drop(client_side);
        let mut daemon = Transport::new(daemon_side, 1 << 20, 4096);
        assert!(!answer(&mut daemon, report(10).into(), 0).await);
    }
}
