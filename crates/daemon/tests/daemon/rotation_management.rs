//! Warden rotating its own management secret through `Request::Rotate`, and the `secrets`
//! report before and after: Vault gets a new management version, Jamf rejects the old secret,
//! the daemon switches to the new one at once (the next rotation of another client works), and
//! the report shows every declared client and the management client with state and version,
//! never a secret.

use crate::common;

use common::rotation::{
    CLIENT, MANAGEMENT, NO_JOBS, desired_toml, rotate, rotate_records, token_status,
};
use common::{Cfg, Env, send};
use warden_core::protocol::{ReportKind, Request, Response, SecretsRequest};

const OTHER: &str = "Patch Dashboard";

/// The `secrets` report: its text and findings; fails if any of `secrets` is in the answer.
async fn secrets_report(env: &Env, secrets: &[String]) -> (String, u64) {
    let response = send(
        &env.socket(),
        Request::Secrets(SecretsRequest { instance: None }),
    )
    .await;
    let wire = serde_json::to_string(&response).unwrap();
    for s in secrets {
        assert!(
            !wire.contains(s.as_str()),
            "a secret is in the secrets report"
        );
    }
    let Response::Report(report) = response else {
        panic!("secrets answered {response:?}");
    };
    assert_eq!(report.kind, ReportKind::Secrets);
    let doc: warden_core::rotation::SecretsDocument =
        report.body.decode().expect("a warden.secrets/1 document");
    assert_eq!(doc.schema, "warden.secrets/1");
    assert_eq!(doc.problems, report.findings);
    for row in &doc.secrets {
        assert!(
            row.error.is_some()
                || row.vault_path.ends_with(&format!("/{}", row.instance))
                || row.vault_path.contains(&format!("/{}/", row.instance)),
            "{row:?}"
        );
    }
    (warden_core::rotation::render_secrets(&doc), report.findings)
}

