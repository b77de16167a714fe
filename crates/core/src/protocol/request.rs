//! Requests: `wardenctl` → `wardend`.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use super::response::{ErrorCode, HelloResponse, Response};
use super::{Message, PROTOCOL_VERSION};

/// A request from `wardenctl` to `wardend`. On the wire: a JSON object whose `type` member is
/// the snake_case variant name, with the payload's fields beside it, e.g.
/// `{"type":"rotate","instance":"prod","client":"backup","confirmed":true}`.
///
/// Requests never carry secrets, with one exception: [`Request::Bootstrap`] carries the Jamf Pro
/// admin password the operator typed, because that command exists to use it once. It is a
/// [`SecretString`], redacted by `Debug` and [`Request::log_safe`], and exposed only when the
/// request is encoded for the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// First message of every connection; answered by [`Response::Hello`] or by
    /// [`Response::Error`] with [`ErrorCode::VersionMismatch`].
    Hello(HelloRequest),
    /// Daemon and per-instance health, schedules and job results; answered by
    /// [`Response::Status`].
    Status,
    /// The configured Jamf Pro instances; answered by [`Response::Instances`].
    Instances,
    /// Re-read, validate and apply the configuration (like SIGHUP); answered by
    /// [`Response::Reloaded`]. Mutating.
    Reload,
    /// The last `n` change-log records; answered by [`Response::LogTail`].
    LogTail(LogTailRequest),
    /// Verify the whole change log against its hash chain and head anchor; answered by
    /// [`Response::LogVerify`].
    LogVerify,
    /// Where each API client's secret lives in Vault and when it was last rotated (never the
    /// secret itself); answered by [`Response::Report`].
    Secrets(SecretsRequest),
    /// Rotate one API client's secret now; answered by [`Response::Rotated`]. Mutating.
    Rotate(RotateRequest),
    /// Compare declared and live API roles and clients; answered by [`Response::Report`].
    Drift(DriftRequest),
    /// The changes `apply` would make to an instance; answered by [`Response::Report`].
    Plan(PlanRequest),
    /// Make an instance match its declared state; answered by [`Response::Report`]. Mutating.
    Apply(ApplyRequest),
    /// The live roles and clients of an instance as a desired-state file; answered by
    /// [`Response::Report`] with the file's text as body.
    Import(ImportRequest),
    /// Flag risky roles and clients; answered by [`Response::Report`].
    Audit(AuditRequest),
    /// Create Warden's own management role and client on an instance with a Jamf Pro admin
    /// account, mint its secret into Vault and verify it; answered by
    /// [`Response::Bootstrapped`]. Mutating. Carries the admin password.
    Bootstrap(BootstrapRequest),
    /// Cut over an adopted client (`wardenctl adopt INSTANCE/CLIENT --cutover now|at TIME`), or
    /// confirm that its consumers switched to Vault (`--switched`); answered by
    /// [`Response::Ok`] saying what the consumer must read from Vault. Mutating.
    Adopt(AdoptRequest),
}

impl Request {
    /// Whether the request changes anything (Jamf, Vault, configuration or suppressions). The
    /// daemon restricts these to the allowed uids/gids.
    pub fn is_mutating(&self) -> bool {
        // No wildcard: a new variant must be classified here.
        match self {
            Self::Reload
            | Self::Rotate(_)
            | Self::Apply(_)
            | Self::Bootstrap(_)
            | Self::Adopt(_) => true,
            Self::Hello(_)
            | Self::Status
            | Self::Instances
            | Self::LogTail(_)
            | Self::LogVerify
            | Self::Secrets(_)
            | Self::Drift(_)
            | Self::Plan(_)
            | Self::Import(_)
            | Self::Audit(_) => false,
        }
    }

    /// The one instance a changing request acts on (`rotate`, `apply`, `adopt`, `bootstrap`);
    /// `None` for every other request.
    pub fn changed_instance(&self) -> Option<&str> {
        match self {
            Self::Rotate(r) => Some(&r.instance),
            Self::Apply(r) => Some(&r.instance),
            Self::Adopt(r) => Some(&r.instance),
            Self::Bootstrap(r) => Some(&r.instance),
            _ => None,
        }
    }

