//! One simulated Jamf Pro instance: its state, faults, statistics, clock and nodes.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{HeaderMap, header};

use crate::faults::{FaultRule, Faults};
use crate::model::{At, ClientInput, ClientSeed, Config, Node, RoleInput, State};
use crate::options::{SimOptions, UserSpec};
use crate::stats::Stats;

/// Name of the Jamf Cloud load-balancer cookie.
pub const INGRESS_COOKIE: &str = "jpro-ingress";

/// Display name of the built-in app role and of its native-app client.
pub const BUILTIN_APP_NAME: &str = "Jamf Reset";

/// Privileges of the built-in "Jamf Reset" role (a guess: none are published).
pub const BUILTIN_APP_PRIVILEGES: &[&str] = &[
    "Read Mobile Devices",
    "Send Mobile Device Remote Wipe Command",
    "View Return To Service Configurations",
];

/// What every new instance starts from.
#[derive(Debug, Clone)]
pub(crate) struct InstanceDefaults {
    pub users: Vec<UserSpec>,
    pub latency: Duration,
    pub error_rate: f64,
    pub node_lag: Option<Duration>,
    pub user_token_lifetime: Duration,
    pub create_status_201: bool,
    pub empty: bool,
}

impl InstanceDefaults {
    pub(crate) fn from_options(o: &SimOptions) -> Self {
        Self {
            users: o.users.clone(),
            latency: o.latency,
            error_rate: o.error_rate,
            node_lag: o.node_lag,
            user_token_lifetime: o.user_token_lifetime,
            create_status_201: o.create_status_201,
            empty: o.empty,
        }
    }
}

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[derive(Debug)]
pub(crate) struct Instance {
    pub name: String,
    pub base_url: String,
    state: Mutex<State>,
    faults: Mutex<Faults>,
    pub stats: Stats,
    clock_offset_ms: AtomicI64,
    round_robin: AtomicU64,
}

impl Instance {
    pub(crate) fn new(name: &str, base_url: String, d: &InstanceDefaults, empty: bool) -> Self {
        let config = Config {
            create_status_201: d.create_status_201,
            node_lag_ms: d.node_lag.map(duration_ms),
            user_token_lifetime_ms: duration_ms(d.user_token_lifetime),
            whole_second_expiry: false,
        };
        let mut state = State::new(config, base_url.clone());
        for u in &d.users {
            state.upsert_user(u);
        }
        if !empty {
            seed_builtins(&mut state);
        }
        let mut faults = Faults::default();
        if !d.latency.is_zero() {
            let _ = faults.add(FaultRule::latency("*", d.latency));
        }
        if d.error_rate > 0.0 {
            let _ = faults.add(FaultRule::error_rate("*", d.error_rate.min(1.0)));
        }
        Self {
            name: name.to_owned(),
            base_url,
            state: Mutex::new(state),
            faults: Mutex::new(faults),
            stats: Stats::default(),
            clock_offset_ms: AtomicI64::new(0),
            round_robin: AtomicU64::new(0),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("jamf-sim state mutex poisoned")
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().expect("jamf-sim faults mutex poisoned")
    }

    /// The instance's clock: wall-clock time ([`crate::clock`]) plus the offset, in epoch
    /// milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        crate::clock::wall_ms().saturating_add(self.clock_offset_ms.load(Ordering::SeqCst))
    }

    pub(crate) fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms.load(Ordering::SeqCst)
    }

    pub(crate) fn advance_clock_ms(&self, ms: i64) {
        let _ = self
            .clock_offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(ms))
            });
    }

    /// Admin writes land on node A.
    pub(crate) fn at_admin(&self) -> At {
        At {
            node: Node::A,
            now_ms: self.now_ms(),
        }
    }

    /// The node that serves a request: the one its `jpro-ingress` cookie names, else
    /// round-robin (two-node mode) or A. The flag says whether to set the cookie.
    pub(crate) fn pick_node(&self, headers: &HeaderMap) -> (Node, bool) {
        let two_nodes = self.state().config.node_lag_ms.is_some();
        let pinned = cookie(headers, INGRESS_COOKIE)
            .and_then(|v| Node::from_cookie_value(&v))
            .filter(|n| two_nodes || *n == Node::A);
        match pinned {
            Some(n) => (n, false),
            None if two_nodes => {
                let n = if self
                    .round_robin
                    .fetch_add(1, Ordering::SeqCst)
                    .is_multiple_of(2)
                {
                    Node::A
                } else {
                    Node::B
                };
                (n, true)
            }
            None => (Node::A, true),
        }
    }
}

/// The value of a request cookie.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// The built-in app role and its native-app client, present in every non-empty instance.
fn seed_builtins(st: &mut State) {
    let role = RoleInput {
        display_name: BUILTIN_APP_NAME.to_owned(),
        privileges: BUILTIN_APP_PRIVILEGES
            .iter()
            .map(|p| (*p).to_owned())
            .collect(),
    };
    if let Err(e) = st.insert_role(None, &role, None) {
        tracing::warn!(error = %e, "could not seed the built-in role");
        return;
    }
    let client = ClientSeed {
        id: None,
        input: ClientInput {
            display_name: BUILTIN_APP_NAME.to_owned(),
            scopes: vec![BUILTIN_APP_NAME.to_owned()],
            enabled: true,
            lifetime: 300,
        },
        client_id: None,
        native: true,
        secret: None,
        secret_role_ids: None,
    };
    if let Err(e) = st.insert_client(client, None) {
        tracing::warn!(error = %e, "could not seed the built-in client");
    }
}
