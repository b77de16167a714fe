//! The one place signals become events: SIGTERM/SIGINT stop gracefully (a second one cancels
//! running jobs), SIGHUP reloads. The streams are created once, before the loop.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::unbounded_channel;
use tokio_util::sync::CancellationToken;

use super::lifecycle::Control;

/// Installs the handlers and returns the [`Control`] they drive.
pub fn install() -> std::io::Result<Control> {
    let shutdown = CancellationToken::new();
    let force = CancellationToken::new();
    let (reload_tx, reload_rx) = unbounded_channel();
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (s, f) = (shutdown.clone(), force.clone());
    tokio::spawn(async move {
        loop {
            let stop = tokio::select! {
                _ = term.recv() => true,
                _ = int.recv() => true,
                _ = hup.recv() => false,
            };
            if stop {
                if s.is_cancelled() {
                    tracing::warn!("second stop signal: cancelling running jobs");
                    f.cancel();
                } else {
                    tracing::info!("stop signal received");
                    s.cancel();
                }
            } else {
                tracing::info!("SIGHUP: reloading the configuration");
                let _ = reload_tx.send(());
            }
        }
    });
    Ok(Control {
        shutdown,
        force,
        reload: reload_rx,
    })
}
