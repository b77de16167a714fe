//! The control protocol between `wardenctl` and `wardend`, over a Unix socket.
//!
//! # Wire format
//!
//! Every message is one frame: a u32 big-endian length, then that many bytes of UTF-8 JSON.
//! Requests may be at most [`MAX_REQUEST_BYTES`], responses at most [`MAX_RESPONSE_BYTES`]. A
//! peer announcing a bigger frame gets [`ErrorCode::FrameTooLarge`] and is dropped, before its
//! payload is read. Messages are JSON objects tagged by a snake_case `type` member
//! ([`Request`], [`Response`]); JSON keeps the protocol debuggable and lets `wardenctl --json`
//! pass daemon output through.
//!
//! # Conversation
//!
//! 1. The client sends [`Request::Hello`] with [`PROTOCOL_VERSION`]; the daemon answers
//!    [`Response::Hello`], or [`Response::Error`] with [`ErrorCode::VersionMismatch`] and closes
//!    ([`HelloRequest::answer`] builds either).
//! 2. Then one response per request, in order, until the client closes. The one exception: a
//!    request that asks for parts (`AuditRequest::stream`) is answered by `report_start`, the
//!    parts and `report_end` ([`stream`]), so a fleet report of any size crosses in frames under
//!    the cap and neither side encodes it whole; the client reads them with
//!    [`Connection::next_part`] before its next request.
//!
//! # Evolution
//!
//! - Unknown members are ignored on both sides, and members added later are
//!   `#[serde(default)]`, so peers of neighbouring versions interoperate.
//! - A request `type` the daemon does not know is decoded as [`ProtocolError::UnknownType`];
//!   [`ProtocolError::to_response`] turns it into a `bad_request` answer and the connection
//!   stays usable ([`ProtocolError::is_recoverable`]).
//! - Members that change what is answered are added the same way: `PlanRequest` gained
//!   `instances` and `desired` (and `instance` became optional: empty asks for a fleet-wide
//!   `warden.plan-fleet/1` document), `ApplyRequest` gained `plan` (a saved plan's
//!   fingerprints). A daemon that predates them would ignore them, so `wardenctl` checks the
//!   answer: a plan of proposed files must name them (`proposed`), and before `apply --plan` a
//!   plan made now must carry fingerprints; otherwise it refuses.
//! - `AuditRequest` gained `stream`: a daemon that predates it answers one `report`, which
//!   `wardenctl` still accepts; a daemon never sends parts to a client that did not ask.
//! - Incompatible changes bump [`PROTOCOL_VERSION`].
//!
//! # Serving
//!
//! ```no_run
//! use warden_core::protocol::{ErrorCode, ProtocolError, Request, Response, Transport};
//!
//! async fn serve(stream: tokio::net::UnixStream) -> Result<(), ProtocolError> {
//!     let mut transport = Transport::server(stream);
//!     loop {
//!         let response = match transport.recv::<Request>().await {
//!             Ok(Some(Request::Hello(hello))) => hello.answer(env!("CARGO_PKG_VERSION")),
//!             Ok(Some(_other)) => Response::error(ErrorCode::Unsupported, "not yet"),
//!             Ok(None) => return Ok(()),
//!             Err(err) => match err.to_response() {
//!                 Some(response) if err.is_recoverable() => response,
//!                 Some(response) => {
//!                     // E.g. frame_too_large: say why, then drop the client.
//!                     let _ = transport.send(&response).await;
//!                     return Err(err);
//!                 }
//!                 None => return Err(err),
//!             },
//!         };
//!         transport.send(&response).await?;
//!     }
//! }
//! ```
//!
//! A real daemon also insists on the hello first, reads `peer_cred()` on accept, and gates
//! [`Request::is_mutating`] requests by uid/gid.

mod client;
mod error;
mod format;
mod frame;
mod request;
mod response;
mod status;
pub mod stream;

use std::borrow::Cow;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

pub use client::{
    CONNECT_TIMEOUT, Connection, DEFAULT_DAEMON_USER, DEFAULT_REQUEST_TIMEOUT, HELLO_TIMEOUT,
    check_daemon_peer, connect, connect_as, connect_error,
};
pub use error::ProtocolError;
pub use format::ReportFormat;
pub use frame::{Transport, encode};
pub use request::{
    AdoptRequest, ApplyRequest, AuditRequest, BootstrapRequest, Cutover, DriftRequest,
    HelloRequest, ImportRequest, LogTailRequest, MAX_PROPOSED_BYTES, PlanRequest, ProposedFile,
    Request, RotateRequest, SecretsRequest,
};
pub use response::{
    BootstrapResponse, ErrorCode, HelloResponse, ObjectChange, ReportBody, ReportEnd, ReportKind,
    ReportPart, ReportResponse, ReportStart, Response, RotateResponse,
};
pub use status::{
    ClusterMember, ClusterStatus, DeclaredClientSummary, DeclaredRoleSummary, HeldLease,
    InstanceStatus, InstanceSummary, JobKind, JobOutcome, JobStatus, StatusReport, VaultState,
};
pub use stream::{AssembleError, Assembler, PART_BYTES, PART_ITEMS, PartError, Parts};

/// Version of this protocol. Bumped on incompatible changes; the hello compares it.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest request frame payload, in bytes (1 MiB).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// Largest response frame payload, in bytes (256 MiB). A fleet audit (about 100 KiB per
/// instance in bench-audit) is sent in parts of at most [`PART_ITEMS`] instances, so it never
/// comes near; any other answer over the cap is refused with an error that says to ask for
/// fewer instances.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// A message type of this protocol ([`Request`] or [`Response`]).
pub trait Message: Serialize + DeserializeOwned {
    /// `"request"` or `"response"`, for error messages.
    const KIND: &'static str;
    /// Every `type` tag this build knows.
    const TYPES: &'static [&'static str];
    /// The `type` tag of this message.
    fn type_name(&self) -> &'static str;
}

/// Decodes one frame payload, telling malformed JSON ([`ProtocolError::MalformedJson`]), an
/// unknown `type` ([`ProtocolError::UnknownType`]) and a known type with a wrong shape
/// ([`ProtocolError::InvalidMessage`]) apart.
///
/// No intermediate document is built: the syntax is checked with [`IgnoredAny`] (which
/// allocates nothing), the tag is read borrowed, and the payload is then decoded straight into
/// `T`, so a frame costs about what its message needs. (Through a `serde_json::Value`, a 1 MiB
/// request of small objects took some 90 MiB of heap: found by the fuzz tests.)
pub fn decode<T: Message>(payload: &[u8]) -> Result<T, ProtocolError> {
    serde_json::from_slice::<IgnoredAny>(payload).map_err(ProtocolError::MalformedJson)?;
    let type_name = serde_json::from_slice::<TypeTag<'_>>(payload)
        .ok()
        .and_then(|t| t.type_name)
        .map(Cow::into_owned);
    if let Some(type_name) = &type_name
        && !T::TYPES.contains(&type_name.as_str())
    {
        return Err(ProtocolError::UnknownType {
            kind: T::KIND,
            type_name: type_name.clone(),
        });
    }
    serde_json::from_slice(payload).map_err(|source| ProtocolError::InvalidMessage {
        kind: T::KIND,
        type_name,
        source,
    })
}

/// Just the `type` member of a message (other members are skipped without allocating).
#[derive(Deserialize)]
struct TypeTag<'a> {
    #[serde(rename = "type", default, borrow)]
    type_name: Option<Cow<'a, str>>,
}
