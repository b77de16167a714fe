//! The HTTP front: instance resolution, cookies and nodes, faults, statistics.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use crate::admin;
use crate::error::SimError;
use crate::faults::{Answer, fault_response};
use crate::instance::{INGRESS_COOKIE, Instance, InstanceDefaults};
use crate::model::{At, Node};
use crate::routes::{self, Ctx, RouteMatch, normalize};
use crate::stats::UNKNOWN_ROUTE;

/// Name of the instance served at the root.
pub const DEFAULT_INSTANCE: &str = "default";

/// Largest request body read.
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Response header naming the node that served an API request (a simulator addition).
pub const NODE_HEADER: &str = "x-sim-node";

/// State shared by every request: the instances and their defaults.
#[derive(Debug)]
pub(crate) struct Shared {
    pub addr: SocketAddr,
    pub defaults: InstanceDefaults,
    instances: Mutex<HashMap<String, Arc<Instance>>>,
    pub shutdown: watch::Receiver<bool>,
}

/// Whether `name` can name an instance: 1 to 64 of `[A-Za-z0-9._-]`.
pub(crate) fn valid_instance_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Shared {
    pub(crate) fn new(
        addr: SocketAddr,
        defaults: InstanceDefaults,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            addr,
            defaults,
            instances: Mutex::new(HashMap::new()),
            shutdown,
        }
    }

    fn instances(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Instance>>> {
        self.instances
            .lock()
            .expect("jamf-sim instances mutex poisoned")
    }

    /// Base URL of an instance (the default one is served at the root).
    pub(crate) fn base_url(&self, name: &str) -> String {
        if name == DEFAULT_INSTANCE {
            format!("http://{}", self.addr)
        } else {
            format!("http://{}/instances/{name}", self.addr)
        }
    }

    pub(crate) fn instance(&self, name: &str) -> Option<Arc<Instance>> {
        self.instances().get(name).cloned()
    }

    pub(crate) fn instance_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.instances().keys().cloned().collect();
        names.sort();
        names
    }

    /// Returns the instance, creating it first if needed (the flag says whether it was).
    pub(crate) fn get_or_create(
        &self,
        name: &str,
        empty: Option<bool>,
    ) -> Result<(Arc<Instance>, bool), SimError> {
        if !valid_instance_name(name) {
            return Err(SimError::invalid_field(
                "name",
                "instance name must be 1 to 64 of [A-Za-z0-9._-]",
            ));
        }
        let mut map = self.instances();
        if let Some(inst) = map.get(name) {
            return Ok((inst.clone(), false));
        }
        let empty = empty.unwrap_or(self.defaults.empty);
        let inst = Arc::new(Instance::new(
            name,
            self.base_url(name),
            &self.defaults,
            empty,
        ));
        map.insert(name.to_owned(), inst.clone());
        Ok((inst, true))
    }

    /// Adds a ready-made instance (fixtures), replacing one of the same name.
    pub(crate) fn insert(&self, inst: Instance) {
        self.instances().insert(inst.name.clone(), Arc::new(inst));
    }
}

/// Splits `/instances/{name}/rest` into the instance and the rest of the path.
fn resolve(shared: &Shared, path: &str) -> Option<(Arc<Instance>, String)> {
    match path.strip_prefix("/instances/") {
        Some(after) => {
            let (name, rest) = match after.find('/') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            };
            Some((shared.instance(name)?, rest.to_owned()))
        }
        None => Some((shared.instance(DEFAULT_INSTANCE)?, path.to_owned())),
    }
}

async fn read_body(body: Body) -> Result<axum::body::Bytes, SimError> {
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|e| SimError::bad_request(format!("could not read the request body: {e}")))
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// Every request to the main port comes here.
pub(crate) async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let Some((inst, rest)) = resolve(&shared, &path) else {
        return SimError::new(404, None, "no such jamf-sim instance").into_response();
    };
    serve_instance(&shared, inst, parts, body, rest).await
}

/// A port of its own serving one named instance at its root.
#[derive(Debug, Clone)]
pub(crate) struct InstancePort {
    pub shared: Arc<Shared>,
    pub name: Arc<str>,
}

