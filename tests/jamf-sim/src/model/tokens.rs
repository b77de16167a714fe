//! Access tokens: client-credentials tokens and user bearer tokens.
//!
//! Tokens are JWT-shaped (random signature); the simulator looks them up in its table.
//! A client token carries role ids; privileges are resolved at request time from the
//! roles' current privileges, so a deleted role contributes nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde_json::{Value, json};

use super::State;
use crate::options::UserKind;
use crate::privileges::auditor_has;

/// Who a token was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    User {
        user_id: u64,
    },
    Client {
        client_id: String,
        role_ids: Vec<u64>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct TokenRecord {
    pub subject: Subject,
    pub expires_ms: i64,
}

/// A refusal at the token endpoint (RFC 6749 §5.2 body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthFailure {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthFailure {
    pub(crate) fn new(status: u16, error: &'static str, description: &str) -> Self {
        Self {
            status,
            error,
            description: description.to_owned(),
        }
    }

    pub(crate) fn invalid_client() -> Self {
        Self::new(401, "invalid_client", "Client authentication failed")
    }

    /// `invalid_client` carries only `{"error":"invalid_client"}` (observed on Jamf Pro); the
    /// other refusals keep a description and the RFC link (a guess).
    pub(crate) fn body(&self) -> Value {
        if self.error == "invalid_client" {
            return json!({ "error": self.error });
        }
        json!({
            "error": self.error,
            "error_description": self.description,
            "error_uri": "https://datatracker.ietf.org/doc/html/rfc6749#section-5.2",
        })
    }
}

/// A granted client-credentials token.
#[derive(Debug, Clone)]
pub(crate) struct OAuthGrant {
    pub access_token: String,
    pub scope: String,
    pub expires_in: i64,
}

fn b64_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn jwt(alg: &str, claims: &Value, sig_len: usize) -> String {
    let mut sig = vec![0u8; sig_len];
    rand::rng().fill(&mut sig[..]);
    format!(
        "{}.{}.{}",
        b64_json(&json!({ "alg": alg })),
        b64_json(claims),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

/// Parses `api-role:{id}` scope items.
fn scope_role_id(item: &str) -> Option<u64> {
    item.strip_prefix("api-role:").and_then(super::parse_id)
}

impl State {
    fn insert_token(&mut self, token: String, record: TokenRecord, now_ms: i64) {
        self.tokens_issued += 1;
        if self.tokens_issued.is_multiple_of(256) {
            self.tokens.retain(|_, r| r.expires_ms > now_ms);
        }
        self.tokens.insert(token, record);
    }

    /// The client-credentials grant.
    pub(crate) fn oauth_grant(
        &mut self,
        client_id: &str,
        secret: &str,
        scope: Option<&str>,
        now_ms: i64,
    ) -> Result<OAuthGrant, OAuthFailure> {
        let client = self
            .client_db_id(client_id)
            .and_then(|id| self.clients.get(&id))
            .ok_or_else(OAuthFailure::invalid_client)?;
        let current = client
            .secret
            .as_ref()
            .filter(|s| client.enabled && s.value == secret)
            .ok_or_else(OAuthFailure::invalid_client)?;
        let mut granted: Vec<u64> = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            None => current.role_ids.clone(),
            Some(requested) => {
                let mut ids = Vec::new();
                for item in requested.split_whitespace() {
                    let id = scope_role_id(item)
                        .filter(|id| current.role_ids.contains(id))
                        .ok_or_else(|| {
                            OAuthFailure::new(400, "invalid_scope", "OAuth 2.0 Parameter: scope")
                        })?;
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                ids
            }
        };
        granted.sort_unstable();
        let lifetime = i64::from(client.lifetime);
        let client_id = client.client_id.clone();
        let scopes: Vec<String> = granted.iter().map(|id| format!("api-role:{id}")).collect();
        let iat = now_ms / 1000;
        let claims = json!({
            "aud": client_id,
            "sub": client_id,
            "nbf": iat,
            "subject-type": "REGISTERED_CLIENT_ID",
            "token-uuid": uuid::Uuid::new_v4().to_string(),
            "authentication-type": "CLIENT_CREDENTIALS",
            "scope": scopes,
            "iss": self.issuer,
            "exp": iat + lifetime,
            "iat": iat,
        });
        let token = jwt("HS256", &claims, 32);
        let record = TokenRecord {
            subject: Subject::Client {
                client_id,
                role_ids: granted,
            },
            expires_ms: now_ms.saturating_add(lifetime * 1000),
        };
        self.insert_token(token.clone(), record, now_ms);
        Ok(OAuthGrant {
            access_token: token,
            scope: scopes.join(" "),
            expires_in: (lifetime - 1).max(0),
        })
    }

    /// The id of the user with these credentials.
    pub(crate) fn check_user(&self, name: &str, password: &str) -> Option<u64> {
        self.users
            .iter()
            .find(|u| u.name == name && u.password == password)
            .map(|u| u.id)
    }

    /// Issues a user bearer token; returns it and its expiry (epoch ms).
    pub(crate) fn issue_user_token(&mut self, user_id: u64, now_ms: i64) -> (String, i64) {
        let mut expires_ms = now_ms.saturating_add(self.config.user_token_lifetime_ms);
        if self.config.whole_second_expiry {
            expires_ms -= expires_ms.rem_euclid(1000);
        }
        let claims = json!({
            "authenticated-app": "GENERIC",
            "authentication-type": "JSS",
            "groups": [],
            "subject-type": "JSS_USER_ID",
            "token-uuid": uuid::Uuid::new_v4().to_string(),
            "ldap-server-id": -1,
            "sub": user_id.to_string(),
            "exp": expires_ms / 1000,
        });
        let token = jwt("HS512", &claims, 64);
        let record = TokenRecord {
            subject: Subject::User { user_id },
            expires_ms,
        };
        self.insert_token(token.clone(), record, now_ms);
        (token, expires_ms)
    }

    /// The subject of a live token (not expired, not invalidated).
    pub(crate) fn token_subject(&self, token: &str, now_ms: i64) -> Option<Subject> {
        self.tokens
            .get(token)
            .filter(|r| r.expires_ms > now_ms)
            .map(|r| r.subject.clone())
    }

    pub(crate) fn invalidate_token(&mut self, token: &str) {
        self.tokens.remove(token);
    }

    pub(crate) fn user(&self, user_id: u64) -> Option<&super::User> {
        self.users.iter().find(|u| u.id == user_id)
    }

    /// Whether the subject holds `privilege` now.
    pub(crate) fn has_privilege(&self, subject: &Subject, privilege: &str) -> bool {
        match subject {
            Subject::User { user_id } => match self.user(*user_id).map(|u| u.kind) {
                Some(UserKind::Admin) => true,
                Some(UserKind::Auditor) => auditor_has(privilege),
                None => false,
            },
            Subject::Client { role_ids, .. } => role_ids.iter().any(|id| {
                self.roles
                    .get(id)
                    .is_some_and(|r| r.privileges.iter().any(|p| p == privilege))
            }),
        }
    }
}
