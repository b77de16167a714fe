//! Control-socket frames, requests and responses (`warden_core::protocol`): what any local
//! process that can reach the socket sends to `wardend`, and what `wardenctl` reads back.

use std::io::Cursor;

use proptest::prelude::*;
use warden_core::protocol::{
    self, ErrorCode, HelloRequest, MAX_REQUEST_BYTES, ProtocolError, Request, Response, Transport,
};

use crate::alloc::peak_during;
use crate::common::{assert_clear, bytes, cases, mutated_json, oversize_inputs, within_memory};

/// Valid requests as `wardenctl` sends them.
fn request_samples() -> Vec<Vec<u8>> {
    let samples: &[&str] = &[
        r#"{"type":"hello","protocol_version":1,"client":"wardenctl/0.1.0"}"#,
        r#"{"type":"status"}"#,
        r#"{"type":"instances"}"#,
        r#"{"type":"reload"}"#,
        r#"{"type":"log_tail","n":20}"#,
        r#"{"type":"log_verify"}"#,
        r#"{"type":"secrets","instance":"prod"}"#,
        r#"{"type":"rotate","instance":"prod","client":"backup","confirmed":true}"#,
        r#"{"type":"drift","instances":["prod","lab"],"now":true,"refresh_catalogue":false}"#,
        r#"{"type":"plan","instance":"prod"}"#,
        r#"{"type":"import","instance":"prod"}"#,
        r#"{"type":"apply","instance":"prod","confirmed":true}"#,
        r#"{"type":"audit","instances":["prod"],"last":true}"#,
        r#"{"type":"bootstrap","instance":"prod","username":"jamf-admin","password":"pw-Zq8!sample"}"#,
    ];
    let valid: Vec<Vec<u8>> = samples
        .iter()
        .filter(|s| protocol::decode::<Request>(s.as_bytes()).is_ok())
        .map(|s| s.as_bytes().to_vec())
        .collect();
    assert!(
        valid.len() >= samples.len() - 2,
        "the request samples no longer decode: update them"
    );
    valid
}

fn response_samples() -> Vec<Vec<u8>> {
    [
        Response::ok("reloaded"),
        Response::error(ErrorCode::NotFound, "no such instance `x`"),
        HelloRequest::new("wardenctl/0.1.0").answer("0.1.0"),
    ]
    .iter()
    .map(|r| protocol::encode(r).expect("encodes"))
    .chain(
        [
            r#"{"type":"status","daemon":{"version":"0.1.0"},"instances":[]}"#,
            r#"{"type":"error","code":"rate_limited","message":"later"}"#,
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec()),
    )
    .collect()
}

#[track_caller]
fn check_decode<T: protocol::Message>(payload: &[u8]) {
    if let Err(e) = within_memory("decode", payload, protocol::decode::<T>) {
        assert!(
            e.is_recoverable(),
            "a bad payload must leave the connection usable: {e}"
        );
        assert_clear("decode", &e);
    }
}

/// Reads every frame a peer could send on one connection; returns how many were read.
fn drain(stream: Vec<u8>, server: bool) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let len = stream.len();
    rt.block_on(async move {
        let io = Cursor::new(stream);
        let mut t = if server {
            Transport::server(io)
        } else {
            Transport::client(io)
        };
        let mut frames = 0;
        loop {
            // Every frame takes at least its 4-byte header: more reads than that is a loop.
            assert!(frames <= len / 4 + 1, "recv keeps returning on {len} bytes");
            let r = if server {
                t.recv::<Request>().await.map(|m| m.is_some())
            } else {
                t.recv::<Response>().await.map(|m| m.is_some())
            };
            match r {
                Ok(true) => frames += 1,
                Ok(false) => return frames,
                Err(e) => {
                    assert_clear("recv", &e);
                    if !e.is_recoverable() {
                        return frames;
                    }
                    frames += 1;
                }
            }
        }
    })
}

