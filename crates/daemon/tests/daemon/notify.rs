//! systemd readiness protocol (`Type=notify`): READY=1 once the socket accepts, RELOADING=1
//! then READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM.

use crate::common;

use std::os::unix::net::UnixDatagram;
use std::sync::mpsc;
use std::time::Duration;

use common::{Cfg, DEADLINE, Env};
use nix::sys::signal::Signal;
use warden_core::protocol::connect;

/// Collects notification datagrams (each a set of `KEY=VALUE` lines) on a socket.
struct Notifications {
    rx: mpsc::Receiver<Vec<String>>,
}

impl Notifications {
    fn bind(path: &std::path::Path) -> Notifications {
        let sock = UnixDatagram::bind(path).expect("bind the notify socket");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .map(str::to_string)
                    .collect();
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        Notifications { rx }
    }

    /// The next datagram holding `key` (earlier ones without it are skipped).
    async fn next_with(&self, key: &str) -> Vec<String> {
        let deadline = warden_core::clock::instant() + DEADLINE;
        loop {
            match self.rx.try_recv() {
                Ok(msg) if msg.iter().any(|l| l == key) => return msg,
                Ok(msg) => assert!(
                    !msg.iter().any(|l| l == "STOPPING=1"),
                    "got STOPPING=1 while waiting for {key}: {msg:?}"
                ),
                Err(mpsc::TryRecvError::Empty) => {
                    assert!(
                        warden_core::clock::instant() < deadline,
                        "timed out waiting for {key}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("notify socket reader stopped: {e}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_reloading_and_stopping_reach_the_notify_socket() {
    let env = Env::start(&["alpha"]).await;
    env.write_config(&Cfg::new(&["alpha"]));
    let notify_path = env.path("n.sock");
    let notes = Notifications::bind(&notify_path);
    let mut daemon = env.spawn(&[], &[("NOTIFY_SOCKET", notify_path.to_str().unwrap())]);

    // READY=1 means ready: the socket answers as soon as it arrives.
    let ready = notes.next_with("READY=1").await;
    assert!(
        ready.iter().any(|l| l.starts_with("STATUS=")),
        "READY without a status line: {ready:?}"
    );
    connect(&env.socket())
        .await
        .expect("the socket answers once READY=1 was sent");

    // SIGHUP: RELOADING=1 (with the monotonic time systemd expects), then READY=1 again.
    daemon.signal(Signal::SIGHUP);
    let reloading = notes.next_with("RELOADING=1").await;
    assert!(
        reloading.iter().any(|l| l.starts_with("MONOTONIC_USEC=")),
        "{reloading:?}"
    );
    let ready = notes.next_with("READY=1").await;
    assert!(
        !ready.iter().any(|l| l == "RELOADING=1"),
        "READY in the reloading message: {ready:?}"
    );
    assert!(daemon.is_running());

    // A failed reload still ends with READY=1 (systemd would otherwise wait forever).
    let mut broken = Cfg::new(&["alpha"]);
    broken.daemon_extra = "bogus_key = 1".into();
    env.write_config(&broken);
    daemon.signal(Signal::SIGHUP);
    notes.next_with("RELOADING=1").await;
    notes.next_with("READY=1").await;
    assert!(daemon.is_running());

    // SIGTERM: STOPPING=1, then a clean exit.
    daemon.signal(Signal::SIGTERM);
    let deadline = warden_core::clock::instant() + DEADLINE;
    loop {
        match notes.rx.try_recv() {
            Ok(msg) if msg.iter().any(|l| l == "STOPPING=1") => break,
            Ok(_) => {}
            Err(_) => {
                assert!(warden_core::clock::instant() < deadline, "no STOPPING=1");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert_eq!(daemon.wait_exit().await.code(), Some(0));
    env.assert_no_secret_leaks();
}

/// systemd's watchdog: with `WATCHDOG_USEC` set (and `WATCHDOG_PID` naming wardend or unset),
/// the scheduler loop sends `WATCHDOG=1` at half the interval while it runs, and nothing when
/// `WATCHDOG_PID` names another process (the variable was meant for someone else).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_pings_the_watchdog_at_half_its_interval() {
    let env = Env::start(&["alpha"]).await;
    env.write_config(&Cfg::new(&["alpha"]));
    let notify_path = env.path("n.sock");
    let notes = Notifications::bind(&notify_path);
    // 1 s interval: a ping at least every 0.5 s
    let mut daemon = env.spawn(
        &[],
        &[
            ("NOTIFY_SOCKET", notify_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "1000000"),
        ],
    );
    notes.next_with("READY=1").await;
    // Pings keep arriving while the scheduler runs: five in a row (each wait is bounded by
    // the test deadline, far above the 0.5 s period).
    for _ in 0..5 {
        notes.next_with("WATCHDOG=1").await;
    }
    daemon.stop_cleanly().await;

    // WATCHDOG_PID of another process: no pings.
    let other = env.path("n2.sock");
    let notes = Notifications::bind(&other);
    let mut daemon = env.spawn(
        &[],
        &[
            ("NOTIFY_SOCKET", other.to_str().unwrap()),
            ("WATCHDOG_USEC", "1000000"),
            ("WATCHDOG_PID", "1"),
        ],
    );
    notes.next_with("READY=1").await;
    // the daemon is up and its scheduler has looped (a status answer follows a tick)
    connect(&env.socket()).await.expect("socket answers");
    daemon.stop_cleanly().await;
    let mut pings = 0;
    while let Ok(msg) = notes.rx.try_recv() {
        pings += msg.iter().filter(|l| *l == "WATCHDOG=1").count();
    }
    assert_eq!(pings, 0, "pinged a watchdog meant for another process");
    env.assert_no_secret_leaks();
}
