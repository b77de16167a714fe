//! Start-up failures of the real `wardend` are exit code 2 with a message that names the
//! problem, before the control socket exists; `--check-config` validates without reading any
//! secret.

use crate::common;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use common::{Cfg, Env, text, write_private};

/// Exit 2, the message on stderr, no socket, plain text (no terminal colour codes).
fn assert_start_error(env: &Env, out: &Output, needles: &[&str]) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
    assert!(
        !env.socket().exists(),
        "the socket exists after a failed start"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes on a non-terminal: {stderr:?}"
    );
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_and_broken_config_files() {
    let env = Env::start(&["alpha"]).await;
    let token = env.bao().root_token().to_string();

    // --check-config: valid → 0, the effective config on stdout, the token file by path only.
    env.write_config(&Cfg::new(&["alpha"]));
    let out = env.run_to_exit(&["--check-config"]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is valid"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("[daemon]") && stdout.contains("[[instance]]"),
        "{stdout}"
    );
    assert!(stdout.contains("name = \"alpha\""), "{stdout}");
    assert!(
        stdout.contains(&env.token_file().display().to_string()),
        "the token file path is missing: {stdout}"
    );
    assert!(
        !stdout.contains(&token),
        "--check-config printed the vault token"
    );
    assert!(!text(&out.stderr).contains(&token));
    // It did not start anything.
    assert!(!env.socket().exists() && !env.changelog().exists());

    // A broken file: an unknown key, reported as file:line:column, by --check-config and at
    // start, both exit 2.
    let mut broken = Cfg::new(&["alpha"]);
    broken.daemon_extra = "bogus_key = 1".into();
    env.write_config(&broken);
    let line = env
        .config_text(&broken)
        .lines()
        .position(|l| l.starts_with("bogus_key"))
        .unwrap()
        + 1;
    let location = format!("{}:{line}:1", env.config_path().display());
    let out = env.run_to_exit(&["--check-config"]).await;
    assert_start_error(&env, &out, &[&location, "bogus_key"]);
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let out = env.run_to_exit(&[]).await;
    assert_start_error(&env, &out, &[&location, "bogus_key"]);
    assert!(
        !env.state_dir().exists(),
        "a broken config created the state dir"
    );

    // A missing file.
    std::fs::remove_file(env.config_path()).unwrap();
    let out = env.run_to_exit(&[]).await;
    assert_start_error(&env, &out, &[&env.config_path().display().to_string()]);
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_problems_stop_start_up_before_the_socket() {
    let env = Env::start(&["alpha"]).await;

    // Vault down: a port nobody listens on.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.vault_address = Some(dead.clone());
    env.write_config(&cfg);
    let out = env.run_to_exit(&[]).await;
    assert_start_error(&env, &out, &["vault", &dead, "unreachable"]);
    assert!(
        !env.changelog().exists(),
        "a change log was created without vault"
    );

    // The live Vault, but token-file problems.
    env.write_config(&Cfg::new(&["alpha"]));
    let token_file = env.token_file().display().to_string();

    // A token readable by everyone is refused (treated as leaked), without using it.
    std::fs::set_permissions(env.token_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run_to_exit(&[]).await;
    assert_start_error(
        &env,
        &out,
        &["vault credentials", &token_file, "every user"],
    );

    // A missing token file.
    std::fs::remove_file(env.token_file()).unwrap();
    let out = env.run_to_exit(&[]).await;
    assert_start_error(&env, &out, &["vault credentials", &token_file]);

    // A wrong token: authentication refused; the wrong token is not echoed.
    let wrong = "s.this-token-does-not-exist-0123456789";
    write_private(&env.token_file(), wrong.as_bytes());
    let out = env.run_to_exit(&[]).await;
    let stderr = assert_start_error(&env, &out, &["vault authentication failed"]);
    assert!(!stderr.contains(wrong), "the token was printed: {stderr}");
    assert!(!env.changelog().exists());

    // With the right token it starts (so the failures above were the token's).
    write_private(&env.token_file(), env.bao().root_token().as_bytes());
    let mut daemon = env.start_daemon(&Cfg::new(&["alpha"])).await;
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(daemon.wait_exit().await.code(), Some(0));
    env.assert_no_secret_leaks();
}

/// Issue 12 item 10: a config or desired file others may write, a device or FIFO where a file
/// belongs, and an out-of-range duration are refused by `--check-config` and at start (exit 2,
/// before the socket), quickly and saying what is wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_special_and_out_of_range_config_files_are_refused() {
    let env = Env::start(&["alpha"]).await;
    let config = env.config_path();
    let config_name = config.display().to_string();

    // Writable by others (as `umask 000` would leave it): refused with the chmod to run.
    env.write_config(&Cfg::new(&["alpha"]));
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let chmod = format!("chmod go-w {config_name}");
    for args in [&["--check-config"][..], &[]] {
        let out = env.run_to_exit(args).await;
        assert_start_error(&env, &out, &["mode 0666", &chmod]);
    }
    assert!(!env.state_dir().exists(), "started with a writable config");

    // The config path is /dev/zero (through a symlink) or a FIFO nobody writes: an immediate
    // error that says what it is, not an endless read or a hang.
    std::fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &config).unwrap();
    for args in [&["--check-config"][..], &[]] {
        let out = env.run_to_exit(args).await;
        assert_start_error(&env, &out, &[&config_name, "it is a character device"]);
    }
    std::fs::remove_file(&config).unwrap();
    nix::unistd::mkfifo(&config, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let out = env.run_to_exit(&["--check-config"]).await;
    assert_start_error(&env, &out, &[&config_name, "it is a FIFO (named pipe)"]);
    std::fs::remove_file(&config).unwrap();

    // A desired file that is a device, a FIFO or a group-writable file.
    let fifo = env.path("desired-fifo.toml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let writable = env.path("desired-writable.toml");
    std::fs::write(&writable, "version = 1\n").unwrap();
    std::fs::set_permissions(&writable, std::fs::Permissions::from_mode(0o664)).unwrap();
    for (desired, needles) in [
        (
            "/dev/zero".to_owned(),
            vec!["`instance.desired`", "it is a character device"],
        ),
        (
            fifo.display().to_string(),
            vec!["`instance.desired`", "it is a FIFO (named pipe)"],
        ),
        (
            writable.display().to_string(),
            vec!["mode 0664", "chmod go-w"],
        ),
    ] {
        let cfg = Cfg::new(&["alpha"]).instance_line("alpha", &format!("desired = [{desired:?}]"));
        env.write_config(&cfg);
        for args in [&["--check-config"][..], &[]] {
            let out = env.run_to_exit(args).await;
            let stderr = assert_start_error(&env, &out, &needles);
            assert!(!stderr.contains("does not exist"), "{stderr}");
        }
    }

    // A timeout of 274 million years: refused with its location and the accepted range.
    let text = env.config_text(&Cfg::new(&["alpha"])).replace(
        "request_timeout = \"10s\"",
        "request_timeout = \"99999999999d\"",
    );
    let line = text
        .lines()
        .position(|l| l.starts_with("request_timeout"))
        .unwrap()
        + 1;
    std::fs::write(&config, &text).unwrap();
    let location = format!("{config_name}:{line}:19");
    for args in [&["--check-config"][..], &[]] {
        let out = env.run_to_exit(args).await;
        assert_start_error(
            &env,
            &out,
            &[
                &location,
                "`instance.request_timeout`",
                "from \"100ms\" to \"1h\"",
            ],
        );
    }
    assert!(
        !env.state_dir().exists(),
        "a refused config created the state dir"
    );
    env.assert_no_secret_leaks();
}

/// `--check-config` on a production-style config outside systemd: a privilege typo is a
/// warning at its line with "did you mean" (exit 0: a newer Jamf may have the name);
/// `credential:NAME` resolves through `--credentials-dir`, or is checked for form only with a
/// note; an unknown key stays an error (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_outside_systemd_warns_about_privilege_typos_with_their_line() {
    let env = Env::start(&["alpha"]).await;
    let desired = env.path("desired.toml");
    std::fs::write(
        &desired,
        "version = 1\n\n[[role]]\nname = \"Inventory\"\nprivileges = [\n  \"Read Computers\",\n  \
         \"Read Computer\",\n]\n",
    )
    .unwrap();
    let cfg = Cfg::new(&["alpha"]).instance_line("alpha", "desired = [\"desired.toml\"]");
    let text = env.config_text(&cfg).replace(
        &env.token_file().display().to_string(),
        "credential:vault-token",
    );
    write_private(&env.config_path(), text.as_bytes());

    let out = env.run_to_exit(&["--check-config"]).await;
    let stderr = text_of(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "wardend: warning: {}:7:3: `role.privileges`: role `Inventory`: privilege `Read \
             Computer` is not in the catalogue shipped",
            desired.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `Read Computers`"), "{stderr}");
    assert!(
        stderr.contains("$CREDENTIALS_DIRECTORY is not set"),
        "{stderr}"
    );
    assert!(
        stderr.contains("wardend: note: ")
            && stderr.contains("`credential:vault-token` checked for form only"),
        "{stderr}"
    );

    let creds = env.path("credentials");
    let dir = creds.display().to_string();
    let out = env
        .run_to_exit(&["--check-config", "--credentials-dir", &dir])
        .await;
    let stderr = text_of(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("note:"), "{stderr}");
    assert!(
        text_of(&out.stdout).contains(&format!("{dir}/vault-token")),
        "the credential resolves under --credentials-dir"
    );
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A metrics port another process holds: exit 2, naming the address and the setting, before
/// the control socket exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_metrics_port_stops_start_up() {
    let env = Env::start(&["alpha"]).await;
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.tables = format!("[metrics]\nlisten = \"{addr}\"\n");
    env.write_config(&cfg);
    let out = env.run_to_exit(&[]).await;
    assert_start_error(
        &env,
        &out,
        &[
            &format!("cannot listen for metrics on {addr}"),
            "change `listen` under [metrics]",
        ],
    );
    drop(taken);
}
