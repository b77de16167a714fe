//! The `alternating` strategy against a real OpenBao and the Jamf Pro simulator: the twin
//! client, the slot layout and the flip; and a consumer that reads Vault and gets a token every
//! 100 ms during 20 rotations: zero failures with `alternating`, failures only while a rotation
//! runs with `single`.

use crate::rotation_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rotation_support::*;
use warden_core::clock;
use warden_core::config::RotationStrategy;
use warden_core::rotation::{RotationAction, RotationEngine, Slot, Step, keys};
use warden_core::vault::Vault;
use warden_testkit::OpenBao;

const ALTERNATE: &str = "Inventory Sync (alternate)";

async fn current(vault: &Vault, path: &str) -> (String, String) {
    let v = vault.read_secret(path).await.unwrap().unwrap();
    (
        field(&v.value, "client_id"),
        field(&v.value, "client_secret"),
    )
}

#[tokio::test]
async fn alternating_creates_the_twin_rotates_the_idle_slot_and_flips() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    w.seed(&vault).await; // the declared client's secret, as left by `single` or a bootstrap
    let engine = RotationEngine::new(&vault, config("d1"));
    let t = target(RotationStrategy::Alternating);
    let slot_a = format!("{VAULT_PATH}/slots/a");
    let slot_b = format!("{VAULT_PATH}/slots/b");

    // 1: slot a (the declared client) is current, so b is rotated; the twin is created.
    let out = engine.rotate(&w.jamf, &t).await.unwrap();
    assert!(out.alternate_created);
    assert_eq!(out.slot, Some(Slot::B));
    assert_eq!(out.jamf_client, ALTERNATE);
    let alt = w.inst.client_by_name(ALTERNATE).expect("the twin exists");
    assert_eq!(alt.authorization_scopes, vec![ROLE.to_string()]);
    assert!(alt.enabled);
    assert_eq!(alt.access_token_lifetime_seconds, 300);
    let (id1, secret1) = current(&vault, VAULT_PATH).await;
    assert_eq!(id1, alt.client_id);
    assert_eq!(
        current(&vault, &slot_b).await,
        (id1.clone(), secret1.clone())
    );
    let meta = vault.read_metadata(VAULT_PATH).await.unwrap().unwrap();
    assert_eq!(meta.custom[keys::CURRENT], "b");
    assert_eq!(meta.custom[keys::SLOT_B_VERSION], "1");
    assert_eq!(meta.custom[keys::VERSION], "2");
    assert_eq!(meta.custom[keys::STRATEGY], "alternating");
    // nobody lost anything: the declared client's secret still works
    assert_eq!(w.token_status(&w.client_id, &w.initial_secret).await, 200);
    assert_eq!(w.token_status(&id1, &secret1).await, 200);

    // 2: slot a is rotated and becomes current; b's secret keeps working.
    let out = engine.rotate(&w.jamf, &t).await.unwrap();
    assert!(!out.alternate_created);
    assert_eq!((out.slot, out.version), (Some(Slot::A), 3));
    let (id2, secret2) = current(&vault, VAULT_PATH).await;
    assert_eq!(id2, w.client_id);
    assert_eq!(
        current(&vault, &slot_a).await,
        (id2.clone(), secret2.clone())
    );
    assert_eq!(w.token_status(&id1, &secret1).await, 200);
    assert_eq!(w.token_status(&id2, &secret2).await, 200);
    assert_eq!(w.token_status(&w.client_id, &w.initial_secret).await, 401);

    // 3: back to b; a's secret from round 2 still works, b's from round 1 is replaced.
    let out = engine.rotate(&w.jamf, &t).await.unwrap();
    assert_eq!(out.slot, Some(Slot::B));
    assert_eq!(w.token_status(&id2, &secret2).await, 200);
    assert_eq!(w.token_status(&id1, &secret1).await, 401);
    let (id3, secret3) = current(&vault, VAULT_PATH).await;
    assert_eq!(w.token_status(&id3, &secret3).await, 200);

    // The layout as a consumer (or an operator with the bao CLI) sees it.
    let mut cmd = bao.cli();
    cmd.args([
        "kv",
        "get",
        "-field=client_id",
        &format!("secret/{FULL_PATH}/slots/a"),
    ]);
    let out = tokio::process::Command::from(cmd).output().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), w.client_id);
    let status = engine.status(&t).await.unwrap();
    assert_eq!(status.current_slot, Some(Slot::B));
    assert!(status.to_string().contains("alternating/b"), "{status}");
}

