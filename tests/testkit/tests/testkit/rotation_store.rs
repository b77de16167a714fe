//! The KV v2 behaviour the rotation engine relies on, checked on the real OpenBao and on the
//! in-memory store with the same code, so `MemoryStore` cannot drift from Vault.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;
use warden_core::rotation::{MemoryStore, SecretStore};
use warden_core::vault::{SecretMap, Vault, VaultCredentials, VaultError, VaultSettings};
use warden_testkit::OpenBao;

fn creds(secret: &str) -> SecretMap {
    let mut m = SecretMap::new();
    m.insert("client_id", SecretString::from("cid".to_string()));
    m.insert("client_secret", SecretString::from(secret.to_string()));
    m
}

async fn contract<S: SecretStore>(s: &S) {
    // absent paths read as None
    assert!(s.read_secret("c/x").await.unwrap().is_none());
    assert!(s.read_metadata("c/x").await.unwrap().is_none());
    assert!(s.read_json("c/lock").await.unwrap().is_none());

    // metadata first (the pending marker of a first rotation): version 0, cas=0 still creates
    let mut custom = BTreeMap::new();
    custom.insert("state".to_string(), "pending".to_string());
    custom.insert("foreign".to_string(), "kept".to_string());
    s.write_custom_metadata("c/x", &custom).await.unwrap();
    let meta = s.read_metadata("c/x").await.unwrap().unwrap();
    assert_eq!(meta.current_version, 0);
    assert_eq!(meta.custom, custom);
    assert!(s.read_secret("c/x").await.unwrap().is_none());
    assert_eq!(
        s.write_secret_cas("c/x", &creds("one"), 0).await.unwrap(),
        1
    );

    // data writes keep the custom metadata; a stale cas conflicts and changes nothing
    assert_eq!(
        s.read_metadata("c/x").await.unwrap().unwrap().custom,
        custom
    );
    let err = s
        .write_secret_cas("c/x", &creds("two"), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::CasConflict { .. }), "{err:?}");
    assert_eq!(
        s.write_secret_cas("c/x", &creds("two"), 1).await.unwrap(),
        2
    );
    let latest = s.read_secret("c/x").await.unwrap().unwrap();
    assert_eq!(latest.version, 2);
    assert_eq!(
        latest.value.get("client_secret").unwrap().expose_secret(),
        "two"
    );

    // the custom metadata map is replaced whole
    let mut only = BTreeMap::new();
    only.insert("state".to_string(), "ok".to_string());
    s.write_custom_metadata("c/x", &only).await.unwrap();
    let meta = s.read_metadata("c/x").await.unwrap().unwrap();
    assert_eq!(meta.custom, only);
    assert_eq!(meta.current_version, 2);

    // a path is also a folder: `<vault_path>` and `<vault_path>/slots/a` live side by side
    assert_eq!(
        s.write_secret_cas("c/x/slots/a", &creds("a"), 0)
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.read_secret("c/x").await.unwrap().unwrap().version, 2);

    // JSON data with check-and-set (the lock)
    let v1 = s
        .write_json_cas("c/lock", &json!({"daemon": "d1"}), 0)
        .await
        .unwrap();
    let err = s
        .write_json_cas("c/lock", &json!({"daemon": "d2"}), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::CasConflict { .. }));
    let lock = s.read_json("c/lock").await.unwrap().unwrap();
    assert_eq!(
        (lock.version, lock.value["daemon"].as_str()),
        (v1, Some("d1"))
    );
    s.write_json_cas("c/lock", &json!({"released": true}), v1)
        .await
        .unwrap();
}

#[tokio::test]
async fn openbao_behaves_as_the_engine_assumes() {
    let bao = OpenBao::start().await.expect("openbao starts");
    let vault = Vault::connect(
        VaultSettings::new(Url::parse(bao.addr()).unwrap()),
        VaultCredentials::Token(SecretString::from(bao.root_token().to_string())),
    )
    .await
    .unwrap();
    contract(&vault).await;
    assert_eq!(vault.full_path("c/x"), "jamf-warden/c/x");
}

#[tokio::test]
async fn memory_store_behaves_like_openbao() {
    contract(&MemoryStore::new()).await;
}
