//! `/api/v1/api-role-privileges` and `/api/v1/api-role-privileges/search`.

use axum::response::Response;
use serde_json::json;

use super::Ctx;
use crate::error::{SimError, json_response};
use crate::model::State;

/// Default `limit` of the search.
const DEFAULT_LIMIT: usize = 15;

pub(super) fn list(st: &State) -> Response {
    let privileges = st.privileges();
    json_response(200, &json!({ "privileges": privileges }))
}

/// `name` (required) is matched as a case-insensitive substring (a guess); `limit`
/// (a string in the spec) defaults to 15.
pub(super) fn search(st: &State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let param = |k: &str| {
        ctx.query
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let name = param("name")
        .ok_or_else(|| SimError::invalid_field("name", "Required parameter 'name' is not present"))?
        .to_lowercase();
    let limit = match param("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v.trim().parse::<usize>().map_err(|_| {
            SimError::invalid_field("limit", "limit must be a non-negative integer")
        })?,
    };
    let all = st.privileges();
    let found: Vec<&String> = all
        .iter()
        .filter(|p| p.to_lowercase().contains(&name))
        .take(limit)
        .collect();
    Ok(json_response(200, &json!({ "privileges": found })))
}