#[tokio::test]
async fn an_interrupted_alternating_rotation_is_recovered_in_its_slot() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    w.seed(&vault).await;
    let t = target(RotationStrategy::Alternating);
    kill_at(&vault, config("d1"), &w.jamf, &t, Step::Finalize).await;
    // stored and verified in slot b, but not flipped: consumers still read slot a's secret
    let (id, secret) = current(&vault, VAULT_PATH).await;
    assert_eq!(id, w.client_id);
    assert_eq!(w.token_status(&id, &secret).await, 200);
    let engine = RotationEngine::new(&vault, config("d1"));
    let out = engine.recover(&w.jamf, &t).await.unwrap().unwrap();
    assert_eq!(out.action, RotationAction::Verified);
    assert_eq!(out.slot, Some(Slot::B));
    assert_eq!(w.mints(), 1);
    let (id, secret) = current(&vault, VAULT_PATH).await;
    assert_ne!(id, w.client_id);
    assert_eq!(w.token_status(&id, &secret).await, 200);
}

/// One consumer attempt: read `<vault_path>` over HTTP, request a token with it.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    start: Instant,
    end: Instant,
    ok: bool,
}

/// Runs `rotations` rotations (spaced out) while a consumer reads Vault and requests a token
/// every 100 ms. Returns the consumer's attempts and the rotations' time spans.
async fn consume_during_rotations(
    strategy: RotationStrategy,
    rotations: usize,
) -> (Vec<Attempt>, Vec<(Instant, Instant)>) {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = vault(&bao).await;
    let w = world().await;
    w.seed(&vault).await;
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (stop, addr, token, sim) = (
            stop.clone(),
            bao.addr().to_string(),
            bao.root_token().to_string(),
            w.sim.url(),
        );
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut attempts = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let start = clock::instant();
                let ok = match consumer_read(&http, &addr, &token, FULL_PATH).await {
                    Some((id, secret)) => token_status_with(&http, &sim, &id, &secret).await == 200,
                    None => false,
                };
                attempts.push(Attempt {
                    start,
                    end: clock::instant(),
                    ok,
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            attempts
        })
    };
    let engine = RotationEngine::new(&vault, config("d1"));
    let t = target(strategy);
    let mut spans = Vec::new();
    tokio::time::sleep(Duration::from_millis(150)).await;
    for _ in 0..rotations {
        let start = clock::instant();
        engine.rotate(&w.jamf, &t).await.expect("rotation succeeds");
        spans.push((start, clock::instant()));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let attempts = consumer.await.unwrap();
    (attempts, spans)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alternating_consumer_never_holds_a_dead_secret() {
    let (attempts, spans) = consume_during_rotations(RotationStrategy::Alternating, 20).await;
    let failures = attempts.iter().filter(|a| !a.ok).count();
    println!(
        "alternating: {} consumer attempts during {} rotations, {failures} failures",
        attempts.len(),
        spans.len()
    );
    assert!(attempts.len() >= 20, "the consumer ran: {}", attempts.len());
    assert_eq!(failures, 0, "zero downtime with alternating");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_consumer_fails_only_while_a_rotation_runs() {
    let (attempts, spans) = consume_during_rotations(RotationStrategy::Single, 20).await;
    let failures: Vec<&Attempt> = attempts.iter().filter(|a| !a.ok).collect();
    println!(
        "single: {} consumer attempts during {} rotations, {} failures (the outage jamf imposes)",
        attempts.len(),
        spans.len(),
        failures.len()
    );
    assert!(attempts.len() >= 20, "the consumer ran: {}", attempts.len());
    for f in &failures {
        // a failure means the secret died between the read and the token request: a mint
        // happened then, and mints only happen inside rotations
        assert!(
            spans.iter().any(|(s, e)| f.start <= *e && *s <= f.end),
            "a failure outside every rotation: {f:?}"
        );
    }
}
