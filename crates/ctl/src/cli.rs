//! The command line, as clap derive types.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use warden_core::config::defaults::SOCKET;

const LONG_ABOUT: &str = "\
wardenctl is the command-line client of wardend, the Jamf Warden daemon. It talks to the \
daemon over its Unix socket only; reading commands need access to the socket (its group), \
changing commands (reload, rotate, apply, suppress, bootstrap) need a uid or gid listed in the daemon's \
admin_uids/admin_gids.

Exit status:
  0  success
  1  findings: `log verify` found a problem, `drift` found drift, `audit` found risks
  2  error: daemon not running, permission denied, bad arguments, the daemon refused or failed";

/// `wardenctl`'s command line.
#[derive(Debug, Clone, Parser)]
#[command(name = "wardenctl", version, about = "Control and inspect wardend, the Jamf Warden daemon", long_about = LONG_ABOUT)]
pub struct Cli {
    /// Options valid for every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options valid for every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The daemon's control socket.
    #[arg(long, global = true, env = "WARDEN_SOCKET", hide_env_values = true, value_name = "PATH", default_value = SOCKET)]
    pub socket: PathBuf,
    /// The user wardend runs as (a name or a uid). Before sending anything, wardenctl checks
    /// that the process listening on the socket runs as root, this user or yourself, and
    /// refuses to talk to anything else (an impostor could have taken the socket's path).
    #[arg(long, global = true, env = "WARDEN_DAEMON_USER", value_name = "USER", default_value = warden_core::protocol::DEFAULT_DAEMON_USER)]
    pub daemon_user: String,
    /// Print the daemon's answer as JSON (`log tail`: one record per line) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// How long the daemon may take to answer, in seconds [default: 120].
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Print no notes (e.g. about a daemon of another version) on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The sub-commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Daemon version, uptime, configuration, instance health and job schedules. Exits 0 when
    /// every instance's every job is ok, 1 when something is failing or parked, 2 when the
    /// daemon cannot be reached.
    Status {
        /// Print only the problems, one line each (nothing when all is well), for monitors.
        #[arg(long)]
        check: bool,
    },
    /// The configured Jamf Pro instances.
    Instances,
    /// Make the daemon re-read and apply its configuration (admins only).
    Reload,
    /// Read or verify the change log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Where each API client's secret lives in Vault and when it was last rotated.
    Secrets {
        /// Only this instance.
        instance: Option<String>,
    },
    /// Rotate one API client's secret now (admins only); with --recover, only finish an
    /// interrupted or unconfirmed rotation.
    Rotate {
        /// The API client, as INSTANCE/CLIENT (client display name or client id).
        target: RotateTarget,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Recover an interrupted rotation now instead of rotating: verify a secret that was
        /// stored but not confirmed, or rotate again when a minted secret was lost; nothing when
        /// the last rotation finished. The daemon also does this on its own after
        /// `daemon.recovery_delay`.
        #[arg(long, conflicts_with = "yes")]
        recover: bool,
        /// Rotate although the secret in Vault no longer gets a token (it was changed outside
        /// Warden: rotated in the Jamf console, or an old Vault version restored). Skips that
        /// check once; recorded in the change log.
        #[arg(long, conflicts_with = "recover")]
        accept_out_of_band: bool,
    },
    /// Cut over an adopted client (one Warden never rotated and whose secret Vault does not
    /// hold) so Warden may rotate it, or confirm that its consumers read Vault (admins only).
    Adopt {
        /// The API client, as INSTANCE/CLIENT.
        target: RotateTarget,
        /// `now` (rotate it at once), or `at TIME` (RFC 3339; the rotation job rotates it at
        /// its first run at or after TIME).
        #[arg(long, num_args = 1..=2, value_names = ["now|at", "TIME"], conflicts_with = "switched", required_unless_present = "switched")]
        cutover: Vec<String>,
        /// Alternating: the consumers now read Vault, so the declared client's own secret may
        /// be rotated.
        #[arg(long)]
        switched: bool,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Declared versus live API roles and clients: the last scheduled check, or --now (exit 1
    /// on drift).
    Drift {
        /// Only these instances [default: all].
        instances: Vec<String>,
        /// Check now against Jamf instead of showing the last scheduled check.
        #[arg(long)]
        now: bool,
        /// With --now: fetch the privilege catalogue again instead of the cached one.
        #[arg(long, requires = "now")]
        refresh_catalogue: bool,
    },
    /// Show the changes `apply` would make to an instance (exit 1 when there are any).
    Plan {
        /// The instances; every instance when none (with --desired: every instance that lists
        /// a proposed file).
        instances: Vec<String>,
        /// Fetch the privilege catalogue again instead of the cached one.
        #[arg(long)]
        refresh_catalogue: bool,
        /// Plan a proposed desired-state file, or every `*.toml` of a directory, in place of
        /// the loaded files of the same name, without loading it (read here and sent to the
        /// daemon; 768 KiB in all at most).
        #[arg(long, value_name = "PATH")]
        desired: Option<PathBuf>,
        /// Save the plan (one instance) to FILE for `wardenctl apply --plan FILE`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Make an instance match its declared state: shows the plan and asks, unless --yes
    /// (admins only).
    Apply {
        /// The instance.
        instance: String,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Apply exactly this saved plan (`wardenctl plan INSTANCE --out FILE`); refused,
        /// changing nothing, when the live or desired state changed since it was made.
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
    },
    /// Write an instance's live roles and clients as a desired-state file, to adopt an existing
    /// estate.
    Import {
        /// The instance.
        instance: String,
        /// Write to this file instead of stdout (refuses to overwrite without --force).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite --output if it exists.
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Risk audit of API roles and clients for security reviews (exit 1 on findings at or above
    /// --fail-on).
    #[command(long_about = AUDIT_ABOUT)]
    Audit(AuditArgs),
    /// Set up Warden's own management role and client on an instance with a Jamf Pro admin
    /// account, once (admins only).
    #[command(long_about = BOOTSTRAP_ABOUT)]
    Bootstrap(BootstrapArgs),
    /// Print a shell completion script (no daemon needed).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

const AUDIT_ABOUT: &str = "\
Risk audit of every instance's API roles and clients for security reviews: privilege escalation, \
code execution on devices, secret disclosure, destructive device actions, server \
infrastructure, breadth (share of the catalogue, full CRUD, near-full admin), privileges the \
risk catalogue does not know, and hygiene (shared roles, several roles per client, long token \
lifetimes, clients without secrets, disabled clients with roles, unused roles, undeclared \
clients, stale secrets, drift that widens privileges). Each finding names the exact \
privileges behind it and what to do. Suppressions live in wardend.toml ([[audit.suppression]] \
with a reason, an owner and an expiry date) and every report lists them.

Audits now (read-only) unless --last. Formats: table (default), json (schema \
warden.audit/1), markdown, html, csv, sarif, review-csv and grc-json (the access review per \
client; schema warden.access-review/1) and oscal (OSCAL 1.1.1 assessment results); --output FILE writes the report to a file. \
--framework soc2|iso27001|nist80053|cis8 groups the report by the framework's controls \
(table, markdown or json). \
Exit status: 0 without findings at or above --fail-on (default low), 1 with, 2 on errors \
(including an instance that could not be audited).";

const BOOTSTRAP_ABOUT: &str = "\
Set up Warden's own management role and client on an instance, once, with a Jamf Pro admin \
account: the daemon logs in as that user, creates (or fixes) the API role `Jamf Warden` with \
exactly the eight Read/Create/Update/Delete API Roles and API Integrations privileges and the \
API client `Jamf Warden` (enabled, that role only), generates the client's secret straight into \
Vault at the instance's `credentials` path, verifies it, and invalidates the admin's session. \
After that Warden needs the admin account no more: disable or remove its API access.

The user name and password are asked for once on the terminal (the password without echo). \
They are sent to wardend over its socket for this one session and are never stored or logged. \
For scripts, --password-stdin reads them from standard input instead: the user name on the \
first line (unless --username is given), the password on the next; without a terminal and \
without --password-stdin the command refuses.

Bootstrap is a first-time set-up: if the Vault path already holds management credentials that \
still work, it refuses (rotate them with `wardenctl rotate INSTANCE/Jamf Warden`) unless \
--force is given.

Warning: with these eight privileges the management client can grant itself any privilege \
(create a role with everything, attach it to a client and mint its secret). Protect its Vault \
path like an admin password.";

/// `wardenctl bootstrap …`.
#[derive(Debug, Clone, Args)]
pub struct BootstrapArgs {
    /// The instance, as named in the daemon's configuration.
    pub instance: String,
    /// The Jamf Pro admin user name [default: asked for, or the first line of stdin].
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    /// Read the user name (unless --username) and the password from stdin, one per line,
    /// instead of prompting on the terminal (for scripts).
    #[arg(long)]
    pub password_stdin: bool,
    /// Replace management credentials in Vault that still work.
    #[arg(long)]
    pub force: bool,
}

/// `wardenctl log …`.
#[derive(Debug, Clone, Subcommand)]
pub enum LogCommand {
    /// The last change-log records, oldest first.
    Tail {
        /// How many records.
        #[arg(short, long = "lines", value_name = "N", default_value_t = 20)]
        n: usize,
    },
    /// Verify the whole change log against its hash chain and head anchor (exit 1 on a problem).
    Verify,
}

/// `wardenctl audit …`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    /// `audit client INSTANCE/CLIENT`.
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only these instances [default: all].
    pub instances: Vec<String>,
    /// Show the reports of the last scheduled audit instead of auditing now.
    #[arg(long)]
    pub last: bool,
    /// Group the report by the controls of this compliance framework (formats table,
    /// markdown and json).
    #[arg(long, value_enum)]
    pub framework: Option<AuditFramework>,
    /// Output options.
    #[command(flatten)]
    pub output: AuditOutput,
}

/// `--framework` of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFramework {
    /// SOC 2 Trust Services Criteria.
    Soc2,
    /// ISO/IEC 27001:2022 Annex A.
    Iso27001,
    /// NIST SP 800-53 Rev. 5.
    Nist80053,
    /// CIS Critical Security Controls v8.1.
    Cis8,
}

impl From<AuditFramework> for warden_core::audit::Framework {
    fn from(framework: AuditFramework) -> Self {
        use warden_core::audit::Framework;
        match framework {
            AuditFramework::Soc2 => Framework::Soc2,
            AuditFramework::Iso27001 => Framework::Iso27001,
            AuditFramework::Nist80053 => Framework::Nist80053,
            AuditFramework::Cis8 => Framework::Cis8,
        }
    }
}

/// `wardenctl audit client …`.
#[derive(Debug, Clone, Subcommand)]
pub enum AuditCommand {
    /// One client's effective privileges (the union over its roles) and why each finding
    /// applies to it.
    Client {
        /// The API client, as INSTANCE/CLIENT (its display name).
        target: RotateTarget,
        /// Output options.
        #[command(flatten)]
        output: AuditOutput,
    },
}

/// How `audit` writes its report.
#[derive(Debug, Clone, Args)]
pub struct AuditOutput {
    /// Report format [default: table, or json with --json].
    #[arg(long, value_enum)]
    pub format: Option<AuditFormat>,
    /// Write the report to this file (replaced atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when an unsuppressed finding at or above this severity exists.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
}

/// `--format` of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// A terminal table.
    Table,
    /// The report as JSON (schema warden.audit/1).
    Json,
    /// Markdown, ready to paste into a review ticket.
    Markdown,
    /// One self-contained HTML file, printable.
    Html,
    /// One row per finding.
    Csv,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// The access review: one CSV row per client, with a blank reviewer decision.
    ReviewCsv,
    /// The access review as JSON for GRC tools (schema warden.access-review/1).
    GrcJson,
    /// OSCAL 1.1.1 assessment results (JSON), for GRC tools that import OSCAL.
    Oscal,
}

impl From<AuditFormat> for warden_core::audit::render::Format {
    fn from(format: AuditFormat) -> Self {
        use warden_core::audit::render::Format;
        match format {
            AuditFormat::Table => Format::Table,
            AuditFormat::Json => Format::Json,
            AuditFormat::Markdown => Format::Markdown,
            AuditFormat::Html => Format::Html,
            AuditFormat::Csv => Format::Csv,
            AuditFormat::Sarif => Format::Sarif,
            AuditFormat::ReviewCsv => Format::ReviewCsv,
            AuditFormat::GrcJson => Format::GrcJson,
            AuditFormat::Oscal => Format::Oscal,
        }
    }
}

/// `--fail-on` of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding.
    Low,
    /// Medium, high or critical findings.
    Medium,
    /// High or critical findings.
    High,
    /// Critical findings only.
    Critical,
    /// Never exit 1 for findings.
    Never,
}

impl FailOn {
    /// The lowest severity that fails, if any.
    pub fn severity(self) -> Option<warden_core::audit::Severity> {
        use warden_core::audit::Severity;
        match self {
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Never => None,
        }
    }
}

/// The `INSTANCE/CLIENT` argument of `rotate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateTarget {
    /// The instance.
    pub instance: String,
    /// The API client's display name or id (may itself contain `/`).
    pub client: String,
}

impl FromStr for RotateTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('/') {
            Some((instance, client)) if !instance.is_empty() && !client.is_empty() => Ok(Self {
                instance: instance.to_owned(),
                client: client.to_owned(),
            }),
            _ => Err(format!(
                "expected INSTANCE/CLIENT, e.g. prod/backup-client, got `{s}`"
            )),
        }
    }
}

