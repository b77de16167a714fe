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
}
