//! `wardend`'s command line, as a clap derive type: here rather than in `main.rs` so that the
//! man page and shell completions (`cargo run -p xtask -- man DIR`) come from the same
//! definition the binary parses.

use std::path::PathBuf;

use clap::Parser;

const LONG_ABOUT: &str = "\
The Jamf Warden daemon: drift checks, risk audits and secret rotation for Jamf Pro API roles and \
clients, with every change in a tamper-evident change log. Control it with wardenctl over its \
Unix socket. SIGHUP re-reads the configuration (like `wardenctl reload`); SIGTERM and SIGINT stop it \
gracefully, a second one cancels the running jobs.

Exit status:
  0  stopped cleanly
  1  failed while running
  2  configuration or start-up error (restarting will not help: fix the configuration)";

/// `wardend`'s arguments.
#[derive(Parser, Debug)]
#[command(
    name = "wardend",
    version,
    about = "The Jamf Warden daemon: drift checks, risk audits and secret rotation for Jamf Pro API roles and clients",
    long_about = LONG_ABOUT
)]
pub struct Args {
    /// The configuration file.
    #[arg(
        long,
        env = "WARDEN_CONFIG",
        default_value = "/etc/jamf-warden/wardend.toml"
    )]
    pub config: PathBuf,
    /// Validate the configuration, print the effective configuration (secrets redacted) and exit:
    /// 0 when valid, 2 when not.
    #[arg(long)]
    pub check_config: bool,
    /// Where `credential:NAME` files live when `$CREDENTIALS_DIRECTORY` is not set (systemd sets
    /// it; this is for `--check-config` on the production config outside systemd). Without
    /// either, `--check-config` checks `credential:NAME` paths for form only and says so.
    #[arg(long, value_name = "DIR")]
    pub credentials_dir: Option<PathBuf>,
    /// Cut a torn last line of the change log (saved next to it) and record the repair.
    #[arg(long)]
    pub repair_torn_tail: bool,
    /// Accept a change log with records but no local head anchor.
    #[arg(long)]
    pub accept_missing_head: bool,
    /// Rebuild a lost or damaged state directory from Vault and exit: move the damaged files
    /// aside, rebuild the job state from the rotation markers, start a new change-log segment
    /// that continues from the head anchored in Vault (recording who ran it), re-anchor. Run it
    /// while wardend is stopped, as the service user; then start wardend.
    #[arg(long, conflicts_with = "check_config")]
    pub recover_state: bool,
}
