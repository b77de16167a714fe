//! `wardenctl` end to end, against a fake daemon on a temp-dir socket.

use crate::support;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use warden_core::changelog::{Head, Problem, ProblemKind, VerifyReport};
use warden_core::protocol::{
    ErrorCode, HelloResponse, InstanceStatus, InstanceSummary, JobKind, JobOutcome, JobStatus,
    LogTailRequest, ReportFormat, ReportKind, ReportResponse, Request, Response, RotateRequest,
    RotateResponse, StatusReport,
};

use support::{FakeDaemon, Reply, ctl, ctl_cmd, is_root, stderr, stdout};

fn status_report() -> StatusReport {
    // the real clock: wardenctl, run as a process, renders times relative to it
    let now = warden_core::clock::system()();
    StatusReport {
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_secs: 3_700,
        config_path: "/etc/jamf-warden/wardend.toml".into(),
        started_at: Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap(),
        vault: None,
        cluster: None,
        instances: vec![
            InstanceStatus {
                name: "prod".into(),
                url: "https://prod.example".into(),
                reachable: Some(true),
                last_error: None,
                parked: false,
                consecutive_failures: 0,
                jobs: vec![JobStatus {
                    kind: JobKind::Drift,
                    target: None,
                    last_run: None,
                    last_success: None,
                    last_outcome: None,
                    next_run: Some(now + Duration::minutes(10)),
                    running: false,
                }],
                remediation_waits: None,
            },
            InstanceStatus {
                name: "lab".into(),
                url: "https://lab.example".into(),
                reachable: Some(false),
                last_error: Some("connect timeout".into()),
                parked: true,
                consecutive_failures: 4,
                jobs: vec![JobStatus {
                    kind: JobKind::Rotate,
                    target: Some("backup".into()),
                    last_run: Some(now - Duration::hours(3)),
                    last_success: None,
                    last_outcome: Some(JobOutcome::Failed),
                    next_run: None,
                    running: false,
                }],
                remediation_waits: None,
            },
        ],
    }
}

/// A daemon that answers `status` with [`status_report`] and everything else `unsupported`.
fn status_daemon() -> FakeDaemon {
    FakeDaemon::start(|request| match request {
        Request::Status => Response::Status(status_report()).into(),
        _ => Response::error(ErrorCode::Unsupported, "not in this test").into(),
    })
}

fn record_json(seq: u64, extra: &str) -> String {
    format!(
        r#"{{"seq":{seq},"time":"2026-05-01T10:00:0{seq}.000000Z","actor":{{"kind":"daemon"}},"instance":"prod","object":{{"kind":"config","name":"wardend.toml","id":null}},"action":"reload","before":{{"z":1,"a":2}},"after":null,"outcome":"ok","error":null,"prev":"{}","hash":"{}"{extra}}}"#,
        "0".repeat(64),
        "a".repeat(64)
    )
}

