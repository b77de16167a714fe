use super::*;
use crate::jamf::error_body::{SNIPPET_CHARS, parse_privileges_header};
use serde::Deserialize;
use serde_json::Value;

fn op() -> Op {
    Op {
        method: Method::POST,
        path: "/api/v1/api-roles".to_owned(),
    }
}

fn ctx(endpoint: Endpoint, status: u16, body: &[u8]) -> ErrorContext<'_> {
    ErrorContext {
        endpoint,
        op: op(),
        status,
        body,
        required_privileges_header: None,
        retry_after: None,
    }
}

#[test]
fn parses_jamf_body_with_nulls_and_trace_id() {
    let body = br#"{"httpStatus":403,"traceId":"abc","errors":[{"code":"BAD_PERMISSIONS","field":"","description":"The given token was not authorized.","id":""}]}"#;
    let parsed = ErrorBody::parse(body);
    let ErrorBody::Jamf(j) = &parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(j.http_status, Some(403));
    assert_eq!(parsed.first_code(), Some("BAD_PERMISSIONS"));
    assert_eq!(parsed.messages(), ["The given token was not authorized."]);

    let body = br#"{"httpStatus":400,"errors":[{"code":null,"description":"role display name must be unique","id":"0","field":null}]}"#;
    assert_eq!(
        ErrorBody::parse(body).messages(),
        ["role display name must be unique"]
    );

    // Missing fields, numeric id, null errors, description missing (falls back to code).
    let body = br#"{"httpStatus":404,"errors":[{"code":"INVALID_ID","id":3},{}]}"#;
    assert_eq!(ErrorBody::parse(body).messages(), ["INVALID_ID"]);
    let body = br#"{"httpStatus":401,"errors":null}"#;
    assert_eq!(
        ErrorBody::parse(body),
        ErrorBody::Jamf(ApiErrorBody {
            http_status: Some(401),
            errors: vec![]
        })
    );
    let body = br#"{"httpStatus":401,"errors":[]}"#;
    assert!(ErrorBody::parse(body).messages().is_empty());
    // A broken entry does not lose the good ones.
    let body = br#"{"errors":[42,{"description":"ok"}]}"#;
    assert_eq!(ErrorBody::parse(body).messages(), ["ok"]);
}

#[test]
fn parses_oauth_body() {
    let body = br#"{"error":"invalid_client","error_description":"Client authentication failed","error_uri":null}"#;
    let ErrorBody::OAuth(o) = ErrorBody::parse(body) else {
        panic!()
    };
    assert_eq!(o.error, "invalid_client");
    assert_eq!(
        o.error_description.as_deref(),
        Some("Client authentication failed")
    );
    let ErrorBody::OAuth(o) = ErrorBody::parse(br#"{"error":"invalid_scope"}"#) else {
        panic!()
    };
    assert_eq!(o.error_description, None);
}

#[test]
fn unknown_bodies_never_panic() {
    let long = "x".repeat(100_000);
    let bodies: Vec<&[u8]> = vec![
        b"",
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        b"\xff\xfe\x00garbage\x80\x81",
        b"null",
        b"[1,2,3]",
        b"\"just a string\"",
        b"{\"error\": 5}",
        b"{\"unrelated\": true}",
        b"{\"httpStatus\":\"four hundred\"}",
        b"{",
        long.as_bytes(),
    ];
    for body in bodies {
        let parsed = ErrorBody::parse(body);
        let _ = parsed.messages();
        for status in [400, 401, 403, 404, 409, 418, 429, 500, 503] {
            for endpoint in [Endpoint::CreateRole, Endpoint::OAuthToken] {
                let err = error_from_response(ctx(endpoint, status, body));
                assert!(!err.to_string().is_empty());
            }
        }
        let s = snippet(body);
        assert!(s.chars().count() <= SNIPPET_CHARS + 1, "{s}");
        assert!(!s.chars().any(char::is_control));
    }
}

