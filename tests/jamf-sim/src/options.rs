//! Start-up options and user accounts.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Options for [`crate::Sim::start`]. Every instance (the default one, the named ones
/// given here, and those created later) starts from these settings.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Jamf Pro user accounts (HTTP Basic at `/api/v1/auth/token`), copied into every instance.
    pub users: Vec<UserSpec>,
    /// Latency added to every API request (a `latency` fault rule on `*`); zero for none.
    pub latency: Duration,
    /// Share (0..1) of API requests answered 500/503 at random (an `error_rate` fault rule on `*`).
    pub error_rate: f64,
    /// `Some(lag)` turns on the two-node Jamf Cloud mode with this replication lag.
    pub node_lag: Option<Duration>,
    /// A JSON fixture to load at start (see the README for the format).
    pub fixture: Option<PathBuf>,
    /// Lifetime of user bearer tokens (Jamf's default is 30 minutes).
    pub user_token_lifetime: Duration,
    /// Named instances to create at start, besides the default one.
    pub instances: Vec<String>,
    /// Start instances without the built-in "Jamf Reset" role and client.
    pub empty: bool,
    /// Answer `POST /api/v1/api-integrations` with 201 (as the spec says) instead of 200.
    pub create_status_201: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            latency: Duration::ZERO,
            error_rate: 0.0,
            node_lag: None,
            fixture: None,
            user_token_lifetime: Duration::from_secs(30 * 60),
            instances: Vec::new(),
            empty: false,
            create_status_201: false,
        }
    }
}

/// Kind of a Jamf Pro user account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserKind {
    /// Every privilege.
    #[default]
    Admin,
    /// Read-only: every privilege named `Read ...` or `... Read`.
    Auditor,
}

/// A user account: `NAME:PASSWORD[:admin|:auditor]` on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSpec {
    pub name: String,
    pub password: String,
    #[serde(default)]
    pub kind: UserKind,
}

/// A user specification that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSpecError {
    #[error("user spec must look like NAME:PASSWORD[:admin|:auditor]")]
    Format,
    #[error("user name must not be empty")]
    EmptyName,
    #[error("user password must not be empty")]
    EmptyPassword,
}

impl UserSpec {
    /// An administrator account.
    pub fn admin(name: &str, password: &str) -> Self {
        Self {
            name: name.to_owned(),
            password: password.to_owned(),
            kind: UserKind::Admin,
        }
    }

    /// An auditor (read-only) account.
    pub fn auditor(name: &str, password: &str) -> Self {
        Self {
            name: name.to_owned(),
            password: password.to_owned(),
            kind: UserKind::Auditor,
        }
    }

    /// Parses `NAME:PASSWORD[:admin|:auditor]` (default kind: admin). The password may
    /// contain `:`; a trailing `:admin` or `:auditor` is taken as the kind.
    pub fn parse(s: &str) -> Result<Self, UserSpecError> {
        let (name, rest) = s.split_once(':').ok_or(UserSpecError::Format)?;
        if name.is_empty() {
            return Err(UserSpecError::EmptyName);
        }
        let (password, kind) = if let Some(p) = rest.strip_suffix(":admin") {
            (p, UserKind::Admin)
        } else if let Some(p) = rest.strip_suffix(":auditor") {
            (p, UserKind::Auditor)
        } else {
            (rest, UserKind::Admin)
        };
        if password.is_empty() {
            return Err(UserSpecError::EmptyPassword);
        }
        Ok(Self {
            name: name.to_owned(),
            password: password.to_owned(),
            kind,
        })
    }
}

impl FromStr for UserSpec {
    type Err = UserSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_specs() {
        assert_eq!(
            UserSpec::parse("admin:secret").unwrap(),
            UserSpec::admin("admin", "secret")
        );
        assert_eq!(
            UserSpec::parse("bob:pw:auditor").unwrap(),
            UserSpec::auditor("bob", "pw")
        );
        assert_eq!(
            UserSpec::parse("a:b:c:admin").unwrap(),
            UserSpec::admin("a", "b:c")
        );
        assert_eq!(UserSpec::parse("nopassword"), Err(UserSpecError::Format));
        assert_eq!(UserSpec::parse(":pw"), Err(UserSpecError::EmptyName));
        assert_eq!(
            UserSpec::parse("a::admin"),
            Err(UserSpecError::EmptyPassword)
        );
    }
}
