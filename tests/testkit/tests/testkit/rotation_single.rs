//! `warden_core::rotation` with the `single` strategy against a real OpenBao and the Jamf Pro
//! simulator: the happy path as a consumer sees it, preflight refusals, two racing daemons, a
//! hand-written version during a rotation, status.

use crate::rotation_support;

use std::sync::Arc;

use jamf_sim::ClientPatch;
use rotation_support::*;
use warden_core::changelog::Actor;
use warden_core::config::{DesiredState, RotationStrategy};
use warden_core::rotation::{
    Anomaly, MemoryStore, PreflightFailure, RotationAction, RotationEngine, RotationError,
    RotationTarget, SecretState, SecretStore, Step, StepContext, StepHook, keys, secret_status,
};
use warden_core::schedule::Schedule;
use warden_testkit::OpenBao;

async fn bao_get(bao: &OpenBao, field: &str) -> String {
    let mut cmd = bao.cli();
    cmd.args([
        "kv",
        "get",
        &format!("-field={field}"),
        &format!("secret/{FULL_PATH}"),
    ]);
    let out = tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("bao runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn happy_path_stores_a_working_secret_and_kills_the_old_one() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    w.seed(&vault).await;
    let engine = RotationEngine::new(&vault, config("d1"));
    let t = target(RotationStrategy::Single);

    let out = engine.rotate(&w.jamf, &t).await.expect("rotation succeeds");
    assert_eq!(out.action, RotationAction::Rotated);
    assert_eq!(out.version, 2);
    assert_eq!(out.client_id, w.client_id);
    assert_eq!(out.vault_path, FULL_PATH);
    assert_eq!(out.attempt, 1);
    assert!(out.recovery.is_none() && out.anomalies.is_empty());
    assert!(out.token_invalidated);
    assert_eq!(w.mints(), 1);

    // A consumer reads the secret with the bao CLI and gets a token with curl.
    let new_secret = bao_get(&bao, "client_secret").await;
    assert_eq!(Some(new_secret.clone()), w.live_secret());
    assert_eq!(bao_get(&bao, "client_id").await, w.client_id);
    let url = w.sim.url();
    assert_eq!(bao_get(&bao, "jamf_url").await, url);
    assert_eq!(
        bao_get(&bao, "token_url").await,
        format!("{url}/api/v1/oauth/token")
    );
    assert_eq!(
        curl_token_status(&url, &w.client_id, &new_secret).await,
        200
    );
    assert_eq!(
        curl_token_status(&url, &w.client_id, &w.initial_secret).await,
        401
    );

    let meta = vault.read_metadata(VAULT_PATH).await.unwrap().unwrap();
    assert_eq!(meta.current_version, 2);
    assert_eq!(meta.custom[keys::STATE], "ok");
    assert_eq!(meta.custom[keys::VERSION], "2");
    assert_eq!(meta.custom[keys::DAEMON], "d1");
    assert!(meta.custom.contains_key(keys::ROTATED_AT));
    assert!(meta.custom.contains_key(keys::NEXT_DUE));
    assert!(!meta.custom.contains_key(keys::PENDING_SINCE));

    // The change-log record names the client, path and version, never the secret.
    let entry = out.change_entry(Actor::Daemon);
    let json = serde_json::to_string(&entry.after).unwrap();
    assert!(json.contains(FULL_PATH) && json.contains(&w.client_id));
    assert!(!json.contains(&new_secret));

    // The lock was released: another daemon can rotate right away.
    let other = RotationEngine::new(&vault, config("d2"));
    let again = other.rotate(&w.jamf, &t).await.expect("second rotation");
    assert_eq!(again.version, 3);
    assert_eq!(
        curl_token_status(&url, &w.client_id, &new_secret).await,
        401
    );
}

#[tokio::test]
async fn first_rotation_creates_the_path_with_cas_zero() {
    // The pending marker is written before any data exists: KV v2 then has metadata with
    // version 0, and a check-and-set write with cas=0 must still create version 1.
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    let engine = RotationEngine::new(&vault, config("d1"));
    let out = engine
        .rotate(&w.jamf, &target(RotationStrategy::Single))
        .await
        .unwrap();
    assert_eq!(out.version, 1);
    let stored = vault.read_secret(VAULT_PATH).await.unwrap().unwrap();
    assert_eq!(
        field(&stored.value, "client_secret"),
        w.live_secret().unwrap()
    );
}

#[tokio::test]
async fn preflight_refusals_change_nothing() {
    let w = world().await;
    let store = MemoryStore::new();
    w.seed(&store).await;
    let engine = RotationEngine::new(&store, config("d1"));
    let t = target(RotationStrategy::Single);
    let refused = |r: Result<_, RotationError>| match r {
        Err(RotationError::Preflight { failure, .. }) => failure,
        other => panic!("expected a preflight refusal, got {other:?}"),
    };

    // disabled in Jamf (disabling also revokes the secret)
    w.inst.set_enabled(w.id, false).unwrap();
    let f = refused(engine.rotate(&w.jamf, &t).await);
    assert!(matches!(f, PreflightFailure::Disabled { .. }), "{f:?}");
    w.inst.set_enabled(w.id, true).unwrap();

    // live roles differ from the declared ones
    w.inst.create_role("Extra", ["Read Computers"]).unwrap();
    w.inst
        .update_client(
            w.id,
            ClientPatch {
                authorization_scopes: Some(vec![ROLE.into(), "Extra".into()]),
                ..ClientPatch::default()
            },
        )
        .unwrap();
    let f = refused(engine.rotate(&w.jamf, &t).await);
    match &f {
        PreflightFailure::RolesDiffer { declared, live, .. } => {
            assert_eq!(declared, &vec![ROLE.to_string()]);
            assert_eq!(live, &vec!["Extra".to_string(), ROLE.to_string()]);
        }
        other => panic!("{other:?}"),
    }
    assert!(f.to_string().contains("apply the desired state"));

    // declared disabled
    let mut c = declared(RotationStrategy::Single);
    c.enabled = false;
    let f = refused(
        engine
            .rotate(&w.jamf, &RotationTarget::new(INSTANCE, &Schedule::off(), c))
            .await,
    );
    assert_eq!(f, PreflightFailure::DeclaredDisabled);

    // missing in Jamf
    let mut c = declared(RotationStrategy::Single);
    c.name = "Nobody".into();
    let f = refused(
        engine
            .rotate(&w.jamf, &RotationTarget::new(INSTANCE, &Schedule::off(), c))
            .await,
    );
    assert!(matches!(f, PreflightFailure::ClientMissing { .. }));

    // foreign: the built-in Jamf Reset client (NATIVE_APP_OAUTH)
    let mut c = declared(RotationStrategy::Single);
    c.name = "Jamf Reset".into();
    c.roles = vec!["Jamf Reset".into()];
    match engine
        .rotate(&w.jamf, &RotationTarget::new(INSTANCE, &Schedule::off(), c))
        .await
    {
        Err(e @ RotationError::Foreign { .. }) => {
            assert!(e.to_string().contains("never rotates"), "{e}");
        }
        other => panic!("expected foreign, got {other:?}"),
    }

    assert_eq!(w.mints(), 0);
    let meta = store.read_metadata(VAULT_PATH).await.unwrap().unwrap();
    assert_eq!(meta.current_version, 1);
    assert!(
        meta.custom.is_empty(),
        "no marker was written: {:?}",
        meta.custom
    );
}

#[test]
fn a_client_that_is_not_declared_is_refused() {
    let desired = DesiredState {
        roles: vec![],
        clients: vec![declared(RotationStrategy::Single)],
    };
    assert!(RotationTarget::declared(INSTANCE, &Schedule::off(), &desired, CLIENT).is_ok());
    let err =
        RotationTarget::declared(INSTANCE, &Schedule::off(), &desired, "Shadow IT").unwrap_err();
    assert!(matches!(err, RotationError::NotDeclared { .. }));
    assert!(err.to_string().contains("declare it"), "{err}");
}

#[tokio::test]
async fn two_daemons_racing_mint_once() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = Arc::new(vault(&bao).await);
    let w = world().await;
    w.seed(&*vault).await;
    let t = target(RotationStrategy::Single);
    let a = RotationEngine::new(vault.clone(), config("daemon-a"));
    let b = RotationEngine::new(vault.clone(), config("daemon-b"));
    for round in 1..=3u64 {
        let (ra, rb) = tokio::join!(a.rotate(&w.jamf, &t), b.rotate(&w.jamf, &t));
        let (winner, lost) = match (ra, rb) {
            (Ok(_), Err(e)) => ("daemon-a", e),
            (Err(e), Ok(_)) => ("daemon-b", e),
            (ra, rb) => panic!("expected one winner: {ra:?} / {rb:?}"),
        };
        match &lost {
            RotationError::Locked { holder, .. } => assert_eq!(holder, winner),
            other => panic!("the loser must be told it is locked: {other:?}"),
        }
        assert!(!lost.secret_changed());
        assert_eq!(w.mints(), round, "exactly one mint per round");
        let stored = vault.read_secret(VAULT_PATH).await.unwrap().unwrap();
        assert_eq!(Some(field(&stored.value, "client_secret")), w.live_secret());
    }
}

