//! systemd readiness notifications (`sd_notify`): READY, RELOADING, STOPPING, a status line,
//! and the watchdog's `WATCHDOG=1` (sent by the scheduler loop, so a hung scheduler stops
//! pinging and systemd restarts the daemon).
//! Under systemd with `Type=notify` they drive the unit's state; elsewhere (no `NOTIFY_SOCKET`)
//! they are no-ops.

use sd_notify::NotifyState;

/// The daemon is up: the socket accepts and the scheduler runs.
pub fn ready(status: &str) {
    let status = status_line(status);
    send(&[NotifyState::Ready, NotifyState::Status(&status)]);
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

/// The interval systemd's watchdog expects pings within (`WATCHDOG_USEC`, when
/// `WATCHDOG_PID` is unset or this process), if a notify socket is set; `None`: no watchdog.
pub fn watchdog_interval() -> Option<std::time::Duration> {
    std::env::var_os("NOTIFY_SOCKET")?;
    sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
}

/// Tells the watchdog the daemon is alive.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// A free-form status line shown by `systemctl status`, scrubbed of every known secret.
pub fn status(text: &str) {
    let text = status_line(text);
    send(&[NotifyState::Status(&text)]);
}

/// A status line as sent: every known secret scrubbed (an error shown there may quote a
/// server's answer).
fn status_line(text: &str) -> std::borrow::Cow<'_, str> {
    warden_core::changelog::scrub_text(text)
}

fn send(states: &[NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_lines_are_scrubbed() {
        let secret = "notify-sink-secret-9Ab";
        warden_core::changelog::remember_secret(
            "test:notify",
            &secrecy::SecretString::from(secret),
        );
        let text = format!("error: jamf said {secret}");
        assert_eq!(super::status_line(&text), "error: jamf said [redacted]");
        warden_core::changelog::forget_secret("test:notify");
    }
}
