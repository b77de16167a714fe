//! Step 5: proving that freshly minted (or stored) credentials work, with the declared roles
//! and nothing else.

use std::collections::BTreeSet;

use secrecy::{ExposeSecret, SecretString};

use super::error::VerifyFailure;
use crate::jamf::{ApiRole, ClientCredentials, JamfClient, JamfError, ProbeOutcome, ProbeRead};
use crate::vault::SecretMap;

/// What a verified token must show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    /// The live ids of the declared roles: the token's scope must be exactly these.
    pub role_ids: BTreeSet<String>,
    /// A harmless read the roles allow, if any.
    pub probe: Option<ProbeRead>,
}

impl Expected {
    /// From the declared role names and the live roles. `Err(name)` names a declared role that
    /// does not exist.
    pub fn from_roles(declared: &[String], live: &[ApiRole]) -> Result<Expected, String> {
        let mut role_ids = BTreeSet::new();
        let mut privileges = BTreeSet::new();
        for name in declared {
            let role = live
                .iter()
                .find(|r| &r.display_name == name)
                .ok_or_else(|| name.clone())?;
            role_ids.insert(role.id.clone());
            privileges.extend(role.privileges.iter().map(String::as_str));
        }
        let probe = if privileges.contains("Read API Roles") {
            Some(ProbeRead::RolesPage)
        } else if privileges.contains("Read API Integrations") {
            Some(ProbeRead::IntegrationsPage)
        } else {
            None
        };
        Ok(Expected { role_ids, probe })
    }
}

/// What verification showed (no token, no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    pub probed: bool,
    pub token_invalidated: bool,
}

/// Gets a token with `creds`, checks its scope, makes the probe read, invalidates the token.
pub(crate) async fn verify(
    jamf: &JamfClient,
    creds: &ClientCredentials,
    expected: &Expected,
) -> Result<Verified, VerifyFailure> {
    let token = jamf
        .verify_client_credentials(creds, expected.probe.clone())
        .await
        .map_err(classify)?;
    let got: BTreeSet<String> = token.role_ids.iter().cloned().collect();
    if got != expected.role_ids {
        return Err(VerifyFailure::ScopeMismatch {
            expected: expected.role_ids.iter().cloned().collect(),
            got: got.into_iter().collect(),
        });
    }
    match &token.probe {
        None | Some(ProbeOutcome::Authorized) => {}
        Some(ProbeOutcome::Forbidden { privileges }) => {
            return Err(VerifyFailure::ProbeRefused {
                detail: format!("forbidden, needs {}", privileges.join(", ")),
            });
        }
        Some(ProbeOutcome::NotFound) => {
            return Err(VerifyFailure::ProbeRefused {
                detail: "not found".into(),
            });
        }
    }
    Ok(Verified {
        probed: token.probe.is_some(),
        token_invalidated: token.invalidated,
    })
}

fn classify(e: JamfError) -> VerifyFailure {
    match e {
        JamfError::OAuth { .. } | JamfError::Unauthorized { .. } => VerifyFailure::Rejected {
            detail: e.to_string(),
        },
        e if e.is_transient() => VerifyFailure::Unavailable {
            detail: e.to_string(),
        },
        e => VerifyFailure::ProbeRefused {
            detail: e.to_string(),
        },
    }
}

/// The four fields stored for consumers.
pub(crate) fn secret_map(creds: &ClientCredentials, jamf_url: &str) -> SecretMap {
    let mut m = SecretMap::new();
    m.insert("client_id", SecretString::from(creds.client_id.clone()));
    m.insert("client_secret", creds.client_secret.clone());
    m.insert("jamf_url", SecretString::from(jamf_url.to_string()));
    m.insert("token_url", SecretString::from(token_url(jamf_url)));
    m
}

/// `<jamf_url>/api/v1/oauth/token`.
pub fn token_url(jamf_url: &str) -> String {
    format!("{}/api/v1/oauth/token", jamf_url.trim_end_matches('/'))
}

/// Credentials back from stored data, checked against the live client id.
pub(crate) fn credentials_from(
    map: &SecretMap,
    live_client_id: &str,
) -> Result<ClientCredentials, VerifyFailure> {
    let (Some(id), Some(secret)) = (map.get("client_id"), map.get("client_secret")) else {
        return Err(VerifyFailure::WrongData {
            detail: "the stored data lacks client_id or client_secret".into(),
        });
    };
    if id.expose_secret() != live_client_id {
        return Err(VerifyFailure::WrongData {
            detail: format!(
                "the stored client_id {} is not the live client's {live_client_id}",
                id.expose_secret()
            ),
        });
    }
    Ok(ClientCredentials {
        client_id: live_client_id.to_string(),
        client_secret: secret.clone(),
    })
}

/// Whether two stored maps hold the same credentials (our own write landing late).
pub(crate) fn same_credentials(a: &SecretMap, b: &SecretMap) -> bool {
    let field = |m: &SecretMap, k: &str| m.get(k).map(|v| v.expose_secret().to_string());
    let id_a = field(a, "client_id");
    id_a.is_some()
        && id_a == field(b, "client_id")
        && a.get("client_secret").map(|v| v.expose_secret())
            == b.get("client_secret").map(|v| v.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: &str, name: &str, privs: &[&str]) -> ApiRole {
        ApiRole {
            id: id.into(),
            display_name: name.into(),
            privileges: privs.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn probe_follows_the_declared_privileges() {
        let live = vec![
            role("1", "Jamf Reset", &["Read Mobile Devices"]),
            role("2", "Roles", &["Read API Roles"]),
            role("3", "Clients", &["Read API Integrations"]),
            role("4", "Computers", &["Read Computers"]),
        ];
        let e = Expected::from_roles(&["Clients".into(), "Roles".into()], &live).unwrap();
        assert_eq!(e.probe, Some(ProbeRead::RolesPage));
        assert_eq!(e.role_ids, ["2".to_string(), "3".to_string()].into());
        let e = Expected::from_roles(&["Clients".into()], &live).unwrap();
        assert_eq!(e.probe, Some(ProbeRead::IntegrationsPage));
        let e = Expected::from_roles(&["Computers".into()], &live).unwrap();
        assert_eq!(e.probe, None);
        assert_eq!(
            Expected::from_roles(&["Nope".into()], &live).unwrap_err(),
            "Nope"
        );
    }

    #[test]
    fn stored_data_is_checked() {
        let creds = ClientCredentials::new("cid", "the-secret-value");
        let map = secret_map(&creds, "https://jamf.example.com/");
        assert_eq!(
            map.get("token_url").unwrap().expose_secret(),
            "https://jamf.example.com/api/v1/oauth/token"
        );
        assert!(credentials_from(&map, "cid").is_ok());
        assert!(matches!(
            credentials_from(&map, "other"),
            Err(VerifyFailure::WrongData { .. })
        ));
        assert!(same_credentials(&map, &map.clone()));
        let other = secret_map(&ClientCredentials::new("cid", "x"), "u");
        assert!(!same_credentials(&map, &other));
        assert!(!format!("{map:?}").contains("the-secret-value"));
    }
}
