//! `warden_core::vault` against a real OpenBao dev server: token and AppRole authentication,
//! renewal and re-login, versioned reads, check-and-set writes and their conflicts, custom
//! metadata, policies, and clear errors for bad tokens and unreachable servers.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;
use warden_core::clock::{ManualClock, Stopwatch};
use warden_core::vault::{SecretMap, Vault, VaultCredentials, VaultError, VaultSettings};
use warden_testkit::OpenBao;

fn settings(bao: &OpenBao) -> VaultSettings {
    VaultSettings::new(Url::parse(bao.addr()).unwrap())
}

/// [`settings`] with a clock the test moves to make a token renewal due.
fn settings_on(bao: &OpenBao, clock: &ManualClock) -> VaultSettings {
    let mut s = settings(bao);
    s.clock = clock.clock();
    s
}

fn root(bao: &OpenBao) -> VaultCredentials {
    VaultCredentials::Token(SecretString::from(bao.root_token().to_string()))
}

fn secret(v: &str) -> SecretString {
    SecretString::from(v.to_string())
}

#[tokio::test]
async fn versioned_cas_writes_and_reads() {
    let bao = OpenBao::start().await.expect("openbao must start");
    let vault = Vault::connect(settings(&bao), root(&bao)).await.unwrap();
    vault.health().await.unwrap();

    assert!(vault.read_secret("clients/a").await.unwrap().is_none());
    assert!(vault.read_metadata("clients/a").await.unwrap().is_none());

    let mut m = SecretMap::new();
    m.insert("client_id", secret("id-1"));
    m.insert("client_secret", secret("first-secret"));
    assert_eq!(vault.write_secret_cas("clients/a", &m, 0).await.unwrap(), 1);

    // creating again with cas=0 conflicts
    let err = vault
        .write_secret_cas("clients/a", &m, 0)
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::CasConflict { .. }), "{err:?}");

    m.insert("client_secret", secret("second-secret"));
    assert_eq!(vault.write_secret_cas("clients/a", &m, 1).await.unwrap(), 2);
    // a stale cas conflicts and leaves the secret alone
    let err = vault
        .write_secret_cas("clients/a", &m, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::CasConflict { .. }));
    assert!(err.to_string().contains("check-and-set conflict"));

    let latest = vault.read_secret("clients/a").await.unwrap().unwrap();
    assert_eq!(latest.version, 2);
    assert_eq!(
        latest.value.get("client_secret").unwrap().expose_secret(),
        "second-secret"
    );
    let v1 = vault
        .read_secret_version("clients/a", 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        v1.get("client_secret").unwrap().expose_secret(),
        "first-secret"
    );

    // custom metadata replaces the whole map
    let mut custom = BTreeMap::new();
    custom.insert("state".to_string(), "pending".to_string());
    custom.insert("daemon".to_string(), "d1".to_string());
    vault
        .write_custom_metadata("clients/a", &custom)
        .await
        .unwrap();
    let meta = vault.read_metadata("clients/a").await.unwrap().unwrap();
    assert_eq!(meta.current_version, 2);
    assert_eq!(meta.custom, custom);
    assert_eq!(meta.versions.len(), 2);
    let mut only = BTreeMap::new();
    only.insert("state".to_string(), "ok".to_string());
    vault
        .write_custom_metadata("clients/a", &only)
        .await
        .unwrap();
    assert_eq!(
        vault
            .read_metadata("clients/a")
            .await
            .unwrap()
            .unwrap()
            .custom,
        only
    );

    // metadata can be written before any data exists (a marker on a new path)
    vault
        .write_custom_metadata("clients/new", &only)
        .await
        .unwrap();
    let meta = vault.read_metadata("clients/new").await.unwrap().unwrap();
    assert_eq!(meta.current_version, 0);
    assert_eq!(
        vault.write_secret_cas("clients/new", &m, 0).await.unwrap(),
        1
    );

    // everything lives under the prefix, where the CLI finds it
    let out = bao
        .cli()
        .args([
            "kv",
            "get",
            "-field=client_id",
            "secret/jamf-warden/clients/a",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "id-1");

    let mut keys = vault.list("clients").await.unwrap();
    keys.sort();
    assert_eq!(keys, vec!["a".to_string(), "new".to_string()]);
    vault.delete_all("clients/new").await.unwrap();
    assert!(vault.read_secret("clients/new").await.unwrap().is_none());

    // Debug of the client shows no token
    assert!(!format!("{vault:?}").contains(bao.root_token()));
}

