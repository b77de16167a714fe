//! `wardenctl plan INSTANCE`: the changes `apply` would make.

use warden_core::protocol::PlanRequest;

use crate::{Ctx, Exit, report};

/// Asks for the plan and prints it.
pub async fn run(ctx: &Ctx, instance: String) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    report::fetch_and_print(ctx, &mut client, "plan", PlanRequest { instance }, false).await
}
