//! Shared setup of the `rotation_*` tests: the Jamf Pro simulator with a management client and
//! a managed client, engines, clocks, hooks, and token checks as a consumer would make them.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jamf_sim::{Sim, SimInstance, SimOptions};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;
use url::Url;
use warden_core::config::{ClientRotation, DesiredClient, RotationStrategy};
use warden_core::jamf::{Credentials, JamfClient, JamfClientConfig, RetryPolicy};
use warden_core::rotation::{
    Clock, RotationConfig, RotationEngine, RotationTarget, SecretStore, Step, StepContext, StepHook,
};
use warden_core::schedule::Schedule;
use warden_core::vault::{SecretMap, Vault, VaultCredentials, VaultSettings};
use warden_testkit::OpenBao;

pub const INSTANCE: &str = "sim";
pub const CLIENT: &str = "Inventory Sync";
pub const ROLE: &str = "Inventory Read";
pub const VAULT_PATH: &str = "instances/sim/clients/inventory-sync";
/// The same path as `bao` and the HTTP API see it (mount `secret`, prefix `jamf-warden`).
pub const FULL_PATH: &str = "jamf-warden/instances/sim/clients/inventory-sync";
pub const CREDS_ENDPOINT: &str = "POST /api/v1/api-integrations/{id}/client-credentials";
pub const CREDS_ROUTE: &str = "/api/v1/api-integrations/{id}/client-credentials";

const MANAGEMENT: [&str; 8] = [
    "Read API Roles",
    "Create API Roles",
    "Update API Roles",
    "Delete API Roles",
    "Read API Integrations",
    "Create API Integrations",
    "Update API Integrations",
    "Delete API Integrations",
];

/// A simulator with Warden's management client and one managed client holding a secret.
pub struct World {
    pub sim: Sim,
    pub inst: SimInstance,
    /// Warden's own Jamf client (the 8 management privileges).
    pub jamf: JamfClient,
    /// The managed client's Jamf id.
    pub id: u64,
    /// Its OAuth client id.
    pub client_id: String,
    /// The secret it had before any rotation.
    pub initial_secret: String,
}

pub async fn world() -> World {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default())
        .await
        .expect("the simulator starts");
    let inst = sim.instance(None);
    inst.create_role("Warden Management", MANAGEMENT).unwrap();
    let (mid, mclient) = inst
        .create_client("Warden", ["Warden Management"], true, 300)
        .unwrap();
    let msecret = inst.mint_secret(mid).unwrap();
    let mut cfg = JamfClientConfig::new(INSTANCE, Url::parse(&sim.url()).unwrap());
    cfg.retry = RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    let jamf = JamfClient::new(cfg, Credentials::api_client(mclient, msecret)).unwrap();
    inst.create_role(ROLE, ["Read Computers", "Read API Roles"])
        .unwrap();
    let (id, client_id) = inst.create_client(CLIENT, [ROLE], true, 300).unwrap();
    let initial_secret = inst.mint_secret(id).unwrap();
    World {
        sim,
        inst,
        jamf,
        id,
        client_id,
        initial_secret,
    }
}

impl World {
    /// Number of `client-credentials` (mint) requests the simulator received.
    pub fn mints(&self) -> u64 {
        self.inst.stats().count("POST", CREDS_ROUTE)
    }

    /// The managed client's current secret in the simulator.
    pub fn live_secret(&self) -> Option<String> {
        self.inst.client(self.id).and_then(|c| c.client_secret)
    }

    /// Stores the initial secret as an operator's bootstrap would (version 1).
    pub async fn seed<S: SecretStore>(&self, store: &S) {
        let mut m = SecretMap::new();
        m.insert("client_id", secret(&self.client_id));
        m.insert("client_secret", secret(&self.initial_secret));
        store.write_secret_cas(VAULT_PATH, &m, 0).await.unwrap();
    }

    /// Status of a token request made as a consumer would (reqwest, form body).
    pub async fn token_status(&self, client_id: &str, client_secret: &str) -> u16 {
        token_status(&self.sim.url(), client_id, client_secret).await
    }
}

pub async fn token_status(sim_url: &str, client_id: &str, client_secret: &str) -> u16 {
    token_status_with(&reqwest::Client::new(), sim_url, client_id, client_secret).await
}

