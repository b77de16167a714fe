//! Integration tests of `warden_core::protocol`.

mod client;
mod frames;
mod messages;
