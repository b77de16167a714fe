//! Build helpers for the packages, kept out of the shipped binaries:
//!
//!   cargo run -p xtask -- man DIR           man pages: wardend.8, wardenctl.1, wardenctl-*.1
//!   cargo run -p xtask -- completions DIR   bash/, zsh/ and fish/ completion scripts
//!
//! Both come from the clap definitions the binaries parse (`warden_daemon::cli::Args`,
//! `warden_ctl::Cli`), so they cannot drift from the real command lines.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{CommandFactory as _, Parser, Subcommand};
use clap_complete::Shell;

#[derive(Debug, Parser)]
#[command(
    name = "xtask",
    about = "Generate man pages and shell completions for the packages"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Write the man pages into DIR (wardend.8, wardenctl.1 and one page per sub-command).
    Man { dir: PathBuf },
    /// Write the completion scripts into DIR/bash, DIR/zsh and DIR/fish.
    Completions { dir: PathBuf },
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Man { dir } => man(&dir),
        Task::Completions { dir } => completions(&dir),
    }
}

fn man(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // wardend is a system daemon: section 8.
    let wardend = warden_daemon::cli::Args::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(wardend)
        .section("8")
        .render(&mut page)
        .context("cannot render wardend.8")?;
    write(&dir.join("wardend.8"), &page)?;
    // wardenctl and each of its sub-commands (wardenctl-log-verify.1, ...): section 1.
    clap_mangen::generate_to(warden_ctl::Cli::command(), dir).with_context(|| {
        format!(
            "cannot write the wardenctl man pages into {}",
            dir.display()
        )
    })?;
    Ok(())
}

fn completions(dir: &Path) -> Result<()> {
    for (shell, sub, ctl, daemon) in [
        (Shell::Bash, "bash", "wardenctl", "wardend"),
        (Shell::Zsh, "zsh", "_wardenctl", "_wardend"),
        (Shell::Fish, "fish", "wardenctl.fish", "wardend.fish"),
    ] {
        let out = dir.join(sub);
        fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
        // the very script `wardenctl completions SHELL` prints
        let script = warden_ctl::commands::completions::script(shell);
        write(&out.join(ctl), script.as_bytes())?;
        let mut script = Vec::new();
        clap_complete::generate(
            shell,
            &mut warden_daemon::cli::Args::command(),
            "wardend",
            &mut script,
        );
        write(&out.join(daemon), &script)?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
