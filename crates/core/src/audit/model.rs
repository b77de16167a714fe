//! The audit report: schema `warden.audit/1` (documented in `docs/schemas/`), the one structure
//! every format is rendered from.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::drift::CatalogueInfo;

/// A privilege name as the report holds it: shared, not copied, between the lists that name
/// it (the same few hundred names fill every client's effective privileges and many findings'
/// evidence over a fleet), one allocation per distinct name from the risk catalogue
/// ([`super::RiskCatalogue::name`]). Serialized as a plain string.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(std::sync::Arc<str>);

impl Name {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `self` and `other` are the same shared copy (not merely equal).
    pub fn shares_with(&self, other: &Name) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(s.into())
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(s.into())
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        **self == *other.0
    }
}

/// Schema id of [`AuditReport`]; bumped on incompatible changes.
pub const AUDIT_SCHEMA: &str = "warden.audit/1";

/// How bad a finding is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Hygiene worth fixing.
    #[default]
    Low,
    /// Weakens the estate.
    Medium,
    /// A client can do serious harm.
    High,
    /// A client is effectively an admin.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// `low`, `medium`, `high` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown severity {s:?}: use low, medium, high or critical"))
    }
}

/// A risk category of privileges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Makes a client effectively an admin (API roles and clients, accounts, SSO, LDAP...).
    PrivilegeEscalation,
    /// Runs code as root on managed devices (policies, scripts, packages, profiles...).
    CodeExecution,
    /// Discloses device secrets (FileVault keys, LAPS passwords, lock PINs, keystores...).
    SecretDisclosure,
    /// Wipes, locks or unmanages devices, or deletes their records.
    Destructive,
    /// Changes the server's trust and plumbing (push certificates, PKI, webhooks...).
    Infrastructure,
}

impl Category {
    /// Every category, most severe first.
    pub const ALL: [Category; 5] = [
        Category::PrivilegeEscalation,
        Category::CodeExecution,
        Category::SecretDisclosure,
        Category::Destructive,
        Category::Infrastructure,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::PrivilegeEscalation => "privilege_escalation",
            Category::CodeExecution => "code_execution",
            Category::SecretDisclosure => "secret_disclosure",
            Category::Destructive => "destructive",
            Category::Infrastructure => "infrastructure",
        }
    }

    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            Category::PrivilegeEscalation => "privilege escalation",
            Category::CodeExecution => "code execution on devices",
            Category::SecretDisclosure => "secret disclosure",
            Category::Destructive => "destructive device actions",
            Category::Infrastructure => "server infrastructure",
        }
    }
}

impl std::str::FromStr for Category {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
                format!("unknown category {s:?}: use one of {}", names.join(", "))
            })
    }
}

/// What a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Subject {
    /// `role`, `client`, `instance` or `suppression`.
    pub kind: SubjectKind,
    /// The display name (for a suppression: its rule and object).
    pub name: String,
}

/// The kind of a [`Subject`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// An API role.
    Role,
    /// An API client.
    Client,
    /// The instance as a whole.
    Instance,
    /// A suppression in the configuration.
    Suppression,
}

impl SubjectKind {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Role => "role",
            SubjectKind::Client => "client",
            SubjectKind::Instance => "instance",
            SubjectKind::Suppression => "suppression",
        }
    }
}

impl Subject {
    /// A role.
    pub fn role(name: &str) -> Subject {
        Subject {
            kind: SubjectKind::Role,
            name: name.to_owned(),
        }
    }

    /// A client.
    pub fn client(name: &str) -> Subject {
        Subject {
            kind: SubjectKind::Client,
            name: name.to_owned(),
        }
    }

    /// `role:NAME`, the form suppressions use.
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.name)
    }
}

