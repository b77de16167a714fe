//! `wardenctl completions SHELL`: a completion script, generated locally (no daemon needed).

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::{Ctx, Exit};

/// Prints the completion script for `shell`.
pub fn run(ctx: &Ctx, shell: Shell) -> anyhow::Result<Exit> {
    ctx.print(&script(shell))?;
    Ok(Exit::Ok)
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "wardenctl", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let script = script(shell);
            assert!(script.contains("wardenctl"), "{shell}");
            assert!(script.contains("rotate"), "{shell}");
        }
    }
}