impl fmt::Display for RotateTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.instance, self.client)
    }
}

/// Parses `--timeout`: a positive number of seconds.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("expected a number of seconds, got `{s}`"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(format!(
            "the timeout must be more than 0 and at most 86400 seconds, got `{s}`"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bootstrap_help_names_the_management_objects_of_core() {
        use warden_core::management::{MANAGEMENT_NAME, MANAGEMENT_PRIVILEGES};
        assert!(BOOTSTRAP_ABOUT.contains(&format!("API role `{MANAGEMENT_NAME}`")));
        assert!(BOOTSTRAP_ABOUT.contains(&format!("API client `{MANAGEMENT_NAME}`")));
        assert!(BOOTSTRAP_ABOUT.contains(&format!("INSTANCE/{MANAGEMENT_NAME}")));
        assert_eq!(
            MANAGEMENT_PRIVILEGES.len(),
            8,
            "the help says \"the eight\" privileges"
        );
        for privilege in MANAGEMENT_PRIVILEGES {
            let (verb, object) = privilege.split_once(" API ").unwrap_or_default();
            assert!(BOOTSTRAP_ABOUT.contains(verb), "{privilege}");
            assert!(
                BOOTSTRAP_ABOUT.contains(&format!("API {object}")),
                "{privilege}"
            );
        }
    }

    #[test]
    fn documented_default_timeout() {
        let help = Cli::command().render_long_help().to_string();
        let secs = warden_core::protocol::DEFAULT_REQUEST_TIMEOUT.as_secs();
        assert!(help.contains(&format!("[default: {secs}]")), "{help}");
    }

    #[test]
    fn rotate_target() {
        let target: RotateTarget = "prod/backup/x".parse().unwrap();
        assert_eq!(target.instance, "prod");
        assert_eq!(target.client, "backup/x");
        assert_eq!(target.to_string(), "prod/backup/x");
        assert!("prod".parse::<RotateTarget>().is_err());
        assert!("/x".parse::<RotateTarget>().is_err());
        assert!("prod/".parse::<RotateTarget>().is_err());
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("x").is_err());
    }

    #[test]
    fn audit_arguments() {
        let cli = Cli::try_parse_from(["wardenctl", "audit", "prod", "stage", "--fail-on", "high"])
            .unwrap();
        let Command::Audit(args) = cli.command else {
            panic!("audit")
        };
        assert_eq!(args.instances, ["prod", "stage"]);
        assert_eq!(args.output.fail_on, FailOn::High);
        assert!(args.command.is_none());
        let cli = Cli::try_parse_from([
            "wardenctl",
            "audit",
            "client",
            "prod/CMDB Sync",
            "--format",
            "markdown",
        ])
        .unwrap();
        let Command::Audit(args) = cli.command else {
            panic!("audit")
        };
        let Some(AuditCommand::Client { target, output }) = args.command else {
            panic!("client")
        };
        assert_eq!(target.client, "CMDB Sync");
        assert_eq!(output.format, Some(AuditFormat::Markdown));
        assert!(Cli::try_parse_from(["wardenctl", "audit", "--fail-on", "severe"]).is_err());
    }
}