/// Why a finding applies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The exact privileges behind the finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub privileges: Vec<Name>,
    /// Roles involved (a client's roles, or the role a client finding comes from).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Clients that hold the role (enabled or not), so the reader sees who can use it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<String>,
    /// Measured values, e.g. `{"share": 0.62, "held": 324, "catalogue": 522}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, serde_json::Value>,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `JW-ESC-001`.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// The rule's title.
    pub title: String,
    /// The instance.
    pub instance: String,
    /// What it is about.
    pub subject: Subject,
    /// Why it matters (the rule's rationale, made specific).
    pub rationale: String,
    /// The facts behind it.
    pub evidence: Evidence,
    /// What to do.
    pub fix: String,
    /// Set when an active suppression covers the finding: its index in
    /// [`AuditReport::suppressions`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<usize>,
}

impl Finding {
    /// `RULE/instance/kind:name`: identifies a finding across runs (new and resolved findings).
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.rule, self.instance, self.subject.key())
    }
}

/// One client's effective privileges: the union over its roles, grouped by risk category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPrivileges {
    /// The client's display name.
    pub name: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// `appType`: `CLIENT_CREDENTIALS`, `NATIVE_APP_OAUTH` or `NONE`.
    pub app_type: String,
    /// Whether the desired state declares it.
    pub declared: bool,
    /// Who is responsible for it (the desired state's `owner`); `None`: undeclared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What it is for (the desired state's `purpose`); `None`: undeclared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Its secret as Warden manages it (declared clients only; `None`: not managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretView>,
    /// Its roles.
    pub roles: Vec<String>,
    /// Token lifetime in seconds.
    pub token_lifetime: i64,
    /// Every privilege it holds, sorted.
    pub privileges: Vec<Name>,
    /// The risky ones, by category.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_category: BTreeMap<Category, Vec<Name>>,
    /// Privileges the risk catalogue does not know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unclassified: Vec<String>,
}

impl ClientPrivileges {
    /// When Warden last rotated its secret (`None`: never, or not managed by Warden).
    pub fn secret_rotated_at(&self) -> Option<DateTime<Utc>> {
        self.secret.as_ref().and_then(|s| s.rotated_at)
    }
}

/// A managed client's secret as the rotation service's status shows it (Vault's rotation
/// marker) when the audit ran. Holds no secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretView {
    /// `single` or `alternating`.
    pub strategy: String,
    /// When Warden last rotated it (`None`: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<DateTime<Utc>>,
    /// Whole days since `rotated_at` when the audit ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    /// When its policy makes it due next (`None`: never by policy, or held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<DateTime<Utc>>,
    /// Its policy's maximum age in whole days (`None`: no maximum age).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<i64>,
    /// Adopted and held until a cutover: why (`None`: rotates normally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// Its tokens carry the scope of roles it no longer holds exactly (minted before its roles
    /// changed): rotate it.
    #[serde(default)]
    pub stale_scope: bool,
    /// Whether the last rotation finished verified (Vault marker `ok`); `false` while a
    /// rotation is stored but unverified or pending; `None`: never rotated by Warden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Its status could not be read from Vault: why (the other fields are then unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SecretView {
    /// `adopted, held` or `managed`.
    pub fn state_label(&self) -> &'static str {
        if self.held.is_some() {
            "adopted, held"
        } else {
            "managed"
        }
    }

    /// One line for the human formats, e.g. `single; rotated 2026-11-10 (10 days,
    /// verified); due 2027-02-08; managed`.
    pub fn summary(&self) -> String {
        if let Some(e) = &self.error {
            return format!("status unreadable: {e}");
        }
        let mut parts = vec![self.strategy.clone()];
        parts.push(match (&self.rotated_at, self.age_days) {
            (Some(at), age) => {
                let verified = match self.verified {
                    Some(true) => "verified",
                    Some(false) => "not verified",
                    None => "verification unknown",
                };
                format!(
                    "rotated {} ({} days, {verified})",
                    at.date_naive(),
                    age.unwrap_or_default()
                )
            }
            (None, _) => "never rotated by Warden (age unknown)".to_owned(),
        });
        parts.push(match &self.next_due {
            Some(at) => format!("due {}", at.date_naive()),
            None => "due never".to_owned(),
        });
        parts.push(match &self.held {
            Some(why) => format!("adopted, held ({why})"),
            None => "managed".to_owned(),
        });
        if self.stale_scope {
            parts.push("scope stale (rotate)".to_owned());
        }
        parts.join("; ")
    }
}

