//! The rule pack: each rule's id, severity, title, rationale and fix, and the evaluation of an
//! instance's live state against them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::catalogue::RiskCatalogue;
pub use super::effective::effective_privileges;
use super::effective::{by_category, privileges_of, role_holders, role_index, unclassified};
use super::model::{
    Category, ClientPrivileges, Evidence, Finding, Name, RuleInfo, SecretView, Severity, Subject,
    SubjectKind,
};
use super::settings::AuditSettings;
use crate::config::DesiredState;
use crate::drift::{CatalogueChange, DriftKind, DriftReport, Live, ObjectKind, Renames, lifetime};
use crate::jamf::AppType;

/// Version of the rule pack; bumped when a rule is added, removed or changes meaning.
pub const RULE_PACK_VERSION: &str = "2026.12.1";

/// A rule of the pack.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Stable id.
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// Title.
    pub title: &'static str,
    /// Why it matters.
    pub rationale: &'static str,
    /// What to do.
    pub fix: &'static str,
}

impl Rule {
    /// As listed in reports.
    pub fn info(&self) -> RuleInfo {
        RuleInfo {
            id: self.id.to_owned(),
            severity: self.severity,
            title: self.title.to_owned(),
            rationale: self.rationale.to_owned(),
            fix: self.fix.to_owned(),
            controls: super::controls::ControlMapping::builtin().refs(self.id),
        }
    }
}

macro_rules! rules {
    ($($name:ident = $id:literal, $sev:ident, $title:literal, $why:literal, $fix:literal;)*) => {
        $(
            #[doc = $title]
            pub const $name: Rule = Rule {
                id: $id,
                severity: Severity::$sev,
                title: $title,
                rationale: $why,
                fix: $fix,
            };
        )*
        /// Every rule, in report order.
        pub const RULES: &[Rule] = &[$($name),*];
    };
}

