//! `wardenctl`, the command-line client of `wardend`.
//!
//! It talks to the daemon over its Unix socket only (`--socket`, `WARDEN_SOCKET`, default
//! `/run/jamf-warden/wardend.sock`), with the protocol of [`warden_core::protocol`]. Each
//! sub-command lives in its own module under [`commands`]; [`cli`] holds the clap definitions,
//! [`output`] the table and time formatting.
//!
//! # Exit status
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | findings: `log verify` found a problem, `drift` found drift, `audit` found risks |
//! | 2 | error: daemon not running, permission denied, bad arguments, the daemon refused or failed |
//!
//! Errors go to stderr as `wardenctl: <message>` with the whole cause chain. A closed stdout
//! (`wardenctl log tail | head -1`) is not an error.

pub mod cli;
mod client;
pub mod commands;
mod confirm;
mod error;
pub mod output;
pub mod report;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use warden_core::clock::Clock;

pub use cli::Cli;
pub use client::Client;
pub use error::DaemonError;

use cli::GlobalArgs;

/// Exit status for success.
pub const EXIT_OK: u8 = 0;
/// Exit status when a command completed and found problems (drift, audit findings, a broken
/// change log).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status for errors, including clap's usage errors.
pub const EXIT_ERROR: u8 = 2;

/// How a command that ran to completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing to report.
    Ok,
    /// The command found problems (exit status 1).
    Findings,
}

/// Runs one command line on a current-thread runtime, with relative times computed against the
/// system clock.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    run_at(cli, &warden_core::clock::system())
}

/// [`run`] with "now" read once from `clock` (tests pass a fixed one).
pub fn run_at(cli: Cli, clock: &Clock) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    let ctx = Ctx {
        global: cli.global,
        now: clock(),
    };
    runtime.block_on(commands::dispatch(&ctx, cli.command))
}

/// Prints the error of `result`, if any, and returns the process exit status.
pub fn finish(result: &anyhow::Result<Exit>) -> ExitCode {
    if let Err(err) = result
        && !is_broken_pipe(err)
    {
        eprintln!("wardenctl: {err:#}");
    }
    ExitCode::from(exit_code(result))
}

/// The exit status for a command's result: 0 ok, 1 findings, 2 error (a closed stdout is ok).
pub fn exit_code(result: &anyhow::Result<Exit>) -> u8 {
    match result {
        Ok(Exit::Ok) => EXIT_OK,
        Ok(Exit::Findings) => EXIT_FINDINGS,
        Err(err) if is_broken_pipe(err) => EXIT_OK,
        Err(_) => EXIT_ERROR,
    }
}

/// Whether the error chain ends in a write to a closed pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// What every command gets: the global options and the time "now" for relative times.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The global options.
    pub global: GlobalArgs,
    /// The time relative times are computed against.
    pub now: DateTime<Utc>,
}

impl Ctx {
    /// Connects to the daemon named by `--socket` and says hello. Notes a daemon version that
    /// differs from this build on stderr (never on stdout), unless `--quiet`.
    pub async fn connect(&self) -> anyhow::Result<Client> {
        let mut client = Client::connect(&self.global.socket, &self.global.daemon_user).await?;
        if let Some(timeout) = self.global.timeout {
            client.set_timeout(timeout);
        }
        let ours = env!("CARGO_PKG_VERSION");
        if client.daemon_version() != ours && !self.global.quiet {
            eprintln!(
                "wardenctl: note: this is wardenctl {ours} and wardend is {}; they speak the same protocol, but prefer the wardenctl that ships with the daemon",
                client.daemon_version()
            );
        }
        Ok(client)
    }

    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        self.global.json
    }

    /// Whether to colour the output: text on a terminal, unless `NO_COLOR` is set.
    pub fn color(&self) -> bool {
        use std::io::IsTerminal as _;
        !self.json()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && io::stdout().is_terminal()
    }

    /// Writes `text` to stdout as is.
    pub fn print(&self, text: &str) -> anyhow::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .context("failed to write to stdout")
    }

    /// Writes `value` to stdout as one pretty-printed JSON document.
    pub fn print_json(&self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        let mut text =
            serde_json::to_string_pretty(value).context("failed to encode the output as json")?;
        text.push('\n');
        self.print(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(&Ok(Exit::Ok)), 0);
        assert_eq!(exit_code(&Ok(Exit::Findings)), 1);
        assert_eq!(exit_code(&Err(anyhow::anyhow!("boom"))), 2);
        let daemon = DaemonError::new(
            "reload",
            warden_core::protocol::ErrorCode::PermissionDenied,
            "no",
        );
        assert_eq!(exit_code(&Err(daemon.into())), 2);
    }

    #[test]
    fn broken_pipe_is_success() {
        let err = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("failed to write to stdout");
        assert_eq!(exit_code(&Err(err)), 0);
        let other = anyhow::Error::new(io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(exit_code(&Err(other)), 2);
    }
}
