//! Fixtures of the `apply_*` and `drift_import` tests: desired roles and clients, expected plan
//! steps, the records a step added, and the secrets a leak scan looks for.

use serde_json::Value;
use warden_core::drift::Action;

use super::Env;

/// The route that creates an API client.
pub const CREATE_CLIENT_ROUTE: &str = "/api/v1/api-integrations";
/// The route that creates an API role.
pub const CREATE_ROLE_ROUTE: &str = "/api/v1/api-roles";

/// A desired role.
pub fn role(name: &str, privileges: &[&str]) -> String {
    format!("\n[[role]]\nname = \"{name}\"\nprivileges = {privileges:?}\n")
}

/// A desired client with `extra` lines (e.g. `token_lifetime = 900`).
pub fn client(name: &str, roles: &[&str], extra: &str) -> String {
    format!(
        "\n[[client]]\nname = \"{name}\"\nroles = {roles:?}\nowner = \"it@example.com\"\n\
         purpose = \"drift tests\"\n{extra}[client.rotation]\nschedule = \"@yearly\"\n"
    )
}

/// `(action, name)` steps, as [`super::drift::plan_steps`] lists them.
pub fn steps(list: &[(Action, &str)]) -> Vec<(Action, String)> {
    list.iter().map(|(a, n)| (*a, n.to_string())).collect()
}

/// The records after the first `skip`.
pub fn since(env: &Env, skip: usize) -> Vec<Value> {
    env.records().into_iter().skip(skip).collect()
}

/// Every secret Vault holds at `paths` (below the prefix), besides the standing secrets of
/// `alpha`, for leak scans.
pub async fn vault_secrets(env: &Env, paths: &[&str]) -> Vec<(&'static str, String)> {
    let mut out = env.standing_secrets("alpha").await;
    for p in paths {
        for (v, _, s) in env.vault_versions(p).await {
            assert!(!s.is_empty(), "{p} version {v} has no secret");
            out.push(("a client secret", s));
        }
    }
    out
}
