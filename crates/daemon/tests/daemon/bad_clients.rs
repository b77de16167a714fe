//! Misbehaving clients never hurt the daemon or other clients: malformed frames, oversized
//! frames, requests before the hello, wrong protocol versions, and stalled clients (dropped
//! after the client timeout, tested in-process with a short one).

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::{Cfg, DEADLINE, Env, status};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use warden_daemon::RunOptions;

const HELLO: &str = r#"{"type":"hello","protocol_version":1,"client":"bad-clients-test"}"#;

/// A client that speaks raw frames.
struct Raw(UnixStream);

impl Raw {
    async fn connect(socket: &Path) -> Raw {
        Raw(UnixStream::connect(socket).await.expect("connect"))
    }

    async fn send_bytes(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).await.expect("write");
    }

    async fn send_frame(&mut self, payload: &str) {
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(payload.as_bytes());
        self.send_bytes(&bytes).await;
    }

    /// The next answer, or `None` when the daemon closed the connection.
    async fn recv(&mut self) -> Option<Value> {
        let read = async {
            let mut header = [0u8; 4];
            match self.0.read_exact(&mut header).await {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    return None;
                }
                Err(e) => panic!("read: {e}"),
            }
            let mut payload = vec![0u8; u32::from_be_bytes(header) as usize];
            self.0.read_exact(&mut payload).await.expect("payload");
            Some(serde_json::from_slice(&payload).expect("answer is JSON"))
        };
        tokio::time::timeout(DEADLINE, read)
            .await
            .expect("no answer and no close")
    }

    async fn hello(&mut self) {
        self.send_frame(HELLO).await;
        let answer = self.recv().await.expect("hello answer");
        assert_eq!(answer["type"], "hello", "{answer}");
    }

    async fn expect_error(&mut self, code: &str) -> Value {
        let answer = self.recv().await.expect("an answer before any close");
        assert_eq!(answer["type"], "error", "{answer}");
        assert_eq!(answer["code"], code, "{answer}");
        answer
    }

    async fn expect_closed(&mut self) {
        assert_eq!(
            self.recv().await,
            None,
            "the daemon kept the connection open"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_an_error_and_never_disturb_other_clients() {
    let env = Env::start(&["alpha"]).await;
    let mut daemon = env.start_daemon(&Cfg::new(&["alpha"])).await;
    let socket = env.socket();

    // A stalled client (two bytes of a length prefix) holds a connection throughout.
    let mut stalled = Raw::connect(&socket).await;
    stalled.send_bytes(&[0, 0]).await;
    let idle = Raw::connect(&socket).await;

    // Malformed JSON and an unknown type after the hello: bad_request, connection usable.
    let mut c = Raw::connect(&socket).await;
    c.hello().await;
    c.send_frame("{this is not json").await;
    let answer = c.expect_error("bad_request").await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("malformed json")
    );
    c.send_frame(r#"{"type":"frobnicate"}"#).await;
    c.expect_error("bad_request").await;
    c.send_frame(r#"{"type":"log_tail"}"#).await; // known type, missing field
    c.expect_error("bad_request").await;
    c.send_frame(r#"{"type":"status"}"#).await;
    assert_eq!(c.recv().await.expect("status")["type"], "status");

    // Oversized frame: frame_too_large, then dropped (its payload is never read).
    c.send_bytes(&0x7fff_ffffu32.to_be_bytes()).await;
    c.expect_error("frame_too_large").await;
    c.expect_closed().await;

    // A request before the hello: an error, then dropped.
    let mut c = Raw::connect(&socket).await;
    c.send_frame(r#"{"type":"status"}"#).await;
    let answer = c.expect_error("bad_request").await;
    assert!(answer["message"].as_str().unwrap().contains("hello"));
    c.expect_closed().await;

    // Garbage before the hello: an error, then dropped.
    let mut c = Raw::connect(&socket).await;
    c.send_frame("GET / HTTP/1.1").await;
    c.expect_error("bad_request").await;
    c.expect_closed().await;

    // Another protocol version: version_mismatch, then dropped.
    let mut c = Raw::connect(&socket).await;
    c.send_frame(r#"{"type":"hello","protocol_version":99,"client":"future"}"#)
        .await;
    let answer = c.expect_error("version_mismatch").await;
    assert!(
        answer["message"].as_str().unwrap().contains("99"),
        "{answer}"
    );
    c.expect_closed().await;

    // Meanwhile the stalled and idle clients never blocked anyone, and (with the default
    // 30 s client timeout) they are still connected: no answer, no close.
    let report = status(&socket).await;
    assert_eq!(report.instances[0].name, "alpha");
    assert!(daemon.is_running());
    for (what, client) in [("stalled", &stalled), ("idle", &idle)] {
        let mut buf = [0u8; 16];
        match client.0.try_read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("the {what} client was answered or dropped early: {other:?}"),
        }
    }
    drop((stalled, idle));
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(daemon.wait_exit().await.code(), Some(0));
    env.wait_log_line(&["bad message from client", "uid=0"])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_are_dropped_after_the_client_timeout() {
    let env = Env::start_memory(&["alpha"]).await;
    let options = RunOptions {
        client_timeout: Duration::from_secs(1),
        max_tick: Duration::from_millis(200),
        ..RunOptions::default()
    };
    let daemon = env.run_in_process(&Cfg::new(&["alpha"]), options).await;
    let socket = env.socket();

    // Half a length prefix and nothing more; one that never says hello; one stalled mid-frame
    // after a proper hello.
    let mut half_header = Raw::connect(&socket).await;
    half_header.send_bytes(&[0, 0]).await;
    let mut silent = Raw::connect(&socket).await;
    let mut mid_frame = Raw::connect(&socket).await;
    mid_frame.hello().await;
    mid_frame.send_bytes(&[0, 0, 0, 100, b'{']).await;

    // They do not block anyone meanwhile.
    assert_eq!(status(&socket).await.instances.len(), 1);

    // Each is dropped (EOF), without an answer.
    half_header.expect_closed().await;
    silent.expect_closed().await;
    mid_frame.expect_closed().await;

    // A well-behaved client that pauses less than the timeout between requests is served.
    let mut conn = warden_core::protocol::connect(&socket).await.unwrap();
    for _ in 0..3 {
        let answer = conn
            .request(warden_core::protocol::Request::Status)
            .await
            .unwrap();
        assert!(matches!(answer, warden_core::protocol::Response::Status(_)));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    daemon.stop().await.expect("run() stopped cleanly");
}
