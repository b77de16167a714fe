//! A hostile or broken Jamf against the real `wardend` (issue 12, items 3 and 4).
//!
//! A small HTTP/1.1 server in the test plays Jamf for several instances at once, each under
//! its own path prefix (`http://127.0.0.1:PORT/<mode>`), one misbehaviour per mode:
//!
//! - `endless`: every page brings 2,000 new roles and clients and `totalCount` (a billion) is
//!   never reached (the attack that drove wardend to 7 GiB);
//! - `creep`: the same, with `totalCount` always one more than what was sent so far;
//! - `huge`: a page of 50,000 roles whatever `page-size` asked for;
//! - `drip`: a valid page whose body arrives one byte every 100 ms;
//! - `giant`: a body without `Content-Length` that never ends;
//! - `echo`: token, login and every other error answer repeat the submitted secret or
//!   password, in the body and in `WWW-Authenticate`.
//!
//! The assertions: a clear per-instance error naming what was exceeded (and the config key
//! that raises it), `status` answering while the hostile fetches run, the daemon's peak RSS
//! under a generous bound, and (for `echo`) no secret in `wardend.log`, stderr, the change log,
//! any socket answer or any `wardenctl` output.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use warden_core::drift::InstanceDrift;
use warden_core::protocol::{BootstrapRequest, Request, Response};

use crate::common::audit::ctl;
use crate::common::drift::drift;
use crate::common::rotation::desired_toml;
use crate::common::{Cfg, Env, send, status, text};

/// The admin password the bootstrap request carries (echoed back by the `echo` mode).
const ADMIN_PASSWORD: &str = "Adm1n-Pa55word-echo-test";

/// The fake Jamf: one listener, a behaviour per path prefix.
async fn hostile_jamf() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = serve(stream).await;
            });
        }
    });
    format!("http://{addr}")
}

struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
}

async fn read_request(stream: &mut TcpStream) -> Option<Req> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Req {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn param(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    extra: &[(&str, String)],
    body: &str,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await
}

fn roles_page(page: u64, n: u64, total: u64) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| {
            let id = page * 1_000_000 + i;
            format!(r#"{{"id":"{id}","displayName":"r{id}","privileges":["Read Computers"]}}"#)
        })
        .collect();
    format!(
        r#"{{"totalCount":{total},"results":[{}]}}"#,
        items.join(",")
    )
}

fn clients_page(page: u64, n: u64, total: u64) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| {
            let id = page * 1_000_000 + i;
            format!(
                r#"{{"id":{id},"displayName":"c{id}","enabled":true,"authorizationScopes":[],"appType":"CLIENT_CREDENTIALS","clientId":"x{id}","accessTokenLifetimeSeconds":300}}"#
            )
        })
        .collect();
    format!(
        r#"{{"totalCount":{total},"results":[{}]}}"#,
        items.join(",")
    )
}

/// The secret or password a request carried: the form's `client_secret`, or Basic auth's.
fn submitted_secret(req: &Req) -> String {
    if let Some(s) = param(&req.body, "client_secret") {
        return s;
    }
    req.headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .and_then(|(_, v)| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|d| String::from_utf8(d).ok())
        .and_then(|up| up.split_once(':').map(|(_, p)| p.to_owned()))
        .unwrap_or_default()
}