/// [`token_status`] with a long-lived HTTP client, as a real consumer has.
pub async fn token_status_with(
    http: &reqwest::Client,
    sim_url: &str,
    client_id: &str,
    client_secret: &str,
) -> u16 {
    http.post(format!("{sim_url}/api/v1/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ])
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// The same request with curl, as `docs/rotation.md` shows it. Async: the simulator serves on
/// this test's runtime.
pub async fn curl_token_status(sim_url: &str, client_id: &str, client_secret: &str) -> u16 {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .arg(format!("{sim_url}/api/v1/oauth/token"))
        .args(["-d", "grant_type=client_credentials"])
        .args(["-d", &format!("client_id={client_id}")])
        .args([
            "--data-urlencode",
            &format!("client_secret={client_secret}"),
        ])
        .output()
        .await
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

pub fn secret(v: &str) -> SecretString {
    SecretString::from(v.to_string())
}

pub fn field(m: &SecretMap, k: &str) -> String {
    m.get(k)
        .map(|v| v.expose_secret().to_string())
        .unwrap_or_default()
}

pub fn declared(strategy: RotationStrategy) -> DesiredClient {
    DesiredClient {
        name: CLIENT.into(),
        roles: vec![ROLE.into()],
        enabled: true,
        token_lifetime: 300,
        owner: "it@example.com".into(),
        purpose: "tests".into(),
        vault_path: Some(VAULT_PATH.into()),
        rotation: ClientRotation {
            schedule: Some(Schedule::parse("0 4 * * SUN", None).unwrap()),
            max_age: None,
            strategy,
            // these tests are about the engine's mechanics, some on a path nothing was seeded
            // to: the desired state consents to rotating (adoption has tests of its own)
            adopt: warden_core::config::AdoptPolicy::Rotate,
        },
        source: Path::new("").into(),
    }
}

pub fn target(strategy: RotationStrategy) -> RotationTarget {
    RotationTarget::new(INSTANCE, &Schedule::off(), declared(strategy))
}

pub fn config(daemon: &str) -> RotationConfig {
    config_with_clock(daemon, warden_core::clock::system())
}

pub fn config_with_clock(daemon: &str, clock: Clock) -> RotationConfig {
    let mut c = RotationConfig::new(daemon, clock);
    c.store_retry_budget = Duration::from_secs(3);
    c.store_retry_initial_delay = Duration::from_millis(20);
    c.store_retry_max_delay = Duration::from_millis(200);
    c
}

pub async fn vault(bao: &OpenBao) -> Vault {
    let mut settings = VaultSettings::new(Url::parse(bao.addr()).unwrap());
    settings.timeout = Duration::from_secs(1);
    Vault::connect(settings, VaultCredentials::Token(secret(bao.root_token())))
        .await
        .expect("vault connects")
}

/// A clock that only moves when told to.
pub use warden_core::clock::ManualClock;

/// Parks the rotation forever at `step` after telling the test, so that dropping the rotation
/// future is a kill at exactly that step.
#[derive(Clone)]
pub struct StopAt {
    pub step: Step,
    pub reached: Arc<Notify>,
}

impl StopAt {
    pub fn new(step: Step) -> StopAt {
        StopAt {
            step,
            reached: Arc::new(Notify::new()),
        }
    }
}

impl StepHook for StopAt {
    async fn reached(&self, step: Step, _ctx: &StepContext<'_>) {
        if step == self.step {
            self.reached.notify_one();
            std::future::pending::<()>().await;
        }
    }
}

/// Runs a rotation with a [`StopAt`] hook and "kills" it when it reaches the step.
pub async fn kill_at<S: SecretStore>(
    store: S,
    config: RotationConfig,
    jamf: &JamfClient,
    target: &RotationTarget,
    step: Step,
) {
    let hook = StopAt::new(step);
    let reached = hook.reached.clone();
    let engine = RotationEngine::new(store, config).with_hook(hook);
    tokio::select! {
        r = engine.rotate(jamf, target) => panic!("the rotation was not stopped at {step}: {r:?}"),
        _ = reached.notified() => {}
    }
}

/// Reads `<path>` the way a consumer does (HTTP, no client library): `(client_id, secret)`.
pub async fn consumer_read(
    http: &reqwest::Client,
    bao_addr: &str,
    token: &str,
    full_path: &str,
) -> Option<(String, String)> {
    let resp = http
        .get(format!("{bao_addr}/v1/secret/data/{full_path}"))
        .header("X-Vault-Token", token)
        .send()
        .await
        .ok()?;
    let v: serde_json::Value = resp.json().await.ok()?;
    let data = &v["data"]["data"];
    Some((
        data["client_id"].as_str()?.to_string(),
        data["client_secret"].as_str()?.to_string(),
    ))
}
