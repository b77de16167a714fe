//! A token file (the Vault Agent sink pattern) against a real OpenBao: a token rewritten in the
//! file while a client runs is picked up by the next request (the old token revoked first) and
//! by the token upkeep, without reconnecting; a refusal by a valid token names the API path,
//! the capability and the policy line that would allow it.

use std::path::Path;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use warden_core::vault::{SecretMap, Vault, VaultCredentials, VaultError, VaultSettings};
use warden_testkit::OpenBao;

fn settings(bao: &OpenBao) -> VaultSettings {
    VaultSettings::new(Url::parse(bao.addr()).unwrap())
}

fn secret(v: &str) -> SecretString {
    SecretString::from(v.to_string())
}

/// Writes policy `name` and returns a new renewable token holding only it.
async fn token_with(bao: &OpenBao, name: &str, hcl: &str) -> String {
    bao.api(
        Method::PUT,
        &format!("sys/policies/acl/{name}"),
        Some(json!({ "policy": hcl })),
    )
    .await
    .unwrap();
    let t = bao
        .api(
            Method::POST,
            "auth/token/create",
            Some(json!({"policies": [name], "no_default_policy": true, "ttl": "1h", "renewable": true})),
        )
        .await
        .unwrap();
    t["auth"]["client_token"].as_str().unwrap().to_string()
}

fn write_token(path: &Path, token: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    std::io::Write::write_all(&mut f, token.as_bytes()).unwrap();
}

async fn revoke(bao: &OpenBao, token: &str) {
    bao.api(
        Method::POST,
        "auth/token/revoke",
        Some(json!({ "token": token })),
    )
    .await
    .unwrap();
}

const POLICY: &str = r#"
path "secret/data/jamf-warden/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "secret/metadata/jamf-warden/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
"#;

#[tokio::test]
async fn a_rewritten_token_file_is_picked_up_without_reconnecting() {
    let bao = OpenBao::start().await.expect("openbao must start");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vault-token");
    let first = token_with(&bao, "warden", POLICY).await;
    write_token(&file, &first);
    let vault = Vault::connect(settings(&bao), VaultCredentials::TokenFile(file.clone()))
        .await
        .unwrap();
    let mut m = SecretMap::new();
    m.insert("client_secret", secret("value-one"));
    assert_eq!(vault.write_secret_cas("p", &m, 0).await.unwrap(), 1);
    let status = vault.status(vault.now()).await;
    assert_eq!(status.auth_method, "token_file");
    assert_eq!(status.token_file.as_deref(), Some(file.as_path()));
    assert!(status.renewable);
    assert!(
        status.token_ttl_seconds.is_some_and(|t| t > 3000),
        "{status:?}"
    );
    let first_auth = status.last_authenticated.expect("authenticated");

    // Vault Agent writes a new token and the old one is revoked: the next request, refused
    // with the old token, re-reads the file and succeeds
    let second = token_with(&bao, "warden", POLICY).await;
    write_token(&file, &second);
    revoke(&bao, &first).await;
    let read = vault
        .read_secret("p")
        .await
        .expect("read with the new token");
    assert_eq!(read.unwrap().version, 1);
    m.insert("client_secret", secret("value-two"));
    assert_eq!(vault.write_secret_cas("p", &m, 1).await.unwrap(), 2);
    let status = vault.status(vault.now()).await;
    assert!(status.last_error.is_none(), "{status:?}");
    assert!(status.last_authenticated.unwrap() >= first_auth);

    // the upkeep notices a rewritten file on its own (before any request is refused)
    let third = token_with(&bao, "warden", POLICY).await;
    write_token(&file, &third);
    assert!(vault.maintain_token(vault.now()).await.unwrap());
    revoke(&bao, &second).await;
    assert!(vault.read_metadata("p").await.unwrap().is_some());
    // unchanged file: nothing to do
    assert!(!vault.maintain_token(vault.now()).await.unwrap());

    // a revoked token left in the file: an authentication error naming the file, recorded
    revoke(&bao, &third).await;
    let err = vault.read_secret("p").await.unwrap_err();
    assert!(matches!(err, VaultError::Auth(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(text.contains("no restart needed"), "{text}");
    let status = vault.status(vault.now()).await;
    assert!(status.last_error.is_some_and(|e| e.contains("invalid")));
    // and a good token written again heals it
    let fourth = token_with(&bao, "warden", POLICY).await;
    write_token(&file, &fourth);
    assert!(vault.read_secret("p").await.unwrap().is_some());
    assert!(vault.status(vault.now()).await.last_error.is_none());
    for t in [&first, &second, &third, &fourth] {
        assert!(!format!("{vault:?}").contains(t.as_str()));
    }
}

#[tokio::test]
async fn a_policy_refusal_names_the_path_the_capability_and_the_policy_line() {
    let bao = OpenBao::start().await.expect("openbao must start");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vault-token");
    // create and read, but no update, on the data side
    let policy = r#"
path "secret/data/jamf-warden/*" { capabilities = ["create", "read"] }
path "secret/metadata/jamf-warden/*" { capabilities = ["read", "list"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
"#;
    let token = token_with(&bao, "no-update", policy).await;
    write_token(&file, &token);
    let vault = Vault::connect(settings(&bao), VaultCredentials::TokenFile(file.clone()))
        .await
        .unwrap();
    let mut m = SecretMap::new();
    m.insert("client_secret", secret("v"));
    vault
        .write_secret_cas("instances/acme/clients/app", &m, 0)
        .await
        .unwrap();
    let err = vault
        .write_secret_cas("instances/acme/clients/app", &m, 1)
        .await
        .unwrap_err();
    let path = "secret/data/jamf-warden/instances/acme/clients/app";
    assert!(
        matches!(&err, VaultError::Denied { path: p, capability: "update" } if p == path),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("`update`") && text.contains(path), "{text}");
    assert!(
        text.contains(&format!(
            "path \"{path}\" {{ capabilities = [\"update\"] }}"
        )),
        "{text}"
    );
    assert!(
        !text.contains("grant the daemon's policy read/write"),
        "{text}"
    );
    // metadata writes: the metadata path and `update`
    let custom = [("state".to_string(), "x".to_string())]
        .into_iter()
        .collect();
    let err = vault
        .write_custom_metadata("instances/acme/clients/app", &custom)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`update` on secret/metadata/jamf-warden/instances/acme/clients/app"),
        "{err}"
    );
    // outside the policy: reads name `read`
    let mut other = settings(&bao);
    other.path_prefix = "elsewhere".into();
    let outside = Vault::connect(other, VaultCredentials::TokenFile(file))
        .await
        .unwrap();
    let err = outside.read_secret("x").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("`read` on secret/data/elsewhere/x"),
        "{err}"
    );
    assert!(!err.to_string().contains(&token));
}
