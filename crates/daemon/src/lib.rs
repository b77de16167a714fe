//! wardend: the Jamf Warden daemon.
pub mod logging;
pub mod notify;
pub mod socket;
