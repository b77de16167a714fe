//! Every Jamf answer body the client decodes (`warden_core::jamf`): role and integration lists
//! and objects, privileges, OAuth and user tokens, client credentials, error bodies of both
//! shapes. A broken or hostile Jamf controls all of these bytes.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use warden_core::jamf::fuzzing::{
    decode_body, decode_error, decode_oauth_token, decode_user_token,
};
use warden_core::jamf::{
    ApiIntegration, ApiRole, ApiRolePrivileges, ClientCredentials, Endpoint, JamfError, Page,
};

use crate::common::{assert_clear, bytes, cases, mutated_json, oversize_inputs, within_memory};

/// Stand-ins for the secrets in answers: no error may repeat them.
const SECRET: &str = "SAMPLE-client-secret-0f9e8d7c6b5a";
const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.SAMPLE-token.c2ln";

const ROLE: &str = r#"{"id":"2","displayName":"Amend Static Groups","privileges":["Create Static Computer Groups","Read Static Computer Groups"]}"#;
const INTEGRATION: &str = r#"{"authorizationScopes":["Amend Static Groups"],"displayName":"A","enabled":true,"accessTokenLifetimeSeconds":300,"id":1,"appType":"CLIENT_CREDENTIALS","clientId":"b8b14453-8d28-4d0a-9493-c9cf7c040a1e"}"#;

