//! `jamf-sim`: a stateful Jamf Pro API simulator for API roles, API clients
//! (integrations), OAuth client credentials and user bearer tokens.
//!
//! Start one in-process with [`Sim::start`], talk to it over HTTP at [`Sim::url`]
//! (`/api/...`, the Jamf Pro API; `/_sim/...`, the admin API) and inspect or change its
//! state directly with [`SimInstance`]. See the crate README for behaviours and sources.

mod admin;
mod auth;
mod clock;
mod error;
mod faults;
mod fixture;
mod handle;
mod instance;
mod model;
mod options;
mod paging;
mod privileges;
mod routes;
pub mod rsql;
mod server;
mod stats;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use error::SimError;
pub use faults::{FAULT_HEADER, FaultKind, FaultRule};
pub use fixture::{ClientFixture, Fixture, InstanceFixture, RoleFixture};
pub use handle::SimInstance;
pub use instance::{BUILTIN_APP_NAME, BUILTIN_APP_PRIVILEGES, INGRESS_COOKIE};
pub use model::{AppType, ClientPatch, Node, SimClient, SimRole};
pub use options::{SimOptions, UserKind, UserSpec, UserSpecError};
pub use privileges::privilege_catalogue;
pub use server::{DEFAULT_INSTANCE, NODE_HEADER};
pub use stats::{RequestCount, SimStats, UNKNOWN_ROUTE};

use instance::InstanceDefaults;
use server::Shared;

/// A running simulator.
#[derive(Debug)]
pub struct Sim {
    shared: Arc<Shared>,
    shutdown_tx: watch::Sender<bool>,
    task: JoinHandle<()>,
    /// Named instances served at the root of a port of their own.
    instance_ports: Mutex<Vec<InstancePortTask>>,
}

#[derive(Debug)]
struct InstancePortTask {
    name: String,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Sim {
    /// Binds `listen` (port 0 picks a free port), loads the fixture, creates the
    /// instances and starts serving.
    pub async fn start(listen: SocketAddr, opts: SimOptions) -> anyhow::Result<Sim> {
        let fixture = match &opts.fixture {
            Some(path) => fixture::load_file(path)?,
            None => Fixture::default(),
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared::new(
            addr,
            InstanceDefaults::from_options(&opts),
            shutdown_rx,
        ));
        for (name, f) in &fixture.instances {
            anyhow::ensure!(
                server::valid_instance_name(name),
                "fixture instance name '{name}' must be 1 to 64 of [A-Za-z0-9._-]"
            );
            let inst = fixture::build(name, shared.base_url(name), &shared.defaults, f)
                .with_context(|| format!("loading fixture instance '{name}'"))?;
            shared.insert(inst);
        }
        shared.get_or_create(DEFAULT_INSTANCE, None)?;
        for name in &opts.instances {
            shared
                .get_or_create(name, None)
                .with_context(|| format!("creating instance '{name}'"))?;
        }
        let app = Router::new()
            .fallback(server::dispatch)
            .with_state(shared.clone());
        let mut stop = shutdown_tx.subscribe();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "jamf-sim server failed");
            }
        });
        tracing::info!(%addr, "jamf-sim started");
        Ok(Sim {
            shared,
            shutdown_tx,
            task,
            instance_ports: Mutex::new(Vec::new()),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Base URL of the default instance: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.shared.base_url(DEFAULT_INSTANCE)
    }

    /// Creates the instance if needed and returns its base URL `http://ADDR/instances/NAME`.
    ///
    /// # Panics
    /// If `name` is not 1 to 64 of `[A-Za-z0-9._-]` (see [`Sim::try_add_instance`]).
    pub fn add_instance(&self, name: &str) -> String {
        match self.try_add_instance(name, None) {
            Ok(url) => url,
            Err(e) => panic!("jamf-sim: cannot add instance '{name}': {e}"),
        }
    }

    /// Creates the instance if needed (`empty`: without the built-in app role and
    /// client; `None`: the start option) and returns its base URL.
    pub fn try_add_instance(&self, name: &str, empty: Option<bool>) -> Result<String, SimError> {
        let (inst, _) = self.shared.get_or_create(name, empty)?;
        Ok(inst.base_url.clone())
    }

    /// A handle on an instance (`None`: the default one), created first if needed.
    ///
    /// # Panics
    /// If `name` is not a valid instance name.
    pub fn instance(&self, name: Option<&str>) -> SimInstance {
        let name = name.unwrap_or(DEFAULT_INSTANCE);
        match self.shared.get_or_create(name, None) {
            Ok((inst, _)) => SimInstance::new(inst),
            Err(e) => panic!("jamf-sim: cannot open instance '{name}': {e}"),
        }
    }

    /// Also serves the named instance (created first if needed) at the root of a port of its
    /// own, for off-the-shelf Jamf clients that build URLs from the host root and so cannot
    /// reach `/instances/NAME/`. The state is the one behind `/instances/NAME/` on the main
    /// port. `listen` with port 0 picks a free port. Returns the instance's URL there,
    /// `http://ADDR`.
    pub async fn serve_instance_on(
        &self,
        name: &str,
        listen: SocketAddr,
    ) -> anyhow::Result<String> {
        self.shared
            .get_or_create(name, None)
            .with_context(|| format!("creating instance '{name}'"))?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen} for instance '{name}'"))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let app = Router::new()
            .fallback(server::dispatch_instance_port)
            .with_state(server::InstancePort {
                shared: self.shared.clone(),
                name: Arc::from(name),
            });
        let mut stop = self.shutdown_tx.subscribe();
        let label = name.to_owned();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(instance = %label, error = %e, "jamf-sim instance port failed");
            }
        });
        self.ports().push(InstancePortTask {
            name: name.to_owned(),
            addr,
            task,
        });
        tracing::info!(instance = %name, %addr, "jamf-sim instance port started");
        Ok(format!("http://{addr}"))
    }

    /// The instances served on ports of their own and their URLs (`http://ADDR`), in the
    /// order they were added.
    pub fn instance_port_urls(&self) -> Vec<(String, String)> {
        self.ports()
            .iter()
            .map(|p| (p.name.clone(), format!("http://{}", p.addr)))
            .collect()
    }

    fn ports(&self) -> std::sync::MutexGuard<'_, Vec<InstancePortTask>> {
        self.instance_ports
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Names of all instances.
    pub fn instance_names(&self) -> Vec<String> {
        self.shared.instance_names()
    }

    /// Every instance's state, as a fixture.
    pub fn dump(&self) -> Fixture {
        admin::dump_all(&self.shared)
    }

    /// Stops serving: hanging requests are released, open connections are closed.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        let ports = std::mem::take(&mut *self.ports());
        let tasks = std::iter::once(self.task).chain(ports.into_iter().map(|p| p.task));
        for mut task in tasks {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}
