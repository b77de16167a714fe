//! Recovery of rotations interrupted at each critical step (the daemon "killed" there by
//! dropping the rotation at a step hook), against a real OpenBao or the in-memory store and the
//! Jamf Pro simulator: a lost secret is rotated again, a stored one only verified, another
//! daemon's fresh marker is respected until it expires.

use crate::rotation_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use jamf_sim::{FaultRule, SimInstance};
use rotation_support::*;
use serde_json::Value;
use warden_core::config::RotationStrategy;
use warden_core::rotation::{
    MemoryStore, Recovery, RotationAction, RotationEngine, RotationError, SecretState, SecretStore,
    Step, StepContext, StepHook, VerifyFailure, keys,
};
use warden_core::vault::{KvMetadata, SecretMap, VaultError, Versioned};
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
async fn killed_right_after_the_mint_recovery_rotates_again() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    w.seed(&vault).await;
    let t = target(RotationStrategy::Single);
    kill_at(&vault, config("d1"), &w.jamf, &t, Step::Store).await;
    assert_eq!(w.mints(), 1);
    let marker = state(&vault).await;
    assert_eq!(marker[keys::STATE], "pending");
    assert_eq!(marker[keys::BASE_VERSION], "1");
    // The minted secret died with the process; the stored one no longer works.
    assert_eq!(w.token_status(&w.client_id, &w.initial_secret).await, 401);

    // The same daemon, restarted, recovers at once (its own lock is taken over).
    let engine = RotationEngine::new(&vault, config("d1"));
    let out = engine.recover(&w.jamf, &t).await.unwrap().unwrap();
    assert_eq!(out.action, RotationAction::Rotated);
    assert!(
        out.recovery
            .as_ref()
            .unwrap()
            .to_string()
            .contains("rotated again")
    );
    assert_eq!(w.mints(), 2);
    let secret = stored_secret(&vault).await;
    assert_eq!(w.token_status(&w.client_id, &secret).await, 200);
}

#[tokio::test]
async fn killed_before_verify_recovery_only_verifies() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    w.seed(&vault).await;
    let t = target(RotationStrategy::Single);
    kill_at(&vault, config("d1"), &w.jamf, &t, Step::Verify).await;
    let marker = state(&vault).await;
    assert_eq!(marker[keys::STATE], "stored");
    assert_eq!(marker[keys::STORED_VERSION], "2");

    let engine = RotationEngine::new(&vault, config("d1"));
    let out = engine.recover(&w.jamf, &t).await.unwrap().unwrap();
    assert_eq!(out.action, RotationAction::Verified);
    assert_eq!(
        out.recovery,
        Some(Recovery::StoredUnverified { version: 2 })
    );
    assert_eq!(out.version, 2);
    assert_eq!(w.mints(), 1, "recovery of a stored secret mints nothing");
    assert_eq!(state(&vault).await[keys::STATE], "ok");
}

#[tokio::test]
async fn a_stored_secret_that_jamf_rejects_is_rotated_again() {
    let w = world().await;
    let store = MemoryStore::new();
    w.seed(&store).await;
    let t = target(RotationStrategy::Single);
    kill_at(&store, config("d1"), &w.jamf, &t, Step::Verify).await;
    w.inst.mint_secret(w.id).unwrap(); // someone rotated it in the Jamf console
    let engine = RotationEngine::new(&store, config("d1"));
    let out = engine.recover(&w.jamf, &t).await.unwrap().unwrap();
    assert_eq!(out.action, RotationAction::Rotated);
    assert!(matches!(
        out.recovery,
        Some(Recovery::StoredSecretRejected { version: 2, .. })
    ));
    assert_eq!(out.version, 3);
    assert_eq!(Some(stored_secret(&store).await), w.live_secret());
}

#[tokio::test]
async fn another_daemons_pending_marker_stops_us_until_it_expires() {
    let w = world().await;
    let store = MemoryStore::new();
    w.seed(&store).await;
    let t = target(RotationStrategy::Single);
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
    kill_at(
        &store,
        config_with_clock("d1", clock.clock()),
        &w.jamf,
        &t,
        Step::Store,
    )
    .await;

    let other = RotationEngine::new(&store, config_with_clock("d2", clock.clock()));
    match other.recover(&w.jamf, &t).await {
        Err(RotationError::Locked { holder, since, .. }) => {
            assert_eq!(holder, "d1");
            assert_eq!(since, clock.now());
        }
        other => panic!("expected locked, got {other:?}"),
    }
    assert_eq!(w.mints(), 1);
    clock.advance(Duration::from_secs(3600));
    let out = other.recover(&w.jamf, &t).await.unwrap().unwrap();
    assert_eq!(out.action, RotationAction::Rotated);
    assert_eq!(w.mints(), 2);
    assert_eq!(out.rotated_at, clock.now());
}

