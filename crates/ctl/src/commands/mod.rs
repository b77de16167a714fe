//! One module per sub-command. Each has a `run` that talks to the daemon and prints, and pure
//! `render` functions for the text output.

pub mod adopt;
pub mod apply;
pub mod audit;
pub mod bootstrap;
pub mod completions;
pub mod drift;
pub mod import;
pub mod instances;
pub mod log;
pub mod plan;
pub mod reload;
pub mod rotate;
pub mod secrets;
pub mod status;

use crate::cli::{Command, LogCommand};
use crate::{Ctx, Exit};

/// Runs `command`.
pub async fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<Exit> {
    match command {
        Command::Status { check } => status::run(ctx, check).await,
        Command::Instances => instances::run(ctx).await,
        Command::Reload => reload::run(ctx).await,
        Command::Log(LogCommand::Tail { n }) => log::tail(ctx, n).await,
        Command::Log(LogCommand::Verify) => log::verify(ctx).await,
        Command::Secrets { instance } => secrets::run(ctx, instance).await,
        Command::Rotate {
            target,
            yes,
            recover,
            accept_out_of_band,
        } => rotate::run(ctx, target, yes, recover, accept_out_of_band).await,
        Command::Adopt {
            target,
            cutover,
            switched,
            yes,
        } => adopt::run(ctx, target, cutover, switched, yes).await,
        Command::Drift {
            instances,
            now,
            refresh_catalogue,
        } => drift::run(ctx, instances, now, refresh_catalogue).await,
        Command::Plan {
            instances,
            refresh_catalogue,
            desired,
            out,
        } => plan::run(ctx, instances, refresh_catalogue, desired, out).await,
        Command::Import {
            instance,
            output,
            force,
        } => import::run(ctx, instance, output, force).await,
        Command::Apply {
            instance,
            yes,
            plan,
        } => apply::run(ctx, instance, yes, plan).await,
        Command::Audit(args) => audit::run(ctx, args).await,
        Command::Bootstrap(args) => bootstrap::run(ctx, args).await,
        Command::Completions { shell } => completions::run(ctx, shell),
    }
}