rules! {
    ESCALATION = "JW-ESC-001", Critical, "Role can escalate privileges",
        "Create/Update API Roles or API Integrations, account, SSO, LDAP, password-policy or access-management updates make any client holding the role effectively an admin: with Update API Integrations plus any role a client can give itself that role, and Jamf Pro does not check that a creator holds what it grants.",
        "Remove these privileges from the role; only Warden's own management client should manage API roles and clients, and accounts and SSO belong to people with MFA.";
    CODE_EXECUTION = "JW-EXE-001", High, "Role can run code on managed devices",
        "Creating or updating policies, scripts, extension attributes, packages, configuration profiles, PreStage enrollments or patch policies runs code as root on every device in scope.",
        "Split deployment rights into a dedicated role for a reviewed pipeline; keep integrations that only read inventory read-only.";
    SECRET_DISCLOSURE = "JW-SEC-001", High, "Role can read device secrets",
        "FileVault recovery keys, LAPS passwords, Recovery Lock and device lock PINs, Activation Lock bypass codes, keystores and PKI material unlock devices or impersonate the server.",
        "Grant these privileges only to the one client whose purpose is escrow or recovery, with a short token lifetime and a strict rotation policy.";
    DESTRUCTIVE = "JW-DST-001", High, "Role can wipe, lock or unmanage devices",
        "Remote wipe, lock, unmanage, Activation Lock, passcode removal, deleting device records and flushing MDM commands can take a fleet out of service in one call.",
        "Remove these privileges unless the client's purpose is exactly that action; prefer a person with MFA for destructive actions.";
    INFRASTRUCTURE = "JW-INF-001", Medium, "Role can change server trust or plumbing",
        "Push certificates, the built-in CA, PKI, the server URL, webhooks, SMTP and cloud services settings redirect device trust or data.",
        "Keep server configuration with administrators; remove these privileges from API roles.";
    BREADTH = "JW-BRD-001", High, "Broad role or client",
        "A role or client that holds a large share of the instance's privilege catalogue does far more than one integration needs; a leaked secret exposes all of it.",
        "Cut the role down to the privileges the integration's purpose needs (least privilege).";
    CRUD = "JW-BRD-002", Medium, "Full create/read/update/delete over many object types",
        "Full CRUD over many object types is an administrator's reach, rarely what an integration needs.",
        "Grant write privileges per object type the integration actually changes.";
    NEAR_ADMIN = "JW-BRD-003", Critical, "Near-full admin role or client",
        "Holding nearly the whole privilege catalogue makes the client a full administrator of the instance.",
        "Replace it with roles scoped to the integration's purpose; never use an all-privileges role for an API client.";
    UNCLASSIFIED = "JW-CAT-001", Low, "Privileges the risk catalogue does not classify",
        "A privilege unknown to Warden's risk catalogue (new in this Jamf version, or renamed) cannot be judged; it is reported rather than ignored.",
        "Review the privileges and classify them with [[audit.classify]] in wardend.toml, or update Warden.";
    CATALOGUE_REMOVED = "JW-CAT-002", Medium, "Declared privilege removed by a Jamf upgrade",
        "The instance's privilege catalogue changed and no longer offers a privilege a declared role names (renamed or dropped by Jamf): drift, plan and apply stop on that role until the desired state is fixed.",
        "Replace the name with the new one (the finding lists look-alikes among the added names) or remove it, then plan.";
    CATALOGUE_HINT = "JW-CAT-003", Low, "New privileges in families a role holds (Jamf upgrade)",
        "A Jamf upgrade added privileges of a family (first word, e.g. `Read`) a declared role already holds; an integration may need one of them to keep doing its job in the new version. Never applied by Warden.",
        "Review the new names against the client's purpose; add one to the desired state only if it is needed.";
    SHARED_ROLE = "JW-HYG-001", Low, "Role shared by several clients",
        "A role edit reaches every client holding it at once (Jamf applies role privilege changes immediately); one role per client is the recommended practice.",
        "Give each client its own role.";
    MULTI_ROLE = "JW-HYG-002", Low, "Client holds several roles",
        "A client's effective privileges are the union of its roles, which hides its real reach from whoever reviews one role.",
        "Give the client one role that holds exactly what it needs.";
    LONG_TOKEN = "JW-HYG-003", Medium, "Long access-token lifetime",
        "Issued tokens live until they expire, even after the secret is rotated or the client disabled; a long lifetime widens the window of a stolen token.",
        "Lower the client's access-token lifetime (Jamf's default is 300 seconds).";
    NO_SECRET = "JW-HYG-004", Low, "Enabled client without a secret",
        "An enabled client whose appType is NONE has no secret: it is unused or broken, and a secret can be minted for it at any time.",
        "Disable or delete it, or let Warden mint and store its secret (declare it and apply).";
    DISABLED_WITH_ROLES = "JW-HYG-005", Low, "Disabled client still holds roles",
        "Enabling it again restores its privileges at once; unused clients with roles are forgotten privileges.",
        "Remove its roles or delete the client.";
    UNUSED_ROLE = "JW-HYG-006", Low, "Role used by no client",
        "Unused roles accumulate privileges nobody reviews and are easy to attach to a client later.",
        "Delete the role, or declare it if it is kept on purpose.";
    UNDECLARED = "JW-HYG-007", Medium, "Client not declared in the desired state",
        "Nobody owns it in the desired state: no owner, no purpose, no rotation by Warden.",
        "Declare it (wardenctl import helps) with an owner and purpose, or delete it (prune).";
    STALE_SECRET = "JW-HYG-008", Medium, "Secret older than its policy, or never rotated by Warden",
        "A secret that is never rotated lives forever in scripts, logs and laptops.",
        "Let Warden rotate it (a rotation schedule or max_age in the desired state); rotate now with wardenctl rotate.";
    WIDENING_DRIFT = "JW-HYG-009", High, "Drift widens privileges",
        "The live role or client holds more than the desired state declares: someone widened it outside the reviewed change process.",
        "Find out who changed it (Jamf's audit log), then apply the desired state (wardenctl apply) or declare the change.";
    STALE_SCOPE = "JW-HYG-010", Medium, "Client secret minted before its roles changed",
        "Jamf gives a client's tokens the scope of the roles it had when its secret was minted: since its roles changed, the client's tokens still carry the old scope (a removed role keeps working, an added one does not) until a new secret is minted.",
        "Rotate the client's secret (wardenctl apply plans it; or wardenctl rotate).";
    EXPIRED_SUPPRESSION = "JW-SUP-001", Medium, "Expired suppression",
        "A suppression past its expiry date no longer hides its finding; the acceptance must be reviewed again.",
        "Renew it with a new expiry date and reason, or fix the finding and remove the suppression.";
}

