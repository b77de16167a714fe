//! systemd readiness notifications (`sd_notify`): READY, RELOADING, STOPPING and a status line.
//! Under systemd with `Type=notify` they drive the unit's state; elsewhere (no `NOTIFY_SOCKET`)
//! they are no-ops.

use sd_notify::NotifyState;

/// The daemon is up: the socket accepts and the scheduler runs.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A reload started (`RELOADING=1` with the monotonic timestamp systemd ≥ 253 expects).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// The daemon is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// A free-form status line shown by `systemctl status`.
pub fn status(text: &str) {
    send(&[NotifyState::Status(text)]);
}

fn send(states: &[NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}
