//! `warden_core::rotation` when things fail midway, against a real OpenBao (and the in-memory
//! store with failure injection) and the Jamf Pro simulator: Vault down before the intent or
//! after the mint, the retry budget exhausted (secret lost) and recovered, the mint failing or
//! its answer lost. Interrupted rotations: `rotation_recovery.rs`.

use crate::rotation_support;

use std::collections::BTreeMap;
use std::time::Duration;

use jamf_sim::FaultRule;
use rotation_support::*;
use warden_core::clock::Stopwatch;
use warden_core::config::RotationStrategy;
use warden_core::rotation::{
    FaultyStore, MemoryStore, Recovery, RotationAction, RotationEngine, RotationError, SecretStore,
    Step, StepContext, StepHook, keys,
};
use warden_testkit::OpenBao;

async fn state<S: SecretStore>(store: &S) -> BTreeMap<String, String> {
    store
        .read_metadata(VAULT_PATH)
        .await
        .unwrap()
        .map(|m| m.custom)
        .unwrap_or_default()
}

async fn stored_secret<S: SecretStore>(store: &S) -> String {
    let v = store.read_secret(VAULT_PATH).await.unwrap().unwrap();
    field(&v.value, "client_secret")
}

#[tokio::test]
async fn vault_down_before_the_intent_mints_nothing() {
    let mut bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    w.seed(&vault).await;
    bao.stop();
    let engine = RotationEngine::new(&vault, config("d1"));
    let err = engine
        .rotate(&w.jamf, &target(RotationStrategy::Single))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RotationError::VaultUnavailable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("nothing was minted"), "{err}");
    assert!(!err.secret_changed());
    assert_eq!(w.mints(), 0);
    assert_eq!(w.live_secret(), Some(w.initial_secret.clone()));
}

/// Pauses the OpenBao process (SIGSTOP) right after the mint and resumes it later: a real
/// Vault outage in the critical window.
struct StallVault {
    pid: u32,
    resume_after: Duration,
}

impl StepHook for StallVault {
    async fn reached(&self, step: Step, _ctx: &StepContext<'_>) {
        if step == Step::Store {
            signal(self.pid, "-STOP").await;
            let (pid, after) = (self.pid, self.resume_after);
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                signal(pid, "-CONT").await;
            });
        }
    }
}

async fn signal(pid: u32, sig: &str) {
    let status = tokio::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .await
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn vault_stalled_after_the_mint_is_retried_and_the_secret_stored() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await; // 1 s request timeout
    let w = world().await;
    w.seed(&vault).await;
    let mut cfg = config("d1");
    cfg.store_retry_budget = Duration::from_secs(30);
    let started = Stopwatch::start();
    let engine = RotationEngine::new(&vault, cfg).with_hook(StallVault {
        pid: bao.pid(),
        resume_after: Duration::from_millis(2500),
    });
    let out = engine
        .rotate(&w.jamf, &target(RotationStrategy::Single))
        .await
        .expect("stored once vault is back");
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "vault was stalled"
    );
    assert_eq!(w.mints(), 1);
    // A write that timed out may have landed when Vault resumed: it is recognised as ours.
    assert!(out.anomalies.is_empty(), "{:?}", out.anomalies);
    let secret = stored_secret(&vault).await;
    assert_eq!(Some(secret.clone()), w.live_secret());
    assert_eq!(w.token_status(&w.client_id, &secret).await, 200);
    assert_eq!(state(&vault).await[keys::STATE], "ok");
}

#[tokio::test]
async fn memory_store_failures_after_the_mint_are_retried() {
    let w = world().await;
    let store = MemoryStore::new();
    w.seed(&store).await;
    store.faults().fail_next_secret_writes(5);
    let engine = RotationEngine::new(&store, config("d1"));
    let out = engine
        .rotate(&w.jamf, &target(RotationStrategy::Single))
        .await
        .unwrap();
    assert_eq!(store.faults().failed(), 5);
    assert_eq!(out.version, 2);
    assert_eq!(w.mints(), 1);
    assert_eq!(Some(stored_secret(&store).await), w.live_secret());
}

