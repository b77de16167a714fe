//! `jamf-sim`: runs the Jamf Pro simulator until SIGTERM or SIGINT.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use jamf_sim::{Sim, SimOptions, UserSpec};

/// A stateful Jamf Pro API simulator (API roles, API clients, OAuth) for tests and demos.
#[derive(Debug, Parser)]
#[command(name = "jamf-sim", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// JSON fixture to start from.
    #[arg(long)]
    state: Option<PathBuf>,
    /// A user account NAME:PASSWORD[:admin|:auditor] (repeatable; default kind admin).
    #[arg(long = "user", value_parser = parse_user)]
    users: Vec<UserSpec>,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share (0..1) of API requests answered 500/503 at random.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Create N named instances tenant-1..tenant-N besides the default one.
    #[arg(long)]
    instances: Option<usize>,
    /// Create a named instance (repeatable).
    #[arg(long = "instance")]
    instance: Vec<String>,
    /// Jamf Cloud two-node mode with this replication lag, in milliseconds.
    #[arg(long)]
    node_lag_ms: Option<u64>,
    /// Lifetime of user bearer tokens, in seconds.
    #[arg(long, default_value_t = 1800)]
    user_token_lifetime_secs: u64,
    /// Start instances without the built-in "Jamf Reset" role and client.
    #[arg(long)]
    empty: bool,
    /// Answer POST /api/v1/api-integrations with 201 (the spec) instead of 200.
    #[arg(long)]
    create_status_201: bool,
    /// Also serve a named instance at the root of a port of its own, NAME=PORT (port 0 picks
    /// a free one; repeatable), for clients that cannot reach /instances/NAME/. The port is
    /// bound on the --listen address; each instance's URL is printed.
    #[arg(long = "instance-port", value_parser = parse_instance_port)]
    instance_ports: Vec<(String, u16)>,
}

fn parse_instance_port(s: &str) -> Result<(String, u16), String> {
    let (name, port) = s
        .split_once('=')
        .ok_or_else(|| "instance port must look like NAME=PORT".to_owned())?;
    if name.is_empty() {
        return Err("instance name must not be empty".to_owned());
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("port {port:?} must be a number from 0 to 65535"))?;
    Ok((name.to_owned(), port))
}

fn parse_user(s: &str) -> Result<UserSpec, String> {
    UserSpec::parse(s).map_err(|e| e.to_string())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.error_rate),
        "--error-rate must be between 0 and 1"
    );
    let mut instances = args.instance.clone();
    if let Some(n) = args.instances {
        instances.extend((1..=n).map(|i| format!("tenant-{i}")));
    }
    let opts = SimOptions {
        users: args.users,
        latency: Duration::from_millis(args.latency_ms),
        error_rate: args.error_rate,
        node_lag: args.node_lag_ms.map(Duration::from_millis),
        fixture: args.state,
        user_token_lifetime: Duration::from_secs(args.user_token_lifetime_secs),
        instances,
        empty: args.empty,
        create_status_201: args.create_status_201,
    };
    let sim = Sim::start(args.listen, opts).await?;
    for name in sim.instance_names() {
        tracing::info!(instance = %name, url = %sim.instance(Some(&name)).url(), "instance ready");
    }
    let mut own_ports = Vec::new();
    for (name, port) in &args.instance_ports {
        let url = sim
            .serve_instance_on(name, SocketAddr::new(args.listen.ip(), *port))
            .await?;
        own_ports.push((name, url));
    }
    let mut stdout = std::io::stdout();
    // The instance lines come first: a reader that waits for the "listening" line has them.
    for (name, url) in own_ports {
        writeln!(stdout, "jamf-sim instance {name} on {url}")?;
    }
    writeln!(stdout, "jamf-sim listening on {}", sim.url())?;
    stdout.flush()?;
    wait_for_signal().await;
    tracing::info!("shutting down");
    sim.shutdown().await;
    Ok(())
}
