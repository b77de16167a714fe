//! The real `wardenctl audit` against the daemon in-process: it writes the Markdown, HTML and SARIF
//! reports, shows one client's view, and exits by `--fail-on` (2 for an instance that could not
//! be audited: unreachable, or not audited yet for `--last`). No secret shows up in any report,
//! output, log or state file.

use crate::common;

use std::path::PathBuf;

use common::audit::{WARDEN, all_secrets, code, ctl, start_empty};
use common::rotation::NO_JOBS;
use common::{Cfg, Daemon, Env};
use serde_json::{Value, json};
use warden_core::audit::{AuditReport, RULE_PACK_VERSION};

/// `alpha` with an undeclared client on a role that can escalate, and `dead`, an instance whose
/// Jamf is gone; wardend running on both with no scheduled job.
struct CtlEstate {
    env: Env,
    /// Kept running until the test ends.
    _daemon: Daemon,
    socket: PathBuf,
    alpha_url: String,
    minted: Vec<String>,
}

impl CtlEstate {
    async fn start() -> CtlEstate {
        let mut env = start_empty(&["alpha"]).await;
        // A second instance whose Jamf is gone: its credentials are in Vault, nothing listens.
        env.sim.try_add_instance("dead", Some(true)).unwrap();
        env.add_instance("dead").await;
        let dead_url = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", listener.local_addr().unwrap())
        };
        let sim = &env.instance("alpha").sim;
        sim.create_role("Escalator", ["Update API Integrations"])
            .unwrap();
        let (id, _) = sim
            .create_client("Escalator Client", ["Escalator"], true, 300)
            .unwrap();
        let minted = vec![sim.mint_secret(id).unwrap()];