#[test]
fn status_human() {
    let daemon = status_daemon();
    let output = daemon.ctl(&["status"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "lab is parked: {}",
        stderr(&output)
    );
    let text = stdout(&output);
    assert!(
        text.contains(&format!("wardend {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("uptime   1h 1m"), "{text}");
    assert!(text.contains("/etc/jamf-warden/wardend.toml"), "{text}");
    assert!(text.contains("warning: instance lab is PARKED"), "{text}");
    assert!(text.contains("never"), "{text}");
    assert!(text.contains("(in 10m)"), "{text}");
    assert!(text.contains("(3h ago)"), "{text}");
    assert_eq!(stderr(&output), "");
    assert_eq!(daemon.requests(), vec![Request::Status]);
}

#[test]
fn status_json_parses_back() {
    let daemon = status_daemon();
    let output = daemon.ctl(&["status", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let parsed: StatusReport = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(parsed, status_report_without_times(&parsed));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["schema"], "warden.status/1");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["instances"][1]["state"], "PARKED");
}

#[test]
fn status_check_prints_one_line_per_problem_and_exits_by_health() {
    let daemon = status_daemon();
    let output = daemon.ctl(&["status", "--check"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("instance lab is PARKED after")),
        "{text}"
    );
    assert!(lines.iter().all(|l| l.starts_with("instance ")), "{text}");

    let healthy = FakeDaemon::start(|request| match request {
        Request::Status => {
            let mut report = status_report();
            report.instances.retain(|i| !i.parked);
            for job in report.instances.iter_mut().flat_map(|i| i.jobs.iter_mut()) {
                job.last_outcome = None;
            }
            Response::Status(report).into()
        }
        _ => Response::error(ErrorCode::Unsupported, "not in this test").into(),
    });
    let output = healthy.ctl(&["status", "--check"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "", "nothing to say when all is well");
    let output = healthy.ctl(&["status"]);
    assert_eq!(output.status.code(), Some(0));
}

/// [`status_report`] with the `now`-relative times taken from `parsed` (they differ per call).
fn status_report_without_times(parsed: &StatusReport) -> StatusReport {
    let mut expected = status_report();
    expected.instances[0].jobs[0].next_run = parsed.instances[0].jobs[0].next_run;
    expected.instances[1].jobs[0].last_run = parsed.instances[1].jobs[0].last_run;
    expected
}

#[test]
fn version_note_goes_to_stderr_only() {
    let daemon = FakeDaemon::start_with_hello(
        |_| {
            Response::Hello(HelloResponse {
                protocol_version: warden_core::protocol::PROTOCOL_VERSION,
                daemon_version: "9.9.9".into(),
            })
        },
        |_| Response::Status(status_report()).into(),
    );
    let output = daemon.ctl(&["status", "--json"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the sample has a parked instance"
    );
    assert!(serde_json::from_slice::<StatusReport>(&output.stdout).is_ok());
    assert!(
        stderr(&output).contains("wardend is 9.9.9"),
        "{}",
        stderr(&output)
    );
    let quiet = daemon.ctl(&["status", "--json", "-q"]);
    assert_eq!(stderr(&quiet), "");
}

#[test]
fn version_mismatch_is_a_clear_error() {
    let daemon = FakeDaemon::start_with_hello(
        |_| {
            Response::Hello(HelloResponse {
                protocol_version: 99,
                daemon_version: "9.0.0".into(),
            })
        },
        |_| Response::ok("unreachable").into(),
    );
    let output = daemon.ctl(&["status"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.starts_with("wardenctl: incompatible wardend at "),
        "{err}"
    );
    assert!(err.contains("wardend 9.0.0 speaks protocol 99"), "{err}");
    assert!(
        err.contains("use the wardenctl that ships with this wardend"),
        "{err}"
    );
    assert_eq!(stdout(&output), "");

    // The daemon's own refusal, as `HelloRequest::answer` builds it.
    let refusing = FakeDaemon::start_with_hello(
        |_| {
            Response::error(
                ErrorCode::VersionMismatch,
                "wardenctl speaks protocol 1, wardend 2.0.0 speaks protocol 2; use the wardenctl that ships with this wardend",
            )
        },
        |_| Response::ok("unreachable").into(),
    );
    let output = refusing.ctl(&["instances"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("wardend 2.0.0 speaks protocol 2"));
}

#[test]
fn instances_table() {
    let daemon = FakeDaemon::start(|request| match request {
        Request::Instances => Response::Instances {
            instances: vec![
                InstanceSummary {
                    name: "prod".into(),
                    url: "https://prod.example".into(),
                    roles: 7,
                    clients: 3,
                    parked: false,
                    declared_roles: vec![warden_core::protocol::DeclaredRoleSummary {
                        name: "Inventory Read".into(),
                        privileges: 2,
                        external: false,
                    }],
                    declared_clients: vec![warden_core::protocol::DeclaredClientSummary {
                        name: "Backup".into(),
                        roles: vec!["Inventory Read".into()],
                        enabled: true,
                        owner: "it-ops".into(),
                        vault_path: "instances/prod/clients/backup".into(),
                    }],
                },
                InstanceSummary {
                    name: "lab".into(),
                    url: "https://lab.example".into(),
                    roles: 1,
                    clients: 0,
                    parked: true,
                    declared_roles: Vec::new(),
                    declared_clients: Vec::new(),
                },
            ],
        }
        .into(),
        Request::Status => Response::Status(status_report()).into(),
        _ => Response::error(ErrorCode::Unsupported, "no").into(),
    });
    let output = daemon.ctl(&["instances"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("NAME"), "{text}");
    let prod: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        prod,
        ["prod", "https://prod.example", "yes", "7", "3", "no"]
    );
    let lab: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        lab,
        ["lab", "https://lab.example", "no", "1", "0", "PARKED"]
    );

    let json = daemon.ctl(&["instances", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["instances"][1]["parked"], json!(true));
    assert_eq!(
        value["instances"][0]["declared_roles"][0]["name"],
        json!("Inventory Read")
    );
    assert_eq!(
        value["instances"][0]["declared_clients"][0]["roles"],
        json!(["Inventory Read"])
    );
}

#[test]
fn log_tail_sends_n_and_prints_one_line_per_record() {
    let daemon = FakeDaemon::start(|request| match request {
        Request::LogTail(_) => Reply::Raw(format!(
            r#"{{"type":"log_tail","records":[{},{}]}}"#,
            record_json(1, ""),
            record_json(2, r#","from_the_future":true"#)
        )),
        _ => Response::error(ErrorCode::Unsupported, "no").into(),
    });
    let output = daemon.ctl(&["log", "tail", "-n", "2"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        daemon.requests(),
        vec![Request::LogTail(LogTailRequest { n: 2 })]
    );
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (line, seq) in lines[1..].iter().zip(["1", "2"]) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                seq,
                &format!("2026-05-01T10:00:0{seq}Z"),
                "daemon",
                "prod",
                "config:wardend.toml",
                "reload",
                "ok",
                "-"
            ]
        );
    }

    // --json: the records exactly as received, unknown members and member order included.
    let json = daemon.ctl(&["log", "tail", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    assert_eq!(
        stdout(&json),
        format!(
            "{}\n{}\n",
            record_json(1, ""),
            record_json(2, r#","from_the_future":true"#)
        )
    );
    assert_eq!(
        daemon.requests()[1],
        Request::LogTail(LogTailRequest { n: 20 })
    );
}

fn verify_report(problem: Option<Problem>) -> VerifyReport {
    VerifyReport {
        path: "/var/lib/jamf-warden/changelog.jsonl".into(),
        records: 3,
        last: Some(Head {
            seq: 3,
            hash: "b".repeat(64),
        }),
        head: Some(Head {
            seq: 3,
            hash: "b".repeat(64),
        }),
        head_lag: None,
        problem,
        legacy_records: 0,
        macs_checked: true,
        recovery_points: Vec::new(),
    }
}

#[test]
fn log_verify_ok_exits_0() {
    let daemon = FakeDaemon::start(|_| Response::LogVerify(verify_report(None)).into());
    let output = daemon.ctl(&["log", "verify"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "change log ok: 3 records, head seq 3, 3 record MACs verified with the key kept in Vault\n"
    );
    assert_eq!(daemon.requests(), vec![Request::LogVerify]);

    let json = daemon.ctl(&["log", "verify", "--json"]);
    let parsed: VerifyReport = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed, verify_report(None));
}

#[test]
fn log_verify_problem_exits_1() {
    let problem = Problem {
        line: 2,
        seq: Some(2),
        kind: ProblemKind::ChainBroken,
        message: "record seq 2 does not follow seq 1".into(),
    };
    let daemon = FakeDaemon::start(move |_| {
        let mut report = verify_report(Some(problem.clone()));
        report.records = 1;
        Response::LogVerify(report).into()
    });
    let output = daemon.ctl(&["log", "verify"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with(
            "change log FAILED at line 2 (seq 2): chain_broken: record seq 2 does not follow seq 1\n"
        ),
        "{text}"
    );
    assert_eq!(
        daemon.ctl(&["log", "verify", "--json"]).status.code(),
        Some(1)
    );
}

#[test]
fn log_verify_names_a_forged_record_and_legacy_records() {
    let problem = Problem {
        line: 4,
        seq: Some(4),
        kind: ProblemKind::MacInvalid,
        message: "record seq 4 carries a MAC that does not verify".into(),
    };
    let daemon = FakeDaemon::start(move |_| {
        let mut report = verify_report(Some(problem.clone()));
        report.legacy_records = 1;
        Response::LogVerify(report).into()
    });
    let output = daemon.ctl(&["log", "verify"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with(
            "change log FAILED at line 4 (seq 4): mac_invalid: record seq 4 carries a MAC"
        ),
        "{}",
        stdout(&output)
    );
    let daemon = FakeDaemon::start(move |_| {
        let mut report = verify_report(None);
        report.legacy_records = 2;
        Response::LogVerify(report).into()
    });
    let output = daemon.ctl(&["log", "verify"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "change log ok: 3 records, head seq 3, 1 record MAC verified with the key kept in Vault\n\
         note: the first 2 records predate record MACs and were verified by hash only\n"
    );
}

#[test]
fn reload_permission_denied_names_who_may() {
    let daemon = FakeDaemon::start(|request| match request {
        Request::Reload => {
            Response::error(ErrorCode::PermissionDenied, "uid 1000 may not send reload").into()
        }
        _ => Response::error(ErrorCode::Unsupported, "no").into(),
    });
    let output = daemon.ctl(&["reload"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.starts_with("wardenctl: permission_denied: uid 1000 may not send reload; "),
        "{err}"
    );
    assert!(
        err.contains("daemon.admin_uids") && err.contains("daemon.admin_gids"),
        "{err}"
    );
    assert!(err.contains("`wardenctl reload`"), "{err}");
    assert_eq!(stdout(&output), "");
}

#[test]
fn reload_prints_the_summary() {
    let daemon = FakeDaemon::start(|_| {
        Response::Reloaded {
            summary: "instance lab added\n".into(),
        }
        .into()
    });
    let output = daemon.ctl(&["reload"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "configuration reloaded:\n  instance lab added\n"
    );
}

#[test]
fn daemon_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("wardend.sock");
    let output = ctl(&["--socket", socket.to_str().unwrap(), "status"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.starts_with(&format!(
            "wardenctl: cannot reach wardend at {}: the daemon is not running (no socket at that path); start it with `systemctl start jamf-warden`, or pass --socket",
            socket.display()
        )),
        "{err}"
    );

    // A stale socket file with nobody listening.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let output = ctl(&["--socket", socket.to_str().unwrap(), "status"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("the daemon is not running (nothing listens on the socket)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn socket_permission_denied() {
    use std::os::unix::fs::PermissionsExt;

    let daemon = status_daemon();
    if is_root(daemon.dir.path()) {
        // Root bypasses file permissions, so EACCES cannot be provoked here (CI runs as root).
        // The message itself is unit-tested in `error::tests::connect_messages`.
        return;
    }
    let run_dir = daemon.socket.parent().unwrap().to_owned();
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    let output = daemon.ctl(&["status"]);
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains("join the group that owns the socket"), "{err}");
}

#[test]
fn completions_need_no_daemon() {
    let output = ctl(&[
        "--socket",
        "/nonexistent/wardend.sock",
        "completions",
        "bash",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let script = stdout(&output);
    assert!(script.contains("wardenctl"));
    assert!(script.contains("complete"));
}

#[test]
fn rotate_without_yes_and_terminal_is_refused() {
    let daemon = FakeDaemon::start(|_| Response::ok("should not be asked").into());
    let output = daemon.ctl(&["rotate", "prod/backup"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("pass --yes"), "{err}");
    assert!(daemon.requests().is_empty());

    let apply = daemon.ctl(&["apply", "prod"]);
    assert_eq!(apply.status.code(), Some(2));
    assert!(stderr(&apply).contains("pass --yes"));
    assert!(daemon.requests().is_empty());
}

#[test]
fn rotate_with_yes() {
    let daemon = FakeDaemon::start(|request| match request {
        Request::Rotate(rotate) => Response::Rotated(RotateResponse {
            instance: rotate.instance.clone(),
            client_id: "c-9".into(),
            vault_path: "secret/jamf-warden/prod/backup".into(),
            vault_version: 3,
            change_seq: 41,
        })
        .into(),
        _ => Response::error(ErrorCode::Unsupported, "no").into(),
    });
    let output = daemon.ctl(&["rotate", "prod/backup", "--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("rotated prod/backup (client id c-9)"));
    assert_eq!(
        daemon.requests(),
        vec![Request::Rotate(RotateRequest {
            instance: "prod".into(),
            client: "backup".into(),
            confirmed: true,
            recover: false,
            accept_out_of_band: false,
        })]
    );
}

#[test]
fn rotate_accepting_an_out_of_band_change_and_adopt() {
    let daemon = FakeDaemon::start(|request| match request {
        Request::Rotate(rotate) => Response::Rotated(RotateResponse {
            instance: rotate.instance.clone(),
            client_id: "c-9".into(),
            vault_path: "secret/jamf-warden/prod/backup".into(),
            vault_version: 3,
            change_seq: 41,
        })
        .into(),
        Request::Adopt(_) => Response::ok("prod/backup: cut over; mount:  secret").into(),
        _ => Response::error(ErrorCode::Unsupported, "no").into(),
    });
    let output = daemon.ctl(&["rotate", "prod/backup", "--yes", "--accept-out-of-band"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = daemon.ctl(&["adopt", "prod/backup", "--cutover", "now", "--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("mount:  secret"),
        "{}",
        stdout(&output)
    );
    let output = daemon.ctl(&[
        "adopt",
        "prod/backup",
        "--cutover",
        "at",
        "2026-03-01T09:00:00Z",
        "--yes",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = daemon.ctl(&["adopt", "prod/backup", "--switched", "--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // neither a cutover nor a switch: refused before the daemon is asked
    let output = daemon.ctl(&["adopt", "prod/backup", "--yes"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let adopt = |cutover, switched| {
        Request::Adopt(warden_core::protocol::AdoptRequest {
            instance: "prod".into(),
            client: "backup".into(),
            cutover,
            switched,
            confirmed: true,
        })
    };
    assert_eq!(
        daemon.requests(),
        vec![
            Request::Rotate(RotateRequest {
                instance: "prod".into(),
                client: "backup".into(),
                confirmed: true,
                recover: false,
                accept_out_of_band: true,
            }),
            adopt(Some(warden_core::protocol::Cutover::Now), false),
            adopt(
                Some(warden_core::protocol::Cutover::At {
                    at: "2026-03-01T09:00:00Z".parse().unwrap()
                }),
                false
            ),
            adopt(None, true),
        ]
    );
}

#[test]
fn unsupported_requests_say_so() {
    let daemon = FakeDaemon::start(|_| {
        Response::error(ErrorCode::Unsupported, "drift is not implemented").into()
    });
    let output = daemon.ctl(&["drift", "prod"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("wardenctl: this wardend does not implement `drift` yet"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn generic_reports_print_their_text() {
    let daemon = FakeDaemon::start(|_| {
        Response::Report(ReportResponse {
            kind: ReportKind::Secrets,
            instance: None,
            format: ReportFormat::Text,
            findings: 2,
            body: "2 secrets\n".into(),
        })
        .into()
    });
    let secrets = daemon.ctl(&["secrets"]);
    assert_eq!(secrets.status.code(), Some(0), "{}", stderr(&secrets));
    assert_eq!(stdout(&secrets), "2 secrets\n");
    let json_out = daemon.ctl(&["secrets", "--json"]);
    let report: ReportResponse = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(report.findings, 2);
}

#[test]
fn socket_from_flag_and_environment() {
    let daemon = status_daemon();
    let socket = daemon.socket.to_str().unwrap();

    let from_env = ctl_cmd(&["status", "--json"])
        .env("WARDEN_SOCKET", socket)
        .output()
        .unwrap();
    // 1: the sample report has a parked instance (the daemon was reached)
    assert_eq!(from_env.status.code(), Some(1), "{}", stderr(&from_env));

    // The flag wins over the environment.
    let from_flag = ctl_cmd(&["--socket", socket, "status", "--json"])
        .env("WARDEN_SOCKET", "/nonexistent/wardend.sock")
        .output()
        .unwrap();
    assert_eq!(from_flag.status.code(), Some(1), "{}", stderr(&from_flag));

    let wrong_env = ctl_cmd(&["status"])
        .env("WARDEN_SOCKET", "/nonexistent/wardend.sock")
        .output()
        .unwrap();
    assert_eq!(wrong_env.status.code(), Some(2));
    assert!(stderr(&wrong_env).contains("/nonexistent/wardend.sock"));
    assert_eq!(daemon.requests().len(), 2);
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let bad = ctl(&["log", "tail", "-n", "many"]);
    assert_eq!(bad.status.code(), Some(2));
    let unknown = ctl(&["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));

    let help = ctl(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = stdout(&help);
    assert!(text.contains("Exit status:"), "{text}");
    assert!(text.contains("1  findings"), "{text}");

    let version = ctl(&["--version"]);
    assert_eq!(
        stdout(&version),
        format!("wardenctl {}\n", env!("CARGO_PKG_VERSION"))
    );
}
