//! Jamf Warden's domain logic: the Jamf Pro API client, Vault access, configuration and desired
//! state, Warden's own management objects, scheduling, secret rotation, the change log and the
//! control protocol. The binaries (`wardend`, `wardenctl`) are thin layers over this crate.

pub mod audit;
pub mod changelog;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod drift;
pub mod files;
pub mod jamf;
pub mod management;
pub mod notify;
pub mod observe;
pub mod private_fs;
pub mod protocol;
pub mod rotation;
pub mod schedule;
pub mod vault;
