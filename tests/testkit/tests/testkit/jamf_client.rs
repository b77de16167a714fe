//! The Jamf Pro API client (`warden_core::jamf`) against the Jamf Pro simulator.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use jamf_sim::{FaultRule, Sim, SimInstance, SimOptions, UserSpec};
use secrecy::ExposeSecret;
use url::Url;
use warden_core::clock::{ManualClock, Stopwatch};
use warden_core::jamf::{
    ApiIntegrationRequest, ApiRoleRequest, AppType, ClientCredentials, Credentials, JamfClient,
    JamfClientConfig, JamfError, ProbeOutcome, ProbeRead, RetryPolicy, TokenKind,
};

const PASSWORD: &str = "S3cret-Pa55word";
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
const CLIENT_CREDENTIALS: &str = "/api/v1/api-integrations/{id}/client-credentials";

async fn start(opts: SimOptions) -> Result<Sim> {
    let opts = SimOptions {
        users: vec![UserSpec::parse(&format!("admin:{PASSWORD}:admin"))?],
        ..opts
    };
    Sim::start("127.0.0.1:0".parse()?, opts).await
}

fn config(url: &str) -> Result<JamfClientConfig> {
    let mut cfg = JamfClientConfig::new("sim", Url::parse(url)?);
    cfg.retry = RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    Ok(cfg)
}

fn user_client(url: &str) -> Result<JamfClient> {
    Ok(JamfClient::new(
        config(url)?,
        Credentials::user("admin", PASSWORD),
    )?)
}

/// An API client holding `privileges`, created directly in the simulator.
fn api_client(
    inst: &SimInstance,
    privileges: &[&str],
    tweak: impl FnOnce(&mut JamfClientConfig),
) -> Result<(JamfClient, ClientCredentials)> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let role = format!("warden management {n}");
    inst.create_role(&role, privileges)?;
    let (id, client_id) = inst.create_client(&format!("warden {n}"), [&role], true, 300)?;
    let creds = ClientCredentials::new(client_id, inst.mint_secret(id)?);
    let mut cfg = config(&inst.url())?;
    tweak(&mut cfg);
    Ok((JamfClient::new(cfg, creds.clone().into())?, creds))
}

