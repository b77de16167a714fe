//! Serde models of the Jamf Pro 11.30.1 schemas for API roles, privileges, API integrations and
//! tokens (camelCase on the wire).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `ApiRole`: an API role as Jamf returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiRole {
    /// Role id, a string of digits (e.g. `"2"`).
    pub id: String,
    /// Unique display name.
    pub display_name: String,
    /// Privilege names. Jamf reorders them: compare with [`ApiRole::same_privileges`].
    pub privileges: Vec<String>,
}

/// `ApiRoleRequest`: body of a create or (full replace) update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiRoleRequest {
    /// Unique display name.
    pub display_name: String,
    /// The complete privilege list (a PUT replaces it).
    pub privileges: Vec<String>,
}

/// The privileges of a list as a set.
pub fn privilege_set(privileges: &[String]) -> BTreeSet<&str> {
    privileges.iter().map(String::as_str).collect()
}

impl ApiRole {
    /// The privileges as a set (Jamf does not keep their order).
    pub fn privilege_set(&self) -> BTreeSet<&str> {
        privilege_set(&self.privileges)
    }

    /// Whether both hold the same privileges, ignoring order and duplicates.
    pub fn same_privileges(&self, other: &[String]) -> bool {
        self.privilege_set() == privilege_set(other)
    }

    /// The request that would recreate this role.
    pub fn to_request(&self) -> ApiRoleRequest {
        ApiRoleRequest {
            display_name: self.display_name.clone(),
            privileges: self.privileges.clone(),
        }
    }
}

impl ApiRoleRequest {
    /// The privileges as a set.
    pub fn privilege_set(&self) -> BTreeSet<&str> {
        privilege_set(&self.privileges)
    }
}

/// `ApiRolePrivileges`: `{"privileges": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRolePrivileges {
    /// Privilege names.
    pub privileges: Vec<String>,
}

/// The `appType` of an API integration. Unknown values are kept, never rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AppType {
    /// A client id and secret have been generated.
    ClientCredentials,
    /// A native app (e.g. Jamf Reset) is linked via Managed App Config.
    NativeAppOauth,
    /// No client is associated (no secret yet, or disabled).
    None,
    /// A value newer than this client.
    Other(String),
}

impl AppType {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            AppType::ClientCredentials => "CLIENT_CREDENTIALS",
            AppType::NativeAppOauth => "NATIVE_APP_OAUTH",
            AppType::None => "NONE",
            AppType::Other(s) => s,
        }
    }
}

impl fmt::Display for AppType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for AppType {
    fn from(s: &str) -> Self {
        match s {
            "CLIENT_CREDENTIALS" => AppType::ClientCredentials,
            "NATIVE_APP_OAUTH" => AppType::NativeAppOauth,
            "NONE" => AppType::None,
            other => AppType::Other(other.to_owned()),
        }
    }
}

impl Serialize for AppType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AppType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(AppType::from(s.as_str()))
    }
}

/// `ApiIntegrationResponse`: an API client as Jamf returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiIntegration {
    /// Integration id (an integer, unlike role ids).
    pub id: i64,
    /// Display names of the API roles assigned to the client.
    pub authorization_scopes: Vec<String>,
    /// Unique display name.
    pub display_name: String,
    /// Whether the client may obtain tokens.
    pub enabled: bool,
    /// Token lifetime in seconds (Jamf's default is 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime_seconds: Option<i64>,
    /// Kind of client.
    pub app_type: AppType,
    /// OAuth client id (a UUID), assigned at creation and stable across rotations.
    pub client_id: String,
}

impl ApiIntegration {
    /// The request that would recreate this client (for a full-replace update).
    pub fn to_request(&self) -> ApiIntegrationRequest {
        ApiIntegrationRequest {
            authorization_scopes: self.authorization_scopes.clone(),
            display_name: self.display_name.clone(),
            enabled: Some(self.enabled),
            access_token_lifetime_seconds: self.access_token_lifetime_seconds,
        }
    }