/// Every request to an instance's own port comes here: the whole path is the instance's.
pub(crate) async fn dispatch_instance_port(
    State(port): State<InstancePort>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let Some(inst) = port.shared.instance(&port.name) else {
        return SimError::new(404, None, "no such jamf-sim instance").into_response();
    };
    let rest = parts.uri.path().to_owned();
    serve_instance(&port.shared, inst, parts, body, rest).await
}

async fn serve_instance(
    shared: &Shared,
    inst: Arc<Instance>,
    parts: Parts,
    body: Body,
    rest: String,
) -> Response {
    if rest == "/_sim" || rest.starts_with("/_sim/") {
        let body = match read_body(body).await {
            Ok(b) => b,
            Err(e) => return e.into_response(),
        };
        return admin::handle(shared, &inst, parts.method.as_str(), &rest, &body);
    }
    if rest == "/api" || rest.starts_with("/api/") {
        return serve_api(shared, &inst, parts, body, &rest).await;
    }
    SimError::new(404, None, "Not Found").into_response()
}

async fn serve_api(
    shared: &Shared,
    inst: &Instance,
    parts: Parts,
    body: Body,
    rest: &str,
) -> Response {
    let _in_flight = inst.stats.enter();
    let method = parts.method.as_str().to_owned();
    let path = normalize(rest).to_owned();
    let (node, set_cookie) = inst.pick_node(&parts.headers);
    let (mut resp, route, recorded) = match routes::match_route(&method, &path) {
        RouteMatch::Found(m) => {
            let (resp, recorded) =
                run_route(shared, inst, &m, &method, &path, &parts, body, node).await;
            (resp, m.pattern, recorded)
        }
        RouteMatch::MethodNotAllowed(pattern) => (
            SimError::new(405, None, "Method Not Allowed").into_response(),
            pattern,
            false,
        ),
        RouteMatch::NotFound => (
            SimError::new(404, None, "Not Found").into_response(),
            UNKNOWN_ROUTE,
            false,
        ),
    };
    let status = resp.status().as_u16();
    if !recorded {
        inst.stats.record(&method, route, status);
    }
    tracing::debug!(instance = %inst.name, %method, %path, node = node.label(), status, "api request");
    let headers = resp.headers_mut();
    headers.insert(NODE_HEADER, HeaderValue::from_static(node.label()));
    if set_cookie {
        let cookie = format!("{INGRESS_COOKIE}={}; Path=/; HttpOnly", node.cookie_value());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Runs a matched route under the instance's faults. The flag says whether the
/// statistics were already recorded (a hung request is counted when it starts hanging).
#[allow(clippy::too_many_arguments)]
async fn run_route(
    shared: &Shared,
    inst: &Instance,
    m: &routes::Matched,
    method: &str,
    path: &str,
    parts: &Parts,
    body: Body,
    node: Node,
) -> (Response, bool) {
    let plan = inst.faults().plan(method, m.pattern, path);
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if let Some(answer) = plan.answer
        && !plan.after_commit
    {
        return answer_fault(shared, inst, method, m.pattern, answer).await;
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return (e.into_response(), false),
    };
    let query = parse_query(parts.uri.query());
    let ctx = Ctx {
        inst,
        headers: &parts.headers,
        query: &query,
        body: &body,
        id: m.id.as_deref().unwrap_or(""),
        at: At {
            node,
            now_ms: inst.now_ms(),
        },
    };
    let resp = routes::handle(m, &ctx);
    match plan.answer {
        Some(answer) => answer_fault(shared, inst, method, m.pattern, answer).await,
        None => (resp, false),
    }
}

async fn answer_fault(
    shared: &Shared,
    inst: &Instance,
    method: &str,
    route: &str,
    answer: Answer,
) -> (Response, bool) {
    if answer != Answer::Hang {
        return (fault_response(answer), false);
    }
    inst.stats.record(method, route, 0);
    let mut shutdown = shared.shutdown.clone();
    let _ = shutdown.wait_for(|stop| *stop).await;
    (fault_response(Answer::Hang), true)
}
