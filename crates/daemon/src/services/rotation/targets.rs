//! Which clients of an instance Warden rotates: its declared clients, and Warden's own
//! management client (declared implicitly, stored at the instance's `credentials` path).

use warden_core::config::Instance;
use warden_core::management::management_client;
use warden_core::rotation::RotationTarget;

pub use warden_core::management::MANAGEMENT_NAME;

/// The target for Warden's own management client of `inst`: declared implicitly, rotated on
/// the instance's rotation schedule, stored at the instance's `credentials` path.
pub fn management_target(inst: &Instance) -> RotationTarget {
    RotationTarget::new(
        inst.name.clone(),
        &inst.schedules.rotation,
        management_client(&inst.credentials),
    )
}

/// The rotation target called `client` on `inst`: a declared client, or the management client;
/// `None` when `client` is not declared (Warden rotates only declared clients).
pub fn target(inst: &Instance, client: &str) -> Option<RotationTarget> {
    if client == MANAGEMENT_NAME && inst.desired_state.client(client).is_none() {
        return Some(management_target(inst));
    }
    RotationTarget::declared(
        &inst.name,
        &inst.schedules.rotation,
        &inst.desired_state,
        client,
    )
    .ok()
}

/// Every rotation target of `inst`: its declared clients, then the management client (last, so
/// a job rotates other clients with the credentials it started with).
pub fn targets(inst: &Instance) -> Vec<RotationTarget> {
    let mut out: Vec<RotationTarget> = inst
        .desired_state
        .clients
        .iter()
        .map(|c| RotationTarget::new(inst.name.clone(), &inst.schedules.rotation, c.clone()))
        .collect();
    if inst.desired_state.client(MANAGEMENT_NAME).is_none() {
        out.push(management_target(inst));
    }
    out
}
