//! The control socket as a security boundary, with real peers of other uids: a 0660 socket
//! owned by the configured group; a member of that group may read but not change (peer
//! credentials, refusal logged with uid and pid); a uid outside the group cannot connect.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::{Cfg, Env};
use serde_json::Value;

const SETPRIV: &str = "/usr/bin/setpriv";
const PYTHON: &str = "/usr/bin/python3";
/// nogroup / nobody on Debian.
const NOGROUP: u32 = 65534;

/// A protocol client: prints `{"pid": N}`, then one line per answer (or `{"closed": true}`),
/// or `{"connect_error": errno}`.
const CLIENT: &str = r#"
import json, os, socket, struct, sys
print(json.dumps({"pid": os.getpid()}), flush=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print(json.dumps({"connect_error": e.errno}), flush=True)
    sys.exit(0)
def recv_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
for req in sys.argv[2:]:
    data = req.encode()
    s.sendall(struct.pack(">I", len(data)) + data)
    hdr = recv_exact(4)
    if hdr is None:
        print(json.dumps({"closed": True}), flush=True)
        break
    (n,) = struct.unpack(">I", hdr)
    print(recv_exact(n).decode(), flush=True)
"#;

/// Runs the client under `setpriv` with `ids`; returns its pid and the answers.
async fn run_client_as(ids: &[&str], socket: &Path, requests: &[&str]) -> (i64, Vec<Value>) {
    let mut cmd = Command::new(SETPRIV);
    cmd.args(ids)
        .arg("--clear-groups")
        .arg(PYTHON)
        .arg("-c")
        .arg(CLIENT)
        .arg(socket)
        .args(requests)
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    let out = tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("run the python client under setpriv");
    assert!(
        out.status.success(),
        "client failed: {}",
        common::text(&out.stderr)
    );
    let mut lines = common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("client prints JSON"))
        .collect::<Vec<_>>();
    let pid = lines.remove(0)["pid"].as_i64().unwrap();
    (pid, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_read_but_may_not_change_and_others_cannot_connect() {
    assert!(
        Path::new(SETPRIV).exists() && Path::new(PYTHON).exists(),
        "this test needs {SETPRIV} and {PYTHON}"
    );
    assert!(
        nix::unistd::getuid().is_root(),
        "this test switches uids with setpriv and must run as root (as CI does)"
    );
    let env = Env::start(&["alpha"]).await;
    // Let other uids reach the socket inside the temp dir.
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.socket_mode = "0660".into();
    cfg.socket_group = Some(NOGROUP);
    let _daemon = env.start_daemon(&cfg).await;
    let socket = env.socket();

    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), NOGROUP, "socket group");
    assert_eq!(meta.uid(), 0);

    // nobody, in group nogroup: hello and status are served, reload is refused.
    let hello = r#"{"type":"hello","protocol_version":1,"client":"test"}"#;
    let (pid, answers) = run_client_as(
        &["--reuid=nobody", "--regid=nogroup"],
        &socket,
        &[hello, r#"{"type":"status"}"#, r#"{"type":"reload"}"#],
    )
    .await;
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert_eq!(answers[0]["type"], "hello", "{answers:?}");
    assert_eq!(answers[1]["type"], "status", "{answers:?}");
    assert_eq!(answers[1]["instances"][0]["name"], "alpha");
    assert_eq!(answers[2]["type"], "error", "{answers:?}");
    assert_eq!(answers[2]["code"], "permission_denied", "{answers:?}");
    assert!(
        answers[2]["message"]
            .as_str()
            .unwrap()
            .contains("uid 65534"),
        "{answers:?}"
    );

    // The refusal is logged with who asked: uid and pid.
    let line = env
        .wait_log_line(&["refused a changing request", "uid=65534"])
        .await;
    assert!(line.contains(&format!("pid={pid}")), "{line}");
    assert!(line.contains("reload"), "{line}");
    // Nothing was reloaded on its behalf.
    assert!(
        env.records().iter().all(|r| r["action"] != "reload"),
        "a refused reload reached the change log"
    );

    // A uid that is neither the owner nor in the socket's group cannot connect at all.
    let (_, answers) = run_client_as(
        &["--reuid=65534", "--regid=65533"],
        &socket,
        &[hello, r#"{"type":"status"}"#],
    )
    .await;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(
        answers[0]["connect_error"],
        nix::libc::EACCES,
        "{answers:?}"
    );

    // Root (an admin uid) may still reload.
    match common::send(&socket, warden_core::protocol::Request::Reload).await {
        warden_core::protocol::Response::Reloaded { .. } => {}
        other => panic!("reload by root answered {other:?}"),
    }
    env.assert_no_secret_leaks();
}

/// A user listed as a member of a group in `/etc/group` (not its primary group), with that
/// group: `(user, group gid)`.
fn listed_member() -> (String, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let primary = |user: &str| {
        passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 3 && f[0] == user)
            .map(|f| (f[2].parse::<u32>().unwrap(), f[3].parse::<u32>().unwrap()))
    };
    let group = std::fs::read_to_string("/etc/group").unwrap();
    for line in group.lines() {
        let f: Vec<_> = line.split(':').collect();
        let (Some(gid), Some(members)) = (f.get(2).and_then(|g| g.parse::<u32>().ok()), f.get(3))
        else {
            continue;
        };
        for user in members.split(',').filter(|m| !m.is_empty()) {
            if let Some((uid, primary_gid)) = primary(user)
                && uid != 0
                && primary_gid != gid
                && gid != NOGROUP
            {
                return (user.to_string(), gid);
            }
        }
    }
    panic!(
        "this test needs a non-root user listed as a member of a group in /etc/group (e.g. \
         `usermod -aG ssl-cert postgres`)"
    );
}

/// `setpriv IDS wardenctl --socket S reload`.
async fn reload_as(ids: &[&str], socket: &Path) -> std::process::Output {
    let mut cmd = Command::new(SETPRIV);
    cmd.args(ids)
        .arg(common::wardenctl())
        .arg("--socket")
        .arg(socket)
        .arg("reload")
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("run wardenctl under setpriv")
}

/// Issue 12, item 6: `daemon.admin_gids` is checked against the groups the connecting process
/// holds (SO_PEERGROUPS), not against `/etc/group`. A user listed in the admin group who
/// dropped it is refused; a process that holds it is allowed, listed or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_gids_count_the_groups_the_process_holds_not_etc_group() {
    assert!(
        Path::new(SETPRIV).exists(),
        "this test needs {SETPRIV} to run wardenctl with other groups"
    );
    assert!(
        nix::unistd::getuid().is_root(),
        "this test switches uids and groups with setpriv and must run as root (as CI does)"
    );
    let (user, admin_gid) = listed_member();
    let env = Env::start(&["alpha"]).await;
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.socket_mode = "0660".into();
    cfg.socket_group = Some(NOGROUP);
    cfg.daemon_extra = format!("admin_gids = [{admin_gid}]");
    let _daemon = env.start_daemon(&cfg).await;
    let socket = env.socket();
    let reuid = format!("--reuid={user}");
    let groups = format!("--groups={admin_gid}");

    // listed in /etc/group, but the process dropped the group: refused
    let out = reload_as(&[&reuid, "--regid=nogroup", "--clear-groups"], &socket).await;
    let stderr = common::text(&out.stderr);
    assert!(
        !out.status.success(),
        "a process without the admin group reloaded: {stderr}"
    );
    assert!(stderr.contains("permission_denied"), "{stderr}");
    env.wait_log_line(&["refused a changing request", "reload"])
        .await;
    assert!(
        env.records().iter().all(|r| r["action"] != "reload"),
        "a refused reload reached the change log"
    );

    // the same user holding the group: allowed
    let out = reload_as(&[&reuid, "--regid=nogroup", &groups], &socket).await;
    assert!(out.status.success(), "{}", common::text(&out.stderr));

    // a user not listed in the group, whose process holds it: allowed
    let out = reload_as(&["--reuid=nobody", "--regid=nogroup", &groups], &socket).await;
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert_eq!(
        env.records()
            .iter()
            .filter(|r| r["action"] == "reload")
            .count(),
        2,
        "two reloads recorded"
    );
    env.assert_no_secret_leaks();
}

