//! wardend: parse arguments, load the configuration, set up logging and signals, run.
//! Exit codes: 0 stopped cleanly, 1 failed while running, 2 configuration or start-up error.

use std::process::ExitCode;

use clap::Parser;
use warden_core::changelog::ChangeLogOptions;
use warden_core::config::{Config, LoadOptions, LogFormat};
use warden_daemon::cli::Args;
use warden_daemon::{RunOptions, logging, run, signals};

/// `--recover-state`: what was done on stdout, exit 0; a failure on stderr, exit 2.
async fn recover(config: Config, options: RunOptions) -> ExitCode {
    let operator = warden_daemon::Operator::current();
    match warden_daemon::recover_state(&config, &options, &operator).await {
        Ok(done) => {
            print!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("state recovery failed: {e}");
            eprintln!("wardend: state recovery failed: {e}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    warden_daemon::trim::limit_arenas();
    // Room for the capped control connections and for Vault, Jamf, logs and state.
    let _ = warden_daemon::limits::raise_nofile();
    let args = Args::parse();
    let mut load = LoadOptions::from_env();
    if load.credentials_directory.is_none() {
        load.credentials_directory = args.credentials_dir.clone();
    }
    load.credentials_form_only = args.check_config;
    let config = match Config::load_with(&args.config, &load) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("wardend: {errors}");
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        for w in &config.warnings {
            eprintln!("wardend: warning: {w}");
        }
        for note in &config.notes {
            eprintln!("wardend: note: {note}");
        }
        print!("{}", config.render_effective());
        eprintln!("wardend: configuration {} is valid", config.path.display());
        return ExitCode::SUCCESS;
    }
    let format = match config.daemon.log_format {
        LogFormat::Text => logging::LogFormat::Text,
        LogFormat::Json => logging::LogFormat::Json,
    };
    let _log = match logging::init(
        &config.daemon.log_level,
        format,
        Some(&config.daemon.log_dir),
        config.daemon.log_retention_days as usize,
    ) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("wardend: cannot set up logging: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wardend: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // Test-only: pause every rotation at a step so tests can kill the daemon there. Compiled
    // only with the `test-hooks` feature, which release builds never enable.
    #[cfg(feature = "test-hooks")]
    let pause_at = match warden_daemon::pause_at_from_env() {
        Ok(step) => step,
        Err(e) => {
            eprintln!("wardend: {e}");
            return ExitCode::from(2);
        }
    };
    let options = RunOptions {
        #[cfg(feature = "test-hooks")]
        pause_at,
        changelog: ChangeLogOptions {
            repair_torn_tail: args.repair_torn_tail,
            accept_missing_head: args.accept_missing_head,
        },
        ..RunOptions::default()
    };
    if args.recover_state {
        return runtime.block_on(recover(config, options));
    }
    runtime.block_on(async move {
        let control = match signals::install() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("wardend: cannot install signal handlers: {e}");
                return ExitCode::from(2);
            }
        };
        match run(config, options, control).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("wardend: {e}");
                ExitCode::from(2)
            }
        }
    })
}