    /// A short rendering for the daemon's log, e.g. `rotate instance=prod client=backup
    /// confirmed=true`. The user name and
    /// password of `bootstrap`.
    pub fn log_safe(&self) -> String {
        let name = self.type_name();
        let scope = |instance: &Option<String>| {
            instance.as_deref().map_or_else(
                || format!("{name} all instances"),
                |i| format!("{name} instance={i}"),
            )
        };
        match self {
            Self::Hello(hello) => format!(
                "hello protocol_version={} client={:?}",
                hello.protocol_version, hello.client
            ),
            Self::Status | Self::Instances | Self::Reload | Self::LogVerify => name.to_owned(),
            Self::LogTail(tail) => format!("log_tail n={}", tail.n),
            Self::Secrets(req) => scope(&req.instance),
            Self::Drift(req) => {
                let which = if req.instances.is_empty() {
                    "all instances".to_owned()
                } else {
                    format!("instances={}", req.instances.join(","))
                };
                format!(
                    "drift {which} now={} refresh_catalogue={}",
                    req.now, req.refresh_catalogue
                )
            }
            Self::Import(req) => format!("import instance={}", req.instance),
            Self::Audit(req) => format!(
                "audit instances={} client={} last={}",
                if req.instances.is_empty() {
                    "*".to_owned()
                } else {
                    req.instances.join(",")
                },
                req.client.as_deref().unwrap_or("-"),
                req.last
            ),
            Self::Plan(req) => {
                let which = match (req.instance.as_str(), req.instances.as_slice()) {
                    ("", []) => "all instances".to_owned(),
                    ("", many) => format!("instances={}", many.join(",")),
                    (one, _) => format!("instance={one}"),
                };
                let desired = if req.desired.is_empty() {
                    String::new()
                } else {
                    let names: Vec<&str> = req.desired.iter().map(|f| f.name.as_str()).collect();
                    format!(" desired={}", names.join(","))
                };
                format!(
                    "plan {which} refresh_catalogue={}{desired}",
                    req.refresh_catalogue
                )
            }
            Self::Rotate(req) => format!(
                "rotate instance={} client={} confirmed={} recover={}{}",
                req.instance,
                req.client,
                req.confirmed,
                req.recover,
                if req.accept_out_of_band {
                    " accept_out_of_band=true"
                } else {
                    ""
                }
            ),
            Self::Adopt(req) => format!(
                "adopt instance={} client={} cutover={} switched={} confirmed={}",
                req.instance,
                req.client,
                req.cutover
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), ToString::to_string),
                req.switched,
                req.confirmed
            ),
            Self::Apply(req) => format!(
                "apply instance={} confirmed={}{}",
                req.instance,
                req.confirmed,
                if req.plan.is_some() {
                    " saved_plan"
                } else {
                    ""
                }
            ),
            Self::Bootstrap(req) => {
                format!("bootstrap instance={} force={}", req.instance, req.force)
            }
        }
    }
}

impl Message for Request {
    const KIND: &'static str = "request";
    const TYPES: &'static [&'static str] = &[
        "hello",
        "status",
        "instances",
        "reload",
        "log_tail",
        "log_verify",
        "secrets",
        "rotate",
        "drift",
        "plan",
        "import",
        "apply",
        "audit",
        "bootstrap",
        "adopt",
    ];

    fn type_name(&self) -> &'static str {
        match self {
            Self::Hello(_) => "hello",
            Self::Status => "status",
            Self::Instances => "instances",
            Self::Reload => "reload",
            Self::LogTail(_) => "log_tail",
            Self::LogVerify => "log_verify",
            Self::Secrets(_) => "secrets",
            Self::Rotate(_) => "rotate",
            Self::Drift(_) => "drift",
            Self::Plan(_) => "plan",
            Self::Import(_) => "import",
            Self::Apply(_) => "apply",
            Self::Audit(_) => "audit",
            Self::Bootstrap(_) => "bootstrap",
            Self::Adopt(_) => "adopt",
        }
    }
}

/// Payload of [`Request::Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloRequest {
    /// The protocol version the client speaks ([`PROTOCOL_VERSION`]).
    pub protocol_version: u32,
    /// Client name and version, for the daemon's log, e.g. `wardenctl/0.1.0`.
    pub client: String,
}

impl HelloRequest {
    /// A hello for this build's [`PROTOCOL_VERSION`].
    pub fn new(client: impl Into<String>) -> Self {
        Self {
            protocol_version: PROTOCOL_VERSION,
            client: client.into(),
        }
    }

