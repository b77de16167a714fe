//! `wardenctl bootstrap` end to end, against a fake daemon: how the login is read (never
//! without a terminal or `--password-stdin`), what the request carries, and what is printed.

#[allow(dead_code)]
use crate::support;

use std::io::Write;
use std::process::{Output, Stdio};

use secrecy::{ExposeSecret, SecretString};
use warden_core::management::{MANAGEMENT_NAME, MANAGEMENT_PRIVILEGES, MANAGEMENT_TOKEN_LIFETIME};
use warden_core::protocol::{
    BootstrapRequest, BootstrapResponse, ErrorCode, InstanceSummary, ObjectChange, Request,
    Response,
};

use support::{FakeDaemon, Reply, stderr, stdout};

const PASSWORD: &str = "Tr0ub4dor &3 pw";

fn answer() -> BootstrapResponse {
    BootstrapResponse {
        instance: "prod".into(),
        role_name: MANAGEMENT_NAME.into(),
        role_id: "7".into(),
        role: ObjectChange::Created,
        privileges: MANAGEMENT_PRIVILEGES.map(String::from).to_vec(),
        client_name: MANAGEMENT_NAME.into(),
        integration_id: 12,
        client: ObjectChange::Created,
        client_id: "b8b14453-8d28-4d0a-9493-c9cf7c040a1e".into(),
        vault_path: "secret/jamf-warden/instances/prod/management".into(),
        vault_version: 1,
        verified_scope: vec!["7".into()],
        token_lifetime_seconds: MANAGEMENT_TOKEN_LIFETIME.into(),
        replaced_working: false,
        user_session_closed: true,
        notes: vec![],
        change_seqs: vec![2, 3, 4, 5],
    }
}

fn bootstrap_daemon() -> FakeDaemon {
    FakeDaemon::start(|request| match request {
        Request::Instances => Response::Instances {
            instances: vec![InstanceSummary {
                name: "prod".into(),
                url: "https://prod.example".into(),
                roles: 0,
                clients: 0,
                parked: false,
                declared_roles: Vec::new(),
                declared_clients: Vec::new(),
            }],
        }
        .into(),
        Request::Bootstrap(_) => Response::Bootstrapped(Box::new(answer())).into(),
        _ => Response::error(ErrorCode::Unsupported, "not in this test").into(),
    })
}

/// The bootstrap requests the daemon received.
fn bootstraps(daemon: &FakeDaemon) -> Vec<Request> {
    daemon
        .requests()
        .into_iter()
        .filter(|r| matches!(r, Request::Bootstrap(_)))
        .collect()
}

/// Runs `wardenctl --socket S ARGS` with `input` on stdin (a pipe, never a terminal).
fn ctl_with_stdin(daemon: &FakeDaemon, args: &[&str], input: &str) -> Output {
    let socket = daemon.socket.to_str().unwrap();
    let mut full = vec!["--socket", socket];
    full.extend_from_slice(args);
    let mut child = support::ctl_cmd(&full)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // wardenctl may refuse and exit before reading: a closed pipe is fine here.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

fn expected_request(force: bool) -> Request {
    Request::Bootstrap(BootstrapRequest {
        instance: "prod".into(),
        username: "jamf-admin".into(),
        password: SecretString::from(PASSWORD),
        force,
    })
}

fn assert_no_password(output: &Output) {
    assert!(!stdout(output).contains(PASSWORD), "{}", stdout(output));
    assert!(!stderr(output).contains(PASSWORD), "{}", stderr(output));
}

#[test]
fn refused_without_a_terminal_or_password_stdin() {
    let daemon = bootstrap_daemon();
    // stdin is /dev/null: not a terminal.
    let output = daemon.ctl(&["bootstrap", "prod", "--username", "jamf-admin"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("pass --password-stdin"),
        "{}",
        stderr(&output)
    );
    assert!(daemon.requests().is_empty(), "nothing may reach the daemon");
    // A pipe is not a terminal either.
    let output = ctl_with_stdin(&daemon, &["bootstrap", "prod"], "jamf-admin\npw\n");
    assert_eq!(output.status.code(), Some(2));
    assert!(daemon.requests().is_empty());
}

#[test]
fn password_stdin_sends_the_login_and_prints_the_advice() {
    let daemon = bootstrap_daemon();
    let output = ctl_with_stdin(
        &daemon,
        &["bootstrap", "prod", "--password-stdin"],
        &format!("jamf-admin\n{PASSWORD}\n"),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // The instance is checked before the login is read, then the login is sent.
    assert!(matches!(daemon.requests()[0], Request::Instances));
    assert_eq!(bootstraps(&daemon), vec![expected_request(false)]);
    let Request::Bootstrap(sent) = &bootstraps(&daemon)[0] else {
        unreachable!()
    };
    assert_eq!(sent.password.expose_secret(), PASSWORD);
    let text = stdout(&output);
    for wanted in [
        "bootstrapped Warden's management client on prod",
        "\"Jamf Warden\" (id 7): created, with exactly these 8 privileges:",
        "Delete API Integrations",
        "client id b8b14453-8d28-4d0a-9493-c9cf7c040a1e",
        "vault at secret/jamf-warden/instances/prod/management (version 1)",
        "scope role 7 only",
        "the admin user account is no longer needed by Warden; disable or remove its API access",
        "can grant itself any privilege",
        "like an admin password",
    ] {
        assert!(text.contains(wanted), "{wanted:?} not in\n{text}");
    }
    assert_no_password(&output);
}

#[test]
fn username_flag_takes_only_the_password_from_stdin() {
    let daemon = bootstrap_daemon();
    let output = ctl_with_stdin(
        &daemon,
        &[
            "bootstrap",
            "prod",
            "--username",
            "jamf-admin",
            "--password-stdin",
            "--force",
            "--json",
        ],
        &format!("{PASSWORD}\r\n"),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(bootstraps(&daemon), vec![expected_request(true)]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["vault_version"], 1);
    assert_eq!(json["client_id"], "b8b14453-8d28-4d0a-9493-c9cf7c040a1e");
    assert_no_password(&output);
}

#[test]
fn missing_password_is_refused_before_the_daemon() {
    let daemon = bootstrap_daemon();
    let output = ctl_with_stdin(
        &daemon,
        &["bootstrap", "prod", "--password-stdin"],
        "jamf-admin\n",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("password"), "{}", stderr(&output));
    assert!(bootstraps(&daemon).is_empty());
}

#[test]
fn unknown_instance_is_refused_before_the_login_is_read() {
    let daemon = bootstrap_daemon();
    let output = ctl_with_stdin(
        &daemon,
        &["bootstrap", "prdo", "--password-stdin"],
        &format!("jamf-admin\n{PASSWORD}\n"),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("wardend has no instance prdo (configured: prod)"),
        "{}",
        stderr(&output)
    );
    assert!(bootstraps(&daemon).is_empty());
}

#[test]
fn daemon_refusal_is_shown_with_exit_2() {
    let daemon = FakeDaemon::start(|_| {
        Reply::from(Response::error(
            ErrorCode::Conflict,
            "the management credentials at vault path secret/x still work; rerun bootstrap with --force to replace them",
        ))
    });
    let output = ctl_with_stdin(
        &daemon,
        &[
            "bootstrap",
            "prod",
            "--username",
            "jamf-admin",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("conflict: the management credentials"),
        "{}",
        stderr(&output)
    );
    assert_no_password(&output);
}
