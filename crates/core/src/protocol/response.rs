//! Responses: `wardend` → `wardenctl`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Message;
use super::format::ReportFormat;
use super::status::{InstanceSummary, StatusReport};
use crate::changelog::{Record, VerifyReport};

/// A response from `wardend`, one per request, in order. On the wire: a JSON object whose
/// `type` member is the snake_case variant name, e.g.
/// `{"type":"error","code":"not_found","message":"…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Accepts [`Request::Hello`](super::Request::Hello).
    Hello(HelloResponse),
    /// Answers [`Request::Status`](super::Request::Status).
    Status(StatusReport),
    /// Answers [`Request::Instances`](super::Request::Instances).
    Instances {
        /// The configured instances, in configuration order.
        instances: Vec<InstanceSummary>,
    },
    /// Answers [`Request::Reload`](super::Request::Reload) when the new configuration was
    /// applied (an invalid one is an [`Response::Error`] and the old one stays).
    Reloaded {
        /// What changed, one line per change.
        summary: String,
    },
    /// Answers [`Request::LogTail`](super::Request::LogTail): records, oldest first.
    LogTail {
        /// The records.
        records: Vec<Record>,
    },
    /// Answers [`Request::LogVerify`](super::Request::LogVerify).
    LogVerify(VerifyReport),
    /// Answers `secrets`, `drift`, `plan`, `apply` and `audit`.
    Report(ReportResponse),
    /// Answers [`Request::Rotate`](super::Request::Rotate) after the new secret is in Vault.
    Rotated(RotateResponse),
    /// The first frame of a report answered in parts ([`super::stream`]); only to a request
    /// that asked for parts.
    ReportStart(ReportStart),
    /// The next items of a report answered in parts.
    ReportPart(ReportPart),
    /// The last frame of a report answered in parts.
    ReportEnd(ReportEnd),
    /// Answers [`Request::Bootstrap`](super::Request::Bootstrap) once the management secret is
    /// in Vault and verified.
    Bootstrapped(Box<BootstrapResponse>),
    /// Generic success with a message.
    Ok {
        /// What was done.
        message: String,
    },
    /// The request failed or was refused.
    Error {
        /// Stable machine-readable reason.
        code: ErrorCode,
        /// What went wrong and what to do, for humans.
        message: String,
    },
}

impl Response {
    /// A [`Response::Error`].
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
        }
    }

    /// A [`Response::Ok`].
    pub fn ok(message: impl Into<String>) -> Self {
        Self::Ok {
            message: message.into(),
        }
    }
}

impl Message for Response {
    const KIND: &'static str = "response";
    const TYPES: &'static [&'static str] = &[
        "hello",
        "status",
        "instances",
        "reloaded",
        "log_tail",
        "log_verify",
        "report",
        "rotated",
        "report_start",
        "report_part",
        "report_end",
        "bootstrapped",
        "ok",
        "error",
    ];

    fn type_name(&self) -> &'static str {
        match self {
            Self::Hello(_) => "hello",
            Self::Status(_) => "status",
            Self::Instances { .. } => "instances",
            Self::Reloaded { .. } => "reloaded",
            Self::LogTail { .. } => "log_tail",
            Self::LogVerify(_) => "log_verify",
            Self::Report(_) => "report",
            Self::Rotated(_) => "rotated",
            Self::ReportStart(_) => "report_start",
            Self::ReportPart(_) => "report_part",
            Self::ReportEnd(_) => "report_end",
            Self::Bootstrapped(_) => "bootstrapped",
            Self::Ok { .. } => "ok",
            Self::Error { .. } => "error",
        }
    }
}

/// Payload of [`Response::Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloResponse {
    /// The protocol version the daemon speaks on this connection.
    pub protocol_version: u32,
    /// The daemon's package version, e.g. `0.1.0`.
    pub daemon_version: String,
}

/// What a [`ReportResponse`] reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Secret locations and rotation state.
    Secrets,
    /// Drift between declared and live state.
    Drift,
    /// Changes `apply` would make.
    Plan,
    /// Changes `apply` made.
    Apply,
    /// Live state as a desired-state file (`import`).
    Import,
    /// Risky roles and clients.
    Audit,
    /// A kind from a newer daemon.
    #[serde(other)]
    Other,
}

/// Payload of [`Response::Report`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportResponse {
    /// What the report is about.
    pub kind: ReportKind,
    /// The instance, or `None` for all instances.
    #[serde(default)]
    pub instance: Option<String>,
    /// How `body` is rendered.
    #[serde(default)]
    pub format: ReportFormat,
    /// Number of findings (drift items, audit findings, planned changes); `wardenctl` exits 1
    /// when it is not zero for `drift` and `audit`.
    #[serde(default)]
    pub findings: u64,
    /// The report: structured JSON for [`ReportFormat::Json`], otherwise a JSON string holding
    /// the rendered document.
    pub body: ReportBody,
}

/// A report's JSON, kept as encoded text: the daemon encodes a fleet's document once, straight
/// from its types, instead of building a `serde_json::Value` tree of it first (for a thousand
/// instances that tree is tens of megabytes). On the wire it is plain JSON.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct ReportBody(Box<serde_json::value::RawValue>);

/// Decoding goes through a `serde_json::Value`: `Response` is an internally tagged enum, whose
/// buffered content a raw value cannot be read from (a reader's side cost only).
impl<'de> Deserialize<'de> for ReportBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ReportBody, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        ReportBody::encode(&value).map_err(serde::de::Error::custom)
    }
}

impl ReportBody {
    /// Encodes `body`.
    pub fn encode<T: Serialize + ?Sized>(body: &T) -> Result<ReportBody, serde_json::Error> {
        serde_json::value::to_raw_value(body).map(ReportBody)
    }

