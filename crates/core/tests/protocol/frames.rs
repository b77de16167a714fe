//! Framing over `tokio::io::duplex`: caps, malformed and truncated input.

use std::time::Duration;

use tokio::io::{AsyncWriteExt, DuplexStream, duplex};
use warden_core::protocol::{
    ErrorCode, LogTailRequest, MAX_REQUEST_BYTES, ProtocolError, Request, Response, Transport,
};

fn pair() -> (Transport<DuplexStream>, Transport<DuplexStream>) {
    let (client, server) = duplex(64 * 1024);
    (Transport::client(client), Transport::server(server))
}

/// A server transport and the raw client end, for writing arbitrary bytes.
fn raw_pair() -> (DuplexStream, Transport<DuplexStream>) {
    let (client, server) = duplex(64 * 1024);
    (client, Transport::server(server))
}

async fn recv_request(
    server: &mut Transport<DuplexStream>,
) -> Result<Option<Request>, ProtocolError> {
    tokio::time::timeout(Duration::from_secs(5), server.recv::<Request>())
        .await
        .expect("recv hung")
}

#[tokio::test]
async fn messages_cross_back_to_back() {
    let (mut client, mut server) = pair();
    client.send(&Request::Status).await.unwrap();
    client
        .send(&Request::from(LogTailRequest { n: 3 }))
        .await
        .unwrap();
    assert_eq!(
        recv_request(&mut server).await.unwrap(),
        Some(Request::Status)
    );
    assert_eq!(
        recv_request(&mut server).await.unwrap(),
        Some(LogTailRequest { n: 3 }.into())
    );

    // A response bigger than the duplex buffer and the request cap.
    let big = Response::ok("x".repeat(3 * MAX_REQUEST_BYTES));
    let sender = tokio::spawn(async move {
        server.send(&big).await.unwrap();
        (server, big)
    });
    let got = client.recv::<Response>().await.unwrap();
    let (server, big) = sender.await.unwrap();
    assert_eq!(got, Some(big));

    drop(server);
    assert_eq!(client.recv::<Response>().await.unwrap(), None);
}

#[tokio::test]
async fn oversized_frame_is_rejected_from_its_header() {
    let (mut raw, mut server) = raw_pair();
    // Announce 4 GiB but send nothing more, and keep the connection open: the error must come
    // from the header alone, without waiting for (or reserving room for) the payload.
    raw.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let err = recv_request(&mut server).await.unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::FrameTooLarge {
                max: MAX_REQUEST_BYTES
            }
        ),
        "{err}"
    );
    assert_eq!(err.error_code(), Some(ErrorCode::FrameTooLarge));
    assert!(!err.is_recoverable());

    let (mut raw, mut server) = raw_pair();
    let just_over = u32::try_from(MAX_REQUEST_BYTES + 1).unwrap();
    raw.write_all(&just_over.to_be_bytes()).await.unwrap();
    let err = recv_request(&mut server).await.unwrap_err();
    assert!(matches!(err, ProtocolError::FrameTooLarge { .. }), "{err}");
}

#[tokio::test]
async fn oversized_message_is_not_sent() {
    let (client, server) = duplex(1024);
    let mut client = Transport::new(client, 1024, 64);
    let mut server = Transport::server(server);
    let err = client
        .send(&Response::ok("x".repeat(100)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProtocolError::MessageTooLarge { len, max: 64, .. } if len > 100),
        "{err}"
    );
    client.send(&Request::Status).await.unwrap();
    assert_eq!(
        recv_request(&mut server).await.unwrap(),
        Some(Request::Status)
    );
}

