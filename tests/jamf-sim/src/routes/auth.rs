//! `/api/v1/auth/token`, `/api/v1/auth/keep-alive`, `/api/v1/auth/invalidate-token`
//! and `GET /api/v1/auth`.

use axum::response::Response;
use serde_json::{Value, json};

use super::Ctx;
use crate::auth::{authenticate, basic_credentials};
use crate::error::{SimError, empty_response, json_response};
use crate::model::{Subject, User};
use crate::options::UserKind;
use crate::privileges::{auditor_privileges, privilege_catalogue};

/// `expires` of `AuthTokenV1`: ISO-8601 UTC with milliseconds, which Java's formatting drops
/// when they are zero (`2020-04-21T21:09:31Z`, observed on Jamf Pro).
pub(crate) fn iso_millis(ms: i64) -> String {
    let format = if ms.rem_euclid(1000) == 0 {
        "%Y-%m-%dT%H:%M:%SZ"
    } else {
        "%Y-%m-%dT%H:%M:%S%.3fZ"
    };
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format(format)
        .to_string()
}

fn token_body(token: &str, expires_ms: i64) -> Value {
    json!({ "token": token, "expires": iso_millis(expires_ms) })
}

/// HTTP Basic → a user bearer token. Bad credentials: 401 `{"httpStatus":401,"errors":[]}`.
pub(super) fn token(ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let mut st = ctx.inst.state();
    let user = basic_credentials(ctx.headers).and_then(|(u, p)| st.check_user(&u, &p));
    let Some(user_id) = user else {
        return Ok(json_response(
            401,
            &json!({ "httpStatus": 401, "errors": [] }),
        ));
    };
    let (token, expires_ms) = st.issue_user_token(user_id, ctx.at.now_ms);
    Ok(json_response(200, &token_body(&token, expires_ms)))
}

/// A new user token; the old one is invalidated. Client-credentials tokens cannot be
/// kept alive: 403 `BAD_PERMISSIONS` (a guess), and the token stays valid.
pub(super) fn keep_alive(ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let mut st = ctx.inst.state();
    let (token, subject) = authenticate(&st, ctx.headers, ctx.at.now_ms)?;
    match subject {
        Subject::User { user_id } => {
            st.invalidate_token(&token);
            let (token, expires_ms) = st.issue_user_token(user_id, ctx.at.now_ms);
            Ok(json_response(200, &token_body(&token, expires_ms)))
        }
        Subject::Client { .. } => Err(SimError::new(
            403,
            Some("BAD_PERMISSIONS"),
            "client credentials access tokens cannot be kept alive; request a new token",
        )),
    }
}

/// Invalidates the presented token (user or client): 204.
pub(super) fn invalidate(ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let mut st = ctx.inst.state();
    let (token, _) = authenticate(&st, ctx.headers, ctx.at.now_ms)?;
    st.invalidate_token(&token);
    Ok(empty_response(204))
}

/// `AuthorizationV1` for a user; 403 `BAD_PERMISSIONS` for a client token (as seen
/// through the Platform gateway; unconfirmed on Jamf Pro itself).
pub(super) fn details(ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let st = ctx.inst.state();
    let (_, subject) = authenticate(&st, ctx.headers, ctx.at.now_ms)?;
    match subject {
        Subject::User { user_id } => {
            let user = st.user(user_id).ok_or_else(SimError::unauthorized)?;
            Ok(json_response(200, &authorization(user)))
        }
        Subject::Client { .. } => Err(SimError::new(
            403,
            Some("BAD_PERMISSIONS"),
            "OAuth client-credential callers don't have a user identity",
        )),
    }
}

fn authorization(user: &User) -> Value {
    let (privilege_set, privileges): (&str, Vec<&str>) = match user.kind {
        UserKind::Admin => ("ADMINISTRATOR", privilege_catalogue().to_vec()),
        UserKind::Auditor => ("AUDITOR", auditor_privileges()),
    };
    json!({
        "account": {
            "id": user.id.to_string(),
            "username": user.name,
            "realName": user.name,
            "email": "",
            "preferences": {
                "language": "en",
                "dateFormat": "MM/dd/yyyy",
                "region": "North America",
                "timezone": "Etc/UTC",
                "disableRelativeDates": false
            },
            "multiSiteAdmin": true,
            "accessLevel": "FullAccess",
            "privilegeSet": privilege_set,
            "privilegesBySite": { "-1": privileges },
            "groupIds": [],
            "currentSiteId": "-1",
            "currentDivisionId": null
        },
        "accountGroups": [],
        "sites": [],
        "authenticationType": "JSS"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_millis_format() {
        assert_eq!(iso_millis(1_587_503_371_626), "2020-04-21T21:09:31.626Z");
        assert_eq!(iso_millis(1_587_503_371_006), "2020-04-21T21:09:31.006Z");
        assert_eq!(iso_millis(1_587_503_371_000), "2020-04-21T21:09:31Z");
    }
}
