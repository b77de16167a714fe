//! `wardenctl adopt INSTANCE/CLIENT --cutover now|at TIME [--yes]`: release the hold on an
//! adopted client (one Warden never rotated and whose secret Vault does not hold), and print
//! what its consumers must read from Vault from now on. `--switched`: the owner confirms that
//! an alternating client's consumers read Vault. Admins only; asks for confirmation.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use warden_core::protocol::{AdoptRequest, Cutover, Response};

use crate::cli::RotateTarget;
use crate::client::unexpected;
use crate::confirm::confirm;
use crate::{Ctx, Exit};

/// Parses `now` or `at TIME` (RFC 3339).
pub fn parse_cutover(words: &[String]) -> anyhow::Result<Cutover> {
    match words {
        [now] if now == "now" => Ok(Cutover::Now),
        [at, time] if at == "at" => {
            let at = DateTime::parse_from_rfc3339(time)
                .with_context(|| {
                    format!("--cutover at {time:?}: give the time as RFC 3339, e.g. 2026-03-01T09:00:00Z")
                })?
                .with_timezone(&Utc);
            Ok(Cutover::At { at })
        }
        _ => anyhow::bail!("--cutover takes `now` or `at TIME` (RFC 3339)"),
    }
}

/// Confirms, asks the daemon, prints its answer.
pub async fn run(
    ctx: &Ctx,
    target: RotateTarget,
    cutover: Vec<String>,
    switched: bool,
    yes: bool,
) -> anyhow::Result<Exit> {
    let cutover = if switched {
        None
    } else {
        Some(parse_cutover(&cutover)?)
    };
    let action = if switched {
        "confirm that the consumers read vault for"
    } else {
        "cut over (let warden rotate)"
    };
    confirm(action, &target.to_string(), yes)?;
    let mut client = ctx.connect().await?;
    let request = AdoptRequest {
        instance: target.instance.clone(),
        client: target.client.clone(),
        cutover,
        switched,
        confirmed: true,
    };
    match client.call("adopt", request).await? {
        Response::Ok { message } => {
            if ctx.json() {
                ctx.print_json(
                    &serde_json::json!({ "adopt": target.to_string(), "message": message }),
                )?;
            } else {
                ctx.print(&format!("{message}\n"))?;
            }
            Ok(Exit::Ok)
        }
        other => Err(unexpected("adopt", &other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutover_words() {
        let w = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_cutover(&w(&["now"])).unwrap(), Cutover::Now);
        assert!(matches!(
            parse_cutover(&w(&["at", "2026-03-01T09:00:00Z"])).unwrap(),
            Cutover::At { .. }
        ));
        assert!(parse_cutover(&w(&["at", "tomorrow"])).is_err());
        assert!(parse_cutover(&w(&["later"])).is_err());
    }
}