/// The rule with id `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The rule of findings in `category`.
pub fn category_rule(category: Category) -> &'static Rule {
    match category {
        Category::PrivilegeEscalation => &ESCALATION,
        Category::CodeExecution => &CODE_EXECUTION,
        Category::SecretDisclosure => &SECRET_DISCLOSURE,
        Category::Destructive => &DESTRUCTIVE,
        Category::Infrastructure => &INFRASTRUCTURE,
    }
}

/// Rotation facts of a declared client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretFacts {
    /// When Warden last rotated it (`None`: never).
    pub rotated_at: Option<DateTime<Utc>>,
    /// Its policy's maximum age.
    pub max_age: Option<Duration>,
    /// Adopted and held until a cutover: why (`None`: not adopted).
    pub adopted: Option<String>,
    /// `single` or `alternating` (empty: unknown).
    pub strategy: String,
    /// When its policy makes it due next.
    pub next_due: Option<DateTime<Utc>>,
    /// Whether the last rotation finished verified (`None`: never rotated).
    pub verified: Option<bool>,
    /// Its status could not be read: why.
    pub error: Option<String>,
}

impl SecretFacts {
    /// The client view's secret at `now`, with `stale_scope` from the drift.
    fn view(&self, now: DateTime<Utc>, stale_scope: bool) -> SecretView {
        SecretView {
            strategy: self.strategy.clone(),
            rotated_at: self.rotated_at,
            age_days: self.rotated_at.map(|at| (now - at).num_days()),
            next_due: self.next_due,
            max_age_days: self.max_age.map(|d| d.num_days()),
            held: self.adopted.clone(),
            stale_scope,
            verified: self.verified,
            error: self.error.clone(),
        }
    }
}

/// What the rules look at for one instance.
pub struct InstanceInput<'a> {
    /// The instance's name.
    pub instance: &'a str,
    /// The live state, Warden's own objects included.
    pub live: &'a Live,
    /// The desired state.
    pub desired: &'a DesiredState,
    /// Rotation facts per declared client name.
    pub secrets: &'a BTreeMap<String, SecretFacts>,
    /// The instance's drift (for widening drift).
    pub drift: &'a DriftReport,
    /// Names Warden keeps itself (its management client and role, the `(alternate)` twins):
    /// never "undeclared".
    pub warden_owned: &'a BTreeSet<String>,
    /// "Now", for secret ages.
    pub now: DateTime<Utc>,
    /// The instance's last privilege-catalogue change, if it is still shown.
    pub catalogue_change: Option<&'a CatalogueChange>,
}