async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let Some(req) = read_request(&mut stream).await else {
        return Ok(());
    };
    let (mode, api) = req.path[1..].split_once('/').unwrap_or(("", ""));
    let api = format!("/{api}");
    let page: u64 = param(&req.query, "page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    if mode == "echo" && (api.ends_with("/oauth/token") || api == "/api/v1/auth/token") {
        let secret = submitted_secret(&req);
        let body = format!(
            r#"{{"error":"{secret}","error_description":"client_secret={secret} rejected","httpStatus":401,"errors":[{{"code":"{secret}","description":"bad password {secret}"}}]}}"#
        );
        let challenge = format!("Bearer error=\"invalid_client\", error_description=\"{secret}\"");
        // the login answers 400, whose messages the client used to pass on
        let status = if api.ends_with("/oauth/token") {
            401
        } else {
            400
        };
        return respond(
            &mut stream,
            status,
            &[("www-authenticate", challenge)],
            &body,
        )
        .await;
    }
    match (req.method.as_str(), api.as_str()) {
        ("POST", "/api/v1/oauth/token") => {
            let body = r#"{"access_token":"hostile-jamf-access-token-0123456789","scope":"api-role:1","token_type":"Bearer","expires_in":600}"#;
            respond(&mut stream, 200, &[], body).await
        }
        ("GET", "/api/v1/api-role-privileges") => {
            let body = r#"{"privileges":["Read Computers","Read API Roles"]}"#;
            respond(&mut stream, 200, &[], body).await
        }
        ("GET", "/api/v1/api-roles") | ("GET", "/api/v1/api-integrations") => {
            let roles = api.ends_with("api-roles");
            let page_of = |n: u64, total: u64| {
                if roles {
                    roles_page(page, n, total)
                } else {
                    clients_page(page, n, total)
                }
            };
            match mode {
                // totalCount never reached: every page brings new objects, forever
                "endless" => respond(&mut stream, 200, &[], &page_of(2000, 1_000_000_000)).await,
                // totalCount always one more than what was sent so far
                "creep" => {
                    respond(&mut stream, 200, &[], &page_of(2000, (page + 1) * 2000 + 1)).await
                }
                "huge" => respond(&mut stream, 200, &[], &page_of(50_000, 4000)).await,
                "drip" => {
                    let body = page_of(20, 20);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    stream.write_all(head.as_bytes()).await?;
                    for b in body.bytes() {
                        stream.write_all(&[b]).await?;
                        stream.flush().await?;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Ok(())
                }
                "giant" => {
                    // no content-length: the body ends when the connection does, i.e. never
                    stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"totalCount\":1,\"results\":[\"")
                        .await?;
                    let block = vec![b'x'; 1024 * 1024];
                    for _ in 0..1024 {
                        stream.write_all(&block).await?;
                    }
                    Ok(())
                }
                "echo" => {
                    // never reached: the echo instance's token requests all fail
                    respond(&mut stream, 200, &[], &page_of(0, 0)).await
                }
                _ => respond(&mut stream, 404, &[], "{}").await,
            }
        }
        _ => respond(&mut stream, 404, &[], r#"{"httpStatus":404,"errors":[]}"#).await,
    }
}

