//! `wardenctl rotate INSTANCE/CLIENT [--yes]`: rotate one API client's secret now. Asks for
//! confirmation on a terminal; refuses without one unless `--yes`.
//!
//! `wardenctl rotate --recover INSTANCE/CLIENT`: finish an interrupted or unconfirmed rotation
//! now (the daemon otherwise does it on its own after `daemon.recovery_delay`) and print what
//! the daemon did. No confirmation: the secret it may replace is already dead or unconfirmed.

use warden_core::protocol::{Response, RotateRequest, RotateResponse};

use crate::cli::RotateTarget;
use crate::client::unexpected;
use crate::confirm::confirm;
use crate::{Ctx, Exit};

/// Confirms, then asks the daemon to rotate and prints where the new secret is.
pub async fn run(
    ctx: &Ctx,
    target: RotateTarget,
    yes: bool,
    recover: bool,
    accept_out_of_band: bool,
) -> anyhow::Result<Exit> {
    if !recover {
        confirm("rotate the secret of", &target.to_string(), yes)?;
    }
    let mut client = ctx.connect().await?;
    let request = RotateRequest {
        instance: target.instance.clone(),
        client: target.client.clone(),
        confirmed: !recover,
        recover,
        accept_out_of_band,
    };
    let rotated = match client.call("rotate", request).await? {
        Response::Rotated(rotated) => rotated,
        Response::Ok { message } if recover => {
            if ctx.json() {
                ctx.print_json(
                    &serde_json::json!({ "recovered": target.to_string(), "message": message }),
                )?;
            } else {
                ctx.print(&format!("{message}\n"))?;
            }
            return Ok(Exit::Ok);
        }
        other => return Err(unexpected("rotate", &other)),
    };
    if ctx.json() {
        ctx.print_json(&rotated)?;
    } else {
        ctx.print(&render(&target, &rotated))?;
    }
    Ok(Exit::Ok)
}

/// The text output of `rotate` (never the secret).
pub fn render(target: &RotateTarget, rotated: &RotateResponse) -> String {
    format!(
        "rotated {target} (client id {}): new secret in vault at {} version {}, change log seq {}\n",
        rotated.client_id, rotated.vault_path, rotated.vault_version, rotated.change_seq
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_where_the_secret_went() {
        let target: RotateTarget = "prod/backup".parse().unwrap();
        let rotated = RotateResponse {
            instance: "prod".into(),
            client_id: "c-1".into(),
            vault_path: "secret/jamf-warden/prod/backup".into(),
            vault_version: 4,
            change_seq: 17,
        };
        assert_eq!(
            render(&target, &rotated),
            "rotated prod/backup (client id c-1): new secret in vault at secret/jamf-warden/prod/backup version 4, change log seq 17\n"
        );
    }
}