/// Writes a version by hand at `Store`, as an operator might, while the lock is held.
struct HandWrite<'a> {
    bao: &'a OpenBao,
}

impl StepHook for HandWrite<'_> {
    async fn reached(&self, step: Step, _ctx: &StepContext<'_>) {
        if step == Step::Store {
            let out = self
                .bao
                .cli()
                .args([
                    "kv",
                    "put",
                    &format!("secret/{FULL_PATH}"),
                    "client_secret=by-hand",
                ])
                .output()
                .unwrap();
            assert!(out.status.success());
        }
    }
}

#[tokio::test]
async fn a_version_written_by_hand_during_a_rotation_is_overwritten_and_recorded() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    w.seed(&vault).await;
    let engine = RotationEngine::new(&vault, config("d1")).with_hook(HandWrite { bao: &bao });
    let out = engine
        .rotate(&w.jamf, &target(RotationStrategy::Single))
        .await
        .expect("the just-minted secret is stored anyway");
    assert_eq!(out.version, 3);
    assert_eq!(
        out.anomalies,
        vec![Anomaly::CasConflict {
            path: FULL_PATH.into(),
            expected: 1,
            found: 2
        }]
    );
    let stored = vault.read_secret(VAULT_PATH).await.unwrap().unwrap();
    let secret = field(&stored.value, "client_secret");
    assert_eq!(w.token_status(&w.client_id, &secret).await, 200);
    let meta = vault.read_metadata(VAULT_PATH).await.unwrap().unwrap();
    assert!(meta.custom[keys::ANOMALY].contains("written by hand"));
}

