//! `Request::Rotate` guardrails over the real socket of the daemon in-process (on the in-memory
//! secret store): an undeclared client or unknown instance is `not_found`, the simulator's built-in
//! `Jamf Reset` client (a foreign `NATIVE_APP_OAUTH` client) is refused even when declared, an
//! unconfirmed request needs confirmation, and a non-admin uid is `permission_denied`; none of them
//! mints. Then a legitimate rotation mints once, so the zero counts above mean something.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::rotation::{
    CLIENT, NO_JOBS, desired_toml, error_of, rotate, rotate_records, token_status,
};
use common::{Cfg, Env, send};
use jamf_sim::BUILTIN_APP_NAME;
use serde_json::Value;
use warden_core::protocol::{ErrorCode, Request, Response, RotateRequest};

const SETPRIV: &str = "/usr/bin/setpriv";
const PYTHON: &str = "/usr/bin/python3";
/// nogroup on Debian.
const NOGROUP: u32 = 65534;

/// Sends each request (after a hello) and prints each answer as one JSON line.
const CLIENT_PY: &str = r#"
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
def recv_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            sys.exit("connection closed")
        buf += chunk
    return buf
for req in sys.argv[2:]:
    data = req.encode()
    s.sendall(struct.pack(">I", len(data)) + data)
    (n,) = struct.unpack(">I", recv_exact(4))
    print(recv_exact(n).decode(), flush=True)
"#;

/// The answers to `requests` sent as `nobody` (group nogroup).
async fn as_nobody(socket: &Path, requests: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new(SETPRIV);
    cmd.args([
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        PYTHON,
        "-c",
        CLIENT_PY,
    ])
    .arg(socket)
    .args(requests)
    .env_clear()
    .env("PATH", "/usr/bin:/bin");
    let out = tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("run setpriv");
    assert!(
        out.status.success(),
        "client failed: {}",
        common::text(&out.stderr)
    );
    common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON answer"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_refuses_what_warden_must_not_rotate_and_mints_nothing() {
    assert!(
        Path::new(SETPRIV).exists()
            && Path::new(PYTHON).exists()
            && nix::unistd::getuid().is_root(),
        "this test needs {SETPRIV}, {PYTHON} and root (as CI has)"
    );
    let env = Env::start_memory(&["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    let sim = env.instance("alpha").sim.clone();
    let url = env.instance("alpha").url.clone();
    let reset = sim
        .client_by_name(BUILTIN_APP_NAME)
        .expect("the built-in Jamf Reset client");
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    cfg.socket_mode = "0660".into();
    cfg.socket_group = Some(NOGROUP);
    // Someone declared the built-in client; Warden must still never rotate it.
    let foreign = format!(
        "\n[[role]]\nname = \"{BUILTIN_APP_NAME}\"\nexternal = true\n\n[[client]]\n\
         name = \"{BUILTIN_APP_NAME}\"\nroles = [\"{BUILTIN_APP_NAME}\"]\nowner = \"it@example.com\"\n\
         purpose = \"declared by mistake\"\n"
    );
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], &foreign));
    let _daemon = env.start_wardend(None).await;
    let socket = env.socket();

    // Undeclared client, unknown instance: not found, before anything is recorded.
    let (code, message) = error_of(&rotate(&socket, "alpha", "Not Declared").await);
    assert_eq!(code, ErrorCode::NotFound, "{message}");
    assert!(message.contains("not declared"), "{message}");
    let (code, message) = error_of(&rotate(&socket, "nowhere", CLIENT).await);
    assert_eq!(code, ErrorCode::NotFound, "{message}");

    // The foreign client: refused as foreign, recorded as a failed rotation that minted nothing.
    let (code, message) = error_of(&rotate(&socket, "alpha", BUILTIN_APP_NAME).await);
    assert_eq!(code, ErrorCode::BadRequest, "{message}");
    assert!(message.contains("foreign client"), "{message}");
    assert_eq!(
        sim.client(reset.id).unwrap().client_secret,
        reset.client_secret
    );

    // Not confirmed.
    let unconfirmed = Request::Rotate(RotateRequest {
        instance: "alpha".into(),
        client: CLIENT.into(),
        confirmed: false,
        recover: false,
        accept_out_of_band: false,
    });
    let (code, message) = error_of(&send(&socket, unconfirmed).await);
    assert_eq!(code, ErrorCode::ConfirmationRequired, "{message}");

    // A uid that may connect (socket group) but is no admin.
    let hello = r#"{"type":"hello","protocol_version":1,"client":"test"}"#;
    let req =
        format!(r#"{{"type":"rotate","instance":"alpha","client":"{CLIENT}","confirmed":true}}"#);
    let answers = as_nobody(&socket, &[hello, &req]).await;
    assert_eq!(answers[1]["type"], "error", "{answers:?}");
    assert_eq!(answers[1]["code"], "permission_denied", "{answers:?}");

    // Nothing was minted, the client's first secret still works.
    assert_eq!(env.mints("alpha"), 0);
    assert_eq!(
        token_status(&url, &client.client_id, &client.initial_secret).await,
        200
    );
    let records = env.records();
    assert_eq!(
        rotate_records(&records),
        [
            (BUILTIN_APP_NAME.to_string(), "started".to_string()),
            (BUILTIN_APP_NAME.to_string(), "failed".to_string()),
        ]
    );
    let failed = records.last().unwrap();
    assert_eq!(failed["after"]["minted"], false, "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("foreign"),
        "{failed}"
    );

    // The declared client rotates: one mint.
    let Response::Rotated(done) = rotate(&socket, "alpha", CLIENT).await else {
        panic!("the declared client did not rotate");
    };
    assert_eq!(done.client_id, client.client_id);
    assert_eq!(env.mints("alpha"), 1);
    assert_eq!(
        token_status(&url, &client.client_id, &client.initial_secret).await,
        401
    );

    let mut secrets = env.standing_secrets("alpha").await;
    for (_, _, s) in env.vault_versions(&client.vault_path).await {
        secrets.push(("a client secret", s));
    }
    secrets.extend(reset.client_secret.map(|s| ("the Jamf Reset secret", s)));
    env.assert_absent_from(&env.daemon_files(), &secrets);
}