/// A proxy in front of the simulator that refuses every token request of `client_id` with a
/// 401 repeating the submitted secret (body and `WWW-Authenticate`) and forwards the rest.
/// Returns its URL and the secrets it saw.
async fn echo_proxy(target: String, client_id: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let http = reqwest::Client::new();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (target, client_id, seen, http) = (
                target.clone(),
                client_id.clone(),
                Arc::clone(&seen2),
                http.clone(),
            );
            tokio::spawn(async move {
                let Some(req) = read_request(&mut stream).await else {
                    return;
                };
                if req.path.ends_with("/oauth/token")
                    && param(&req.body, "client_id").as_deref() == Some(client_id.as_str())
                {
                    let secret = submitted_secret(&req);
                    seen.lock().unwrap().push(secret.clone());
                    let body = format!(
                        r#"{{"error":"invalid_client","error_description":"client_secret {secret} is not valid"}}"#
                    );
                    let challenge = format!("Bearer error_description=\"{secret}\"");
                    let _ =
                        respond(&mut stream, 401, &[("www-authenticate", challenge)], &body).await;
                    return;
                }
                let mut url = format!("{target}{}", req.path);
                if !req.query.is_empty() {
                    url.push('?');
                    url.push_str(&req.query);
                }
                let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
                let mut fwd = http.request(method, url).body(req.body.clone());
                for (k, v) in &req.headers {
                    if matches!(k.as_str(), "authorization" | "content-type" | "accept") {
                        fwd = fwd.header(k.as_str(), v.as_str());
                    }
                }
                let Ok(resp) = fwd.send().await else {
                    return;
                };
                let status = resp.status().as_u16();
                let body = resp.text().await.unwrap_or_default();
                let _ = respond(&mut stream, status, &[], &body).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// Points instance `name` at the fake Jamf's `mode`.
fn use_fake(env: &mut Env, name: &str, base: &str, mode: &str) {
    let inst = env
        .instances
        .iter_mut()
        .find(|i| i.name == name)
        .expect("instance added");
    inst.url = format!("{base}/{mode}");
}

/// Peak resident set size of a process, from `/proc/<pid>/status` (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

fn error_of<'a>(reports: &'a [InstanceDrift], name: &str) -> &'a str {
    reports
        .iter()
        .find(|r| r.instance == name)
        .and_then(|r| r.error.as_deref())
        .unwrap_or_else(|| panic!("{name}: no error in {reports:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_listings_end_in_per_instance_errors_with_bounded_memory_and_a_responsive_daemon() {
    let modes = ["endless", "creep", "huge", "drip", "giant"];
    let mut env = Env::start(&["good"]).await;
    let base = hostile_jamf().await;
    for mode in modes {
        env.add_instance(mode).await;
        use_fake(&mut env, mode, &base, mode);
    }
    let mut names = vec!["good"];
    names.extend(modes);
    let mut cfg = Cfg::new(&names);
    cfg.schedules = crate::common::rotation::NO_JOBS.into();
    for mode in modes {
        cfg = cfg.instance_line(mode, "list_timeout = \"3s\"");
        if mode != "creep" {
            // creep keeps the default cap (100,000): its totalCount jumps first
            cfg = cfg.instance_line(mode, "max_list_objects = 5000");
        }
    }
    env.write_rotation_config(&cfg, &desired_toml(&[], ""));
    let daemon = env.start_wardend(None).await;
    let pid = daemon.child().id();

    // every instance checked at once; status must answer while the hostile fetches run
    let socket = daemon.socket.clone();
    let checking = tokio::spawn(async move { drift(&socket, &[], true).await });
    let mut answered_meanwhile = 0;
    let started = warden_core::clock::instant();
    while !checking.is_finished() {
        assert!(
            started.elapsed() < crate::common::DEADLINE,
            "the hostile fetches did not end: nothing bounds them"
        );
        let s = tokio::time::timeout(Duration::from_secs(5), status(&daemon.socket))
            .await
            .expect("status answers within 5 s while hostile instances are fetched");
        assert!(!s.version.is_empty());
        answered_meanwhile += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        answered_meanwhile >= 2,
        "the drip instance takes its whole 3 s list_timeout: status was asked meanwhile"
    );
    let doc = checking.await.unwrap();
    let good = doc.instances.iter().find(|r| r.instance == "good").unwrap();
    assert!(
        good.error.is_none(),
        "the good instance is unaffected: {good:?}"
    );

    let endless = error_of(&doc.instances, "endless");
    assert!(endless.contains("more than 5000 objects"), "{endless}");
    assert!(endless.contains("instance.max_list_objects"), "{endless}");
    let creep = error_of(&doc.instances, "creep");
    assert!(creep.contains("paging of GET /api/v1/api-"), "{creep}");
    assert!(creep.contains("totalCount jumped"), "{creep}");
    let huge = error_of(&doc.instances, "huge");
    assert!(
        huge.contains("more items than the page size asked for"),
        "{huge}"
    );
    let drip = error_of(&doc.instances, "drip");
    assert!(drip.contains("did not finish within 3 s"), "{drip}");
    assert!(drip.contains("instance.list_timeout"), "{drip}");
    let giant = error_of(&doc.instances, "giant");
    assert!(
        giant.contains("response body is larger than 16 MiB"),
        "{giant}"
    );

    // the instances' errors are also what status shows for them
    let s = status(&daemon.socket).await;
    let text = format!("{s:?}");
    assert!(text.contains("instance.max_list_objects"), "{text}");

    let peak = peak_rss_kib(pid);
    eprintln!("wardend peak RSS (VmHWM): {} MiB", peak / 1024);
    assert!(
        peak < 256 * 1024,
        "wardend's peak RSS is {} MiB, over the 256 MiB bound",
        peak / 1024
    );
    env.assert_no_secret_leaks();
}

/// Every text a `wardenctl` run printed.
fn ctl_text(env: &Env, socket: &Path, args: &[&str]) -> String {
    let out = ctl(env, socket, args);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_echoed_by_jamf_reach_no_log_record_answer_or_output() {
    let mut env = Env::start(&[]).await;
    let base = hostile_jamf().await;
    env.add_instance("echo").await;
    use_fake(&mut env, "echo", &base, "echo");
    let secret = env.instance("echo").client_secret.clone();
    let mut cfg = Cfg::new(&["echo"]);
    cfg.schedules = crate::common::rotation::NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&[], ""));
    let daemon = env.start_wardend(None).await;

    // drift: the token endpoint refuses and repeats the client secret
    let doc = drift(&daemon.socket, &["echo"], true).await;
    let err = error_of(&doc.instances, "echo").to_owned();
    assert!(err.contains("oauth token request refused (401)"), "{err}");
    assert!(!err.contains(&secret));
    let mut answers = vec![format!("{doc:?}")];
    answers.push(format!("{:?}", status(&daemon.socket).await));

    // bootstrap: the login refuses and repeats the admin password
    let response = send(
        &daemon.socket,
        Request::Bootstrap(BootstrapRequest {
            instance: "echo".into(),
            username: "admin".into(),
            password: SecretString::from(ADMIN_PASSWORD),
            force: true,
        }),
    )
    .await;
    assert!(
        matches!(response, Response::Error { .. }),
        "bootstrap fails: {response:?}"
    );
    answers.push(format!("{response:?}"));

    // wardenctl, text and json; bootstrap through wardenctl too, the password on stdin
    let socket = daemon.socket.clone();
    let mut outputs = String::new();
    for json in [false, true] {
        let mut cmd = std::process::Command::new(crate::common::wardenctl());
        cmd.arg("--socket").arg(&socket);
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd
            .args([
                "bootstrap",
                "echo",
                "--username",
                "admin",
                "--password-stdin",
                "--force",
            ])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", env.dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run wardenctl bootstrap");
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().unwrap();
            writeln!(stdin, "{ADMIN_PASSWORD}").unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success(), "bootstrap fails");
        let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(shown.contains("answer withheld"), "{shown}");
        outputs.push_str(&shown);
    }
    for args in [
        &["drift", "--now", "echo"][..],
        &["--json", "drift", "--now", "echo"],
        &["status"],
        &["--json", "status"],
        &["log", "tail"],
        &["--json", "log", "tail"],
    ] {
        outputs.push_str(&ctl_text(&env, &socket, args));
    }
    assert!(
        outputs.contains("oauth token request refused"),
        "wardenctl shows the error: {outputs}"
    );

    drop(daemon);
    let log = env.log_text();
    assert!(
        log.contains("bootstrap failed instance=echo"),
        "the refusal was logged: {log}"
    );
    let records = std::fs::read_to_string(env.changelog()).unwrap_or_default();
    for (what, needle) in [
        ("client secret", &secret),
        ("admin password", &ADMIN_PASSWORD.to_owned()),
    ] {
        for answer in &answers {
            assert!(
                !answer.contains(needle.as_str()),
                "{what} in a socket answer: {answer}"
            );
        }
        assert!(
            !outputs.contains(needle.as_str()),
            "{what} in wardenctl's output"
        );
        assert!(!log.contains(needle.as_str()), "{what} in wardend.log");
        assert!(
            !records.contains(needle.as_str()),
            "{what} in the change log"
        );
        let stderr = std::fs::read_to_string(env.stderr_file()).unwrap_or_default();
        assert!(
            !stderr.contains(needle.as_str()),
            "{what} on wardend's stderr"
        );
        let ctl_files = ["ctl.out", "ctl.err"]
            .map(|f| std::fs::read_to_string(env.path(f)).unwrap_or_default())
            .concat();
        assert!(
            !ctl_files.contains(needle.as_str()),
            "{what} in wardenctl's files"
        );
    }
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_echoed_by_the_token_endpoint_reaches_no_output() {
    let mut env = Env::start(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let managed = env.add_managed_client("alpha", "Inventory Sync").await;
    // the simulator serves the instance under /instances/alpha: keep the path behind the proxy
    let sim_url = env.instance("alpha").url.clone();
    let (origin, path) = match sim_url.find("/instances/") {
        Some(i) => (sim_url[..i].to_owned(), sim_url[i..].to_owned()),
        None => (sim_url.trim_end_matches('/').to_owned(), String::new()),
    };
    let (proxy, seen) = echo_proxy(origin, managed.client_id.clone()).await;
    let inst = env
        .instances
        .iter_mut()
        .find(|i| i.name == "alpha")
        .unwrap();
    inst.url = format!("{proxy}{path}");
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = crate::common::rotation::NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&["Inventory Sync"], ""));
    let daemon = env.start_wardend(None).await;

    let response = crate::common::rotation::rotate(&daemon.socket, "alpha", "Inventory Sync").await;
    let mut answers = vec![format!("{response:?}")];
    answers.push(format!("{:?}", status(&daemon.socket).await));
    let socket = daemon.socket.clone();
    let mut outputs = String::new();
    for args in [
        &["secrets"][..],
        &["--json", "secrets"],
        &["log", "tail"],
        &["--json", "log", "tail"],
        &["status"],
    ] {
        outputs.push_str(&ctl_text(&env, &socket, args));
    }
    drop(daemon);

    let secrets = seen.lock().unwrap().clone();
    assert!(
        !secrets.is_empty(),
        "the proxy saw the client's secret in a token request: {answers:?}"
    );
    let records = std::fs::read_to_string(env.changelog()).unwrap_or_default();
    assert!(
        records.contains("\"rotate\""),
        "the rotation was recorded: {records}"
    );
    let log = env.log_text();
    let stderr = std::fs::read_to_string(env.stderr_file()).unwrap_or_default();
    for secret in &secrets {
        for answer in &answers {
            assert!(
                !answer.contains(secret.as_str()),
                "secret in an answer: {answer}"
            );
        }
        assert!(
            !outputs.contains(secret.as_str()),
            "secret in wardenctl's output"
        );
        assert!(
            !records.contains(secret.as_str()),
            "secret in the change log"
        );
        assert!(!log.contains(secret.as_str()), "secret in wardend.log");
        assert!(!stderr.contains(secret.as_str()), "secret on stderr");
    }
    env.assert_no_secret_leaks();
}
