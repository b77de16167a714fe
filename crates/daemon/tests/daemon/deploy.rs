//! The systemd unit in `deploy/systemd`: `systemd-analyze verify` accepts it with the built
//! wardend, and it agrees with what wardend does (notify protocol, exit code 2, stop time,
//! the system calls it needs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WARDEND: &str = env!("CARGO_BIN_EXE_wardend");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn unit_text() -> String {
    std::fs::read_to_string(workspace().join("deploy/systemd/jamf-warden.service")).unwrap()
}

fn systemd_analyze() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|d| d.join("systemd-analyze"))
        .find(|p| p.is_file())
}

/// `systemd-analyze verify` on `text` saved as `jamf-warden.service`; returns the lines of
/// its output that concern the unit.
fn verify(analyze: &Path, text: &str) -> (bool, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("jamf-warden.service");
    std::fs::write(&unit, text).unwrap();
    let out = Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = all
        .lines()
        .filter(|l| l.contains("jamf-warden.service"))
        .map(str::to_string)
        .collect();
    (out.status.success(), ours)
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let Some(analyze) = systemd_analyze() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-analyze is not installed; CI must verify the systemd unit (apt-get install systemd)"
        );
        eprintln!("SKIPPED: systemd-analyze is not installed; cannot verify the systemd unit");
        return;
    };
    let unit = unit_text();
    // the packages install wardend in /usr/bin (scripts/test-install.sh verifies the installed
    // unit against the installed binary)
    let exec = "ExecStart=/usr/bin/wardend ";
    assert!(unit.contains(exec), "the unit no longer starts {exec}");
    let ours = unit.replace("/usr/bin/wardend ", &format!("{WARDEND} "));

    let (ok, problems) = verify(&analyze, &ours);
    assert!(
        ok && problems.is_empty(),
        "systemd-analyze verify: {problems:#?}"
    );

    // Control: verify does report problems of this unit here (else the check above proves
    // nothing).
    let broken = ours.replace("[Service]\n", "[Service]\nNoSuchSetting=1\n");
    let (_, problems) = verify(&analyze, &broken);
    assert!(
        problems.iter().any(|l| l.contains("NoSuchSetting")),
        "systemd-analyze verify reports nothing in this environment: {problems:?}"
    );
}

/// The values of `key=` in the [Service] section, in order.
fn settings(unit: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}=");
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(&prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_unit_matches_what_wardend_does() {
    let unit = unit_text();
    // wardend speaks sd_notify (READY/RELOADING/STOPPING, see tests/daemon/notify.rs) ...
    assert_eq!(settings(&unit, "Type"), ["notify"]);
    // ... reloads on SIGHUP (tests/daemon/reload.rs) ...
    assert_eq!(settings(&unit, "ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    // ... and exits 2 on configuration and start-up errors (tests/daemon/startup_errors.rs).
    assert_eq!(settings(&unit, "RestartPreventExitStatus"), ["2"]);
    // RestartPreventExitStatus= concerns the main process only: an ExecStartPre= that exits 2
    // (a `--check-config` of a bad file) was restarted every RestartSec, forever. wardend's own
    // start does the same checks and its exit 2 is not restarted.
    assert!(
        settings(&unit, "ExecStartPre").is_empty(),
        "an ExecStartPre= failure is restarted in a loop whatever its exit status"
    );
    // Whatever else fails at start (a missing LoadCredential= file, a crash) is bounded.
    assert_eq!(settings(&unit, "Restart"), ["on-failure"]);
    assert!(!settings(&unit, "StartLimitBurst").is_empty());
    assert!(!settings(&unit, "StartLimitIntervalSec").is_empty());

    // A graceful stop takes at most stop_grace + 10 s for cancelled jobs + 5 s for open
    // connections: systemd must not SIGKILL earlier.
    let stop = settings(&unit, "TimeoutStopSec");
    let secs: u64 = stop[0].trim_end_matches('s').parse().unwrap();
    let worst = warden_daemon::RunOptions::default().stop_grace + Duration::from_secs(15);
    assert!(
        Duration::from_secs(secs) > worst,
        "TimeoutStopSec={secs}s is shorter than wardend's worst-case stop ({worst:?})"
    );

    // wardend chowns its socket to daemon.socket_group (the shipped config sets it). With
    // SystemCallFilter=~@privileged (which contains @chown) that chown fails with EPERM and
    // wardend cannot start, unless @chown is allowed again after the deny list.
    let shipped = std::fs::read_to_string(workspace().join("config/wardend.toml")).unwrap();
    assert!(
        shipped.contains("socket_group"),
        "the shipped config sets no socket_group"
    );
    let filters = settings(&unit, "SystemCallFilter");
    let denied_at = filters
        .iter()
        .position(|f| f.starts_with('~') && (f.contains("@privileged") || f.contains("@chown")));
    if let Some(at) = denied_at {
        assert!(
            filters[at + 1..]
                .iter()
                .any(|f| !f.starts_with('~') && f.split_whitespace().any(|s| s == "@chown")),
            "SystemCallFilter denies chown, which wardend needs for daemon.socket_group: {filters:?}"
        );
    }
}
