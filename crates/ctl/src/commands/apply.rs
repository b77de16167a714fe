//! `wardenctl apply INSTANCE [--yes]`: make an instance match its declared state. Asks for
//! confirmation on a terminal; refuses without one unless `--yes`.

use warden_core::protocol::ApplyRequest;

use crate::confirm::confirm;
use crate::{Ctx, Exit, report};

/// Confirms, then asks the daemon to apply and prints what it did.
pub async fn run(ctx: &Ctx, instance: String, yes: bool) -> anyhow::Result<Exit> {
    confirm("apply the declared state to", &instance, yes)?;
    let mut client = ctx.connect().await?;
    let request = ApplyRequest {
        instance,
        confirmed: true,
    };
    report::fetch_and_print(ctx, &mut client, "apply", request, false).await
}
