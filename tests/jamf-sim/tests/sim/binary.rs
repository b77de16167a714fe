//! The `jamf-sim` binary: ready line, serving, clean exit on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn prints_the_ready_line_serves_and_exits_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jamf-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--user",
            "admin:secret:admin",
            "--user",
            "auditor:pw:auditor",
            "--instance",
            "blue",
            "--instances",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn jamf-sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("ready line in time")
        .expect("read stdout")
        .expect("a line");
    let url = line
        .strip_prefix("jamf-sim listening on ")
        .unwrap_or_else(|| panic!("unexpected line: {line}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"), "a real port: {url}");

    let http = reqwest::Client::new();
    for base in [
        url.clone(),
        format!("{url}/instances/blue"),
        format!("{url}/instances/tenant-2"),
    ] {
        let resp = http
            .post(format!("{base}/api/v1/auth/token"))
            .basic_auth("admin", Some("secret"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{base}");
    }

    #[cfg(unix)]
    {
        let pid = child.id().expect("pid").to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("exits in time")
            .unwrap();
        assert!(exit.success(), "clean exit: {exit:?}");
    }
}

#[tokio::test]
async fn prints_each_instance_port_url_before_the_ready_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jamf-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--user",
            "admin:secret:admin",
            "--instance-port",
            "blue=0",
            "--instance-port",
            "green=0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn jamf-sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut own = Vec::new();
    let main_url = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("a line in time")
            .expect("read stdout")
            .expect("a line");
        if let Some(url) = line.strip_prefix("jamf-sim listening on ") {
            break url.to_owned();
        }
        let rest = line
            .strip_prefix("jamf-sim instance ")
            .unwrap_or_else(|| panic!("unexpected line: {line}"));
        let (name, url) = rest.split_once(" on ").expect("NAME on URL");
        own.push((name.to_owned(), url.to_owned()));
    };
    let names: Vec<&str> = own.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["blue", "green"]);
    let http = reqwest::Client::new();
    for (name, url) in &own {
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
            "{url}"
        );
        assert_ne!(url, &main_url);
        let resp = http
            .post(format!("{url}/api/v1/auth/token"))
            .basic_auth("admin", Some("secret"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{name} at the root of {url}");
        // The instance exists on the main port too.
        let resp = http
            .post(format!("{main_url}/instances/{name}/api/v1/auth/token"))
            .basic_auth("admin", Some("secret"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{name} under /instances/");
    }
    child.kill().await.expect("kill jamf-sim");
}

#[tokio::test]
async fn rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_jamf-sim"))
        .args(["--listen", "127.0.0.1:0", "--user", "nocolon"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_jamf-sim"))
        .args(["--listen", "127.0.0.1:0", "--error-rate", "3"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    for bad in ["blue", "=8080", "blue=99999", "blue=x"] {
        let out = Command::new(env!("CARGO_BIN_EXE_jamf-sim"))
            .args(["--listen", "127.0.0.1:0", "--instance-port", bad])
            .output()
            .await
            .unwrap();
        assert!(!out.status.success(), "--instance-port {bad}");
    }
}