#[tokio::test]
async fn bad_token_and_unreachable_server_are_clear_errors() {
    let bao = OpenBao::start().await.expect("openbao must start");
    let err = Vault::connect(
        settings(&bao),
        VaultCredentials::Token(secret("not-a-valid-token")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, VaultError::Auth(_)), "{err:?}");
    assert!(!err.to_string().contains("not-a-valid-token"));

    // a port nobody listens on
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = dead.local_addr().unwrap();
    drop(dead);
    let mut s = settings(&bao);
    s.address = Url::parse(&format!("http://{addr}")).unwrap();
    s.timeout = Duration::from_secs(3);
    let err = Vault::connect(s, root(&bao)).await.unwrap_err();
    assert!(matches!(err, VaultError::Unavailable { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("unreachable"));
}

#[tokio::test]
async fn approle_login_policy_renewal_and_relogin() {
    let bao = OpenBao::start().await.expect("openbao must start");
    let creds = bao
        .approle("warden", "jamf-warden", "60s", false)
        .await
        .unwrap();
    let clock = ManualClock::starting_now();
    let vault = Vault::connect(
        settings_on(&bao, &clock),
        VaultCredentials::AppRole {
            mount: "approle".into(),
            role_id: secret(&creds.role_id),
            secret_id: secret(&creds.secret_id),
        },
    )
    .await
    .unwrap();
    let st = vault.token_state().await;
    assert!(st.renewable);
    assert_eq!(st.lease, Some(Duration::from_secs(60)));

    let mut m = SecretMap::new();
    m.insert("x", secret("y"));
    vault.write_secret_cas("ok/path", &m, 0).await.unwrap();

    // outside the policy's prefix: denied, with a message that says what to grant
    let mut other = settings(&bao);
    other.path_prefix = "elsewhere".into();
    let outside = Vault::connect(
        other,
        VaultCredentials::AppRole {
            mount: "approle".into(),
            role_id: secret(&creds.role_id),
            secret_id: secret(&creds.secret_id),
        },
    )
    .await
    .unwrap();
    let err = outside.write_secret_cas("p", &m, 0).await.unwrap_err();
    assert!(matches!(err, VaultError::Denied { .. }), "{err:?}");
    assert!(err.to_string().contains("policy"));

    // not yet due: nothing happens; at two thirds of the lease: renewed
    assert!(!vault.maintain_token(vault.now()).await.unwrap());
    clock.advance(Duration::from_secs(41));
    assert!(vault.maintain_token(vault.now()).await.unwrap());
    vault.write_secret_cas("ok/path", &m, 1).await.unwrap();

    // batch tokens cannot be renewed: Warden logs in again
    let batch = bao
        .approle("warden-batch", "jamf-warden", "60s", true)
        .await
        .unwrap();
    let batch_clock = ManualClock::starting_now();
    let vb = Vault::connect(
        settings_on(&bao, &batch_clock),
        VaultCredentials::AppRole {
            mount: "approle".into(),
            role_id: secret(&batch.role_id),
            secret_id: secret(&batch.secret_id),
        },
    )
    .await
    .unwrap();
    assert!(!vb.token_state().await.renewable);
    batch_clock.advance(Duration::from_secs(45));
    assert!(vb.maintain_token(vb.now()).await.unwrap());
    assert!(vb.read_secret("ok/path").await.unwrap().is_some());

    // the root token never expires: nothing to maintain
    let root_clock = ManualClock::starting_now();
    let vr = Vault::connect(settings_on(&bao, &root_clock), root(&bao))
        .await
        .unwrap();
    root_clock.advance(Duration::from_secs(86_400));
    assert!(!vr.maintain_token(vr.now()).await.unwrap());
}

/// A burst of concurrent requests opens as many connections as are in flight; once answered,
/// Vault keeps at most [`warden_core::vault::POOL_MAX_IDLE`] of them open (all Vault requests
/// share one pool). Before the cap, vaultrs' pool kept every connection of the largest burst
/// (each with its buffers and a task driving it) for as long as Vault was used more often
/// than the idle timeout: the daemon's tasks and heap grew with its busiest moment (the soak
/// test's day 30 against day 10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_requests_leaves_at_most_the_pool_cap_of_connections_open() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::net::{TcpListener, TcpStream};
    use warden_core::vault::POOL_MAX_IDLE;

    const BURST: usize = 4 * POOL_MAX_IDLE;
    let bao = OpenBao::start().await.expect("openbao must start");
    let upstream: std::net::SocketAddr = bao.addr().trim_start_matches("http://").parse().unwrap();
    // a TCP proxy in front of OpenBao that counts the connections it accepted and holds open
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let (accepted, open) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (acc, op) = (Arc::clone(&accepted), Arc::clone(&open));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            acc.fetch_add(1, Ordering::SeqCst);
            op.fetch_add(1, Ordering::SeqCst);
            let op = Arc::clone(&op);
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
                op.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });

    let settings = VaultSettings::new(Url::parse(&proxy).unwrap());
    let vault = Arc::new(Vault::connect(settings, root(&bao)).await.unwrap());
    let mut m = SecretMap::new();
    m.insert("client_secret", secret("burst-secret"));
    vault
        .write_secret_cas("clients/burst", &m, 0)
        .await
        .unwrap();

    // vaultrs' requests (KV reads) and the raw ones (health) at once
    let mut set = tokio::task::JoinSet::new();
    for i in 0..BURST {
        let vault = Arc::clone(&vault);
        set.spawn(async move {
            if i % 4 == 0 {
                vault.health().await.map(|_| ())
            } else {
                vault.read_secret("clients/burst").await.map(|_| ())
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    let opened = accepted.load(Ordering::SeqCst);
    assert!(
        opened > POOL_MAX_IDLE + 1,
        "the burst opened only {opened} connections: it proves nothing about the cap"
    );
    // the connections over the cap are closed as their answers arrive, long before the idle
    // timeout; poll for the proxy to see them go
    let start = Stopwatch::start();
    loop {
        let held = open.load(Ordering::SeqCst);
        if held <= POOL_MAX_IDLE {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{held} of the burst's {opened} connections to vault are still open (cap {POOL_MAX_IDLE})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // and they still serve
    assert!(vault.read_secret("clients/burst").await.unwrap().is_some());
}