/// Shown for the owner or purpose of a client the desired state does not declare.
pub const UNDECLARED_LABEL: &str = "undeclared";

impl ClientPrivileges {
    /// Its owner, or [`UNDECLARED_LABEL`].
    pub fn owner_label(&self) -> &str {
        self.owner.as_deref().unwrap_or(UNDECLARED_LABEL)
    }

    /// Its purpose, or [`UNDECLARED_LABEL`].
    pub fn purpose_label(&self) -> &str {
        self.purpose.as_deref().unwrap_or(UNDECLARED_LABEL)
    }
}

/// The audit of one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceAudit {
    /// The instance's name.
    pub instance: String,
    /// Its Jamf Pro URL.
    pub url: String,
    /// When its live state was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<DateTime<Utc>>,
    /// Why it could not be audited; nothing else is then filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The privilege catalogue the audit used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue: Option<CatalogueInfo>,
    /// Live roles and clients counted.
    pub roles: usize,
    /// Live clients counted.
    pub clients: usize,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Every client's effective privileges.
    pub client_privileges: Vec<ClientPrivileges>,
    /// What changed since the audit before, as the daemon kept it (`None`: nothing to compare
    /// with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_last: Option<SinceLast>,
    /// Findings by severity per scheduled audit over the kept history, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trend: Vec<TrendPoint>,
}

/// Unsuppressed findings new and resolved since an earlier audit of the instance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinceLast {
    /// When the earlier audit's live state was read.
    pub since: DateTime<Utc>,
    /// Keys ([`Finding::key`]) of findings not in the earlier audit.
    #[serde(default)]
    pub new: Vec<String>,
    /// Keys of the earlier audit's findings no longer found.
    #[serde(default)]
    pub resolved: Vec<String>,
}

/// One scheduled audit's findings by severity (unsuppressed, as suppressed then).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// When the audit read the live state.
    pub at: DateTime<Utc>,
    /// Critical findings.
    pub critical: usize,
    /// High findings.
    pub high: usize,
    /// Medium findings.
    pub medium: usize,
    /// Low findings.
    pub low: usize,
    /// Suppressed findings.
    pub suppressed: usize,
}

impl TrendPoint {
    /// The point of a report's `summary` at `at`.
    pub fn of(at: DateTime<Utc>, s: &Summary) -> TrendPoint {
        TrendPoint {
            at,
            critical: s.critical,
            high: s.high,
            medium: s.medium,
            low: s.low,
            suppressed: s.suppressed,
        }
    }
}

/// Whether a suppression applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionState {
    /// In force.
    Active,
    /// Past its expiry date: no longer suppresses, and reported (`JW-SUP-001`).
    Expired,
}

/// A suppression (from the configuration, or built into Warden) and whether it applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionStatus {
    /// The rule it suppresses.
    pub rule: String,
    /// The instance (`*`: every instance).
    pub instance: String,
    /// `role:NAME`, `client:NAME` or `*`.
    pub object: String,
    /// Why the finding is accepted.
    pub reason: String,
    /// Who accepted it.
    pub owner: String,
    /// Last day it applies (UTC); `None`: no expiry (built-in suppressions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    /// Built into Warden (not from the configuration).
    #[serde(default)]
    pub builtin: bool,
    /// In force or expired.
    pub state: SuppressionState,
    /// Findings it suppressed in this report.
    pub matched: usize,
}

/// Findings counted by severity (suppressed findings are not counted).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Critical findings.
    pub critical: usize,
    /// High findings.
    pub high: usize,
    /// Medium findings.
    pub medium: usize,
    /// Low findings.
    pub low: usize,
    /// Findings an active suppression covers.
    pub suppressed: usize,
    /// Instances that could not be audited.
    pub errors: usize,
}