/// Evaluates every rule against one instance: the findings (unsuppressed, most severe first)
/// and each client's effective privileges.
pub fn evaluate(
    input: &InstanceInput<'_>,
    catalogue: &RiskCatalogue,
    settings: &AuditSettings,
) -> (Vec<Finding>, Vec<ClientPrivileges>) {
    let mut out = Findings {
        instance: input.instance,
        list: Vec::new(),
    };
    let live = input.live;
    let catalogue_size = live.privileges.len().max(1);
    let holders = role_holders(live);

    for role in &live.roles {
        let name = role.display_name.as_str();
        let privileges: BTreeSet<&str> = role.privileges.iter().map(String::as_str).collect();
        let clients = holders.get(name).cloned().unwrap_or_default();
        let base = Evidence {
            clients: clients.clone(),
            ..Evidence::default()
        };
        for (category, held) in by_category(&privileges, catalogue) {
            let evidence = Evidence {
                privileges: held,
                ..base.clone()
            };
            out.push(category_rule(category), Subject::role(name), evidence, None);
        }
        breadth(
            &mut out,
            Subject::role(name),
            &privileges,
            catalogue_size,
            settings,
            &base,
        );
        let unclassified = unclassified(&privileges, catalogue);
        if !unclassified.is_empty() {
            let evidence = Evidence {
                privileges: unclassified.into_iter().map(Name::from).collect(),
                ..base.clone()
            };
            out.push(&UNCLASSIFIED, Subject::role(name), evidence, None);
        }
        // an alternating client and its `(alternate)` twin share a role by design: one client
        let sharing = clients
            .iter()
            .filter(|c| !input.warden_owned.contains(*c))
            .count();
        if sharing > 1 {
            out.push(&SHARED_ROLE, Subject::role(name), base.clone(), None);
        } else if clients.is_empty() {
            out.push(&UNUSED_ROLE, Subject::role(name), base.clone(), None);
        }
    }

    let mut client_privileges = Vec::new();
    // a client whose name differs from a declared one in case alone is that client (drift
    // renames it)
    let renames = Renames::find(input.desired, live);
    let roles_by_name = role_index(live);
    for client in &live.clients {
        let name = client.display_name.as_str();
        let effective = privileges_of(&roles_by_name, &client.authorization_scopes);
        let evidence = Evidence {
            roles: client.authorization_scopes.clone(),
            ..Evidence::default()
        };
        breadth(
            &mut out,
            Subject::client(name),
            &effective,
            catalogue_size,
            settings,
            &evidence,
        );
        if client.authorization_scopes.len() > 1 {
            out.push(&MULTI_ROLE, Subject::client(name), evidence.clone(), None);
        }
        let lifetime = lifetime(client);
        if lifetime > i64::from(settings.max_token_lifetime) {
            let mut e = evidence.clone();
            e.facts
                .insert("token_lifetime_seconds".into(), json!(lifetime));
            e.facts.insert(
                "threshold_seconds".into(),
                json!(settings.max_token_lifetime),
            );
            out.push(&LONG_TOKEN, Subject::client(name), e, None);
        }
        // Warden's own twins get their secret at their first alternating rotation
        if client.enabled && client.app_type == AppType::None && !input.warden_owned.contains(name)
        {
            out.push(&NO_SECRET, Subject::client(name), evidence.clone(), None);
        }
        if !client.enabled && !client.authorization_scopes.is_empty() {
            out.push(
                &DISABLED_WITH_ROLES,
                Subject::client(name),
                evidence.clone(),
                None,
            );
        }
        let foreign = client.app_type == AppType::NativeAppOauth;
        let declared_name = renames.client_renamed_from(name).unwrap_or(name);
        let desired = input.desired.client(declared_name);
        let declared = desired.is_some();
        if !declared && !foreign && !input.warden_owned.contains(name) {
            out.push(&UNDECLARED, Subject::client(name), evidence.clone(), None);
        }
        if declared && client.enabled && client.app_type == AppType::ClientCredentials {
            stale_secret(&mut out, declared_name, input, &evidence);
        }
        let by_cat: BTreeMap<Category, Vec<Name>> =
            by_category(&effective, catalogue).into_iter().collect();
        client_privileges.push(ClientPrivileges {
            name: name.to_owned(),
            enabled: client.enabled,
            app_type: client.app_type.as_str().to_owned(),
            declared,
            owner: desired.map(|d| d.owner.clone()),
            secret: desired
                .and_then(|_| input.secrets.get(declared_name))
                .map(|f| {
                    let stale = input.drift.items.iter().any(|i| {
                        i.kind == DriftKind::ScopeStale
                            && (i.name == name || i.name == declared_name)
                    });
                    f.view(input.now, stale)
                }),
            purpose: desired.map(|d| d.purpose.clone()),
            roles: client.authorization_scopes.clone(),
            token_lifetime: lifetime,
            privileges: effective.iter().map(|p| catalogue.name(p)).collect(),
            by_category: by_cat,
            unclassified: unclassified(&effective, catalogue),
        });
    }

    if let Some(change) = input.catalogue_change {
        catalogue_change(&mut out, change);
    }
    for item in &input.drift.items {
        if item.kind == DriftKind::ScopeStale {
            let mut evidence = Evidence {
                roles: serde_json::from_value(item.after.clone().unwrap_or_default())
                    .unwrap_or_default(),
                ..Evidence::default()
            };
            evidence.facts.insert(
                "secret_covers".into(),
                item.before.clone().unwrap_or_default(),
            );
            if let Some(source) = &item.evidence {
                evidence
                    .facts
                    .insert("scope_evidence".into(), serde_json::json!(source));
            }
            out.push(&STALE_SCOPE, Subject::client(&item.name), evidence, None);
            continue;
        }
        let (subject, what) = match (item.kind, item.object) {
            (DriftKind::PrivilegesRemoved, ObjectKind::Role) => {
                (Subject::role(&item.name), "privileges")
            }
            (DriftKind::RolesRemoved, ObjectKind::Client) => (Subject::client(&item.name), "roles"),
            _ => continue,
        };
        let extra: Vec<String> = item
            .before
            .as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let mut evidence = Evidence::default();
        if what == "privileges" {
            evidence.privileges = extra.into_iter().map(Name::from).collect();
        } else {
            evidence.privileges = privileges_of(&roles_by_name, &extra)
                .into_iter()
                .map(Name::from)
                .collect();
            evidence.roles = extra;
        }
        out.push(&WIDENING_DRIFT, subject, evidence, None);
    }

    let mut list = out.list;
    app_role_fixes(&mut list, live);
    list.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    (list, client_privileges)
}