    /// The daemon's answer: [`Response::Hello`] if the versions match, otherwise
    /// [`Response::Error`] with [`ErrorCode::VersionMismatch`] and a message saying what to do.
    pub fn answer(&self, daemon_version: &str) -> Response {
        if self.protocol_version == PROTOCOL_VERSION {
            return Response::Hello(HelloResponse {
                protocol_version: PROTOCOL_VERSION,
                daemon_version: daemon_version.to_owned(),
            });
        }
        Response::Error {
            code: ErrorCode::VersionMismatch,
            message: format!(
                "wardenctl speaks protocol {}, wardend {daemon_version} speaks protocol {PROTOCOL_VERSION}; use the wardenctl that ships with this wardend",
                self.protocol_version
            ),
        }
    }
}

/// Payload of [`Request::LogTail`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTailRequest {
    /// How many records, counted from the end.
    pub n: usize,
}

/// Payload of [`Request::Secrets`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecretsRequest {
    /// Only this instance; all instances if `None`.
    #[serde(default)]
    pub instance: Option<String>,
}

/// Payload of [`Request::Rotate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateRequest {
    /// Instance name from the configuration.
    pub instance: String,
    /// API client: display name or client id.
    pub client: String,
    /// The user confirmed (`--yes`). Without it the daemon answers
    /// [`ErrorCode::ConfirmationRequired`].
    #[serde(default)]
    pub confirmed: bool,
    /// Only finish an interrupted or unconfirmed rotation (`wardenctl rotate --recover`):
    /// verify a stored secret, or rotate again when a minted secret was lost; nothing when the
    /// last rotation finished. Answered by [`Response::Ok`](super::Response::Ok) saying what
    /// was done. Admins only, like every rotation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recover: bool,
    /// Skip the out-of-band check once (`--accept-out-of-band`): rotate although the secret in
    /// Vault no longer gets a token (changed outside Warden). Recorded in the change log.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accept_out_of_band: bool,
}

/// Payload of [`Request::Adopt`]: exactly one of `cutover` and `switched`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptRequest {
    /// Instance name from the configuration.
    pub instance: String,
    /// Declared client name.
    pub client: String,
    /// `--cutover now|at TIME`: from when the adopted client may be rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover: Option<Cutover>,
    /// `--switched`: the owner confirms that the consumers read Vault (alternating: releases
    /// the declared client's own rotation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub switched: bool,
    /// The user confirmed (`--yes`). Without it the daemon answers
    /// [`ErrorCode::ConfirmationRequired`].
    #[serde(default)]
    pub confirmed: bool,
}

/// When a cutover takes effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum Cutover {
    /// At once (the daemon's clock).
    Now,
    /// At a given time.
    At {
        /// The time (RFC 3339).
        at: chrono::DateTime<chrono::Utc>,
    },
}

impl fmt::Display for Cutover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cutover::Now => f.write_str("now"),
            Cutover::At { at } => write!(f, "{}", at.to_rfc3339()),
        }
    }
}

/// Payload of [`Request::Drift`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DriftRequest {
    /// Only these instances; all instances if empty.
    #[serde(default)]
    pub instances: Vec<String>,
    /// Check now against Jamf instead of answering with the last scheduled report.
    #[serde(default)]
    pub now: bool,
    /// With `now`: fetch each instance's privilege catalogue again instead of using the cached
    /// one.
    #[serde(default)]
    pub refresh_catalogue: bool,
}

/// Payload of [`Request::Plan`].
///
/// With `instance` set, the answer is a `warden.plan/1` document of that instance. With
/// `instance` empty, the answer is a `warden.plan-fleet/1` document of `instances` (every
/// instance when empty; with `desired`, every instance that lists one of the proposed files).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanRequest {
    /// Instance name from the configuration; empty for a fleet-wide plan.
    #[serde(default)]
    pub instance: String,
    /// Fetch the privilege catalogue again instead of using the cached one.
    #[serde(default)]
    pub refresh_catalogue: bool,
    /// With `instance` empty: only these instances (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<String>,
    /// Proposed desired-state files (`wardenctl plan --desired`), planned in place of the
    /// loaded files of the same name without loading them. `wardenctl` reads them (the daemon
    /// never opens paths an operator names) and sends at most [`MAX_PROPOSED_BYTES`] in all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub desired: Vec<ProposedFile>,
}