/// A store whose metadata writes fail once frozen (at `Store`): the secret write lands, the
/// `stored` marker does not.
struct FreezeMetadata {
    inner: MemoryStore,
    frozen: AtomicBool,
}

impl SecretStore for FreezeMetadata {
    fn full_path(&self, path: &str) -> String {
        self.inner.full_path(path)
    }
    async fn read_secret(&self, p: &str) -> Result<Option<Versioned<SecretMap>>, VaultError> {
        self.inner.read_secret(p).await
    }
    async fn write_secret_cas(&self, p: &str, d: &SecretMap, cas: u64) -> Result<u64, VaultError> {
        self.inner.write_secret_cas(p, d, cas).await
    }
    async fn read_json(&self, p: &str) -> Result<Option<Versioned<Value>>, VaultError> {
        self.inner.read_json(p).await
    }
    async fn write_json_cas(&self, p: &str, d: &Value, cas: u64) -> Result<u64, VaultError> {
        self.inner.write_json_cas(p, d, cas).await
    }
    async fn read_metadata(&self, p: &str) -> Result<Option<KvMetadata>, VaultError> {
        self.inner.read_metadata(p).await
    }
    async fn write_custom_metadata(
        &self,
        p: &str,
        c: &BTreeMap<String, String>,
    ) -> Result<(), VaultError> {
        if self.frozen.load(Ordering::SeqCst) {
            return Err(VaultError::Unavailable {
                address: "test".into(),
                detail: "frozen".into(),
            });
        }
        self.inner.write_custom_metadata(p, c).await
    }
}

struct Freeze(Arc<FreezeMetadata>);

impl StepHook for Freeze {
    async fn reached(&self, step: Step, _ctx: &StepContext<'_>) {
        if step == Step::Store {
            self.0.frozen.store(true, Ordering::SeqCst);
        }
    }
}

#[tokio::test]
async fn stored_but_unrecorded_secret_is_verified_not_minted_again() {
    let w = world().await;
    let store = Arc::new(FreezeMetadata {
        inner: MemoryStore::new(),
        frozen: AtomicBool::new(false),
    });
    w.seed(&*store).await;
    let t = target(RotationStrategy::Single);
    let mut cfg = config("d1");
    cfg.store_retry_budget = Duration::from_millis(200);
    let engine = RotationEngine::new(store.clone(), cfg).with_hook(Freeze(store.clone()));
    let err = engine.rotate(&w.jamf, &t).await.unwrap_err();
    assert!(
        matches!(err, RotationError::NotFinalized { version: 2, .. }),
        "{err:?}"
    );
    assert_eq!(state(&*store).await[keys::STATE], "pending");

    store.frozen.store(false, Ordering::SeqCst);
    let out = engine.recover(&w.jamf, &t).await.unwrap().unwrap();
    assert_eq!(out.action, RotationAction::Verified);
    assert!(matches!(
        out.recovery,
        Some(Recovery::PendingWithNewerVersion { version: 2, .. })
    ));
    assert_eq!(w.mints(), 1);
}

/// Makes Jamf's token endpoint fail (503) once `Verify` is reached.
struct BreakTokens(SimInstance);

impl StepHook for BreakTokens {
    async fn reached(&self, step: Step, _ctx: &StepContext<'_>) {
        if step == Step::Verify {
            self.0
                .set_faults([FaultRule::fail_next("POST /api/v1/oauth/token", 50, 503)])
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_verification_that_cannot_run_leaves_stored_for_the_next_attempt() {
    let w = world().await;
    let store = MemoryStore::new();
    w.seed(&store).await;
    let t = target(RotationStrategy::Single);
    let engine = RotationEngine::new(&store, config("d1")).with_hook(BreakTokens(w.inst.clone()));
    let err = engine.rotate(&w.jamf, &t).await.unwrap_err();
    match &err {
        RotationError::VerifyFailed {
            version, failure, ..
        } => {
            assert_eq!(*version, 2);
            assert!(matches!(failure, VerifyFailure::Unavailable { .. }));
        }
        other => panic!("expected verify failed, got {other:?}"),
    }
    let marker = state(&store).await;
    assert_eq!(marker[keys::STATE], SecretState::Stored.as_str());
    w.inst.clear_faults();
    let plain = RotationEngine::new(&store, config("d2"));
    // the failed attempt released its marker: another daemon may verify right away
    let out = plain.rotate(&w.jamf, &t).await.unwrap();
    assert_eq!(out.action, RotationAction::Verified);
    assert_eq!(w.mints(), 1);
}
