//! The admin API under `/_sim/` (no authentication; test-only). It reads and changes
//! an instance's state directly, as if someone clicked in the Jamf console (writes land
//! on node A), and controls faults, statistics, the clock and instances.

use std::sync::Arc;

use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{SimError, empty_response, json_response};
use crate::faults::FaultRule;
use crate::fixture::Fixture;
use crate::handle::SimInstance;
use crate::instance::Instance;
use crate::model::{ClientInput, ClientPatch, RoleInput, json_object, parse_id};
use crate::options::UserSpec;
use crate::routes::{ROUTES, normalize};
use crate::server::Shared;

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, SimError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| SimError::bad_request(format!("invalid json body: {e}")))
}

fn client_id(id: &str) -> Result<u64, SimError> {
    parse_id(id)
        .ok_or_else(|| SimError::not_found("Specified api integration object does not exist."))
}

fn ok<T: serde::Serialize>(v: &T) -> Result<Response, SimError> {
    Ok(json_response(200, v))
}

/// Serves `/_sim/...` for `inst`.
pub(crate) fn handle(
    shared: &Shared,
    inst: &Arc<Instance>,
    method: &str,
    rest: &str,
    body: &[u8],
) -> Response {
    let path = normalize(rest);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').skip(1).collect();
    let h = SimInstance::new(inst.clone());
    let result = route(shared, &h, method, &segs, body);
    match result {
        Ok(resp) => resp,
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

fn route(
    shared: &Shared,
    h: &SimInstance,
    method: &str,
    segs: &[&str],
    body: &[u8],
) -> Result<Response, SimError> {
    let inst = &h.inst;
    match (method, segs) {
        ("GET", []) => ok(&json!({
            "instance": h.name(),
            "url": h.url(),
            "api_routes": ROUTES.iter().map(|(p, m)| json!({
                "route": p,
                "methods": m.iter().map(|(method, _)| *method).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })),
        ("GET", ["state"]) => ok(&h.dump()),
        ("GET", ["state", "all"]) => ok(&dump_all(shared)),
        ("GET", ["instances"]) => ok(&shared
            .instance_names()
            .iter()
            .map(|n| json!({ "name": n, "url": shared.base_url(n) }))
            .collect::<Vec<_>>()),
        ("POST", ["instances"]) => {
            let obj = json_object(body)?;
            let name = obj
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| SimError::invalid_field("name", "name must be a string"))?;
            let empty = obj.get("empty").and_then(Value::as_bool);
            let (created, fresh) = shared.get_or_create(name, empty)?;
            json_status(
                if fresh { 201 } else { 200 },
                &json!({ "name": created.name, "url": created.base_url, "created": fresh }),
            )
        }
        ("GET", ["privileges"]) => ok(&h.privileges()),
        ("PUT", ["privileges"]) => {
            let obj = json_object(body)?;
            let list: Vec<String> = obj
                .get("privileges")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .ok_or_else(|| {
                    SimError::invalid_field("privileges", "privileges must be a list of strings")
                })?;
            h.set_privileges(Some(list));
            ok(&h.privileges())
        }
        ("DELETE", ["privileges"]) => {
            h.set_privileges(None);
            Ok(empty_response(204))
        }
        ("POST", ["privileges", "rename"]) => {
            let obj = json_object(body)?;
            let field = |k: &str| {
                obj.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| SimError::invalid_field(k, "must be a string"))
            };
            h.rename_privilege(&field("from")?, &field("to")?)?;
            ok(&h.privileges())
        }
        ("GET", ["roles"]) => ok(&h.roles()),
        ("POST", ["roles"]) => {
            let input = RoleInput::from_json(body)?;
            let at = inst.at_admin();
            ok(&inst.state().create_role(&input, at)?)
        }
        ("GET", ["roles", id]) => ok(&h
            .role(id)
            .ok_or_else(|| SimError::not_found("Role not found"))?),
        ("PUT", ["roles", id]) => {
            let input = RoleInput::from_json(body)?;
            ok(&h.update_role(id, &input.display_name, &input.privileges)?)
        }
        ("DELETE", ["roles", id]) => {
            h.delete_role(id)?;
            Ok(empty_response(204))
        }
        ("GET", ["clients"]) => ok(&h.clients()),
        ("POST", ["clients"]) => {
            let input = ClientInput::from_json(body)?;
            let at = inst.at_admin();
            let mut st = inst.state();
            let c = st.create_client(input, at)?;
            ok(&st.to_sim_client(&c))
        }
        ("GET", ["clients", id]) => {
            let id = client_id(id)?;
            ok(&h.client(id).ok_or_else(|| {
                SimError::not_found("Specified api integration object does not exist.")
            })?)
        }
        ("PATCH" | "PUT", ["clients", id]) => {
            let patch: ClientPatch = parse(body)?;
            ok(&h.update_client(client_id(id)?, patch)?)
        }
        ("DELETE", ["clients", id]) => {
            h.delete_client(client_id(id)?)?;
            Ok(empty_response(204))
        }
        ("POST", ["clients", id, "secret"]) => {
            let id = client_id(id)?;
            let obj = json_object(if body.is_empty() { b"{}" } else { body })?;
            let secret = match obj.get("clientSecret") {
                Some(Value::String(s)) => {
                    h.set_client_secret(id, s)?;
                    s.clone()
                }
                None | Some(Value::Null) => h.mint_secret(id)?,
                Some(_) => {
                    return Err(SimError::invalid_field(
                        "clientSecret",
                        "clientSecret must be a string",
                    ));
                }
            };
            let c = h.client(id).map(|c| c.client_id).unwrap_or_default();
            ok(&json!({ "clientId": c, "clientSecret": secret }))
        }
        ("POST", ["clients", id, action @ ("enable" | "disable")]) => {
            let id = client_id(id)?;
            h.set_enabled(id, *action == "enable")?;
            ok(&h.client(id))
        }
        ("GET", ["users"]) => ok(&h.users()),
        ("POST", ["users"]) => {
            let user: UserSpec = parse(body)?;
            if user.name.is_empty() || user.password.is_empty() {
                return Err(SimError::bad_request(
                    "user name and password must not be empty",
                ));
            }
            h.add_user(user);
            ok(&h.users())
        }
        ("GET", ["faults"]) => ok(&h.faults()),
        ("PUT", ["faults"]) => {
            let rules: Vec<FaultRule> = parse(body)?;
            h.set_faults(rules)?;
            ok(&h.faults())
        }
        ("POST", ["faults"]) => {
            let rule: FaultRule = parse(body)?;
            h.add_fault(rule)?;
            ok(&h.faults())
        }
        ("DELETE", ["faults"]) => {
            h.clear_faults();
            Ok(empty_response(204))
        }
        ("GET", ["stats"]) => ok(&h.stats()),
        ("DELETE", ["stats"]) | ("POST", ["stats", "reset"]) => {
            h.reset_stats();
            Ok(empty_response(204))
        }
        ("GET", ["clock"]) => ok(&clock(h)),
        ("POST", ["clock"]) => {
            let obj = json_object(body)?;
            let secs = obj.get("advance_secs").map(|v| v.as_i64().ok_or(()));
            let ms = obj.get("advance_ms").map(|v| v.as_i64().ok_or(()));
            let delta = match (secs, ms) {
                (Some(Ok(s)), None) => s.saturating_mul(1000),
                (None, Some(Ok(m))) => m,
                _ => {
                    return Err(SimError::invalid_field(
                        "advance_secs",
                        "give one integer: advance_secs or advance_ms",
                    ));
                }
            };
            inst.advance_clock_ms(delta);
            ok(&clock(h))
        }
        ("GET", ["config"]) => ok(&config(inst)),
        ("POST" | "PUT" | "PATCH", ["config"]) => {
            set_config(inst, &json_object(body)?)?;
            ok(&config(inst))
        }
        _ => Err(SimError::new(
            404,
            None,
            format!("no admin route {method} /_sim/{}", segs.join("/")),
        )),
    }
}

/// Every instance's state, as a fixture.
pub(crate) fn dump_all(shared: &Shared) -> Fixture {
    let instances = shared
        .instance_names()
        .into_iter()
        .filter_map(|n| shared.instance(&n).map(|i| (n, crate::fixture::dump(&i))))
        .collect();
    Fixture { instances }
}

fn json_status(status: u16, v: &Value) -> Result<Response, SimError> {
    Ok(json_response(status, v))
}

fn clock(h: &SimInstance) -> Value {
    json!({
        "offset_ms": h.clock_offset_ms(),
        "now": crate::routes::iso_millis(h.now().timestamp_millis()),
        "now_epoch_secs": h.now().timestamp(),
    })
}

fn config(inst: &Instance) -> Value {
    let st = inst.state();
    json!({
        "create_status_201": st.config.create_status_201,
        "node_lag_ms": st.config.node_lag_ms,
        "user_token_lifetime_secs": st.config.user_token_lifetime_ms / 1000,
    })
}

fn set_config(inst: &Instance, obj: &serde_json::Map<String, Value>) -> Result<(), SimError> {
    for key in obj.keys() {
        if !matches!(
            key.as_str(),
            "create_status_201" | "node_lag_ms" | "user_token_lifetime_secs"
        ) {
            return Err(SimError::invalid_field(
                key,
                format!("unknown config key '{key}'"),
            ));
        }
    }
    let create_201 = match obj.get("create_status_201") {
        None => None,
        Some(v) => Some(v.as_bool().ok_or_else(|| {
            SimError::invalid_field("create_status_201", "create_status_201 must be a boolean")
        })?),
    };
    let lag = match obj.get("node_lag_ms") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => Some(Some(v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            SimError::invalid_field(
                "node_lag_ms",
                "node_lag_ms must be a non-negative integer or null",
            )
        })?)),
    };
    let lifetime = match obj.get("user_token_lifetime_secs") {
        None => None,
        Some(v) => Some(v.as_i64().filter(|n| *n > 0).ok_or_else(|| {
            SimError::invalid_field(
                "user_token_lifetime_secs",
                "user_token_lifetime_secs must be a positive integer",
            )
        })?),
    };
    let mut st = inst.state();
    if let Some(on) = create_201 {
        st.config.create_status_201 = on;
    }
    if let Some(lag) = lag {
        st.set_node_lag(lag);
    }
    if let Some(secs) = lifetime {
        st.config.user_token_lifetime_ms = secs.saturating_mul(1000);
    }
    Ok(())
}