async fn secret_lost_then_recovered<S: SecretStore>(w: &World, store: &S, faults: &dyn Fn(u32)) {
    w.seed(store).await;
    let mut cfg = config("d1");
    cfg.store_retry_budget = Duration::from_millis(300);
    let engine = RotationEngine::new(store, cfg);
    let t = target(RotationStrategy::Single);
    faults(u32::MAX);
    let err = engine.rotate(&w.jamf, &t).await.unwrap_err();
    match &err {
        RotationError::SecretLost { attempts, .. } => assert!(*attempts > 1),
        other => panic!("expected secret lost, got {other:?}"),
    }
    assert!(err.secret_changed() && err.needs_recovery());
    assert!(
        err.to_string()
            .contains("wardenctl rotate --recover 'sim/Inventory Sync'"),
        "{err}"
    );
    // The old secret is dead and the new one is gone: consumers are down until recovery.
    assert_eq!(w.token_status(&w.client_id, &w.initial_secret).await, 401);
    assert_eq!(stored_secret(store).await, w.initial_secret);
    let marker = state(store).await;
    assert_eq!(marker[keys::STATE], "pending");
    assert!(marker[keys::LAST_ERROR].contains("secret lost"));
    assert_eq!(w.mints(), 1);

    faults(0);
    let out = engine
        .recover(&w.jamf, &t)
        .await
        .unwrap()
        .expect("recovery rotates again");
    assert_eq!(out.action, RotationAction::Rotated);
    assert!(matches!(
        out.recovery,
        Some(Recovery::PendingWithoutNewerVersion { attempt: 1, .. })
    ));
    assert_eq!(out.attempt, 2);
    assert_eq!(w.mints(), 2);
    let secret = stored_secret(store).await;
    assert_eq!(w.token_status(&w.client_id, &secret).await, 200);
    assert_eq!(state(store).await[keys::STATE], "ok");
    assert!(engine.recover(&w.jamf, &t).await.unwrap().is_none());
}

#[tokio::test]
async fn secret_lost_in_openbao_is_recovered_by_rotating_again() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let w = world().await;
    let store = FaultyStore::new(vault(&bao).await);
    secret_lost_then_recovered(&w, &store, &|n| store.faults().fail_next_secret_writes(n)).await;
}

#[tokio::test]
async fn secret_lost_in_memory_is_recovered_by_rotating_again() {
    let w = world().await;
    let store = MemoryStore::new();
    secret_lost_then_recovered(&w, &store, &|n| store.faults().fail_next_secret_writes(n)).await;
}

#[tokio::test]
async fn a_failed_mint_is_not_retried_and_changes_nothing() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    w.seed(&vault).await;
    w.inst
        .set_faults([FaultRule::fail_next(CREDS_ENDPOINT, 1, 503)])
        .unwrap();
    let engine = RotationEngine::new(&vault, config("d1"));
    let t = target(RotationStrategy::Single);
    let err = engine.rotate(&w.jamf, &t).await.unwrap_err();
    match &err {
        RotationError::MintFailed {
            old_secret_works, ..
        } => assert_eq!(*old_secret_works, Some(true)),
        other => panic!("expected mint failed, got {other:?}"),
    }
    assert!(!err.secret_changed());
    assert_eq!(w.mints(), 1, "exactly one mint request, no retry");
    assert_eq!(w.token_status(&w.client_id, &w.initial_secret).await, 200);
    // Clean: the marker is back as it was (plus the error), nothing for recovery to do.
    let marker = state(&vault).await;
    assert!(!marker.contains_key(keys::STATE), "{marker:?}");
    assert!(marker[keys::LAST_ERROR].contains("mint failed"));
    assert!(engine.recover(&w.jamf, &t).await.unwrap().is_none());
    assert_eq!(stored_secret(&vault).await, w.initial_secret);
    // The next rotation works.
    engine.rotate(&w.jamf, &t).await.unwrap();
    assert_eq!(w.mints(), 2);
}

#[tokio::test]
async fn a_mint_whose_answer_was_lost_is_recovered() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    w.seed(&vault).await;
    w.inst
        .set_faults([FaultRule::fail_next(CREDS_ENDPOINT, 1, 503).after_commit()])
        .unwrap();
    let engine = RotationEngine::new(&vault, config("d1"));
    let t = target(RotationStrategy::Single);
    let err = engine.rotate(&w.jamf, &t).await.unwrap_err();
    assert!(matches!(
        err,
        RotationError::MintFailed {
            old_secret_works: Some(false),
            ..
        }
    ));
    assert!(err.needs_recovery());
    assert_eq!(w.mints(), 1);
    assert_eq!(w.token_status(&w.client_id, &w.initial_secret).await, 401);
    assert_eq!(state(&vault).await[keys::STATE], "pending");

    let out = engine.recover(&w.jamf, &t).await.unwrap().unwrap();
    assert!(matches!(
        out.recovery,
        Some(Recovery::PendingWithoutNewerVersion { .. })
    ));
    assert_eq!(w.mints(), 2);
    let secret = stored_secret(&vault).await;
    assert_eq!(w.token_status(&w.client_id, &secret).await, 200);
}
