//! Request authentication (Bearer and Basic) and authorization by privileges.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::SimError;
use crate::model::{State, Subject};

/// The bearer token of a request.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The HTTP Basic credentials of a request.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The token and subject of a request with a live bearer token; 401 otherwise.
pub(crate) fn authenticate(
    st: &State,
    headers: &HeaderMap,
    now_ms: i64,
) -> Result<(String, Subject), SimError> {
    let token = bearer_token(headers).ok_or_else(SimError::unauthorized)?;
    let subject = st
        .token_subject(token, now_ms)
        .ok_or_else(SimError::unauthorized)?;
    Ok((token.to_owned(), subject))
}

/// Authenticates, then checks the endpoint's privileges (resolved now, from the
/// roles' current privileges); 403 `INVALID_PRIVILEGE` when one is missing.
pub(crate) fn authorize(
    st: &State,
    headers: &HeaderMap,
    required: &[&str],
    now_ms: i64,
) -> Result<Subject, SimError> {
    let (_, subject) = authenticate(st, headers, now_ms)?;
    if required.iter().all(|p| st.has_privilege(&subject, p)) {
        Ok(subject)
    } else {
        Err(SimError::forbidden())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn parses_authorization_headers() {
        assert_eq!(bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(&headers("Basic abc")), None);
        assert_eq!(bearer_token(&headers("Bearer ")), None);
        // "jamfsw:jamf1234"
        assert_eq!(
            basic_credentials(&headers("Basic amFtZnN3OmphbWYxMjM0")),
            Some(("jamfsw".to_owned(), "jamf1234".to_owned()))
        );
        assert_eq!(basic_credentials(&headers("Basic !!!")), None);
        assert_eq!(basic_credentials(&HeaderMap::new()), None);
    }
}