/// `[strategy, state, version]` of `client`'s line in the report.
fn row(body: &str, client: &str) -> Vec<String> {
    let line = body
        .lines()
        .find(|l| l.starts_with("alpha") && l[10..].trim_start().starts_with(client))
        .unwrap_or_else(|| panic!("no line for {client} in\n{body}"));
    let rest = &line[line.find(client).unwrap() + client.len()..];
    rest.split_whitespace()
        .take(3)
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warden_rotates_its_own_secret_and_keeps_working() {
    let env = Env::start(&["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    let other = env.add_managed_client("alpha", OTHER).await;
    let inst = env.instance("alpha");
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT, OTHER], ""));
    let _daemon = env.start_wardend(None).await;
    let mut known = vec![
        inst.client_secret.clone(),
        client.initial_secret.clone(),
        other.initial_secret.clone(),
    ];

    // Before any rotation: every declared client and the management client, never rotated.
    let (body, findings) = secrets_report(&env, &known).await;
    assert_eq!(findings, 0, "{body}");
    for name in [CLIENT, OTHER, MANAGEMENT] {
        assert_eq!(
            row(&body, name),
            ["single", "never", "1"],
            "{name}:\n{body}"
        );
    }

    // Warden's own secret: a new Vault version, the old secret dead, the new one working.
    let Response::Rotated(rotated) = rotate(&env.socket(), "alpha", MANAGEMENT).await else {
        panic!("the management client did not rotate");
    };
    assert_eq!(rotated.client_id, inst.client_id);
    assert_eq!(rotated.vault_path, "warden-test/instances/alpha/management");
    assert_eq!(rotated.vault_version, 2);
    let management = env.vault_versions("instances/alpha/management").await;
    assert_eq!(management.len(), 2);
    assert_eq!(management[0].2, inst.client_secret);
    assert_eq!(
        token_status(&inst.url, &inst.client_id, &inst.client_secret).await,
        401
    );
    assert_eq!(
        token_status(&inst.url, &inst.client_id, &management[1].2).await,
        200
    );
    known.push(management[1].2.clone());

    // The daemon goes on with the new secret: the next rotation works (the old one would get
    // 401 from every Jamf call).
    let Response::Rotated(next) = rotate(&env.socket(), "alpha", CLIENT).await else {
        panic!("the rotation after the management rotation failed");
    };
    assert_eq!(next.vault_version, 2);
    let versions = env.vault_versions(&client.vault_path).await;
    assert_eq!(
        token_status(&inst.url, &client.client_id, &versions[1].2).await,
        200
    );
    assert_eq!(
        token_status(&inst.url, &client.client_id, &client.initial_secret).await,
        401
    );
    known.push(versions[1].2.clone());
    assert_eq!(env.mints("alpha"), 2);

    // After: the two rotated ones are `ok` at version 2, the other one still never rotated.
    let (body, findings) = secrets_report(&env, &known).await;
    assert_eq!(findings, 0, "{body}");
    assert_eq!(row(&body, MANAGEMENT), ["single", "ok", "2"], "{body}");
    assert_eq!(row(&body, CLIENT), ["single", "ok", "2"], "{body}");
    assert_eq!(row(&body, OTHER), ["single", "never", "1"], "{body}");

    let names: Vec<_> = rotate_records(&env.records())
        .into_iter()
        .map(|(n, o)| format!("{n} {o}"))
        .collect();
    assert_eq!(
        names,
        [
            "Jamf Warden started",
            "Jamf Warden ok",
            "Inventory Sync started",
            "Inventory Sync ok"
        ]
    );
    let mut secrets = env.standing_secrets("alpha").await;
    secrets.extend(known.into_iter().map(|s| ("a secret", s)));
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

/// The management client's own rotation makes the out-of-band check too: its secret rotated in
/// the Jamf console is refused (nothing minted, recorded, shown), and rotated only with
/// `--accept-out-of-band` (the daemon's session token, issued before, still works until it
/// expires: that is what lets it mint the replacement).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_rotation_refuses_a_secret_changed_out_of_band() {
    use warden_core::protocol::{DriftRequest, ErrorCode, RotateRequest};

    let env = Env::start_memory(&["alpha"]).await;
    let inst = env.instance("alpha");
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&[], ""));
    let _daemon = env.start_wardend(None).await;
    // the daemon's management session exists (a drift check made it)
    let _ = send(
        &env.socket(),
        Request::Drift(DriftRequest {
            instances: vec!["alpha".into()],
            now: true,
            refresh_catalogue: false,
        }),
    )
    .await;

    // someone rotates Warden's own client in the Jamf console
    let id = inst
        .sim
        .clients()
        .into_iter()
        .find(|c| c.client_id == inst.client_id)
        .expect("the management client")
        .id;
    let console = inst.sim.mint_secret(id).unwrap();
    let mut known = vec![inst.client_secret.clone(), console.clone()];

    let refused = rotate(&env.socket(), "alpha", MANAGEMENT).await;
    let (code, message) = common::rotation::error_of(&refused);
    assert_eq!(code, ErrorCode::Conflict, "{message}");
    assert!(
        message.contains("changed outside warden") && message.contains("--accept-out-of-band"),
        "{message}"
    );
    assert_eq!(
        env.vault_versions("instances/alpha/management").await.len(),
        1,
        "nothing minted or stored"
    );
    assert_eq!(
        token_status(&inst.url, &inst.client_id, &console).await,
        200,
        "the console's secret still works: Warden minted nothing"
    );
    let records = env.records();
    assert!(
        records.iter().any(|r| r["action"] == "rotate"
            && r["object"]["name"] == MANAGEMENT
            && r["after"]["refused"] == "out_of_band"),
        "{records:#?}"
    );
    let (body, _) = secrets_report(&env, &known).await;
    assert!(body.contains("refused (out of band)"), "{body}");

    // the operator accepts it: rotated with the session token still valid
    let accepted = send(
        &env.socket(),
        Request::Rotate(RotateRequest {
            instance: "alpha".into(),
            client: MANAGEMENT.into(),
            confirmed: true,
            recover: false,
            accept_out_of_band: true,
        }),
    )
    .await;
    let Response::Rotated(rotated) = accepted else {
        panic!("the accepted rotation failed: {accepted:?}");
    };
    assert_eq!(rotated.vault_version, 2);
    let versions = env.vault_versions("instances/alpha/management").await;
    assert_eq!(
        token_status(&inst.url, &inst.client_id, &versions[1].2).await,
        200
    );
    known.push(versions[1].2.clone());
    let _ = secrets_report(&env, &known).await;
    env.assert_no_secret_leaks();
}