        let mut cfg = Cfg::new(&["alpha", "dead"]);
        cfg.schedules = NO_JOBS.into();
        env.write_rotation_config(&cfg, "version = 1\n");
        let text = std::fs::read_to_string(env.config_path()).unwrap();
        let text = text.replace(
            &format!("url = \"{}\"", env.instance("dead").url),
            &format!("url = \"{dead_url}\""),
        );
        assert!(text.contains(&dead_url));
        std::fs::write(env.config_path(), text).unwrap();
        let daemon = env.start_wardend(None).await;
        let socket = daemon.socket.clone();
        let alpha_url = env.instance("alpha").url.clone();
        CtlEstate {
            env,
            _daemon: daemon,
            socket,
            alpha_url,
            minted,
        }
    }

    /// `wardenctl --socket S ARGS`.
    fn ctl(&self, args: &[&str]) -> std::process::Output {
        ctl(&self.env, &self.socket, args)
    }

    /// No secret in the daemon's files, `wardenctl`'s output or the reports named `files`.
    async fn assert_nothing_leaked(&self, files: &[&str]) {
        let env = &self.env;
        let mut secrets = all_secrets(env, "alpha", &[], &self.minted).await;
        secrets.extend(env.standing_secrets("dead").await);
        let mut paths = env.daemon_files();
        for f in files.iter().chain(&["ctl.out", "ctl.err"]) {
            paths.push(env.path(f));
        }
        env.assert_absent_from(&paths, &secrets);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardenctl_writes_markdown_to_a_file_and_exits_1_on_a_finding() {
    let estate = CtlEstate::start().await;
    let env = &estate.env;
    let alpha_url = &estate.alpha_url;

    // Markdown to a file: exit 1 (an unsuppressed finding at or above the default, low).
    let md = env.path("audit.md");
    let out = estate.ctl(&[
        "audit",
        "alpha",
        "--format",
        "markdown",
        "--output",
        md.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    assert!(out.stdout.is_empty(), "the report went to the file");
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.starts_with("# Jamf Warden audit report\n"),
        "{markdown}"
    );
    for needle in [
        "JW-ESC-001",
        "JW-HYG-007",
        "Escalator Client",
        "Update API Integrations",
        alpha_url.as_str(),
        RULE_PACK_VERSION,
        "522",
    ] {
        assert!(markdown.contains(needle), "{needle} not in {markdown}");
    }

    estate.assert_nothing_leaked(&["audit.md"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardenctl_writes_a_self_contained_html_report() {
    let estate = CtlEstate::start().await;
    let env = &estate.env;

    // HTML: one self-contained file (no script, no external resource).
    let html_path = env.path("audit.html");
    let out = estate.ctl(&[
        "audit",
        "alpha",
        "--format",
        "html",
        "--output",
        html_path.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("<style>"));
    for banned in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!html.contains(banned), "{banned} in the HTML report");
    }
    for needle in ["JW-ESC-001", "Escalator Client", "Update API Integrations"] {
        assert!(html.contains(needle), "{needle} not in the HTML report");
    }

    estate.assert_nothing_leaked(&["audit.html"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardenctl_writes_sarif_with_the_findings_and_the_accepted_suppression() {
    let estate = CtlEstate::start().await;

    // SARIF on stdout parses as SARIF 2.1.0 with the findings and the accepted suppression.
    let out = estate.ctl(&["audit", "alpha", "--format", "sarif"]);
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let esc: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "JW-ESC-001")
        .collect();
    assert_eq!(esc.len(), 2, "the escalator and Warden's own role");
    let escalator = esc
        .iter()
        .find(|r| r["properties"]["subject"] == "Escalator")
        .unwrap();
    assert_eq!(
        escalator["properties"]["privileges"],
        json!(["Update API Integrations"])
    );
    assert!(escalator.get("suppressions").is_none());
    let own = esc
        .iter()
        .find(|r| r["properties"]["subject"] == WARDEN)
        .unwrap();
    assert_eq!(own["suppressions"][0]["status"], "accepted");

    estate.assert_nothing_leaked(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardenctl_audit_exits_by_fail_on() {
    let estate = CtlEstate::start().await;

    // --fail-on: a critical finding exists (the escalator role).
    let out = estate.ctl(&[
        "audit",
        "alpha",
        "--format",
        "json",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let report: AuditReport = serde_json::from_slice(&out.stdout).expect("the JSON report");
    assert_eq!(report.summary.critical, 1);
    assert_eq!(report.summary.medium, 1, "the undeclared client");
    let out = estate.ctl(&["audit", "alpha", "--fail-on", "never"]);
    assert_eq!(code(&out), 0, "{}", common::text(&out.stderr));
    assert!(common::text(&out.stdout).contains("JW-ESC-001"));

    estate.assert_nothing_leaked(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardenctl_audit_client_shows_one_client_and_refuses_an_unknown_one() {
    let estate = CtlEstate::start().await;

    // The client view.
    let out = estate.ctl(&["audit", "client", "alpha/Escalator Client"]);
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let view = common::text(&out.stdout);
    for needle in [
        "Client \"Escalator Client\" on alpha",
        "Effective privileges: 1",
        "Update API Integrations",
        "JW-ESC-001",
        "JW-HYG-007",
    ] {
        assert!(view.contains(needle), "{needle} not in {view}");
    }
    let out = estate.ctl(&["audit", "client", "alpha/Nobody"]);
    assert_eq!(code(&out), 2);
    assert!(common::text(&out.stderr).contains("Nobody"));

    estate.assert_nothing_leaked(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardenctl_audit_last_before_any_scheduled_audit_exits_2() {
    let estate = CtlEstate::start().await;

    // --last before any scheduled audit: the instance could not be audited.
    let out = estate.ctl(&["audit", "alpha", "--last"]);
    assert_eq!(code(&out), 2);
    assert!(
        common::text(&out.stderr).contains("not audited yet"),
        "{}",
        common::text(&out.stderr)
    );

    estate.assert_nothing_leaked(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_instance_makes_wardenctl_exit_2_with_the_report_still_written() {
    let estate = CtlEstate::start().await;
    let env = &estate.env;

    // Every instance, one unreachable: exit 2, the report still written with both.
    let all = env.path("all.json");
    let out = estate.ctl(&[
        "audit",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--output",
        all.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2, "{}", common::text(&out.stderr));
    let stderr = common::text(&out.stderr);
    assert!(stderr.contains("could not be audited"), "{stderr}");
    assert!(stderr.contains("dead"), "{stderr}");
    let report: AuditReport =
        serde_json::from_str(&std::fs::read_to_string(&all).unwrap()).unwrap();
    assert_eq!(report.instances.len(), 2);
    assert!(report.instances[0].error.is_none());
    assert!(report.instances[1].error.is_some());
    assert_eq!(report.instances[1].instance, "dead");
    assert_eq!(report.summary.errors, 1);

    estate.assert_nothing_leaked(&["all.json"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardenctl_ends_cleanly_when_its_reader_closes_the_pipe() {
    let estate = CtlEstate::start().await;
    // stdout is a pipe whose reading end is closed before wardenctl starts: every write to it
    // fails with a broken pipe, as under `wardenctl audit | head -1` once head has exited
    for format in ["sarif", "json", "table"] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let out = std::process::Command::new(common::wardenctl())
            .arg("--socket")
            .arg(&estate.socket)
            .args(["audit", "alpha", "--format", format])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", estate.env.dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run wardenctl");
        let err = common::text(&out.stderr);
        // the exit status still says there are findings; nothing about the pipe on stderr
        assert_eq!(code(&out), 1, "{format}: {err}");
        assert!(!err.contains("panicked"), "{format}: {err}");
        assert!(!err.contains("failed to write"), "{format}: {err}");
    }
}
