//! `wardenctl drift [INSTANCE]`: declared versus live API roles and clients; exit 1 on drift.

use warden_core::protocol::DriftRequest;

use crate::{Ctx, Exit, report};

/// Asks for the drift report and prints it.
pub async fn run(ctx: &Ctx, instance: Option<String>) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    report::fetch_and_print(ctx, &mut client, "drift", DriftRequest { instance }, true).await
}