fn samples(list: &[String]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn role_samples() -> Vec<Vec<u8>> {
    samples(&[
        ROLE.to_owned(),
        format!(r#"{{"totalCount":2,"results":[{ROLE},{ROLE}]}}"#),
        r#"{"totalCount":0,"results":[]}"#.to_owned(),
    ])
}

fn integration_samples() -> Vec<Vec<u8>> {
    samples(&[
        INTEGRATION.to_owned(),
        format!(r#"{{"totalCount":1,"results":[{INTEGRATION}]}}"#),
    ])
}

fn privilege_samples() -> Vec<Vec<u8>> {
    samples(&[r#"{"privileges":["Read API Roles","Create API Roles"]}"#.to_owned()])
}

fn credentials_samples() -> Vec<Vec<u8>> {
    samples(&[format!(
        r#"{{"clientId":"b8b14453-8d28-4d0a-9493-c9cf7c040a1e","clientSecret":"{SECRET}"}}"#
    )])
}

fn oauth_samples() -> Vec<Vec<u8>> {
    samples(&[format!(
        r#"{{"access_token":"{TOKEN}","scope":"api-role:1 api-role:22","token_type":"Bearer","expires_in":599}}"#
    )])
}

fn user_token_samples() -> Vec<Vec<u8>> {
    samples(&[
        format!(r#"{{"token":"{TOKEN}","expires":"2026-12-06T04:30:00.626Z"}}"#),
        format!(r#"{{"token":"{TOKEN}","expires":"2026-12-06T04:30:00Z"}}"#),
    ])
}

fn error_samples() -> Vec<Vec<u8>> {
    samples(&[
        r#"{"httpStatus":401,"errors":[]}"#.to_owned(),
        r#"{"httpStatus":400,"errors":[{"code":"INVALID_FIELD","description":"role display name must be unique","id":"0","field":"displayName"}]}"#.to_owned(),
        r#"{"error":"invalid_client"}"#.to_owned(),
        format!(r#"{{"error":"invalid_client","error_description":"bad secret {SECRET}","error_uri":null}}"#),
    ])
}

/// A decode error: typed, clear, and for bodies that carry a secret, free of it.
#[track_caller]
fn check_err(endpoint: Endpoint, e: &JamfError) {
    assert!(matches!(e, JamfError::Decode { .. }), "{e}");
    assert_clear("jamf decode", e);
    let msg = e.to_string();
    assert!(
        !msg.contains(SECRET) && !msg.contains(TOKEN),
        "{endpoint:?}: {msg}"
    );
}

fn check_body<T: serde::de::DeserializeOwned>(endpoint: Endpoint, body: &[u8]) {
    let r = within_memory("jamf body", body, |b| decode_body::<T>(endpoint, 200, b));
    if let Err(e) = r {
        check_err(endpoint, &e);
    }
}

proptest! {
    #![proptest_config(cases(192))]

    #[test]
    fn role_bodies(body in prop_oneof![bytes(512), mutated_json(role_samples())]) {
        check_body::<ApiRole>(Endpoint::GetRole, &body);
        check_body::<Page<ApiRole>>(Endpoint::ListRoles, &body);
    }

    #[test]
    fn integration_bodies(body in prop_oneof![bytes(512), mutated_json(integration_samples())]) {
        check_body::<ApiIntegration>(Endpoint::GetIntegration, &body);
        check_body::<Page<ApiIntegration>>(Endpoint::ListIntegrations, &body);
    }

    #[test]
    fn privilege_bodies(body in prop_oneof![bytes(512), mutated_json(privilege_samples())]) {
        check_body::<ApiRolePrivileges>(Endpoint::ListPrivileges, &body);
    }

    #[test]
    fn client_credentials_bodies(body in prop_oneof![bytes(256), mutated_json(credentials_samples())]) {
        check_body::<ClientCredentials>(Endpoint::GenerateClientCredentials, &body);
    }

    #[test]
    fn oauth_token_bodies(body in prop_oneof![bytes(256), mutated_json(oauth_samples())]) {
        match within_memory("oauth token", &body, decode_oauth_token) {
            // Whatever the number, the lifetime is finite and at most ~31 years.
            Ok(t) => prop_assert!(t.lifetime <= Duration::from_secs(1_000_000_000)),
            Err(e) => check_err(Endpoint::OAuthToken, &e),
        }
    }

    #[test]
    fn user_token_bodies(
        body in prop_oneof![bytes(256), mutated_json(user_token_samples())],
        date in prop::option::of(any::<u32>()),
    ) {
        let date = date.map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(s)));
        if let Err(e) = within_memory("user token", &body, |b| decode_user_token(b, date, DateTime::<Utc>::UNIX_EPOCH)) {
            check_err(Endpoint::AuthToken, &e);
        }
    }

    /// Any status with any body on any endpoint maps to an error that says what to do, whose
    /// text stays short whatever the body's size.
    #[test]
    fn error_answers(
        endpoint in prop::sample::select(Endpoint::ALL.to_vec()),
        status in prop_oneof![Just(400u16), Just(401), Just(403), Just(404), Just(409), Just(429), Just(500), Just(503), 300u16..600],
        body in prop_oneof![bytes(512), mutated_json(error_samples())],
        header in prop::option::of(".{0,64}"),
    ) {
        let err = within_memory("jamf error", &body, |b| decode_error(endpoint, status, b, header.as_deref()));
        assert_clear("jamf error", &err);
        let msg = err.to_string();
        prop_assert!(msg.len() <= 8 * 1024, "{} bytes of error text", msg.len());
        if status == 403 {
            let is_forbidden = matches!(err, JamfError::Forbidden { .. });
            prop_assert!(is_forbidden, "{}", msg);
        }
    }
}

/// Jamf's real 401 for a bad bearer token has no cause (`errors: []`); the 403 carries no
/// privilege header, so the endpoint table names the privilege.
#[test]
fn causeless_401_and_headerless_403() {
    for endpoint in Endpoint::ALL {
        let err = decode_error(endpoint, 401, br#"{"httpStatus":401,"errors":[]}"#, None);
        assert_clear("401", &err);
        assert!(
            matches!(
                err,
                JamfError::Unauthorized { .. } | JamfError::OAuth { .. }
            ),
            "{endpoint:?}: {err}"
        );
        let err = decode_error(endpoint, 403, br#"{"httpStatus":403,"errors":[{"code":"INVALID_PRIVILEGE","description":"Forbidden","id":"0","field":null}]}"#, None);
        let JamfError::Forbidden { privileges, .. } = &err else {
            panic!("{endpoint:?}: {err}")
        };
        assert_eq!(
            privileges,
            &endpoint
                .required_privileges()
                .iter()
                .map(|p| (*p).to_owned())
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn both_expires_forms_give_the_lifetime() {
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_765_000_000);
    // 1_765_000_000 is 2025-12-06T05:46:40Z; the token lives 1,000 s.
    for expires in [
        "2025-12-06T06:03:20Z",
        "2025-12-06T06:03:20.000Z",
        "2025-12-06T06:03:20.500Z",
    ] {
        let body = format!(r#"{{"token":"{TOKEN}","expires":"{expires}"}}"#);
        let t =
            decode_user_token(body.as_bytes(), Some(date), DateTime::<Utc>::UNIX_EPOCH).unwrap();
        assert_eq!(t.lifetime.as_secs(), 1_000, "{expires}");
    }
}

/// An error body over 64 KiB is not parsed (Jamf's are under 1 KiB): the error still says
/// what to do, from the status alone.
#[test]
fn a_huge_error_body_is_not_parsed() {
    let unit = br#"{"a":0},"#;
    let mut body = br#"{"httpStatus":500,"errors":[{"description":"boom"}],"x":["#.to_vec();
    while body.len() < 1024 * 1024 {
        body.extend_from_slice(unit);
    }
    body.extend_from_slice(b"{}]}");
    let (err, peak) =
        crate::alloc::peak_during(|| decode_error(Endpoint::ListRoles, 500, &body, None));
    assert!(
        matches!(err, JamfError::Server { status: 500, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("boom"), "{err}");
    assert!(
        peak <= 64 * 1024,
        "{peak} bytes of heap for an unparsed body"
    );
    // A normal-sized one is parsed.
    let err = decode_error(
        Endpoint::ListRoles,
        500,
        br#"{"httpStatus":500,"errors":[{"description":"boom"}]}"#,
        None,
    );
    assert!(err.to_string().contains("boom"), "{err}");
}

#[test]
fn oversize_bodies_are_decoded_or_refused_within_bounds() {
    for (what, input) in oversize_inputs() {
        check_body::<Page<ApiRole>>(Endpoint::ListRoles, &input);
        check_body::<Page<ApiIntegration>>(Endpoint::ListIntegrations, &input);
        check_body::<ApiRolePrivileges>(Endpoint::ListPrivileges, &input);
        check_body::<ClientCredentials>(Endpoint::GenerateClientCredentials, &input);
        if let Err(e) = within_memory(what, &input, decode_oauth_token) {
            check_err(Endpoint::OAuthToken, &e);
        }
        for endpoint in [Endpoint::OAuthToken, Endpoint::ListRoles] {
            let err = within_memory(what, &input, |b| decode_error(endpoint, 500, b, None));
            assert_clear(what, &err);
            assert!(err.to_string().len() <= 8 * 1024, "{what}");
        }
    }
}
