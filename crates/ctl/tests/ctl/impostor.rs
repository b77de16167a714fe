//! Issue 12, item 8: `wardenctl` sends nothing, least of all a password, to a process that
//! took the socket's path but does not run as root, the daemon user or the caller. The
//! impostor is a real process of another uid (nobody, via setpriv) that speaks the protocol
//! well enough to lure a client into sending `bootstrap`. Runs as root, as CI does.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use warden_core::protocol::{HelloResponse, InstanceSummary, PROTOCOL_VERSION, Response};

const SETPRIV: &str = "/usr/bin/setpriv";
const PYTHON: &str = "/usr/bin/python3";
const NOBODY: u32 = 65534;
const PASSWORD: &str = "impostor-bait-9f3c1e";

/// Listens on argv[1]; prints "ready", then the hex of every frame received, one per line;
/// answers a hello with argv[2], `instances` with argv[3], anything else with argv[4].
const IMPOSTOR: &str = r#"
import json, os, socket, struct, sys
path, hello, instances, other = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(8)
print("ready", flush=True)
def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
while True:
    c, _ = s.accept()
    while True:
        hdr = recv_exact(c, 4)
        if hdr is None:
            break
        (n,) = struct.unpack(">I", hdr)
        data = recv_exact(c, n)
        if data is None:
            break
        print(data.hex(), flush=True)
        kind = json.loads(data).get("type")
        answer = {"hello": hello, "instances": instances}.get(kind, other).encode()
        c.sendall(struct.pack(">I", len(answer)) + answer)
    c.close()
"#;

struct Impostor {
    child: Child,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Impostor {
    /// Starts the impostor as nobody in a directory nobody owns.
    fn start() -> Impostor {
        assert!(
            Path::new(SETPRIV).exists() && Path::new(PYTHON).exists(),
            "this test needs {SETPRIV} and {PYTHON}"
        );
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let socket = dir.path().join("wardend.sock");
        let hello = serde_json::to_string(&Response::Hello(HelloResponse {
            protocol_version: PROTOCOL_VERSION,
            daemon_version: env!("CARGO_PKG_VERSION").into(),
        }))
        .unwrap();
        let instances = serde_json::to_string(&Response::Instances {
            instances: vec![InstanceSummary {
                name: "prod".into(),
                url: "https://prod.example".into(),
                roles: 0,
                clients: 0,
                parked: false,
                declared_roles: Vec::new(),
                declared_clients: Vec::new(),
            }],
        })
        .unwrap();
        let other = serde_json::to_string(&Response::error(
            warden_core::protocol::ErrorCode::Internal,
            "impostor",
        ))
        .unwrap();
        let mut child = Command::new(SETPRIV)
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                PYTHON,
                "-c",
            ])
            .arg(IMPOSTOR)
            .arg(&socket)
            .args([&hello, &instances, &other])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the impostor");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the impostor did not start");
        Impostor {
            child,
            socket,
            _dir: dir,
        }
    }

    /// Stops it and returns every frame it received, decoded.
    fn received(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        self.child.wait().unwrap();
        out.lines()
            .map(|l| String::from_utf8(hex::decode(l).unwrap()).unwrap())
            .collect()
    }
}

fn ctl_with_stdin(args: &[&str], envs: &[(&str, &str)], input: &str) -> Output {
    let mut cmd = support::ctl_cmd(args);
    cmd.env_remove("WARDEN_DAEMON_USER")
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

#[test]
fn bootstrap_sends_nothing_to_an_impostor_of_another_uid() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test runs an impostor as another uid with setpriv and must run as root (as CI does)"
    );
    let impostor = Impostor::start();
    let socket = impostor.socket.to_str().unwrap().to_owned();
    let out = ctl_with_stdin(
        &["--socket", &socket, "bootstrap", "prod", "--password-stdin"],
        &[],
        &format!("jamf-admin\n{PASSWORD}\n"),
    );
    let stderr = support::stderr(&out);
    let received = impostor.received();
    assert!(
        received.iter().all(|f| !f.contains(PASSWORD)),
        "the impostor received the password: {received:?}"
    );
    assert!(received.is_empty(), "the impostor received {received:?}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to talk to")
            && stderr.contains("uid 65534 (nobody)")
            && stderr.contains("`jamf-warden`")
            && stderr.contains("impostor")
            && stderr.contains("nothing was sent")
            && stderr.contains("--daemon-user"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD) && !support::stdout(&out).contains(PASSWORD));
}

#[test]
fn a_daemon_running_as_the_named_daemon_user_is_accepted() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test runs a listener as another uid with setpriv and must run as root (as CI does)"
    );
    // by name on the command line, and by uid in the environment
    for (args, envs) in [
        (vec!["--daemon-user", "nobody"], vec![]),
        (vec![], vec![("WARDEN_DAEMON_USER", "65534")]),
    ] {
        let daemon = Impostor::start();
        let socket = daemon.socket.to_str().unwrap().to_owned();
        let mut full = vec!["--socket", socket.as_str()];
        full.extend(args);
        full.push("instances");
        let out = ctl_with_stdin(&full, &envs, "");
        assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
        assert!(support::stdout(&out).contains("prod"));
        let received = daemon.received();
        assert!(received[0].contains("\"hello\""), "{received:?}");
        assert!(
            received.iter().any(|f| f.contains("\"instances\"")),
            "{received:?}"
        );
    }
}
