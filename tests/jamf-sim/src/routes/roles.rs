//! `/api/v1/api-roles` and `/api/v1/api-roles/{id}`.

use axum::response::Response;

use super::Ctx;
use crate::error::{SimError, empty_response, json_response};
use crate::model::{Role, RoleInput, State};
use crate::paging::{ListQuery, ListResult};

pub(super) fn list(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let query = ListQuery::parse(ctx.query)?;
    let roles = st.visible_roles(ctx.at);
    let (total, page) = query.apply(roles.into_iter());
    let results: Vec<_> = page.into_iter().map(Role::to_sim).collect();
    Ok(json_response(
        200,
        &ListResult {
            total_count: total,
            results,
        },
    ))
}

/// POST answers 200 (not 201) [OAS; JC-sdk].
pub(super) fn create(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let input = RoleInput::from_json(ctx.body)?;
    let role = st.create_role(&input, ctx.at)?;
    Ok(json_response(200, &role))
}

pub(super) fn get(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let role = st.get_role(ctx.id, ctx.at)?;
    Ok(json_response(200, &role))
}

/// A full replace of name and privileges.
pub(super) fn update(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    let input = RoleInput::from_json(ctx.body)?;
    let role = st.update_role(ctx.id, &input, ctx.at)?;
    Ok(json_response(200, &role))
}

pub(super) fn delete(st: &mut State, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    st.delete_role(ctx.id, ctx.at)?;
    Ok(empty_response(204))
}