#[test]
fn status_mapping_says_what_to_do() {
    let jamf =
        br#"{"httpStatus":400,"errors":[{"description":"privilege(s) are not valid [Nope]"}]}"#;
    let err = error_from_response(ctx(Endpoint::CreateRole, 400, jamf));
    assert!(
        matches!(&err, JamfError::Validation { messages, .. } if messages == &["privilege(s) are not valid [Nope]"])
    );
    assert_eq!(
        err.to_string(),
        "jamf pro rejected POST /api/v1/api-roles: privilege(s) are not valid [Nope]; fix the request"
    );

    let err = error_from_response(ctx(Endpoint::CreateRole, 403, b""));
    assert_eq!(
        err.to_string(),
        "forbidden on POST /api/v1/api-roles: the api client lacks privilege \"Create API Roles\"; add it to the client's api role"
    );

    let mut c = ctx(Endpoint::CreateRole, 403, b"");
    c.required_privileges_header = Some("Create API Roles, Read API Roles");
    let JamfError::Forbidden { privileges, .. } = error_from_response(c) else {
        panic!()
    };
    assert_eq!(privileges, ["Create API Roles", "Read API Roles"]);

    let err = error_from_response(ctx(
        Endpoint::DeleteRole,
        409,
        br#"{"httpStatus":409,"errors":[{"description":"Role in use by an Integration/Client"}]}"#,
    ));
    assert!(matches!(err, JamfError::Conflict { .. }));
    assert!(err.to_string().contains("Role in use"));

    assert!(matches!(
        error_from_response(ctx(Endpoint::GetRole, 404, b"")),
        JamfError::NotFound { .. }
    ));
    let mut c = ctx(Endpoint::GetRole, 429, b"");
    c.retry_after = Some(Duration::from_secs(3));
    let err = error_from_response(c);
    assert!(err.to_string().contains("retry after 3 s"), "{err}");
    assert!(err.is_transient());
    assert!(matches!(
        error_from_response(ctx(Endpoint::GetRole, 503, b"<html>")),
        JamfError::Server { status: 503, .. }
    ));
    assert!(matches!(
        error_from_response(ctx(Endpoint::GetRole, 405, b"")),
        JamfError::UnexpectedStatus { status: 405, .. }
    ));
    let err = error_from_response(ctx(
        Endpoint::AuthToken,
        401,
        br#"{"httpStatus":401,"errors":[{"code":"USER_EXPIRED_PASSWORD"}]}"#,
    ));
    assert!(err.to_string().contains("password has expired"), "{err}");
}

#[test]
fn oauth_errors_from_token_endpoint() {
    let err = error_from_response(ctx(
        Endpoint::OAuthToken,
        401,
        br#"{"error":"invalid_client"}"#,
    ));
    assert!(
        matches!(&err, JamfError::OAuth { status: 401, error, .. } if error == "invalid_client")
    );
    assert!(err.to_string().contains("check the client id and secret"));
    // HTML instead of the OAuth body.
    let err = error_from_response(ctx(Endpoint::LegacyOAuthToken, 400, b"<html>bad</html>"));
    assert!(matches!(&err, JamfError::OAuth { error, .. } if error == "invalid_request"));
    // 5xx from the token endpoint is a server error, retried upstream.
    assert!(matches!(
        error_from_response(ctx(Endpoint::OAuthToken, 503, b"")),
        JamfError::Server { .. }
    ));
}

#[test]
fn privileges_header_forms() {
    assert_eq!(
        parse_privileges_header(r#"["Read API Roles","Create API Roles"]"#),
        ["Read API Roles", "Create API Roles"]
    );
    assert_eq!(parse_privileges_header(" A ,, B "), ["A", "B"]);
    assert!(parse_privileges_header("  ").is_empty());
}

#[test]
fn decode_errors_withhold_secret_bodies() {
    let secret = "S3cr3t-value-for-test";
    let body = format!(r#"{{"clientId":"x","clientSecret":{secret:?},"extra":}}"#);
    let err = serde_json::from_slice::<Value>(body.as_bytes()).unwrap_err();
    let e = decode_error(
        Endpoint::GenerateClientCredentials,
        op(),
        200,
        body.as_bytes(),
        &err,
    );
    assert!(!e.to_string().contains(secret), "{e}");
    assert!(!format!("{e:?}").contains(secret));
    // Type errors quote values: still withheld.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct T {
        n: u32,
    }
    let body = format!(r#"{{"n":{secret:?}}}"#);
    let err = serde_json::from_str::<T>(&body).unwrap_err();
    let e = decode_error(Endpoint::OAuthToken, op(), 200, body.as_bytes(), &err);
    assert!(!e.to_string().contains(secret), "{e}");
    // Other endpoints get a snippet.
    let e = decode_error(Endpoint::ListRoles, op(), 200, b"<html>oops</html>", &err);
    assert!(e.to_string().contains("<html>oops</html>"), "{e}");
}