#[tokio::test]
async fn malformed_json_is_reported_and_the_stream_stays_in_step() {
    let (mut raw, mut server) = raw_pair();
    let junk = b"{\"type\": nope";
    raw.write_all(&(junk.len() as u32).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(junk).await.unwrap();
    let good = br#"{"type":"status"}"#;
    raw.write_all(&(good.len() as u32).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(good).await.unwrap();

    let err = recv_request(&mut server).await.unwrap_err();
    assert!(matches!(err, ProtocolError::MalformedJson(_)), "{err}");
    assert!(err.is_recoverable());
    assert_eq!(err.error_code(), Some(ErrorCode::BadRequest));
    assert_eq!(
        recv_request(&mut server).await.unwrap(),
        Some(Request::Status)
    );
}

#[tokio::test]
async fn unknown_type_from_a_newer_ctl_can_be_answered() {
    let (mut raw, mut server) = raw_pair();
    let payload = br#"{"type":"time_travel","when":"yesterday"}"#;
    raw.write_all(&(payload.len() as u32).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(payload).await.unwrap();
    let err = recv_request(&mut server).await.unwrap_err();
    assert!(err.is_recoverable());
    let response = err.to_response().unwrap();
    server.send(&response).await.unwrap();
    let mut client = Transport::client(raw);
    let Some(Response::Error { code, .. }) = client.recv::<Response>().await.unwrap() else {
        panic!("no error response");
    };
    assert_eq!(code, ErrorCode::BadRequest);
}

#[tokio::test]
async fn truncated_frame_is_an_error_not_eof() {
    let (mut raw, mut server) = raw_pair();
    raw.write_all(&100u32.to_be_bytes()).await.unwrap();
    raw.write_all(b"{\"type\":\"st").await.unwrap();
    drop(raw);
    let err = recv_request(&mut server).await.unwrap_err();
    assert!(
        matches!(err, ProtocolError::TruncatedFrame { received: 15 }),
        "{err}"
    );

    // Only part of the header.
    let (mut raw, mut server) = raw_pair();
    raw.write_all(&[0, 0]).await.unwrap();
    drop(raw);
    let err = recv_request(&mut server).await.unwrap_err();
    assert!(
        matches!(err, ProtocolError::TruncatedFrame { received: 2 }),
        "{err}"
    );

    // A complete header and nothing else.
    let (mut raw, mut server) = raw_pair();
    raw.write_all(&10u32.to_be_bytes()).await.unwrap();
    drop(raw);
    let err = recv_request(&mut server).await.unwrap_err();
    assert!(
        matches!(err, ProtocolError::TruncatedFrame { received: 4 }),
        "{err}"
    );
}

#[tokio::test]
async fn recv_is_cancel_safe() {
    let (mut raw, mut server) = raw_pair();
    let payload = br#"{"type":"instances"}"#;
    raw.write_all(&(payload.len() as u32).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(&payload[..5]).await.unwrap();
    // Cancel a recv in the middle of the frame...
    let pending = tokio::time::timeout(Duration::from_millis(50), server.recv::<Request>()).await;
    assert!(pending.is_err());
    // ...and the next recv still gets the whole message.
    raw.write_all(&payload[5..]).await.unwrap();
    assert_eq!(
        recv_request(&mut server).await.unwrap(),
        Some(Request::Instances)
    );
}

#[tokio::test]
async fn answers_are_scrubbed_of_known_secrets_and_requests_are_not() {
    let secret = "frame-known-secret-8Hy2";
    warden_core::changelog::remember_secret("test:frames", &secrecy::SecretString::from(secret));
    let (mut client, mut server) = pair();
    let answer = Response::error(ErrorCode::Internal, format!("jamf said {secret}"));
    server.send(&answer).await.unwrap();
    let got: Response = client.recv().await.unwrap().unwrap();
    assert_eq!(
        got,
        Response::error(ErrorCode::Internal, "jamf said [redacted]")
    );
    // a request (a bootstrap carries a password on purpose) goes as it is
    let request = Request::Bootstrap(warden_core::protocol::BootstrapRequest {
        instance: "prod".into(),
        username: "admin".into(),
        password: secrecy::SecretString::from(secret),
        force: false,
    });
    client.send(&request).await.unwrap();
    assert_eq!(recv_request(&mut server).await.unwrap(), Some(request));
    warden_core::changelog::forget_secret("test:frames");
}
