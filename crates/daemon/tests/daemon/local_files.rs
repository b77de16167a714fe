//! The daemon's own directories and files against another local user (issue 12, items 9 and
//! 12): a state, change-log, log or socket directory that another user owns or can write is
//! refused at start (exit 2, the `chmod`/`chown` to run); a symbolic link planted in place of
//! a state file is refused and never written through; log files are 0640 in a 0750 directory,
//! and wider existing ones are narrowed. Runs as root (it chowns to another uid), as CI does.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Output;

use common::{Cfg, Env, text};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Exit 2 with every needle on stderr, and no socket.
fn assert_refused(env: &Env, out: &Output, needles: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
    assert!(
        !env.socket().exists(),
        "the socket exists after a refused start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_another_user_can_change_are_refused_with_the_fix() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test chowns directories to another uid and must run as root (as CI does)"
    );
    let env = Env::start(&["alpha"]).await;
    env.write_config(&Cfg::new(&["alpha"]));
    let state = env.state_dir();
    let log = env.log_dir();

    // a state directory made 0777 by someone
    std::fs::create_dir_all(&state).unwrap();
    chmod(&state, 0o777);
    let out = env.run_to_exit(&[]).await;
    let fix = format!("chmod go-w {}", state.display());
    assert_refused(&env, &out, &["state directory", "mode 0777", &fix]);
    assert!(
        std::fs::read_dir(&state).unwrap().next().is_none(),
        "wardend wrote into the refused state directory"
    );

    // group-writable is refused too
    chmod(&state, 0o770);
    let out = env.run_to_exit(&[]).await;
    assert_refused(&env, &out, &["writable by its group", &fix]);

    // a state directory owned by another user
    chmod(&state, 0o700);
    std::os::unix::fs::chown(&state, Some(65534), None).unwrap();
    let out = env.run_to_exit(&[]).await;
    let fix = format!("chown 0 {}", state.display());
    assert_refused(&env, &out, &["state directory", "owned by uid 65534", &fix]);
    std::os::unix::fs::chown(&state, Some(0), None).unwrap();

    // an ancestor others can write (no sticky bit): they could swap the whole directory
    chmod(env.dir.path(), 0o777);
    let out = env.run_to_exit(&[]).await;
    let fix = format!("chmod go-w {}", env.dir.path().display());
    assert_refused(&env, &out, &[&fix]);
    chmod(env.dir.path(), 0o700);

    // the log directory (checked before anything is logged)
    std::fs::create_dir_all(&log).unwrap();
    chmod(&log, 0o757);
    let out = env.run_to_exit(&[]).await;
    let fix = format!("chmod go-w {}", log.display());
    assert_refused(&env, &out, &["log directory", &fix]);
    chmod(&log, 0o750);

    // the socket directory: whoever can write it could listen in wardend's place
    let run = env.path("run");
    std::fs::create_dir_all(&run).unwrap();
    chmod(&run, 0o777);
    let socket_line = format!("socket = \"{}\"", env.socket().display());
    let text_cfg = env.config_text(&Cfg::new(&["alpha"])).replace(
        &socket_line,
        &format!("socket = \"{}/w.sock\"", run.display()),
    );
    assert_ne!(text_cfg, env.config_text(&Cfg::new(&["alpha"])));
    std::fs::write(env.config_path(), text_cfg).unwrap();
    chmod(&env.config_path(), 0o600);
    let out = env.run_to_exit(&[]).await;
    let fix = format!("chmod go-w {}", run.display());
    assert_refused(&env, &out, &["socket directory", &fix]);
    assert!(!run.join("w.sock").exists());

    // fixed as told, it starts
    chmod(&run, 0o755);
    let mut daemon = env.spawn(&[], &[]);
    daemon.socket = run.join("w.sock");
    daemon.wait_ready().await;
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_in_place_of_a_state_file_is_refused_and_not_written_through() {
    let env = Env::start(&["alpha"]).await;
    env.write_config(&Cfg::new(&["alpha"]));
    let state = env.state_dir();
    let victim = env.path("victim");
    for name in [
        "changelog.jsonl",
        "changelog.jsonl.head",
        "changelog.jsonl.lock",
        "jobs.json",
    ] {
        if state.exists() {
            std::fs::remove_dir_all(&state).unwrap();
        }
        std::fs::create_dir(&state).unwrap();
        chmod(&state, 0o700);
        // empty: a change log wardend would happily append its start record to
        std::fs::write(&victim, b"").unwrap();
        let link = state.join(name);
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let out = env.run_to_exit(&[]).await;
        assert_refused(
            &env,
            &out,
            &["is a symbolic link", &format!("rm {}", link.display())],
        );
        assert!(
            std::fs::read(&victim).unwrap().is_empty(),
            "wardend wrote through the link {name}"
        );
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the link {name} was replaced"
        );
    }
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_files_are_0640_in_a_0750_directory_and_wider_ones_are_narrowed() {
    let env = Env::start(&["alpha"]).await;
    let log = env.log_dir();

    // created by wardend: 0750 directory, 0640 files
    {
        let _daemon = env.start_daemon(&Cfg::new(&["alpha"])).await;
        env.wait_log_line(&["wardend started"]).await;
        assert_eq!(mode(&log), 0o750);
        let files: Vec<_> = std::fs::read_dir(&log)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!files.is_empty(), "no log file");
        for f in &files {
            assert_eq!(mode(f), 0o640, "{}", f.display());
            assert_eq!(std::fs::metadata(f).unwrap().uid(), 0);
        }
        for state_file in std::fs::read_dir(env.state_dir()).unwrap() {
            let p = state_file.unwrap().path();
            assert_eq!(mode(&p) & 0o077, 0, "{} is open to others", p.display());
        }
    }

    // an existing 0755 directory with a 0644 log of an older wardend: narrowed, and said so
    chmod(&log, 0o755);
    let old = log.join("wardend.log.2020-01-01");
    std::fs::write(&old, b"old line\n").unwrap();
    chmod(&old, 0o644);
    {
        let _daemon = env.start_daemon(&Cfg::new(&["alpha"])).await;
        let line = env
            .wait_log_line(&["narrowed", &log.display().to_string(), "0755", "0750"])
            .await;
        assert!(line.contains("WARN"), "{line}");
        env.wait_log_line(&["narrowed", &old.display().to_string(), "0644", "0640"])
            .await;
        assert_eq!(mode(&log), 0o750);
        assert_eq!(mode(&old), 0o640);
    }

    // a link among the log files is refused: the appender would write through it
    let victim = env.path("victim");
    std::fs::write(&victim, b"keep\n").unwrap();
    let link = log.join("wardend.log.2020-01-02");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    // the killed daemon's socket file is left behind; the refusal must not create one
    std::fs::remove_file(env.socket()).unwrap();
    let out = env.run_to_exit(&[]).await;
    assert_refused(
        &env,
        &out,
        &["is a symbolic link", &link.display().to_string()],
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep\n");
    env.assert_no_secret_leaks();
}