fn role(name: &str, privileges: &[&str]) -> ApiRoleRequest {
    ApiRoleRequest {
        display_name: name.to_owned(),
        privileges: privileges.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// The workflow of the Jamf blog post (seed 000), through a user bearer token.
async fn seed_workflow(client: &JamfClient) -> Result<String> {
    client.list_roles().await?;
    let found = client
        .search_privileges("Static Computer Groups", None)
        .await?;
    ensure!(found.len() == 4, "search found {found:?}");
    let wanted = [
        "Create Static Computer Groups",
        "Read Static Computer Groups",
        "Update Static Computer Groups",
    ];
    let created = client
        .create_role(&role("Amend Static Groups", &wanted))
        .await?;
    ensure!(created.same_privileges(&role("", &wanted).privileges));
    let integration = client
        .create_integration(&ApiIntegrationRequest {
            authorization_scopes: vec!["Amend Static Groups".into()],
            display_name: "Static Group Amendment Client".into(),
            enabled: Some(true),
            access_token_lifetime_seconds: Some(300),
        })
        .await?;
    ensure!(integration.app_type == AppType::None && integration.enabled);
    let creds = client.generate_client_credentials(integration.id).await?;
    ensure!(creds.client_id == integration.client_id);
    let session = client.one_shot(&creds).await?;
    ensure!(session.role_ids() == [created.id.clone()], "{session:?}");
    ensure!(session.expires_in() >= Duration::from_secs(298));
    session.invalidate().await?;
    Ok(creds.client_secret.expose_secret().to_owned())
}

#[tokio::test]
async fn seed_workflow_end_to_end() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let url = sim.add_instance("acme");
    ensure!(url.ends_with("/instances/acme"), "{url}");
    let client = user_client(&url)?;
    seed_workflow(&client).await?;
    let inst = sim.instance(Some("acme"));
    let stats = inst.stats();
    ensure!(stats.count_status("POST", "/api/v1/auth/token", 200) == 1);
    ensure!(stats.count_status("POST", "/api/v1/oauth/token", 200) == 1);
    ensure!(stats.count_status("POST", "/api/v1/auth/invalidate-token", 204) == 1);
    let c = inst
        .client_by_name("Static Group Amendment Client")
        .context("client exists")?;
    ensure!(c.client_secret.is_some() && c.access_token_lifetime_seconds == 300);
    let fetched = client.get_integration(i64::try_from(c.id)?).await?;
    ensure!(fetched.app_type == AppType::ClientCredentials);
    client.close().await?;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn every_endpoint_with_an_api_client() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    let (client, _) = api_client(&inst, &MANAGEMENT, |_| {})?;

    let privileges = client.list_privileges().await?;
    ensure!(privileges.len() > 500 && privileges.iter().any(|p| p == "Read API Roles"));
    let limited = client.search_privileges("API", Some(2)).await?;
    ensure!(limited.len() == 2, "{limited:?}");

    let r = client
        .create_role(&role("Mixed Case Role", &["Read API Roles"]))
        .await?;
    ensure!(client.get_role(&r.id).await? == r);
    let updated = client
        .update_role(
            &r.id,
            &role("Mixed Case Role", &["Read API Roles", "Read Computers"]),
        )
        .await?;
    ensure!(updated.privilege_set() == BTreeSet::from(["Read API Roles", "Read Computers"]));
    ensure!(
        client
            .find_role_by_name("Mixed Case Role")
            .await?
            .map(|x| x.id)
            == Some(r.id.clone())
    );
    // Jamf's filter is case-insensitive; the client re-checks the exact name.
    ensure!(client.find_role_by_name("mixed case role").await?.is_none());
    ensure!(client.list_roles().await?.iter().any(|x| x.id == r.id));

    let err = client
        .create_role(&role("Bad", &["No Such Privilege"]))
        .await
        .unwrap_err();
    ensure!(matches!(err, JamfError::Validation { .. }), "{err}");

    inst.set_create_status_201(true);
    let req = ApiIntegrationRequest {
        authorization_scopes: vec!["Mixed Case Role".into()],
        display_name: "Drift Client".into(),
        enabled: Some(true),
        access_token_lifetime_seconds: None,
    };
    let i = client.create_integration(&req).await?;
    ensure!(i.access_token_lifetime_seconds == Some(300));
    ensure!(client.get_integration(i.id).await?.display_name == "Drift Client");
    ensure!(
        client
            .find_integration_by_name("Drift Client")
            .await?
            .map(|x| x.id)
            == Some(i.id)
    );
    let all = client.list_integrations().await?;
    ensure!(
        all.iter().any(|x| x.app_type == AppType::NativeAppOauth),
        "built-in app"
    );
    let creds = client.generate_client_credentials(i.id).await?;
    let verified = client
        .verify_client_credentials(&creds, Some(ProbeRead::Role(r.id.clone())))
        .await?;
    ensure!(verified.probe == Some(ProbeOutcome::Authorized) && verified.invalidated);
    let disabled = client
        .update_integration(
            i.id,
            &ApiIntegrationRequest {
                enabled: Some(false),
                ..req
            },
        )
        .await?;
    ensure!(!disabled.enabled && disabled.app_type == AppType::None);

    let err = client.delete_role(&r.id).await.unwrap_err();
    ensure!(matches!(err, JamfError::Conflict { .. }), "{err}");
    client.delete_integration(i.id).await?;
    client.delete_role(&r.id).await?;
    ensure!(client.get_role(&r.id).await.unwrap_err().is_not_found());
    ensure!(
        client
            .get_integration(i.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn rides_out_503_and_429_on_idempotent_calls() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    let (client, _) = api_client(&inst, &MANAGEMENT, |_| {})?;
    let id = inst.create_role("target", ["Read API Roles"])?;
    inst.set_faults([
        FaultRule::fail_next("GET /api/v1/api-roles", 2, 503),
        FaultRule::rate_limit("GET /api/v1/api-roles/{id}", 2, 1),
        FaultRule::fail_next("POST /api/v1/oauth/token", 1, 503),
    ])?;
    client.list_roles().await?;
    let started = Stopwatch::start();
    client.get_role(&id).await?;
    ensure!(
        started.elapsed() >= Duration::from_millis(1900),
        "retry-after honoured"
    );
    let stats = inst.stats();
    ensure!(stats.count_status("GET", "/api/v1/api-roles", 503) == 2);
    ensure!(stats.count_status("GET", "/api/v1/api-roles/{id}", 429) == 2);
    ensure!(stats.count_status("POST", "/api/v1/oauth/token", 200) == 1);
    ensure!(client.stats().retries() == 5, "{:?}", client.stats());
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn never_retries_a_secret_generation_or_a_create() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    let (client, _) = api_client(&inst, &MANAGEMENT, |_| {})?;
    inst.create_role("r", ["Read API Roles"])?;
    let (id, client_id) = inst.create_client("target", ["r"], true, 300)?;
    let old = ClientCredentials::new(client_id, inst.mint_secret(id)?);
    inst.set_faults([
        FaultRule::fail_next(&format!("POST {CLIENT_CREDENTIALS}"), 1, 503),
        FaultRule::fail_next("POST /api/v1/api-roles", 1, 503),
    ])?;
    let err = client
        .generate_client_credentials(i64::try_from(id)?)
        .await
        .unwrap_err();
    ensure!(
        matches!(err, JamfError::Server { status: 503, .. }),
        "{err}"
    );
    let err = client
        .create_role(&role("new", &["Read API Roles"]))
        .await
        .unwrap_err();
    ensure!(
        matches!(err, JamfError::Server { status: 503, .. }),
        "{err}"
    );
    let stats = inst.stats();
    ensure!(stats.count("POST", CLIENT_CREDENTIALS) == 1, "{stats:?}");
    ensure!(stats.count("POST", "/api/v1/api-roles") == 1);

    // "Minted, but the answer was lost": the old secret no longer works, which tells the
    // caller the rotation happened.
    inst.set_faults([
        FaultRule::fail_next(&format!("POST {CLIENT_CREDENTIALS}"), 1, 503).after_commit(),
    ])?;
    ensure!(
        client
            .generate_client_credentials(i64::try_from(id)?)
            .await
            .is_err()
    );
    ensure!(inst.stats().count("POST", CLIENT_CREDENTIALS) == 2);
    let err = client
        .verify_client_credentials(&old, None)
        .await
        .unwrap_err();
    ensure!(matches!(err, JamfError::OAuth { .. }), "{err}");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn pages_through_4500_roles() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    for i in 0..4500 {
        inst.create_role(&format!("bulk role {i:04}"), ["Read Computers"])?;
    }
    for page_size in [2000, 5000] {
        let (client, _) = api_client(&inst, &MANAGEMENT, |c| c.page_size = page_size)?;
        let expected: BTreeSet<String> = inst.roles().into_iter().map(|r| r.id).collect();
        ensure!(expected.len() > 4500);
        inst.reset_stats();
        let roles = client.list_roles().await?;
        let got: BTreeSet<String> = roles.iter().map(|r| r.id.clone()).collect();
        ensure!(
            roles.len() == expected.len() && got == expected,
            "page size {page_size}"
        );
        ensure!(
            inst.stats().count("GET", "/api/v1/api-roles") == 3,
            "{:?}",
            inst.stats()
        );
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_at_most_n_in_flight() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    let id = inst.create_role("target", ["Read API Roles"])?;
    for n in [3, 5] {
        let (client, _) = api_client(&inst, &MANAGEMENT, |c| c.max_in_flight = n)?;
        client.authenticate().await?;
        inst.set_faults([FaultRule::latency("*", Duration::from_millis(30))])?;
        inst.reset_stats();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (c, id) = (client.clone(), id.clone());
                tokio::spawn(async move { c.get_role(&id).await })
            })
            .collect();
        for t in tasks {
            t.await??;
        }
        let peak = inst.stats().peak_in_flight;
        ensure!(
            peak <= n as u64 && peak >= 2,
            "max_in_flight {n}: sim saw {peak}"
        );
        inst.clear_faults();
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn replays_the_ingress_cookie() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    let (client, _) = api_client(&inst, &MANAGEMENT, |_| {})?;
    // Two nodes, replicating only after 30 s (set after the client exists on both).
    inst.set_node_lag(Some(Duration::from_secs(30)));
    for i in 0..4 {
        let r = client
            .create_role(&role(&format!("sticky {i}"), &["Read API Roles"]))
            .await?;
        client.get_role(&r.id).await?;
    }
    let cookie = client.session_cookies().and_then(|c| c.get("jpro-ingress"));
    ensure!(cookie.is_some(), "cookie kept");
    ensure!(
        inst.stats().lag_404s == 0,
        "every request stayed on one node"
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn read_after_write_404_is_retried_without_sticky_sessions() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    let (client, _) = api_client(&inst, &MANAGEMENT, |c| c.sticky_sessions = false)?;
    inst.set_node_lag(Some(Duration::from_millis(400)));
    for i in 0..3 {
        let r = client
            .create_role(&role(&format!("lagging {i}"), &["Read API Roles"]))
            .await?;
        ensure!(client.get_role(&r.id).await?.id == r.id);
    }
    ensure!(client.session_cookies().is_none());
    ensure!(
        inst.stats().lag_404s >= 1,
        "the lag was hit: {:?}",
        inst.stats()
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn user_token_keep_alive_and_invalidate() -> Result<()> {
    let sim = start(SimOptions {
        user_token_lifetime: Duration::from_secs(6),
        ..SimOptions::default()
    })
    .await?;
    let clock = ManualClock::starting_now();
    let mut cfg = config(&sim.url())?;
    cfg.token_margin = Duration::from_millis(200);
    cfg.clock = clock.clock();
    let client = JamfClient::new(cfg, Credentials::user("admin", PASSWORD))?;
    client.list_roles().await?;
    ensure!(client.token_info().await.map(|t| t.kind) == Some(TokenKind::User));
    // Past half its lifetime the token is kept alive before the next request: the simulator's
    // clock and the client's move on together, without sleeping.
    sim.instance(None)
        .advance_clock(Duration::from_millis(3600));
    clock.advance(Duration::from_millis(3600));
    client.list_roles().await?;
    client.keep_alive().await?;
    client.list_roles().await?;
    client.close().await?;
    client.list_roles().await?;
    let stats = sim.instance(None).stats();
    ensure!(
        stats.count_status("POST", "/api/v1/auth/keep-alive", 200) == 2,
        "{stats:?}"
    );
    ensure!(stats.count_status("POST", "/api/v1/auth/invalidate-token", 204) == 1);
    ensure!(stats.count_status("POST", "/api/v1/auth/token", 200) == 2);
    ensure!(stats.count_status("GET", "/api/v1/api-roles", 401) == 0);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn client_token_is_reminted_after_expiry() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    let (client, _) = api_client(&inst, &MANAGEMENT, |_| {})?;
    client.list_roles().await?;
    inst.advance_clock(Duration::from_secs(301));
    client.list_roles().await?;
    let stats = inst.stats();
    ensure!(stats.count_status("POST", "/api/v1/oauth/token", 200) == 2);
    ensure!(stats.count_status("GET", "/api/v1/api-roles", 401) == 1);
    ensure!(client.stats().reauthentications == 1);
    sim.shutdown().await;
    Ok(())
}

/// The simulator, like Jamf Pro, does not say which privilege a 403 lacks (no
/// `x-required-privileges` header): the client names it from its endpoint table, and that
/// name is the privilege that actually lets the request through.
#[tokio::test]
async fn forbidden_names_the_privilege_from_the_endpoint_table() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    let (nothing, _) = api_client(&inst, &[], |_| {})?;
    let target = inst.create_role("target", ["Read API Roles"])?;
    let (target_client, _) = inst.create_client("target client", ["target"], true, 300)?;
    let target_client = i64::try_from(target_client)?;
    async fn call(
        c: &JamfClient,
        op: &str,
        role_id: &str,
        client_id: i64,
    ) -> Result<(), JamfError> {
        let integration = ApiIntegrationRequest {
            display_name: "new".into(),
            enabled: Some(true),
            authorization_scopes: vec!["target".into()],
            access_token_lifetime_seconds: Some(300),
        };
        match op {
            "list roles" => c.list_roles().await.map(drop),
            "get role" => c.get_role(role_id).await.map(drop),
            "list privileges" => c.list_privileges().await.map(drop),
            "create role" => c
                .create_role(&role("new", &["Read API Roles"]))
                .await
                .map(drop),
            "update role" => c
                .update_role(role_id, &role("target", &["Read API Roles"]))
                .await
                .map(drop),
            "delete role" => c.delete_role("9999").await,
            "list integrations" => c.list_integrations().await.map(drop),
            "create integration" => c.create_integration(&integration).await.map(drop),
            "client credentials" => c.generate_client_credentials(client_id).await.map(drop),
            "delete integration" => c.delete_integration(9999).await,
            other => panic!("unknown op {other}"),
        }
    }
    let calls = [
        ("list roles", "Read API Roles"),
        ("get role", "Read API Roles"),
        ("list privileges", "Read API Roles"),
        ("create role", "Create API Roles"),
        ("update role", "Update API Roles"),
        ("delete role", "Delete API Roles"),
        ("list integrations", "Read API Integrations"),
        ("create integration", "Create API Integrations"),
        ("client credentials", "Create API Integrations"),
        ("delete integration", "Delete API Integrations"),
    ];
    for (op, privilege) in calls {
        let err = call(&nothing, op, &target, target_client)
            .await
            .unwrap_err();
        let JamfError::Forbidden { privileges, .. } = &err else {
            anyhow::bail!("{op}: {err}")
        };
        ensure!(privileges == &[privilege], "{op}: {privileges:?}");
        ensure!(
            err.to_string().contains(&format!(
                "lacks privilege {privilege:?}; add it to the client's api role"
            )),
            "{err}"
        );
        // Holding exactly that privilege gets past the 403.
        let (holder, _) = api_client(&inst, &[privilege], |_| {})?;
        if let Err(e) = call(&holder, op, &target, target_client).await {
            ensure!(!matches!(e, JamfError::Forbidden { .. }), "{op}: {e}");
        }
    }
    sim.shutdown().await;
    Ok(())
}

/// Jamf Pro drops `expires`' milliseconds when they are zero; both forms give the right
/// token lifetime, on login and on keep-alive.
#[tokio::test]
async fn user_token_expires_with_and_without_milliseconds() -> Result<()> {
    let sim = start(SimOptions {
        user_token_lifetime: Duration::from_secs(600),
        ..SimOptions::default()
    })
    .await?;
    let inst = sim.instance(None);
    for whole_second in [true, false] {
        inst.set_whole_second_expiry(whole_second);
        let client = user_client(&sim.url())?;
        for info in [client.authenticate().await?, client.keep_alive().await?] {
            ensure!(info.kind == TokenKind::User);
            // expires minus the server's Date (whole seconds): 598 to 600 s.
            ensure!(
                (Duration::from_secs(597)..=Duration::from_secs(601)).contains(&info.expires_in),
                "whole_second={whole_second}: {info:?}"
            );
        }
        client.list_roles().await?;
        client.close().await?;
    }
    sim.shutdown().await;
    Ok(())
}

/// A stale bearer token gets Jamf's 401 without a cause (`{"httpStatus":401,"errors":[]}`):
/// the client logs in again and replays the request.
#[tokio::test]
async fn a_401_without_a_cause_logs_in_again() -> Result<()> {
    let sim = start(SimOptions {
        user_token_lifetime: Duration::from_secs(600),
        ..SimOptions::default()
    })
    .await?;
    let inst = sim.instance(None);
    let client = user_client(&sim.url())?;
    client.list_roles().await?;
    // The simulator's clock passes the expiry; the client's own clock does not.
    inst.advance_clock(Duration::from_secs(601));
    client.list_roles().await?;
    let stats = inst.stats();
    ensure!(
        stats.count_status("GET", "/api/v1/api-roles", 401) == 1,
        "{stats:?}"
    );
    ensure!(
        stats.count_status("POST", "/api/v1/auth/token", 200) == 2,
        "{stats:?}"
    );
    ensure!(client.stats().reauthentications == 1);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn forbidden_names_the_privilege() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    let (client, _) = api_client(&inst, &["Read API Roles"], |_| {})?;
    let err = client
        .create_role(&role("x", &["Read API Roles"]))
        .await
        .unwrap_err();
    let JamfError::Forbidden { privileges, .. } = &err else {
        anyhow::bail!("{err}")
    };
    ensure!(privileges == &["Create API Roles"]);
    ensure!(
        err.to_string()
            .contains(r#"lacks privilege "Create API Roles""#),
        "{err}"
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn debug_output_hides_secrets() -> Result<()> {
    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    let (client, creds) = api_client(&inst, &MANAGEMENT, |_| {})?;
    client.authenticate().await?;
    let secret = creds.client_secret.expose_secret().to_owned();
    let session = client.one_shot(&creds).await?;
    let token = session
        .access_token()
        .context("token")?
        .expose_secret()
        .to_owned();
    let creds_enum: Credentials = creds.clone().into();
    let all = format!(
        "{creds:?} {creds_enum:?} {client:?} {:?} {session:?} {:?} {:?}",
        client.config(),
        client.token_info().await,
        Credentials::user("admin", PASSWORD),
    );
    for s in [secret.as_str(), token.as_str(), PASSWORD] {
        ensure!(!all.contains(s), "leak in {all}");
    }
    session.invalidate().await?;
    sim.shutdown().await;
    Ok(())
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::ErrorKind::Other)?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tracing_output_never_contains_a_secret_or_token() -> Result<()> {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,jamf_sim=off"))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .finish();
    let dispatch = tracing::Dispatch::new(subscriber);
    let _guard = tracing::dispatcher::set_default(&dispatch);
    // tracing-core caches each callsite's interest process-wide. While only one dispatcher
    // exists it asks the *registering thread's* default, so a callsite first hit by another
    // test's thread would stay disabled here. A second live dispatcher makes it ask all.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());

    let sim = start(SimOptions::default()).await?;
    let inst = sim.instance(None);
    inst.set_faults([
        FaultRule::fail_next("GET /api/v1/api-roles", 1, 503),
        FaultRule::rate_limit("GET /api/v1/api-role-privileges/search", 1, 0),
    ])?;
    let user = user_client(&sim.url())?;
    let generated = seed_workflow(&user).await?;
    user.keep_alive().await?;
    user.close().await?;
    let (client, creds) = api_client(&inst, &MANAGEMENT, |_| {})?;
    client.list_roles().await?;
    inst.advance_clock(Duration::from_secs(400));
    client.list_roles().await?;
    client
        .verify_client_credentials(&creds, Some(ProbeRead::RolesPage))
        .await?;
    let err = client
        .create_role(&role("Amend Static Groups", &[]))
        .await
        .unwrap_err();
    tracing::info!(error = %err, "expected failure");

    let out = String::from_utf8(
        buffer
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone(),
    )?;
    ensure!(
        out.contains("jamf.request") && out.contains("will be retried"),
        "{out}"
    );
    let basic = "YWRtaW46UzNjcmV0LVBhNTV3b3Jk"; // base64("admin:S3cret-Pa55word")
    for needle in [
        PASSWORD,
        basic,
        generated.as_str(),
        creds.client_secret.expose_secret(),
        "eyJ", // every simulator token is a JWT
    ] {
        ensure!(!out.contains(needle), "{needle:?} leaked into the logs");
    }
    sim.shutdown().await;
    Ok(())
}