    /// The role names as a set (order is not meaningful).
    pub fn scope_set(&self) -> BTreeSet<&str> {
        self.authorization_scopes
            .iter()
            .map(String::as_str)
            .collect()
    }
}

/// `ApiIntegrationRequest`: body of a create or (full replace) update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiIntegrationRequest {
    /// API role display names (not ids); Jamf requires at least one.
    pub authorization_scopes: Vec<String>,
    /// Unique display name.
    pub display_name: String,
    /// Defaults to false on the server when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Defaults to 300 on the server when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime_seconds: Option<i64>,
}

/// A page of a list endpoint: `{totalCount, results}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// All matches, not just this page.
    pub total_count: u64,
    /// This page.
    pub results: Vec<T>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trip_and_set_comparison() {
        let role: ApiRole = serde_json::from_str(
            r#"{"privileges":["Create Static Computer Groups","Update Static Computer Groups","Read Static Computer Groups"],"displayName":"Amend Static Groups","id":"2"}"#,
        )
        .unwrap();
        assert_eq!(role.id, "2");
        let wanted = vec![
            "Create Static Computer Groups".to_owned(),
            "Read Static Computer Groups".to_owned(),
            "Update Static Computer Groups".to_owned(),
        ];
        assert_ne!(role.privileges, wanted);
        assert!(role.same_privileges(&wanted));
        assert!(!role.same_privileges(&wanted[..2]));
        let mut dup = wanted.clone();
        dup.push(wanted[0].clone());
        assert!(role.same_privileges(&dup));
        assert_eq!(role.privilege_set(), role.to_request().privilege_set());
        let json = serde_json::to_value(role.to_request()).unwrap();
        assert_eq!(json["displayName"], "Amend Static Groups");
    }

    #[test]
    fn integration_tolerates_unknown_app_type_and_missing_lifetime() {
        let page: Page<ApiIntegration> = serde_json::from_str(
            r#"{"totalCount":3,"results":[
              {"authorizationScopes":["Amend Static Groups"],"displayName":"A","enabled":true,"accessTokenLifetimeSeconds":300,"id":1,"appType":"NONE","clientId":"b8b14453-8d28-4d0a-9493-c9cf7c040a1e"},
              {"authorizationScopes":[],"displayName":"B","enabled":false,"id":2,"appType":"SOMETHING_NEW","clientId":"c","extra":1},
              {"authorizationScopes":["Jamf Reset"],"displayName":"C","enabled":true,"id":3,"appType":"NATIVE_APP_OAUTH","clientId":"d"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(page.total_count, 3);
        assert_eq!(page.results[0].app_type, AppType::None);
        assert_eq!(
            page.results[1].app_type,
            AppType::Other("SOMETHING_NEW".into())
        );
        assert_eq!(page.results[1].access_token_lifetime_seconds, None);
        assert_eq!(page.results[2].app_type, AppType::NativeAppOauth);
        let back = serde_json::to_value(&page.results[1]).unwrap();
        assert_eq!(back["appType"], "SOMETHING_NEW");
        assert!(back.get("accessTokenLifetimeSeconds").is_none());
    }

    #[test]
    fn integration_request_shape() {
        let req = ApiIntegrationRequest {
            authorization_scopes: vec!["Amend Static Groups".into()],
            display_name: "Static Group Amendment Client".into(),
            enabled: Some(true),
            access_token_lifetime_seconds: Some(300),
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"authorizationScopes":["Amend Static Groups"],"displayName":"Static Group Amendment Client","enabled":true,"accessTokenLifetimeSeconds":300}"#
        );
        let minimal = ApiIntegrationRequest {
            enabled: None,
            access_token_lifetime_seconds: None,
            ..req
        };
        assert_eq!(
            serde_json::to_string(&minimal).unwrap(),
            r#"{"authorizationScopes":["Amend Static Groups"],"displayName":"Static Group Amendment Client"}"#
        );
    }
}
