//! Property-based fuzzing of every parser that reads untrusted bytes: control-socket frames,
//! requests and responses; the config and desired-state files; every Jamf answer body the
//! client decodes; the Vault answers Warden decodes itself (secret data, rotation markers, lock
//! records); change-log records and head anchors; the schedule state file.
//!
//! Each parser gets arbitrary bytes and structure-aware damage to valid inputs (wrong types,
//! huge numbers, deep nesting, huge strings, odd unicode, truncation) and must not panic, must
//! answer a bad input with a typed error whose message is non-empty and lowercase, and must stay
//! within a memory bound linear in the input, measured by a counting allocator
//! ([`alloc`]); every parser also meets inputs of a few MiB ([`common::oversize_inputs`]).
//!
//! Case counts are fixed for CI (the whole binary takes well under two minutes in a debug
//! build on two cores); `WARDEN_FUZZ_CASES=N` runs N cases per property instead. See
//! `docs/fuzzing.md`.

#[allow(unsafe_code)]
mod alloc;
mod common;

mod files;
mod jamf;
mod protocol;
mod vault;
