//! End to end through HTTP: arbitrary answer bodies from a fake Jamf reach the real client
//! (transport, retries, the 401 replay, decoding). The decoders themselves are fuzzed at
//! length in `crates/core/tests/fuzz/jamf.rs`; this checks that what they see is what the
//! client gets and that nothing in between panics.

use proptest::prelude::*;

use super::*;

const OAUTH: &str = "POST /api/v1/oauth/token";
const ROLES: &str = "GET /api/v1/api-roles";

fn cases() -> u32 {
    std::env::var("WARDEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(24, |n| n.clamp(1, 2_000))
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,200}",
        Just(r#"{"httpStatus":401,"errors":[]}"#.to_owned()),
        Just(r#"{"totalCount":1,"results":[{"id":1}]}"#.to_owned()),
        Just(r#"{"totalCount":-1,"results":"x"}"#.to_owned()),
        Just(r#"{"access_token":"t","expires_in":1e999}"#.to_owned()),
        Just(r#"{"error":"invalid_client"}"#.to_owned()),
        Just("[".repeat(10_000)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_token_or_list_answer_gives_a_typed_error_or_a_list(
        token_status in prop_oneof![Just(200u16), Just(400), Just(401), Just(500)],
        token_body in body(),
        list_status in prop_oneof![Just(200u16), Just(401), Just(403), Just(404), Just(409)],
        list_body in body(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let (url, _fake) = serve(move |hit, _| match hit.route().as_str() {
                OAUTH if token_status == 200 && token_body.len() % 3 == 0 => oauth_ok(600),
                OAUTH => Reply::json(token_status, token_body.clone()),
                ROLES => Reply::json(list_status, list_body.clone()),
                _ => Reply::status(404),
            })
            .await;
            let client = api_client(url);
            match client.list_roles().await {
                Ok(roles) => assert!(roles.len() <= 1),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(!msg.is_empty());
                    assert!(!msg.starts_with(char::is_uppercase), "{msg}");
                    assert!(!msg.contains(TOKEN), "{msg}");
                }
            }
        });
    }
}