/// Names of Jamf's built-in app roles (created by Jamf for its own apps).
pub const JAMF_APP_ROLES: [&str; 4] = ["Jamf Reset", "Jamf Setup", "Jamf Parent", "Jamf Teacher"];

/// The fix of a finding about a Jamf app role: Jamf advises not editing these roles.
pub const APP_ROLE_FIX: &str = "This is a Jamf built-in app role (Jamf Reset, Setup, Parent or \
     Teacher): Jamf manages its privileges and advises not to edit or delete it. Restrict which \
     API clients hold it instead: only the Jamf app's own client should (the finding lists who \
     holds it; remove the role from any other client), and suppress the finding with the \
     app's owner and a review date once that is so.";

/// Jamf's app roles on `live`: those named as Jamf names them, and any role a Jamf app's own
/// client (`NATIVE_APP_OAUTH`) holds.
pub fn app_roles(live: &Live) -> BTreeSet<&str> {
    let held = live
        .clients
        .iter()
        .filter(|c| c.app_type == AppType::NativeAppOauth)
        .flat_map(|c| c.authorization_scopes.iter().map(String::as_str));
    let named = live
        .roles
        .iter()
        .map(|r| r.display_name.as_str())
        .filter(|n| JAMF_APP_ROLES.contains(n));
    held.chain(named).collect()
}

/// Gives the findings about Jamf's app roles a fix an admin can act on (restrict who holds
/// the role) instead of "remove these privileges"; catalogue and drift findings keep theirs.
fn app_role_fixes(list: &mut [Finding], live: &Live) {
    let apps = app_roles(live);
    for f in list.iter_mut().filter(|f| {
        f.subject.kind == SubjectKind::Role
            && apps.contains(f.subject.name.as_str())
            && !f.rule.starts_with("JW-CAT-")
            && f.rule != WIDENING_DRIFT.id
    }) {
        f.fix = APP_ROLE_FIX.to_owned();
        f.evidence.facts.insert("jamf_app_role".into(), json!(true));
    }
}

/// Findings of a catalogue change: a declared role naming a removed privilege, and new
/// privileges of a family a role holds.
fn catalogue_change(out: &mut Findings<'_>, change: &CatalogueChange) {
    for role in &change.affected {
        let mut facts = BTreeMap::new();
        facts.insert("catalogue_from".to_owned(), json!(change.from_sha256));
        facts.insert("catalogue_to".to_owned(), json!(change.to_sha256));
        facts.insert("seen_at".to_owned(), json!(change.seen_at));
        if !role.removed.is_empty() {
            let mut e = Evidence {
                privileges: role
                    .removed
                    .iter()
                    .map(|r| Name::from(r.privilege.as_str()))
                    .collect(),
                facts: facts.clone(),
                ..Evidence::default()
            };
            let suggestions: BTreeMap<&str, &[String]> = role
                .removed
                .iter()
                .map(|r| (r.privilege.as_str(), r.suggestions.as_slice()))
                .collect();
            e.facts.insert("did_you_mean".into(), json!(suggestions));
            out.push(&CATALOGUE_REMOVED, Subject::role(&role.role), e, None);
        }
        if !role.hints.is_empty() {
            let e = Evidence {
                privileges: role.hints.iter().map(|h| Name::from(h.as_str())).collect(),
                facts,
                ..Evidence::default()
            };
            out.push(&CATALOGUE_HINT, Subject::role(&role.role), e, None);
        }
    }
}

struct Findings<'a> {
    instance: &'a str,
    list: Vec<Finding>,
}

