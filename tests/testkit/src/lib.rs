//! Test fixtures shared by Jamf Warden's integration tests: a real OpenBao dev server
//! ([`openbao::OpenBao`]) and the Jamf Pro simulator (re-exported from `jamf-sim`); and the
//! helpers of the benchmark programs ([`bench`]).

pub mod bench;
pub mod openbao;

pub use jamf_sim;
pub use openbao::OpenBao;