    /// An already encoded JSON value.
    pub fn from_raw(raw: Box<serde_json::value::RawValue>) -> ReportBody {
        ReportBody(raw)
    }

    /// Decodes it as `T`.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// The encoded JSON.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The text of a rendered document (a JSON string), `None` for structured JSON.
    pub fn text(&self) -> Option<String> {
        self.decode::<String>().ok()
    }
}

/// A rendered document (text) as a body.
impl From<&str> for ReportBody {
    fn from(text: &str) -> ReportBody {
        // a string always encodes as JSON; the fallback is unreachable
        ReportBody::encode(text).unwrap_or_else(|_| ReportBody::empty_text())
    }
}

impl From<String> for ReportBody {
    fn from(text: String) -> ReportBody {
        ReportBody::from(text.as_str())
    }
}

impl ReportBody {
    fn empty_text() -> ReportBody {
        ReportBody(serde_json::value::RawValue::NULL.to_owned())
    }
}

impl PartialEq for ReportBody {
    fn eq(&self, other: &Self) -> bool {
        // the same value, however it was spaced
        self.decode::<serde_json::Value>().ok() == other.decode::<serde_json::Value>().ok()
    }
}

impl Eq for ReportBody {}

/// Payload of [`Response::ReportStart`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportStart {
    /// What the report is about.
    pub kind: ReportKind,
    /// The instance, or `None` for several.
    #[serde(default)]
    pub instance: Option<String>,
    /// How `body` is rendered (always JSON for parts).
    #[serde(default)]
    pub format: ReportFormat,
    /// Number of findings of the whole report.
    #[serde(default)]
    pub findings: u64,
    /// The member of `body` whose items follow in the parts (`instances`).
    pub split: String,
    /// The report with `split` empty.
    pub body: ReportBody,
}

/// Payload of [`Response::ReportPart`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPart {
    /// 0 for the first part, then 1, 2, ...
    pub index: u64,
    /// A JSON array of the next items of the split member.
    pub items: ReportBody,
}

/// Payload of [`Response::ReportEnd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEnd {
    /// Parts sent.
    pub parts: u64,
    /// Items sent over all parts.
    pub items: u64,
}

/// Payload of [`Response::Rotated`]. Never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateResponse {
    /// The instance.
    pub instance: String,
    /// Jamf client id of the rotated API client.
    pub client_id: String,
    /// Vault KV v2 path the new secret was written to.
    pub vault_path: String,
    /// Vault KV v2 version of the new secret.
    pub vault_version: u64,
    /// `seq` of the change-log record of the rotation.
    pub change_seq: u64,
}

/// What `bootstrap` did to a Jamf Pro object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectChange {
    /// It did not exist and was created.
    Created,
    /// It existed with other settings and was set to the wanted ones.
    Updated,
    /// It existed as wanted.
    Unchanged,
    /// A value from a newer daemon.
    #[serde(other)]
    Other,
}

impl ObjectChange {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Other => "changed",
        }
    }
}

/// Payload of [`Response::Bootstrapped`]: what `bootstrap` set up. Never contains the secret or
/// the admin's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapResponse {
    /// The instance.
    pub instance: String,
    /// Display name of the management API role (and client).
    pub role_name: String,
    /// Jamf id of the management API role.
    pub role_id: String,
    /// What was done to the role.
    pub role: ObjectChange,
    /// The role's privileges: exactly the eight API Roles and API Integrations privileges.
    pub privileges: Vec<String>,
    /// Display name of the management API client.
    pub client_name: String,
    /// Jamf id of the management API client (integration).
    pub integration_id: i64,
    /// What was done to the client.
    pub client: ObjectChange,
    /// OAuth client id of the management API client.
    pub client_id: String,
    /// Vault KV v2 path (mount included) the secret was written to.
    pub vault_path: String,
    /// Vault KV v2 version of the secret.
    pub vault_version: u64,
    /// Role ids in the scope of a token minted with the new secret (exactly `role_id`).
    pub verified_scope: Vec<String>,
    /// The verification token's lifetime, in seconds.
    pub token_lifetime_seconds: u64,
    /// Whether management credentials that still worked were replaced (`--force`).
    #[serde(default)]
    pub replaced_working: bool,
    /// Whether the admin user's Jamf Pro session token was invalidated at the end.
    pub user_session_closed: bool,
    /// Anything worth knowing, one sentence each (e.g. a role whose privileges were reset).
    #[serde(default)]
    pub notes: Vec<String>,
    /// `seq` of the change-log records written, in order.
    #[serde(default)]
    pub change_seqs: Vec<u64>,
}

/// Stable reason of a [`Response::Error`]; serialized as a snake_case string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request could not be decoded or is invalid (unknown type, missing field).
    BadRequest,
    /// Client and daemon speak different protocol versions.
    VersionMismatch,
    /// The peer's uid/gid may not send this (mutating) request.
    PermissionDenied,
    /// The instance, client or role named does not exist.
    NotFound,
    /// Another operation on the same object is running, or the state changed underneath.
    Conflict,
    /// Jamf Pro or Vault is unreachable, or the instance is parked.
    Unavailable,
    /// A bug or an unexpected failure in the daemon; details are in its log.
    Internal,
    /// The request frame exceeded the size limit; the daemon closes the connection.
    FrameTooLarge,
    /// The daemon knows the request but does not support it (yet).
    Unsupported,
    /// A mutating request needs `confirmed: true` (`--yes`).
    ConfirmationRequired,
    /// A code from a newer daemon.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The stable snake_case string used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::VersionMismatch => "version_mismatch",
            Self::PermissionDenied => "permission_denied",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::FrameTooLarge => "frame_too_large",
            Self::Unsupported => "unsupported",
            Self::ConfirmationRequired => "confirmation_required",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