impl Summary {
    /// Unsuppressed findings in total.
    pub fn total(&self) -> usize {
        self.critical + self.high + self.medium + self.low
    }

    /// Unsuppressed findings at or above `severity`.
    pub fn at_or_above(&self, severity: Severity) -> usize {
        Severity::ALL
            .into_iter()
            .filter(|s| *s >= severity)
            .map(|s| match s {
                Severity::Critical => self.critical,
                Severity::High => self.high,
                Severity::Medium => self.medium,
                Severity::Low => self.low,
            })
            .sum()
    }
}

/// A rule's description, as listed in the report (SARIF needs them too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// Stable id.
    pub id: String,
    /// Default severity.
    pub severity: Severity,
    /// Title.
    pub title: String,
    /// Why it matters.
    pub rationale: String,
    /// What to do.
    pub fix: String,
    /// The compliance controls its findings evidence (`crates/core/data/control-mapping.toml`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<super::controls::ControlRef>,
}

/// The whole report: schema `warden.audit/1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// [`AUDIT_SCHEMA`].
    pub schema: String,
    /// When it was generated.
    pub generated_at: DateTime<Utc>,
    /// Warden's version.
    pub warden_version: String,
    /// Version of the rule pack.
    pub rule_pack: String,
    /// Version of the risk catalogue (built-in, plus `[[audit.classify]]` entries counted).
    pub risk_catalogue: String,
    /// Settings the rules used (thresholds).
    pub settings: serde_json::Value,
    /// Set when the report shows kept audits (`wardenctl audit --last`): when the oldest of
    /// them read its live state; the report is as of then, not `generated_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gathered_at: Option<DateTime<Utc>>,
    /// Counts.
    pub summary: Summary,
    /// The instances, in configuration order.
    pub instances: Vec<InstanceAudit>,
    /// Every suppression and whether it applied.
    pub suppressions: Vec<SuppressionStatus>,
    /// The rules of the pack.
    pub rules: Vec<RuleInfo>,
    /// Version of the control mapping the rules' `controls` come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_mapping: Option<String>,
}

impl InstanceAudit {
    /// The client `name`'s view, if it is live.
    pub fn client(&self, name: &str) -> Option<&ClientPrivileges> {
        self.client_privileges.iter().find(|c| c.name == name)
    }
}

impl AuditReport {
    /// The audit of `instance`.
    pub fn instance(&self, instance: &str) -> Option<&InstanceAudit> {
        self.instances.iter().find(|i| i.instance == instance)
    }

    /// The client a finding is about (a client finding's subject), if it is live.
    pub fn client_of(&self, f: &Finding) -> Option<&ClientPrivileges> {
        if f.subject.kind != SubjectKind::Client {
            return None;
        }
        self.instances
            .iter()
            .find(|i| i.instance == f.instance)
            .and_then(|i| i.client(&f.subject.name))
    }

    /// Every finding over all instances.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.instances.iter().flat_map(|i| i.findings.iter())
    }

    /// The control references of rule `id` (as listed in [`AuditReport::rules`]).
    pub fn controls_of(&self, id: &str) -> &[super::controls::ControlRef] {
        self.rules
            .iter()
            .find(|r| r.id == id)
            .map_or(&[], |r| r.controls.as_slice())
    }

    /// Recomputes [`AuditReport::summary`] from the findings.
    pub fn recount(&mut self) {
        let mut s = Summary {
            errors: self.instances.iter().filter(|i| i.error.is_some()).count(),
            ..Summary::default()
        };
        for f in self.instances.iter().flat_map(|i| i.findings.iter()) {
            if f.suppressed_by.is_some() {
                s.suppressed += 1;
                continue;
            }
            match f.severity {
                Severity::Critical => s.critical += 1,
                Severity::High => s.high += 1,
                Severity::Medium => s.medium += 1,
                Severity::Low => s.low += 1,
            }
        }
        self.summary = s;
    }
}