/// Opens argv[2] connections, sends a hello on each, prints the answers (or `{"closed": true}`)
/// as one JSON list, then holds the connections until stdin closes.
const HOLDER: &str = r#"
import json, socket, struct, sys
path, n = sys.argv[1], int(sys.argv[2])
hello = b'{"type":"hello","protocol_version":1,"client":"holder"}'
def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
conns = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    s.sendall(struct.pack(">I", len(hello)) + hello)
    conns.append(s)
answers = []
for s in conns:
    hdr = recv_exact(s, 4)
    if hdr is None:
        answers.append({"closed": True})
        continue
    (m,) = struct.unpack(">I", hdr)
    answers.append(json.loads(recv_exact(s, m)))
print(json.dumps(answers), flush=True)
sys.stdin.read()
"#;

/// Issue 12, item 5: control connections are capped (`daemon.max_connections`), the last
/// eighth only for admins. A non-admin flood gets "busy" beyond the cap, yet an admin's
/// `status` is answered and a change (a reload: change log and head anchor written) works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_is_capped_and_admins_keep_a_reserve() {
    use std::io::{BufRead, BufReader};
    assert!(
        Path::new(SETPRIV).exists() && Path::new(PYTHON).exists(),
        "this test needs {SETPRIV} and {PYTHON}"
    );
    assert!(
        nix::unistd::getuid().is_root(),
        "this test opens connections as another uid with setpriv and must run as root (as CI does)"
    );
    let env = Env::start(&["alpha"]).await;
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.socket_mode = "0660".into();
    cfg.socket_group = Some(NOGROUP);
    // 8 connections: 7 for anyone, 1 kept for admins
    cfg.daemon_extra = "max_connections = 8".into();
    let daemon = env.start_daemon(&cfg).await;
    let socket = env.socket();

    // the soft open-file limit was raised to the hard one
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", daemon.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<_> = line.split_whitespace().collect();
    assert_eq!(
        fields[3], fields[4],
        "soft and hard open-file limits: {line}"
    );

    // nobody (not an admin) opens 20 connections and keeps them open
    let mut holder = Command::new(SETPRIV)
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            PYTHON,
            "-c",
        ])
        .arg(HOLDER)
        .arg(&socket)
        .arg("20")
        .env_clear()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the connection holder");
    let mut line = String::new();
    let mut stdout = BufReader::new(holder.stdout.take().unwrap());
    tokio::task::block_in_place(|| stdout.read_line(&mut line)).unwrap();
    let answers: Vec<Value> = serde_json::from_str(&line).expect("holder prints its answers");
    let served = answers.iter().filter(|a| a["type"] == "hello").count();
    let busy: Vec<_> = answers
        .iter()
        .filter(|a| a["type"] == "error" && a["code"] == "unavailable")
        .collect();
    assert_eq!(served, 7, "{answers:?}");
    assert_eq!(busy.len(), 13, "{answers:?}");
    let message = busy[0]["message"].as_str().unwrap();
    assert!(
        message.contains("busy") && message.contains("daemon.max_connections"),
        "{message}"
    );
    env.wait_log_line(&["control connections at the cap"]).await;

    // the admin is still served (on the one connection kept for admins), and a change that
    // writes the change log and head anchor works
    let mut admin = warden_core::protocol::connect(&socket)
        .await
        .expect("an admin connects despite the flood");
    match admin
        .request(warden_core::protocol::Request::Status)
        .await
        .unwrap()
    {
        warden_core::protocol::Response::Status(status) => {
            assert_eq!(status.instances[0].name, "alpha")
        }
        other => panic!("status answered {other:?}"),
    }
    let head_before = env.file_head().expect("a head anchor").seq;
    match admin
        .request(warden_core::protocol::Request::Reload)
        .await
        .unwrap()
    {
        warden_core::protocol::Response::Reloaded { .. } => {}
        other => panic!("reload by root answered {other:?}"),
    }
    // the reserve is in use: a second admin connection is told the daemon is busy
    match warden_core::protocol::connect(&socket).await {
        Err(warden_core::protocol::ProtocolError::Refused { code, message }) => {
            assert_eq!(code, warden_core::protocol::ErrorCode::Unavailable);
            assert!(message.contains("busy"), "{message}");
        }
        other => panic!("a connection over the cap answered {other:?}"),
    }
    drop(admin);
    assert!(
        env.file_head().unwrap().seq > head_before,
        "no head anchor written"
    );
    assert!(env.records().iter().any(|r| r["action"] == "reload"));

    // the non-admin is still refused while the flood lasts, served once it ends
    let hello = r#"{"type":"hello","protocol_version":1,"client":"test"}"#;
    let (_, answers) =
        run_client_as(&["--reuid=nobody", "--regid=nogroup"], &socket, &[hello]).await;
    assert_eq!(answers[0]["code"], "unavailable", "{answers:?}");
    drop(holder.stdin.take());
    holder.wait().unwrap();
    common::wait_for("a non-admin to be served again", async || {
        let (_, answers) =
            run_client_as(&["--reuid=nobody", "--regid=nogroup"], &socket, &[hello]).await;
        (answers[0]["type"] == "hello").then_some(())
    })
    .await;
    env.assert_no_secret_leaks();
}
