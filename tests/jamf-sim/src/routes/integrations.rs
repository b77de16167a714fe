//! `/api/v1/api-integrations`, `/api/v1/api-integrations/{id}` and
//! `/api/v1/api-integrations/{id}/client-credentials`.

use axum::response::Response;
use serde_json::json;

use super::Ctx;
use crate::error::{SimError, empty_response, json_response};
use crate::model::{ClientInput, State};
use crate::paging::{ListQuery, ListResult};

pub(super) fn list(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let query = ListQuery::parse(ctx.query)?;
    let clients = st.visible_clients(ctx.at);
    let (total, page) = query.apply(clients.into_iter());
    let page: Vec<_> = page.into_iter().cloned().collect();
    let results: Vec<_> = page.iter().map(|c| st.api_client(c)).collect();
    Ok(json_response(
        200,
        &ListResult {
            total_count: total,
            results,
        },
    ))
}

/// POST answers 200 like real servers, or 201 (the spec) when the instance says so.
pub(super) fn create(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let input = ClientInput::from_json(ctx.body)?;
    let client = st.create_client(input, ctx.at)?;
    let status = if st.config.create_status_201 {
        201
    } else {
        200
    };
    Ok(json_response(status, &st.api_client(&client)))
}

pub(super) fn get(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let client = st.get_client(ctx.id, ctx.at)?;
    Ok(json_response(200, &st.api_client(&client)))
}

/// A full replace; omitted optional fields take their defaults.
pub(super) fn update(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let input = ClientInput::from_json(ctx.body)?;
    let client = st.update_client(ctx.id, &input, ctx.at)?;
    Ok(json_response(200, &st.api_client(&client)))
}

pub(super) fn delete(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    st.delete_client(ctx.id, ctx.at)?;
    Ok(empty_response(204))
}

/// Mints a new secret (no request body).
pub(super) fn credentials(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let (client_id, secret) = st.mint_secret(ctx.id, None, ctx.at)?;
    Ok(json_response(
        200,
        &json!({ "clientId": client_id, "clientSecret": secret }),
    ))
}
