//! No minted secret ever reaches a log line, a `Debug` or a `Display` of the rotation engine's
//! outcomes and errors: every rotation path (success, failed mint, lost secret, recovery) runs
//! with TRACE logging captured, against a real OpenBao and the simulator.

use crate::rotation_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jamf_sim::{FaultRule, SimInstance};
use rotation_support::*;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use warden_core::config::RotationStrategy;
use warden_core::rotation::{FaultyStore, RotationEngine, Step, StepContext, StepHook};
use warden_testkit::OpenBao;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Records the secret Jamf just minted (the simulator's live secret at `Store`).
struct RecordMinted {
    inst: SimInstance,
    id: u64,
    minted: Arc<Mutex<Vec<String>>>,
}

impl StepHook for RecordMinted {
    async fn reached(&self, step: Step, _ctx: &StepContext<'_>) {
        if step == Step::Store
            && let Some(s) = self.inst.client(self.id).and_then(|c| c.client_secret)
        {
            self.minted.lock().unwrap().push(s);
        }
    }
}

#[tokio::test]
async fn no_secret_in_logs_debug_or_messages() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("trace,jamf_sim=off"))
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let bao = OpenBao::start().await.expect("openbao starts");
    let store = FaultyStore::new(vault(&bao).await);
    let w = world().await;
    w.seed(&store).await;
    let minted = Arc::new(Mutex::new(vec![w.initial_secret.clone()]));
    let mut cfg = config("d1");
    cfg.store_retry_budget = Duration::from_millis(200);
    let engine = RotationEngine::new(&store, cfg).with_hook(RecordMinted {
        inst: w.inst.clone(),
        id: w.id,
        minted: minted.clone(),
    });
    let t = target(RotationStrategy::Single);
    let mut rendered = Vec::new();
    let live = |w: &World| w.live_secret().unwrap();

    // success
    let out = engine.rotate(&w.jamf, &t).await.unwrap();
    rendered.push(format!("{out:?} {}", serde_json::to_string(&out).unwrap()));
    rendered.push(format!(
        "{:?}",
        out.change_entry(warden_core::changelog::Actor::Daemon)
    ));
    // a mint whose answer is lost, then recovery
    w.inst
        .set_faults([FaultRule::fail_next(CREDS_ENDPOINT, 1, 503).after_commit()])
        .unwrap();
    let err = engine.rotate(&w.jamf, &t).await.unwrap_err();
    minted.lock().unwrap().push(live(&w));
    rendered.push(format!("{err:?} {err}"));
    let out = engine.recover(&w.jamf, &t).await.unwrap().unwrap();
    rendered.push(format!("{out:?}"));
    // a lost secret, then recovery
    store.faults().fail_next_secret_writes(u32::MAX);
    let err = engine.rotate(&w.jamf, &t).await.unwrap_err();
    rendered.push(format!("{err:?} {err}"));
    rendered.push(format!(
        "{:?}",
        err.change_entry(warden_core::changelog::Actor::Daemon, &t)
    ));
    store.faults().fail_next_secret_writes(0);
    let out = engine.recover(&w.jamf, &t).await.unwrap().unwrap();
    rendered.push(format!("{out:?}"));
    rendered.push(format!("{engine:?} {:?}", engine.status(&t).await.unwrap()));

    drop(_guard);
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    println!("captured {} bytes of logs", logs.len());
    assert!(logs.contains("rotation finished"), "logs were captured");
    assert!(logs.contains("secret lost"), "failures were logged");
    let minted = minted.lock().unwrap().clone();
    assert_eq!(minted.len(), 6, "the initial secret and 5 minted ones");
    for secret in &minted {
        assert_eq!(secret.len(), 64);
        assert!(
            !logs.contains(secret.as_str()),
            "a secret appears in the logs"
        );
        for r in &rendered {
            assert!(!r.contains(secret.as_str()), "a secret appears in: {r}");
        }
    }
}
