//! `wardenctl secrets [INSTANCE]`: where each API client's secret lives in Vault and when it was
//! last rotated (never the secret itself).

use warden_core::protocol::SecretsRequest;

use crate::{Ctx, Exit, report};

/// Asks for the secrets report and prints it.
pub async fn run(ctx: &Ctx, instance: Option<String>) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    report::fetch_and_print(
        ctx,
        &mut client,
        "secrets",
        SecretsRequest { instance },
        false,
    )
    .await
}