#[tokio::test]
async fn status_goes_from_never_to_ok() {
    let w = world().await;
    let store = MemoryStore::new();
    w.seed(&store).await;
    let t = target(RotationStrategy::Single);
    // the engine of `config` runs on the system clock: "now" from the same one
    let now = warden_core::clock::system()();
    let before = secret_status(&store, &t, now).await.unwrap();
    assert_eq!(before.state, SecretState::Never);
    assert!(before.due);
    assert_eq!(before.version, Some(1));
    assert!(before.to_string().contains("never (due)"), "{before}");

    let engine = RotationEngine::new(&store, config("d1"));
    engine.rotate(&w.jamf, &t).await.unwrap();
    let after = engine.status(&t).await.unwrap();
    assert_eq!(after.state, SecretState::Ok);
    assert!(!after.due);
    assert_eq!(after.version, Some(2));
    assert!(after.rotated_at.is_some() && after.next_due > after.rotated_at);
    let line = after.to_string();
    assert!(
        line.contains("ok") && line.contains("v2") && line.contains(VAULT_PATH),
        "{line}"
    );
    let json = serde_json::to_value(&after).unwrap();
    assert_eq!(json["state"], "ok");
    assert_eq!(json["strategy"], "single");
}

#[tokio::test]
async fn one_engine_runs_one_rotation_per_client_at_a_time() {
    let w = world().await;
    let store = MemoryStore::new();
    w.seed(&store).await;
    let engine = RotationEngine::new(&store, config("d1"));
    let t = target(RotationStrategy::Single);
    let (a, b) = tokio::join!(engine.rotate(&w.jamf, &t), engine.rotate(&w.jamf, &t));
    let lost = match (a, b) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e,
        (a, b) => panic!("expected one winner: {a:?} / {b:?}"),
    };
    assert!(
        matches!(&lost, RotationError::Locked { holder, .. } if holder == "d1"),
        "{lost:?}"
    );
    assert_eq!(w.mints(), 1);
}