/// Most bytes of proposed desired-state text one [`PlanRequest`] carries (768 KiB: the request
/// frame is at most [`MAX_REQUEST_BYTES`](super::MAX_REQUEST_BYTES), and JSON escaping adds a
/// little).
pub const MAX_PROPOSED_BYTES: usize = 768 * 1024;

/// A proposed desired-state file in a [`PlanRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedFile {
    /// The file as the operator named it (`proposed/legacy.toml`): errors are reported at this
    /// name, and its last component (`legacy.toml`) picks the loaded file it stands in for.
    pub name: String,
    /// The file's text (desired-state files hold no secrets).
    pub text: String,
}

/// Payload of [`Request::Import`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequest {
    /// Instance name from the configuration.
    pub instance: String,
}

/// Payload of [`Request::Apply`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ApplyRequest {
    /// Instance name from the configuration.
    pub instance: String,
    /// The user confirmed (`--yes`). Without it the daemon answers
    /// [`ErrorCode::ConfirmationRequired`].
    #[serde(default)]
    pub confirmed: bool,
    /// Apply exactly the saved plan with these fingerprints (`wardenctl apply --plan FILE`):
    /// the daemon plans again and refuses with [`ErrorCode::Conflict`], changing nothing, when
    /// the live state, the desired state or the plan differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::drift::PlanFingerprints>,
}

/// Payload of [`Request::Audit`]. Answered with the report (`warden.audit/1`) as JSON;
/// `wardenctl` renders it in the format asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuditRequest {
    /// Only these instances; all instances if empty.
    #[serde(default)]
    pub instances: Vec<String>,
    /// Only this client of the (single) instance: its effective privileges and the findings
    /// that apply to it (`wardenctl audit client INSTANCE/CLIENT`).
    #[serde(default)]
    pub client: Option<String>,
    /// The reports kept by the scheduled audit instead of auditing now.
    #[serde(default)]
    pub last: bool,
    /// Answer in parts ([`super::stream`]: `report_start`, `report_part`..., `report_end`), so
    /// a fleet report of any size fits the frame cap. A daemon that predates parts ignores it
    /// and answers one `report`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
}

/// Payload of [`Request::Bootstrap`]: `wardenctl bootstrap INSTANCE`.
///
/// The password is a [`SecretString`] from the moment `wardenctl` reads it. `Debug` redacts it,
/// [`Request::log_safe`] leaves it (and the user name) out, and it is exposed only by
/// serialization, i.e. on the wire to the daemon. The daemon uses it for one Jamf Pro session,
/// invalidated at the end, and never stores or logs it.
#[derive(Clone, Serialize, Deserialize)]
pub struct BootstrapRequest {
    /// Instance name from the configuration.
    pub instance: String,
    /// The Jamf Pro user account that creates the management role and client.
    pub username: String,
    /// Its password.
    #[serde(serialize_with = "expose_on_the_wire")]
    pub password: SecretString,
    /// Replace management credentials that still work (`--force`). Without it the daemon
    /// refuses ([`ErrorCode::Conflict`]) when the instance's Vault path holds a working secret:
    /// bootstrap is a first-time set-up, later rotations are `wardenctl rotate`.
    #[serde(default)]
    pub force: bool,
}

impl fmt::Debug for BootstrapRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootstrapRequest")
            .field("instance", &self.instance)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("force", &self.force)
            .finish()
    }
}

/// Equal when every field is, the password included (for tests; not constant-time).
impl PartialEq for BootstrapRequest {
    fn eq(&self, other: &Self) -> bool {
        self.instance == other.instance
            && self.username == other.username
            && self.force == other.force
            && self.password.expose_secret() == other.password.expose_secret()
    }
}

impl Eq for BootstrapRequest {}

/// Serializes a secret as its plain string: used only for fields that must cross the socket.
fn expose_on_the_wire<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

macro_rules! impl_into_request {
    ($($payload:ident => $variant:ident),* $(,)?) => {
        $(
            impl From<$payload> for Request {
                fn from(payload: $payload) -> Self {
                    Self::$variant(payload)
                }
            }
        )*
    };
}

impl_into_request!(
    HelloRequest => Hello,
    LogTailRequest => LogTail,
    SecretsRequest => Secrets,
    RotateRequest => Rotate,
    DriftRequest => Drift,
    PlanRequest => Plan,
    ApplyRequest => Apply,
    ImportRequest => Import,
    AuditRequest => Audit,
    BootstrapRequest => Bootstrap,
    AdoptRequest => Adopt,
);