/// A byte stream of frames: each a length header (true or lying) and a payload.
fn frame_stream() -> impl Strategy<Value = Vec<u8>> {
    let payload = prop_oneof![bytes(256), mutated_json(request_samples())];
    let frame = (
        payload,
        prop_oneof![
            4 => Just(None),
            1 => any::<u32>().prop_map(Some),
            1 => Just(Some(u32::MAX)),
            1 => Just(Some(u32::try_from(MAX_REQUEST_BYTES).unwrap() + 1)),
        ],
    );
    (prop::collection::vec(frame, 0..5), bytes(8)).prop_map(|(frames, tail)| {
        let mut out = Vec::new();
        for (payload, lie) in frames {
            let len = lie.unwrap_or(u32::try_from(payload.len()).unwrap());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&payload);
        }
        out.extend_from_slice(&tail);
        out
    })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_bytes_as_a_request(payload in bytes(512)) {
        check_decode::<Request>(&payload);
    }

    #[test]
    fn damaged_requests(payload in mutated_json(request_samples())) {
        check_decode::<Request>(&payload);
    }

    #[test]
    fn damaged_responses(payload in prop_oneof![bytes(512), mutated_json(response_samples())]) {
        check_decode::<Response>(&payload);
    }

    #[test]
    fn any_frame_stream_to_the_daemon(stream in frame_stream()) {
        let len = stream.len();
        let (_, peak) = peak_during(|| drain(stream, true));
        // The read buffer, at most one frame (capped at MAX_REQUEST_BYTES) and its decoding.
        prop_assert!(peak <= 2 * MAX_REQUEST_BYTES + 64 * len + 1024 * 1024, "{peak} bytes");
    }

    #[test]
    fn any_frame_stream_to_wardenctl(stream in frame_stream()) {
        drain(stream, false);
    }
}

#[test]
fn oversize_payloads_are_decoded_or_refused_within_bounds() {
    for (what, input) in oversize_inputs() {
        if let Err(e) = within_memory(what, &input, protocol::decode::<Request>) {
            assert_clear(what, &e);
        }
        if let Err(e) = within_memory(what, &input, protocol::decode::<Response>) {
            assert_clear(what, &e);
        }
    }
}

#[test]
fn a_frame_header_claiming_4_gib_is_refused_before_allocating() {
    let mut stream = u32::MAX.to_be_bytes().to_vec();
    stream.extend_from_slice(&[b'x'; 64]);
    let (frames, peak) = peak_during(|| drain(stream, true));
    assert_eq!(frames, 0);
    assert!(peak < 1024 * 1024, "{peak} bytes for a refused header");
    // Over the request cap by one byte: refused too, without reading the payload.
    let over = u32::try_from(MAX_REQUEST_BYTES + 1).unwrap();
    let (frames, peak) = peak_during(|| drain(over.to_be_bytes().to_vec(), true));
    assert_eq!(frames, 0);
    assert!(peak < 1024 * 1024, "{peak} bytes for a refused header");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = rt
        .block_on(Transport::server(Cursor::new(over.to_be_bytes().to_vec())).recv::<Request>())
        .unwrap_err();
    assert!(matches!(err, ProtocolError::FrameTooLarge { .. }), "{err}");
    assert_clear("frame too large", &err);
}

/// A request frame at the socket's cap, made of the JSON that costs most to hold (many small
/// objects), stays under the common bound: about 36 times its size (serde buffers an
/// internally tagged message once), where decoding through a `serde_json::Value` took about
/// 87 times (91 MiB for one 1 MiB frame, per connection).
#[test]
fn a_full_request_frame_costs_a_small_multiple_of_its_size() {
    let unit = br#"{"a":0},"#;
    let mut payload = br#"{"type":"status","x":["#.to_vec();
    while payload.len() + unit.len() + 3 < MAX_REQUEST_BYTES {
        payload.extend_from_slice(unit);
    }
    payload.extend_from_slice(b"{}]}");
    let (decoded, peak) = peak_during(|| protocol::decode::<Request>(&payload));
    assert_eq!(decoded.unwrap(), Request::Status);
    assert!(
        peak <= crate::common::MEMORY_FACTOR * payload.len(),
        "{peak} bytes of heap for a {} byte frame",
        payload.len()
    );
}
