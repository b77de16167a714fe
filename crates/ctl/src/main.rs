//! `wardenctl`: parses the command line, runs it, and maps the result to an exit status
//! (0 ok, 1 findings, 2 error; see `warden_ctl` for the details).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Usage errors, --help and --version are handled by clap (usage errors exit 2).
    let cli = warden_ctl::Cli::parse();
    let result = warden_ctl::run(cli);
    warden_ctl::finish(&result)
}
