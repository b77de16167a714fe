//! The metrics endpoint's HTTP server: `GET /metrics` answers the exposition (Prometheus text
//! format 0.0.4), anything else 404. Bounded: at most [`MAX_CONNECTIONS`] connections at once
//! (one more is closed at once), request headers within [`HEADER_TIMEOUT`] and at most
//! [`MAX_HEADER_BYTES`], every connection closed after [`CONNECTION_LIFETIME`]; a peer that
//! sends slowly or floods gets nothing more than a closed connection. Request bodies are never
//! read.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Connections served at once; Prometheus needs one per scraper.
pub const MAX_CONNECTIONS: usize = 16;
/// Time a peer has to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one connection (keep-alive included).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Largest request head read (hyper's minimum buffer).
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Renders the exposition at each scrape.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot listen for metrics on {addr}: {source}; free the port or change `listen` under [metrics]"
)]
pub struct BindError {
    pub addr: SocketAddr,
    pub source: std::io::Error,
}

/// Binds the endpoint's listener (before the daemon says it is ready).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })
}

/// Serves `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, render: Render, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // out of descriptors and the like: do not spin
                tracing::warn!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // over the cap: closed at once
            drop(stream);
            continue;
        };
        let render = Arc::clone(&render);
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req| {
                let render = Arc::clone(&render);
                async move { Ok::<_, Infallible>(answer(&req, &render)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEADER_BYTES)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = tokio::time::sleep(CONNECTION_LIFETIME) => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}

fn answer<B>(req: &Request<B>, render: &Render) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    if req.method() == Method::GET && req.uri().path() == "/metrics" {
        *resp.body_mut() = Full::new(Bytes::from(render()));
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(CONTENT_TYPE),
        );
    } else {
        *resp.status_mut() = StatusCode::NOT_FOUND;
    }
    resp
}
