//! The OpenBao fixture works, and the KV v2 behaviours Warden relies on hold on the real server:
//! write and read with check-and-set through vaultrs.

use std::collections::HashMap;

use vaultrs::api::kv2::requests::ReadSecretRequest;
use vaultrs::api::kv2::responses::ReadSecretResponse;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;
use vaultrs::kv2;
use warden_testkit::OpenBao;

fn client(bao: &OpenBao) -> VaultClient {
    let settings = VaultClientSettingsBuilder::default()
        .address(bao.addr())
        .token(bao.root_token())
        .build()
        .expect("vault settings");
    VaultClient::new(settings).expect("vault client")
}

#[tokio::test]
async fn kv2_write_read_with_check_and_set() {
    let bao = OpenBao::start()
        .await
        .expect("openbao must start (run scripts/install-openbao.sh)");
    let c = client(&bao);

    // health answers 200 on the raw endpoint (vaultrs' sys::health cannot parse OpenBao 2.7)
    let health = reqwest::get(format!("{}/v1/sys/health", bao.addr()))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let mut v1 = HashMap::new();
    v1.insert("client_id", "abc");
    // cas = 0: create only if absent
    let meta = kv2::set_with_options(
        &c,
        "secret",
        "warden/test/one",
        &v1,
        vaultrs::api::kv2::requests::SetSecretRequestOptions { cas: 0 },
    )
    .await
    .expect("first write with cas=0");
    assert_eq!(meta.version, 1);

    // a second cas=0 write must fail: the path exists
    let err = kv2::set_with_options(
        &c,
        "secret",
        "warden/test/one",
        &v1,
        vaultrs::api::kv2::requests::SetSecretRequestOptions { cas: 0 },
    )
    .await
    .expect_err("cas=0 on an existing path must fail");
    match err {
        ClientError::APIError { code, errors } => {
            assert_eq!(code, 400);
            assert!(
                errors.iter().any(|e| e.contains("check-and-set")),
                "unexpected errors: {errors:?}"
            );
        }
        other => panic!("unexpected error shape: {other:?}"),
    }

    // cas = current version succeeds and bumps the version
    let mut v2 = HashMap::new();
    v2.insert("client_id", "def");
    let meta = kv2::set_with_options(
        &c,
        "secret",
        "warden/test/one",
        &v2,
        vaultrs::api::kv2::requests::SetSecretRequestOptions { cas: 1 },
    )
    .await
    .expect("write with cas=1");
    assert_eq!(meta.version, 2);

    // data and version together (needed for CAS) through the low-level request
    let resp: ReadSecretResponse = vaultrs::api::exec_with_result(
        &c,
        ReadSecretRequest::builder()
            .mount("secret")
            .path("warden/test/one")
            .build()
            .unwrap(),
    )
    .await
    .expect("read with version");
    assert_eq!(resp.metadata.version, 2);
    assert_eq!(resp.data["client_id"], "def");

    // the old version is still readable
    let old: HashMap<String, String> = kv2::read_version(&c, "secret", "warden/test/one", 1)
        .await
        .expect("read version 1");
    assert_eq!(old["client_id"], "abc");

    // a missing path is a 404 APIError
    let missing = kv2::read::<HashMap<String, String>>(&c, "secret", "warden/test/absent").await;
    assert!(
        matches!(missing, Err(ClientError::APIError { code: 404, .. })),
        "missing path must be a 404"
    );
}

#[tokio::test]
async fn bao_cli_reads_what_vaultrs_wrote() {
    let bao = OpenBao::start().await.expect("openbao must start");
    let c = client(&bao);
    let mut v = HashMap::new();
    v.insert("client_id", "cli-check");
    kv2::set(&c, "secret", "warden/cli", &v).await.unwrap();
    let out = bao
        .cli()
        .args(["kv", "get", "-field=client_id", "secret/warden/cli"])
        .output()
        .expect("run bao kv get");
    assert!(
        out.status.success(),
        "bao kv get failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "cli-check");
}
