//! `[metrics]`: the Prometheus endpoint, off unless `listen` is set.
//!
//! Loopback only unless `allow_remote = true`: the exposition names instances and clients,
//! which an operator may not want every host on the network to read.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::ctx::Ctx;

/// `[metrics]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub(crate) listen: Option<Spanned<String>>,
    pub(crate) allow_remote: Option<bool>,
}

/// `[metrics]`: where wardend serves `GET /metrics` (Prometheus text format).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// Address and port to listen on, e.g. `127.0.0.1:9464` (port 0: any free port).
    pub listen: SocketAddr,
    /// Accept a `listen` address that is not loopback.
    pub allow_remote: bool,
}

/// Validates `[metrics]`: `None` when it is absent or has no `listen` (metrics off).
pub(crate) fn metrics(ctx: &mut Ctx<'_>, raw: Option<&Spanned<RawMetrics>>) -> Option<Metrics> {
    let raw = raw?;
    let allow_remote = raw.get_ref().allow_remote.unwrap_or(false);
    let Some(listen) = &raw.get_ref().listen else {
        if allow_remote {
            ctx.invalid(
                &raw.span(),
                "metrics.listen",
                "`allow_remote` is set but `listen` is missing; add listen = \"127.0.0.1:9464\" or remove [metrics]",
            );
        }
        return None;
    };
    let addr: SocketAddr = match listen.get_ref().trim().parse() {
        Ok(addr) => addr,
        Err(_) => {
            ctx.invalid(
                &listen.span(),
                "metrics.listen",
                format!(
                    "`{}` is not an IP address and port; write e.g. \"127.0.0.1:9464\" or \"[::1]:9464\" (host names are not resolved)",
                    listen.get_ref()
                ),
            );
            return None;
        }
    };
    if !addr.ip().is_loopback() && !allow_remote {
        ctx.invalid(
            &listen.span(),
            "metrics.listen",
            format!(
                "{addr} is not a loopback address: the metrics name instances and clients and have no authentication; listen on 127.0.0.1 (and scrape through a proxy), or set allow_remote = true under [metrics] to expose them to the network"
            ),
        );
        return None;
    }
    Some(Metrics {
        listen: addr,
        allow_remote,
    })
}