impl Findings<'_> {
    fn push(
        &mut self,
        rule: &Rule,
        subject: Subject,
        evidence: Evidence,
        rationale: Option<String>,
    ) {
        self.list.push(Finding {
            rule: rule.id.to_owned(),
            severity: rule.severity,
            title: rule.title.to_owned(),
            instance: self.instance.to_owned(),
            subject,
            rationale: rationale.unwrap_or_else(|| rule.rationale.to_owned()),
            evidence,
            fix: rule.fix.to_owned(),
            suppressed_by: None,
        });
    }
}

/// `JW-BRD-001/002/003` for a role's or client's privileges.
fn breadth(
    out: &mut Findings<'_>,
    subject: Subject,
    privileges: &BTreeSet<&str>,
    catalogue_size: usize,
    settings: &AuditSettings,
    base: &Evidence,
) {
    let held = privileges.len();
    if held == 0 {
        return;
    }
    #[allow(clippy::cast_precision_loss)]
    let share = held as f64 / catalogue_size as f64;
    let mut facts = BTreeMap::new();
    facts.insert("held".to_owned(), json!(held));
    facts.insert("catalogue".to_owned(), json!(catalogue_size));
    facts.insert("share".to_owned(), json!((share * 1000.0).round() / 1000.0));
    let over_count = settings.breadth_count.is_some_and(|n| held > n as usize);
    if share >= settings.near_admin_share {
        let mut e = base.clone();
        e.facts = facts.clone();
        e.facts
            .insert("threshold_share".into(), json!(settings.near_admin_share));
        out.push(&NEAR_ADMIN, subject.clone(), e, None);
    } else if share > settings.breadth_share || over_count {
        let mut e = base.clone();
        e.facts = facts.clone();
        e.facts
            .insert("threshold_share".into(), json!(settings.breadth_share));
        if let Some(n) = settings.breadth_count {
            e.facts.insert("threshold_count".into(), json!(n));
        }
        out.push(&BREADTH, subject.clone(), e, None);
    }
    let crud = full_crud_types(privileges);
    if crud.len() >= settings.crud_object_types as usize {
        let mut e = base.clone();
        e.facts.insert("object_types".into(), json!(crud.len()));
        e.facts
            .insert("threshold".into(), json!(settings.crud_object_types));
        e.privileges = crud
            .iter()
            .flat_map(|t| ["Create", "Read", "Update", "Delete"].map(|v| format!("{v} {t}")))
            .map(Name::from)
            .collect();
        out.push(&CRUD, subject, e, None);
    }
}

/// Object types (`Policies`, `Scripts`, ...) of which all four of Create, Read, Update and
/// Delete are held.
fn full_crud_types<'a>(privileges: &BTreeSet<&'a str>) -> Vec<&'a str> {
    privileges
        .iter()
        .filter_map(|p| p.strip_prefix("Create "))
        .filter(|t| {
            ["Read", "Update", "Delete"]
                .iter()
                .all(|v| privileges.contains(format!("{v} {t}").as_str()))
        })
        .collect()
}

/// `JW-HYG-008` for a declared client.
fn stale_secret(out: &mut Findings<'_>, name: &str, input: &InstanceInput<'_>, base: &Evidence) {
    let facts = input.secrets.get(name).cloned().unwrap_or_default();
    let mut e = base.clone();
    match (facts.rotated_at, facts.max_age) {
        (None, _) if facts.adopted.is_some() => {
            e.facts.insert("rotated_by_warden".into(), json!(false));
            e.facts.insert("adopted".into(), json!("held"));
            let why = format!(
                "Adopted, held until cutover: Warden has never rotated this secret and does not \
                 hold it, so it is as old as whoever created it made it; it is not overdue but \
                 held on purpose until its owner cuts over ({})",
                facts.adopted.as_deref().unwrap_or_default()
            );
            out.push(&STALE_SECRET, Subject::client(name), e, Some(why));
        }
        (None, _) => {
            e.facts.insert("rotated_by_warden".into(), json!(false));
            let why = "Warden has never rotated this secret: it is as old as whoever created it \
                       made it, and nobody knows where copies live."
                .to_owned();
            out.push(&STALE_SECRET, Subject::client(name), e, Some(why));
        }
        (Some(at), Some(max)) if input.now - at > max => {
            e.facts.insert("rotated_at".into(), json!(at));
            e.facts
                .insert("age_days".into(), json!((input.now - at).num_days()));
            e.facts.insert("max_age_days".into(), json!(max.num_days()));
            out.push(&STALE_SECRET, Subject::client(name), e, None);
        }
        _ => {}
    }
}
