//! `wardenctl suppress FINDING [--instance I] [--object O] --reason R [--until T] [--remove]`:
//! accept an audit or drift finding, or remove such a suppression.

use warden_core::protocol::{Response, SuppressRequest};

use crate::cli::SuppressArgs;
use crate::client::unexpected;
use crate::{Ctx, Exit};

/// Sends the suppression and prints the daemon's answer.
pub async fn run(ctx: &Ctx, args: SuppressArgs) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    let message = match client.call("suppress", request(args)).await? {
        Response::Ok { message } => message,
        other => return Err(unexpected("suppress", &other)),
    };
    if ctx.json() {
        ctx.print_json(&serde_json::json!({ "message": message }))?;
    } else {
        ctx.print(&format!("{}\n", message.trim_end()))?;
    }
    Ok(Exit::Ok)
}

/// The request for `args`.
pub fn request(args: SuppressArgs) -> SuppressRequest {
    SuppressRequest {
        instance: args.instance,
        finding: args.finding,
        object: args.object,
        reason: args.reason,
        until: args.until,
        remove: args.remove,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    #[test]
    fn builds_the_request() {
        let cli = Cli::try_parse_from([
            "wardenctl",
            "suppress",
            "role.full_access",
            "--instance",
            "prod",
            "--object",
            "Break glass",
            "--reason",
            "approved in CHG-1",
            "--until",
            "2026-06-30",
        ])
        .unwrap();
        let Command::Suppress(args) = cli.command else {
            panic!("not suppress");
        };
        let request = request(args);
        assert_eq!(request.instance.as_deref(), Some("prod"));
        assert_eq!(request.object.as_deref(), Some("Break glass"));
        assert_eq!(request.reason.as_deref(), Some("approved in CHG-1"));
        assert_eq!(
            request.until.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-06-30T00:00:00+00:00")
        );
        assert!(!request.remove);
    }
}
